//! The model circuit constrains exactly the integer contract of
//! `docs/zkml-arithmetic.md`, and its keys are deterministic.

use std::sync::Arc;

use halo2_proofs::{dev::MockProver, pasta::Fp};
use synod_zkml::circuit::{
    fixtures::{random_input, random_mlp},
    min_k, params, setup, verifier_key, verify, verify_batch, vk_hash, BatchItem, CircuitLayer,
    ModelCircuit, ModelCircuitSpec, Requant, RequantTamper, SetupError, VerifyError, DEFAULT_MAX_K,
};

fn mock(spec: &ModelCircuitSpec, circuit: ModelCircuit, instance: Vec<Fp>) -> bool {
    let k = min_k(spec).expect("valid spec");
    assert!(k <= 10, "test circuits stay small");
    let prover = MockProver::run(k, &circuit, vec![instance]).expect("synthesis");
    let result = prover.verify();
    if let Err(e) = &result {
        eprintln!("{:?}", &e[..e.len().min(3)]);
    }
    result.is_ok()
}

fn honest(spec: &ModelCircuitSpec, input: &[i8]) -> (ModelCircuit, Vec<Fp>, Vec<i8>) {
    let output = spec.evaluate(input).expect("valid input");
    let circuit = ModelCircuit::new(Arc::new(spec.clone()), Some(input.to_vec()));
    (circuit, ModelCircuit::instance(input, &output), output)
}

/// One dense neuron `y = requant(w * x + b)`, to aim tampering at.
fn one_neuron(weight: i8, bias: i32, requant: Requant) -> ModelCircuitSpec {
    ModelCircuitSpec {
        input_len: 1,
        layers: vec![CircuitLayer::Dense {
            out: 1,
            inputs: 1,
            weights: vec![weight],
            bias: vec![bias],
            requant,
        }],
    }
}

#[test]
fn random_dense_relu_stacks_satisfy_the_circuit_with_the_reference_output() {
    let shapes: [&[usize]; 4] = [&[8, 4], &[20, 17, 5], &[16, 9, 3, 2], &[33, 6]];
    for (seed, dims) in shapes.iter().enumerate() {
        let spec = random_mlp(dims, seed as u64);
        for input_seed in 0..3 {
            let input = random_input(dims[0], 100 + input_seed);
            let (circuit, instance, output) = honest(&spec, &input);
            assert!(
                mock(&spec, circuit, instance),
                "dims {dims:?} input {input_seed}: {output:?}"
            );
        }
    }
}

#[test]
fn standalone_relu_and_saturating_requantization_are_proved() {
    // Shift 1 saturates almost every output; the ReLU at the input and the
    // one after a ReLU are standalone rows.
    let spec = ModelCircuitSpec {
        input_len: 6,
        layers: vec![
            CircuitLayer::Relu { zero_point: -3 },
            CircuitLayer::Dense {
                out: 5,
                inputs: 6,
                weights: (0..30).map(|i| (i * 37 % 255 - 127) as i8).collect(),
                bias: vec![-40_000, 40_000, 0, 7, -7],
                requant: Requant {
                    multiplier: 3,
                    shift: 1,
                    zero_point: 4,
                },
            },
            CircuitLayer::Relu { zero_point: 4 },
            CircuitLayer::Relu { zero_point: 9 },
        ],
    };
    for seed in 0..4 {
        let input = random_input(6, seed);
        let (circuit, instance, output) = honest(&spec, &input);
        assert!(output.contains(&127) || output.contains(&9));
        assert!(mock(&spec, circuit, instance), "seed {seed}");
    }
}

#[test]
fn a_wrong_public_output_fails() {
    let spec = random_mlp(&[12, 7, 4], 7);
    let input = random_input(12, 1);
    let (circuit, mut instance, _) = honest(&spec, &input);
    let last = instance.len() - 1;
    instance[last] += Fp::from(1);
    assert!(!mock(&spec, circuit, instance));
}

#[test]
fn a_wrong_public_input_fails() {
    let spec = random_mlp(&[12, 7, 4], 7);
    let input = random_input(12, 1);
    let (circuit, mut instance, _) = honest(&spec, &input);
    instance[0] += Fp::from(1);
    assert!(!mock(&spec, circuit, instance));
}

#[test]
fn an_output_off_by_one_with_the_wrong_remainder_fails() {
    let requant = Requant {
        multiplier: 5,
        shift: 6,
        zero_point: 3,
    };
    let spec = one_neuron(100, 17, requant);
    let input = vec![11];
    let (_, _, honest_output) = honest(&spec, &input);
    for delta in [-1, 1] {
        let y = i64::from(honest_output[0]) + delta;
        let (circuit, _, _) = honest(&spec, &input);
        let circuit = circuit.with_tamper(RequantTamper {
            y,
            b_hi: false,
            b_lo: false,
        });
        let instance = ModelCircuit::instance(&input, &[y as i8]);
        assert!(!mock(&spec, circuit, instance), "y = {y}");
    }
}

