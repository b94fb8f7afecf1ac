//! Crash safety of the commit path, proven with real processes: four
//! validators (4 `synod-node` + 4 `synod-app`) on loopback; one of them is
//! crashed again and again, then restarted, while transfers keep the blocks
//! non-empty and bonds change the validator set.
//!
//! A cycle picks a validator (seeded) and the next way to crash it, in turn:
//! an abort at each failpoint of the commit path (`synod_node::failpoint`:
//! decided → save block → FinalizeBlock → save results → Commit → save the
//! next set), a SIGKILL of its node and a SIGKILL of its app at a random moment. For a
//! failpoint the node is killed and restarted with `SYNOD_FAILPOINT` armed
//! to abort on a chosen later block (in every other round of points, the
//! block of a `Bond` that changes the set); the test checks that the store
//! and the app hold exactly what the point says, kills the app too half of
//! the time, restarts normally and waits until the node caught up. A node
//! that refuses to start fails the test with its log. At the end every
//! validator shows the same headers (app hashes and both validator set
//! hashes, from each node's store) and the same block results at every
//! height.
//!
//! A killed process leaves the OS page cache behind, so this proves the
//! order of the writes and the recovery, not the fsyncs a power loss needs.
//!
//! `SYNOD_CRASH_CYCLES` (default 16: every crash twice) sets the number of
//! crashes, `SYNOD_CRASH_SEED` the seed and `SYNOD_NODE_BIN` the node binary
//! (default: this package's, built with `faults`). A soak:
//! `SYNOD_CRASH_CYCLES=50 cargo test -p synod-node --test crash_loop -- --nocapture`.
//!
//! Every wait is bounded; every process is killed when the test ends,
//! passes or fails (guards kill on drop).

#![allow(clippy::unwrap_used)]

mod common;

use std::{
    collections::BTreeMap,
    os::unix::process::ExitStatusExt,
    path::{Path, PathBuf},
    process::{Command, ExitStatus, Stdio},
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use common::procs::{app_binary, funded_spec, wait_all_at, NodeProcess, Validator, NODE_BIN};
use synod_abci_app::testkit::{AppProcess, TestAccount, CHAIN_ID};
use synod_consensus_config::{generate_network, home::OPERATOR_KEY_FILE, OperatorKey};
use synod_node::{failpoint, mempool::tx_hash, store::BlockStore};
use synod_protocol::{codec, state::Account, Address, Amount, TxBody};
use tendermint_rpc::{Client, HttpClient};

const VALIDATORS: usize = 4;
const USERS: usize = 4;

/// One way to crash a validator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Crash {
    /// `std::process::abort` of the node at a failpoint of the commit path.
    Failpoint(&'static str),
    /// SIGKILL of the node process at a random moment.
    KillNode,
    /// SIGKILL of the app process at a random moment (the node then stops by itself).
    KillApp,
}

/// The crashes a run cycles through: every failpoint, then the two kills.
fn crashes() -> Vec<Crash> {
    let mut all: Vec<Crash> = failpoint::POINTS
        .into_iter()
        .map(Crash::Failpoint)
        .collect();
    all.extend([Crash::KillNode, Crash::KillApp]);
    all
}

/// What the block store and the app hold after an abort at a failpoint
/// while the node executes block `t`.
struct StateAfter {
    /// The store's top block.
    store_height: u64,
    /// Whether the results of `t` are saved.
    results_saved: bool,
    /// Whether the set that `t`'s results make (for `t + 2`) is saved.
    next_set_saved: bool,
    /// The app's committed height.
    app_height: u64,
}

fn state_after(point: &str, t: u64) -> StateAfter {
    let (store_height, results_saved, next_set_saved, app_height) = match point {
        "before_save_block" => (t - 1, false, false, t - 1),
        "after_save_block" | "after_finalize_block" => (t, false, false, t - 1),
        "after_save_results" => (t, true, false, t - 1),
        "after_app_commit" => (t, true, false, t),
        "after_save_validators" => (t, true, true, t),
        other => panic!("unknown failpoint {other}"),
    };
    StateAfter {
        store_height,
        results_saved,
        next_set_saved,
        app_height,
    }
}

/// Which hit of `point` is block `target`, for a node whose store is at
/// `store_height` and whose app is at `app_height`: the execution points
/// are passed by the handshake's replay of the blocks the app lacks too.
fn hit_of(point: &str, target: u64, store_height: u64, app_height: u64) -> u64 {
    match point {
        "before_save_block" | "after_save_block" | "after_save_validators" => target - store_height,
        _ => target - app_height,
    }
}

/// SplitMix64: a seeded source for victims, delays and choices, with no
/// dependency the crate does not have.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}={v} is not a number"))
        })
        .unwrap_or(default)
}

