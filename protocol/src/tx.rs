//! The transaction envelope and its bodies.
//!
//! A [`SignedTx`] signs the canonical encoding of everything but the signature
//! (an [`UnsignedTx`]), prefixed with a domain tag so a Synod signature can
//! never be replayed as another protocol's message.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{
    address::Address,
    amount::Amount,
    codec::{self, CodecError},
    governance::{ProposalId, ProposalKind, VoteOption},
    keys::{KeyError, PubKey, SecretKey, Signature},
};

/// Prefix of every signed message.
pub const SIGN_DOMAIN: &[u8] = b"synod-tx-v1\0";

/// The longest validator moniker, in bytes.
pub const MAX_MONIKER_BYTES: usize = 64;

/// Why a validator moniker is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MonikerError {
    #[error("must not be empty")]
    Empty,
    #[error("longer than 64 bytes")]
    TooLong,
    #[error("contains control characters")]
    ControlCharacters,
}

impl MonikerError {
    /// The reason as a static phrase (what the chain's rejection message says).
    pub fn reason(self) -> &'static str {
        match self {
            MonikerError::Empty => "must not be empty",
            MonikerError::TooLong => "longer than 64 bytes",
            MonikerError::ControlCharacters => "contains control characters",
        }
    }
}

/// The one moniker rule, shared by the chain (`RegisterValidator`, InitChain)
/// and by genesis validation: not empty, at most [`MAX_MONIKER_BYTES`] bytes,
/// no control characters.
pub fn check_moniker(moniker: &str) -> Result<(), MonikerError> {
    if moniker.is_empty() {
        return Err(MonikerError::Empty);
    }
    if moniker.len() > MAX_MONIKER_BYTES {
        return Err(MonikerError::TooLong);
    }
    if moniker.chars().any(char::is_control) {
        return Err(MonikerError::ControlCharacters);
    }
    Ok(())
}

/// What a transaction does. Later issues append variants; the order of existing
/// variants is part of the wire format and never changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TxBody {
    /// Move usyn from the signer to `to`.
    Transfer { to: Address, amount: Amount },
    /// Add to the signer's validator self-bond.
    Bond { amount: Amount },
    /// Start unbonding part of the signer's self-bond; released after the unbonding period.
    Unbond { amount: Amount },
    /// Make the signer a validator candidate with an initial self-bond.
    RegisterValidator {
        consensus_key: PubKey,
        moniker: String,
        self_bond: Amount,
    },
    /// Leave jail after the jail period ended.
    Unjail,
    /// A halo2 proof that `output = model(input)` for a registered model.
    /// `input` and `output` are the public instance (int8 values, in the
    /// shapes the model record states); the chain verifies the proof in
    /// FinalizeBlock and emits `InferenceVerified` with the input commitment.
    SubmitInferenceProof {
        model: [u8; 32],
        input: Vec<i32>,
        output: Vec<i32>,
        proof: Vec<u8>,
    },
    /// Submit a governance proposal with its first deposit (at least
    /// `min_initial_deposit_ppm` of the minimum deposit).
    Propose {
        kind: ProposalKind,
        title: String,
        summary: String,
        deposit: Amount,
        /// Shorter voting period, higher threshold, larger deposit.
        expedited: bool,
    },
    /// Add to the deposits of a proposal in its deposit period.
    Deposit {
        proposal: ProposalId,
        amount: Amount,
    },
    /// Vote on a proposal in its voting period with the signer's bonded
    /// stake; replaces the signer's earlier vote.
    Vote {
        proposal: ProposalId,
        option: VoteOption,
    },
    /// Register the signer as an agent serving `models` (registered, active
    /// model ids), bonding `bond` (at least `params.agents.min_bond`) from
    /// its balance into the agents' ledger.
    RegisterAgent {
        models: Vec<[u8; 32]>,
        bond: Amount,
        metadata: String,
    },
    /// Replace an active agent's models and metadata.
    UpdateAgent {
        models: Vec<[u8; 32]>,
        metadata: String,
    },
    /// Add to an active agent's bond.
    AddAgentBond { amount: Amount },
    /// Stop taking work; the bond returns after `params.agents.unbonding_blocks`.
    ExitAgent,
    /// Run version `version` of workflow `workflow` on `input` (int8 values),
    /// escrowing `budget` (at least the sum of its steps' rewards).
    SubmitRun {
        workflow: String,
        version: u32,
        input: Vec<i32>,
        budget: Amount,
    },
    /// The assigned executor's result of a zk step: `output`, and a halo2
    /// proof that the step's model maps the step's input to it.
    SubmitResult {
        run: u64,
        step: u32,
        output: Vec<i32>,
        proof: Vec<u8>,
    },
    /// The assigned executor's result of an optimistic step: `output`, the
    /// root of its execution trace, a bond (at least the step's minimum,
    /// scaled by the model's size) and proofs that the trace's leaf 0 is the
    /// step's input and its last leaf the output. Final after
    /// `params.disputes.challenge_window_blocks` unless challenged.
    SubmitOptimisticResult {
        run: u64,
        step: u32,
        output: Vec<i32>,
        trace_root: [u8; 32],
        bond: Amount,
        input_proof: crate::disputes::LeafProof,
        output_proof: crate::disputes::LeafProof,
    },
    /// Dispute the optimistic result of step `step` of run `run`, bonding
    /// `bond` (at least the challenge bond, which grows with the challenges
    /// already open on that result).
    Challenge { run: u64, step: u32, bond: Amount },
    /// The asserter's root of the state at the midpoint of the disputed range.
    Bisect { dispute: u64, mid_root: [u8; 32] },
    /// The challenger disputes the lower (`0`) or upper (`1`) half.
    SelectHalf { dispute: u64, half: u8 },
    /// The one step left, re-executed on chain: a
    /// `synod_zkml::trace::TransitionWitness` in canonical bytes.
    OneStep { dispute: u64, witness: Vec<u8> },
}

