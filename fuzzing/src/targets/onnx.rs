//! `onnx`: an ONNX file, as `synod model import` reads one from wherever
//! its user found it.

use std::sync::OnceLock;

use synod_abci_app::models::testkit::models_dir;
use synod_zkml::onnx::{import, ImportOptions};

use super::{Seed, Target};
use crate::error::FuzzError;

/// The `onnx` target.
pub const TARGET: Target = Target {
    name: "onnx",
    about: "synod_zkml::onnx::import (protobuf, lowering, calibration, quantization) per tensor and per channel",
    run: onnx,
    prepare,
    seeds,
    dictionary: &[],
    max_len: 64 * 1024,
    short_runs: 3_000,
    cap_in_all: None,
};

/// Calibration images the imports run: the first few of the shipped set.
const CALIBRATION_IMAGES: usize = 4;

fn calibration() -> &'static Result<Vec<Vec<f32>>, String> {
    static IMAGES: OnceLock<Result<Vec<Vec<f32>>, String>> = OnceLock::new();
    IMAGES.get_or_init(|| {
        let path = models_dir().join("digits-calibration.json");
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let rows = json["inputs"]
            .as_array()
            .ok_or_else(|| format!("{}: no inputs list", path.display()))?;
        Ok(rows
            .iter()
            .take(CALIBRATION_IMAGES)
            .map(|row| {
                row.as_array()
                    .map(|r| r.iter().map(|v| v.as_f64().unwrap_or(0.0) as f32).collect())
                    .unwrap_or_default()
            })
            .collect())
    })
}

fn prepare() -> Result<(), FuzzError> {
    calibration()
        .as_ref()
        .map(|_| ())
        .map_err(|reason| FuzzError::Fixture {
            target: "onnx",
            reason: reason.clone(),
        })
}

/// Imports `data` with a few calibration images, weights per tensor and
/// per channel: an import either fails with an error or yields a model
/// that validates.
pub fn onnx(data: &[u8]) {
    let images = calibration()
        .as_ref()
        .unwrap_or_else(|e| panic!("the onnx fixture: {e}"));
    for per_channel in [false, true] {
        let options = ImportOptions {
            calibration: Some(images.clone()),
            calibration_labels: None,
            name: "fuzzed".into(),
            per_channel,
        };
        if let Ok(imported) = import(data, &options) {
            if let Err(e) = imported.model.validate() {
                panic!("an imported model does not validate: {e}");
            }
        }
    }
}

/// The shipped ONNX files (float, QDQ and QOperator, per tensor and per
/// channel).
fn seeds() -> Result<Vec<Seed>, FuzzError> {
    let dir = models_dir();
    let entries = std::fs::read_dir(&dir).map_err(FuzzError::io(&dir))?;
    let mut seeds = Vec::new();
    for entry in entries {
        let path = entry.map_err(FuzzError::io(&dir))?.path();
        if path.extension().is_some_and(|e| e == "onnx") {
            let bytes = std::fs::read(&path).map_err(FuzzError::io(&path))?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            seeds.push((name, bytes));
        }
    }
    seeds.sort();
    Ok(seeds)
}
