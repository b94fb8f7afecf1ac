//! Seeded example models for tests and benchmarks.

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use super::spec::{CircuitLayer, ModelCircuitSpec, Requant};

/// A dense MLP with layer widths `dims` (`dims[0]` inputs), a ReLU after
/// every hidden layer, random int8 weights and biases from `seed`, and
/// multipliers that keep typical outputs inside int8 without saturating
/// everything.
pub fn random_mlp(dims: &[usize], seed: u64) -> ModelCircuitSpec {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut layers = Vec::new();
    for (i, pair) in dims.windows(2).enumerate() {
        let (inputs, out) = (pair[0], pair[1]);
        let weights = (0..out * inputs).map(|_| rng.next_u32() as i8).collect();
        let bias = (0..out)
            .map(|_| (rng.next_u32() % 20_001) as i32 - 10_000)
            .collect();
        // acc has a standard deviation near 74 * 74 * sqrt(fan-in); map it to about 40.
        let spread = 74.0 * 74.0 * (inputs as f64).sqrt();
        let shift = 24u8;
        let multiplier = ((40.0 / spread) * f64::from(1u32 << shift)).max(1.0) as i32;
        let zero_point = (rng.next_u32() % 21) as i8 - 10;
        layers.push(CircuitLayer::Dense {
            out,
            inputs,
            weights,
            bias,
            requant: Requant {
                multiplier,
                shift,
                zero_point,
            },
        });
        if i + 2 < dims.len() {
            layers.push(CircuitLayer::Relu { zero_point });
        }
    }
    ModelCircuitSpec {
        input_len: dims[0],
        layers,
    }
}

/// A random int8 vector of length `len` from `seed`.
pub fn random_input(len: usize, seed: u64) -> Vec<i8> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..len).map(|_| rng.next_u32() as i8).collect()
}

/// `zkml/models/`, where the shipped digits models and data sets live.
pub fn models_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models")
}

/// The images of `digits-calibration.json`: the arrays of numbers nested in
/// its `"inputs"` array (the file is machine-written, without whitespace).
/// Panics if the shipped file is missing or malformed.
pub fn calibration_images() -> Vec<Vec<f32>> {
    let text = std::fs::read_to_string(models_dir().join("digits-calibration.json"))
        .expect("zkml/models/digits-calibration.json is readable");
    let key = "\"inputs\":[";
    let start = text.find(key).expect("the data set has inputs") + key.len();
    let mut images = Vec::new();
    for chunk in text[start..].split(']') {
        let Some(body) = chunk.trim_start_matches(',').strip_prefix('[') else {
            break;
        };
        images.push(
            body.split(',')
                .map(|v| v.parse::<f32>().expect("a number"))
                .collect(),
        );
    }
    images
}

/// A shipped ONNX model (`mlp.onnx`, `cnn.onnx`, ...) imported as
/// `synod model import FILE --calibration zkml/models/digits-calibration.json`
/// does when `calibration` is `None` (every calibration image), or with the
/// first `n` images. Panics if the shipped file does not import.
pub fn shipped_model(file: &str, calibration: Option<usize>) -> crate::ir::Model {
    let bytes = std::fs::read(models_dir().join(file)).expect("a shipped model file");
    let mut images = calibration_images();
    if let Some(n) = calibration {
        images.truncate(n);
    }
    let stem = file.strip_suffix(".onnx").unwrap_or(file);
    crate::onnx::import(
        &bytes,
        &crate::onnx::ImportOptions {
            calibration: Some(images),
            name: stem.to_owned(),
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("{file}: {e}"))
    .model
}
