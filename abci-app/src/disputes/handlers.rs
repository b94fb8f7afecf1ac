//! The disputes' transactions: `Challenge`, `Bisect`, `SelectHalf` and
//! `OneStep`, and the settlement they share with the clocks' end of block.

use synod_protocol::{
    disputes::{
        DisputeMove, DisputeRecord, DisputeStatus, MoveKind, SettleReason, Side, MAX_WITNESS_BYTES,
    },
    params::PPM,
    Address, Amount, Event, Height, TxBody,
};
use synod_zkml::trace::{
    initial_state_root, tensor_leaf, verify_transition, TransitionVerdict, TransitionWitness,
};

use super::{dispute, params, put_dispute, state_key};
use crate::{
    accounts, agents,
    error::{HandlerError, TxError},
    models, reputation,
    runs::optimistic,
    state::State,
};

/// Stateless checks: a challenge carries a bond, a half is 0 or 1, a
/// witness fits a transaction.
pub fn check_stateless(body: &TxBody) -> Result<(), TxError> {
    match body {
        TxBody::Challenge { bond, .. } if bond.is_zero() => Err(TxError::ZeroAmount),
        TxBody::SelectHalf { dispute, half } if *half > 1 => Err(TxError::WrongMove {
            dispute: *dispute,
            expected: "half 0 (lower) or 1 (upper)".into(),
            got: format!("half {half}"),
        }),
        TxBody::OneStep { dispute, witness } if witness.len() > MAX_WITNESS_BYTES => {
            Err(TxError::BadWitness {
                dispute: *dispute,
                reason: format!(
                    "the witness is {} bytes; at most {MAX_WITNESS_BYTES}",
                    witness.len()
                ),
            })
        }
        _ => Ok(()),
    }
}

/// Where and when a handler runs.
pub struct At<'a> {
    pub height: Height,
    /// The state root before this block: the reassignment draw's seed.
    pub prev_app_hash: [u8; 32],
    pub events: &'a mut Vec<Event>,
}

/// `Challenge { run, step, bond }`.
pub fn challenge(
    state: &mut State,
    signer: &Address,
    body: (u64, u32, Amount),
    at: At<'_>,
) -> Result<(), HandlerError> {
    let (run, step, bond) = body;
    let a = optimistic::asserted(state, run, step)?;
    let refuse = |reason: String| TxError::ChallengeRefused {
        run,
        step,
        challenger: *signer,
        reason,
    };
    if at.height > a.window_end {
        return Err(TxError::ChallengeWindowClosed {
            run,
            step,
            window_end: a.window_end,
            now: at.height,
        }
        .into());
    }
    if a.agent == *signer {
        return Err(refuse("it is the executor of that result".into()).into());
    }
    match agents::agent(state, signer)? {
        Some(agent) if agent.is_active() => {}
        Some(_) => return Err(refuse("it is an exiting agent".into()).into()),
        None => return Err(refuse("only a registered agent may challenge".into()).into()),
    }
    if let Some(id) = state.get::<u64>(&state_key::open_on(run, step, signer))? {
        return Err(refuse(format!("it already disputes that result (dispute {id})")).into());
    }
    let p = params(state)?;
    if a.open_disputes >= p.max_open_challenges {
        return Err(refuse(format!(
            "{} disputes are open on that result, the most allowed (params.disputes.max_open_challenges)",
            a.open_disputes
        ))
        .into());
    }
    let min = p.challenge_bond(a.open_disputes);
    if bond < min {
        return Err(TxError::ChallengeBondBelowMinimum {
            got: bond,
            min,
            open: a.open_disputes,
        }
        .into());
    }
    let record = models::model(state, &a.model)?.ok_or_else(|| TxError::UnknownModel {
        model: hex::encode(a.model),
    })?;
    let model = optimistic::stored_model(state, &a.model)?;
    let nodes = u32::try_from(model.nodes.len())
        .map_err(|_| refuse("the model has more nodes than a dispute can address".into()))?;
    let input = optimistic::tensor(
        &record.input_shape,
        &a.run.step_input(step as usize),
        "step's input",
    )?;
    let s0 = initial_state_root(&tensor_leaf(&input), nodes as usize + 1);
    accounts::debit(state, signer, bond)?;
    let id = state.get::<u64>(&state_key::last_id())?.unwrap_or(0) + 1;
    let deadline = at.height.plus(p.clock_blocks);
    let d = DisputeRecord {
        id,
        run,
        step,
        model: a.model,
        asserter: a.agent,
        challenger: *signer,
        bond,
        trace_root: a.trace_root,
        lo: 0,
        lo_root: s0.0,
        hi: nodes,
        hi_root: a.trace_root,
        mid_root: None,
        turn: if nodes <= 1 {
            Side::Challenger
        } else {
            Side::Asserter
        },
        asserter_clock: p.clock_blocks,
        challenger_clock: p.clock_blocks,
        turn_started: at.height,
        deadline,
        opened_height: at.height,
        moves: Vec::new(),
        status: DisputeStatus::Open,
    };
    state.put(state_key::last_id(), &id);
    state.put(state_key::open_on(run, step, signer), &id);
    state.put(state_key::deadline(deadline, id), &());
    optimistic::note_challenge(state, run, step)?;
    put_dispute(state, &d);
    at.events.push(Event::DisputeOpened {
        dispute: id,
        run,
        step,
        asserter: a.agent,
        challenger: *signer,
        bond,
    });
    Ok(())
}

