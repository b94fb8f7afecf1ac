//! Gas: what a transaction costs a validator to execute, in integer units,
//! and the per-block budget (`consensus_params.block.max_gas`) every
//! validator must be able to execute well within a round.
//!
//! CometBFT's model: CheckTx answers each transaction's `gas_wanted`; a
//! block's transactions may want at most `block.max_gas` in all (-1: no
//! limit). Synod's schedule is fixed (not a parameter) and deterministic:
//!
//! - [`GAS_PER_TX`] for what every transaction costs whatever its body (a
//!   signature check, the fee and nonce writes);
//! - [`GAS_PER_BYTE`] per encoded byte (decoding, hashing, storage);
//! - the body's own work on top ([`crate::component::Component::execution_gas`]):
//!   a proof of inference costs [`GAS_PER_PROOF_ROW`] for each of its
//!   circuit's `2^k` rows.
//!
//! One gas unit is about 20 ns of one core's work on the machine the
//! benchmarks run on (`./dev bench app`): a transfer (~150 bytes) wants
//! 2,500 gas (≈ 50 µs with its share of the block's work), a proof of the
//! shipped MLP (k = 12) ≈ 270,000 (≈ 5 ms). The budget is not charged: the
//! fee pays (see [`crate::execute::min_fee`]).

use synod_protocol::SignedTx;

use crate::{
    component::Components,
    state::{State, StateError},
};

/// Gas every transaction wants, whatever its body.
pub const GAS_PER_TX: u64 = 1_000;
/// Gas per encoded byte of a transaction.
pub const GAS_PER_BYTE: u64 = 10;
/// Gas per row of the circuit a proof of inference is verified against.
pub const GAS_PER_PROOF_ROW: u64 = 25;

/// The gas `tx` (`encoded_len` bytes) wants, at `state`.
pub fn tx_gas(
    state: &State,
    components: &Components,
    tx: &SignedTx,
    encoded_len: usize,
) -> Result<u64, StateError> {
    let execution = match components.for_body(&tx.body) {
        Ok(c) => c.execution_gas(state, &tx.body)?,
        Err(_) => 0,
    };
    Ok(GAS_PER_TX
        .saturating_add(GAS_PER_BYTE.saturating_mul(encoded_len as u64))
        .saturating_add(execution))
}

/// The block gas limit from `consensus_params.block.max_gas`: `None` (no
/// limit) for -1 or any value below 1, as CometBFT reads it.
pub fn block_limit(max_gas: i64) -> Option<u64> {
    u64::try_from(max_gas).ok().filter(|g| *g > 0)
}
