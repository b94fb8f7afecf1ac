//! `synod model run`

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use serde_json::json;
use synod_client::inference::ImportCard;
use synod_zkml::{interp::Interpreter, ir::LoadedModel, Tensor};

use super::{first_max, load_model, output_is_index, shape_text, Context, InputFlags};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The .synod-model file.
    model: PathBuf,
    #[command(flatten)]
    input: InputFlags,
    /// Also print the execution trace's root and leaf count (what an optimistic executor publishes).
    #[arg(long)]
    trace: bool,
}

/// The class a model's output names, and its logits (int8 and, with the
/// import card, dequantized).
pub struct Prediction {
    pub class: Option<usize>,
    pub logits: Option<Vec<i32>>,
    pub dequantized: Option<Vec<f32>>,
}

/// Reads the class and logits from every tensor of one execution.
pub fn predict(loaded: &LoadedModel, card: Option<&ImportCard>, tensors: &[Tensor]) -> Prediction {
    let Some(output) = tensors.last() else {
        return Prediction {
            class: None,
            logits: None,
            dequantized: None,
        };
    };
    let is_index = output_is_index(loaded);
    // The logits: the card names the tensor; without it, the ArgMax's input
    // or the output itself.
    let logits_id = match card {
        Some(c) => Some(c.logits.tensor as usize),
        None if is_index => loaded
            .model
            .nodes
            .last()
            .and_then(|n| n.inputs.first())
            .map(|t| t.0 as usize),
        None => Some(tensors.len() - 1),
    };
    let logits = logits_id
        .and_then(|i| tensors.get(i))
        .map(|t| t.values().to_vec());
    let class = if is_index {
        output
            .values()
            .first()
            .and_then(|&v| usize::try_from(v).ok())
    } else {
        first_max(output.values())
    };
    let dequantized = match (card, &logits) {
        (Some(c), Some(l)) => Some(
            l.iter()
                .map(|&q| (c.logits.scale * f64::from(q - i32::from(c.logits.zero_point))) as f32)
                .collect(),
        ),
        _ => None,
    };
    Prediction {
        class,
        logits,
        dequantized,
    }
}

pub fn run(ctx: &Context, args: RunArgs) -> anyhow::Result<()> {
    let loaded = load_model(&args.model)?;
    let card = ImportCard::read_for(&args.model, &loaded.id)?;
    let input = args.input.read(&loaded.model)?;
    let interpreter = Interpreter::new(&loaded.model)?;
    let execution = interpreter
        .run_traced(&input.tensor)
        .context("running the model")?;
    let tensors = execution.tensors();
    let Some(output) = tensors.last() else {
        anyhow::bail!("the model produced no output");
    };
    let prediction = predict(&loaded, card.as_ref(), tensors);
    let trace_root = execution.trace().root().to_string();
    let leaves = execution.trace().leaves().len();

    let mut doc = json!({
        "model_id": loaded.id.to_string(),
        "input": input.tensor.values(),
        "output_shape": output.shape(),
        "output": output.values(),
        "class": prediction.class,
        "logits": prediction.logits,
        "dequantized_logits": prediction.dequantized,
        "label": input.label,
    });
    if args.trace {
        doc["trace"] = json!({
            "root": trace_root,
            "leaves": leaves,
            "trace_bytes": execution.trace().trace_size_bytes(),
            "state_bytes": execution.state_size_bytes(),
        });
    }
    ctx.output.emit(doc, || {
        let mut s = format!(
            "output {}: {:?}\n",
            shape_text(output.shape()),
            output.values()
        );
        if let Some(d) = &prediction.dequantized {
            let shown: Vec<String> = d.iter().map(|v| format!("{v:.3}")).collect();
            s.push_str(&format!("logits:  [{}]\n", shown.join(", ")));
        } else if card.is_none() && !output_is_index(&loaded) {
            s.push_str(&format!(
                "logits:  (no import card {} with the logits scale: int8 values only)\n",
                ImportCard::path_for(&args.model).display()
            ));
        }
        if let Some(c) = prediction.class {
            s.push_str(&format!("class:   {c}"));
            match input.label {
                Some(l) if l == c => s.push_str(&format!(" (label {l}: correct)")),
                Some(l) => s.push_str(&format!(" (label {l}: wrong)")),
                None => {}
            }
            s.push('\n');
        }
        if args.trace {
            s.push_str(&format!(
                "trace:   root {trace_root}, {} ({} bytes of leaves, {} bytes of tensor states)\n",
                crate::cli::output::count(leaves, "leaf", "leaves"),
                execution.trace().trace_size_bytes(),
                execution.state_size_bytes()
            ));
        }
        s
    });
    Ok(())
}
