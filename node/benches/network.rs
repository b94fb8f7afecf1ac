//! Throughput of a real network: 4 validators as 8 processes (4 `synod-node`
//! and 4 `synod-app`) on loopback, loaded with pre-signed transfers from many
//! funded accounts sent concurrently to all four nodes' RPC
//! (`broadcast_tx_sync`, each account's txs in nonce order to one node).
//! Over a steady window (after a warm-up) it reports, from the committed
//! blocks themselves: committed tx/s, the block interval (header times), the
//! latency of `broadcast_tx_commit` (a separate stream while the load runs),
//! and how the CPU splits between consensus (the node processes) and the app
//! (the app processes), against the machine's core count.
//!
//! The goal (issue): at least 1,000 tx/s sustained with a block interval of
//! at most 1 s on 2 cores.
//!
//! Run: `./dev bench network` (or, after `cargo build --release -p
//! synod-abci-app --bin synod-app`, `cargo bench -p synod-node --bench network`).
//! Options, as `-- --flag N` or environment variables:
//!
//! | flag | env | default | what |
//! |---|---|---|---|
//! | `--window-secs` | `SYNOD_BENCH_WINDOW_SECS` | 30 | length of the measured window |
//! | `--warmup-secs` | `SYNOD_BENCH_WARMUP_SECS` | 10 | load before the window opens |
//! | `--txs` | `SYNOD_BENCH_TXS` | 96000 | pre-signed transfers (spread over the accounts) |
//! | `--accounts` | `SYNOD_BENCH_ACCOUNTS` | 256 | funded sending accounts |
//! | `--commit-streams` | `SYNOD_BENCH_COMMIT_STREAMS` | 4 | concurrent `broadcast_tx_commit` loops |
//! | `--timeout-commit-ms` | `SYNOD_BENCH_TIMEOUT_COMMIT_MS` | 400 | `consensus.timeout_commit` |
//! | `--mempool-size` | `SYNOD_BENCH_MEMPOOL_SIZE` | 2000 | `mempool.size` (txs per node) |
//! | `--keep-homes` | `SYNOD_BENCH_KEEP_HOMES` | 0 | 1: keep the homes and logs afterwards |
//! | `--rate` | `SYNOD_BENCH_RATE` | 0 | total tx/s the senders offer (0: as fast as the nodes take them) |
//! | `--idle-secs` | `SYNOD_BENCH_IDLE_SECS` | 5 | idle time before the load, for the idle memory figure |
//! | `--max-gas` | `SYNOD_BENCH_MAX_GAS` | 0 | the genesis' `block.max_gas` (0: as `synod-testnet` writes it) |
//!
//! Besides throughput it reports the time from starting the processes to the
//! first committed block, and each validator's resident memory (RSS of
//! synod-node + synod-app) idle and at the end of the loaded window: e.g.
//! `-- --rate 500` gives the memory at 500 tx/s.
//!
//! Why these defaults: each account has one `broadcast_tx_sync` in flight,
//! so 64 accounts offer too little load; 256 keep the network busy. Since
//! gossip stopped signing messages and rechecks skip known signatures, the
//! network takes more than the load used to offer: a 5,000-tx mempool made
//! 5,000-tx blocks (1,500 tx/s, but 2.4 s between blocks). The mempool size
//! bounds a block, so 2,000 txs with `timeout_commit` 400 ms gave ~1,250
//! tx/s at a ~1 s interval; a 1,500-tx mempool made the load generator spin
//! on "mempool full" retries.
//!
//! Every process is killed when the bench ends, returns an error or panics
//! (guards kill on drop).

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use synod_abci_app::testkit::{AppProcess, TestAccount};
use synod_consensus_config::{generate_network, NetworkSpec};
use synod_protocol::{genesis::GenesisAccount, Amount, TxBody};
use tendermint_rpc::{client::CompatMode, Client, HttpClient};

const NODE_BIN: &str = env!("CARGO_BIN_EXE_synod-node");
const CHAIN: &str = synod_abci_app::testkit::CHAIN_ID;
const VALIDATORS: usize = 4;

/// The bench's knobs (see the module docs for flags and defaults).
#[derive(Clone, Debug)]
struct Options {
    window: Duration,
    warmup: Duration,
    txs: usize,
    accounts: usize,
    commit_streams: usize,
    timeout_commit: Duration,
    mempool_size: u64,
    keep_homes: bool,
    rate: u64,
    idle: Duration,
    /// `consensus_params.block.max_gas` of the genesis; `None`: as written.
    max_gas: Option<i64>,
}

