//! Every state key the `models` module writes. Keys a client proves against
//! are defined in `synod_protocol::state_key` and delegated to here.

use synod_protocol::{state_key::models as proved, Height};

/// Module parameters.
pub fn params() -> Vec<u8> {
    proved::params()
}

/// A model record ([`synod_protocol::state::ModelRecord`]), by model id.
pub fn model(id: &[u8; 32]) -> Vec<u8> {
    proved::model(id)
}

/// Prefix of every model record.
pub fn models_prefix() -> Vec<u8> {
    b"models/model/".to_vec()
}

/// The `.synod-model` file bytes of a model, by model id: every node
/// re-derives the verifying key from them (and checks it against the
/// record's `vk_hash`).
pub fn ir(id: &[u8; 32]) -> Vec<u8> {
    format!("models/ir/{}", hex::encode(id)).into_bytes()
}

/// Prefix of the retirement queue.
pub fn retirements_prefix() -> Vec<u8> {
    b"models/retire/".to_vec()
}

/// An entry of the retirement queue: model `id` retires at the end of block
/// `at` (zero-padded, so key order is height order).
pub fn retirement(at: Height, id: &[u8; 32]) -> Vec<u8> {
    format!("models/retire/{:020}/{}", at.value(), hex::encode(id)).into_bytes()
}

/// The height and model id of a retirement queue key.
pub fn parse_retirement(key: &[u8]) -> Option<(Height, [u8; 32])> {
    let rest = key.strip_prefix(retirements_prefix().as_slice())?;
    let rest = std::str::from_utf8(rest).ok()?;
    let (at, id) = rest.split_once('/')?;
    let id = <[u8; 32]>::try_from(hex::decode(id).ok()?).ok()?;
    Some((Height(at.parse().ok()?), id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_ir_live_under_separate_prefixes() {
        let id = [0x5a; 32];
        assert!(model(&id).starts_with(&models_prefix()));
        assert!(!ir(&id).starts_with(&models_prefix()));
        assert_eq!(
            ir(&id),
            format!("models/ir/{}", "5a".repeat(32)).into_bytes()
        );
        let key = retirement(Height(42), &id);
        assert!(key.starts_with(&retirements_prefix()));
        assert_eq!(parse_retirement(&key), Some((Height(42), id)));
        assert!(retirement(Height(9), &id) < retirement(Height(10), &id));
    }
}
