//! The engine: the real app in process (a [`TestChain`] on a temporary
//! RocksDB store, FinalizeBlock then Commit for every block), the actors
//! acting on what each block did, and the block builder between them.
//!
//! One block, in order: every actor (in scenario order) observes the last
//! block and sends txs, which the engine signs with the signer's next
//! nonce and the smallest fee that covers them; the validators absent at
//! this block are marked; if the validators who sign hold at most 2/3 of
//! the power the chain halts for this block (no block is made, the txs
//! wait); otherwise the proposer (weighted round robin) takes txs from the
//! mempool, leaving out what its owner censors; the block is finalized and
//! committed; the metrics record it.

pub mod builder;

use std::collections::{BTreeMap, BTreeSet};

use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;
use sha2::{Digest, Sha256};
use synod_abci_app::{
    execute, staking,
    testkit::{TestAccount, TestChain, TestNet, CHAIN_ID},
    BlockInput,
};
use synod_protocol::{
    Address, Amount, Event, GenesisAccount, GenesisValidator, Height, SignedTx, TxBody, UnsignedTx,
};

use crate::{
    actors::{self, Actor, Outbox, Outcome, Pending, View},
    error::SimError,
    metrics::{Recorder, RunOutput},
    scenario::Scenario,
    workload::{self, ProofBook},
};
use builder::{Mempool, ProposerRotation};

/// A validator and who owns it.
struct ValidatorSlot {
    consensus_address: [u8; 20],
    /// The actor owning it (`None`: a passive honest validator).
    owner: Option<usize>,
}

/// One actor in a run.
struct Slot {
    actor: Box<dyn Actor>,
    rng: ChaCha8Rng,
    outcomes: Vec<Outcome>,
}

/// The random stream of actor `index` in a run seeded with `seed`.
pub fn actor_rng(seed: u64, index: usize) -> ChaCha8Rng {
    let mut h = Sha256::new();
    h.update(b"synod-sim/actor/v1\0");
    h.update(seed.to_be_bytes());
    h.update((index as u64).to_be_bytes());
    ChaCha8Rng::from_seed(h.finalize().into())
}

