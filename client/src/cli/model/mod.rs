//! `synod model …`: import an ONNX model to the int8 IR, inspect and run it,
//! and prove and verify inferences with halo2 (see `docs/models.md`).

mod import;
mod inspect;
mod private;
pub(crate) mod progress;
mod run;
mod segments;
mod statement;
mod zk;

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use synod_client::{
    inference::{InputValues, ProofFile, StatementParts},
    TxBody,
};
use synod_zkml::{
    circuit::TensorClaim,
    ir::{ElementKind, IrError, LoadedModel},
    onnx::quantize_input,
    Model, Tensor,
};

use super::{
    tx::{self, TxFlags},
    Context,
};

const EXAMPLES: &str = "\
Examples:
  synod model import zkml/models/mlp.onnx --calibration zkml/models/digits-calibration.json \\
      --eval zkml/models/digits-test.json
  synod model inspect zkml/models/mlp.synod-model --vk
  synod model run zkml/models/mlp.synod-model --input-file zkml/models/digits-test.json --index 0 --float
  synod model prove zkml/models/mlp.synod-model --input-file zkml/models/digits-test.json --float --out proof.json
  synod model verify zkml/models/mlp.synod-model proof.json
  synod model prove zkml/models/mlp.synod-model --input-file zkml/models/digits-test.json --float \\
      --visibility input=committed,output=public,context=bound --context-chain-id synod-1 \\
      --context-submitter synod1... --context-tag 'run 7 step 2' --out committed.json
  synod model inspect zkml/models/mlp.synod-model --vk --visibility input=committed,output=committed
  synod model import zkml/models/mlp.onnx --calibration zkml/models/digits-calibration.json \\
      --visibility weights=committed --out mlp.synod-model      # also writes mlp.private.json
  synod model inspect mlp.private.json
  synod model prove mlp.synod-model --input-file zkml/models/digits-test.json --float \\
      --visibility weights=committed --out private.json
  synod model verify mlp.private.json private.json
  synod model prove cnn.synod-model --input-file zkml/models/digits-test.json --float \\
      --split-at 1,3 --out segments.json             # or --split: cut under --max-k
  synod model verify cnn.synod-model segments.json
  synod model bench zkml/models/mlp.synod-model --proofs 8
  synod model submit proof.json --from alice";

#[derive(Debug, Subcommand)]
#[command(after_help = EXAMPLES)]
pub enum ModelCommand {
    /// Import an ONNX model (float, QDQ or QOperator) into a .synod-model file.
    Import(import::ImportArgs),
    /// Show a model file: id, input, every node, size, the circuit size it needs.
    Inspect(inspect::InspectArgs),
    /// Run a model on one input with the integer interpreter.
    Run(run::RunArgs),
    /// Prove one inference and write a proof file.
    Prove(zk::ProveArgs),
    /// Check a proof file against a model.
    Verify(zk::VerifyArgs),
    /// Time key derivation, proving and (batched) verification on this machine.
    Bench(zk::BenchArgs),
    /// Send a proof file to the chain (a SubmitInferenceProof transaction).
    Submit {
        /// The proof file written by `synod model prove`.
        proof: PathBuf,
        #[command(flatten)]
        flags: TxFlags,
    },
}

pub async fn run(ctx: &Context, cmd: ModelCommand) -> anyhow::Result<()> {
    match cmd {
        ModelCommand::Import(args) => import::run(ctx, args),
        ModelCommand::Inspect(args) => inspect::run(ctx, args),
        ModelCommand::Run(args) => run::run(ctx, args),
        ModelCommand::Prove(args) => zk::prove(ctx, args),
        ModelCommand::Verify(args) => zk::verify(ctx, args),
        ModelCommand::Bench(args) => zk::bench(ctx, args),
        ModelCommand::Submit { proof, flags } => submit(ctx, &proof, &flags).await,
    }
}

