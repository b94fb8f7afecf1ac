//! Two nodes fed the same blocks reach the same app hash at every height, and
//! random input never panics the app.

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use synod_abci_app::{
    accounts, agents, disputes, governance,
    models::testkit::{genesis_model, shipped_mlp},
    rewards, runs, staking,
    testkit::{TestChain, TestNet, TxFuzzer},
    Mempool, StorageOptions,
};
use synod_protocol::{params::ChainParams, Amount};

fn conserved_supply(chain: &TestChain) -> (Amount, Amount) {
    let state = chain.state();
    let mut total = rewards::treasury(&state)
        .unwrap()
        .checked_add(governance::escrow(&state).unwrap())
        .unwrap();
    let balances = state
        .prefix::<synod_protocol::state::Account>(b"accounts/account/")
        .unwrap();
    for (_, a) in balances {
        total = total.checked_add(a.balance).unwrap();
    }
    for v in staking::validators(&state).unwrap() {
        total = total.checked_add(v.self_bond).unwrap();
        for e in staking::unbondings(&state, &v.operator).unwrap().entries {
            total = total.checked_add(e.amount).unwrap();
        }
    }
    total = total.checked_add(agents::bonded(&state).unwrap()).unwrap();
    total = total.checked_add(runs::escrowed(&state).unwrap()).unwrap();
    total = total
        .checked_add(disputes::escrowed(&state).unwrap())
        .unwrap();
    (total, accounts::supply(&state).unwrap())
}

#[test]
fn two_nodes_fed_the_same_1000_random_blocks_agree_on_every_app_hash() {
    let mut params = ChainParams::default();
    params.staking.unbonding_blocks = 20;
    params.staking.max_evidence_age_blocks = 20;
    // Short governance periods so fuzzed proposals are tallied and executed.
    params.governance.min_deposit = Amount::syn(1_000);
    params.governance.expedited_min_deposit = Amount::syn(2_000);
    params.governance.max_deposit_blocks = 15;
    params.governance.voting_blocks = 12;
    params.governance.expedited_voting_blocks = 6;
    params.agents.unbonding_blocks = 10;
    let mut net = TestNet::new(4, 12, params);
    // An optimistic-only model (no key to derive) that agents can serve.
    let mlp = shipped_mlp();
    net.genesis.models = vec![genesis_model(
        &mlp,
        &[synod_protocol::state::VerificationMode::Optimistic],
    )];
    let mlp_id = synod_zkml::ModelId::of(&mlp).0;
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // Different pruning windows must not change the hashes.
    let mut a =
        TestChain::start_with(d1.path(), net.clone(), StorageOptions { prune_window: 0 }).unwrap();
    let mut b =
        TestChain::start_with(d2.path(), net.clone(), StorageOptions { prune_window: 16 }).unwrap();
    assert_eq!(a.app.info(), b.app.info(), "genesis hashes differ");

    let mut fuzz = TxFuzzer::new(7, &net).with_models(vec![mlp_id]);
    let mut seen = std::collections::BTreeSet::new();
    let mut ended = std::collections::BTreeSet::new();
    let mut accepted = 0usize;
    let mut agent_events = std::collections::BTreeSet::new();
    for h in 1..=1000u64 {
        let block = a.next_block(fuzz.block((h % 13) as usize));
        let (oa, ob) = (a.apply(&block).unwrap(), b.apply(&block).unwrap());
        assert_eq!(oa.app_hash, ob.app_hash, "app hashes differ at height {h}");
        let codes_a: Vec<u32> = oa.tx_results.iter().map(|r| r.code()).collect();
        let codes_b: Vec<u32> = ob.tx_results.iter().map(|r| r.code()).collect();
        assert_eq!(codes_a, codes_b, "tx results differ at height {h}");
        assert_eq!(oa.validator_updates, ob.validator_updates);
        accepted += codes_a.iter().filter(|c| **c == 0).count();
        let tx_events = oa.tx_results.iter().flat_map(|r| &r.events);
        for e in oa.events.iter().chain(tx_events) {
            if let synod_protocol::Event::ProposalEnded { status, .. } = e {
                ended.insert(*status);
            }
            if e.kind().starts_with("agent_") {
                agent_events.insert(e.kind());
            }
        }
        seen.extend(codes_a);
        if h % 25 == 0 {
            let (total, supply) = conserved_supply(&a);
            assert_eq!(total, supply, "supply not conserved at height {h}");
        }
    }
    // Agents registered, bonded, exited and got their bonds back.
    assert_eq!(
        agent_events.into_iter().collect::<Vec<_>>(),
        [
            "agent_bond_released",
            "agent_bonded",
            "agent_exiting",
            "agent_registered",
            "agent_updated"
        ],
    );
    // The generator exercised success and many distinct rejection codes.
    assert!(accepted > 2_000, "only {accepted} txs succeeded");
    for code in [0, 2, 5, 6, 7, 8, 30, 32, 34, 23, 43, 44, 45, 47] {
        assert!(
            seen.contains(&code),
            "no tx ended with code {code}: {seen:?}"
        );
    }
    // Fuzzed proposals ran their whole lifecycle.
    assert!(ended.len() >= 2, "proposal endings seen: {ended:?}");
    let (total, supply) = conserved_supply(&a);
    assert_eq!(
        total, supply,
        "balances + bonds + unbonding + treasury + governance deposits + agent bonds must equal the supply"
    );
}

