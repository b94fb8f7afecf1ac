//! `synod model inspect`

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use serde_json::{json, Value};
use synod_client::inference::ImportCard;
use synod_zkml::{
    circuit::{WeightVisibility, DEFAULT_MAX_K},
    ir::{ChannelRequant, ConvGeometry, Node, Op, Requant},
    onnx::quantize::scale_value,
    private_model::weights_commitment,
};

use super::private::{load_any, AnyModel, PrivateModel};
use super::statement::VisibilityFlag;
use super::{
    progress, secs, shape_text,
    zk::{self, ZkModel},
    Context,
};

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The .synod-model file, or a private model file (NAME.private.json).
    model: PathBuf,
    /// Also derive the verifying key and print its hash (takes a moment).
    #[arg(long)]
    vk: bool,
    /// The circuit (k and verifying key) for this visibility.
    #[command(flatten)]
    visibility: VisibilityFlag,
    /// The largest circuit size exponent accepted (2^k rows).
    #[arg(long, default_value_t = DEFAULT_MAX_K)]
    max_k: u32,
}

/// A layer's requantization: one multiplier and shift, or per channel the
/// range of the real ratios `m / 2^s`.
fn requant_text(requant: &Requant, channels: &[ChannelRequant]) -> String {
    if channels.is_empty() {
        return format!(
            "requant {} >> {}, zero point {}",
            requant.multiplier, requant.shift, requant.zero_point
        );
    }
    let ratio = |c: &ChannelRequant| f64::from(c.multiplier) / 2f64.powi(i32::from(c.shift));
    let (lo, hi) = channels
        .iter()
        .map(ratio)
        .fold((f64::MAX, 0.0f64), |(lo, hi), r| (lo.min(r), hi.max(r)));
    format!(
        "requant per channel ({}, ratio {lo:.3e} .. {hi:.3e}), zero point {}",
        crate::cli::output::count(channels.len(), "channel", "channels"),
        requant.zero_point
    )
}

/// One node's parameters, for people.
fn op_text(op: &Op) -> String {
    match op {
        Op::Dense {
            in_features,
            out_features,
            requant,
            channels,
            ..
        } => format!(
            "{in_features} -> {out_features}, {}",
            requant_text(requant, channels)
        ),
        Op::Conv2d {
            geometry:
                ConvGeometry {
                    in_channels,
                    out_channels,
                    kernel_h,
                    kernel_w,
                    stride,
                    padding,
                },
            input_zero_point,
            requant,
            channels,
            ..
        } => format!(
            "{in_channels} -> {out_channels} channels, kernel {kernel_h}x{kernel_w}, stride {stride}, padding {padding} (with {input_zero_point}), {}",
            requant_text(requant, channels)
        ),
        Op::Add {
            a_zero_point,
            b_zero_point,
            a_multiplier,
            b_multiplier,
            shift,
            zero_point,
        } => format!(
            "(a - {a_zero_point}) * {a_multiplier} + (b - {b_zero_point}) * {b_multiplier} >> {shift}, zero point {zero_point}"
        ),
        Op::Relu { zero_point } => format!("max(x, {zero_point})"),
        Op::MaxPool { kernel, stride } => format!("window {kernel}x{kernel}, stride {stride}"),
        Op::Reshape { shape } => format!("to {}", shape_text(shape)),
        Op::ArgMax => "index of the first maximum".into(),
    }
}

