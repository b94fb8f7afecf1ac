//! Staking, slashing and validator-set scenarios, run through the real app on
//! RocksDB (in-process, block by block as consensus would drive it).

#![allow(clippy::unwrap_used)]

use synod_abci_app::{
    accounts, staking,
    staking::Evidence,
    testkit::{key, TestAccount, TestChain, TestNet},
    BlockOutput,
};
use synod_protocol::{
    params::ChainParams,
    state::{Validator, ValidatorStatus},
    Amount, Event, Height, TxBody,
};

fn quiet_params() -> ChainParams {
    // No issuance, so balances move only by what a test does.
    let mut p = ChainParams::default();
    p.rewards.block_issuance = Amount::ZERO;
    p.staking.unbonding_blocks = 5;
    p.staking.max_evidence_age_blocks = 5;
    p
}

fn chain(params: ChainParams, validators: usize) -> (tempfile::TempDir, TestChain) {
    let dir = tempfile::tempdir().unwrap();
    let chain = TestChain::start(dir.path(), TestNet::new(validators, 3, params)).unwrap();
    (dir, chain)
}

fn validator(chain: &TestChain, who: &TestAccount) -> Validator {
    staking::validator(&chain.state(), &who.address())
        .unwrap()
        .expect("validator exists")
}

fn ok(out: &BlockOutput) {
    for r in &out.tx_results {
        assert_eq!(r.result, Ok(()), "tx failed");
    }
}

#[test]
fn unbonded_stake_is_released_after_the_unbonding_period() {
    let (_d, mut chain) = chain(quiet_params(), 4);
    let mut op = chain.net.operators[0].clone();
    let out = chain
        .block(vec![op.sign(TxBody::Unbond {
            amount: Amount::syn(1_000),
        })])
        .unwrap();
    ok(&out);
    assert!(out.tx_results[0].events.iter().any(|e| matches!(
        e,
        Event::UnbondingStarted {
            release_height: Height(6),
            ..
        }
    )));
    assert_eq!(validator(&chain, &op).self_bond, Amount::syn(9_000));
    let before = accounts::account(&chain.state(), &op.address())
        .unwrap()
        .balance;

    for _ in 2..6 {
        let out = chain.block(vec![]).unwrap();
        assert!(
            !out.events
                .iter()
                .any(|e| matches!(e, Event::UnbondingReleased { .. })),
            "released too early"
        );
    }
    assert_eq!(
        accounts::account(&chain.state(), &op.address())
            .unwrap()
            .balance,
        before
    );
    let out = chain.block(vec![]).unwrap();
    assert_eq!(chain.height, 6);
    assert!(out.events.contains(&Event::UnbondingReleased {
        validator: op.address(),
        amount: Amount::syn(1_000)
    }));
    let after = accounts::account(&chain.state(), &op.address())
        .unwrap()
        .balance;
    assert_eq!(after, before.checked_add(Amount::syn(1_000)).unwrap());
    assert!(staking::unbondings(&chain.state(), &op.address())
        .unwrap()
        .entries
        .is_empty());
}

#[test]
fn unbonding_below_the_minimum_self_bond_is_refused_but_a_full_exit_is_not() {
    let (_d, mut chain) = chain(quiet_params(), 4);
    let mut op = chain.net.operators[1].clone();
    let out = chain
        .block(vec![op.sign(TxBody::Unbond {
            amount: Amount::syn(9_500),
        })])
        .unwrap();
    assert_eq!(out.tx_results[0].code(), 20, "{}", out.tx_results[0].log());
    let out = chain
        .block(vec![op.sign(TxBody::Unbond {
            amount: Amount::syn(10_000),
        })])
        .unwrap();
    ok(&out);
    assert!(
        out.validator_updates.iter().any(|u| u.power == 0),
        "a validator with no stake leaves the set"
    );
}

