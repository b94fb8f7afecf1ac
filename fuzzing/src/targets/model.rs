//! `model`: a `.synod-model` file (genesis entries, `RegisterModel` and
//! `UpgradeModel` proposals, `synod model` commands), the model body it
//! wraps, and a step witness (the evidence of an optimistic dispute).

use synod_abci_app::models::testkit::{sample_input, shipped_model};
use synod_zkml::{
    circuit::ZkModel, execute_node, ir::FILE_MAGIC, run_traced, verify_step, Model, ModelId,
    StepVerdict, StepWitness, Tensor, TraceRoot,
};

use super::{nothing_to_prepare, Seed, Target};
use crate::error::FuzzError;

/// The `model` target.
pub const TARGET: Target = Target {
    name: "model",
    about: "Model::from_file_bytes, Model::from_canonical_bytes + validate (+ circuit, run, every step re-verified), StepWitness::from_bytes + execute_node",
    run: model,
    prepare: nothing_to_prepare,
    seeds,
    dictionary: &[&FILE_MAGIC],
    max_len: 128 * 1024,
    short_runs: 4_000,
    cap_in_all: None,
};

/// A model file's header: magic, IR version (u16), the stated model id.
const FILE_HEADER_BYTES: usize = 8 + 2 + 32;

/// The chain's default `models.max_k`.
const MAX_K: u32 = 12;

/// Largest model (multiply-accumulates, tensor elements) the target also
/// runs: bigger ones would make an input take seconds.
const MAX_RUN_WORK: u64 = 200_000;

/// Reads `data` as a model file: a file that reads encodes to exactly
/// `data`. Its body (or `data` itself, for the stated id gates only the
/// file and anyone can state the right id) is decoded as a model; one that
/// decodes encodes back to the same bytes, and one that validates writes a
/// file that reads back, maps to a circuit or refuses with an error, and
/// (when small) runs: every step's witness re-verifies as correct against
/// the run's trace. Finally `data` is decoded as a step witness, which
/// encodes back to it, and its node is executed on its inputs.
pub fn model(data: &[u8]) {
    if let Ok(loaded) = Model::from_file_bytes(data) {
        assert_eq!(
            loaded.model.to_file_bytes(),
            data,
            "a model file that reads encodes to other bytes"
        );
    }
    let body = if data.starts_with(&FILE_MAGIC) {
        data.get(FILE_HEADER_BYTES..).unwrap_or_default()
    } else {
        data
    };
    if let Ok(model) = Model::from_canonical_bytes(body) {
        assert_eq!(
            model.to_canonical_bytes(),
            body,
            "a decoded model encodes to other bytes"
        );
        check_valid_model(&model);
    }
    if let Ok(witness) = StepWitness::from_bytes(data) {
        assert_eq!(
            witness.to_bytes(),
            data,
            "a decoded step witness encodes to other bytes"
        );
        let inputs: Vec<&Tensor> = witness.inputs.iter().map(|p| &p.tensor).collect();
        let _ = execute_node(witness.step as usize, &witness.node, &inputs);
        let _ = verify_step(&ModelId([0; 32]), &TraceRoot([0; 32]), &witness);
    }
}

fn check_valid_model(model: &Model) {
    let Ok(info) = model.validate() else {
        return;
    };
    let file = model.to_file_bytes();
    let read = Model::from_file_bytes(&file)
        .unwrap_or_else(|e| panic!("a valid model's file does not read back: {e}"));
    assert_eq!(
        &read.model, model,
        "a valid model's file reads as another model"
    );
    let elements: u64 = info
        .tensors
        .iter()
        .map(|t| t.shape.iter().map(|&d| u64::from(d)).product::<u64>())
        .sum();
    if info.mac_count > MAX_RUN_WORK || elements > MAX_RUN_WORK {
        return;
    }
    let _ = ZkModel::from_ir(model, MAX_K);
    let input = zero_input(model);
    let execution = run_traced(model, &input)
        .unwrap_or_else(|e| panic!("a valid model fails on a zero input: {e}"));
    let id = ModelId::of(model);
    let root = execution.trace().root();
    for step in 0..model.nodes.len() {
        let witness = execution
            .witness(model, step)
            .unwrap_or_else(|e| panic!("no witness for step {step}: {e}"));
        let verdict = verify_step(&id, &root, &witness)
            .unwrap_or_else(|e| panic!("step {step} of an honest run does not verify: {e}"));
        assert_eq!(
            verdict,
            StepVerdict::Correct,
            "step {step} of an honest run judged incorrect"
        );
    }
}

/// The input tensor of `model`, all zeros (every value is a valid int8).
fn zero_input(model: &Model) -> Tensor {
    let len: u32 = model.input.shape.iter().product();
    Tensor::new(model.input.shape.clone(), vec![0; len as usize])
        .unwrap_or_else(|e| panic!("a validated input shape: {e}"))
}

/// The shipped ONNX models imported to `.synod-model` files, and the step
/// witnesses of runs of two of them.
fn seeds() -> Result<Vec<Seed>, FuzzError> {
    let import = |file: &str, name: &str| {
        std::panic::catch_unwind(|| shipped_model(file, name)).map_err(|_| FuzzError::Seed {
            target: "model",
            reason: format!("zkml/models/{file} does not import"),
        })
    };
    let mut seeds = Vec::new();
    for (file, name) in [
        ("mlp.onnx", "digits-mlp"),
        ("cnn.onnx", "digits-cnn"),
        ("mlp-10k.onnx", "digits-mlp-10k"),
        ("mlp-qdq.onnx", "digits-mlp-qdq"),
        ("cnn-qdq-channel.onnx", "digits-cnn-qdq-channel"),
    ] {
        let model = import(file, name)?;
        let stem = file.trim_end_matches(".onnx");
        seeds.push((format!("{stem}_file.bin"), model.to_file_bytes()));
        if matches!(file, "mlp.onnx" | "cnn.onnx") {
            let execution =
                run_traced(&model, &sample_input(&model, 1)).map_err(|e| FuzzError::Seed {
                    target: "model",
                    reason: format!("running {file}: {e}"),
                })?;
            for step in 0..model.nodes.len() {
                let witness = execution
                    .witness(&model, step)
                    .map_err(|e| FuzzError::Seed {
                        target: "model",
                        reason: format!("witness of {file} step {step}: {e}"),
                    })?;
                seeds.push((
                    format!("{stem}_step_{step}_witness.bin"),
                    witness.to_bytes(),
                ));
            }
        }
    }
    Ok(seeds)
}
