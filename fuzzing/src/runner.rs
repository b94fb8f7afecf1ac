//! The stable-Rust runner: replays a target's corpus, then feeds it seeded
//! mutants ([`crate::mutate`]); a panic is caught, its input saved as
//! `crashes/<target>/<sha256>.bin` (one file per distinct panic site) and
//! reported. No coverage feedback: the corpus stays as committed.

use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::Once;
use std::time::{Duration, Instant};

use indicatif::ProgressBar;

use crate::{
    corpus::{self, Input},
    error::FuzzError,
    known::{self, KnownFinding},
    mutate::Mutator,
    targets::Target,
};

/// How to run one target.
#[derive(Clone, Debug)]
pub struct RunSettings {
    /// Mutated inputs after the corpus replay.
    pub runs: u64,
    /// Seed of the mutations: the same seed gives the same inputs.
    pub seed: u64,
    /// Stop the mutations after this long (the replay always completes).
    pub max_time: Option<Duration>,
    /// Folder holding one corpus folder per target.
    pub corpus_root: PathBuf,
    /// Folder holding one crash folder per target; `None`: keep crashes in
    /// the report only (tests).
    pub crashes_root: Option<PathBuf>,
    /// Stop after this many distinct new panics (known findings do not count).
    pub max_distinct_crashes: usize,
}

impl RunSettings {
    /// `runs` mutants seeded with `seed`, over the committed corpus, saving
    /// crashes under `fuzzing/crashes/`.
    pub fn new(runs: u64, seed: u64) -> RunSettings {
        RunSettings {
            runs,
            seed,
            max_time: None,
            corpus_root: corpus::default_corpus_root(),
            crashes_root: Some(corpus::default_crashes_root()),
            max_distinct_crashes: 16,
        }
    }
}

/// A distinct panic: where it happened and the first input that caused it.
#[derive(Clone, Debug)]
pub struct Crash {
    /// The panic message with its location.
    pub message: String,
    /// Hex SHA-256 of the first input that caused it.
    pub sha256: String,
    /// That input's length.
    pub len: usize,
    /// Where that input was saved.
    pub saved_to: Option<PathBuf>,
    /// How many inputs caused it.
    pub count: u64,
    /// Whether the first such input was a corpus file (its name) or a mutant.
    pub corpus_file: Option<String>,
    /// The open finding this panic is, if it is one.
    pub known: Option<&'static KnownFinding>,
}

/// What a run did.
#[derive(Clone, Debug)]
pub struct RunReport {
    pub target: &'static str,
    /// Corpus files replayed.
    pub corpus_inputs: u64,
    /// Mutants run.
    pub mutated_inputs: u64,
    pub elapsed: Duration,
    /// The slowest input's time and SHA-256.
    pub slowest: Option<(Duration, String)>,
    pub crashes: Vec<Crash>,
}

impl RunReport {
    /// The panics that are no known finding.
    pub fn new_crashes(&self) -> impl Iterator<Item = &Crash> {
        self.crashes.iter().filter(|c| c.known.is_none())
    }

    /// Every input run: corpus and mutants.
    pub fn inputs(&self) -> u64 {
        self.corpus_inputs + self.mutated_inputs
    }

    /// Inputs per second over the whole run.
    pub fn inputs_per_second(&self) -> f64 {
        self.inputs() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

thread_local! {
    /// Whether this thread is running a target under the runner.
    static CAPTURING: Cell<bool> = const { Cell::new(false) };
    /// The message of the last panic on this thread while capturing.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs (once) a panic hook that, on a thread running a target, keeps
/// the message for the report instead of printing it; elsewhere it prints
/// as usual.
fn install_panic_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if CAPTURING.with(Cell::get) {
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(info.to_string()));
            } else {
                default(info);
            }
        }));
    });
}

/// Runs `target` on `input`; the panic message if it panicked. A panic the
/// code under test catches itself is not one.
pub fn execute(target: &Target, input: &[u8]) -> Result<(), String> {
    execute_fn(target.run, input)
}

/// [`execute`] for a bare target function.
pub fn execute_fn(run: fn(&[u8]), input: &[u8]) -> Result<(), String> {
    install_panic_hook();
    CAPTURING.with(|c| c.set(true));
    LAST_PANIC.with(|p| p.borrow_mut().take());
    let outcome = catch_unwind(AssertUnwindSafe(|| run(input)));
    CAPTURING.with(|c| c.set(false));
    outcome.map_err(|payload| {
        LAST_PANIC
            .with(|p| p.borrow_mut().take())
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned())
    })
}