#[test]
fn double_signing_slashes_five_percent_tombstones_and_reaches_unbonding_stake() {
    let (_d, mut chain) = chain(quiet_params(), 4);
    let mut op = chain.net.operators[2].clone();
    chain.block(vec![]).unwrap(); // height 1
    chain.block(vec![]).unwrap(); // height 2: the infraction happens here
                                  // Unbonded after the infraction: still slashable.
    ok(&chain
        .block(vec![op.sign(TxBody::Unbond {
            amount: Amount::syn(2_000),
        })])
        .unwrap()); // height 3
    let mut block = chain.next_block(vec![]);
    block.evidence.push(Evidence {
        consensus_address: chain.net.consensus_address(2),
        height: Height(2),
    });
    let out = chain.apply(&block).unwrap();

    let v = validator(&chain, &op);
    assert_eq!(v.status, ValidatorStatus::Tombstoned);
    assert_eq!(v.self_bond, Amount::syn(8_000).mul_ratio(95, 100));
    let ub = staking::unbondings(&chain.state(), &op.address()).unwrap();
    assert_eq!(ub.entries[0].amount, Amount::syn(2_000).mul_ratio(95, 100));
    assert!(out
        .events
        .iter()
        .any(|e| matches!(e, Event::Slashed { reason, .. } if reason == "double_sign")));
    assert!(out.events.contains(&Event::Tombstoned {
        validator: op.address()
    }));
    let ck = chain.net.consensus_keys[2].public();
    assert!(out
        .validator_updates
        .iter()
        .any(|u| u.consensus_key == ck && u.power == 0));

    // Tombstoned is forever.
    let out = chain.block(vec![op.sign(TxBody::Unjail)]).unwrap();
    assert_eq!(out.tx_results[0].code(), 17);
    // The same evidence again slashes nothing more.
    let mut again = chain.next_block(vec![]);
    again.evidence.push(Evidence {
        consensus_address: chain.net.consensus_address(2),
        height: Height(2),
    });
    let out = chain.apply(&again).unwrap();
    assert!(!out
        .events
        .iter()
        .any(|e| matches!(e, Event::Slashed { .. })));
}

#[test]
fn unbonding_that_started_before_the_infraction_is_not_slashed() {
    let (_d, mut chain) = chain(quiet_params(), 4);
    let mut op = chain.net.operators[0].clone();
    ok(&chain
        .block(vec![op.sign(TxBody::Unbond {
            amount: Amount::syn(1_000),
        })])
        .unwrap()); // height 1
    chain.block(vec![]).unwrap(); // height 2: infraction
    let mut block = chain.next_block(vec![]);
    block.evidence.push(Evidence {
        consensus_address: chain.net.consensus_address(0),
        height: Height(2),
    });
    chain.apply(&block).unwrap();
    let ub = staking::unbondings(&chain.state(), &op.address()).unwrap();
    assert_eq!(ub.entries[0].amount, Amount::syn(1_000));
}

#[test]
fn downtime_jails_and_unjail_works_after_the_jail_period() {
    let mut params = quiet_params();
    params.staking.signed_blocks_window = 10;
    params.staking.downtime_jail_blocks = 5;
    let (_d, mut chain) = chain(params, 4);
    let mut op = chain.net.operators[3].clone();
    let absent = chain.net.consensus_address(3);
    // Validator 3 appears in the commit as absent.
    chain.absent.insert(absent);
    let mut jailed_at = None;
    for _ in 0..12 {
        let out = chain.block(vec![]).unwrap();
        if out.events.iter().any(|e| matches!(e, Event::Jailed { .. })) {
            jailed_at = Some(chain.height);
            let ck = chain.net.consensus_keys[3].public();
            assert!(out
                .validator_updates
                .iter()
                .any(|u| u.consensus_key == ck && u.power == 0));
            break;
        }
    }
    let jailed_at = jailed_at.expect("validator 3 was never jailed");
    assert_eq!(
        jailed_at, 10,
        "jailed once the window is full and more than half missed"
    );
    let v = validator(&chain, &op);
    assert!(matches!(
        v.status,
        ValidatorStatus::Jailed {
            until_height: Height(15),
            ..
        }
    ));
    assert_eq!(
        v.self_bond,
        Amount::syn(10_000).mul_ratio(99, 100),
        "downtime slashes 1%"
    );

    let out = chain.block(vec![op.sign(TxBody::Unjail)]).unwrap();
    assert_eq!(out.tx_results[0].code(), 13, "{}", out.tx_results[0].log());
    while chain.height < 14 {
        chain.block(vec![]).unwrap();
    }
    chain.absent.remove(&absent);
    let out = chain.block(vec![op.sign(TxBody::Unjail)]).unwrap();
    ok(&out);
    assert_eq!(validator(&chain, &op).status, ValidatorStatus::Candidate);
    let ck = chain.net.consensus_keys[3].public();
    assert!(
        out.validator_updates
            .iter()
            .any(|u| u.consensus_key == ck && u.power > 0),
        "back in the set"
    );
}

