//! The interpreter against the contract: equal to a plain reference
//! implementation on random models and inputs; the canonical encoding, the
//! file format and the model id; clear errors on bad input and bad models.

mod support;

use proptest::prelude::*;
use support::{mlp, random_input, random_model, reference_run, Rng};
use synod_zkml::interp::{run, InterpError, Interpreter, Tensor};
use synod_zkml::ir::{
    verify_node_proof, ConvGeometry, IrError, Model, ModelId, Node, NodeProblem, Op, OpKind,
    Requant, TensorId, FILE_MAGIC, IR_VERSION,
};

fn weights_mut(op: &mut Op) -> Option<&mut Vec<i8>> {
    match op {
        Op::Dense { weights, .. } | Op::Conv2d { weights, .. } => Some(weights),
        _ => None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn the_interpreter_equals_the_reference_on_random_models(seed in any::<u64>(), input_seed in any::<u64>()) {
        let model = random_model(seed);
        let interp = Interpreter::new(&model).expect("generated models are valid");
        let input = random_input(&model, input_seed);
        let got = interp.run_all(&input).expect("runs");
        let want = reference_run(&model, &input);
        prop_assert_eq!(got.len(), want.len());
        for (i, (g, (shape, values))) in got.iter().zip(&want).enumerate() {
            prop_assert_eq!(g.shape(), shape.as_slice(), "tensor {} shape", i);
            prop_assert_eq!(g.values(), values.as_slice(), "tensor {} values", i);
            prop_assert_eq!(&interp.info().tensors[i].shape, shape, "inferred shape of tensor {}", i);
        }
        prop_assert_eq!(run(&model, &input).expect("runs"), got[got.len() - 1].clone());
    }

    #[test]
    fn canonical_bytes_and_model_files_round_trip(seed in any::<u64>()) {
        let model = random_model(seed);
        let bytes = model.to_canonical_bytes();
        prop_assert_eq!(&Model::from_canonical_bytes(&bytes).expect("decodes"), &model);
        let loaded = Model::from_file_bytes(&model.to_file_bytes()).expect("loads");
        prop_assert_eq!(&loaded.model, &model);
        prop_assert_eq!(loaded.id, ModelId::of(&model));
        prop_assert_eq!(loaded.info, model.validate().expect("valid"));
    }

    #[test]
    fn the_model_id_changes_when_any_weight_changes(seed in any::<u64>(), pick in any::<u64>(), delta in 1u8..=255) {
        let mut model = random_model(seed);
        let before = ModelId::of(&model);
        let with_weights: Vec<usize> = (0..model.nodes.len())
            .filter(|&i| weights_mut(&mut model.nodes[i].op).is_some())
            .collect();
        prop_assume!(!with_weights.is_empty());
        let node = with_weights[(pick % with_weights.len() as u64) as usize];
        let weights = weights_mut(&mut model.nodes[node].op).expect("has weights");
        let at = (pick / 7 % weights.len() as u64) as usize;
        weights[at] = weights[at].wrapping_add(delta as i8);
        prop_assert_ne!(ModelId::of(&model), before);
    }

    #[test]
    fn every_node_proof_verifies_and_a_tampered_node_does_not(seed in any::<u64>()) {
        let model = random_model(seed);
        let id = ModelId::of(&model);
        for (i, node) in model.nodes.iter().enumerate() {
            let proof = model.node_proof(i).expect("in range");
            prop_assert_eq!(verify_node_proof(&id, i, node, &proof), Ok(model.nodes.len()));
            let mut other = node.clone();
            other.inputs.push(TensorId(0));
            prop_assert!(verify_node_proof(&id, i, &other, &proof).is_err());
            prop_assert!(verify_node_proof(&id, i + 1, node, &proof).is_err());
            let mut bad = proof.clone();
            if let Some(s) = bad.siblings.first_mut() {
                s[0] ^= 1;
                prop_assert!(verify_node_proof(&id, i, node, &bad).is_err());
            }
        }
    }
}

#[test]
fn the_random_models_cover_every_op() {
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..300 {
        for node in random_model(seed).nodes {
            seen.insert(format!("{}", node.op.kind()));
        }
    }
    let all = [
        "Add", "ArgMax", "Conv2d", "Dense", "MaxPool", "Relu", "Reshape",
    ];
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), all);
}

