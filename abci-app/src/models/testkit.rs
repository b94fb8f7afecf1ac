//! Fixtures for tests of the model registry (here, in `tests/` and in other
//! crates' end-to-end tests): the shipped digits MLP imported into the IR,
//! genesis entries, and real proofs of inference. Not used by the node.
//!
//! The one `f32` here is the ONNX importer's calibration input, read from
//! the shipped data set; the state machine never sees it.

use std::path::PathBuf;

use base64::Engine;
use synod_protocol::{state::VerificationMode, GenesisModel};
use synod_zkml::{
    circuit::{self, ProvingSetup, ZkModel},
    ir::Model,
    onnx::{import, ImportOptions},
    Tensor,
};

/// `zkml/models/` of this repository.
pub fn models_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../zkml/models")
}

/// The calibration inputs of the shipped data set (64 values each).
fn calibration() -> Vec<Vec<f32>> {
    let text = std::fs::read_to_string(models_dir().join("digits-calibration.json"))
        .expect("zkml/models/digits-calibration.json");
    let json: serde_json::Value = serde_json::from_str(&text).expect("calibration JSON");
    json["inputs"]
        .as_array()
        .expect("an inputs list")
        .iter()
        .map(|row| {
            row.as_array()
                .expect("an input row")
                .iter()
                .map(|v| v.as_f64().expect("a number") as f32)
                .collect()
        })
        .collect()
}

/// `zkml/models/{file}` imported into the int8 IR with the shipped
/// calibration set, named `name`.
pub fn shipped_model(file: &str, name: &str) -> Model {
    let bytes = std::fs::read(models_dir().join(file)).expect("shipped ONNX model");
    import(
        &bytes,
        &ImportOptions {
            calibration: Some(calibration()),
            calibration_labels: None,
            name: name.into(),
            per_channel: false,
        },
    )
    .expect("the shipped model imports")
    .model
}

/// The shipped digits MLP (`zkml/models/mlp.onnx`).
pub fn shipped_mlp() -> Model {
    shipped_model("mlp.onnx", "digits-mlp")
}

/// A genesis entry registering `model` with `modes`.
pub fn genesis_model(model: &Model, modes: &[VerificationMode]) -> GenesisModel {
    GenesisModel {
        model: base64::engine::general_purpose::STANDARD.encode(model.to_file_bytes()),
        modes: modes.to_vec(),
    }
}

/// A deterministic int8 input in the model's input shape.
pub fn sample_input(model: &Model, seed: i32) -> Tensor {
    let len: u32 = model.input.shape.iter().product();
    let values = (0..len as i32)
        .map(|i| (i * 37 + seed * 11).rem_euclid(200) - 100)
        .collect();
    Tensor::new(model.input.shape.clone(), values).expect("the input shape")
}

/// A model ready to prove: its proving setup for the circuit the chain
/// derives under `max_k`.
pub struct Prover {
    pub model: Model,
    pub setup: ProvingSetup,
}

/// One proof of inference: the public instance and the proof.
#[derive(Clone, Debug)]
pub struct Inference {
    pub input: Tensor,
    pub output: Tensor,
    pub proof: Vec<u8>,
}

impl Prover {
    /// Derives the proving setup of `model` under `max_k` (slow: keygen).
    pub fn new(model: Model, max_k: u32) -> Prover {
        let zk = ZkModel::from_ir(&model, max_k).expect("the model has a circuit");
        let params = circuit::params(zk.k()).expect("IPA parameters");
        let setup = zk.setup(&params).expect("proving setup");
        Prover { model, setup }
    }

    /// The model id.
    pub fn id(&self) -> [u8; 32] {
        synod_zkml::ModelId::of(&self.model).0
    }

    /// Runs and proves the model on `input` (slow: about a second).
    pub fn prove(&self, input: &Tensor) -> Inference {
        let (output, proof) =
            circuit::prove_inference(&self.setup, input).expect("the prover proves");
        Inference {
            input: input.clone(),
            output,
            proof,
        }
    }
}