impl TxBody {
    /// A short stable name, used in events and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            TxBody::Transfer { .. } => "transfer",
            TxBody::Bond { .. } => "bond",
            TxBody::Unbond { .. } => "unbond",
            TxBody::RegisterValidator { .. } => "register_validator",
            TxBody::Unjail => "unjail",
            TxBody::SubmitInferenceProof { .. } => "submit_inference_proof",
            TxBody::Propose { .. } => "propose",
            TxBody::Deposit { .. } => "deposit",
            TxBody::Vote { .. } => "vote",
            TxBody::RegisterAgent { .. } => "register_agent",
            TxBody::UpdateAgent { .. } => "update_agent",
            TxBody::AddAgentBond { .. } => "add_agent_bond",
            TxBody::ExitAgent => "exit_agent",
            TxBody::SubmitRun { .. } => "submit_run",
            TxBody::SubmitResult { .. } => "submit_result",
            TxBody::SubmitOptimisticResult { .. } => "submit_optimistic_result",
            TxBody::Challenge { .. } => "challenge",
            TxBody::Bisect { .. } => "bisect",
            TxBody::SelectHalf { .. } => "select_half",
            TxBody::OneStep { .. } => "one_step",
        }
    }

    /// The chain module that checks and executes this body (the name of
    /// its component in `abci-app`).
    pub fn module(&self) -> &'static str {
        match self {
            TxBody::Transfer { .. } => "accounts",
            TxBody::Bond { .. }
            | TxBody::Unbond { .. }
            | TxBody::RegisterValidator { .. }
            | TxBody::Unjail => "staking",
            TxBody::SubmitInferenceProof { .. } => "models",
            TxBody::Propose { .. } | TxBody::Deposit { .. } | TxBody::Vote { .. } => "governance",
            TxBody::RegisterAgent { .. }
            | TxBody::UpdateAgent { .. }
            | TxBody::AddAgentBond { .. }
            | TxBody::ExitAgent => "agents",
            TxBody::SubmitRun { .. }
            | TxBody::SubmitResult { .. }
            | TxBody::SubmitOptimisticResult { .. } => "runs",
            TxBody::Challenge { .. }
            | TxBody::Bisect { .. }
            | TxBody::SelectHalf { .. }
            | TxBody::OneStep { .. } => "disputes",
        }
    }
}

/// Everything a signature covers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnsignedTx {
    pub body: TxBody,
    pub signer: PubKey,
    pub nonce: u64,
    pub fee: Amount,
    pub chain_id: String,
}

