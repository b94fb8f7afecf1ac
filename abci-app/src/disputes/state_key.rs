//! Every state key the `disputes` module writes. Numbers are zero-padded so
//! that byte order equals numeric order. Keys a client proves against are
//! defined in `synod_protocol::state_key` and delegated to here.

use synod_protocol::{state_key::disputes as proved, Address, Height};

/// Module parameters.
pub fn params() -> Vec<u8> {
    proved::params()
}

/// A dispute by id.
pub fn dispute(id: u64) -> Vec<u8> {
    proved::dispute(id)
}

/// Prefix of every dispute record.
pub fn disputes_prefix() -> Vec<u8> {
    b"disputes/dispute/".to_vec()
}

/// The last dispute id given out.
pub fn last_id() -> Vec<u8> {
    b"disputes/last_id".to_vec()
}

/// Marks that the side to move in dispute `id` loses at the end of block
/// `height` unless it moves.
pub fn deadline(height: Height, id: u64) -> Vec<u8> {
    format!("disputes/deadline/{:020}/{id:020}", height.value()).into_bytes()
}

/// Prefix of the deadlines falling at `height`.
pub fn deadlines_at(height: Height) -> Vec<u8> {
    format!("disputes/deadline/{:020}/", height.value()).into_bytes()
}

/// Marks the open dispute of `challenger` on the result of step `step` of
/// `run` (its value: the dispute id).
pub fn open_on(run: u64, step: u32, challenger: &Address) -> Vec<u8> {
    format!("disputes/open/{run:020}/{step:010}/{}", challenger.to_hex()).into_bytes()
}

/// Prefix of the open disputes on the result of step `step` of `run`.
pub fn open_on_result(run: u64, step: u32) -> Vec<u8> {
    format!("disputes/open/{run:020}/{step:010}/").into_bytes()
}

/// The dispute id at the end of a `disputes/deadline/…` key.
pub fn id_of(key: &[u8]) -> Option<u64> {
    std::str::from_utf8(key)
        .ok()?
        .rsplit('/')
        .next()?
        .parse()
        .ok()
}
