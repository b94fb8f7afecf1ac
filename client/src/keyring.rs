//! A keyring: a directory of key files `<dir>/<name>.json` (mode 0600, the
//! directory 0700), in the format of [`crate::keyfile`].

use std::{
    fs,
    io::Write,
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
};

use synod_protocol::{Address, PubKey, SecretKey};

use crate::{keyfile, ClientError};

/// The public side of a stored key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyInfo {
    pub name: String,
    pub address: Address,
    pub public_key: PubKey,
}

impl KeyInfo {
    fn of(name: &str, key: &SecretKey) -> KeyInfo {
        KeyInfo {
            name: name.to_string(),
            address: key.public().address(),
            public_key: key.public(),
        }
    }
}

/// A directory of named keys.
#[derive(Clone, Debug)]
pub struct Keyring {
    dir: PathBuf,
}

/// The longest key name, in bytes.
pub const MAX_KEY_NAME_BYTES: usize = 64;

/// Writes `contents` to a new file of mode 0600; refuses to replace an existing file.
pub fn write_private_file(path: &Path, contents: &[u8]) -> Result<(), std::io::Error> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

impl Keyring {
    /// Opens the keyring at `dir`, creating it (mode 0700) if missing.
    pub fn open(dir: &Path) -> Result<Keyring, ClientError> {
        if !dir.exists() {
            fs::create_dir_all(dir).map_err(|e| ClientError::io(dir, e))?;
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
                .map_err(|e| ClientError::io(dir, e))?;
        } else if !dir.is_dir() {
            return Err(ClientError::io(
                dir,
                std::io::Error::other("the keyring path exists but is not a directory"),
            ));
        }
        Ok(Keyring {
            dir: dir.to_path_buf(),
        })
    }

    /// The keyring's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of key `name` (after checking the name).
    pub fn path_of(&self, name: &str) -> Result<PathBuf, ClientError> {
        check_name(name)?;
        Ok(self.dir.join(format!("{name}.json")))
    }

    /// Creates a fresh random key. Refuses to overwrite an existing key.
    pub fn generate(&self, name: &str) -> Result<KeyInfo, ClientError> {
        self.add(name, &SecretKey::generate())
    }

    /// Stores `key` under `name`. Refuses to overwrite an existing key.
    pub fn add(&self, name: &str, key: &SecretKey) -> Result<KeyInfo, ClientError> {
        let path = self.path_of(name)?;
        match write_private_file(&path, keyfile::to_json(key).as_bytes()) {
            Ok(()) => Ok(KeyInfo::of(name, key)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(ClientError::Key {
                name: name.to_string(),
                reason: format!(
                    "already exists ({}); refusing to overwrite it: delete it first (`synod keys delete {name}`) or pick another name",
                    path.display()
                ),
            }),
            Err(e) => Err(ClientError::io(&path, e)),
        }
    }

    /// Stores the key of a key file (an `operator_key.json`, a
    /// `priv_validator_key.json`, or a file written by `synod keys export`).
    pub fn import_file(&self, name: &str, path: &Path) -> Result<KeyInfo, ClientError> {
        check_name(name)?;
        let text = fs::read_to_string(path).map_err(|e| ClientError::io(path, e))?;
        let key = keyfile::from_json(&text).map_err(|reason| ClientError::Key {
            name: name.to_string(),
            reason: format!("cannot import {}: {reason}", path.display()),
        })?;
        self.add(name, &key)
    }

    /// The secret key `name`. An unknown name is an error listing the known ones.
    pub fn get(&self, name: &str) -> Result<SecretKey, ClientError> {
        let path = self.path_of(name)?;
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(self.unknown(name));
            }
            Err(e) => return Err(ClientError::io(&path, e)),
        };
        keyfile::from_json(&text).map_err(|reason| ClientError::Key {
            name: name.to_string(),
            reason: format!("{} is corrupt: {reason}", path.display()),
        })
    }

    /// The public side of key `name`.
    pub fn info(&self, name: &str) -> Result<KeyInfo, ClientError> {
        Ok(KeyInfo::of(name, &self.get(name)?))
    }

    /// Every key, sorted by name.
    pub fn list(&self) -> Result<Vec<KeyInfo>, ClientError> {
        self.names()?.iter().map(|n| self.info(n)).collect()
    }

    /// Removes key `name`.
    pub fn delete(&self, name: &str) -> Result<(), ClientError> {
        let path = self.path_of(name)?;
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(self.unknown(name)),
            Err(e) => Err(ClientError::io(&path, e)),
        }
    }

    /// Writes key `name` as a key file at `path` (mode 0600); refuses to
    /// overwrite an existing file.
    pub fn export_file(&self, name: &str, path: &Path) -> Result<KeyInfo, ClientError> {
        let key = self.get(name)?;
        write_private_file(path, keyfile::to_json(&key).as_bytes()).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                ClientError::io(
                    path,
                    std::io::Error::new(
                        std::io::ErrorKind::AlreadyExists,
                        "already exists; refusing to overwrite it: pick another --file",
                    ),
                )
            } else {
                ClientError::io(path, e)
            }
        })?;
        Ok(KeyInfo::of(name, &key))
    }

    /// The names of the stored keys, sorted.
    pub fn names(&self) -> Result<Vec<String>, ClientError> {
        let entries = fs::read_dir(&self.dir).map_err(|e| ClientError::io(&self.dir, e))?;
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| ClientError::io(&self.dir, e))?;
            let file = entry.file_name();
            let Some(name) = file.to_str().and_then(|f| f.strip_suffix(".json")) else {
                continue;
            };
            if check_name(name).is_ok() {
                names.push(name.to_string());
            }
        }
        names.sort();
        Ok(names)
    }

    fn unknown(&self, name: &str) -> ClientError {
        let known = match self.names() {
            Ok(names) if names.is_empty() => "none; create one with `synod keys add NAME`".into(),
            Ok(names) => names.join(", "),
            Err(e) => format!("(cannot list them: {e})"),
        };
        ClientError::Key {
            name: name.to_string(),
            reason: format!("no such key in {}; known keys: {known}", self.dir.display()),
        }
    }
}

