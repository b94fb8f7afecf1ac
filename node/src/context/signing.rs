//! Signing and verifying consensus messages with ed25519 consensus keys.
//!
//! Votes are signed over CometBFT's canonical sign bytes (the
//! length-delimited `CanonicalVote`: type, height, round, block id, the
//! vote's timestamp and the chain id), so a commit certificate is a
//! CometBFT commit that light clients verify. Proposals and vote extensions
//! are signed over a domain tag and the borsh encoding of their fields and
//! the chain id. Every sign byte is canonical, so every node derives the
//! same, and bound to the chain, so a signature cannot be replayed elsewhere.

use async_trait::async_trait;
use borsh::BorshSerialize;
use bytes::Bytes;
use malachitebft_app_channel::app::types::core::{
    NilOrVal, Round, SignedMessage, ValidatorProof, VoteExtensionScope, VoteType,
};
use malachitebft_app_channel::{Signer, Verifier};
use malachitebft_signing::{Error, VerificationResult};
use malachitebft_signing_ed25519::{PrivateKey, PublicKey, Signature};
use prost::Message;
use tendermint_proto::v0_38::types as pbt;

use super::scheme::TimedSignature;
use super::types::{BlockId, Proposal, SynodContext, Vote};
use crate::time::BlockTime;

fn round_number(r: Round) -> i64 {
    r.as_i64()
}

fn tagged(tag: &[u8], body: impl BorshSerialize) -> Vec<u8> {
    let mut out = tag.to_vec();
    // Writing borsh into a Vec cannot fail.
    let _ = body.serialize(&mut out);
    out
}

/// CometBFT's canonical block id of a voted value (none for nil).
fn canonical_block_id(value: &NilOrVal<BlockId>) -> Option<pbt::CanonicalBlockId> {
    match value {
        NilOrVal::Nil => None,
        NilOrVal::Val(id) => Some(pbt::CanonicalBlockId {
            hash: id.hash.to_vec(),
            part_set_header: Some(pbt::CanonicalPartSetHeader {
                total: id.parts.total,
                hash: id.parts.hash.to_vec(),
            }),
        }),
    }
}

/// The bytes a validator signs for a vote made at `timestamp`: CometBFT's
/// `VoteSignBytes`, the length-delimited `CanonicalVote`.
pub fn vote_sign_bytes(chain_id: &str, vote: &Vote, timestamp: BlockTime) -> Vec<u8> {
    pbt::CanonicalVote {
        r#type: match vote.vote_type {
            VoteType::Prevote => pbt::SignedMsgType::Prevote as i32,
            VoteType::Precommit => pbt::SignedMsgType::Precommit as i32,
        },
        height: i64::try_from(vote.height.0).unwrap_or(i64::MAX),
        round: round_number(vote.round),
        block_id: canonical_block_id(&vote.value),
        timestamp: Some(timestamp.timestamp()),
        chain_id: chain_id.to_owned(),
    }
    .encode_length_delimited_to_vec()
}

/// Whether `a` and `b` are the sign bytes of one vote made at two times
/// (CometBFT's signer then answers with its first signature and time, not
/// a refusal).
fn same_vote_but_time(a: &[u8], b: &[u8]) -> bool {
    let untimed = |bytes: &[u8]| {
        pbt::CanonicalVote::decode_length_delimited(bytes)
            .ok()
            .map(|v| pbt::CanonicalVote {
                timestamp: None,
                ..v
            })
    };
    match (untimed(a), untimed(b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// The timestamp in a vote's canonical sign bytes.
fn vote_time(sign_bytes: &[u8]) -> Option<BlockTime> {
    let t = pbt::CanonicalVote::decode_length_delimited(sign_bytes)
        .ok()?
        .timestamp?;
    Some(BlockTime {
        seconds: t.seconds,
        nanos: t.nanos,
    })
}

/// The bytes a proposer signs for a proposal.
pub fn proposal_sign_bytes(chain_id: &str, p: &Proposal) -> Vec<u8> {
    tagged(
        b"synod-proposal-v1\0",
        (
            chain_id,
            p.height.0,
            round_number(p.round),
            p.value.id,
            round_number(p.pol_round),
            p.proposer.0,
        ),
    )
}

/// The bytes a validator signs for a vote extension.
pub fn vote_extension_sign_bytes(
    chain_id: &str,
    scope: &VoteExtensionScope<SynodContext>,
    extension: &Bytes,
) -> Vec<u8> {
    tagged(
        b"synod-vote-extension-v1\0",
        (
            chain_id,
            scope.height.0,
            round_number(scope.round),
            scope.value_id,
            scope.validator_address.0,
            extension.as_ref(),
        ),
    )
}

/// Where in consensus a signature was made: CometBFT's height/round/step
/// (proposal 1, prevote 2, precommit 3), ordered.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
)]
pub struct SignPosition {
    pub height: u64,
    pub round: u32,
    pub step: u8,
}

/// The last signature made, persisted so a restarted validator never signs
/// two different messages for one position (double-sign protection).
#[derive(Clone, Debug, PartialEq, Eq)]
struct LastSigned {
    position: SignPosition,
    sign_bytes: Vec<u8>,
    signature: [u8; 64],
}

/// The state file in CometBFT's `priv_validator_state.json` format: height
/// as a string, round, step (1 propose, 2 prevote, 3 precommit), and after
/// the first signature the signature (base64) and the sign bytes (hex).
/// Height 0 means nothing was signed yet (as `init` writes it).
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    height: String,
    round: i64,
    step: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signature: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signbytes: Option<String>,
}

