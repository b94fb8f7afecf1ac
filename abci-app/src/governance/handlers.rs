//! `Propose`, `Deposit` and `Vote`.

use synod_protocol::{
    governance::{
        DepositFate, DepositRecord, Proposal, ProposalId, ProposalKind, ProposalStatus, VoteOption,
        VoteRecord,
    },
    params::{ChainParams, GovernanceParams},
    Address, Amount, Event, Height,
};
use synod_zkml::ir::Model;

use super::{
    chain_params, escrow, params, proposal, put_proposal,
    state_key::{self, Queue},
    voting_power,
};
use crate::{
    accounts,
    error::{HandlerError, TxError},
    models, staking,
    state::State,
    workflows,
};

/// Stateless checks of a governance body: a proposal's text and the shape
/// of its kind, a deposit that moves something.
pub fn check_stateless(body: &synod_protocol::TxBody) -> Result<(), TxError> {
    use synod_protocol::TxBody;
    match body {
        TxBody::Deposit { amount, .. } if amount.is_zero() => Err(TxError::ZeroAmount),
        TxBody::Propose {
            kind,
            title,
            summary,
            ..
        } => synod_protocol::governance::check_text(title, summary)
            .and_then(|()| kind.check())
            .map_err(|e| TxError::InvalidProposal(e.to_string())),
        _ => Ok(()),
    }
}

/// What a `Propose` transaction asks.
pub struct ProposeArgs<'a> {
    pub kind: &'a ProposalKind,
    pub title: &'a str,
    pub summary: &'a str,
    pub deposit: Amount,
    pub expedited: bool,
}

/// The checks of a proposal's payload against current state, shared by
/// `Propose` (a clear tx error) and execution (which runs them again: state
/// may have changed during the vote): the rules of
/// [`synod_protocol::governance::admission`], which `synod gov propose` also
/// runs before sending, read over this state. Model files are loaded and
/// checked (format, stated id, IR rules); their verifying keys are derived
/// only when the proposal executes. Returns the parameters after a
/// `ParamChange`.
pub fn check_against_state(
    state: &State,
    kind: &ProposalKind,
) -> Result<Option<ChainParams>, HandlerError> {
    use synod_protocol::governance::admission::{check_proposal, AdmissionError};
    let new_params = check_proposal(kind, &StateView(state)).map_err(|e| match e {
        AdmissionError::View(e) => e,
        // These two keep their own codes (23, 24), as for any tx naming such a model.
        AdmissionError::UnknownModel { model } => TxError::UnknownModel {
            model: hex::encode(model),
        }
        .into(),
        AdmissionError::ModelRetired { model, at_height } => TxError::ModelRetired {
            model: hex::encode(model),
            at_height,
        }
        .into(),
        AdmissionError::InvalidParamChange(e) => TxError::InvalidParamChange(e.to_string()).into(),
        other => TxError::InvalidProposal(other.to_string()).into(),
    })?;
    // Consensus cannot run without validators: params under which no
    // validator keeps power (a higher minimum self-bond or power unit) are
    // refused when proposed and again when they would execute.
    if let Some(p) = &new_params {
        if !staking::power_remains(state, &p.staking, &p.reputation, None)? {
            return Err(TxError::InvalidParamChange(
                "under these params no validator keeps any power: the chain would halt".into(),
            )
            .into());
        }
    }
    Ok(new_params)
}

/// The chain's state as the admission rules read it.
struct StateView<'a>(&'a State);

impl synod_protocol::governance::admission::AdmissionView for StateView<'_> {
    type Error = HandlerError;

    fn model(
        &self,
        id: &[u8; 32],
    ) -> Result<Option<synod_protocol::state::ModelRecord>, HandlerError> {
        Ok(models::model(self.0, id)?)
    }

    fn workflow(
        &self,
        name: &str,
    ) -> Result<Option<synod_protocol::governance::WorkflowRecord>, HandlerError> {
        Ok(workflows::workflow(self.0, name)?)
    }

    fn chain_params(&self) -> Result<ChainParams, HandlerError> {
        Ok(chain_params(self.0)?)
    }

    /// Loads a `.synod-model` file: its id and name.
    fn model_file(
        &self,
        file: &[u8],
    ) -> Result<synod_protocol::governance::admission::NewModel, HandlerError> {
        let loaded =
            Model::from_file_bytes(file).map_err(|e| TxError::InvalidModelFile(e.to_string()))?;
        Ok(synod_protocol::governance::admission::NewModel {
            id: loaded.id.0,
            name: loaded.model.name,
        })
    }
}

