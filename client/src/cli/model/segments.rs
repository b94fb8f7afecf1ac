//! `synod model prove --split | --split-at` and `verify` of the result: a
//! model proven as linked segments (`synod_zkml::segment`), written as one
//! `synod-segment-proofs/v1` file: the whole model's id and visibility, and
//! per segment its node range and a `synod-inference-proof/v2` statement
//! (interior tensors committed, each input commitment the previous output
//! commitment).

use std::{
    path::Path,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use serde_json::json;
use synod_client::inference::{StatementParts, StatementProofFile};
use synod_zkml::{
    circuit::{self, ProvingSetup, Visibility, WeightVisibility},
    ir::{LoadedModel, ModelId},
    private_model::weights_commitment,
    segment::{prove_segments, split, split_at, verify_segments, Segment, SegmentProof},
    ProofContext, Tensor,
};

use super::{progress, secs, shape_text, Context};

/// The `format` of a segment proofs file.
pub const SEGMENT_PROOFS_FORMAT: &str = "synod-segment-proofs/v1";
/// The most segments a file may hold (every node its own segment at most).
const MAX_SEGMENTS: usize = 4096;

/// One segment of the file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SegmentEntry {
    /// The whole model's nodes `[start, end)` the segment runs.
    nodes: [usize; 2],
    /// The segment's statement and proof (its `model_id` is the segment's).
    proof: StatementProofFile,
}

/// The file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SegmentProofsFile {
    format: String,
    /// Hex id of the whole model.
    model_id: String,
    /// The chain's visibility: the first input, the last output, the
    /// weights and the context.
    visibility: String,
    segments: Vec<SegmentEntry>,
}

/// Whether `path` holds a segment proofs file (by its `format`).
pub fn is_segment_file(path: &Path) -> bool {
    #[derive(Deserialize)]
    struct Format {
        format: String,
    }
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| serde_json::from_str::<Format>(&text).ok())
        .is_some_and(|f| f.format == SEGMENT_PROOFS_FORMAT)
}

/// How `prove` cuts the model.
pub enum Cuts {
    /// Greedily, each segment under the cap.
    Auto,
    /// Before each of these nodes.
    At(Vec<usize>),
}

fn segments_of(
    model: &synod_zkml::Model,
    cuts: &Cuts,
    max_k: u32,
    visibility: Visibility,
) -> anyhow::Result<Vec<Segment>> {
    Ok(match cuts {
        Cuts::Auto => split(model, max_k, visibility)?,
        Cuts::At(at) => split_at(model, at, visibility)?,
    })
}

