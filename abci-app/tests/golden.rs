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

/// The app hash after blocks 1, 2, ..., in order. Re-pinned on purpose, for
/// protocol changes of the hardening issue: `staking.max_evidence_age_blocks`
/// must not exceed `unbonding_blocks`, so this genesis sets it to 6 (it was
/// 1,000); then new identities start at the reputation floor (no
/// `initial_score`), rewards go to the last commit's signers by power,
/// governance counts only active, unjailed validators, a missed quorum
/// refunds (`burn_vote_quorum`), and proofs pay `verify_fee_per_row_usyn`;
/// and once more because an expired proposal's stored outcome no longer
/// prints its unit twice ("… 0usyn of the 1000000000usyn needed").
const GOLDEN: &[&str] = &[
    "c5e95e8007ac69bd53352cb018e52d5c0d9dfa1dc170afbb9b88b2a55ac645fb",
    "bf98e25629b76744448971c45c52a1a9509246720fcbe727a048358ffdf92591",
    "162f44ea3c5dc6a003a7841c341115b0055c92da914f711c9c816bfbe71a5aa9",
    "ad6f1b6c0067133d1abba2362e4c4e5472201e8a0ec3d14126921f0f59f288f0",
    "e40e037448052a7a0be36fdff02bcf619127ee8d3b4b1caac3937c959f4b5435",
    "c394f61af379be89e3586f0274db4c96ad1c6df24a8334b6b46a03a713016f02",
    "33533101761a1257d7e41ea8f965a960b03ba349ae4180b85d18169161cecd2a",
    "005bfee2b788c08a50139edf72ce0450c21053b94fd36b3d0f936a5daadbb8cb",
    "054b570f5b337cd39cf3033839411316351ac909c9ced99e84c2a3448944026d",
    "3c0f41ba5d29ed74351ecb0e63c220dcc7c11a5e8a860770c366d89a6e1d946f",
    "c14e778987340c491d898a6ad0a5d01f61c88d0e67d3b890580935206dbcd40d",
    "9ac04f9f55bb8da23a9daca88116d1037b4a082161c2a9a3cf62a1fa1e627469",
    "04f59b3d84f729b3a40ac92a19c76fa01ad926eada6bfe1908d3ebf9a4df318c",
    "eae68aa43b6f09c6b2669083552cc05bbd571c436f330d8c58d1e18b9dc0156c",
    "c9dad74ad0de4aee03db3322146fc1691016f622fce14ca2d64429de89709b4a",
    "25a3c6759c91e5d25c37989220dc16a021a45937dfd5ce20423dea75a64f30d9",
    "4af911e75f01f82c3ebf5b9dd71463467a355e109c3a162c3bcc56e131fd69db",
    "650e4ce610069ca2d8a66ab3766e00f9f588a7aeace087b7d1b5b6977355ec58",
    "e80caacf0a565aa8fa5fb444dee5c1a41b8e8e6163010fb006db869f81b86076",
    "002f0c6b852290df6ddcb5a0423c18802a845249ddd2b3fb88061c0b8174873a",
    "f3cb4d1171bac881d6061be0c248e216c3573fcb686ae36ccf51b7f9b3eeada4",
    "adbbaf4c22b225189bb9bcfa2ffd58c414b100832677e41e45bee4da1ac4ed83",
    "2d41b75449425a6c7eadd99ab1644f73894160a75e5c69a7ad3003ac228cc3ed",
    "ef0d535ae22e4c3e0782f10f2709bfb992fb336f8b4a87d10babfe83a9ae324c",
    "587c2f379181bff64fc579100b2d9cc353dbdbb1fb420ffe0f75f9c49f95868d",
    "2b128918d5d3cd7e0b2f94dc3544859b80d0f26c58f7a10658a4c7468539722c",
    "e7b3f898cb16e6311ff2db1bd1e0489772288512e98de35eecc9211c2c607ac7",
    "6c4c3979b2539647d9796b4ab8765c58f2375e1c2e79090855391870e4ba2c3f",
    "8125b46a3dc4de73acb13b1a04b7fa00a1fc0048c64face197ff327d6b2c8dfe",
    "e6cfd55d6764632466e248aec9300948e8a955c79b31b2c37ccd599fd184442f",
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
