//! `synod-docs`: runs the shell blocks of README.md and docs/*.md as a
//! reader would type them, against the binaries of this build, and checks
//! that each prints what the doc says (see `markdown.rs` for how a doc marks
//! its blocks and `compare.rs` for how output is compared). A doc that
//! drifts from the program fails. CI runs it after the test suite
//! (`./dev test`); `./dev docs [FILE...]` runs it alone.

mod compare;
mod markdown;
mod run;
mod session;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;

#[derive(Parser)]
#[command(
    version,
    about = "Run the docs' shell blocks and compare their output with the docs"
)]
struct Cli {
    /// Documents to run, relative to the repository root (default:
    /// README.md and every docs/*.md).
    files: Vec<PathBuf>,
    /// The repository root.
    #[arg(long, default_value = ".")]
    repo: PathBuf,
    /// Where the binaries are (default: next to synod-docs itself).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// Seconds one command may take, unless its block says otherwise.
    #[arg(long, default_value_t = 300)]
    timeout_secs: u64,
    /// Keep each document's scratch directory.
    #[arg(long)]
    keep: bool,
    /// List each document's blocks (run and skipped) without running them.
    #[arg(long)]
    list: bool,
    /// Write what each transcript command printed into the doc where it
    /// differs, instead of failing; then review the diff and put `[..]`
    /// where another run may print something else.
    #[arg(long)]
    bless: bool,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let repo = cli
        .repo
        .canonicalize()
        .with_context(|| format!("--repo {}", cli.repo.display()))?;
    if !repo.join("Cargo.toml").is_file() || !repo.join("docs").is_dir() {
        bail!(
            "{} is not the repository root (no Cargo.toml and docs/): run from the clone or pass --repo",
            repo.display()
        );
    }
    let bin_dir = match cli.bin_dir {
        Some(d) => d,
        None => std::env::current_exe()
            .context("finding synod-docs' own directory")?
            .parent()
            .map(PathBuf::from)
            .context("synod-docs has no parent directory")?,
    };
    let files = if cli.files.is_empty() {
        all_docs(&repo)?
    } else {
        cli.files
    };
    if cli.list {
        for f in &files {
            let text = std::fs::read_to_string(repo.join(f))
                .with_context(|| format!("reading {}", f.display()))?;
            let blocks =
                markdown::blocks(&text).map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
            println!("{}:", f.display());
            for b in blocks {
                let what = match b.kind {
                    markdown::Kind::Script(_) => "sh (must succeed)".to_owned(),
                    markdown::Kind::Transcript(steps) => {
                        format!("console, {} commands", steps.len())
                    }
                    markdown::Kind::Skipped(reason) => format!("skipped: {reason}"),
                };
                println!("  line {}: {what}", b.line);
            }
        }
        return Ok(());
    }
    let opts = run::Options {
        repo,
        bin_dir,
        timeout: Duration::from_secs(cli.timeout_secs),
        keep: cli.keep,
        bless: cli.bless,
    };
    let mut failed = Vec::new();
    for f in &files {
        let started = Instant::now();
        eprintln!("{}: running", f.display());
        let r = run::run_doc(f, &opts);
        let skipped = if r.skipped.is_empty() {
            String::new()
        } else {
            format!(
                ", {} skipped ({})",
                r.skipped.len(),
                r.skipped
                    .iter()
                    .map(|(line, why)| format!("line {line}: {why}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        };
        let blessed = if r.blessed > 0 {
            format!(", {} outputs blessed into the doc", r.blessed)
        } else {
            String::new()
        };
        let summary = format!(
            "{} scripts and {} commands run{skipped}{blessed} in {:.0?}",
            r.scripts,
            r.commands,
            started.elapsed()
        );
        match r.failure {
            None => eprintln!("{}: ok: {summary}", f.display()),
            Some(why) => {
                eprintln!("{}: FAILED: {summary}\n{why}", f.display());
                failed.push(f.display().to_string());
            }
        }
    }
    if !failed.is_empty() {
        bail!(
            "{} of {} docs drift from the program: {}",
            failed.len(),
            files.len(),
            failed.join(", ")
        );
    }
    eprintln!("all {} docs run as written", files.len());
    Ok(())
}

/// README.md and every docs/*.md, in name order.
fn all_docs(repo: &std::path::Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut docs: Vec<PathBuf> = std::fs::read_dir(repo.join("docs"))
        .context("listing docs/")?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .filter_map(|p| p.strip_prefix(repo).ok().map(PathBuf::from))
        .collect();
    docs.sort();
    let mut all = vec![PathBuf::from("README.md")];
    all.extend(docs);
    Ok(all)
}