/// Runs `scenario` to its last block and returns its metrics.
pub fn run(scenario: &Scenario) -> Result<RunOutput, SimError> {
    let params = scenario.chain_params()?;
    let built = actors::build_all(scenario)?;
    let book = ProofBook::shared(params.models.max_k);

    // Genesis: the passive validators, then every actor's accounts and validators.
    let v = &scenario.validators;
    let mut net = TestNet::new(v.count as usize, 0, params);
    for (a, gv) in net
        .genesis
        .accounts
        .iter_mut()
        .zip(&mut net.genesis.validators)
    {
        a.balance = Amount::syn(v.stake_syn + 1_000);
        gv.self_bond = Amount::syn(v.stake_syn);
    }
    let mut validators: Vec<ValidatorSlot> = (0..v.count as usize)
        .map(|i| ValidatorSlot {
            consensus_address: net.consensus_address(i),
            owner: None,
        })
        .collect();
    let mut wallet: BTreeMap<Address, TestAccount> = BTreeMap::new();
    let mut classes = Vec::new();
    let mut slots = Vec::new();
    for (index, (class, actor)) in built.into_iter().enumerate() {
        let g = actor.genesis();
        for (account, balance) in g.accounts {
            net.genesis.accounts.push(GenesisAccount {
                address: account.address(),
                balance,
            });
            wallet.insert(account.address(), account);
        }
        for (operator, consensus, bond) in g.validators {
            validators.push(ValidatorSlot {
                consensus_address: consensus.public().consensus_address(),
                owner: Some(index),
            });
            net.genesis.validators.push(GenesisValidator {
                operator,
                consensus_key: consensus.public(),
                moniker: format!("{class}-{index}"),
                self_bond: bond,
            });
        }
        classes.push(class);
        slots.push(Slot {
            actor,
            rng: actor_rng(scenario.seed, index),
            outcomes: Vec::new(),
        });
    }
    net.genesis.models = workload::genesis_models();
    net.genesis.workflows = vec![workload::workflow(&scenario.workflow)];

    let dir = tempfile::tempdir().map_err(|e| SimError::Io {
        path: "a temporary directory".into(),
        source: e,
    })?;
    let mut chain = TestChain::start(dir.path(), net).map_err(|e| SimError::App {
        height: 0,
        source: e,
    })?;
    let identities: Vec<Vec<Address>> = slots.iter().map(|s| s.actor.identities()).collect();
    let mut recorder = Recorder::new(scenario, &chain.state(), classes, identities)?;

    let mut mempool = Mempool::default();
    let mut rotation = ProposerRotation::default();
    let mut delays: BTreeMap<usize, u32> = BTreeMap::new();
    let mut last_events: Vec<Event> = Vec::new();
    let mut seq = 0usize;
    for tick in 1..=scenario.blocks {
        // Actors observe the last block and send.
        let next = chain.height + 1;
        let state = chain.state();
        for (index, slot) in slots.iter_mut().enumerate() {
            let view = View {
                height: chain.height,
                events: &last_events,
                outcomes: &slot.outcomes,
                proofs: &book,
                scenario,
                storage: chain.app.storage(),
            };
            let mut out = Outbox::default();
            slot.actor.act(&view, &mut slot.rng, &mut out)?;
            slot.outcomes.clear();
            for (from, body, tag) in out.txs {
                let Some(account) = wallet.get_mut(&from) else {
                    continue; // not one of this run's identities: nothing to sign with
                };
                let bytes = sign(&chain, &state, account, body, next)?;
                mempool.txs.push(Pending {
                    actor: index,
                    tag,
                    signer: from,
                    bytes,
                    submitted: next,
                    seq,
                });
                seq += 1;
            }
        }
        last_events.clear();

        // Who signs, and whether the chain can make a block at all.
        chain.absent = scenario
            .outages
            .iter()
            .filter(|o| o.from <= tick && tick <= o.until)
            .flat_map(|o| o.validators.iter())
            .filter_map(|&i| validators.get(i as usize).map(|v| v.consensus_address))
            .collect();
        let set = staking::active_set(&state).map_err(|e| SimError::Query {
            path: "staking active set".into(),
            reason: e.to_string(),
        })?;
        let total: u128 = set.iter().map(|v| u128::from(v.power)).sum();
        let signing: u128 = set
            .iter()
            .filter(|v| !chain.absent.contains(&v.consensus_key.consensus_address()))
            .map(|v| u128::from(v.power))
            .sum();
        if signing * 3 <= total * 2 {
            recorder.halted(tick, chain.height, mempool.txs.len());
            continue;
        }
        let proposer = rotation.next(&set, &chain.absent);
        let owner = proposer
            .and_then(|p| validators.iter().find(|v| v.consensus_address == p))
            .and_then(|v| v.owner);
        recorder.proposer(owner.is_some());
        let censor = owner.map(|o| slots[o].actor.as_ref());
        let selection = mempool.select(scenario.max_block_txs as usize, censor, next, &mut delays);

        let block = BlockInput {
            height: Height(next),
            time_unix: 1_700_000_000 + next as i64,
            proposer_address: proposer,
            txs: selection.included.iter().map(|p| p.bytes.clone()).collect(),
            votes: chain.last_commit_votes(),
            evidence: Vec::new(),
        };
        let out = chain.apply(&block).map_err(|source| SimError::App {
            height: next,
            source,
        })?;

        // Route outcomes, resync nonces of txs that did not pay.
        let mut unpaid = BTreeSet::new();
        for (p, r) in selection.included.iter().zip(&out.tx_results) {
            if !r.paid() {
                unpaid.insert(p.signer);
            }
            recorder.tx(p, r.code(), next, delays.remove(&p.seq).unwrap_or(0));
            slots[p.actor].outcomes.push(Outcome {
                tag: p.tag,
                signer: p.signer,
                code: r.code(),
                log: r.log(),
                submitted: p.submitted,
                included: next,
            });
        }
        let after = chain.state();
        for signer in unpaid {
            if mempool.txs.iter().any(|p| p.signer == signer) {
                continue;
            }
            if let (Some(account), Ok(chain_account)) = (
                wallet.get_mut(&signer),
                synod_abci_app::accounts::account(&after, &signer),
            ) {
                account.nonce = chain_account.nonce;
            }
        }
        last_events = out
            .tx_results
            .iter()
            .flat_map(|r| r.events.iter().cloned())
            .chain(out.events.iter().cloned())
            .collect();
        recorder.block(
            tick,
            next,
            &selection,
            mempool.txs.len(),
            &last_events,
            out.app_hash,
        );
        if tick % scenario.metrics_every == 0 || tick == scenario.blocks {
            recorder.sample(tick, &after, &set)?;
        }
    }
    let reports = slots.iter().map(|s| s.actor.report()).collect::<Vec<_>>();
    Ok(recorder.finish(reports))
}

/// Signs `body` by `account` with its next nonce and the smallest fee
/// that covers the tx at the current state (its bytes and its execution:
/// a proof pays for its verification).
fn sign(
    chain: &TestChain,
    state: &synod_abci_app::state::State,
    account: &mut TestAccount,
    body: TxBody,
    height: u64,
) -> Result<Vec<u8>, SimError> {
    let unsigned = |fee: Amount| UnsignedTx {
        body: body.clone(),
        signer: account.key.public(),
        nonce: account.nonce,
        fee,
        chain_id: CHAIN_ID.into(),
    };
    let draft: SignedTx = unsigned(Amount::ZERO).sign(&account.key);
    // The fee's own encoding grows the tx by a few bytes: price 16 more.
    let len = draft.encode().len() + 16;
    let (fee, _) = execute::min_fee(state, chain.app.components(), &draft, len).map_err(|e| {
        SimError::App {
            height,
            source: e.into(),
        }
    })?;
    let bytes = unsigned(fee).sign(&account.key).encode();
    account.nonce += 1;
    Ok(bytes)
}
