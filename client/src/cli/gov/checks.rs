//! What `synod gov propose` checks before sending: everything the chain
//! would refuse the `Propose` transaction for (so a refusal costs no fee),
//! and what may make the proposal fail later.

use anyhow::Context as _;
use synod_client::{
    proposal::{apply_param_changes, mode_name},
    sign_with_min_fee, Address, Amount, ChainParams, Client, QueryPath, SecretKey, TxBody,
};
use synod_protocol::{
    governance::{ProposalKind, ProposalStatus, Tally, WorkflowSpec},
    params::{GovernanceParams, PPM},
    state::{ModelRecord, ModelStatus, VerificationMode},
};
use synod_zkml::circuit::ZkModel;

use super::propose::Draft;

/// The `--deposit`, checked against what the chain asks up front.
pub(super) fn check_deposit(
    deposit: Option<Amount>,
    gov: &GovernanceParams,
    expedited: bool,
) -> anyhow::Result<Amount> {
    let initial = gov.min_initial_deposit(expedited);
    let needs = format!(
        "{} needs at least {} up front ({} of the minimum deposit) and {} in deposits in all before it is voted on",
        if expedited {
            "an expedited proposal"
        } else {
            "a proposal"
        },
        initial.to_syn_string(),
        Tally::percent(gov.min_initial_deposit_ppm.into(), PPM.into()),
        gov.required_deposit(expedited).to_syn_string()
    );
    match deposit {
        None => anyhow::bail!("pass --deposit AMOUNT: {needs}"),
        Some(d) if d < initial => {
            anyhow::bail!("--deposit {} is too small: {needs}", d.to_syn_string())
        }
        Some(d) => Ok(d),
    }
}