/// One node as JSON: the op (with its parameters, weights left out) and shapes.
fn node_json(index: usize, node: &Node, out_shape: &[u32]) -> Value {
    let op = match &node.op {
        Op::Dense {
            in_features,
            out_features,
            requant,
            channels,
            ..
        } => {
            json!({
                "in_features": in_features, "out_features": out_features,
                "requant": requant, "channel_requant": channels,
            })
        }
        Op::Conv2d {
            geometry:
                ConvGeometry {
                    in_channels,
                    out_channels,
                    kernel_h,
                    kernel_w,
                    stride,
                    padding,
                },
            input_zero_point,
            requant,
            channels,
            ..
        } => json!({
            "in_channels": in_channels, "out_channels": out_channels,
            "kernel": [kernel_h, kernel_w], "stride": stride, "padding": padding,
            "input_zero_point": input_zero_point, "requant": requant,
            "channel_requant": channels,
        }),
        other => json!(other),
    };
    json!({
        "index": index,
        "op": node.op.kind().to_string(),
        "inputs": node.inputs.iter().map(|t| t.0).collect::<Vec<_>>(),
        "output": index + 1,
        "output_shape": out_shape,
        "parameters": node.op.parameter_count(),
        "params": op,
    })
}

/// The node table, for people.
fn nodes_text(model: &synod_zkml::Model, info: &synod_zkml::ModelInfo) -> String {
    let mut s = format!(
        "\n{:>3}  {:<8} {:<10} {:<14} {:>7}  parameters\n",
        "#", "op", "reads", "output shape", "params"
    );
    for (i, n) in model.nodes.iter().enumerate() {
        let reads: Vec<String> = n.inputs.iter().map(ToString::to_string).collect();
        s.push_str(&format!(
            "{:>3}  {:<8} {:<10} {:<14} {:>7}  {}\n",
            i,
            n.op.kind().to_string(),
            reads.join(","),
            shape_text(&info.tensors[i + 1].shape),
            n.op.parameter_count(),
            op_text(&n.op)
        ));
    }
    s
}

/// `inspect` of a private model file: the architecture, the weights'
/// commitment and the key; `--vk` re-derives the key from the
/// architecture and checks the stated hash.
fn run_private(ctx: &Context, args: &InspectArgs, private: PrivateModel) -> anyhow::Result<()> {
    let (model, info) = (&private.architecture.model, &private.architecture.info);
    let checked = if args.vk {
        let (checked, took) = progress::spin("deriving the verifying key", || {
            private.check_key(args.max_k)
        });
        checked?;
        Some(took)
    } else {
        None
    };
    let nodes: Vec<Value> = model
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| node_json(i, n, &info.tensors[i + 1].shape))
        .collect();
    let doc = json!({
        "private": true,
        "zk_only": true,
        "architecture_id": private.architecture.id.to_string(),
        "name": model.name,
        "input": { "shape": model.input.shape, "zero_point": model.input.zero_point },
        "output_shape": info.output().shape,
        "nodes": nodes,
        "parameters": info.parameter_count,
        "macs": info.mac_count,
        "weights_commitment": private.weights.to_string(),
        "visibility": private.visibility.to_string(),
        "k": private.k,
        "vk_hash": hex::encode(private.vk_hash),
        "vk_checked_seconds": checked.map(secs),
    });
    ctx.output.emit(doc, || {
        let mut s = format!(
            "private model (weights committed, not in this file)\narchitecture: {}\nname:         {}\nshape:        {} -> {}\nparameters:   {} (private)\nMACs:         {}\nweights:      {} (synod-weights/v1)\nvisibility:   {}\ncircuit:      k = {}\nvk hash:      {}",
            private.architecture.id,
            model.name,
            shape_text(&model.input.shape),
            shape_text(&info.output().shape),
            info.parameter_count,
            info.mac_count,
            private.weights,
            private.visibility,
            private.k,
            hex::encode(private.vk_hash),
        );
        match checked {
            Some(took) => s.push_str(&format!(
                " (checked: derived from the architecture in {:.2}s)\n",
                took.as_secs_f64()
            )),
            None => s.push_str(" (pass --vk to check it against the architecture)\n"),
        }
        s.push_str(
            "zk-only:      without the weights nobody can re-execute it: proofs only, \
             no optimistic checks or disputes\n",
        );
        s.push_str(&nodes_text(model, info));
        s
    });
    Ok(())
}

