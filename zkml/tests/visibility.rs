//! Committed tensors and proof contexts (issue 15, first part): the public
//! circuit's keys are unchanged; committed inputs and outputs prove and
//! verify for the shipped MLP and CNN; a wrong commitment, a wrong context,
//! a tensor that is not the committed one and a swapped visibility fail; the
//! in-circuit Poseidon commitment equals the native one.

use std::sync::OnceLock;

use halo2_proofs::{dev::MockProver, pasta::Fp};
use synod_zkml::circuit::fixtures::{calibration_images, shipped_model};
use synod_zkml::circuit::{
    params, prove_inference, prove_statement, verify_statement, ContextBinding, ProveError,
    ProvedStatement, ProvingSetup, Statement, TensorClaim, TensorVisibility, VerifierKey,
    VerifyError, Visibility, WeightVisibility, ZkModel, DEFAULT_MAX_K,
};
use synod_zkml::interp::Tensor;
use synod_zkml::ir::Model;
use synod_zkml::onnx::quantize_input;
use synod_zkml::{ProofContext, TensorCommitment};

type Params = halo2_proofs::poly::commitment::Params<halo2_proofs::pasta::EqAffine>;

fn visibility(input: TensorVisibility, output: TensorVisibility, bound: bool) -> Visibility {
    Visibility {
        input,
        output,
        weights: WeightVisibility::Fixed,
        context: if bound {
            ContextBinding::Bound
        } else {
            ContextBinding::Unbound
        },
    }
}

fn context(tag: &str) -> ProofContext {
    ProofContext::derive("synod-test-1", &[7; 20], tag.as_bytes())
}

fn image(model: &Model, index: usize) -> Tensor {
    quantize_input(&model.input, &calibration_images()[index]).expect("quantizes")
}

fn int8(t: &Tensor) -> Vec<i8> {
    t.values()
        .iter()
        .map(|&v| i8::try_from(v).expect("int8"))
        .collect()
}

fn mlp() -> &'static Model {
    static MLP: OnceLock<Model> = OnceLock::new();
    MLP.get_or_init(|| shipped_model("mlp.onnx", Some(20)))
}

struct Keys {
    params: Params,
    setup: ProvingSetup,
    key: VerifierKey,
}

fn keys(model: &Model, visibility: Visibility) -> Keys {
    let zk = ZkModel::from_ir_with(model, DEFAULT_MAX_K, visibility).expect("fits");
    let params = params(zk.k()).expect("params");
    let setup = zk.setup(&params).expect("keys");
    // The verifier derives its key on its own.
    let key = zk.verifier_key(&params).expect("vk");
    assert_eq!(key.vk_hash(), setup.verifier.vk_hash());
    Keys { params, setup, key }
}

/// The MLP's keys and a proof with input and output committed, context bound.
fn committed_mlp() -> &'static (Keys, ProvedStatement) {
    static PROVED: OnceLock<(Keys, ProvedStatement)> = OnceLock::new();
    PROVED.get_or_init(|| {
        let keys = keys(mlp(), Visibility::COMMITTED);
        let x = image(mlp(), 0);
        let proved =
            prove_statement(&keys.setup, &x, Some(context("run 1 step 0"))).expect("proves");
        (keys, proved)
    })
}

#[test]
fn the_public_visibility_keeps_the_registered_mlp_key() {
    // `synod model import zkml/models/mlp.onnx --calibration ...` and
    // `synod model inspect --vk`, as docs/models.md shows them.
    let model = shipped_model("mlp.onnx", None);
    assert_eq!(
        synod_zkml::ModelId::of(&model).to_string(),
        "466670b6b790ca258752f2d05efe99c37270dceea8f6d0a050427910738489ec"
    );
    let zk = ZkModel::from_ir(&model, DEFAULT_MAX_K).expect("fits");
    assert_eq!(zk.visibility(), Visibility::PUBLIC);
    assert_eq!(zk.k(), 9);
    let key = zk
        .verifier_key(&params(zk.k()).expect("params"))
        .expect("vk");
    assert_eq!(
        hex::encode(key.vk_hash()),
        "75a4dc3737ac04f98dedaf1555f9b01ede695640989f202715e8d88b02ae6043"
    );
}

