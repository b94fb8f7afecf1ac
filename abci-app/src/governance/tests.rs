//! Governance on an in-process chain (real RocksDB store, real blocks):
//! every outcome of the lifecycle, bad transactions, atomic execution, model
//! registration and upgrade by proposal, and the tally bound.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use synod_protocol::{
    codec,
    governance::{
        DepositFate, ParamChange, Proposal, ProposalKind, ProposalStatus, ProposalSummary, Tally,
        VoteOption, WorkflowSpec, WorkflowStep,
    },
    params::ChainParams,
    state::{ModelStatus, VerificationMode},
    Address, Amount, Event, TxBody,
};

use super::{escrow, proposal, tally, total_bonded, voting_power};
use crate::{
    accounts,
    models::{self, testkit::shipped_model},
    query::{self, code},
    rewards, staking,
    testkit::{TestAccount, TestChain, TestNet, TEST_FEE},
    workflows, BlockOutput,
};

/// Fee for a transaction carrying a model file.
const BIG_FEE: Amount = Amount(2_000_000);

/// Short periods so tests run in a few blocks: deposits for 3 blocks,
/// votes for 4 (2 expedited); min deposit 1,000 syn (5,000 expedited), a
/// quarter of it up front.
fn params() -> ChainParams {
    let mut p = ChainParams::default();
    p.governance.min_deposit = Amount::syn(1_000);
    p.governance.expedited_min_deposit = Amount::syn(5_000);
    p.governance.max_deposit_blocks = 3;
    p.governance.voting_blocks = 4;
    p.governance.expedited_voting_blocks = 2;
    p.governance.max_proposals_per_proposer = 2;
    p
}

/// Four validators with 10,000 syn bonded each, two unbonded users.
struct Gov {
    chain: TestChain,
    _dir: tempfile::TempDir,
}

impl Gov {
    fn new() -> Gov {
        Gov::with(TestNet::new(4, 2, params()))
    }

    fn with(net: TestNet) -> Gov {
        let dir = tempfile::tempdir().unwrap();
        let chain = TestChain::start(dir.path(), net).unwrap();
        Gov { chain, _dir: dir }
    }

    fn op(&mut self, i: usize) -> &mut TestAccount {
        &mut self.chain.net.operators[i]
    }

    fn user(&mut self, i: usize) -> &mut TestAccount {
        &mut self.chain.net.users[i]
    }

    fn block(&mut self, txs: Vec<Vec<u8>>) -> BlockOutput {
        self.chain.block(txs).unwrap()
    }

    /// Runs empty blocks until the chain is at `height`.
    fn until(&mut self, height: u64) -> Vec<Event> {
        let mut events = Vec::new();
        while self.chain.height < height {
            events.extend(self.block(Vec::new()).events);
        }
        events
    }

    /// A block with one transaction that must succeed; its events.
    fn ok(&mut self, tx: Vec<u8>) -> Vec<Event> {
        let out = self.block(vec![tx]);
        let r = &out.tx_results[0];
        assert_eq!(r.code(), 0, "{}", r.log());
        let mut events = r.events.clone();
        events.extend(out.events);
        events
    }

    /// A block with one transaction that must fail with `code`; its log.
    fn fails(&mut self, tx: Vec<u8>, code: u32) -> String {
        let out = self.block(vec![tx]);
        let r = &out.tx_results[0];
        assert_eq!(r.code(), code, "{}", r.log());
        r.log()
    }

    fn proposal(&self, id: u64) -> Proposal {
        proposal(&self.chain.state(), id).unwrap().unwrap()
    }

    fn balance(&self, a: &Address) -> Amount {
        accounts::account(&self.chain.state(), a).unwrap().balance
    }

    /// Operator `i` proposes `kind` with `deposit`; returns the proposal id.
    fn propose(&mut self, i: usize, kind: ProposalKind, deposit: Amount, expedited: bool) -> u64 {
        let tx = sign_big(self.op(i), propose(kind, deposit, expedited));
        let events = self.ok(tx);
        events
            .iter()
            .find_map(|e| match e {
                Event::ProposalSubmitted { proposal, .. } => Some(*proposal),
                _ => None,
            })
            .expect("a proposal_submitted event")
    }

    fn vote(&mut self, i: usize, id: u64, option: VoteOption) -> Vec<u8> {
        self.op(i).sign(TxBody::Vote {
            proposal: id,
            option,
        })
    }

    /// Operators `voters` vote `option` on `id`, in one block.
    fn votes(&mut self, id: u64, ballots: &[(usize, VoteOption)]) {
        let txs: Vec<Vec<u8>> = ballots
            .iter()
            .map(|&(i, option)| self.vote(i, id, option))
            .collect();
        let out = self.block(txs);
        for r in &out.tx_results {
            assert_eq!(r.code(), 0, "{}", r.log());
        }
    }

    /// Runs blocks until proposal `id` ends; its record.
    fn finish(&mut self, id: u64) -> (Proposal, Vec<Event>) {
        let end = self.proposal(id).voting_end_height.unwrap().value();
        let events = self.until(end);
        (self.proposal(id), events)
    }
}

