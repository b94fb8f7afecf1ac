//! `synod query …`

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde::{de::DeserializeOwned, Serialize};
use serde_json::json;
use synod_client::{parse_tx_hash, Client, QueryPath};
use synod_protocol::{
    params::ChainParams,
    state::{
        Account, ModelRecord, ModelStatus, Reputation, Unbondings, Validator, ValidatorStatus,
        ValidatorSummary,
    },
};

use super::{
    output::{outcome_json, outcome_text},
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
            show::<Account>(ctx, &client, &path, &read, Some(Account::default()), |a| {
                format!(
                    "balance: {} ({})\nnonce:   {}",
                    a.balance.to_syn_string(),
                    a.balance,
                    a.nonce
                )
            })
            .await
        }
        QueryCommand::Validators => {
            let client = ctx.client().await?;
            let list = client.validators().await?;
            ctx.output.emit(json!(list), || validators_table(&list));
            Ok(())
        }
        QueryCommand::Validator { who, read } => {
            let path = QueryPath::Validator(ctx.address_or_key("ADDR", &who)?);
            let client = ctx.client().await?;
            show::<Validator>(ctx, &client, &path, &read, None, validator_text).await
        }
        QueryCommand::Reputation { who, read } => {
            let path = QueryPath::Reputation(ctx.address_or_key("ADDR", &who)?);
            let client = ctx.client().await?;
            show::<Reputation>(ctx, &client, &path, &read, None, |r| {
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
            show::<ChainParams>(ctx, &client, &QueryPath::Params, &read, None, |p| {
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
                Some(Unbondings::default()),
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
            show::<ModelRecord>(ctx, &client, &path, &read, None, model_text).await
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
        QueryCommand::Tx { hash } => {
            let hash = parse_tx_hash("HASH", &hash)?;
            let client = ctx.client().await?;
            let Some(found) = client.tx(hash).await? else {
                anyhow::bail!("transaction {hash} is not known to the node at {} (not included yet, or never sent)", ctx.node);
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

/// Reads `path` (proved when asked), prints the record or says it is absent.
async fn show<T: Serialize + DeserializeOwned>(
    ctx: &Context,
    client: &Client,
    path: &QueryPath,
    read: &ReadFlags,
    default: Option<T>,
    text: impl Fn(&T) -> String,
) -> anyhow::Result<()> {
    let mut doc = json!({ "path": path.to_string(), "proved": read.prove });
    let mut footer = String::new();
    let value = if read.prove {
        let proved = client.query_proved::<T>(path, read.height).await?;
        let app_hash = hex::encode_upper(&proved.app_hash);
        doc["height"] = json!(proved.height);
        doc["proof"] = json!({
            "verified": true,
            "app_hash": app_hash,
            "block": proved.height + 1,
        });
        footer = format!(
            "proved against app hash {app_hash} of block {} (state after block {}; the header is trusted from the node)",
            proved.height + 1,
            proved.height
        );
        proved.value
    } else {
        client.query_at::<T>(path, read.height).await?
    };
    let value = value.or(default);
    doc["value"] = json!(value);
    ctx.output.emit(doc, || {
        let body = match &value {
            Some(v) => text(v),
            None => format!("no record at {path}"),
        };
        if footer.is_empty() {
            body
        } else {
            format!("{body}\n{footer}")
        }
    });
    Ok(())
}

/// A model id from 64 hex digits, or from a `.synod-model` file at that path.
fn model_id_arg(arg: &str) -> anyhow::Result<[u8; 32]> {
    if let Ok(id) = arg.parse::<synod_zkml::ir::ModelId>() {
        return Ok(id.0);
    }
    let path = std::path::Path::new(arg);
    if path.exists() {
        let loaded = synod_zkml::Model::read_file(path)
            .with_context(|| format!("reading the model file {arg}"))?;
        return Ok(loaded.id.0);
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

fn validator_text(v: &Validator) -> String {
    format!(
        "operator:      {}\nmoniker:       {}\nconsensus key: {}\nself-bond:     {}\nstatus:        {}\nregistered:    height {}",
        v.operator,
        v.moniker,
        v.consensus_key,
        v.self_bond.to_syn_string(),
        status_text(&v.status),
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
            status_text(&v.validator.status)
        ));
    }
    s
}
