//! Every state key the `reputation` module writes (defined in
//! `synod_protocol::state_key`, where clients find them to check proofs).

use synod_protocol::{state_key::reputation as proved, Address};

/// The score of an identity.
pub fn score(address: &Address) -> Vec<u8> {
    proved::score(address)
}

/// Module parameters.
pub fn params() -> Vec<u8> {
    proved::params()
}
