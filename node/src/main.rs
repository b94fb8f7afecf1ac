//! `synod-node`: the embedded consensus node's command line. Parses the
//! arguments, sets up logging and calls into the library: homes come from
//! `synod-consensus-config`, settings from [`synod_node::home`], the node
//! from [`synod_node::node::start`].

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use synod_consensus_config::{
    config::ConsensusConfig, duration, init_home, outln, CometConfig, GenesisOptions,
};

/// Embedded consensus node (Tendermint BFT via Malachite) that drives an ABCI
/// 2.0 app, such as synod-app, over the ABCI socket exactly as CometBFT 0.38
/// does. Its home has CometBFT's layout, so the same home runs under CometBFT.
///
/// Examples:
///   synod-node init --home ~/.synod/node --moniker alice --chain-id synod-local
///   synod-node init --home ~/.synod/node --moniker alice --from-node http://SEED:26657
///   synod-app --home ~/.synod/app --abci tcp://127.0.0.1:26658 &
///   synod-node start --home ~/.synod/node
///   synod-node show-node-id --home ~/.synod/node
#[derive(Parser, Debug)]
#[command(version, about, long_about, verbatim_doc_comment)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Write a new single-validator home: config/config.toml, a genesis.json
    /// whose app_state funds and bonds the validator's operator account, and
    /// fresh keys (node_key.json, priv_validator_key.json, and the operator's
    /// account key in operator_key.json: keep it to sign the operator's
    /// transactions). Refuses to overwrite an existing home.
    Init {
        /// Home directory to create.
        #[arg(long, env = "SYNOD_NODE_HOME")]
        home: PathBuf,
        /// Human-readable name of this validator (default: the host name).
        #[arg(long)]
        moniker: Option<String>,
        /// Chain id of the new chain.
        #[arg(long, default_value = "synod-local")]
        chain_id: String,
        /// Derive every key from this seed (reproducible test homes); default: fresh random keys.
        #[arg(long)]
        seed: Option<u64>,
        #[command(flatten)]
        timeouts: TimeoutFlags,
    },
    /// Run the node from a home until SIGINT or SIGTERM.
    Start {
        /// Home directory (as written by `init`, or by CometBFT).
        #[arg(long, env = "SYNOD_NODE_HOME")]
        home: PathBuf,
        /// The app's ABCI address, overriding `proxy_app` in config.toml:
        /// tcp://HOST:PORT or unix://PATH.
        #[arg(long)]
        proxy_app: Option<String>,
        /// Log filter, e.g. `info` or `synod_node=debug` (RUST_LOG overrides it).
        #[arg(long, default_value = "info")]
        log_level: String,
        #[command(flatten)]
        faults: FaultFlags,
    },
    /// Write the homes of a local network of validators on loopback (as
    /// `cometbft testnet` does): DIR/node0 .. DIR/node{N-1}, one genesis, each
    /// node listing the others as peers, ports from --base-port (10 per node:
    /// p2p, RPC = p2p+1, app = p2p+2, metrics = p2p+3).
    Testnet {
        /// Number of validators.
        #[arg(long, default_value_t = 4)]
        validators: usize,
        /// Directory for the homes (must not hold them already).
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, default_value = "synod-local")]
        chain_id: String,
        /// First port of validator 0.
        #[arg(long, default_value_t = 26600)]
        base_port: u16,
        /// Derive every key from this seed (reproducible networks).
        #[arg(long)]
        seed: Option<u64>,
        /// timeout_commit, as CometBFT writes durations (e.g. 500ms, 1s).
        #[arg(long, default_value = "500ms")]
        block_time: String,
    },
    /// Print this node's CometBFT node id (peers list it as ID@HOST:PORT).
    ShowNodeId {
        #[arg(long, env = "SYNOD_NODE_HOME")]
        home: PathBuf,
    },
    /// Print this validator's consensus public key as CometBFT prints it.
    ShowValidator {
        #[arg(long, env = "SYNOD_NODE_HOME")]
        home: PathBuf,
    },
}

