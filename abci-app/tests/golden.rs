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
/// also take in zkml's VK identity v2, which changed the stored `vk_hash`);
/// and for the disputes module (issue 17), whose params are a ninth
/// section, written at genesis.
const GOLDEN: &[&str] = &[
    "7dc519bd1627b7d18529bd83156252fa279b6206e94fbd88324afcb0d91a2f0d",
    "55199e8e11c811802675908c3ac098775dbc3b4af0a08a5533f0a8fdcaf2a3d0",
    "71cc89adb9f348a739e1d9688d76567fe98324b51ec79a43f591bfd0b8fc26a8",
    "44e635bca77b165f6bdfdc9fe734bda5bb4869e180f54011a494d78ecf6949f8",
    "7a541e98585c0436a53bfd93792efcadc519ef5a971038e67c666bb8791109b0",
    "5ff4b48dd50868270c2b4eae2dcbb614f34937661120677ec5508ec673528ddb",
    "022566b4ea8261a1162340c603ad2e9ee7cd3427485721d19f238455a1c949cd",
    "e497d370cd30bec553bc882c3c1804a87ff489f6ac5e5366694b67a06ba0d235",
    "2c74da82d25c193e5227fba89d0fa51303fda361b6d0d573bc312bd619e8c390",
    "3834bcc554b6daa2a90d6e98d06b4c65c911e7c7f8b79b27c9bfd5ec04434447",
    "3cca572c84b6edafe5874b6ae2f77b2f05b49c7bd558a082b8604bcd334a0c01",
    "04ecde81ad28ff5c3428d632d165d6951db9daf382925851ba38896e4090ed42",
    "293a804a290a554324c4574e76be2ca0a5d6c5575294c21c248d694d924c6d7c",
    "ec283566d8b4a48f7b49f81e6eb6e153aeca35aac25f4ea6f69c7fad052cc4ff",
    "2e77d55302a947a54a08b95e9d62197fb5d4286e5b2bade55e4cbf03ed801528",
    "74c0e622b9e303a022264075f38c0e4a182e1574c849ee6b2aa1eb5bd31b592e",
    "aa9ec6d5082502a4cf1ac1157e2c42d9178306ff53e6acb05ab8f2bff7e87708",
    "9b4c9fa69a0b72bfa1fd256a65eee7094abc290e23e7dd117beb750a031d183b",
    "e5a298f9e36197d15d98f6d8e9a8316ac609895f58e91ee5ee64cee0e5470266",
    "65b10da720fbb766fba189672a97299855e0fde547d84fc6b6493c774164c1a6",
    "f1491d9d4dfc15c3ba34ba05169ddc30fe1a54ccaa01eb11bdcd97c06d43015d",
    "1150e2944e417f3e28c06bb9fc244690e16929b0fabf13962aa82dc83ca2c9ff",
    "10881f715cc84504bf8e854e4268f2a572ac53d07f58a709595fdd0e19d361ab",
    "c822bc8ba6c09f8b8084949e9cb8e8b17771c7d3a1e9e04949208e909837eee6",
    "f1c4c402181188b1e1a2ba95490f6068ecbbf59956ad164de04fcde889f14fe9",
    "7ea2fb9eefb70d6b3f46717767fb24775ff08cfecef4452602d0de5dfcaed7d8",
    "a7c8abe7e27cd3b76da002c64d48e361a01fa175e1161b835a6be4c2f76b7d80",
    "fdd68ee3fab153366573895578065bc9b7adb4fa74dc796d87877251fd69108a",
    "e157acc86680c6e2126c12c5d3ad5c2b52959b5ae743c488fb107d2980b5d533",
    "6cfbb6754e2aa9433fff3a28c6a2581640297486fdce40750e1e79420a78427c",
    "5eca371f0068554be02b9f11bacb3f21b2012569482183cbff6b9b06c980a620",
    "a975151cd5ac3b3db7b024ad5448de0128cd87cbaf87cd14527163ba20b5facb",
    "6e3cd460d373ecb9779b978ef058307a6c824de3fd45396093d576874fcdea55",
    "252685e575198a00e66904b608a0b3b939ed091c282fc1ad95b0b35da0633ea3",
    "4547a73893c4b182298414f4a9529ffd604c341db8a756d15605e7a3422b8f09",
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
