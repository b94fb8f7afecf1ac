//! Agents end to end, as processes on loopback: `synod-testnet up` with 4
//! validators and 3 `synod-agent` processes; a 3-step zk workflow (two
//! digit classifiers and a head joining them) submitted several times, and
//! every run reaches `workflow_verified` through the agents alone; a
//! payload served with a flipped byte is refused by the fetcher; an agent
//! whose node goes away stays up and finishes its step once the node is
//! back. Every wait is bounded; every process is killed on the way out.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{alive, bins, import_model, sibling, text, wait_until, Net};
use serde_json::Value;

/// Kills the agents recorded in the testnet's state, even when a check
/// panics (the shared [`Net`] guard knows only the nodes' pids).
struct AgentGuard<'a>(&'a Net);

impl Drop for AgentGuard<'_> {
    fn drop(&mut self) {
        let Ok(text) = std::fs::read_to_string(self.0.dir.join("testnet.json")) else {
            return;
        };
        let Ok(state) = serde_json::from_str::<Value>(&text) else {
            return;
        };
        for a in state["agents"].as_array().into_iter().flatten() {
            let home = a["home"].as_str().unwrap_or_default();
            if let Some(pid) = a["pid"].as_u64() {
                if alive(pid, home) {
                    let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
                }
            }
        }
    }
}

fn workflow_file(dir: &Path, mlp: &str, head: &str) -> PathBuf {
    let step = |name: &str, model: &str, inputs: &str| {
        format!(
            r#"{{"name": "{name}", "model": "{model}", "inputs": {inputs}, "mode": "zk",
                "timeout_blocks": 80, "reward": "2syn", "min_bond": "100syn", "retries": 1}}"#
        )
    };
    let text = format!(
        r#"{{"name": "pipeline", "steps": [{}, {}, {}]}}"#,
        step("left", mlp, "[]"),
        step("right", mlp, "[]"),
        step("join", head, "[0, 1]")
    );
    let path = dir.join("pipeline.json");
    std::fs::write(&path, text).unwrap();
    path
}

/// One optimistic MLP step: a bonded result, final after the challenge window.
fn optimistic_workflow_file(dir: &Path, mlp: &str) -> PathBuf {
    let text = format!(
        r#"{{"name": "quick", "steps": [{{"name": "digit", "model": "{mlp}", "mode": "optimistic",
            "timeout_blocks": 80, "reward": "2syn", "min_bond": "100syn", "retries": 1}}]}}"#
    );
    let path = dir.join("quick.json");
    std::fs::write(&path, text).unwrap();
    path
}

