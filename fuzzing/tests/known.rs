//! The findings of the targets: every open one in `synod_fuzzing::known`
//! still reproduces and is recognized (when a fix lands this fails: remove
//! the entry and add the reproducer to the target's corpus), and every
//! fixed one's reproducer, kept in the corpus as `regression_*`, runs
//! without a panic and is refused where the fix refuses it.

#![allow(clippy::unwrap_used)]

use synod_consensus_config::{check_genesis, GenesisFile};
use synod_fuzzing::{
    corpus,
    known::{self, KnownFinding, KNOWN_FINDINGS},
    runner, targets,
};

#[test]
fn every_known_finding_still_reproduces_and_is_recognized() {
    for finding in KNOWN_FINDINGS {
        let target = targets::find(finding.target).unwrap();
        (target.prepare)().unwrap();
        let input = (finding.reproducer)().unwrap();
        let message = runner::execute(target, &input).expect_err(finding.id);
        assert!(
            finding.matches(finding.target, &message),
            "{} panics with a message it does not name: {message}",
            finding.id
        );
        let recognized = known::known(finding.target, &message).unwrap();
        assert_eq!(recognized.id, finding.id);
    }
}

#[test]
fn a_panic_is_a_known_finding_only_in_its_target_with_every_needle() {
    let finding = KnownFinding {
        id: "example",
        target: "genesis",
        needles: &["upstream-0.1.0/src/lib.rs", "attempt to subtract"],
        summary: "an example",
        reproducer: || Ok(Vec::new()),
    };
    let message = "panicked at upstream-0.1.0/src/lib.rs:9:1:\nattempt to subtract with overflow";
    assert!(finding.matches("genesis", message));
    assert!(!finding.matches("rpc", message));
    assert!(!finding.matches(
        "genesis",
        "panicked at upstream-0.1.0/src/lib.rs:9:1:\nindex out of bounds"
    ));
    // A panic of Synod's own code is never known: it is fixed instead.
    let ours = runner::execute_fn(|_| panic!("a new panic"), b"").unwrap_err();
    assert!(ours.contains("a new panic"), "{ours}");
    assert!(known::known("genesis", &ours).is_none());
}

#[test]
fn the_fixed_genesis_findings_run_without_panic_and_are_refused() {
    let target = targets::find("genesis").unwrap();
    let regressions: Vec<corpus::Input> =
        corpus::load(&corpus::default_corpus_root().join("genesis"))
            .unwrap()
            .into_iter()
            .filter(|i| i.name.starts_with("regression_"))
            .collect();
    let names: Vec<&str> = regressions.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "regression_block_max_bytes_minus_one.json",
            "regression_chain_id_with_a_space.json",
            "regression_pub_key_ending_in_padding.json",
            "regression_repeated_models_key.json",
            "regression_version_with_another_key.json",
        ]
    );
    for input in &regressions {
        runner::execute(target, &input.bytes).unwrap_or_else(|m| panic!("{}: {m}", input.name));
        let text = std::str::from_utf8(&input.bytes).unwrap();
        let report = check_genesis(text);
        assert!(
            !report.is_valid(),
            "validate-genesis accepts {}",
            input.name
        );
        // Each is one mistake, reported once.
        assert_eq!(
            report.problems.len(),
            1,
            "{}: {:?}",
            input.name,
            report.problems
        );
    }
    // The node refuses the key that panicked tendermint-rs with an error.
    let key = regressions
        .iter()
        .find(|i| i.name.contains("pub_key"))
        .unwrap();
    let err = GenesisFile::parse(
        std::path::Path::new("genesis.json"),
        String::from_utf8(key.bytes.clone()).unwrap(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("validators[0].pub_key.value"),
        "{err}"
    );
}
