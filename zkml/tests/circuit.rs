//! The model circuit constrains exactly the integer contract of
//! `docs/zkml-arithmetic.md` (checked against the interpreter with
//! MockProver), dishonest witnesses fail, and keys are deterministic.

use halo2_proofs::pasta::Fp;
use synod_zkml::circuit::{
    fixtures::{random_input, random_mlp},
    params, verify_inference, verify_inference_batch, vk_hash, CircuitLayer, ModelCircuit,
    ModelCircuitSpec, Requant, RequantTamper, SetupError, Tamper, VerifyError, ZkModel,
    DEFAULT_MAX_K,
};
use synod_zkml::interp::{self, Tensor};
use synod_zkml::ir::{self, Op};

mod circuit_kit;

use circuit_kit::*;

#[test]
fn random_dense_relu_stacks_match_the_interpreter() {
    let shapes: [&[usize]; 4] = [&[8, 4], &[20, 17, 5], &[16, 9, 3, 2], &[33, 6]];
    for (seed, dims) in shapes.iter().enumerate() {
        proves_random_inputs(&random_mlp(dims, seed as u64).to_ir(), 3);
    }
}

#[test]
fn convolutions_with_and_without_padding_match_the_interpreter() {
    // (C, H, W, O, kernel, stride, padding)
    let cases = [
        (2, 5, 6, 3, 3, 1, 1),
        (1, 6, 6, 2, 2, 2, 0),
        (3, 4, 4, 2, 3, 2, 2),
        (1, 3, 3, 1, 1, 1, 0),
    ];
    for (seed, &(c, h, w, o, k, stride, padding)) in cases.iter().enumerate() {
        for relu in [false, true] {
            let mut b = Builder::new("conv", vec![c, h, w], seed as u64);
            let mut t = b.conv(0, c, o, k, stride, padding);
            if relu {
                t = b.relu(t);
            }
            let _ = t;
            proves_random_inputs(&b.build(), 2);
        }
    }
}

#[test]
fn conv_relu_maxpool_flatten_dense_argmax_matches_the_interpreter() {
    let mut b = Builder::new("cnn", vec![1, 6, 6], 3);
    let t = b.conv(0, 1, 3, 3, 1, 1);
    let t = b.relu(t);
    let t = b.max_pool(t, 2, 2);
    let t = b.reshape(t, vec![27]);
    let t = b.dense(t, 27, 5);
    b.arg_max(t);
    proves_random_inputs(&b.build(), 3);
}

#[test]
fn max_pools_with_overlapping_windows_and_on_the_input_match_the_interpreter() {
    for (kernel, stride) in [(2, 2), (3, 1), (2, 1), (4, 3)] {
        let mut b = Builder::new("pool", vec![2, 5, 7], u64::from(kernel * 10 + stride));
        b.max_pool(0, kernel, stride);
        proves_random_inputs(&b.build(), 2);
    }
    let mut b = Builder::new("conv-pool", vec![1, 5, 5], 8);
    let t = b.conv(0, 1, 2, 2, 1, 0);
    b.max_pool(t, 2, 1);
    proves_random_inputs(&b.build(), 2);
}

#[test]
fn adds_match_the_interpreter() {
    // Two dense branches added; a skip connection around a ReLU (not fused:
    // its input is read twice); the input added to itself; a fused ReLU.
    let mut b = Builder::new("add-branches", vec![12], 1);
    let d1 = b.dense(0, 12, 6);
    let d2 = b.dense(0, 12, 6);
    b.add(d1, d2, 12, -3);
    proves_random_inputs(&b.build(), 3);

    let mut b = Builder::new("skip", vec![10], 2);
    let d = b.dense(0, 10, 7);
    let r = b.relu(d);
    let s = b.add(r, d, 20, 5);
    b.relu(s);
    proves_random_inputs(&b.build(), 3);

    let mut b = Builder::new("self-add", vec![2, 3], 3);
    b.add(0, 0, 3, 0);
    proves_random_inputs(&b.build(), 3);
}

