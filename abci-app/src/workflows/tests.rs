//! Unit tests of the workflows registry.

#![allow(clippy::unwrap_used)]

use synod_protocol::{
    governance::{WorkflowSpec, WorkflowStep},
    state::VerificationMode,
    Amount, Height,
};

use super::{register, workflow, workflows};
use crate::testkit::scratch_state;

fn spec(name: &str, steps: usize) -> WorkflowSpec {
    WorkflowSpec {
        name: name.into(),
        steps: (0..steps)
            .map(|i| WorkflowStep {
                name: format!("step-{i}"),
                model: [i as u8; 32],
                inputs: vec![],
                mode: VerificationMode::Zk,
                timeout_blocks: 10,
                reward: Amount::syn(1),
                min_bond: Amount::ZERO,
                min_reputation: 0,
                retries: 0,
            })
            .collect(),
    }
}

#[test]
fn a_new_workflow_starts_at_version_one_and_an_update_keeps_its_first_height() {
    let (_dir, mut state) = scratch_state();
    let first = register(&mut state, &spec("digits", 1), 3, Height(10)).unwrap();
    assert_eq!(
        (first.version, first.registered_height, first.proposal),
        (1, Height(10), 3)
    );
    assert_eq!(first.spec_hash, spec("digits", 1).hash());

    let second = register(&mut state, &spec("digits", 2), 7, Height(25)).unwrap();
    assert_eq!(second.version, 2);
    assert_eq!(second.registered_height, Height(10));
    assert_eq!(second.updated_height, Height(25));
    assert_ne!(second.spec_hash, first.spec_hash);
    assert_eq!(workflow(&state, "digits").unwrap(), Some(second));

    register(&mut state, &spec("another", 1), 8, Height(26)).unwrap();
    let names: Vec<String> = workflows(&state)
        .unwrap()
        .into_iter()
        .map(|w| w.spec.name)
        .collect();
    assert_eq!(names, vec!["another".to_string(), "digits".to_string()]);
}