/// Signs `body` with the account's next nonce and a fee for a large tx.
fn sign_big(account: &mut TestAccount, body: TxBody) -> Vec<u8> {
    let tx = account.sign_with(body, account.nonce, BIG_FEE);
    account.nonce += 1;
    tx
}

fn propose(kind: ProposalKind, deposit: Amount, expedited: bool) -> TxBody {
    TxBody::Propose {
        kind,
        title: "A proposal".into(),
        summary: "Why it matters.".into(),
        deposit,
        expedited,
    }
}

fn max_validators(n: u32) -> ProposalKind {
    ProposalKind::ParamChange {
        changes: vec![ParamChange {
            module: "staking".into(),
            name: "max_validators".into(),
            value: n.to_string(),
        }],
    }
}

#[test]
fn a_shorter_liveness_window_does_not_count_misses_from_the_old_one() {
    let mut params = params();
    params.staking.signed_blocks_window = 20;
    let mut g = Gov::with(TestNet::new(4, 2, params));
    let absent = g.chain.net.consensus_address(3);
    g.chain.absent.insert(absent);
    // Eight blocks missed before the proposal, six more while it is voted:
    // fewer than the 20-block window allows before it is judged.
    g.until(8);
    let shorter = ProposalKind::ParamChange {
        changes: vec![ParamChange {
            module: "staking".into(),
            name: "signed_blocks_window".into(),
            value: "10".into(),
        }],
    };
    let id = g.propose(0, shorter, Amount::syn(1_000), false);
    g.votes(
        id,
        &[
            (0, VoteOption::Yes),
            (1, VoteOption::Yes),
            (2, VoteOption::Yes),
        ],
    );
    let (p, _) = g.finish(id);
    assert_eq!(p.status, ProposalStatus::Passed, "{:?}", p.outcome);
    // Validator 3 missed every block so far (fewer than the old window
    // allows); from now on it signs. Its old misses must not count against
    // the new, shorter window.
    g.chain.absent.clear();
    let operator = g.chain.net.operators[3].address();
    for _ in 0..12 {
        let out = g.block(vec![]);
        assert!(
            !out.events
                .iter()
                .any(|e| matches!(e, Event::Jailed { .. } | Event::Slashed { .. })),
            "{:?}",
            out.events
        );
    }
    let v = staking::validator(&g.chain.state(), &operator)
        .unwrap()
        .unwrap();
    assert_eq!(v.status, synod_protocol::state::ValidatorStatus::Candidate);
}

#[test]
fn a_param_change_that_leaves_no_validator_with_power_is_refused() {
    let mut g = Gov::new();
    // Every validator has 10,000 syn bonded: a minimum above that empties the set.
    let halt = ProposalKind::ParamChange {
        changes: vec![ParamChange {
            module: "staking".into(),
            name: "min_self_bond".into(),
            value: format!("\"{}\"", Amount::syn(20_000).0),
        }],
    };
    let tx = sign_big(g.op(0), propose(halt, Amount::syn(1_000), false));
    let log = g.fails(tx, 37);
    assert!(log.contains("no validator keeps any power"), "{log}");
    // A minimum every validator still meets passes the same check.
    let fine = ProposalKind::ParamChange {
        changes: vec![ParamChange {
            module: "staking".into(),
            name: "min_self_bond".into(),
            value: format!("\"{}\"", Amount::syn(5_000).0),
        }],
    };
    g.propose(1, fine, Amount::syn(1_000), false);
}

#[test]
fn a_passed_param_change_executes_and_refunds_the_deposit() {
    let mut g = Gov::new();
    let proposer = g.op(0).address();
    let before = g.balance(&proposer);
    let id = g.propose(0, max_validators(50), Amount::syn(1_000), false);
    let p = g.proposal(id);
    assert_eq!(p.status, ProposalStatus::VotingPeriod);
    assert_eq!(escrow(&g.chain.state()).unwrap(), Amount::syn(1_000));
    g.votes(
        id,
        &[
            (0, VoteOption::Yes),
            (1, VoteOption::Yes),
            (2, VoteOption::No),
        ],
    );
    let (p, events) = g.finish(id);
    assert_eq!(p.status, ProposalStatus::Passed, "{:?}", p.outcome);
    assert_eq!(p.deposits, DepositFate::Refunded);
    let t = p.final_tally.unwrap();
    assert_eq!(t.yes, Amount::syn(20_000));
    assert_eq!(t.no, Amount::syn(10_000));
    assert_eq!(t.bonded, Amount::syn(40_000));
    assert_eq!(
        staking::params(&g.chain.state()).unwrap().max_validators,
        50
    );
    assert!(events.iter().any(|e| matches!(e, Event::ParamChanged { name, value, .. } if name == "max_validators" && value == "50")));
    assert!(events.iter().any(|e| matches!(
        e,
        Event::ProposalEnded {
            status: ProposalStatus::Passed,
            ..
        }
    )));
    // Deposit back; only fees spent (and block rewards earned).
    assert_eq!(escrow(&g.chain.state()).unwrap(), Amount::ZERO);
    assert!(g.balance(&proposer) > before.checked_sub(Amount::syn(1)).unwrap());
}