#[test]
fn the_model_id_covers_the_name_the_input_and_every_node() {
    let model = mlp(1);
    let id = ModelId::of(&model);
    let mut renamed = model.clone();
    renamed.name.push('!');
    assert_ne!(ModelId::of(&renamed), id);
    let mut rezeroed = model.clone();
    rezeroed.input.zero_point = 1;
    assert_ne!(ModelId::of(&rezeroed), id);
    let mut shorter = model.clone();
    shorter.nodes.pop();
    assert_ne!(ModelId::of(&shorter), id);
    let mut bias = model.clone();
    if let Op::Dense { bias, .. } = &mut bias.nodes[0].op {
        bias[3] += 1;
    }
    assert_ne!(ModelId::of(&bias), id);
    assert_eq!(id.to_string().parse::<ModelId>(), Ok(id));
    assert!("abc".parse::<ModelId>().is_err());
}

#[test]
fn a_node_proof_for_a_missing_node_is_an_error() {
    let model = mlp(1);
    let err = model.node_proof(4).unwrap_err();
    assert_eq!(
        err.to_string(),
        "node 4 does not exist: the model has 4 nodes"
    );
}

#[test]
fn the_mlp_runs_and_its_info_counts_parameters_and_macs() {
    let model = mlp(3);
    let info = model.validate().expect("valid");
    assert_eq!(info.parameter_count, 64 * 32 + 32 + 32 * 10 + 10);
    assert_eq!(info.mac_count, 64 * 32 + 32 * 10);
    let shapes: Vec<Vec<u32>> = info.tensors.iter().map(|t| t.shape.clone()).collect();
    assert_eq!(
        shapes,
        vec![vec![64], vec![32], vec![32], vec![10], vec![1]]
    );
    let input = random_input(&model, 9);
    let out = run(&model, &input).expect("runs");
    assert_eq!(out.shape(), &[1]);
    assert!((0..10).contains(&out.values()[0]));
}

#[test]
fn an_input_of_the_wrong_shape_is_refused_naming_both_shapes() {
    let model = mlp(1);
    let input = Tensor::from_i8(vec![8, 8], &[0; 64]).expect("consistent");
    let err = run(&model, &input).unwrap_err();
    assert!(matches!(err, InterpError::InputShape { .. }));
    assert_eq!(
        err.to_string(),
        "input has shape [8, 8], the model expects [64]"
    );
}

#[test]
fn an_input_outside_int8_is_refused_naming_the_value() {
    let model = mlp(1);
    let mut values = vec![0; 64];
    values[5] = 300;
    let input = Tensor::new(vec![64], values).expect("consistent");
    let err = run(&model, &input).unwrap_err();
    assert_eq!(
        err.to_string(),
        "input value 300 at position 5 is outside int8 -128..=127"
    );
}

#[test]
fn a_tensor_whose_values_do_not_fill_its_shape_is_refused() {
    let err = Tensor::new(vec![2, 3], vec![0; 5]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "a tensor of shape [2, 3] holds 6 values, got 5"
    );
}

#[test]
fn a_file_with_trailing_bytes_is_refused() {
    let mut bytes = mlp(1).to_file_bytes();
    bytes.push(0);
    let err = Model::from_file_bytes(&bytes).unwrap_err();
    assert!(matches!(err, IrError::Codec(_)), "{err}");
    assert!(err.to_string().contains("1 trailing bytes"), "{err}");
}

#[test]
fn a_file_whose_contents_changed_fails_its_hash() {
    let model = mlp(1);
    let mut bytes = model.to_file_bytes();
    // Flip a bit inside the weights (well past the header and the name).
    let at = bytes.len() - 200;
    bytes[at] ^= 0x01;
    let err = Model::from_file_bytes(&bytes).unwrap_err();
    assert!(matches!(err, IrError::IdMismatch { .. }), "{err}");
    assert!(
        err.to_string().starts_with("model file fails its hash"),
        "{err}"
    );
}

