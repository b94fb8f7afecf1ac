//! `synod gov propose KIND …`: builds the proposal from files and flags,
//! checks it locally as the chain will (shape, parameter changes, the
//! model's circuit, the deposit, the tx size, the state it names), then
//! sends it and says what the proposal needs next.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use synod_client::{
    proposal::{parse_mode, parse_param_set, submitted_proposal_id, ParamChange, WorkflowFile},
    Amount, TxBody,
};
use synod_protocol::{
    governance::{check_text, ProposalError, ProposalKind},
    state::VerificationMode,
};
use synod_zkml::{ir::LoadedModel, Model};

use super::{
    super::{
        output::{outcome_json, outcome_text, Output},
        query::model_id_arg,
        tx::TxFlags,
    },
    checks, read_back, standing_json, standing_text, Context,
};

/// What every proposal takes.
#[derive(Debug, Args)]
pub struct ProposeFlags {
    /// A one-line title (at most 140 bytes).
    #[arg(long)]
    title: String,
    /// What the proposal does and why (at most 4096 bytes).
    #[arg(long, default_value = "")]
    summary: String,
    /// The first deposit, e.g. `2500syn`: at least the chain's minimum initial
    /// deposit (without it, the error says how much that is).
    #[arg(long)]
    deposit: Option<Amount>,
    /// A shorter voting period and a higher threshold, for a larger deposit;
    /// if it misses the higher threshold it goes on as a regular proposal.
    #[arg(long)]
    expedited: bool,
    #[command(flatten)]
    tx: TxFlags,
}

const EXAMPLES: &str = "\
Every kind takes --title T [--summary S] --deposit AMOUNT [--expedited] --from KEY
and the other tx flags. Examples:
  synod gov propose text --title 'Adopt the digits benchmark' --deposit 2500syn --from alice
  synod gov propose register-model mlp.synod-model --modes zk,optimistic \\
      --title 'Register the digits MLP' --deposit 2500syn --from alice
  synod gov propose upgrade-model 4666…89ec mlp-v2.synod-model --modes zk --grace-blocks 1000 \\
      --title 'Digits MLP v2' --deposit 2500syn --from alice
  synod gov propose retire-model 4666…89ec --title 'Retire the digits MLP' --deposit 2500syn --from alice
  synod gov propose param-change --set staking.max_validators=50 --set governance.min_deposit=5000syn \\
      --title 'Smaller set, cheaper proposals' --deposit 2500syn --from alice
  synod gov propose treasury-spend --to bob --amount 100syn --title 'Pay for audits' --deposit 2500syn --from alice
  synod gov propose register-workflow digits.json --title 'Digits pipeline' --deposit 2500syn --from alice";

#[derive(Debug, Subcommand)]
#[command(after_help = EXAMPLES)]
pub enum ProposeCommand {
    /// A signal with no effect on state.
    Text {
        #[command(flatten)]
        common: ProposeFlags,
    },
    /// Register a model (its .synod-model file travels in the proposal).
    RegisterModel {
        /// The .synod-model file.
        file: PathBuf,
        /// How its results may be verified: zk, optimistic, or both (zk,optimistic).
        #[arg(long, value_delimiter = ',', required = true, value_parser = parse_mode)]
        modes: Vec<VerificationMode>,
        #[command(flatten)]
        common: ProposeFlags,
    },
    /// Register a new version of a model; the old one is retired after a grace period.
    UpgradeModel {
        /// The model it replaces: 64 hex digits, or its .synod-model file.
        previous: String,
        /// The new version's .synod-model file.
        file: PathBuf,
        /// How the new version's results may be verified: zk, optimistic, or both.
        #[arg(long, value_delimiter = ',', required = true, value_parser = parse_mode)]
        modes: Vec<VerificationMode>,
        /// Blocks the previous version still accepts results after the upgrade.
        #[arg(long)]
        grace_blocks: u64,
        #[command(flatten)]
        common: ProposeFlags,
    },
    /// Retire a model at once.
    RetireModel {
        /// 64 hex digits, or the model's .synod-model file.
        id: String,
        #[command(flatten)]
        common: ProposeFlags,
    },
    /// Change chain parameters, all or none (see `synod query params` for the names).
    ParamChange {
        /// A change, repeatable. VALUE is taken as JSON if it parses as JSON
        /// (`50`, `true`, `"text"`), else as a string (`5000syn`).
        #[arg(long = "set", value_name = "MODULE.NAME=VALUE", required = true, value_parser = parse_param_set)]
        changes: Vec<ParamChange>,
        #[command(flatten)]
        common: ProposeFlags,
    },
    /// Pay from the community treasury.
    TreasurySpend {
        /// Recipient: a `synod1…` address or a key name.
        #[arg(long)]
        to: String,
        /// Amount, e.g. `100syn`.
        #[arg(long)]
        amount: Amount,
        #[command(flatten)]
        common: ProposeFlags,
    },
    /// Register a workflow from a JSON file (see docs/cli.md for its form).
    RegisterWorkflow {
        /// The workflow file: {"name": ..., "steps": [...]}.
        file: PathBuf,
        #[command(flatten)]
        common: ProposeFlags,
    },
    /// Replace a registered workflow's steps (same name, next version).
    UpdateWorkflow {
        /// The workflow file: {"name": ..., "steps": [...]}.
        file: PathBuf,
        #[command(flatten)]
        common: ProposeFlags,
    },
}

