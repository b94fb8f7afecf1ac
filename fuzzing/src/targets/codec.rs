//! `codec`: the canonical codec on the state records a query answers with
//! (a client decodes them from a node it does not trust, after checking
//! their Merkle proof).

use serde::{de::DeserializeOwned, Serialize};
use synod_abci_app::testkit::TestChain;
use synod_protocol::{
    codec,
    governance::{
        DepositRecord, Proposal, ProposalSummary, Tally, VoteRecord, WorkflowRecord, WorkflowSpec,
        WorkflowStep,
    },
    params::ChainParams,
    state::{
        Account, ModelRecord, ModelStatus, Reputation, SigningInfo, Unbondings, Validator,
        ValidatorSummary, VerificationMode,
    },
    Amount, Height,
};

use super::{nothing_to_prepare, tx::signed_txs, Seed, Target};
use crate::{error::FuzzError, fixtures};

/// The `codec` target.
pub const TARGET: Target = Target {
    name: "codec",
    about: "synod_protocol::codec::decode_limited on every state record a query returns (canonical round trip)",
    run: codec,
    prepare: nothing_to_prepare,
    seeds,
    dictionary: &[],
    max_len: 64 * 1024,
    short_runs: 10_000,
    cap_in_all: None,
};

/// Decodes `data` as each record a query may answer with: whatever
/// decodes encodes to exactly `data` again.
pub fn codec(data: &[u8]) {
    canonical::<Account>(data);
    canonical::<Validator>(data);
    canonical::<Vec<ValidatorSummary>>(data);
    canonical::<Reputation>(data);
    canonical::<SigningInfo>(data);
    canonical::<Unbondings>(data);
    canonical::<ChainParams>(data);
    canonical::<ModelRecord>(data);
    canonical::<Vec<ModelRecord>>(data);
    canonical::<Proposal>(data);
    canonical::<Vec<ProposalSummary>>(data);
    canonical::<Tally>(data);
    canonical::<Vec<VoteRecord>>(data);
    canonical::<Vec<DepositRecord>>(data);
    canonical::<WorkflowRecord>(data);
    canonical::<Vec<WorkflowRecord>>(data);
    canonical::<Amount>(data);
}

fn canonical<T: Serialize + DeserializeOwned>(data: &[u8]) {
    if let Ok(value) = codec::decode_limited::<T>(data, codec::MAX_DECODE_BYTES) {
        assert_eq!(
            codec::encode(&value),
            data,
            "a decoded {} encodes to other bytes",
            std::any::type_name::<T>()
        );
    }
}

/// The answers of every query path on a chain that ran one block of every
/// kind of transaction.
fn seeds() -> Result<Vec<Seed>, FuzzError> {
    let fail = |reason: String| FuzzError::Seed {
        target: "codec",
        reason,
    };
    let dir = tempfile::tempdir().map_err(|e| fail(e.to_string()))?;
    let net = fixtures::net().clone();
    let user = net.users[0].address();
    let operator = net.operators[0].address();
    let mut chain = TestChain::start(dir.path(), net).map_err(|e| fail(e.to_string()))?;
    let txs = signed_txs()?.into_iter().map(|(_, bytes)| bytes).collect();
    chain.block(txs).map_err(|e| fail(e.to_string()))?;
    let paths = [
        ("account", format!("/account/{user}")),
        ("validator", format!("/validator/{operator}")),
        ("validators", "/validators".to_owned()),
        ("reputation", format!("/reputation/{operator}")),
        ("params", "/params".to_owned()),
        ("unbonding", format!("/unbonding/{operator}")),
        ("models", "/models".to_owned()),
        ("proposal", "/proposal/1".to_owned()),
        ("proposals", "/proposals".to_owned()),
        ("tally", "/tally/1".to_owned()),
        ("votes", "/votes/1".to_owned()),
        ("deposits", "/deposits/1".to_owned()),
        ("workflows", "/workflows".to_owned()),
        ("treasury", "/treasury".to_owned()),
    ];
    let storage = chain.app.storage();
    let mut seeds: Vec<Seed> = paths
        .iter()
        .map(|(_, path)| synod_abci_app::query::query(storage, path, 0, false))
        .zip(paths.iter())
        .filter(|(answer, _)| answer.code == 0 && !answer.value.is_empty())
        .map(|(answer, (name, _))| (format!("{name}.bin"), answer.value))
        .collect();
    // Registered models and workflows need a passed vote: written directly.
    let model = ModelRecord {
        id: [1; 32],
        name: "digits-mlp".into(),
        vk_hash: [2; 32],
        k: 11,
        modes: vec![VerificationMode::Zk, VerificationMode::Optimistic],
        status: ModelStatus::Retired {
            at_height: Height(40),
        },
        registered_height: Height(3),
        parameter_count: 2_410,
        input_shape: vec![1, 64],
        output_shape: vec![1, 10],
        predecessor: Some([3; 32]),
        successor: None,
        retire_at: Some(Height(40)),
    };
    seeds.push(("model_record.bin".to_owned(), codec::encode(&model)));
    let workflow = WorkflowRecord {
        spec: WorkflowSpec {
            name: "digits".into(),
            steps: vec![WorkflowStep {
                name: "classify".into(),
                model: [1; 32],
                inputs: vec![],
                mode: VerificationMode::Optimistic,
                timeout_blocks: 20,
                reward: Amount(7),
                min_bond: Amount::ZERO,
                min_reputation: 0,
                retries: 0,
            }],
        },
        version: 2,
        spec_hash: [4; 32],
        registered_height: Height(5),
        updated_height: Height(9),
        proposal: 3,
    };
    seeds.push(("workflow_record.bin".to_owned(), codec::encode(&workflow)));
    seeds.push((
        "signing_info.bin".to_owned(),
        codec::encode(&SigningInfo {
            observed: 300,
            missed: 2,
            missed_bits: vec![0, 4, 0, 0x80],
        }),
    ));
    Ok(seeds)
}
