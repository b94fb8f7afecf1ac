//! Every state key the `accounts` module writes.

use synod_protocol::Address;

/// Balance and nonce of an account.
pub fn account(address: &Address) -> Vec<u8> {
    format!("accounts/account/{}", address.to_hex()).into_bytes()
}

/// Total supply of usyn.
pub fn supply() -> Vec<u8> {
    b"accounts/supply".to_vec()
}

/// Module parameters.
pub fn params() -> Vec<u8> {
    b"accounts/params".to_vec()
}
