//! `synod model prove | verify | bench`: halo2 proofs of inference.

use std::{path::PathBuf, time::Instant};

use anyhow::Context as _;
use clap::Args;
use serde_json::json;
use synod_client::inference::{
    InferenceProofFile, ProofFile, StatementParts, StatementProofFile, PROOF_FILE_FORMAT,
};
use synod_zkml::{
    circuit::{self, TensorClaim, Visibility, WeightVisibility, DEFAULT_MAX_K},
    interp::Interpreter,
    ir::ModelId,
    private_model::{architecture, weights_commitment},
    Tensor,
};

pub use synod_zkml::circuit::ZkModel;

use super::private::{load_any, AnyModel};
use super::segments;
use super::statement::{ContextFlags, VisibilityFlag};
use super::{load_model, progress, secs, shape_text, Context, InputFlags};
use crate::cli::output::count as count_of;

#[derive(Debug, Args)]
pub struct ProveArgs {
    /// The .synod-model file.
    model: PathBuf,
    #[command(flatten)]
    input: InputFlags,
    /// Where to write the proof file (JSON; v1 for the default visibility,
    /// v2 with the statement for any other).
    #[arg(long, value_name = "PROOF.json")]
    out: PathBuf,
    #[command(flatten)]
    visibility: VisibilityFlag,
    #[command(flatten)]
    context: ContextFlags,
    /// The largest circuit size exponent accepted (2^k rows).
    #[arg(long, default_value_t = DEFAULT_MAX_K)]
    max_k: u32,
    /// Prove as linked segments, each within --max-k (a model over the
    /// cap): writes a synod-segment-proofs/v1 file.
    #[arg(long, conflicts_with = "split_at")]
    split: bool,
    /// Prove as linked segments cut before these nodes (e.g. 1,3).
    #[arg(long, value_name = "NODE,...", value_delimiter = ',')]
    split_at: Vec<usize>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The .synod-model file the proof claims to be about, or the private
    /// model file (NAME.private.json) of a proof of committed weights.
    model: PathBuf,
    /// The proof file written by `synod model prove`.
    proof: PathBuf,
    /// The largest circuit size exponent accepted (2^k rows).
    #[arg(long, default_value_t = DEFAULT_MAX_K)]
    max_k: u32,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The .synod-model file.
    model: PathBuf,
    /// How many proofs to make (and verify one by one, then as one batch).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=1024))]
    proofs: u32,
    /// The largest circuit size exponent accepted (2^k rows).
    #[arg(long, default_value_t = DEFAULT_MAX_K)]
    max_k: u32,
}

/// Derives the verifying key of `zk` (under its visibility) and returns its hash.
pub fn vk_hash_of(zk: &ZkModel) -> anyhow::Result<[u8; 32]> {
    let params = circuit::params(zk.k()).context("deriving the parameters")?;
    let vk = zk
        .verifier_key(&params)
        .context("deriving the verifying key")?;
    Ok(vk.vk_hash())
}

/// The model as a circuit, or an error that says why it cannot be proved.
fn zk_model(model: &synod_zkml::Model, max_k: u32) -> anyhow::Result<ZkModel> {
    zk_model_with(model, max_k, Visibility::PUBLIC)
}

/// [`zk_model`] under `visibility`.
pub fn zk_model_with(
    model: &synod_zkml::Model,
    max_k: u32,
    visibility: Visibility,
) -> anyhow::Result<ZkModel> {
    ZkModel::from_ir_with(model, max_k, visibility)
        .with_context(|| format!("this model cannot be proved with visibility {visibility}"))
}

/// A tensor claim as one line: the values, or `committed HEX`.
fn claim_text(claim: &TensorClaim) -> String {
    match claim {
        TensorClaim::Public(t) => format!("{} {:?}", shape_text(t.shape()), t.values()),
        TensorClaim::Committed(c) => format!("committed {c}"),
    }
}

