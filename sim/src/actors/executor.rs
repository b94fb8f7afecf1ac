//! `executor`: an honest agent. It registers with a bond for both models of
//! the workflow, and delivers every step assigned to it, with its proof,
//! `delay_blocks` after the assignment (0: in the next block).

use serde::Deserialize;
use synod_protocol::{runs::RunRecord, Address, Amount, TxBody};

use super::{account, assignments_to, options, Actor, Genesis, Outbox, View};
use crate::{error::ScenarioError, error::SimError, scenario::ActorSpec, workload};

pub const ABOUT: &str =
    "honest agent: registers with a bond, delivers every assigned step with its proof";

/// Options of `executor` (and the honest part of other agent actors).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// Starting balance of its account (syn).
    #[serde(default = "default_balance")]
    pub balance_syn: u64,
    /// Agent bond (syn).
    #[serde(default = "default_bond")]
    pub bond_syn: u64,
    /// Blocks between an assignment and the result tx.
    #[serde(default)]
    pub delay_blocks: u64,
}

fn default_balance() -> u64 {
    1_000
}
fn default_bond() -> u64 {
    200
}

pub fn build(spec: &ActorSpec, group: usize, i: u32) -> Result<Box<dyn Actor>, ScenarioError> {
    let o: Options = options(spec, group)?;
    Ok(Box::new(Executor::new(&spec.kind, group, i, &o)))
}

/// Work an agent owes: assigned steps and when it will deliver them.
#[derive(Default)]
pub struct Worker {
    /// `(run, step, agent, deliver at height)`.
    queue: Vec<(u64, u32, Address, u64)>,
}

impl Worker {
    /// Queues the last block's assignments to `agents`, due `delay` blocks later.
    pub fn take_assignments(&mut self, view: &View<'_>, agents: &[Address], delay: u64) {
        for (run, step, agent) in assignments_to(view.events, agents) {
            self.queue.push((run, step, agent, view.height + delay));
        }
    }

    /// Delivers every queued step that is due, with its proof.
    pub fn deliver_due(&mut self, view: &View<'_>, out: &mut Outbox) -> Result<(), SimError> {
        let (due, later): (Vec<_>, Vec<_>) = self
            .queue
            .drain(..)
            .partition(|(_, _, _, at)| *at <= view.height);
        self.queue = later;
        for (run, step, agent, _) in due {
            deliver(view, out, agent, run, step)?;
        }
        Ok(())
    }

    /// Forgets the steps queued for `agent` (it went offline or was abandoned).
    pub fn drop_for(&mut self, agent: &Address) {
        self.queue.retain(|(_, _, a, _)| a != agent);
    }
}

/// Sends `agent`'s result of `step` of `run`: the step's input read from
/// the run record, the proven output of the pinned model.
pub fn deliver(
    view: &View<'_>,
    out: &mut Outbox,
    agent: Address,
    run: u64,
    step: u32,
) -> Result<(), SimError> {
    let Some(record) = view.query::<RunRecord>(&format!("/run/{run}"))? else {
        return Ok(());
    };
    let i = step as usize;
    let Some(model) = record.models.get(i) else {
        return Ok(());
    };
    let proven = view.proofs.prove(model, &record.step_input(i))?;
    out.send(
        agent,
        TxBody::SubmitResult {
            run,
            step,
            output: proven.output.clone(),
            proof: proven.proof.clone(),
        },
        "result",
    );
    Ok(())
}

/// The registration of an agent serving both models with `bond_syn`.
pub fn register(bond_syn: u64) -> TxBody {
    TxBody::RegisterAgent {
        models: workload::model_ids(),
        bond: Amount::syn(bond_syn),
        metadata: String::new(),
    }
}

/// The honest executor.
pub struct Executor {
    account: synod_abci_app::testkit::TestAccount,
    options: Options,
    registered: bool,
    work: Worker,
}

impl Executor {
    pub fn new(kind: &str, group: usize, i: u32, options: &Options) -> Executor {
        Executor {
            account: account(kind, group, i, 0),
            options: options.clone(),
            registered: false,
            work: Worker::default(),
        }
    }

    pub fn address(&self) -> Address {
        self.account.address()
    }
}

impl Actor for Executor {
    fn genesis(&self) -> Genesis {
        Genesis {
            accounts: vec![(self.account.clone(), Amount::syn(self.options.balance_syn))],
            validators: Vec::new(),
        }
    }

    fn identities(&self) -> Vec<Address> {
        vec![self.address()]
    }

    fn act(
        &mut self,
        view: &View<'_>,
        _rng: &mut rand_chacha::ChaCha8Rng,
        out: &mut Outbox,
    ) -> Result<(), SimError> {
        if !self.registered {
            out.send(self.address(), register(self.options.bond_syn), "register");
            self.registered = true;
        }
        self.work
            .take_assignments(view, &[self.address()], self.options.delay_blocks);
        self.work.deliver_due(view, out)
    }
}
