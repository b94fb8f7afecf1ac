//! Multi-process fixtures: validators as real `synod-app` + `synod-node`
//! processes on loopback, killed (SIGKILL) when dropped.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use synod_abci_app::testkit::{AppProcess, TestAccount};
use synod_protocol::{codec, state::Account};
use tendermint_rpc::{client::CompatMode, Client, HttpClient};

pub const NODE_BIN: &str = env!("CARGO_BIN_EXE_synod-node");

pub fn app_binary() -> PathBuf {
    let p =
        Path::new(NODE_BIN).with_file_name(format!("synod-app{}", std::env::consts::EXE_SUFFIX));
    assert!(
        p.exists(),
        "{} is missing: build it with `cargo build -p synod-abci-app --bin synod-app` (cargo test --workspace builds it)",
        p.display()
    );
    p
}

/// The network most multi-process tests run: `validators` homes under
/// `dir` on free loopback ports, `funded` holding 1,000,000 syn each at
/// genesis, keys from `seed`, 300 ms `timeout_commit`, 2 s
/// `timeout_propose`, no Prometheus.
pub fn funded_spec(
    dir: &Path,
    validators: usize,
    chain_id: &str,
    seed: u64,
    funded: &[synod_protocol::Address],
) -> synod_consensus_config::NetworkSpec {
    let mut spec = synod_consensus_config::NetworkSpec::new(dir, validators, chain_id);
    spec.base_port = free_port_block(10 * validators as u16);
    spec.genesis.seed = Some(seed);
    spec.genesis.extra_accounts = funded
        .iter()
        .map(|a| synod_protocol::genesis::GenesisAccount {
            address: *a,
            balance: synod_protocol::Amount::syn(1_000_000),
        })
        .collect();
    spec.config.consensus.timeout_commit = Duration::from_millis(300);
    spec.config.consensus.timeout_propose = Duration::from_secs(2);
    spec.config.instrumentation.prometheus = false;
    spec
}

/// A base port with the 10 ports of each validator free.
pub fn free_port_block(n: u16) -> u16 {
    let start = synod_abci_app::testkit::free_port().unwrap();
    for attempt in 0..200u16 {
        let base = 20_000 + (start.wrapping_mul(7).wrapping_add(attempt * 97)) % 30_000;
        let all_free =
            (base..base + n).all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok());
        if all_free {
            return base;
        }
    }
    panic!("no block of {n} free ports found");
}

/// A `synod-node` process, killed (SIGKILL) on drop.
pub struct NodeProcess {
    pub child: Child,
    pub home: PathBuf,
}

impl NodeProcess {
    pub fn start(home: &Path, extra: &[&str]) -> NodeProcess {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(home.join("node.log"))
            .unwrap();
        let child = Command::new(NODE_BIN)
            .args(["start", "--home"])
            .arg(home)
            .args(extra)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        NodeProcess {
            child,
            home: home.to_path_buf(),
        }
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.home.join("node.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

pub struct Validator {
    pub home: PathBuf,
    pub proxy_app: String,
    pub app: Option<AppProcess>,
    pub node: Option<NodeProcess>,
    pub rpc: HttpClient,
    /// Extra `synod-node start` flags.
    pub flags: Vec<&'static str>,
}

impl Validator {
    /// A validator of `home` (not started).
    pub fn of(home: &synod_consensus_config::HomeSummary) -> Validator {
        Validator {
            home: home.home.clone(),
            proxy_app: home.proxy_app.clone(),
            app: None,
            node: None,
            rpc: HttpClient::builder(home.rpc_laddr.replace("tcp://", "http://").parse().unwrap())
                .compat_mode(CompatMode::V0_38)
                .build()
                .unwrap(),
            flags: Vec::new(),
        }
    }

    pub fn start(&mut self) {
        self.app = Some(
            AppProcess::start_at(
                &app_binary(),
                &self.home.join("app"),
                &self.proxy_app,
                Duration::from_secs(60),
            )
            .unwrap(),
        );
        self.node = Some(NodeProcess::start(&self.home, &self.flags));
    }

    /// SIGKILL both processes.
    pub fn kill(&mut self) {
        if let Some(mut n) = self.node.take() {
            n.kill();
        }
        if let Some(mut a) = self.app.take() {
            a.kill();
        }
    }

    pub async fn height(&self) -> Option<u64> {
        let s = self.rpc.status().await.ok()?;
        Some(s.sync_info.latest_block_height.value())
    }

    pub fn explain(&self) -> String {
        self.node
            .as_ref()
            .map(NodeProcess::log_tail)
            .unwrap_or_default()
    }
}

/// Waits (at most `secs`) until every validator in `which` is at `h` or above.
pub async fn wait_all_at(vals: &[Validator], which: &[usize], h: u64, secs: u64) {
    for _ in 0..secs * 5 {
        let mut ok = true;
        for &i in which {
            if vals[i].height().await.unwrap_or(0) < h {
                ok = false;
                break;
            }
        }
        if ok {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut report = String::new();
    for &i in which {
        report.push_str(&format!(
            "\n--- validator {i} at {:?}:\n{}",
            vals[i].height().await,
            vals[i].explain()
        ));
    }
    panic!("not every validator reached height {h} within {secs} s:{report}");
}

pub async fn account(client: &HttpClient, who: &TestAccount) -> Account {
    let r = client
        .abci_query(
            Some(format!("/account/{}", who.address())),
            vec![],
            None,
            false,
        )
        .await
        .unwrap();
    codec::decode(&r.value).unwrap()
}

/// The block hash and header app hash of every height up to `top`.
pub async fn chain_of(client: &HttpClient, top: u64) -> Vec<(tendermint::Hash, Vec<u8>)> {
    let mut out = Vec::new();
    for h in 1..=top {
        let b = client.block(h as u32).await.unwrap();
        out.push((b.block_id.hash, b.block.header.app_hash.as_bytes().to_vec()));
    }
    out
}
