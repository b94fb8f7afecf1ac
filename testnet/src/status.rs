//! `synod-testnet status`: every node's height, app hash, peers, power and
//! process state; whether the app hashes agree; block and tx rates; the
//! validator set as the app sees it. A dead or paused node is a row that
//! says so, never an error.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use synod_consensus_config::cli::write_stdout;
use synod_protocol::state::{ValidatorStatus, ValidatorSummary};
use tendermint_rpc::Client;

use crate::{
    process::{self, ProcState},
    rpc,
    state::{NodeRecord, TestnetState},
};

/// One node's row.
#[derive(Debug, Serialize)]
pub struct NodeStatus {
    pub name: String,
    pub role: String,
    /// running, paused, isolated, dead, or which of the two processes is dead.
    pub process: String,
    pub rpc: String,
    pub height: Option<u64>,
    pub app_hash: Option<String>,
    pub peers: Option<u64>,
    pub voting_power: Option<u64>,
    pub catching_up: Option<bool>,
    /// From the app's validator registry (`None` if not a registered validator).
    pub jailed: Option<bool>,
}

/// One registered validator, as the app reports it.
#[derive(Debug, Serialize)]
pub struct ValidatorRow {
    pub moniker: String,
    pub operator: String,
    pub self_bond_usyn: String,
    pub power: u64,
    pub reputation_ppm: u64,
    pub status: String,
    pub active: bool,
}

/// Whether the live nodes agree on the app hash in the header of one block.
#[derive(Debug, Serialize)]
pub struct Agreement {
    /// The highest height every live node has.
    pub height: u64,
    pub agree: bool,
    /// node name -> app hash (hex) in the header of `height`.
    pub app_hashes: BTreeMap<String, String>,
}

/// One agent's row: the process, the chain's record, its own metrics.
#[derive(Debug, Serialize)]
pub struct AgentRow {
    pub name: String,
    pub process: String,
    pub address: String,
    /// From the chain (`None` when it is not registered or no node answers).
    pub bond_usyn: Option<String>,
    pub reputation: Option<u64>,
    /// From its `/metrics`.
    pub peers: Option<u64>,
    pub tasks_done: Option<u64>,
    pub tasks_failed: Option<u64>,
    pub metrics: String,
}

/// The whole status.
#[derive(Debug, Serialize)]
pub struct NetworkStatus {
    pub chain_id: String,
    pub dir: String,
    pub nodes: Vec<NodeStatus>,
    pub agreement: Option<Agreement>,
    /// Over up to the last 20 blocks.
    pub blocks_per_sec: Option<f64>,
    pub txs_per_sec: Option<f64>,
    pub validators: Vec<ValidatorRow>,
    pub agents: Vec<AgentRow>,
}

fn process_state(node: &NodeRecord) -> String {
    let app = node.app_pid.map(|p| process::proc_state(p, &node.home));
    let engine = node.node_pid.map(|p| process::proc_state(p, &node.home));
    let dead = |s: Option<ProcState>| matches!(s, None | Some(ProcState::Dead));
    match (dead(app), dead(engine)) {
        (true, true) => "dead".into(),
        (true, false) => "app dead".into(),
        (false, true) => "node dead".into(),
        (false, false) => {
            if app == Some(ProcState::Stopped) || engine == Some(ProcState::Stopped) {
                "paused".into()
            } else if node.isolated_p2p_port.is_some() {
                "isolated".into()
            } else {
                "running".into()
            }
        }
    }
}

