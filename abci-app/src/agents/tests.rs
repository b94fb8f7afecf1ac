//! The agents module against a scratch store: registration, updates,
//! bonds, exit and release, and every refusal leaving state as it was.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use synod_protocol::{
    agents::AgentStatus,
    params::AgentsParams,
    state::{ModelRecord, ModelStatus, VerificationMode},
    Address, Amount, Event, Height, TxBody,
};

use super::{agent, agents, bonded, handlers, hooks::release_bonds, update_params};
use crate::{
    accounts,
    error::{HandlerError, TxError},
    models::registry::{register as register_model, Registration},
    reputation,
    state::State,
    testkit::scratch_state,
};

const ALICE: Address = Address([0xa1; 20]);
const BOB: Address = Address([0xb0; 20]);
const M1: [u8; 32] = [1; 32];
const M2: [u8; 32] = [2; 32];
const RETIRED: [u8; 32] = [9; 32];

fn model(id: [u8; 32], status: ModelStatus) -> Registration {
    Registration {
        record: ModelRecord {
            id,
            name: format!("model-{}", id[0]),
            vk_hash: [0; 32],
            k: 0,
            modes: vec![VerificationMode::Optimistic],
            status,
            registered_height: Height(1),
            parameter_count: 10,
            input_shape: vec![4],
            output_shape: vec![2],
            predecessor: None,
            successor: None,
            retire_at: None,
        },
        file: Vec::new(),
        verifier: None,
    }
}

/// A store with agents' default params but a 10 syn minimum bond and a
/// 5-block exit, two active models and a retired one, and 1,000 syn each
/// for Alice and Bob.
fn setup() -> (tempfile::TempDir, State) {
    let (dir, mut state) = scratch_state();
    update_params(
        &mut state,
        &AgentsParams {
            min_bond: Amount::syn(10),
            unbonding_blocks: 5,
            max_models: 3,
            max_metadata_bytes: 16,
        },
    );
    reputation::update_params(&mut state, &Default::default());
    register_model(&mut state, &model(M1, ModelStatus::Active));
    register_model(&mut state, &model(M2, ModelStatus::Active));
    register_model(
        &mut state,
        &model(
            RETIRED,
            ModelStatus::Retired {
                at_height: Height(1),
            },
        ),
    );
    for who in [ALICE, BOB] {
        accounts::mint(&mut state, Amount::syn(1_000)).unwrap();
        accounts::credit(&mut state, &who, Amount::syn(1_000)).unwrap();
    }
    (dir, state)
}

fn balance(state: &State, who: &Address) -> Amount {
    accounts::account(state, who).unwrap().balance
}