impl Options {
    /// From `--flag N` arguments, else `SYNOD_BENCH_*` variables, else defaults.
    /// Other arguments (cargo's `--bench`, the app bench's flags) are ignored.
    fn read() -> anyhow::Result<Options> {
        let args: Vec<String> = std::env::args().collect();
        let number = |flag: &str, env: &str, default: u64| -> anyhow::Result<u64> {
            let from_args = args
                .iter()
                .position(|a| a == flag)
                .map(|i| args.get(i + 1).cloned().unwrap_or_default());
            match from_args.or_else(|| std::env::var(env).ok()) {
                None => Ok(default),
                Some(text) => text.trim().parse().with_context(|| {
                    format!("{flag} / {env} must be a whole number, got {text:?}")
                }),
            }
        };
        let options = Options {
            window: Duration::from_secs(number("--window-secs", "SYNOD_BENCH_WINDOW_SECS", 30)?),
            warmup: Duration::from_secs(number("--warmup-secs", "SYNOD_BENCH_WARMUP_SECS", 10)?),
            txs: number("--txs", "SYNOD_BENCH_TXS", 96_000)? as usize,
            accounts: number("--accounts", "SYNOD_BENCH_ACCOUNTS", 256)? as usize,
            commit_streams: number("--commit-streams", "SYNOD_BENCH_COMMIT_STREAMS", 4)? as usize,
            timeout_commit: Duration::from_millis(number(
                "--timeout-commit-ms",
                "SYNOD_BENCH_TIMEOUT_COMMIT_MS",
                400,
            )?),
            mempool_size: number("--mempool-size", "SYNOD_BENCH_MEMPOOL_SIZE", 2_000)?,
            keep_homes: number("--keep-homes", "SYNOD_BENCH_KEEP_HOMES", 0)? != 0,
            rate: number("--rate", "SYNOD_BENCH_RATE", 0)?,
            idle: Duration::from_secs(number("--idle-secs", "SYNOD_BENCH_IDLE_SECS", 5)?),
            max_gas: match number("--max-gas", "SYNOD_BENCH_MAX_GAS", 0)? {
                0 => None,
                n => Some(i64::try_from(n).context("--max-gas must fit an i64")?),
            },
        };
        if options.accounts == 0 || options.txs < options.accounts {
            bail!(
                "need at least one account and one tx per account (--accounts {}, --txs {})",
                options.accounts,
                options.txs
            );
        }
        if options.window.is_zero() {
            bail!("--window-secs must be at least 1");
        }
        Ok(options)
    }
}

fn app_binary() -> anyhow::Result<PathBuf> {
    let p =
        Path::new(NODE_BIN).with_file_name(format!("synod-app{}", std::env::consts::EXE_SUFFIX));
    if !p.exists() {
        bail!(
            "{} is missing: build it first with `cargo build --release -p synod-abci-app --bin synod-app` (`./dev bench` does)",
            p.display()
        );
    }
    Ok(p)
}

/// A base port with the `n` ports after it free on 127.0.0.1.
fn free_port_block(n: u16) -> anyhow::Result<u16> {
    let start = synod_abci_app::testkit::free_port().context("find a free port")?;
    for attempt in 0..200u16 {
        let base = 20_000 + (start.wrapping_mul(7).wrapping_add(attempt * 97)) % 30_000;
        let all_free =
            (base..base + n).all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok());
        if all_free {
            return Ok(base);
        }
    }
    bail!("no block of {n} free ports found on 127.0.0.1")
}

/// A `synod-node` process, killed (SIGKILL) on drop.
struct NodeProcess {
    child: Child,
    home: PathBuf,
}

