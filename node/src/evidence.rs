//! What a proposer claims about others, checked by every validator before it
//! votes: the previous block's commit (who signed, with their signatures)
//! and evidence of equivocation.
//!
//! Evidence of equivocation: two votes one validator signed for the same
//! height, round and step with different values. Consensus reports what it
//! saw when a height is finalized; the next proposer puts it in its block as
//! `misbehavior` with both signed votes, every validator checks the
//! signatures before voting for that block, and the app slashes and
//! tombstones through `FinalizeBlock`.

use borsh::{BorshDeserialize, BorshSerialize};
use malachitebft_app_channel::app::types::core::{NilOrVal, Round, SignedVote, VoteType};
use malachitebft_signing_ed25519::{PublicKey, Signature};

use crate::context::{
    vote_sign_bytes, BlockHash, BlockHeight, SynodContext, ValidatorAddress, Vote,
};

/// One signed vote, as evidence carries it.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct EvidenceVote {
    /// 1 prevote, 2 precommit.
    pub kind: u8,
    pub height: u64,
    pub round: u32,
    /// `None` is a vote for nil.
    pub value: Option<[u8; 32]>,
    pub validator: [u8; 20],
    pub signature: [u8; 64],
}

impl EvidenceVote {
    /// From a vote consensus signed and saw.
    pub fn of(v: &SignedVote<SynodContext>) -> EvidenceVote {
        EvidenceVote {
            kind: match v.message.vote_type {
                VoteType::Prevote => 1,
                VoteType::Precommit => 2,
            },
            height: v.message.height.0,
            round: v.message.round.as_u32().unwrap_or(0),
            value: match v.message.value {
                NilOrVal::Nil => None,
                NilOrVal::Val(h) => Some(h.0),
            },
            validator: v.message.validator.0,
            signature: v.signature.to_bytes(),
        }
    }

    fn vote(&self) -> Vote {
        Vote {
            vote_type: if self.kind == 1 {
                VoteType::Prevote
            } else {
                VoteType::Precommit
            },
            height: BlockHeight(self.height),
            round: Round::new(self.round),
            value: match self.value {
                None => NilOrVal::Nil,
                Some(h) => NilOrVal::Val(BlockHash(h)),
            },
            validator: ValidatorAddress(self.validator),
            extension: None,
        }
    }
}

/// Why a piece of evidence is refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    #[error("the two votes are not for the same validator, height, round and step")]
    NotSamePosition,
    #[error("the two votes are for the same value: no equivocation")]
    SameValue,
    #[error("vote kind {0} is neither prevote (1) nor precommit (2)")]
    BadKind(u8),
    #[error("a vote's signature does not verify with the validator's key")]
    BadSignature,
    #[error("evidence for height {height} is not before the block's height {block}")]
    FromTheFuture { height: u64, block: u64 },
}

/// Checks that `a` and `b` prove `key`'s owner equivocated on `chain_id`.
pub fn verify_double_vote(
    chain_id: &str,
    key: &PublicKey,
    a: &EvidenceVote,
    b: &EvidenceVote,
) -> Result<(), EvidenceError> {
    for v in [a, b] {
        if v.kind != 1 && v.kind != 2 {
            return Err(EvidenceError::BadKind(v.kind));
        }
    }
    if (a.kind, a.height, a.round, a.validator) != (b.kind, b.height, b.round, b.validator) {
        return Err(EvidenceError::NotSamePosition);
    }
    if a.value == b.value {
        return Err(EvidenceError::SameValue);
    }
    for v in [a, b] {
        let bytes = vote_sign_bytes(chain_id, &v.vote());
        key.verify(&bytes, &Signature::from_bytes(v.signature))
            .map_err(|_| EvidenceError::BadSignature)?;
    }
    Ok(())
}