fn refused(result: Result<(), HandlerError>) -> TxError {
    match result {
        Err(HandlerError::Tx(e)) => e,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn register(
    state: &mut State,
    who: Address,
    models: &[[u8; 32]],
    bond: Amount,
) -> Result<(), HandlerError> {
    handlers::register(
        state,
        &who,
        models,
        bond,
        "tcp://a",
        Height(10),
        &mut Vec::new(),
    )
}

#[test]
fn registering_bonds_from_the_balance_sorts_the_models_and_starts_at_the_floor() {
    let (_d, mut state) = setup();
    let mut events = Vec::new();
    handlers::register(
        &mut state,
        &ALICE,
        &[M2, M1],
        Amount::syn(25),
        "tcp://a",
        Height(10),
        &mut events,
    )
    .unwrap();
    let a = agent(&state, &ALICE).unwrap().unwrap();
    assert_eq!(a.models, vec![M1, M2]);
    assert!(a.serves(&M1) && a.serves(&M2) && !a.serves(&RETIRED));
    assert_eq!(a.bond, Amount::syn(25));
    assert_eq!(a.status, AgentStatus::Active);
    assert_eq!(a.registered_height, Height(10));
    assert_eq!(balance(&state, &ALICE), Amount::syn(975));
    assert_eq!(bonded(&state).unwrap(), Amount::syn(25));
    assert_eq!(
        reputation::score(&state, &ALICE).unwrap(),
        reputation::params(&state).unwrap().floor_score
    );
    assert_eq!(
        events,
        vec![Event::AgentRegistered {
            agent: ALICE,
            bond: Amount::syn(25),
            models: 2
        }]
    );
    // Once only.
    let e = refused(register(&mut state, ALICE, &[M1], Amount::syn(10)));
    assert!(matches!(e, TxError::AlreadyAgent(a) if a == ALICE), "{e}");
    assert_eq!(e.code(), 43);
}

#[test]
fn bad_registrations_are_refused_with_their_reason_and_change_nothing() {
    let (_d, mut state) = setup();
    let cases: Vec<(Vec<[u8; 32]>, Amount, &str, u32)> = vec![
        (vec![M1], Amount::syn(9), "below the minimum", 47),
        (vec![[7; 32]], Amount::syn(10), "unknown model", 23),
        (vec![M1, RETIRED], Amount::syn(10), "was retired", 24),
        (vec![M1], Amount::syn(5_000), "insufficient balance", 9),
        (
            vec![M1, M2, RETIRED, [7; 32]],
            Amount::syn(10),
            "at most 3",
            46,
        ),
    ];
    for (models, bond, says, code) in cases {
        let e = refused(register(&mut state, BOB, &models, bond));
        assert!(e.to_string().contains(says), "{e} should say {says:?}");
        assert_eq!(e.code(), code, "{e}");
    }
    let e = refused(handlers::register(
        &mut state,
        &BOB,
        &[M1],
        Amount::syn(10),
        "a metadata text longer than sixteen bytes",
        Height(10),
        &mut Vec::new(),
    ));
    assert!(e.to_string().contains("at most 16"), "{e}");
    assert_eq!(agent(&state, &BOB).unwrap(), None);
    assert_eq!(balance(&state, &BOB), Amount::syn(1_000));
    assert_eq!(bonded(&state).unwrap(), Amount::ZERO);
}

#[test]
fn stateless_checks_refuse_empty_repeated_or_unprintable_fields() {
    let body = |models: Vec<[u8; 32]>, metadata: &str| TxBody::RegisterAgent {
        models,
        bond: Amount::syn(10),
        metadata: metadata.into(),
    };
    assert!(handlers::check_stateless(&body(vec![M1], "ok")).is_ok());
    for (b, says) in [
        (body(vec![], ""), "at least one model"),
        (body(vec![M1, M1], ""), "listed twice"),
        (body(vec![M1], "bell\u{7}"), "control characters"),
        (body(vec![[0; 32]; 257], ""), "at most 256"),
    ] {
        let e = handlers::check_stateless(&b).unwrap_err();
        assert!(e.to_string().contains(says), "{e} should say {says:?}");
    }
    assert!(matches!(
        handlers::check_stateless(&TxBody::AddAgentBond {
            amount: Amount::ZERO
        }),
        Err(TxError::ZeroAmount)
    ));
    assert!(handlers::check_stateless(&TxBody::ExitAgent).is_ok());
}

#[test]
fn updates_and_bonds_apply_to_active_agents_only() {
    let (_d, mut state) = setup();
    let e = refused(handlers::add_bond(
        &mut state,
        &ALICE,
        Amount::syn(1),
        Height(11),
        &mut Vec::new(),
    ));
    assert_eq!(e.code(), 44, "{e}");
    register(&mut state, ALICE, &[M1], Amount::syn(10)).unwrap();
    handlers::update(
        &mut state,
        &ALICE,
        &[M2],
        "new",
        Height(11),
        &mut Vec::new(),
    )
    .unwrap();
    handlers::add_bond(
        &mut state,
        &ALICE,
        Amount::syn(5),
        Height(11),
        &mut Vec::new(),
    )
    .unwrap();
    let a = agent(&state, &ALICE).unwrap().unwrap();
    assert_eq!(
        (a.models, a.metadata.as_str(), a.bond),
        (vec![M2], "new", Amount::syn(15))
    );
    assert_eq!(a.updated_height, Height(11));
    assert_eq!(balance(&state, &ALICE), Amount::syn(985));
    // An update to a retired model is refused whole.
    let e = refused(handlers::update(
        &mut state,
        &ALICE,
        &[M1, RETIRED],
        "x",
        Height(12),
        &mut Vec::new(),
    ));
    assert_eq!(e.code(), 24, "{e}");
    assert_eq!(agent(&state, &ALICE).unwrap().unwrap().models, vec![M2]);
    // An exiting agent changes no more.
    handlers::exit(&mut state, &ALICE, Height(12), &mut Vec::new()).unwrap();
    for e in [
        refused(handlers::update(
            &mut state,
            &ALICE,
            &[M1],
            "",
            Height(13),
            &mut Vec::new(),
        )),
        refused(handlers::add_bond(
            &mut state,
            &ALICE,
            Amount::syn(1),
            Height(13),
            &mut Vec::new(),
        )),
        refused(handlers::exit(
            &mut state,
            &ALICE,
            Height(13),
            &mut Vec::new(),
        )),
        refused(register(&mut state, ALICE, &[M1], Amount::syn(10))),
    ] {
        assert!(
            matches!(
                e,
                TxError::AgentExiting {
                    release_height: Height(17),
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!(e.code(), 45);
    }
}

#[test]
fn an_exited_agent_gets_its_bond_back_at_the_release_height_and_may_return() {
    let (_d, mut state) = setup();
    register(&mut state, ALICE, &[M1], Amount::syn(40)).unwrap();
    register(&mut state, BOB, &[M2], Amount::syn(10)).unwrap();
    let mut events = Vec::new();
    handlers::exit(&mut state, &ALICE, Height(20), &mut events).unwrap();
    assert_eq!(
        events,
        vec![Event::AgentExiting {
            agent: ALICE,
            release_height: Height(25)
        }]
    );
    assert!(!agent(&state, &ALICE).unwrap().unwrap().is_active());
    // Still held (and counted) until height 25.
    for h in 21..25 {
        release_bonds(&mut state, Height(h), &mut events).unwrap();
    }
    assert_eq!(balance(&state, &ALICE), Amount::syn(960));
    assert_eq!(bonded(&state).unwrap(), Amount::syn(50));
    let mut events = Vec::new();
    release_bonds(&mut state, Height(25), &mut events).unwrap();
    assert_eq!(
        events,
        vec![Event::AgentBondReleased {
            agent: ALICE,
            amount: Amount::syn(40)
        }]
    );
    assert_eq!(balance(&state, &ALICE), Amount::syn(1_000));
    assert_eq!(agent(&state, &ALICE).unwrap(), None);
    assert_eq!(agents(&state).unwrap().len(), 1);
    assert_eq!(bonded(&state).unwrap(), Amount::syn(10));
    // Bob's bond never moved; Alice may register again.
    register(&mut state, ALICE, &[M2], Amount::syn(10)).unwrap();
    assert_eq!(agents(&state).unwrap().len(), 2);
}

#[test]
fn a_release_queue_entry_without_an_exiting_agent_is_a_broken_invariant() {
    let (_d, mut state) = setup();
    register(&mut state, ALICE, &[M1], Amount::syn(10)).unwrap();
    state.put(super::state_key::release_queue(Height(30), &ALICE), &());
    let err = release_bonds(&mut state, Height(30), &mut Vec::new()).unwrap_err();
    assert!(
        err.to_string().contains("agents: invariant broken"),
        "{err}"
    );
}
