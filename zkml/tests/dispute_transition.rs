//! State roots and one-step transitions, as the chain's bisection game uses
//! them: an honest execution's every transition is correct, a transition
//! into a wrong post-state is judged incorrect, and a witness that does not
//! fit the agreed pre-state is an error.

mod support;

use proptest::prelude::*;
use support::{mlp, random_input, random_model};
use synod_zkml::interp::Tensor;
use synod_zkml::trace::{
    initial_state_root, run_traced, tensor_leaf, verify_transition, Execution, StepError,
    TransitionVerdict, TransitionWitness,
};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn every_transition_of_an_honest_execution_is_correct(seed in any::<u64>()) {
        let model = random_model(seed);
        let execution = run_traced(&model, &random_input(&model, seed ^ 7)).expect("runs");
        let trace = execution.trace();
        let n = trace.leaves().len();
        prop_assert_eq!(trace.state_root(n - 1), Some(trace.root()));
        prop_assert_eq!(
            trace.state_root(0),
            Some(initial_state_root(&trace.leaves()[0], n))
        );
        for step in 0..model.nodes.len() {
            let w = trace.transition_witness(&model, execution.tensors(), step).expect("witness");
            let w = TransitionWitness::from_bytes(&w.to_bytes()).expect("round trip");
            let (pre, post) = (trace.state_root(step).unwrap(), trace.state_root(step + 1).unwrap());
            prop_assert_eq!(verify_transition(&model, &pre, &post, &w).expect("fits"), TransitionVerdict::Correct);
        }
    }

    #[test]
    fn a_wrong_tensor_makes_exactly_its_transition_incorrect(seed in any::<u64>(), pick in any::<usize>()) {
        let model = random_model(seed);
        let honest = run_traced(&model, &random_input(&model, seed ^ 3)).expect("runs");
        let bad = pick % model.nodes.len();
        let mut tensors = honest.tensors().to_vec();
        let t = &tensors[bad + 1];
        let mut values = t.values().to_vec();
        let at = pick % values.len();
        values[at] ^= 1;
        tensors[bad + 1] = Tensor::new(t.shape().to_vec(), values).expect("same shape");
        let liar = Execution::new(tensors);
        // The honest side's pre-state S_bad equals the liar's; the liar's S_{bad+1} is wrong.
        let pre = honest.trace().state_root(bad).unwrap();
        prop_assert_eq!(liar.trace().state_root(bad).unwrap(), pre);
        let post = liar.trace().state_root(bad + 1).unwrap();
        let w = honest.trace().transition_witness(&model, honest.tensors(), bad).expect("witness");
        match verify_transition(&model, &pre, &post, &w).expect("fits") {
            TransitionVerdict::Incorrect { expected } => {
                prop_assert_eq!(expected, honest.trace().leaves()[bad + 1]);
            }
            TransitionVerdict::Correct => prop_assert!(false, "a wrong post-state passed"),
        }
    }
}

#[test]
fn a_witness_that_does_not_fit_the_pre_state_is_an_error() {
    let model = mlp(4);
    let execution = run_traced(&model, &random_input(&model, 8)).expect("runs");
    let trace = execution.trace();
    let (pre, post) = (trace.state_root(1).unwrap(), trace.state_root(2).unwrap());
    let good = trace
        .transition_witness(&model, execution.tensors(), 1)
        .expect("witness");
    assert_eq!(
        verify_transition(&model, &pre, &post, &good).unwrap(),
        TransitionVerdict::Correct
    );
    // A tampered input tensor.
    let mut w = good.clone();
    let t = &w.inputs[0].tensor;
    let mut values = t.values().to_vec();
    values[0] = if values[0] == 0 { 1 } else { 0 };
    w.inputs[0].tensor = Tensor::new(t.shape().to_vec(), values).unwrap();
    assert!(matches!(
        verify_transition(&model, &pre, &post, &w),
        Err(StepError::InputProof { step: 1, .. })
    ));
    // The slot proof of another state (S_0, where slot 1 is empty too).
    let mut w = good.clone();
    w.slot_proof = trace.state_proof(0, 2).unwrap();
    assert!(matches!(
        verify_transition(&model, &pre, &post, &w),
        Err(StepError::OutputProof { step: 1, .. })
    ));
    // Against another pre-state (the witness is for S_1, not S_0).
    let s0 = trace.state_root(0).unwrap();
    assert!(verify_transition(&model, &s0, &post, &good).is_err());
    // A step past the model.
    let mut w = good;
    w.step = 9;
    assert!(matches!(
        verify_transition(&model, &pre, &post, &w),
        Err(StepError::StepOutOfRange { step: 9, .. })
    ));
    assert_ne!(trace.leaves()[0], tensor_leaf(&execution.tensors()[1]));
}
