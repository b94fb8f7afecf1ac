//! The app hash is the protocol. A fixed sequence of blocks (transfers,
//! bonds and unbonds, a validator joining, downtime jailing, a double-sign
//! slash, a proof of inference, proposals of every kind, agents registering,
//! bonding and exiting) runs on a fresh
//! chain, and the app hash after every block must equal the one pinned
//! here. A restructuring of the code must leave every pinned hash
//! unchanged; a protocol change updates them on purpose (run with
//! `SYNOD_GOLDEN_PRINT=1` to print the new list, and say why in the commit).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use synod_abci_app::{
    agents, governance, models,
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
    p.agents.unbonding_blocks = 3;
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

    // 31: two agents register for the CNN; a third names an unknown model.
    let register = |bond: u64| TxBody::RegisterAgent {
        models: vec![cnn_id],
        bond: Amount::syn(bond),
        metadata: "golden".into(),
    };
    let txs = vec![
        sign(&mut chain.net.users[0], register(200)),
        sign(&mut chain.net.users[1], register(100)),
        sign(
            &mut chain.net.users[2],
            TxBody::RegisterAgent {
                models: vec![[0xee; 32]],
                bond: Amount::syn(100),
                metadata: String::new(),
            },
        ),
    ];
    step(&mut chain, &mut hashes, txs, 2);
    // 32: one adds to its bond and changes its metadata, then exits.
    let txs = vec![
        sign(
            &mut chain.net.users[0],
            TxBody::AddAgentBond {
                amount: Amount::syn(50),
            },
        ),
        sign(
            &mut chain.net.users[0],
            TxBody::UpdateAgent {
                models: vec![cnn_id],
                metadata: "golden, updated".into(),
            },
        ),
        sign(&mut chain.net.users[0], TxBody::ExitAgent),
    ];
    step(&mut chain, &mut hashes, txs, 3);
    // 33..35: its 250 syn return at height 35.
    while chain.height < 35 {
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
    let user = |i: usize| chain.net.users[i].address();
    assert_eq!(agents::agent(&state, &user(0)).unwrap(), None);
    assert_eq!(
        agents::agent(&state, &user(1)).unwrap().unwrap().bond,
        Amount::syn(100)
    );
    assert_eq!(agents::bonded(&state).unwrap(), Amount::syn(100));
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
/// prints its unit twice ("… 0usyn of the 1000000000usyn needed"); then
/// for the agents module (issue 16): its params are a seventh section of
/// the chain's, written at genesis, and blocks 31 to 35 register agents,
/// bond, update, exit and release.
const GOLDEN: &[&str] = &[
    "e1af6abb53efc92f091eedeb2d6a594c097aa1d41b38d91592b06405354a35a6",
    "bd390e93b922f1c73416ea69de06338308aedf0c9d941803d0f64140191f4cd3",
    "dec36952e86954e3fd5b057d2fc419ba3dabe1919407c5fa389dc3d5370d399a",
    "bfcbb5a0800dea8d0fead74dbfeab5d013c1df2b6a3701db53295a79243851bd",
    "faf0cae8fcd7215d3803d5fd1483a4238f09030cafa10bbc12482638e23587f4",
    "3b0aaa3f1131e66b3012fb9ac69b1622fe111c5b3a80f810b167a8920e19f170",
    "4113d91cf6be5179d0fd0342b204b099fd7c1154defc9fc43ac9b89d6dabf227",
    "381f1a901288a9093c6da5898062b1751b3655ec9e9b44cb11c9346df71fdeb7",
    "812c23323c8de315e8123fbe125662644afb8819863e66a43bf816142440a9de",
    "66cb29ccb7f19c63c7793ec2d74220627f01a6f752da2247e5fe55f8eefe350c",
    "af7fc1c28fbf345f7d3bf11a68d15fc5ec63518abf6ffb5c9f8fabdaccf6073a",
    "3cd8c9a5efc6af4dcf70b5864894dae5b757ba08bf2e6e5c563004bbd8c4b8af",
    "7e8003f90059a9ed44c35f6b7068dd673f4c7c029b127307e24500ba4033f8b7",
    "3fcf835ed225feaa7f411fe0141f04f383ea3c3b085fb9d784b7279210797c49",
    "77d3ca29328f26fa84bde51f9c883ea984f0e60db07900a27101543d34156271",
    "d66022031840ec4ef7b0c0d8fd7959daabab1e6f9e7926770c811696c8ecf5ec",
    "cc5f97ba6fe3431eea169e956d902126110eaed536ec181ba88b597ccd87f469",
    "628200516ab7d406969f6162d66d52d12ecd7bf646775076e130574128e253d3",
    "9abc3e3f12e2f274339be99532c8b270b456585ff181e34f4455fb675fe94795",
    "cf7e873b337af1ecf82882c66ca83b827ad165d4cd5aa93a6b69751ee921acaa",
    "2468e8bef99b6f172de16056d5e9d1da60f5fed1f14543dfe570ec9cd32d7173",
    "efc2142841e5b199175df53d3579a7377cc98295174c3bf7848ae070b2cf3944",
    "1153f07d813b25bf55626b1192403afa87219ace93d40a22c5ef987a3559eae4",
    "91fe1736967dfc31cacad9078d14a66665f31427ee34975b50309ea739e9c460",
    "9f894b1e725e0fddd848257cc88c413b5a20e0b5bdc0846bf100825c8393eb60",
    "f169ba9b714bd6b9944f99ff860ab6a3e93757ee794fbe63d4d30b908e2cfbbe",
    "e4195732b41a1a0849f649fa6cf51df92d895ed1305c7a438d82b6f23333d78c",
    "a1c90056609725f7eeae48d8cefc55c18507d43d04de3a176bece86ad45e3dde",
    "d480546eb31106c08ce878f7b8b9e9afe1b1a4cc04ce82c2421135514717d18c",
    "8fe7cb730f0eca676e0059cae06f2d8b8120cec83a48d149cc8894b2646d6e9b",
    "bb32f96f9249e37363a072016bf5c6e919f29b6dc91d263f12ff9d57a4982122",
    "a0948e6f782497afaa539604141ce5b7971f87b1e7f68ed7fa631332ef780b4a",
    "61bb7badae3d5ac2f5d36dfe034d8593fd7b47a8b95acbd763ef645bf8589c96",
    "089a059cf8746d8e139dabd779f5a7e04b717d72cc9728a7b4a8ca3d76657011",
    "75846741f9c21c3e68521897761dc94bbe6aede17a54b01cb9657d5e943471bc",
];

#[test]
fn a_fixed_block_sequence_reaches_the_pinned_app_hash_at_every_height() {
    let hashes = run();
    if std::env::var_os("SYNOD_GOLDEN_PRINT").is_some() {
        for h in &hashes {
            println!("    \"{h}\",");
        }
    }
    assert_eq!(hashes.len(), 35);
    for (i, (got, want)) in hashes.iter().zip(GOLDEN).enumerate() {
        assert_eq!(got, want, "app hash at height {} changed", i + 1);
    }
    assert_eq!(GOLDEN.len(), hashes.len(), "pinned list is incomplete");
}