impl StateFile {
    fn parse(bytes: &[u8]) -> Result<Option<LastSigned>, StateFileError> {
        use base64::Engine;
        let f: StateFile = serde_json::from_slice(bytes)?;
        let height: u64 = f.height.parse().map_err(|_| StateFileError::Height {
            height: f.height.clone(),
        })?;
        if height == 0 {
            return Ok(None);
        }
        let round = u32::try_from(f.round).map_err(|_| StateFileError::Round { round: f.round })?;
        let (Some(signature), Some(signbytes)) = (f.signature, f.signbytes) else {
            return Err(StateFileError::Unsigned { height });
        };
        let signature = base64::engine::general_purpose::STANDARD
            .decode(&signature)
            .ok()
            .and_then(|s| <[u8; 64]>::try_from(s.as_slice()).ok())
            .ok_or(StateFileError::Signature)?;
        let sign_bytes = hex::decode(&signbytes).map_err(StateFileError::SignBytes)?;
        Ok(Some(LastSigned {
            position: SignPosition {
                height,
                round,
                step: f.step,
            },
            sign_bytes,
            signature,
        }))
    }

    fn render(last: &LastSigned) -> Vec<u8> {
        use base64::Engine;
        let f = StateFile {
            height: last.position.height.to_string(),
            round: i64::from(last.position.round),
            step: last.position.step,
            signature: Some(base64::engine::general_purpose::STANDARD.encode(last.signature)),
            signbytes: Some(hex::encode_upper(&last.sign_bytes)),
        };
        let mut out = serde_json::to_vec_pretty(&f).unwrap_or_default();
        out.push(b'\n');
        out
    }
}

/// The sign-state file and its last record.
type SignState = (std::path::PathBuf, Option<LastSigned>);

/// Why the signer refused.
#[derive(Debug, thiserror::Error)]
pub enum SignRefused {
    #[error("refusing to sign at {got:?}: already signed at {last:?} (double-sign protection)")]
    Regression {
        got: SignPosition,
        last: SignPosition,
    },
    #[error("refusing to sign a different message at {at:?} than the one already signed there (double-sign protection)")]
    Conflict { at: SignPosition },
    #[error("cannot persist the sign state at {}: {source}", path.display())]
    State {
        /// The sign-state file.
        path: std::path::PathBuf,
        /// What went wrong with it.
        source: SignStateError,
    },
}

/// Why the sign-state file cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SignStateError {
    /// Reading, writing, syncing or renaming it failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// It holds something else than a sign state: the node refuses to start
    /// afresh (it could sign twice).
    #[error("corrupt: {0}")]
    Corrupt(#[from] StateFileError),
}

/// What is wrong in a sign-state file (CometBFT's `priv_validator_state.json`).
#[derive(Debug, thiserror::Error)]
pub enum StateFileError {
    /// It is not that JSON object.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// Its height is not a decimal number.
    #[error("height {height:?} is not a number")]
    Height {
        /// The height as written.
        height: String,
    },
    /// Its round is negative or too large.
    #[error("round {round} is out of range")]
    Round {
        /// The round as written.
        round: i64,
    },
    /// It records a height but not what was signed there.
    #[error("height {height} is recorded without its signature and sign bytes")]
    Unsigned {
        /// The recorded height.
        height: u64,
    },
    /// Its signature is not 64 bytes of base64.
    #[error("signature is not 64 bytes of base64")]
    Signature,
    /// Its sign bytes are not hex.
    #[error("signbytes: {0}")]
    SignBytes(#[source] hex::FromHexError),
}

/// Signs with this node's consensus key.
#[derive(Clone)]
pub struct Ed25519Signer {
    chain_id: String,
    key: PrivateKey,
    state: Option<std::sync::Arc<std::sync::Mutex<SignState>>>,
}

impl std::fmt::Debug for Ed25519Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ed25519Signer")
            .field("chain_id", &self.chain_id)
            .field("public_key", &self.key.public_key())
            .finish()
    }
}

