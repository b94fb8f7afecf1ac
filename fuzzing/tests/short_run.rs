//! The CI short run: every target replays its whole committed corpus, then
//! a few thousand seeded mutants (`Target::short_runs`; the slow `proof`
//! target 200), and none may panic. A crashing input is saved
//! under `fuzzing/crashes/<target>/` for `synod-fuzz replay`.

#![allow(clippy::unwrap_used)]

use indicatif::ProgressBar;
use synod_fuzzing::{
    corpus,
    runner::{self, RunSettings},
    targets, TARGETS,
};

/// The seed of the CI run: fixed, so a failure reproduces.
const CI_SEED: u64 = 0x5eed;

fn short_run(name: &str) {
    let target = targets::find(name).unwrap();
    let settings = RunSettings::new(target.short_runs, CI_SEED);
    let report = runner::run(target, &settings, &ProgressBar::hidden()).unwrap();
    for c in report.crashes.iter().filter_map(|c| Some((c.known?, c))) {
        eprintln!("{name}: known finding {} ({} inputs)", c.0.id, c.1.count);
    }
    let new: Vec<String> = report
        .new_crashes()
        .map(|c| {
            format!(
                "{} ({} inputs; first: {} bytes, sha256 {}, {})",
                c.message,
                c.count,
                c.len,
                c.sha256,
                c.corpus_file
                    .clone()
                    .unwrap_or_else(|| "a mutant".to_owned())
            )
        })
        .collect();
    assert!(new.is_empty(), "{name} panicked:\n{}", new.join("\n"));
    assert_eq!(report.mutated_inputs, target.short_runs);
}

#[test]
fn transactions_never_panic_the_decoders() {
    short_run("tx");
}

#[test]
fn state_records_decode_canonically_or_not_at_all() {
    short_run("codec");
}

#[test]
fn blocks_and_consensus_messages_never_panic_the_node() {
    short_run("block");
}

#[test]
fn proposal_streams_stay_within_their_limits() {
    short_run("stream");
}

#[test]
fn gossiped_txs_are_judged_by_check_tx_without_panic() {
    short_run("gossip");
}

#[test]
fn rpc_request_text_never_panics_the_parsers() {
    short_run("rpc");
}

#[test]
fn model_files_and_step_witnesses_never_panic_the_reader() {
    short_run("model");
}

#[test]
fn onnx_files_import_or_fail_with_an_error() {
    short_run("onnx");
}

#[test]
fn proof_bytes_are_verified_or_refused_without_panic() {
    short_run("proof");
}

#[test]
fn state_proofs_are_checked_without_panic() {
    short_run("state_proof");
}

#[test]
fn genesis_files_are_read_without_panic() {
    short_run("genesis");
}

#[test]
fn every_target_has_a_short_run_and_a_corpus() {
    let names: Vec<&str> = TARGETS.iter().map(|t| t.name).collect();
    assert_eq!(
        names,
        [
            "tx",
            "codec",
            "block",
            "stream",
            "gossip",
            "rpc",
            "model",
            "onnx",
            "proof",
            "state_proof",
            "genesis"
        ],
        "a new target needs its short-run test above"
    );
    for t in TARGETS {
        let inputs = corpus::load(&corpus::default_corpus_root().join(t.name)).unwrap();
        assert!(!inputs.is_empty(), "{} has no corpus", t.name);
        assert!(t.short_runs > 0, "{} has no short run", t.name);
    }
}