/// The checks that need the chain's parameters: every parameter change,
/// applied in order as the chain applies them (the chain refuses a bad one
/// when it is proposed, with this message); and for a zk model a circuit
/// within `models.max_k` (the chain takes such a proposal, but it fails
/// when it executes, after the vote).
pub(super) fn check_against_params(draft: &Draft, params: &ChainParams) -> anyhow::Result<()> {
    match &draft.kind {
        ProposalKind::ParamChange { changes } => {
            apply_param_changes(params, changes)?;
        }
        ProposalKind::RegisterModel { modes, .. } | ProposalKind::UpgradeModel { modes, .. }
            if modes.contains(&VerificationMode::Zk) =>
        {
            if let Some(loaded) = &draft.model {
                let max_k = params.models.max_k;
                ZkModel::from_ir(&loaded.model, max_k).with_context(|| {
                    format!(
                        "model {} cannot be verified with zk on this chain (models.max_k = {max_k}): no circuit for it",
                        loaded.id
                    )
                })?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Longest upgrade chain followed to a model's current version (as the chain does).
const MAX_UPGRADE_HOPS: usize = 64;

/// The chain's checks of a proposal against its state when it is proposed
/// (the proposer's proposals in flight, the models and workflows it names):
/// a tx failing them in a block still costs its fee, so they run here
/// first. The chain runs them again when the proposal executes.
pub(super) async fn check_against_state(
    client: &Client,
    draft: &Draft,
    proposer: &Address,
    gov: &GovernanceParams,
) -> anyhow::Result<()> {
    let mut in_flight = 0usize;
    for status in [ProposalStatus::DepositPeriod, ProposalStatus::VotingPeriod] {
        in_flight += client
            .proposals(Some(status))
            .await?
            .iter()
            .filter(|p| p.proposer == *proposer)
            .count();
    }
    if in_flight >= gov.max_proposals_per_proposer as usize {
        anyhow::bail!(
            "{proposer} already has {in_flight} proposals in their deposit or voting period, the most one proposer may have (governance.max_proposals_per_proposer)"
        );
    }
    match &draft.kind {
        ProposalKind::RegisterModel { .. } | ProposalKind::UpgradeModel { .. } => {
            if let ProposalKind::UpgradeModel { previous, .. } = &draft.kind {
                let old = active_model(client, previous).await?;
                if let Some(next) = old.successor {
                    anyhow::bail!(
                        "model {} was already upgraded to {}",
                        hex::encode(previous),
                        hex::encode(next)
                    );
                }
            }
            if let Some(loaded) = &draft.model {
                if model_record(client, &loaded.id.0).await?.is_some() {
                    anyhow::bail!(
                        "model {} ({:?}) is already registered",
                        loaded.id,
                        loaded.model.name
                    );
                }
            }
        }
        ProposalKind::RetireModel { model } => {
            active_model(client, model).await?;
        }
        ProposalKind::RegisterWorkflow { workflow } => {
            if let Some(w) = client.workflow(&workflow.name, false).await?.into_value() {
                anyhow::bail!(
                    "workflow {:?} is already registered (version {}): propose update-workflow",
                    workflow.name,
                    w.version
                );
            }
            check_step_models(client, workflow).await?;
        }
        ProposalKind::UpdateWorkflow { workflow } => {
            if client
                .workflow(&workflow.name, false)
                .await?
                .value()
                .is_none()
            {
                anyhow::bail!(
                    "unknown workflow {:?}: propose register-workflow",
                    workflow.name
                );
            }
            check_step_models(client, workflow).await?;
        }
        ProposalKind::ParamChange { .. }
        | ProposalKind::TreasurySpend { .. }
        | ProposalKind::Text => {}
    }
    Ok(())
}

async fn model_record(client: &Client, id: &[u8; 32]) -> anyhow::Result<Option<ModelRecord>> {
    Ok(client
        .query_at::<ModelRecord>(&QueryPath::Model(*id), None)
        .await?)
}

/// Model `id`, which must be registered and not retired.
async fn active_model(client: &Client, id: &[u8; 32]) -> anyhow::Result<ModelRecord> {
    let record = model_record(client, id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("unknown model {}", hex::encode(id)))?;
    if let ModelStatus::Retired { at_height } = record.status {
        anyhow::bail!(
            "model {} was retired at height {}",
            hex::encode(id),
            at_height.value()
        );
    }
    Ok(record)
}

/// Every step's model, followed through its upgrades to the version the
/// step runs now, must be registered, active and take the step's mode.
async fn check_step_models(client: &Client, workflow: &WorkflowSpec) -> anyhow::Result<()> {
    for (i, step) in workflow.steps.iter().enumerate() {
        let at = format!("step {i} ({})", step.name);
        let mut current = model_record(client, &step.model).await?;
        for _ in 0..MAX_UPGRADE_HOPS {
            match current.as_ref().and_then(|r| r.successor) {
                Some(next) => current = model_record(client, &next).await?,
                None => break,
            }
        }
        let Some(current) = current else {
            anyhow::bail!("{at}: unknown model {}", hex::encode(step.model));
        };
        if !current.is_active() {
            anyhow::bail!("{at}: model {} is retired", hex::encode(current.id));
        }
        if !current.modes.contains(&step.mode) {
            anyhow::bail!(
                "{at}: model {} does not allow the {} mode (it allows {})",
                hex::encode(current.id),
                mode_name(step.mode),
                current
                    .modes
                    .iter()
                    .map(|m| mode_name(*m))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    Ok(())
}

/// What may make a proposal fail when it executes although the chain takes
/// it now: a treasury spend larger than the treasury (it may grow by then).
pub(super) async fn warnings(client: &Client, draft: &Draft) -> anyhow::Result<Vec<String>> {
    let mut warnings = Vec::new();
    if let ProposalKind::TreasurySpend { amount, .. } = &draft.kind {
        let balance = client
            .treasury(false)
            .await?
            .into_value()
            .unwrap_or(Amount::ZERO);
        if balance < *amount {
            warnings.push(format!(
                "the treasury holds {} now, less than the {} this spends: it fails when executed unless the treasury grows by then",
                balance.to_syn_string(),
                amount.to_syn_string()
            ));
        }
    }
    Ok(warnings)
}

/// The signed tx's size against `accounts.max_tx_bytes` (a model file can
/// be large). Signed with nonce 0, the size is a lower bound of the real one.
pub(super) fn check_size(
    key: &SecretKey,
    body: &TxBody,
    chain_id: &str,
    params: &ChainParams,
) -> anyhow::Result<()> {
    let size = sign_with_min_fee(
        key,
        body.clone(),
        0,
        chain_id,
        params.accounts.min_fee_per_byte_usyn,
    )
    .encode()
    .len() as u64;
    if size > params.accounts.max_tx_bytes {
        anyhow::bail!(
            "the proposal's transaction is at least {size} bytes, more than the chain accepts (accounts.max_tx_bytes = {}); a param-change proposal can raise that limit first",
            params.accounts.max_tx_bytes
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use synod_client::proposal::parse_param_set;

    #[test]
    fn a_missing_or_small_deposit_is_refused_with_the_amounts_needed() {
        let gov = GovernanceParams::default();
        let e = check_deposit(None, &gov, false).unwrap_err().to_string();
        // 25% of 10000 syn up front, 10000 syn in all.
        assert!(
            e.contains("--deposit") && e.contains("2500 syn") && e.contains("10000 syn"),
            "{e}"
        );
        assert!(e.contains("25.0%"), "{e}");
        let e = check_deposit(Some(Amount::syn(2_499)), &gov, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("too small") && e.contains("2499 syn"), "{e}");
        let e = check_deposit(Some(Amount::syn(2_500)), &gov, true)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("expedited") && e.contains("12500 syn") && e.contains("50000 syn"),
            "{e}"
        );
        assert_eq!(
            check_deposit(Some(Amount::syn(2_500)), &gov, false).unwrap(),
            Amount::syn(2_500)
        );
    }

    #[test]
    fn param_changes_are_checked_against_the_chains_params_before_sending() {
        let params = ChainParams::default();
        let draft = |input: &str| Draft {
            kind: ProposalKind::ParamChange {
                changes: vec![parse_param_set(input).unwrap()],
            },
            model: None,
        };
        check_against_params(&draft("staking.max_validators=50"), &params).unwrap();
        check_against_params(&draft("governance.min_deposit=5000syn"), &params).unwrap();
        let e = check_against_params(&draft("staking.max_validators=0"), &params).unwrap_err();
        let chain = params
            .with_change("staking", "max_validators", "0")
            .unwrap_err();
        assert_eq!(
            format!("{e:#}"),
            format!("invalid parameter change: {chain}")
        );
        let e = check_against_params(&draft("gov.min_deposit=1syn"), &params).unwrap_err();
        assert!(format!("{e:#}").contains("governance"), "{e:#}");
    }
}
