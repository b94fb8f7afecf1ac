//! `voter`: a validator that votes in governance. Every proposal that
//! opens for votes gets its `vote` (`yes`, `no`, `abstain`, `veto`, or
//! `none` to stay away). With `propose = true` it also submits, at block
//! `propose_at`, a parameter change (`change_module.change_name =
//! change_value`) with the minimum deposit: a whale or a bribed bloc
//! trying to capture a parameter against honest voters.

use serde::Deserialize;
use synod_abci_app::testkit::TestAccount;
use synod_protocol::{
    governance::{ParamChange, ProposalKind},
    params::ChainParams,
    Address, Amount, Event, SecretKey, TxBody, VoteOption,
};

use super::{options, Actor, Genesis, Outbox, View};
use crate::{error::ScenarioError, error::SimError, scenario::ActorSpec};

pub const ABOUT: &str = "validator voting yes/no/abstain/veto on every proposal; may propose a parameter change (whale, bribed bloc)";

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Options {
    /// Its validator self-bond (syn): its voting power.
    stake_syn: u64,
    vote: String,
    #[serde(default)]
    propose: bool,
    #[serde(default = "default_propose_at")]
    propose_at: u64,
    #[serde(default = "default_module")]
    change_module: String,
    #[serde(default = "default_name")]
    change_name: String,
    #[serde(default = "default_value")]
    change_value: String,
}

fn default_propose_at() -> u64 {
    2
}
fn default_module() -> String {
    "runs".into()
}
fn default_name() -> String {
    "timeout_slash_ppm".into()
}
fn default_value() -> String {
    "0".into()
}

pub fn build(spec: &ActorSpec, group: usize, i: u32) -> Result<Box<dyn Actor>, ScenarioError> {
    let o: Options = options(spec, group)?;
    let vote = match o.vote.as_str() {
        "yes" => Some(VoteOption::Yes),
        "no" => Some(VoteOption::No),
        "abstain" => Some(VoteOption::Abstain),
        "veto" => Some(VoteOption::NoWithVeto),
        "none" => None,
        other => {
            return Err(ScenarioError::Field {
                field: format!("actors[{group}].vote"),
                reason: format!("{other:?}: one of yes, no, abstain, veto, none"),
            })
        }
    };
    Ok(Box::new(Voter {
        account: super::account(&spec.kind, group, i, 0),
        consensus: super::account(&spec.kind, group, i, 1).key,
        vote,
        options: o,
        proposed: false,
    }))
}

struct Voter {
    account: TestAccount,
    consensus: SecretKey,
    vote: Option<VoteOption>,
    options: Options,
    proposed: bool,
}

impl Voter {
    fn address(&self) -> Address {
        self.account.address()
    }
}

/// A validator-owning actor's genesis: its operator funded with its stake
/// and 1,000 syn to spare, bonded.
pub fn validator_genesis(account: &TestAccount, consensus: &SecretKey, stake_syn: u64) -> Genesis {
    Genesis {
        accounts: vec![(account.clone(), Amount::syn(stake_syn + 1_000))],
        validators: vec![(account.address(), consensus.clone(), Amount::syn(stake_syn))],
    }
}

impl Actor for Voter {
    fn genesis(&self) -> Genesis {
        validator_genesis(&self.account, &self.consensus, self.options.stake_syn)
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
        let o = &self.options;
        if o.propose && !self.proposed && view.height + 1 >= o.propose_at {
            let deposit = view
                .query::<ChainParams>("/params")?
                .map_or(Amount::ZERO, |p| p.governance.min_deposit);
            out.send(
                self.address(),
                TxBody::Propose {
                    kind: ProposalKind::ParamChange {
                        changes: vec![ParamChange {
                            module: o.change_module.clone(),
                            name: o.change_name.clone(),
                            value: o.change_value.clone(),
                        }],
                    },
                    title: format!("set {}.{}", o.change_module, o.change_name),
                    summary: String::new(),
                    deposit,
                    expedited: false,
                },
                "propose",
            );
            self.proposed = true;
        }
        let Some(option) = self.vote else {
            return Ok(());
        };
        for e in view.events {
            if let Event::VotingStarted { proposal, .. } = e {
                out.send(
                    self.address(),
                    TxBody::Vote {
                        proposal: *proposal,
                        option,
                    },
                    "vote",
                );
            }
        }
        Ok(())
    }
}
