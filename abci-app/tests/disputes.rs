//! Optimistic steps and their disputes on the real state machine, with the
//! shipped digits MLP registered optimistic: an honest result final after
//! its window; a false result challenged, bisected to one node and proven
//! false on chain (cheater slashed, challenger paid, step reassigned); a
//! false challenge lost; each side timing out; two challengers on one
//! result; the refusals; and a randomized game where one side is honest and
//! the other plays any moves: the honest side always wins, within the
//! bound. Supply is conserved at every block.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use synod_abci_app::{
    accounts, agents, disputes,
    models::testkit::{genesis_model, sample_input, shipped_mlp},
    reputation, rewards, runs, staking,
    testkit::{TestChain, TestNet},
    BlockOutput,
};
use synod_protocol::{
    disputes::{DisputeRecord, DisputeStatus, LeafProof, SettleReason, Side},
    governance::{WorkflowSpec, WorkflowStep},
    params::ChainParams,
    runs::{RunStatus, StepStatus},
    state::VerificationMode,
    Address, Amount, Event, TxBody,
};
use synod_zkml::{execute_node, merkle::MerkleProof, trace::run_traced, Execution, Model, Tensor};

const WINDOW: u64 = 4;
const CLOCK: u64 = 6;

fn params() -> ChainParams {
    let mut p = ChainParams::default();
    p.disputes.challenge_window_blocks = WINDOW;
    p.disputes.clock_blocks = CLOCK;
    p
}

struct World {
    chain: TestChain,
    model: Model,
    _dir: tempfile::TempDir,
}

/// A deeper model for longer games: nine nodes (Dense 64 -> 16, then
/// ReLU and Dense 16 -> 16 by turns, then Dense 16 -> 10), so bisection
/// takes ceil(log2 9) = 4 rounds.
fn deep() -> Model {
    use synod_zkml::{ir::Scale, ir::TensorInfo, Node, Op, Requant, TensorId};
    let dense = |i: u32, inp: u32, out: u32| Node {
        inputs: vec![TensorId(i)],
        op: Op::Dense {
            in_features: inp,
            out_features: out,
            weights: (0..inp * out)
                .map(|j| ((j as i32 * 29 + i as i32 * 7) % 251 - 125) as i8)
                .collect(),
            bias: (0..out as i32).map(|j| j * 50 - 300).collect(),
            requant: Requant {
                multiplier: 1 << 30,
                shift: 37,
                zero_point: 0,
            },
            channels: Vec::new(),
        },
    };
    let mut nodes = vec![dense(0, 64, 16)];
    for i in 1..8u32 {
        nodes.push(if i % 2 == 1 {
            Node {
                inputs: vec![TensorId(i)],
                op: Op::Relu { zero_point: 0 },
            }
        } else {
            dense(i, 16, 16)
        });
    }
    nodes.push(dense(8, 16, 10));
    Model {
        name: "deep".into(),
        input: TensorInfo {
            shape: vec![64],
            zero_point: 0,
            scale: Scale {
                multiplier: 1,
                shift: 4,
            },
        },
        nodes,
    }
}

/// Users 0..=3 are agents (200 syn bonded each, serving the MLP); user 4
/// submits runs of the one-step optimistic workflow `opt`.
fn world() -> World {
    world_with(shipped_mlp())
}

/// [`world`] with `model` in the workflow's one step.
fn world_with(model: Model) -> World {
    let id = synod_zkml::ModelId::of(&model).0;
    let mut net = TestNet::new(1, 5, params());
    net.genesis.models = vec![genesis_model(&model, &[VerificationMode::Optimistic])];
    net.genesis.workflows = vec![WorkflowSpec {
        name: "opt".into(),
        steps: vec![WorkflowStep {
            name: "classify".into(),
            model: id,
            inputs: vec![],
            mode: VerificationMode::Optimistic,
            timeout_blocks: 10,
            reward: Amount::syn(3),
            min_bond: Amount::syn(100),
            min_reputation: 0,
            retries: 2,
        }],
    }];
    let dir = tempfile::tempdir().unwrap();
    let mut chain = TestChain::start(dir.path(), net).unwrap();
    let register = TxBody::RegisterAgent {
        models: vec![id],
        bond: Amount::syn(200),
        metadata: String::new(),
    };
    let txs = (0..4)
        .map(|i| chain.net.users[i].sign(register.clone()))
        .collect();
    let mut w = World {
        chain,
        model,
        _dir: dir,
    };
    let out = w.block(txs);
    assert_eq!(codes(&out), vec![0; 4]);
    w
}