/// Asks every node; never fails for a node that does not answer.
pub async fn gather(state: &TestnetState) -> NetworkStatus {
    let mut nodes = Vec::new();
    for node in &state.nodes {
        let process = process_state(node);
        // A paused node would only time out.
        let status = if process == "running" || process == "isolated" {
            rpc::status(node).await
        } else {
            None
        };
        let peers = if status.is_some() {
            rpc::peers(node).await
        } else {
            None
        };
        nodes.push(NodeStatus {
            name: node.name.clone(),
            role: node.role.to_string(),
            process,
            rpc: node.ports.rpc_url(),
            height: status
                .as_ref()
                .map(|s| s.sync_info.latest_block_height.value()),
            app_hash: status
                .as_ref()
                .map(|s| hex_upper(s.sync_info.latest_app_hash.as_bytes())),
            peers,
            voting_power: status.as_ref().map(|s| s.validator_info.power.value()),
            catching_up: status.as_ref().map(|s| s.sync_info.catching_up),
            jailed: None,
        });
    }

    let live: Vec<usize> = (0..nodes.len())
        .filter(|&i| nodes[i].height.is_some())
        .collect();
    let agreement = agreement(state, &nodes, &live).await;
    let (blocks_per_sec, txs_per_sec) = match live.first() {
        Some(&i) => rates(&state.nodes[i], nodes[i].height.unwrap_or(0)).await,
        None => (None, None),
    };

    let mut validators = Vec::new();
    if let Some(&i) = live.first() {
        if let Some(set) = app_validators(&state.nodes[i]).await {
            for node in &mut nodes {
                let record = state.nodes.iter().find(|r| r.name == node.name);
                if let Some(v) = record.and_then(|r| {
                    set.iter()
                        .find(|v| v.validator.operator.to_string() == r.operator)
                }) {
                    node.jailed =
                        Some(matches!(v.validator.status, ValidatorStatus::Jailed { .. }));
                }
            }
            validators = set
                .into_iter()
                .map(|v| ValidatorRow {
                    moniker: v.validator.moniker.clone(),
                    operator: v.validator.operator.to_string(),
                    self_bond_usyn: v.validator.self_bond.0.to_string(),
                    power: v.power,
                    reputation_ppm: v.reputation,
                    status: synod_client::standing(&v),
                    active: v.active,
                })
                .collect();
        }
    }

    let agents = match live.first() {
        Some(&i) => agent_rows(state, &state.nodes[i]).await,
        None => agent_rows_offline(state),
    };

    NetworkStatus {
        agents,
        chain_id: state.chain_id.clone(),
        dir: state.dir.display().to_string(),
        nodes,
        agreement,
        blocks_per_sec,
        txs_per_sec,
        validators,
    }
}

fn agent_rows_offline(state: &TestnetState) -> Vec<AgentRow> {
    state
        .agents
        .iter()
        .map(|a| agent_row(a, None, None))
        .collect()
}

fn agent_row(
    a: &crate::agents::AgentProcess,
    bond: Option<String>,
    reputation: Option<u64>,
) -> AgentRow {
    use crate::agents::{metric, metrics_text};
    let alive = a.is_alive();
    let text = if alive { metrics_text(a) } else { None };
    let m = |name: &str| {
        text.as_deref()
            .and_then(|t| metric(t, name))
            .map(|v| v as u64)
    };
    AgentRow {
        name: a.name.clone(),
        process: if alive { "running" } else { "dead" }.into(),
        address: a.address.clone(),
        bond_usyn: bond,
        reputation,
        peers: m("synod_agent_peers"),
        tasks_done: m("synod_agent_tasks_done_total"),
        tasks_failed: m("synod_agent_tasks_failed_total"),
        metrics: a.metrics_url(),
    }
}

