//! The files of `synod model …`: data sets of float inputs (the format of
//! `zkml/models/digits-*.json`), the import card written next to an imported
//! model, inference proof files, and reading an input tensor from JSON.
//!
//! Everything here is plain data with checked parsing: a malformed file is an
//! [`InferenceFileError`] naming the file and what is wrong, never a panic.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use synod_zkml::{
    circuit::{Statement, TensorClaim, Visibility},
    commitment::{ProofContext, TensorCommitment},
    ir::ModelId,
    Tensor,
};

/// The `format` tag of an inference proof file of public tensors.
pub const PROOF_FILE_FORMAT: &str = "synod-inference-proof/v1";
/// The `format` tag of a statement proof file (any visibility).
pub const STATEMENT_PROOF_FILE_FORMAT: &str = "synod-inference-proof/v2";
/// The `format` tag of an import card.
pub const IMPORT_CARD_FORMAT: &str = "synod-import-card/v1";

/// Why one of these files could not be read or used.
#[derive(Debug, thiserror::Error)]
pub enum InferenceFileError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("cannot write {path}: {reason}")]
    Write { path: String, reason: String },
    #[error("{path} is not valid JSON of the expected form: {reason}")]
    Json { path: String, reason: String },
    #[error("{what}: {problem}")]
    Input { what: String, problem: String },
}

