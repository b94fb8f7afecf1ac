//! What workflow runs cost the chain: FinalizeBlock of a block of `--txs`
//! (default 1,000) `SubmitRun`s (escrow, pinning, assignment draws among
//! `--agents` agents), then of a block as many zk `SubmitResult`s (each
//! proof verified against the pinned model, rewards, workflow_verified),
//! then of a mixed block (half new runs, half results), each against a
//! block of as many signed transfers on the same chain.
//!
//! Run: `./dev bench workflows` (or `cargo bench -p synod-abci-app --bench
//! workflows -- --txs 1000 --agents 50`). Every run here reads the same
//! input, so one proof of the shipped MLP serves every result.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use synod_abci_app::{
    models::testkit::{genesis_model, sample_input, shipped_mlp, Prover},
    runs,
    testkit::{TestChain, TestNet},
};
use synod_protocol::{
    governance::{WorkflowSpec, WorkflowStep},
    params::ChainParams,
    runs::StepStatus,
    state::VerificationMode,
    Amount, TxBody,
};

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Finalizes and commits `txs`; FinalizeBlock's time and the successes.
fn timed(chain: &mut TestChain, txs: Vec<Vec<u8>>) -> (Duration, usize) {
    let block = chain.next_block(txs);
    let t = Instant::now();
    let out = chain.app.finalize_block(&block).expect("finalize");
    let took = t.elapsed();
    chain.app.commit().expect("commit");
    chain.height = block.height.value();
    let ok = out.tx_results.iter().filter(|r| r.code() == 0).count();
    if ok < out.tx_results.len() {
        let first = out.tx_results.iter().find(|r| r.code() != 0).unwrap();
        eprintln!(
            "  ({} of {} refused; first: code {} {})",
            out.tx_results.len() - ok,
            out.tx_results.len(),
            first.code(),
            first.log()
        );
    }
    (took, ok)
}

fn main() {
    let n = arg("--txs", 1000);
    let n_agents = arg("--agents", 50);
    let cores = std::thread::available_parallelism()
        .map(|c| c.get())
        .unwrap_or(1);
    println!("synod workflows bench: blocks of {n} txs, {n_agents} agents, {cores} cores");

    let max_k = ChainParams::default().models.max_k;
    let mlp = Prover::new(shipped_mlp(), max_k);
    let mut params = ChainParams::default();
    params.runs.max_open_runs_per_submitter = 1_000;
    params.accounts.max_tx_bytes = 1 << 20;
    // Requesters, then agents.
    let requesters = n;
    let mut net = TestNet::new(1, requesters + n_agents, params);
    net.genesis.models = vec![genesis_model(&mlp.model, &[VerificationMode::Zk])];
    net.genesis.workflows = vec![WorkflowSpec {
        name: "classify".into(),
        steps: vec![WorkflowStep {
            name: "digit".into(),
            model: mlp.id(),
            inputs: vec![],
            mode: VerificationMode::Zk,
            timeout_blocks: 1_000,
            reward: Amount::syn(1),
            min_bond: Amount::ZERO,
            min_reputation: 0,
            retries: 0,
        }],
    }];
    let dir = tempfile::tempdir().unwrap();
    let mut chain = TestChain::start(dir.path(), net).unwrap();
    let register = TxBody::RegisterAgent {
        models: vec![mlp.id()],
        bond: Amount::syn(200),
        metadata: String::new(),
    };
    let txs = (requesters..requesters + n_agents)
        .map(|i| chain.net.users[i].sign(register.clone()))
        .collect();
    let (_, ok) = timed(&mut chain, txs);
    assert_eq!(ok, n_agents);
    let input = sample_input(&mlp.model, 3);
    let proved = mlp.prove(&input);
    let submit = |chain: &mut TestChain, who: usize| {
        chain.net.users[who].sign(TxBody::SubmitRun {
            workflow: "classify".into(),
            version: 1,
            input: input.values().to_vec(),
            budget: Amount::syn(2),
        })
    };
    let transfers = |chain: &mut TestChain, count: usize| -> Vec<Vec<u8>> {
        (0..count)
            .map(|i| {
                let to = chain.net.users[(i + 1) % count].address();
                chain.net.users[i].sign(TxBody::Transfer {
                    to,
                    amount: Amount(1_000),
                })
            })
            .collect()
    };
    // Results for every run assigned and not yet delivered, one per run.
    let results = |chain: &mut TestChain, limit: usize| -> Vec<Vec<u8>> {
        let state = chain.state();
        let mut txs = Vec::new();
        for run in runs::running(&state).unwrap().into_iter().take(limit) {
            let StepStatus::Assigned { agent, .. } = run.steps[0].status else {
                continue;
            };
            let who = (0..chain.net.users.len())
                .find(|&i| chain.net.users[i].address() == agent)
                .unwrap();
            let u = &mut chain.net.users[who];
            txs.push(u.sign_with(
                TxBody::SubmitResult {
                    run: run.id,
                    step: 0,
                    output: proved.output.values().to_vec(),
                    proof: proved.proof.clone(),
                },
                u.nonce,
                Amount(100_000),
            ));
            u.nonce += 1;
        }
        txs
    };

    let txs = transfers(&mut chain, n);
    let (transfer_time, _) = timed(&mut chain, txs);
    let txs = (0..n).map(|i| submit(&mut chain, i)).collect();
    let (submit_time, submitted) = timed(&mut chain, txs);
    let txs = results(&mut chain, n);
    let delivered = txs.len();
    let (result_time, verified) = timed(&mut chain, txs);
    let mut txs: Vec<Vec<u8>> = (0..n / 2).map(|i| submit(&mut chain, i)).collect();
    // Half new runs, half results of runs started now: deliver those of
    // the previous half first.
    let pending = txs.len();
    let mixed_results = {
        let (took, _) = timed(&mut chain, std::mem::take(&mut txs));
        let _ = took;
        results(&mut chain, n - pending)
    };
    let mut mixed: Vec<Vec<u8>> = (n / 2..n).map(|i| submit(&mut chain, i)).collect();
    mixed.extend(mixed_results);
    let mixed_len = mixed.len();
    let (mixed_time, mixed_ok) = timed(&mut chain, mixed);

    let per = |d: Duration, k: usize| d.as_secs_f64() * 1e3 / k.max(1) as f64;
    println!();
    println!(
        "  {n} transfers:                  FinalizeBlock {:>8.1} ms  ({:.3} ms/tx)",
        transfer_time.as_secs_f64() * 1e3,
        per(transfer_time, n)
    );
    println!(
        "  {n} SubmitRun ({submitted} ok):        FinalizeBlock {:>8.1} ms  ({:.3} ms/tx, {:.1}x a transfer)",
        submit_time.as_secs_f64() * 1e3,
        per(submit_time, n),
        per(submit_time, n) / per(transfer_time, n)
    );
    println!(
        "  {delivered} SubmitResult ({verified} ok):     FinalizeBlock {:>8.1} ms  ({:.3} ms/tx, {:.1}x a transfer; the block batch-verifies the proofs per model)",
        result_time.as_secs_f64() * 1e3,
        per(result_time, delivered),
        per(result_time, delivered) / per(transfer_time, n)
    );
    println!(
        "  {mixed_len} mixed ({mixed_ok} ok):            FinalizeBlock {:>8.1} ms  ({:.3} ms/tx)",
        mixed_time.as_secs_f64() * 1e3,
        per(mixed_time, mixed_len)
    );
}
