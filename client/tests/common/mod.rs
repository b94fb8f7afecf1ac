//! A one-validator chain for the client's tests: written by
//! `synod-consensus-config`, served by the real `synod-app` and `synod-node`
//! binaries (killed when the test ends, even on panic), and the `synod`
//! binary run against it. Every wait is bounded.

#![allow(dead_code)]

pub mod setup;

use std::{
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    sync::Mutex,
    time::{Duration, Instant},
};

use synod_client::{Address, Amount, Client};
use synod_consensus_config::{generate_network, home::PORTS_PER_NODE, HomeSummary, NetworkSpec};
use synod_protocol::GenesisAccount;

pub const CHAIN: &str = "synod-client-test";
pub const SYNOD: &str = env!("CARGO_BIN_EXE_synod");

/// Port blocks are picked and bound one chain at a time.
static STARTING: Mutex<()> = Mutex::new(());

pub fn sibling_binary(name: &str) -> PathBuf {
    let p = Path::new(SYNOD).with_file_name(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        p.exists(),
        "{} is missing: build it first with `cargo build -p synod-abci-app -p synod-node`",
        p.display()
    );
    p
}

/// A child process, SIGKILLed and reaped on drop.
pub struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn spawn(binary: &Path, args: &[&str], log: &Path) -> Proc {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    Proc(
        Command::new(binary)
            .args(args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    )
}

pub fn free_port_block(n: u16) -> u16 {
    let seed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    (0..500u16)
        .map(|i| 20_000 + (seed.wrapping_mul(13).wrapping_add(i.wrapping_mul(101))) % 40_000)
        .find(|&base| (base..base + n).all(|p| TcpListener::bind(("127.0.0.1", p)).is_ok()))
        .expect("no free block of loopback ports")
}

pub fn wait_listening(addr: &str, what: &str, secs: u64, logs: &Path) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while TcpStream::connect(addr).is_err() {
        if Instant::now() > deadline {
            panic!(
                "{what} did not listen on {addr} within {secs} s; log:\n{}",
                std::fs::read_to_string(logs).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A running one-validator chain whose genesis funds `funded`.
pub struct Chain {
    pub home: HomeSummary,
    pub url: String,
    _node: Proc,
    _app: Proc,
    _dir: tempfile::TempDir,
}

impl Chain {
    pub fn start(funded: &[(Address, Amount)]) -> Chain {
        Chain::start_with(funded, Vec::new())
    }

    /// [`Chain::start`] with `models` registered at genesis.
    pub fn start_with(
        funded: &[(Address, Amount)],
        models: Vec<synod_protocol::GenesisModel>,
    ) -> Chain {
        Chain::start_with_workflows(funded, models, Vec::new())
    }

    /// [`Chain::start_with`] with `workflows` registered at genesis too.
    pub fn start_with_workflows(
        funded: &[(Address, Amount)],
        models: Vec<synod_protocol::GenesisModel>,
        workflows: Vec<synod_protocol::governance::WorkflowSpec>,
    ) -> Chain {
        let app_bin = sibling_binary("synod-app");
        let node_bin = sibling_binary("synod-node");
        let dir = tempfile::tempdir().unwrap();
        let _one_at_a_time = STARTING.lock().unwrap_or_else(|p| p.into_inner());
        let mut spec = NetworkSpec::new(dir.path(), 1, CHAIN);
        spec.base_port = free_port_block(PORTS_PER_NODE);
        spec.genesis.seed = Some(11);
        spec.genesis.models = models;
        spec.genesis.workflows = workflows;
        spec.genesis.extra_accounts = funded
            .iter()
            .map(|(address, balance)| GenesisAccount {
                address: *address,
                balance: *balance,
            })
            .collect();
        spec.config.consensus.timeout_commit = Duration::from_millis(300);
        spec.config.consensus.timeout_propose = Duration::from_secs(2);
        spec.config.instrumentation.prometheus = false;
        let home = generate_network(&spec).unwrap().remove(0);
        let app_log = home.home.join("synod-app.log");
        let node_log = home.home.join("node.log");
        let app_home = home.home.join("app");
        std::fs::create_dir_all(&app_home).unwrap();
        let app = spawn(
            &app_bin,
            &[
                "--home",
                app_home.to_str().unwrap(),
                "--abci",
                &home.proxy_app,
            ],
            &app_log,
        );
        wait_listening(
            home.proxy_app.trim_start_matches("tcp://"),
            "synod-app",
            60,
            &app_log,
        );
        let node = spawn(
            &node_bin,
            &["start", "--home", home.home.to_str().unwrap()],
            &node_log,
        );
        let rpc = home.rpc_laddr.trim_start_matches("tcp://").to_string();
        wait_listening(&rpc, "synod-node RPC", 60, &node_log);
        Chain {
            url: format!("http://{rpc}"),
            home,
            _node: node,
            _app: app,
            _dir: dir,
        }
    }

    pub fn node_log(&self) -> String {
        std::fs::read_to_string(self.home.home.join("node.log")).unwrap_or_default()
    }

    /// Connects and waits (at most 90 s) until block `h` is committed.
    pub async fn client_at_height(&self, h: u64) -> Client {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if let Ok(c) = Client::connect(&self.url).await {
                if c.status().await.map(|s| s.latest_height).unwrap_or(0) >= h {
                    return c.with_timeout(Duration::from_secs(30));
                }
            }
            if Instant::now() > deadline {
                panic!(
                    "chain not at height {h} within 90 s; node log:\n{}",
                    self.node_log()
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub fn synod(&self, keyring: &Path, args: &[&str]) -> Output {
        Command::new(SYNOD)
            .args(["--node", &self.url, "--keyring-dir"])
            .arg(keyring)
            // This chain's light-client trust root, apart from every other
            // test chain under the same chain id.
            .env("SYNOD_LIGHT_DIR", self._dir.path().join("light"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }
}

pub fn json_of(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "synod failed: {}\nstdout: {}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}