/// Proves `loaded` on `input` as linked segments and writes the file.
#[allow(clippy::too_many_arguments)]
pub fn prove(
    ctx: &Context,
    loaded: &LoadedModel,
    input: &Tensor,
    cuts: &Cuts,
    max_k: u32,
    visibility: Visibility,
    context: Option<ProofContext>,
    out: &Path,
) -> anyhow::Result<()> {
    let segments = segments_of(&loaded.model, cuts, max_k, visibility)?;
    let mut setups: Vec<ProvingSetup> = Vec::with_capacity(segments.len());
    let mut keys_time = Duration::ZERO;
    for (j, s) in segments.iter().enumerate() {
        let zk = super::zk::zk_model_with(&s.model, max_k, s.visibility)?;
        let (setup, took) = progress::spin(
            &format!("segment {j}: deriving keys (k = {})", zk.k()),
            || circuit::params(zk.k()).and_then(|p| zk.setup(&p)),
        );
        setups.push(setup.with_context(|| format!("segment {j}: deriving keys"))?);
        keys_time += took;
    }
    let mut proved = Vec::with_capacity(segments.len());
    let mut prove_times = Vec::with_capacity(segments.len());
    for (j, setup) in setups.iter().enumerate() {
        let x = proved
            .last()
            .map_or(input, |p: &circuit::ProvedStatement| &p.output);
        let start = Instant::now();
        let (one, _) = progress::spin(&format!("segment {j}: proving"), || {
            prove_segments(std::slice::from_ref(setup), x, context)
        });
        prove_times.push(start.elapsed());
        proved.extend(one?);
    }
    let file = SegmentProofsFile {
        format: SEGMENT_PROOFS_FORMAT.into(),
        model_id: loaded.id.to_string(),
        visibility: visibility.to_string(),
        segments: segments
            .iter()
            .zip(&setups)
            .zip(&proved)
            .map(|((s, setup), p)| SegmentEntry {
                nodes: [s.nodes.start, s.nodes.end],
                proof: StatementProofFile::new(
                    &ModelId::of(&s.model),
                    setup.verifier.k,
                    setup.verifier.vk_hash(),
                    &p.statement,
                    &p.proof,
                ),
            })
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&file)?;
    text.push('\n');
    std::fs::write(out, text).with_context(|| format!("writing {}", out.display()))?;
    let output = proved
        .last()
        .map(|p| p.output.clone())
        .context("no segments")?;
    let total_bytes: usize = proved.iter().map(|p| p.proof.len()).sum();
    let prove_total: Duration = prove_times.iter().sum();
    let rows: Vec<serde_json::Value> = segments
        .iter()
        .zip(&setups)
        .zip(&proved)
        .zip(&prove_times)
        .map(|(((s, setup), p), t)| {
            json!({
                "nodes": [s.nodes.start, s.nodes.end],
                "k": setup.verifier.k,
                "vk_hash": hex::encode(setup.verifier.vk_hash()),
                "visibility": s.visibility.to_string(),
                "proof_bytes": p.proof.len(),
                "prove_seconds": secs(*t),
            })
        })
        .collect();
    let doc = json!({
        "model_id": loaded.id.to_string(),
        "visibility": visibility.to_string(),
        "segments": rows,
        "output": output.values(),
        "proof_bytes": total_bytes,
        "file": out.display().to_string(),
        "seconds": { "keys": secs(keys_time), "prove": secs(prove_total) },
    });
    ctx.output.emit(doc, || {
        let mut s = format!(
            "model id:  {}\nsegments:  {} ({visibility}; interior tensors committed)\n",
            loaded.id,
            segments.len()
        );
        for (j, ((seg, setup), (p, t))) in segments
            .iter()
            .zip(&setups)
            .zip(proved.iter().zip(&prove_times))
            .enumerate()
        {
            s.push_str(&format!(
                "  {j}  nodes {}..{}  k = {}  vk {}  proof {} bytes  prove {:.2}s\n",
                seg.nodes.start,
                seg.nodes.end,
                setup.verifier.k,
                hex::encode(setup.verifier.vk_hash()),
                p.proof.len(),
                t.as_secs_f64()
            ));
        }
        s.push_str(&format!(
            "output {}: {:?}\nproof:     {total_bytes} bytes in {} segments, written to {}\ntimings:   keys {:.2}s, prove {:.2}s in total",
            shape_text(output.shape()),
            output.values(),
            segments.len(),
            out.display(),
            keys_time.as_secs_f64(),
            prove_total.as_secs_f64()
        ));
        s
    });
    Ok(())
}

