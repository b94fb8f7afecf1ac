//! `synod keys …`

use std::{io::Read, path::PathBuf};

use anyhow::Context as _;
use clap::Subcommand;
use serde_json::json;
use synod_client::{keyfile, KeyInfo, SecretKey};

use super::Context;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a new key (random, or --recover from a 64-hex seed on stdin).
    Add {
        name: String,
        /// Read the 32-byte seed as 64 hex digits from stdin instead of generating one.
        #[arg(long)]
        recover: bool,
    },
    /// List every key.
    List,
    /// Show a key's name, address and public key.
    Show {
        name: String,
        /// Print only the address.
        #[arg(long, conflicts_with = "pubkey")]
        address: bool,
        /// Print only the public key (hex).
        #[arg(long)]
        pubkey: bool,
    },
    /// Export a key's secret: to a file (--file) or to stdout (--unsafe-print-secret).
    Export {
        name: String,
        /// Write the key file (mode 0600) here; refuses to overwrite.
        #[arg(long)]
        file: Option<PathBuf>,
        /// Print the secret key file and seed on stdout.
        #[arg(long)]
        unsafe_print_secret: bool,
    },
    /// Import a key file (operator_key.json, priv_validator_key.json, or a `keys export` file).
    Import { name: String, file: PathBuf },
    /// Delete a key.
    Delete { name: String },
}

fn info_json(k: &KeyInfo) -> serde_json::Value {
    json!({"name": k.name, "address": k.address.to_string(), "pubkey": k.public_key.to_string()})
}

fn info_text(k: &KeyInfo) -> String {
    format!(
        "name:    {}\naddress: {}\npubkey:  {}",
        k.name, k.address, k.public_key
    )
}

pub fn run(ctx: &Context, cmd: KeysCommand) -> anyhow::Result<()> {
    let ring = ctx.keyring()?;
    let out = ctx.output;
    match cmd {
        KeysCommand::Add { name, recover } => {
            let info = if recover {
                let mut text = String::new();
                std::io::stdin()
                    .read_to_string(&mut text)
                    .context("reading the seed from stdin")?;
                let seed: [u8; 32] = hex::decode(text.trim())
                    .ok()
                    .and_then(|b| b.try_into().ok())
                    .context("bad seed on stdin: expected 64 hex digits (32 bytes)")?;
                ring.add(&name, &SecretKey::from_seed(seed))?
            } else {
                ring.generate(&name)?
            };
            out.emit(info_json(&info), || {
                format!(
                    "{}\nstored in {}; back it up with `synod keys export {} --file PATH`",
                    info_text(&info),
                    ring.dir().display(),
                    info.name
                )
            });
        }
        KeysCommand::List => {
            let keys = ring.list()?;
            out.emit(
                json!(keys.iter().map(info_json).collect::<Vec<_>>()),
                || {
                    if keys.is_empty() {
                        return format!(
                            "no keys in {}; create one with `synod keys add NAME`",
                            ring.dir().display()
                        );
                    }
                    let width = keys.iter().map(|k| k.name.len()).max().unwrap_or(4).max(4);
                    let mut s = format!("{:width$}  {:<44}  PUBKEY\n", "NAME", "ADDRESS");
                    for k in &keys {
                        s.push_str(&format!(
                            "{:width$}  {:<44}  {}\n",
                            k.name,
                            k.address.to_string(),
                            k.public_key
                        ));
                    }
                    s
                },
            );
        }
        KeysCommand::Show {
            name,
            address,
            pubkey,
        } => {
            let info = ring.info(&name)?;
            if address {
                out.emit(json!(info.address.to_string()), || info.address.to_string());
            } else if pubkey {
                out.emit(json!(info.public_key.to_string()), || {
                    info.public_key.to_string()
                });
            } else {
                out.emit(info_json(&info), || info_text(&info));
            }
        }
        KeysCommand::Export {
            name,
            file,
            unsafe_print_secret,
        } => {
            if file.is_none() && !unsafe_print_secret {
                anyhow::bail!(
                    "refusing to print the secret key {name:?}: pass --file PATH to write it to a file (mode 0600), or --unsafe-print-secret to print it on stdout"
                );
            }
            if let Some(path) = file {
                let info = ring.export_file(&name, &path)?;
                if !unsafe_print_secret {
                    let mut doc = info_json(&info);
                    doc["file"] = json!(path.display().to_string());
                    out.emit(doc, || {
                        format!("wrote key {name:?} to {} (mode 0600)", path.display())
                    });
                    return Ok(());
                }
            }
            let key = ring.get(&name)?;
            let text = keyfile::to_json(&key);
            let seed = hex::encode(key.to_seed());
            let key_file: serde_json::Value =
                serde_json::from_str(&text).context("re-reading the key file JSON")?;
            out.emit(
                json!({"name": name, "key_file": key_file, "seed": seed}),
                || format!("{text}seed (for `synod keys add NAME --recover`): {seed}"),
            );
        }
        KeysCommand::Import { name, file } => {
            let info = ring.import_file(&name, &file)?;
            out.emit(info_json(&info), || {
                format!("imported {}\n{}", file.display(), info_text(&info))
            });
        }
        KeysCommand::Delete { name } => {
            ring.delete(&name)?;
            out.emit(json!({"deleted": name}), || format!("deleted key {name:?}"));
        }
    }
    Ok(())
}
