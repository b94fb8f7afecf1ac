//! What the targets check against and what the seeds are made of: one test
//! net (its keys, its validator set, its chain id), the app's real modules,
//! and the shipped digits MLP with its verifier. Everything is deterministic
//! except proofs (the prover blinds with OS randomness).

use std::sync::OnceLock;

use halo2_proofs::{pasta::EqAffine, poly::commitment::Params};
use malachitebft_app_channel::app::types::core::{NilOrVal, Round, VoteType};
use malachitebft_signing_ed25519::PrivateKey;
use synod_abci_app::{
    component::Components,
    models::{testkit::shipped_mlp, VerifierCache},
    testkit::TestNet,
};
use synod_node::{
    context::{vote_sign_bytes, BlockHeight, BlockId, ValidatorAddress, Vote},
    store::StoredValidator,
    time::BlockTime,
};
use synod_protocol::{params::ChainParams, Amount};
use synod_zkml::{
    circuit::{self, VerifierKey, ZkModel},
    ir::Model,
    Tensor,
};

pub use synod_abci_app::testkit::CHAIN_ID;

/// Genesis validators of the test net.
pub const VALIDATORS: usize = 4;

/// Funded user accounts of the test net.
pub const USERS: usize = 3;

/// Consensus power of every validator in [`validator_set`].
pub const POWER: u64 = 10;

/// The test net every target and seed uses: [`VALIDATORS`] validators and
/// [`USERS`] users under the default parameters.
pub fn net() -> &'static TestNet {
    static NET: OnceLock<TestNet> = OnceLock::new();
    NET.get_or_init(|| TestNet::new(VALIDATORS, USERS, ChainParams::default()))
}

/// Validator `i`'s consensus key as the node signs with it.
pub fn consensus_key(i: usize) -> PrivateKey {
    PrivateKey::from(net().consensus_keys[i].to_seed())
}

/// Validator `i`'s consensus address.
pub fn consensus_address(i: usize) -> ValidatorAddress {
    ValidatorAddress::of(&consensus_key(i).public_key())
}

/// The validator set blocks are checked against, as the block store holds
/// it: every validator's consensus key with [`POWER`].
pub fn validator_set() -> &'static [StoredValidator] {
    static SET: OnceLock<Vec<StoredValidator>> = OnceLock::new();
    SET.get_or_init(|| {
        net()
            .consensus_keys
            .iter()
            .map(|k| (k.public().0, POWER))
            .collect()
    })
}

/// The app's modules, as CheckTx and ProcessProposal run them (no model
/// registered: proofs are checked by the `proof` target).
pub fn components() -> &'static Components {
    static COMPONENTS: OnceLock<Components> = OnceLock::new();
    COMPONENTS.get_or_init(|| synod_abci_app::app::components(&VerifierCache::default()))
}

/// The chain's default transaction limits.
pub fn accounts_params() -> synod_protocol::params::AccountsParams {
    ChainParams::default().accounts
}

/// The time of every seed vote.
pub const VOTE_TIME: BlockTime = BlockTime {
    seconds: 1_700_000_000,
    nanos: 500_000_000,
};

/// A precommit by validator `i` for `block` at `height` and `round`, signed
/// at [`VOTE_TIME`].
pub fn precommit(i: usize, height: u64, round: u32, block: BlockId) -> [u8; 64] {
    let vote = Vote {
        vote_type: VoteType::Precommit,
        height: BlockHeight(height),
        round: Round::new(round),
        value: NilOrVal::Val(block),
        validator: consensus_address(i),
        extension: None,
    };
    consensus_key(i)
        .sign(&vote_sign_bytes(CHAIN_ID, &vote, VOTE_TIME))
        .to_bytes()
}

/// A generous fee for seed transactions.
pub const FEE: Amount = Amount::syn(1);

/// The shipped digits MLP, with what verifying its proofs needs: IPA
/// parameters and the verifying key for the chain's default `max_k`, and
/// one inference (input and the interpreter's output) the proofs are for.
pub struct MlpVerifier {
    pub model: Model,
    pub params: Params<EqAffine>,
    pub key: VerifierKey,
    pub input: Tensor,
    pub output: Tensor,
}

/// The shipped MLP's verifier, derived once per process (imports the ONNX
/// file with the shipped calibration set, then key generation: seconds).
/// The error says what failed.
pub fn mlp_verifier() -> &'static Result<MlpVerifier, String> {
    static VERIFIER: OnceLock<Result<MlpVerifier, String>> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        // The test kit's importer panics on a missing file: report it as an error.
        let model = std::panic::catch_unwind(shipped_mlp)
            .map_err(|_| "cannot import zkml/models/mlp.onnx".to_owned())?;
        let max_k = ChainParams::default().models.max_k;
        let zk = ZkModel::from_ir(&model, max_k).map_err(|e| format!("MLP circuit: {e}"))?;
        let params = circuit::params(zk.k()).map_err(|e| format!("IPA parameters: {e}"))?;
        let key = zk
            .verifier_key(&params)
            .map_err(|e| format!("MLP verifying key: {e}"))?;
        let input = mlp_input(&model);
        let output =
            synod_zkml::run(&model, &input).map_err(|e| format!("running the MLP: {e}"))?;
        Ok(MlpVerifier {
            model,
            params,
            key,
            input,
            output,
        })
    })
}

/// The input every MLP proof of the corpus is for.
pub fn mlp_input(model: &Model) -> Tensor {
    synod_abci_app::models::testkit::sample_input(model, 0)
}

/// One real proof of inference of the shipped MLP on [`mlp_input`], made
/// once per process (proving key generation and proving: seconds). For
/// seeds only: the bytes differ from run to run.
pub fn mlp_proof() -> &'static Result<Vec<u8>, String> {
    static PROOF: OnceLock<Result<Vec<u8>, String>> = OnceLock::new();
    PROOF.get_or_init(|| {
        let verifier = mlp_verifier().as_ref().map_err(Clone::clone)?;
        let max_k = ChainParams::default().models.max_k;
        // The test kit's prover panics on a setup failure: report it as an error.
        std::panic::catch_unwind(|| {
            let prover =
                synod_abci_app::models::testkit::Prover::new(verifier.model.clone(), max_k);
            prover.prove(&verifier.input).proof
        })
        .map_err(|_| "proving the MLP failed".to_owned())
    })
}