/// Each agent's row, its bond and reputation read from `node`.
async fn agent_rows(state: &TestnetState, node: &NodeRecord) -> Vec<AgentRow> {
    if state.agents.is_empty() {
        return Vec::new();
    }
    let client = tokio::time::timeout(
        rpc::RPC_TIMEOUT,
        synod_client::Client::connect(&node.ports.rpc_url()),
    )
    .await
    .ok()
    .and_then(Result::ok);
    let mut rows = Vec::new();
    for a in &state.agents {
        let (mut bond, mut reputation) = (None, None);
        if let (Some(c), Ok(addr)) = (&client, a.address.parse::<synod_protocol::Address>()) {
            if let Ok(Ok(answer)) =
                tokio::time::timeout(rpc::RPC_TIMEOUT, c.agent(addr, false)).await
            {
                bond = answer.value().map(|r| r.bond.0.to_string());
            }
            if let Ok(Ok(r)) = tokio::time::timeout(rpc::RPC_TIMEOUT, c.reputation(&addr)).await {
                reputation = r.map(|r| r.score);
            }
        }
        rows.push(agent_row(a, bond, reputation));
    }
    rows
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

async fn app_validators(node: &NodeRecord) -> Option<Vec<ValidatorSummary>> {
    let client = tokio::time::timeout(
        rpc::RPC_TIMEOUT,
        synod_client::Client::connect(&node.ports.rpc_url()),
    )
    .await
    .ok()?
    .ok()?;
    tokio::time::timeout(rpc::RPC_TIMEOUT, client.validators())
        .await
        .ok()?
        .ok()
}

/// The app hash each live node has in the header of the highest block all have.
async fn agreement(
    state: &TestnetState,
    nodes: &[NodeStatus],
    live: &[usize],
) -> Option<Agreement> {
    let height = live.iter().filter_map(|&i| nodes[i].height).min()?;
    if height == 0 {
        return None;
    }
    let mut app_hashes = BTreeMap::new();
    for &i in live {
        let client = rpc::client(&state.nodes[i]).ok()?;
        let h = u32::try_from(height).ok()?;
        if let Ok(Ok(b)) =
            tokio::time::timeout(rpc::RPC_TIMEOUT, synod_client::guard::rpc(client.block(h))).await
        {
            app_hashes.insert(
                nodes[i].name.clone(),
                hex_upper(b.block.header.app_hash.as_bytes()),
            );
        }
    }
    let first = app_hashes.values().next()?.clone();
    Some(Agreement {
        height,
        agree: app_hashes.values().all(|h| *h == first),
        app_hashes,
    })
}

/// Blocks per second and transactions per second over up to the last 20 blocks.
async fn rates(node: &NodeRecord, top: u64) -> (Option<f64>, Option<f64>) {
    if top < 2 {
        return (None, None);
    }
    let Ok(client) = rpc::client(node) else {
        return (None, None);
    };
    let (Ok(low), Ok(high)) = (
        u32::try_from(top.saturating_sub(19).max(1)),
        u32::try_from(top),
    ) else {
        return (None, None);
    };
    let Ok(Ok(chain)) = tokio::time::timeout(
        rpc::RPC_TIMEOUT,
        synod_client::guard::rpc(client.blockchain(low, high)),
    )
    .await
    else {
        return (None, None);
    };
    let mut metas = chain.block_metas;
    metas.sort_by_key(|m| m.header.height);
    let (Some(first), Some(last)) = (metas.first(), metas.last()) else {
        return (None, None);
    };
    let Ok(span) = last.header.time.duration_since(first.header.time) else {
        return (None, None);
    };
    let secs = span.as_secs_f64();
    if secs <= 0.0 || metas.len() < 2 {
        return (None, None);
    }
    let blocks = (metas.len() - 1) as f64;
    let txs: i64 = metas.iter().skip(1).map(|m| m.num_txs).sum();
    (Some(blocks / secs), Some(txs as f64 / secs))
}

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref()
        .map(|v| v.to_string())
        .unwrap_or_else(|| "-".into())
}

