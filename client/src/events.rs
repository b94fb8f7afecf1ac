//! Following the chain block by block: [`BlockFollower`] asks the node for
//! its latest height and hands back every height since the last one seen, so
//! a follower that was away (the node restarting, the RPC unreachable)
//! catches up from where it stopped instead of skipping blocks. Errors are
//! retried with a capped backoff; the caller sees each failure (to count
//! it) and is never stopped by one.
//!
//! It polls `/status`; with [`BlockFollower::with_wakeup`], a new-block
//! signal (e.g. a websocket `NewBlock` subscription, as `synod-agent` keeps)
//! ends the wait between polls at once, so blocks are seen when committed
//! while polling stays the fallback that never misses one.

use std::time::Duration;

use crate::{Client, ClientError};

/// The heights of new blocks: `from ..= to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewBlocks {
    pub from: u64,
    pub to: u64,
}

/// What one [`BlockFollower::next`] found.
#[derive(Debug)]
pub enum Follow {
    /// New blocks since the last call.
    Blocks(NewBlocks),
    /// The node could not be asked; the follower waits longer next time.
    Unreachable(ClientError),
}

/// Follows the chain's height; see the module docs.
#[derive(Debug)]
pub struct BlockFollower {
    client: Client,
    last_seen: u64,
    poll: Duration,
    backoff: Duration,
    wakeup: Option<std::sync::Arc<tokio::sync::Notify>>,
}

/// The longest wait between two attempts after errors.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);

impl BlockFollower {
    /// Follows from after `last_seen` (0: from the first block), asking
    /// every `poll`.
    pub fn new(client: Client, last_seen: u64, poll: Duration) -> BlockFollower {
        BlockFollower {
            client,
            last_seen,
            poll,
            backoff: poll,
            wakeup: None,
        }
    }

    /// Also asks the node as soon as `wakeup` is notified (a new block).
    pub fn with_wakeup(mut self, wakeup: std::sync::Arc<tokio::sync::Notify>) -> BlockFollower {
        self.wakeup = Some(wakeup);
        self
    }

    async fn idle(&self) {
        match &self.wakeup {
            Some(w) => {
                tokio::select! {
                    _ = tokio::time::sleep(self.poll) => {}
                    _ = w.notified() => {}
                }
            }
            None => tokio::time::sleep(self.poll).await,
        }
    }

    /// The last height handed back.
    pub fn last_seen(&self) -> u64 {
        self.last_seen
    }

    /// Waits until there are new blocks (or an error to report).
    pub async fn next(&mut self) -> Follow {
        loop {
            match self.client.status().await {
                Ok(status) if status.latest_height > self.last_seen => {
                    self.backoff = self.poll;
                    let blocks = NewBlocks {
                        from: self.last_seen + 1,
                        to: status.latest_height,
                    };
                    self.last_seen = status.latest_height;
                    return Follow::Blocks(blocks);
                }
                Ok(_) => {
                    self.backoff = self.poll;
                    self.idle().await;
                }
                Err(e) => {
                    tokio::time::sleep(self.backoff).await;
                    self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                    return Follow::Unreachable(e);
                }
            }
        }
    }
}
