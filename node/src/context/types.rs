//! The consensus context of a chain and the data types it ties together
//! (height, address, validator and set, value, proposal, part, vote), with
//! their Malachite trait implementations. They live in one file because
//! Malachite's traits make them name each other: the context names every
//! type, and every type implements a trait of the context.

use std::fmt;

use borsh::{BorshDeserialize, BorshSerialize};
use bytes::Bytes;
use malachitebft_app_channel::app::types::core::{
    self as core, Context, LinearTimeouts, NilOrVal, Round, SignedExtension, ValidatorSet as _,
    VoteType, VotingPower,
};
use malachitebft_signing_ed25519::{PublicKey, Signature};

use super::scheme::TimedEd25519;
use sha2::{Digest, Sha256};

/// The consensus context of one chain. Its chain id is bound into every
/// signature, so votes cannot be replayed on another chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SynodContext {
    chain_id: String,
}

impl SynodContext {
    /// The context of chain `chain_id`.
    pub fn new(chain_id: impl Into<String>) -> SynodContext {
        SynodContext {
            chain_id: chain_id.into(),
        }
    }

    /// The chain id.
    pub fn chain_id(&self) -> &str {
        &self.chain_id
    }
}

impl Context for SynodContext {
    type Address = ValidatorAddress;
    type Height = BlockHeight;
    type ProposalPart = ProposalPart;
    type Proposal = Proposal;
    type Validator = Validator;
    type ValidatorSet = ValidatorSet;
    type Timeouts = LinearTimeouts;
    type Value = BlockRef;
    type Vote = Vote;
    type Extension = Bytes;
    type SigningScheme = TimedEd25519;

    /// Stake-weighted and deterministic: a point in `[0, total power)` drawn
    /// from SHA-256(height, round) picks the validator whose cumulative power
    /// range holds it. Every node computes the same proposer.
    fn select_proposer<'a>(
        &self,
        set: &'a ValidatorSet,
        height: BlockHeight,
        round: Round,
    ) -> &'a Validator {
        let total = set.total_voting_power().max(1);
        let mut seed = Sha256::new();
        seed.update(b"synod-proposer\0");
        seed.update(height.0.to_be_bytes());
        seed.update(round.as_i64().to_be_bytes());
        let digest = seed.finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        let mut point = u64::from_be_bytes(first) % total;
        for v in set.validators() {
            if point < v.voting_power {
                return v;
            }
            point -= v.voting_power;
        }
        // Unreachable for a non-empty set; an empty set is refused when it is built.
        set.validators()
            .first()
            .unwrap_or_else(|| unreachable!("validator sets are never empty"))
    }

    fn new_proposal(
        &self,
        height: BlockHeight,
        round: Round,
        value: BlockRef,
        pol_round: Round,
        address: ValidatorAddress,
    ) -> Proposal {
        Proposal {
            height,
            round,
            value,
            pol_round,
            proposer: address,
        }
    }

    fn new_prevote(
        &self,
        height: BlockHeight,
        round: Round,
        value_id: NilOrVal<BlockId>,
        address: ValidatorAddress,
    ) -> Vote {
        Vote {
            vote_type: VoteType::Prevote,
            height,
            round,
            value: value_id,
            validator: address,
            extension: None,
        }
    }

    fn new_precommit(
        &self,
        height: BlockHeight,
        round: Round,
        value_id: NilOrVal<BlockId>,
        address: ValidatorAddress,
    ) -> Vote {
        Vote {
            vote_type: VoteType::Precommit,
            height,
            round,
            value: value_id,
            validator: address,
            extension: None,
        }
    }
}

/// A validator's consensus address: the first 20 bytes of SHA-256 of its
/// ed25519 consensus key, as CometBFT computes it. Shown as upper-case hex.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ValidatorAddress(pub [u8; 20]);

impl ValidatorAddress {
    /// The address of a consensus key.
    pub fn of(key: &PublicKey) -> ValidatorAddress {
        ValidatorAddress(synod_consensus_config::keys::key_hash(key.as_bytes()))
    }
}

impl fmt::Display for ValidatorAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode_upper(self.0))
    }
}

impl fmt::Debug for ValidatorAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ValidatorAddress({self})")
    }
}

impl core::Address for ValidatorAddress {}

/// A block height.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlockHeight(pub u64);

impl fmt::Display for BlockHeight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl core::Height for BlockHeight {
    const ZERO: Self = BlockHeight(0);
    const INITIAL: Self = BlockHeight(1);

    fn increment_by(&self, n: u64) -> Self {
        BlockHeight(self.0.saturating_add(n))
    }

    fn decrement_by(&self, n: u64) -> Option<Self> {
        self.0.checked_sub(n).map(BlockHeight)
    }

    fn as_u64(&self) -> u64 {
        self.0
    }
}

/// A CometBFT `PartSetHeader`: how many 64 KiB parts the block's protobuf
/// encoding is cut into, and the Merkle root of those parts.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    BorshSerialize,
    BorshDeserialize,
)]
pub struct PartSetHeader {
    pub total: u32,
    pub hash: [u8; 32],
}

/// CometBFT's `BlockID`: the header hash (the Merkle root of the header's
/// fields) and the part-set header. It is what consensus votes on, so a
/// precommit for it is a CometBFT commit signature. The zero value is the
/// absent id (the chain's first block's `last_block_id`).
#[derive(
    Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize,
)]
pub struct BlockId {
    pub hash: [u8; 32],
    pub parts: PartSetHeader,
}

impl BlockId {
    /// Whether this is the absent id.
    pub fn is_zero(&self) -> bool {
        *self == BlockId::default()
    }
}

