//! The agents' transactions: `RegisterAgent`, `UpdateAgent`,
//! `AddAgentBond`, `ExitAgent`.

use synod_protocol::{
    agents::{check_metadata, sorted_models, AgentRecord, AgentStatus},
    params::AgentsParams,
    Address, Amount, Event, Height, TxBody,
};

use super::{agent, params, put_agent, state_key};
use crate::{
    accounts,
    error::{HandlerError, TxError},
    models, reputation,
    state::State,
};

/// The most models any `RegisterAgent` or `UpdateAgent` may list, whatever
/// the params say (the bound of `params.agents.max_models`): checked before
/// state is read.
pub const MAX_MODELS: u32 = 256;

/// The longest metadata any agent may publish (the bound of
/// `params.agents.max_metadata_bytes`).
pub const MAX_METADATA_BYTES: u32 = 4096;

/// Stateless checks of an agents body: a model list of 1 to 256 distinct
/// ids, printable metadata of at most 4 KiB, bonds that move something.
/// The params' tighter limits are checked against state.
pub fn check_stateless(body: &TxBody) -> Result<(), TxError> {
    let invalid = |e: synod_protocol::agents::AgentFieldError| TxError::InvalidAgent(e.to_string());
    match body {
        TxBody::RegisterAgent {
            models, metadata, ..
        }
        | TxBody::UpdateAgent { models, metadata } => {
            sorted_models(models, MAX_MODELS).map_err(invalid)?;
            check_metadata(metadata, MAX_METADATA_BYTES).map_err(invalid)
        }
        TxBody::AddAgentBond { amount } if amount.is_zero() => Err(TxError::ZeroAmount),
        _ => Ok(()),
    }
}

/// The model list and metadata under the params: sorted ids, each a
/// registered model that accepts results.
fn checked_fields(
    state: &State,
    p: &AgentsParams,
    models: &[[u8; 32]],
    metadata: &str,
) -> Result<Vec<[u8; 32]>, HandlerError> {
    let invalid = |e: synod_protocol::agents::AgentFieldError| TxError::InvalidAgent(e.to_string());
    let sorted = sorted_models(models, p.max_models).map_err(invalid)?;
    check_metadata(metadata, p.max_metadata_bytes).map_err(invalid)?;
    for id in &sorted {
        let record = models::model(state, id)?.ok_or_else(|| TxError::UnknownModel {
            model: hex::encode(id),
        })?;
        if let synod_protocol::state::ModelStatus::Retired { at_height } = record.status {
            return Err(TxError::ModelRetired {
                model: hex::encode(id),
                at_height,
            }
            .into());
        }
    }
    Ok(sorted)
}

/// The signer's agent record, which must be active.
fn active_agent(state: &State, address: &Address) -> Result<AgentRecord, HandlerError> {
    let a = agent(state, address)?.ok_or(TxError::UnknownAgent(*address))?;
    match a.status {
        AgentStatus::Active => Ok(a),
        AgentStatus::Exiting { release_height, .. } => Err(TxError::AgentExiting {
            agent: *address,
            release_height,
        }
        .into()),
    }
}

/// `RegisterAgent { models, bond, metadata }`.
pub fn register(
    state: &mut State,
    address: &Address,
    models: &[[u8; 32]],
    bond: Amount,
    metadata: &str,
    height: Height,
    events: &mut Vec<Event>,
) -> Result<(), HandlerError> {
    let p = params(state)?;
    if let Some(existing) = agent(state, address)? {
        return Err(match existing.status {
            AgentStatus::Active => TxError::AlreadyAgent(*address),
            AgentStatus::Exiting { release_height, .. } => TxError::AgentExiting {
                agent: *address,
                release_height,
            },
        }
        .into());
    }
    if bond < p.min_bond {
        return Err(TxError::AgentBondBelowMinimum {
            got: bond,
            min: p.min_bond,
        }
        .into());
    }
    let models = checked_fields(state, &p, models, metadata)?;
    accounts::debit(state, address, bond)?;
    reputation::register(state, address, height)?;
    let record = AgentRecord {
        address: *address,
        models,
        bond,
        metadata: metadata.to_string(),
        status: AgentStatus::Active,
        registered_height: height,
        updated_height: height,
    };
    put_agent(state, &record);
    events.push(Event::AgentRegistered {
        agent: *address,
        bond,
        models: record.models.len() as u32,
    });
    Ok(())
}

/// `UpdateAgent { models, metadata }`: replaces both.
pub fn update(
    state: &mut State,
    address: &Address,
    models: &[[u8; 32]],
    metadata: &str,
    height: Height,
    events: &mut Vec<Event>,
) -> Result<(), HandlerError> {
    let p = params(state)?;
    let mut a = active_agent(state, address)?;
    a.models = checked_fields(state, &p, models, metadata)?;
    a.metadata = metadata.to_string();
    a.updated_height = height;
    put_agent(state, &a);
    events.push(Event::AgentUpdated {
        agent: *address,
        models: a.models.len() as u32,
    });
    Ok(())
}

/// `AddAgentBond { amount }`.
pub fn add_bond(
    state: &mut State,
    address: &Address,
    amount: Amount,
    height: Height,
    events: &mut Vec<Event>,
) -> Result<(), HandlerError> {
    if amount.is_zero() {
        return Err(TxError::ZeroAmount.into());
    }
    let mut a = active_agent(state, address)?;
    a.bond = a.bond.checked_add(amount)?;
    accounts::debit(state, address, amount)?;
    a.updated_height = height;
    put_agent(state, &a);
    events.push(Event::AgentBonded {
        agent: *address,
        amount,
    });
    Ok(())
}

/// `ExitAgent`: the agent takes no new work; its bond returns after
/// `params.agents.unbonding_blocks`.
pub fn exit(
    state: &mut State,
    address: &Address,
    height: Height,
    events: &mut Vec<Event>,
) -> Result<(), HandlerError> {
    let p = params(state)?;
    let mut a = active_agent(state, address)?;
    if let Some((run, step)) = crate::runs::held_step(state, address)? {
        return Err(TxError::AgentHoldsStep {
            agent: *address,
            run,
            step,
        }
        .into());
    }
    let release_height = height.plus(p.unbonding_blocks);
    a.status = AgentStatus::Exiting {
        since: height,
        release_height,
    };
    a.updated_height = height;
    put_agent(state, &a);
    state.put(state_key::release_queue(release_height, address), &());
    events.push(Event::AgentExiting {
        agent: *address,
        release_height,
    });
    Ok(())
}
