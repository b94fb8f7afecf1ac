//! `censor`: a validator in a colluding coalition. It behaves honestly
//! except when it proposes: then it leaves out the pending txs whose kind
//! is in `targets` (`result`, `run`, `vote`, `register`, ...), for at most
//! `max_delay_blocks` after they entered the mempool (forever if absent).
//! Honest proposers include them, so a coalition with less than 1/3 of
//! the power can only delay a tx while it holds the proposer slot.

use serde::Deserialize;
use synod_abci_app::testkit::TestAccount;
use synod_protocol::{Address, SecretKey};

use super::{options, voter::validator_genesis, Actor, Genesis, Outbox, Pending, View};
use crate::{error::ScenarioError, error::SimError, scenario::ActorSpec};

pub const ABOUT: &str =
    "colluding validator: leaves chosen kinds of txs out of the blocks it proposes";

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Options {
    stake_syn: u64,
    targets: Vec<String>,
    #[serde(default)]
    max_delay_blocks: Option<u64>,
}

pub fn build(spec: &ActorSpec, group: usize, i: u32) -> Result<Box<dyn Actor>, ScenarioError> {
    let o: Options = options(spec, group)?;
    Ok(Box::new(Censor {
        account: super::account(&spec.kind, group, i, 0),
        consensus: super::account(&spec.kind, group, i, 1).key,
        options: o,
    }))
}

struct Censor {
    account: TestAccount,
    consensus: SecretKey,
    options: Options,
}

impl Actor for Censor {
    fn genesis(&self) -> Genesis {
        validator_genesis(&self.account, &self.consensus, self.options.stake_syn)
    }

    fn identities(&self) -> Vec<Address> {
        vec![self.account.address()]
    }

    fn act(
        &mut self,
        _view: &View<'_>,
        _rng: &mut rand_chacha::ChaCha8Rng,
        _out: &mut Outbox,
    ) -> Result<(), SimError> {
        Ok(())
    }

    fn censors(&self, tx: &Pending, height: u64) -> bool {
        let patient = self
            .options
            .max_delay_blocks
            .is_none_or(|k| height < tx.submitted + k);
        patient && self.options.targets.iter().any(|t| t == tx.tag)
    }
}
