//! Every state key the `agents` module writes. Heights are zero-padded to 20
//! digits so that byte order equals numeric order. Keys a client proves
//! against are defined in `synod_protocol::state_key` and delegated to here.

use synod_protocol::{state_key::agents as proved, Address, Height};

/// Module parameters.
pub fn params() -> Vec<u8> {
    proved::params()
}

/// An agent record, by address.
pub fn agent(address: &Address) -> Vec<u8> {
    proved::agent(address)
}

/// Prefix of every agent record.
pub fn agents_prefix() -> Vec<u8> {
    b"agents/agent/".to_vec()
}

/// Marks that `agent`'s bond is released at `height`.
pub fn release_queue(height: Height, agent: &Address) -> Vec<u8> {
    format!(
        "agents/release_queue/{:020}/{}",
        height.value(),
        agent.to_hex()
    )
    .into_bytes()
}

/// Prefix of the release queue entries due at `height`.
pub fn release_queue_at(height: Height) -> Vec<u8> {
    format!("agents/release_queue/{:020}/", height.value()).into_bytes()
}