pub fn prove(ctx: &Context, args: ProveArgs) -> anyhow::Result<()> {
    let loaded = load_model(&args.model)?;
    let input = args.input.read(&loaded.model)?;
    // Checks the input (shape, range) before the slow part.
    Interpreter::new(&loaded.model)?
        .run(&input.tensor)
        .context("running the model on the input")?;
    let visibility = args.visibility.visibility;
    let context = args.context.context(visibility)?;
    if args.split || !args.split_at.is_empty() {
        let cuts = if args.split {
            segments::Cuts::Auto
        } else {
            segments::Cuts::At(args.split_at.clone())
        };
        return segments::prove(
            ctx,
            &loaded,
            &input.tensor,
            &cuts,
            args.max_k,
            visibility,
            context,
            &args.out,
        );
    }
    let zk = zk_model_with(&loaded.model, args.max_k, visibility)?;
    let k = zk.k();
    let (params, params_time) =
        progress::spin(&format!("deriving IPA parameters (k = {k})"), || {
            circuit::params(k)
        });
    let params = params.context("deriving the parameters")?;
    let (setup, keys_time) = progress::spin("deriving the proving key", || zk.setup(&params));
    let setup = setup.context("deriving the proving key")?;
    let (proved, prove_time) = progress::spin("proving", || {
        circuit::prove_statement(&setup, &input.tensor, context)
    });
    let proved = proved.context("proving")?;
    let (output, proof, statement) = (proved.output, proved.proof, proved.statement);
    let vk_hash = hex::encode(setup.verifier.vk_hash());
    // A proof of committed weights names the architecture: the verifier
    // holds it and the weights' commitment, never the weights.
    let proof_model_id = if visibility.weights == WeightVisibility::Committed {
        ModelId::of(&architecture(&loaded.model))
    } else {
        loaded.id
    };
    if visibility.is_public() {
        // The default statement keeps the v1 file the chain accepts.
        InferenceProofFile {
            format: PROOF_FILE_FORMAT.into(),
            model_id: loaded.id.to_string(),
            k,
            vk_hash: vk_hash.clone(),
            input_shape: input.tensor.shape().to_vec(),
            input: input.tensor.values().to_vec(),
            output_shape: output.shape().to_vec(),
            output: output.values().to_vec(),
            proof: hex::encode(&proof),
        }
        .write(&args.out)?;
    } else {
        StatementProofFile::new(
            &proof_model_id,
            k,
            setup.verifier.vk_hash(),
            &statement,
            &proof,
        )
        .write(&args.out)?;
    }
    let mut doc = json!({
        "model_id": proof_model_id.to_string(),
        "k": k,
        "vk_hash": vk_hash,
        "output": output.values(),
        "proof_bytes": proof.len(),
        "file": args.out.display().to_string(),
        "seconds": {
            "params": secs(params_time),
            "keys": secs(keys_time),
            "prove": secs(prove_time),
        },
    });
    if !visibility.is_public() {
        doc["visibility"] = json!(visibility.to_string());
        doc["statement"] = json!({
            "input": claim_text(&statement.input),
            "output": claim_text(&statement.output),
            "weights": statement.weights.map(|c| c.to_string()),
            "context": statement.context.map(|c| c.to_string()),
        });
    }
    ctx.output.emit(doc, || {
        let mut text = format!(
            "model id:  {}\nk:         {k}\nvk hash:   {vk_hash}\noutput {}: {:?}\n",
            proof_model_id,
            shape_text(output.shape()),
            output.values(),
        );
        if !visibility.is_public() {
            text.push_str(&format!(
                "statement: {visibility}\n  input:   {}\n  output:  {}\n",
                claim_text(&statement.input),
                claim_text(&statement.output)
            ));
            if let Some(w) = statement.weights {
                text.push_str(&format!("  weights: committed {w}\n"));
            }
            if let Some(c) = statement.context {
                text.push_str(&format!("  context: {c}\n"));
            }
        }
        text.push_str(&format!(
            "proof:     {} bytes, written to {}\ntimings:   params {:.2}s, proving key {:.2}s, prove {:.2}s",
            proof.len(),
            args.out.display(),
            params_time.as_secs_f64(),
            keys_time.as_secs_f64(),
            prove_time.as_secs_f64(),
        ));
        text
    });
    Ok(())
}

/// What `verify` holds of the model: the model itself, or (a private
/// model) its architecture and weights' commitment.
struct Verifier {
    /// The model the key is derived from (the architecture of a private one).
    model: synod_zkml::Model,
    /// The id a proof file must name.
    id: ModelId,
    /// The weights, when the verifier has them (re-execution possible).
    weights_known: bool,
    /// The weights' commitment a statement must show (committed weights).
    commitment: Option<synod_zkml::TensorCommitment>,
}