/// The status as tables, for people.
pub fn render(s: &NetworkStatus) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "testnet {} in {}", s.chain_id, s.dir);
    let _ = writeln!(
        out,
        "{:<14} {:<10} {:<10} {:>7} {:<10} {:>5} {:>7} {:<7} {:<9} RPC",
        "NODE", "ROLE", "PROCESS", "HEIGHT", "APP HASH", "PEERS", "POWER", "JAILED", "CATCHING",
    );
    for n in &s.nodes {
        let hash = n
            .app_hash
            .as_deref()
            .map(|h| h.chars().take(8).collect::<String>())
            .unwrap_or_else(|| "-".into());
        let _ = writeln!(
            out,
            "{:<14} {:<10} {:<10} {:>7} {:<10} {:>5} {:>7} {:<7} {:<9} {}",
            n.name,
            n.role,
            n.process,
            opt(&n.height),
            hash,
            opt(&n.peers),
            opt(&n.voting_power),
            n.jailed
                .map(|j| if j { "yes" } else { "no" })
                .unwrap_or("-"),
            n.catching_up
                .map(|c| if c { "yes" } else { "no" })
                .unwrap_or("-"),
            n.rpc
        );
    }
    match &s.agreement {
        Some(a) if a.app_hashes.len() == 1 => {
            let _ = writeln!(
                out,
                "app hash at height {}: one live node, nothing to compare",
                a.height
            );
        }
        Some(a) if a.agree => {
            let _ = writeln!(
                out,
                "app hashes at height {}: all {} live nodes agree",
                a.height,
                a.app_hashes.len()
            );
        }
        Some(a) => {
            let _ = writeln!(out, "app hashes at height {}: THE NODES DISAGREE", a.height);
            for (name, hash) in &a.app_hashes {
                let _ = writeln!(out, "  {name:<14} {hash}");
            }
        }
        None => {
            let _ = writeln!(out, "app hashes: no live node has a block yet");
        }
    }
    if let (Some(b), Some(t)) = (s.blocks_per_sec, s.txs_per_sec) {
        let _ = writeln!(
            out,
            "rate over the last blocks: {b:.2} blocks/s, {t:.2} txs/s"
        );
    }
    if !s.validators.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<14} {:<46} {:>16} {:>9} {:>10} {:<7} STATUS",
            "VALIDATOR", "OPERATOR", "STAKE (syn)", "POWER", "REPUTATION", "ACTIVE"
        );
        for v in &s.validators {
            let stake = v
                .self_bond_usyn
                .parse::<u128>()
                .map(|u| synod_protocol::Amount(u).to_syn_string())
                .unwrap_or_else(|_| v.self_bond_usyn.clone());
            let _ = writeln!(
                out,
                "{:<14} {:<46} {:>16} {:>9} {:>10} {:<7} {}",
                v.moniker,
                v.operator,
                stake.trim_end_matches(" syn"),
                v.power,
                format!(
                    "{}.{:02}%",
                    v.reputation_ppm / 10_000,
                    (v.reputation_ppm % 10_000) / 100
                ),
                if v.active { "yes" } else { "no" },
                v.status
            );
        }
    }
    if !s.agents.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<10} {:<8} {:<46} {:>12} {:>10} {:>5} {:>6} {:>6} METRICS",
            "AGENT", "PROCESS", "ACCOUNT", "BOND (syn)", "REPUTATION", "PEERS", "DONE", "FAILED"
        );
        for a in &s.agents {
            let bond = a
                .bond_usyn
                .as_deref()
                .and_then(|b| b.parse::<u128>().ok())
                .map(|u| {
                    synod_protocol::Amount(u)
                        .to_syn_string()
                        .trim_end_matches(" syn")
                        .to_string()
                })
                .unwrap_or_else(|| "-".into());
            let _ = writeln!(
                out,
                "{:<10} {:<8} {:<46} {:>12} {:>10} {:>5} {:>6} {:>6} {}",
                a.name,
                a.process,
                a.address,
                bond,
                opt(&a.reputation),
                opt(&a.peers),
                opt(&a.tasks_done),
                opt(&a.tasks_failed),
                a.metrics
            );
        }
    }
    out
}

/// `status [--watch] [--output json]`.
/// The state file is read again on every redraw, so kills and restarts
/// made from another terminal show up.
pub async fn run(dir: &std::path::Path, watch: bool, json: bool) -> anyhow::Result<()> {
    loop {
        let state = TestnetState::load(dir)?;
        let s = gather(&state).await;
        let text = if json {
            serde_json::to_string_pretty(&s)? + "\n"
        } else {
            render(&s)
        };
        if !watch {
            write_stdout(text.as_bytes());
            return Ok(());
        }
        // Clear the screen, cursor home, redraw.
        write_stdout(
            format!("\x1b[2J\x1b[H{text}\n(refreshing every second; Ctrl-C stops)\n").as_bytes(),
        );
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}
