//! Faults on one node: `kill`, `restart`, `pause`, `resume`, `isolate`, `heal`.
//!
//! The embedded node has no runtime call to drop its peers, so `isolate`
//! restarts the node with an emptied `p2p.persistent_peers` and its p2p port
//! moved to a fresh free port: the others keep dialing the old port, where
//! nothing listens, and it dials nobody. The original `config.toml` is kept
//! as `config.toml.orig` until `heal` (or `restart`) puts it back.

use std::path::PathBuf;
use std::time::{Duration, Instant};
use synod_consensus_config::outln;

use anyhow::{bail, Context};
use nix::sys::signal::Signal;
use synod_consensus_config::CometConfig;

use crate::{
    ports, process, rpc,
    state::{NodeRecord, TestnetState},
};

/// `HOME/config/config.toml` and the `config.toml.orig` beside it.
fn config_paths(node: &NodeRecord) -> (PathBuf, PathBuf) {
    let config = node.home.join(synod_consensus_config::home::CONFIG_FILE);
    let orig = config.with_file_name("config.toml.orig");
    (config, orig)
}

/// SIGKILL both processes of the node.
pub fn kill(state: &mut TestnetState, index: usize) -> anyhow::Result<()> {
    let node = &mut state.nodes[index];
    let left = process::kill_node(node);
    if !left.is_empty() {
        bail!("pids {left:?} of {} survived SIGKILL", node.name);
    }
    node.app_pid = None;
    node.node_pid = None;
    node.paused = false;
    outln!("killed {} (app and node, SIGKILL)", node.name);
    state.save()
}

/// Stops what is left of the node, restores an isolated node's config,
/// starts app and node again on the same home, and waits (at most 60 s)
/// until it answers its RPC.
pub async fn restart(state: &mut TestnetState, index: usize) -> anyhow::Result<()> {
    let left = process::stop_node(&state.nodes[index], Duration::from_secs(10));
    if !left.is_empty() {
        bail!("pids {left:?} of {} did not stop", state.nodes[index].name);
    }
    restore_config(&state.nodes[index])?;
    state.nodes[index].isolated_p2p_port = None;
    process::start_node(state, index)?;
    let node = &state.nodes[index];
    let height = wait_answering(node, Duration::from_secs(60)).await?;
    outln!(
        "restarted {} (app pid {}, node pid {}); it is at height {height} and catching up",
        node.name,
        node.app_pid.unwrap_or(0),
        node.node_pid.unwrap_or(0)
    );
    Ok(())
}

/// Waits until the node answers `/status`; returns its height.
pub async fn wait_answering(node: &NodeRecord, bound: Duration) -> anyhow::Result<u64> {
    let start = Instant::now();
    loop {
        if let Some(h) = rpc::height(node).await {
            return Ok(h);
        }
        if node
            .pids()
            .iter()
            .any(|&p| !process::is_alive(p, &node.home))
        {
            bail!(
                "{} exited after starting\n{}",
                node.name,
                process::explain(node, 20)
            );
        }
        if start.elapsed() > bound {
            bail!(
                "{} did not answer on {} within {} s\n{}",
                node.name,
                node.ports.rpc_url(),
                bound.as_secs(),
                process::explain(node, 20)
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn restore_config(node: &NodeRecord) -> anyhow::Result<()> {
    let (config, orig) = config_paths(node);
    if orig.exists() {
        std::fs::rename(&orig, &config)
            .with_context(|| format!("restoring {} from {}", config.display(), orig.display()))?;
    }
    Ok(())
}

/// SIGSTOP (`pause`) or SIGCONT (`resume`) both processes.
pub fn pause(state: &mut TestnetState, index: usize, pause: bool) -> anyhow::Result<()> {
    let node = &mut state.nodes[index];
    let live: Vec<u32> = node
        .pids()
        .into_iter()
        .filter(|&p| process::is_alive(p, &node.home))
        .collect();
    if live.is_empty() {
        bail!(
            "{} is not running: start it with `synod-testnet restart {}`",
            node.name,
            node.name
        );
    }
    let sig = if pause {
        Signal::SIGSTOP
    } else {
        Signal::SIGCONT
    };
    for pid in live {
        process::signal(pid, &node.home, sig);
    }
    node.paused = pause;
    outln!(
        "{} {} (SIG{})",
        if pause { "paused" } else { "resumed" },
        node.name,
        if pause { "STOP" } else { "CONT" }
    );
    state.save()
}

/// Restarts the node cut off from every peer (see the module docs).
pub async fn isolate(state: &mut TestnetState, index: usize) -> anyhow::Result<()> {
    let (config_path, orig) = config_paths(&state.nodes[index]);
    if orig.exists() || state.nodes[index].isolated_p2p_port.is_some() {
        bail!(
            "{} is already isolated: `synod-testnet heal {}` reconnects it",
            state.nodes[index].name,
            state.nodes[index].name
        );
    }
    let port = ports::free_p2p_port().context("no free port for the isolated node")?;
    let left = process::stop_node(&state.nodes[index], Duration::from_secs(10));
    if !left.is_empty() {
        bail!("pids {left:?} of {} did not stop", state.nodes[index].name);
    }
    std::fs::copy(&config_path, &orig)
        .with_context(|| format!("keeping {} as {}", config_path.display(), orig.display()))?;
    let mut config = CometConfig::read(&config_path)
        .with_context(|| format!("reading {}", config_path.display()))?;
    config.p2p.persistent_peers.clear();
    config.p2p.seeds.clear();
    config.p2p.laddr = format!("tcp://127.0.0.1:{port}");
    config
        .write(&config_path)
        .with_context(|| format!("writing {}", config_path.display()))?;
    state.nodes[index].isolated_p2p_port = Some(port);
    process::start_node(state, index)?;
    let node = &state.nodes[index];
    wait_answering(node, Duration::from_secs(60)).await?;
    outln!(
        "isolated {}: restarted with no peers, listening for p2p on 127.0.0.1:{port} \
         (no peer knows it); original config kept in {}",
        node.name,
        orig.display()
    );
    Ok(())
}

/// Puts an isolated node's original config back and restarts it.
pub async fn heal(state: &mut TestnetState, index: usize) -> anyhow::Result<()> {
    let (_, orig) = config_paths(&state.nodes[index]);
    if !orig.exists() {
        bail!("{} is not isolated", state.nodes[index].name);
    }
    restart(state, index).await?;
    outln!("healed {}: its peers are back", state.nodes[index].name);
    Ok(())
}