fn verifier_for(path: &std::path::Path, visibility: Visibility) -> anyhow::Result<Verifier> {
    let committed = visibility.weights == WeightVisibility::Committed;
    Ok(match load_any(path)? {
        AnyModel::Full(loaded) if committed => {
            let arch = architecture(&loaded.model);
            Verifier {
                id: ModelId::of(&arch),
                commitment: Some(weights_commitment(&loaded.model)?),
                model: loaded.model,
                weights_known: true,
            }
        }
        AnyModel::Full(loaded) => Verifier {
            id: loaded.id,
            model: loaded.model,
            weights_known: true,
            commitment: None,
        },
        AnyModel::Private(private) => {
            if !committed {
                anyhow::bail!(
                    "{} is a private model (weights committed), but the proof's visibility \
                     {visibility} shows fixed weights",
                    path.display()
                );
            }
            Verifier {
                id: private.architecture.id,
                model: private.architecture.model,
                weights_known: false,
                commitment: Some(private.weights),
            }
        }
    })
}

pub fn verify(ctx: &Context, args: VerifyArgs) -> anyhow::Result<()> {
    if segments::is_segment_file(&args.proof) {
        let loaded = load_model(&args.model)?;
        return segments::verify(ctx, &loaded, &args.proof, args.max_k);
    }
    let file = ProofFile::read(&args.proof)?;
    let StatementParts {
        model_id: id,
        visibility,
        statement,
        proof,
    } = file
        .parts()
        .with_context(|| format!("reading the proof file {}", args.proof.display()))?;
    let verifier = verifier_for(&args.model, visibility)?;
    if id != verifier.id {
        anyhow::bail!(
            "wrong model: the proof file {} is for model {id}, but {} is model {}",
            args.proof.display(),
            args.model.display(),
            verifier.id
        );
    }
    if let (Some(expected), Some(claimed)) = (verifier.commitment, statement.weights) {
        if expected != claimed {
            anyhow::bail!(
                "wrong weights: the proof file {} is for weights committed as {claimed}, but {} \
                 commits to {expected}",
                args.proof.display(),
                args.model.display()
            );
        }
    }
    // With both tensors shown, re-executing is cheap and names the problem
    // precisely; the proof check below is what a verifier without the
    // weights' execution (or without a committed tensor) relies on.
    if let (TensorClaim::Public(input), TensorClaim::Public(output), true) =
        (&statement.input, &statement.output, verifier.weights_known)
    {
        let computed = Interpreter::new(&verifier.model)?
            .run(input)
            .with_context(|| {
                format!("running the model on the input of {}", args.proof.display())
            })?;
        if computed != *output {
            anyhow::bail!(
                "mismatched output: the proof file claims output {:?} {:?}, but the model computes {:?} {:?} on its input",
                output.shape(),
                output.values(),
                computed.shape(),
                computed.values()
            );
        }
    }
    let zk = zk_model_with(&verifier.model, args.max_k, visibility)?;
    if file.k() != zk.k() {
        anyhow::bail!(
            "the proof file states k = {}, but this model's circuit with visibility {visibility} has k = {}",
            file.k(),
            zk.k()
        );
    }
    let (key, vk_time) = progress::spin("deriving the verifying key", || {
        let params = circuit::params(zk.k())?;
        let vk = zk.verifier_key(&params)?;
        Ok::<_, circuit::SetupError>((params, vk))
    });
    let (params, vk) = key.context("deriving the verifying key")?;
    let vk_hash = hex::encode(vk.vk_hash());
    let start = Instant::now();
    circuit::verify_statement(&params, &vk, &statement, &proof).with_context(|| {
        format!(
            "the proof in {} does not verify (bad proof bytes, or a proof of another statement)",
            args.proof.display()
        )
    })?;
    let verify_time = start.elapsed();
    // A committed output has no values here: `statement.output` holds its commitment.
    let output_values = match &statement.output {
        TensorClaim::Public(t) => json!(t.values()),
        TensorClaim::Committed(_) => serde_json::Value::Null,
    };
    let mut doc = json!({
        "valid": true,
        "model_id": verifier.id.to_string(),
        "k": zk.k(),
        "vk_hash": vk_hash,
        "output": output_values,
        "seconds": { "vk": secs(vk_time), "verify": secs(verify_time) },
    });
    if !visibility.is_public() {
        doc["visibility"] = json!(visibility.to_string());
        doc["statement"] = json!({
            "input": claim_text(&statement.input),
            "output": claim_text(&statement.output),
            "weights": statement.weights.map(|c| c.to_string()),
            "context": statement.context.map(|c| c.to_string()),
        });
    }
    ctx.output.emit(doc, || {
        let shows = match (&statement.output, visibility.is_public()) {
            (TensorClaim::Public(t), true) => format!("output {:?} = model(input)", t.values()),
            _ => format!(
                "output {} = model(input {}){}{}",
                claim_text(&statement.output),
                claim_text(&statement.input),
                statement
                    .weights
                    .map(|c| format!(" for the weights committed as {c}"))
                    .unwrap_or_default(),
                statement
                    .context
                    .map(|c| format!(" under context {c}"))
                    .unwrap_or_default()
            ),
        };
        let statement_line = if visibility.is_public() {
            String::new()
        } else {
            format!("statement: {visibility}\n")
        };
        format!(
            "valid: the proof shows {shows}\n{statement_line}model id: {}\nvk hash:  {vk_hash} (k = {})\ntimings:  verifying key {:.2}s, verify {:.3}s",
            verifier.id,
            zk.k(),
            vk_time.as_secs_f64(),
            verify_time.as_secs_f64()
        )
    });
    Ok(())
}