/// A proposal built from the command line, before the chain is asked.
pub(super) struct Draft {
    pub(super) kind: ProposalKind,
    /// The model file of `register-model` and `upgrade-model`, loaded.
    pub(super) model: Option<LoadedModel>,
}

pub async fn run(ctx: &Context, cmd: ProposeCommand) -> anyhow::Result<()> {
    // Everything local is checked before the first network call.
    let (draft, common) = draft(ctx, cmd)?;
    check_text(&common.title, &common.summary).map_err(|e| match e {
        ProposalError::SummaryTooLong => anyhow::anyhow!("bad --summary: {e}"),
        _ => anyhow::anyhow!("bad --title {:?}: {e}", common.title),
    })?;
    draft
        .kind
        .check()
        .context("the chain would refuse this proposal")?;
    let key = common.tx.key(ctx)?;

    let client = common.tx.client(ctx).await?;
    let params = client.params().await?;
    let deposit = checks::check_deposit(common.deposit, &params.governance, common.expedited)?;
    checks::check_against_params(&draft, &params)?;
    let body = TxBody::Propose {
        kind: draft.kind.clone(),
        title: common.title.clone(),
        summary: common.summary.clone(),
        deposit,
        expedited: common.expedited,
    };
    checks::check_size(&key, &body, client.chain_id(), &params)?;
    checks::check_against_state(&client, &draft, &key.public().address(), &params).await?;
    let warnings = checks::warnings(&client, &draft).await?;
    if ctx.output == Output::Text {
        if let Some(model) = &draft.model {
            eprintln!("{}", model_line(model));
        }
        for w in &warnings {
            eprintln!("warning: {w}");
        }
    }

    let outcome = common.tx.sign_and_send(&client, &key, body).await?;
    let id = submitted_proposal_id(&outcome);
    let now = match (id, outcome.height) {
        (Some(id), Some(_)) => read_back(&client, id).await,
        _ => None,
    };
    let gov = &params.governance;
    let mut doc = outcome_json(&outcome);
    doc["proposal"] = match id {
        Some(id) => standing_json(id, now.as_ref(), gov),
        None => Value::Null,
    };
    doc["model"] = draft.model.as_ref().map(model_json).unwrap_or(Value::Null);
    doc["warnings"] = json!(warnings);
    ctx.output.emit(doc, || {
        let standing = match id {
            Some(id) => standing_text(id, now.as_ref(), gov),
            None if outcome.height.is_none() => format!(
                "proposal: id known once included (`synod query tx {}`, event proposal_submitted)",
                outcome.hash
            ),
            None => "proposal: the tx's events carry no proposal_submitted id".into(),
        };
        format!("{standing}\n{}", outcome_text(&outcome))
    });
    Ok(())
}

/// Reads the files and arguments of a proposal kind.
fn draft(ctx: &Context, cmd: ProposeCommand) -> anyhow::Result<(Draft, ProposeFlags)> {
    let plain = |kind| Draft { kind, model: None };
    Ok(match cmd {
        ProposeCommand::Text { common } => (plain(ProposalKind::Text), common),
        ProposeCommand::RegisterModel {
            file,
            modes,
            common,
        } => {
            let (bytes, loaded) = read_model_file(&file)?;
            let kind = ProposalKind::RegisterModel {
                model: bytes,
                modes,
            };
            (
                Draft {
                    kind,
                    model: Some(loaded),
                },
                common,
            )
        }
        ProposeCommand::UpgradeModel {
            previous,
            file,
            modes,
            grace_blocks,
            common,
        } => {
            let previous = model_id_arg(&previous).context("bad PREVIOUS")?;
            let (bytes, loaded) = read_model_file(&file)?;
            if loaded.id.0 == previous {
                anyhow::bail!(
                    "{} is model {} itself: an upgrade needs a different model",
                    file.display(),
                    loaded.id
                );
            }
            let kind = ProposalKind::UpgradeModel {
                previous,
                model: bytes,
                modes,
                grace_blocks,
            };
            (
                Draft {
                    kind,
                    model: Some(loaded),
                },
                common,
            )
        }
        ProposeCommand::RetireModel { id, common } => {
            let model = model_id_arg(&id)?;
            (plain(ProposalKind::RetireModel { model }), common)
        }
        ProposeCommand::ParamChange { changes, common } => {
            (plain(ProposalKind::ParamChange { changes }), common)
        }
        ProposeCommand::TreasurySpend { to, amount, common } => {
            let recipient = ctx.address_or_key("--to", &to)?;
            (
                plain(ProposalKind::TreasurySpend { recipient, amount }),
                common,
            )
        }
        ProposeCommand::RegisterWorkflow { file, common } => {
            let workflow = WorkflowFile::read(&file)?;
            (plain(ProposalKind::RegisterWorkflow { workflow }), common)
        }
        ProposeCommand::UpdateWorkflow { file, common } => {
            let workflow = WorkflowFile::read(&file)?;
            (plain(ProposalKind::UpdateWorkflow { workflow }), common)
        }
    })
}