/// The open dispute `id`, with `signer` the side to move and `wanted` the
/// move expected next.
fn mover(
    state: &State,
    signer: &Address,
    id: u64,
    wanted: &str,
    height: Height,
) -> Result<DisputeRecord, HandlerError> {
    let d = dispute(state, id)?.ok_or(TxError::UnknownDispute(id))?;
    if !d.is_open() {
        return Err(TxError::DisputeClosed {
            dispute: id,
            status: d.status.name().to_string(),
        }
        .into());
    }
    if *signer != d.asserter && *signer != d.challenger {
        return Err(TxError::NotDisputeParty {
            dispute: id,
            signer: *signer,
        }
        .into());
    }
    if *signer != d.party(d.turn) {
        return Err(TxError::NotYourTurn {
            dispute: id,
            signer: *signer,
            turn: d.turn.to_string(),
            expected: d.expected_move().to_string(),
        }
        .into());
    }
    if height > d.deadline {
        return Err(TxError::ClockRanOut {
            dispute: id,
            side: d.turn.to_string(),
            deadline: d.deadline,
            now: height,
        }
        .into());
    }
    if d.expected_move() != wanted {
        return Err(TxError::WrongMove {
            dispute: id,
            expected: d.expected_move().to_string(),
            got: wanted.to_string(),
        }
        .into());
    }
    Ok(d)
}

/// Charges the mover's clock for this turn, records the move, and hands
/// the turn to `next` (a new deadline).
fn play(state: &mut State, d: &mut DisputeRecord, kind: MoveKind, next: Side, height: Height) {
    let spent = height.value().saturating_sub(d.turn_started.value());
    let by = d.turn;
    match by {
        Side::Asserter => d.asserter_clock = d.asserter_clock.saturating_sub(spent),
        Side::Challenger => d.challenger_clock = d.challenger_clock.saturating_sub(spent),
    }
    d.moves.push(DisputeMove {
        height,
        by,
        kind,
        spent,
    });
    state.delete(state_key::deadline(d.deadline, d.id));
    d.turn = next;
    d.turn_started = height;
    let left = match next {
        Side::Asserter => d.asserter_clock,
        Side::Challenger => d.challenger_clock,
    };
    d.deadline = height.plus(left);
    state.put(state_key::deadline(d.deadline, d.id), &());
}

fn moved(d: &DisputeRecord, by: Address, kind: &str) -> Event {
    Event::DisputeMoved {
        dispute: d.id,
        by,
        kind: kind.to_string(),
        lo: d.lo,
        hi: d.hi,
    }
}

