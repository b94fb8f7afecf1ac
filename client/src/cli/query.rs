//! `synod query …`

use clap::{Args, Subcommand};
use serde::{de::DeserializeOwned, Serialize};
use serde_json::{json, Value};
use synod_client::{parse_tx_hash, standing, Amount, Client, QueryPath};
use synod_protocol::{
    params::ChainParams,
    state::{
        Account, ModelRecord, ModelStatus, Reputation, Unbondings, Validator, ValidatorStatus,
        ValidatorSummary,
    },
};

use super::{
    output::{count, outcome_json, outcome_text, NotFound},
    proved::{absence_note, answer_doc, proof_footer},
    workflow_text::{workflow_json, workflow_name_arg, workflow_text},
    Context,
};

/// How to read a record.
#[derive(Debug, Args)]
pub struct ReadFlags {
    /// Check the answer's Merkle proof against the app hash of block H+1.
    #[arg(long)]
    prove: bool,
    /// Read the state after block H (default: the latest).
    #[arg(long)]
    height: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub enum QueryCommand {
    /// An account's balance and next nonce.
    Account {
        /// A `synod1…` address or a key name.
        who: String,
        #[command(flatten)]
        read: ReadFlags,
    },
    /// Every registered validator, by power (no proof: a computed list).
    Validators,
    /// One validator, by operator address.
    Validator {
        /// A `synod1…` address or a key name.
        who: String,
        #[command(flatten)]
        read: ReadFlags,
    },
    /// A reputation score.
    Reputation {
        /// A `synod1…` address or a key name.
        who: String,
        #[command(flatten)]
        read: ReadFlags,
    },
    /// The chain parameters.
    Params {
        #[command(flatten)]
        read: ReadFlags,
    },
    /// A validator's pending unbondings.
    Unbonding {
        /// A `synod1…` address or a key name.
        who: String,
        #[command(flatten)]
        read: ReadFlags,
    },
    /// A registered model, by id (or by a .synod-model file, whose id is used).
    Model {
        /// 64 hex digits, or the path of a .synod-model file.
        id: String,
        #[command(flatten)]
        read: ReadFlags,
    },
    /// Every registered model, by id (no proof: a computed list).
    Models,
    /// The community treasury balance.
    Treasury {
        #[command(flatten)]
        read: ReadFlags,
    },
    /// A registered workflow, by name.
    Workflow {
        name: String,
        #[command(flatten)]
        read: ReadFlags,
    },
    /// Every registered workflow, by name (no proof: a computed list).
    Workflows,
    /// A verified workflow execution, by workflow hash (the paper's
    /// `verifiedWorkflows`).
    Verified {
        /// 64 hex digits, as `workflow_verified` names it.
        hash: String,
        #[command(flatten)]
        read: ReadFlags,
    },
    /// A transaction's result, by hash.
    Tx {
        /// 64 hex digits.
        hash: String,
    },
}

pub async fn run(ctx: &Context, cmd: QueryCommand) -> anyhow::Result<()> {
    match cmd {
        QueryCommand::Account { who, read } => {
            let path = QueryPath::Account(ctx.address_or_key("ADDR", &who)?);
            let client = ctx.client().await?;
            show::<Account>(
                ctx,
                &client,
                &path,
                &read,
                IfAbsent::Show(Account::default()),
                |a| {
                    format!(
                        "balance: {} ({})\nnonce:   {}",
                        a.balance.to_syn_string(),
                        a.balance,
                        a.nonce
                    )
                },
            )
            .await
        }
        QueryCommand::Validators => {
            let client = ctx.client().await?;
            let list = client.validators().await?;
            ctx.output.emit(json!(list), || validators_table(&list));
            Ok(())
        }
        QueryCommand::Validator { who, read } => {
            let operator = ctx.address_or_key("ADDR", &who)?;
            let path = QueryPath::Validator(operator);
            let client = ctx.client().await?;
            let absent = IfAbsent::NotFound(
                "no validator is operated by this address (list them with `synod query validators`)",
            );
            // Whether it is in the active set, and its power, are no part of
            // the record: the latest set tells, as `query validators` shows it
            // (so only for a read of the latest state).
            let summary =
                match read.height {
                    None => client.validators().await.ok().and_then(|list| {
                        list.into_iter().find(|s| s.validator.operator == operator)
                    }),
                    Some(_) => None,
                };
            show::<Validator>(ctx, &client, &path, &read, absent, |v| {
                validator_text(v, summary.as_ref())
            })
            .await
        }
        QueryCommand::Reputation { who, read } => {
            let path = QueryPath::Reputation(ctx.address_or_key("ADDR", &who)?);
            let client = ctx.client().await?;
            let absent = IfAbsent::NotFound(
                "no reputation recorded for this address (it has never been a validator)",
            );
            show::<Reputation>(ctx, &client, &path, &read, absent, |r| {
                format!(
                    "score:   {} ppm ({:.2}%)\nslashes: {}\nupdated: height {}",
                    r.score,
                    r.score as f64 / 10_000.0,
                    r.slashes,
                    r.updated_height.value()
                )
            })
            .await
        }
        QueryCommand::Params { read } => {
            let client = ctx.client().await?;
            let absent = IfAbsent::NotFound("the chain answered without parameters");
            show::<ChainParams>(ctx, &client, &QueryPath::Params, &read, absent, |p| {
                serde_json::to_string_pretty(p).unwrap_or_default()
            })
            .await
        }
        QueryCommand::Unbonding { who, read } => {
            let path = QueryPath::Unbonding(ctx.address_or_key("ADDR", &who)?);
            let client = ctx.client().await?;
            show::<Unbondings>(
                ctx,
                &client,
                &path,
                &read,
                IfAbsent::Show(Unbondings::default()),
                |u| {
                    if u.entries.is_empty() {
                        return "no pending unbondings".into();
                    }
                    u.entries
                        .iter()
                        .map(|e| {
                            format!(
                                "{} unbonding since height {}, released at height {}",
                                e.amount.to_syn_string(),
                                e.start_height.value(),
                                e.release_height.value()
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                },
            )
            .await
        }
        QueryCommand::Model { id, read } => {
            let path = QueryPath::Model(model_id_arg(&id)?);
            let client = ctx.client().await?;
            let absent = IfAbsent::NotFound(
                "no model with this id is registered (list them with `synod query models`)",
            );
            show::<ModelRecord>(ctx, &client, &path, &read, absent, model_text).await
        }
        QueryCommand::Models => {
            let client = ctx.client().await?;
            let list = client
                .query_at::<Vec<ModelRecord>>(&QueryPath::Models, None)
                .await?
                .unwrap_or_default();
            ctx.output.emit(json!(list), || {
                if list.is_empty() {
                    return "no registered models".into();
                }
                list.iter()
                    .map(|m| {
                        format!(
                            "{}  {}  k={}  {}",
                            hex::encode(m.id),
                            m.name,
                            m.k,
                            model_status_text(&m.status)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
            Ok(())
        }
        QueryCommand::Treasury { read } => {
            let client = ctx.client().await?;
            show::<Amount>(
                ctx,
                &client,
                &QueryPath::Treasury,
                &read,
                IfAbsent::Show(Amount::ZERO),
                |a| format!("treasury: {} ({a})", a.to_syn_string()),
            )
            .await
        }
        QueryCommand::Workflow { name, read } => {
            let path = QueryPath::Workflow(workflow_name_arg(&name)?);
            let client = ctx.client().await?;
            let absent = IfAbsent::NotFound(
                "no workflow of this name is registered (list them with `synod query workflows`)",
            );
            show_with(
                ctx,
                &client,
                &path,
                &read,
                absent,
                workflow_json,
                workflow_text,
            )
            .await
        }
        QueryCommand::Workflows => {
            let client = ctx.client().await?;
            let list = client.workflows().await?;
            ctx.output.emit(
                json!(list.iter().map(workflow_json).collect::<Vec<_>>()),
                || {
                    if list.is_empty() {
                        return "no registered workflows".into();
                    }
                    list.iter()
                        .map(|w| {
                            format!(
                                "{}  version {}  {}  spec {}",
                                w.spec.name,
                                w.version,
                                count(w.spec.steps.len(), "step", "steps"),
                                hex::encode(w.spec_hash)
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                },
            );
            Ok(())
        }
        QueryCommand::Verified { hash, read } => {
            super::workflow::show_verified(ctx, &hash, &read).await
        }
        QueryCommand::Tx { hash } => {
            let hash = parse_tx_hash("HASH", &hash)?;
            let client = ctx.client().await?;
            let Some(found) = client.tx(hash).await? else {
                return Err(NotFound::new(format!(
                    "transaction {hash} is not known to the node at {} (not included yet, or never sent)",
                    ctx.node
                ))
                .into());
            };
            let mut doc = outcome_json(&found.outcome);
            doc["tx"] = json!(found.tx);
            ctx.output.emit(doc, || {
                let mut s = outcome_text(&found.outcome);
                if let Some(tx) = &found.tx {
                    s.push_str(&format!(
                        "signer: {} (nonce {}, fee {})\nbody:   {:?}\n",
                        tx.sender(),
                        tx.nonce,
                        tx.fee,
                        tx.body
                    ));
                }
                s
            });
            Ok(())
        }
    }
}

/// What a read shows when the record does not exist.
pub(super) enum IfAbsent<T> {
    /// The record's empty value (an account that never received funds).
    Show(T),
    /// Nothing: a [`NotFound`] error (exit status 1) saying this.
    NotFound(&'static str),
}

/// Reads `path` (proved when asked), prints the record, or fails with
/// [`NotFound`] when it is absent and has no empty value to show.
async fn show<T: Serialize + DeserializeOwned>(
    ctx: &Context,
    client: &Client,
    path: &QueryPath,
    read: &ReadFlags,
    absent: IfAbsent<T>,
    text: impl Fn(&T) -> String,
) -> anyhow::Result<()> {
    show_with(ctx, client, path, read, absent, |v| json!(v), text).await
}

/// [`show`] with the record's JSON made by `to_json` (for records whose
/// derived JSON is unfit for people, such as byte arrays for ids).
pub(super) async fn show_with<T: Serialize + DeserializeOwned>(
    ctx: &Context,
    client: &Client,
    path: &QueryPath,
    read: &ReadFlags,
    absent: IfAbsent<T>,
    to_json: impl Fn(&T) -> Value,
    text: impl Fn(&T) -> String,
) -> anyhow::Result<()> {
    let answer = client.read::<T>(path, read.height, read.prove).await?;
    let mut doc = answer_doc(path, &answer);
    if read.prove {
        doc["catching_up"] = json!(warn_if_catching_up(client).await);
    }
    let footer = proof_footer(&answer);
    let proved_absent = absence_note(&answer);
    let value = match (answer.into_value(), absent) {
        (Some(v), _) | (None, IfAbsent::Show(v)) => v,
        (None, IfAbsent::NotFound(why)) => {
            doc["value"] = Value::Null;
            return Err(NotFound {
                message: format!("nothing at {path}: {why}{proved_absent}"),
                doc,
            }
            .into());
        }
    };
    doc["value"] = to_json(&value);
    ctx.output.emit(doc, || match footer {
        Some(footer) => format!("{}\n{footer}", text(&value)),
        None => text(&value),
    });
    Ok(())
}

/// Warns on stderr when the node says it is catching up (more than a block
/// behind its peers): a proof then shows its state, which the network has
/// moved past. Returns whether it did; a node that cannot say counts as not.
pub(super) async fn warn_if_catching_up(client: &Client) -> bool {
    match client.status().await {
        Ok(s) if s.catching_up => {
            eprintln!(
                "warning: the node at {} is catching up (at height {}, behind its peers): \
                 this answer is of its state, which may be older than the network's",
                client.url(),
                s.latest_height
            );
            true
        }
        _ => false,
    }
}

/// A model id from 64 hex digits, or from a `.synod-model` file at that path.
pub(super) fn model_id_arg(arg: &str) -> anyhow::Result<[u8; 32]> {
    if let Ok(id) = arg.parse::<synod_zkml::ir::ModelId>() {
        return Ok(id.0);
    }
    let path = std::path::Path::new(arg);
    if path.exists() {
        return Ok(super::model::load_model(path)?.id.0);
    }
    anyhow::bail!("bad ID {arg:?}: neither a model id (64 hex digits) nor a .synod-model file")
}

fn model_status_text(s: &ModelStatus) -> String {
    match s {
        ModelStatus::Active => "active".into(),
        ModelStatus::Retired { at_height } => format!("retired at height {}", at_height.value()),
    }
}

fn model_text(m: &ModelRecord) -> String {
    let modes: Vec<String> = m.modes.iter().map(|mode| format!("{mode:?}")).collect();
    format!(
        "model id:    {}\nname:        {}\nvk hash:     {} (k = {})\nmodes:       {}\nstatus:      {}\nparameters:  {}\nshape:       {:?} -> {:?}\nregistered:  height {}",
        hex::encode(m.id),
        m.name,
        hex::encode(m.vk_hash),
        m.k,
        modes.join(", "),
        model_status_text(&m.status),
        m.parameter_count,
        m.input_shape,
        m.output_shape,
        m.registered_height.value()
    )
}

/// A validator's record; with its entry in the latest set, its standing
/// (`active`, `inactive`, ...) in the words of `synod query validators`,
/// its power and its reputation.
fn validator_text(v: &Validator, summary: Option<&ValidatorSummary>) -> String {
    let status = match (summary, &v.status) {
        (Some(s), ValidatorStatus::Candidate) => standing(s),
        _ => status_text(&v.status),
    };
    let status = match summary {
        Some(s) => format!(
            "{status} (power {}, reputation {})",
            s.power,
            percent(s.reputation)
        ),
        None => status,
    };
    format!(
        "operator:      {}\nmoniker:       {}\nconsensus key: {}\nself-bond:     {}\nstatus:        {status}\nregistered:    height {}",
        v.operator,
        v.moniker,
        v.consensus_key,
        v.self_bond.to_syn_string(),
        v.registered_height.value()
    )
}

fn status_text(s: &ValidatorStatus) -> String {
    match s {
        ValidatorStatus::Candidate => "candidate".into(),
        ValidatorStatus::Jailed {
            until_height,
            reason,
        } => format!("jailed until height {} ({reason})", until_height.value()),
        ValidatorStatus::Tombstoned => "tombstoned".into(),
    }
}

/// A ppm score as a percentage with two decimals (`101800` -> `10.18%`).
fn percent(ppm: u64) -> String {
    format!("{}.{:02}%", ppm / 10_000, (ppm % 10_000) / 100)
}

fn validators_table(list: &[ValidatorSummary]) -> String {
    if list.is_empty() {
        return "no validators".into();
    }
    let mut s = format!(
        "{:<44}  {:<16}  {:>10}  {:>10}  {:<6}  {:>20}  STATUS\n",
        "OPERATOR", "MONIKER", "POWER", "REPUTATION", "ACTIVE", "SELF-BOND"
    );
    for v in list {
        s.push_str(&format!(
            "{:<44}  {:<16}  {:>10}  {:>10}  {:<6}  {:>20}  {}\n",
            v.validator.operator.to_string(),
            v.validator.moniker,
            v.power,
            percent(v.reputation),
            if v.active { "yes" } else { "no" },
            v.validator.self_bond.to_syn_string(),
            standing(v)
        ));
    }
    s
}
