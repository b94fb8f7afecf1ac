//! Every state key the `models` module writes. Keys a client proves against
//! are defined in `synod_protocol::state_key` and delegated to here.

use synod_protocol::state_key::models as proved;

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
    }
}
