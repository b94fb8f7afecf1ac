//! The corpus on disk: `fuzzing/corpus/<target>/` holds the inputs a run
//! starts from (committed), `fuzzing/crashes/<target>/<sha256>.bin` the
//! inputs that made a target panic (not committed).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::FuzzError;

/// Largest corpus file read; anything bigger is not an input but a mistake.
pub const MAX_INPUT_BYTES: u64 = 4 * 1024 * 1024;

/// This crate's folder (`fuzzing/`), where `corpus/` and `crashes/` live.
pub fn fuzzing_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The committed corpora: one folder per target.
pub fn default_corpus_root() -> PathBuf {
    fuzzing_dir().join("corpus")
}

/// Where crashing inputs go: one folder per target.
pub fn default_crashes_root() -> PathBuf {
    fuzzing_dir().join("crashes")
}

/// One input read from a corpus folder.
#[derive(Clone, Debug)]
pub struct Input {
    /// Its file name.
    pub name: String,
    pub bytes: Vec<u8>,
}

/// Every input of `dir`, in file-name order (so runs are reproducible);
/// hidden files are skipped. A missing folder is an empty corpus.
pub fn load(dir: &Path) -> Result<Vec<Input>, FuzzError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(FuzzError::io(dir)(e)),
    };
    let mut inputs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(FuzzError::io(dir))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let meta = entry.metadata().map_err(FuzzError::io(&path))?;
        if name.starts_with('.') || !meta.is_file() || meta.len() > MAX_INPUT_BYTES {
            continue;
        }
        let bytes = std::fs::read(&path).map_err(FuzzError::io(&path))?;
        inputs.push(Input { name, bytes });
    }
    inputs.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(inputs)
}

/// Hex SHA-256 of an input: its name among the crashes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Writes `bytes` to `dir/name`, creating `dir`.
pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, FuzzError> {
    std::fs::create_dir_all(dir).map_err(FuzzError::io(dir))?;
    let path = dir.join(name);
    std::fs::write(&path, bytes).map_err(FuzzError::io(&path))?;
    Ok(path)
}

/// What seeding one target wrote.
#[derive(Clone, Debug, Default)]
pub struct SeedReport {
    /// Files written.
    pub written: usize,
    /// Files left as they were (they existed and `force` was off).
    pub kept: usize,
    /// Bytes of the target's seeds.
    pub bytes: usize,
}

/// Writes `target`'s seeds into `root/<target>/`, keeping files that exist
/// unless `force` (a proof is new bytes every time it is made).
pub fn write_seeds(
    target: &crate::Target,
    root: &Path,
    force: bool,
) -> Result<SeedReport, FuzzError> {
    let dir = root.join(target.name);
    let mut report = SeedReport::default();
    for (name, bytes) in (target.seeds)()? {
        report.bytes += bytes.len();
        if !force && dir.join(&name).exists() {
            report.kept += 1;
            continue;
        }
        write(&dir, &name, &bytes)?;
        report.written += 1;
    }
    Ok(report)
}
