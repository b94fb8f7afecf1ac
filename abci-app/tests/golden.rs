//! The app hash is the protocol. A fixed sequence of blocks (transfers,
//! bonds and unbonds, a validator joining, downtime jailing, a double-sign
//! slash, a proof of inference, proposals of every kind) runs on a fresh
//! chain, and the app hash after every block must equal the one pinned
//! here. A restructuring of the code must leave every pinned hash
//! unchanged; a protocol change updates them on purpose (run with
//! `SYNOD_GOLDEN_PRINT=1` to print the new list, and say why in the commit).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use synod_abci_app::{
    governance, models,
    models::testkit::{genesis_model, sample_input, shipped_model, Prover},
    staking,
    staking::Evidence,
    testkit::{TestAccount, TestChain, TestNet},
    workflows, BlockOutput,
};
use synod_protocol::{
    governance::{ParamChange, ProposalKind, ProposalStatus, WorkflowSpec, WorkflowStep},
    params::ChainParams,
    state::VerificationMode,
    Address, Amount, Event, Height, TxBody, VoteOption,
};

/// A fee that covers any transaction here (model files included).
const FEE: Amount = Amount(3_000_000);

fn params() -> ChainParams {
    let mut p = ChainParams::default();
    p.staking.unbonding_blocks = 6;
    p.staking.max_evidence_age_blocks = 6;
    p.staking.signed_blocks_window = 8;
    p.staking.downtime_jail_blocks = 4;
    p.governance.min_deposit = Amount::syn(1_000);
    p.governance.expedited_min_deposit = Amount::syn(5_000);
    p.governance.max_deposit_blocks = 3;
    p.governance.voting_blocks = 3;
    p.governance.expedited_voting_blocks = 2;
    p.governance.max_proposals_per_proposer = 4;
    p
}

fn sign(account: &mut TestAccount, body: TxBody) -> Vec<u8> {
    let tx = account.sign_with(body, account.nonce, FEE);
    account.nonce += 1;
    tx
}

fn propose(kind: ProposalKind, deposit_syn: u64) -> TxBody {
    TxBody::Propose {
        kind,
        title: "golden".into(),
        summary: "a pinned proposal".into(),
        deposit: Amount::syn(deposit_syn),
        expedited: false,
    }
}

/// Finalizes and commits a block of `txs`, of which `expect_ok` must
/// succeed, and records its app hash.
fn step(
    chain: &mut TestChain,
    hashes: &mut Vec<String>,
    txs: Vec<Vec<u8>>,
    expect_ok: usize,
) -> BlockOutput {
    let out = chain.block(txs).unwrap();
    let ok = out.tx_results.iter().filter(|r| r.code() == 0).count();
    assert_eq!(
        ok,
        expect_ok,
        "at height {}: {:?}",
        chain.height,
        out.tx_results
            .iter()
            .map(|r| (r.code(), r.log()))
            .collect::<Vec<_>>()
    );
    hashes.push(hex::encode(out.app_hash));
    out
}

