//! Every state key the `governance` module writes. Keys a client proves
//! against are defined in `synod_protocol::state_key` and delegated to here.
//! Ids and heights are zero-padded to 20 digits so key order is numeric order.

use synod_protocol::{governance::ProposalId, state_key::governance as proved, Address, Height};

/// Module parameters.
pub fn params() -> Vec<u8> {
    proved::params()
}

/// A proposal record.
pub fn proposal(id: ProposalId) -> Vec<u8> {
    proved::proposal(id)
}

/// Prefix of every proposal record.
pub fn proposals_prefix() -> Vec<u8> {
    b"governance/proposal/".to_vec()
}

/// The id the next proposal gets.
pub fn next_id() -> Vec<u8> {
    b"governance/next_id".to_vec()
}

/// Deposits held for proposals in flight (part of the supply).
pub fn escrow() -> Vec<u8> {
    b"governance/escrow".to_vec()
}

/// One depositor's total deposit on a proposal.
pub fn deposit(id: ProposalId, depositor: &Address) -> Vec<u8> {
    format!("governance/deposit/{id:020}/{}", depositor.to_hex()).into_bytes()
}

/// Prefix of a proposal's deposits.
pub fn deposits_prefix(id: ProposalId) -> Vec<u8> {
    format!("governance/deposit/{id:020}/").into_bytes()
}

/// One voter's vote on a proposal.
pub fn vote(id: ProposalId, voter: &Address) -> Vec<u8> {
    format!("governance/vote/{id:020}/{}", voter.to_hex()).into_bytes()
}

/// Prefix of a proposal's votes.
pub fn votes_prefix(id: ProposalId) -> Vec<u8> {
    format!("governance/vote/{id:020}/").into_bytes()
}

/// Proposals of one proposer in deposit or voting period.
pub fn in_flight(proposer: &Address) -> Vec<u8> {
    format!("governance/in_flight/{}", proposer.to_hex()).into_bytes()
}

/// Which end-of-period queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Queue {
    Deposit,
    Voting,
}

impl Queue {
    fn name(self) -> &'static str {
        match self {
            Queue::Deposit => "deposit",
            Queue::Voting => "voting",
        }
    }
}

/// Prefix of a queue.
pub fn queue_prefix(queue: Queue) -> Vec<u8> {
    format!("governance/queue/{}/", queue.name()).into_bytes()
}

/// Proposal `id`'s period ends at the end of block `end`.
pub fn queue_entry(queue: Queue, end: Height, id: ProposalId) -> Vec<u8> {
    format!(
        "governance/queue/{}/{:020}/{id:020}",
        queue.name(),
        end.value()
    )
    .into_bytes()
}

/// The end height and proposal id of a queue key.
pub fn parse_queue_entry(queue: Queue, key: &[u8]) -> Option<(Height, ProposalId)> {
    let rest = key.strip_prefix(queue_prefix(queue).as_slice())?;
    let (end, id) = std::str::from_utf8(rest).ok()?.split_once('/')?;
    Some((Height(end.parse().ok()?), id.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_keys_sort_by_height_then_id_and_parse_back() {
        let a = queue_entry(Queue::Voting, Height(9), 12);
        let b = queue_entry(Queue::Voting, Height(10), 3);
        assert!(a < b);
        assert_eq!(parse_queue_entry(Queue::Voting, &b), Some((Height(10), 3)));
        assert_eq!(parse_queue_entry(Queue::Deposit, &b), None);
        assert!(a.starts_with(&queue_prefix(Queue::Voting)));
        let v = Address([1; 20]);
        assert!(vote(7, &v).starts_with(&votes_prefix(7)));
        assert!(!vote(17, &v).starts_with(&votes_prefix(1)));
        assert!(deposit(7, &v).starts_with(&deposits_prefix(7)));
        assert!(proposal(7).starts_with(&proposals_prefix()));
    }
}
