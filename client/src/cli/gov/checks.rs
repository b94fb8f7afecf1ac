//! What `synod gov propose` checks before sending: everything the chain
//! would refuse the `Propose` transaction for (so a refusal costs no fee),
//! and what may make the proposal fail later.

use std::collections::BTreeMap;

use anyhow::Context as _;
use synod_client::{
    proposal::apply_param_changes, sign_with_min_fee, Address, Amount, ChainParams, Client,
    QueryPath, SecretKey, TxBody,
};
use synod_protocol::{
    governance::{
        admission::{self, AdmissionError, AdmissionView, NewModel},
        ProposalKind, ProposalStatus, Tally, WorkflowRecord,
    },
    params::{GovernanceParams, PPM},
    state::{ModelRecord, VerificationMode},
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

/// The chain's checks of a proposal against its state when it is proposed:
/// the proposer's proposals in flight, then the models, workflows and
/// parameters it names, by the chain's own rules
/// ([`synod_protocol::governance::admission`]) over records fetched from the
/// chain. A tx failing them in a block still costs its fee, so they run
/// here first. The chain runs the admission rules again when the proposal
/// executes.
pub(super) async fn check_against_state(
    client: &Client,
    draft: &Draft,
    proposer: &Address,
    params: &ChainParams,
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
    let in_flight = u32::try_from(in_flight).unwrap_or(u32::MAX);
    admission::check_in_flight(&params.governance, proposer, in_flight)?;

    // The rules are pure: run them over what has been fetched, and when they
    // ask for a record not fetched yet, fetch it and run them again. Each
    // round fetches a record the rules read, and they read a bounded number
    // (the named models and workflow, each step's upgrade chain of at most
    // `MAX_UPGRADE_HOPS`), so this ends.
    let mut facts = ChainFacts::new(params.clone(), draft);
    loop {
        match admission::check_proposal(&draft.kind, &facts) {
            Ok(_) => return Ok(()),
            Err(AdmissionError::View(missing)) => facts.fetch(client, missing).await?,
            Err(refusal) => return Err(refusal.into()),
        }
    }
}

/// What the admission rules have read of the chain so far: the parameters,
/// the draft's own model file, and the records fetched (`None` for one the
/// chain does not hold).
struct ChainFacts {
    params: ChainParams,
    new_model: Option<NewModel>,
    models: BTreeMap<[u8; 32], Option<ModelRecord>>,
    workflows: BTreeMap<String, Option<WorkflowRecord>>,
}

/// A fact the admission rules asked for that [`ChainFacts`] does not hold.
#[derive(Debug, thiserror::Error)]
enum NotFetched {
    #[error("model {} was not fetched", hex::encode(.0))]
    Model([u8; 32]),
    #[error("workflow {0:?} was not fetched")]
    Workflow(String),
    #[error("the proposal's model file was not loaded")]
    ModelFile,
}

impl ChainFacts {
    /// Nothing fetched yet; the model file as `draft` loaded it.
    fn new(params: ChainParams, draft: &Draft) -> ChainFacts {
        ChainFacts {
            params,
            new_model: draft.model.as_ref().map(|loaded| NewModel {
                id: loaded.id.0,
                name: loaded.model.name.clone(),
            }),
            models: BTreeMap::new(),
            workflows: BTreeMap::new(),
        }
    }

    /// Fetches the record `missing` names.
    async fn fetch(&mut self, client: &Client, missing: NotFetched) -> anyhow::Result<()> {
        match missing {
            NotFetched::Model(id) => {
                let record = client
                    .query_at::<ModelRecord>(&QueryPath::Model(id), None)
                    .await?;
                self.models.insert(id, record);
            }
            NotFetched::Workflow(name) => {
                let record = client.workflow(&name, false).await?.into_value();
                self.workflows.insert(name, record);
            }
            // A model proposal's draft always carries its loaded file.
            NotFetched::ModelFile => return Err(missing.into()),
        }
        Ok(())
    }
}

impl AdmissionView for ChainFacts {
    type Error = NotFetched;

    fn model(&self, id: &[u8; 32]) -> Result<Option<ModelRecord>, NotFetched> {
        self.models.get(id).cloned().ok_or(NotFetched::Model(*id))
    }

    fn workflow(&self, name: &str) -> Result<Option<WorkflowRecord>, NotFetched> {
        self.workflows
            .get(name)
            .cloned()
            .ok_or_else(|| NotFetched::Workflow(name.to_string()))
    }

    fn chain_params(&self) -> Result<ChainParams, NotFetched> {
        Ok(self.params.clone())
    }

    fn model_file(&self, _file: &[u8]) -> Result<NewModel, NotFetched> {
        self.new_model.clone().ok_or(NotFetched::ModelFile)
    }
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
        &params.accounts,
        Amount::ZERO,
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

    /// A registered model `[byte; 32]` that takes both modes.
    fn model(byte: u8) -> ModelRecord {
        ModelRecord {
            id: [byte; 32],
            name: format!("m{byte}"),
            vk_hash: [0; 32],
            k: 0,
            modes: vec![VerificationMode::Zk, VerificationMode::Optimistic],
            status: synod_protocol::state::ModelStatus::Active,
            registered_height: synod_protocol::Height(1),
            parameter_count: 1,
            input_shape: vec![1],
            output_shape: vec![1],
            predecessor: None,
            successor: None,
            retire_at: None,
        }
    }

    #[test]
    fn the_rules_ask_for_each_record_they_read_until_they_can_decide() {
        let draft = Draft {
            kind: ProposalKind::Text,
            model: None,
        };
        let mut facts = ChainFacts::new(ChainParams::default(), &draft);
        let kind = ProposalKind::RegisterWorkflow {
            workflow: synod_protocol::governance::WorkflowSpec {
                name: "digits".into(),
                steps: vec![synod_protocol::governance::WorkflowStep {
                    name: "classify".into(),
                    model: [1; 32],
                    inputs: vec![],
                    mode: VerificationMode::Zk,
                    timeout_blocks: 5,
                    reward: Amount::syn(1),
                    min_bond: Amount::ZERO,
                    min_reputation: 0,
                    retries: 0,
                }],
            },
        };
        let check = |facts: &ChainFacts| admission::check_proposal(&kind, facts);
        assert!(matches!(
            check(&facts),
            Err(AdmissionError::View(NotFetched::Workflow(name))) if name == "digits"
        ));
        facts.workflows.insert("digits".into(), None);
        assert!(matches!(
            check(&facts),
            Err(AdmissionError::View(NotFetched::Model([1, ..])))
        ));
        // Model 1 was upgraded to 2: the rules follow it.
        let mut old = model(1);
        old.successor = Some([2; 32]);
        facts.models.insert([1; 32], Some(old));
        assert!(matches!(
            check(&facts),
            Err(AdmissionError::View(NotFetched::Model([2, ..])))
        ));
        facts.models.insert([2; 32], Some(model(2)));
        assert!(matches!(check(&facts), Ok(None)));
        // Had the chain not held model 1, the chain's refusal, word for word.
        facts.models.insert([1; 32], None);
        let refusal = check(&facts).unwrap_err().to_string();
        assert_eq!(
            refusal,
            format!("step 0 (classify): unknown model {}", "01".repeat(32))
        );
    }

    #[test]
    fn a_model_proposal_without_its_loaded_file_is_not_fetched_for() {
        let draft = Draft {
            kind: ProposalKind::Text,
            model: None,
        };
        let facts = ChainFacts::new(ChainParams::default(), &draft);
        let kind = ProposalKind::RegisterModel {
            model: vec![1, 2, 3],
            modes: vec![VerificationMode::Zk],
        };
        assert!(matches!(
            admission::check_proposal(&kind, &facts),
            Err(AdmissionError::View(NotFetched::ModelFile))
        ));
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
