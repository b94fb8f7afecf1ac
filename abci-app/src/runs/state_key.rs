//! Every state key the `runs` module writes. Numbers are zero-padded so
//! that byte order equals numeric order. Keys a client proves against are
//! defined in `synod_protocol::state_key` and delegated to here.

use synod_protocol::{state_key::runs as proved, Address, Height};

/// Module parameters.
pub fn params() -> Vec<u8> {
    proved::params()
}

/// A run by id.
pub fn run(id: u64) -> Vec<u8> {
    proved::run(id)
}

/// Prefix of every run record.
pub fn runs_prefix() -> Vec<u8> {
    b"runs/run/".to_vec()
}

/// The last run id given out.
pub fn last_id() -> Vec<u8> {
    b"runs/last_id".to_vec()
}

/// A verified execution, by workflow hash.
pub fn verified(workflow_hash: &[u8; 32]) -> Vec<u8> {
    proved::verified(workflow_hash)
}

/// Marks that a running run belongs to `submitter`.
pub fn open(submitter: &Address, run: u64) -> Vec<u8> {
    format!("runs/open/{}/{run:020}", submitter.to_hex()).into_bytes()
}

/// Prefix of `submitter`'s running runs.
pub fn open_of(submitter: &Address) -> Vec<u8> {
    format!("runs/open/{}/", submitter.to_hex()).into_bytes()
}

/// Marks that step `step` of `run` is due by the end of block `height`.
pub fn deadline(height: Height, run: u64, step: u32) -> Vec<u8> {
    format!("runs/deadline/{:020}/{run:020}/{step:010}", height.value()).into_bytes()
}

/// Prefix of the deadlines falling at `height`.
pub fn deadlines_at(height: Height) -> Vec<u8> {
    format!("runs/deadline/{:020}/", height.value()).into_bytes()
}

/// Marks that `agent` holds step `step` of `run`.
pub fn held(agent: &Address, run: u64, step: u32) -> Vec<u8> {
    format!("runs/held/{}/{run:020}/{step:010}", agent.to_hex()).into_bytes()
}

/// Prefix of the steps `agent` holds.
pub fn held_by(agent: &Address) -> Vec<u8> {
    format!("runs/held/{}/", agent.to_hex()).into_bytes()
}

/// The numbers after the prefix of a `runs/deadline/…` or `runs/held/…`
/// key: its run and step.
pub fn run_and_step(key: &[u8]) -> Option<(u64, u32)> {
    let text = std::str::from_utf8(key).ok()?;
    let mut parts = text.rsplit('/');
    let step = parts.next()?.parse().ok()?;
    let run = parts.next()?.parse().ok()?;
    Some((run, step))
}

/// Marks that the optimistic result of step `step` of `run` leaves its
/// challenge window at the end of block `height`.
pub fn window(height: Height, run: u64, step: u32) -> Vec<u8> {
    format!("runs/window/{:020}/{run:020}/{step:010}", height.value()).into_bytes()
}

/// Prefix of the challenge windows ending at `height`.
pub fn windows_at(height: Height) -> Vec<u8> {
    format!("runs/window/{:020}/", height.value()).into_bytes()
}