/// The panic's site: the message's first line (`panicked at file:line:col:`).
fn panic_site(message: &str) -> &str {
    message.lines().next().unwrap_or(message)
}

struct Crashes<'a> {
    target: &'static str,
    dir: Option<PathBuf>,
    found: Vec<Crash>,
    settings: &'a RunSettings,
}

impl Crashes<'_> {
    fn record(
        &mut self,
        input: &[u8],
        message: String,
        corpus_file: Option<&str>,
    ) -> Result<(), FuzzError> {
        // One entry per site and finding: a new cause at a known finding's
        // site is still reported as new.
        let known = known::known(self.target, &message);
        let site = panic_site(&message);
        if let Some(seen) = self.found.iter_mut().find(|c| {
            panic_site(&c.message) == site && c.known.map(|k| k.id) == known.map(|k| k.id)
        }) {
            seen.count += 1;
            return Ok(());
        }
        let sha256 = corpus::sha256_hex(input);
        let saved_to = match &self.dir {
            Some(dir) => Some(corpus::write(dir, &format!("{sha256}.bin"), input)?),
            None => None,
        };
        self.found.push(Crash {
            message,
            sha256,
            len: input.len(),
            saved_to,
            count: 1,
            corpus_file: corpus_file.map(str::to_owned),
            known,
        });
        Ok(())
    }

    /// Enough new panics to stop (known findings do not count).
    fn full(&self) -> bool {
        self.found.iter().filter(|c| c.known.is_none()).count()
            >= self.settings.max_distinct_crashes
    }
}

/// Replays `target`'s corpus, then runs `settings.runs` mutants (fewer if
/// `max_time` passes or too many distinct panics were found). `progress`
/// counts inputs.
pub fn run(
    target: &'static Target,
    settings: &RunSettings,
    progress: &ProgressBar,
) -> Result<RunReport, FuzzError> {
    let dir = settings.corpus_root.join(target.name);
    let corpus = corpus::load(&dir)?;
    if corpus.is_empty() {
        return Err(FuzzError::EmptyCorpus {
            target: target.name,
            dir,
        });
    }
    (target.prepare)()?;
    let mut crashes = Crashes {
        target: target.name,
        dir: settings.crashes_root.as_ref().map(|r| r.join(target.name)),
        found: Vec::new(),
        settings,
    };
    let mut slowest: Option<(Duration, Vec<u8>)> = None;
    let mut timed = |input: &[u8], elapsed: Duration| {
        if slowest.as_ref().is_none_or(|(t, _)| elapsed > *t) {
            slowest = Some((elapsed, input.to_vec()));
        }
    };
    let start = Instant::now();
    for Input { name, bytes } in &corpus {
        let t = Instant::now();
        let outcome = execute(target, bytes);
        timed(bytes, t.elapsed());
        if let Err(message) = outcome {
            crashes.record(bytes, message, Some(name))?;
        }
        progress.inc(1);
    }
    let parents: Vec<&[u8]> = corpus.iter().map(|i| i.bytes.as_slice()).collect();
    let longest = parents.iter().map(|p| p.len()).max().unwrap_or(0);
    let mut mutator = Mutator::new(
        settings.seed,
        target.dictionary,
        target.max_len.max(longest),
    );
    let mut mutated = 0;
    while mutated < settings.runs && !crashes.full() {
        if settings.max_time.is_some_and(|max| start.elapsed() >= max) {
            break;
        }
        let parent = parents[mutator.below(parents.len())];
        let input = mutator.mutate(parent, &parents);
        let t = Instant::now();
        let outcome = execute(target, &input);
        timed(&input, t.elapsed());
        if let Err(message) = outcome {
            crashes.record(&input, message, None)?;
        }
        mutated += 1;
        progress.inc(1);
    }
    Ok(RunReport {
        target: target.name,
        corpus_inputs: corpus.len() as u64,
        mutated_inputs: mutated,
        elapsed: start.elapsed(),
        slowest: slowest.map(|(t, input)| (t, corpus::sha256_hex(&input))),
        crashes: crashes.found,
    })
}
