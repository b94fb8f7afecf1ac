//! The `synod` command line.

pub mod agent;
pub mod dispute;
pub mod gov;
pub mod keys;
pub mod model;
pub mod output;
pub mod proved;
pub mod query;
pub mod trust;
pub mod tx;
pub mod workflow;
pub mod workflow_text;

use std::{path::PathBuf, sync::Arc};

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use synod_client::{parse_address, Address, Client, Keyring};

use output::Output;

const EXAMPLES: &str = "\
Examples:
  synod keys add alice
  synod keys import validator-0 ./synod-testnet/node0/config/operator_key.json
  synod tx transfer --from validator-0 alice 12syn
  synod query account alice --prove
  synod --output json query params
  synod status
  synod model import zkml/models/mlp.onnx --calibration zkml/models/digits-calibration.json
  synod gov propose text --title 'Adopt the digits benchmark' --deposit 2500syn --from alice
  synod gov vote 1 yes --from validator-0
  synod agent register --model <MODEL ID> --bond 100syn --from alice";

/// The node `synod` talks to when neither `--node` nor `SYNOD_NODE` says.
pub const DEFAULT_NODE: &str = "http://127.0.0.1:26657";

/// Synod chain client: keys, transactions and proved queries.
#[derive(Debug, Parser)]
#[command(name = "synod", version, after_help = EXAMPLES)]
pub struct Cli {
    // The environment variables are read in `run`, not by clap: clap lists an
    // argument given through its variable in the usage line of every error,
    // where `--node <NODE>` then reads as if it were required.
    /// The node's CometBFT RPC address [env: SYNOD_NODE] [default: http://127.0.0.1:26657].
    #[arg(long, global = true, value_name = "URL")]
    pub node: Option<String>,
    /// The keyring directory [env: SYNOD_KEYRING] [default: $HOME/.synod/keys].
    #[arg(long, global = true, value_name = "DIR")]
    pub keyring_dir: Option<PathBuf>,
    /// `text` for people, `json` for scripts (one JSON document on stdout).
    #[arg(long, global = true, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    #[command(flatten)]
    pub trust: trust::TrustArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage the account keys in the keyring.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Sign and send a transaction.
    #[command(subcommand)]
    Tx(tx::TxCommand),
    /// Read chain state (optionally with a Merkle proof).
    #[command(subcommand)]
    Query(query::QueryCommand),
    /// The node's chain id, latest height, app hash and node id.
    Status,
    /// Import, inspect, run, prove and verify int8 models (offline), and
    /// submit a proof to the chain (`model submit`, the only one that needs a node).
    #[command(subcommand)]
    Model(model::ModelCommand),
    /// Governance: propose, deposit, vote, and follow proposals.
    #[command(subcommand)]
    Gov(gov::GovCommand),
    /// Agents: register the --from key as an agent, change it, bond, exit; show and list agents.
    #[command(subcommand)]
    Agent(agent::AgentCommand),
    /// Workflow runs: submit, follow, show, execute an assigned step; verified executions.
    #[command(subcommand)]
    Workflow(workflow::WorkflowCommand),
    /// Optimistic results and disputes: assert, challenge, bisect, select,
    /// one-step, play a whole game for one side; show and list disputes.
    #[command(subcommand)]
    Dispute(dispute::DisputeCommand),
}

/// A setting from its flag, else from its environment variable (when set
/// and not empty).
fn flag_or_env(flag: Option<String>, variable: &str) -> Option<String> {
    flag.or_else(|| std::env::var(variable).ok().filter(|v| !v.is_empty()))
}

/// Runs a parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let ctx = Context {
        node: flag_or_env(cli.node, "SYNOD_NODE").unwrap_or_else(|| DEFAULT_NODE.into()),
        keyring_dir: cli
            .keyring_dir
            .or_else(|| flag_or_env(None, "SYNOD_KEYRING").map(PathBuf::from)),
        output: cli.output,
        trust: cli.trust,
    };
    match cli.command {
        Command::Keys(cmd) => keys::run(&ctx, cmd),
        Command::Tx(cmd) => tx::run(&ctx, cmd).await,
        Command::Query(cmd) => query::run(&ctx, cmd).await,
        Command::Status => status(&ctx).await,
        Command::Model(cmd) => model::run(&ctx, cmd).await,
        Command::Gov(cmd) => gov::run(&ctx, cmd).await,
        Command::Agent(cmd) => agent::run(&ctx, cmd).await,
        Command::Workflow(cmd) => workflow::run(&ctx, cmd).await,
        Command::Dispute(cmd) => dispute::run(&ctx, cmd).await,
    }
}