#[test]
fn splitting_stake_across_identities_gains_no_power() {
    let (_d, mut chain) = chain(quiet_params(), 4);
    let mut whale = chain.net.users[0].clone();
    let mut sybil = chain.net.users[1].clone();
    let mut sybils: Vec<TestAccount> = (0..4)
        .map(|i| TestAccount::new(&format!("sybil-{i}")))
        .collect();
    let txs = sybils
        .iter()
        .map(|s| {
            sybil.sign(TxBody::Transfer {
                to: s.address(),
                amount: Amount::syn(10_100),
            })
        })
        .collect();
    ok(&chain.block(txs).unwrap());
    // One identity with 40k, four fresh identities with 10k each, same block.
    let mut txs: Vec<Vec<u8>> = vec![whale.sign(TxBody::RegisterValidator {
        consensus_key: key("whale-ck").public(),
        moniker: "whale".into(),
        self_bond: Amount::syn(40_000),
    })];
    txs.extend(sybils.iter_mut().enumerate().map(|(i, s)| {
        s.sign(TxBody::RegisterValidator {
            consensus_key: key(&format!("sybil-ck-{i}")).public(),
            moniker: format!("sybil-{i}"),
            self_bond: Amount::syn(10_000),
        })
    }));
    ok(&chain.block(txs).unwrap());
    let state = chain.state();
    let whale_power = staking::validator_power(&state, &validator(&chain, &whale)).unwrap();
    let split_power: u64 = sybils
        .iter()
        .map(|s| staking::validator_power(&state, &validator(&chain, s)).unwrap())
        .sum();
    assert!(whale_power > 0);
    assert!(
        split_power <= whale_power,
        "4 x 10k ({split_power}) must not beat 1 x 40k ({whale_power})"
    );
}

#[test]
fn validator_updates_are_the_diff_against_the_current_set() {
    let mut params = quiet_params();
    params.staking.max_validators = 4;
    let (_d, mut chain) = chain(params, 4);
    let out = chain.block(vec![]).unwrap();
    assert!(
        out.validator_updates.is_empty(),
        "nothing changed: no updates"
    );

    // A stronger newcomer enters; with 4 seats, the weakest (ties by address) leaves.
    let mut newcomer = chain.net.users[2].clone();
    let ck = key("newcomer-ck").public();
    let out = chain
        .block(vec![newcomer.sign(TxBody::RegisterValidator {
            consensus_key: ck,
            moniker: "newcomer".into(),
            self_bond: Amount::syn(50_000),
        })])
        .unwrap();
    ok(&out);
    assert_eq!(
        out.validator_updates.len(),
        2,
        "{:?}",
        out.validator_updates
    );
    assert!(out
        .validator_updates
        .iter()
        .any(|u| u.consensus_key == ck && u.power > 0));
    let removed: Vec<_> = out
        .validator_updates
        .iter()
        .filter(|u| u.power == 0)
        .collect();
    assert_eq!(removed.len(), 1);
    assert_eq!(staking::active_set(&chain.state()).unwrap().len(), 4);

    // A member of the set bonding more changes only its own power.
    let set = staking::active_set(&chain.state()).unwrap();
    let i = (0..4)
        .find(|i| {
            set.iter()
                .any(|v| v.operator == chain.net.operators[*i].address())
        })
        .unwrap();
    let mut op = chain.net.operators[i].clone();
    let out = chain
        .block(vec![op.sign(TxBody::Bond {
            amount: Amount::syn(5_000),
        })])
        .unwrap();
    ok(&out);
    assert_eq!(
        out.validator_updates.len(),
        1,
        "{:?}",
        out.validator_updates
    );
    assert_eq!(
        out.validator_updates[0].consensus_key,
        chain.net.consensus_keys[i].public()
    );
    assert!(
        out.validator_updates[0].power
            > set
                .iter()
                .find(|v| v.operator == op.address())
                .unwrap()
                .power
    );
}

#[test]
fn registering_with_a_bond_below_the_minimum_or_a_used_key_is_refused() {
    let (_d, mut chain) = chain(quiet_params(), 2);
    let mut u = chain.net.users[0].clone();
    let used = chain.net.consensus_keys[0].public();
    let out = chain
        .block(vec![
            u.sign(TxBody::RegisterValidator {
                consensus_key: key("x").public(),
                moniker: "x".into(),
                self_bond: Amount::syn(10),
            }),
            u.sign(TxBody::RegisterValidator {
                consensus_key: used,
                moniker: "x".into(),
                self_bond: Amount::syn(2_000),
            }),
            u.sign(TxBody::Bond {
                amount: Amount::syn(1),
            }),
            u.sign(TxBody::Unjail),
        ])
        .unwrap();
    let codes: Vec<u32> = out.tx_results.iter().map(|r| r.code()).collect();
    assert_eq!(codes, vec![12, 15, 11, 11]);
    // Each failed body still paid its fee and used its nonce.
    let acct = accounts::account(&chain.state(), &u.address()).unwrap();
    assert_eq!(acct.nonce, 4);
    assert_eq!(
        acct.balance,
        Amount::syn(1_000_000)
            .checked_sub(Amount(4 * 5_000))
            .unwrap()
    );
}