/// `Propose`: checks the payload against state, takes the first deposit and
/// opens the deposit period (or the voting period at once if the deposit
/// already reaches the minimum).
pub fn propose(
    state: &mut State,
    proposer: &Address,
    args: ProposeArgs<'_>,
    height: Height,
    events: &mut Vec<Event>,
) -> Result<(), HandlerError> {
    let p = params(state)?;
    let min = p.min_initial_deposit(args.expedited);
    if args.deposit < min {
        return Err(TxError::DepositBelowMinimum {
            got: args.deposit,
            min,
            what: if args.expedited {
                "min_initial_deposit_ppm of expedited_min_deposit"
            } else {
                "min_initial_deposit_ppm of min_deposit"
            },
        }
        .into());
    }
    let in_flight: u32 = state.get(&state_key::in_flight(proposer))?.unwrap_or(0);
    synod_protocol::governance::admission::check_in_flight(&p, proposer, in_flight).map_err(
        |e| TxError::TooManyProposals {
            proposer: e.proposer,
            max: e.max,
        },
    )?;
    check_against_state(state, args.kind)?;

    let id: ProposalId = state.get(&state_key::next_id())?.unwrap_or(1);
    state.put(state_key::next_id(), &(id + 1));
    state.put(state_key::in_flight(proposer), &(in_flight + 1));
    let deposit_end_height = Height(height.value().saturating_add(p.max_deposit_blocks));
    let mut record = Proposal {
        id,
        proposer: *proposer,
        kind: args.kind.clone(),
        title: args.title.to_string(),
        summary: args.summary.to_string(),
        expedited: args.expedited,
        expedited_until: None,
        status: ProposalStatus::DepositPeriod,
        submit_height: height,
        deposit_end_height,
        total_deposit: Amount::ZERO,
        voting_start_height: None,
        voting_end_height: None,
        final_tally: None,
        outcome: None,
        deposits: DepositFate::Held,
    };
    events.push(Event::ProposalSubmitted {
        proposal: id,
        proposer: *proposer,
        kind: args.kind.name().to_string(),
        expedited: args.expedited,
        deposit: args.deposit,
    });
    state.put(
        state_key::queue_entry(Queue::Deposit, deposit_end_height, id),
        &1u8,
    );
    add_deposit(
        state,
        &mut record,
        &p,
        proposer,
        args.deposit,
        height,
        events,
    )?;
    put_proposal(state, &record);
    Ok(())
}

/// `Deposit`: adds to a proposal's deposits in its deposit period.
pub fn deposit(
    state: &mut State,
    depositor: &Address,
    id: ProposalId,
    amount: Amount,
    height: Height,
    events: &mut Vec<Event>,
) -> Result<(), HandlerError> {
    let mut record = proposal(state, id)?.ok_or(TxError::UnknownProposal { id })?;
    if record.status != ProposalStatus::DepositPeriod {
        return Err(TxError::NotInDepositPeriod {
            id,
            status: record.status.to_string(),
        }
        .into());
    }
    let p = params(state)?;
    add_deposit(state, &mut record, &p, depositor, amount, height, events)?;
    put_proposal(state, &record);
    Ok(())
}

/// Moves `amount` from `depositor` into escrow for `record`, and starts the
/// voting period if the deposits now reach the minimum.
fn add_deposit(
    state: &mut State,
    record: &mut Proposal,
    p: &GovernanceParams,
    depositor: &Address,
    amount: Amount,
    height: Height,
    events: &mut Vec<Event>,
) -> Result<(), HandlerError> {
    if !amount.is_zero() {
        accounts::debit(state, depositor, amount)?;
        let held = escrow(state)?.checked_add(amount)?;
        state.put(state_key::escrow(), &held);
        let key = state_key::deposit(record.id, depositor);
        let before = state
            .get::<DepositRecord>(&key)?
            .map_or(Amount::ZERO, |d| d.amount);
        state.put(
            key,
            &DepositRecord {
                depositor: *depositor,
                amount: before.checked_add(amount)?,
            },
        );
        record.total_deposit = record.total_deposit.checked_add(amount)?;
        events.push(Event::ProposalDeposit {
            proposal: record.id,
            depositor: *depositor,
            amount,
            total: record.total_deposit,
        });
    }
    if record.total_deposit >= p.required_deposit(record.expedited) {
        state.delete(state_key::queue_entry(
            Queue::Deposit,
            record.deposit_end_height,
            record.id,
        ));
        let blocks = if record.expedited {
            p.expedited_voting_blocks
        } else {
            p.voting_blocks
        };
        let end = Height(height.value().saturating_add(blocks));
        record.status = ProposalStatus::VotingPeriod;
        record.voting_start_height = Some(height);
        record.voting_end_height = Some(end);
        state.put(state_key::queue_entry(Queue::Voting, end, record.id), &1u8);
        events.push(Event::VotingStarted {
            proposal: record.id,
            voting_end_height: end,
        });
    }
    Ok(())
}

/// `Vote`: records (or replaces) the signer's vote. The stake behind it is
/// read when the proposal is tallied.
pub fn vote(
    state: &mut State,
    voter: &Address,
    id: ProposalId,
    option: VoteOption,
    height: Height,
    events: &mut Vec<Event>,
) -> Result<(), HandlerError> {
    let record = proposal(state, id)?.ok_or(TxError::UnknownProposal { id })?;
    if record.status != ProposalStatus::VotingPeriod {
        return Err(TxError::NotInVotingPeriod {
            id,
            status: record.status.to_string(),
        }
        .into());
    }
    if voting_power(state, voter)?.is_zero() {
        return Err(TxError::NoBondedStake { voter: *voter }.into());
    }
    state.put(
        state_key::vote(id, voter),
        &VoteRecord {
            voter: *voter,
            option,
            height,
        },
    );
    events.push(Event::Voted {
        proposal: id,
        voter: *voter,
        option,
    });
    Ok(())
}
