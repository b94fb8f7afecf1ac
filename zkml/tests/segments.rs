//! Big models as linked segments (issue 15): a model cut into runs of
//! nodes, each proven on its own at `k <= max_k`, linked by committed
//! intermediate tensors; `verify_segments` accepts the chain and refuses a
//! wrong link, a changed claim and a chain of mixed contexts.

use std::time::Instant;

use halo2_proofs::{pasta::EqAffine, poly::commitment::Params};
use synod_zkml::circuit::fixtures::{calibration_images, shipped_model};
use synod_zkml::circuit::{
    params, ProvedStatement, ProvingSetup, TensorClaim, Visibility, ZkModel,
};
use synod_zkml::interp::{Interpreter, Tensor};
use synod_zkml::ir::{Model, Node, Op, Requant, Scale, TensorId, TensorInfo};
use synod_zkml::onnx::quantize_input;
use synod_zkml::segment::{
    prove_segments, split, split_at, verify_segments, Segment, SegmentError, SegmentProof,
};
use synod_zkml::ProofContext;

struct Keys {
    params: Vec<Params<EqAffine>>,
    setups: Vec<ProvingSetup>,
}

fn keys(segments: &[Segment], max_k: u32) -> Keys {
    let mut out = Keys {
        params: Vec::new(),
        setups: Vec::new(),
    };
    for s in segments {
        let zk = ZkModel::from_ir_with(&s.model, max_k, s.visibility).expect("fits");
        let p = params(zk.k()).expect("params");
        out.setups.push(zk.setup(&p).expect("keys"));
        out.params.push(p);
    }
    out
}

