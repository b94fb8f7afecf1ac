//! Asking one node over its CometBFT RPC, always with a short timeout: a
//! paused or isolated node must show as such, never hang a command.

use std::time::Duration;

use anyhow::Context;
use tendermint_rpc::{client::CompatMode, Client, HttpClient};

use crate::state::NodeRecord;

/// How long one RPC call to a local node may take.
pub const RPC_TIMEOUT: Duration = Duration::from_secs(2);

/// A tendermint-rpc client for the node's RPC port.
pub fn client(node: &NodeRecord) -> anyhow::Result<HttpClient> {
    let url = node.ports.rpc_url();
    HttpClient::builder(
        url.parse()
            .with_context(|| format!("the RPC address {url}"))?,
    )
    .compat_mode(CompatMode::V0_38)
    .timeout(RPC_TIMEOUT)
    .build()
    .with_context(|| format!("an RPC client for {url}"))
}

/// The node's `/status`, or `None` if it does not answer in time.
pub async fn status(node: &NodeRecord) -> Option<tendermint_rpc::endpoint::status::Response> {
    let client = client(node).ok()?;
    tokio::time::timeout(RPC_TIMEOUT, synod_client::guard::rpc(client.status()))
        .await
        .ok()?
        .ok()
}

/// The node's latest block height, or `None` if it does not answer.
pub async fn height(node: &NodeRecord) -> Option<u64> {
    status(node)
        .await
        .map(|s| s.sync_info.latest_block_height.value())
}

/// The number of peers the node reports in `/net_info`.
pub async fn peers(node: &NodeRecord) -> Option<u64> {
    let client = client(node).ok()?;
    tokio::time::timeout(RPC_TIMEOUT, client.net_info())
        .await
        .ok()?
        .ok()
        .map(|n| n.n_peers)
}