/// `Bisect { dispute, mid_root }` by the asserter.
pub fn bisect(
    state: &mut State,
    signer: &Address,
    body: (u64, [u8; 32]),
    at: At<'_>,
) -> Result<(), HandlerError> {
    let (id, mid_root) = body;
    let mut d = mover(state, signer, id, "bisect", at.height)?;
    let inconsistent = |reason: &str| TxError::InconsistentMidRoot {
        dispute: id,
        reason: reason.to_string(),
    };
    // Every state adds a written slot, so no two states of one execution
    // share a root, and none is all zeros.
    if mid_root == [0; 32] {
        return Err(inconsistent("it is all zeros").into());
    }
    if mid_root == d.lo_root {
        return Err(inconsistent("it equals the agreed root of the lower end").into());
    }
    if mid_root == d.hi_root {
        return Err(inconsistent("it equals the disputed root of the upper end").into());
    }
    let mid = d.mid();
    d.mid_root = Some(mid_root);
    play(
        state,
        &mut d,
        MoveKind::Bisect { mid, mid_root },
        Side::Challenger,
        at.height,
    );
    at.events.push(moved(&d, *signer, "bisect"));
    put_dispute(state, &d);
    Ok(())
}

/// `SelectHalf { dispute, half }` by the challenger.
pub fn select_half(
    state: &mut State,
    signer: &Address,
    body: (u64, u8),
    at: At<'_>,
) -> Result<(), HandlerError> {
    let (id, half) = body;
    let mut d = mover(state, signer, id, "select", at.height)?;
    let (mid, Some(mid_root)) = (d.mid(), d.mid_root) else {
        return Err(TxError::WrongMove {
            dispute: id,
            expected: d.expected_move().to_string(),
            got: "select".into(),
        }
        .into());
    };
    if half == 0 {
        d.hi = mid;
        d.hi_root = mid_root;
    } else {
        d.lo = mid;
        d.lo_root = mid_root;
    }
    d.mid_root = None;
    let next = if d.hi - d.lo <= 1 {
        Side::Challenger
    } else {
        Side::Asserter
    };
    play(
        state,
        &mut d,
        MoveKind::SelectHalf { half },
        next,
        at.height,
    );
    at.events.push(moved(&d, *signer, "select"));
    put_dispute(state, &d);
    Ok(())
}

/// `OneStep { dispute, witness }` by the challenger: node `lo` re-executed
/// on chain decides the dispute.
pub fn one_step(
    state: &mut State,
    signer: &Address,
    body: (u64, &[u8]),
    at: At<'_>,
) -> Result<(), HandlerError> {
    let (id, bytes) = body;
    let mut d = mover(state, signer, id, "one-step", at.height)?;
    let bad = |reason: String| TxError::BadWitness {
        dispute: id,
        reason,
    };
    let witness = TransitionWitness::from_bytes(bytes)
        .map_err(|e| bad(format!("it does not decode: {e}")))?;
    if witness.step != d.lo {
        return Err(bad(format!(
            "it is for node {}, the disputed step is node {}",
            witness.step, d.lo
        ))
        .into());
    }
    let model = optimistic::stored_model(state, &d.model)?;
    let verdict = verify_transition(
        &model,
        &synod_zkml::trace::TraceRoot(d.lo_root),
        &synod_zkml::trace::TraceRoot(d.hi_root),
        &witness,
    )
    .map_err(|e| bad(e.to_string()))?;
    let correct = verdict == TransitionVerdict::Correct;
    let step = d.lo;
    play(
        state,
        &mut d,
        MoveKind::OneStep { step, correct },
        Side::Asserter,
        at.height,
    );
    at.events.push(moved(&d, *signer, "one-step"));
    let winner = if correct {
        Side::Asserter
    } else {
        Side::Challenger
    };
    settle(
        state,
        &mut d,
        winner,
        SettleReason::OneStep,
        at.height,
        &at.prev_app_hash,
        at.events,
    )
}

/// `amount × ppm / PPM`, without overflow.
fn share(amount: Amount, ppm: u64) -> Amount {
    let ppm = u128::from(ppm.min(PPM));
    Amount(amount.0 / u128::from(PPM) * ppm + amount.0 % u128::from(PPM) * ppm / u128::from(PPM))
}

