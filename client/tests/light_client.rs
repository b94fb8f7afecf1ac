//! The light client behind proved reads, against a real chain (the real
//! `synod-app` and `synod-node` binaries) and through a proxy on loopback
//! that forwards every RPC call to that node and tampers with one kind of
//! answer: a forged header, a commit without enough signatures, a
//! validator set that does not hash to the header's. Every wait is bounded.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::{Chain, SYNOD};
use serde_json::Value;
use synod_client::{
    light::{hash_bytes, HeaderCheck, LightClient, LightOptions, RootSource, TrustRoot},
    Client, ClientError, QueryPath,
};
use synod_protocol::state::Account;
use tendermint_rpc::Client as _;

type Tamper = dyn Fn(&str, &mut Value) + Send + Sync;

/// Serves JSON-RPC on a free loopback port by forwarding each request to
/// `node` and passing the answer's `result` through `tamper(method, result)`.
fn proxy(node: &str, tamper: impl Fn(&str, &mut Value) + Send + Sync + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let node = node.trim_start_matches("http://").to_string();
    let tamper: Arc<Tamper> = Arc::new(tamper);
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (node, tamper) = (node.clone(), tamper.clone());
            thread::spawn(move || {
                let _ = handle(stream, &node, &*tamper);
            });
        }
    });
    url
}

/// Reads one HTTP/1.1 message's headers; returns the content length and
/// whether the body is chunked (`None` at the end of the stream).
fn read_head(reader: &mut impl BufRead) -> std::io::Result<Option<(usize, bool)>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let (mut length, mut chunked) = (0usize, false);
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let header = line.trim_end();
        if header.is_empty() {
            return Ok(Some((length, chunked)));
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
            if name.eq_ignore_ascii_case("transfer-encoding") && value.contains("chunked") {
                chunked = true;
            }
        }
    }
}

fn read_body(reader: &mut impl BufRead, length: usize, chunked: bool) -> std::io::Result<Vec<u8>> {
    if !chunked {
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        return Ok(body);
    }
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        reader.read_line(&mut size)?;
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        let mut chunk = vec![0; n + 2];
        reader.read_exact(&mut chunk)?;
        if n == 0 {
            return Ok(body);
        }
        body.extend_from_slice(&chunk[..n]);
    }
}

/// Forwards one JSON-RPC request to the node and returns its answer.
fn forward(node: &str, body: &[u8]) -> std::io::Result<Value> {
    let mut up = TcpStream::connect(node)?;
    up.set_read_timeout(Some(Duration::from_secs(20)))?;
    write!(
        up,
        "POST / HTTP/1.1\r\nHost: {node}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    up.write_all(body)?;
    let mut reader = BufReader::new(up);
    let (length, chunked) = read_head(&mut reader)?.unwrap_or((0, false));
    let answer = read_body(&mut reader, length, chunked)?;
    Ok(serde_json::from_slice(&answer).unwrap_or(Value::Null))
}

fn handle(stream: TcpStream, node: &str, tamper: &Tamper) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut stream = stream;
    while let Some((length, chunked)) = read_head(&mut reader)? {
        let body = read_body(&mut reader, length, chunked)?;
        let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let method = request["method"].as_str().unwrap_or("").to_string();
        let mut answer = forward(node, &body)?;
        tamper(&method, &mut answer["result"]);
        let reply = answer.to_string();
        write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
            reply.len(),
            reply
        )?;
    }
    Ok(())
}

/// The height a `commit` or `validators` answer is for (block 1 is left
/// alone, so the first-use root is honest and the later block is not).
fn height_of(result: &Value) -> u64 {
    let h = &result["signed_header"]["header"]["height"];
    let h = if h.is_null() {
        &result["block_height"]
    } else {
        h
    };
    h.as_str().and_then(|s| s.parse().ok()).unwrap_or(0)
}

fn light(store: Option<&std::path::Path>, root: Option<TrustRoot>) -> Arc<LightClient> {
    Arc::new(LightClient::new(LightOptions {
        root,
        store_dir: store.map(|p| p.to_path_buf()),
        ..LightOptions::default()
    }))
}

async fn prove_operator(
    client: &Client,
    chain: &Chain,
    height: Option<u64>,
) -> Result<HeaderCheck, ClientError> {
    let path = QueryPath::Account(chain.home.operator);
    client
        .query_proved::<Account>(&path, height)
        .await
        .map(|p| p.header)
}