#[test]
fn deposits_accumulate_then_voting_starts_and_an_unfunded_proposal_expires() {
    let mut g = Gov::new();
    let id = g.propose(0, ProposalKind::Text, Amount::syn(250), false);
    assert_eq!(g.proposal(id).status, ProposalStatus::DepositPeriod);
    // Voting in the deposit period is refused.
    let tx = g.vote(1, id, VoteOption::Yes);
    let log = g.fails(tx, 32);
    assert!(log.contains("deposit_period"), "{log}");
    let u = g.user(0).address();
    let tx = g.user(0).sign(TxBody::Deposit {
        proposal: id,
        amount: Amount::syn(750),
    });
    let events = g.ok(tx);
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::VotingStarted { .. })));
    let deposits = super::deposits(&g.chain.state(), id).unwrap();
    assert_eq!(deposits.len(), 2);
    assert!(deposits
        .iter()
        .any(|d| d.depositor == u && d.amount == Amount::syn(750)));
    // Deposits after the deposit period are refused.
    let tx = g.user(0).sign(TxBody::Deposit {
        proposal: id,
        amount: Amount::syn(1),
    });
    g.fails(tx, 31);

    // A second proposal never funded expires after 3 blocks, deposit refunded.
    let proposer = g.op(1).address();
    let id2 = g.propose(1, ProposalKind::Text, Amount::syn(300), false);
    let at = g.chain.height;
    let before = g.balance(&proposer);
    g.until(at + 3);
    let p = g.proposal(id2);
    assert_eq!(p.status, ProposalStatus::Expired);
    assert_eq!(p.deposits, DepositFate::Refunded);
    let outcome = p.outcome.clone().unwrap_or_default();
    assert!(
        outcome.starts_with("deposit period ended with 300000000usyn of the ")
            && !outcome.contains("usyn usyn"),
        "{outcome}"
    );
    assert!(g.balance(&proposer) >= before.checked_add(Amount::syn(300)).unwrap());
}

#[test]
fn rejected_vetoed_and_quorum_failed_proposals_settle_deposits_by_the_rule() {
    let mut g = Gov::new();
    let supply = |g: &Gov| accounts::supply(&g.chain.state()).unwrap();

    // Rejected: 50% yes is not above the threshold. Refunded.
    let a = g.propose(0, ProposalKind::Text, Amount::syn(1_000), false);
    g.votes(
        a,
        &[
            (0, VoteOption::Yes),
            (1, VoteOption::Yes),
            (2, VoteOption::No),
            (3, VoteOption::No),
        ],
    );
    let (p, _) = g.finish(a);
    assert_eq!(p.status, ProposalStatus::Rejected);
    assert_eq!(p.deposits, DepositFate::Refunded);
    assert!(p.outcome.unwrap().contains("did not exceed 50.0%"));

    // Vetoed: 2 of 4 no_with_veto (50% > 33.4%) though 2 yes. Burned.
    let b = g.propose(1, ProposalKind::Text, Amount::syn(1_000), false);
    g.votes(
        b,
        &[
            (0, VoteOption::Yes),
            (1, VoteOption::Yes),
            (2, VoteOption::NoWithVeto),
            (3, VoteOption::NoWithVeto),
        ],
    );
    let before = supply(&g);
    let (p, events) = g.finish(b);
    assert_eq!(p.status, ProposalStatus::Rejected);
    assert_eq!(p.deposits, DepositFate::Burned);
    assert!(p.outcome.unwrap().starts_with("vetoed"));
    assert!(events.iter().any(|e| matches!(e, Event::ProposalDepositsSettled { fate: DepositFate::Burned, amount, .. } if *amount == Amount::syn(1_000))));
    // The supply lost the deposit (minus nothing: issuance is added per block).
    let issued = rewards::params(&g.chain.state()).unwrap().block_issuance;
    let blocks = p.voting_end_height.unwrap().value() - g.chain.height + 4;
    assert!(supply(&g).0 < before.0 + u128::from(blocks) * issued.0);

    // Quorum failed: one of four voted (25% < 33.4%). Refunded by default
    // (burn_vote_quorum = false, as in the Cosmos SDK).
    let c = g.propose(2, ProposalKind::Text, Amount::syn(1_000), false);
    g.votes(c, &[(0, VoteOption::Yes)]);
    let (p, _) = g.finish(c);
    assert_eq!(p.status, ProposalStatus::Rejected);
    assert_eq!(p.deposits, DepositFate::Refunded);
    assert!(p.outcome.unwrap().contains("quorum not reached: 25.0%"));
    assert_eq!(escrow(&g.chain.state()).unwrap(), Amount::ZERO);
}

