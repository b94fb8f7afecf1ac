//! Workflow runs on the real state machine: a 3-step DAG (two digit
//! classifiers on the run's input, joined by a head over both outputs) run
//! by three agents to `workflow_verified`, with real halo2 proofs; the
//! refusals (a non-assignee, a wrong output, a finished run, a bad
//! submission); missed deadlines, reassignment and failure with refund;
//! and an agent that holds a step cannot exit.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use synod_abci_app::{
    accounts, agents, models,
    models::testkit::{genesis_model, sample_input, shipped_mlp, shipped_model, Prover},
    query, runs,
    testkit::{TestChain, TestNet},
    BlockOutput,
};
use synod_protocol::{
    codec,
    governance::{WorkflowSpec, WorkflowStep},
    params::ChainParams,
    query::code,
    runs::{RunRecord, RunStatus, StepStatus, VerifiedWorkflow},
    state::VerificationMode,
    Address, Amount, Event, TxBody,
};
use synod_zkml::{ir::Scale, ir::TensorInfo, Model, Node, Op, Requant, Tensor, TensorId};

/// A head that reads two 10-value outputs (20 values) and gives 10.
fn head() -> Model {
    let weights = (0..200).map(|i| ((i * 29) % 251 - 125) as i8).collect();
    Model {
        name: "digits-head".into(),
        input: TensorInfo {
            shape: vec![20],
            zero_point: 0,
            scale: Scale {
                multiplier: 1,
                shift: 4,
            },
        },
        nodes: vec![Node {
            inputs: vec![TensorId(0)],
            op: Op::Dense {
                in_features: 20,
                out_features: 10,
                weights,
                bias: (0..10).map(|i| i * 100 - 500).collect(),
                requant: Requant {
                    multiplier: 1 << 30,
                    shift: 38,
                    zero_point: 0,
                },
                channels: Vec::new(),
            },
        }],
    }
}

fn step(name: &str, model: [u8; 32], inputs: Vec<u32>, reward: u64, timeout: u64) -> WorkflowStep {
    WorkflowStep {
        name: name.into(),
        model,
        inputs,
        mode: VerificationMode::Zk,
        timeout_blocks: timeout,
        reward: Amount::syn(reward),
        min_bond: Amount::syn(100),
        min_reputation: 0,
        retries: 1,
    }
}

struct World {
    chain: TestChain,
    mlp: Prover,
    head: Prover,
    _dir: tempfile::TempDir,
}

/// Users 0..=2 are agents (200 syn bonded each, serving both models);
/// user 3 submits runs.
fn world() -> World {
    world_with(ChainParams::default(), 3)
}

/// [`world`] under `params`, each step due `timeout` blocks after it is assigned.
fn world_with(params: ChainParams, timeout: u64) -> World {
    let max_k = params.models.max_k;
    let mlp = Prover::new(shipped_mlp(), max_k);
    let head = Prover::new(head(), max_k);
    let mut net = TestNet::new(1, 5, params);
    net.genesis.models = vec![
        genesis_model(&mlp.model, &[VerificationMode::Zk]),
        genesis_model(&head.model, &[VerificationMode::Zk]),
    ];
    net.genesis.workflows = vec![WorkflowSpec {
        name: "pipeline".into(),
        steps: vec![
            step("left", mlp.id(), vec![], 2, timeout),
            step("right", mlp.id(), vec![], 2, timeout),
            step("join", head.id(), vec![0, 1], 3, timeout),
        ],
    }];
    let dir = tempfile::tempdir().unwrap();
    let mut chain = TestChain::start(dir.path(), net).unwrap();
    let register = TxBody::RegisterAgent {
        models: vec![mlp.id(), head.id()],
        bond: Amount::syn(200),
        metadata: String::new(),
    };
    let txs = (0..3)
        .map(|i| chain.net.users[i].sign(register.clone()))
        .collect();
    ok(&chain.block(txs).unwrap(), 3);
    World {
        chain,
        mlp,
        head,
        _dir: dir,
    }
}

/// Asserts `n` txs of the block succeeded.
fn ok(out: &BlockOutput, n: usize) {
    let codes: Vec<(u32, String)> = out.tx_results.iter().map(|r| (r.code(), r.log())).collect();
    assert_eq!(
        codes.iter().filter(|(c, _)| *c == 0).count(),
        n,
        "{codes:?}"
    );
}

fn code_of(out: &BlockOutput, i: usize) -> u32 {
    out.tx_results[i].code()
}

fn all_events(out: &BlockOutput) -> Vec<Event> {
    out.tx_results
        .iter()
        .flat_map(|r| r.events.clone())
        .chain(out.events.clone())
        .collect()
}

