//! Text for people, or one JSON document on stdout for scripts.

use std::io::Write;

use serde_json::{json, Value};
use synod_client::{ClientError, TxOutcome};

/// How results are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// Human-readable lines.
    Text,
    /// One JSON document on stdout.
    Json,
}

impl Output {
    /// Prints `json` or `text`, whichever this mode asks for.
    pub fn emit(self, json: Value, text: impl FnOnce() -> String) {
        match self {
            Output::Json => print_line(&json.to_string()),
            Output::Text => {
                let t = text();
                if !t.is_empty() {
                    print_line(t.trim_end());
                }
            }
        }
    }
}

/// Writes one line to stdout. A closed pipe (`synod ... | head`) ends the
/// process quietly, as for any Unix filter, instead of panicking.
fn print_line(line: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{line}").and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to stdout: {e}");
        std::process::exit(1);
    }
}

/// What the node does not have: a record, a proposal, a transaction. Like
/// any error it goes to stderr and the exit status is 1 (so scripts can
/// test for it); in JSON mode the one document on stdout is `doc` (the read
/// as it would have shown, with `value: null` and, when proved, the proof of
/// absence) plus `"error"` and `"not_found": true`.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct NotFound {
    /// What is missing and where to look instead.
    pub message: String,
    /// The JSON document of the read.
    pub doc: Value,
}

impl NotFound {
    /// `message`, with no read to show in JSON mode.
    pub fn new(message: impl Into<String>) -> NotFound {
        NotFound {
            message: message.into(),
            doc: json!({}),
        }
    }
}

/// Prints a failed command's error: always on stderr; in JSON mode also as
/// one document on stdout (`{"error": ..., "code": ..., "hash": ...}`).
pub fn report_error(output: Output, e: &anyhow::Error) {
    eprintln!("error: {e:#}");
    if output == Output::Json {
        let mut doc = match e.chain().find_map(|c| c.downcast_ref::<NotFound>()) {
            Some(missing) => {
                let mut doc = missing.doc.clone();
                doc["not_found"] = json!(true);
                doc
            }
            None => json!({}),
        };
        doc["error"] = json!(format!("{e:#}"));
        if let Some(ce) = e.chain().find_map(|c| c.downcast_ref::<ClientError>()) {
            match ce {
                ClientError::CheckTxRefused { code, log, hash } => {
                    doc["code"] = json!(code);
                    doc["log"] = json!(log);
                    doc["hash"] = json!(hash.to_string());
                    doc["stage"] = json!("check_tx");
                }
                ClientError::BlockRefused {
                    code,
                    log,
                    hash,
                    height,
                } => {
                    doc["code"] = json!(code);
                    doc["log"] = json!(log);
                    doc["hash"] = json!(hash.to_string());
                    doc["height"] = json!(height);
                    doc["stage"] = json!("block");
                }
                ClientError::Timeout { hash, .. } => doc["hash"] = json!(hash.to_string()),
                _ => {}
            }
        }
        print_line(&doc.to_string());
    }
}

/// `n` and the noun that agrees with it: `count(1, "step", "steps")` is
/// "1 step". (The operator tools have the same in
/// `synod_consensus_config::cli`, which this crate does not depend on.)
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A tx outcome as JSON.
pub fn outcome_json(o: &TxOutcome) -> Value {
    json!({
        "hash": o.hash.to_string(),
        "height": o.height,
        "code": o.code,
        "log": o.log,
        "events": o.events.iter().map(|(kind, attrs)| json!({
            "type": kind,
            "attributes": attrs.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

/// A tx outcome as text.
pub fn outcome_text(o: &TxOutcome) -> String {
    let mut s = format!("hash:   {}\n", o.hash);
    match o.height {
        Some(h) => s.push_str(&format!("height: {h}\n")),
        None => s.push_str("height: (not waited for; check with `synod query tx HASH`)\n"),
    }
    s.push_str(&format!("code:   {}\n", o.code));
    if !o.log.is_empty() {
        s.push_str(&format!("log:    {}\n", o.log));
    }
    for (kind, attrs) in &o.events {
        let attrs: Vec<String> = attrs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        s.push_str(&format!("event:  {kind} {}\n", attrs.join(" ")));
    }
    s
}