#[test]
fn a_missed_quorum_burns_the_deposits_when_burn_vote_quorum_is_set() {
    let mut params = params();
    params.governance.burn_vote_quorum = true;
    let mut g = Gov::with(TestNet::new(4, 2, params));
    let c = g.propose(2, ProposalKind::Text, Amount::syn(1_000), false);
    g.votes(c, &[(0, VoteOption::Yes)]);
    let (p, events) = g.finish(c);
    assert_eq!(p.status, ProposalStatus::Rejected);
    assert_eq!(p.deposits, DepositFate::Burned);
    assert!(p.outcome.unwrap().contains("deposits burned"));
    assert!(events.iter().any(|e| matches!(e, Event::ProposalDepositsSettled { fate: DepositFate::Burned, amount, .. } if *amount == Amount::syn(1_000))));
}

/// Finding 15 of the hardening issue: a jailed validator neither votes nor
/// counts in the quorum's base (before, its stake made the quorum harder to
/// reach while it could not sign a block, and it could still vote).
#[test]
fn jailed_validators_neither_vote_nor_count_in_the_quorum_base() {
    let mut params = params();
    params.staking.signed_blocks_window = 10;
    let mut g = Gov::with(TestNet::new(4, 2, params));
    let all = total_bonded(&g.chain.state()).unwrap();
    assert_eq!(all, Amount::syn(40_000));
    // Validator 3 misses every block until it is jailed for downtime.
    let absent = g.chain.net.consensus_address(3);
    g.chain.absent.insert(absent);
    let operator = g.chain.net.operators[3].address();
    for _ in 0..40 {
        g.block(vec![]);
        if staking::validator(&g.chain.state(), &operator)
            .unwrap()
            .unwrap()
            .status
            != synod_protocol::state::ValidatorStatus::Candidate
        {
            break;
        }
    }
    g.chain.absent.clear();
    let v = staking::validator(&g.chain.state(), &operator)
        .unwrap()
        .unwrap();
    assert!(
        matches!(
            v.status,
            synod_protocol::state::ValidatorStatus::Jailed { .. }
        ),
        "{:?}",
        v.status
    );
    assert!(!v.self_bond.is_zero(), "downtime keeps most of the bond");
    let state = g.chain.state();
    assert_eq!(voting_power(&state, &operator).unwrap(), Amount::ZERO);
    assert_eq!(
        total_bonded(&state).unwrap(),
        Amount(all.0 - Amount::syn(10_000).0)
    );

    // Its vote is refused; two of the three others reach the quorum
    // (20,000 of 30,000) although they hold only half of all self-bonds.
    let id = g.propose(0, ProposalKind::Text, Amount::syn(1_000), false);
    g.votes(id, &[(0, VoteOption::Yes), (1, VoteOption::Yes)]);
    let tx = g.chain.net.operators[3].sign(TxBody::Vote {
        proposal: id,
        option: VoteOption::No,
    });
    let log = g.fails(tx, 33);
    assert!(log.contains("no voting power"), "{log}");
    let (p, _) = g.finish(id);
    assert_eq!(p.status, ProposalStatus::Passed, "{:?}", p.outcome);
    assert_eq!(p.final_tally.unwrap().bonded, Amount::syn(30_000));
}

#[test]
fn a_later_vote_replaces_the_earlier_one() {
    let mut g = Gov::new();
    let id = g.propose(0, ProposalKind::Text, Amount::syn(1_000), false);
    g.votes(
        id,
        &[
            (0, VoteOption::No),
            (1, VoteOption::No),
            (2, VoteOption::Yes),
        ],
    );
    assert_eq!(tally(&g.chain.state(), id).unwrap().no, Amount::syn(20_000));
    // Two change their minds.
    g.votes(id, &[(0, VoteOption::Yes), (1, VoteOption::Abstain)]);
    let t = tally(&g.chain.state(), id).unwrap();
    assert_eq!(
        (t.yes, t.no, t.abstain),
        (Amount::syn(20_000), Amount::ZERO, Amount::syn(10_000))
    );
    assert_eq!(super::votes(&g.chain.state(), id).unwrap().len(), 3);
    let (p, _) = g.finish(id);
    assert_eq!(p.status, ProposalStatus::Passed);
}

#[test]
fn stake_unbonded_during_the_vote_does_not_count_at_the_tally() {
    let mut g = Gov::new();
    let id = g.propose(0, ProposalKind::Text, Amount::syn(1_000), false);
    // 2 yes vs 1 no would pass...
    g.votes(
        id,
        &[
            (0, VoteOption::Yes),
            (1, VoteOption::Yes),
            (2, VoteOption::No),
        ],
    );
    // ...but both yes voters unbond most of their stake before the tally.
    let txs = (0..2)
        .map(|i| {
            g.op(i).sign(TxBody::Unbond {
                amount: Amount::syn(8_000),
            })
        })
        .collect();
    let out = g.block(txs);
    assert!(out.tx_results.iter().all(|r| r.code() == 0));
    let voter = g.op(0).address();
    assert_eq!(
        voting_power(&g.chain.state(), &voter).unwrap(),
        Amount::syn(2_000)
    );
    let (p, _) = g.finish(id);
    let t = p.final_tally.unwrap();
    assert_eq!(t.yes, Amount::syn(4_000));
    assert_eq!(t.no, Amount::syn(10_000));
    assert_eq!(t.bonded, Amount::syn(24_000));
    assert_eq!(p.status, ProposalStatus::Rejected);
}

