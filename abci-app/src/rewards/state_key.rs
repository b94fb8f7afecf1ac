//! Every state key the `rewards` module writes. Keys a client proves
//! against are defined in `synod_protocol::state_key` and delegated to here.

/// Module parameters.
pub fn params() -> Vec<u8> {
    synod_protocol::state_key::rewards::params()
}

/// The community treasury balance.
pub fn treasury() -> Vec<u8> {
    synod_protocol::state_key::rewards::treasury()
}

/// Fees collected in the block being executed (cleared at end of block).
pub fn block_fees() -> Vec<u8> {
    b"rewards/block_fees".to_vec()
}