/// `count` deterministic int8 inputs of `shape` (xorshift; no real data needed to time proving).
fn bench_inputs(shape: &[u32], count: usize) -> anyhow::Result<Vec<Tensor>> {
    let len: usize = shape.iter().map(|&d| d as usize).product();
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..count)
        .map(|_| {
            let values: Vec<i8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state >> 56) as u8 as i8
                })
                .collect();
            Ok(Tensor::from_i8(shape.to_vec(), &values)?)
        })
        .collect()
}

pub fn bench(ctx: &Context, args: BenchArgs) -> anyhow::Result<()> {
    let loaded = load_model(&args.model)?;
    let zk = zk_model(&loaded.model, args.max_k)?;
    let k = zk.k();
    let count = args.proofs as usize;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let inputs = bench_inputs(&loaded.model.input.shape, count)?;

    let (params, params_time) =
        progress::spin(&format!("deriving IPA parameters (k = {k})"), || {
            circuit::params(k)
        });
    let params = params.context("deriving the parameters")?;
    let (vk, vk_time) = progress::spin("deriving the verifying key", || zk.verifier_key(&params));
    let vk = vk.context("deriving the verifying key")?;
    let (setup, pk_time) = progress::spin("deriving the proving key", || zk.setup(&params));
    let setup = setup.context("deriving the proving key")?;

    let bar = progress::bar(count as u64, "proving");
    let mut proofs = Vec::with_capacity(count);
    let start = Instant::now();
    for x in &inputs {
        let (output, proof) = circuit::prove_inference(&setup, x).context("proving")?;
        proofs.push((x.clone(), output, proof));
        bar.inc(1);
    }
    let prove_time = start.elapsed();
    bar.finish_and_clear();

    let (single, verify_time) = progress::spin("verifying one by one", || {
        proofs
            .iter()
            .try_for_each(|(x, y, p)| circuit::verify_inference(&params, &vk, x, y, p))
    });
    single.context("verifying a benchmark proof")?;
    let (batch, batch_time) = progress::spin("verifying as one batch", || {
        circuit::verify_inference_batch(&params, &vk, &proofs)
    });
    batch.context("verifying the benchmark batch")?;

    let proof_bytes = proofs.first().map_or(0, |(_, _, p)| p.len());
    let per = |d: std::time::Duration| d.as_secs_f64() / count as f64;
    let doc = json!({
        "model_id": loaded.id.to_string(),
        "parameters": loaded.info.parameter_count,
        "macs": loaded.info.mac_count,
        "k": k,
        "cores": cores,
        "proofs": count,
        "proof_bytes": proof_bytes,
        "vk_hash": hex::encode(vk.vk_hash()),
        "seconds": {
            "params": secs(params_time),
            "vk": secs(vk_time),
            "pk": secs(pk_time),
            "prove_each": per(prove_time),
            "verify_each": per(verify_time),
            "verify_batch_total": secs(batch_time),
            "verify_batch_each": per(batch_time),
        },
    });
    ctx.output.emit(doc, || {
        format!(
            "model {} ({} parameters, {} MACs), k = {k}, {}, {}\n\
             params:           {:>9.3} s\n\
             verifying key:    {:>9.3} s\n\
             proving key:      {:>9.3} s\n\
             prove:            {:>9.3} s each\n\
             verify:           {:>9.3} s each\n\
             verify batch:     {:>9.3} s for {count} ({:.3} s each)\n\
             proof size:       {proof_bytes} bytes",
            loaded.id,
            loaded.info.parameter_count,
            loaded.info.mac_count,
            count_of(cores, "core", "cores"),
            count_of(count, "proof", "proofs"),
            params_time.as_secs_f64(),
            vk_time.as_secs_f64(),
            pk_time.as_secs_f64(),
            per(prove_time),
            per(verify_time),
            batch_time.as_secs_f64(),
            per(batch_time),
        )
    });
    Ok(())
}
