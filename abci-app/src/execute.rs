//! The transaction pipeline shared by CheckTx, PrepareProposal and
//! FinalizeBlock: stateless checks, signature (batched), fee and nonce, body.

use synod_protocol::{params::AccountsParams, Amount, Event, Height, SignedTx};

use crate::{
    accounts,
    component::{Components, ProofMode, TxContext},
    error::{HandlerError, TxError},
    rewards,
    state::{State, StateError},
};

/// What became of one transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxOutcome {
    pub result: Result<(), TxError>,
    pub events: Vec<Event>,
    /// The gas it wants ([`crate::gas::tx_gas`]; 0 if it does not decode):
    /// ABCI's `gas_wanted`, and `gas_used` in a block.
    pub gas: u64,
}

impl TxOutcome {
    /// Refused before anything was charged.
    pub fn rejected(e: TxError, gas: u64) -> TxOutcome {
        TxOutcome {
            result: Err(e),
            events: Vec::new(),
            gas,
        }
    }

    /// The ABCI result code: 0 for success.
    pub fn code(&self) -> u32 {
        self.result.as_ref().err().map_or(0, TxError::code)
    }

    /// Whether the transaction paid its fee and used its nonce (it passed
    /// the signature, fee and nonce checks; its body may still have failed).
    /// [`execute_tx`] makes `FeePaid` the first event of exactly these.
    pub fn paid(&self) -> bool {
        matches!(self.events.first(), Some(Event::FeePaid { .. }))
    }

    /// A human message: empty for success, the reason otherwise.
    pub fn log(&self) -> String {
        self.result
            .as_ref()
            .err()
            .map_or_else(String::new, ToString::to_string)
    }
}

/// Stateless checks: size, strict canonical decoding, chain id, and the
/// body's own shape (its module's [`crate::component::Component::check_stateless`]).
/// Cheap enough for CheckTx and ProcessProposal.
pub fn decode_tx(
    bytes: &[u8],
    params: &AccountsParams,
    chain_id: &str,
    components: &Components,
) -> Result<SignedTx, TxError> {
    if bytes.len() as u64 > params.max_tx_bytes {
        return Err(TxError::TooLarge {
            len: bytes.len(),
            max: params.max_tx_bytes,
        });
    }
    let tx = SignedTx::decode(bytes, params.max_tx_bytes as usize)?;
    if tx.chain_id != chain_id {
        return Err(TxError::WrongChainId {
            expected: chain_id.to_string(),
            got: tx.chain_id,
        });
    }
    components.for_body(&tx.body)?.check_stateless(&tx.body)?;
    Ok(tx)
}

/// Verifies many signatures at once; `true` where valid. A batch that fails
/// is re-checked one by one, so the answer is the same as checking each alone
/// (ed25519-consensus guarantees batch and single verification agree).
///
/// The batch's random coefficients come from a ChaCha20 stream seeded with
/// SHA-256 of every (key, signature, message) in the batch: the same on every
/// node (no OS randomness in the state machine), and unpredictable before
/// the signatures are fixed, since changing any signature changes them all
/// (so no one can craft invalid signatures that cancel out in the sum).
pub fn verify_signatures(txs: &[&SignedTx]) -> Vec<bool> {
    use rand_core::SeedableRng;
    use sha2::Digest;
    if txs.is_empty() {
        return Vec::new();
    }
    let messages: Vec<Vec<u8>> = txs.iter().map(|tx| tx.unsigned().sign_bytes()).collect();
    let mut batch = ed25519_consensus::batch::Verifier::new();
    let mut seed = sha2::Sha256::new();
    seed.update(b"synod-batch-ed25519/v1");
    for (tx, msg) in txs.iter().zip(&messages) {
        seed.update(tx.signer.0);
        seed.update(tx.signature.0);
        seed.update((msg.len() as u64).to_be_bytes());
        seed.update(msg);
        let key = ed25519_consensus::VerificationKeyBytes::from(tx.signer.0);
        let sig = ed25519_consensus::Signature::from(tx.signature.0);
        batch.queue((key, sig, msg));
    }
    let rng = rand_chacha::ChaCha20Rng::from_seed(seed.finalize().into());
    if batch.verify(rng).is_ok() {
        return vec![true; txs.len()];
    }
    txs.iter()
        .zip(&messages)
        .map(|(tx, msg)| tx.signer.verify(msg, &tx.signature).is_ok())
        .collect()
}

/// The smallest fee `tx` may pay: the per-byte fee of its `encoded_len`
/// bytes plus its body's [`crate::component::Component::execution_fee`].
pub fn min_fee(
    state: &State,
    components: &Components,
    tx: &SignedTx,
    encoded_len: usize,
) -> Result<(Amount, Amount), StateError> {
    let bytes = accounts::params(state)?.min_fee(encoded_len);
    let execution = match components.for_body(&tx.body) {
        Ok(c) => c.execution_fee(state, &tx.body)?,
        Err(_) => Amount::ZERO,
    };
    Ok((Amount(bytes.0.saturating_add(execution.0)), execution))
}

