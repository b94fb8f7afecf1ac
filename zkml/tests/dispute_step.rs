//! Execution traces and one-step verification, as the optimistic dispute game
//! uses them: every step of an honest execution verifies as correct, a step
//! whose committed output is wrong is judged incorrect, and a malformed
//! witness is an error, never a verdict.

mod support;

use proptest::prelude::*;
use support::{mlp, random_input, random_model};
use synod_zkml::interp::{Interpreter, Tensor};
use synod_zkml::ir::{Model, ModelId, TensorId};
use synod_zkml::merkle::MerkleError;
use synod_zkml::trace::{
    run_traced, tensor_leaf, verify_leaf, verify_step, Execution, StepError, StepVerdict,
    StepWitness, Trace, TraceRoot,
};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn every_step_of_an_honest_execution_verifies_as_correct(seed in any::<u64>(), input_seed in any::<u64>()) {
        let model = random_model(seed);
        let input = random_input(&model, input_seed);
        let execution = run_traced(&model, &input).expect("runs");
        let (id, root) = (ModelId::of(&model), execution.trace().root());
        prop_assert_eq!(execution.trace().leaves().len(), model.nodes.len() + 1);
        for step in 0..model.nodes.len() {
            let witness = execution.witness(&model, step).expect("witness");
            let decoded = StepWitness::from_bytes(&witness.to_bytes()).expect("round trip");
            prop_assert_eq!(&decoded, &witness);
            prop_assert_eq!(verify_step(&id, &root, &decoded).expect("well formed"), StepVerdict::Correct);
        }
    }

    #[test]
    fn a_wrong_output_at_any_step_is_judged_incorrect_at_that_step(seed in any::<u64>(), pick in any::<usize>()) {
        let model = random_model(seed);
        let input = random_input(&model, seed ^ 1);
        let honest = run_traced(&model, &input).expect("runs");
        // A dishonest executor changes one tensor and commits to the result.
        let bad_step = pick % model.nodes.len();
        let mut tensors = honest.tensors().to_vec();
        let wrong = &tensors[bad_step + 1];
        let mut values = wrong.values().to_vec();
        let at = pick % values.len();
        values[at] ^= 1;
        tensors[bad_step + 1] = Tensor::new(wrong.shape().to_vec(), values).expect("same shape");
        let dishonest = Execution::new(tensors);
        let (id, root) = (ModelId::of(&model), dishonest.trace().root());
        let witness = dishonest.witness(&model, bad_step).expect("witness");
        match verify_step(&id, &root, &witness).expect("well formed") {
            StepVerdict::Incorrect { expected, claimed } => {
                prop_assert_eq!(expected, honest.trace().leaves()[bad_step + 1]);
                prop_assert_eq!(claimed, dishonest.trace().leaves()[bad_step + 1]);
            }
            StepVerdict::Correct => prop_assert!(false, "a wrong output passed"),
        }
    }
}

fn mlp_execution() -> (Model, Execution) {
    let model = mlp(4);
    let input = random_input(&model, 8);
    let execution = Interpreter::new(&model)
        .expect("valid")
        .run_traced(&input)
        .expect("runs");
    (model, execution)
}

#[test]
fn a_claimed_output_leaf_that_is_not_in_the_trace_is_an_error() {
    let (model, execution) = mlp_execution();
    let (id, root) = (ModelId::of(&model), execution.trace().root());
    let mut witness = execution.witness(&model, 2).expect("witness");
    witness.claimed_output[0] ^= 1;
    let err = verify_step(&id, &root, &witness).unwrap_err();
    assert!(
        matches!(
            err,
            StepError::OutputProof {
                step: 2,
                source: MerkleError::RootMismatch { .. }
            }
        ),
        "{err}"
    );
}

