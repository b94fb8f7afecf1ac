//! Every state key the app itself writes (outside any module): the chain
//! id and the height and time of the last block.

/// The chain id, set at genesis.
pub fn chain_id() -> Vec<u8> {
    b"app/chain_id".to_vec()
}
/// Height of the last executed block (written every block, so every block
/// changes the tree and gets its own version).
pub fn height() -> Vec<u8> {
    b"app/height".to_vec()
}
/// The state version holding genesis (`initial_height - 1`).
pub fn genesis_version() -> Vec<u8> {
    b"app/genesis_version".to_vec()
}
/// Header time (unix seconds) of the last executed block.
pub fn time() -> Vec<u8> {
    b"app/time".to_vec()
}
/// The block gas limit from genesis' `consensus_params.block.max_gas`
/// (absent: no limit).
pub fn max_block_gas() -> Vec<u8> {
    b"app/max_block_gas".to_vec()
}
