//! What a deliberately faulty node does (the `faults` feature: tests and
//! simulations only). The Byzantine proposer breaks every block it proposes
//! in the next of [`MUTATIONS`]' ways, so a multi-process test can check that
//! the honest validators refuse each one with a nil vote, keep deciding
//! blocks, and agree on every app hash.

/// One way to break a proposal, and what an honest validator's log says
/// when it refuses it (the node's check, or the app's `ProcessProposal`).
pub struct Mutation {
    /// A name for logs and tests.
    pub name: &'static str,
    /// Text an honest node or app logs when it refuses the block.
    pub refused_with: &'static str,
}

/// Every mutation, in the order a Byzantine proposer applies them.
pub const MUTATIONS: [Mutation; 10] = [
    Mutation {
        name: "negative-nanos",
        refused_with: "is not a valid timestamp",
    },
    Mutation {
        name: "time-ahead",
        refused_with: "is not the BFT time",
    },
    Mutation {
        name: "wrong-app-hash",
        refused_with: "the header's app hash is",
    },
    Mutation {
        name: "garbage-tx",
        refused_with: "rejecting proposal with an invalid transaction",
    },
    Mutation {
        name: "replayed-tx",
        refused_with: "does not pay its way",
    },
    Mutation {
        name: "oversize",
        refused_with: "more than consensus_params.block.max_bytes",
    },
    Mutation {
        name: "bad-evidence",
        refused_with: "bad evidence",
    },
    Mutation {
        name: "forged-commit-signature",
        refused_with: "precommit signature does not verify",
    },
    Mutation {
        name: "unsigned-commit-vote",
        refused_with: "marked as signed without a signature",
    },
    Mutation {
        name: "wrong-validators-hash",
        refused_with: "the header's validators_hash is",
    },
];
