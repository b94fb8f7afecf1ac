//! Metrics: counters from every block's events and txs, and samples of the
//! state (wealth and ROI per actor class, reputation, bond and power
//! distributions with their Gini coefficients, shares of the Sybil class).
//! Integers only (usyn, ppm, counts), in `BTreeMap`s: the same run gives
//! the same numbers, byte for byte.

use std::collections::BTreeMap;

use serde::Serialize;
use synod_abci_app::{accounts, agents, reputation, staking, state::State};
use synod_protocol::{
    governance::{DepositFate, ProposalStatus},
    state::ActiveValidator,
    Address, Event,
};

use crate::{actors::Pending, engine::builder::Selection, error::SimError, scenario::Scenario};

/// Parts per million.
const PPM: i128 = 1_000_000;

/// The class of passive validators.
pub const VALIDATOR_CLASS: &str = "validator";

/// One metrics row: the block (`tick`, counting halted ones) and values by name.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub tick: u64,
    pub values: BTreeMap<String, i128>,
}

/// Everything a run produced.
#[derive(Clone, Debug, Serialize)]
pub struct RunOutput {
    pub scenario: String,
    pub seed: u64,
    pub blocks: u64,
    /// The chain's last height (fewer than `blocks` if it halted).
    pub height: u64,
    /// The last block's app hash (hex): the whole state in 32 bytes.
    pub app_hash: String,
    pub rows: Vec<Row>,
    /// The last row's values.
    pub last: BTreeMap<String, i128>,
    /// Each actor's own report, by actor index (only those with something to say).
    pub actors: BTreeMap<usize, ActorReport>,
}

/// One actor's end-of-run numbers.
#[derive(Clone, Debug, Serialize)]
pub struct ActorReport {
    pub class: String,
    pub values: BTreeMap<String, i128>,
}

/// Collects the metrics of a run.
pub struct Recorder {
    scenario: String,
    seed: u64,
    blocks: u64,
    classes: Vec<String>,
    identities: Vec<Vec<Address>>,
    class_of: BTreeMap<Address, String>,
    /// The class owning each validator (by consensus address).
    owner_class: BTreeMap<[u8; 20], String>,
    initial: BTreeMap<String, i128>,
    counters: BTreeMap<String, i128>,
    rows: Vec<Row>,
    height: u64,
    app_hash: [u8; 32],
    /// Blocks in a row proposed by actors' validators, up to now.
    streak: i128,
}

impl Recorder {
    /// A recorder for a run whose actors have `classes` and `identities`;
    /// `genesis` gives each class's starting wealth.
    pub fn new(
        scenario: &Scenario,
        genesis: &State,
        classes: Vec<String>,
        identities: Vec<Vec<Address>>,
    ) -> Result<Recorder, SimError> {
        let mut class_of = BTreeMap::new();
        for (class, ids) in classes.iter().zip(&identities) {
            for a in ids {
                class_of.insert(*a, class.clone());
            }
        }
        let set = staking::active_set(genesis).map_err(state_error)?;
        let mut owner_class = BTreeMap::new();
        for v in &set {
            let class = class_of
                .get(&v.operator)
                .cloned()
                .unwrap_or_else(|| VALIDATOR_CLASS.to_string());
            owner_class.insert(v.consensus_key.consensus_address(), class);
        }
        let mut r = Recorder {
            scenario: scenario.name.clone(),
            seed: scenario.seed,
            blocks: scenario.blocks,
            classes,
            identities,
            class_of,
            owner_class,
            initial: BTreeMap::new(),
            counters: BTreeMap::new(),
            rows: Vec::new(),
            height: 0,
            app_hash: [0; 32],
            streak: 0,
        };
        r.initial = r.wealth(genesis)?;
        for c in r.initial.keys() {
            for name in ["assigned", "income_usyn", "timeouts", "slashed_usyn"] {
                r.counters.insert(format!("{name}:{c}"), 0);
            }
        }
        for name in [
            "runs_submitted",
            "runs_rejected",
            "runs_verified",
            "runs_failed",
            "steps_assigned",
            "steps_final",
            "steps_timed_out",
            "slashed_usyn",
            "burned_usyn",
            "txs_included",
            "txs_failed",
            "txs_censored",
            "txs_delayed",
            "max_censor_delay_blocks",
            "halted_blocks",
            "max_actor_proposer_streak",
            "blocks_proposed_by_actors",
            "proposals_passed",
            "proposals_rejected",
            "proposals_failed",
            "params_changed",
        ] {
            r.counters.insert(name.into(), 0);
        }
        Ok(r)
    }

    fn add(&mut self, name: &str, by: i128) {
        *self.counters.entry(name.to_string()).or_default() += by;
    }

    fn max(&mut self, name: &str, value: i128) {
        let e = self.counters.entry(name.to_string()).or_default();
        *e = (*e).max(value);
    }

