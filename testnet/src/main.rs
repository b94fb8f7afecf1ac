//! `synod-testnet`: one command for a local Synod network on loopback.
//! Parses the command line, sets up logging, and calls the module that does
//! the work; `DIR/testnet.json` ties the commands together.

mod agents;
mod binaries;
mod demo;
mod down;
mod faults;
mod join;
mod ports;
mod process;
mod rpc;
mod state;
mod status;
mod up;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::state::TestnetState;

/// Run a local Synod network on loopback: validators (synod-app +
/// synod-node, or CometBFT), full nodes, funded keys; watch it, break it,
/// grow it, stop it.
///
/// Examples:
///   synod-testnet demo                               # the guided tour
///   synod-testnet up --validators 4 --seed 1         # start, wait for the first block
///   synod-testnet status --watch
///   synod-testnet kill validator-2 && synod-testnet restart validator-2
///   synod-testnet pause 1 / resume 1 / isolate 3 / heal 3
///   synod-testnet join --name alice                  # a new validator, via a tx
///   synod-testnet logs validator-0 --follow
///   synod-testnet down --clean
#[derive(Parser, Debug)]
#[command(version, about, long_about, verbatim_doc_comment)]
struct Cli {
    /// The testnet directory (homes, keys, logs, testnet.json).
    #[arg(
        long,
        global = true,
        env = "SYNOD_TESTNET_DIR",
        default_value = "./synod-testnet"
    )]
    dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Write the homes, start every app and node, wait for the first block.
    Up(up::UpArgs),
    /// A table per node, app-hash agreement, rates and the validator set.
    Status {
        /// Redraw every second until Ctrl-C.
        #[arg(long)]
        watch: bool,
        /// `json`: one JSON document (for scripts).
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
    },
    /// SIGKILL a node's app and node processes (or an agent: `agent-1`).
    Kill {
        /// The node: its name (`validator-2`), home (`node2`) or index (`2`).
        node: String,
    },
    /// Start a node again on its home (also resumes and heals it), or an agent.
    Restart {
        /// The node: its name (`validator-2`), home (`node2`) or index (`2`).
        node: String,
    },
    /// SIGSTOP a node's processes.
    Pause {
        /// The node: its name (`validator-2`), home (`node2`) or index (`2`).
        node: String,
    },
    /// SIGCONT a paused node's processes.
    Resume {
        /// The node: its name (`validator-2`), home (`node2`) or index (`2`).
        node: String,
    },
    /// Restart a node with no peers on a fresh p2p port: a network partition.
    Isolate {
        /// The node: its name (`validator-2`), home (`node2`) or index (`2`).
        node: String,
    },
    /// Give an isolated node its peers back.
    Heal {
        /// The node: its name (`validator-2`), home (`node2`) or index (`2`).
        node: String,
    },
    /// Add a validator the operator's way: genesis from RPC, sync, fund, register.
    Join(join::JoinArgs),
    /// Print a node's log (the consensus node's, or the app's with --app).
    Logs {
        /// The node: its name (`validator-2`), home (`node2`) or index (`2`).
        node: String,
        /// The app's log (`synod-app`) instead of the consensus node's.
        #[arg(long)]
        app: bool,
        /// Keep printing new lines as they are written (Ctrl-C ends it).
        #[arg(long, short)]
        follow: bool,
        /// How many of the last lines to print first.
        #[arg(long, default_value_t = 50)]
        lines: usize,
    },
    /// Stop every process (SIGTERM, then SIGKILL after 10 s); --clean removes DIR.
    Down {
        /// Also remove DIR (homes, keys, logs) once every process is gone.
        #[arg(long)]
        clean: bool,
    },
    /// Start 4 validators and walk through transfers, a bond, a join, a kill
    /// and a restart; stop the network at the end unless --keep.
    Demo(demo::DemoArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Output {
    Text,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
        .and_then(|runtime| runtime.block_on(run(cli)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line with every cause, as `synod` and `synod-config` print errors.
            eprintln!("error: {}", synod_consensus_config::cli::error_line(&e));
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let dir = process::absolute(&cli.dir)?;
    match cli.command {
        Command::Up(args) => {
            let started = up::up(&dir, &args).await?;
            up::print_summary(&started);
            Ok(())
        }
        Command::Status { watch, output } => status::run(&dir, watch, output == Output::Json).await,
        Command::Kill { node } => {
            let mut state = TestnetState::load(&dir)?;
            if let Some(a) = state.agent_index(&node) {
                return agents::kill(&mut state, a);
            }
            let i = state.node_index(&node)?;
            faults::kill(&mut state, i)
        }
        Command::Restart { node } => {
            let mut state = TestnetState::load(&dir)?;
            if let Some(a) = state.agent_index(&node) {
                return agents::restart(&mut state, a);
            }
            let i = state.node_index(&node)?;
            faults::restart(&mut state, i).await
        }
        Command::Pause { node } => {
            let mut state = TestnetState::load(&dir)?;
            let i = state.node_index(&node)?;
            faults::pause(&mut state, i, true)
        }
        Command::Resume { node } => {
            let mut state = TestnetState::load(&dir)?;
            let i = state.node_index(&node)?;
            faults::pause(&mut state, i, false)
        }
        Command::Isolate { node } => {
            let mut state = TestnetState::load(&dir)?;
            let i = state.node_index(&node)?;
            faults::isolate(&mut state, i).await
        }
        Command::Heal { node } => {
            let mut state = TestnetState::load(&dir)?;
            let i = state.node_index(&node)?;
            faults::heal(&mut state, i).await
        }
        Command::Join(args) => {
            let mut state = TestnetState::load(&dir)?;
            join::join(&mut state, &args).await.map(|_| ())
        }
        Command::Logs {
            node,
            app,
            follow,
            lines,
        } => {
            let state = TestnetState::load(&dir)?;
            if let Some(a) = state.agent_index(&node) {
                let a = &state.agents[a];
                return down::log_file(&a.name, &a.log(), follow, lines).await;
            }
            let i = state.node_index(&node)?;
            down::logs(&state, i, app, follow, lines).await
        }
        Command::Down { clean } => down::down(&dir, clean),
        Command::Demo(args) => demo::run(&dir, &args).await,
    }
}
