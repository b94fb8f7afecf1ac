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
            min_bond: Amount::ZERO,
            min_reputation: 0,
            retries: 0,
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
/// bond, update, exit and release; and again because workflow steps gain
/// `min_bond`, `min_reputation` and `retries`, which the spec hash covers;
/// and for the runs module, whose params are an eighth section (these pins
/// also take in zkml's VK identity v2, which changed the stored `vk_hash`).
const GOLDEN: &[&str] = &[
    "116b1ff61345732db0bfcb4154e7bd2be69b50894c921b1a3e725d2e3ab10dfe",
    "410f339cd3b4bde5c2b10713b834e4e733aa6083f945c256d5c5013795cb34eb",
    "c866b644e2be70e57eff59496442d3fd72b83f32d0e04b3ecd5c04db77856d8e",
    "a94504337dbb677e780bce74cec1f6cd007c498fdd684028ea1d7d2962b4c9d3",
    "fdd37da3b4749fb4e68a8a07684bd50546f1a75b7bf623d0564046b4edc3d341",
    "e1c97c94777ad1fd608c34fe5e14db188a6af05e52b5b7d430445e2d35c223d4",
    "64bd040398a7585119090e3bc0482726fe4fd3f20b3feb6e8cd70e067f7e3171",
    "580f8ff0798d38f5a6fb33f4faca267821bb94fb8b6e7070f6b6708fc3ce7bc1",
    "0f3e7a98fe56f89fb5681e6e2311de4b707516680f5a2148b73b7cb971efb6e6",
    "c7e932ee94fd84d12df17eea58795e57c663a55c73c379c7e6526884e2ed26de",
    "0941c7555f574ee9a24866524271f86144af2a9b53c3e2df72ee23d2b7279f25",
    "3f93dc7c268033e9b738602f1b4c9b1646cead8a99de923b709e85f9e8b23956",
    "f57b7fb2df6ad7f55e8c1b545f7ca446ebdf7c6ad976f07120f26d06bc221a72",
    "b06ad070c7bd5556816122e77d35f743276bb90d8f8e41f5867e541bf3c8fc3e",
    "d60e2283be6171087f20069389afd754a42d1c091f74cd5c2245fa780efdfc53",
    "6fc42ecb5b27c3a160c1953b6c8f73c0094ae950ba7411bb89ff2895005dbf62",
    "426a39bceff8f689b89f5babda5d1eceea2b7d9fd55f65099e57076430730e19",
    "01ae8ab7922958e2aa50fb8e2d4ce642b69ff609ada251df50d5bdffa3164b12",
    "64a99b6792e788fa7470dbfce22915a5cec9a32188221330bf1e355a7480d3af",
    "443577309c5153e5edfbfba1bccf1490df9ebdc0b8e5e905eb102fe355f346cb",
    "c47e8a1f27b0a895305569afdee1208c1e443bec5d55a5c8b3767842918b8970",
    "caf474501a646a68f253c42193d9e232cb67552f22ebab67cd746f46c181fd7e",
    "c9c45e0bd6a5a54cfb85295a84281963d1c6b6e4e38239c52e74c7e3e490d11b",
    "1b60c050dcef73c38c8d0ef295920553eab3af95792df6880290bcdc214c88c5",
    "c0bda259e584f06f32de2cca0a5f32b4dc14df56f185aa851b6da3efbaad5910",
    "b34b45a0f61beec2b2b8863d1919098ea42dd80c2454df2d0af635526f19de48",
    "db2a76c4ced02d51c9c29a1c5718f63e45fcab0a4a5896cce6f4fdd23a10db45",
    "78ad51897517e1e440eff14560dbb3d291cc3c5f35af4577d8d4f2a24ce6be0b",
    "583ad1080b857d0f208fe9b8045ec62f4550eaa37f0a83563749bec7144ff881",
    "3eb1e64dc21a8d21298e051c017aa1ecdcfbea41f0b87877857fcd3748de18db",
    "7e2ea4d1d06fc529c07288079255361ffe9d309d21357e2fb2f3d886e61a202f",
    "9ad0748a0ab6b158f00da02a10eb3724b60dd2ab34fc6f4b6ce4746ac82d2faa",
    "1926273313f2b74442adeb7482de641c7159c5c1d19680b86302f1be40b33a8d",
    "f165eca955a2fe51c6d9c0567c01c5d33422c32fb1839b85321b356df7229f3a",
    "13231db68cdaefb96c8e4d47ed3b14211c9d32d5398f2d880ac76c832dd33ce1",
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