    fn class(&self, a: &Address) -> String {
        self.class_of
            .get(a)
            .cloned()
            .unwrap_or_else(|| "other".into())
    }

    /// The next block's proposer is owned by an actor (`owned`) or not:
    /// counts the longest run of blocks actors proposed in a row.
    pub fn proposer(&mut self, owned: bool) {
        self.streak = if owned { self.streak + 1 } else { 0 };
        let streak = self.streak;
        self.max("max_actor_proposer_streak", streak);
        if owned {
            self.add("blocks_proposed_by_actors", 1);
        }
    }

    /// A halted block: no block was made.
    pub fn halted(&mut self, tick: u64, height: u64, pending: usize) {
        self.add("halted_blocks", 1);
        let mut values = self.counters.clone();
        values.insert("height".into(), i128::from(height));
        values.insert("mempool".into(), pending as i128);
        self.rows.push(Row { tick, values });
    }

    /// One included tx, `censored` times left out before.
    pub fn tx(&mut self, p: &Pending, code: u32, included: u64, censored: u32) {
        self.add("txs_included", 1);
        if code != 0 {
            self.add("txs_failed", 1);
            self.add(&format!("failed:{}", p.tag), 1);
            if p.tag == "run" {
                self.add("runs_rejected", 1);
            }
        }
        let delay = i128::from(included.saturating_sub(p.submitted));
        self.max(&format!("max_delay_blocks:{}", p.tag), delay);
        if censored > 0 {
            self.add("txs_delayed", 1);
            self.max("max_censor_delay_blocks", delay);
        }
    }

    /// One block's events.
    pub fn block(
        &mut self,
        _tick: u64,
        height: u64,
        selection: &Selection,
        _pending: usize,
        events: &[Event],
        app_hash: [u8; 32],
    ) {
        self.height = height;
        self.app_hash = app_hash;
        self.add("txs_censored", selection.censored as i128);
        for e in events {
            match e {
                Event::RunSubmitted { .. } => self.add("runs_submitted", 1),
                Event::WorkflowVerified { .. } => self.add("runs_verified", 1),
                Event::RunFailed { .. } => self.add("runs_failed", 1),
                Event::StepAssigned { agent, .. } => {
                    self.add("steps_assigned", 1);
                    let c = self.class(agent);
                    self.add(&format!("assigned:{c}"), 1);
                }
                Event::StepFinal { agent, reward, .. } => {
                    self.add("steps_final", 1);
                    let c = self.class(agent);
                    self.add(&format!("income_usyn:{c}"), reward.0 as i128);
                }
                Event::StepTimedOut { agent, slashed, .. } => {
                    let c = self.class(agent);
                    self.add("steps_timed_out", 1);
                    self.add(&format!("timeouts:{c}"), 1);
                    self.add(&format!("slashed_usyn:{c}"), slashed.0 as i128);
                    self.add("slashed_usyn", slashed.0 as i128);
                    // An agent's slash is burned.
                    self.add("burned_usyn", slashed.0 as i128);
                }
                Event::Slashed { amount, .. } => self.add("slashed_usyn", amount.0 as i128),
                Event::ProposalEnded { status, .. } => match status {
                    ProposalStatus::Passed => self.add("proposals_passed", 1),
                    ProposalStatus::Failed => self.add("proposals_failed", 1),
                    _ => self.add("proposals_rejected", 1),
                },
                Event::ProposalDepositsSettled {
                    fate: DepositFate::Burned,
                    amount,
                    ..
                } => self.add("burned_usyn", amount.0 as i128),
                Event::ParamChanged { .. } => self.add("params_changed", 1),
                Event::DisputeSettled { burned, .. } => self.add("burned_usyn", burned.0 as i128),
                _ => {}
            }
        }
    }

    /// Wealth by class: balances, agent bonds and validator self-bonds of
    /// every identity (usyn).
    fn wealth(&self, state: &State) -> Result<BTreeMap<String, i128>, SimError> {
        let mut out: BTreeMap<String, i128> = BTreeMap::new();
        for (class, ids) in self.classes.iter().zip(&self.identities) {
            let mut sum = 0i128;
            for a in ids {
                sum += accounts::account(state, a).map_err(state_error)?.balance.0 as i128;
                if let Some(agent) = agents::agent(state, a).map_err(state_error)? {
                    sum += agent.bond.0 as i128;
                }
                if let Some(v) = staking::validator(state, a).map_err(state_error)? {
                    sum += v.self_bond.0 as i128;
                }
            }
            *out.entry(class.clone()).or_default() += sum;
        }
        Ok(out)
    }

