//! Actors: the honest and adversarial participants of a simulation. Each
//! is a small strategy type in its own file behind [`Actor`]: it says what
//! it needs at genesis (funded accounts, validators), then each block it
//! observes the chain (the last block's events and its own txs' outcomes,
//! and any state through the app's query router) and emits signed txs. A
//! validator-owning actor may also decide, when one of its validators
//! proposes, which pending txs to leave out ([`Actor::censors`]).
//!
//! Adding an actor is one file plus one line in [`REGISTRY`].

pub mod censor;
pub mod executor;
pub mod offline;
pub mod requester;
pub mod sybil;
pub mod voter;

use std::collections::BTreeMap;

use rand_chacha::ChaCha8Rng;
use serde::de::DeserializeOwned;
use synod_abci_app::{query, testkit::TestAccount, Storage};
use synod_protocol::{codec, Address, Amount, Event, SecretKey, TxBody};

use crate::{
    error::{ScenarioError, SimError},
    scenario::{ActorSpec, Scenario},
    workload::ProofBook,
};

/// One participant's strategy.
pub trait Actor: Send {
    /// What it needs at genesis.
    fn genesis(&self) -> Genesis;

    /// Every address it controls (for balances, assignments and power).
    fn identities(&self) -> Vec<Address>;

    /// One block: observe `view`, emit txs into `out`. `rng` is this
    /// actor's own stream (split from the run's seed).
    fn act(
        &mut self,
        view: &View<'_>,
        rng: &mut ChaCha8Rng,
        out: &mut Outbox,
    ) -> Result<(), SimError>;

    /// When one of its validators proposes: whether to leave `tx` out of
    /// the block (honest validators include everything).
    fn censors(&self, _tx: &Pending, _height: u64) -> bool {
        false
    }

    /// Numbers this actor reports at the end (named, integers).
    fn report(&self) -> BTreeMap<String, i128> {
        BTreeMap::new()
    }
}

/// What an actor needs at genesis.
#[derive(Default)]
pub struct Genesis {
    /// Accounts and their balances.
    pub accounts: Vec<(TestAccount, Amount)>,
    /// Validators: operator account (also funded above if listed there),
    /// consensus key, self-bond.
    pub validators: Vec<(Address, SecretKey, Amount)>,
}

/// A tx waiting in the mempool.
#[derive(Clone, Debug)]
pub struct Pending {
    /// The actor that sent it.
    pub actor: usize,
    /// Its kind, as the actor labelled it (`run`, `result`, `vote`, ...).
    pub tag: &'static str,
    pub signer: Address,
    pub bytes: Vec<u8>,
    /// The block height at which it entered the mempool (the chain's next height then).
    pub submitted: u64,
    /// Its place in the run's sequence of sent txs.
    pub seq: usize,
}

/// What became of a tx: its block and result.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub tag: &'static str,
    pub signer: Address,
    pub code: u32,
    pub log: String,
    pub submitted: u64,
    pub included: u64,
}

/// What an actor sees each block.
pub struct View<'a> {
    /// The last committed height (0 before the first block).
    pub height: u64,
    /// Every event of the last block (its txs' and its end-block's).
    pub events: &'a [Event],
    /// The outcomes of this actor's txs in the last block.
    pub outcomes: &'a [Outcome],
    /// The proofs executors deliver.
    pub proofs: &'a ProofBook,
    /// The scenario being run.
    pub scenario: &'a Scenario,
    pub(crate) storage: &'a Storage,
}

impl View<'_> {
    /// Reads `path` through the app's query router at the last height,
    /// as a client would; `None` when it names nothing.
    pub fn query<T: serde::Serialize + DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<Option<T>, SimError> {
        let out = query::query(self.storage, path, 0, false);
        if out.code == query::code::NOT_FOUND || (out.code == 0 && out.value.is_empty()) {
            return Ok(None);
        }
        if out.code != 0 {
            return Err(SimError::Query {
                path: path.into(),
                reason: out.log,
            });
        }
        codec::decode(&out.value)
            .map(Some)
            .map_err(|e| SimError::Query {
                path: path.into(),
                reason: e.to_string(),
            })
    }

    /// The balance of `address`.
    pub fn balance(&self, address: &Address) -> Result<Amount, SimError> {
        Ok(self
            .query::<synod_protocol::state::Account>(&format!("/account/{address}"))?
            .map_or(Amount::ZERO, |a| a.balance))
    }
}