/// A signed transaction, as it travels and as blocks hold it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedTx {
    pub body: TxBody,
    pub signer: PubKey,
    pub nonce: u64,
    pub fee: Amount,
    pub chain_id: String,
    pub signature: Signature,
}

/// SHA-256 of a transaction's bytes: the id CometBFT uses for it too.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TxHash(pub [u8; 32]);

impl TxHash {
    /// The hash of encoded transaction bytes.
    pub fn of(bytes: &[u8]) -> TxHash {
        TxHash(Sha256::digest(bytes).into())
    }
}

impl fmt::Display for TxHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode_upper(self.0))
    }
}

impl fmt::Debug for TxHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TxHash({self})")
    }
}

impl UnsignedTx {
    /// The exact bytes that are signed.
    pub fn sign_bytes(&self) -> Vec<u8> {
        let mut out = SIGN_DOMAIN.to_vec();
        out.extend_from_slice(&codec::encode(self));
        out
    }

    /// Signs with `key`, which must be the key named in `signer`.
    pub fn sign(self, key: &SecretKey) -> SignedTx {
        let signature = key.sign(&self.sign_bytes());
        SignedTx {
            body: self.body,
            signer: self.signer,
            nonce: self.nonce,
            fee: self.fee,
            chain_id: self.chain_id,
            signature,
        }
    }
}

impl SignedTx {
    /// The signed part.
    pub fn unsigned(&self) -> UnsignedTx {
        UnsignedTx {
            body: self.body.clone(),
            signer: self.signer,
            nonce: self.nonce,
            fee: self.fee,
            chain_id: self.chain_id.clone(),
        }
    }

    /// The signer's account address.
    pub fn sender(&self) -> Address {
        self.signer.address()
    }

    /// Checks the signature.
    pub fn verify_signature(&self) -> Result<(), KeyError> {
        self.signer
            .verify(&self.unsigned().sign_bytes(), &self.signature)
    }