/// Key names are file names: ASCII letters, digits, `-`, `_` and `.`, not
/// starting with `.`, at most [`MAX_KEY_NAME_BYTES`] bytes.
fn check_name(name: &str) -> Result<(), ClientError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_KEY_NAME_BYTES
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(ClientError::Key {
            name: name.to_string(),
            reason: format!(
                "not a valid key name: use 1 to {MAX_KEY_NAME_BYTES} ASCII letters, digits, '-', '_' or '.', not starting with '.'"
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn key_files_are_0600_in_a_0700_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a").join("keys");
        let ring = Keyring::open(&dir).unwrap();
        ring.generate("alice").unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("alice.json")), 0o600);
        let exported = tmp.path().join("alice-export.json");
        ring.export_file("alice", &exported).unwrap();
        assert_eq!(mode(&exported), 0o600);
    }

    #[test]
    fn keys_round_trip_and_list_sorted() {
        let tmp = tempfile::tempdir().unwrap();
        let ring = Keyring::open(tmp.path()).unwrap();
        let key = SecretKey::from_seed([5; 32]);
        let added = ring.add("zed", &key).unwrap();
        ring.generate("bob").unwrap();
        assert_eq!(ring.get("zed").unwrap().to_seed(), [5; 32]);
        assert_eq!(ring.info("zed").unwrap(), added);
        assert_eq!(added.address, key.public().address());
        let names: Vec<String> = ring.list().unwrap().into_iter().map(|k| k.name).collect();
        assert_eq!(names, ["bob", "zed"]);
        ring.delete("zed").unwrap();
        assert!(ring.get("zed").is_err());
    }

    #[test]
    fn an_existing_key_is_never_overwritten() {
        let tmp = tempfile::tempdir().unwrap();
        let ring = Keyring::open(tmp.path()).unwrap();
        ring.add("k", &SecretKey::from_seed([1; 32])).unwrap();
        let err = ring.add("k", &SecretKey::from_seed([2; 32])).unwrap_err();
        assert!(err.to_string().contains("refusing to overwrite"), "{err}");
        assert!(ring.generate("k").is_err());
        assert_eq!(ring.get("k").unwrap().to_seed(), [1; 32]);
    }

    #[test]
    fn exporting_over_an_existing_file_says_why_once() {
        let tmp = tempfile::tempdir().unwrap();
        let ring = Keyring::open(&tmp.path().join("keys")).unwrap();
        ring.add("k", &SecretKey::from_seed([1; 32])).unwrap();
        let target = tmp.path().join("k.json");
        std::fs::write(&target, "mine").unwrap();
        let err = ring.export_file("k", &target).unwrap_err();
        // As `synod` prints it: the error with its whole chain.
        let shown = format!("{:#}", anyhow::Error::new(err));
        assert_eq!(shown.matches("already exists").count(), 1, "{shown}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "mine");
    }

    #[test]
    fn an_unknown_name_lists_the_known_ones() {
        let tmp = tempfile::tempdir().unwrap();
        let ring = Keyring::open(tmp.path()).unwrap();
        ring.generate("alice").unwrap();
        ring.generate("bob").unwrap();
        let err = ring.get("carol").unwrap_err().to_string();
        assert!(err.contains("carol") && err.contains("alice, bob"), "{err}");
        assert!(ring
            .delete("carol")
            .unwrap_err()
            .to_string()
            .contains("alice, bob"));
    }

    #[test]
    fn an_operator_key_json_imports_as_is() {
        let tmp = tempfile::tempdir().unwrap();
        let ring = Keyring::open(&tmp.path().join("keys")).unwrap();
        // Exactly the shape consensus-config writes for config/operator_key.json.
        let key = SecretKey::from_seed([8; 32]);
        let mut pair = key.to_seed().to_vec();
        pair.extend_from_slice(&key.public().0);
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let text = serde_json::json!({
            "address": key.public().address().to_string(),
            "pub_key": {"type": "tendermint/PubKeyEd25519", "value": b64.encode(key.public().0)},
            "priv_key": {"type": "tendermint/PrivKeyEd25519", "value": b64.encode(&pair)},
        });
        let file = tmp.path().join("operator_key.json");
        fs::write(&file, serde_json::to_string_pretty(&text).unwrap()).unwrap();
        let info = ring.import_file("operator", &file).unwrap();
        assert_eq!(info.address, key.public().address());
        assert_eq!(ring.get("operator").unwrap().to_seed(), [8; 32]);
    }

    #[test]
    fn names_that_escape_the_directory_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let ring = Keyring::open(tmp.path()).unwrap();
        for bad in ["../x", "a/b", "", ".hidden"] {
            assert!(ring.generate(bad).is_err(), "{bad:?}");
        }
    }
}
