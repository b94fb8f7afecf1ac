//! Key files, in the JSON CometBFT writes:
//!
//! - `config/node_key.json`: the p2p identity. Its CometBFT node id is the
//!   lowercase hex of the first 20 bytes of SHA-256 of its public key.
//! - `config/priv_validator_key.json`: the consensus key; `address` is the
//!   uppercase hex of the first 20 bytes of SHA-256 of the public key.
//! - `config/operator_key.json` (Synod's own): the validator operator's
//!   account key, which holds the genesis balance and the self-bond; `address`
//!   is its `synod1…` account address. Import it into a wallet to sign the
//!   operator's transactions (unbond, unjail, ...).
//!
//! A private key is written as CometBFT does: base64 of 64 bytes, the 32-byte
//! seed followed by the public key. Loading checks that the seed, the cached
//! public half, `pub_key` and `address` all agree, and names the first that
//! does not. These are small serde structs rather than
//! `tendermint::PrivateKey` so that each of those faults gets its own message.
//! Files holding private keys are written with mode 0600.

use std::path::Path;

use base64::{engine::general_purpose::STANDARD as BASE64, Engine as _};
use rand_core::{OsRng, RngCore, SeedableRng};
use serde::{Deserialize, Serialize};
use synod_protocol::{Address, PubKey, SecretKey};

use crate::{error::ConfigError, files};

/// The JSON `type` of an ed25519 public key.
pub const ED25519_PUB_KEY_TYPE: &str = "tendermint/PubKeyEd25519";
/// The JSON `type` of an ed25519 private key.
pub const ED25519_PRIV_KEY_TYPE: &str = "tendermint/PrivKeyEd25519";

/// Where new keys come from: a seeded ChaCha20 generator (the same seed gives
/// the same keys, for reproducible testnets) or the operating system.
pub enum KeySource {
    Seeded(Box<rand_chacha::ChaCha20Rng>),
    Os,
}

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            KeySource::Seeded(_) => "KeySource::Seeded",
            KeySource::Os => "KeySource::Os",
        })
    }
}

impl KeySource {
    /// Seeded when `seed` is given, else the OS generator.
    pub fn new(seed: Option<u64>) -> KeySource {
        match seed {
            Some(seed) => {
                KeySource::Seeded(Box::new(rand_chacha::ChaCha20Rng::seed_from_u64(seed)))
            }
            None => KeySource::Os,
        }
    }

    /// The next fresh ed25519 key.
    pub fn next_key(&mut self) -> SecretKey {
        let mut seed = [0u8; 32];
        match self {
            KeySource::Seeded(rng) => rng.fill_bytes(&mut seed),
            KeySource::Os => OsRng.fill_bytes(&mut seed),
        }
        SecretKey::from_seed(seed)
    }
}

/// `{"type": ..., "value": base64}` as in every CometBFT key file.
#[derive(Serialize, Deserialize)]
struct TypedKey {
    #[serde(rename = "type")]
    key_type: String,
    value: String,
}

impl TypedKey {
    fn public(key: &PubKey) -> TypedKey {
        TypedKey {
            key_type: ED25519_PUB_KEY_TYPE.into(),
            value: BASE64.encode(key.0),
        }
    }

    fn private(key: &SecretKey) -> TypedKey {
        let mut pair = [0u8; 64];
        pair[..32].copy_from_slice(&key.to_seed());
        pair[32..].copy_from_slice(&key.public().0);
        TypedKey {
            key_type: ED25519_PRIV_KEY_TYPE.into(),
            value: BASE64.encode(pair),
        }
    }

    fn bytes<const N: usize>(
        &self,
        path: &Path,
        field: &str,
        expected_type: &str,
    ) -> Result<[u8; N], ConfigError> {
        if self.key_type != expected_type {
            return Err(ConfigError::key(
                path,
                &format!("{field}.type"),
                format!(
                    "unsupported key type {:?}; only {expected_type:?} (ed25519) is supported",
                    self.key_type
                ),
            ));
        }
        let bytes = BASE64.decode(self.value.trim()).map_err(|e| {
            ConfigError::key(path, &format!("{field}.value"), format!("not base64: {e}"))
        })?;
        let len = bytes.len();
        bytes.try_into().map_err(|_| {
            ConfigError::key(
                path,
                &format!("{field}.value"),
                format!("holds {len} bytes, expected {N}"),
            )
        })
    }

