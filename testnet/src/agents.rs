//! The testnet's agents: `up --agents N` writes `DIR/agent-{i}/agent.toml`
//! for each funded key `keys/agent-{i}.json` and starts `synod-agent` on
//! it once the chain is up (agent-0 is every other agent's bootstrap peer;
//! agent i follows validator i mod V's RPC; the models are the genesis
//! `--model` files). Kill, restart, logs and down work on them by name
//! (`agent-1`); status reads each one's bond and reputation from the chain
//! and its peers and tasks from its `/metrics`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

use crate::{
    process,
    state::{Role, TestnetState},
};

/// One agent process of the testnet.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AgentProcess {
    pub index: usize,
    /// `agent-{index}`, as its key is named.
    pub name: String,
    /// `DIR/agent-{index}`: its config, data and log.
    pub home: PathBuf,
    /// Its chain account (`synod1…`).
    pub address: String,
    /// Its libp2p address with /p2p/PEERID.
    pub p2p: String,
    pub metrics_port: u16,
    /// The node RPC it follows.
    pub rpc: String,
    /// Test-only faults it runs with (`synod-agent start --faults`).
    #[serde(default)]
    pub faults: String,
    pub pid: Option<u32>,
}

impl AgentProcess {
    pub fn config(&self) -> PathBuf {
        self.home.join("agent.toml")
    }
    pub fn log(&self) -> PathBuf {
        self.home.join("agent.log")
    }
    pub fn metrics_url(&self) -> String {
        format!("http://127.0.0.1:{}/metrics", self.metrics_port)
    }
    pub fn is_named(&self, query: &str) -> bool {
        self.name == query
    }
    pub fn is_alive(&self) -> bool {
        self.pid.is_some_and(|p| process::is_alive(p, &self.home))
    }
}

/// A free loopback port (bound, then released).
fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")
        .context("finding a free port")?
        .local_addr()?
        .port())
}

