//! Every state key the `accounts` module writes. Keys a client proves
//! against are defined in `synod_protocol::state_key` and delegated to here.

use synod_protocol::{state_key::accounts as proved, Address};

/// Balance and nonce of an account.
pub fn account(address: &Address) -> Vec<u8> {
    proved::account(address)
}

/// Total supply of usyn.
pub fn supply() -> Vec<u8> {
    b"accounts/supply".to_vec()
}

/// Module parameters.
pub fn params() -> Vec<u8> {
    proved::params()
}
