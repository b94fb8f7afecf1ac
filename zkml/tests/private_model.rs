//! Committed weights (issue 15, private models): the verifying key depends
//! only on the architecture, the instance carries the weights' commitment
//! (`synod-weights/v1`), and a proof verifies only against the commitment of
//! the weights it was made with.

use std::sync::OnceLock;

use halo2_proofs::dev::{MockProver, VerifyFailure};
use synod_zkml::circuit::fixtures::{calibration_images, shipped_model};
use synod_zkml::circuit::{
    params, prove_statement, verify_statement, ContextBinding, ProvedStatement, ProvingSetup,
    Statement, TensorClaim, TensorVisibility, VerifierKey, VerifyError, Visibility,
    WeightVisibility, ZkModel, DEFAULT_MAX_K,
};
use synod_zkml::interp::Tensor;
use synod_zkml::ir::{Model, Op};
use synod_zkml::onnx::quantize_input;
use synod_zkml::private_model::{
    architecture, is_architecture, parameter_tensor, weights_commitment,
};
use synod_zkml::{ProofContext, TensorCommitment};

type Params = halo2_proofs::poly::commitment::Params<halo2_proofs::pasta::EqAffine>;

fn image(model: &Model, index: usize) -> Tensor {
    quantize_input(&model.input, &calibration_images()[index]).expect("quantizes")
}

fn mlp() -> &'static Model {
    static MLP: OnceLock<Model> = OnceLock::new();
    MLP.get_or_init(|| shipped_model("mlp.onnx", Some(20)))
}

/// `model` with every weight and bias moved a little (same architecture and
/// requantization): another model of one architecture.
fn retrained(model: &Model) -> Model {
    let mut out = model.clone();
    for node in &mut out.nodes {
        if let Op::Dense { weights, bias, .. } | Op::Conv2d { weights, bias, .. } = &mut node.op {
            for (i, w) in weights.iter_mut().enumerate() {
                *w = w.saturating_add(if i % 3 == 0 { 1 } else { -1 });
            }
            for b in bias.iter_mut() {
                *b = b.saturating_add(17);
            }
        }
    }
    out
}

struct Keys {
    params: Params,
    setup: ProvingSetup,
}

fn keys(model: &Model, visibility: Visibility) -> Keys {
    let zk = ZkModel::from_ir_with(model, DEFAULT_MAX_K, visibility).expect("fits");
    let params = params(zk.k()).expect("params");
    let setup = zk.setup(&params).expect("keys");
    Keys { params, setup }
}

/// The key a verifier derives from the architecture alone.
fn architecture_key(model: &Model, visibility: Visibility) -> (Params, VerifierKey) {
    let zk = ZkModel::from_ir_with(&architecture(model), DEFAULT_MAX_K, visibility).expect("fits");
    let params = params(zk.k()).expect("params");
    let key = zk.verifier_key(&params).expect("vk");
    (params, key)
}

/// The MLP's keys and a proof with weights committed, input and output public.
fn private_mlp() -> &'static (Keys, ProvedStatement) {
    static PROVED: OnceLock<(Keys, ProvedStatement)> = OnceLock::new();
    PROVED.get_or_init(|| {
        let keys = keys(mlp(), Visibility::PRIVATE_MODEL);
        let proved = prove_statement(&keys.setup, &image(mlp(), 0), None).expect("proves");
        (keys, proved)
    })
}

#[test]
fn the_committed_weights_key_depends_only_on_the_architecture() {
    let a = mlp();
    let b = retrained(a);
    assert_ne!(parameter_tensor(a), parameter_tensor(&b));
    let key = |m: &Model, v: Visibility| {
        let zk = ZkModel::from_ir_with(m, DEFAULT_MAX_K, v).expect("fits");
        let vk = zk
            .verifier_key(&params(zk.k()).expect("params"))
            .expect("vk");
        (zk.k(), vk.vk_hash())
    };
    let private = key(a, Visibility::PRIVATE_MODEL);
    assert_eq!(key(&b, Visibility::PRIVATE_MODEL), private);
    assert_eq!(key(&architecture(a), Visibility::PRIVATE_MODEL), private);
    assert!(is_architecture(&architecture(&b)));
    assert!(!is_architecture(a));
    // With fixed weights the keys tell the two models apart.
    assert_ne!(key(a, Visibility::PUBLIC), key(&b, Visibility::PUBLIC));
    // And the commitments do with committed weights.
    assert_ne!(
        weights_commitment(a).expect("commits"),
        weights_commitment(&b).expect("commits")
    );
    // Committing the weights is a visibility of its own.
    assert_ne!(private, key(a, Visibility::PUBLIC));
    println!("mlp committed weights: k = {}", private.0);
}

#[test]
fn a_private_model_proves_and_verifies_with_the_architecture_key_only() {
    let (keys, proved) = private_mlp();
    let x = image(mlp(), 0);
    let expected = Statement {
        input: TensorClaim::Public(x.clone()),
        output: TensorClaim::Public(proved.output.clone()),
        weights: Some(weights_commitment(mlp()).expect("commits")),
        context: None,
    };
    assert_eq!(proved.statement, expected);
    assert_eq!(
        proved.output,
        synod_zkml::Interpreter::new(mlp())
            .expect("valid")
            .run(&x)
            .expect("runs")
    );
    let (params, key) = architecture_key(mlp(), Visibility::PRIVATE_MODEL);
    assert_eq!(key.vk_hash(), keys.setup.verifier.vk_hash());
    verify_statement(&params, &key, &expected, &proved.proof).expect("verifies");
    println!(
        "mlp private: k = {}, proof {} bytes",
        key.k,
        proved.proof.len()
    );
}