    /// Canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Strictly decodes canonical bytes of at most `max_bytes`. Does not check the signature.
    pub fn decode(bytes: &[u8], max_bytes: usize) -> Result<SignedTx, CodecError> {
        codec::decode_limited(bytes, max_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) fn arb_body() -> impl Strategy<Value = TxBody> {
        prop_oneof![
            (any::<[u8; 20]>(), any::<u128>()).prop_map(|(a, n)| TxBody::Transfer {
                to: Address(a),
                amount: Amount(n)
            }),
            any::<u128>().prop_map(|n| TxBody::Bond { amount: Amount(n) }),
            any::<u128>().prop_map(|n| TxBody::Unbond { amount: Amount(n) }),
            (any::<[u8; 32]>(), "[a-z]{0,20}", any::<u128>()).prop_map(|(k, m, n)| {
                TxBody::RegisterValidator {
                    consensus_key: PubKey(k),
                    moniker: m,
                    self_bond: Amount(n),
                }
            }),
            Just(TxBody::Unjail),
            (
                proptest::collection::vec(any::<[u8; 32]>(), 0..4),
                any::<u128>(),
                "[ -~]{0,24}",
            )
                .prop_map(|(models, n, metadata)| TxBody::RegisterAgent {
                    models,
                    bond: Amount(n),
                    metadata,
                }),
            (
                proptest::collection::vec(any::<[u8; 32]>(), 0..4),
                "[ -~]{0,24}"
            )
                .prop_map(|(models, metadata)| TxBody::UpdateAgent { models, metadata }),
            any::<u128>().prop_map(|n| TxBody::AddAgentBond { amount: Amount(n) }),
            Just(TxBody::ExitAgent),
            (
                "[a-z]{1,8}",
                any::<u32>(),
                proptest::collection::vec(any::<i32>(), 0..8),
                any::<u128>()
            )
                .prop_map(|(workflow, version, input, n)| TxBody::SubmitRun {
                    workflow,
                    version,
                    input,
                    budget: Amount(n),
                }),
            (
                any::<u64>(),
                any::<u32>(),
                proptest::collection::vec(any::<i32>(), 0..4),
                proptest::collection::vec(any::<u8>(), 0..16)
            )
                .prop_map(|(run, step, output, proof)| TxBody::SubmitResult {
                    run,
                    step,
                    output,
                    proof
                }),
            (
                any::<u64>(),
                any::<u32>(),
                proptest::collection::vec(any::<i32>(), 0..4),
                any::<[u8; 32]>(),
                any::<u128>(),
                proptest::collection::vec(any::<[u8; 32]>(), 0..3),
            )
                .prop_map(|(run, step, output, trace_root, n, siblings)| {
                    TxBody::SubmitOptimisticResult {
                        run,
                        step,
                        output,
                        trace_root,
                        bond: Amount(n),
                        input_proof: crate::disputes::LeafProof {
                            leaf_count: 5,
                            siblings: siblings.clone(),
                        },
                        output_proof: crate::disputes::LeafProof {
                            leaf_count: 5,
                            siblings,
                        },
                    }
                }),
            (any::<u64>(), any::<u32>(), any::<u128>()).prop_map(|(run, step, n)| {
                TxBody::Challenge {
                    run,
                    step,
                    bond: Amount(n),
                }
            }),
            (any::<u64>(), any::<[u8; 32]>())
                .prop_map(|(dispute, mid_root)| TxBody::Bisect { dispute, mid_root }),
            (any::<u64>(), any::<u8>())
                .prop_map(|(dispute, half)| TxBody::SelectHalf { dispute, half }),
            (any::<u64>(), proptest::collection::vec(any::<u8>(), 0..32))
                .prop_map(|(dispute, witness)| TxBody::OneStep { dispute, witness }),
            (
                any::<[u8; 32]>(),
                proptest::collection::vec(any::<i32>(), 0..8),
                proptest::collection::vec(any::<i32>(), 0..4),
                proptest::collection::vec(any::<u8>(), 0..64),
            )
                .prop_map(|(model, input, output, proof)| {
                    TxBody::SubmitInferenceProof {
                        model,
                        input,
                        output,
                        proof,
                    }
                }),
        ]
    }

    proptest! {
        #[test]
        fn signed_txs_round_trip_and_verify(
            seed in any::<[u8; 32]>(), body in arb_body(), nonce in any::<u64>(),
            fee in any::<u128>(), chain in "[a-z0-9-]{1,16}",
        ) {
            let key = SecretKey::from_seed(seed);
            let tx = UnsignedTx { body, signer: key.public(), nonce, fee: Amount(fee), chain_id: chain }
                .sign(&key);
            let bytes = tx.encode();
            let back = SignedTx::decode(&bytes, 1 << 20).unwrap();
            prop_assert_eq!(&back, &tx);
            prop_assert!(back.verify_signature().is_ok());
        }

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = SignedTx::decode(&bytes, 1 << 20);
        }
    }

    #[test]
    fn monikers_must_be_short_printable_and_present() {
        assert_eq!(check_moniker("validator-0"), Ok(()));
        assert_eq!(check_moniker(&"x".repeat(MAX_MONIKER_BYTES)), Ok(()));
        assert_eq!(check_moniker(""), Err(MonikerError::Empty));
        assert_eq!(
            check_moniker(&"x".repeat(MAX_MONIKER_BYTES + 1)),
            Err(MonikerError::TooLong)
        );
        assert_eq!(check_moniker("a\nb"), Err(MonikerError::ControlCharacters));
        assert_eq!(
            MonikerError::TooLong.to_string(),
            MonikerError::TooLong.reason()
        );
    }

    #[test]
    fn changing_any_signed_field_breaks_the_signature() {
        let key = SecretKey::from_seed([1; 32]);
        let tx = UnsignedTx {
            body: TxBody::Transfer {
                to: Address([2; 20]),
                amount: Amount(5),
            },
            signer: key.public(),
            nonce: 0,
            fee: Amount(10),
            chain_id: "synod-test".into(),
        }
        .sign(&key);
        let mut t = tx.clone();
        t.nonce = 1;
        assert!(t.verify_signature().is_err());
        let mut t = tx.clone();
        t.chain_id = "other".into();
        assert!(t.verify_signature().is_err());
        let mut t = tx;
        t.fee = Amount(11);
        assert!(t.verify_signature().is_err());
    }
}
