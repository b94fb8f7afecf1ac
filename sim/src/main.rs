//! `synod-sim`: reproducible adversarial simulations on the real Synod
//! state machine. Thin: parses the command line, sets up logging, calls
//! the library.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use synod_sim::{actors::REGISTRY, output, scenario, sweep, Scenario};

#[derive(Parser)]
#[command(
    name = "synod-sim",
    about = "Adversarial simulations on the real Synod state machine: seeded, reproducible, with sweeps, reports and plots",
    after_help = "Examples:\n  synod-sim list\n  synod-sim show baseline\n  synod-sim run offline-agents --seed 7 --out out/offline\n  synod-sim sweep sybil-split --vary actors.0.identities=2,4,8 --reps 5 --out out/split"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Lists the built-in scenarios and the actor kinds.
    List,
    /// Prints a scenario's TOML (a built-in name or a file).
    Show { scenario: String },
    /// Runs a scenario once and writes its metrics, summary, report and plots.
    Run {
        /// A built-in scenario name or a TOML file.
        scenario: String,
        /// The seed (default: the scenario's).
        #[arg(long)]
        seed: Option<u64>,
        /// Blocks to simulate (default: the scenario's).
        #[arg(long)]
        blocks: Option<u64>,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
    },
    /// Runs a scenario over a grid of values, `reps` seeds each, in parallel.
    Sweep {
        scenario: String,
        /// `key=v1,v2,...`: a dotted scenario field and its values (repeatable).
        #[arg(long = "vary", required = true)]
        vary: Vec<String>,
        /// Repetitions (seeds) per grid point.
        #[arg(long, default_value_t = 5)]
        reps: u32,
        /// Blocks to simulate (default: the scenario's).
        #[arg(long)]
        blocks: Option<u64>,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::List => {
            println!("Built-in scenarios:");
            for (name, text) in scenario::BUILTIN {
                let s = Scenario::parse(text).context("a built-in scenario")?;
                println!("  {name:<22} {}", s.description);
            }
            println!("\nActor kinds:");
            for (kind, about, _) in REGISTRY {
                println!("  {kind:<12} {about}");
            }
        }
        Command::Show { scenario } => {
            print!("{}", Scenario::text(&scenario)?);
        }
        Command::Run {
            scenario,
            seed,
            blocks,
            out,
        } => {
            let mut s = Scenario::load(&scenario)?;
            if let Some(seed) = seed {
                s.seed = seed;
            }
            if let Some(blocks) = blocks {
                s.blocks = blocks;
            }
            let result = synod_sim::run(&s).with_context(|| format!("running {}", s.name))?;
            output::write_run(&out, &s, &result)?;
            println!(
                "{}: {} blocks, height {}, {} runs verified, {} failed; wrote {}",
                s.name,
                result.blocks,
                result.height,
                result.last.get("runs_verified").copied().unwrap_or(0),
                result.last.get("runs_failed").copied().unwrap_or(0),
                out.display()
            );
        }
        Command::Sweep {
            scenario,
            vary,
            reps,
            blocks,
            out,
        } => {
            let mut table: toml::Table = Scenario::text(&scenario)?
                .parse()
                .context("the scenario's TOML")?;
            if let Some(blocks) = blocks {
                scenario::set_path(&mut table, "blocks", &blocks.to_string())?;
            }
            let plan = sweep::Plan::new(table, &vary, reps)?;
            let bar = indicatif::ProgressBar::new(plan.len() as u64).with_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} runs, {elapsed} elapsed, eta {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            let result = plan.run(|| bar.inc(1))?;
            bar.finish_and_clear();
            sweep::write(&out, &plan, &result)?;
            println!(
                "{} runs ({} grid points x {} reps); wrote {}",
                plan.len(),
                plan.points.len(),
                reps,
                out.display()
            );
        }
    }
    Ok(())
}