#[test]
fn expedited_proposals_pass_fast_with_two_thirds_or_fall_back_to_regular() {
    let mut g = Gov::new();
    // An expedited proposal needs the expedited deposit.
    let tx = g
        .op(0)
        .sign(propose(ProposalKind::Text, Amount::syn(1_000), true));
    let log = g.fails(tx, 34);
    assert!(log.contains("1250000000"), "{log}");

    // 3 of 4 yes (75% > 66.7%): passes after the 2-block expedited period.
    let a = g.propose(0, max_validators(60), Amount::syn(5_000), true);
    let p = g.proposal(a);
    assert_eq!(
        p.voting_end_height.unwrap().value() - p.voting_start_height.unwrap().value(),
        2
    );
    g.votes(
        a,
        &[
            (0, VoteOption::Yes),
            (1, VoteOption::Yes),
            (2, VoteOption::Yes),
        ],
    );
    let (p, _) = g.finish(a);
    assert_eq!(p.status, ProposalStatus::Passed);
    assert_eq!(
        staking::params(&g.chain.state()).unwrap().max_validators,
        60
    );

    // 2 yes, 1 no (66.6%, not above 66.7%): becomes a regular proposal with
    // the regular period from its start, keeps its votes, and passes (> 50%).
    let b = g.propose(1, max_validators(70), Amount::syn(5_000), true);
    let start = g.proposal(b).voting_start_height.unwrap().value();
    g.votes(
        b,
        &[
            (0, VoteOption::Yes),
            (1, VoteOption::Yes),
            (2, VoteOption::No),
        ],
    );
    let events = g.until(start + 2);
    assert!(events.iter().any(
        |e| matches!(e, Event::ProposalExpeditedConverted { proposal, .. } if *proposal == b)
    ));
    let p = g.proposal(b);
    assert_eq!(p.status, ProposalStatus::VotingPeriod);
    assert!(!p.expedited);
    assert_eq!(p.expedited_until.map(|h| h.value()), Some(start + 2));
    assert_eq!(p.voting_end_height.unwrap().value(), start + 4);
    let (p, _) = g.finish(b);
    assert_eq!(p.status, ProposalStatus::Passed, "{:?}", p.outcome);
    assert_eq!(
        staking::params(&g.chain.state()).unwrap().max_validators,
        70
    );
}

#[test]
fn a_failed_execution_changes_nothing_and_says_why() {
    let mut g = Gov::new();
    // Two valid changes, proposed together, but the second becomes out of
    // bounds once another proposal lowers voting_blocks below it.
    let both = ProposalKind::ParamChange {
        changes: vec![
            ParamChange {
                module: "staking".into(),
                name: "max_validators".into(),
                value: "42".into(),
            },
            ParamChange {
                module: "governance".into(),
                name: "expedited_voting_blocks".into(),
                value: "3".into(),
            },
        ],
    };
    let shorten = ProposalKind::ParamChange {
        changes: vec![ParamChange {
            module: "governance".into(),
            name: "voting_blocks".into(),
            value: "3".into(),
        }],
    };
    let first = g.propose(0, shorten, Amount::syn(1_000), false);
    let second = g.propose(1, both, Amount::syn(1_000), false);
    // A treasury spend far beyond what the treasury holds.
    let spend = g.propose(
        2,
        ProposalKind::TreasurySpend {
            recipient: Address([9; 20]),
            amount: Amount::syn(1_000_000),
        },
        Amount::syn(1_000),
        false,
    );
    let all = [
        (0, VoteOption::Yes),
        (1, VoteOption::Yes),
        (2, VoteOption::Yes),
    ];
    let txs: Vec<Vec<u8>> = [first, second, spend]
        .iter()
        .flat_map(|&id| all.iter().map(move |&(i, o)| (i, id, o)))
        .collect::<Vec<_>>()
        .into_iter()
        .map(|(i, id, o)| g.vote(i, id, o))
        .collect();
    let out = g.block(txs);
    assert!(out.tx_results.iter().all(|r| r.code() == 0));
    let (p, _) = g.finish(first);
    assert_eq!(p.status, ProposalStatus::Passed);
    let staking_before = staking::params(&g.chain.state()).unwrap();
    let treasury_before = rewards::treasury(&g.chain.state()).unwrap();

    let (p, events) = g.finish(second);
    assert_eq!(p.status, ProposalStatus::Failed);
    let why = p.outcome.unwrap();
    assert!(why.contains("expedited_voting_blocks"), "{why}");
    assert_eq!(p.deposits, DepositFate::Refunded);
    // The first change of the pair was not applied either.
    assert_eq!(staking::params(&g.chain.state()).unwrap(), staking_before);
    assert!(!events
        .iter()
        .any(|e| matches!(e, Event::ParamChanged { .. })));

    let (p, _) = g.finish(spend);
    assert_eq!(p.status, ProposalStatus::Failed);
    assert!(p.outcome.unwrap().contains("the treasury holds"));
    assert_eq!(g.balance(&Address([9; 20])), Amount::ZERO);
    assert!(rewards::treasury(&g.chain.state()).unwrap() >= treasury_before);
}

