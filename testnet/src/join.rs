//! `synod-testnet join`: the node operator's path, step by step. Fetch the
//! genesis from a running node, write a new home with fresh keys, start app
//! and node, sync, get funds from the faucet, register as a validator with
//! a `RegisterValidator` tx, then wait until the new validator is in the
//! active set and its signature is in a block's last commit.

use std::time::{Duration, Instant};
use synod_consensus_config::outln;

use anyhow::{bail, Context};
use synod_client::{Client, Keyring};
use synod_consensus_config::{
    init_home, CometConfig, GenesisFile, GenesisOptions, NodePorts, OperatorKey,
};
use synod_protocol::{Amount, TxBody};
use tendermint_rpc::Client as _;

use crate::{
    ports, process, rpc,
    state::{NodeRecord, Ports, Role, TestnetState},
};

/// Options of `join`.
#[derive(clap::Args, Debug, Clone)]
pub struct JoinArgs {
    /// Moniker and key name of the new validator (default: validator-N).
    #[arg(long)]
    pub name: Option<String>,
    /// The running node to fetch the genesis from and send txs to.
    #[arg(long, default_value = "0")]
    pub from_node: String,
    /// Self-bond of the new validator (e.g. 10000syn).
    #[arg(long, default_value = "10000syn")]
    pub self_bond: Amount,
    /// How long each step may take (sync, active set, first signature).
    #[arg(long, default_value_t = 120)]
    pub step_timeout_secs: u64,
}

fn step(n: u32, text: &str) {
    outln!("[join {n}/7] {text}");
}

/// The ports of the first index from `index` whose whole block is free.
fn free_ports(state: &TestnetState, index: usize) -> anyhow::Result<Ports> {
    for i in index..index + 200 {
        let Some(p) = NodePorts::of(state.base_port, i) else {
            break;
        };
        let p = Ports::from(p);
        if p.named(state.engine)
            .iter()
            .all(|(_, port)| ports::is_free(*port))
        {
            return Ok(p);
        }
    }
    ports::free_block(1)
        .and_then(|b| NodePorts::of(b, 0))
        .map(Ports::from)
        .context("no free ports for the new node")
}

