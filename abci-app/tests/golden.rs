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
/// `min_bond`, `min_reputation` and `retries`, which the spec hash covers.
const GOLDEN: &[&str] = &[
    "0a635b4f5e4e428df62818443f6cdeb0ac03d6f1cf4dd451e116819ab4dcb458",
    "2e3e10f4d00558c64ec4b9430f1ee66c7ac0d239cd4b9bad2e7925477f9952d5",
    "57b088e6700acd1e771ee8b9a0f237cf208d032c8f61ff279995cfb5b44c3006",
    "242783f7fdad5e732a8d023ca3b0dc487a70b9abaebe00f023a38d63ebbb9958",
    "e37c1ecddf075c5ca13b12254c48b13effa1a632f8ae815d14adc4f96d6b1902",
    "08723b86fcd6eba8184f256c62536bc215209972dc46bf63078544e1159e2918",
    "3003a1f2ad3c6093720b6660be3e58361cd9fe13d1b34e86fe1034c89b2b3f89",
    "53b1491064f047ac5f7b42b917c5f380bd4ed9c6782297ca4b5cfd1b6bc25278",
    "b66733d32a9ff8f2ae14162eef771e9b771563cbdf4df0873cc774dbef679c10",
    "368e192313031afc4b68d2bc712f5153497e9080196739a08d00f36493d10c4e",
    "514fe9e96edb1e5af64ec6ae6041a8c7f0e49b674cf47784d60abb15df18a8fb",
    "ed3683982fd08c67578bd761ff394be816236eeb1dff5127ad71590c040e6840",
    "9681096f651aadd8f36482d30f1edcf3576b08ab9842c2f07f3012550a1dd862",
    "12551cf2011da12d6f4f2928b4c747d97f5718fbfc2b7a199737b7147c2922ab",
    "789f270979f8be5af5baeeb0ad249a359c462c95ade76292196cc4cc715e6814",
    "4055f52f2a1725cdb9ae342dc0d3e4c58c3ff994bf1119a85580bab4a3e70767",
    "76406f0a48aba94f157add7dbacb2a0cf09dda962de66bf6aa113f120c664d6e",
    "37d065c847c73a81fbdad4723f2f95a4855bdb0d57e64bb0bbebb90c79fe532d",
    "acbb2d4717ea8a8e2841ecbe311a27e9a1a6bedde9b112fe2e9c2d765867433a",
    "edba5dd406576ec3cf6609f7cac7b1136c6d2c7b56aa64455b1b599ec06dfea9",
    "de7ff0d43a712d8beb97ed45ff9dc55c85b6d198e5dd85737d2f20d2fd5a36a3",
    "30516796f1cd6239e81a0a388ff47e682faa37908254f96062d5e42be4bcb692",
    "e66fff0e7c3a199ac8b81b2b5cc83bba125e2463ddd24aced19ee454d5008294",
    "88f5ee3fd4cf06db428202ee7a6181dae5397dad71f926ca781b7990de20b9d1",
    "766113b88dac7e3310337ad65ec4a650e46483494bedc956eb54113bf8a1c6e3",
    "8ff2b50df27df62c024c43d79e9941c423543f3ca44b456a607b69e7542d2737",
    "a47640c93d55659af69648fc1902ab2c603e8d07243c09192d695d7338fb57c9",
    "97953cc777e078c104af8ab8cacb1b75107ac7ecea081c2db0fed69e8951f079",
    "2215c0d7d925e5a357920077e9805c6dfcad8f61abbd38096650036ce3020b24",
    "800928402c107a1abdb8f6e5d7b3b07492c0b2ea56a00ec4e853e4de98b98ed3",
    "a27c6a4b8b5a949045f2a2222f299aa80936856cf6221e4fab06c8fc3428a476",
    "32005243e317fc0aa1d9dd8f9873058499f54d37644b2247f618552cd30b14b5",
    "8925e6c8b083c121a3291810c1dbe222b56a4c324c62fce22766b6d5bca98e29",
    "5eaf970cc3de32a3cbbb7289578eca615aecc13da33dad09463238f40e84426f",
    "d204a6dfa7790b5dc93b611a6bebaac6084c11dff9bc58e16e2a54d0198d7df9",
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