#[test]
fn a_treasury_spend_pays_out() {
    let mut g = Gov::new();
    let to = Address([7; 20]);
    let id = g.propose(
        0,
        ProposalKind::TreasurySpend {
            recipient: to,
            amount: Amount::syn(1),
        },
        Amount::syn(1_000),
        false,
    );
    g.votes(id, &[(0, VoteOption::Yes), (1, VoteOption::Yes)]);
    let (p, events) = g.finish(id);
    assert_eq!(p.status, ProposalStatus::Passed, "{:?}", p.outcome);
    assert_eq!(g.balance(&to), Amount::syn(1));
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::TreasurySpent { .. })));
}

#[test]
fn bad_governance_transactions_get_a_code_and_change_nothing_but_fee_and_nonce() {
    let mut g = Gov::new();
    let id = g.propose(0, ProposalKind::Text, Amount::syn(1_000), false);
    let user = g.user(0).address();
    let cases: Vec<(TxBody, u32, &str)> = vec![
        (
            TxBody::Vote {
                proposal: 99,
                option: VoteOption::Yes,
            },
            30,
            "unknown proposal 99",
        ),
        (
            TxBody::Vote {
                proposal: id,
                option: VoteOption::Yes,
            },
            33,
            "no voting power",
        ),
        (
            TxBody::Deposit {
                proposal: 99,
                amount: Amount::syn(1),
            },
            30,
            "unknown proposal",
        ),
        (
            propose(ProposalKind::Text, Amount::syn(1), false),
            34,
            "below the minimum",
        ),
        (
            propose(max_validators(0), Amount::syn(1_000), false),
            37,
            "max_validators",
        ),
        (
            propose(
                ProposalKind::ParamChange {
                    changes: vec![ParamChange {
                        module: "staking".into(),
                        name: "max_validatorz".into(),
                        value: "5".into(),
                    }],
                },
                Amount::syn(1_000),
                false,
            ),
            37,
            "unknown parameter staking.max_validatorz",
        ),
        (
            propose(
                ProposalKind::RegisterModel {
                    model: b"not a model".to_vec(),
                    modes: vec![VerificationMode::Zk],
                },
                Amount::syn(1_000),
                false,
            ),
            38,
            "invalid model file",
        ),
        (
            propose(
                ProposalKind::RetireModel { model: [3; 32] },
                Amount::syn(1_000),
                false,
            ),
            23,
            "unknown model",
        ),
        (
            propose(
                ProposalKind::RegisterWorkflow {
                    workflow: WorkflowSpec {
                        name: "wf".into(),
                        steps: vec![WorkflowStep {
                            name: "a".into(),
                            model: [3; 32],
                            inputs: vec![],
                            mode: VerificationMode::Zk,
                            timeout_blocks: 5,
                            reward: Amount::syn(1),
                            min_bond: Amount::ZERO,
                            min_reputation: 0,
                            retries: 0,
                        }],
                    },
                },
                Amount::syn(1_000),
                false,
            ),
            36,
            "unknown model",
        ),
        (
            TxBody::Propose {
                kind: ProposalKind::Text,
                title: String::new(),
                summary: String::new(),
                deposit: Amount::syn(1_000),
                expedited: false,
            },
            36,
            "title",
        ),
    ];
    for (body, want, says) in cases {
        let balance = g.balance(&user);
        let nonce = accounts::account(&g.chain.state(), &user).unwrap().nonce;
        let tx = g.user(0).sign(body);
        let out = g.block(vec![tx]);
        let r = &out.tx_results[0];
        assert_eq!(r.code(), want, "{}", r.log());
        assert!(r.log().contains(says), "{:?} lacks {says:?}", r.log());
        let after = accounts::account(&g.chain.state(), &user).unwrap();
        if want == 36 && says == "title" {
            // Refused statelessly: not even fee and nonce.
            assert_eq!(after.nonce, nonce);
            g.user(0).nonce -= 1;
        } else {
            assert_eq!(after.nonce, nonce + 1);
            assert_eq!(after.balance, balance.checked_sub(TEST_FEE).unwrap());
        }
    }
    // No proposal was added, no vote recorded.
    let list = super::proposals(&g.chain.state(), None).unwrap();
    assert_eq!(list.len(), 1);
    assert!(super::votes(&g.chain.state(), id).unwrap().is_empty());

    // The spam limit: at most 2 in flight per proposer.
    g.propose(0, ProposalKind::Text, Amount::syn(250), false);
    g.propose(0, ProposalKind::Text, Amount::syn(250), false);
    let tx = g
        .op(0)
        .sign(propose(ProposalKind::Text, Amount::syn(250), false));
    g.fails(tx, 35);
}

