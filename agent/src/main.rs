//! `synod-agent`: thin — parses arguments, sets up logging, calls into
//! `synod_agent`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use synod_agent::{
    agent::{self, Faults},
    config::{self, Config},
    metrics::Metrics,
    network::{self, payload::PayloadStore, NetworkConfig},
};

/// An autonomous Synod agent: takes the workflow steps the chain assigns
/// to its key, runs the pinned models, proves, submits, and gossips tasks,
/// results and payloads over libp2p.
///
/// Examples:
///   synod-agent init --key-file keys/agent-0.json --node http://127.0.0.1:26601 \
///       --model mlp.synod-model --out agent.toml
///   synod-agent start --config agent.toml
///   synod-agent fetch --peer /ip4/127.0.0.1/tcp/7000/p2p/12D3... --hash HEX --out proof.bin
#[derive(Parser, Debug)]
#[command(version, about, long_about, verbatim_doc_comment)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Write a commented config file.
    Init {
        /// The account key (the keyring's operator JSON format).
        #[arg(long)]
        key_file: PathBuf,
        /// The node's RPC.
        #[arg(long, default_value = "http://127.0.0.1:26601")]
        node: String,
        /// The libp2p listen address.
        #[arg(long, default_value = "/ip4/127.0.0.1/tcp/7000")]
        listen: String,
        /// A `.synod-model` file it serves (repeat).
        #[arg(long = "model")]
        models: Vec<PathBuf>,
        /// Serve Prometheus metrics on this address.
        #[arg(long)]
        metrics: Option<String>,
        /// Where to write the config (refuses to overwrite).
        #[arg(long, default_value = "agent.toml")]
        out: PathBuf,
    },
    /// Run the agent until SIGINT or SIGTERM.
    Start {
        #[arg(long, default_value = "agent.toml")]
        config: PathBuf,
        /// Test only: misbehave (`corrupt-payloads`, `lazy`, comma-separated).
        #[arg(long, default_value = "", hide = true)]
        faults: Faults,
    },
    /// Fetch a payload by hash from one agent and check its hash.
    Fetch {
        /// The agent's address with /p2p/PEERID.
        #[arg(long)]
        peer: String,
        /// The payload's SHA-256 (64 hex digits).
        #[arg(long)]
        hash: String,
        /// Write the payload here (default: print its size and hash).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 30)]
        timeout_secs: u64,
    },
    /// Load every model of a config, run each on sample inputs and print
    /// what it serves (external commands are checked deterministic).
    Models {
        #[arg(long, default_value = "agent.toml")]
        config: PathBuf,
        /// The chain's `models.max_k` (circuits of at most 2^max_k rows).
        #[arg(long, default_value_t = 16)]
        max_k: u32,
    },
    /// Print the PeerId of a key file (the libp2p identity of its account).
    PeerId {
        #[arg(long)]
        key_file: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
        .and_then(|rt| rt.block_on(run(cli)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Init {
            key_file,
            node,
            listen,
            models,
            metrics,
            out,
        } => {
            if out.exists() {
                anyhow::bail!(
                    "{} exists: remove it or choose another --out",
                    out.display()
                );
            }
            let text = config::template(&key_file, &node, &listen, &models, metrics.as_deref());
            std::fs::write(&out, text).with_context(|| format!("writing {}", out.display()))?;
            println!("wrote {}", out.display());
            Ok(())
        }
        Command::Start { config, faults } => {
            let config = Config::load(&config)?;
            let shutdown = agent::shutdown_signal()?;
            agent::run(config, faults, shutdown).await
        }
        Command::Fetch {
            peer,
            hash,
            out,
            timeout_secs,
        } => fetch(&peer, &hash, out, Duration::from_secs(timeout_secs)).await,
        Command::Models { config, max_k } => {
            let config = Config::load(&config)?;
            let models = agent::load_models(&config.models, max_k, false).await?;
            for (id, m) in &models {
                let sample = synod_agent::model::sample_inputs(m.input_len(), 1);
                let out = m.run(&sample[0]).context("running a sample input")?;
                println!(
                    "{}  in {} out {}  {}  sample output {:?}",
                    hex::encode(id),
                    m.input_len(),
                    m.output_len(),
                    if m.can_prove() {
                        "zk+optimistic"
                    } else {
                        "optimistic"
                    },
                    out
                );
            }
            Ok(())
        }
        Command::PeerId { key_file } => {
            let key = agent::read_key(&key_file)?;
            let kp = libp2p::identity::Keypair::ed25519_from_bytes(key.to_seed())?;
            println!("{}", kp.public().to_peer_id());
            Ok(())
        }
    }
}

async fn fetch(
    peer: &str,
    hash: &str,
    out: Option<PathBuf>,
    timeout: Duration,
) -> anyhow::Result<()> {
    let addr: libp2p::Multiaddr = peer
        .parse()
        .with_context(|| format!("--peer {peer:?} is not a multiaddr"))?;
    let Some(libp2p::multiaddr::Protocol::P2p(peer_id)) = addr.iter().last() else {
        anyhow::bail!("--peer must end with /p2p/PEERID");
    };
    let want: [u8; 32] = hex::decode(hash.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .with_context(|| format!("--hash {hash:?} is not 64 hex digits"))?;
    let scratch = tempfile_dir()?;
    let (net, _gossip, event_loop) = network::start(NetworkConfig {
        seed: rand_seed(),
        chain_id: "fetch".into(),
        listen: "/ip4/127.0.0.1/tcp/0".parse()?,
        bootstrap: Vec::new(),
        store: PayloadStore::open(&scratch)?,
        metrics: Metrics::new(),
        faults: Default::default(),
    })?;
    let task = tokio::spawn(event_loop.run());
    let got = tokio::time::timeout(timeout, net.fetch(peer_id, Some(addr), want)).await;
    task.abort();
    let _ = std::fs::remove_dir_all(&scratch);
    let bytes = got
        .map_err(|_| anyhow::anyhow!("no answer within {} s", timeout.as_secs()))?
        .context("fetching the payload")?;
    match out {
        Some(path) => {
            std::fs::write(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
            println!(
                "{} bytes, sha256 {hash}, written to {}",
                bytes.len(),
                path.display()
            );
        }
        None => println!("{} bytes, sha256 {hash}", bytes.len()),
    }
    Ok(())
}

/// A fresh identity for a one-off fetch.
fn rand_seed() -> [u8; 32] {
    synod_client::SecretKey::generate().to_seed()
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("synod-agent-fetch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}