impl Ed25519Signer {
    /// A signer for `chain_id` holding `key`.
    pub fn new(chain_id: impl Into<String>, key: PrivateKey) -> Ed25519Signer {
        Ed25519Signer {
            chain_id: chain_id.into(),
            key,
            state: None,
        }
    }

    /// A signer that records every proposal and vote signature in `path`
    /// (written and synced before the signature is released) and refuses to
    /// sign below the last position, or anything different at it.
    pub fn with_state_file(
        chain_id: impl Into<String>,
        key: PrivateKey,
        path: std::path::PathBuf,
    ) -> Result<Ed25519Signer, SignRefused> {
        let state_err = |source: SignStateError| SignRefused::State {
            path: path.clone(),
            source,
        };
        let last = match std::fs::read(&path) {
            Ok(bytes) => StateFile::parse(&bytes).map_err(|e| state_err(e.into()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(state_err(e.into())),
        };
        Ok(Ed25519Signer {
            chain_id: chain_id.into(),
            key,
            state: Some(std::sync::Arc::new(std::sync::Mutex::new((path, last)))),
        })
    }

    /// Signs `message` at `position`, enforcing and recording the sign
    /// state. At the position already signed, a message `equivalent` to the
    /// one signed there gets that first signature, returned with the bytes
    /// it signed.
    fn sign_at(
        &self,
        position: SignPosition,
        message: &[u8],
        equivalent: impl Fn(&[u8], &[u8]) -> bool,
    ) -> Result<(Signature, Vec<u8>), SignRefused> {
        let Some(state) = &self.state else {
            return Ok((self.key.sign(message), message.to_vec()));
        };
        let mut guard = state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(last) = &guard.1 {
            if position < last.position {
                return Err(SignRefused::Regression {
                    got: position,
                    last: last.position,
                });
            }
            if position == last.position {
                return if last.sign_bytes == message || equivalent(&last.sign_bytes, message) {
                    Ok((
                        Signature::from_bytes(last.signature),
                        last.sign_bytes.clone(),
                    ))
                } else {
                    Err(SignRefused::Conflict { at: position })
                };
            }
        }
        let signature = self.key.sign(message);
        let record = LastSigned {
            position,
            sign_bytes: message.to_vec(),
            signature: signature.to_bytes(),
        };
        let path = guard.0.clone();
        let state_err = |e: std::io::Error| SignRefused::State {
            path: path.clone(),
            source: e.into(),
        };
        let bytes = StateFile::render(&record);
        // Write aside, sync, then rename: a crash leaves the old or the new state, never half.
        let tmp = path.with_extension("tmp");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(state_err)?;
        }
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)?;
            // The rename itself lives in the directory: sync it too, or power
            // loss may bring back the old state and let us sign twice.
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::File::open(dir)?.sync_all()?;
            }
            Ok(())
        };
        write().map_err(state_err)?;
        guard.1 = Some(record);
        Ok((signature, message.to_vec()))
    }

    /// The consensus public key.
    pub fn public_key(&self) -> PublicKey {
        self.key.public_key()
    }
}

/// Verifies other validators' signatures.
#[derive(Clone, Debug)]
pub struct Ed25519Verifier {
    chain_id: String,
}

impl Ed25519Verifier {
    /// A verifier for `chain_id`.
    pub fn new(chain_id: impl Into<String>) -> Ed25519Verifier {
        Ed25519Verifier {
            chain_id: chain_id.into(),
        }
    }
}

fn check(key: &PublicKey, message: &[u8], signature: &Signature) -> VerificationResult {
    VerificationResult::from_bool(key.verify(message, signature).is_ok())
}

