//! The light client's store: one JSON file per chain id, holding the trust
//! root and the highest verified block, written to a temporary file and
//! renamed over the old one (a crash leaves the old file or the new one).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tendermint_light_client_verifier::types::LightBlock;

use super::LightError;

/// The store's format version; a file of another version is refused.
const VERSION: u32 = 1;
/// A store file larger than this is refused (two light blocks of a
/// validator set of a few hundred members fit easily).
const MAX_FILE_BYTES: u64 = 16 << 20;

/// What the light client trusts for one chain.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Trusted {
    pub chain_id: String,
    /// The trust root (given by the user or taken on first use).
    pub root: LightBlock,
    /// The highest block verified from it.
    pub latest: LightBlock,
}

#[derive(Serialize, Deserialize)]
struct File {
    version: u32,
    #[serde(flatten)]
    trusted: Trusted,
}

/// The file of `chain_id` under `dir` (characters other than letters,
/// digits, `-`, `_` and `.` become `_`).
pub fn path(dir: &Path, chain_id: &str) -> PathBuf {
    let name: String = chain_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("{name}.json"))
}

/// The stored blocks of `chain_id`, or `None` when there is no file.
pub fn load(dir: &Path, chain_id: &str) -> Result<Option<Trusted>, LightError> {
    let path = path(dir, chain_id);
    let fail = |reason: String| LightError::Store {
        path: path.clone(),
        reason,
    };
    let meta = match std::fs::metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(fail(e.to_string())),
    };
    if meta.len() > MAX_FILE_BYTES {
        return Err(fail(format!(
            "{} bytes, more than the {MAX_FILE_BYTES} a store may have; delete it to start again",
            meta.len()
        )));
    }
    let bytes = std::fs::read(&path).map_err(|e| fail(e.to_string()))?;
    let file: File = serde_json::from_slice(&bytes).map_err(|e| {
        fail(format!(
            "not a light client store ({e}); delete it to start again"
        ))
    })?;
    if file.version != VERSION {
        return Err(fail(format!(
            "format version {}, this synod reads {VERSION}; delete it to start again",
            file.version
        )));
    }
    if file.trusted.chain_id != chain_id {
        return Err(fail(format!(
            "it holds chain {:?}, not {chain_id:?}",
            file.trusted.chain_id
        )));
    }
    Ok(Some(file.trusted))
}

/// Writes `trusted` under `dir` (created if missing).
pub fn save(dir: &Path, trusted: &Trusted) -> Result<(), LightError> {
    let path = path(dir, &trusted.chain_id);
    let fail = |reason: String| LightError::Store {
        path: path.clone(),
        reason,
    };
    std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
    let json = serde_json::to_vec_pretty(&File {
        version: VERSION,
        trusted: trusted.clone(),
    })
    .map_err(|e| fail(e.to_string()))?;
    let tmp = path.with_extension(format!("json.tmp{}", std::process::id()));
    std::fs::write(&tmp, json).map_err(|e| fail(e.to_string()))?;
    std::fs::rename(&tmp, &path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail(e.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_ids_become_safe_file_names() {
        let dir = Path::new("/x");
        assert_eq!(path(dir, "synod-local-1"), dir.join("synod-local-1.json"));
        assert_eq!(path(dir, "../etc/pa ss"), dir.join(".._etc_pa_ss.json"));
    }

    #[test]
    fn a_corrupt_or_foreign_file_is_refused_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load(dir.path(), "c").unwrap().is_none());
        std::fs::write(path(dir.path(), "c"), b"{not json").unwrap();
        let e = load(dir.path(), "c").unwrap_err().to_string();
        assert!(
            e.contains("c.json") && e.contains("not a light client store"),
            "{e}"
        );
        std::fs::write(path(dir.path(), "c"), br#"{"version": 9}"#).unwrap();
        let e = load(dir.path(), "c").unwrap_err().to_string();
        assert!(e.contains("not a light client store"), "{e}");
    }
}