/// What every command may need.
pub struct Context {
    pub node: String,
    pub keyring_dir: Option<PathBuf>,
    pub output: Output,
    pub trust: trust::TrustArgs,
}

impl Context {
    /// Opens the keyring (creating its directory if missing).
    pub fn keyring(&self) -> anyhow::Result<Keyring> {
        let dir = match &self.keyring_dir {
            Some(d) => d.clone(),
            None => {
                let home = std::env::var_os("HOME")
                    .context("HOME is not set: pass --keyring-dir DIR or set SYNOD_KEYRING")?;
                PathBuf::from(home).join(".synod").join("keys")
            }
        };
        Keyring::open(&dir).with_context(|| format!("opening the keyring {}", dir.display()))
    }

    /// Connects to the node, with a light client that checks the header
    /// of every proved read.
    pub async fn client(&self) -> anyhow::Result<Client> {
        let light = synod_client::light::LightClient::new(self.trust.options()?);
        Ok(Client::connect(&self.node)
            .await?
            .with_light_client(Arc::new(light)))
    }

    /// `value` as an address, or else as the name of a key in the keyring.
    pub fn address_or_key(&self, arg: &str, value: &str) -> anyhow::Result<Address> {
        if value.starts_with("synod1") {
            return Ok(parse_address(arg, value)?);
        }
        let ring = self.keyring()?;
        match ring.info(value) {
            Ok(info) => Ok(info.address),
            Err(key_err) => {
                let addr_err = value
                    .parse::<Address>()
                    .err()
                    .map(|e| e.to_string())
                    .unwrap_or_default();
                anyhow::bail!(
                    "bad {arg} {value:?}: neither an address ({addr_err}) nor a known key ({key_err})"
                )
            }
        }
    }
}

async fn status(ctx: &Context) -> anyhow::Result<()> {
    let s = ctx.client().await?.status().await?;
    let app_hash = hex::encode_upper(&s.latest_app_hash);
    ctx.output.emit(
        serde_json::json!({
            "chain_id": s.chain_id,
            "latest_height": s.latest_height,
            "latest_app_hash": app_hash,
            "latest_block_hash": s.latest_block_hash,
            "node_id": s.node_id,
            "moniker": s.moniker,
            "catching_up": s.catching_up,
        }),
        || {
            format!(
                "chain id:    {}\nheight:      {}\napp hash:    {}\nblock hash:  {}\nnode id:     {}\nmoniker:     {}\ncatching up: {}",
                s.chain_id, s.latest_height, app_hash, s.latest_block_hash, s.node_id, s.moniker, s.catching_up
            )
        },
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn the_help_says_which_model_command_needs_a_node_and_names_the_variables() {
        let help = Cli::command().render_long_help().to_string();
        assert!(
            help.contains("the only one that needs a node"),
            "model's line must not say it never needs a node:\n{help}"
        );
        assert!(help.contains("[env: SYNOD_NODE]"), "{help}");
        assert!(help.contains("[env: SYNOD_KEYRING]"), "{help}");
    }

    #[test]
    fn the_node_flag_wins_over_the_variable() {
        assert_eq!(
            flag_or_env(Some("http://flag:1".into()), "SYNOD_TEST_UNSET_VARIABLE").as_deref(),
            Some("http://flag:1")
        );
        assert_eq!(flag_or_env(None, "SYNOD_TEST_UNSET_VARIABLE"), None);
    }

    #[test]
    fn a_bad_amount_is_refused_while_parsing_and_names_the_argument() {
        let err = Cli::try_parse_from(["synod", "tx", "bond", "--from", "a", "3 apples"])
            .expect_err("a bad amount must not parse");
        let shown = err.to_string();
        assert!(
            shown.contains("AMOUNT") && shown.contains("3 apples"),
            "{shown}"
        );
    }

    #[test]
    fn register_validator_needs_a_consensus_key_source() {
        let base = [
            "synod",
            "tx",
            "register-validator",
            "--from",
            "a",
            "--moniker",
            "m",
            "--self-bond",
            "1000syn",
        ];
        assert!(Cli::try_parse_from(base).is_err());
        let mut with_key = base.to_vec();
        with_key.extend(["--consensus-key", "00"]);
        assert!(Cli::try_parse_from(with_key).is_ok());
    }
}