#[test]
fn committed_input_and_output_prove_and_verify_for_the_shipped_mlp() {
    let (keys, proved) = committed_mlp();
    let x = image(mlp(), 0);
    let expected = Statement {
        input: TensorClaim::Committed(TensorCommitment::of(&int8(&x)).expect("commits")),
        output: TensorClaim::Committed(
            TensorCommitment::of(&int8(&proved.output)).expect("commits"),
        ),
        weights: None,
        context: Some(context("run 1 step 0")),
    };
    assert_eq!(proved.statement, expected);
    // Verifying with the natively computed commitments succeeds: the
    // circuit's Poseidon commitments are the native ones.
    verify_statement(&keys.params, &keys.key, &expected, &proved.proof).expect("verifies");
    println!(
        "mlp committed: k = {}, proof {} bytes",
        keys.key.k,
        proved.proof.len()
    );
}

#[test]
fn a_wrong_commitment_or_context_is_refused() {
    let (keys, proved) = committed_mlp();
    let good = &proved.statement;
    let other = TensorCommitment::of(&int8(&image(mlp(), 1))).expect("commits");
    let mut wrong_input = good.clone();
    wrong_input.input = TensorClaim::Committed(other);
    let mut wrong_output = good.clone();
    let mut y = int8(&proved.output);
    y[0] = y[0].wrapping_add(1);
    wrong_output.output = TensorClaim::Committed(TensorCommitment::of(&y).expect("commits"));
    let mut wrong_context = good.clone();
    wrong_context.context = Some(context("run 1 step 1"));
    let mut other_chain = good.clone();
    other_chain.context = Some(ProofContext::derive(
        "synod-test-2",
        &[7; 20],
        b"run 1 step 0",
    ));
    for (what, statement) in [
        ("input commitment", wrong_input),
        ("output commitment", wrong_output),
        ("context tag", wrong_context),
        ("chain id", other_chain),
    ] {
        assert!(
            matches!(
                verify_statement(&keys.params, &keys.key, &statement, &proved.proof),
                Err(VerifyError::Invalid)
            ),
            "{what}"
        );
    }
    // Without the context: the statement is of another visibility.
    let mut no_context = good.clone();
    no_context.context = None;
    assert!(matches!(
        verify_statement(&keys.params, &keys.key, &no_context, &proved.proof),
        Err(VerifyError::Visibility { .. })
    ));
}

#[test]
fn a_swapped_visibility_is_refused() {
    let model = mlp();
    let x = image(model, 2);
    let input_committed = visibility(TensorVisibility::Committed, TensorVisibility::Public, false);
    let output_committed = visibility(TensorVisibility::Public, TensorVisibility::Committed, false);
    let a = keys(model, input_committed);
    let b = keys(model, output_committed);
    assert_ne!(a.key.vk_hash(), b.key.vk_hash());
    let proved = prove_statement(&a.setup, &x, None).expect("proves");
    verify_statement(&a.params, &a.key, &proved.statement, &proved.proof).expect("verifies");
    // The same proof against the other visibility's key, with that key's
    // statement of the same tensors: the proof objects.
    let swapped = Statement {
        input: TensorClaim::Public(x.clone()),
        output: TensorClaim::Committed(
            TensorCommitment::of(&int8(&proved.output)).expect("commits"),
        ),
        weights: None,
        context: None,
    };
    if a.params.k() == b.params.k() {
        assert!(matches!(
            verify_statement(&b.params, &b.key, &swapped, &proved.proof),
            Err(VerifyError::Invalid)
        ));
    }
    // The proof's own statement against the other key: refused unverified.
    assert!(matches!(
        verify_statement(&b.params, &b.key, &proved.statement, &proved.proof),
        Err(VerifyError::Visibility { .. })
    ));
    // And against the public key (today's circuit).
    let public = keys(model, Visibility::PUBLIC);
    let as_public = Statement {
        input: TensorClaim::Public(x.clone()),
        output: TensorClaim::Public(proved.output.clone()),
        weights: None,
        context: None,
    };
    if public.params.k() == a.params.k() {
        // The public circuit has fewer columns, so the proof does not even
        // parse as one of it (or leaves bytes over): refused either way.
        let verdict = verify_statement(&public.params, &public.key, &as_public, &proved.proof);
        println!("committed-input proof against the public key: {verdict:?}");
        assert!(verdict.is_err());
    }
    // The public keys still prove the public way only.
    assert!(matches!(
        prove_inference(&a.setup, &x),
        Err(ProveError::NotPublic(_))
    ));
    assert!(matches!(
        prove_statement(&a.setup, &x, Some(context("t"))),
        Err(ProveError::Context { given: true, .. })
    ));
}