#[test]
fn argmax_takes_the_first_maximum_and_reshape_is_free() {
    let mut b = Builder::new("argmax", vec![2, 3], 4);
    let t = b.reshape(0, vec![6]);
    b.arg_max(t);
    let model = b.build();
    let zk = ZkModel::from_ir(&model, 11).expect("fits");
    for input in [
        [5i8, 9, 9, -3, 9, 0],
        [-128, -128, -128, -128, -128, -128],
        [0, 0, 0, 0, 0, 127],
        [127, 127, 0, 0, 0, 127],
    ] {
        let (circuit, instance, output) = honest(&zk, &input);
        let first = input.iter().position(|v| v == input.iter().max().unwrap());
        assert_eq!(output.values(), &[first.unwrap() as i32]);
        assert!(mock(&zk, circuit, instance), "{input:?}");
    }
    proves_random_inputs(&model, 3);
}

#[test]
fn a_model_that_only_reshapes_its_input_is_proved() {
    let mut b = Builder::new("reshape", vec![2, 3], 5);
    b.reshape(0, vec![6]);
    proves_random_inputs(&b.build(), 2);
}

#[test]
fn standalone_relu_and_saturating_requantization_are_proved() {
    // Shift 1 saturates almost every output; the ReLU at the input is a
    // standalone row, the ReLU after the dense layer is fused.
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
        ],
    };
    let zk = zk_of(&spec);
    for seed in 0..4 {
        let input = random_input(6, seed);
        let (circuit, instance, output) = honest(&zk, &input);
        assert!(output.values().contains(&127) || output.values().contains(&4));
        assert_eq!(
            output.values(),
            spec.evaluate(&input)
                .expect("valid")
                .iter()
                .map(|&v| i32::from(v))
                .collect::<Vec<_>>()
        );
        assert!(mock(&zk, circuit, instance), "seed {seed}");
    }
}

#[test]
fn a_wrong_public_input_or_output_fails() {
    let zk = zk_of(&random_mlp(&[12, 7, 4], 7));
    let input = random_input(12, 1);
    let (circuit, instance, _) = honest(&zk, &input);
    for position in [0, instance.len() - 1] {
        let mut wrong = instance.clone();
        wrong[position] += Fp::from(1);
        assert!(!mock(&zk, circuit.clone(), wrong), "position {position}");
    }
}

/// `t` with value `i` moved by one, inside int8.
fn off_by_one(t: &Tensor, i: usize) -> Tensor {
    let mut values = t.values().to_vec();
    values[i] += if values[i] == 127 { -1 } else { 1 };
    Tensor::new(t.shape().to_vec(), values).expect("tensor")
}

#[test]
fn public_values_are_offset_by_128_and_one_off_by_one_fails() {
    let small = |v: u64| Fp::from(v);
    assert_eq!(
        ModelCircuit::instance(&[-128, 0, 127], &[-1, 9]),
        vec![small(0), small(128), small(255), small(127), small(137)]
    );
    let zk = zk_of(&random_mlp(&[12, 7, 4], 7));
    let input = random_input(12, 2);
    let (circuit, instance, output) = honest(&zk, &input);
    assert!(mock(&zk, circuit.clone(), instance));
    let x = tensor(zk.model(), &input);
    for i in [0, 5, 11] {
        let wrong = zk.instance(&off_by_one(&x, i), &output).expect("shapes");
        assert!(!mock(&zk, circuit.clone(), wrong), "input {i}");
    }
    for i in [0, 3] {
        let wrong = zk.instance(&x, &off_by_one(&output, i)).expect("shapes");
        assert!(!mock(&zk, circuit.clone(), wrong), "output {i}");
    }
}

#[test]
fn dishonest_requantizations_fail() {
    let requant = Requant {
        multiplier: 5,
        shift: 6,
        zero_point: 3,
    };
    let zk = one_neuron(100, 17, requant);
    let input = [11i8];
    let (_, _, out) = honest(&zk, &input);
    let y = i64::from(out.values()[0]);
    // The harness itself: the honest claim through the tamper path passes.
    let honest_claim = RequantTamper {
        y,
        b_hi: false,
        b_lo: false,
    };
    let circuit = zk.circuit(Some(&input)).with_tamper(honest_claim);
    assert!(mock(&zk, circuit, instance(&input, &[y])));
    for (y, b_hi, b_lo) in [
        (y - 1, false, false),
        (y + 1, false, false),
        (127, true, false),
        (-128, false, true),
    ] {
        let circuit = zk
            .circuit(Some(&input))
            .with_tamper(RequantTamper { y, b_hi, b_lo });
        assert!(!mock(&zk, circuit, instance(&input, &[y])), "y = {y}");
    }

    // acc = 127 * 127 = 16129, t = (16129 + 1) >> 1 = 8065: must clamp to 127.
    let zk = one_neuron(
        127,
        0,
        Requant {
            multiplier: 1,
            shift: 1,
            zero_point: 0,
        },
    );
    let circuit = zk.circuit(Some(&[127])).with_tamper(RequantTamper {
        y: 8065,
        b_hi: false,
        b_lo: false,
    });
    assert!(!mock(&zk, circuit, vec![Fp::from(127), Fp::from(8065)]));
}

