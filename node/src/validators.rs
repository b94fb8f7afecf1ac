//! The consensus validator set as the app shapes it: built from the ABCI
//! validator updates of `InitChain` (or genesis), changed by those of every
//! `FinalizeBlock`, and kept in the block store as (key, power) pairs so a
//! restart resumes with the same set.

use std::collections::BTreeMap;

use malachitebft_signing_ed25519::PublicKey;
use tendermint_proto::v0_38::abci as pb;

use crate::{
    context::{Validator, ValidatorAddress, ValidatorSet, ValidatorSetError},
    store::{BlockStore, StoreError, StoredValidator},
};

/// Why the app's validators cannot become a consensus validator set.
#[derive(Debug, thiserror::Error)]
pub enum ValidatorUpdateError {
    /// The update's key is missing or of another scheme.
    #[error("only ed25519 consensus keys are supported")]
    NotEd25519,
    /// The update's ed25519 key has the wrong length.
    #[error("ed25519 key is not 32 bytes")]
    KeyLength,
    /// The 32 bytes are not a valid ed25519 point. (The key error comes from
    /// ed25519-consensus through Malachite's signing crate, which does not
    /// re-export it, so it travels boxed.)
    #[error("{0}")]
    BadKey(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// CometBFT powers are signed; a negative one is meaningless.
    #[error("negative power {0}")]
    NegativePower(i64),
    /// The resulting set breaks a set invariant (empty, duplicate, overflow).
    #[error(transparent)]
    Set(#[from] ValidatorSetError),
}

/// One ABCI validator update as a validator (power 0 means "remove").
fn validator_of(u: &pb::ValidatorUpdate) -> Result<Validator, ValidatorUpdateError> {
    use tendermint_proto::v0_38::crypto::public_key::Sum;
    let Some(Sum::Ed25519(bytes)) = u.pub_key.as_ref().and_then(|k| k.sum.clone()) else {
        return Err(ValidatorUpdateError::NotEd25519);
    };
    let key: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| ValidatorUpdateError::KeyLength)?;
    let pk = PublicKey::from_bytes(key).map_err(|e| ValidatorUpdateError::BadKey(e.into()))?;
    let power = u64::try_from(u.power).map_err(|_| ValidatorUpdateError::NegativePower(u.power))?;
    Ok(Validator::new(pk, power))
}

/// The set the app's updates describe (`InitChain`'s answer or genesis').
pub fn validator_set_from(
    updates: &[pb::ValidatorUpdate],
) -> Result<ValidatorSet, ValidatorUpdateError> {
    let validators = updates
        .iter()
        .map(validator_of)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ValidatorSet::new(validators)?)
}

/// The set after applying the app's updates (new power, or 0 to remove).
pub fn apply_updates(
    set: &ValidatorSet,
    updates: &[pb::ValidatorUpdate],
) -> Result<ValidatorSet, ValidatorUpdateError> {
    let mut by_addr: BTreeMap<ValidatorAddress, Validator> = set
        .validators()
        .iter()
        .map(|v| (v.address, v.clone()))
        .collect();
    for u in updates {
        let v = validator_of(u)?;
        if v.voting_power == 0 {
            by_addr.remove(&v.address);
        } else {
            by_addr.insert(v.address, v);
        }
    }
    Ok(ValidatorSet::new(by_addr.into_values())?)
}

/// The set as the block store saved it. A key that does not parse is
/// skipped (the node only saves keys it parsed, so none should fail).
pub fn validator_set_from_stored(
    saved: Vec<StoredValidator>,
) -> Result<ValidatorSet, ValidatorUpdateError> {
    Ok(ValidatorSet::new(saved.into_iter().filter_map(
        |(k, p)| {
            PublicKey::from_bytes(k)
                .ok()
                .map(|pk| Validator::new(pk, p))
        },
    ))?)
}

/// Why the validator set a restart resumes with cannot be known.
#[derive(Debug, thiserror::Error)]
pub enum ResumeSetError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Update(#[from] ValidatorUpdateError),
    #[error("the store holds block {height} without the validator set that decided it or its results: restore the node's data")]
    Missing { height: u64 },
}

/// The validator set of `height` after a restart: as saved, or, when the
/// node stopped after the app committed the block two heights below but
/// before the set that block's updates make was saved (a crash in between),
/// rebuilt from the set of the height before and the updates in that
/// block's stored results (updates take effect two heights later, as in
/// CometBFT). `None` before the first block: InitChain's set applies.
pub fn resume_set(store: &BlockStore, height: u64) -> Result<Option<ValidatorSet>, ResumeSetError> {
    if let Some(saved) = store.validators_at(height)? {
        return Ok(Some(validator_set_from_stored(saved)?));
    }
    let top = store.height()?;
    if top == 0 {
        return Ok(None);
    }
    let missing = || ResumeSetError::Missing { height: top };
    let made_by = height.checked_sub(2).ok_or_else(missing)?;
    let before = store.validators_at(height - 1)?.ok_or_else(missing)?;
    let results = store.results(made_by)?.ok_or_else(missing)?;
    tracing::warn!(
        height,
        "the validator set after block {made_by} was not saved before the node stopped: rebuilt from its results (the set of height {height})"
    );
    Ok(Some(apply_updates(
        &validator_set_from_stored(before)?,
        &results.validator_updates,
    )?))
}

/// The set as the block store keeps it.
pub fn validators_to_save(set: &ValidatorSet) -> Vec<StoredValidator> {
    set.validators()
        .iter()
        .map(|v| (*v.public_key.as_bytes(), v.voting_power))
        .collect()
}
