//! `synod model import`

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use serde_json::{json, Value};
use synod_client::inference::{Dataset, ImportCard, LogitsInfo, IMPORT_CARD_FORMAT};
use synod_zkml::{
    ir::FILE_EXTENSION,
    onnx::{compare, import, ActivationReport, Agreement, ImportOptions, OnnxError, ParamSource},
};

use synod_zkml::circuit::{WeightVisibility, DEFAULT_MAX_K};

use super::private::PrivateModel;
use super::statement::VisibilityFlag;
use super::{progress, shape_text, Context};

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The ONNX file (float, QDQ or QOperator).
    file: PathBuf,
    /// Sample inputs (a data set JSON: `{"inputs": [[...], ...], "labels": [...]}`): required
    /// for float models (activation ranges); for quantized models only compared against.
    #[arg(long, value_name = "FILE.json")]
    calibration: Option<PathBuf>,
    /// Take the calibration labels from this data set file (default: the calibration file's own).
    #[arg(long, value_name = "FILE.json", requires = "calibration")]
    labels_from: Option<PathBuf>,
    /// Also compare the int8 model with the float one on this data set (e.g. held-out test data).
    #[arg(long, value_name = "FILE.json")]
    eval: Option<PathBuf>,
    /// The model's name (part of its id) [default: the file's stem].
    #[arg(long)]
    name: Option<String>,
    /// Quantize a float model's weights per output channel (one scale per
    /// output or filter; more accurate when channels differ in range).
    /// Quantized models keep their own per-tensor or per-channel scales.
    #[arg(long)]
    per_channel: bool,
    /// Where to write the model [default: FILE with the extension .synod-model].
    #[arg(long, value_name = "FILE.synod-model")]
    out: Option<PathBuf>,
    /// With weights=committed, also write the private model file
    /// (NAME.private.json: the architecture, the weights' commitment and the
    /// verifying key's hash for this visibility), what a verifier gets
    /// instead of the weights. Tensor visibility alone is chosen at `prove`.
    #[command(flatten)]
    visibility: VisibilityFlag,
}