#[test]
fn a_false_saturation_claim_fails() {
    let requant = Requant {
        multiplier: 5,
        shift: 6,
        zero_point: 3,
    };
    let spec = one_neuron(100, 17, requant);
    let input = vec![11];
    for (y, b_hi, b_lo) in [(127, true, false), (-128, false, true)] {
        let (circuit, _, _) = honest(&spec, &input);
        let circuit = circuit.with_tamper(RequantTamper { y, b_hi, b_lo });
        let instance = ModelCircuit::instance(&input, &[y as i8]);
        assert!(!mock(&spec, circuit, instance), "y = {y}");
    }
}

#[test]
fn an_unclamped_out_of_range_output_fails() {
    // acc = 127 * 127 = 16129, t = (16129 + 1) >> 1 = 8065: must clamp to 127.
    let requant = Requant {
        multiplier: 1,
        shift: 1,
        zero_point: 0,
    };
    let spec = one_neuron(127, 0, requant);
    let input = vec![127];
    let (_, _, out) = honest(&spec, &input);
    assert_eq!(out, vec![127]);
    let (circuit, _, _) = honest(&spec, &input);
    // The exact value with a consistent remainder, but not clamped.
    let circuit = circuit.with_tamper(RequantTamper {
        y: 8065,
        b_hi: false,
        b_lo: false,
    });
    let instance = vec![Fp::from(127), Fp::from(8065)];
    assert!(!mock(&spec, circuit, instance));
}

#[test]
fn min_k_grows_with_the_model_and_the_cap_is_enforced() {
    let small = random_mlp(&[8, 4], 1);
    let big = random_mlp(&[64, 128, 16, 10], 1);
    assert_eq!(min_k(&small).expect("valid"), 9);
    assert!(min_k(&big).expect("valid") >= 10);
    match setup(&big, 9, 9) {
        Err(SetupError::TooLarge { needed, max_k: 9 }) => assert!(needed >= 10),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert!(matches!(
        setup(&big, 9, 20),
        Err(SetupError::KTooSmall { k: 9, .. })
    ));
}

#[test]
fn vk_hash_is_deterministic_and_commits_to_the_weights() {
    let spec = random_mlp(&[8, 5, 3], 11);
    let p1 = params(9).expect("k ok");
    let p2 = params(9).expect("k ok");
    let a = vk_hash(&verifier_key(&p1, &spec, DEFAULT_MAX_K).expect("keygen").vk);
    let b = vk_hash(&verifier_key(&p2, &spec, DEFAULT_MAX_K).expect("keygen").vk);
    let c = vk_hash(&setup(&spec, 9, DEFAULT_MAX_K).expect("setup").vk().clone());
    assert_eq!(a, b);
    assert_eq!(a, c);

    let mut other = spec.clone();
    if let CircuitLayer::Dense { weights, .. } = &mut other.layers[0] {
        weights[3] = weights[3].wrapping_add(1);
    }
    let d = vk_hash(&verifier_key(&p1, &other, DEFAULT_MAX_K).expect("keygen").vk);
    assert_ne!(a, d);
}

#[test]
fn garbage_proofs_are_errors_not_panics() {
    let spec = random_mlp(&[8, 4], 3);
    let params = params(9).expect("k ok");
    let key = verifier_key(&params, &spec, DEFAULT_MAX_K).expect("keygen");
    let input = random_input(8, 0);
    let output = spec.evaluate(&input).expect("valid");
    for proof in [
        vec![],
        vec![0u8; 31],
        vec![0xff; 5000],
        (0..4000).map(|i| i as u8).collect(),
    ] {
        assert!(verify(&params, &key, &input, &output, &proof).is_err());
        let item = BatchItem {
            input: &input,
            output: &output,
            proof: &proof,
        };
        assert!(verify_batch(&params, &key, &[item]).is_err());
    }
    assert!(matches!(
        verify(&params, &key, &input[1..], &output, &[]),
        Err(VerifyError::InputLength {
            expected: 8,
            actual: 7
        })
    ));
    assert!(matches!(
        verify(&params, &key, &input, &output[1..], &[]),
        Err(VerifyError::OutputLength {
            expected: 4,
            actual: 3
        })
    ));
    let other_params = synod_zkml::circuit::params(10).expect("k ok");
    assert!(matches!(
        verify(&other_params, &key, &input, &output, &[]),
        Err(VerifyError::ParamsMismatch { params_k: 10, k: 9 })
    ));
}
