//! `synod-config`: writes and checks CometBFT 0.38 homes for Synod.
//!
//! ```text
//! synod-config validate-genesis ./node0/config/genesis.json
//! synod-config init --home ~/.synod --moniker alice --chain-id synod-local
//! synod-config testnet --dir ./net --validators 4 --full-nodes 1 --agents 3 --seed 7
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use synod_consensus_config::{
    check_genesis, cli::count, duration, generate_network, init_home, outln, CometConfig,
    GenesisOptions, HomeSummary, NetworkSpec,
};
use synod_protocol::state::VerificationMode;

/// Writes and checks CometBFT 0.38 homes (config.toml, genesis.json with
/// Synod's app_state, node and validator keys) for CometBFT and synod-node.
#[derive(Parser)]
#[command(name = "synod-config", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Checks a genesis.json and prints every problem, one per line; exits 1 if
    /// there is any.
    ///
    /// Example: synod-config validate-genesis net/node0/config/genesis.json
    ValidateGenesis {
        /// The genesis file.
        file: PathBuf,
        /// `text`: one `path: message` line per problem; `json`: one JSON report.
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// Writes a single-validator home for a new chain.
    ///
    /// Example: synod-config init --home ~/.synod --moniker alice --seed 1
    Init {
        /// The home directory (refused if it already holds a home).
        #[arg(long)]
        home: PathBuf,
        /// The node's name (also the validator's moniker).
        #[arg(long)]
        moniker: String,
        #[arg(long, default_value = "synod-local")]
        chain_id: String,
        /// Derive every key from this seed (reproducible, for tests only).
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Writes the homes of a local loopback network and funded user keys.
    ///
    /// Example: synod-config testnet --dir ./net --validators 4 --agents 3 --seed 7
    Testnet {
        /// Homes go to DIR/node0.., keys to DIR/keys.
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, default_value_t = 4)]
        validators: usize,
        /// Non-validating nodes peered with every validator.
        #[arg(long, default_value_t = 0)]
        full_nodes: usize,
        /// Funded agent accounts (keys/agent-N.json).
        #[arg(long, default_value_t = 0)]
        agents: usize,
        #[arg(long, default_value = "synod-local")]
        chain_id: String,
        /// Node i uses ports BASE+10i (p2p), +1 (RPC), +2 (app), +3 (metrics).
        #[arg(long, default_value_t = 26600)]
        base_port: u16,
        /// Derive every key from this seed (reproducible, for tests only).
        #[arg(long)]
        seed: Option<u64>,
        /// Target block time (consensus.timeout_commit), a Go duration.
        #[arg(long, default_value = "500ms")]
        block_time: String,
        /// Register this `.synod-model` file at genesis (zk and optimistic
        /// results allowed); repeat for more models.
        #[arg(long = "model", value_name = "FILE")]
        models: Vec<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Output {
    Text,
    Json,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", synod_consensus_config::cli::error_line(&e));
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::ValidateGenesis { file, output } => validate(&file, output),
        Command::Init {
            home,
            moniker,
            chain_id,
            seed,
        } => {
            let options = GenesisOptions {
                seed,
                ..GenesisOptions::default()
            };
            let h = init_home(
                &home,
                &moniker,
                &chain_id,
                &CometConfig::default(),
                &options,
            )
            .with_context(|| format!("writing the home {}", home.display()))?;
            outln!("home {} for chain {chain_id}", h.home.display());
            outln!("  moniker   {}", h.moniker);
            outln!("  node id   {}", h.node_id);
            outln!("  validator {}", h.validator_address);
            outln!("  operator  {}", h.operator);
            outln!(
                "  rpc {}  p2p {}  app {}",
                h.rpc_laddr,
                h.p2p_laddr,
                h.proxy_app
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Testnet {
            dir,
            validators,
            full_nodes,
            agents,
            chain_id,
            base_port,
            seed,
            block_time,
            models,
        } => {
            let mut spec = NetworkSpec::new(&dir, validators, &chain_id);
            for path in &models {
                spec.genesis.models.push(
                    synod_consensus_config::genesis::genesis_model_file(
                        path,
                        &[VerificationMode::Zk, VerificationMode::Optimistic],
                    )
                    .context("--model")?,
                );
            }
            spec.full_nodes = full_nodes;
            spec.agents = agents;
            spec.base_port = base_port;
            spec.genesis.seed = seed;
            spec.config.consensus.timeout_commit = duration::parse(&block_time)
                .map_err(anyhow::Error::msg)
                .context("--block-time")?;
            spec.config.instrumentation.prometheus = true;
            let homes = generate_network(&spec)
                .with_context(|| format!("writing the network under {}", dir.display()))?;
            synod_consensus_config::cli::write_stdout(network_table(&homes).as_bytes());
            outln!(
                "\nchain {chain_id}: {} under {}",
                count(homes.len(), "home", "homes"),
                dir.display()
            );
            let keys = spec.keys_dir();
            let faucet = if spec.faucet_balance.is_some() {
                "faucet.json, "
            } else {
                ""
            };
            let agents = if agents > 0 { "agent-N.json, " } else { "" };
            outln!(
                "keys ({faucet}{agents}<name>.json for each node's operator) in {}",
                keys.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn validate(file: &Path, output: Output) -> anyhow::Result<ExitCode> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let report = check_genesis(&text);
    match output {
        Output::Text => {
            for problem in &report.problems {
                outln!("{}: {problem}", file.display());
            }
            if report.is_valid() {
                let supply = report
                    .total_supply
                    .map_or_else(|| "overflow".to_string(), |s| s.to_syn_string());
                outln!(
                    "{}: valid genesis for chain {} ({}, {}, total supply {supply})",
                    file.display(),
                    report.chain_id.as_deref().unwrap_or(""),
                    count(report.validators, "validator", "validators"),
                    count(report.accounts, "account", "accounts"),
                );
            } else {
                eprintln!(
                    "{}: {}; fix each and run this again",
                    file.display(),
                    count(report.problems.len(), "problem", "problems")
                );
            }
        }
        Output::Json => {
            let json = serde_json::json!({
                "file": file.display().to_string(),
                "valid": report.is_valid(),
                "chain_id": report.chain_id,
                "validators": report.validators,
                "accounts": report.accounts,
                "total_supply_usyn": report.total_supply.map(|s| s.0.to_string()),
                "problems": report.problems,
            });
            outln!("{json:#}");
        }
    }
    Ok(if report.is_valid() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// One row per home: name, role, node id, RPC, p2p, operator address.
fn network_table(homes: &[HomeSummary]) -> String {
    let header = ["NAME", "ROLE", "NODE ID", "RPC", "P2P", "OPERATOR"];
    let rows: Vec<[String; 6]> = homes
        .iter()
        .map(|h| {
            [
                h.moniker.clone(),
                if h.is_validator {
                    "validator"
                } else {
                    "full node"
                }
                .to_string(),
                h.node_id.to_string(),
                h.rpc_laddr.clone(),
                h.p2p_laddr.clone(),
                h.operator.to_string(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(&header.map(String::from));
    for row in &rows {
        out.push_str(&line(row));
    }
    out
}
