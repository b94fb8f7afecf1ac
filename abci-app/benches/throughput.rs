//! Throughput of the chain: signed transfers through FinalizeBlock + Commit on
//! RocksDB in blocks of 1,000, against the bare ed25519 verification rate on
//! the same cores; Commit latency; store size after 100,000 transactions.
//!
//! Run: `./dev bench` (or `cargo bench -p synod-abci-app --bench throughput`).
//! Options: `--blocks N` (default 100), `--txs-per-block N` (default 1000).

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use synod_abci_app::testkit::{TestChain, TestNet};
use synod_protocol::{params::ChainParams, Amount, SignedTx, TxBody};

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let blocks = arg("--blocks", 100);
    let per_block = arg("--txs-per-block", 1000);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    println!(
        "synod throughput bench: {blocks} blocks x {per_block} signed transfers, {cores} cores"
    );

    let mut params = ChainParams::default();
    params.accounts.min_fee_per_byte_usyn = 1;
    let mut net = TestNet::new(4, per_block, params);
    print!("signing {} transactions... ", blocks * per_block);
    let signing = Instant::now();
    let mut all_blocks: Vec<Vec<Vec<u8>>> = Vec::with_capacity(blocks);
    let n_users = net.users.len();
    for b in 0..blocks {
        let mut txs = Vec::with_capacity(per_block);
        for i in 0..per_block {
            let to = net.users[(i + 1 + b) % n_users].address();
            txs.push(net.users[i].sign(TxBody::Transfer {
                to,
                amount: Amount(1_000 + b as u128),
            }));
        }
        all_blocks.push(txs);
    }
    println!("{:.1}s", signing.elapsed().as_secs_f64());

    let dir = tempfile::tempdir().expect("temp dir");
    let mut chain = TestChain::start(dir.path(), net.clone()).expect("genesis");
    let mut finalize = Vec::with_capacity(blocks);
    let mut commit = Vec::with_capacity(blocks);
    let total = Instant::now();
    for (b, txs) in all_blocks.iter().enumerate() {
        let block = chain.next_block(txs.clone());
        let t = Instant::now();
        let out = chain.app.finalize_block(&block).expect("finalize");
        finalize.push(t.elapsed());
        let failed = out.tx_results.iter().filter(|r| r.code() != 0).count();
        assert_eq!(
            failed,
            0,
            "block {} had {failed} failed txs: {:?}",
            b + 1,
            out.tx_results.iter().find(|r| r.code() != 0)
        );
        let t = Instant::now();
        chain.app.commit().expect("commit");
        commit.push(t.elapsed());
        chain.height = block.height.value();
        if (b + 1) % 10 == 0 {
            eprint!("\r  {} / {blocks} blocks", b + 1);
        }
    }
    eprintln!();
    let elapsed = total.elapsed();
    let n_txs = (blocks * per_block) as f64;
    let busy: Duration = finalize.iter().chain(commit.iter()).sum();
    let chain_tps = n_txs / busy.as_secs_f64();

    // Bare ed25519 verification of the same transactions' signatures, same cores.
    let sample: Vec<SignedTx> = all_blocks
        .iter()
        .flatten()
        .take(20_000)
        .map(|b| SignedTx::decode(b, 1 << 20).expect("decode"))
        .collect();
    let messages: Vec<Vec<u8>> = sample.iter().map(|t| t.unsigned().sign_bytes()).collect();
    let t = Instant::now();
    for (tx, msg) in sample.iter().zip(&messages) {
        tx.signer
            .verify(msg, &tx.signature)
            .expect("valid signature");
    }
    let single_rate = sample.len() as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    for chunk in sample
        .chunks(per_block.max(1))
        .zip(messages.chunks(per_block.max(1)))
    {
        let mut batch = ed25519_consensus::batch::Verifier::new();
        for (tx, msg) in chunk.0.iter().zip(chunk.1) {
            batch.queue((
                ed25519_consensus::VerificationKeyBytes::from(tx.signer.0),
                ed25519_consensus::Signature::from(tx.signature.0),
                msg,
            ));
        }
        batch.verify(rand_core::OsRng).expect("valid batch");
    }
    let batch_rate = sample.len() as f64 / t.elapsed().as_secs_f64();

    commit.sort();
    finalize.sort();
    let size = chain.app.storage().disk_size_bytes();
    println!();
    println!("  chain throughput (FinalizeBlock + Commit): {chain_tps:>10.0} tx/s   ({n_txs} txs, wall {:.1}s)", elapsed.as_secs_f64());
    println!("  bare ed25519 verify (one by one):          {single_rate:>10.0} sig/s");
    println!("  bare ed25519 verify (batches of {per_block}):     {batch_rate:>10.0} sig/s");
    // The chain verifies a block's signatures in one batch, so batched
    // verification is the bound it really has.
    println!(
        "  ratio chain / bare batched verify:         {:>10.2}   (goal >= 0.5)",
        chain_tps / batch_rate
    );
    println!(
        "  ratio chain / bare single verify:          {:>10.2}",
        chain_tps / single_rate
    );
    println!(
        "  FinalizeBlock latency p50 / p99:           {:>7.1} ms / {:.1} ms",
        ms(percentile(&finalize, 0.5)),
        ms(percentile(&finalize, 0.99))
    );
    println!(
        "  Commit latency p50 / p99:                  {:>7.1} ms / {:.1} ms",
        ms(percentile(&commit, 0.5)),
        ms(percentile(&commit, 0.99))
    );
    println!(
        "  RocksDB size after {n_txs} txs:            {:>10.1} MiB",
        size as f64 / (1024.0 * 1024.0)
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
