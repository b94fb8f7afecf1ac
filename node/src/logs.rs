//! What the node's logs leave out: errors a library reports that are the
//! expected state of a healthy node.
//!
//! Malachite's network publishes every vote and proposal part over
//! gossipsub and logs `ERROR … Error publishing message:
//! NoPeersSubscribedToTopic` when no peer takes the topic: on a
//! one-validator chain that is several errors a block, none of them a
//! problem (a node that lost its peers says so elsewhere: the network logs
//! each disconnection, and `net_info` lists the peers). [`QuietNoPeers`]
//! drops exactly those events; every other error, of the network or of
//! anything else, is logged as before.

use tracing::{
    field::{Field, Visit},
    Event, Level, Subscriber,
};
use tracing_subscriber::layer::{Context, Layer};

/// The log target of Malachite's network crate.
const NETWORK_TARGET: &str = "arc_malachitebft_network";

/// What gossipsub answers when no peer is subscribed to the topic.
const NO_PEERS: &str = "NoPeersSubscribedToTopic";

/// A layer that filters out Malachite's "no peers to publish to" errors
/// (see the module documentation). Add it to the subscriber beside the
/// formatting layer.
#[derive(Clone, Copy, Debug, Default)]
pub struct QuietNoPeers;

impl<S: Subscriber> Layer<S> for QuietNoPeers {
    fn event_enabled(&self, event: &Event<'_>, _ctx: Context<'_, S>) -> bool {
        !is_no_peers_error(event)
    }
}

/// An ERROR of Malachite's network whose message names `NoPeersSubscribedToTopic`.
fn is_no_peers_error(event: &Event<'_>) -> bool {
    let meta = event.metadata();
    if *meta.level() != Level::ERROR || !meta.target().starts_with(NETWORK_TARGET) {
        return false;
    }
    let mut found = FindsNoPeers(false);
    event.record(&mut found);
    found.0
}

/// Looks for [`NO_PEERS`] in an event's message.
struct FindsNoPeers(bool);

impl Visit for FindsNoPeers {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" && format!("{value:?}").contains(NO_PEERS) {
            self.0 = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;

    /// Keeps the message of every event it sees.
    #[derive(Clone, Default)]
    struct Seen(Arc<Mutex<Vec<String>>>);

    impl<S: Subscriber> Layer<S> for Seen {
        fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
            struct Message(String);
            impl Visit for Message {
                fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
                    if field.name() == "message" {
                        self.0 = format!("{value:?}");
                    }
                }
            }
            let mut m = Message(String::new());
            event.record(&mut m);
            if let Ok(mut seen) = self.0.lock() {
                seen.push(m.0);
            }
        }
    }

    #[test]
    fn no_peers_to_publish_to_is_not_an_error_but_other_publish_errors_are() {
        let seen = Seen::default();
        let subscriber = tracing_subscriber::registry()
            .with(QuietNoPeers)
            .with(seen.clone());
        tracing::subscriber::with_default(subscriber, || {
            // As Malachite's network logs them.
            tracing::error!(target: "arc_malachitebft_network", channel = "Consensus",
                "Error publishing message: {}", "NoPeersSubscribedToTopic");
            tracing::error!(target: "arc_malachitebft_network", channel = "Consensus",
                "Error publishing message: {}", "MessageTooLarge");
            // The same words elsewhere, or at another level, are kept.
            tracing::error!(target: "synod_node::gossip", "NoPeersSubscribedToTopic");
            tracing::debug!(target: "arc_malachitebft_network", "NoPeersSubscribedToTopic");
        });
        let seen = seen.0.lock().map(|s| s.clone()).unwrap_or_default();
        assert_eq!(
            seen,
            [
                "Error publishing message: MessageTooLarge",
                "NoPeersSubscribedToTopic",
                "NoPeersSubscribedToTopic",
            ]
        );
    }
}