/// A `.synod-model` file's bytes, checked to load (format, stated id, IR rules).
fn read_model_file(path: &Path) -> anyhow::Result<(Vec<u8>, LoadedModel)> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("reading the model file {}", path.display()))?;
    let loaded = Model::from_file_bytes(&bytes)
        .with_context(|| format!("the model file {} does not load", path.display()))?;
    Ok((bytes, loaded))
}

/// The model a proposal carries, for people.
fn model_line(m: &LoadedModel) -> String {
    format!(
        "model {} ({}): {} parameters, input {:?}",
        m.id, m.model.name, m.info.parameter_count, m.model.input.shape
    )
}

fn model_json(m: &LoadedModel) -> Value {
    json!({
        "model_id": m.id.to_string(),
        "name": m.model.name,
        "parameters": m.info.parameter_count,
        "input_shape": m.model.input.shape,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::super::super::{Cli, Command};
    use super::super::GovCommand;
    use super::*;
    use clap::Parser;

    fn parse(args: &[&str]) -> Result<ProposeCommand, clap::Error> {
        let mut all = vec!["synod", "gov", "propose"];
        all.extend_from_slice(args);
        match Cli::try_parse_from(all)?.command {
            Command::Gov(GovCommand::Propose(cmd)) => Ok(cmd),
            other => panic!("parsed as {other:?}"),
        }
    }

    const COMMON: [&str; 6] = ["--title", "T", "--deposit", "2500syn", "--from", "alice"];

    fn with_common(args: &[&str]) -> Vec<String> {
        args.iter()
            .chain(COMMON.iter())
            .map(|s| s.to_string())
            .collect()
    }

    fn parse_with_common(args: &[&str]) -> Result<ProposeCommand, clap::Error> {
        let all = with_common(args);
        parse(&all.iter().map(String::as_str).collect::<Vec<_>>())
    }

    #[test]
    fn every_kind_parses_with_the_common_flags() {
        assert!(parse_with_common(&["text"]).is_ok());
        assert!(parse_with_common(&["text", "--summary", "why", "--expedited"]).is_ok());
        assert!(parse_with_common(&["register-model", "m.synod-model", "--modes", "zk"]).is_ok());
        assert!(parse_with_common(&[
            "upgrade-model",
            &"ab".repeat(32),
            "m.synod-model",
            "--modes",
            "zk,optimistic",
            "--grace-blocks",
            "100"
        ])
        .is_ok());
        assert!(parse_with_common(&["retire-model", &"ab".repeat(32)]).is_ok());
        assert!(parse_with_common(&["param-change", "--set", "staking.max_validators=50"]).is_ok());
        assert!(parse_with_common(&["treasury-spend", "--to", "bob", "--amount", "5syn"]).is_ok());
        assert!(parse_with_common(&["register-workflow", "wf.json"]).is_ok());
        assert!(parse_with_common(&["update-workflow", "wf.json"]).is_ok());
    }

    #[test]
    fn modes_are_a_comma_separated_list_of_zk_and_optimistic() {
        let Ok(ProposeCommand::RegisterModel { modes, .. }) = parse_with_common(&[
            "register-model",
            "m.synod-model",
            "--modes",
            "zk,optimistic",
        ]) else {
            panic!("register-model must parse");
        };
        assert_eq!(modes, [VerificationMode::Zk, VerificationMode::Optimistic]);
        let e = parse_with_common(&["register-model", "m", "--modes", "zk,fast"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("fast") && e.contains("zk, optimistic"), "{e}");
        assert!(parse_with_common(&["register-model", "m"]).is_err());
        assert!(parse_with_common(&["upgrade-model", "a", "m", "--modes", "zk"]).is_err());
    }

    #[test]
    fn set_is_repeatable_and_follows_the_value_rule() {
        let Ok(ProposeCommand::ParamChange { changes, .. }) = parse_with_common(&[
            "param-change",
            "--set",
            "governance.min_deposit=5000syn",
            "--set",
            "staking.max_validators=50",
        ]) else {
            panic!("param-change must parse");
        };
        let shown: Vec<String> = changes.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "governance.min_deposit = \"5000syn\"",
                "staking.max_validators = 50"
            ]
        );
        let e = parse_with_common(&["param-change", "--set", "max_validators=50"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("module.name"), "{e}");
        assert!(parse_with_common(&["param-change"]).is_err());
    }

    #[test]
    fn title_and_key_are_required_but_the_deposit_is_checked_later() {
        assert!(parse(&["text", "--deposit", "1syn", "--from", "a"]).is_err());
        assert!(parse(&["text", "--title", "T", "--deposit", "1syn"]).is_err());
        // Without --deposit it parses; the command then says how much is needed.
        assert!(parse(&["text", "--title", "T", "--from", "a"]).is_ok());
    }
}