#[test]
fn queries_answer_proposals_tallies_votes_deposits_and_treasury() {
    let mut g = Gov::new();
    let id = g.propose(0, ProposalKind::Text, Amount::syn(1_000), false);
    g.votes(id, &[(0, VoteOption::Yes), (1, VoteOption::No)]);
    let storage = g.chain.app.storage();
    let one = query::query(storage, &format!("/proposal/{id}"), 0, true);
    assert_eq!(one.code, code::OK, "{}", one.log);
    assert_eq!(one.proofs.len(), 1);
    let p: Proposal = codec::decode(&one.value).unwrap();
    assert_eq!(p.status, ProposalStatus::VotingPeriod);
    let t: Tally =
        codec::decode(&query::query(storage, &format!("/tally/{id}"), 0, false).value).unwrap();
    assert_eq!((t.yes, t.no), (Amount::syn(10_000), Amount::syn(10_000)));
    let voting: Vec<ProposalSummary> =
        codec::decode(&query::query(storage, "/proposals/voting_period", 0, false).value).unwrap();
    assert_eq!(voting, vec![p.summary()]);
    assert_eq!(voting[0].kind, "text");
    let passed: Vec<ProposalSummary> =
        codec::decode(&query::query(storage, "/proposals/passed", 0, false).value).unwrap();
    assert!(passed.is_empty());
    let votes: Vec<synod_protocol::governance::VoteRecord> =
        codec::decode(&query::query(storage, &format!("/votes/{id}"), 0, false).value).unwrap();
    assert_eq!(votes.len(), 2);
    assert_eq!(
        query::query(storage, "/tally/9", 0, false).code,
        code::NOT_FOUND
    );
    assert_eq!(
        query::query(storage, "/proposal/9", 0, false).code,
        code::NOT_FOUND
    );
    assert_eq!(
        query::query(storage, "/votes/1", 0, true).code,
        code::PROOF_UNSUPPORTED
    );
    let treasury = query::query(storage, "/treasury", 0, true);
    assert_eq!(treasury.code, code::OK);
    assert_eq!(treasury.proofs.len(), 1);
    assert!(codec::decode::<Amount>(&treasury.value).unwrap() > Amount::ZERO);
    let params = query::query(storage, "/params", 0, true);
    assert_eq!(params.proofs.len(), ChainParams::MODULES.len());
    assert_eq!(
        codec::decode::<ChainParams>(&params.value)
            .unwrap()
            .governance,
        super::params(&g.chain.state()).unwrap()
    );
}

