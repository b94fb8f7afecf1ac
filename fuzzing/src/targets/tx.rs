//! `tx`: transaction bytes, as CheckTx, ProcessProposal and every block
//! receive them from clients, peers and proposers.

use synod_abci_app::{execute::decode_tx, testkit::TestAccount};
use synod_protocol::{
    governance::{ParamChange, ProposalKind, VoteOption, WorkflowSpec, WorkflowStep},
    state::VerificationMode,
    Address, Amount, SecretKey, SignedTx, TxBody,
};
use synod_zkml::ModelId;

use super::{nothing_to_prepare, Seed, Target};
use crate::{error::FuzzError, fixtures};

/// The `tx` target.
pub const TARGET: Target = Target {
    name: "tx",
    about:
        "SignedTx::decode (strict, canonical) and the app's stateless checks (execute::decode_tx)",
    run: tx,
    prepare: nothing_to_prepare,
    seeds,
    dictionary: &[],
    max_len: 64 * 1024,
    short_runs: 10_000,
    cap_in_all: None,
};

/// Decodes `data` as a signed transaction under the chain's default size
/// limit: a decoded transaction encodes to exactly `data` (one encoding per
/// transaction, so its hash names it), and its signature check, sender and
/// sign bytes never panic. Then the app's stateless checks (size, decoding,
/// chain id, the body's module checks): a refusal is an error with a
/// non-zero code.
pub fn tx(data: &[u8]) {
    let params = fixtures::accounts_params();
    let max = usize::try_from(params.max_tx_bytes).unwrap_or(usize::MAX);
    if let Ok(tx) = SignedTx::decode(data, max) {
        assert_eq!(
            tx.encode(),
            data,
            "a decoded transaction encodes to other bytes"
        );
        let _ = tx.verify_signature();
        let _ = (tx.sender(), tx.body.kind(), tx.body.module());
        let _ = tx.unsigned().sign_bytes();
    }
    match decode_tx(data, &params, fixtures::CHAIN_ID, fixtures::components()) {
        Ok(tx) => assert_eq!(
            tx.encode(),
            data,
            "a transaction the app accepts encodes to other bytes"
        ),
        Err(e) => assert_ne!(e.code(), 0, "a refusal with code 0: {e}"),
    }
}

/// Signed transactions of every body and proposal kind, by the test net's
/// accounts with consecutive nonces (CheckTx accepts them in this order).
pub fn signed_txs() -> Result<Vec<Seed>, FuzzError> {
    let fail = |reason: &String| FuzzError::Seed {
        target: "tx",
        reason: reason.clone(),
    };
    let verifier = fixtures::mlp_verifier().as_ref().map_err(fail)?;
    let proof = fixtures::mlp_proof().as_ref().map_err(fail)?;
    let net = fixtures::net();
    let mut user = net.users[0].clone();
    let mut operator = net.operators[0].clone();
    let mut newcomer = net.users[1].clone();
    let model_file = verifier.model.to_file_bytes();
    let model_id = ModelId::of(&verifier.model).0;
    let workflow = WorkflowSpec {
        name: "digits".into(),
        steps: vec![
            WorkflowStep {
                name: "classify".into(),
                model: model_id,
                inputs: vec![],
                mode: VerificationMode::Zk,
                timeout_blocks: 20,
                reward: Amount::syn(1),
                min_bond: Amount::ZERO,
                min_reputation: 0,
                retries: 0,
            },
            WorkflowStep {
                name: "check".into(),
                model: model_id,
                inputs: vec![0],
                mode: VerificationMode::Optimistic,
                timeout_blocks: 30,
                reward: Amount(5),
                min_bond: Amount::ZERO,
                min_reputation: 0,
                retries: 0,
            },
        ],
    };
    // The default minimum deposit (10,000 syn) opens the vote at once; a
    // text proposal with the least first deposit (a quarter) waits for more.
    let propose = |kind: ProposalKind| TxBody::Propose {
        deposit: Amount::syn(if kind == ProposalKind::Text {
            2_500
        } else {
            10_000
        }),
        kind,
        title: "a proposal".into(),
        summary: "what it changes and why".into(),
        expedited: false,
    };
    let mut txs: Vec<Seed> = Vec::new();
    let mut sign = |name: &str, account: &mut TestAccount, body: TxBody| {
        let bytes = account.sign_with(body, account.nonce, fixtures::FEE);
        account.nonce += 1;
        txs.push((format!("{name}.bin"), bytes));
    };
    sign(
        "transfer",
        &mut user,
        TxBody::Transfer {
            to: net.users[2].address(),
            amount: Amount::syn(3),
        },
    );
    sign(
        "bond",
        &mut operator,
        TxBody::Bond {
            amount: Amount::syn(10),
        },
    );
    sign(
        "unbond",
        &mut operator,
        TxBody::Unbond {
            amount: Amount::syn(5),
        },
    );
    sign(
        "register_validator",
        &mut newcomer,
        TxBody::RegisterValidator {
            consensus_key: SecretKey::from_seed([42; 32]).public(),
            moniker: "newcomer".into(),
            self_bond: Amount::syn(20_000),
        },
    );
    sign("unjail", &mut operator, TxBody::Unjail);
    sign(
        "submit_inference_proof",
        &mut user,
        TxBody::SubmitInferenceProof {
            model: model_id,
            input: verifier.input.values().to_vec(),
            output: verifier.output.values().to_vec(),
            proof: proof.clone(),
        },
    );
    let kinds = [
        (
            "register_model",
            ProposalKind::RegisterModel {
                model: model_file.clone(),
                modes: vec![VerificationMode::Zk, VerificationMode::Optimistic],
            },
        ),
        (
            "upgrade_model",
            ProposalKind::UpgradeModel {
                previous: model_id,
                model: model_file,
                modes: vec![VerificationMode::Optimistic],
                grace_blocks: 100,
            },
        ),
        (
            "retire_model",
            ProposalKind::RetireModel { model: model_id },
        ),
        (
            "register_workflow",
            ProposalKind::RegisterWorkflow {
                workflow: workflow.clone(),
            },
        ),
        ("update_workflow", ProposalKind::UpdateWorkflow { workflow }),
        (
            "param_change",
            ProposalKind::ParamChange {
                changes: vec![
                    ParamChange {
                        module: "accounts".into(),
                        name: "max_tx_bytes".into(),
                        value: "65536".into(),
                    },
                    ParamChange {
                        module: "staking".into(),
                        name: "unbonding_blocks".into(),
                        value: "120".into(),
                    },
                ],
            },
        ),
        (
            "treasury_spend",
            ProposalKind::TreasurySpend {
                recipient: Address([9; 20]),
                amount: Amount::syn(1),
            },
        ),
        ("text", ProposalKind::Text),
    ];
    for (name, kind) in kinds {
        sign(&format!("propose_{name}"), &mut user, propose(kind));
    }
    sign(
        "deposit",
        &mut user,
        TxBody::Deposit {
            // The text proposal, still in its deposit period.
            proposal: 8,
            amount: Amount::syn(50),
        },
    );
    sign(
        "vote",
        &mut operator,
        TxBody::Vote {
            proposal: 1,
            option: VoteOption::NoWithVeto,
        },
    );
    Ok(txs)
}

fn seeds() -> Result<Vec<Seed>, FuzzError> {
    signed_txs()
}