/// 32 bytes that are not an ed25519 point (no x for this y), found by
/// trying small y values.
fn not_a_point() -> synod_protocol::PubKey {
    (2u8..=255)
        .map(|y| {
            let mut bytes = [0u8; 32];
            bytes[0] = y;
            synod_protocol::PubKey(bytes)
        })
        .find(|k| k.check_point().is_err())
        .expect("some small y has no point")
}

#[test]
fn a_consensus_key_that_is_not_an_ed25519_point_never_reaches_the_validator_set() {
    let (_d, mut chain) = chain(quiet_params(), 2);
    let mut u = chain.net.users[0].clone();
    let bad = not_a_point();
    let tx = u.sign(TxBody::RegisterValidator {
        consensus_key: bad,
        moniker: "pointless".into(),
        self_bond: Amount::syn(2_000),
    });
    // CheckTx turns it away, a block carrying it gets a nil vote, and a
    // block executing it anyway refuses it without writing anything.
    let mut mempool = synod_abci_app::Mempool::new(&chain.app);
    let checked = mempool.check(&tx).unwrap();
    assert_eq!(checked.code(), 39, "{}", checked.log());
    assert!(checked.log().contains("not a valid ed25519 point"));
    assert!(!chain
        .app
        .process_proposal(std::slice::from_ref(&tx))
        .unwrap());
    let out = chain.block(vec![tx]).unwrap();
    assert_eq!(out.tx_results[0].code(), 39);
    assert!(out.validator_updates.is_empty());
    assert!(staking::validator(&chain.state(), &u.address())
        .unwrap()
        .is_none());
}

#[test]
fn the_last_validator_cannot_unbond_the_chain_into_an_empty_set() {
    let (_d, mut chain) = chain(quiet_params(), 1);
    let mut op = chain.net.operators[0].clone();
    let set_before = staking::active_set(&chain.state()).unwrap();
    let out = chain
        .block(vec![op.sign(TxBody::Unbond {
            amount: Amount::syn(10_000),
        })])
        .unwrap();
    let r = &out.tx_results[0];
    assert_eq!(r.code(), 40, "{}", r.log());
    assert!(r.log().contains("no validator with power"), "{}", r.log());
    assert!(out.validator_updates.is_empty());
    assert_eq!(validator(&chain, &op).self_bond, Amount::syn(10_000));
    assert_eq!(staking::active_set(&chain.state()).unwrap(), set_before);
    // Unbonding part of it, above the minimum, is fine.
    let out = chain
        .block(vec![op.sign(TxBody::Unbond {
            amount: Amount::syn(1_000),
        })])
        .unwrap();
    ok(&out);
}

#[test]
fn with_two_validators_one_may_leave() {
    let (_d, mut chain) = chain(quiet_params(), 2);
    let mut op = chain.net.operators[0].clone();
    let out = chain
        .block(vec![op.sign(TxBody::Unbond {
            amount: Amount::syn(10_000),
        })])
        .unwrap();
    ok(&out);
    assert_eq!(out.validator_updates.len(), 1);
    assert_eq!(out.validator_updates[0].power, 0);
}

#[test]
fn at_most_seven_unbondings_are_in_flight_per_validator() {
    let (_d, mut chain) = chain(quiet_params(), 2);
    let mut op = chain.net.operators[0].clone();
    let unbond = |op: &mut TestAccount| {
        op.sign(TxBody::Unbond {
            amount: Amount::syn(10),
        })
    };
    let txs: Vec<Vec<u8>> = (0..8).map(|_| unbond(&mut op)).collect();
    let out = chain.block(txs).unwrap();
    let codes: Vec<u32> = out.tx_results.iter().map(|r| r.code()).collect();
    assert_eq!(codes, vec![0, 0, 0, 0, 0, 0, 0, 41]);
    let state = chain.state();
    assert_eq!(
        staking::unbondings(&state, &op.address())
            .unwrap()
            .entries
            .len(),
        staking::MAX_UNBONDING_ENTRIES
    );
    assert_eq!(validator(&chain, &op).self_bond, Amount::syn(10_000 - 70));
    // Once the unbonding period released them, unbonding works again.
    for _ in 0..5 {
        chain.block(vec![]).unwrap();
    }
    let out = chain.block(vec![unbond(&mut op)]).unwrap();
    ok(&out);
}
