//! `synod-fuzz`: runs Synod's fuzz targets with the stable mutation fuzzer,
//! writes their seed corpus, replays saved inputs.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use synod_fuzzing::{
    corpus,
    runner::{self, RunReport, RunSettings},
    targets, Target, TARGETS,
};

#[derive(Parser)]
#[command(
    name = "synod-fuzz",
    about = "Fuzz Synod's decoders of untrusted bytes (stable Rust, no coverage guidance)",
    after_help = "Examples:
  synod-fuzz list
  synod-fuzz seed                          # write missing seed files under fuzzing/corpus/
  synod-fuzz run tx --runs 100000 --seed 7
  synod-fuzz run all --runs 1000000        # slow targets get fewer (see `list`)
  synod-fuzz replay block fuzzing/crashes/block/<sha256>.bin

Build with --release for long runs; CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS=true
makes integer overflow panic there too."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Lists the targets and what each feeds.
    List,
    /// Replays a target's corpus, then runs mutants of it; saves crashing
    /// inputs under fuzzing/crashes/<target>/.
    Run {
        /// A target name, or `all`.
        target: String,
        /// Mutated inputs per target (after the corpus replay).
        #[arg(long, default_value_t = 100_000)]
        runs: u64,
        /// Seed of the mutations: the same seed gives the same inputs.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Stop each target's mutations after this many seconds.
        #[arg(long)]
        max_seconds: Option<u64>,
        /// With `all`: give slow targets the full --runs too.
        #[arg(long)]
        no_cap: bool,
        /// Folder of the corpora (one folder per target).
        #[arg(long)]
        corpus: Option<PathBuf>,
        /// Folder for crashing inputs (one folder per target).
        #[arg(long)]
        crashes: Option<PathBuf>,
    },
    /// Writes the seed corpus: real encodings made from the test net, the
    /// shipped models and a real proof.
    Seed {
        /// Targets to seed (all if none).
        targets: Vec<String>,
        /// Rewrite files that exist (the proof seeds change every time).
        #[arg(long)]
        force: bool,
        /// Folder of the corpora (one folder per target).
        #[arg(long)]
        corpus: Option<PathBuf>,
    },
    /// Runs a target on files without catching panics: a crash shows its
    /// message and backtrace (RUST_BACKTRACE=1).
    Replay { target: String, files: Vec<PathBuf> },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::List => {
            for t in TARGETS {
                let cap = t
                    .cap_in_all
                    .map(|c| format!(" (at most {c} mutants in `run all`)"))
                    .unwrap_or_default();
                println!("{:<12} {}{cap}", t.name, t.about);
            }
            Ok(())
        }
        Command::Run {
            target,
            runs,
            seed,
            max_seconds,
            no_cap,
            corpus,
            crashes,
        } => {
            let mut settings = RunSettings::new(runs, seed);
            settings.max_time = max_seconds.map(Duration::from_secs);
            if let Some(dir) = corpus {
                settings.corpus_root = dir;
            }
            if let Some(dir) = crashes {
                settings.crashes_root = Some(dir);
            }
            let chosen = chosen_targets(&target)?;
            let all = chosen.len() > 1;
            let mut reports = Vec::new();
            for t in chosen {
                let mut s = settings.clone();
                if all && !no_cap {
                    s.runs = t.cap_in_all.map_or(runs, |cap| runs.min(cap));
                }
                reports.push(run_one(t, &s)?);
            }
            print_table(&reports);
            let crashed: Vec<&str> = reports
                .iter()
                .filter(|r| r.new_crashes().next().is_some())
                .map(|r| r.target)
                .collect();
            if !crashed.is_empty() {
                bail!(
                    "{} panicked; the inputs are under {} (replay one with `synod-fuzz replay <target> <file>`)",
                    crashed.join(", "),
                    settings
                        .crashes_root
                        .unwrap_or_else(corpus::default_crashes_root)
                        .display()
                );
            }
            Ok(())
        }
        Command::Seed {
            targets: names,
            force,
            corpus,
        } => {
            let root = corpus.unwrap_or_else(corpus::default_corpus_root);
            let chosen: Vec<&'static Target> = if names.is_empty() {
                TARGETS.iter().collect()
            } else {
                names
                    .iter()
                    .map(|n| targets::find(n))
                    .collect::<Result<_, _>>()?
            };
            for t in chosen {
                let spinner = ProgressBar::new_spinner()
                    .with_message(format!("seeding {} (proofs take a while)", t.name));
                spinner.enable_steady_tick(Duration::from_millis(120));
                let report = corpus::write_seeds(t, &root, force)
                    .with_context(|| format!("seeding {}", t.name))?;
                spinner.finish_and_clear();
                println!(
                    "{:<12} {} written, {} kept, {} bytes of seeds in {}",
                    t.name,
                    report.written,
                    report.kept,
                    report.bytes,
                    root.join(t.name).display()
                );
            }
            Ok(())
        }
        Command::Replay { target, files } => {
            let t = targets::find(&target)?;
            (t.prepare)()?;
            for file in files {
                let bytes =
                    std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
                (t.run)(&bytes);
                println!("{}: no panic ({} bytes)", file.display(), bytes.len());
            }
            Ok(())
        }
    }
}

fn chosen_targets(name: &str) -> anyhow::Result<Vec<&'static Target>> {
    if name == "all" {
        Ok(TARGETS.iter().collect())
    } else {
        Ok(vec![targets::find(name)?])
    }
}

fn run_one(t: &'static Target, settings: &RunSettings) -> anyhow::Result<RunReport> {
    let corpus_files = corpus::load(&settings.corpus_root.join(t.name))?.len() as u64;
    let bar = ProgressBar::new(corpus_files + settings.runs).with_prefix(t.name);
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:>12} [{bar:30}] {human_pos}/{human_len} inputs, {per_sec}, {eta} left",
        )
        .context("progress bar template")?
        .progress_chars("=> "),
    );
    let report = runner::run(t, settings, &bar).with_context(|| format!("running {}", t.name))?;
    bar.finish_and_clear();
    for crash in &report.crashes {
        let kind = match crash.known {
            Some(k) => format!("known finding {}", k.id),
            None => "PANIC".to_owned(),
        };
        eprintln!(
            "{}: {kind} ({} inputs): {}\n    first input: {} bytes, sha256 {}, {}",
            t.name,
            crash.count,
            crash.message.replace('\n', "\n    "),
            crash.len,
            crash.sha256,
            match (&crash.saved_to, &crash.corpus_file) {
                (_, Some(name)) => format!("corpus file {name}"),
                (Some(path), None) => format!("saved to {}", path.display()),
                (None, None) => "not saved".to_owned(),
            }
        );
    }
    Ok(report)
}

fn print_table(reports: &[RunReport]) {
    println!(
        "{:<12} {:>10} {:>10} {:>12} {:>10} {:>14} {:>8} {:>6}",
        "target", "corpus", "mutants", "inputs/s", "time", "slowest input", "panics", "known"
    );
    for r in reports {
        println!(
            "{:<12} {:>10} {:>10} {:>12.0} {:>9.1}s {:>12.1}ms {:>8} {:>6}",
            r.target,
            r.corpus_inputs,
            r.mutated_inputs,
            r.inputs_per_second(),
            r.elapsed.as_secs_f64(),
            r.slowest
                .as_ref()
                .map_or(0.0, |(t, _)| t.as_secs_f64() * 1e3),
            r.new_crashes().count(),
            r.crashes.len() - r.new_crashes().count()
        );
    }
}