impl NodeProcess {
    fn start(home: &Path) -> anyhow::Result<NodeProcess> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(home.join("node.log"))
            .with_context(|| format!("open {}/node.log", home.display()))?;
        let child = Command::new(NODE_BIN)
            .args(["start", "--home"])
            .arg(home)
            // The node's own log at info (one line per block); gossipsub warns once
            // per gossiped tx ("already been published"), which would only measure logging.
            .env("RUST_LOG", "info,libp2p_gossipsub=error")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("start {NODE_BIN}"))?;
        Ok(NodeProcess {
            child,
            home: home.to_path_buf(),
        })
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.home.join("node.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One validator: its node and app processes (both killed on drop, the node
/// first so it does not log the app's death) and an RPC client.
struct Validator {
    node: NodeProcess,
    app: AppProcess,
    rpc: HttpClient,
}

impl Validator {
    /// Which of its processes exited, if one did.
    fn exited(&mut self) -> Option<String> {
        if let Ok(Some(status)) = self.node.child.try_wait() {
            return Some(format!("synod-node exited with {status}"));
        }
        // The app's child handle is the testkit's: an exited, unreaped process is a zombie.
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.app.pid()));
        let state = stat.ok().and_then(|s| {
            let after_name = s.get(s.rfind(')')? + 1..)?.to_string();
            after_name.split_whitespace().next().map(str::to_string)
        });
        match state.as_deref() {
            None | Some("Z") | Some("X") => Some(format!(
                "synod-app exited (see {}/synod-app.log)",
                self.app.home.display()
            )),
            Some(_) => None,
        }
    }

    /// Process ids: (node, app).
    fn pids(&self) -> (u32, u32) {
        (self.node.child.id(), self.app.pid())
    }
}

fn rpc_client(laddr: &str) -> anyhow::Result<HttpClient> {
    let url = laddr.replace("tcp://", "http://");
    HttpClient::builder(
        url.parse()
            .with_context(|| format!("RPC address {laddr}"))?,
    )
    .compat_mode(CompatMode::V0_38)
    .build()
    .with_context(|| format!("RPC client for {url}"))
}

/// Utime + stime of a process, in clock ticks (`/proc/PID/stat`).
fn cpu_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: count fields after its closing ')'.
    let after_name = stat.get(stat.rfind(')')? + 1..)?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of stat(5); `fields[0]` is field 3.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on Linux when that fails).
fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

/// Busy clock ticks of the whole machine, all cores (`/proc/stat`: all but idle and iowait).
fn machine_busy_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    let idle = ticks.get(3)? + ticks.get(4)?;
    // Guest time (fields 9 and 10) is already counted in user time.
    Some(ticks.iter().take(8).sum::<u64>() - idle)
}

/// CPU ticks of every node, every app, this bench process and the whole machine at one moment.
#[derive(Clone, Debug)]
struct CpuSample {
    nodes: Vec<u64>,
    apps: Vec<u64>,
    bench: u64,
    machine: u64,
}

fn sample_cpu(vals: &[Validator]) -> CpuSample {
    let ticks = |pid: u32| cpu_ticks(&pid.to_string()).unwrap_or(0);
    CpuSample {
        nodes: vals.iter().map(|v| ticks(v.pids().0)).collect(),
        apps: vals.iter().map(|v| ticks(v.pids().1)).collect(),
        bench: cpu_ticks("self").unwrap_or(0),
        machine: machine_busy_ticks().unwrap_or(0),
    }
}

/// Resident memory of a process in KiB (`VmRSS` of `/proc/PID/status`).
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// RSS of (node, app) per validator, in MiB.
fn sample_rss(vals: &[Validator]) -> Vec<(f64, f64)> {
    let mib = |pid: u32| rss_kib(pid).unwrap_or(0) as f64 / 1024.0;
    vals.iter()
        .map(|v| {
            let (node, app) = v.pids();
            (mib(node), mib(app))
        })
        .collect()
}

fn describe_rss(rss: &[(f64, f64)]) -> String {
    let totals: Vec<f64> = rss.iter().map(|(n, a)| n + a).collect();
    let mean = totals.iter().sum::<f64>() / totals.len().max(1) as f64;
    let max = totals.iter().copied().fold(0.0, f64::max);
    format!(
        "mean {mean:.0} MiB, max {max:.0} MiB per validator (node+app: {})",
        rss.iter()
            .map(|(n, a)| format!("{n:.0}+{a:.0}"))
            .collect::<Vec<_>>()
            .join("  ")
    )
}

/// Counters shared by the sending tasks.
#[derive(Debug, Default)]
struct SendStats {
    accepted: AtomicU64,
    refused: AtomicU64,
    full_retries: AtomicU64,
    errors: AtomicU64,
    first_problem: Mutex<Option<String>>,
}

impl SendStats {
    fn note(&self, problem: String) {
        if let Ok(mut first) = self.first_problem.lock() {
            first.get_or_insert(problem);
        }
    }
}