/// The PeerId of a key file, as `synod-agent peer-id` prints it.
fn peer_id(agent_binary: &Path, key_file: &Path) -> anyhow::Result<String> {
    let out = std::process::Command::new(agent_binary)
        .arg("peer-id")
        .arg("--key-file")
        .arg(key_file)
        .output()
        .with_context(|| format!("running {} peer-id", agent_binary.display()))?;
    if !out.status.success() {
        bail!(
            "synod-agent peer-id failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn address_of(key_file: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(key_file)
        .with_context(|| format!("reading {}", key_file.display()))?;
    let key = synod_client::keyfile::from_json(&text).map_err(anyhow::Error::msg)?;
    Ok(key.public().address().to_string())
}

/// `--agent-faults I:SPEC` entries, by agent index.
pub fn parse_faults(entries: &[String]) -> anyhow::Result<Vec<(usize, String)>> {
    entries
        .iter()
        .map(|e| {
            let (i, spec) = e
                .split_once(':')
                .with_context(|| format!("--agent-faults {e:?}: expected I:SPEC"))?;
            let i = i
                .parse()
                .with_context(|| format!("--agent-faults {e:?}: {i:?} is not an agent index"))?;
            Ok((i, spec.to_string()))
        })
        .collect()
}

/// Writes the configs of `count` agents into `state` (not started yet).
pub fn write_configs(
    state: &mut TestnetState,
    agent_binary: &Path,
    count: usize,
    models: &[PathBuf],
    faults: &[(usize, String)],
) -> anyhow::Result<()> {
    let rpcs: Vec<String> = state
        .nodes
        .iter()
        .filter(|n| n.role == Role::Validator)
        .map(|n| n.ports.rpc_url())
        .collect();
    if rpcs.is_empty() {
        bail!("agents need a validator's RPC to follow");
    }
    let models: Vec<PathBuf> = models
        .iter()
        .map(|m| process::absolute(m))
        .collect::<anyhow::Result<_>>()?;
    if models.is_empty() {
        bail!("--agents needs at least one --model for the agents to serve");
    }
    let mut first_p2p = None;
    for i in 0..count {
        let name = format!("agent-{i}");
        let home = state.dir.join(&name);
        std::fs::create_dir_all(&home).with_context(|| format!("creating {}", home.display()))?;
        let key_file = state.keys_dir().join(format!("{name}.json"));
        let p2p_port = free_port()?;
        let metrics_port = free_port()?;
        let peer = peer_id(agent_binary, &key_file)?;
        let p2p = format!("/ip4/127.0.0.1/tcp/{p2p_port}/p2p/{peer}");
        let rpc = rpcs[i % rpcs.len()].clone();
        let bootstrap: Vec<String> = first_p2p.iter().cloned().collect();
        let mut toml = format!(
            "# Written by synod-testnet up (see docs/agents.md).\n\
             key_file = {:?}\nnode_rpc = {rpc:?}\ndata_dir = \"data\"\n\
             listen = \"/ip4/127.0.0.1/tcp/{p2p_port}\"\nbootstrap = {bootstrap:?}\n\
             metrics = \"127.0.0.1:{metrics_port}\"\nroles = [\"executor\"]\n\
             bond = \"100syn\"\npoll_ms = 300\n",
            key_file.display().to_string()
        );
        for m in &models {
            toml.push_str(&format!(
                "\n[[model]]\nkind = \"synod-model\"\npath = {:?}\n",
                m.display().to_string()
            ));
        }
        let config = home.join("agent.toml");
        std::fs::write(&config, toml).with_context(|| format!("writing {}", config.display()))?;
        if first_p2p.is_none() {
            first_p2p = Some(p2p.clone());
        }
        state.agents.push(AgentProcess {
            index: i,
            name,
            home,
            address: address_of(&key_file)?,
            p2p,
            metrics_port,
            rpc,
            faults: faults
                .iter()
                .filter(|(j, _)| *j == i)
                .map(|(_, s)| s.as_str())
                .collect::<Vec<_>>()
                .join(","),
            pid: None,
        });
    }
    state.agent_binary = Some(agent_binary.to_path_buf());
    state.save()
}

/// Starts agent `i` and records its pid.
pub fn start(state: &mut TestnetState, i: usize) -> anyhow::Result<()> {
    let binary = state
        .agent_binary
        .clone()
        .context("this testnet has no synod-agent binary recorded")?;
    let agent = &state.agents[i];
    let config = agent.config();
    let mut args: Vec<&std::ffi::OsStr> =
        vec!["start".as_ref(), "--config".as_ref(), config.as_os_str()];
    if !agent.faults.is_empty() {
        args.push("--faults".as_ref());
        args.push(agent.faults.as_ref());
    }
    let pid = process::spawn_detached(&binary, &args, &agent.log())?;
    state.agents[i].pid = Some(pid);
    state.save()
}

/// Fetches an agent's `/metrics` text (plain HTTP/1.1 over loopback).
pub fn metrics_text(agent: &AgentProcess) -> Option<String> {
    let mut s = TcpStream::connect_timeout(
        &([127, 0, 0, 1], agent.metrics_port).into(),
        Duration::from_secs(1),
    )
    .ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(b"GET /metrics HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
        .ok()?;
    let mut body = String::new();
    s.take(1 << 20).read_to_string(&mut body).ok()?;
    let (_, text) = body.split_once("\r\n\r\n")?;
    Some(text.to_string())
}

/// A value from a Prometheus text exposition.
pub fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// Waits (at most `timeout`) until every agent is registered on chain,
/// failing early when one exits.
pub async fn wait_registered(state: &TestnetState, timeout: Duration) -> anyhow::Result<()> {
    let rpc = state
        .agents
        .first()
        .map(|a| a.rpc.clone())
        .context("no agents")?;
    let client = synod_client::Client::connect(&rpc).await?;
    let start = Instant::now();
    loop {
        let mut missing = None;
        for a in &state.agents {
            if !a.is_alive() {
                bail!(
                    "{} exited; its log ({}):\n{}",
                    a.name,
                    a.log().display(),
                    process::log_tail(&a.log(), 20)
                );
            }
            let addr = synod_client::parse_address("agent", &a.address)?;
            if client.agent(addr, false).await?.value().is_none() {
                missing = Some(a.name.clone());
                break;
            }
        }
        let Some(name) = missing else { return Ok(()) };
        if start.elapsed() > timeout {
            bail!(
                "{name} did not register within {} s (its log: {})",
                timeout.as_secs(),
                state.dir.join(&name).join("agent.log").display()
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// SIGKILLs agent `i`.
pub fn kill(state: &mut TestnetState, i: usize) -> anyhow::Result<()> {
    let a = &state.agents[i];
    if let Some(pid) = a.pid {
        let left = process::kill_all(&[(pid, a.home.clone())]);
        if !left.is_empty() {
            bail!("{} (pid {pid}) is still alive after SIGKILL", a.name);
        }
    }
    synod_consensus_config::outln!("killed {}", state.agents[i].name);
    state.agents[i].pid = None;
    state.save()
}

/// Stops agent `i` if it runs, then starts it again on its config and data.
pub fn restart(state: &mut TestnetState, i: usize) -> anyhow::Result<()> {
    let a = &state.agents[i];
    if let Some(pid) = a.pid {
        process::stop_all(&[(pid, a.home.clone())], Duration::from_secs(10));
    }
    start(state, i)?;
    synod_consensus_config::outln!("restarted {}", state.agents[i].name);
    Ok(())
}

/// The recorded agent processes, each with the home that guards its pid.
pub fn procs(state: &TestnetState) -> Vec<(u32, PathBuf)> {
    state
        .agents
        .iter()
        .filter_map(|a| a.pid.map(|p| (p, a.home.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_faults_parse_by_index() {
        let f = parse_faults(&["2:corrupt-payloads".into(), "0:lazy".into()]).expect("parses");
        assert_eq!(
            f,
            vec![(2, "corrupt-payloads".to_string()), (0, "lazy".to_string())]
        );
        assert!(parse_faults(&["x:lazy".into()]).is_err());
        assert!(parse_faults(&["lazy".into()]).is_err());
    }

    #[test]
    fn a_metric_is_read_from_the_exposition() {
        let text = "# HELP a b\na_total 3\nab_total 4\n";
        assert_eq!(metric(text, "a_total"), Some(3.0));
        assert_eq!(metric(text, "ab_total"), Some(4.0));
        assert_eq!(metric(text, "c"), None);
    }
}
