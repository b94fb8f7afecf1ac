//! Evidence of equivocation: two votes one validator signed for the same
//! height, round and step with different values. Consensus reports what it
//! saw when a height is finalized; the next proposer puts it in its block as
//! `misbehavior` with both signed votes, every validator checks the
//! signatures before voting for that block, and the app slashes and
//! tombstones through `FinalizeBlock`. (The other claim a proposer makes
//! about others, the previous block's commit, is checked with the rest of a
//! proposed block in the `validity` module.)

use borsh::{BorshDeserialize, BorshSerialize};
use malachitebft_app_channel::app::types::core::{NilOrVal, Round, SignedVote, VoteType};
use malachitebft_signing_ed25519::PublicKey;

use crate::context::{vote_sign_bytes, BlockHeight, BlockId, SynodContext, ValidatorAddress, Vote};
use crate::time::BlockTime;

/// One signed vote, as evidence carries it.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct EvidenceVote {
    /// 1 prevote, 2 precommit.
    pub kind: u8,
    pub height: u64,
    pub round: u32,
    /// `None` is a vote for nil.
    pub value: Option<BlockId>,
    pub validator: [u8; 20],
    pub signature: [u8; 64],
    /// The vote's time (part of what was signed).
    pub timestamp: BlockTime,
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
                NilOrVal::Val(id) => Some(id),
            },
            validator: v.message.validator.0,
            signature: v.signature.signature.to_bytes(),
            timestamp: v.signature.timestamp,
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
                Some(id) => NilOrVal::Val(id),
            },
            validator: ValidatorAddress(self.validator),
            extension: None,
        }
    }
}

/// CometBFT's `BlockID.Key()` of a vote's value: the header hash followed
/// by the part-set header's proto (both empty for nil). Duplicate-vote
/// evidence lists the vote with the smaller key first.
fn block_id_key(value: &Option<BlockId>) -> Vec<u8> {
    use prost::Message;
    let Some(id) = value else {
        return Vec::new();
    };
    let mut key = id.hash.to_vec();
    tendermint_proto::v0_38::types::PartSetHeader {
        total: id.parts.total,
        hash: id.parts.hash.to_vec(),
    }
    .encode(&mut key)
    .unwrap_or_default();
    key
}

/// The two votes of a double vote in CometBFT's order: the one whose block
/// id has the smaller key first.
pub fn in_cometbft_order(a: EvidenceVote, b: EvidenceVote) -> [EvidenceVote; 2] {
    if block_id_key(&a.value) < block_id_key(&b.value) {
        [a, b]
    } else {
        [b, a]
    }
}

/// Why a piece of evidence is refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    #[error("the two votes are not for the same validator, height, round and step")]
    NotSamePosition,
    #[error("the two votes are for the same value (perhaps at two times): no equivocation")]
    SameValue,
    #[error("the votes are not in CometBFT's order (the smaller block id first)")]
    NotInOrder,
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
    if block_id_key(&a.value) >= block_id_key(&b.value) {
        return Err(EvidenceError::NotInOrder);
    }
    for v in [a, b] {
        let bytes = vote_sign_bytes(chain_id, &v.vote(), v.timestamp);
        key.verify(
            &bytes,
            &malachitebft_signing_ed25519::Signature::from_bytes(v.signature),
        )
        .map_err(|_| EvidenceError::BadSignature)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use malachitebft_signing_ed25519::PrivateKey;

    fn id(byte: u8) -> BlockId {
        BlockId {
            hash: [byte; 32],
            parts: crate::context::PartSetHeader {
                total: 1,
                hash: [byte; 32],
            },
        }
    }

    fn signed_at(key: &PrivateKey, value: Option<BlockId>, seconds: i64) -> EvidenceVote {
        let mut v = EvidenceVote {
            kind: 1,
            height: 7,
            round: 0,
            value,
            validator: ValidatorAddress::of(&key.public_key()).0,
            signature: [0; 64],
            timestamp: BlockTime { seconds, nanos: 0 },
        };
        v.signature = key
            .sign(&vote_sign_bytes("c", &v.vote(), v.timestamp))
            .to_bytes();
        v
    }

    fn signed(key: &PrivateKey, value: Option<BlockId>) -> EvidenceVote {
        signed_at(key, value, 1_700_000_000)
    }

    #[test]
    fn one_value_voted_at_two_times_is_not_equivocation_but_two_values_are() {
        let key = PrivateKey::from([9; 32]);
        let early = signed_at(&key, Some(id(1)), 1_700_000_000);
        let late = signed_at(&key, Some(id(1)), 1_700_000_005);
        assert_eq!(
            verify_double_vote("c", &key.public_key(), &early, &late),
            Err(EvidenceError::SameValue)
        );
        // Same header hash, another part set: another block id.
        let mut other_parts = id(1);
        other_parts.parts.total = 2;
        let other = signed_at(&key, Some(other_parts), 1_700_000_005);
        assert_eq!(
            verify_double_vote("c", &key.public_key(), &early, &other),
            Ok(())
        );
        // A tampered time breaks the signature.
        let mut tampered = other;
        tampered.timestamp.seconds += 1;
        assert_eq!(
            verify_double_vote("c", &key.public_key(), &early, &tampered),
            Err(EvidenceError::BadSignature)
        );
    }

    #[test]
    fn a_real_double_vote_verifies_and_forgeries_do_not() {
        let key = PrivateKey::from([9; 32]);
        let other = PrivateKey::from([8; 32]);
        let [a, b] = in_cometbft_order(signed(&key, Some(id(1))), signed(&key, None));
        assert_eq!(b.value, Some(id(1)), "nil has the smallest key");
        assert_eq!(verify_double_vote("c", &key.public_key(), &a, &b), Ok(()));
        assert_eq!(
            verify_double_vote("c", &key.public_key(), &b, &a),
            Err(EvidenceError::NotInOrder)
        );
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
