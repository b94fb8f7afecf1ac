//! Cost of linked segments: the shipped CNN cut into 3 segments, and a
//! seeded random MLP of 133,002 parameters (128 -> 512 -> 128 -> 10, ReLUs;
//! random int8 weights, so timings only, no accuracy) split under a k cap,
//! against each model proven as one circuit. Per segment: k, setup, prove,
//! verify, proof bytes; then the chain's totals (`verify_segments`). Run
//! with `cargo bench -p synod-zkml --bench segments` (release).

use std::time::Instant;

use synod_zkml::circuit::fixtures::{calibration_images, shipped_model};
use synod_zkml::circuit::{
    params, prove_statement, verify_statement, Visibility, ZkModel, DEFAULT_MAX_K,
};
use synod_zkml::interp::Tensor;
use synod_zkml::ir::{Model, Node, Op, Requant, Scale, TensorId, TensorInfo};
use synod_zkml::onnx::quantize_input;
use synod_zkml::segment::{
    prove_segments, split, split_at, verify_segments, Segment, SegmentProof,
};

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// Dense layers of `dims` with a ReLU after each hidden one; weights from
/// a xorshift generator, multipliers that keep outputs inside int8.
fn random_mlp(dims: &[u32]) -> Model {
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut nodes = Vec::new();
    for (l, pair) in dims.windows(2).enumerate() {
        let (i, o) = (pair[0], pair[1]);
        let t = nodes.len() as u32;
        // acc spreads about 74 * 74 * sqrt(i); map it to about 40.
        let spread = 74.0 * 74.0 * f64::from(i).sqrt();
        nodes.push(Node {
            inputs: vec![TensorId(t)],
            op: Op::Dense {
                in_features: i,
                out_features: o,
                weights: (0..i * o).map(|_| (next() >> 56) as u8 as i8).collect(),
                bias: (0..o).map(|_| (next() % 20_001) as i32 - 10_000).collect(),
                requant: Requant {
                    multiplier: ((40.0 / spread) * f64::from(1u32 << 30)) as i32,
                    shift: 30,
                    zero_point: 0,
                },
                channels: Vec::new(),
            },
        });
        if l + 2 < dims.len() {
            nodes.push(Node {
                inputs: vec![TensorId(t + 1)],
                op: Op::Relu { zero_point: 0 },
            });
        }
    }
    Model {
        name: "random-mlp".into(),
        input: TensorInfo {
            shape: vec![dims[0]],
            zero_point: 0,
            scale: Scale {
                multiplier: 1,
                shift: 7,
            },
        },
        nodes,
    }
}

fn whole(name: &str, model: &Model, x: &Tensor) {
    let zk = ZkModel::from_ir_with(model, 20, Visibility::PUBLIC).expect("fits k = 20");
    let p = params(zk.k()).expect("params");
    let t = Instant::now();
    let setup = zk.setup(&p).expect("keys");
    let setup_ms = ms(t);
    let t = Instant::now();
    let proved = prove_statement(&setup, x, None).expect("proves");
    let prove_ms = ms(t);
    let t = Instant::now();
    verify_statement(&p, &setup.verifier, &proved.statement, &proved.proof).expect("verifies");
    println!(
        "| {name}, one circuit (public) | {} | {setup_ms:.0} ms | {prove_ms:.0} ms | {:.1} ms | {} B |",
        zk.k(),
        ms(t),
        proved.proof.len()
    );
}

fn chain(name: &str, segments: &[Segment], max_k: u32, x: &Tensor) {
    let mut ps = Vec::new();
    let mut setups = Vec::new();
    let mut setup_ms = Vec::new();
    for s in segments {
        let zk = ZkModel::from_ir_with(&s.model, max_k, s.visibility).expect("fits");
        let p = params(zk.k()).expect("params");
        let t = Instant::now();
        setups.push(zk.setup(&p).expect("keys"));
        setup_ms.push(ms(t));
        ps.push(p);
    }
    // Each segment on its own, for the per-segment figures.
    let mut prove_ms = Vec::new();
    let mut proved = Vec::new();
    for setup in &setups {
        let input = proved
            .last()
            .map_or(x.clone(), |p: &synod_zkml::circuit::ProvedStatement| {
                p.output.clone()
            });
        let t = Instant::now();
        let one = prove_segments(std::slice::from_ref(setup), &input, None).expect("proves");
        prove_ms.push(ms(t));
        proved.extend(one);
    }
    let links: Vec<SegmentProof<'_>> = proved
        .iter()
        .enumerate()
        .map(|(j, p)| SegmentProof {
            params: &ps[j],
            key: &setups[j].verifier,
            statement: &p.statement,
            proof: &p.proof,
        })
        .collect();
    let mut verify_ms = Vec::new();
    for (j, link) in links.iter().enumerate() {
        let t = Instant::now();
        verify_segments(std::slice::from_ref(link)).unwrap_or_else(|e| panic!("segment {j}: {e}"));
        verify_ms.push(ms(t));
    }
    let t = Instant::now();
    verify_segments(&links).expect("the chain verifies");
    let chain_verify_ms = ms(t);
    for (j, s) in segments.iter().enumerate() {
        println!(
            "| {name}, segment {j} (nodes {}..{}, {}) | {} | {:.0} ms | {:.0} ms | {:.1} ms | {} B |",
            s.nodes.start,
            s.nodes.end,
            s.visibility,
            setups[j].verifier.k,
            setup_ms[j],
            prove_ms[j],
            verify_ms[j],
            proved[j].proof.len()
        );
    }
    println!(
        "| {name}, {} segments in total | <= {max_k} | {:.0} ms | {:.0} ms | {chain_verify_ms:.1} ms (verify_segments) | {} B |",
        segments.len(),
        setup_ms.iter().sum::<f64>(),
        prove_ms.iter().sum::<f64>(),
        proved.iter().map(|p| p.proof.len()).sum::<usize>()
    );
}

fn main() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("{cores} cores; one proof per row");
    println!("| model | k | setup (VK + PK) | prove | verify | proof |");
    println!("|---|---|---|---|---|---|");
    let cnn = shipped_model("cnn.onnx", Some(20));
    let x = quantize_input(&cnn.input, &calibration_images()[0]).expect("quantizes");
    whole("cnn", &cnn, &x);
    let n = cnn.nodes.len();
    let segments = split_at(&cnn, &[1, n - 1], Visibility::PUBLIC).expect("cuts");
    chain("cnn", &segments, DEFAULT_MAX_K, &x);

    let mlp = random_mlp(&[128, 512, 128, 10]);
    let info = mlp.validate().expect("valid");
    println!("random MLP: {} parameters", info.parameter_count);
    let x = Tensor::from_i8(
        vec![128],
        &(0..128)
            .map(|i| (i * 37 % 256) as u8 as i8)
            .collect::<Vec<_>>(),
    )
    .expect("tensor");
    whole("mlp-132k", &mlp, &x);
    let cap = 13;
    let segments = split(&mlp, cap, Visibility::PUBLIC).expect("splits");
    chain("mlp-132k", &segments, cap, &x);
}
