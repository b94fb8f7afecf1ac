//! Every state key the `reputation` module writes.

use synod_protocol::Address;

/// The score of an identity.
pub fn score(address: &Address) -> Vec<u8> {
    format!("reputation/score/{}", address.to_hex()).into_bytes()
}

/// Module parameters.
pub fn params() -> Vec<u8> {
    b"reputation/params".to_vec()
}
