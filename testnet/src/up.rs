//! `synod-testnet up`: write the homes, start an app and a node per home,
//! wait for the first block on every node, print the endpoints. All or
//! nothing: if any node fails to start or to commit, everything started is
//! killed and the command fails with the failing node's last log lines.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};
use synod_consensus_config::{cli::count, outln};

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use synod_consensus_config::{generate_network, NetworkSpec, NodePorts};
use synod_protocol::state::VerificationMode;

use crate::{
    binaries, ports, process, rpc,
    state::{Engine, NodeRecord, Ports, Role, TestnetState},
};

/// `--base-port`: a number, or `auto` for the first free block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BasePort {
    Auto,
    Port(u16),
}

impl FromStr for BasePort {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "auto" {
            return Ok(BasePort::Auto);
        }
        s.parse()
            .map(BasePort::Port)
            .map_err(|_| format!("{s:?} is neither a port number nor `auto`"))
    }
}

/// Options of `up`.
#[derive(clap::Args, Debug, Clone)]
pub struct UpArgs {
    /// Number of genesis validators.
    #[arg(long, default_value_t = 4)]
    pub validators: usize,
    /// Number of full nodes (follow the chain, funded but not bonded).
    #[arg(long, default_value_t = 0)]
    pub full_nodes: usize,
    /// Number of agents: funded keys (agent-0 ..) in DIR/keys, each run by
    /// a `synod-agent` process serving the --model files once the chain is up.
    #[arg(long, default_value_t = 0)]
    pub agents: usize,
    /// Test only: run agent I with faults SPEC (`synod-agent start
    /// --faults`), e.g. `2:corrupt-payloads`; repeat.
    #[arg(long = "agent-faults", value_name = "I:SPEC")]
    pub agent_faults: Vec<String>,
    /// How long the agents may take to register on chain (they derive
    /// their proving keys first).
    #[arg(long, default_value_t = 300)]
    pub agent_timeout_secs: u64,
    /// Only write and fund the agent keys; start no agent process.
    #[arg(long)]
    pub agent_keys_only: bool,
    /// Consensus engine in front of each app.
    #[arg(long, value_enum, default_value = "embedded")]
    pub engine: Engine,
    /// First port of node 0 (10 ports per node: p2p, rpc +1, app +2,
    /// metrics +3, mempool gossip +5), or `auto` for a free block.
    #[arg(long, default_value = "26600")]
    pub base_port: BasePort,
    /// Derive every key from this seed (the same network every time).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Target block time (CometBFT's timeout_commit), e.g. 500ms, 1s.
    #[arg(long, default_value = "500ms")]
    pub block_time: String,
    /// The chain id written into the genesis (at most 50 characters).
    #[arg(long, default_value = "synod-local")]
    pub chain_id: String,
    /// Where synod-app and synod-node are (default: next to synod-testnet, then PATH).
    #[arg(long, env = "SYNOD_TESTNET_BIN_DIR")]
    pub bin_dir: Option<PathBuf>,
    /// Replace a stopped testnet left in DIR by an earlier run.
    #[arg(long)]
    pub reset: bool,
    /// How long every node may take to commit its first block.
    #[arg(long, default_value_t = 60)]
    pub start_timeout_secs: u64,
    /// Register this `.synod-model` file (made by `synod model import`) at
    /// genesis, zk and optimistic results allowed; repeat for more models.
    #[arg(long = "model", value_name = "FILE")]
    pub models: Vec<PathBuf>,
    /// Register this workflow file (the `register-workflow` format of
    /// `synod gov propose`) at genesis, after the models; repeat for more.
    #[arg(long = "workflow", value_name = "FILE")]
    pub workflows: Vec<PathBuf>,
    /// Governance voting period in blocks (expedited: half of it; deposit
    /// period: five times it). Short, so proposals can be tried by hand; the
    /// minimum deposit is 1,000 syn (5,000 expedited).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(2..=10_000_000))]
    pub voting_blocks: u64,
}

/// Governance parameters for a local testnet: a voting period of
/// `voting_blocks` (at least 2), half of it expedited, deposits for five
/// times as long; 1,000 syn minimum deposit (5,000 expedited).
pub fn local_governance(voting_blocks: u64) -> synod_protocol::params::GovernanceParams {
    let voting_blocks = voting_blocks.max(2);
    synod_protocol::params::GovernanceParams {
        min_deposit: synod_protocol::Amount::syn(1_000),
        expedited_min_deposit: synod_protocol::Amount::syn(5_000),
        max_deposit_blocks: voting_blocks.saturating_mul(5),
        voting_blocks,
        expedited_voting_blocks: (voting_blocks / 2).max(1),
        ..Default::default()
    }
}