/// Sends `txs` (one account's, in nonce order) to `rpc` with
/// `broadcast_tx_sync`, waiting and retrying while the mempool is full,
/// until done or `stop` is set. Returns the accepted calls' timings.
async fn send_account(
    rpc: HttpClient,
    txs: Vec<Vec<u8>>,
    stats: Arc<SendStats>,
    progress: ProgressBar,
    stop: Arc<AtomicBool>,
    pace: Option<Duration>,
) -> Vec<CallSample> {
    let mut samples = Vec::with_capacity(txs.len());
    let first = Instant::now();
    for (k, tx) in txs.into_iter().enumerate() {
        if let Some(every) = pace {
            // The k-th tx of this account leaves at first + k * every (no catch-up bursts beyond that).
            let due = first + every * k as u32;
            tokio::time::sleep_until(due.into()).await;
        }
        let mut attempts = 0u32;
        loop {
            if stop.load(Ordering::Relaxed) {
                return samples;
            }
            let started = Instant::now();
            match rpc.broadcast_tx_sync(tx.clone()).await {
                Ok(r) if r.code.is_ok() => {
                    samples.push(CallSample {
                        started,
                        took: started.elapsed(),
                    });
                    stats.accepted.fetch_add(1, Ordering::Relaxed);
                    progress.inc(1);
                    break;
                }
                Ok(r) => {
                    // Refused by CheckTx: later nonces of this account will fail too; say so.
                    stats.refused.fetch_add(1, Ordering::Relaxed);
                    stats.note(format!("CheckTx refused a tx: {}", r.log));
                    progress.inc(1);
                    break;
                }
                Err(e) => {
                    let text = e.to_string();
                    if text.contains("mempool is full") {
                        // Backpressure: the node takes more after its next block.
                        stats.full_retries.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(25)).await;
                    } else if text.contains("already in the mempool")
                        || text.contains("seen recently")
                    {
                        // A retry of a tx that did arrive.
                        stats.accepted.fetch_add(1, Ordering::Relaxed);
                        progress.inc(1);
                        break;
                    } else {
                        stats.errors.fetch_add(1, Ordering::Relaxed);
                        stats.note(format!("broadcast_tx_sync failed: {text}"));
                        attempts += 1;
                        if attempts >= 5 {
                            progress.inc(1);
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        }
    }
    samples
}

/// One successful RPC call: when it started and how long it took.
#[derive(Clone, Copy, Debug)]
struct CallSample {
    started: Instant,
    took: Duration,
}

/// The durations of the calls that started and ended within `from..from + wall`, sorted.
fn within(samples: &[CallSample], from: Instant, wall: Duration) -> Vec<Duration> {
    let mut out: Vec<Duration> = samples
        .iter()
        .filter(|c| c.started >= from && c.started + c.took <= from + wall)
        .map(|c| c.took)
        .collect();
    out.sort();
    out
}

/// Sends one transfer at a time from `account` with `broadcast_tx_commit`
/// until `stop`; records each call's latency.
async fn commit_stream(
    rpc: HttpClient,
    mut account: TestAccount,
    sink: synod_protocol::Address,
    samples: Arc<Mutex<Vec<CallSample>>>,
    stats: Arc<SendStats>,
    stop: Arc<AtomicBool>,
) {
    while !stop.load(Ordering::Relaxed) {
        let tx = account.sign_with(
            TxBody::Transfer {
                to: sink,
                amount: Amount(1),
            },
            account.nonce,
            synod_abci_app::testkit::TEST_FEE,
        );
        let started = Instant::now();
        match rpc.broadcast_tx_commit(tx).await {
            Ok(r) if r.check_tx.code.is_ok() && r.tx_result.code.is_ok() => {
                account.nonce += 1;
                if let Ok(mut s) = samples.lock() {
                    s.push(CallSample {
                        started,
                        took: started.elapsed(),
                    });
                }
            }
            Ok(r) => {
                stats.note(format!(
                    "broadcast_tx_commit: check_tx {:?} {:?}, tx_result {:?} {:?}",
                    r.check_tx.code, r.check_tx.log, r.tx_result.code, r.tx_result.log
                ));
                return;
            }
            Err(e) if e.to_string().contains("mempool is full") => {
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            Err(e) => {
                stats.note(format!("broadcast_tx_commit failed: {e}"));
                return;
            }
        }
    }
}

/// Signs `per_account` transfers for each account (nonces 0..), on every core.
fn presign(
    accounts: &[TestAccount],
    per_account: &[usize],
    sink: synod_protocol::Address,
) -> Vec<Vec<Vec<u8>>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = accounts.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = accounts
            .chunks(chunk)
            .zip(per_account.chunks(chunk))
            .map(|(accounts, counts)| {
                scope.spawn(move || {
                    accounts
                        .iter()
                        .zip(counts)
                        .map(|(a, &n)| {
                            (0..n as u64)
                                .map(|nonce| {
                                    a.sign_with(
                                        TxBody::Transfer {
                                            to: sink,
                                            amount: Amount(1),
                                        },
                                        nonce,
                                        synod_abci_app::testkit::TEST_FEE,
                                    )
                                })
                                .collect::<Vec<_>>()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a signing thread panicked"))
            .collect()
    })
}

/// The highest committed height of `rpc`.
async fn height(rpc: &HttpClient) -> anyhow::Result<u64> {
    Ok(rpc
        .status()
        .await
        .context("status")?
        .sync_info
        .latest_block_height
        .value())
}

/// Header time (ns since the epoch) and tx count of every block in `from..=to`.
async fn block_metas(
    rpc: &HttpClient,
    from: u64,
    to: u64,
) -> anyhow::Result<Vec<(u64, i128, u64)>> {
    let mut out = Vec::new();
    let mut low = from;
    while low <= to {
        let high = (low + 19).min(to);
        let r = rpc
            .blockchain(low as u32, high as u32)
            .await
            .with_context(|| format!("blockchain {low}..{high}"))?;
        for m in r.block_metas {
            let t = m.header.time.unix_timestamp_nanos();
            out.push((m.header.height.value(), t, m.num_txs as u64));
        }
        low = high + 1;
    }
    out.sort_by_key(|(h, _, _)| *h);
    if out.len() as u64 != to + 1 - from {
        bail!("asked blocks {from}..={to}, got {}", out.len());
    }
    Ok(out)
}

fn percentile<T: Copy + Default>(sorted: &[T], p: f64) -> T {
    if sorted.is_empty() {
        return T::default();
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() -> anyhow::Result<()> {
    let options = Options::read()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("tokio runtime")?;
    runtime.block_on(run(options))
}

async fn run(options: Options) -> anyhow::Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "synod network bench: {VALIDATORS} validators (4 synod-node + 4 synod-app processes) on loopback, {cores} cores"
    );
    println!(
        "  load: {} pre-signed transfers from {} accounts via broadcast_tx_sync to all {VALIDATORS} nodes, \
         {} broadcast_tx_commit streams; warm-up {} s, window {} s",
        options.txs,
        options.accounts,
        options.commit_streams,
        options.warmup.as_secs(),
        options.window.as_secs()
    );
    let app_bin = app_binary()?;

    // Accounts and their pre-signed transfers (nonce order per account).
    let senders: Vec<TestAccount> = (0..options.accounts)
        .map(|i| TestAccount::new(&format!("bench-sender-{i}")))
        .collect();
    let committers: Vec<TestAccount> = (0..options.commit_streams)
        .map(|i| TestAccount::new(&format!("bench-committer-{i}")))
        .collect();
    let sink = TestAccount::new("bench-sink").address();
    let per_account: Vec<usize> = (0..options.accounts)
        .map(|i| options.txs / options.accounts + usize::from(i < options.txs % options.accounts))
        .collect();
    print!("  signing {} transactions... ", options.txs);
    let signing = Instant::now();
    let signed = presign(&senders, &per_account, sink);
    println!("{:.1}s", signing.elapsed().as_secs_f64());

    // Homes, tuned for throughput.
    let dir = tempfile::Builder::new()
        .prefix("synod-network-bench-")
        .tempdir()
        .context("temp dir")?;
    let mut spec = NetworkSpec::new(dir.path(), VALIDATORS, CHAIN);
    spec.base_port = free_port_block(10 * VALIDATORS as u16)?;
    spec.genesis.seed = Some(4);
    spec.genesis.extra_accounts = senders
        .iter()
        .chain(&committers)
        .map(|a| GenesisAccount {
            address: a.address(),
            balance: Amount::syn(1_000_000),
        })
        .collect();
    spec.config.consensus.timeout_commit = options.timeout_commit;
    spec.config.mempool.size = options.mempool_size;
    // Remember every committed tx of the run, so late gossip is refused by hash.
    spec.config.mempool.cache_size = spec.config.mempool.cache_size.max(options.txs as u64 * 2);
    spec.config.instrumentation.prometheus = false;
    let c = &spec.config;
    println!(
        "  config: timeout_commit {:?}, timeout_propose {:?}, timeout_prevote {:?}, timeout_precommit {:?}, \
         mempool.size {}, mempool.cache_size {}, mempool.max_txs_bytes {}",
        c.consensus.timeout_commit,
        c.consensus.timeout_propose,
        c.consensus.timeout_prevote,
        c.consensus.timeout_precommit,
        c.mempool.size,
        c.mempool.cache_size,
        c.mempool.max_txs_bytes
    );
    let homes = generate_network(&spec).context("generate the network's homes")?;
    if let Some(max_gas) = options.max_gas {
        for h in &homes {
            set_max_gas(&h.home.join("config").join("genesis.json"), max_gas)?;
        }
    }
    let genesis_text = std::fs::read_to_string(homes[0].home.join("config").join("genesis.json"))
        .context("read the genesis")?;
    let genesis: serde_json::Value =
        serde_json::from_str(&genesis_text).context("parse the genesis")?;
    println!(
        "  genesis: block.max_gas {}",
        genesis["consensus_params"]["block"]["max_gas"]
    );

    // Start the 8 processes (guards kill them however this function ends).
    let started = Instant::now();
    let mut vals = Vec::with_capacity(VALIDATORS);
    for h in &homes {
        let app = AppProcess::start_at(
            &app_bin,
            &h.home.join("app"),
            &h.proxy_app,
            Duration::from_secs(60),
        )
        .with_context(|| format!("start synod-app for {}", h.moniker))?;
        let node = NodeProcess::start(&h.home)?;
        vals.push(Validator {
            app,
            node,
            rpc: rpc_client(&h.rpc_laddr)?,
        });
    }
    let mut first_block: Option<Duration> = None;
    loop {
        let mut lowest = u64::MAX;
        for v in &vals {
            lowest = lowest.min(height(&v.rpc).await.unwrap_or(0));
        }
        if lowest >= 1 && first_block.is_none() {
            first_block = Some(started.elapsed());
        }
        if lowest >= 2 {
            break;
        }
        if started.elapsed() > Duration::from_secs(120) {
            let tails: Vec<String> = vals.iter().map(|v| v.node.log_tail()).collect();
            bail!(
                "the network did not reach height 2 within 120 s; node logs:\n{}",
                tails.join("\n---\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!(
        "  first block committed on all {VALIDATORS} nodes {:.1}s after starting the processes; height 2 after {:.1}s (homes in {})",
        first_block.unwrap_or_default().as_secs_f64(),
        started.elapsed().as_secs_f64(),
        dir.path().display()
    );
    tokio::time::sleep(options.idle).await;
    let idle_rss = sample_rss(&vals);
    println!(
        "  memory idle ({} s without load): {}",
        options.idle.as_secs(),
        describe_rss(&idle_rss)
    );
    if options.rate > 0 {
        println!("  offered load: {} tx/s", options.rate);
    }

    // The load: every account's stream to one node, all concurrently.
    let stop = Arc::new(AtomicBool::new(false));
    let stats = Arc::new(SendStats::default());
    let progress = ProgressBar::new(options.txs as u64);
    progress.set_style(
        ProgressStyle::with_template(
            "  {spinner} [{elapsed_precise}] [{bar:30}] {pos}/{len} txs accepted ({per_sec}) {msg}",
        )
        .context("progress bar template")?
        .progress_chars("=> "),
    );
    let mut senders_done = Vec::with_capacity(options.accounts);
    // With --rate R, each of the A accounts sends one tx every A / R seconds.
    let pace = (options.rate > 0)
        .then(|| Duration::from_secs_f64(options.accounts as f64 / options.rate as f64));
    for (i, txs) in signed.into_iter().enumerate() {
        senders_done.push(tokio::spawn(send_account(
            vals[i % VALIDATORS].rpc.clone(),
            txs,
            stats.clone(),
            progress.clone(),
            stop.clone(),
            pace,
        )));
    }
    let samples = Arc::new(Mutex::new(Vec::new()));
    let mut streams = Vec::with_capacity(options.commit_streams);
    for (i, account) in committers.iter().enumerate() {
        streams.push(tokio::spawn(commit_stream(
            vals[i % VALIDATORS].rpc.clone(),
            account.clone(),
            sink,
            samples.clone(),
            stats.clone(),
            stop.clone(),
        )));
    }
    let load_started = Instant::now();
    let all_sent =
        |done: &[tokio::task::JoinHandle<Vec<CallSample>>]| done.iter().all(|h| h.is_finished());

    // Warm-up: mempools fill, blocks grow to their steady size.
    progress.set_message("warm-up");
    while load_started.elapsed() < options.warmup {
        if all_sent(&senders_done) {
            bail!(
                "all {} txs were sent during the {} s warm-up: give more (--txs) or a shorter warm-up",
                options.txs,
                options.warmup.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The window: from a commit on node 0 to a commit on node 0.
    let h0 = height(&vals[0].rpc).await?;
    let cpu0 = sample_cpu(&vals);
    let window_started = Instant::now();
    let mut ran_dry = false;
    while window_started.elapsed() < options.window {
        if all_sent(&senders_done) {
            ran_dry = true;
            break;
        }
        let h = height(&vals[0].rpc).await.unwrap_or(0);
        progress.set_message(format!(
            "window {:.0}/{} s, height {h}",
            window_started.elapsed().as_secs_f64(),
            options.window.as_secs()
        ));
        // Once a second: the status call is load on node 0 too.
        tokio::time::sleep(
            Duration::from_secs(1).min(options.window.saturating_sub(window_started.elapsed())),
        )
        .await;
    }
    let cpu1 = sample_cpu(&vals);
    let loaded_rss = sample_rss(&vals);
    let window_wall = window_started.elapsed();
    let h1 = height(&vals[0].rpc).await?;
    stop.store(true, Ordering::Relaxed);
    progress.finish_and_clear();
    // Senders stop after their call in flight; commit calls may wait for a block: abort those.
    for h in streams {
        h.abort();
    }
    let mut sync_samples = Vec::new();
    for h in senders_done {
        match tokio::time::timeout(Duration::from_secs(30), h).await {
            Ok(Ok(samples)) => sync_samples.extend(samples),
            Ok(Err(e)) => bail!("a sending task failed: {e}"),
            Err(_) => bail!("a sending task did not stop within 30 s of the window's end"),
        }
    }
    let sync_latencies = within(&sync_samples, window_started, window_wall);
    for (i, v) in vals.iter_mut().enumerate() {
        if let Some(why) = v.exited() {
            bail!("validator {i}: {why}; node log:\n{}", v.node.log_tail());
        }
    }
    if h1 <= h0 + 1 {
        bail!(
            "only {} blocks were committed in the {} s window (heights {h0}..{h1}); node 0 log:\n{}",
            h1 - h0,
            options.window.as_secs(),
            vals[0].node.log_tail()
        );
    }

    // Figures from the blocks themselves.
    let metas = block_metas(&vals[0].rpc, h0, h1).await?;
    let window_txs: u64 = metas.iter().skip(1).map(|(_, _, n)| n).sum();
    let header_span_s = (metas[metas.len() - 1].1 - metas[0].1) as f64 / 1e9;
    let tps_header = window_txs as f64 / header_span_s;
    let tps_wall = window_txs as f64 / window_wall.as_secs_f64();
    let mut intervals: Vec<Duration> = metas
        .windows(2)
        .map(|w| Duration::from_nanos((w[1].1 - w[0].1).max(0) as u64))
        .collect();
    let mean_interval = intervals.iter().sum::<Duration>() / intervals.len().max(1) as u32;
    intervals.sort();
    let mut per_block: Vec<u64> = metas.iter().skip(1).map(|(_, _, n)| *n).collect();
    per_block.sort();

    // All four agree on the last block of the window.
    let mut agree = true;
    let reference = vals[0]
        .rpc
        .block(h1 as u32)
        .await
        .context("block")?
        .block_id;
    // A node a few blocks behind is lagging, not disagreeing: wait (at
    // most 60 s) until it has the block, then compare.
    let mut lagged = Vec::new();
    for (i, v) in vals.iter().enumerate().skip(1) {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let mut waited = false;
        let block = loop {
            match v.rpc.block(h1 as u32).await {
                Ok(b) => break Some(b),
                Err(_) if std::time::Instant::now() < deadline => {
                    waited = true;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(_) => break None,
            }
        };
        if waited {
            lagged.push(i);
        }
        match block {
            Some(b) => agree &= b.block_id == reference,
            None => agree = false,
        }
    }

    let latencies = samples
        .lock()
        .map(|s| within(&s, window_started, window_wall))
        .unwrap_or_default();

    let tick = clock_ticks_per_second();
    let spent = |a: &[u64], b: &[u64]| -> f64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| y.saturating_sub(*x))
            .sum::<u64>() as f64
            / tick
    };
    let node_cpu = spent(&cpu0.nodes, &cpu1.nodes);
    let app_cpu = spent(&cpu0.apps, &cpu1.apps);
    let bench_cpu = cpu1.bench.saturating_sub(cpu0.bench) as f64 / tick;
    let machine_cpu = cpu1.machine.saturating_sub(cpu0.machine) as f64 / tick;
    let wall = window_wall.as_secs_f64();
    let chain_cpu = node_cpu + app_cpu;

    println!();
    println!(
        "  window: heights {}..={h1} ({} blocks), {wall:.1}s wall, {:.1}s of header time{}",
        h0 + 1,
        h1 - h0,
        header_span_s,
        if ran_dry {
            "  (ended early: every tx was sent; give more --txs)"
        } else {
            ""
        }
    );
    println!(
        "  committed throughput (header times):      {tps_header:>10.0} tx/s   ({window_txs} txs)   (goal >= 1000)"
    );
    println!("  committed throughput (wall clock):        {tps_wall:>10.0} tx/s");
    println!(
        "  txs per block mean / p50 / max:           {:>10.0} / {} / {}",
        window_txs as f64 / per_block.len().max(1) as f64,
        percentile(&per_block, 0.5),
        per_block.last().copied().unwrap_or(0)
    );
    println!(
        "  block interval mean / p50 / p99:          {:>7.0} ms / {:.0} ms / {:.0} ms   (goal <= 1000 ms)",
        ms(mean_interval),
        ms(percentile(&intervals, 0.5)),
        ms(percentile(&intervals, 0.99))
    );
    println!(
        "  broadcast_tx_sync latency p50 / p99:      {:>7.0} ms / {:.0} ms   ({} calls in the window)",
        ms(percentile(&sync_latencies, 0.5)),
        ms(percentile(&sync_latencies, 0.99)),
        sync_latencies.len()
    );
    println!(
        "  broadcast_tx_commit latency p50 / p99:    {:>7.0} ms / {:.0} ms   ({} calls in the window)",
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.99)),
        latencies.len()
    );
    println!(
        "  CPU in the window: consensus (4 synod-node) {:.2} cores = {:.0}%, app (4 synod-app) {:.2} cores = {:.0}%",
        node_cpu / wall,
        100.0 * node_cpu / chain_cpu.max(f64::EPSILON),
        app_cpu / wall,
        100.0 * app_cpu / chain_cpu.max(f64::EPSILON),
    );
    println!(
        "  cores used: network {:.2}, load generator (this process) {:.2}, anything else {:.2}, of {cores} available",
        chain_cpu / wall,
        bench_cpu / wall,
        (machine_cpu - chain_cpu - bench_cpu).max(0.0) / wall
    );
    println!(
        "  per validator (node + app cores): {}",
        (0..VALIDATORS)
            .map(|i| format!(
                "{:.2}+{:.2}",
                cpu1.nodes[i].saturating_sub(cpu0.nodes[i]) as f64 / tick / wall,
                cpu1.apps[i].saturating_sub(cpu0.apps[i]) as f64 / tick / wall
            ))
            .collect::<Vec<_>>()
            .join("  ")
    );
    println!(
        "  memory at the end of the window: {}",
        describe_rss(&loaded_rss)
    );
    println!(
        "  sent (warm-up + window): {} accepted, {} refused by CheckTx, {} retries on a full mempool, {} RPC errors",
        stats.accepted.load(Ordering::Relaxed),
        stats.refused.load(Ordering::Relaxed),
        stats.full_retries.load(Ordering::Relaxed),
        stats.errors.load(Ordering::Relaxed)
    );
    if let Some(problem) = stats.first_problem.lock().ok().and_then(|p| p.clone()) {
        println!("  first problem: {problem}");
    }
    println!(
        "  all {VALIDATORS} nodes agree on block {h1}: {}{}",
        if agree { "yes" } else { "NO" },
        if lagged.is_empty() {
            String::new()
        } else {
            format!(" (validators {lagged:?} reached it only after the window)")
        }
    );
    if options.keep_homes {
        let kept = dir.keep();
        println!("  homes and logs kept in {}", kept.display());
    }
    drop(vals);
    Ok(())
}

/// Sets `consensus_params.block.max_gas` in a genesis file.
fn set_max_gas(path: &Path, max_gas: i64) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
    let mut doc: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("parse {}", path.display()))?;
    doc["consensus_params"]["block"]["max_gas"] = serde_json::Value::from(max_gas.to_string());
    let text = serde_json::to_string_pretty(&doc)?;
    std::fs::write(path, text).with_context(|| format!("write {}", path.display()))
}