/// Runs the fixed sequence; the app hash after every block, in height order.
fn run() -> Vec<String> {
    let max_k = ChainParams::default().models.max_k;
    let mlp = Prover::new(shipped_model("mlp.onnx", "digits-mlp"), max_k);
    let cnn = shipped_model("cnn.onnx", "digits-cnn");
    let qdq = shipped_model("mlp-qdq.onnx", "digits-mlp-qdq");
    let cnn_id = synod_zkml::ModelId::of(&cnn).0;

    let mut net = TestNet::new(4, 3, params());
    net.genesis.models = vec![genesis_model(
        &mlp.model,
        &[VerificationMode::Zk, VerificationMode::Optimistic],
    )];
    let dir = tempfile::tempdir().unwrap();
    let mut chain = TestChain::start(dir.path(), net).unwrap();
    let mut hashes = Vec::new();
    let user_addr = |chain: &TestChain, i: usize| chain.net.users[i].address();

    // 1: transfers, one of them an overdraft (fee and nonce only).
    let (u1, u2) = (user_addr(&chain, 1), user_addr(&chain, 2));
    let txs = vec![
        sign(
            &mut chain.net.users[0],
            TxBody::Transfer {
                to: u1,
                amount: Amount::syn(12),
            },
        ),
        sign(
            &mut chain.net.users[1],
            TxBody::Transfer {
                to: u2,
                amount: Amount(777),
            },
        ),
        sign(
            &mut chain.net.users[2],
            TxBody::Transfer {
                to: Address([9; 20]),
                amount: Amount::syn(5_000_000),
            },
        ),
    ];
    step(&mut chain, &mut hashes, txs, 2);

    // 2: bond more, unbond some.
    let txs = vec![
        sign(
            &mut chain.net.operators[0],
            TxBody::Bond {
                amount: Amount::syn(500),
            },
        ),
        sign(
            &mut chain.net.operators[1],
            TxBody::Unbond {
                amount: Amount::syn(300),
            },
        ),
    ];
    step(&mut chain, &mut hashes, txs, 2);

    // 3: a fifth validator registers.
    let newcomer_key = synod_abci_app::testkit::key("golden-newcomer-consensus");
    let txs = vec![sign(
        &mut chain.net.users[2],
        TxBody::RegisterValidator {
            consensus_key: newcomer_key.public(),
            moniker: "newcomer".into(),
            self_bond: Amount::syn(20_000),
        },
    )];
    step(&mut chain, &mut hashes, txs, 1);

    // 4: a proof of inference of the genesis model, verified in the block.
    let inference = mlp.prove(&sample_input(&mlp.model, 5));
    let txs = vec![sign(
        &mut chain.net.users[0],
        TxBody::SubmitInferenceProof {
            model: mlp.id(),
            input: inference.input.values().to_vec(),
            output: inference.output.values().to_vec(),
            proof: inference.proof.clone(),
        },
    )];
    step(&mut chain, &mut hashes, txs, 1);

    // 5: proposals of every kind, each by its own proposer with the full deposit.
    let workflow = |name: &str, model: [u8; 32]| WorkflowSpec {
        name: name.into(),
        steps: vec![WorkflowStep {
            name: "classify".into(),
            model,
            inputs: vec![],
            mode: VerificationMode::Zk,
            timeout_blocks: 10,
            reward: Amount::syn(1),
        }],
    };
    let treasury_to = user_addr(&chain, 1);
    let kinds_a = vec![
        (
            0,
            ProposalKind::RegisterModel {
                model: cnn.to_file_bytes(),
                modes: vec![VerificationMode::Zk],
            },
        ),
        (
            1,
            ProposalKind::RegisterWorkflow {
                workflow: workflow("digits", mlp.id()),
            },
        ),
        (
            2,
            ProposalKind::ParamChange {
                changes: vec![ParamChange {
                    module: "staking".into(),
                    name: "max_validators".into(),
                    value: "7".into(),
                }],
            },
        ),
        (
            3,
            ProposalKind::TreasurySpend {
                recipient: treasury_to,
                amount: Amount(1_234),
            },
        ),
        (0, ProposalKind::Text),
    ];
    let txs: Vec<Vec<u8>> = kinds_a
        .into_iter()
        .map(|(i, kind)| sign(&mut chain.net.operators[i], propose(kind, 1_000)))
        .collect();
    step(&mut chain, &mut hashes, txs, 5);

    // 6: votes: 1-4 pass; the text proposal (5) is vetoed.
    let mut txs = Vec::new();
    for id in 1..=4u64 {
        for i in 0..3 {
            txs.push(sign(
                &mut chain.net.operators[i],
                TxBody::Vote {
                    proposal: id,
                    option: VoteOption::Yes,
                },
            ));
        }
    }
    for i in 0..3 {
        txs.push(sign(
            &mut chain.net.operators[i],
            TxBody::Vote {
                proposal: 5,
                option: VoteOption::NoWithVeto,
            },
        ));
    }
    step(&mut chain, &mut hashes, txs, 15);

    // 7-8: the voting period ends; proposals execute. Validator 3 starts missing blocks.
    chain.absent.insert(chain.net.consensus_address(3));
    step(&mut chain, &mut hashes, vec![], 0);
    step(&mut chain, &mut hashes, vec![], 0);

    // 9: an upgrade, a retirement, an update, a proposal left to expire, and a deposit.
    let kinds_b = vec![
        (
            1,
            ProposalKind::UpgradeModel {
                previous: mlp.id(),
                model: qdq.to_file_bytes(),
                modes: vec![VerificationMode::Zk],
                grace_blocks: 3,
            },
            1_000,
        ),
        (2, ProposalKind::RetireModel { model: cnn_id }, 1_000),
        (
            0,
            ProposalKind::UpdateWorkflow {
                workflow: workflow("digits", mlp.id()),
            },
            1_000,
        ),
        (3, ProposalKind::Text, 300),
    ];
    let mut txs: Vec<Vec<u8>> = kinds_b
        .into_iter()
        .map(|(i, kind, d)| sign(&mut chain.net.operators[i], propose(kind, d)))
        .collect();
    txs.push(sign(
        &mut chain.net.users[0],
        TxBody::Deposit {
            proposal: 9,
            amount: Amount::syn(100),
        },
    ));
    step(&mut chain, &mut hashes, txs, 5);

    // 10: votes on 6-8 (7 fails quorum: one small voter only).
    let mut txs = Vec::new();
    for id in [6u64, 8] {
        for i in 0..3 {
            txs.push(sign(
                &mut chain.net.operators[i],
                TxBody::Vote {
                    proposal: id,
                    option: VoteOption::Yes,
                },
            ));
        }
    }
    txs.push(sign(
        &mut chain.net.operators[0],
        TxBody::Vote {
            proposal: 7,
            option: VoteOption::Yes,
        },
    ));
    step(&mut chain, &mut hashes, txs, 7);

    // 11: double-sign evidence against validator 2 for height 9.
    let mut block = chain.next_block(vec![]);
    block.evidence = vec![Evidence {
        consensus_address: chain.net.consensus_address(2),
        height: Height(9),
    }];
    let out = chain.apply(&block).unwrap();
    assert!(
        out.events
            .iter()
            .any(|e| matches!(e, Event::Slashed { .. })),
        "{:?}",
        out.events
    );
    hashes.push(hex::encode(out.app_hash));

    // 12..30: empty blocks: tallies, the grace period, unbondings released,
    // the expiry of proposal 9, downtime jailing of validator 3.
    while chain.height < 24 {
        step(&mut chain, &mut hashes, vec![], 0);
    }
    // 25: validator 3 comes back and unjails; validator 1 unbonds the rest.
    chain.absent.clear();
    let txs = vec![sign(&mut chain.net.operators[3], TxBody::Unjail)];
    step(&mut chain, &mut hashes, txs, 1);
    while chain.height < 30 {
        step(&mut chain, &mut hashes, vec![], 0);
    }

    // The sequence did what it says: every proposal outcome, the upgraded
    // model retired after its grace period (the CNN stays: its retirement
    // missed the quorum), the workflow at version 2.
    let state = chain.state();
    let statuses: Vec<ProposalStatus> = (1..=9)
        .map(|id| governance::proposal(&state, id).unwrap().unwrap().status)
        .collect();
    use ProposalStatus::{Expired, Passed, Rejected};
    assert_eq!(
        statuses,
        vec![Passed, Passed, Passed, Passed, Rejected, Passed, Rejected, Passed, Expired]
    );
    assert!(!models::model(&state, &mlp.id())
        .unwrap()
        .unwrap()
        .is_active());
    assert!(models::model(&state, &cnn_id).unwrap().unwrap().is_active());
    assert_eq!(
        workflows::workflow(&state, "digits")
            .unwrap()
            .unwrap()
            .version,
        2
    );
    assert_eq!(staking::params(&state).unwrap().max_validators, 7);
    hashes
}

