//! Two nodes fed the same blocks reach the same app hash at every height, and
//! random input never panics the app.

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use synod_abci_app::{
    accounts, agents, governance,
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