#[test]
fn a_wrong_maxpool_output_fails() {
    let mut b = Builder::new("pool", vec![1, 4, 4], 9);
    b.max_pool(0, 2, 2);
    let zk = ZkModel::from_ir(&b.build(), 11).expect("fits");
    let input: Vec<i8> = vec![
        3, -7, 50, 1, 3, 2, 49, 50, -128, -128, 0, 0, -128, -127, 0, 0,
    ];
    let (_, _, out) = honest(&zk, &input);
    assert_eq!(out.values(), &[3, 50, -127, 0]);
    for (index, value, ok) in [
        (0, 3, true),
        (0, 2, false),
        (0, 4, false),
        (1, 49, false),
        (2, -128, false),
        (3, 1, false),
    ] {
        let mut claimed: Vec<i64> = out.values().iter().map(|&v| i64::from(v)).collect();
        claimed[index] = i64::from(value);
        let circuit = zk
            .circuit(Some(&input))
            .with(Tamper::PoolOutput { index, value });
        assert_eq!(
            mock(&zk, circuit, instance(&input, &claimed)),
            ok,
            "output {index} = {value}"
        );
    }
}

#[test]
fn a_wrong_argmax_index_fails() {
    let mut b = Builder::new("argmax", vec![6], 10);
    b.arg_max(0);
    let zk = ZkModel::from_ir(&b.build(), 11).expect("fits");
    let input = [3i8, 7, 1, 7, 2, -5];
    for (index, ok) in [(1, true), (3, false), (0, false), (5, false), (2, false)] {
        let circuit = zk.circuit(Some(&input)).with(Tamper::ArgMaxIndex(index));
        assert_eq!(
            mock(&zk, circuit, instance(&input, &[index as i64])),
            ok,
            "index {index}"
        );
    }
}

#[test]
fn a_wrong_add_output_fails() {
    let mut b = Builder::new("add", vec![4], 11);
    b.add(0, 0, 8, 2);
    let zk = ZkModel::from_ir(&b.build(), 11).expect("fits");
    let input = [40i8, -3, 100, 0];
    let (_, _, out) = honest(&zk, &input);
    let honest_out: Vec<i64> = out.values().iter().map(|&v| i64::from(v)).collect();
    let y = honest_out[0];
    for (claim, ok) in [(y, true), (y + 1, false), (y - 1, false)] {
        let circuit = zk.circuit(Some(&input)).with(Tamper::Add(RequantTamper {
            y: claim,
            b_hi: false,
            b_lo: false,
        }));
        let mut claimed = honest_out.clone();
        claimed[0] = claim;
        assert_eq!(
            mock(&zk, circuit, instance(&input, &claimed)),
            ok,
            "y = {claim}"
        );
    }
    for (claim, b_hi, b_lo) in [(127, true, false), (-128, false, true)] {
        let circuit = zk.circuit(Some(&input)).with(Tamper::Add(RequantTamper {
            y: claim,
            b_hi,
            b_lo,
        }));
        let mut claimed = honest_out.clone();
        claimed[0] = claim;
        assert!(!mock(&zk, circuit, instance(&input, &claimed)));
    }
}

#[test]
fn a_tampered_conv_padding_fails() {
    // The first padding cell is tap (0, 0, 0) of output (0, 0, 0); its weight
    // is 0, so a wrong padding value changes no output: only the padding
    // constraint can object.
    let mut b = Builder::new("conv", vec![1, 4, 4], 12);
    b.conv(0, 1, 2, 3, 1, 1);
    let mut model = b.build();
    let zx = model.input.zero_point;
    if let Op::Conv2d { weights, .. } = &mut model.nodes[0].op {
        weights[0] = 0;
    }
    let zk = ZkModel::from_ir(&model, 11).expect("fits");
    let input = random_input(16, 3);
    let (_, inst, _) = honest(&zk, &input);
    for (value, ok) in [(zx, true), (zx.wrapping_add(1), false), (-128, false)] {
        let circuit = zk.circuit(Some(&input)).with(Tamper::ConvPadding(value));
        assert_eq!(mock(&zk, circuit, inst.clone()), ok, "padding {value}");
    }
}