/// Checks a signature over a message without a time: it must carry
/// [`TimedSignature::UNTIMED`], so no one can vary a signed message's bytes.
fn check_untimed(
    key: &PublicKey,
    message: &[u8],
    signature: &TimedSignature,
) -> VerificationResult {
    if signature.timestamp != TimedSignature::UNTIMED {
        return VerificationResult::Invalid;
    }
    check(key, message, &signature.signature)
}

#[async_trait]
impl Signer<SynodContext> for Ed25519Signer {
    async fn sign_vote(&self, vote: Vote) -> Result<SignedMessage<SynodContext, Vote>, Error> {
        let position = SignPosition {
            height: vote.height.0,
            round: vote.round.as_u32().unwrap_or(0),
            step: match vote.vote_type {
                VoteType::Prevote => 2,
                VoteType::Precommit => 3,
            },
        };
        let message = vote_sign_bytes(&self.chain_id, &vote, BlockTime::now());
        let (signature, signed) = self
            .sign_at(position, &message, same_vote_but_time)
            .map_err(Error::from_source)?;
        // The time of what was signed: ours, or the first signature's when
        // this vote was signed before (after a restart).
        let timestamp = vote_time(&signed).unwrap_or(TimedSignature::UNTIMED);
        Ok(SignedMessage::new(
            vote,
            TimedSignature {
                signature,
                timestamp,
            },
        ))
    }

    async fn sign_proposal(
        &self,
        proposal: Proposal,
    ) -> Result<SignedMessage<SynodContext, Proposal>, Error> {
        let position = SignPosition {
            height: proposal.height.0,
            round: proposal.round.as_u32().unwrap_or(0),
            step: 1,
        };
        let (signature, _) = self
            .sign_at(
                position,
                &proposal_sign_bytes(&self.chain_id, &proposal),
                |_, _| false,
            )
            .map_err(Error::from_source)?;
        Ok(SignedMessage::new(
            proposal,
            TimedSignature::untimed(signature),
        ))
    }

    async fn sign_vote_extension(
        &self,
        scope: VoteExtensionScope<SynodContext>,
        extension: Bytes,
    ) -> Result<SignedMessage<SynodContext, Bytes>, Error> {
        let signature = self.key.sign(&vote_extension_sign_bytes(
            &self.chain_id,
            &scope,
            &extension,
        ));
        Ok(SignedMessage::new(
            extension,
            TimedSignature::untimed(signature),
        ))
    }

    async fn sign_validator_proof(
        &self,
        public_key: Vec<u8>,
        peer_id: Vec<u8>,
    ) -> Result<ValidatorProof<SynodContext>, Error> {
        let signature = self
            .key
            .sign(&ValidatorProof::<SynodContext>::signing_bytes(
                &public_key,
                &peer_id,
            ));
        Ok(ValidatorProof::new(
            public_key,
            peer_id,
            TimedSignature::untimed(signature),
        ))
    }
}

#[async_trait]
impl Verifier<SynodContext> for Ed25519Verifier {
    async fn verify_signed_vote(
        &self,
        vote: &Vote,
        signature: &TimedSignature,
        key: &PublicKey,
    ) -> Result<VerificationResult, Error> {
        // A vote time no CometBFT client could read is refused with the vote.
        if signature.timestamp.to_tendermint().is_err() {
            return Ok(VerificationResult::Invalid);
        }
        Ok(check(
            key,
            &vote_sign_bytes(&self.chain_id, vote, signature.timestamp),
            &signature.signature,
        ))
    }

    async fn verify_signed_proposal(
        &self,
        proposal: &Proposal,
        signature: &TimedSignature,
        key: &PublicKey,
    ) -> Result<VerificationResult, Error> {
        Ok(check_untimed(
            key,
            &proposal_sign_bytes(&self.chain_id, proposal),
            signature,
        ))
    }

    async fn verify_signed_vote_extension(
        &self,
        scope: &VoteExtensionScope<SynodContext>,
        extension: &Bytes,
        signature: &TimedSignature,
        key: &PublicKey,
    ) -> Result<VerificationResult, Error> {
        Ok(check_untimed(
            key,
            &vote_extension_sign_bytes(&self.chain_id, scope, extension),
            signature,
        ))
    }

    async fn verify_validator_proof(
        &self,
        proof: &ValidatorProof<SynodContext>,
    ) -> Result<VerificationResult, Error> {
        // A proof whose key does not decode is simply invalid, not an error of ours.
        match proof.decoded_public_key() {
            Ok(key) => Ok(check_untimed(&key, &proof.preimage(), &proof.signature)),
            Err(_) => Ok(VerificationResult::Invalid),
        }
    }
}
