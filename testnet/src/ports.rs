//! Loopback ports: is one free, and where is a free block of them.

use std::net::TcpListener;

use synod_consensus_config::NodePorts;

use crate::state::{Engine, Ports};

/// Whether nothing listens on 127.0.0.1:`port` (we can bind it).
pub fn is_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// The first port of `nodes` nodes in use, with what needs it:
/// `(port, "rpc of validator-1")`.
pub fn first_taken(
    base_port: u16,
    names: &[String],
    engine: Engine,
) -> Result<Option<(u16, String)>, String> {
    for (i, name) in names.iter().enumerate() {
        let ports: Ports = NodePorts::of(base_port, i)
            .ok_or_else(|| {
                format!(
                    "{} nodes from base port {base_port} need ports past 65535: lower --base-port",
                    names.len()
                )
            })?
            .into();
        for (what, port) in ports.named(engine) {
            if !is_free(port) {
                return Ok(Some((port, format!("{what} of {name}"))));
            }
        }
    }
    Ok(None)
}

/// A base port from which the ports of `nodes` nodes (10 each) are all
/// free, searching from 26600 upward, then from 20000.
pub fn free_block(nodes: usize) -> Option<u16> {
    let span = u16::try_from(nodes.checked_mul(10)?).ok()?;
    let starts = (26_600u16..60_000)
        .step_by(usize::from(span.max(10)))
        .chain((20_000u16..26_600).step_by(usize::from(span.max(10))));
    starts
        .filter(|b| b.checked_add(span).is_some())
        .take(500)
        .find(|&base| (base..base + span).all(is_free))
}

/// A port `p` with `p` and `p + 5` free (the embedded node's p2p port and
/// its mempool gossip), found by asking the OS for ephemeral ports.
pub fn free_p2p_port() -> Option<u16> {
    for _ in 0..100 {
        let port = TcpListener::bind(("127.0.0.1", 0))
            .ok()?
            .local_addr()
            .ok()?
            .port();
        if port.checked_add(5).is_some_and(is_free) && is_free(port) {
            return Some(port);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_taken_port_is_named_with_the_node_that_needs_it() {
        let base = free_block(2).unwrap();
        let _hold = TcpListener::bind(("127.0.0.1", base + 11)).unwrap();
        let names = vec!["validator-0".to_string(), "validator-1".to_string()];
        let taken = first_taken(base, &names, Engine::Embedded).unwrap();
        assert_eq!(taken, Some((base + 11, "rpc of validator-1".to_string())));
    }

    #[test]
    fn a_free_p2p_port_leaves_room_for_mempool_gossip() {
        let p = free_p2p_port().unwrap();
        assert!(is_free(p) && is_free(p + 5));
    }
}