    /// A row from the state after block `tick`.
    pub fn sample(
        &mut self,
        tick: u64,
        state: &State,
        set: &[ActiveValidator],
    ) -> Result<(), SimError> {
        let mut values = self.counters.clone();
        values.insert("height".into(), i128::from(self.height));
        for (class, w) in self.wealth(state)? {
            let start = self.initial.get(&class).copied().unwrap_or(0);
            values.insert(format!("wealth_usyn:{class}"), w);
            if start > 0 {
                values.insert(format!("roi_ppm:{class}"), (w - start) * PPM / start);
            }
        }
        // Agents: reputation, bonds, and assignment weight (bond × score).
        let mut scores = Vec::new();
        let mut bonds = Vec::new();
        let mut weight: BTreeMap<String, i128> = BTreeMap::new();
        let mut rep: BTreeMap<String, (i128, i128)> = BTreeMap::new();
        let mut active = 0;
        for a in agents::agents(state).map_err(state_error)? {
            let score = reputation::score(state, &a.address).map_err(state_error)?;
            let class = self.class(&a.address);
            scores.push(i128::from(score));
            bonds.push(a.bond.0 as i128);
            let r = rep.entry(class.clone()).or_default();
            r.0 += i128::from(score);
            r.1 += 1;
            if a.is_active() {
                active += 1;
                let syn = (a.bond.0 / 1_000_000).max(1) as i128;
                *weight.entry(class).or_default() += syn * i128::from(score.max(1));
            }
        }
        values.insert("agents_active".into(), active);
        values.insert("reputation_gini_ppm".into(), gini_ppm(&mut scores));
        values.insert("agent_bond_gini_ppm".into(), gini_ppm(&mut bonds));
        let total_weight: i128 = weight.values().sum();
        for (class, w) in &weight {
            values.insert(format!("weight_share_ppm:{class}"), share(*w, total_weight));
        }
        for (class, (sum, n)) in &rep {
            values.insert(format!("reputation_mean:{class}"), sum / n.max(&1));
        }
        // Validators: power by owner class and its distribution.
        let mut power: BTreeMap<String, i128> = BTreeMap::new();
        let mut powers = Vec::new();
        for v in set {
            let class = self
                .owner_class
                .get(&v.consensus_key.consensus_address())
                .cloned()
                .unwrap_or_else(|| VALIDATOR_CLASS.to_string());
            *power.entry(class).or_default() += i128::from(v.power);
            powers.push(i128::from(v.power));
        }
        let total_power: i128 = powers.iter().sum();
        for (class, p) in &power {
            values.insert(format!("power_share_ppm:{class}"), share(*p, total_power));
        }
        values.insert("power_gini_ppm".into(), gini_ppm(&mut powers));
        let assigned = values.get("steps_assigned").copied().unwrap_or(0);
        if let Some(s) = values.get("assigned:sybil").copied() {
            values.insert("sybil_assignment_share_ppm".into(), share(s, assigned));
        }
        self.rows.push(Row { tick, values });
        Ok(())
    }

    /// The run's output, with each actor's report.
    pub fn finish(self, reports: Vec<BTreeMap<String, i128>>) -> RunOutput {
        let actors = reports
            .into_iter()
            .enumerate()
            .filter(|(_, r)| !r.is_empty())
            .map(|(i, values)| {
                (
                    i,
                    ActorReport {
                        class: self.classes[i].clone(),
                        values,
                    },
                )
            })
            .collect();
        RunOutput {
            scenario: self.scenario,
            seed: self.seed,
            blocks: self.blocks,
            height: self.height,
            app_hash: self.app_hash.iter().map(|b| format!("{b:02x}")).collect(),
            last: self
                .rows
                .last()
                .map(|r| r.values.clone())
                .unwrap_or_default(),
            rows: self.rows,
            actors,
        }
    }
}

fn share(part: i128, total: i128) -> i128 {
    if total == 0 {
        0
    } else {
        part * PPM / total
    }
}

/// The Gini coefficient of `values` (non-negative), in ppm: 0 when all are
/// equal, near 1,000,000 when one holds everything.
pub fn gini_ppm(values: &mut [i128]) -> i128 {
    let n = values.len() as i128;
    let sum: i128 = values.iter().sum();
    if n == 0 || sum <= 0 {
        return 0;
    }
    values.sort_unstable();
    let weighted: i128 = values
        .iter()
        .enumerate()
        .map(|(i, x)| (i as i128 + 1) * x)
        .sum();
    ((2 * weighted - (n + 1) * sum) * PPM) / (n * sum)
}

fn state_error(e: synod_abci_app::state::StateError) -> SimError {
    SimError::Query {
        path: "state".into(),
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::gini_ppm;

    #[test]
    fn gini_is_zero_for_equal_shares_and_high_for_one_holder() {
        assert_eq!(gini_ppm(&mut [5, 5, 5, 5]), 0);
        assert_eq!(gini_ppm(&mut [0, 0, 0, 8]), 750_000);
        assert_eq!(gini_ppm(&mut []), 0);
    }
}