#[test]
fn corrupt_truncated_foreign_and_future_files_are_refused() {
    let bytes = mlp(1).to_file_bytes();
    let err = Model::from_file_bytes(&bytes[..bytes.len() - 10]).unwrap_err();
    assert!(matches!(err, IrError::Codec(_)), "{err}");
    assert!(
        err.to_string().starts_with("model bytes do not decode"),
        "{err}"
    );
    assert!(matches!(
        Model::from_file_bytes(&bytes[..20]),
        Err(IrError::Truncated { len: 20 })
    ));
    let err = Model::from_file_bytes(b"PK\x03\x04 a zip file").unwrap_err();
    assert!(matches!(err, IrError::NotAModelFile), "{err}");
    let mut future = bytes.clone();
    future[8..10].copy_from_slice(&(IR_VERSION + 1).to_le_bytes());
    let err = Model::from_file_bytes(&future).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "model file has IR version {}; this build reads version {IR_VERSION}",
            IR_VERSION + 1
        )
    );
    assert!(bytes.starts_with(&FILE_MAGIC));
}

#[test]
fn garbage_never_panics_the_loader() {
    let mut r = Rng::new(5);
    let good = mlp(1).to_file_bytes();
    for _ in 0..2000 {
        let mut bytes = good.clone();
        for _ in 0..r.range(1, 8) {
            let at = r.range(0, bytes.len() as i64 - 1) as usize;
            bytes[at] = r.i8() as u8;
        }
        bytes.truncate(r.range(0, bytes.len() as i64) as usize);
        let _ = Model::from_file_bytes(&bytes);
    }
}