pub fn run(ctx: &Context, args: InspectArgs) -> anyhow::Result<()> {
    let loaded = match load_any(&args.model)? {
        AnyModel::Full(loaded) => loaded,
        AnyModel::Private(private) => return run_private(ctx, &args, private),
    };
    let (model, info) = (&loaded.model, &loaded.info);
    let card = ImportCard::read_for(&args.model, &loaded.id)?;
    let visibility = args.visibility.visibility;
    let zk = ZkModel::from_ir_with(model, args.max_k, visibility);
    let k = zk.as_ref().map(ZkModel::k).map_err(|e| e.to_string());
    let vk = match (&zk, args.vk) {
        (Ok(zk), true) => {
            let (hash, took) = progress::spin("deriving the verifying key", || zk::vk_hash_of(zk));
            Some((hex::encode(hash?), took))
        }
        _ => None,
    };
    let weights = if visibility.weights == WeightVisibility::Committed {
        Some(weights_commitment(model).context("committing to the weights")?)
    } else {
        None
    };
    let input_scale = scale_value(&model.input.scale);
    let nodes: Vec<Value> = model
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| node_json(i, n, &info.tensors[i + 1].shape))
        .collect();
    let doc = json!({
        "model_id": loaded.id.to_string(),
        "name": model.name,
        "input": {
            "shape": model.input.shape,
            "scale": input_scale,
            "scale_fraction": model.input.scale,
            "zero_point": model.input.zero_point,
        },
        "output_shape": info.output().shape,
        "nodes": nodes,
        "parameters": info.parameter_count,
        "macs": info.mac_count,
        "k": k.as_ref().ok(),
        "max_k": args.max_k,
        "not_provable": k.as_ref().err(),
        "visibility": visibility.to_string(),
        "vk_hash": vk.as_ref().map(|(h, _)| h),
        "vk_seconds": vk.as_ref().map(|(_, t)| secs(*t)),
        "weights_commitment": weights.as_ref().map(ToString::to_string),
        "import_card": card,
    });
    ctx.output.emit(doc, || {
        let mut s = format!(
            "model id:   {}\nname:       {}\ninput:      shape {}, scale {:.6e} ({} / 2^{}), zero point {}\noutput:     shape {}\n",
            loaded.id,
            model.name,
            shape_text(&model.input.shape),
            input_scale,
            model.input.scale.multiplier,
            model.input.scale.shift,
            model.input.zero_point,
            shape_text(&info.output().shape),
        );
        s.push_str(&format!(
            "parameters: {}\nMACs:       {}\n",
            info.parameter_count, info.mac_count
        ));
        match &k {
            Ok(k) => s.push_str(&format!("circuit:    k = {k} (2^{k} rows; cap {})\n", args.max_k)),
            Err(e) if !visibility.is_public() => {
                s.push_str(&format!("circuit:    not provable with {visibility}: {e}\n"))
            }
            Err(e) => s.push_str(&format!("circuit:    not provable: {e}\n")),
        }
        if !visibility.is_public() {
            s.push_str(&format!("visibility: {visibility}\n"));
        }
        if let Some(w) = &weights {
            s.push_str(&format!("weights:    committed {w} (synod-weights/v1)\n"));
        }
        match &vk {
            Some((h, took)) => s.push_str(&format!("vk hash:    {h} (derived in {:.2}s)\n", took.as_secs_f64())),
            None if k.is_ok() => s.push_str("vk hash:    (pass --vk to derive it)\n"),
            None => {}
        }
        if let Some(c) = &card {
            s.push_str(&format!(
                "imported:   from {} ({}); logits tensor t{} scale {:.6e} zero point {}\n",
                c.source, c.source_format, c.logits.tensor, c.logits.scale, c.logits.zero_point
            ));
        }
        s.push_str(&nodes_text(model, info));
        s
    });
    Ok(())
}
