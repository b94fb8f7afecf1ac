//! The transaction pipeline shared by CheckTx, PrepareProposal and
//! FinalizeBlock: stateless checks, signature (batched), fee and nonce, body.

use synod_protocol::{params::AccountsParams, Event, Height, SignedTx, TxBody};

use crate::{
    accounts,
    error::{HandlerError, TxError},
    governance,
    models::{self, ProofCheck},
    rewards, staking,
    state::{State, StateError},
};

/// What became of one transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxOutcome {
    pub result: Result<(), TxError>,
    pub events: Vec<Event>,
}

impl TxOutcome {
    fn rejected(e: TxError) -> TxOutcome {
        TxOutcome {
            result: Err(e),
            events: Vec::new(),
        }
    }

    /// The ABCI result code: 0 for success.
    pub fn code(&self) -> u32 {
        self.result.as_ref().err().map_or(0, TxError::code)
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
/// body's own shape. Cheap enough for CheckTx and ProcessProposal.
pub fn decode_tx(
    bytes: &[u8],
    params: &AccountsParams,
    chain_id: &str,
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
    match &tx.body {
        TxBody::Transfer { amount, .. } | TxBody::Bond { amount } | TxBody::Unbond { amount }
            if amount.is_zero() =>
        {
            return Err(TxError::ZeroAmount)
        }
        TxBody::RegisterValidator { moniker, .. } => staking::handlers::check_moniker(moniker)?,
        TxBody::Deposit { amount, .. } if amount.is_zero() => return Err(TxError::ZeroAmount),
        TxBody::Propose {
            kind,
            title,
            summary,
            ..
        } => synod_protocol::governance::check_text(title, summary)
            .and_then(|()| kind.check())
            .map_err(|e| TxError::InvalidProposal(e.to_string()))?,
        _ => {}
    }
    Ok(tx)
}

/// Verifies many signatures at once; `true` where valid. A batch that fails
/// is re-checked one by one, so the answer is the same as checking each alone
/// (ed25519-consensus guarantees batch and single verification agree, so the
/// random batch coefficients cannot make nodes disagree).
pub fn verify_signatures(txs: &[&SignedTx]) -> Vec<bool> {
    if txs.is_empty() {
        return Vec::new();
    }
    let messages: Vec<Vec<u8>> = txs.iter().map(|tx| tx.unsigned().sign_bytes()).collect();
    let mut batch = ed25519_consensus::batch::Verifier::new();
    for (tx, msg) in txs.iter().zip(&messages) {
        let key = ed25519_consensus::VerificationKeyBytes::from(tx.signer.0);
        let sig = ed25519_consensus::Signature::from(tx.signature.0);
        batch.queue((key, sig, msg));
    }
    if batch.verify(rand_core::OsRng).is_ok() {
        return vec![true; txs.len()];
    }
    txs.iter()
        .zip(&messages)
        .map(|(tx, msg)| tx.signer.verify(msg, &tx.signature).is_ok())
        .collect()
}

/// Executes a decoded transaction whose signature has been checked (or is
/// checked here if `signature_ok` is `None`). A transaction that passes the
/// signature, nonce and fee checks pays its fee and uses its nonce even if its
/// body then fails; its body's writes are dropped whole. `proofs` says whether
/// proofs of inference are verified (in a block) or only checked cheaply.
pub fn execute_tx(
    state: &mut State,
    tx: &SignedTx,
    encoded_len: usize,
    height: Height,
    signature_ok: Option<bool>,
    proofs: ProofCheck<'_>,
) -> Result<TxOutcome, StateError> {
    let signer = tx.sender();
    let sig_ok = signature_ok.unwrap_or_else(|| tx.verify_signature().is_ok());
    if !sig_ok {
        return Ok(TxOutcome::rejected(TxError::BadSignature { signer }));
    }
    let params = accounts::params(state)?;
    let min = accounts::min_fee(&params, encoded_len);
    if tx.fee < min {
        return Ok(TxOutcome::rejected(TxError::FeeTooLow {
            got: tx.fee,
            min,
            len: encoded_len,
        }));
    }

    state.begin_tx();
    let charged = accounts::charge_fee_and_nonce(state, &signer, tx.nonce, tx.fee)
        .and_then(|()| rewards::collect_fee(state, tx.fee));
    match charged {
        Ok(()) => state.commit_tx(),
        Err(HandlerError::Tx(e)) => {
            state.abort_tx();
            return Ok(TxOutcome::rejected(e));
        }
        Err(HandlerError::State(e)) => {
            state.abort_tx();
            return Err(e);
        }
    }
    let mut events = vec![Event::FeePaid {
        payer: signer,
        fee: tx.fee,
    }];

    state.begin_tx();
    let mut body_events = Vec::new();
    match execute_body(state, tx, height, proofs, &mut body_events) {
        Ok(()) => {
            state.commit_tx();
            events.extend(body_events);
            Ok(TxOutcome {
                result: Ok(()),
                events,
            })
        }
        Err(HandlerError::Tx(e)) => {
            state.abort_tx();
            Ok(TxOutcome {
                result: Err(e),
                events,
            })
        }
        Err(HandlerError::State(e)) => {
            state.abort_tx();
            Err(e)
        }
    }
}

fn execute_body(
    state: &mut State,
    tx: &SignedTx,
    height: Height,
    proofs: ProofCheck<'_>,
    events: &mut Vec<Event>,
) -> Result<(), HandlerError> {
    let signer = tx.sender();
    match &tx.body {
        TxBody::Transfer { to, amount } => accounts::transfer(state, &signer, to, *amount, events),
        TxBody::Bond { amount } => staking::handlers::bond(state, &signer, *amount, events),
        TxBody::Unbond { amount } => {
            staking::handlers::unbond(state, &signer, *amount, height, events)
        }
        TxBody::RegisterValidator {
            consensus_key,
            moniker,
            self_bond,
        } => staking::handlers::register_validator(
            state,
            &signer,
            *consensus_key,
            moniker,
            *self_bond,
            height,
            events,
        ),
        TxBody::Unjail => staking::handlers::unjail(state, &signer, height, events),
        TxBody::SubmitInferenceProof {
            model,
            input,
            output,
            proof,
        } => models::handlers::submit_inference_proof(
            state,
            &signer,
            models::handlers::InferenceClaim {
                model,
                input,
                output,
                proof,
            },
            proofs,
            events,
        ),
        TxBody::Propose {
            kind,
            title,
            summary,
            deposit,
            expedited,
        } => governance::handlers::propose(
            state,
            &signer,
            governance::handlers::ProposeArgs {
                kind,
                title,
                summary,
                deposit: *deposit,
                expedited: *expedited,
            },
            height,
            events,
        ),
        TxBody::Deposit { proposal, amount } => {
            governance::handlers::deposit(state, &signer, *proposal, *amount, height, events)
        }
        TxBody::Vote { proposal, option } => {
            governance::handlers::vote(state, &signer, *proposal, *option, height, events)
        }
    }
}

/// Like [`execute_tx`], but a transaction that fails leaves no trace at all,
/// not even its fee and nonce, and proofs of inference get the cheap checks
/// only (the block verifies them). For CheckTx and PrepareProposal: a
/// transaction they turn away never reaches a block, so the views must not
/// count it.
pub fn simulate_tx(
    state: &mut State,
    tx: &SignedTx,
    encoded_len: usize,
    height: Height,
    signature_ok: Option<bool>,
) -> Result<TxOutcome, StateError> {
    let touched = [
        accounts::state_key::account(&tx.sender()),
        rewards::state_key::block_fees(),
    ];
    let before: Vec<Option<Vec<u8>>> = touched
        .iter()
        .map(|k| state.get_raw(k))
        .collect::<Result<_, _>>()?;
    let outcome = execute_tx(
        state,
        tx,
        encoded_len,
        height,
        signature_ok,
        ProofCheck::Deferred,
    )?;
    if outcome.result.is_err() {
        for (key, old) in touched.into_iter().zip(before) {
            match old {
                Some(v) => state.put_raw(key, v),
                None => state.delete(key),
            }
        }
    }
    Ok(outcome)
}
