//! Shared fixtures: the real Synod app served in-process over a Unix socket.

#![allow(dead_code, clippy::unwrap_used)]

pub mod openapi;
pub mod procs;
pub mod rpc_node;

use std::path::Path;
use std::time::Duration;

use synod_abci_app::{
    abci::Node,
    testkit::{TestNet, CHAIN_ID},
    App, Storage, StorageOptions,
};
use synod_node::{
    abci::AbciConnections,
    block::{BlockTime, CommitVote, DecidedBlock},
};
use tendermint_proto::{google::protobuf::Timestamp, v0_38::abci as pb};

/// Logs to the test's output when `RUST_LOG` is set (once per test binary).
pub fn init_logs() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
}

/// Serves a Synod app whose state lives in `dir/state`, on `dir/abci.sock`,
/// and returns the four connections to it.
pub async fn serve_app(dir: &Path) -> AbciConnections {
    init_logs();
    let storage = Storage::open(&dir.join("state"), StorageOptions::default()).unwrap();
    let address = format!("unix://{}", dir.join("abci.sock").display());
    let served = address.clone();
    tokio::spawn(async move { Node::new(App::new(storage).unwrap()).serve(&served).await });
    for _ in 0..200 {
        if let Ok(c) = AbciConnections::connect(&address, Duration::from_secs(10)).await {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the app never listened on {address}");
}

/// InitChain for `net`'s genesis.
pub fn init_request(net: &TestNet) -> pb::RequestInitChain {
    pb::RequestInitChain {
        time: Some(Timestamp {
            seconds: 1_700_000_000,
            nanos: 0,
        }),
        chain_id: CHAIN_ID.into(),
        consensus_params: Some(synod_abci_app::abci_client::default_consensus_params()),
        validators: vec![],
        app_state_bytes: net.app_state_json().into(),
        initial_height: 1,
    }
}

/// A decided block at `height` carrying `txs`, signed by every genesis validator.
pub fn decided(net: &TestNet, height: u64, txs: Vec<Vec<u8>>) -> DecidedBlock {
    let n = net.consensus_keys.len();
    let mut block = DecidedBlock {
        version_app: 0,
        chain_id: CHAIN_ID.into(),
        height,
        round: 0,
        time: BlockTime {
            seconds: 1_700_000_000 + height as i64,
            nanos: 0,
        },
        proposer_address: net.consensus_address(height as usize % n),
        last_block_id: Default::default(),
        app_hash: vec![],
        hashes: Default::default(),
        last_commit_round: 0,
        last_commit: if height == 1 {
            vec![]
        } else {
            (0..n)
                .map(|i| CommitVote {
                    address: net.consensus_address(i),
                    power: 1,
                    signed: true,
                    signature: None,
                    timestamp: BlockTime {
                        seconds: 1_700_000_000 + height as i64 - 1,
                        nanos: 0,
                    },
                })
                .collect()
        },
        misbehavior: vec![],
        txs,
    };
    block.seal();
    block
}

/// The id of a block built by [`decided`].
pub fn id_of(block: &DecidedBlock) -> synod_node::context::BlockId {
    block.id().unwrap()
}

/// A made-up block id (for blocks whose id no test reads).
pub fn made_up_id(byte: u8) -> synod_node::context::BlockId {
    synod_node::context::BlockId {
        hash: [byte; 32],
        parts: synod_node::context::PartSetHeader {
            total: 1,
            hash: [byte; 32],
        },
    }
}