/// The network's `[consensus]` timeouts for a new home. Every node of a
/// network must run with the same ones, or it lags behind its peers' rounds:
/// take them from a running node (`--from-node`), or give the ones the
/// network's operators publish. A flag given beside `--from-node` wins.
#[derive(clap::Args, Debug)]
struct TimeoutFlags {
    /// Copy every `[consensus]` timeout from the running synod-node whose RPC
    /// is at URL (its `consensus_timeouts` method), e.g. http://SEED:26657.
    #[arg(long, value_name = "URL")]
    from_node: Option<String>,
    /// `timeout_commit`, the pause after each block (the block time), e.g. 500ms [default: 1s].
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    timeout_commit: Option<Duration>,
    /// `timeout_propose`, how long to wait for a round's proposal, e.g. 2s [default: 3s].
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    timeout_propose: Option<Duration>,
    /// `timeout_prevote` [default: 1s].
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    timeout_prevote: Option<Duration>,
    /// `timeout_precommit` [default: 1s].
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    timeout_precommit: Option<Duration>,
}

impl TimeoutFlags {
    /// The `[consensus]` section: CometBFT's defaults, or the node's at
    /// `--from-node`, then each flag given.
    fn consensus(&self) -> anyhow::Result<ConsensusConfig> {
        let mut c = match &self.from_node {
            Some(url) => tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?
                .block_on(synod_node::from_node::network_timeouts(url))
                .context("--from-node")?,
            None => ConsensusConfig::default(),
        };
        let flags = [
            (self.timeout_commit, &mut c.timeout_commit),
            (self.timeout_propose, &mut c.timeout_propose),
            (self.timeout_prevote, &mut c.timeout_prevote),
            (self.timeout_precommit, &mut c.timeout_precommit),
        ];
        for (flag, setting) in flags {
            if let Some(d) = flag {
                *setting = d;
            }
        }
        Ok(c)
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line, each cause once, as the other Synod tools print errors.
            eprintln!("error: {}", synod_consensus_config::cli::error_line(&e));
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Init {
            home,
            moniker,
            chain_id,
            seed,
            timeouts,
        } => init(&home, moniker, &chain_id, seed, &timeouts),
        Command::Start {
            home,
            proxy_app,
            log_level,
            faults,
        } => {
            init_logs(&log_level);
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            runtime.block_on(start(&home, proxy_app, faults.into_faults()))
        }
        Command::Testnet {
            validators,
            dir,
            chain_id,
            base_port,
            seed,
            block_time,
        } => testnet(validators, &dir, &chain_id, base_port, seed, &block_time),
        Command::ShowNodeId { home } => {
            let id = synod_node::home::node_id(&home)
                .with_context(|| format!("reading the node key of {}", home.display()))?;
            outln!("{id}");
            Ok(())
        }
        Command::ShowValidator { home } => {
            let key = synod_node::home::validator_public_key_json(&home)
                .with_context(|| format!("reading the validator key of {}", home.display()))?;
            outln!("{key}");
            Ok(())
        }
    }
}

fn init_logs(level: &str) {
    use tracing_subscriber::{layer::SubscriberExt as _, util::SubscriberInitExt as _};
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .finish()
        // No error for publishing with no peer to publish to (a lone validator).
        .with(synod_node::logs::QuietNoPeers)
        .init();
}

fn default_moniker() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "synod-node".into())
}

fn init(
    home: &Path,
    moniker: Option<String>,
    chain_id: &str,
    seed: Option<u64>,
    timeouts: &TimeoutFlags,
) -> anyhow::Result<()> {
    let moniker = moniker.unwrap_or_else(default_moniker);
    let options = GenesisOptions {
        seed,
        ..GenesisOptions::default()
    };
    let config = CometConfig {
        consensus: timeouts.consensus()?,
        ..CometConfig::default()
    };
    let summary = init_home(home, &moniker, chain_id, &config, &options)
        .with_context(|| format!("initializing the home {}", home.display()))?;
    let c = &config.consensus;
    outln!("initialized {} for chain {chain_id}", home.display());
    outln!("  moniker            {}", summary.moniker);
    outln!("  node id            {}", summary.node_id);
    outln!("  validator address  {}", summary.validator_address);
    outln!(
        "  operator account   {} (key in config/operator_key.json)",
        summary.operator
    );
    outln!("  app (proxy_app)    {}", summary.proxy_app);
    outln!(
        "  consensus          timeout_commit {}, timeout_propose {}{}",
        duration::format(c.timeout_commit),
        duration::format(c.timeout_propose),
        match &timeouts.from_node {
            Some(url) => format!(" (the network's, from {url})"),
            None => " (a network's nodes must all use the same: see --from-node)".into(),
        }
    );
    outln!(
        "next: start the app at that address, then `synod-node start --home {}`",
        home.display()
    );
    Ok(())
}