/// Ends dispute `d` for `winner`: splits the loser's bond, returns the
/// winner's, and tells the step what happened.
pub(super) fn settle(
    state: &mut State,
    d: &mut DisputeRecord,
    winner: Side,
    reason: SettleReason,
    height: Height,
    prev_app_hash: &[u8; 32],
    events: &mut Vec<Event>,
) -> Result<(), HandlerError> {
    let p = params(state)?;
    state.delete(state_key::deadline(d.deadline, d.id));
    state.delete(state_key::open_on(d.run, d.step, &d.challenger));
    let (paid, burned) = match winner {
        Side::Challenger => {
            // The result is false: the executor's result bond pays, the
            // step goes to another agent, the other disputes on it end.
            let taken = optimistic::struck(state, d.run, d.step, height, prev_app_hash, events)?;
            let paid = share(taken, p.winner_share_ppm);
            let burned = taken.checked_sub(paid)?;
            accounts::credit(state, &d.challenger, d.bond.checked_add(paid)?)?;
            agents::slash(state, &d.asserter, p.fraud_agent_slash_ppm)?;
            reputation::record_slash(state, &d.asserter, height)?;
            reputation::record_task_success(state, &d.challenger, height)?;
            accounts::burn(state, burned)?;
            void_others(state, d.run, d.step, d.asserter, height, events)?;
            (paid, burned)
        }
        Side::Asserter => {
            let paid = share(d.bond, p.winner_share_ppm);
            let burned = d.bond.checked_sub(paid)?;
            accounts::credit(state, &d.asserter, paid)?;
            accounts::burn(state, burned)?;
            reputation::record_task_timeout(
                state,
                &d.challenger,
                p.false_challenge_reputation_penalty_ppm,
                height,
            )?;
            optimistic::upheld(state, d.run, d.step, height, prev_app_hash, events)?;
            (paid, burned)
        }
    };
    d.status = DisputeStatus::Settled {
        winner,
        reason,
        paid,
        burned,
        height,
    };
    events.push(Event::DisputeSettled {
        dispute: d.id,
        winner: d.party(winner),
        loser: d.party(winner.other()),
        reason: match reason {
            SettleReason::OneStep => "one-step",
            SettleReason::Timeout => "timeout",
        }
        .to_string(),
        paid,
        burned,
    });
    put_dispute(state, d);
    Ok(())
}

/// The other disputes still open on a result proven false: void, their
/// bonds returned.
fn void_others(
    state: &mut State,
    run: u64,
    step: u32,
    asserter: Address,
    height: Height,
    events: &mut Vec<Event>,
) -> Result<(), HandlerError> {
    for (key, id) in state.prefix::<u64>(&state_key::open_on_result(run, step))? {
        state.delete(key);
        let Some(mut other) = dispute(state, id)? else {
            continue;
        };
        if !other.is_open() {
            continue;
        }
        state.delete(state_key::deadline(other.deadline, other.id));
        accounts::credit(state, &other.challenger, other.bond)?;
        other.status = DisputeStatus::Void { height };
        events.push(Event::DisputeSettled {
            dispute: other.id,
            winner: other.challenger,
            loser: asserter,
            reason: "void".into(),
            paid: Amount::ZERO,
            burned: Amount::ZERO,
        });
        put_dispute(state, &other);
    }
    Ok(())
}

/// Every dispute whose side to move let its clock run out by the end of
/// `height`: that side loses.
pub(super) fn time_out(
    state: &mut State,
    height: Height,
    prev_app_hash: &[u8; 32],
    events: &mut Vec<Event>,
) -> Result<(), HandlerError> {
    for (key, _) in state.prefix_raw(&state_key::deadlines_at(height))? {
        state.delete(key.clone());
        let Some(id) = state_key::id_of(&key) else {
            return Err(TxError::InvalidRun(format!(
                "deadline key {:?} names no dispute",
                String::from_utf8_lossy(&key)
            ))
            .into());
        };
        let Some(mut d) = dispute(state, id)? else {
            continue;
        };
        if !d.is_open() || d.deadline != height {
            continue;
        }
        let loser = d.turn;
        match loser {
            Side::Asserter => d.asserter_clock = 0,
            Side::Challenger => d.challenger_clock = 0,
        }
        settle(
            state,
            &mut d,
            loser.other(),
            SettleReason::Timeout,
            height,
            prev_app_hash,
            events,
        )?;
    }
    Ok(())
}