impl fmt::Display for BlockId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}",
            hex::encode_upper(self.hash),
            self.parts.total,
            hex::encode_upper(self.parts.hash)
        )
    }
}

impl fmt::Debug for BlockId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlockId({self})")
    }
}

/// The consensus value: a reference to a block whose bytes travel as
/// proposal parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlockRef {
    pub id: BlockId,
}

impl core::Value for BlockRef {
    type Id = BlockId;

    fn id(&self) -> BlockId {
        self.id
    }
}

/// A proposal for a height and round.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proposal {
    pub height: BlockHeight,
    pub round: Round,
    pub value: BlockRef,
    pub pol_round: Round,
    pub proposer: ValidatorAddress,
}

impl core::Proposal<SynodContext> for Proposal {
    fn height(&self) -> BlockHeight {
        self.height
    }
    fn round(&self) -> Round {
        self.round
    }
    fn value(&self) -> &BlockRef {
        &self.value
    }
    fn take_value(self) -> BlockRef {
        self.value
    }
    fn pol_round(&self) -> Round {
        self.pol_round
    }
    fn validator_address(&self) -> &ValidatorAddress {
        &self.proposer
    }
}

/// One piece of a streamed block proposal: a header, chunks of the encoded
/// block, and the proposer's signature over all of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProposalPart {
    Init {
        height: BlockHeight,
        round: Round,
        pol_round: Round,
        proposer: ValidatorAddress,
    },
    Chunk(Bytes),
    Fin {
        signature: Signature,
    },
}

impl core::ProposalPart<SynodContext> for ProposalPart {
    fn is_first(&self) -> bool {
        matches!(self, ProposalPart::Init { .. })
    }
    fn is_last(&self) -> bool {
        matches!(self, ProposalPart::Fin { .. })
    }
}

/// A prevote or precommit, optionally carrying a signed vote extension.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vote {
    pub vote_type: VoteType,
    pub height: BlockHeight,
    pub round: Round,
    pub value: NilOrVal<BlockId>,
    pub validator: ValidatorAddress,
    pub extension: Option<SignedExtension<SynodContext>>,
}

impl core::Vote<SynodContext> for Vote {
    fn height(&self) -> BlockHeight {
        self.height
    }
    fn round(&self) -> Round {
        self.round
    }
    fn value(&self) -> &NilOrVal<BlockId> {
        &self.value
    }
    fn take_value(self) -> NilOrVal<BlockId> {
        self.value
    }
    fn vote_type(&self) -> VoteType {
        self.vote_type
    }
    fn validator_address(&self) -> &ValidatorAddress {
        &self.validator
    }
    fn extension(&self) -> Option<&SignedExtension<SynodContext>> {
        self.extension.as_ref()
    }
    fn take_extension(&mut self) -> Option<SignedExtension<SynodContext>> {
        self.extension.take()
    }
    fn extend(self, extension: SignedExtension<SynodContext>) -> Self {
        Vote {
            extension: Some(extension),
            ..self
        }
    }
}

/// A validator: consensus key and voting power.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Validator {
    pub address: ValidatorAddress,
    pub public_key: PublicKey,
    pub voting_power: VotingPower,
}

impl Validator {
    /// A validator from its consensus key.
    pub fn new(public_key: PublicKey, voting_power: VotingPower) -> Validator {
        Validator {
            address: ValidatorAddress::of(&public_key),
            public_key,
            voting_power,
        }
    }
}

impl core::Validator<SynodContext> for Validator {
    fn address(&self) -> &ValidatorAddress {
        &self.address
    }
    fn public_key(&self) -> &PublicKey {
        &self.public_key
    }
    fn voting_power(&self) -> VotingPower {
        self.voting_power
    }
}

/// Why a validator set cannot be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ValidatorSetError {
    #[error("a validator set needs at least one validator with power")]
    Empty,
    #[error("validator {0} appears twice")]
    Duplicate(ValidatorAddress),
    #[error("total voting power overflows")]
    PowerOverflow,
}

/// The validators of a height, ordered like CometBFT's: by power
/// (descending), then by address. Validators with zero power are left out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidatorSet {
    validators: Vec<Validator>,
    total: VotingPower,
}

impl ValidatorSet {
    /// Builds a set, ordered and checked.
    pub fn new(
        validators: impl IntoIterator<Item = Validator>,
    ) -> Result<ValidatorSet, ValidatorSetError> {
        let mut validators: Vec<Validator> = validators
            .into_iter()
            .filter(|v| v.voting_power > 0)
            .collect();
        validators.sort_by(|a, b| {
            b.voting_power
                .cmp(&a.voting_power)
                .then(a.address.cmp(&b.address))
        });
        let mut seen = std::collections::BTreeSet::new();
        let mut total: VotingPower = 0;
        for v in &validators {
            if !seen.insert(v.address) {
                return Err(ValidatorSetError::Duplicate(v.address));
            }
            total = total
                .checked_add(v.voting_power)
                .ok_or(ValidatorSetError::PowerOverflow)?;
        }
        if validators.is_empty() {
            return Err(ValidatorSetError::Empty);
        }
        Ok(ValidatorSet { validators, total })
    }

    /// The validators, in set order.
    pub fn validators(&self) -> &[Validator] {
        &self.validators
    }
}

impl core::ValidatorSet<SynodContext> for ValidatorSet {
    fn count(&self) -> usize {
        self.validators.len()
    }
    fn total_voting_power(&self) -> VotingPower {
        self.total
    }
    fn get_by_address(&self, address: &ValidatorAddress) -> Option<&Validator> {
        self.validators.iter().find(|v| &v.address == address)
    }
    fn get_by_index(&self, index: usize) -> Option<&Validator> {
        self.validators.get(index)
    }
}