async fn connect(url: &str) -> Client {
    Client::connect(url)
        .await
        .unwrap()
        .with_timeout(Duration::from_secs(20))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proved_reads_trust_only_headers_the_validators_signed() {
    let chain = Chain::start(&[]);
    let plain = chain.client_at_height(6).await;
    let store = tempfile::tempdir().unwrap();

    // First use: block 1 becomes the root, kept in the store.
    let client = plain
        .clone()
        .with_light_client(light(Some(store.path()), None));
    let check = prove_operator(&client, &chain, None).await.unwrap();
    let HeaderCheck::Verified {
        root_height,
        root_hash,
        source,
    } = check
    else {
        panic!("the header was not verified: {check:?}")
    };
    assert_eq!((root_height, source), (1, RootSource::FirstUse));
    let block1 = plain.rpc().commit(1u32).await.unwrap().signed_header.header;
    assert_eq!(root_hash, hash_bytes(&block1));
    // A new light client reads the stored root.
    let again = plain
        .clone()
        .with_light_client(light(Some(store.path()), None));
    let check = prove_operator(&again, &chain, None).await.unwrap();
    assert!(
        matches!(
            check,
            HeaderCheck::Verified {
                root_height: 1,
                source: RootSource::Stored,
                ..
            }
        ),
        "{check:?}"
    );

    // A root the user gives: verified forward from it, and backward below it.
    let h5 = plain.rpc().commit(5u32).await.unwrap().signed_header.header;
    let given = TrustRoot {
        height: 5,
        hash: hash_bytes(&h5),
    };
    let pinned = plain.clone().with_light_client(light(None, Some(given)));
    let check = prove_operator(&pinned, &chain, None).await.unwrap();
    assert!(
        matches!(
            check,
            HeaderCheck::Verified {
                root_height: 5,
                source: RootSource::Given,
                ..
            }
        ),
        "{check:?}"
    );
    let below = prove_operator(&pinned, &chain, Some(2)).await.unwrap();
    assert!(
        matches!(below, HeaderCheck::Verified { root_height: 5, .. }),
        "{below:?}"
    );

    // A root whose hash is not the header's is refused.
    let wrong = TrustRoot {
        height: 5,
        hash: [7; 32],
    };
    let bad = plain.clone().with_light_client(light(None, Some(wrong)));
    let err = prove_operator(&bad, &chain, None)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("not to the trusted hash"), "{err}");

    // Through an honest proxy everything verifies: the proxy is transparent.
    let honest = proxy(&chain.url, |_, _| {});
    let via = connect(&honest).await.with_light_client(light(None, None));
    prove_operator(&via, &chain, None)
        .await
        .expect("through an honest proxy");

    // A forged header (another app hash) after block 1.
    let forged = proxy(&chain.url, |method, result| {
        if method == "commit" && height_of(result) > 1 {
            result["signed_header"]["header"]["app_hash"] = Value::String("AB".repeat(32));
        }
    });
    let via = connect(&forged).await.with_light_client(light(None, None));
    let err = prove_operator(&via, &chain, None).await.unwrap_err();
    assert!(matches!(err, ClientError::Light { .. }), "{err}");

    // A commit signed by too little power: every signature marked absent.
    let unsigned = proxy(&chain.url, |method, result| {
        if method == "commit" && height_of(result) > 1 {
            if let Some(sigs) = result["signed_header"]["commit"]["signatures"].as_array_mut() {
                for s in sigs {
                    *s = serde_json::json!({
                        "block_id_flag": 1,
                        "validator_address": "",
                        "timestamp": "0001-01-01T00:00:00Z",
                        "signature": null,
                    });
                }
            }
        }
    });
    let via = connect(&unsigned)
        .await
        .with_light_client(light(None, None));
    let err = prove_operator(&via, &chain, None).await.unwrap_err();
    assert!(matches!(err, ClientError::Light { .. }), "{err}");

    // A validator set that does not hash to the header's.
    let other_set = proxy(&chain.url, |method, result| {
        if method == "validators" && height_of(result) > 1 {
            if let Some(vals) = result["validators"].as_array_mut() {
                for v in vals {
                    v["voting_power"] = Value::String("999".into());
                }
            }
        }
    });
    let via = connect(&other_set)
        .await
        .with_light_client(light(None, None));
    let err = prove_operator(&via, &chain, None).await.unwrap_err();
    assert!(matches!(err, ClientError::Light { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_says_how_the_header_was_verified_and_refuses_a_corrupt_store() {
    let chain = Chain::start(&[]);
    let _ready = chain.client_at_height(3).await;
    let dir = tempfile::tempdir().unwrap();
    let keyring = dir.path().join("keys");
    let store = dir.path().join("light");
    let operator = chain.home.operator.to_string();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "--light-dir",
            store.to_str().unwrap(),
            "query",
            "account",
            &operator,
            "--prove",
        ];
        args.extend_from_slice(extra);
        chain.synod(&keyring, &args)
    };
    let first = run(&[]);
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        stdout.contains("verified by the light client from block 1, trusted on first use"),
        "{stdout}"
    );
    let second = run(&[]);
    let stdout = String::from_utf8_lossy(&second.stdout);
    assert!(
        stdout.contains("from block 1, the stored trust root"),
        "{stdout}"
    );

    // Another chain under the same id (a testnet started again): refused,
    // with what to do.
    let restarted = Chain::start(&[]);
    let _ready = restarted.client_at_height(2).await;
    let out = restarted.synod(
        &keyring,
        &[
            "--light-dir",
            store.to_str().unwrap(),
            "query",
            "account",
            &operator,
            "--prove",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("started again under the same id"),
        "{stderr}"
    );

    let file = store.join(format!("{}.json", common::CHAIN));
    std::fs::write(&file, b"{\"version\": 1, \"chain_id\": 3").unwrap();
    let corrupt = run(&[]);
    let stderr = String::from_utf8_lossy(&corrupt.stderr);
    assert_eq!(corrupt.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("not a light client store") && stderr.contains("delete it"),
        "{stderr}"
    );

    let half = run(&["--trust-height", "2"]);
    let stderr = String::from_utf8_lossy(&half.stderr);
    assert!(
        stderr.contains("--trust-height needs --trust-hash"),
        "{stderr}"
    );
    let _ = SYNOD;
}
