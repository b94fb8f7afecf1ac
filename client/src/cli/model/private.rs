//! Private models (committed weights, issue 15): the public description of
//! a model whose weights stay with their owner, `synod-private-model/v1`.
//!
//! `synod model import … --visibility weights=committed` writes it beside
//! the `.synod-model` file (which keeps the weights, for the owner to
//! prove with). It holds the architecture (the model with every weight and
//! bias zero, as a `.synod-model` file in hex), the weights' commitment
//! (`synod-weights/v1`), the visibility, `k` and the verifying key's hash:
//! all a verifier needs, since with committed weights the key depends only
//! on the architecture. Such a model is zk-only: without the weights nobody
//! can re-execute it, so it cannot be checked optimistically or disputed.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use synod_zkml::{
    circuit::{self, Visibility, WeightVisibility},
    ir::{LoadedModel, ModelId, FILE_MAGIC},
    private_model::{architecture, is_architecture, weights_commitment},
    Model, TensorCommitment,
};

use super::{load_model, zk::zk_model_with};

/// The `format` of a private model file.
pub const PRIVATE_MODEL_FORMAT: &str = "synod-private-model/v1";
/// The weight commitment scheme the file names.
const WEIGHTS_SCHEME: &str = synod_zkml::private_model::WEIGHTS_COMMITMENT_SCHEME;
/// The largest private model file read (its architecture is as large as
/// the model, in hex).
const MAX_FILE_BYTES: u64 = 256 << 20;

/// The file as written (JSON).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PrivateModelFile {
    format: String,
    name: String,
    /// Hex id of the architecture (what proof files name as the model).
    architecture_id: String,
    weights_scheme: String,
    /// Hex of the weights' commitment (the proof's instance value).
    weights_commitment: String,
    parameters: u64,
    /// The visibility proofs of this model use (weights=committed).
    visibility: String,
    k: u32,
    /// Hex vk hash of the architecture's key under `visibility`.
    vk_hash: String,
    /// Hex of the architecture's `.synod-model` file bytes.
    architecture: String,
}

/// A checked private model: what a verifier holds.
#[derive(Debug)]
pub struct PrivateModel {
    /// The model with every weight and bias zero.
    pub architecture: LoadedModel,
    /// The weights' commitment.
    pub weights: TensorCommitment,
    /// The visibility of its proofs (weights committed).
    pub visibility: Visibility,
    /// The circuit size exponent.
    pub k: u32,
    /// The verifying key's hash (of the architecture under `visibility`).
    pub vk_hash: [u8; 32],
}

impl PrivateModel {
    /// The private model of `model` (with its weights) under `visibility`
    /// (which must commit the weights): derives the verifying key.
    pub fn of(model: &Model, visibility: Visibility, max_k: u32) -> anyhow::Result<PrivateModel> {
        if visibility.weights != WeightVisibility::Committed {
            anyhow::bail!("a private model commits its weights: {visibility} does not");
        }
        let arch = architecture(model);
        let zk = zk_model_with(&arch, max_k, visibility)?;
        let params = circuit::params(zk.k()).context("deriving the parameters")?;
        let key = zk
            .verifier_key(&params)
            .context("deriving the verifying key")?;
        let info = arch.validate()?;
        Ok(PrivateModel {
            architecture: LoadedModel {
                id: ModelId::of(&arch),
                model: arch,
                info,
            },
            weights: weights_commitment(model).context("committing to the weights")?,
            visibility,
            k: zk.k(),
            vk_hash: key.vk_hash(),
        })
    }

    /// Where `synod model import` writes the private model of `model_path`:
    /// `NAME.private.json` beside `NAME.synod-model`.
    pub fn path_for(model_path: &Path) -> PathBuf {
        model_path.with_extension("private.json")
    }

