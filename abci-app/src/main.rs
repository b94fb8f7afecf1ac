//! `synod-app`: the Synod chain's ABCI 2.0 application server.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use synod_abci_app::{abci::Node, App, Storage, StorageOptions};

/// The Synod chain: a deterministic ABCI 2.0 app that CometBFT 0.38 (or the
/// embedded synod-node) drives over a socket.
///
/// Examples:
///   synod-app --home ~/.synod/app --abci tcp://127.0.0.1:26658
///   synod-app --home ./app --abci unix:///tmp/synod.sock
#[derive(Parser, Debug)]
#[command(version, about, long_about, verbatim_doc_comment)]
struct Cli {
    /// Home directory; state lives in HOME/data/state.db (created if absent).
    #[arg(long, env = "SYNOD_APP_HOME", default_value = "./synod-app-home")]
    home: PathBuf,
    /// Where to serve ABCI: tcp://HOST:PORT or unix://PATH.
    #[arg(long, env = "SYNOD_ABCI", default_value = "tcp://127.0.0.1:26658")]
    abci: String,
    /// Keep this many past state versions for historical queries and proofs (0 keeps all).
    #[arg(long, default_value_t = 1000)]
    prune_window: u64,
    /// Log filter, e.g. `info` or `synod_abci_app=debug` (RUST_LOG overrides).
    #[arg(long, default_value = "info")]
    log: String,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&cli.log));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();

    let db = cli.home.join("data").join("state.db");
    std::fs::create_dir_all(db.parent().context("state path has no parent")?)
        .with_context(|| format!("creating {}", cli.home.display()))?;
    let storage = Storage::open(
        &db,
        StorageOptions {
            prune_window: cli.prune_window,
        },
    )
    .with_context(|| format!("opening the state store at {}", db.display()))?;
    let app = App::new(storage).context("loading the app state")?;
    match app.info() {
        Some((height, hash)) => tracing::info!(height, app_hash = %hex::encode(hash), "resuming"),
        None => tracing::info!("fresh store: waiting for InitChain"),
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let address = cli.abci.clone();
        tracing::info!(%address, "serving ABCI");
        tokio::select! {
            r = Node::new(app).serve(&address) => r.map_err(|e| anyhow::anyhow!("ABCI server on {address}: {e}")),
            _ = tokio::signal::ctrl_c() => {
                tracing::info!("interrupted; state is committed block by block, nothing to flush");
                Ok(())
            }
        }
    })
}