/// Sends the proof in `path` as a `SubmitInferenceProof` transaction; the
/// chain verifies it against the registered model's verifying key.
async fn submit(ctx: &Context, path: &Path, flags: &TxFlags) -> anyhow::Result<()> {
    let file = ProofFile::read(path)?;
    let StatementParts {
        model_id,
        visibility,
        statement,
        proof,
    } = file
        .parts()
        .with_context(|| format!("reading the proof file {}", path.display()))?;
    // The chain verifies proofs of public tensors only (SubmitInferenceProof
    // carries the input and output values); committed statements wait for
    // issue 15's chain integration.
    let (TensorClaim::Public(input), TensorClaim::Public(output), None, None) = (
        statement.input,
        statement.output,
        statement.weights,
        statement.context,
    ) else {
        anyhow::bail!(
            "{} proves a statement with visibility {visibility}; the chain accepts only \
             input=public,output=public,weights=fixed,context=none so far (prove again without \
             --visibility)",
            path.display()
        );
    };
    let body = TxBody::SubmitInferenceProof {
        model: model_id.0,
        input: input.into_values(),
        output: output.into_values(),
        proof,
    };
    tx::send(ctx, flags, body).await
}

/// Where an input comes from (`run`, `prove`).
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct InputSource {
    /// The input as JSON: an array (nested or flat) of the model's input values, row-major.
    #[arg(long, value_name = "JSON", group = "source")]
    input: Option<String>,
    /// A JSON file: an array of values, or a data set `{"inputs": [...], "labels": [...]}`.
    #[arg(long, value_name = "FILE", group = "source")]
    input_file: Option<PathBuf>,
}

/// How to read the input values.
#[derive(Debug, Args)]
pub struct InputFlags {
    #[command(flatten)]
    source: InputSource,
    /// Which input of a data set file to take.
    #[arg(long, default_value_t = 0, requires = "input_file")]
    index: usize,
    /// The values are floats: quantize them with the model's input scale and zero point.
    #[arg(long)]
    float: bool,
}

/// An input made ready for a model: the int8 tensor and, from a labelled
/// data set, the expected class.
pub struct ModelInput {
    pub tensor: Tensor,
    pub label: Option<usize>,
}

impl InputFlags {
    /// Reads the input and quantizes or checks it against `model`'s input.
    pub fn read(&self, model: &Model) -> anyhow::Result<ModelInput> {
        let values = match (&self.source.input, &self.source.input_file) {
            (Some(text), _) => InputValues::from_json_text(text)?,
            (None, Some(path)) => InputValues::from_file(path, self.index)?,
            (None, None) => anyhow::bail!("pass --input JSON or --input-file FILE"),
        };
        let shape = &model.input.shape;
        let expected: u64 = shape.iter().map(|&d| u64::from(d)).product();
        if values.values.len() as u64 != expected {
            anyhow::bail!(
                "the input holds {} values, but the model's input has shape {shape:?} ({expected} values)",
                values.values.len()
            );
        }
        let tensor = if self.float {
            quantize_input(&model.input, &values.to_f32()).context("quantizing the input")?
        } else {
            Tensor::from_i8(shape.clone(), &values.to_i8()?)?
        };
        Ok(ModelInput {
            tensor,
            label: values.label,
        })
    }
}

/// Reads and checks a `.synod-model` file. The error names the file once.
pub fn load_model(path: &Path) -> anyhow::Result<LoadedModel> {
    Model::read_file(path).map_err(|e| match e {
        // "PATH: REASON" already.
        IrError::Io { .. } => anyhow::anyhow!("cannot read the model file {e}"),
        e => anyhow::Error::new(e)
            .context(format!("the model file {} does not load", path.display())),
    })
}

/// The index of the first maximum (the contract's ArgMax).
fn first_max(values: &[i32]) -> Option<usize> {
    let mut best: Option<(usize, i32)> = None;
    for (i, &v) in values.iter().enumerate() {
        if best.is_none_or(|(_, b)| v > b) {
            best = Some((i, v));
        }
    }
    best.map(|(i, _)| i)
}

/// A shape as `[1, 64]`.
fn shape_text(shape: &[u32]) -> String {
    format!("{shape:?}")
}

/// Whether a model's output is an ArgMax index rather than int8 values.
fn output_is_index(loaded: &LoadedModel) -> bool {
    matches!(loaded.info.output().kind, ElementKind::Index)
}

/// Seconds with millisecond precision, for timings.
fn secs(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_max_takes_the_lowest_index_of_a_tie() {
        assert_eq!(first_max(&[1, 5, 5, 2]), Some(1));
        assert_eq!(first_max(&[]), None);
        assert_eq!(first_max(&[-128]), Some(0));
    }
}