    /// The private key, checked against the public half stored beside it.
    fn secret(&self, path: &Path, field: &str) -> Result<SecretKey, ConfigError> {
        let pair: [u8; 64] = self.bytes(path, field, ED25519_PRIV_KEY_TYPE)?;
        let mut seed = [0u8; 32];
        seed.copy_from_slice(&pair[..32]);
        let secret = SecretKey::from_seed(seed);
        if secret.public().0[..] != pair[32..] {
            return Err(ConfigError::KeyMismatch {
                path: path.to_path_buf(),
                message: format!(
                    "{field}: its second half (the public key) does not belong to its first half (the private seed)"
                ),
            });
        }
        Ok(secret)
    }
}

fn check_public(path: &Path, secret: &SecretKey, stored: &TypedKey) -> Result<(), ConfigError> {
    let stored = PubKey(stored.bytes(path, "pub_key", ED25519_PUB_KEY_TYPE)?);
    if stored != secret.public() {
        return Err(ConfigError::KeyMismatch {
            path: path.to_path_buf(),
            message: format!(
                "pub_key {} does not match priv_key, whose public key is {}",
                BASE64.encode(stored.0),
                BASE64.encode(secret.public().0)
            ),
        });
    }
    Ok(())
}

fn parse_json<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T, ConfigError> {
    let mut de = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut de).map_err(|e| ConfigError::json(path, e))
}

/// The JSON of a key file: a `priv_key`, and whatever is stored beside it
/// that must agree with it.
trait KeyFileJson: serde::de::DeserializeOwned {
    fn priv_key(&self) -> &TypedKey;

    /// Checks the fields stored beside the private key against it.
    fn check_against(&self, path: &Path, secret: &SecretKey) -> Result<(), ConfigError>;
}

/// Reads the key file at `path` as `J`: its private key, checked against
/// its own public half and against everything `J` stores beside it. The
/// one reader of every key file, so each fault reads the same in all.
fn read_key_file<J: KeyFileJson>(path: &Path) -> Result<SecretKey, ConfigError> {
    let json: J = parse_json(path, &files::read_text(path)?)?;
    let secret = json.priv_key().secret(path, "priv_key")?;
    json.check_against(path, &secret)?;
    Ok(secret)
}

/// How a key file's `address` derives from its public key.
trait KeyAddress: serde::de::DeserializeOwned + PartialEq + std::fmt::Display {
    fn of(key: &PubKey) -> Self;
}

/// CometBFT's validator address (`priv_validator_key.json`).
impl KeyAddress for tendermint::account::Id {
    fn of(key: &PubKey) -> Self {
        validator_address(key)
    }
}

/// Synod's account address (`operator_key.json`).
impl KeyAddress for Address {
    fn of(key: &PubKey) -> Self {
        key.address()
    }
}

/// A key file with `address`, `pub_key` and `priv_key`, in that order.
#[derive(Serialize, Deserialize)]
struct AddressedKeyJson<A> {
    address: A,
    pub_key: TypedKey,
    priv_key: TypedKey,
}

impl<A: KeyAddress> AddressedKeyJson<A> {
    fn new(key: &SecretKey) -> Self {
        AddressedKeyJson {
            address: A::of(&key.public()),
            pub_key: TypedKey::public(&key.public()),
            priv_key: TypedKey::private(key),
        }
    }
}

impl<A: KeyAddress> KeyFileJson for AddressedKeyJson<A> {
    fn priv_key(&self) -> &TypedKey {
        &self.priv_key
    }

    /// `pub_key` and `address` must be the key's.
    fn check_against(&self, path: &Path, secret: &SecretKey) -> Result<(), ConfigError> {
        check_public(path, secret, &self.pub_key)?;
        let expected = A::of(&secret.public());
        if self.address != expected {
            return Err(ConfigError::KeyMismatch {
                path: path.to_path_buf(),
                message: format!(
                    "address {} is not the address of the key, which is {expected}",
                    self.address
                ),
            });
        }
        Ok(())
    }
}

fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    // Serializing these plain structs of strings cannot fail.
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text.into_bytes()
}

/// The first 20 bytes of SHA-256 of an ed25519 public key: CometBFT's
/// validator address and node id, and Synod's account address. Takes the
/// raw 32 key bytes, so the node (which does not know Synod's key types)
/// computes them the same way.
pub fn key_hash(key: &[u8; 32]) -> [u8; 20] {
    Address::from_key_bytes(key).0
}

/// The CometBFT node id of a node public key.
pub fn node_id(key: &PubKey) -> tendermint::node::Id {
    tendermint::node::Id::new(key_hash(&key.0))
}

