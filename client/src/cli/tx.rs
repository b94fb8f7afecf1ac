//! `synod tx …`

use std::{path::PathBuf, time::Duration};

use clap::{Args, Subcommand};
use synod_client::{
    consensus_key_of_home, parse_pubkey, Amount, Client, PubKey, SecretKey, SendOptions, TxBody,
    TxOutcome,
};

use super::{
    output::{outcome_json, outcome_text},
    Context,
};

/// Flags every tx command takes.
#[derive(Debug, Args)]
pub struct TxFlags {
    /// The key (name in the keyring) that signs and pays.
    #[arg(long)]
    from: String,
    /// Fee (e.g. `500usyn`); default: the chain's minimum for the tx's size.
    #[arg(long)]
    fee: Option<Amount>,
    /// Nonce; default: the account's next nonce on chain.
    #[arg(long)]
    nonce: Option<u64>,
    /// Return after the node accepted the tx, without waiting for a block.
    #[arg(long)]
    no_wait: bool,
    /// Seconds to wait for inclusion.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
}

#[derive(Debug, Subcommand)]
pub enum TxCommand {
    /// Send usyn to an address or to a key of the keyring.
    Transfer {
        #[command(flatten)]
        flags: TxFlags,
        /// Recipient: a `synod1…` address or a key name.
        to: String,
        /// Amount, e.g. `12syn` or `5000usyn` (bare numbers are usyn).
        amount: Amount,
    },
    /// Add to your validator self-bond.
    Bond {
        #[command(flatten)]
        flags: TxFlags,
        amount: Amount,
    },
    /// Start unbonding part of your self-bond (released after the unbonding period).
    Unbond {
        #[command(flatten)]
        flags: TxFlags,
        amount: Amount,
    },
    /// Register the --from account as a validator operator.
    RegisterValidator {
        #[command(flatten)]
        flags: TxFlags,
        /// A public name for the validator.
        #[arg(long)]
        moniker: String,
        /// Initial self-bond, e.g. `1000syn`.
        #[arg(long)]
        self_bond: Amount,
        /// The consensus public key (hex, or base64 as `show-validator` prints it).
        #[arg(
            long,
            required_unless_present = "node_home",
            conflicts_with = "node_home"
        )]
        consensus_key: Option<String>,
        /// A node home whose config/priv_validator_key.json holds the consensus key.
        #[arg(long)]
        node_home: Option<PathBuf>,
    },
    /// Leave jail after the jail period.
    Unjail {
        #[command(flatten)]
        flags: TxFlags,
    },
}

pub async fn run(ctx: &Context, cmd: TxCommand) -> anyhow::Result<()> {
    // Everything local is checked before the first network call.
    let (flags, body) = match cmd {
        TxCommand::Transfer { flags, to, amount } => {
            let to = ctx.address_or_key("TO", &to)?;
            (flags, TxBody::Transfer { to, amount })
        }
        TxCommand::Bond { flags, amount } => (flags, TxBody::Bond { amount }),
        TxCommand::Unbond { flags, amount } => (flags, TxBody::Unbond { amount }),
        TxCommand::RegisterValidator {
            flags,
            moniker,
            self_bond,
            consensus_key,
            node_home,
        } => {
            let consensus_key: PubKey = match (consensus_key, node_home) {
                (Some(k), _) => parse_pubkey("--consensus-key", &k)?,
                (None, Some(home)) => consensus_key_of_home(&home)?,
                (None, None) => {
                    anyhow::bail!("pass --consensus-key PUBKEY or --node-home HOME")
                }
            };
            if moniker.len() > synod_protocol::tx::MAX_MONIKER_BYTES {
                anyhow::bail!(
                    "bad --moniker {moniker:?}: at most {} bytes",
                    synod_protocol::tx::MAX_MONIKER_BYTES
                );
            }
            (
                flags,
                TxBody::RegisterValidator {
                    consensus_key,
                    moniker,
                    self_bond,
                },
            )
        }
        TxCommand::Unjail { flags } => (flags, TxBody::Unjail),
    };
    send(ctx, &flags, body).await
}

/// Signs `body` with the `--from` key, sends it as the flags say, prints the outcome.
pub async fn send(ctx: &Context, flags: &TxFlags, body: TxBody) -> anyhow::Result<()> {
    let key = flags.key(ctx)?;
    let client = flags.client(ctx).await?;
    let outcome = flags.sign_and_send(&client, &key, body).await?;
    ctx.output
        .emit(outcome_json(&outcome), || outcome_text(&outcome));
    Ok(())
}

impl TxFlags {
    /// The `--from` key's name.
    pub fn from(&self) -> &str {
        &self.from
    }

    /// The `--from` key, from the keyring.
    pub fn key(&self, ctx: &Context) -> anyhow::Result<SecretKey> {
        Ok(ctx.keyring()?.get(&self.from)?)
    }

    /// A client that waits for inclusion as long as `--timeout` says.
    pub async fn client(&self, ctx: &Context) -> anyhow::Result<Client> {
        Ok(ctx
            .client()
            .await?
            .with_timeout(Duration::from_secs(self.timeout)))
    }

    /// Signs `body` with `key` and sends it with the flags' nonce, fee and
    /// waiting; returns the outcome without printing it.
    pub async fn sign_and_send(
        &self,
        client: &Client,
        key: &SecretKey,
        body: TxBody,
    ) -> anyhow::Result<TxOutcome> {
        Ok(client
            .send_with(
                key,
                body,
                SendOptions {
                    nonce: self.nonce,
                    fee: self.fee,
                    wait: !self.no_wait,
                },
            )
            .await?)
    }
}
