//! `sybil`: one owner behind many agent identities.
//!
//! - `mode = "split"`: `total_bond_syn` split evenly over `identities`
//!   agents, each honest. Compare with one `executor` bonding the whole:
//!   assignment is drawn by bond × reputation, so splitting should never
//!   raise the owner's expected assignments or income.
//! - `mode = "reregister"`: one identity at a time. It works honestly for
//!   `honest_blocks`, then ignores its steps until a deadline slashes it,
//!   then exits and registers the next (pre-funded) identity with the same
//!   bond, hoping to shed the bad record. It reports the abandoned
//!   identity's score and the fresh one's: reputation's floor means the
//!   fresh identity never starts above the slashed one.

use serde::Deserialize;
use synod_protocol::{params::ChainParams, state::Reputation, Address, Amount, Event, TxBody};

use super::{
    account, assignments_to,
    executor::{deliver, register, Worker},
    options, Actor, Genesis, Outbox, View,
};
use crate::{error::ScenarioError, error::SimError, scenario::ActorSpec};

pub const ABOUT: &str =
    "one owner, many identities: stake split over agents, or fresh identities after a slash";

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "lowercase")]
enum Mode {
    Split,
    Reregister,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Options {
    mode: Mode,
    identities: u32,
    total_bond_syn: u64,
    /// Balance of each identity (syn).
    #[serde(default = "default_balance")]
    balance_syn: u64,
    /// `reregister`: honest blocks of each identity before it misbehaves.
    #[serde(default = "default_honest")]
    honest_blocks: u64,
}

fn default_balance() -> u64 {
    1_000
}
fn default_honest() -> u64 {
    20
}

pub fn build(spec: &ActorSpec, group: usize, i: u32) -> Result<Box<dyn Actor>, ScenarioError> {
    let o: Options = options(spec, group)?;
    if o.identities == 0 || o.identities > 10_000 {
        return Err(ScenarioError::Field {
            field: format!("actors[{group}].identities"),
            reason: "must be 1 ..= 10000".into(),
        });
    }
    let accounts = (0..o.identities)
        .map(|n| account(&spec.kind, group, i, n))
        .collect();
    Ok(Box::new(Sybil {
        accounts,
        options: o,
        registered: 0,
        current: 0,
        since: 0,
        exiting: false,
        work: Worker::default(),
        scores: Vec::new(),
    }))
}

struct Sybil {
    accounts: Vec<synod_abci_app::testkit::TestAccount>,
    options: Options,
    /// Identities registered so far.
    registered: u32,
    /// `reregister`: the identity in use and the height it registered at.
    current: usize,
    since: u64,
    exiting: bool,
    work: Worker,
    /// `reregister`: (abandoned identity's score, its successor's first score).
    scores: Vec<(u64, Option<u64>)>,
}

fn score(view: &View<'_>, who: &Address) -> Result<u64, SimError> {
    let floor = view
        .query::<ChainParams>("/params")?
        .map_or(0, |p| p.reputation.floor_score);
    Ok(view
        .query::<Reputation>(&format!("/reputation/{who}"))?
        .map_or(floor, |r| r.score.max(floor)))
}

impl Sybil {
    fn bond_each(&self) -> u64 {
        match self.options.mode {
            Mode::Split => self.options.total_bond_syn / u64::from(self.options.identities),
            Mode::Reregister => self.options.total_bond_syn,
        }
    }

    fn split(&mut self, view: &View<'_>, out: &mut Outbox) -> Result<(), SimError> {
        if self.registered == 0 {
            for a in &self.accounts {
                out.send(a.address(), register(self.bond_each()), "register");
            }
            self.registered = self.options.identities;
        }
        self.work.take_assignments(view, &self.identities(), 0);
        self.work.deliver_due(view, out)
    }

    fn reregister(&mut self, view: &View<'_>, out: &mut Outbox) -> Result<(), SimError> {
        let Some(me) = self.accounts.get(self.current).map(|a| a.address()) else {
            return Ok(()); // every identity spent
        };
        if self.registered as usize == self.current {
            out.send(me, register(self.bond_each()), "register");
            self.registered += 1;
            self.since = view.height + 1;
            return Ok(());
        }
        // The first look at a fresh identity, one block after it registered.
        if view.height == self.since {
            if let Some((_, fresh @ None)) = self.scores.last_mut() {
                *fresh = Some(score(view, &me)?);
            }
        }
        let slashed = view
            .events
            .iter()
            .any(|e| matches!(e, Event::StepTimedOut { agent, .. } if *agent == me));
        let honest = view.height < self.since + self.options.honest_blocks;
        if slashed && !honest && !self.exiting {
            self.exiting = true;
            self.scores.push((score(view, &me)?, None));
        }
        if self.exiting {
            let exited = view
                .outcomes
                .iter()
                .any(|o| o.tag == "exit" && o.signer == me && o.code == 0);
            if exited {
                self.exiting = false;
                self.work.drop_for(&me);
                self.current += 1;
                return self.reregister(view, out);
            }
            // It may still hold a step (the chain refuses the exit then): retry.
            out.send(me, TxBody::ExitAgent, "exit");
            return Ok(());
        }
        if honest {
            for (run, step, agent) in assignments_to(view.events, &[me]) {
                deliver(view, out, agent, run, step)?;
            }
        }
        Ok(())
    }
}

impl Actor for Sybil {
    fn genesis(&self) -> Genesis {
        Genesis {
            accounts: self
                .accounts
                .iter()
                .map(|a| (a.clone(), Amount::syn(self.options.balance_syn)))
                .collect(),
            validators: Vec::new(),
        }
    }

    fn identities(&self) -> Vec<Address> {
        self.accounts.iter().map(|a| a.address()).collect()
    }

    fn act(
        &mut self,
        view: &View<'_>,
        _rng: &mut rand_chacha::ChaCha8Rng,
        out: &mut Outbox,
    ) -> Result<(), SimError> {
        match self.options.mode {
            Mode::Split => self.split(view, out),
            Mode::Reregister => self.reregister(view, out),
        }
    }

    fn report(&self) -> std::collections::BTreeMap<String, i128> {
        let mut r = std::collections::BTreeMap::new();
        r.insert("identities_used".into(), self.registered.into());
        for (n, (old, fresh)) in self.scores.iter().enumerate() {
            r.insert(format!("abandoned_{n}_score"), (*old).into());
            if let Some(f) = fresh {
                r.insert(format!("fresh_{}_score", n + 1), (*f).into());
            }
        }
        r
    }
}