impl World {
    fn run(&self, id: u64) -> RunRecord {
        runs::run(&self.chain.state(), id).unwrap().unwrap()
    }

    fn user(&self, i: usize) -> Address {
        self.chain.net.users[i].address()
    }

    fn user_of(&self, a: Address) -> usize {
        (0..5).find(|&i| self.user(i) == a).unwrap()
    }

    fn assignee(&self, id: u64, step: usize) -> Option<Address> {
        match self.run(id).steps[step].status {
            StepStatus::Assigned { agent, .. } => Some(agent),
            _ => None,
        }
    }

    fn submit_run(&mut self, budget: u64) -> BlockOutput {
        let input = sample_input(&self.mlp.model, 3).values().to_vec();
        let tx = self.chain.net.users[3].sign(TxBody::SubmitRun {
            workflow: "pipeline".into(),
            version: 1,
            input,
            budget: Amount::syn(budget),
        });
        self.chain.block(vec![tx]).unwrap()
    }

    fn result_tx(
        &mut self,
        who: usize,
        run: u64,
        step: u32,
        output: Vec<i32>,
        proof: Vec<u8>,
    ) -> Vec<u8> {
        // Enough for the proof's verification fee too.
        let u = &mut self.chain.net.users[who];
        let tx = u.sign_with(
            TxBody::SubmitResult {
                run,
                step,
                output,
                proof,
            },
            u.nonce,
            Amount(100_000),
        );
        u.nonce += 1;
        tx
    }
}

#[test]
fn three_agents_run_a_three_step_dag_to_workflow_verified() {
    let mut w = world();
    let balance = |w: &World, i: usize| {
        accounts::account(&w.chain.state(), &w.user(i))
            .unwrap()
            .balance
    };
    let before: Vec<Amount> = (0..4).map(|i| balance(&w, i)).collect();

    let out = w.submit_run(10);
    ok(&out, 1);
    let events = all_events(&out);
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::RunSubmitted { run: 1, .. })));
    let assigned = events
        .iter()
        .filter(|e| matches!(e, Event::StepAssigned { run: 1, .. }))
        .count();
    assert_eq!(assigned, 2, "both roots are assigned at once: {events:?}");
    let (a0, a1) = (w.assignee(1, 0).unwrap(), w.assignee(1, 1).unwrap());
    assert_ne!(a0, a1, "no agent twice in a run while others qualify");
    assert_eq!(w.assignee(1, 2), None, "the join waits for its inputs");
    assert_eq!(runs::escrowed(&w.chain.state()).unwrap(), Amount::syn(10));

    // The roots: each assignee proves the MLP on the run's input.
    let input = Tensor::new(vec![64], w.run(1).input.clone()).unwrap();
    let proved = w.mlp.prove(&input);
    let out0 = proved.output.values().to_vec();
    // A non-assignee (the other root's agent) cannot deliver step 0, even
    // with a valid proof; a wrong output fails the proof.
    let (u0, u1) = (w.user_of(a0), w.user_of(a1));
    let stolen = w.result_tx(u1, 1, 0, out0.clone(), proved.proof.clone());
    let mut wrong = out0.clone();
    wrong[0] = if wrong[0] == 5 { 6 } else { 5 };
    let forged = w.result_tx(u0, 1, 0, wrong, proved.proof.clone());
    // In the same block a good result of the same model: the block batches
    // both proofs, the batch fails, and each gets its own verdict.
    let r1 = w.result_tx(u1, 1, 1, out0.clone(), proved.proof.clone());
    let out = w.chain.block(vec![stolen, forged, r1]).unwrap();
    assert_eq!(
        (code_of(&out, 0), code_of(&out, 1), code_of(&out, 2)),
        (55, 27, 0),
        "{:?}",
        out.tx_results.iter().map(|r| r.log()).collect::<Vec<_>>()
    );
    assert_eq!(w.assignee(1, 2), None, "the join still waits for step 0");

    let r0 = w.result_tx(u0, 1, 0, out0.clone(), proved.proof.clone());
    let out = w.chain.block(vec![r0]).unwrap();
    ok(&out, 1);
    let a2 = w
        .assignee(1, 2)
        .expect("the join is assigned once both roots are final");
    assert!(a2 != a0 && a2 != a1, "the third agent takes the join");

    // The join reads both outputs, concatenated in order.
    let joined: Vec<i32> = out0.iter().chain(out0.iter()).copied().collect();
    let proved = w.head.prove(&Tensor::new(vec![20], joined).unwrap());
    let u2 = w.user_of(a2);
    let tx = w.result_tx(u2, 1, 2, proved.output.values().to_vec(), proved.proof);
    let out = w.chain.block(vec![tx]).unwrap();
    ok(&out, 1);
    let verified = all_events(&out)
        .into_iter()
        .find_map(|e| match e {
            Event::WorkflowVerified {
                workflow_hash,
                verifier,
                run,
                refund,
                ..
            } => Some((workflow_hash, verifier, run, refund)),
            _ => None,
        })
        .expect("workflow_verified");
    assert_eq!(
        (verified.1, verified.2, verified.3),
        (a2, 1, Amount::syn(3))
    );
    assert!(matches!(w.run(1).status, RunStatus::Verified { .. }));

    // `/verified/{hash}`, proved: the paper's verifiedWorkflows.
    let answer = query::query(
        w.chain.app.storage(),
        &format!("/verified/{}", hex::encode(verified.0)),
        0,
        true,
    );
    assert_eq!(answer.code, code::OK, "{}", answer.log);
    assert_eq!(answer.proofs.len(), 1);
    let record: VerifiedWorkflow = codec::decode(&answer.value).unwrap();
    assert_eq!((record.run, record.verifier), (1, a2));

    // Money: the requester paid the rewards (7 syn) and fees; each agent
    // earned its step's reward less its fees; nothing is left in escrow.
    assert_eq!(runs::escrowed(&w.chain.state()).unwrap(), Amount::ZERO);
    let spent = before[3].checked_sub(balance(&w, 3)).unwrap();
    assert!(spent >= Amount::syn(7) && spent < Amount::syn(8), "{spent}");
    for (agent, reward) in [(u0, 2), (u1, 2), (u2, 3)] {
        let gained = balance(&w, agent).checked_sub(before[agent]).unwrap();
        assert!(
            gained > Amount::syn(reward - 1) && gained <= Amount::syn(reward),
            "{gained}"
        );
    }

    // A finished run takes no more results.
    let late = w.result_tx(u2, 1, 2, out0.clone(), vec![1]);
    let out = w.chain.block(vec![late]).unwrap();
    assert_eq!(code_of(&out, 0), 54);
}