/// The CometBFT validator address of a consensus public key.
pub fn validator_address(key: &PubKey) -> tendermint::account::Id {
    tendermint::account::Id::new(key_hash(&key.0))
}

/// The JSON CometBFT prints for a public key (`show-validator`):
/// `{"type":"tendermint/PubKeyEd25519","value":"<base64>"}`.
pub fn public_key_json(key: &PubKey) -> String {
    serde_json::to_string(&TypedKey::public(key)).unwrap_or_default()
}

/// `config/node_key.json`: the node's p2p identity key.
#[derive(Clone, Debug)]
pub struct NodeKey(pub SecretKey);

#[derive(Serialize, Deserialize)]
struct NodeKeyJson {
    priv_key: TypedKey,
}

impl KeyFileJson for NodeKeyJson {
    fn priv_key(&self) -> &TypedKey {
        &self.priv_key
    }

    /// Nothing is stored beside the private key.
    fn check_against(&self, _path: &Path, _secret: &SecretKey) -> Result<(), ConfigError> {
        Ok(())
    }
}

impl NodeKey {
    /// Its public key.
    pub fn public(&self) -> PubKey {
        self.0.public()
    }

    /// Its CometBFT node id (`<id>@host:port` in peer lists).
    pub fn node_id(&self) -> tendermint::node::Id {
        node_id(&self.public())
    }

    /// Reads and checks the file.
    pub fn read(path: &Path) -> Result<NodeKey, ConfigError> {
        read_key_file::<NodeKeyJson>(path).map(NodeKey)
    }

    /// Writes the file (mode 0600).
    pub fn write(&self, path: &Path) -> Result<(), ConfigError> {
        let json = NodeKeyJson {
            priv_key: TypedKey::private(&self.0),
        };
        files::write_private(path, &to_json(&json))
    }
}

/// `config/priv_validator_key.json`: the validator's consensus key.
#[derive(Clone, Debug)]
pub struct PrivValidatorKey(pub SecretKey);

impl PrivValidatorKey {
    /// Its public key.
    pub fn public(&self) -> PubKey {
        self.0.public()
    }

    /// Its CometBFT validator address.
    pub fn address(&self) -> tendermint::account::Id {
        validator_address(&self.public())
    }

    /// Reads the file and checks that address, public and private key agree.
    pub fn read(path: &Path) -> Result<PrivValidatorKey, ConfigError> {
        read_key_file::<AddressedKeyJson<tendermint::account::Id>>(path).map(PrivValidatorKey)
    }

    /// Writes the file (mode 0600).
    pub fn write(&self, path: &Path) -> Result<(), ConfigError> {
        let json = AddressedKeyJson::<tendermint::account::Id>::new(&self.0);
        files::write_private(path, &to_json(&json))
    }
}

/// `config/operator_key.json`: the validator operator's Synod account key.
#[derive(Clone, Debug)]
pub struct OperatorKey(pub SecretKey);

impl OperatorKey {
    /// Its account address.
    pub fn address(&self) -> Address {
        self.0.public().address()
    }

    /// Reads the file and checks that address, public and private key agree.
    pub fn read(path: &Path) -> Result<OperatorKey, ConfigError> {
        read_key_file::<AddressedKeyJson<Address>>(path).map(OperatorKey)
    }

    /// Writes the file (mode 0600).
    pub fn write(&self, path: &Path) -> Result<(), ConfigError> {
        let json = AddressedKeyJson::<Address>::new(&self.0);
        files::write_private(path, &to_json(&json))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn key(byte: u8) -> SecretKey {
        SecretKey::from_seed([byte; 32])
    }

    #[test]
    fn key_files_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.json");
        NodeKey(key(1)).write(&path).unwrap();
        assert_eq!(NodeKey::read(&path).unwrap().0.to_seed(), [1; 32]);
        PrivValidatorKey(key(2)).write(&path).unwrap();
        assert_eq!(PrivValidatorKey::read(&path).unwrap().0.to_seed(), [2; 32]);
        OperatorKey(key(3)).write(&path).unwrap();
        assert_eq!(OperatorKey::read(&path).unwrap().0.to_seed(), [3; 32]);
    }

