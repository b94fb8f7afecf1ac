//! Every state key the `rewards` module writes.

/// Module parameters.
pub fn params() -> Vec<u8> {
    b"rewards/params".to_vec()
}

/// The community treasury balance.
pub fn treasury() -> Vec<u8> {
    b"rewards/treasury".to_vec()
}

/// Fees collected in the block being executed (cleared at end of block).
pub fn block_fees() -> Vec<u8> {
    b"rewards/block_fees".to_vec()
}