#[test]
fn a_tensor_that_is_not_the_committed_one_does_not_satisfy_the_circuit() {
    let model = mlp();
    let zk = ZkModel::from_ir_with(model, DEFAULT_MAX_K, Visibility::COMMITTED).expect("fits");
    let (x, other) = (image(model, 3), image(model, 4));
    assert_ne!(x, other);
    let y = synod_zkml::run(model, &x).expect("runs");
    let ctx = context("mock");
    let instance = |input: &Tensor, output: &Tensor| -> Vec<Fp> {
        vec![
            TensorCommitment::of(&int8(input))
                .expect("commits")
                .to_field(),
            TensorCommitment::of(&int8(output))
                .expect("commits")
                .to_field(),
            ctx.to_field(),
        ]
    };
    let run = |witness: &Tensor, instance: Vec<Fp>| {
        let circuit = zk.circuit_with_context(Some(&int8(witness)), Some(ctx.to_field()));
        MockProver::run(zk.k(), &circuit, vec![instance])
            .expect("synthesizes")
            .verify()
    };
    // The honest witness satisfies the native commitments.
    assert_eq!(run(&x, instance(&x, &y)), Ok(()));
    // Another input against x's commitments fails (its own output
    // commitment kept, so only the input commitment can object).
    let y_other = synod_zkml::run(model, &other).expect("runs");
    assert!(run(&other, instance(&x, &y_other)).is_err());
    // x with a different claimed output commitment fails.
    assert!(run(&x, instance(&x, &y_other)).is_err());
    // A wrong context value fails.
    let mut wrong = instance(&x, &y);
    wrong[2] += Fp::one();
    assert!(run(&x, wrong).is_err());
}

#[test]
fn committed_tensors_prove_and_verify_for_the_shipped_cnn_and_chain_steps() {
    let cnn = shipped_model("cnn.onnx", Some(20));
    let step = keys(
        &cnn,
        visibility(
            TensorVisibility::Committed,
            TensorVisibility::Committed,
            true,
        ),
    );
    let x = image(&cnn, 5);
    let proved = prove_statement(&step.setup, &x, Some(context("cnn"))).expect("proves");
    verify_statement(&step.params, &step.key, &proved.statement, &proved.proof).expect("verifies");
    assert_eq!(proved.output, synod_zkml::run(&cnn, &x).expect("runs"));
    // Output public, input committed: the verifier sees the logits only.
    let next = keys(
        &cnn,
        visibility(TensorVisibility::Committed, TensorVisibility::Public, true),
    );
    let proved_next = prove_statement(&next.setup, &x, Some(context("cnn"))).expect("proves");
    verify_statement(
        &next.params,
        &next.key,
        &proved_next.statement,
        &proved_next.proof,
    )
    .expect("verifies");
    // The same input gives the same input commitment under both keys: what
    // links step i's output commitment to step i+1's input commitment.
    assert_eq!(proved.statement.input, proved_next.statement.input);
    assert_eq!(
        proved_next.statement.output,
        TensorClaim::Public(proved.output.clone())
    );
    // A public output of the wrong value is refused.
    let mut values = proved.output.values().to_vec();
    values[0] = if values[0] == 127 { 126 } else { values[0] + 1 };
    let mut wrong = proved_next.statement.clone();
    wrong.output =
        TensorClaim::Public(Tensor::new(proved.output.shape().to_vec(), values).expect("tensor"));
    assert!(matches!(
        verify_statement(&next.params, &next.key, &wrong, &proved_next.proof),
        Err(VerifyError::Invalid)
    ));
}

