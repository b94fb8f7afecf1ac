//! The cost of settling a dispute's one step against a zk verify of the
//! same model, for the shipped MLP and CNN: what the chain does in a
//! `OneStep` (decode the stored IR, re-execute the disputed node on its
//! proven inputs) and in a `SubmitResult` (verify one halo2 proof).
//! Ignored by default (keygen and proving are slow); run with
//! `cargo test --release -p synod-zkml --test dispute_cost -- --ignored --nocapture`.

use std::path::Path;
use std::time::Instant;

use synod_zkml::circuit::{self, ZkModel};
use synod_zkml::onnx::{import, ImportOptions};
use synod_zkml::trace::{run_traced, verify_transition, TransitionVerdict};
use synod_zkml::{Model, Tensor};

fn shipped(file: &str) -> Model {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let text = std::fs::read_to_string(dir.join("digits-calibration.json")).expect("calibration");
    let calibration = inputs_of(&text);
    let bytes = std::fs::read(dir.join(file)).expect("model");
    import(
        &bytes,
        &ImportOptions {
            calibration: Some(calibration),
            calibration_labels: None,
            name: file.into(),
            per_channel: false,
        },
    )
    .expect("imports")
    .model
}

/// The `"inputs"` rows of the calibration JSON (an array of arrays of
/// numbers), read without a JSON library (zkml has none).
fn inputs_of(text: &str) -> Vec<Vec<f32>> {
    let at = text.find("\"inputs\"").expect("an inputs key");
    let rest = &text[at..];
    let open = rest.find('[').expect("an inputs list");
    let mut depth = 0;
    let mut rows = Vec::new();
    let mut row = String::new();
    for c in rest[open..].chars() {
        match c {
            '[' => {
                depth += 1;
                row.clear();
            }
            ']' => {
                depth -= 1;
                if depth == 1 {
                    rows.push(
                        row.split(',')
                            .map(|v| v.trim().parse::<f32>().expect("a number"))
                            .collect(),
                    );
                }
                if depth == 0 {
                    break;
                }
            }
            c if depth == 2 => row.push(c),
            _ => {}
        }
    }
    rows
}

fn input(model: &Model) -> Tensor {
    let len: u32 = model.input.shape.iter().product();
    let values = (0..len as i32)
        .map(|i| (i * 37 + 11).rem_euclid(200) - 100)
        .collect();
    Tensor::new(model.input.shape.clone(), values).expect("shape")
}

#[test]
#[ignore = "a measurement: keygen and proving take seconds"]
fn one_step_against_a_zk_verify() {
    for file in ["mlp.onnx", "cnn.onnx"] {
        let model = shipped(file);
        let input = input(&model);
        let execution = run_traced(&model, &input).expect("runs");
        let trace = execution.trace();
        let file_bytes = model.to_file_bytes();
        const REPS: u32 = 200;
        let mut worst = 0.0f64;
        let mut witness_bytes = 0;
        for step in 0..model.nodes.len() {
            let w = trace
                .transition_witness(&model, execution.tensors(), step)
                .expect("witness");
            witness_bytes = witness_bytes.max(w.to_bytes().len());
            let (pre, post) = (
                trace.state_root(step).expect("pre"),
                trace.state_root(step + 1).expect("post"),
            );
            let start = Instant::now();
            for _ in 0..REPS {
                let loaded = Model::from_file_bytes(&file_bytes).expect("decodes");
                let verdict = verify_transition(&loaded.model, &pre, &post, &w).expect("fits");
                assert_eq!(verdict, TransitionVerdict::Correct);
            }
            worst = worst.max(start.elapsed().as_secs_f64() / f64::from(REPS));
        }
        let zk = ZkModel::from_ir(&model, 12).expect("a circuit");
        let params = circuit::params(zk.k()).expect("params");
        let setup = zk.setup(&params).expect("setup");
        let (output, proof) = circuit::prove_inference(&setup, &input).expect("proves");
        let key = zk.verifier_key(&params).expect("key");
        let start = Instant::now();
        for _ in 0..20 {
            circuit::verify_inference(&params, &key, &input, &output, &proof).expect("verifies");
        }
        let verify = start.elapsed().as_secs_f64() / 20.0;
        println!(
            "{file}: {} nodes, k = {}; one step (decode IR + re-execute the costliest node): {:.3} ms, witness at most {} bytes; one zk verify: {:.3} ms ({:.0}x)",
            model.nodes.len(),
            zk.k(),
            worst * 1e3,
            witness_bytes,
            verify * 1e3,
            verify / worst
        );
    }
}
