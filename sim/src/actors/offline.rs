//! `offline`: an agent that works honestly, then goes offline from block
//! `offline_from` (until `back_at`, if given): it ignores the steps it is
//! assigned meanwhile, so their deadlines pass, the chain slashes its bond
//! and reputation and gives the steps to others. With `miss_ppm` it also
//! misses that share of assignments at random while online (a flaky agent).

use rand_core::RngCore;
use serde::Deserialize;
use synod_protocol::{Address, Amount};

use super::{
    assignments_to,
    executor::{deliver, register},
    options, Actor, Genesis, Outbox, View,
};
use crate::{error::ScenarioError, error::SimError, scenario::ActorSpec};

pub const ABOUT: &str = "agent that goes offline from a block (or misses a share of steps): gets slashed, its steps reassigned";

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Options {
    #[serde(default = "default_balance")]
    balance_syn: u64,
    #[serde(default = "default_bond")]
    bond_syn: u64,
    /// First block at which it is offline.
    #[serde(default)]
    offline_from: u64,
    /// First block at which it is back (never, if absent).
    #[serde(default)]
    back_at: Option<u64>,
    /// Share of assignments it misses while online (ppm).
    #[serde(default)]
    miss_ppm: u32,
}

fn default_balance() -> u64 {
    1_000
}
fn default_bond() -> u64 {
    200
}

pub fn build(spec: &ActorSpec, group: usize, i: u32) -> Result<Box<dyn Actor>, ScenarioError> {
    let o: Options = options(spec, group)?;
    if o.miss_ppm > 1_000_000 {
        return Err(ScenarioError::Field {
            field: format!("actors[{group}].miss_ppm"),
            reason: "at most 1000000".into(),
        });
    }
    Ok(Box::new(Offline {
        account: super::account(&spec.kind, group, i, 0),
        options: o,
        registered: false,
        missed: 0,
    }))
}

struct Offline {
    account: synod_abci_app::testkit::TestAccount,
    options: Options,
    registered: bool,
    missed: u64,
}

impl Offline {
    fn address(&self) -> Address {
        self.account.address()
    }

    fn online(&self, height: u64) -> bool {
        let o = &self.options;
        height + 1 < o.offline_from || o.back_at.is_some_and(|b| height + 1 >= b)
    }
}

impl Actor for Offline {
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
        if !self.registered {
            out.send(self.address(), register(self.options.bond_syn), "register");
            self.registered = true;
        }
        for (run, step, agent) in assignments_to(view.events, &[self.address()]) {
            let flaky = (rng.next_u32() % 1_000_000) < self.options.miss_ppm;
            if self.online(view.height) && !flaky {
                deliver(view, out, agent, run, step)?;
            } else {
                self.missed += 1;
            }
        }
        Ok(())
    }

    fn report(&self) -> std::collections::BTreeMap<String, i128> {
        [("steps_missed".to_string(), i128::from(self.missed))].into()
    }
}