    #[test]
    fn priv_validator_key_has_cometbft_shape() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.json");
        let k = PrivValidatorKey(key(2));
        k.write(&path).unwrap();
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let address = json["address"].as_str().unwrap();
        assert_eq!(address.len(), 40);
        assert_eq!(address, address.to_uppercase());
        assert_eq!(address, hex_of(&key_hash(&k.public().0)).to_uppercase());
        assert_eq!(json["pub_key"]["type"], ED25519_PUB_KEY_TYPE);
        assert_eq!(json["priv_key"]["type"], ED25519_PRIV_KEY_TYPE);
        let pair = BASE64
            .decode(json["priv_key"]["value"].as_str().unwrap())
            .unwrap();
        assert_eq!(pair.len(), 64);
        assert_eq!(&pair[32..], &k.public().0[..]);
    }

    fn hex_of(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn node_id_is_lowercase_hex_of_the_key_hash() {
        let k = NodeKey(key(9));
        assert_eq!(k.node_id().to_string(), hex_of(&key_hash(&k.public().0)));
    }

    #[test]
    fn a_pub_key_from_another_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("priv_validator_key.json");
        PrivValidatorKey(key(2)).write(&path).unwrap();
        let mut json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        json["pub_key"]["value"] = BASE64.encode(key(5).public().0).into();
        std::fs::write(&path, json.to_string()).unwrap();
        let err = PrivValidatorKey::read(&path).unwrap_err();
        assert!(matches!(err, ConfigError::KeyMismatch { .. }), "{err}");
        assert!(err.to_string().contains("does not match priv_key"), "{err}");
        assert!(err.to_string().contains("priv_validator_key.json"), "{err}");
    }

    #[test]
    fn a_priv_key_whose_halves_disagree_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node_key.json");
        let mut pair = [0u8; 64];
        pair[..32].copy_from_slice(&[1; 32]);
        pair[32..].copy_from_slice(&key(2).public().0);
        let text = format!(
            r#"{{"priv_key":{{"type":"{ED25519_PRIV_KEY_TYPE}","value":"{}"}}}}"#,
            BASE64.encode(pair)
        );
        std::fs::write(&path, text).unwrap();
        let err = NodeKey::read(&path).unwrap_err();
        assert!(matches!(err, ConfigError::KeyMismatch { .. }), "{err}");
    }

    #[test]
    fn a_wrong_address_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("operator_key.json");
        OperatorKey(key(3)).write(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap().replace(
            &key(3).public().address().to_string(),
            &key(4).public().address().to_string(),
        );
        std::fs::write(&path, text).unwrap();
        let err = OperatorKey::read(&path).unwrap_err();
        assert!(
            err.to_string().contains("is not the address of the key"),
            "{err}"
        );
    }

    #[test]
    fn a_validator_key_file_naming_another_address_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("priv_validator_key.json");
        PrivValidatorKey(key(2)).write(&path).unwrap();
        let other = PrivValidatorKey(key(4)).address().to_string();
        let mine = PrivValidatorKey(key(2)).address().to_string();
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace(&mine, &other);
        std::fs::write(&path, text).unwrap();
        let err = PrivValidatorKey::read(&path).unwrap_err();
        assert!(matches!(err, ConfigError::KeyMismatch { .. }), "{err}");
        assert!(
            err.to_string().contains(&format!(
                "address {other} is not the address of the key, which is {mine}"
            )),
            "{err}"
        );
    }

    #[test]
    fn a_bad_key_value_names_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node_key.json");
        std::fs::write(
            &path,
            r#"{"priv_key":{"type":"tendermint/PrivKeyEd25519","value":"AAAA"}}"#,
        )
        .unwrap();
        let err = NodeKey::read(&path).unwrap_err();
        assert!(err.to_string().contains("priv_key.value"), "{err}");
        std::fs::write(
            &path,
            r#"{"priv_key":{"type":"tendermint/PrivKeySecp256k1","value":"AAAA"}}"#,
        )
        .unwrap();
        let err = NodeKey::read(&path).unwrap_err();
        assert!(err.to_string().contains("priv_key.type"), "{err}");
        std::fs::write(&path, r#"{"priv_key":{"type":"x"}}"#).unwrap();
        let err = NodeKey::read(&path).unwrap_err();
        assert!(err.to_string().contains("priv_key"), "{err}");
        assert!(err.to_string().contains("value"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn private_key_files_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.json");
        std::fs::write(&path, "old").unwrap();
        NodeKey(key(1)).write(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn seeded_sources_repeat_and_os_sources_do_not() {
        let a: Vec<_> = (0..3)
            .map({
                let mut s = KeySource::new(Some(7));
                move |_| s.next_key().to_seed()
            })
            .collect();
        let b: Vec<_> = (0..3)
            .map({
                let mut s = KeySource::new(Some(7));
                move |_| s.next_key().to_seed()
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(a[0], a[1]);
        let mut os = KeySource::new(None);
        assert_ne!(os.next_key().to_seed(), os.next_key().to_seed());
    }
}