/// Checks a block's record of the previous commit against the validator set
/// that decided the previous height: its validators in order with their
/// powers, a valid precommit signature for the previous block from every one
/// marked as signed, and more than two thirds of the power signed.
pub fn verify_last_commit(
    chain_id: &str,
    previous_set: &[crate::store::StoredValidator],
    block: &crate::block::DecidedBlock,
) -> Result<(), String> {
    let previous = block.height.saturating_sub(1);
    if block.last_commit.len() != previous_set.len() {
        return Err(format!(
            "the last commit lists {} validators; height {previous} had {}",
            block.last_commit.len(),
            previous_set.len()
        ));
    }
    let mut total: u128 = 0;
    let mut signed: u128 = 0;
    for (v, (k, p)) in block.last_commit.iter().zip(previous_set) {
        let key = PublicKey::from_bytes(*k).map_err(|e| e.to_string())?;
        let address = ValidatorAddress::of(&key);
        if v.address != address.0 || v.power != *p as i64 {
            return Err(format!(
                "the last commit does not list height {previous}'s validators in order"
            ));
        }
        total += u128::from(*p);
        if !v.signed {
            continue;
        }
        let signature = v
            .signature
            .ok_or_else(|| format!("{address} is marked as signed without a signature"))?;
        let vote = Vote {
            vote_type: VoteType::Precommit,
            height: BlockHeight(previous),
            round: Round::new(block.last_commit_round),
            value: NilOrVal::Val(BlockHash(block.last_block_hash)),
            validator: address,
            extension: None,
        };
        key.verify(
            &vote_sign_bytes(chain_id, &vote),
            &Signature::from_bytes(signature),
        )
        .map_err(|_| format!("{address}'s precommit signature does not verify"))?;
        signed += u128::from(*p);
    }
    if signed * 3 <= total * 2 {
        return Err(format!(
            "the last commit holds {signed} of {total} power: not more than two thirds"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use malachitebft_signing_ed25519::PrivateKey;

    fn signed(key: &PrivateKey, value: Option<[u8; 32]>) -> EvidenceVote {
        let mut v = EvidenceVote {
            kind: 1,
            height: 7,
            round: 0,
            value,
            validator: ValidatorAddress::of(&key.public_key()).0,
            signature: [0; 64],
        };
        v.signature = key.sign(&vote_sign_bytes("c", &v.vote())).to_bytes();
        v
    }

    fn commit_block(keys: &[PrivateKey], signers: &[usize]) -> crate::block::DecidedBlock {
        let parent = [3; 32];
        let last_commit = keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let address = ValidatorAddress::of(&k.public_key());
                let signature = signers.contains(&i).then(|| {
                    let vote = Vote {
                        vote_type: VoteType::Precommit,
                        height: BlockHeight(4),
                        round: Round::new(1),
                        value: NilOrVal::Val(BlockHash(parent)),
                        validator: address,
                        extension: None,
                    };
                    k.sign(&vote_sign_bytes("c", &vote)).to_bytes()
                });
                crate::block::CommitVote {
                    address: address.0,
                    power: 10,
                    signed: signature.is_some(),
                    signature,
                }
            })
            .collect();
        crate::block::DecidedBlock {
            height: 5,
            round: 0,
            time: Default::default(),
            proposer_address: [0; 20],
            last_block_hash: parent,
            app_hash: vec![],
            last_commit_round: 1,
            last_commit,
            misbehavior: vec![],
            next_validators_hash: [0; 32],
            txs: vec![],
        }
    }

    #[test]
    fn a_last_commit_must_be_signed_by_more_than_two_thirds_and_cannot_be_forged() {
        let keys: Vec<PrivateKey> = (1..=4u8).map(|i| PrivateKey::from([i; 32])).collect();
        let set: Vec<crate::store::StoredValidator> = keys
            .iter()
            .map(|k| (*k.public_key().as_bytes(), 10))
            .collect();
        assert_eq!(
            verify_last_commit("c", &set, &commit_block(&keys, &[0, 1, 2])),
            Ok(())
        );
        let two = verify_last_commit("c", &set, &commit_block(&keys, &[0, 1])).unwrap_err();
        assert!(two.contains("two thirds"), "{two}");
        // A validator marked as signed with someone else's signature.
        let mut forged = commit_block(&keys, &[0, 1, 2]);
        forged.last_commit[3].signed = true;
        forged.last_commit[3].signature = forged.last_commit[0].signature;
        assert!(verify_last_commit("c", &set, &forged)
            .unwrap_err()
            .contains("does not verify"));
        // Signed without a signature.
        let mut bare = commit_block(&keys, &[0, 1, 2]);
        bare.last_commit[3].signed = true;
        assert!(verify_last_commit("c", &set, &bare)
            .unwrap_err()
            .contains("without a signature"));
        // A signature for another chain, and a shuffled or shortened list.
        assert!(verify_last_commit("d", &set, &commit_block(&keys, &[0, 1, 2])).is_err());
        let mut shuffled = commit_block(&keys, &[0, 1, 2]);
        shuffled.last_commit.swap(0, 1);
        assert!(verify_last_commit("c", &set, &shuffled)
            .unwrap_err()
            .contains("in order"));
        let mut short = commit_block(&keys, &[0, 1, 2]);
        short.last_commit.pop();
        assert!(verify_last_commit("c", &set, &short).is_err());
    }

    #[test]
    fn a_real_double_vote_verifies_and_forgeries_do_not() {
        let key = PrivateKey::from([9; 32]);
        let other = PrivateKey::from([8; 32]);
        let a = signed(&key, Some([1; 32]));
        let b = signed(&key, None);
        assert_eq!(verify_double_vote("c", &key.public_key(), &a, &b), Ok(()));
        assert_eq!(
            verify_double_vote("c", &key.public_key(), &a, &a),
            Err(EvidenceError::SameValue)
        );
        // Signed on another chain, or checked against another key.
        assert_eq!(
            verify_double_vote("d", &key.public_key(), &a, &b),
            Err(EvidenceError::BadSignature)
        );
        assert_eq!(
            verify_double_vote("c", &other.public_key(), &a, &b),
            Err(EvidenceError::BadSignature)
        );
        let mut later = b.clone();
        later.round = 1;
        assert_eq!(
            verify_double_vote("c", &key.public_key(), &a, &later),
            Err(EvidenceError::NotSamePosition)
        );
        let mut odd = b;
        odd.kind = 9;
        assert_eq!(
            verify_double_vote("c", &key.public_key(), &a, &odd),
            Err(EvidenceError::BadKind(9))
        );
    }
}