/// The app hash after blocks 1, 2, ..., in order. Re-pinned once, on
/// purpose: `staking.max_evidence_age_blocks` must not exceed
/// `unbonding_blocks`, so this genesis sets it to 6 (it was 1,000).
const GOLDEN: &[&str] = &[
    "5655dd710fe3b007f898f9d4da63ccf3641c7852b9c80e3ddf2dae3e3ba573a1",
    "f87157151f148b9ddef2f0e7e28e9466b201f5c8cc4631f03a156877c231d75f",
    "2f1202ef4ca4f6d8ff16e845c6dc1371059ae21298d229decb12ad5fbe70ee9c",
    "f054ba85abde08b0e5a4d9d3977955bda6ebaa9bdd262b69ff6053ecd93257e8",
    "7a271d6430cd87979b4a16aa28671f09ad1bef3885b9e5d13edd8f82ca497080",
    "95987344e56bfcebf391fff28c164dcec2c8fa1f7e3fe61d19d3a3c02a04e090",
    "48006e5333358a22b8a2b637ba24594e7aafd49bc9eb6d16230577de52c24f46",
    "3c2d76c68d985038c15be90f09484b50a292ec27748e66a441e2cac2dc422f40",
    "c7dbf15799e885a3e109ff097383394a0a9450b3e270f6f7f4fe31c827d2c2e6",
    "5fb069008500c58ced8c40f82f101551a67ef8a9e4c0675b9c9bc0a63035fe3b",
    "c3381723b086a42778ab8a2e74fce46f00eb1bc621dd0fb12fddcb49ef4ef61a",
    "a2b28263dad5ef860af37827fafb06e7f6e7460f04062ac5732ad4dac6a001bc",
    "3b60a40696d4db922439eca751fddffeb252f7eb34f54e93e7966777cfdca157",
    "53d271f391d96977231cc7a979390c246aa742c0a2f3c76337750aa5fa6d8abb",
    "b896bbf2318419b64596fbaf58bb54baaef2f12168db218faa41151d5259d52f",
    "3a259705716ea8e53bd33020579eb7bd1f2be8c70ca6d05196f5fcb5551c0355",
    "20620aa724133fafd86820eeeb0a3aa76821180bc5c4f957a39fd9dc2fa51a79",
    "10c95a3d5f8781b6dd21755b52cc9f33ec5bf19d60fedd4b2c9233161bc4b5ce",
    "3eba5cc16c599860f43cc075775899906476c67d15c2dd473e0be6eb4a040512",
    "fae68b1677dd4931fc9d1fb3e082759196d7af12ae6eaebbb6f576296114ddd0",
    "90312f91a2c83ad5b58d4f572ab2d99583d8d58302eb12ca2e1c413177f9a93b",
    "7e95d7c3c42ec28aef4fd710bbb12277c3d191781b5fd6eb30e95ffb7fe9eb9f",
    "29206780d16b87c52ffa047cfafa3bf84585ede23e45062aad689fd1b2186290",
    "516124356d0f35e46bdefac685477a5999eb423ed1dccfb7b0907bd29371a95c",
    "5e013de7f8bf58dc286e8cc5b00a4fb55cd11c6eeb9319cfc4145793f57cce94",
    "dc309132a5333b405080671bc766e5a3598ad67567aad9b789a840de3c58799f",
    "323561fb8d5ee8fa7c7fb89346b0938b7995cb3c8b6ba5b8fd6079fc845a80c0",
    "b75169673079303bb2484f5dfed0346fcc8198c9fae422c232359a4a06af746d",
    "ed7260532d5ae862c0d038b504c7a747f2f408fa3163c67bc8911f951c9b1e0a",
    "722177626ac6a983ae9ba623a11d1a6e2416ae2a3baa29320207448159d463d8",
];

#[test]
fn a_fixed_block_sequence_reaches_the_pinned_app_hash_at_every_height() {
    let hashes = run();
    if std::env::var_os("SYNOD_GOLDEN_PRINT").is_some() {
        for h in &hashes {
            println!("    \"{h}\",");
        }
    }
    assert_eq!(hashes.len(), 30);
    for (i, (got, want)) in hashes.iter().zip(GOLDEN).enumerate() {
        assert_eq!(got, want, "app hash at height {} changed", i + 1);
    }
    assert_eq!(GOLDEN.len(), hashes.len(), "pinned list is incomplete");
}