/// Registers the shipped digits MLP by proposal, proves an inference of it
/// and has the chain verify it; then upgrades it to the QDQ import with a
/// grace period: a workflow step naming the old model now runs the new one,
/// and once the grace period is over the old model refuses results.
#[test]
fn models_enter_and_are_upgraded_by_proposal() {
    use models::testkit::{sample_input, Prover};
    let max_k = ChainParams::default().models.max_k;
    let mlp = Prover::new(shipped_model("mlp.onnx", "digits-mlp"), max_k);
    let qdq = shipped_model("mlp-qdq.onnx", "digits-mlp-qdq");
    let qdq_id = synod_zkml::ModelId::of(&qdq).0;
    let mut g = Gov::new();

    let id = g.propose(
        0,
        ProposalKind::RegisterModel {
            model: mlp.model.to_file_bytes(),
            modes: vec![VerificationMode::Zk, VerificationMode::Optimistic],
        },
        Amount::syn(1_000),
        false,
    );
    g.votes(id, &[(0, VoteOption::Yes), (1, VoteOption::Yes)]);
    let (p, events) = g.finish(id);
    assert_eq!(p.status, ProposalStatus::Passed, "{:?}", p.outcome);
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::ModelRegistered { model, .. } if *model == mlp.id())));
    let record = models::model(&g.chain.state(), &mlp.id()).unwrap().unwrap();
    assert_eq!(
        record.vk_hash,
        synod_zkml::circuit::vk_hash(&mlp.setup.verifier.vk)
    );
    assert!(g.chain.app.verifiers().model_ids().contains(&mlp.id()));

    // The chain verifies a proof of the model registered by proposal.
    let inference = mlp.prove(&sample_input(&mlp.model, 3));
    let submit = TxBody::SubmitInferenceProof {
        model: mlp.id(),
        input: inference.input.values().to_vec(),
        output: inference.output.values().to_vec(),
        proof: inference.proof.clone(),
    };
    let tx = sign_big(g.user(1), submit.clone());
    let events = g.ok(tx);
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::InferenceVerified { model, .. } if *model == mlp.id())));

    // A workflow naming the model.
    let step = WorkflowStep {
        name: "classify".into(),
        model: mlp.id(),
        inputs: vec![],
        mode: VerificationMode::Zk,
        timeout_blocks: 10,
        reward: Amount::syn(1),
        min_bond: Amount::ZERO,
        min_reputation: 0,
        retries: 0,
    };
    let wf = WorkflowSpec {
        name: "digits".into(),
        steps: vec![step],
    };
    let id = g.propose(
        1,
        ProposalKind::RegisterWorkflow {
            workflow: wf.clone(),
        },
        Amount::syn(1_000),
        false,
    );
    g.votes(id, &[(0, VoteOption::Yes), (1, VoteOption::Yes)]);
    assert_eq!(g.finish(id).0.status, ProposalStatus::Passed);
    let state = g.chain.state();
    assert_eq!(
        workflows::step_models(&state, &wf).unwrap(),
        vec![Some(mlp.id())]
    );
    assert_eq!(
        workflows::workflow(&state, "digits")
            .unwrap()
            .unwrap()
            .version,
        1
    );

    // Upgrade to the QDQ import with a 6-block grace period.
    let id = g.propose(
        2,
        ProposalKind::UpgradeModel {
            previous: mlp.id(),
            model: qdq.to_file_bytes(),
            modes: vec![VerificationMode::Zk],
            grace_blocks: 6,
        },
        Amount::syn(1_000),
        false,
    );
    g.votes(id, &[(0, VoteOption::Yes), (1, VoteOption::Yes)]);
    let (p, events) = g.finish(id);
    assert_eq!(p.status, ProposalStatus::Passed, "{:?}", p.outcome);
    let upgraded_at = g.chain.height;
    assert!(events.iter().any(|e| matches!(e, Event::ModelRetirementScheduled { at_height, .. } if at_height.value() == upgraded_at + 6)));
    let state = g.chain.state();
    // A new run of the workflow's step uses the new version.
    assert_eq!(
        workflows::step_models(&state, &wf).unwrap(),
        vec![Some(qdq_id)]
    );
    let old = models::model(&state, &mlp.id()).unwrap().unwrap();
    assert_eq!(old.successor, Some(qdq_id));
    assert_eq!(old.status, ModelStatus::Active, "still in its grace period");
    let new = models::model(&state, &qdq_id).unwrap().unwrap();
    assert_eq!(new.predecessor, Some(mlp.id()));

    // Upgrading the old version a second time is refused.
    let again = ProposalKind::UpgradeModel {
        previous: mlp.id(),
        model: qdq.to_file_bytes(),
        modes: vec![VerificationMode::Zk],
        grace_blocks: 1,
    };
    let tx = sign_big(g.op(3), propose(again, Amount::syn(1_000), false));
    let log = g.fails(tx, 36);
    assert!(log.contains("already upgraded"), "{log}");

    // After the grace period the old model is retired and refuses results.
    g.until(upgraded_at + 6);
    let old = models::model(&g.chain.state(), &mlp.id()).unwrap().unwrap();
    assert!(matches!(old.status, ModelStatus::Retired { .. }));
    let tx = sign_big(g.user(1), submit);
    g.fails(tx, 24);

    // Proposing to retire it is refused: it is retired already.
    let tx = sign_big(
        g.op(3),
        propose(
            ProposalKind::RetireModel { model: mlp.id() },
            Amount::syn(1_000),
            false,
        ),
    );
    g.fails(tx, 24);
}

#[test]
fn two_nodes_fed_the_same_governance_blocks_agree() {
    let mut a = Gov::new();
    let mut b = Gov::new();
    for g in [&mut a, &mut b] {
        let id = g.propose(0, max_validators(33), Amount::syn(1_000), false);
        g.votes(id, &[(0, VoteOption::Yes), (1, VoteOption::NoWithVeto)]);
        g.finish(id);
        g.until(12);
    }
    assert_eq!(
        a.chain.app.storage().committed().unwrap().root,
        b.chain.app.storage().committed().unwrap().root
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]

    /// Whatever validators vote, re-vote and unbond, the tally never counts
    /// more stake than is bonded, and each option holds at most the voters'
    /// bonds.
    #[test]
    fn the_tally_never_counts_more_than_is_bonded(
        ops in proptest::collection::vec((0usize..4, 0u8..6, 1u64..9_000), 1..16),
    ) {
        let mut g = Gov::new();
        let id = g.propose(0, ProposalKind::Text, Amount::syn(1_000), false);
        for (who, what, amount) in ops {
            let tx = match what {
                0..=3 => g.vote(who, id, VoteOption::ALL[what as usize]),
                4 => g.op(who).sign(TxBody::Unbond { amount: Amount::syn(amount) }),
                _ => g.op(who).sign(TxBody::Bond { amount: Amount::syn(amount / 10) }),
            };
            let out = g.block(vec![tx]);
            if out.tx_results[0].code() != 0 {
                // A refused body still used the nonce only if it was charged.
                let state = g.chain.state();
                let n = accounts::account(&state, &g.chain.net.operators[who].address()).unwrap().nonce;
                g.op(who).nonce = n;
            }
            let state = g.chain.state();
            let t = tally(&state, id).unwrap();
            let bonded = total_bonded(&state).unwrap();
            prop_assert_eq!(&t.bonded, &bonded);
            prop_assert!(t.turnout() <= bonded.0);
            let voters: u128 = super::votes(&state, id).unwrap().iter()
                .map(|v| voting_power(&state, &v.voter).unwrap().0).sum();
            prop_assert_eq!(t.turnout(), voters);
            if g.proposal(id).status != ProposalStatus::VotingPeriod {
                break;
            }
        }
    }
}