#[test]
fn files_are_written_and_read_back() {
    let dir = std::env::temp_dir().join(format!("synod-zkml-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("mlp.synod-model");
    let model = mlp(2);
    let id = model.write_file(&path).expect("writes");
    let loaded = Model::read_file(&path).expect("reads");
    assert_eq!((loaded.model, loaded.id), (model, id));
    let missing = Model::read_file(&dir.join("missing.synod-model")).unwrap_err();
    assert!(matches!(missing, IrError::Io { .. }));
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

fn first_node_problem(model: &Model) -> (usize, OpKind, NodeProblem, String) {
    match model.validate() {
        Err(err @ IrError::Node { .. }) => {
            let text = err.to_string();
            let IrError::Node {
                index,
                kind,
                problem,
            } = err
            else {
                unreachable!()
            };
            (index, kind, problem, text)
        }
        other => panic!("expected a node error, got {other:?}"),
    }
}

fn dense(in_features: u32, out_features: u32, bias: i32, requant: Requant) -> Op {
    Op::Dense {
        in_features,
        out_features,
        weights: vec![1; (in_features * out_features) as usize],
        bias: vec![bias; out_features as usize],
        requant,
        channels: Vec::new(),
    }
}

const RQ: Requant = Requant {
    multiplier: 1 << 30,
    shift: 40,
    zero_point: 0,
};

#[test]
fn validation_refuses_a_layer_whose_accumulator_could_overflow() {
    let mut model = mlp(1);
    // 16384 * 131072 = 2^31: even with a zero bias the sum could leave i32.
    model.input.shape = vec![131072];
    model.nodes[0].op = dense(131072, 1, 0, RQ);
    model.nodes.truncate(1);
    let (index, kind, problem, text) = first_node_problem(&model);
    assert_eq!((index, kind), (0, OpKind::Dense));
    assert!(matches!(
        problem,
        NodeProblem::AccumulatorOverflow { output: 0, .. }
    ));
    assert!(text.contains("may overflow the i32 accumulator"), "{text}");

    // At the limit exactly it is accepted; one more in the bias is refused.
    let limit = i32::MAX - 16384 * 64;
    model.input.shape = vec![64];
    model.nodes[0].op = dense(64, 2, limit, RQ);
    assert!(model.validate().is_ok());
    model.nodes[0].op = dense(64, 2, -limit - 1, RQ);
    let (_, _, problem, _) = first_node_problem(&model);
    assert!(matches!(problem, NodeProblem::AccumulatorOverflow { .. }));
}

#[test]
fn validation_refuses_bad_multipliers_and_shifts() {
    let mut model = mlp(1);
    model.nodes[2].op = dense(
        32,
        10,
        0,
        Requant {
            multiplier: 0,
            ..RQ
        },
    );
    let (index, kind, problem, text) = first_node_problem(&model);
    assert_eq!((index, kind), (2, OpKind::Dense));
    assert!(matches!(
        problem,
        NodeProblem::Multiplier { multiplier: 0, .. }
    ));
    assert_eq!(
        text,
        "node 2 (Dense): requant multiplier 0 is outside 1..2^31"
    );
    model.nodes[2].op = dense(
        32,
        10,
        0,
        Requant {
            multiplier: -5,
            ..RQ
        },
    );
    assert!(matches!(
        first_node_problem(&model).2,
        NodeProblem::Multiplier { multiplier: -5, .. }
    ));
    for shift in [0, 63] {
        model.nodes[2].op = dense(32, 10, 0, Requant { shift, ..RQ });
        assert!(matches!(
            first_node_problem(&model).2,
            NodeProblem::Shift { .. }
        ));
    }
}

#[test]
fn per_channel_requantization_is_checked_and_has_one_canonical_form() {
    use synod_zkml::ir::ChannelRequant;
    let with_channels = |channels: Vec<ChannelRequant>, requant: Requant| {
        let mut op = dense(32, 10, 0, requant);
        if let Op::Dense { channels: c, .. } = &mut op {
            *c = channels;
        }
        op
    };
    let ch = |multiplier: i32, shift: u8| ChannelRequant { multiplier, shift };
    let varied: Vec<ChannelRequant> = (0..10).map(|o| ch((1 << 30) - o, 40)).collect();
    let mut model = mlp(1);

    // One per output, channel 0's in the layer's own: valid, and it runs
    // each output with its own multiplier.
    model.nodes[2].op = with_channels(varied.clone(), RQ);
    model
        .validate()
        .expect("canonical per-channel requantization");
    run(&model, &random_input(&model, 3)).expect("runs");

    // Wrong count.
    model.nodes[2].op = with_channels(varied[..3].to_vec(), RQ);
    let (index, _, problem, text) = first_node_problem(&model);
    assert_eq!(index, 2);
    assert!(matches!(
        problem,
        NodeProblem::ChannelCount {
            got: 3,
            expected: 10
        }
    ));
    assert!(text.contains("3 per-channel requantizations"), "{text}");

    // A channel's own multiplier or shift out of range.
    let mut bad = varied.clone();
    bad[4] = ch(0, 40);
    model.nodes[2].op = with_channels(bad, RQ);
    assert!(matches!(
        first_node_problem(&model).2,
        NodeProblem::Multiplier { multiplier: 0, .. }
    ));
    let mut bad = varied.clone();
    bad[9] = ch(5, 63);
    model.nodes[2].op = with_channels(bad, RQ);
    assert!(matches!(
        first_node_problem(&model).2,
        NodeProblem::Shift { shift: 63 }
    ));

    // Second encodings of one model are refused: all channels equal (that
    // is per-tensor), or the layer's own differing from channel 0's.
    model.nodes[2].op = with_channels(vec![ch(RQ.multiplier, RQ.shift); 10], RQ);
    assert!(matches!(
        first_node_problem(&model).2,
        NodeProblem::ChannelForm { .. }
    ));
    let mut off = varied;
    off[0] = ch(7, 40);
    model.nodes[2].op = with_channels(off, RQ);
    assert!(matches!(
        first_node_problem(&model).2,
        NodeProblem::ChannelForm { .. }
    ));
}

#[test]
fn validation_names_the_node_and_both_shapes_when_shapes_disagree() {
    let mut model = mlp(1);
    model.nodes[2].op = dense(33, 10, 0, RQ);
    let (_, _, _, text) = first_node_problem(&model);
    assert_eq!(
        text,
        "node 2 (Dense): expected a 1-D tensor [33], got an input of shape [32]"
    );
    let mut model = mlp(1);
    if let Op::Dense { weights, .. } = &mut model.nodes[0].op {
        weights.pop();
    }
    let (_, _, _, text) = first_node_problem(&model);
    assert_eq!(
        text,
        "node 0 (Dense): weights hold 2047 values, expected 2048 (32x64)"
    );
}

#[test]
fn validation_refuses_reading_later_tensors_the_argmax_index_and_wrong_zero_points() {
    let mut model = mlp(1);
    model.nodes[1].inputs = vec![TensorId(2)];
    assert_eq!(
        first_node_problem(&model).3,
        "node 1 (Relu): reads t2, which is not written before this node"
    );

    let mut model = mlp(1);
    model.nodes.push(Node {
        inputs: vec![TensorId(4)],
        op: Op::Relu { zero_point: 0 },
    });
    assert!(matches!(
        first_node_problem(&model).2,
        NodeProblem::ReadsIndex { .. }
    ));

    let mut model = mlp(1);
    model.nodes[1].op = Op::Relu { zero_point: 7 };
    assert_eq!(
        first_node_problem(&model).3,
        "node 1 (Relu): states the input zero point 7, but the tensor read has zero point -3"
    );

    let mut model = mlp(1);
    model.nodes[1].inputs = vec![TensorId(1), TensorId(1)];
    assert!(matches!(
        first_node_problem(&model).2,
        NodeProblem::Arity {
            expected: 1,
            got: 2
        }
    ));
}

#[test]
fn validation_refuses_oversized_kernels_and_windows() {
    let conv = |kernel: u32, padding: u32| Model {
        name: "conv".into(),
        input: synod_zkml::ir::TensorInfo {
            shape: vec![1, 4, 4],
            zero_point: 0,
            scale: synod_zkml::ir::Scale {
                multiplier: 1,
                shift: 0,
            },
        },
        nodes: vec![Node {
            inputs: vec![TensorId(0)],
            op: Op::Conv2d {
                geometry: ConvGeometry {
                    in_channels: 1,
                    out_channels: 1,
                    kernel_h: kernel,
                    kernel_w: kernel,
                    stride: 1,
                    padding,
                },
                input_zero_point: 0,
                weights: vec![1; (kernel * kernel) as usize],
                bias: vec![0],
                requant: RQ,
                channels: Vec::new(),
            },
        }],
    };
    assert!(conv(3, 1).validate().is_ok());
    assert!(matches!(
        first_node_problem(&conv(8, 3)).2,
        NodeProblem::KernelTooLarge { .. }
    ));
    assert!(matches!(
        first_node_problem(&conv(5, 0)).2,
        NodeProblem::WindowTooLarge { .. }
    ));
    assert!(matches!(
        first_node_problem(&conv(3, 7)).2,
        NodeProblem::PaddingTooLarge { .. }
    ));
}

/// A tiny hand-written model whose id and bytes are pinned: the id is stored
/// on chain, so any change to the encoding or the hashing must be deliberate
/// (and bump `IR_VERSION`).
fn pinned_model() -> Model {
    Model {
        name: "pinned".into(),
        input: synod_zkml::ir::TensorInfo {
            shape: vec![2],
            zero_point: -1,
            scale: synod_zkml::ir::Scale {
                multiplier: 3,
                shift: 5,
            },
        },
        nodes: vec![
            Node {
                inputs: vec![TensorId(0)],
                op: Op::Dense {
                    in_features: 2,
                    out_features: 2,
                    weights: vec![1, -2, 127, -128],
                    bias: vec![-300, 7],
                    requant: Requant {
                        multiplier: 1 << 30,
                        shift: 33,
                        zero_point: 4,
                    },
                    channels: Vec::new(),
                },
            },
            Node {
                inputs: vec![TensorId(1)],
                op: Op::ArgMax,
            },
        ],
    }
}

#[test]
fn the_pinned_model_has_its_pinned_id_and_output() {
    let model = pinned_model();
    let input = Tensor::from_i8(vec![2], &[100, -50]).expect("shape");
    let out = run(&model, &input).expect("runs");
    // acc = [-300 + 100 + 100, 7 + 12700 + 6400] = [-100, 19107];
    // y = ((acc * 2^30 + 2^32) >> 33) + 4 = floor(acc / 8 + 1/2) + 4:
    // -12.5 rounds half up to -12, so [-12 + 4, 2388 + 4 -> clamped 127].
    let hidden = Interpreter::new(&model)
        .expect("valid")
        .run_all(&input)
        .expect("runs");
    assert_eq!(hidden[1].values(), &[-8, 127]);
    assert_eq!(out.values(), &[1]);
    assert_eq!(
        hex_of(&model.to_canonical_bytes()),
        PINNED_BYTES,
        "the canonical encoding changed"
    );
    assert_eq!(
        ModelId::of(&model).to_string(),
        PINNED_ID,
        "the model id changed"
    );
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const PINNED_BYTES: &str =
    "0670696e6e65640102ff03050201000002020401fe7f8002fb57020efc00000080210400010106";
// Recomputed independently (Python hashlib) from the tree rules in `merkle.rs`.
const PINNED_ID: &str = "90d5cb8c583cc15a604daeb0528ff23420594a15ffb2b817060b80640550dc4c";

#[test]
fn a_foreign_file_is_named_as_such() {
    let err = Model::from_file_bytes(b"{\"json\": true}").unwrap_err();
    assert_eq!(
        err.to_string(),
        "not a .synod-model file: it does not start with the magic bytes \"SYNODMDL\""
    );
}