/// The binaries a run starts, copied once into its directory: while a
/// long run goes on, another build in the shared target directory may
/// replace `target/debug/synod-node` (a build without the `faults` feature
/// has no failpoints) or `synod-app`. `SYNOD_NODE_BIN` names another
/// `faults` build of the node to use.
struct Binaries {
    node: PathBuf,
    app: PathBuf,
}

impl Binaries {
    fn pin(dir: &Path) -> Binaries {
        let source =
            std::env::var_os("SYNOD_NODE_BIN").map_or(PathBuf::from(NODE_BIN), PathBuf::from);
        let node = dir.join("synod-node");
        let app = dir.join("synod-app");
        std::fs::copy(&source, &node).unwrap();
        std::fs::copy(app_binary(), &app).unwrap();
        // Only the `faults` build reads the variable (dev-dependency of this package).
        let bytes = std::fs::read(&node).unwrap();
        assert!(
            bytes.windows(failpoint::ENV.len()).any(|w| w == failpoint::ENV.as_bytes()),
            "{} was built without the `faults` feature (no failpoints): rebuild it with `cargo test -p synod-node --test crash_loop`",
            source.display()
        );
        Binaries { node, app }
    }

    /// Starts `v`'s node, with `failpoint` (`NAME@N`) armed if given.
    fn start_node(&self, v: &mut Validator, failpoint: Option<&str>) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(v.home.join("node.log"))
            .unwrap();
        let mut command = Command::new(&self.node);
        command
            .args(["start", "--home"])
            .arg(&v.home)
            .env("RUST_LOG", "info")
            .env_remove(failpoint::ENV)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        if let Some(f) = failpoint {
            command.env(failpoint::ENV, f);
        }
        v.node = Some(NodeProcess {
            child: command.spawn().unwrap(),
            home: v.home.clone(),
        });
    }

    /// Starts `v`'s app and waits until it listens.
    fn start_app(&self, v: &mut Validator) {
        let home = v.home.join("app");
        v.app = Some(
            AppProcess::start_at(&self.app, &home, &v.proxy_app, Duration::from_secs(60)).unwrap(),
        );
    }
}

fn kill_node(v: &mut Validator) {
    if let Some(mut n) = v.node.take() {
        n.kill();
    }
}

fn kill_app(v: &mut Validator) {
    if let Some(mut a) = v.app.take() {
        a.kill();
    }
}

/// The node's log since byte `from`, and the app's last lines.
fn logs(v: &Validator, from: usize) -> String {
    let node = std::fs::read_to_string(v.home.join("node.log")).unwrap_or_default();
    let node: Vec<&str> = node.get(from..).unwrap_or("").lines().collect();
    let app = std::fs::read_to_string(v.home.join("app").join("synod-app.log")).unwrap_or_default();
    let app: Vec<&str> = app.lines().collect();
    format!(
        "--- node log (last 40 lines of this run):\n{}\n--- app log (last 10 lines):\n{}",
        node[node.len().saturating_sub(40)..].join("\n"),
        app[app.len().saturating_sub(10)..].join("\n")
    )
}

fn log_len(v: &Validator) -> usize {
    std::fs::metadata(v.home.join("node.log")).map_or(0, |m| m.len() as usize)
}