    /// Writes the file.
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let file = PrivateModelFile {
            format: PRIVATE_MODEL_FORMAT.into(),
            name: self.architecture.model.name.clone(),
            architecture_id: self.architecture.id.to_string(),
            weights_scheme: WEIGHTS_SCHEME.into(),
            weights_commitment: self.weights.to_string(),
            parameters: self.architecture.info.parameter_count,
            visibility: self.visibility.to_string(),
            k: self.k,
            vk_hash: hex::encode(self.vk_hash),
            architecture: hex::encode(self.architecture.model.to_file_bytes()),
        };
        let mut text = serde_json::to_string_pretty(&file)?;
        text.push('\n');
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
    }

    /// Reads and checks a private model file: the architecture decodes, is
    /// valid, has only zero weights and has the stated id; the commitment
    /// and hash are 32 bytes (the commitment a canonical field element);
    /// the visibility commits the weights. The verifying key is not
    /// derived here (see [`PrivateModel::check_key`]).
    pub fn read(path: &Path) -> anyhow::Result<PrivateModel> {
        let len = std::fs::metadata(path)
            .with_context(|| format!("cannot read the model file {}", path.display()))?
            .len();
        if len > MAX_FILE_BYTES {
            anyhow::bail!(
                "{} is {len} bytes, over the {MAX_FILE_BYTES}-byte limit of a private model file",
                path.display()
            );
        }
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the model file {}", path.display()))?;
        Self::parse(&text)
            .with_context(|| format!("{} is not a valid private model file", path.display()))
    }

    fn parse(text: &str) -> anyhow::Result<PrivateModel> {
        let file: PrivateModelFile = serde_json::from_str(text).context("bad JSON")?;
        if file.format != PRIVATE_MODEL_FORMAT {
            anyhow::bail!(
                "format is {:?}, expected {PRIVATE_MODEL_FORMAT:?}",
                file.format
            );
        }
        if file.weights_scheme != WEIGHTS_SCHEME {
            anyhow::bail!(
                "weights_scheme is {:?}, expected {WEIGHTS_SCHEME:?}",
                file.weights_scheme
            );
        }
        let bytes = hex::decode(file.architecture.trim()).context("architecture: not hex")?;
        let architecture = Model::from_file_bytes(&bytes).context("architecture")?;
        if !is_architecture(&architecture.model) {
            anyhow::bail!("architecture: it holds nonzero weights (an architecture has none)");
        }
        if architecture.id.to_string() != file.architecture_id {
            anyhow::bail!(
                "architecture_id is {}, but the architecture's id is {}",
                file.architecture_id,
                architecture.id
            );
        }
        if architecture.info.parameter_count != file.parameters {
            anyhow::bail!(
                "parameters is {}, but the architecture has {}",
                file.parameters,
                architecture.info.parameter_count
            );
        }
        let weights =
            TensorCommitment::from_bytes(hex32("weights_commitment", &file.weights_commitment)?)
                .context("weights_commitment")?;
        let visibility: Visibility = file.visibility.parse().context("visibility")?;
        if visibility.weights != WeightVisibility::Committed {
            anyhow::bail!("visibility {visibility} does not commit the weights");
        }
        Ok(PrivateModel {
            architecture,
            weights,
            visibility,
            k: file.k,
            vk_hash: hex32("vk_hash", &file.vk_hash)?,
        })
    }

    /// Derives the architecture's key under the file's visibility and
    /// checks it against the stated `k` and vk hash.
    pub fn check_key(&self, max_k: u32) -> anyhow::Result<()> {
        let zk = zk_model_with(&self.architecture.model, max_k, self.visibility)?;
        if zk.k() != self.k {
            anyhow::bail!(
                "the file states k = {}, but the architecture needs k = {}",
                self.k,
                zk.k()
            );
        }
        let hash = super::zk::vk_hash_of(&zk)?;
        if hash != self.vk_hash {
            anyhow::bail!(
                "the file states vk hash {}, but the architecture's key hashes to {}",
                hex::encode(self.vk_hash),
                hex::encode(hash)
            );
        }
        Ok(())
    }
}

fn hex32(what: &str, text: &str) -> anyhow::Result<[u8; 32]> {
    let bytes = hex::decode(text.trim()).with_context(|| format!("{what}: not hex"))?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| anyhow::anyhow!("{what}: {} bytes, expected 32", bytes.len()))
}

/// A model file of either kind: a `.synod-model` (with its weights) or a
/// private model file (architecture and weights commitment).
pub enum AnyModel {
    /// A `.synod-model` file.
    Full(LoadedModel),
    /// A `synod-private-model/v1` file.
    Private(PrivateModel),
}

/// Reads `path` as a private model file when it starts as a JSON object
/// (`{`), else as a `.synod-model` file (whose loader names any problem).
pub fn load_any(path: &Path) -> anyhow::Result<AnyModel> {
    let mut head = [0u8; 64];
    let read = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .unwrap_or(0);
    let json = head[..read]
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'{');
    if json && head[..read.min(FILE_MAGIC.len())] != FILE_MAGIC {
        PrivateModel::read(path).map(AnyModel::Private)
    } else {
        load_model(path).map(AnyModel::Full)
    }
}