/// A small deterministic generator for the optimistic-dispute blocks.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// An optimistic result body for `run` from the execution `exec`.
fn optimistic_body(run: u64, exec: &synod_zkml::Execution, bond: Amount) -> synod_protocol::TxBody {
    let trace = exec.trace();
    let proof = |i: usize| {
        let p = trace.leaf_proof(i).unwrap();
        synod_protocol::disputes::LeafProof {
            leaf_count: p.leaf_count,
            siblings: p.siblings,
        }
    };
    synod_protocol::TxBody::SubmitOptimisticResult {
        run,
        step: 0,
        output: exec.output().unwrap().values().to_vec(),
        trace_root: trace.root().0,
        bond,
        input_proof: proof(0),
        output_proof: proof(trace.leaves().len() - 1),
    }
}

/// Optimistic runs, results honest and false, challenges and moves, good
/// and arbitrary, through two apps: the same app hash and the same codes at
/// every height, supply conserved at every block, and disputes settled
/// every way (one step both ways, timeouts, voids).
#[test]
fn two_nodes_agree_through_optimistic_results_and_disputes() {
    use synod_protocol::{
        disputes::Side,
        governance::{WorkflowSpec, WorkflowStep},
        runs::StepStatus,
        state::VerificationMode,
        TxBody,
    };
    let mut params = ChainParams::default();
    params.disputes.challenge_window_blocks = 3;
    params.disputes.clock_blocks = 4;
    let mut net = TestNet::new(1, 6, params);
    let mlp = shipped_mlp();
    let id = synod_zkml::ModelId::of(&mlp).0;
    net.genesis.models = vec![genesis_model(&mlp, &[VerificationMode::Optimistic])];
    net.genesis.workflows = vec![WorkflowSpec {
        name: "opt".into(),
        steps: vec![WorkflowStep {
            name: "classify".into(),
            model: id,
            inputs: vec![],
            mode: VerificationMode::Optimistic,
            timeout_blocks: 4,
            reward: Amount::syn(1),
            min_bond: Amount::syn(10),
            min_reputation: 0,
            retries: 3,
        }],
    }];
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = TestChain::start(d1.path(), net.clone()).unwrap();
    let mut b = TestChain::start(d2.path(), net).unwrap();
    let input = synod_abci_app::models::testkit::sample_input(&mlp, 1);
    let honest = synod_zkml::trace::run_traced(&mlp, &input).unwrap();
    let mut lie = honest.tensors().to_vec();
    let t = &lie[1];
    let mut v = t.values().to_vec();
    v[0] = if v[0] >= 127 { 126 } else { v[0] + 1 };
    lie[1] = synod_zkml::Tensor::new(t.shape().to_vec(), v).unwrap();
    let liar = synod_zkml::Execution::new(lie);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut users = a.net.users.clone();
    let mut sign = |i: usize, body: TxBody| {
        let u = &mut users[i];
        let tx = u.sign_with(body, u.nonce, Amount(200_000));
        u.nonce += 1;
        tx
    };
    let addresses: Vec<_> = a.net.users.iter().map(|u| u.address()).collect();
    let user_of = |x: &synod_protocol::Address| addresses.iter().position(|a| a == x).unwrap();
    let register = TxBody::RegisterAgent {
        models: vec![id],
        bond: Amount::syn(100),
        metadata: String::new(),
    };
    let first: Vec<_> = (0..5).map(|i| sign(i, register.clone())).collect();
    let (oa, ob) = (a.block(first.clone()).unwrap(), b.block(first).unwrap());
    assert_eq!(oa.app_hash, ob.app_hash);
    let mut kinds = std::collections::BTreeSet::new();
    for h in 0..160u64 {
        let state = a.state();
        let mut txs = Vec::new();
        if h % 6 == 0 {
            txs.push(sign(
                5,
                TxBody::SubmitRun {
                    workflow: "opt".into(),
                    version: 1,
                    input: input.values().to_vec(),
                    budget: Amount::syn(2),
                },
            ));
        }
        for r in runs::running(&state).unwrap() {
            match &r.steps[0].status {
                StepStatus::Assigned { agent, .. } if !rng.next().is_multiple_of(3) => {
                    let exec = if rng.next().is_multiple_of(2) {
                        &honest
                    } else {
                        &liar
                    };
                    txs.push(sign(
                        user_of(agent),
                        optimistic_body(r.id, exec, Amount::syn(2)),
                    ));
                }
                StepStatus::Asserted { agent, .. } if rng.next().is_multiple_of(2) => {
                    let who = (user_of(agent) + 1 + (rng.next() % 4) as usize) % 5;
                    let bond = Amount::syn(1 + rng.next() % 3);
                    txs.push(sign(
                        who,
                        TxBody::Challenge {
                            run: r.id,
                            step: 0,
                            bond,
                        },
                    ));
                }
                _ => {}
            }
        }
        for d in disputes::disputes(&state, Some("open")).unwrap() {
            let who = user_of(&d.party(d.turn));
            // The honest side plays honestly; a liar plays at random, or not at all.
            let asserted_honest = d.trace_root == honest.trace().root().0;
            let honest_turn = (d.turn == Side::Asserter) == asserted_honest;
            let pick = rng.next();
            let body = if honest_turn || pick.is_multiple_of(4) {
                let trace = honest.trace();
                match d.expected_move() {
                    "bisect" => TxBody::Bisect {
                        dispute: d.id,
                        mid_root: trace.state_root(d.mid() as usize).unwrap().0,
                    },
                    "select" => TxBody::SelectHalf {
                        dispute: d.id,
                        half: u8::from(
                            Some(trace.state_root(d.mid() as usize).unwrap().0) == d.mid_root,
                        ),
                    },
                    _ => TxBody::OneStep {
                        dispute: d.id,
                        witness: trace
                            .transition_witness(&mlp, honest.tensors(), d.lo as usize)
                            .unwrap()
                            .to_bytes(),
                    },
                }
            } else {
                match pick % 4 {
                    1 => continue,
                    2 => TxBody::SelectHalf {
                        dispute: d.id,
                        half: (pick >> 8) as u8 % 2,
                    },
                    _ => TxBody::Bisect {
                        dispute: d.id,
                        mid_root: liar.trace().state_root(d.mid() as usize).unwrap().0,
                    },
                }
            };
            txs.push(sign(who, body));
        }
        let (oa, ob) = (a.block(txs.clone()).unwrap(), b.block(txs).unwrap());
        assert_eq!(oa.app_hash, ob.app_hash, "app hashes differ at block {h}");
        let codes: Vec<u32> = oa.tx_results.iter().map(|r| r.code()).collect();
        let codes_b: Vec<u32> = ob.tx_results.iter().map(|r| r.code()).collect();
        assert_eq!(codes, codes_b);
        for e in oa
            .tx_results
            .iter()
            .flat_map(|r| &r.events)
            .chain(&oa.events)
        {
            if let synod_protocol::Event::DisputeSettled { reason, .. } = e {
                kinds.insert(reason.clone());
            }
        }
        let (total, supply) = conserved_supply(&a);
        assert_eq!(total, supply, "supply not conserved at block {h}");
    }
    assert!(kinds.contains("one-step"), "{kinds:?}");
    assert!(kinds.contains("timeout"), "{kinds:?}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Random bytes into CheckTx and FinalizeBlock: clear rejections, no panic,
    /// and the chain keeps working.
    #[test]
    fn random_bytes_never_panic_check_tx_or_finalize_block(
        txs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..400), 0..8),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut chain = TestChain::start(dir.path(), TestNet::new(1, 1, ChainParams::default())).unwrap();
        let mut mempool = Mempool::new(&chain.app);
        for tx in &txs {
            let outcome = mempool.check(tx).unwrap();
            prop_assert!(outcome.code() != 0);
            prop_assert!(!outcome.log().is_empty());
        }
        prop_assert!(!chain.app.process_proposal(&txs).unwrap() || txs.is_empty());
        let out = chain.block(txs.clone()).unwrap();
        prop_assert_eq!(out.tx_results.len(), txs.len());
        prop_assert!(out.tx_results.iter().all(|r| r.code() != 0));
        chain.block(vec![]).unwrap();
    }
}