/// Verifies a segment proofs file against `loaded` (the whole model).
pub fn verify(ctx: &Context, loaded: &LoadedModel, path: &Path, max_k: u32) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the proof file {}", path.display()))?;
    let file: SegmentProofsFile = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a valid segment proofs file", path.display()))?;
    if file.model_id != loaded.id.to_string() {
        anyhow::bail!(
            "wrong model: the proof file {} is for model {}, but the model is {}",
            path.display(),
            file.model_id,
            loaded.id
        );
    }
    let visibility: Visibility = file.visibility.parse().context("the file's visibility")?;
    let n = file.segments.len();
    if n == 0 || n > MAX_SEGMENTS {
        anyhow::bail!("the file holds {n} segments (1 to {MAX_SEGMENTS})");
    }
    // The verifier cuts the model itself where the file says, and checks
    // that the ranges are the ones it gets.
    let cuts: Vec<usize> = file.segments.iter().skip(1).map(|s| s.nodes[0]).collect();
    let segments = split_at(&loaded.model, &cuts, visibility)?;
    let mut parts: Vec<StatementParts> = Vec::with_capacity(n);
    let mut keys = Vec::with_capacity(n);
    let mut keys_time = Duration::ZERO;
    for (j, (entry, seg)) in file.segments.iter().zip(&segments).enumerate() {
        if entry.nodes != [seg.nodes.start, seg.nodes.end] {
            anyhow::bail!(
                "segment {j} states nodes {}..{}, but cutting the model there gives {}..{}",
                entry.nodes[0],
                entry.nodes[1],
                seg.nodes.start,
                seg.nodes.end
            );
        }
        let p = entry
            .proof
            .parts()
            .with_context(|| format!("segment {j}"))?;
        if p.model_id != ModelId::of(&seg.model) {
            anyhow::bail!("segment {j} names model {}, not the segment's", p.model_id);
        }
        // With committed weights the proof is only about this model if it
        // claims this segment's weights.
        if seg.visibility.weights == WeightVisibility::Committed {
            let expected = weights_commitment(&seg.model)?;
            if p.statement.weights != Some(expected) {
                anyhow::bail!(
                    "wrong weights: segment {j} does not claim the model's weights (committed as {expected})"
                );
            }
        }
        let zk = super::zk::zk_model_with(&seg.model, max_k, seg.visibility)?;
        if entry.proof.k != zk.k() {
            anyhow::bail!(
                "segment {j} states k = {}, but its circuit has k = {}",
                entry.proof.k,
                zk.k()
            );
        }
        let (key, took) =
            progress::spin(&format!("segment {j}: deriving the verifying key"), || {
                let params = circuit::params(zk.k())?;
                let vk = zk.verifier_key(&params)?;
                Ok::<_, circuit::SetupError>((params, vk))
            });
        keys.push(key.with_context(|| format!("segment {j}: deriving the verifying key"))?);
        keys_time += took;
        parts.push(p);
    }
    let chain: Vec<SegmentProof<'_>> = parts
        .iter()
        .zip(&keys)
        .map(|(p, (params, key))| SegmentProof {
            params,
            key,
            statement: &p.statement,
            proof: &p.proof,
        })
        .collect();
    let start = Instant::now();
    verify_segments(&chain)
        .with_context(|| format!("the segment proofs in {} do not verify", path.display()))?;
    let verify_time = start.elapsed();
    let claim = |c: &circuit::TensorClaim| match c {
        circuit::TensorClaim::Public(t) => format!("{} {:?}", shape_text(t.shape()), t.values()),
        circuit::TensorClaim::Committed(c) => format!("committed {c}"),
    };
    let (first, last) = (&parts[0].statement, &parts[n - 1].statement);
    let doc = json!({
        "valid": true,
        "model_id": loaded.id.to_string(),
        "visibility": visibility.to_string(),
        "segments": segments.iter().zip(&keys).map(|(s, (_, key))| json!({
            "nodes": [s.nodes.start, s.nodes.end],
            "k": key.k,
            "vk_hash": hex::encode(key.vk_hash()),
        })).collect::<Vec<_>>(),
        "input": claim(&first.input),
        "output": claim(&last.output),
        "seconds": { "vk": secs(keys_time), "verify": secs(verify_time) },
    });
    ctx.output.emit(doc, || {
        let mut s = format!(
            "valid: {n} linked segment proofs show output {} = model(input {})\nmodel id: {}\n",
            claim(&last.output),
            claim(&first.input),
            loaded.id
        );
        for (j, (seg, (_, key))) in segments.iter().zip(&keys).enumerate() {
            s.push_str(&format!(
                "  {j}  nodes {}..{}  k = {}  vk {}\n",
                seg.nodes.start,
                seg.nodes.end,
                key.k,
                hex::encode(key.vk_hash())
            ));
        }
        s.push_str(&format!(
            "timings:  verifying keys {:.2}s, verify {:.3}s (the whole chain)",
            keys_time.as_secs_f64(),
            verify_time.as_secs_f64()
        ));
        s
    });
    Ok(())
}