#[test]
fn bad_runs_are_refused_with_their_codes() {
    let mut w = world();
    let input = sample_input(&w.mlp.model, 3).values().to_vec();
    let mut tx = |body: TxBody| w.chain.net.users[3].sign(body);
    let run = |version: u32, input: Vec<i32>, budget: u64| TxBody::SubmitRun {
        workflow: "pipeline".into(),
        version,
        input,
        budget: Amount::syn(budget),
    };
    let txs = vec![
        tx(run(2, input.clone(), 10)),
        tx(run(1, input.clone(), 6)),
        tx(run(1, input[..10].to_vec(), 10)),
        tx(TxBody::SubmitResult {
            run: 9,
            step: 0,
            output: vec![1],
            proof: vec![1],
        }),
    ];
    let out = w.chain.block(txs).unwrap();
    let codes: Vec<u32> = (0..4).map(|i| code_of(&out, i)).collect();
    assert_eq!(
        codes,
        [48, 49, 51, 53],
        "{:?}",
        out.tx_results.iter().map(|r| r.log()).collect::<Vec<_>>()
    );
    assert!(out.tx_results[0].log().contains("registered version is 1"));
    // Out of int8: refused before state is read.
    let bad = w.chain.net.users[3].sign(run(1, vec![300; 64], 10));
    let out = w.chain.block(vec![bad]).unwrap();
    assert_eq!(code_of(&out, 0), 29);
}