#[test]
fn k_grows_with_the_model_and_the_cap_is_enforced() {
    let small = random_mlp(&[8, 4], 1).to_ir();
    let big = random_mlp(&[64, 128, 16, 10], 1).to_ir();
    assert_eq!(ZkModel::from_ir(&small, 9).expect("fits").k(), 9);
    assert!(ZkModel::from_ir(&big, DEFAULT_MAX_K).expect("fits").k() >= 10);
    match ZkModel::from_ir(&big, 9) {
        Err(SetupError::TooLarge { needed, max_k: 9 }) => assert!(needed >= 10),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    let mut invalid = small.clone();
    invalid.nodes.clear();
    assert!(matches!(
        ZkModel::from_ir(&invalid, 9),
        Err(SetupError::Model(_))
    ));
    let zk = ZkModel::from_ir(&small, 9).expect("fits");
    assert_eq!(zk.model_id(), ir::ModelId::of(&small));
    assert!(matches!(
        zk.verifier_key(&params(10).expect("k ok")),
        Err(SetupError::ParamsMismatch { params_k: 10, k: 9 })
    ));
}

#[test]
fn vk_hash_is_deterministic_and_commits_to_the_weights() {
    let spec = random_mlp(&[8, 5, 3], 11);
    let zk = zk_of(&spec);
    let p1 = params(zk.k()).expect("k ok");
    let p2 = params(zk.k()).expect("k ok");
    let a = vk_hash(&zk.verifier_key(&p1).expect("keygen").vk);
    let b = vk_hash(&zk_of(&spec).verifier_key(&p2).expect("keygen").vk);
    let c = vk_hash(zk.setup(&p1).expect("setup").vk());
    assert_eq!(a, b);
    assert_eq!(a, c);
    // The hash cached in the key is the hash of its key.
    assert_eq!(zk.verifier_key(&p1).expect("keygen").vk_hash(), a);

    let mut other = spec.clone();
    if let CircuitLayer::Dense { weights, .. } = &mut other.layers[0] {
        weights[3] = weights[3].wrapping_add(1);
    }
    let d = vk_hash(&zk_of(&other).verifier_key(&p1).expect("keygen").vk);
    assert_ne!(a, d);
}

#[test]
fn garbage_proofs_and_wrong_tensors_are_errors_not_panics() {
    let zk = zk_of(&random_mlp(&[8, 4], 3));
    let params = params(zk.k()).expect("k ok");
    let key = zk.verifier_key(&params).expect("keygen");
    let input = tensor(zk.model(), &random_input(8, 0));
    let output = interp::run(zk.model(), &input).expect("runs");
    for proof in [
        vec![],
        vec![0u8; 31],
        vec![0xff; 5000],
        (0..4000).map(|i| i as u8).collect(),
    ] {
        assert!(verify_inference(&params, &key, &input, &output, &proof).is_err());
        let batch = [(input.clone(), output.clone(), proof)];
        assert!(verify_inference_batch(&params, &key, &batch).is_err());
    }
    let short = Tensor::new(vec![7], vec![0; 7]).expect("tensor");
    assert!(matches!(
        verify_inference(&params, &key, &short, &output, &[]),
        Err(VerifyError::InputLength {
            expected: 8,
            actual: 7
        })
    ));
    assert!(matches!(
        verify_inference(&params, &key, &input, &short, &[]),
        Err(VerifyError::OutputLength {
            expected: 4,
            actual: 7
        })
    ));
    let reshaped = Tensor::new(vec![2, 4], input.values().to_vec()).expect("tensor");
    assert!(matches!(
        verify_inference(&params, &key, &reshaped, &output, &[]),
        Err(VerifyError::Shape { what: "input", .. })
    ));
    let wide = Tensor::new(vec![8], vec![300; 8]).expect("tensor");
    assert!(matches!(
        verify_inference(&params, &key, &wide, &output, &[]),
        Err(VerifyError::ValueOutOfRange {
            what: "input",
            position: 0,
            value: 300
        })
    ));
    let other_params = synod_zkml::circuit::params(10).expect("k ok");
    assert!(matches!(
        verify_inference(&other_params, &key, &input, &output, &[]),
        Err(VerifyError::ParamsMismatch { params_k: 10, k: 9 })
    ));
}