fn testnet(
    validators: usize,
    dir: &Path,
    chain_id: &str,
    base_port: u16,
    seed: Option<u64>,
    block_time: &str,
) -> anyhow::Result<()> {
    let mut spec = synod_consensus_config::NetworkSpec::new(dir, validators, chain_id);
    spec.base_port = base_port;
    spec.genesis.seed = seed;
    spec.config.consensus.timeout_commit = synod_consensus_config::duration::parse(block_time)
        .map_err(anyhow::Error::msg)
        .context("--block-time")?;
    spec.config.instrumentation.prometheus = true;
    let homes = synod_consensus_config::generate_network(&spec)
        .with_context(|| format!("writing the network under {}", dir.display()))?;
    outln!(
        "{} of chain {chain_id} under {}",
        synod_consensus_config::cli::count(homes.len(), "validator", "validators"),
        dir.display()
    );
    for h in &homes {
        outln!(
            "  {:<14} home {}  p2p {}  rpc {}  app {}",
            h.moniker,
            h.home.display(),
            h.p2p_laddr,
            h.rpc_laddr,
            h.proxy_app
        );
    }
    outln!("start each app at its proxy_app address, then `synod-node start --home HOME` for each");
    Ok(())
}

/// Deliberate faults, compiled in only with the `faults` feature (tests and
/// simulations): a release build has no such flag.
#[cfg(feature = "faults")]
#[derive(clap::Args, Debug)]
struct FaultFlags {
    /// TESTS ONLY: sign a conflicting second vote for every vote. The
    /// network catches it, slashes the stake and tombstones the validator.
    #[arg(long, hide = true)]
    unsafe_equivocate: bool,
    /// TESTS ONLY: propose only broken blocks (a Byzantine proposer); the
    /// others refuse each with a nil vote.
    #[arg(long, hide = true)]
    unsafe_byzantine_proposer: bool,
}

/// Without the `faults` feature there are no fault flags.
#[cfg(not(feature = "faults"))]
#[derive(clap::Args, Debug)]
struct FaultFlags {}

impl FaultFlags {
    fn into_faults(self) -> synod_node::node::Faults {
        #[cfg(feature = "faults")]
        return synod_node::node::Faults {
            equivocate_votes: self.unsafe_equivocate,
            mutate_proposals: self.unsafe_byzantine_proposer,
        };
        #[cfg(not(feature = "faults"))]
        synod_node::node::Faults::default()
    }
}

async fn start(
    home: &Path,
    proxy_app: Option<String>,
    faults: synod_node::node::Faults,
) -> anyhow::Result<()> {
    let mut node_home = synod_node::home::load(home)
        .with_context(|| format!("loading the home {}", home.display()))?;
    if let Some(address) = proxy_app {
        node_home.settings.abci_address =
            synod_node::home::abci_address(&address).context("--proxy-app")?;
    }
    node_home.settings.faults = faults;
    let settings = &node_home.settings;
    tracing::info!(
        home = %home.display(),
        moniker = %settings.moniker,
        // Compare with the peers': a node with other timeouts lags behind their rounds.
        timeout_propose = %duration::format(settings.timeouts.propose),
        timeout_commit = %duration::format(settings.target_block_time.unwrap_or_default()),
        chain_id = %node_home.init_chain.chain_id,
        node_id = %node_home.node_id,
        validator = %node_home.validator_address,
        listen = %settings.listen_addr,
        peers = settings.persistent_peers.len(),
        app = %settings.abci_address,
        "starting synod-node"
    );
    let app = settings.abci_address.clone();
    // Listen for signals before starting, so one that arrives while the node
    // waits for the app still ends it cleanly.
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    let stop = async {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        }
    };
    tokio::pin!(stop);
    let node = tokio::select! {
        started = synod_node::node::start(node_home.settings, node_home.init_chain) => {
            started.with_context(|| format!("starting the node (is the ABCI app running at {app}?)"))?
        }
        signal = &mut stop => {
            tracing::info!(signal, "stopped before the node started");
            return Ok(());
        }
    };
    tracing::info!("node running; stop it with SIGINT (Ctrl-C) or SIGTERM");
    let mut node = node;
    tokio::select! {
        signal = &mut stop => {
            tracing::info!(signal, "shutting down");
            node.shutdown().await;
            tracing::info!("stopped");
            Ok(())
        }
        why = node.stopped() => {
            // Nothing is signed past what the app committed: consensus waits
            // on the app for every decision, and it is gone.
            tracing::error!(error = %why, "the node stopped");
            node.shutdown().await;
            Err(anyhow::Error::new(why).context(format!(
                "the node stopped (the app at {app} may have died; restart it, then the node)"
            )))
        }
    }
}