pub fn run(ctx: &Context, args: ImportArgs) -> anyhow::Result<()> {
    let visibility = args.visibility.visibility;
    if visibility.weights != WeightVisibility::Committed && !visibility.is_public() {
        anyhow::bail!(
            "--visibility {visibility}: import takes a visibility only to make a private model \
             (weights=committed); choose the tensors' visibility when proving"
        );
    }
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("reading the ONNX file {}", args.file.display()))?;
    let calibration = args
        .calibration
        .as_deref()
        .map(Dataset::read)
        .transpose()
        .context("reading the calibration data")?;
    let labels = match (&args.labels_from, &calibration) {
        (Some(path), _) => Some(Dataset::read_labels(path).context("reading --labels-from")?),
        (None, Some(set)) => set.labels.clone(),
        (None, None) => None,
    };
    let name = args.name.clone().unwrap_or_else(|| {
        args.file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "model".into())
    });
    let options = ImportOptions {
        calibration: calibration.as_ref().map(|c| c.inputs.clone()),
        calibration_labels: labels,
        name,
        per_channel: args.per_channel,
    };
    let imported = import(&bytes, &options).map_err(|e| {
        let hint = match e {
            OnnxError::NeedsCalibration { .. } => {
                "\nhint: a float model needs --calibration FILE.json (sample inputs, e.g. zkml/models/digits-calibration.json)"
            }
            _ => "",
        };
        anyhow::anyhow!("importing {}: {e}{hint}", args.file.display())
    })?;

    let eval = match &args.eval {
        Some(path) => {
            let set = Dataset::read(path).context("reading the --eval data")?;
            let agreement = compare(&imported, &set.inputs, set.labels.as_deref())
                .with_context(|| format!("evaluating on {}", path.display()))?;
            Some(agreement)
        }
        None => None,
    };

    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.file.with_extension(FILE_EXTENSION));
    let model = &imported.model;
    let id = model
        .write_file(&out)
        .with_context(|| format!("writing {}", out.display()))?;
    let info = model.validate()?;
    let card = ImportCard {
        format: IMPORT_CARD_FORMAT.into(),
        model_id: id.to_string(),
        source: args.file.display().to_string(),
        source_format: imported.report.format.to_string(),
        logits: LogitsInfo {
            tensor: imported.logits_tensor.0,
            shape: imported.logits.shape.clone(),
            scale: imported.report.logits.scale,
            zero_point: imported.report.logits.zero_point,
        },
        calibration: imported.report.calibration.as_ref().map(agreement_json),
        eval: eval.as_ref().map(agreement_json),
    };
    let card_path = ImportCard::path_for(&out);
    card.write(&card_path)?;
    let private = if visibility.weights == WeightVisibility::Committed {
        let (private, took) = progress::spin("deriving the private model's verifying key", || {
            PrivateModel::of(model, visibility, DEFAULT_MAX_K)
        });
        let private = private?;
        let path = PrivateModel::path_for(&out);
        private.write(&path)?;
        Some((private, path, took))
    } else {
        None
    };
    let file_bytes = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);

    let ops: Vec<String> = model
        .nodes
        .iter()
        .map(|n| n.op.kind().to_string())
        .collect();
    let report = &imported.report;
    let doc = json!({
        "model_id": id.to_string(),
        "name": model.name,
        "file": out.display().to_string(),
        "file_bytes": file_bytes,
        "card": card_path.display().to_string(),
        "source_format": report.format.to_string(),
        "input_shape": model.input.shape,
        "output_shape": info.output().shape,
        "ops": ops,
        "parameters": info.parameter_count,
        "macs": info.mac_count,
        "input": activation_json(&report.input),
        "logits": activation_json(&report.logits),
        "layers": report.layers.iter().map(|l| json!({
            "ir_node": l.ir_node,
            "op": l.kind.to_string(),
            "onnx_node": l.onnx_node,
            "onnx_op": l.onnx_op,
            "input_scale": l.input_scale,
            "input_zero_point": l.input_zero_point,
            "weight_scale": l.weight_scale,
            "output_scale": l.output_scale,
            "output_zero_point": l.output_zero_point,
            "requant": l.requant.iter().map(|r| json!({
                "real": r.real, "multiplier": r.multiplier, "shift": r.shift,
                "relative_error": r.relative_error,
            })).collect::<Vec<_>>(),
            "folded_relu": l.folded_relu,
        })).collect::<Vec<_>>(),
        "calibration_samples": report.calibration_samples,
        "calibration": card.calibration,
        "eval": card.eval,
        "private_model": private.as_ref().map(|(p, path, _)| json!({
            "file": path.display().to_string(),
            "architecture_id": p.architecture.id.to_string(),
            "weights_commitment": p.weights.to_string(),
            "visibility": p.visibility.to_string(),
            "k": p.k,
            "vk_hash": hex::encode(p.vk_hash),
        })),
    });
    ctx.output.emit(doc, || {
        let mut s = format!(
            "model id:   {id}\nname:       {}\nwritten:    {} ({file_bytes} bytes; import card {})\n",
            model.name,
            out.display(),
            card_path.display()
        );
        s.push_str(&format!(
            "shape:      {} -> {}\nops:        {} ({})\nparameters: {}\nMACs:       {}\n\n",
            shape_text(&model.input.shape),
            shape_text(&info.output().shape),
            ops.join(", "),
            crate::cli::output::count(ops.len(), "node", "nodes"),
            info.parameter_count,
            info.mac_count
        ));
        if let Some((p, path, took)) = &private {
            s.push_str(&format!(
                "private:    {} (zk-only; weights stay in {})\n  architecture {}\n  weights      {}\n  vk hash      {} ({}, k = {}; derived in {:.2}s)\n\n",
                path.display(),
                out.display(),
                p.architecture.id,
                p.weights,
                hex::encode(p.vk_hash),
                p.visibility,
                p.k,
                took.as_secs_f64()
            ));
        }
        s.push_str(&report.to_string());
        if let (Some(a), Some(path)) = (&eval, &args.eval) {
            s.push_str(&format!("eval ({}): {a}\n", path.display()));
        }
        s
    });
    Ok(())
}

fn activation_json(a: &ActivationReport) -> Value {
    let source = match a.source {
        ParamSource::Stated => json!("stated"),
        ParamSource::Calibrated { min, max } => json!({ "calibrated": [min, max] }),
    };
    json!({ "tensor": a.tensor, "scale": a.scale, "zero_point": a.zero_point, "source": source })
}

fn agreement_json(a: &Agreement) -> Value {
    json!({
        "samples": a.samples,
        "top1_agreement": a.top1_agreement,
        "float_accuracy": a.float_accuracy,
        "int8_accuracy": a.int8_accuracy,
        "max_abs_logit_error": a.max_abs_logit_error,
    })
}
