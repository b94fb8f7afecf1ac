//! A hostile node's answers are errors, never a panic of the client.
//!
//! A server on a free loopback port answers JSON-RPC calls as a node would,
//! except for one base64 field written as `"AAAA="`, which tendermint-rs
//! 0.40's decoder (subtle-encoding 0.5.1) panics on. The client must report
//! an error naming the call, and the `synod` binary must exit with that
//! error and no panic report.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use serde_json::{json, Value};
use synod_client::Client;
use synod_protocol::TxHash;

const BAD_BASE64: &str = "AAAA=";
const ADDRESS: &str = "0123456789ABCDEF0123456789ABCDEF01234567";
const KEY: &str = "dGhpcnR5LXR3by1ieXRlcy1vZi1wdWJsaWMta2V5ISE=";

fn status(pub_key: &str) -> Value {
    json!({
        "node_info": {
            "protocol_version": {"p2p": "8", "block": "11", "app": "0"},
            "id": ADDRESS.to_lowercase(),
            "listen_addr": "tcp://127.0.0.1:26656",
            "network": "hostile-1",
            "version": "0.38.0",
            "channels": "40202122233038606100",
            "moniker": "hostile",
            "other": {"tx_index": "on", "rpc_address": "tcp://127.0.0.1:26657"}
        },
        "sync_info": {
            "latest_block_hash": "", "latest_app_hash": "",
            "latest_block_height": "7", "latest_block_time": "2026-01-01T00:00:00Z",
            "earliest_block_hash": "", "earliest_app_hash": "",
            "earliest_block_height": "1", "earliest_block_time": "2026-01-01T00:00:00Z",
            "catching_up": false
        },
        "validator_info": {
            "address": ADDRESS,
            "pub_key": {"type": "tendermint/PubKeyEd25519", "value": pub_key},
            "voting_power": "0"
        }
    })
}

fn tx_result(tx: &str) -> Value {
    json!({
        "hash": "0707070707070707070707070707070707070707070707070707070707070707",
        "height": "5",
        "index": 0,
        "tx_result": {
            "code": 0, "data": "", "log": "", "info": "",
            "gas_wanted": "0", "gas_used": "0", "events": [], "codespace": ""
        },
        "tx": tx
    })
}

/// Serves `answer(method, params)` as JSON-RPC over HTTP/1.1 until the test ends.
fn serve(answer: impl Fn(&str, &Value) -> Value + Send + Sync + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let answer = Arc::new(answer);
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let answer = answer.clone();
            thread::spawn(move || {
                let _ = handle(stream, &*answer);
            });
        }
    });
    url
}

fn handle(stream: TcpStream, answer: &dyn Fn(&str, &Value) -> Value) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut stream = stream;
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let method = request["method"].as_str().unwrap_or("");
        let reply = json!({
            "jsonrpc": "2.0",
            "id": request["id"].clone(),
            "result": answer(method, &request["params"]),
        })
        .to_string();
        write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
            reply.len(),
            reply
        )?;
    }
}

#[tokio::test]
async fn a_status_with_an_undecodable_key_is_an_error_naming_the_call() {
    let url = serve(|_, _| status(BAD_BASE64));
    let err = Client::connect(&url).await.unwrap_err().to_string();
    assert!(err.contains("RPC call status"), "{err}");
    assert!(err.contains("could not be read"), "{err}");
}

#[tokio::test]
async fn a_tx_with_undecodable_bytes_is_an_error_naming_the_call() {
    let url = serve(|method, params| match (method, params["hash"].as_str()) {
        // The hash of `readable`: a tx the client can read.
        ("tx", Some(h)) if h.starts_with("CAgI") => tx_result("AAAA"),
        ("tx", _) => tx_result(BAD_BASE64),
        _ => status(KEY),
    });
    let client = Client::connect(&url).await.expect("a readable status");
    assert_eq!(client.chain_id(), "hostile-1");
    // The same answer with readable bytes is read: only the base64 is at fault.
    let readable = client.tx(TxHash([8; 32])).await.expect("a readable tx");
    assert!(readable.is_some());
    let err = client.tx(TxHash([7; 32])).await.unwrap_err().to_string();
    assert!(err.contains("RPC call tx"), "{err}");
    assert!(err.contains("could not be read"), "{err}");
}

#[test]
fn the_cli_exits_with_the_error_and_no_panic_report() {
    let url = serve(|_, _| status(BAD_BASE64));
    let out = Command::new(env!("CARGO_BIN_EXE_synod"))
        .args(["--node", &url, "status"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("could not be read"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