/// What `up` started.
#[derive(Debug)]
pub struct Started {
    pub state: TestnetState,
    /// From the first process started to the first block any node committed.
    pub first_block_after: Duration,
    /// From the first process started to every node at height 1.
    pub all_at_height_1_after: Duration,
}

/// Fails if `dir` holds a running testnet; clears a stopped one with `reset`.
pub fn prepare_dir(dir: &Path, reset: bool) -> anyhow::Result<()> {
    let state_file = TestnetState::path(dir);
    let d = dir.display();
    if state_file.exists() {
        if let Ok(state) = TestnetState::load(dir) {
            let running: Vec<&str> = state
                .nodes
                .iter()
                .filter(|n| n.pids().iter().any(|&p| process::is_alive(p, &n.home)))
                .map(|n| n.name.as_str())
                .chain(
                    state
                        .agents
                        .iter()
                        .filter(|a| a.is_alive())
                        .map(|a| a.name.as_str()),
                )
                .collect();
            if !running.is_empty() {
                bail!(
                    "a testnet is running in {d} ({} up): run `synod-testnet down --dir {d}` first",
                    running.join(", ")
                );
            }
        }
        if !reset {
            bail!(
                "{d} holds a stopped testnet from an earlier run: add --reset to replace it, \
                 or remove it with `synod-testnet down --dir {d} --clean`"
            );
        }
        std::fs::remove_dir_all(dir).with_context(|| format!("removing {d}"))?;
        return Ok(());
    }
    let non_empty = std::fs::read_dir(dir)
        .map(|mut entries| entries.next().is_some())
        .unwrap_or(false);
    if non_empty {
        if reset && dir.join("node0").exists() {
            std::fs::remove_dir_all(dir).with_context(|| format!("removing {d}"))?;
            return Ok(());
        }
        bail!(
            "{d} is not empty and holds no testnet ({} is missing): choose another --dir",
            crate::state::STATE_FILE
        );
    }
    Ok(())
}