#[test]
fn a_tampered_input_tensor_is_an_error() {
    let (model, execution) = mlp_execution();
    let (id, root) = (ModelId::of(&model), execution.trace().root());
    let mut witness = execution.witness(&model, 0).expect("witness");
    let t = &witness.inputs[0].tensor;
    let mut values = t.values().to_vec();
    values[0] = values[0].wrapping_add(1).clamp(-128, 127);
    if values[0] == t.values()[0] {
        values[0] -= 1;
    }
    witness.inputs[0].tensor = Tensor::new(t.shape().to_vec(), values).expect("same shape");
    let err = verify_step(&id, &root, &witness).unwrap_err();
    assert!(
        matches!(
            err,
            StepError::InputProof {
                step: 0,
                tensor: TensorId(0),
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("step 0: input t0 is not in the trace"),
        "{err}"
    );
}

#[test]
fn a_node_that_is_not_the_models_is_an_error() {
    let (model, execution) = mlp_execution();
    let (id, root) = (ModelId::of(&model), execution.trace().root());
    let mut witness = execution.witness(&model, 1).expect("witness");
    witness.node.op = synod_zkml::ir::Op::Relu { zero_point: -4 };
    assert!(matches!(
        verify_step(&id, &root, &witness),
        Err(StepError::NodeProof { step: 1, .. })
    ));
    // The right node claimed at the wrong step.
    let mut witness = execution.witness(&model, 1).expect("witness");
    witness.step = 2;
    assert!(matches!(
        verify_step(&id, &root, &witness),
        Err(StepError::NodeProof { step: 2, .. })
    ));
    // The right witness against another model.
    let witness = execution.witness(&model, 1).expect("witness");
    let other = ModelId::of(&mlp(5));
    assert!(matches!(
        verify_step(&other, &root, &witness),
        Err(StepError::NodeProof { .. })
    ));
}

#[test]
fn inputs_other_than_the_ones_the_node_reads_are_an_error() {
    let (model, execution) = mlp_execution();
    let (id, root) = (ModelId::of(&model), execution.trace().root());
    let mut witness = execution.witness(&model, 1).expect("witness");
    witness.inputs[0].id = TensorId(0);
    let err = verify_step(&id, &root, &witness).unwrap_err();
    assert_eq!(
        err.to_string(),
        "step 1: the node reads [TensorId(1)], the witness provides [TensorId(0)]"
    );
    let mut witness = execution.witness(&model, 1).expect("witness");
    witness.inputs.clear();
    assert!(matches!(
        verify_step(&id, &root, &witness),
        Err(StepError::InputIds { .. })
    ));
}

#[test]
fn proofs_for_a_trace_of_another_length_are_an_error() {
    let (model, execution) = mlp_execution();
    let id = ModelId::of(&model);
    // A trace with one extra leaf: proofs from it state 6 leaves, the model has 5 tensors.
    let mut leaves = execution.trace().leaves().to_vec();
    leaves.push([7; 32]);
    let longer = Trace::from_leaves(leaves);
    let mut witness = execution.witness(&model, 0).expect("witness");
    witness.inputs[0].proof = longer.leaf_proof(0).expect("exists");
    witness.output_proof = longer.leaf_proof(1).expect("exists");
    let err = verify_step(&id, &longer.root(), &witness).unwrap_err();
    assert!(
        matches!(
            err,
            StepError::LeafCount {
                expected: 5,
                got: 6,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn a_witness_whose_input_has_the_wrong_shape_is_an_error() {
    // Both sides committed to a malformed input tensor: the step cannot run.
    let (model, execution) = mlp_execution();
    let mut tensors = execution.tensors().to_vec();
    tensors[2] = Tensor::new(vec![4, 8], tensors[2].values().to_vec()).expect("32 values");
    let bad = Execution::new(tensors);
    let witness = bad.witness(&model, 2).expect("witness");
    let err = verify_step(&ModelId::of(&model), &bad.trace().root(), &witness).unwrap_err();
    assert!(matches!(err, StepError::Execution(_)), "{err}");
    assert!(
        err.to_string()
            .contains("node 2 (Dense): expected a 1-D tensor [32], got an input of shape [4, 8]"),
        "{err}"
    );
}

#[test]
fn witnesses_are_refused_for_missing_steps_and_foreign_executions() {
    let (model, execution) = mlp_execution();
    assert!(matches!(
        execution.witness(&model, 4),
        Err(StepError::StepOutOfRange { step: 4, nodes: 4 })
    ));
    let other = mlp(6);
    let mut longer = other.clone();
    longer.nodes.push(longer.nodes[1].clone());
    assert!(matches!(
        execution.witness(&longer, 0),
        Err(StepError::ExecutionMismatch { .. })
    ));
}

#[test]
fn a_witness_whose_tensor_does_not_fill_its_shape_does_not_decode() {
    let (model, execution) = mlp_execution();
    let witness = execution.witness(&model, 0).expect("witness");
    let good = witness.to_bytes();
    // Re-encode with a lying shape through the raw parts.
    #[derive(serde::Serialize)]
    struct RawTensor {
        shape: Vec<u32>,
        values: Vec<i32>,
    }
    let raw = RawTensor {
        shape: vec![65],
        values: witness.inputs[0].tensor.values().to_vec(),
    };
    let honest_raw = RawTensor {
        shape: vec![64],
        values: witness.inputs[0].tensor.values().to_vec(),
    };
    let (bad_t, good_t) = (
        synod_protocol::codec::encode(&raw),
        synod_protocol::codec::encode(&honest_raw),
    );
    let at = good
        .windows(good_t.len())
        .position(|w| w == good_t.as_slice())
        .expect("tensor inside");
    let mut bad = good[..at].to_vec();
    bad.extend_from_slice(&bad_t);
    bad.extend_from_slice(&good[at + good_t.len()..]);
    let err = StepWitness::from_bytes(&bad).unwrap_err();
    assert!(err.to_string().contains("holds 65 values, got 64"), "{err}");
    let mut trailing = good.clone();
    trailing.push(0);
    assert!(StepWitness::from_bytes(&trailing).is_err());
}

#[test]
fn leaves_prove_against_the_root_for_bisection() {
    let (_, execution) = mlp_execution();
    let trace = execution.trace();
    let root = trace.root();
    for (j, leaf) in trace.leaves().iter().enumerate() {
        let proof = trace.leaf_proof(j).expect("exists");
        assert_eq!(verify_leaf(&root, j as u64, leaf, &proof), Ok(()));
    }
    assert_eq!(trace.leaves()[0], tensor_leaf(&execution.tensors()[0]));
    assert_eq!(trace.trace_size_bytes(), 5 * 32);
    assert_eq!(root.to_string().parse::<TraceRoot>(), Ok(root));
}

#[test]
fn the_same_run_gives_the_same_root() {
    let (model, execution) = mlp_execution();
    let again = run_traced(&model, &execution.tensors()[0]).expect("runs");
    assert_eq!(again.trace().root(), execution.trace().root());
    assert_eq!(again.output(), execution.output());
}

#[test]
fn a_step_on_empty_or_degenerate_tensors_is_an_error_not_a_panic() {
    use synod_zkml::interp::execute_node;
    use synod_zkml::ir::{ConvGeometry, Node, Op, Requant};
    let conv = Node {
        inputs: vec![TensorId(0)],
        op: Op::Conv2d {
            geometry: ConvGeometry {
                in_channels: 1,
                out_channels: 1,
                kernel_h: 3,
                kernel_w: 3,
                stride: 1,
                padding: 2,
            },
            input_zero_point: 0,
            weights: vec![1; 9],
            bias: vec![0],
            requant: Requant {
                multiplier: 1,
                shift: 1,
                zero_point: 0,
            },
            channels: Vec::new(),
        },
    };
    for shape in [vec![1, 0, 4], vec![], vec![0]] {
        let empty = Tensor::new(
            shape.clone(),
            vec![0; shape.iter().product::<u32>() as usize],
        )
        .expect("consistent");
        for node in [
            &conv,
            &Node {
                inputs: vec![TensorId(0)],
                op: Op::ArgMax,
            },
            &Node {
                inputs: vec![TensorId(0)],
                op: Op::Relu { zero_point: 0 },
            },
        ] {
            let err = execute_node(0, node, &[&empty]).unwrap_err();
            assert!(err.to_string().contains("is not allowed"), "{err}");
        }
    }
}