/// Waits (at most `secs`) until `v`'s node process has exited.
async fn wait_exit(v: &mut Validator, secs: u64, log_from: usize, why: &str) -> ExitStatus {
    for _ in 0..secs * 10 {
        if let Some(status) = v.node.as_mut().unwrap().child.try_wait().unwrap() {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the node did not stop within {secs} s ({why}):\n{}",
        logs(v, log_from)
    );
}

/// Waits (at most `secs`) until validator `i` is at the others' height + 1;
/// fails at once, with its log, if its node or app process exits.
async fn wait_caught_up(vals: &mut [Validator], i: usize, secs: u64, log_from: usize) -> u64 {
    let mut target = 0;
    for (j, v) in vals.iter().enumerate() {
        if j != i {
            target = target.max(v.height().await.unwrap_or(0));
        }
    }
    target += 1;
    for _ in 0..secs * 5 {
        let v = &mut vals[i];
        let node_exit = v.node.as_mut().unwrap().child.try_wait().unwrap();
        if let Some(status) = node_exit {
            panic!(
                "validator {i}'s node exited with {status} after a restart (it must start and catch up):\n{}",
                logs(v, log_from)
            );
        }
        if v.height().await.unwrap_or(0) >= target {
            return target;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!(
        "validator {i} did not reach height {target} within {secs} s after its restart:\n{}",
        logs(&vals[i], log_from)
    );
}

/// Height of `v`'s block store (its node must be stopped).
fn store_height(v: &Validator) -> u64 {
    BlockStore::open(&v.home.join("data").join("blocks.db"))
        .unwrap()
        .height()
        .unwrap()
}

/// The committed height of `v`'s app, asked over its ABCI socket.
fn app_height(v: &Validator) -> u64 {
    let info = v
        .app
        .as_ref()
        .expect("the app runs")
        .client()
        .unwrap()
        .info()
        .unwrap();
    u64::try_from(info.last_block_height).unwrap()
}

/// The app's height once a Commit the killed node sent has run: the same
/// answer twice, 200 ms apart (at most 10 s).
async fn settled_app_height(v: &Validator) -> u64 {
    let mut last = app_height(v);
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = app_height(v);
        if now == last {
            return now;
        }
        last = now;
    }
    panic!("the app's height kept changing with its node stopped");
}

async fn committed_nonce(client: &HttpClient, who: &Address) -> Option<u64> {
    let r = client
        .abci_query(Some(format!("/account/{who}")), vec![], None, false)
        .await
        .ok()?;
    codec::decode::<Account>(&r.value).ok().map(|a| a.nonce)
}

/// Keeps blocks non-empty: each user sends a transfer in turn, every
/// 100 ms, to a live validator; a refused tx (its nonce got lost with a
/// crashed mempool) resyncs the nonce from the chain. Counts accepted txs.
fn spawn_transfers(
    clients: Vec<HttpClient>,
    mut users: Vec<TestAccount>,
    victim: Arc<AtomicUsize>,
    accepted: Arc<AtomicU64>,
) -> tokio::task::JoinHandle<()> {
    let sink = TestAccount::new("crash-sink").address();
    tokio::spawn(async move {
        for n in 0usize.. {
            let u = n % users.len();
            let mut node = (n / users.len()) % clients.len();
            if node == victim.load(Ordering::SeqCst) {
                node = (node + 1) % clients.len();
            }
            let tx = users[u].sign(TxBody::Transfer {
                to: sink,
                amount: Amount(1),
            });
            let sent =
                tokio::time::timeout(Duration::from_secs(5), clients[node].broadcast_tx_sync(tx))
                    .await;
            match sent {
                Ok(Ok(r)) if r.code.is_ok() => {
                    accepted.fetch_add(1, Ordering::SeqCst);
                }
                Ok(Ok(_)) => {
                    let address = users[u].address();
                    if let Some(nonce) = committed_nonce(&clients[node], &address).await {
                        users[u].nonce = nonce;
                    }
                }
                _ => users[u].nonce -= 1,
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
}

/// Sends `tx` and waits (at most 120 s) until a block holds it; its height.
async fn commit_tx(client: &HttpClient, tx: Vec<u8>) -> u64 {
    let hash = tendermint::Hash::Sha256(tx_hash(&tx));
    let r = client.broadcast_tx_sync(tx).await.unwrap();
    assert!(r.code.is_ok(), "the tx was refused: {}", r.log);
    for _ in 0..600 {
        if let Ok(found) = client.tx(hash, false).await {
            assert!(found.tx_result.code.is_ok(), "{}", found.tx_result.log);
            return found.height.value();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let status = client.status().await.ok();
    panic!(
        "the tx {hash} was not in a block within 120 s (the node is at {:?})",
        status.map(|s| s.sync_info.latest_block_height)
    );
}

/// `call`, tried up to 5 times 1 s apart: an RPC answer can time out while
/// the two cores are busy.
async fn retry<T, E: std::fmt::Debug, F: std::future::Future<Output = Result<T, E>>>(
    what: &str,
    mut call: impl FnMut() -> F,
) -> T {
    let mut error = None;
    for _ in 0..5 {
        match call().await {
            Ok(v) => return v,
            Err(e) => error = Some(e),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    panic!("{what}: {error:?}");
}

/// The block at `h` as `v` serves it, and its FinalizeBlock results (as JSON).
async fn block_and_results(v: &Validator, h: u64) -> (tendermint::Block, serde_json::Value) {
    let block = retry("block", || v.rpc.block(h as u32)).await.block;
    let results = retry("block_results", || v.rpc.block_results(h as u32)).await;
    (block, serde_json::to_value(results).unwrap())
}

/// Validator `i` and validator `j` show the same headers (app hash, both
/// validator set hashes from each one's store) and results at `heights`.
async fn assert_agree(vals: &[Validator], i: usize, j: usize, heights: std::ops::Range<u64>) {
    for h in heights {
        let (theirs, their_results) = block_and_results(&vals[j], h).await;
        let (ours, our_results) = block_and_results(&vals[i], h).await;
        assert_eq!(
            ours.header, theirs.header,
            "validator {i}'s header at height {h} (validator {j}'s on the right)"
        );
        assert_eq!(
            our_results, their_results,
            "validator {i}'s results at height {h} (validator {j}'s on the right)"
        );
    }
}

/// Aborts a background task when dropped (also when the test fails).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One crash, as the summary reports it.
struct CrashRecord {
    crash: Crash,
    victim: usize,
    /// The block the failpoint aborted, and whether its results change the set.
    block: Option<(u64, bool)>,
    /// Whether the app was killed too before the restart.
    with_app: bool,
    /// How long the node took to stop after its app was killed.
    node_stopped_after: Option<Duration>,
}

impl std::fmt::Display for CrashRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "validator {}, {:?}", self.victim, self.crash)?;
        if let Some((h, set_change)) = self.block {
            write!(f, " on block {h}")?;
            if set_change {
                write!(f, " (changes the set)")?;
            }
        }
        if self.with_app {
            write!(f, ", app killed too")?;
        }
        if let Some(d) = self.node_stopped_after {
            write!(
                f,
                ", the node stopped {:.1} s after its app",
                d.as_secs_f64()
            )?;
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validator_crashed_anywhere_on_the_commit_path_restarts_and_agrees() {
    let cycles = env_u64("SYNOD_CRASH_CYCLES", 16);
    let seed = env_u64("SYNOD_CRASH_SEED", 8);
    let mut rng = Rng(seed);
    let began = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let users: Vec<TestAccount> = (0..USERS)
        .map(|i| TestAccount::new(&format!("crash-user-{i}")))
        .collect();
    let funded: Vec<_> = users.iter().map(TestAccount::address).collect();
    let spec = funded_spec(dir.path(), VALIDATORS, CHAIN_ID, 8, &funded);
    let homes = generate_network(&spec).unwrap();
    let bins = Binaries::pin(dir.path());
    let mut operators: Vec<TestAccount> = homes
        .iter()
        .map(|h| TestAccount {
            key: OperatorKey::read(&h.home.join(OPERATOR_KEY_FILE))
                .unwrap()
                .0,
            nonce: 0,
        })
        .collect();
    let mut vals: Vec<Validator> = homes.iter().map(Validator::of).collect();
    for v in &mut vals {
        bins.start_app(v);
        bins.start_node(v, None);
    }
    let all: Vec<usize> = (0..VALIDATORS).collect();
    wait_all_at(&vals, &all, 2, 120).await;

    let victim = Arc::new(AtomicUsize::new(usize::MAX));
    let accepted = Arc::new(AtomicU64::new(0));
    let _transfers = AbortOnDrop(spawn_transfers(
        vals.iter().map(|v| v.rpc.clone()).collect(),
        users,
        victim.clone(),
        accepted.clone(),
    ));

    let kinds = crashes();
    let mut records = Vec::new();
    for cycle in 0..cycles as usize {
        let i = rng.below(VALIDATORS as u64) as usize;
        let crash = kinds[cycle % kinds.len()];
        victim.store(i, Ordering::SeqCst);
        let live = (i + 1) % VALIDATORS;
        let log_from = log_len(&vals[i]);
        let mut record = CrashRecord {
            crash,
            victim: i,
            block: None,
            with_app: false,
            node_stopped_after: None,
        };
        match crash {
            Crash::Failpoint(point) => {
                kill_node(&mut vals[i]);
                let stored = store_height(&vals[i]);
                let app = settled_app_height(&vals[i]).await;
                assert!(
                    app == stored || app + 1 == stored,
                    "after a SIGKILL validator {i}'s app is at {app}, its store at {stored}"
                );
                // Every other round of points aborts on the block of a bond,
                // whose results change the validator set; the others a few
                // blocks ahead.
                let target = if (cycle / kinds.len()).is_multiple_of(2) {
                    let operator = &mut operators[live];
                    let tx = operator.sign(TxBody::Bond {
                        amount: Amount::syn(10),
                    });
                    commit_tx(&vals[live].rpc, tx).await
                } else {
                    stored + 1 + rng.below(3)
                };
                let nth = hit_of(point, target, stored, app);
                bins.start_node(&mut vals[i], Some(&format!("{point}@{nth}")));
                let status = wait_exit(
                    &mut vals[i],
                    120,
                    log_from,
                    &format!("armed to abort at {point} on block {target}"),
                )
                .await;
                let log = std::fs::read_to_string(vals[i].home.join("node.log")).unwrap();
                assert!(
                    status.signal() == Some(6) && log[log_from..].contains(&format!("failpoint {point} hit {nth}")),
                    "validator {i} was to abort at {point} (hit {nth}) but ended with {status}:\n{}",
                    logs(&vals[i], log_from)
                );
                // The store and the app hold exactly what the point says.
                let expected = state_after(point, target);
                {
                    let store =
                        BlockStore::open(&vals[i].home.join("data").join("blocks.db")).unwrap();
                    assert_eq!(
                        store.height().unwrap(),
                        expected.store_height,
                        "{point}: the store's top block"
                    );
                    assert_eq!(
                        store.results(target).unwrap().is_some(),
                        expected.results_saved,
                        "{point}: results of {target} saved"
                    );
                    assert_eq!(
                        store.validators_at(target + 2).unwrap().is_some(),
                        expected.next_set_saved,
                        "{point}: set for {} saved",
                        target + 2
                    );
                }
                assert_eq!(
                    app_height(&vals[i]),
                    expected.app_height,
                    "{point}: the app's height"
                );
                let results = retry("block_results", || {
                    vals[live].rpc.block_results(target as u32)
                })
                .await;
                let updates = !results.validator_updates.is_empty();
                record.block = Some((target, updates));
                // Half of the time the app goes too (both processes restart).
                record.with_app = rng.below(2) == 0;
                let restart_from = log_len(&vals[i]);
                if record.with_app {
                    kill_app(&mut vals[i]);
                    bins.start_app(&mut vals[i]);
                }
                bins.start_node(&mut vals[i], None);
                let back = wait_caught_up(&mut vals, i, 120, log_from).await;
                assert_agree(&vals, i, live, target.min(back - 1)..back).await;
                // A block stored without the set after it: the restart
                // rebuilds the set from the block's results.
                let log = std::fs::read_to_string(vals[i].home.join("node.log")).unwrap();
                let rebuilt = format!("the validator set after block {target} was not saved");
                assert_eq!(
                    log[restart_from..].contains(&rebuilt),
                    expected.store_height == target && !expected.next_set_saved,
                    "{point}: the restart rebuilt the set after block {target} from its results"
                );
            }
            Crash::KillNode => {
                tokio::time::sleep(Duration::from_millis(rng.below(2_000))).await;
                kill_node(&mut vals[i]);
                bins.start_node(&mut vals[i], None);
                let back = wait_caught_up(&mut vals, i, 120, log_from).await;
                assert_agree(&vals, i, live, back.saturating_sub(3).max(1)..back).await;
            }
            Crash::KillApp => {
                tokio::time::sleep(Duration::from_millis(rng.below(2_000))).await;
                kill_app(&mut vals[i]);
                let killed = Instant::now();
                // A node whose app is gone stops by itself, at the latest
                // when its ABCI client gave up reconnecting (30 s).
                wait_exit(&mut vals[i], 60, log_from, "its app was killed").await;
                record.node_stopped_after = Some(killed.elapsed());
                bins.start_app(&mut vals[i]);
                bins.start_node(&mut vals[i], None);
                let back = wait_caught_up(&mut vals, i, 120, log_from).await;
                assert_agree(&vals, i, live, back.saturating_sub(3).max(1)..back).await;
            }
        }
        victim.store(usize::MAX, Ordering::SeqCst);
        println!(
            "cycle {cycle}: {record}, back at {:.0} s",
            began.elapsed().as_secs_f64()
        );
        records.push(record);
    }

    // Every validator reaches the same height, and at every height shows the
    // same header (app hash, validator set and next set from its own store)
    // and the same FinalizeBlock results.
    let mut top = 0;
    for v in &vals {
        top = top.max(v.height().await.unwrap_or(0));
    }
    top += 1;
    wait_all_at(&vals, &all, top, 120).await;
    let mut txs = 0;
    for i in 1..VALIDATORS {
        assert_agree(&vals, i, 0, 1..top + 1).await;
    }
    for h in 1..=top {
        txs += block_and_results(&vals[0], h).await.0.data.len();
    }
    assert!(txs > 0, "the transfers reached the blocks");
    let on_set_change = records
        .iter()
        .filter(|r| matches!(r.block, Some((_, true))))
        .count();
    if cycles as usize >= failpoint::POINTS.len() {
        assert!(
            on_set_change > 0,
            "at least one failpoint aborted a block that changes the validator set"
        );
    }

    // The summary: crashes per kind, and the run's figures.
    let mut per_kind: BTreeMap<Crash, (usize, usize, usize)> = BTreeMap::new();
    for r in &records {
        let e = per_kind.entry(r.crash).or_default();
        e.0 += 1;
        e.1 += usize::from(matches!(r.block, Some((_, true))));
        e.2 += usize::from(r.with_app);
    }
    println!(
        "crash loop: seed {seed}, {} crashes in {:.0} s, chain at {top}, {txs} txs in blocks ({} accepted), validators crashed: {:?}",
        records.len(),
        began.elapsed().as_secs_f64(),
        accepted.load(Ordering::SeqCst),
        records.iter().map(|r| r.victim).collect::<Vec<_>>()
    );
    for kind in kinds {
        let (n, set_changes, with_app) = per_kind.get(&kind).copied().unwrap_or_default();
        println!("  {kind:?}: {n} (on a block that changes the set: {set_changes}, app killed too: {with_app})");
    }
    for v in &mut vals {
        v.kill();
    }
}