#[test]
fn missed_deadlines_cost_the_agent_and_reassign_until_the_retries_are_spent() {
    let mut w = world();
    let out = w.submit_run(10);
    ok(&out, 1);
    let first = w.assignee(1, 0).unwrap();
    // An agent holding a step cannot exit.
    let holder = w.user_of(first);
    let exit = w.chain.net.users[holder].sign(TxBody::ExitAgent);
    let out = w.chain.block(vec![exit]).unwrap();
    assert_eq!(code_of(&out, 0), 56, "{}", out.tx_results[0].log());
    // Nobody delivers: the deadline (3 blocks after assignment) passes.
    let mut timed_out = Vec::new();
    let mut failed = None;
    for _ in 0..12 {
        let out = w.chain.block(vec![]).unwrap();
        for e in all_events(&out) {
            match e {
                Event::StepTimedOut {
                    step: 0,
                    agent,
                    slashed,
                    ..
                } => timed_out.push((agent, slashed)),
                Event::RunFailed { run: 1, refund, .. } => failed = Some(refund),
                _ => {}
            }
        }
        if failed.is_some() {
            break;
        }
    }
    // Step 0 was tried twice (retries = 1), by two different agents, each
    // losing 1% of its 200 syn bond; then the run failed and the escrow
    // went back whole.
    assert_eq!(timed_out.len(), 2, "{timed_out:?}");
    assert_eq!(timed_out[0].0, first);
    assert_ne!(timed_out[1].0, first);
    assert!(timed_out.iter().all(|(_, s)| *s == Amount::syn(2)));
    assert_eq!(failed, Some(Amount::syn(10)));
    let state = w.chain.state();
    assert_eq!(
        agents::agent(&state, &first).unwrap().unwrap().bond,
        Amount::syn(198)
    );
    assert_eq!(runs::escrowed(&state).unwrap(), Amount::ZERO);
    assert!(runs::running(&state).unwrap().is_empty());
    assert!(matches!(w.run(1).status, RunStatus::Failed { step: 0, .. }));
    // Free again, the agent may exit.
    let exit = w.chain.net.users[holder].sign(TxBody::ExitAgent);
    let out = w.chain.block(vec![exit]).unwrap();
    ok(&out, 1);
}

#[test]
fn a_run_keeps_the_models_it_pinned_across_an_upgrade() {
    let mut params = ChainParams::default();
    params.governance.min_deposit = Amount::syn(1_000);
    params.governance.max_deposit_blocks = 3;
    params.governance.voting_blocks = 3;
    params.governance.expedited_voting_blocks = 2;
    let mut w = world_with(params, 40);
    ok(&w.submit_run(10), 1);
    let old = w.mlp.id();
    assert_eq!(w.run(1).models[..2], [old, old]);

    // Governance upgrades the MLP to its QDQ import, retiring the old one at once.
    let qdq = shipped_model("mlp-qdq.onnx", "digits-mlp-qdq");
    let new = synod_zkml::ModelId::of(&qdq).0;
    let u = &mut w.chain.net.users[4];
    let propose = u.sign_with(
        TxBody::Propose {
            kind: synod_protocol::ProposalKind::UpgradeModel {
                previous: old,
                model: qdq.to_file_bytes(),
                modes: vec![VerificationMode::Zk],
                grace_blocks: 0,
            },
            title: "qdq".into(),
            summary: String::new(),
            deposit: Amount::syn(1_000),
            expedited: false,
        },
        u.nonce,
        Amount(3_000_000),
    );
    u.nonce += 1;
    ok(&w.chain.block(vec![propose]).unwrap(), 1);
    let vote = w.chain.net.operators[0].sign(TxBody::Vote {
        proposal: 1,
        option: synod_protocol::VoteOption::Yes,
    });
    ok(&w.chain.block(vec![vote]).unwrap(), 1);
    for _ in 0..5 {
        w.chain.block(vec![]).unwrap();
    }
    let state = w.chain.state();
    assert!(
        !models::model(&state, &old).unwrap().unwrap().is_active(),
        "the old MLP is retired"
    );
    assert!(models::model(&state, &new).unwrap().unwrap().is_active());

    // Run 1 still runs the old model: its results verify against it.
    let input = Tensor::new(vec![64], w.run(1).input.clone()).unwrap();
    let proved = w.mlp.prove(&input);
    let out0 = proved.output.values().to_vec();
    let (a0, a1) = (w.assignee(1, 0).unwrap(), w.assignee(1, 1).unwrap());
    let (u0, u1) = (w.user_of(a0), w.user_of(a1));
    let r0 = w.result_tx(u0, 1, 0, out0.clone(), proved.proof.clone());
    let r1 = w.result_tx(u1, 1, 1, out0.clone(), proved.proof.clone());
    ok(&w.chain.block(vec![r0, r1]).unwrap(), 2);
    assert!(w.assignee(1, 2).is_some(), "the join is assigned");
    assert_eq!(w.run(1).models[..2], [old, old]);

    // A new run pins the upgrade (once agents serve it; without them it is
    // refused naming the step and the model).
    let out = w.submit_run(10);
    assert_eq!(code_of(&out, 0), 52, "{}", out.tx_results[0].log());
    let head = w.head.id();
    let txs = (0..3)
        .map(|i| {
            w.chain.net.users[i].sign(TxBody::UpdateAgent {
                models: vec![new, head],
                metadata: String::new(),
            })
        })
        .collect();
    ok(&w.chain.block(txs).unwrap(), 3);
    ok(&w.submit_run(10), 1);
    assert_eq!(w.run(2).models[..2], [new, new]);
}
