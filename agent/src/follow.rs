//! New-block wake-ups over the node's websocket: a task subscribes to
//! `tm.event='NewBlock'` (tendermint-rpc's `WebSocketClient`) and notifies
//! the executor's [`synod_client::events::BlockFollower`] at each block, so
//! steps are taken as soon as they are assigned. The follower's polling
//! stays the source of truth (it catches up from the last height handled);
//! a dropped websocket is reconnected with a capped backoff.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tendermint_rpc::{query::EventType, SubscriptionClient, WebSocketClient};
use tokio::sync::{watch, Notify};

/// The websocket URL of a node RPC URL (`http://H:P` -> `ws://H:P/websocket`).
pub fn websocket_url(rpc: &str) -> String {
    let base = rpc.trim_end_matches('/');
    let base = base
        .strip_prefix("https://")
        .map(|r| format!("wss://{r}"))
        .or_else(|| base.strip_prefix("http://").map(|r| format!("ws://{r}")))
        .unwrap_or_else(|| base.to_string());
    format!("{base}/websocket")
}

/// Keeps a `NewBlock` subscription to `rpc` until `shutdown`, notifying
/// `wakeup` at each block.
pub async fn new_block_wakeups(
    rpc: String,
    wakeup: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
) {
    let url = websocket_url(&rpc);
    let mut backoff = Duration::from_millis(500);
    loop {
        match subscribe_once(&url, &wakeup, &mut shutdown).await {
            Ok(()) => return,
            Err(e) => {
                tracing::debug!(%url, error = %e, "the NewBlock subscription dropped; polling meanwhile")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = shutdown.changed() => return,
        }
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}

/// One websocket life: Ok when stopped by `shutdown`, Err when it dropped.
async fn subscribe_once(
    url: &str,
    wakeup: &Notify,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<(), String> {
    let (client, driver) = WebSocketClient::new(url).await.map_err(|e| e.to_string())?;
    let driver = tokio::spawn(driver.run());
    let result = async {
        let mut blocks = client
            .subscribe(EventType::NewBlock.into())
            .await
            .map_err(|e| e.to_string())?;
        tracing::info!(%url, "following NewBlock events");
        loop {
            tokio::select! {
                event = blocks.next() => match event {
                    Some(Ok(_)) => wakeup.notify_one(),
                    Some(Err(e)) => return Err(e.to_string()),
                    None => return Err("the subscription ended".into()),
                },
                _ = shutdown.changed() => return Ok(()),
            }
        }
    }
    .await;
    client.close().ok();
    driver.abort();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_websocket_url_follows_the_rpc_url() {
        assert_eq!(
            websocket_url("http://127.0.0.1:26601"),
            "ws://127.0.0.1:26601/websocket"
        );
        assert_eq!(
            websocket_url("https://node.example/"),
            "wss://node.example/websocket"
        );
    }
}