#[test]
fn another_models_weight_commitment_or_output_fails() {
    let (keys, proved) = private_mlp();
    let key = &keys.setup.verifier;
    let other = retrained(mlp());
    let wrong = Statement {
        weights: Some(weights_commitment(&other).expect("commits")),
        ..proved.statement.clone()
    };
    assert!(matches!(
        verify_statement(&keys.params, key, &wrong, &proved.proof),
        Err(VerifyError::Invalid)
    ));
    // The other model's output on the same input, under the proof's
    // commitment: refused too (when the two models disagree).
    let x = image(mlp(), 0);
    let their_output = synod_zkml::Interpreter::new(&other)
        .expect("valid")
        .run(&x)
        .expect("runs");
    if their_output != proved.output {
        let swapped = Statement {
            output: TensorClaim::Public(their_output),
            ..proved.statement.clone()
        };
        assert!(matches!(
            verify_statement(&keys.params, key, &swapped, &proved.proof),
            Err(VerifyError::Invalid)
        ));
    }
    // A statement without the weights' commitment is another visibility.
    let without = Statement {
        weights: None,
        ..proved.statement.clone()
    };
    assert!(matches!(
        verify_statement(&keys.params, key, &without, &proved.proof),
        Err(VerifyError::Visibility { .. })
    ));
}

#[test]
fn the_circuit_refuses_weights_other_than_the_committed_ones() {
    // The prover lays out the retrained model's weights but claims the
    // shipped model's commitment (and the retrained model's own output).
    let cnn = shipped_model("cnn.onnx", Some(20));
    let other = retrained(&cnn);
    let visibility = Visibility {
        input: TensorVisibility::Committed,
        output: TensorVisibility::Committed,
        weights: WeightVisibility::Committed,
        context: ContextBinding::Bound,
    };
    let zk = ZkModel::from_ir_with(&other, DEFAULT_MAX_K, visibility).expect("fits");
    let x = image(&cnn, 1);
    let values: Vec<i8> = x.values().iter().map(|&v| v as i8).collect();
    let output = synod_zkml::Interpreter::new(&other)
        .expect("valid")
        .run(&x)
        .expect("runs");
    let out8: Vec<i8> = output.values().iter().map(|&v| v as i8).collect();
    let ctx = ProofContext::derive("synod-test-1", &[7; 20], b"private");
    let instance = |weights: TensorCommitment| {
        vec![
            TensorCommitment::of(&values).expect("commits").to_field(),
            TensorCommitment::of(&out8).expect("commits").to_field(),
            weights.to_field(),
            ctx.to_field(),
        ]
    };
    let circuit = zk.private_circuit_with_context(Some(&values), Some(ctx.to_field()));
    let honest = instance(weights_commitment(&other).expect("commits"));
    MockProver::run(zk.k(), &circuit, vec![honest])
        .expect("synthesizes")
        .verify()
        .expect("the honest witness satisfies the circuit");
    let claimed = instance(weights_commitment(&cnn).expect("commits"));
    assert!(MockProver::run(zk.k(), &circuit, vec![claimed.clone()])
        .expect("synthesizes")
        .verify()
        .is_err());
    // Packing and hashing the shipped weights while computing with the
    // retrained ones: the copies from the packed parameters to the
    // neurons' weight and bias cells refuse it.
    let forged = circuit.committing_to(&cnn);
    let failures = MockProver::run(zk.k(), &forged, vec![claimed])
        .expect("synthesizes")
        .verify()
        .expect_err("refused");
    assert!(
        failures
            .iter()
            .any(|f| matches!(f, VerifyFailure::Permutation { .. })),
        "{failures:?}"
    );
}

#[test]
fn a_model_without_weights_cannot_commit_them() {
    // The CNN's MaxPool and Reshape alone: no parameters.
    let cnn = shipped_model("cnn.onnx", Some(20));
    let segments = synod_zkml::segment::split_at(&cnn, &[1, 3], Visibility::PUBLIC).expect("cuts");
    let pool = &segments[1].model;
    assert!(matches!(
        ZkModel::from_ir_with(pool, DEFAULT_MAX_K, Visibility::PRIVATE_MODEL),
        Err(synod_zkml::circuit::SetupError::NoWeights)
    ));
    assert!(weights_commitment(pool).is_err());
    // Split as a private model, that segment keeps fixed (no) weights and
    // the others commit theirs; the chain proves and verifies.
    let segments =
        synod_zkml::segment::split_at(&cnn, &[1, 3], Visibility::PRIVATE_MODEL).expect("cuts");
    let weights: Vec<WeightVisibility> = segments.iter().map(|s| s.visibility.weights).collect();
    assert_eq!(
        weights,
        [
            WeightVisibility::Committed,
            WeightVisibility::Fixed,
            WeightVisibility::Committed
        ]
    );
    let mut setups = Vec::new();
    let mut all_params = Vec::new();
    for s in &segments {
        let zk = ZkModel::from_ir_with(&s.model, DEFAULT_MAX_K, s.visibility).expect("fits");
        let p = params(zk.k()).expect("params");
        setups.push(zk.setup(&p).expect("keys"));
        all_params.push(p);
    }
    let x = image(&cnn, 2);
    let proved = synod_zkml::segment::prove_segments(&setups, &x, None).expect("proves");
    let chain: Vec<synod_zkml::segment::SegmentProof<'_>> = (0..proved.len())
        .map(|j| synod_zkml::segment::SegmentProof {
            params: &all_params[j],
            key: &setups[j].verifier,
            statement: &proved[j].statement,
            proof: &proved[j].proof,
        })
        .collect();
    synod_zkml::segment::verify_segments(&chain).expect("verifies");
    assert!(proved[0].statement.weights.is_some() && proved[1].statement.weights.is_none());
}