fn chain<'a>(keys: &'a Keys, proved: &[&'a ProvedStatement]) -> Vec<SegmentProof<'a>> {
    proved
        .iter()
        .enumerate()
        .map(|(j, p)| SegmentProof {
            params: &keys.params[j],
            key: &keys.setups[j].verifier,
            statement: &p.statement,
            proof: &p.proof,
        })
        .collect()
}

fn image(model: &Model, index: usize) -> Tensor {
    quantize_input(&model.input, &calibration_images()[index]).expect("quantizes")
}

#[test]
fn the_shipped_cnn_proves_as_linked_segments_and_a_wrong_link_fails() {
    let cnn = shipped_model("cnn.onnx", Some(20));
    let n = cnn.nodes.len();
    let segments = split_at(&cnn, &[1, n - 1], Visibility::PUBLIC).expect("cuts");
    assert_eq!(segments.len(), 3);
    assert_eq!(segments[0].visibility.input, Visibility::PUBLIC.input);
    assert_eq!(segments[2].visibility.output, Visibility::PUBLIC.output);
    let keys = keys(&segments, 16);
    let x = image(&cnn, 0);
    let started = Instant::now();
    let proved = prove_segments(&keys.setups, &x, None).expect("proves");
    println!(
        "cnn in {} segments (k = {:?}): proved in {:.2?}",
        segments.len(),
        keys.setups.iter().map(|s| s.verifier.k).collect::<Vec<_>>(),
        started.elapsed()
    );
    let expected = Interpreter::new(&cnn)
        .expect("valid")
        .run(&x)
        .expect("runs");
    assert_eq!(proved[2].output, expected);
    assert_eq!(proved[0].statement.input, TensorClaim::Public(x.clone()));
    assert_eq!(proved[2].statement.output, TensorClaim::Public(expected));
    assert!(matches!(
        proved[1].statement.input,
        TensorClaim::Committed(_)
    ));
    let all: Vec<&ProvedStatement> = proved.iter().collect();
    verify_segments(&chain(&keys, &all)).expect("the chain verifies");

    // Segment 0 of another image with segments 1 and 2 of this one: every
    // proof is valid alone, the link is not.
    let other = prove_segments(&keys.setups[..1], &image(&cnn, 1), None).expect("proves");
    assert_ne!(other[0].output, proved[0].output);
    let mixed = [&other[0], &proved[1], &proved[2]];
    assert!(matches!(
        verify_segments(&chain(&keys, &mixed)),
        Err(SegmentError::Link { index: 1 })
    ));
    // A changed final output: the last proof objects.
    let mut forged = proved[2].clone();
    if let TensorClaim::Public(t) = &forged.statement.output {
        let mut values = t.values().to_vec();
        values[0] = (values[0] + 1) % 10;
        forged.statement.output =
            TensorClaim::Public(Tensor::new(t.shape().to_vec(), values).expect("tensor"));
    }
    let changed = [&proved[0], &proved[1], &forged];
    assert!(matches!(
        verify_segments(&chain(&keys, &changed)),
        Err(SegmentError::Verify { index: 2, .. })
    ));
    // Missing the middle segment: segment 2 after segment 0 does not link.
    let short = chain(&keys, &all);
    let skipped = [short[0], short[2]];
    assert!(verify_segments(&skipped).is_err());
    assert!(matches!(verify_segments(&[]), Err(SegmentError::Count(_))));
    // Segment 0 proven with its output public (a key of another
    // visibility): the interior tensor is shown, refused.
    let shown = ZkModel::from_ir_with(&segments[0].model, 16, Visibility::PUBLIC).expect("fits");
    let shown_params = params(shown.k()).expect("params");
    let shown_setup = shown.setup(&shown_params).expect("keys");
    let shown_proof = prove_segments(std::slice::from_ref(&shown_setup), &x, None).expect("proves");
    let mut open = chain(&keys, &all);
    open[0] = SegmentProof {
        params: &shown_params,
        key: &shown_setup.verifier,
        statement: &shown_proof[0].statement,
        proof: &shown_proof[0].proof,
    };
    assert!(matches!(
        verify_segments(&open),
        Err(SegmentError::Interior { index: 0, .. })
    ));
}

/// Dense `i -> o` with int8 weights from a small generator.
fn dense(seed: &mut u64, i: u32, o: u32) -> Op {
    let mut next = || {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *seed
    };
    Op::Dense {
        in_features: i,
        out_features: o,
        weights: (0..i * o).map(|_| (next() >> 56) as u8 as i8).collect(),
        bias: (0..o).map(|_| (next() % 10_000) as i32 - 5_000).collect(),
        requant: Requant {
            multiplier: 1 << 30,
            shift: 40,
            zero_point: -3,
        },
        channels: Vec::new(),
    }
}

/// A 64 -> 64 -> 64 -> 64 -> 10 MLP with ReLUs: k = 10 as one circuit.
fn deep_mlp() -> Model {
    let mut seed = 0x5EED_u64;
    let mut nodes = Vec::new();
    for (i, o) in [(64, 64), (64, 64), (64, 64), (64, 10)] {
        let t = nodes.len() as u32;
        nodes.push(Node {
            inputs: vec![TensorId(t)],
            op: dense(&mut seed, i, o),
        });
        if o != 10 {
            nodes.push(Node {
                inputs: vec![TensorId(t + 1)],
                op: Op::Relu { zero_point: -3 },
            });
        }
    }
    Model {
        name: "deep-mlp".into(),
        input: TensorInfo {
            shape: vec![64],
            zero_point: 0,
            scale: Scale {
                multiplier: 1,
                shift: 4,
            },
        },
        nodes,
    }
}

#[test]
fn a_model_over_the_cap_splits_into_segments_that_fit_and_prove_with_a_context() {
    let model = deep_mlp();
    assert!(
        ZkModel::from_ir(&model, 9).is_err(),
        "needs more than k = 9"
    );
    let visibility: Visibility = "input=committed,output=public,context=bound"
        .parse()
        .expect("visibility");
    let segments = split(&model, 9, visibility).expect("splits");
    assert!(segments.len() >= 2, "{} segments", segments.len());
    assert_eq!(segments.first().map(|s| s.nodes.start), Some(0));
    assert_eq!(
        segments.last().map(|s| s.nodes.end),
        Some(model.nodes.len())
    );
    for pair in segments.windows(2) {
        assert_eq!(pair[0].nodes.end, pair[1].nodes.start);
    }
    let keys = keys(&segments, 9);
    assert!(keys.setups.iter().all(|s| s.verifier.k <= 9));
    let x = Tensor::from_i8(vec![64], &[5; 64]).expect("tensor");
    let ctx = ProofContext::derive("synod-test-1", &[7; 20], b"run 1 step 0");
    let proved = prove_segments(&keys.setups, &x, Some(ctx)).expect("proves");
    let expected = Interpreter::new(&model)
        .expect("valid")
        .run(&x)
        .expect("runs");
    assert_eq!(proved.last().map(|p| &p.output), Some(&expected));
    let all: Vec<&ProvedStatement> = proved.iter().collect();
    verify_segments(&chain(&keys, &all)).expect("verifies");
    println!("deep mlp: {} segments at k <= 9", segments.len());

    // One segment proved under another context: refused before any proof.
    let other_ctx = ProofContext::derive("synod-test-2", &[7; 20], b"run 1 step 0");
    let again = prove_segments(&keys.setups[..1], &x, Some(other_ctx)).expect("proves");
    let mut mixed = all.clone();
    mixed[0] = &again[0];
    assert!(matches!(
        verify_segments(&chain(&keys, &mixed)),
        Err(SegmentError::Context { index: 1 })
    ));
}

#[test]
fn cuts_that_a_tensor_crosses_or_that_are_out_of_order_are_refused() {
    // t1 = Dense(t0), t2 = Relu(t1), t3 = Dense(t2), t4 = Add(t3, t1),
    // t5 = Dense(t4): t1 skips over nodes 1 and 2.
    let mut seed = 7;
    let add = Op::Add {
        a_zero_point: -3,
        b_zero_point: -3,
        a_multiplier: 1 << 20,
        b_multiplier: 1 << 20,
        shift: 21,
        zero_point: 0,
    };
    let node = |inputs: &[u32], op: Op| Node {
        inputs: inputs.iter().map(|&t| TensorId(t)).collect(),
        op,
    };
    let model = Model {
        nodes: vec![
            node(&[0], dense(&mut seed, 64, 64)),
            node(&[1], Op::Relu { zero_point: -3 }),
            node(&[2], dense(&mut seed, 64, 64)),
            node(&[3, 1], add),
            node(&[4], dense(&mut seed, 64, 10)),
        ],
        ..deep_mlp()
    };
    model.validate().expect("a valid model");
    let v = Visibility::PUBLIC;
    for cuts in [
        vec![0],
        vec![5],
        vec![1, 1],
        vec![4, 1],
        vec![2],
        vec![3],
        vec![1, 3],
    ] {
        assert!(
            matches!(split_at(&model, &cuts, v), Err(SegmentError::BadCut { .. })),
            "{cuts:?}"
        );
    }
    // Before node 1 only t1 crosses; before node 4 only t4.
    let segments = split_at(&model, &[1, 4], v).expect("cuts");
    assert_eq!(segments.len(), 3);
    assert_eq!(segments[1].nodes, 1..4);
    // The middle segment reads its input twice (Relu and Add), as t0, with
    // the zero point the Add states for it.
    assert_eq!(
        segments[1].model.nodes[2].inputs,
        vec![TensorId(2), TensorId(0)]
    );
    assert_eq!(segments[1].model.input.zero_point, -3);
    // It proves and links like any other.
    let keys = keys(&segments, 16);
    let x = Tensor::from_i8(vec![64], &[9; 64]).expect("tensor");
    let proved = prove_segments(&keys.setups, &x, None).expect("proves");
    let all: Vec<&ProvedStatement> = proved.iter().collect();
    verify_segments(&chain(&keys, &all)).expect("verifies");
    assert_eq!(
        proved[2].output,
        Interpreter::new(&model)
            .expect("valid")
            .run(&x)
            .expect("runs")
    );
    // A node that needs more than the cap by itself.
    let wide = Model {
        nodes: vec![node(&[0], dense(&mut seed, 64, 128))],
        ..deep_mlp()
    };
    assert!(matches!(
        split(&wide, 9, v),
        Err(SegmentError::TooLarge { needed: 10, .. })
    ));
}
