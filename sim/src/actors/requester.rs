//! `requester`: submits runs of the genesis workflow with a budget, by a
//! demand curve: `runs_per_block_ppm` runs per block on average (the whole
//! part every block, the fraction as a coin flip), multiplied by
//! `spike_factor` from `spike_from` to `spike_until`. A submitter may hold
//! only `runs.max_open_runs_per_submitter` runs at once: the chain refuses
//! the rest (counted as rejected runs).

use rand_core::RngCore;
use serde::Deserialize;
use synod_protocol::{Address, Amount, TxBody};

use super::{options, Actor, Genesis, Outbox, View};
use crate::{error::ScenarioError, error::SimError, scenario::ActorSpec, workload};

pub const ABOUT: &str =
    "submits runs of the workflow with a budget, by a demand curve (base rate, optional spike)";

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Options {
    #[serde(default = "default_balance")]
    balance_syn: u64,
    /// Budget per run (syn); 0: exactly the workflow's rewards.
    #[serde(default)]
    budget_syn: u64,
    /// Runs per block on average (ppm of a run).
    #[serde(default = "default_rate")]
    runs_per_block_ppm: u64,
    #[serde(default)]
    spike_from: u64,
    #[serde(default)]
    spike_until: u64,
    #[serde(default = "one")]
    spike_factor: u64,
    /// First block it submits at.
    #[serde(default)]
    start_at: u64,
}

fn default_balance() -> u64 {
    1_000_000
}
fn default_rate() -> u64 {
    200_000
}
fn one() -> u64 {
    1
}

pub fn build(spec: &ActorSpec, group: usize, i: u32) -> Result<Box<dyn Actor>, ScenarioError> {
    let o: Options = options(spec, group)?;
    if o.runs_per_block_ppm.saturating_mul(o.spike_factor) > 100_000_000 {
        return Err(ScenarioError::Field {
            field: format!("actors[{group}].runs_per_block_ppm"),
            reason: "times spike_factor must be at most 100 runs per block".into(),
        });
    }
    Ok(Box::new(Requester {
        account: super::account(&spec.kind, group, i, 0),
        options: o,
    }))
}

struct Requester {
    account: synod_abci_app::testkit::TestAccount,
    options: Options,
}

impl Requester {
    fn address(&self) -> Address {
        self.account.address()
    }
}

impl Actor for Requester {
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
        rng: &mut rand_chacha::ChaCha8Rng,
        out: &mut Outbox,
    ) -> Result<(), SimError> {
        let o = &self.options;
        let next = view.height + 1;
        if next < o.start_at {
            return Ok(());
        }
        let spiking = next >= o.spike_from && next <= o.spike_until;
        let rate = o.runs_per_block_ppm * if spiking { o.spike_factor } else { 1 };
        let coin = u64::from(rng.next_u32() % 1_000_000) < rate % 1_000_000;
        let n = rate / 1_000_000 + u64::from(coin);
        let w = &view.scenario.workflow;
        let budget = match o.budget_syn {
            0 => 3 * w.reward_syn,
            b => b,
        };
        for _ in 0..n {
            let input = workload::pool_input(rng.next_u32() % view.scenario.input_pool);
            out.send(
                self.address(),
                TxBody::SubmitRun {
                    workflow: workload::WORKFLOW.into(),
                    version: 1,
                    input,
                    budget: Amount::syn(budget),
                },
                "run",
            );
        }
        Ok(())
    }
}
