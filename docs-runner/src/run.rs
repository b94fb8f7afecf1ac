//! Running one document: its blocks in order in one session, in a scratch
//! directory of its own, then stopping whatever it left running and
//! checking that it wrote nothing into the clone.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{
    compare::{describe, matches, Normalizer},
    markdown::{blocks, Kind},
    session::{Session, Stopped},
};

/// How to run the documents.
pub struct Options {
    /// The repository root: the session's working directory.
    pub repo: PathBuf,
    /// Where the binaries are (put first on `PATH`).
    pub bin_dir: PathBuf,
    /// How long one command (or script) may take unless its block says.
    pub timeout: Duration,
    /// Keep each document's scratch directory.
    pub keep: bool,
    /// Write what each command printed into the doc where it differs,
    /// instead of failing (then put `[..]` where a run may differ).
    pub bless: bool,
}

/// What became of one document.
pub struct Report {
    /// Transcript outputs rewritten by `--bless`.
    pub blessed: usize,
    pub commands: usize,
    pub scripts: usize,
    pub skipped: Vec<(usize, String)>,
    pub failure: Option<String>,
}

/// Runs `doc` (relative to the repository root).
pub fn run_doc(doc: &Path, opts: &Options) -> Report {
    let mut report = Report {
        blessed: 0,
        commands: 0,
        scripts: 0,
        skipped: Vec::new(),
        failure: None,
    };
    let text = match std::fs::read_to_string(opts.repo.join(doc)) {
        Ok(t) => t,
        Err(e) => {
            report.failure = Some(format!("cannot read it: {e}"));
            return report;
        }
    };
    let blocks = match blocks(&text) {
        Ok(b) => b,
        Err(e) => {
            report.failure = Some(e);
            return report;
        }
    };
    for b in &blocks {
        if let Kind::Skipped(reason) = &b.kind {
            report.skipped.push((b.line, reason.clone()));
        }
    }
    if blocks.iter().all(|b| matches!(b.kind, Kind::Skipped(_))) {
        return report;
    }
    let scratch = match tempfile::Builder::new().prefix("synod-docs-").tempdir() {
        Ok(d) => d,
        Err(e) => {
            report.failure = Some(format!("cannot make a scratch directory: {e}"));
            return report;
        }
    };
    let work = scratch.path().join("w");
    let home = scratch.path().join("home");
    for d in [&work, &home] {
        if let Err(e) = std::fs::create_dir_all(d) {
            report.failure = Some(format!("cannot make {}: {e}", d.display()));
            return report;
        }
    }
    let clone_before = clone_status(&opts.repo);
    let path = format!(
        "{}:{}",
        opts.bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // A fresh HOME keeps the reader's keyring and configs out of the run;
    // the toolchain stays where it is (`./dev` builds with cargo).
    let real_home = std::env::var("HOME").unwrap_or_default();
    let tool =
        |var: &str, dir: &str| std::env::var(var).unwrap_or_else(|_| format!("{real_home}/{dir}"));
    let env = [
        ("RUSTUP_HOME", tool("RUSTUP_HOME", ".rustup")),
        ("CARGO_HOME", tool("CARGO_HOME", ".cargo")),
        ("PATH", path),
        ("W", work.display().to_string()),
        ("HOME", home.display().to_string()),
        ("SYNOD_TESTNET_BIN_DIR", opts.bin_dir.display().to_string()),
        // Where `synod-testnet` and `./dev demo` put a network by default,
        // so whatever a doc starts is found and stopped afterwards.
        (
            "SYNOD_TESTNET_DIR",
            work.join("synod-testnet").display().to_string(),
        ),
        ("NO_COLOR", "1".into()),
        ("TERM", "dumb".into()),
    ];
    let mut session = match Session::start(&opts.repo, &env) {
        Ok(s) => s,
        Err(e) => {
            report.failure = Some(format!("cannot start bash: {e}"));
            return report;
        }
    };
    let normalizer = Normalizer::new();
    let mut blessings = Vec::new();
    report.failure = run_blocks(
        &blocks,
        &mut session,
        &normalizer,
        opts,
        &mut report,
        &mut blessings,
    );
    if !blessings.is_empty() {
        report.blessed = blessings.len();
        if let Err(e) = bless(&opts.repo.join(doc), &text, blessings) {
            report
                .failure
                .get_or_insert(format!("cannot write the blessed doc: {e}"));
        }
    }
    // Whatever the doc left running: the shell's process group, then every
    // testnet it started (apart from the session, which a failed block may
    // have ended; synod-testnet's processes live in sessions of their own).
    session.stop();
    for dir in testnets(&work) {
        let down = std::process::Command::new(opts.bin_dir.join("synod-testnet"))
            .arg("down")
            .arg("--dir")
            .arg(&dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        if !down.is_ok_and(|s| s.success()) {
            eprintln!("  could not stop the testnet in {}", dir.display());
        }
    }
    if report.failure.is_none() {
        let after = clone_status(&opts.repo);
        if after != clone_before {
            report.failure = Some(format!(
                "it wrote into the clone (docs write under $W only):\n{}",
                after.unwrap_or_default()
            ));
        }
    }
    if opts.keep {
        let kept = scratch.keep();
        eprintln!("  scratch kept: {}", kept.display());
    }
    report
}

/// A transcript step's output to write into the doc: (index of its first
/// expected line, how many expected lines, what it printed).
type Blessing = (usize, usize, Vec<String>);

fn run_blocks(
    blocks: &[crate::markdown::Block],
    session: &mut Session,
    normalizer: &Normalizer,
    opts: &Options,
    report: &mut Report,
    blessings: &mut Vec<Blessing>,
) -> Option<String> {
    for b in blocks {
        let timeout = b.timeout_secs.map_or(opts.timeout, Duration::from_secs);
        match &b.kind {
            Kind::Skipped(_) => {}
            Kind::Script(body) => {
                report.scripts += 1;
                match session.script(body, timeout) {
                    Ok(_) => {}
                    Err(stopped) => {
                        return Some(format!(
                            "line {}: the block failed{}",
                            b.line,
                            explain(stopped)
                        ))
                    }
                }
            }
            Kind::Transcript(steps) => {
                for step in steps {
                    report.commands += 1;
                    let ran = match session.command(&step.command, timeout) {
                        Ok(r) => r,
                        Err(stopped) => {
                            return Some(format!(
                                "line {}: `{}` did not finish{}",
                                b.line,
                                step.command,
                                explain(stopped)
                            ))
                        }
                    };
                    let expected = normalizer.lines(&step.expected.join("\n"));
                    let actual = normalizer.lines(&ran.output);
                    if !matches(&expected, &actual) && opts.bless {
                        let mut printed: Vec<String> = ran
                            .output
                            .lines()
                            .map(|l| l.trim_end().to_owned())
                            .collect();
                        while printed.last().is_some_and(String::is_empty) {
                            printed.pop();
                        }
                        blessings.push((step.output_at, step.expected.len(), printed));
                    } else if !matches(&expected, &actual) {
                        return Some(format!(
                            "line {}: `{}` (exit {}) printed something else\n{}",
                            b.line,
                            step.command,
                            ran.status,
                            describe(&expected, &actual)
                        ));
                    }
                }
            }
        }
    }
    None
}

/// Writes each blessed output over the expected lines it replaces.
fn bless(path: &Path, text: &str, mut blessings: Vec<Blessing>) -> std::io::Result<()> {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    blessings.sort_by_key(|(at, _, _)| std::cmp::Reverse(*at));
    for (at, len, printed) in blessings {
        let end = (at + len).min(lines.len());
        lines.splice(at.min(end)..end, printed);
    }
    let mut out = lines.join("\n");
    out.push('\n');
    std::fs::write(path, out)
}

fn explain(stopped: Stopped) -> String {
    let tail = |output: &str| {
        let lines: Vec<&str> = output.lines().collect();
        let from = lines.len().saturating_sub(40);
        lines[from..]
            .iter()
            .map(|l| format!("  | {l}\n"))
            .collect::<String>()
    };
    match stopped {
        Stopped::Timeout { output, after } => {
            format!(
                ": still running after {after:?}; its output:\n{}",
                tail(&output)
            )
        }
        Stopped::Ended { output, status } => format!(
            " (exit {}); its output:\n{}",
            status.map_or("by a signal".into(), |s| s.to_string()),
            tail(&output)
        ),
    }
}

/// Directories under `root` (a few levels down) holding a `testnet.json`.
fn testnets(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![(root.to_owned(), 0)];
    while let Some((dir, depth)) = stack.pop() {
        if dir.join("testnet.json").is_file() {
            out.push(dir.clone());
        }
        if depth >= 4 {
            continue;
        }
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    stack.push((e.path(), depth + 1));
                }
            }
        }
    }
    out
}

/// `git status --porcelain` of the clone (`None` without git).
fn clone_status(repo: &Path) -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=all"])
        .current_dir(repo)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blessing_replaces_each_steps_expected_lines_with_what_it_printed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.md");
        let text = "```console\n$ a\nold a\n$ b\n$ c\nold c 1\nold c 2\n```\n";
        let blocks = crate::markdown::blocks(text).unwrap();
        let Kind::Transcript(steps) = &blocks[0].kind else {
            panic!("{blocks:?}")
        };
        let blessings = vec![
            (
                steps[0].output_at,
                steps[0].expected.len(),
                vec!["new a".into()],
            ),
            (steps[1].output_at, 0, vec!["b said".into()]),
            (steps[2].output_at, 2, vec![]),
        ];
        bless(&path, text, blessings).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "```console\n$ a\nnew a\n$ b\nb said\n$ c\n```\n"
        );
    }
}