/// Where an actor puts the txs it sends this block (the engine signs
/// them with the signer's next nonce and the smallest fee that covers them).
#[derive(Default)]
pub struct Outbox {
    pub(crate) txs: Vec<(Address, TxBody, &'static str)>,
}

impl Outbox {
    /// Sends `body` signed by `from` (an identity of this actor), labelled `tag`.
    pub fn send(&mut self, from: Address, body: TxBody, tag: &'static str) {
        self.txs.push((from, body, tag));
    }
}

/// Builds the actors of one scenario group: `count` actors (this group's
/// index `group` in the scenario), each with its index within the group.
pub type Build = fn(&ActorSpec, usize, u32) -> Result<Box<dyn Actor>, ScenarioError>;

/// Every actor kind: its name, what it does, and how to build it.
pub const REGISTRY: &[(&str, &str, Build)] = &[
    ("executor", executor::ABOUT, executor::build),
    ("offline", offline::ABOUT, offline::build),
    ("requester", requester::ABOUT, requester::build),
    ("sybil", sybil::ABOUT, sybil::build),
    ("voter", voter::ABOUT, voter::build),
    ("censor", censor::ABOUT, censor::build),
];

/// An actor and its metrics class.
pub type Classed = (String, Box<dyn Actor>);

/// The actors of `scenario`, in order.
pub fn build_all(scenario: &Scenario) -> Result<Vec<Classed>, ScenarioError> {
    let mut out = Vec::new();
    for (group, spec) in scenario.actors.iter().enumerate() {
        let Some((_, _, build)) = REGISTRY.iter().find(|(k, _, _)| *k == spec.kind) else {
            return Err(ScenarioError::UnknownActor {
                index: group,
                kind: spec.kind.clone(),
                known: REGISTRY
                    .iter()
                    .map(|(k, _, _)| *k)
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        for i in 0..spec.count {
            out.push((spec.class().to_string(), build(spec, group, i)?));
        }
    }
    Ok(out)
}

/// An actor's options: the group's table without the common fields,
/// refused with the field's name when it does not fit `T`.
pub fn options<T: DeserializeOwned>(spec: &ActorSpec, group: usize) -> Result<T, ScenarioError> {
    toml::Value::Table(spec.options.clone())
        .try_into()
        .map_err(|e: toml::de::Error| ScenarioError::Field {
            field: format!("actors[{group}] ({})", spec.kind),
            reason: e.message().to_string(),
        })
}

/// A deterministic account for identity `n` of actor `i` of group `group`.
pub fn account(kind: &str, group: usize, i: u32, n: u32) -> TestAccount {
    TestAccount::new(&format!("synod-sim/{kind}/{group}/{i}/{n}"))
}

/// The `StepAssigned` events of the last block naming one of `agents`:
/// `(run, step, agent)`.
pub fn assignments_to(events: &[Event], agents: &[Address]) -> Vec<(u64, u32, Address)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::StepAssigned {
                run, step, agent, ..
            } if agents.contains(agent) => Some((*run, *step, *agent)),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn an_unknown_actor_option_or_kind_is_refused_naming_the_field() {
        let mut s = Scenario::load("baseline").unwrap();
        s.actors[0]
            .options
            .insert("bnd_syn".into(), toml::Value::Integer(1));
        let e = build_all(&s).err().expect("refused").to_string();
        assert!(e.contains("actors[0]") && e.contains("bnd_syn"), "{e}");
        s.actors[0].options.clear();
        s.actors[0].kind = "nobody".into();
        let e = build_all(&s).err().expect("refused").to_string();
        assert!(
            e.contains("actors[0].kind") && e.contains("executor"),
            "{e}"
        );
    }
}