fn spinner(message: String) -> ProgressBar {
    let bar = ProgressBar::new_spinner().with_message(message);
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

fn bar(len: u64, template: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Writes the homes and starts the network; see the module docs.
pub async fn up(dir: &Path, args: &UpArgs) -> anyhow::Result<Started> {
    let dir = process::absolute(dir)?;
    let d = dir.display().to_string();
    if args.validators == 0 {
        bail!("--validators must be at least 1");
    }
    prepare_dir(&dir, args.reset)?;
    let bins = binaries::resolve(args.engine, args.bin_dir.as_deref())?;

    let names: Vec<String> = (0..args.validators)
        .map(|i| format!("validator-{i}"))
        .chain((0..args.full_nodes).map(|j| format!("full-node-{j}")))
        .collect();
    let base_port = match args.base_port {
        BasePort::Port(p) => {
            if let Some((port, who)) =
                ports::first_taken(p, &names, args.engine).map_err(anyhow::Error::msg)?
            {
                let hint = ports::free_block(names.len())
                    .map(|b| format!(" (e.g. --base-port {b}) or --base-port auto"))
                    .unwrap_or_else(|| " or --base-port auto".into());
                bail!("port {port} ({who}) is in use: pick another --base-port{hint}");
            }
            p
        }
        BasePort::Auto => ports::free_block(names.len())
            .context("no block of free ports found for --base-port auto")?,
    };

    let mut spec = NetworkSpec::new(&dir, args.validators, &args.chain_id);
    spec.base_port = base_port;
    spec.full_nodes = args.full_nodes;
    spec.agents = args.agents;
    spec.genesis.seed = args.seed;
    spec.genesis.params.governance = local_governance(args.voting_blocks);
    for path in &args.models {
        spec.genesis.models.push(
            synod_consensus_config::genesis::genesis_model_file(
                path,
                &[VerificationMode::Zk, VerificationMode::Optimistic],
            )
            .context("--model")?,
        );
    }
    for path in &args.workflows {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("--workflow: reading {}", path.display()))?;
        let workflow =
            synod_client::proposal::WorkflowFile::parse(&text, &path.display().to_string())
                .map_err(anyhow::Error::msg)
                .context("--workflow")?;
        workflow
            .check()
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("--workflow {}", path.display()))?;
        spec.genesis.workflows.push(workflow);
    }
    spec.config.consensus.timeout_commit =
        synod_consensus_config::duration::parse(&args.block_time)
            .map_err(anyhow::Error::msg)
            .context("--block-time")?;
    // A dead proposer costs one timeout_propose per round it leads: keep it short.
    spec.config.consensus.timeout_propose = Duration::from_secs(2);
    spec.config.instrumentation.prometheus = true;

    std::fs::create_dir_all(&dir).with_context(|| format!("creating {d}"))?;
    let writing = spinner(format!("writing {} homes under {d}", names.len()));
    let homes = generate_network(&spec).with_context(|| format!("writing the homes under {d}"));
    writing.finish_and_clear();
    let homes = homes?;
    // A new chain under this id: the light client's trust root for the
    // last chain of that id (kept by `synod … --prove`) would refuse it.
    if let Some(light) = synod_client::light::default_store_dir() {
        match synod_client::light::forget_chain(&light, &args.chain_id) {
            Ok(Some(file)) => tracing::info!(
                file = %file.display(),
                "forgot the light client's trust root of the previous chain {}",
                args.chain_id
            ),
            Ok(None) => {}
            Err(e) => tracing::warn!(
                "could not forget the light client's trust root of chain {}: {e}",
                args.chain_id
            ),
        }
    }

    let nodes = homes
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let ports = NodePorts::of(base_port, i).context("node ports past 65535")?;
            Ok(NodeRecord {
                index: i,
                name: h.moniker.clone(),
                role: if h.is_validator {
                    Role::Validator
                } else {
                    Role::FullNode
                },
                home: process::absolute(&h.home)?,
                ports: Ports::from(ports),
                node_id: h.node_id.to_string(),
                validator_address: h.validator_address.to_string(),
                operator: h.operator.to_string(),
                app_pid: None,
                node_pid: None,
                paused: false,
                isolated_p2p_port: None,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut state = TestnetState {
        dir: dir.clone(),
        chain_id: args.chain_id.clone(),
        base_port,
        engine: args.engine,
        app_binary: bins.app,
        node_binary: bins.node,
        block_time: args.block_time.clone(),
        nodes,
        agents: Vec::new(),
        agent_binary: None,
    };
    state.save()?;

    let agent_binary = if args.agents > 0 && !args.agent_keys_only {
        Some(binaries::find("synod-agent", args.bin_dir.as_deref())?)
    } else {
        None
    };
    let agent_faults = crate::agents::parse_faults(&args.agent_faults)?;
    if agent_binary.is_some() && args.models.is_empty() {
        bail!("--agents needs at least one --model for the agents to serve");
    }

    let started_at = Instant::now();
    let started = start_and_wait(&mut state, Duration::from_secs(args.start_timeout_secs)).await;
    let started = match (started, &agent_binary) {
        (Ok(times), Some(bin)) => start_agents(&mut state, bin, args, &agent_faults)
            .await
            .map(|()| times)
            .map_err(|error| StartFailure { error, node: None }),
        (other, _) => other,
    };
    match started {
        Ok((first, all)) => Ok(Started {
            state,
            first_block_after: first.duration_since(started_at),
            all_at_height_1_after: all.duration_since(started_at),
        }),
        Err(failure) => {
            process::kill_all(&crate::agents::procs(&state));
            for a in &mut state.agents {
                a.pid = None;
            }
            for node in &mut state.nodes {
                process::kill_node(node);
                node.app_pid = None;
                node.node_pid = None;
            }
            state.save()?;
            if let Some(i) = failure.node {
                eprintln!("{}", process::explain(&state.nodes[i], 20));
            }
            Err(failure.error.context(format!(
                "the network did not start; everything started was stopped. Logs stay in {d}; \
                 `synod-testnet up --dir {d} --reset` starts over"
            )))
        }
    }
}

/// Writes the agents' configs, starts them (agent-0 first: the others'
/// bootstrap peer) and waits until each is registered on chain.
async fn start_agents(
    state: &mut TestnetState,
    binary: &Path,
    args: &UpArgs,
    faults: &[(usize, String)],
) -> anyhow::Result<()> {
    crate::agents::write_configs(state, binary, args.agents, &args.models, faults)?;
    let waiting = spinner(format!(
        "starting {} (deriving proving keys, registering)",
        count(args.agents, "agent", "agents")
    ));
    for i in 0..state.agents.len() {
        crate::agents::start(state, i)?;
    }
    let registered =
        crate::agents::wait_registered(state, Duration::from_secs(args.agent_timeout_secs)).await;
    waiting.finish_and_clear();
    registered
}

/// Why starting failed, and which node to show the logs of.
struct StartFailure {
    error: anyhow::Error,
    node: Option<usize>,
}

/// Starts every node, then waits until each reports height >= 1. Returns
/// when the first block was seen and when every node had it.
async fn start_and_wait(
    state: &mut TestnetState,
    timeout: Duration,
) -> Result<(Instant, Instant), StartFailure> {
    let starting = bar(
        state.nodes.len() as u64,
        "starting  [{bar:30}] {pos}/{len} nodes {msg}",
    );
    for i in 0..state.nodes.len() {
        starting.set_message(state.nodes[i].name.clone());
        process::start_node(state, i).map_err(|error| StartFailure {
            error,
            node: Some(i),
        })?;
        starting.inc(1);
    }
    starting.finish_and_clear();

    let waiting = bar(
        state.nodes.len() as u64,
        "first block [{bar:30}] {pos}/{len} nodes at height >= 1 ({elapsed})",
    );
    let start = Instant::now();
    let mut first = None;
    let result = loop {
        let dead = state.nodes.iter().enumerate().find_map(|(i, node)| {
            let pid = node
                .pids()
                .into_iter()
                .find(|&p| !process::is_alive(p, &node.home))?;
            let which = if Some(pid) == node.app_pid {
                "app"
            } else {
                "node"
            };
            Some(StartFailure {
                error: anyhow::anyhow!("the {which} of {} (pid {pid}) exited", node.name),
                node: Some(i),
            })
        });
        if let Some(failure) = dead {
            break Err(failure);
        }
        let mut at_one = 0;
        let mut lagging = None;
        for (i, node) in state.nodes.iter().enumerate() {
            if rpc::height(node).await.unwrap_or(0) >= 1 {
                at_one += 1;
            } else if lagging.is_none() {
                lagging = Some(i);
            }
        }
        if at_one > 0 && first.is_none() {
            first = Some(Instant::now());
        }
        waiting.set_position(at_one);
        if lagging.is_none() {
            let now = Instant::now();
            break Ok((first.unwrap_or(now), now));
        }
        if start.elapsed() > timeout {
            let i = lagging.unwrap_or(0);
            break Err(StartFailure {
                error: anyhow::anyhow!(
                    "{} did not commit a first block within {} s",
                    state.nodes[i].name,
                    timeout.as_secs()
                ),
                node: Some(i),
            });
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            _ = tokio::signal::ctrl_c() => break Err(StartFailure {
                error: anyhow::anyhow!("interrupted"),
                node: None,
            }),
        }
    };
    waiting.finish_and_clear();
    result
}

/// Prints endpoints, keys and what to do next.
pub fn print_summary(started: &Started) {
    let state = &started.state;
    let d = state.dir.display();
    let validators = state
        .nodes
        .iter()
        .filter(|n| n.role != Role::FullNode)
        .count();
    let full = state.nodes.len() - validators;
    outln!(
        "testnet {} is up: {}, {} ({} engine) in {d}",
        state.chain_id,
        count(validators, "validator", "validators"),
        count(full, "full node", "full nodes"),
        process::engine_binary_name(state.engine)
    );
    outln!(
        "first block committed {:.1} s after start; every node at height 1 after {:.1} s",
        started.first_block_after.as_secs_f64(),
        started.all_at_height_1_after.as_secs_f64()
    );
    outln!();
    outln!(
        "{:<14} {:<10} {:<24} {:<36} {:<16}",
        "NODE",
        "ROLE",
        "RPC",
        "METRICS",
        "P2P"
    );
    for n in &state.nodes {
        outln!(
            "{:<14} {:<10} {:<24} {:<36} {:<16}",
            n.name,
            n.role.to_string(),
            n.ports.rpc_url(),
            format!("http://127.0.0.1:{}/metrics", n.ports.prometheus),
            format!("127.0.0.1:{}", n.ports.p2p)
        );
    }
    outln!();
    let keys = key_names(&state.keys_dir());
    outln!(
        "keys in {} (for --keyring-dir): {}",
        state.keys_dir().display(),
        keys.join(", ")
    );
    if !state.agents.is_empty() {
        outln!();
        outln!("{:<10} {:<46} {:<36} P2P", "AGENT", "ACCOUNT", "METRICS");
        for a in &state.agents {
            outln!(
                "{:<10} {:<46} {:<36} {}",
                a.name,
                a.address,
                a.metrics_url(),
                a.p2p
            );
        }
    }
    let rpc = state
        .nodes
        .first()
        .map(|n| n.ports.rpc_url())
        .unwrap_or_default();
    let kd = state.keys_dir();
    let kd = kd.display();
    outln!();
    outln!("try:");
    outln!("  synod --keyring-dir {kd} keys list");
    outln!("  synod --node {rpc} --keyring-dir {kd} keys add alice");
    outln!("  synod --node {rpc} --keyring-dir {kd} tx transfer --from faucet alice 5syn");
    outln!("  synod --node {rpc} --keyring-dir {kd} query account alice --prove");
    outln!("  synod --node {rpc} query validators");
    outln!("  synod-testnet status --dir {d} --watch");
    outln!(
        "  synod-testnet kill validator-2 --dir {d}; synod-testnet restart validator-2 --dir {d}"
    );
    outln!("  synod-testnet join --dir {d}                # a new validator, registered by a tx");
    outln!("  synod-testnet logs validator-0 --follow --dir {d}");
    outln!("  synod-testnet down --dir {d} [--clean]");
}

/// The key names in a key directory (file stems of `*.json`), sorted.
pub fn key_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}
