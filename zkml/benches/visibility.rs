//! Cost of committed tensors: the shipped MLP (imported with the first 20
//! calibration images) proved with its input and output public (today's
//! circuit), input committed, output committed, and both committed with a
//! context, and with its weights committed (a private model): rows, k, key
//! setup, prove, verify and proof bytes. Run with
//! `cargo bench -p synod-zkml --bench visibility` (release), or
//! `cargo bench -p synod-zkml --bench visibility -- PROOFS` for another
//! number of proofs per visibility (default 8); `-- PROOFS private` runs
//! the committed-weights rows only.

use std::time::Instant;

use synod_zkml::circuit::fixtures::{calibration_images, shipped_model};
use synod_zkml::circuit::{
    params, prove_statement, verify_statement, ContextBinding, TensorVisibility, Visibility,
    WeightVisibility, ZkModel, DEFAULT_MAX_K,
};
use synod_zkml::onnx::quantize_input;
use synod_zkml::ProofContext;

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let proofs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(8);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let model = shipped_model("mlp.onnx", Some(20));
    let images = calibration_images();
    let inputs: Vec<_> = images
        .iter()
        .take(proofs)
        .map(|x| quantize_input(&model.input, x).expect("quantizes"))
        .collect();
    let context = ProofContext::derive("synod-bench", &[1; 20], b"run 0 step 0");
    let committed = TensorVisibility::Committed;
    let public = TensorVisibility::Public;
    let cases = [
        ("public (today)", Visibility::PUBLIC),
        (
            "input committed",
            Visibility {
                input: committed,
                output: public,
                weights: WeightVisibility::Fixed,
                context: ContextBinding::Unbound,
            },
        ),
        (
            "output committed",
            Visibility {
                input: public,
                output: committed,
                weights: WeightVisibility::Fixed,
                context: ContextBinding::Unbound,
            },
        ),
        ("both committed + context", Visibility::COMMITTED),
        (
            "weights committed (private model)",
            Visibility::PRIVATE_MODEL,
        ),
        (
            "all committed + context",
            Visibility {
                weights: WeightVisibility::Committed,
                ..Visibility::COMMITTED
            },
        ),
    ];
    // `-- private`: the committed-weights rows only.
    let only_private = std::env::args().any(|a| a == "private");
    let cases = cases
        .into_iter()
        .filter(|(_, v)| !only_private || v.weights == WeightVisibility::Committed);
    println!(
        "shipped mlp.onnx (2,410 parameters), {cores} cores, {proofs} proofs per row; prove: median; verify: median of each proof alone"
    );
    println!("| visibility | rows | k | setup (VK + PK) | prove | verify | proof |");
    println!("|---|---|---|---|---|---|---|");
    for (name, visibility) in cases {
        let zk = ZkModel::from_ir_with(&model, DEFAULT_MAX_K, visibility).expect("fits");
        let p = params(zk.k()).expect("params");
        let t = Instant::now();
        let setup = zk.setup(&p).expect("keys");
        let setup_ms = ms(t);
        let ctx = (visibility.context == ContextBinding::Bound).then_some(context);
        let mut prove_ms = Vec::new();
        let proved: Vec<_> = inputs
            .iter()
            .map(|x| {
                let t = Instant::now();
                let proved = prove_statement(&setup, x, ctx).expect("proves");
                prove_ms.push(ms(t));
                proved
            })
            .collect();
        let verify_ms: Vec<f64> = proved
            .iter()
            .map(|proved| {
                let t = Instant::now();
                verify_statement(&p, &setup.verifier, &proved.statement, &proved.proof)
                    .expect("verifies");
                ms(t)
            })
            .collect();
        println!(
            "| {name} | {} | {} | {setup_ms:.0} ms | {:.0} ms | {:.2} ms | {} B |",
            zk.rows(),
            zk.k(),
            median(prove_ms),
            median(verify_ms),
            proved[0].proof.len(),
        );
    }
}