/// `Err` (the inner result) if `tx`'s fee is below [`min_fee`].
pub fn check_fee(
    state: &State,
    components: &Components,
    tx: &SignedTx,
    encoded_len: usize,
) -> Result<Result<(), TxError>, StateError> {
    let (min, execution) = min_fee(state, components, tx, encoded_len)?;
    Ok(if tx.fee < min {
        Err(TxError::FeeTooLow {
            got: tx.fee,
            min,
            len: encoded_len,
            execution,
        })
    } else {
        Ok(())
    })
}

/// Executes a decoded transaction whose signature has been checked (or is
/// checked here if `signature_ok` is `None`). A transaction that passes the
/// signature, nonce and fee checks pays its fee and uses its nonce even if its
/// body then fails; its body's writes are dropped whole. `proofs` says whether
/// proofs of inference are verified (in a block) or only checked cheaply.
pub fn execute_tx(
    state: &mut State,
    components: &Components,
    tx: &SignedTx,
    encoded_len: usize,
    height: Height,
    signature_ok: Option<bool>,
    proofs: ProofMode<'_>,
) -> Result<TxOutcome, StateError> {
    let signer = tx.sender();
    let gas = crate::gas::tx_gas(state, components, tx, encoded_len)?;
    let sig_ok = signature_ok.unwrap_or_else(|| tx.verify_signature().is_ok());
    if !sig_ok {
        return Ok(TxOutcome::rejected(TxError::BadSignature { signer }, gas));
    }
    if let Err(e) = check_fee(state, components, tx, encoded_len)? {
        return Ok(TxOutcome::rejected(e, gas));
    }

    let charged = state.atomic(|state| {
        accounts::charge_fee_and_nonce(state, &signer, tx.nonce, tx.fee)?;
        rewards::collect_fee(state, tx.fee)
    });
    match charged {
        Ok(()) => {}
        Err(HandlerError::Tx(e)) => return Ok(TxOutcome::rejected(e, gas)),
        Err(HandlerError::State(e)) => return Err(e),
    }
    let mut events = vec![Event::FeePaid {
        payer: signer,
        fee: tx.fee,
    }];

    let mut body_events = Vec::new();
    let ctx = TxContext {
        signer,
        height,
        proofs,
    };
    let body = |state: &mut State| {
        components
            .for_body(&tx.body)?
            .check_and_execute(state, &ctx, &tx.body, &mut body_events)
    };
    match state.atomic(body) {
        Ok(()) => {
            events.extend(body_events);
            Ok(TxOutcome {
                result: Ok(()),
                events,
                gas,
            })
        }
        Err(HandlerError::Tx(e)) => Ok(TxOutcome {
            result: Err(e),
            events,
            gas,
        }),
        Err(HandlerError::State(e)) => Err(e),
    }
}

/// Like [`execute_tx`], but a transaction that fails leaves no trace at all,
/// not even its fee and nonce, and proofs of inference get the cheap checks
/// only (the block verifies them). For CheckTx and PrepareProposal: a
/// transaction they turn away never reaches a block, so the views must not
/// count it.
pub fn simulate_tx(
    state: &mut State,
    components: &Components,
    tx: &SignedTx,
    encoded_len: usize,
    height: Height,
    signature_ok: Option<bool>,
) -> Result<TxOutcome, StateError> {
    state.begin();
    let outcome = execute_tx(
        state,
        components,
        tx,
        encoded_len,
        height,
        signature_ok,
        ProofMode::Deferred,
    );
    match &outcome {
        Ok(o) if o.result.is_ok() => state.commit(),
        _ => state.abort(),
    }
    outcome
}

#[cfg(test)]
mod tests {
    use synod_protocol::{Address, Amount, SecretKey, TxBody, UnsignedTx};

    use super::verify_signatures;

    fn transfer(seed: u8, nonce: u64) -> synod_protocol::SignedTx {
        let key = SecretKey::from_seed([seed; 32]);
        UnsignedTx {
            chain_id: "c".into(),
            signer: key.public(),
            nonce,
            fee: Amount(1),
            body: TxBody::Transfer {
                to: Address([seed; 20]),
                amount: Amount(5),
            },
        }
        .sign(&key)
    }

    #[test]
    fn a_batch_names_exactly_the_bad_signatures_the_same_way_every_time() {
        let mut txs: Vec<_> = (1..=8).map(|i| transfer(i, u64::from(i))).collect();
        let all: Vec<_> = txs.iter().collect();
        assert_eq!(verify_signatures(&all), vec![true; 8]);
        // Two signatures swapped between txs: both invalid, the rest valid.
        let s2 = txs[2].signature;
        txs[2].signature = txs[5].signature;
        txs[5].signature = s2;
        let all: Vec<_> = txs.iter().collect();
        let expected: Vec<bool> = (0..8).map(|i| i != 2 && i != 5).collect();
        for _ in 0..3 {
            assert_eq!(verify_signatures(&all), expected);
        }
        assert!(verify_signatures(&[]).is_empty());
    }
}