#[test]
fn a_committed_output_is_the_next_steps_committed_input() {
    use synod_zkml::circuit::fixtures::random_mlp;
    // Step 1: the shipped MLP, input public, output committed.
    let first = keys(
        mlp(),
        visibility(TensorVisibility::Public, TensorVisibility::Committed, true),
    );
    let x = image(mlp(), 6);
    let step1 = prove_statement(&first.setup, &x, Some(context("run 9 step 1"))).expect("proves");
    verify_statement(&first.params, &first.key, &step1.statement, &step1.proof).expect("verifies");
    // Step 2: a 10 -> 6 layer on step 1's logits, input committed.
    let head = random_mlp(&[10, 6], 3).to_ir();
    let second = keys(
        &head,
        visibility(TensorVisibility::Committed, TensorVisibility::Public, true),
    );
    let logits = Tensor::new(vec![10], step1.output.values().to_vec()).expect("tensor");
    let step2 =
        prove_statement(&second.setup, &logits, Some(context("run 9 step 2"))).expect("proves");
    verify_statement(&second.params, &second.key, &step2.statement, &step2.proof)
        .expect("verifies");
    // The chain checks the link without seeing the logits.
    assert_eq!(step1.statement.output, step2.statement.input);
}

#[test]
fn a_long_committed_tensor_gets_the_rows_its_hashes_need() {
    use synod_zkml::circuit::fixtures::{random_input, random_mlp};
    // 672 inputs: 24 chunks, 24 Poseidon hashes of 41 rows = 984 rows,
    // more than the model's own rows and the byte table. With halo2's 9
    // reserved rows that is 993 of k = 10's 1024, so one row more per hash
    // would not lay out (MockProver checks every row against k), and one
    // chunk more needs k = 11.
    let n = 672;
    let model = random_mlp(&[n, 2], 11).to_ir();
    let zk = ZkModel::from_ir_with(
        &model,
        DEFAULT_MAX_K,
        visibility(TensorVisibility::Committed, TensorVisibility::Public, false),
    )
    .expect("fits");
    assert_eq!((zk.rows(), zk.k()), (993, 10));
    let longer = random_mlp(&[n + 28, 2], 11).to_ir();
    let committed = visibility(TensorVisibility::Committed, TensorVisibility::Public, false);
    let zk_longer = ZkModel::from_ir_with(&longer, DEFAULT_MAX_K, committed).expect("fits");
    assert_eq!(zk_longer.k(), 11);
    let x = Tensor::from_i8(vec![n as u32], &random_input(n, 1)).expect("input");
    let y = synod_zkml::run(&model, &x).expect("runs");
    let mut instance = vec![TensorCommitment::of(&int8(&x)).expect("commits").to_field()];
    instance.extend(y.values().iter().map(|&v| Fp::from((v + 128) as u64)));
    let circuit = zk.circuit_with_context(Some(&int8(&x)), None);
    let prover = MockProver::run(zk.k(), &circuit, vec![instance]).expect("fits in k");
    assert_eq!(prover.verify(), Ok(()));
}

#[test]
fn a_context_binds_a_proof_of_public_tensors_too() {
    let model = mlp();
    let bound = visibility(TensorVisibility::Public, TensorVisibility::Public, true);
    let keys = keys(model, bound);
    let x = image(model, 7);
    let proved = prove_statement(&keys.setup, &x, Some(context("public run"))).expect("proves");
    assert_eq!(proved.statement.input, TensorClaim::Public(x.clone()));
    verify_statement(&keys.params, &keys.key, &proved.statement, &proved.proof).expect("verifies");
    let mut replayed = proved.statement.clone();
    replayed.context = Some(ProofContext::derive(
        "synod-test-1",
        &[8; 20],
        b"public run",
    ));
    assert!(matches!(
        verify_statement(&keys.params, &keys.key, &replayed, &proved.proof),
        Err(VerifyError::Invalid)
    ));
    assert!(matches!(
        prove_statement(&keys.setup, &x, None),
        Err(ProveError::Context { given: false, .. })
    ));
    assert_eq!(
        prove_statement(&keys.setup, &x, None)
            .expect_err("no context")
            .to_string(),
        "visibility input=public,output=public,weights=fixed,context=bound binds a context, but none was given"
    );
}
