//! A short, real run of the chain over its ABCI socket, without a
//! consensus node: `cargo build -p synod-abci-app --bin synod-app && cargo
//! run -p synod-abci-app --features testkit --example abci_demo`. Starts a
//! `synod-app` process, drives blocks of signed transactions through its ABCI
//! socket exactly as CometBFT would, queries balances with Merkle proofs and
//! checks them against the app hash, then kills the process with SIGKILL,
//! restarts it and shows that it resumes at the same height and hash.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, ensure, Context};
use synod_protocol::{codec, params::ChainParams, state::Account, Amount, TxBody};

use clap::Parser;
use synod_abci_app::{
    storage::verify_proof,
    testkit::{AppProcess, TestAccount, TestNet, CHAIN_ID},
};

/// Options of the demo.
#[derive(Debug, Parser)]
struct DemoArgs {
    /// Blocks to drive.
    #[arg(long, default_value_t = 12)]
    blocks: u64,
    /// Home directory for the demo chain (default: a fresh temporary directory, removed at the end).
    #[arg(long)]
    home: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    run(&DemoArgs::parse())
}

/// Runs the demo, printing what happens.
fn run(args: &DemoArgs) -> anyhow::Result<()> {
    // target/<profile>/examples/abci_demo -> target/<profile>/synod-app
    let binary = std::env::current_exe()
        .context("locating this example")?
        .parent()
        .and_then(|examples| examples.parent())
        .map(|profile| profile.join("synod-app"))
        .context("locating the synod-app binary")?;
    ensure!(
        binary.exists(),
        "{} not found: build it first with `cargo build -p synod-abci-app --bin synod-app`",
        binary.display()
    );
    let (home, _guard) = match &args.home {
        Some(h) => (h.clone(), None),
        None => {
            let dir = std::env::temp_dir().join(format!("synod-demo-{}", std::process::id()));
            (dir.clone(), Some(RemoveOnDrop(dir)))
        }
    };
    let mut params = ChainParams::default();
    params.staking.unbonding_blocks = 5;
    params.staking.max_evidence_age_blocks = 5;
    let mut net = TestNet::new(4, 3, params);
    let mut newcomer = TestAccount::new("demo-newcomer");

    println!("synod demo: chain {CHAIN_ID}, home {}", home.display());
    let mut app =
        AppProcess::start(&binary, &home, Duration::from_secs(30)).context("starting synod-app")?;
    println!(
        "  started synod-app (pid {}) serving ABCI on {}",
        app.pid(),
        app.address
    );
    let mut client = app.client()?;
    let info = client.info()?;
    let mut height = info.last_block_height;
    let init;
    if height == 0 && info.last_block_app_hash.is_empty() {
        init = client.init_chain(CHAIN_ID, &net.app_state_json(), 1)?;
        println!(
            "  InitChain: {} genesis validators, app hash {}",
            init.validators.len(),
            hex::encode(&init.app_hash)
        );
    } else {
        bail!(
            "home {} already holds a chain at height {height}; pass a fresh --home",
            home.display()
        );
    }

    let mut set = std::collections::BTreeMap::new();
    apply_updates(&mut set, &init.validators);
    println!(
        "\n  {:>6}  {:>4}  {:>8}  {:>7}  app hash",
        "height", "txs", "accepted", "updates"
    );
    let mut last_hash = Vec::new();
    for _ in 0..args.blocks {
        height += 1;
        let mut txs = Vec::new();
        for i in 0..net.users.len() {
            let to = net.users[(i + 1) % net.users.len()].address();
            txs.push(net.users[i].sign(TxBody::Transfer {
                to,
                amount: Amount::syn(1 + height as u64),
            }));
        }
        match height {
            2 => txs.push(net.users[0].sign(TxBody::Transfer {
                to: newcomer.address(),
                amount: Amount::syn(5_000),
            })),
            3 => txs.push(newcomer.sign(TxBody::RegisterValidator {
                consensus_key: synod_abci_app::testkit::key("demo-newcomer-consensus").public(),
                moniker: "newcomer".into(),
                self_bond: Amount::syn(2_000),
            })),
            5 => txs.push(net.operators[0].sign(TxBody::Unbond {
                amount: Amount::syn(1_000),
            })),
            _ => {}
        }
        // A replayed transaction: CheckTx must turn it away with a clear reason.
        if height == 4 {
            let stale = net.users[1].sign_with(
                TxBody::Transfer {
                    to: newcomer.address(),
                    amount: Amount(1),
                },
                0,
                synod_abci_app::testkit::TEST_FEE,
            );
            let r = client.check_tx(&stale)?;
            println!("  CheckTx of a replayed tx: code {} ({})", r.code, r.log);
        }
        for tx in &txs {
            let r = client.check_tx(tx)?;
            ensure!(r.code == 0, "CheckTx rejected a demo tx: {}", r.log);
        }
        let proposal = client.prepare_proposal(height, &txs, 1 << 20)?;
        ensure!(
            client.process_proposal(height, &proposal)?,
            "the app rejected its own proposal"
        );
        let proposer = net.consensus_address(height as usize % net.consensus_keys.len());
        // The last commit is signed by the current validator set, as CometBFT reports it.
        let votes: Vec<_> = set
            .iter()
            .map(|(a, power)| synod_abci_app::staking::VoteInfo {
                consensus_address: *a,
                signed: true,
                power: u64::try_from(*power).unwrap_or(0),
            })
            .collect();
        let out = client.finalize_block(height, &proposal, proposer, &votes, &[])?;
        let accepted = out.tx_results.iter().filter(|r| r.code == 0).count();
        apply_updates(&mut set, &out.validator_updates);
        client.commit()?;
        last_hash = out.app_hash.to_vec();
        println!(
            "  {height:>6}  {:>4}  {accepted:>8}  {:>7}  {}",
            proposal.len(),
            out.validator_updates.len(),
            hex::encode(&out.app_hash)
        );
    }

    println!(
        "\n  balances at height {height}, each checked against the app hash with a Merkle proof:"
    );
    let root: [u8; 32] = last_hash
        .as_slice()
        .try_into()
        .context("app hash is not 32 bytes")?;
    for user in net.users.iter().chain(std::iter::once(&newcomer)) {
        let r = client.query(&format!("/account/{}", user.address()), 0, true)?;
        ensure!(r.code == 0, "query failed: {}", r.log);
        let op = r
            .proof_ops
            .as_ref()
            .and_then(|p| p.ops.first())
            .context("no proof in the answer")?;
        verify_proof(root, &op.key, Some(&r.value), &op.data).context("proof did not verify")?;
        let acct: Account = codec::decode(&r.value)?;
        println!(
            "    {}  {:>20}  nonce {:>2}  proof ok",
            user.address(),
            acct.balance.to_syn_string(),
            acct.nonce
        );
    }
    let vals = client.query("/validators", 0, false)?;
    let list: Vec<synod_protocol::state::ValidatorSummary> = codec::decode(&vals.value)?;
    println!("\n  validators (power = bonded syn x reputation factor):");
    for v in &list {
        println!(
            "    {:<12} {}  power {:>6}  reputation {:>7}  {}",
            v.validator.moniker,
            v.validator.operator,
            v.power,
            v.reputation,
            if v.active { "active" } else { "inactive" }
        );
    }

    println!("\n  killing synod-app with SIGKILL and restarting it on the same home...");
    app.kill();
    drop(client);
    let app2 = AppProcess::start(&binary, &home, Duration::from_secs(30))
        .context("restarting synod-app")?;
    let info = app2.client()?.info()?;
    ensure!(
        info.last_block_height == height,
        "restarted at height {} instead of {height}",
        info.last_block_height
    );
    ensure!(
        info.last_block_app_hash.as_ref() == last_hash.as_slice(),
        "restarted with a different app hash"
    );
    println!(
        "  Info after restart: height {}, app hash {} (unchanged)",
        info.last_block_height,
        hex::encode(&info.last_block_app_hash)
    );
    println!("\nsynod demo: OK");
    Ok(())
}

/// Tracks the validator set from InitChain and FinalizeBlock updates, by
/// consensus address (power 0 removes).
fn apply_updates(
    set: &mut std::collections::BTreeMap<[u8; 20], i64>,
    updates: &[tendermint_proto::v0_38::abci::ValidatorUpdate],
) {
    use tendermint_proto::v0_38::crypto::public_key::Sum;
    for u in updates {
        let Some(Sum::Ed25519(key)) = u.pub_key.as_ref().and_then(|k| k.sum.clone()) else {
            continue;
        };
        let Ok(key) = <[u8; 32]>::try_from(key.as_slice()) else {
            continue;
        };
        let address = synod_protocol::Address::from_key_bytes(&key).0;
        if u.power == 0 {
            set.remove(&address);
        } else {
            set.insert(address, u.power);
        }
    }
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