fn codes(out: &BlockOutput) -> Vec<u32> {
    out.tx_results.iter().map(|r| r.code()).collect()
}

fn events(out: &BlockOutput) -> Vec<Event> {
    out.tx_results
        .iter()
        .flat_map(|r| r.events.clone())
        .chain(out.events.clone())
        .collect()
}

/// Total supply against everything that holds usyn (balances, bonds,
/// escrows, the treasury, the block's fee pool is paid out at end block).
fn assert_supply(chain: &TestChain) {
    let state = chain.state();
    let mut total = rewards::treasury(&state).unwrap();
    total = total
        .checked_add(synod_abci_app::governance::escrow(&state).unwrap())
        .unwrap();
    for (_, a) in state
        .prefix::<synod_protocol::state::Account>(b"accounts/account/")
        .unwrap()
    {
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
    assert_eq!(total, accounts::supply(&state).unwrap(), "supply");
}

/// An execution whose transition into tensor `k` (1 ..= nodes) is wrong:
/// one value of tensor `k` is off, and every later node runs honestly on it.
fn lying(model: &Model, input: &Tensor, k: usize) -> Execution {
    let honest = run_traced(model, input).unwrap();
    let mut tensors = honest.tensors().to_vec();
    let t = &tensors[k];
    let mut values = t.values().to_vec();
    values[0] = if values[0] >= 127 { 126 } else { values[0] + 1 };
    tensors[k] = Tensor::new(t.shape().to_vec(), values).unwrap();
    for j in k..model.nodes.len() {
        let node = &model.nodes[j];
        let inputs: Vec<&Tensor> = node
            .inputs
            .iter()
            .map(|id| &tensors[id.0 as usize])
            .collect();
        let out = execute_node(j, node, &inputs).unwrap();
        tensors[j + 1] = out;
    }
    Execution::new(tensors)
}

fn leaf_proof(p: MerkleProof) -> LeafProof {
    LeafProof {
        leaf_count: p.leaf_count,
        siblings: p.siblings,
    }
}

impl World {
    fn user(&self, i: usize) -> Address {
        self.chain.net.users[i].address()
    }

    fn user_of(&self, a: Address) -> usize {
        (0..5).find(|&i| self.user(i) == a).unwrap()
    }

    fn block(&mut self, txs: Vec<Vec<u8>>) -> BlockOutput {
        let out = self.chain.block(txs).unwrap();
        assert_supply(&self.chain);
        out
    }

    fn tx(&mut self, who: usize, body: TxBody) -> Vec<u8> {
        let u = &mut self.chain.net.users[who];
        let tx = u.sign_with(body, u.nonce, Amount(200_000));
        u.nonce += 1;
        tx
    }

    fn model_id(&self) -> [u8; 32] {
        synod_zkml::ModelId::of(&self.model).0
    }

    fn input(&self) -> Tensor {
        sample_input(&self.model, 5)
    }

    fn submit_run(&mut self) -> u64 {
        let input = self.input().values().to_vec();
        let tx = self.tx(
            4,
            TxBody::SubmitRun {
                workflow: "opt".into(),
                version: 1,
                input,
                budget: Amount::syn(10),
            },
        );
        let out = self.block(vec![tx]);
        assert_eq!(codes(&out), vec![0]);
        runs::running(&self.chain.state())
            .unwrap()
            .last()
            .unwrap()
            .id
    }

    fn assignee(&self, run: u64) -> usize {
        match runs::run(&self.chain.state(), run).unwrap().unwrap().steps[0].status {
            StepStatus::Assigned { agent, .. } => self.user_of(agent),
            ref other => panic!("not assigned: {other:?}"),
        }
    }

    fn status(&self, run: u64) -> StepStatus {
        runs::run(&self.chain.state(), run).unwrap().unwrap().steps[0]
            .status
            .clone()
    }

    fn result_body(&self, run: u64, exec: &Execution, bond: Amount) -> TxBody {
        let trace = exec.trace();
        let n = trace.leaves().len();
        TxBody::SubmitOptimisticResult {
            run,
            step: 0,
            output: exec.output().unwrap().values().to_vec(),
            trace_root: trace.root().0,
            bond,
            input_proof: leaf_proof(trace.leaf_proof(0).unwrap()),
            output_proof: leaf_proof(trace.leaf_proof(n - 1).unwrap()),
        }
    }

    fn assert_result(&mut self, who: usize, run: u64, exec: &Execution) {
        let body = self.result_body(run, exec, Amount::syn(2));
        let tx = self.tx(who, body);
        let out = self.block(vec![tx]);
        assert_eq!(codes(&out), vec![0], "{:?}", out.tx_results[0].log());
    }

    fn dispute(&self, id: u64) -> DisputeRecord {
        disputes::dispute(&self.chain.state(), id).unwrap().unwrap()
    }

    fn challenge(&mut self, who: usize, run: u64, bond: Amount) -> (u32, u64) {
        let tx = self.tx(who, TxBody::Challenge { run, step: 0, bond });
        let out = self.block(vec![tx]);
        let id = disputes::disputes(&self.chain.state(), None)
            .unwrap()
            .last()
            .map_or(0, |d| d.id);
        (codes(&out)[0], id)
    }

    /// One move of `exec`'s owner, playing honestly for its side.
    fn honest_move(&mut self, id: u64, exec: &Execution) -> Vec<u8> {
        let d = self.dispute(id);
        let who = self.user_of(d.party(d.turn));
        let trace = exec.trace();
        let body = match d.expected_move() {
            "bisect" => TxBody::Bisect {
                dispute: id,
                mid_root: trace.state_root(d.mid() as usize).unwrap().0,
            },
            "select" => TxBody::SelectHalf {
                dispute: id,
                half: u8::from(Some(trace.state_root(d.mid() as usize).unwrap().0) == d.mid_root),
            },
            _ => TxBody::OneStep {
                dispute: id,
                witness: trace
                    .transition_witness(&self.model, exec.tensors(), d.lo as usize)
                    .unwrap()
                    .to_bytes(),
            },
        };
        self.tx(who, body)
    }

    /// Plays dispute `id` with both sides honest to their own executions
    /// until it settles; returns the blocks it took.
    fn play(&mut self, id: u64, asserter: &Execution, challenger: &Execution) -> u64 {
        let mut blocks = 0;
        while self.dispute(id).is_open() {
            let d = self.dispute(id);
            let exec = match d.turn {
                Side::Asserter => asserter,
                Side::Challenger => challenger,
            };
            let tx = self.honest_move(id, exec);
            let out = self.block(vec![tx]);
            assert_eq!(codes(&out), vec![0], "{}", out.tx_results[0].log());
            blocks += 1;
            assert!(blocks < 50, "the game does not end");
        }
        blocks
    }

    fn bond_of(&self, who: usize) -> Amount {
        agents::agent(&self.chain.state(), &self.user(who))
            .unwrap()
            .unwrap()
            .bond
    }

    fn balance(&self, who: usize) -> Amount {
        accounts::account(&self.chain.state(), &self.user(who))
            .unwrap()
            .balance
    }

    fn empty_blocks(&mut self, n: u64) -> Vec<Event> {
        (0..n).flat_map(|_| events(&self.block(vec![]))).collect()
    }
}

#[test]
fn an_honest_optimistic_result_is_final_after_its_window_and_pays() {
    let mut w = world();
    let run = w.submit_run();
    let who = w.assignee(run);
    let honest = run_traced(&w.model, &w.input()).unwrap();
    let before = w.balance(who);
    w.assert_result(who, run, &honest);
    match w.status(run) {
        StepStatus::Asserted { bond, .. } => assert_eq!(bond, Amount::syn(2)),
        other => panic!("{other:?}"),
    }
    // Not final inside the window.
    w.empty_blocks(WINDOW - 1);
    assert!(matches!(w.status(run), StepStatus::Asserted { .. }));
    let evs = w.empty_blocks(1);
    assert!(
        evs.iter().any(|e| matches!(e, Event::StepFinal { .. })),
        "{evs:?}"
    );
    assert!(matches!(
        runs::run(&w.chain.state(), run).unwrap().unwrap().status,
        RunStatus::Verified { .. }
    ));
    // Bond back, reward paid, fees for one tx (200_000 usyn) spent.
    assert_eq!(
        w.balance(who),
        before
            .checked_add(Amount::syn(3))
            .unwrap()
            .checked_sub(Amount(200_000))
            .unwrap()
    );
    // Too late to challenge now.
    let other = (who + 1) % 4;
    let (code, _) = w.challenge(other, run, Amount::syn(1));
    assert_eq!(code, 69, "a final result is not challengeable");
}

#[test]
fn a_false_result_is_bisected_to_one_node_and_proven_false_on_chain() {
    let mut w = world_with(deep());
    let run = w.submit_run();
    let cheat = w.assignee(run);
    let nodes = w.model.nodes.len();
    assert_eq!(nodes, 9);
    let liar = lying(&w.model, &w.input(), 6);
    let honest = run_traced(&w.model, &w.input()).unwrap();
    assert_ne!(liar.output(), honest.output(), "the lie changes the output");
    assert_ne!(liar.trace().root(), honest.trace().root());
    w.assert_result(cheat, run, &liar);
    let challenger = (cheat + 1) % 4;
    let (cheat_bond, cheat_balance) = (w.bond_of(cheat), w.balance(cheat));
    let challenger_balance = w.balance(challenger);
    let score = reputation::score(&w.chain.state(), &w.user(cheat)).unwrap();
    let (code, id) = w.challenge(challenger, run, Amount::syn(1));
    assert_eq!(code, 0);
    let blocks = w.play(id, &liar, &honest);
    let d = w.dispute(id);
    assert!(
        matches!(
            d.status,
            DisputeStatus::Settled {
                winner: Side::Challenger,
                reason: SettleReason::OneStep,
                ..
            }
        ),
        "{:?}",
        d.status
    );
    // Bisection found the wrong transition: node 5 writes tensor 6.
    assert_eq!((d.lo, d.hi), (5, 6));
    let rounds = synod_protocol::disputes::bisection_rounds(nodes as u32) as u64;
    assert!(
        blocks <= 2 * rounds + 1,
        "bisect+select per round, then one step"
    );
    assert_eq!(d.moves.len() as u64, blocks);
    let moves = d.moves.iter().filter(|m| m.by == Side::Challenger).count() as u128;
    // The challenger: bond back + half the 2 syn result bond, minus fees.
    let fees = Amount(200_000 * (1 + moves));
    assert_eq!(
        w.balance(challenger),
        challenger_balance
            .checked_add(Amount::syn(1))
            .unwrap()
            .checked_sub(fees)
            .unwrap()
    );
    // The cheater: result bond gone, 10% of its agent bond burned, reputation slashed.
    assert!(w.balance(cheat) < cheat_balance);
    assert_eq!(
        w.bond_of(cheat),
        cheat_bond.checked_sub(Amount::syn(20)).unwrap()
    );
    assert!(reputation::score(&w.chain.state(), &w.user(cheat)).unwrap() <= score);
    // The step went to another agent.
    let again = w.assignee(run);
    assert_ne!(again, cheat);
    w.assert_result(again, run, &honest);
    w.empty_blocks(WINDOW);
    assert!(matches!(
        runs::run(&w.chain.state(), run).unwrap().unwrap().status,
        RunStatus::Verified { .. }
    ));
}

#[test]
fn a_reassigned_step_waits_for_its_own_window() {
    // The false result and its challenge in one block, the game in the
    // next three: the step is reassigned before the first window ends, and
    // the new result must wait for a window of its own.
    let mut w = world();
    let run = w.submit_run();
    let cheat = w.assignee(run);
    let liar = lying(&w.model, &w.input(), 2);
    let honest = run_traced(&w.model, &w.input()).unwrap();
    let body = w.result_body(run, &liar, Amount::syn(2));
    let challenger = (cheat + 1) % 4;
    let txs = vec![
        w.tx(cheat, body),
        w.tx(
            challenger,
            TxBody::Challenge {
                run,
                step: 0,
                bond: Amount::syn(1),
            },
        ),
    ];
    assert_eq!(codes(&w.block(txs)), vec![0, 0]);
    let first_end = match w.status(run) {
        StepStatus::Asserted { window_end, .. } => window_end,
        other => panic!("{other:?}"),
    };
    let id = disputes::disputes(&w.chain.state(), None).unwrap()[0].id;
    w.play(id, &liar, &honest);
    let again = w.assignee(run);
    assert_eq!(
        w.chain.height + 1,
        first_end.value(),
        "asserted in the first window's last block"
    );
    w.assert_result(again, run, &honest);
    assert!(
        matches!(w.status(run), StepStatus::Asserted { window_end, .. } if window_end.value() == first_end.value() + WINDOW),
        "{:?}",
        w.status(run)
    );
    w.empty_blocks(WINDOW - 1);
    assert!(matches!(w.status(run), StepStatus::Asserted { .. }));
    w.empty_blocks(1);
    assert!(matches!(w.status(run), StepStatus::Final { .. }));
}

#[test]
fn a_challenge_and_a_one_step_want_gas_for_the_model_they_load() {
    let mut w = world_with(deep());
    let run = w.submit_run();
    let who = w.assignee(run);
    let honest = run_traced(&w.model, &w.input()).unwrap();
    w.assert_result(who, run, &honest);
    let components = synod_abci_app::app::components(&Default::default());
    let state = w.chain.state();
    let record = synod_abci_app::models::model(&state, &w.model_id())
        .unwrap()
        .unwrap();
    let gas = |body: TxBody| {
        let tx = synod_protocol::SignedTx::decode(
            &w.chain.net.users[0].sign_with(body, 0, Amount(1)),
            1 << 20,
        )
        .unwrap();
        synod_abci_app::gas::tx_gas(&state, &components, &tx, 100).unwrap()
    };
    let base = gas(TxBody::Bisect {
        dispute: 1,
        mid_root: [1; 32],
    });
    let challenge = gas(TxBody::Challenge {
        run,
        step: 0,
        bond: Amount::syn(1),
    });
    assert_eq!(challenge - base, record.parameter_count);
    assert!(record.parameter_count > 1_000);
}

#[test]
fn a_false_challenge_is_lost_and_the_result_is_final() {
    let mut w = world();
    let run = w.submit_run();
    let who = w.assignee(run);
    let honest = run_traced(&w.model, &w.input()).unwrap();
    w.assert_result(who, run, &honest);
    let challenger = (who + 1) % 4;
    let (code, id) = w.challenge(challenger, run, Amount::syn(1));
    assert_eq!(code, 0);
    // The challenger believes a lie; the asserter is honest.
    let wrong = lying(&w.model, &w.input(), 1);
    let before = w.balance(who);
    w.play(id, &honest, &wrong);
    let d = w.dispute(id);
    assert!(
        matches!(
            d.status,
            DisputeStatus::Settled {
                winner: Side::Asserter,
                ..
            }
        ),
        "{:?}",
        d.status
    );
    // The window may still be open: final once it ends.
    w.empty_blocks(WINDOW);
    assert!(matches!(w.status(run), StepStatus::Final { .. }));
    // Half the challenge bond and the reward and its result bond back, minus its bisect fees.
    assert!(w.balance(who) > before);
}

#[test]
fn a_side_that_lets_its_clock_run_out_loses() {
    // The asserter never answers.
    let mut w = world();
    let run = w.submit_run();
    let cheat = w.assignee(run);
    let liar = lying(&w.model, &w.input(), 1);
    w.assert_result(cheat, run, &liar);
    let (code, id) = w.challenge((cheat + 1) % 4, run, Amount::syn(1));
    assert_eq!(code, 0);
    let opened = w.dispute(id).opened_height;
    w.empty_blocks(CLOCK);
    let d = w.dispute(id);
    match d.status {
        DisputeStatus::Settled {
            winner: Side::Challenger,
            reason: SettleReason::Timeout,
            height,
            ..
        } => assert!(height.value() - opened.value() <= 2 * CLOCK),
        other => panic!("{other:?}"),
    }
    // A move after the end is refused, changing nothing.
    let tx = w.tx(
        cheat,
        TxBody::Bisect {
            dispute: id,
            mid_root: [1; 32],
        },
    );
    assert_eq!(codes(&w.block(vec![tx])), vec![60]);

    // The challenger never picks a half.
    let run = w.submit_run();
    let who = w.assignee(run);
    let honest = run_traced(&w.model, &w.input()).unwrap();
    w.assert_result(who, run, &honest);
    let (code, id) = w.challenge((who + 1) % 4, run, Amount::syn(1));
    assert_eq!(code, 0);
    let tx = w.honest_move(id, &honest);
    assert_eq!(codes(&w.block(vec![tx])), vec![0]);
    // The window (4 blocks from the result) ends while the game goes on:
    // a later challenge is refused.
    w.empty_blocks(2);
    let (code, _) = w.challenge((who + 2) % 4, run, Amount::syn(5));
    assert_eq!(code, 67);
    assert!(w.dispute(id).is_open());
    w.empty_blocks(CLOCK);
    assert!(matches!(
        w.dispute(id).status,
        DisputeStatus::Settled {
            winner: Side::Asserter,
            reason: SettleReason::Timeout,
            ..
        }
    ));
}

#[test]
fn two_challengers_each_play_their_own_game() {
    let mut w = world();
    let run = w.submit_run();
    let cheat = w.assignee(run);
    let liar = lying(&w.model, &w.input(), 2);
    let honest = run_traced(&w.model, &w.input()).unwrap();
    w.assert_result(cheat, run, &liar);
    let (a, b) = ((cheat + 1) % 4, (cheat + 2) % 4);
    let (code, first) = w.challenge(a, run, Amount::syn(1));
    assert_eq!(code, 0);
    // The second challenge needs a larger bond (one open already).
    let (code, _) = w.challenge(b, run, Amount::syn(1));
    assert_eq!(code, 68);
    let (code, second) = w.challenge(b, run, Amount::syn(2));
    assert_eq!(code, 0);
    assert_ne!(first, second);
    // A second challenge by the same agent is refused.
    let (code, _) = w.challenge(a, run, Amount::syn(3));
    assert_eq!(code, 70);
    let b_balance = w.balance(b);
    w.play(first, &liar, &honest);
    // The first proves the result false; the second is void, its bond returned.
    assert!(matches!(
        w.dispute(first).status,
        DisputeStatus::Settled {
            winner: Side::Challenger,
            ..
        }
    ));
    assert!(matches!(
        w.dispute(second).status,
        DisputeStatus::Void { .. }
    ));
    assert_eq!(w.balance(b), b_balance.checked_add(Amount::syn(2)).unwrap());
}

#[test]
fn two_false_challenges_must_both_be_answered_before_the_result_is_final() {
    let mut w = world();
    let run = w.submit_run();
    let who = w.assignee(run);
    let honest = run_traced(&w.model, &w.input()).unwrap();
    w.assert_result(who, run, &honest);
    let (a, b) = ((who + 1) % 4, (who + 2) % 4);
    let (_, first) = w.challenge(a, run, Amount::syn(1));
    let (_, second) = w.challenge(b, run, Amount::syn(2));
    let wrong = lying(&w.model, &w.input(), 1);
    // The asserter answers both games in the same blocks; the second
    // challenger is slower by a block each move.
    let mut slow = false;
    while w.dispute(first).is_open() || w.dispute(second).is_open() {
        let mut txs = Vec::new();
        for id in [first, second] {
            let d = w.dispute(id);
            if !d.is_open() || (id == second && d.turn == Side::Challenger && !slow) {
                continue;
            }
            let exec = if d.turn == Side::Asserter {
                &honest
            } else {
                &wrong
            };
            txs.push(w.honest_move(id, exec));
        }
        slow = !slow;
        let out = w.block(txs);
        assert!(codes(&out).iter().all(|&c| c == 0), "{:?}", codes(&out));
        if !w.dispute(first).is_open() && w.dispute(second).is_open() {
            // One game settled, one open: not final.
            assert!(matches!(
                w.status(run),
                StepStatus::Asserted {
                    open_disputes: 1,
                    ..
                }
            ));
        }
    }
    for id in [first, second] {
        assert!(matches!(
            w.dispute(id).status,
            DisputeStatus::Settled {
                winner: Side::Asserter,
                ..
            }
        ));
    }
    w.empty_blocks(WINDOW);
    assert!(matches!(w.status(run), StepStatus::Final { .. }));
}

#[test]
fn bad_moves_are_refused_with_their_codes_and_change_nothing_but_fee_and_nonce() {
    let mut w = world();
    let run = w.submit_run();
    let who = w.assignee(run);
    let liar = lying(&w.model, &w.input(), 2);
    let honest = run_traced(&w.model, &w.input()).unwrap();
    // Bad results: a bond below the minimum, a trace whose first leaf is not the input.
    let low = w.result_body(run, &liar, Amount(1));
    let tx = w.tx(who, low);
    assert_eq!(codes(&w.block(vec![tx])), vec![58]);
    let other_input = run_traced(&w.model, &sample_input(&w.model, 9)).unwrap();
    let wrong_input = w.result_body(run, &other_input, Amount::syn(2));
    let tx = w.tx(who, wrong_input);
    assert_eq!(codes(&w.block(vec![tx])), vec![57]);
    w.assert_result(who, run, &liar);
    let challenger = (who + 1) % 4;
    // The executor cannot challenge itself; a non-agent cannot challenge.
    let (code, _) = w.challenge(who, run, Amount::syn(1));
    assert_eq!(code, 70);
    let (code, _) = w.challenge(4, run, Amount::syn(1));
    assert_eq!(code, 70);
    let (code, id) = w.challenge(challenger, run, Amount::syn(1));
    assert_eq!(code, 0);
    let third = (who + 2) % 4;
    let root = w.dispute(id).lo_root;
    let before = w.dispute(id);
    let txs = vec![
        // A non-party moves.
        w.tx(
            third,
            TxBody::Bisect {
                dispute: id,
                mid_root: [1; 32],
            },
        ),
        // Out of turn: the challenger bisects.
        w.tx(
            challenger,
            TxBody::SelectHalf {
                dispute: id,
                half: 0,
            },
        ),
        // The wrong move for the asserter's turn.
        w.tx(
            who,
            TxBody::OneStep {
                dispute: id,
                witness: vec![1, 2, 3],
            },
        ),
        // A midpoint root equal to the agreed root.
        w.tx(
            who,
            TxBody::Bisect {
                dispute: id,
                mid_root: root,
            },
        ),
        // An unknown dispute.
        w.tx(
            who,
            TxBody::Bisect {
                dispute: 999,
                mid_root: [1; 32],
            },
        ),
    ];
    let out = w.block(txs);
    assert_eq!(codes(&out), vec![61, 62, 63, 65, 59]);
    assert_eq!(w.dispute(id), before);
    // Play to the one step, then send a witness for another node.
    loop {
        let d = w.dispute(id);
        if d.expected_move() == "one-step" {
            break;
        }
        let exec = if d.turn == Side::Asserter {
            &liar
        } else {
            &honest
        };
        let tx = w.honest_move(id, exec);
        assert_eq!(codes(&w.block(vec![tx])), vec![0]);
    }
    let d = w.dispute(id);
    let other_node = if d.lo == 0 { 1 } else { 0 };
    let wrong_node = honest
        .trace()
        .transition_witness(&w.model, honest.tensors(), other_node)
        .unwrap();
    let mut tampered = honest
        .trace()
        .transition_witness(&w.model, honest.tensors(), d.lo as usize)
        .unwrap();
    // The MLP's witness, weights left out (the chain has them), fits in 1 KiB.
    assert!(
        tampered.to_bytes().len() < 1024,
        "{}",
        tampered.to_bytes().len()
    );
    tampered.inputs[0].proof.siblings[0][0] ^= 1;
    let txs = vec![
        w.tx(
            challenger,
            TxBody::OneStep {
                dispute: id,
                witness: wrong_node.to_bytes(),
            },
        ),
        w.tx(
            challenger,
            TxBody::OneStep {
                dispute: id,
                witness: tampered.to_bytes(),
            },
        ),
        w.tx(
            challenger,
            TxBody::OneStep {
                dispute: id,
                witness: vec![0xff; 10],
            },
        ),
    ];
    assert_eq!(codes(&w.block(txs)), vec![66, 66, 66]);
    assert!(w.dispute(id).is_open());
}

/// One move of any kind by the dishonest side, from `pick`.
fn arbitrary_move(w: &mut World, id: u64, pick: u64) -> Option<Vec<u8>> {
    let d = w.dispute(id);
    let who = w.user_of(d.party(d.turn));
    let body = match pick % 5 {
        0 => return None, // let the clock run
        1 => TxBody::Bisect {
            dispute: id,
            mid_root: {
                let mut r = [0u8; 32];
                r[..8].copy_from_slice(&pick.to_le_bytes());
                r[31] = 1;
                r
            },
        },
        2 => TxBody::SelectHalf {
            dispute: id,
            half: (pick / 5 % 2) as u8,
        },
        3 => {
            // A valid-looking witness from some execution of its own.
            let exec = lying(
                &w.model,
                &w.input(),
                1 + (pick / 5) as usize % w.model.nodes.len(),
            );
            TxBody::OneStep {
                dispute: id,
                witness: exec
                    .trace()
                    .transition_witness(&w.model, exec.tensors(), d.lo as usize)
                    .unwrap()
                    .to_bytes(),
            }
        }
        _ => TxBody::Bisect {
            dispute: id,
            mid_root: lying(
                &w.model,
                &w.input(),
                1 + (pick / 5) as usize % w.model.nodes.len(),
            )
            .trace()
            .state_root(d.mid() as usize)
            .unwrap()
            .0,
        },
    };
    Some(w.tx(who, body))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// One side honest, the other plays anything (or nothing): the honest
    /// side wins, within `2 × clock_blocks` blocks of the challenge.
    #[test]
    fn the_honest_side_always_wins_within_the_bound(
        honest_asserts in any::<bool>(),
        lie_at in 1usize..=9,
        picks in proptest::collection::vec(any::<u64>(), 40),
    ) {
        let mut w = world_with(deep());
        let run = w.submit_run();
        let who = w.assignee(run);
        let honest = run_traced(&w.model, &w.input()).unwrap();
        let liar = lying(&w.model, &w.input(), lie_at.min(w.model.nodes.len()));
        w.assert_result(who, run, if honest_asserts { &honest } else { &liar });
        let (code, id) = w.challenge((who + 1) % 4, run, Amount::syn(1));
        prop_assert_eq!(code, 0);
        let opened = w.dispute(id).opened_height;
        let honest_side = if honest_asserts { Side::Asserter } else { Side::Challenger };
        let mut picks = picks.into_iter();
        while w.dispute(id).is_open() {
            let d = w.dispute(id);
            let tx = if d.turn == honest_side {
                Some(w.honest_move(id, &honest))
            } else {
                arbitrary_move(&mut w, id, picks.next().unwrap_or(0))
            };
            w.block(tx.into_iter().collect());
            prop_assert!(
                w.chain.height - opened.value() <= 2 * CLOCK + 1,
                "past the bound"
            );
        }
        match w.dispute(id).status {
            DisputeStatus::Settled { winner, height, .. } => {
                prop_assert_eq!(winner, honest_side);
                prop_assert!(height.value() - opened.value() <= 2 * CLOCK);
            }
            other => prop_assert!(false, "{:?}", other),
        }
    }
}
