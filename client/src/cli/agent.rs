//! `synod agent …`: register the --from key as an agent, change it, add to
//! its bond, exit, and read agents.

use clap::Subcommand;
use serde_json::{json, Value};
use synod_client::{Amount, QueryPath, TxBody};
use synod_protocol::agents::{AgentRecord, AgentStatus};

use super::{
    query::{model_id_arg, show_with, IfAbsent, ReadFlags},
    tx::{send, TxFlags},
    Context,
};

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Register the --from key as an agent serving the given models, with a
    /// bond (at least the chain's `agents.min_bond`) taken from its balance.
    Register {
        #[command(flatten)]
        flags: TxFlags,
        /// A model it serves: 64 hex digits or a .synod-model file (repeat
        /// the flag, or separate ids with commas).
        #[arg(
            long = "model",
            value_name = "ID",
            required = true,
            value_delimiter = ','
        )]
        models: Vec<String>,
        /// The bond, e.g. `100syn`.
        #[arg(long)]
        bond: Amount,
        /// Public text: an endpoint, a contact (printable, at most the chain's
        /// `agents.max_metadata_bytes`).
        #[arg(long, default_value = "")]
        metadata: String,
    },
    /// Replace the models and metadata of the --from agent.
    Update {
        #[command(flatten)]
        flags: TxFlags,
        #[arg(
            long = "model",
            value_name = "ID",
            required = true,
            value_delimiter = ','
        )]
        models: Vec<String>,
        #[arg(long, default_value = "")]
        metadata: String,
    },
    /// Add to the --from agent's bond.
    Bond {
        #[command(flatten)]
        flags: TxFlags,
        amount: Amount,
    },
    /// Stop taking work; the bond returns after the chain's `agents.unbonding_blocks`.
    Exit {
        #[command(flatten)]
        flags: TxFlags,
    },
    /// One agent, by address or key name.
    Show {
        /// A `synod1…` address or a key name.
        who: String,
        #[command(flatten)]
        read: ReadFlags,
    },
    /// Every registered agent, by address (no proof: a computed list).
    List,
}

pub async fn run(ctx: &Context, cmd: AgentCommand) -> anyhow::Result<()> {
    let models_of = |ids: &[String]| -> anyhow::Result<Vec<[u8; 32]>> {
        ids.iter().map(|id| model_id_arg(id.trim())).collect()
    };
    // Everything local is checked before the first network call.
    let (flags, body) = match cmd {
        AgentCommand::Register {
            flags,
            models,
            bond,
            metadata,
        } => (
            flags,
            TxBody::RegisterAgent {
                models: models_of(&models)?,
                bond,
                metadata,
            },
        ),
        AgentCommand::Update {
            flags,
            models,
            metadata,
        } => (
            flags,
            TxBody::UpdateAgent {
                models: models_of(&models)?,
                metadata,
            },
        ),
        AgentCommand::Bond { flags, amount } => (flags, TxBody::AddAgentBond { amount }),
        AgentCommand::Exit { flags } => (flags, TxBody::ExitAgent),
        AgentCommand::Show { who, read } => {
            let path = QueryPath::Agent(ctx.address_or_key("WHO", &who)?);
            let client = ctx.client().await?;
            let absent =
                IfAbsent::NotFound("no agent at this address (list them with `synod agent list`)");
            return show_with(ctx, &client, &path, &read, absent, agent_json, agent_text).await;
        }
        AgentCommand::List => {
            let list = ctx.client().await?.agents().await?;
            ctx.output.emit(
                json!(list.iter().map(agent_json).collect::<Vec<_>>()),
                || {
                    if list.is_empty() {
                        return "no registered agents".into();
                    }
                    list.iter().map(agent_line).collect::<Vec<_>>().join("\n")
                },
            );
            return Ok(());
        }
    };
    synod_protocol::agents::check_metadata(&body_metadata(&body), u32::MAX)
        .map_err(|e| anyhow::anyhow!("bad --metadata: {e}"))?;
    send(ctx, &flags, body).await
}

fn body_metadata(body: &TxBody) -> String {
    match body {
        TxBody::RegisterAgent { metadata, .. } | TxBody::UpdateAgent { metadata, .. } => {
            metadata.clone()
        }
        _ => String::new(),
    }
}

fn status_text(status: &AgentStatus) -> String {
    match status {
        AgentStatus::Active => "active".into(),
        AgentStatus::Exiting {
            since,
            release_height,
        } => format!("exiting since height {since}; bond returns at height {release_height}"),
    }
}

fn agent_json(a: &AgentRecord) -> Value {
    json!({
        "address": a.address.to_string(),
        "models": a.models.iter().map(hex::encode).collect::<Vec<_>>(),
        "bond": a.bond,
        "metadata": a.metadata,
        "status": a.status,
        "registered_height": a.registered_height,
        "updated_height": a.updated_height,
    })
}

fn agent_text(a: &AgentRecord) -> String {
    let models = a
        .models
        .iter()
        .map(|m| format!("\n  {}", hex::encode(m)))
        .collect::<String>();
    format!(
        "agent:    {}\nbond:     {} ({})\nstatus:   {}\nmetadata: {:?}\nsince:    height {} (updated at {})\nmodels:{models}",
        a.address,
        a.bond.to_syn_string(),
        a.bond,
        status_text(&a.status),
        a.metadata,
        a.registered_height,
        a.updated_height,
    )
}

fn agent_line(a: &AgentRecord) -> String {
    format!(
        "{}  {}  {} model{}  {}",
        a.address,
        a.bond.to_syn_string(),
        a.models.len(),
        if a.models.len() == 1 { "" } else { "s" },
        status_text(&a.status)
    )
}