fn read_text(path: &Path) -> Result<String, InferenceFileError> {
    std::fs::read_to_string(path).map_err(|e| InferenceFileError::Read {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

fn parse_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, InferenceFileError> {
    let text = read_text(path)?;
    serde_json::from_str(&text).map_err(|e| InferenceFileError::Json {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), InferenceFileError> {
    let mut text = serde_json::to_string_pretty(value).map_err(|e| InferenceFileError::Write {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    text.push('\n');
    std::fs::write(path, text).map_err(|e| InferenceFileError::Write {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

/// A data set of float inputs, optionally labelled:
/// `{"inputs": [[f32, ...], ...], "labels": [usize, ...], ...}` (other keys ignored).
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Dataset {
    pub inputs: Vec<Vec<f32>>,
    #[serde(default)]
    pub labels: Option<Vec<usize>>,
}

impl Dataset {
    /// Reads a data set file; checks there is one label per input if any.
    pub fn read(path: &Path) -> Result<Dataset, InferenceFileError> {
        let set: Dataset = parse_json(path)?;
        if let Some(labels) = &set.labels {
            if labels.len() != set.inputs.len() {
                return Err(InferenceFileError::Json {
                    path: path.display().to_string(),
                    reason: format!("{} labels for {} inputs", labels.len(), set.inputs.len()),
                });
            }
        }
        Ok(set)
    }

    /// Reads only the `labels` of a data set file.
    pub fn read_labels(path: &Path) -> Result<Vec<usize>, InferenceFileError> {
        #[derive(Deserialize)]
        struct Labels {
            labels: Vec<usize>,
        }
        Ok(parse_json::<Labels>(path)?.labels)
    }
}

/// How the logits of an imported model are quantized: the IR file keeps only
/// the input's scale, so `import` writes this next to the model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogitsInfo {
    /// The IR tensor holding the logits (the ArgMax input, else the output).
    pub tensor: u32,
    pub shape: Vec<u32>,
    /// `real = scale * (q - zero_point)`.
    pub scale: f64,
    pub zero_point: i8,
}

/// What `synod model import` wrote next to a model (`<model file>.json`):
/// where it came from, how its logits dequantize, how it scored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImportCard {
    pub format: String,
    /// Hex model id; the card applies only to that model.
    pub model_id: String,
    /// The ONNX file it was imported from.
    pub source: String,
    /// How the ONNX file was quantized.
    pub source_format: String,
    pub logits: LogitsInfo,
    /// Agreement with the float model on the calibration inputs.
    pub calibration: Option<Value>,
    /// Agreement with the float model on `--eval` inputs.
    pub eval: Option<Value>,
}

impl ImportCard {
    /// The card's path for a model file: the same path with `.json` appended.
    pub fn path_for(model_path: &Path) -> PathBuf {
        let mut name = model_path.as_os_str().to_owned();
        name.push(".json");
        PathBuf::from(name)
    }

    /// Writes the card.
    pub fn write(&self, path: &Path) -> Result<(), InferenceFileError> {
        write_json(path, self)
    }

    /// Reads the card of `model_path` if there is one for the model `id`;
    /// `Ok(None)` when there is no card or it belongs to another model.
    pub fn read_for(
        model_path: &Path,
        id: &ModelId,
    ) -> Result<Option<ImportCard>, InferenceFileError> {
        let path = ImportCard::path_for(model_path);
        if !path.exists() {
            return Ok(None);
        }
        let card: ImportCard = parse_json(&path)?;
        Ok((card.model_id == id.to_string()).then_some(card))
    }
}

/// A proof that `output = model(input)`, as `synod model prove` writes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InferenceProofFile {
    /// [`PROOF_FILE_FORMAT`].
    pub format: String,
    /// Hex model id.
    pub model_id: String,
    /// The circuit size exponent the proof was made for (`2^k` rows).
    pub k: u32,
    /// Hex SHA-256 of the verifying key (`synod_zkml::circuit::vk_hash`).
    pub vk_hash: String,
    pub input_shape: Vec<u32>,
    /// The int8 input values.
    pub input: Vec<i32>,
    pub output_shape: Vec<u32>,
    /// The int8 output values.
    pub output: Vec<i32>,
    /// The halo2 proof bytes, hex.
    pub proof: String,
}

impl InferenceProofFile {
    /// Reads a proof file (its fields are checked by [`InferenceProofFile::parts`]).
    pub fn read(path: &Path) -> Result<InferenceProofFile, InferenceFileError> {
        let file: InferenceProofFile = parse_json(path)?;
        if file.format != PROOF_FILE_FORMAT {
            return Err(InferenceFileError::Json {
                path: path.display().to_string(),
                reason: format!(
                    "format is {:?}, expected {PROOF_FILE_FORMAT:?}",
                    file.format
                ),
            });
        }
        Ok(file)
    }

    /// Writes the proof file.
    pub fn write(&self, path: &Path) -> Result<(), InferenceFileError> {
        write_json(path, self)
    }

    /// The model id, input and output tensors and proof bytes, each checked.
    pub fn parts(&self) -> Result<(ModelId, Tensor, Tensor, Vec<u8>), InferenceFileError> {
        let bad = |what: &str, problem: String| InferenceFileError::Input {
            what: format!("proof file field `{what}`"),
            problem,
        };
        let id: ModelId = self
            .model_id
            .parse()
            .map_err(|e: synod_zkml::ir::BadModelId| bad("model_id", e.to_string()))?;
        let input = Tensor::new(self.input_shape.clone(), self.input.clone())
            .map_err(|e| bad("input", e.to_string()))?;
        let output = Tensor::new(self.output_shape.clone(), self.output.clone())
            .map_err(|e| bad("output", e.to_string()))?;
        let proof =
            hex::decode(self.proof.trim()).map_err(|e| bad("proof", format!("not hex ({e})")))?;
        Ok((id, input, output, proof))
    }
}

/// A tensor of a statement proof file: its values, or its commitment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum TensorField {
    /// A public tensor: shape and int8 values (an ArgMax output: the index).
    Public { shape: Vec<u32>, values: Vec<i32> },
    /// A committed tensor: hex of its `synod-tensor/v1` commitment.
    Committed { commitment: String },
}

impl TensorField {
    /// The field of `claim`.
    pub fn of(claim: &TensorClaim) -> TensorField {
        match claim {
            TensorClaim::Public(t) => TensorField::Public {
                shape: t.shape().to_vec(),
                values: t.values().to_vec(),
            },
            TensorClaim::Committed(c) => TensorField::Committed {
                commitment: c.to_string(),
            },
        }
    }

    fn claim(&self, what: &str) -> Result<TensorClaim, InferenceFileError> {
        let bad = |problem: String| InferenceFileError::Input {
            what: format!("proof file field `{what}`"),
            problem,
        };
        match self {
            TensorField::Public { shape, values } => Tensor::new(shape.clone(), values.clone())
                .map(TensorClaim::Public)
                .map_err(|e| bad(e.to_string())),
            TensorField::Committed { commitment } => {
                let bytes = hex32(commitment).map_err(bad)?;
                TensorCommitment::from_bytes(bytes)
                    .map(TensorClaim::Committed)
                    .map_err(|e| bad(e.to_string()))
            }
        }
    }
}

/// 32 bytes from 64 hex digits.
fn hex32(text: &str) -> Result<[u8; 32], String> {
    let bytes = hex::decode(text.trim()).map_err(|e| format!("not hex ({e})"))?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| format!("{} bytes, expected 32 (64 hex digits)", bytes.len()))
}

/// A proof of a statement under any visibility, as `synod model prove
/// --visibility` writes it: each tensor shown or committed, the context if
/// the visibility binds one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatementProofFile {
    /// [`STATEMENT_PROOF_FILE_FORMAT`].
    pub format: String,
    /// Hex model id.
    pub model_id: String,
    /// The circuit size exponent the proof was made for (`2^k` rows).
    pub k: u32,
    /// Hex vk hash of the model's key under `visibility`.
    pub vk_hash: String,
    /// `input=…,output=…,weights=fixed,context=…`.
    pub visibility: String,
    pub input: TensorField,
    pub output: TensorField,
    /// Hex of the weights' `synod-weights/v1` commitment, when the weights
    /// are committed (a private model); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<String>,
    /// Hex of the `synod-context/v1` context, when the visibility binds one.
    pub context: Option<String>,
    /// The halo2 proof bytes, hex.
    pub proof: String,
}

/// What a checked statement proof file holds.
#[derive(Clone, Debug)]
pub struct StatementParts {
    pub model_id: ModelId,
    pub visibility: Visibility,
    pub statement: Statement,
    pub proof: Vec<u8>,
}

impl StatementProofFile {
    /// The file of a proved statement.
    pub fn new(
        model_id: &ModelId,
        k: u32,
        vk_hash: [u8; 32],
        statement: &Statement,
        proof: &[u8],
    ) -> Self {
        StatementProofFile {
            format: STATEMENT_PROOF_FILE_FORMAT.into(),
            model_id: model_id.to_string(),
            k,
            vk_hash: hex::encode(vk_hash),
            visibility: statement.visibility().to_string(),
            input: TensorField::of(&statement.input),
            output: TensorField::of(&statement.output),
            weights: statement.weights.map(|c| c.to_string()),
            context: statement.context.map(|c| c.to_string()),
            proof: hex::encode(proof),
        }
    }

    /// Writes the proof file.
    pub fn write(&self, path: &Path) -> Result<(), InferenceFileError> {
        write_json(path, self)
    }

    /// The model id, visibility, statement and proof bytes, each checked;
    /// the stated visibility must be the statement's.
    pub fn parts(&self) -> Result<StatementParts, InferenceFileError> {
        let bad = |what: &str, problem: String| InferenceFileError::Input {
            what: format!("proof file field `{what}`"),
            problem,
        };
        let model_id: ModelId = self
            .model_id
            .parse()
            .map_err(|e: synod_zkml::ir::BadModelId| bad("model_id", e.to_string()))?;
        let visibility: Visibility =
            self.visibility
                .parse()
                .map_err(|e: synod_zkml::circuit::VisibilityParseError| {
                    bad("visibility", e.to_string())
                })?;
        let context = match &self.context {
            None => None,
            Some(text) => {
                let bytes = hex32(text).map_err(|p| bad("context", p))?;
                Some(ProofContext::from_bytes(bytes).map_err(|e| bad("context", e.to_string()))?)
            }
        };
        let weights = match &self.weights {
            None => None,
            Some(text) => {
                let bytes = hex32(text).map_err(|p| bad("weights", p))?;
                Some(
                    TensorCommitment::from_bytes(bytes)
                        .map_err(|e| bad("weights", e.to_string()))?,
                )
            }
        };
        let statement = Statement {
            input: self.input.claim("input")?,
            output: self.output.claim("output")?,
            weights,
            context,
        };
        if statement.visibility() != visibility {
            return Err(bad(
                "visibility",
                format!(
                    "states {visibility}, but the tensors, weights and context are {}",
                    statement.visibility()
                ),
            ));
        }
        let proof =
            hex::decode(self.proof.trim()).map_err(|e| bad("proof", format!("not hex ({e})")))?;
        Ok(StatementParts {
            model_id,
            visibility,
            statement,
            proof,
        })
    }
}

/// A proof file of either version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProofFile {
    /// `synod-inference-proof/v1`: public input and output, no context.
    V1(InferenceProofFile),
    /// `synod-inference-proof/v2`: a statement under any visibility.
    V2(StatementProofFile),
}

impl ProofFile {
    /// Reads a proof file of either version (by its `format`).
    pub fn read(path: &Path) -> Result<ProofFile, InferenceFileError> {
        #[derive(Deserialize)]
        struct Format {
            format: String,
        }
        let format = parse_json::<Format>(path)?.format;
        match format.as_str() {
            PROOF_FILE_FORMAT => InferenceProofFile::read(path).map(ProofFile::V1),
            STATEMENT_PROOF_FILE_FORMAT => parse_json(path).map(ProofFile::V2),
            other => Err(InferenceFileError::Json {
                path: path.display().to_string(),
                reason: format!(
                    "format is {other:?}, expected {PROOF_FILE_FORMAT:?} or {STATEMENT_PROOF_FILE_FORMAT:?}"
                ),
            }),
        }
    }

    /// The model id, visibility, statement and proof bytes (a v1 file is a
    /// statement of public tensors without a context).
    pub fn parts(&self) -> Result<StatementParts, InferenceFileError> {
        match self {
            ProofFile::V1(file) => {
                let (model_id, input, output, proof) = file.parts()?;
                Ok(StatementParts {
                    model_id,
                    visibility: Visibility::PUBLIC,
                    statement: Statement {
                        input: TensorClaim::Public(input),
                        output: TensorClaim::Public(output),
                        weights: None,
                        context: None,
                    },
                    proof,
                })
            }
            ProofFile::V2(file) => file.parts(),
        }
    }

    /// The circuit size exponent the file states.
    pub fn k(&self) -> u32 {
        match self {
            ProofFile::V1(file) => file.k,
            ProofFile::V2(file) => file.k,
        }
    }
}

/// Input values read from JSON: the numbers of a (possibly nested) array,
/// row-major, and the label when they came from a labelled data set.
#[derive(Clone, Debug, PartialEq)]
pub struct InputValues {
    pub values: Vec<f64>,
    pub label: Option<usize>,
}

impl InputValues {
    /// From JSON text: a (nested) array of numbers.
    pub fn from_json_text(text: &str) -> Result<InputValues, InferenceFileError> {
        let value: Value = serde_json::from_str(text).map_err(|e| InferenceFileError::Input {
            what: "--input".into(),
            problem: format!("not JSON ({e}); give an array of numbers, e.g. [0, 12, -5]"),
        })?;
        Ok(InputValues {
            values: flatten_numbers("--input", &value)?,
            label: None,
        })
    }

    /// From a file: a (nested) array of numbers, or a data set
    /// (`{"inputs": [...], "labels": [...]}`) from which input `index` is taken.
    pub fn from_file(path: &Path, index: usize) -> Result<InputValues, InferenceFileError> {
        let text = read_text(path)?;
        let what = path.display().to_string();
        let value: Value = serde_json::from_str(&text).map_err(|e| InferenceFileError::Json {
            path: what.clone(),
            reason: e.to_string(),
        })?;
        match &value {
            Value::Object(map) => {
                let Some(Value::Array(inputs)) = map.get("inputs") else {
                    return Err(InferenceFileError::Input {
                        what,
                        problem: "an object without an `inputs` array (expected a data set or an array of numbers)".into(),
                    });
                };
                let input = inputs.get(index).ok_or_else(|| InferenceFileError::Input {
                    what: what.clone(),
                    problem: format!(
                        "--index {index} is out of range: the data set holds {} inputs",
                        inputs.len()
                    ),
                })?;
                let label = map
                    .get("labels")
                    .and_then(|l| l.get(index))
                    .and_then(Value::as_u64)
                    .and_then(|l| usize::try_from(l).ok());
                Ok(InputValues {
                    values: flatten_numbers(&format!("{what} input {index}"), input)?,
                    label,
                })
            }
            _ => Ok(InputValues {
                values: flatten_numbers(&what, &value)?,
                label: None,
            }),
        }
    }

    /// The values as int8 (each must be an integer in -128..=127).
    pub fn to_i8(&self) -> Result<Vec<i8>, InferenceFileError> {
        self.values
            .iter()
            .enumerate()
            .map(|(position, &v)| {
                if v.fract() != 0.0 || !(-128.0..=127.0).contains(&v) {
                    Err(InferenceFileError::Input {
                        what: "input".into(),
                        problem: format!(
                            "value {v} at position {position} is not an int8 (an integer in -128..=127); \
                             pass --float to quantize float values with the model's input scale"
                        ),
                    })
                } else {
                    Ok(v as i8)
                }
            })
            .collect()
    }

    /// The values as f32 (for quantization).
    pub fn to_f32(&self) -> Vec<f32> {
        self.values.iter().map(|&v| v as f32).collect()
    }
}

fn flatten_numbers(what: &str, value: &Value) -> Result<Vec<f64>, InferenceFileError> {
    fn walk(value: &Value, out: &mut Vec<f64>) -> Result<(), String> {
        match value {
            Value::Array(items) => items.iter().try_for_each(|v| walk(v, out)),
            Value::Number(n) => {
                out.push(
                    n.as_f64()
                        .ok_or_else(|| format!("{n} is not a finite number"))?,
                );
                Ok(())
            }
            other => Err(format!("{other} is not a number")),
        }
    }
    if !value.is_array() {
        return Err(InferenceFileError::Input {
            what: what.into(),
            problem: "expected an array of numbers".into(),
        });
    }
    let mut out = Vec::new();
    walk(value, &mut out).map_err(|problem| InferenceFileError::Input {
        what: what.into(),
        problem,
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_arrays_flatten_in_row_major_order() {
        let v = InputValues::from_json_text("[[1, 2], [3, -4]]").expect("parses");
        assert_eq!(v.values, vec![1.0, 2.0, 3.0, -4.0]);
        assert_eq!(v.to_i8().expect("int8"), vec![1, 2, 3, -4]);
    }

    #[test]
    fn a_fraction_or_an_out_of_range_value_is_not_int8_and_the_message_names_float() {
        for text in ["[0.5]", "[128]", "[-129]"] {
            let err = InputValues::from_json_text(text)
                .expect("parses")
                .to_i8()
                .expect_err("not int8");
            assert!(err.to_string().contains("--float"), "{err}");
        }
    }

    #[test]
    fn a_non_number_is_refused() {
        assert!(InputValues::from_json_text("[1, \"a\"]").is_err());
        assert!(InputValues::from_json_text("{\"a\": 1}").is_err());
        assert!(InputValues::from_json_text("[1,").is_err());
    }
}