/// Polls `check` every 250 ms until it gives a value or `bound` passes.
async fn poll<T, F, Fut>(bound: Duration, what: &str, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return Ok(v);
        }
        if start.elapsed() > bound {
            bail!("{what} did not happen within {} s", bound.as_secs());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Runs the whole join; returns the index of the new node in the state.
pub async fn join(state: &mut TestnetState, args: &JoinArgs) -> anyhow::Result<usize> {
    let bound = Duration::from_secs(args.step_timeout_secs);
    let from = state.nodes[state.node_index(&args.from_node)?].clone();
    let from_url = from.ports.rpc_url();
    let index = state.nodes.iter().map(|n| n.index + 1).max().unwrap_or(0);
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| format!("validator-{index}"));
    if state.nodes.iter().any(|n| n.name == name) {
        bail!("a node named {name} exists already: pick another --name");
    }
    let keyring = Keyring::open(&state.keys_dir())
        .with_context(|| format!("opening the keys in {}", state.keys_dir().display()))?;
    if keyring.get(&name).is_ok() {
        bail!(
            "a key named {name} exists already in {}: pick another --name",
            state.keys_dir().display()
        );
    }
    let faucet = keyring
        .get("faucet")
        .context("the faucet key (it funds the new validator)")?;

    step(
        1,
        &format!(
            "fetching the genesis from {} ({from_url}/genesis)",
            from.name
        ),
    );
    let rpc_from = rpc::client(&from)?;
    let genesis: tendermint::Genesis<serde_json::Value> =
        synod_client::guard::rpc(rpc_from.genesis())
            .await
            .with_context(|| {
                format!(
                    "fetching the genesis from {from_url} (is {} running?)",
                    from.name
                )
            })?;
    if genesis.chain_id.as_str() != state.chain_id {
        bail!(
            "{} serves chain {}, not {}",
            from.name,
            genesis.chain_id,
            state.chain_id
        );
    }
    let genesis_text = serde_json::to_string_pretty(&genesis).context("encoding the genesis")?;

    let home = state.dir.join(format!("node{index}"));
    let node_ports = free_ports(state, index)?;
    step(
        2,
        &format!(
            "writing the home {} with fresh keys (p2p {}, rpc {}, app {})",
            home.display(),
            node_ports.p2p,
            node_ports.rpc,
            node_ports.abci
        ),
    );
    // Start from a running node's settings (timeouts, mempool), on new ports,
    // with every running validator as a persistent peer.
    let mut config = CometConfig::read(&from.home.join(synod_consensus_config::home::CONFIG_FILE))
        .context("reading the settings of the node joined from")?;
    config.moniker = name.clone();
    config.proxy_app = format!("tcp://127.0.0.1:{}", node_ports.abci);
    config.rpc.laddr = format!("tcp://127.0.0.1:{}", node_ports.rpc);
    config.p2p.laddr = format!("tcp://127.0.0.1:{}", node_ports.p2p);
    config.instrumentation.prometheus_listen_addr = format!("127.0.0.1:{}", node_ports.prometheus);
    config.p2p.persistent_peers = state
        .nodes
        .iter()
        .filter(|n| n.role != Role::FullNode && n.isolated_p2p_port.is_none())
        .map(|n| format!("{}@127.0.0.1:{}", n.node_id, n.ports.p2p))
        .collect();
    let summary = init_home(
        &home,
        &name,
        &state.chain_id,
        &config,
        &GenesisOptions::default(),
    )
    .with_context(|| format!("writing the home {}", home.display()))?;
    // The chain's genesis replaces the single-validator one init_home wrote.
    let genesis_path = CometConfig::resolve(&home, &config.genesis_file);
    GenesisFile::parse(&genesis_path, genesis_text.clone())
        .context("the fetched genesis does not parse as a genesis file")?;
    std::fs::write(&genesis_path, &genesis_text)
        .with_context(|| format!("writing {}", genesis_path.display()))?;
    let operator_file = home.join(synod_consensus_config::home::OPERATOR_KEY_FILE);
    let operator = OperatorKey::read(&operator_file)
        .with_context(|| format!("reading {}", operator_file.display()))?;
    keyring
        .import_file(&name, &operator_file)
        .with_context(|| format!("adding the operator key to {}", state.keys_dir().display()))?;
    outln!(
        "         operator {} (key `{name}` in {}), validator address {}",
        summary.operator,
        state.keys_dir().display(),
        summary.validator_address
    );

    state.nodes.push(NodeRecord {
        index,
        name: name.clone(),
        role: Role::JoinedValidator,
        home: process::absolute(&home)?,
        ports: node_ports,
        node_id: summary.node_id.to_string(),
        validator_address: summary.validator_address.to_string(),
        operator: summary.operator.to_string(),
        app_pid: None,
        node_pid: None,
        paused: false,
        isolated_p2p_port: None,
    });
    let new = state.nodes.len() - 1;
    state.save()?;

    step(3, "starting its app and node");
    process::start_node(state, new)?;
    let node = state.nodes[new].clone();
    crate::faults::wait_answering(&node, bound).await?;

    let target = rpc::height(&from).await.unwrap_or(1);
    step(4, &format!("syncing to the network height ({target})"));
    let synced = poll(bound, "syncing", || async {
        let s = rpc::status(&node).await?;
        let h = s.sync_info.latest_block_height.value();
        (h >= target && !s.sync_info.catching_up).then_some(h)
    })
    .await
    .map_err(|e| e.context(process::explain(&node, 20)))?;
    outln!("         at height {synced}");

    let client = Client::connect(&from_url)
        .await
        .with_context(|| format!("connecting to {from_url}"))?;
    let funds = args
        .self_bond
        .checked_add(Amount::syn(100))
        .context("--self-bond too large")?;
    step(
        5,
        &format!(
            "funding {} with {} from the faucet",
            summary.operator,
            funds.to_syn_string()
        ),
    );
    let funded = client
        .send(
            &faucet,
            TxBody::Transfer {
                to: summary.operator,
                amount: funds,
            },
        )
        .await
        .context("the faucet transfer")?;
    outln!(
        "         transfer {} in block {}",
        funded.hash,
        funded.height.unwrap_or(0)
    );

    step(
        6,
        &format!(
            "registering the validator (RegisterValidator, self-bond {})",
            args.self_bond.to_syn_string()
        ),
    );
    let registered = client
        .send(
            &operator.0,
            TxBody::RegisterValidator {
                consensus_key: summary.consensus_key,
                moniker: name.clone(),
                self_bond: args.self_bond,
            },
        )
        .await
        .context("RegisterValidator")?;
    outln!(
        "         registered in block {} (tx {})",
        registered.height.unwrap_or(0),
        registered.hash
    );

    step(7, "waiting for the active set and its first signed block");
    let operator_address = summary.operator;
    let power = poll(bound, "joining the active set", || async {
        let set = client.validators().await.ok()?;
        set.into_iter()
            .find(|v| v.validator.operator == operator_address && v.active)
            .map(|v| v.power)
    })
    .await?;
    outln!("         in the active set with power {power}");
    let address = summary.validator_address;
    let signed = poll(bound, "its signature in a block", || async {
        let b = rpc_from.latest_block().await.ok()?;
        let signed = b
            .block
            .last_commit
            .iter()
            .flat_map(|c| c.signatures.iter())
            .any(|s| s.validator_address() == Some(address));
        signed.then(|| b.block.header.height.value())
    })
    .await
    .map_err(|e| e.context(process::explain(&node, 20)))?;
    outln!("         its precommit is in the last commit of block {signed}");
    outln!(
        "{name} joined: rpc {}, home {}",
        node.ports.rpc_url(),
        node.home.display()
    );
    Ok(new)
}