fn model_id(synod_bin: &Path, file: &Path) -> String {
    let out = Command::new(synod_bin)
        .args(["--output", "json", "model", "inspect"])
        .arg(file)
        .output()
        .unwrap();
    assert!(out.status.success(), "inspect: {}", text(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["model_id"].as_str().unwrap().to_string()
}

/// Chain calls through the client library (the same code the CLI runs).
struct Chain {
    rt: tokio::runtime::Runtime,
    client: synod_client::Client,
    faucet: synod_client::SecretKey,
}

impl Chain {
    fn new(net: &Net, rpc: &str) -> Chain {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let client = rt.block_on(synod_client::Client::connect(rpc)).unwrap();
        let text = std::fs::read_to_string(net.dir.join("keys/faucet.json")).unwrap();
        let faucet = synod_client::keyfile::from_json(&text).unwrap();
        Chain { rt, client, faucet }
    }

    /// Submits a run of `pipeline` from the faucet; its id.
    fn submit(&self, seed: i32) -> u64 {
        self.submit_to("pipeline", seed)
    }

    /// Submits a run of `workflow` (64 input values) from the faucet; its id.
    fn submit_to(&self, workflow: &str, seed: i32) -> u64 {
        let input: Vec<i32> = (0..64).map(|i| (i * 7 + seed * 13) % 200 - 100).collect();
        let body = synod_client::TxBody::SubmitRun {
            workflow: workflow.into(),
            version: 1,
            input,
            budget: synod_client::Amount::syn(10),
        };
        let done = self
            .rt
            .block_on(self.client.send(&self.faucet, body))
            .unwrap();
        done.events
            .iter()
            .find(|(kind, _)| kind == "run_submitted")
            .and_then(|(_, attrs)| attrs.iter().find(|(k, _)| k == "run"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or_else(|| panic!("no run id in {:?}", done.events))
    }

    /// The workflow hash of run `id` once it is verified.
    fn verified(&self, id: u64) -> Option<[u8; 32]> {
        let run = self
            .rt
            .block_on(self.client.run(id, false))
            .ok()?
            .into_value()?;
        match run.status {
            synod_protocol::runs::RunStatus::Verified { workflow_hash, .. } => Some(workflow_hash),
            synod_protocol::runs::RunStatus::Failed { step, reason, .. } => {
                panic!("run {id} failed at step {step}: {reason}")
            }
            _ => None,
        }
    }

    /// `/verified/{hash}`, proved.
    fn verified_record(&self, hash: [u8; 32]) -> synod_protocol::runs::VerifiedWorkflow {
        self.rt
            .block_on(self.client.verified(hash, true))
            .unwrap()
            .into_value()
            .unwrap()
    }
}

fn agent_fetch(agent_bin: &Path, peer: &str, hash: &str, out: &Path) -> std::process::Output {
    Command::new(agent_bin)
        .args([
            "fetch",
            "--peer",
            peer,
            "--hash",
            hash,
            "--timeout-secs",
            "20",
            "--out",
        ])
        .arg(out)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

/// A value of an agent's `/metrics`.
fn metric_of(agent: &Value, name: &str) -> f64 {
    use std::io::{Read, Write};
    let port = agent["metrics_port"].as_u64().unwrap() as u16;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\n\r\n").unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{body}"))
}

/// One payload file an agent holds: (hash, bytes).
fn a_payload_of(net: &Net, agent: &str) -> (String, Vec<u8>) {
    let dir = net.dir.join(agent).join("data/payloads");
    let entry = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_string_lossy().len() == 64)
        .unwrap_or_else(|| panic!("{agent} holds no payload in {}", dir.display()));
    (
        entry.file_name().to_string_lossy().into_owned(),
        std::fs::read(entry.path()).unwrap(),
    )
}

#[test]
fn agents_run_a_three_step_zk_workflow_to_verified_refuse_corrupt_payloads_and_survive_their_node()
{
    let (_, synod_bin) = bins();
    let agent_bin = sibling(
        "synod-agent",
        "cargo build -p synod-agent --bin synod-agent",
    );
    let files = tempfile::tempdir().unwrap();
    let mlp = files.path().join("mlp.synod-model");
    import_model(&synod_bin, "mlp.onnx", &mlp);
    let head = files.path().join("head.synod-model");
    synod_agent::model::head_model().write_file(&head).unwrap();
    let mlp_id = model_id(&synod_bin, &mlp);
    let workflow = workflow_file(files.path(), &mlp_id, &model_id(&synod_bin, &head));
    let optimistic = optimistic_workflow_file(files.path(), &mlp_id);

    let net = Net::new();
    let _agents = AgentGuard(&net);
    let up = net.ok(&[
        "up",
        "--validators",
        "4",
        "--agents",
        "3",
        "--agent-faults",
        "2:corrupt-payloads",
        "--base-port",
        "auto",
        "--seed",
        "7",
        "--model",
        mlp.to_str().unwrap(),
        "--model",
        head.to_str().unwrap(),
        "--workflow",
        workflow.to_str().unwrap(),
        "--workflow",
        optimistic.to_str().unwrap(),
    ]);
    assert!(up.contains("agent-2"), "{up}");
    let state = net.state();
    let rpc = state["nodes"][0]["ports"]["rpc"]
        .as_u64()
        .map(|p| format!("http://127.0.0.1:{p}"))
        .unwrap();
    let agents: Vec<Value> = state["agents"].as_array().unwrap().clone();
    assert_eq!(agents.len(), 3);
    let explain = || {
        let mut s = String::new();
        for a in ["agent-0", "agent-1", "agent-2"] {
            s.push_str(&format!("--- {a}:\n{}\n", net.logs(a)));
        }
        s
    };

    // Three runs; each step goes to a different agent (no agent twice in a run).
    let chain = Chain::new(&net, &rpc);
    // Figure: one run alone, from SubmitRun's inclusion to workflow_verified.
    let first = chain.submit(0);
    let started = std::time::Instant::now();
    wait_until(
        900,
        "run 1 verified",
        || chain.verified(first).is_some(),
        explain,
    );
    println!(
        "figure: a 3-step zk DAG (two MLP steps, one head step), SubmitRun included -> workflow_verified: {:.1} s (2 shared cores)",
        started.elapsed().as_secs_f64()
    );
    let runs: Vec<u64> = std::iter::once(first)
        .chain((1..3).map(|i| chain.submit(i)))
        .collect();
    for &id in &runs {
        wait_until(
            900,
            &format!("run {id} verified"),
            || chain.verified(id).is_some(),
            explain,
        );
        let hash = chain.verified(id).unwrap();
        assert_eq!(chain.verified_record(hash).run, id);
    }

    // An optimistic step: the agent bonds a result with its trace root; no
    // one challenges, so it is final after the window and the run verified.
    let quick = chain.submit_to("quick", 5);
    let started = std::time::Instant::now();
    wait_until(
        300,
        &format!("optimistic run {quick} verified"),
        || chain.verified(quick).is_some(),
        explain,
    );
    println!(
        "figure: one optimistic MLP step, SubmitRun included -> workflow_verified: {:.1} s (the 20-block challenge window included)",
        started.elapsed().as_secs_f64()
    );

    // Status: every agent registered with its bond and has done its steps.
    let status = net.status();
    let rows = status["agents"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "{status}");
    let done: u64 = rows
        .iter()
        .map(|r| r["tasks_done"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(done, 10, "{status}");
    for r in rows {
        assert_eq!(r["process"], "running", "{r}");
        assert_eq!(r["bond_usyn"].as_str(), Some("100000000"), "{r}");
        assert!(r["peers"].as_u64().unwrap_or(0) >= 1, "{r}");
    }

    // Gossip among registered agents: each heard the others' announcements.
    for a in &agents {
        let heard = metric_of(a, "synod_agent_gossip_received_total");
        assert!(
            heard >= 1.0,
            "{} received no gossip\n{}",
            a["name"],
            explain()
        );
    }
    for a in &agents {
        let pid = net.state()["agents"][a["index"].as_u64().unwrap() as usize]["pid"]
            .as_u64()
            .unwrap();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let kb = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .map(|v| v.trim().to_string())
                .unwrap_or_default()
        };
        println!(
            "figure: {} RSS now {}, peak (while proving) {}",
            a["name"].as_str().unwrap(),
            kb("VmRSS:"),
            kb("VmHWM:")
        );
    }

    // Payloads: agent-0 serves a proof intact; agent-2 (corrupt-payloads) is refused.
    let (hash, bytes) = a_payload_of(&net, "agent-0");
    let got = files.path().join("fetched");
    let ok = agent_fetch(&agent_bin, agents[0]["p2p"].as_str().unwrap(), &hash, &got);
    assert!(ok.status.success(), "fetch from agent-0: {}", text(&ok));
    assert_eq!(std::fs::read(&got).unwrap(), bytes);
    let (hash, _) = a_payload_of(&net, "agent-2");
    let bad = agent_fetch(
        &agent_bin,
        agents[2]["p2p"].as_str().unwrap(),
        &hash,
        &files.path().join("refused"),
    );
    assert!(
        !bad.status.success(),
        "a corrupted payload was taken: {}",
        text(&bad)
    );
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("refused") && err.contains(&hash), "{err}");
    assert!(!files.path().join("refused").exists());

    // agent-1 follows validator-1: take the node away, submit, bring it back.
    assert_eq!(
        agents[1]["rpc"].as_str(),
        state["nodes"][1]["ports"]["rpc"]
            .as_u64()
            .map(|p| format!("http://127.0.0.1:{p}"))
            .as_deref()
    );
    net.ok(&["kill", "validator-1"]);
    let during = chain.submit(10);
    std::thread::sleep(std::time::Duration::from_secs(5));
    let a1_pid = net.state()["agents"][1]["pid"].as_u64().unwrap();
    assert!(
        alive(a1_pid, agents[1]["home"].as_str().unwrap()),
        "agent-1 died with its node\n{}",
        explain()
    );
    let errors = metric_of(&agents[1], "synod_agent_rpc_errors_total");
    assert!(
        errors >= 1.0,
        "agent-1 never saw its node go away ({errors} RPC errors)"
    );
    net.ok(&["restart", "validator-1"]);
    wait_until(
        600,
        &format!("run {during} verified after validator-1 came back"),
        || chain.verified(during).is_some(),
        explain,
    );
    let metrics = net.status()["agents"][1].clone();
    assert_eq!(metrics["process"], "running", "{metrics}");

    // An agent killed and restarted resumes: runs submitted while it is down
    // wait for its step, then complete.
    net.ok(&["kill", "agent-0"]);
    let while_down: Vec<u64> = (20..22).map(|i| chain.submit(i)).collect();
    std::thread::sleep(std::time::Duration::from_secs(3));
    net.ok(&["restart", "agent-0"]);
    for &id in &while_down {
        wait_until(
            600,
            &format!("run {id} verified after agent-0 restarted"),
            || chain.verified(id).is_some(),
            explain,
        );
    }
    let log = std::fs::read_to_string(net.dir.join("agent-0/agent.log")).unwrap();
    // Its log spans both lives: one RegisterAgent, at the first start.
    assert_eq!(log.matches("register_agent").count(), 1, "{log}");

    // Agents by name: logs, kill, down.
    let logs = net.ok(&["logs", "agent-0", "--lines", "200"]);
    assert!(logs.contains("result accepted"), "{logs}");
    assert!(logs.contains("following NewBlock events"), "{logs}");
    net.ok(&["kill", "agent-2"]);
    assert_eq!(net.status()["agents"][2]["process"], "dead");
    net.ok(&["down"]);
    for a in net.state()["agents"].as_array().unwrap() {
        assert!(a["pid"].is_null(), "{a}");
    }
    // SIGTERM stops an agent cleanly (down sends it first).
    let log = std::fs::read_to_string(net.dir.join("agent-1/agent.log")).unwrap();
    let tail: Vec<&str> = log.lines().rev().take(5).collect();
    assert!(log.contains("SIGTERM: stopping"), "{tail:?}");
    assert!(tail.iter().any(|l| l.contains("stopped")), "{tail:?}");
}
