//! `gossip`: the data of a mempool gossip message. The libp2p gossipsub
//! frame around it is libp2p's to decode; the node hands the data, unread,
//! to its mempool (size limit, hash) and the app's CheckTx, whose verdict
//! decides whether the peer is penalized (`node/src/gossip.rs`).

use std::cell::RefCell;

use synod_abci_app::{execute::decode_tx, testkit::TestChain, Mempool};
use synod_node::mempool::{tx_hash, MempoolConfig};

use super::{tx::signed_txs, Seed, Target};
use crate::{error::FuzzError, fixtures};

/// The `gossip` target.
pub const TARGET: Target = Target {
    name: "gossip",
    about: "a gossiped tx through the node's mempool limits and the app's full CheckTx (permanent refusals only for the bytes alone)",
    run: gossip,
    prepare,
    seeds,
    dictionary: &[],
    max_len: 64 * 1024,
    short_runs: 8_000,
    cap_in_all: None,
};

/// The app a gossiped tx is checked by: the test net's chain after InitChain,
/// on a store in a temporary folder, and its CheckTx view.
struct Checker {
    mempool: Mempool,
    _chain: TestChain,
    _dir: tempfile::TempDir,
}

impl Checker {
    fn new() -> Result<Checker, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("temporary folder: {e}"))?;
        let chain = TestChain::start(dir.path(), fixtures::net().clone())
            .map_err(|e| format!("the test chain: {e}"))?;
        Ok(Checker {
            mempool: Mempool::new(&chain.app),
            _chain: chain,
            _dir: dir,
        })
    }
}

thread_local! {
    /// One checker per thread (the app's store is not shared between runs).
    static CHECKER: RefCell<Option<Result<Checker, String>>> = const { RefCell::new(None) };
}

fn with_checker<R>(f: impl FnOnce(&mut Checker) -> R) -> Result<R, String> {
    CHECKER.with(|cell| {
        let mut slot = cell.borrow_mut();
        match slot.get_or_insert_with(Checker::new) {
            Ok(checker) => Ok(f(checker)),
            Err(e) => Err(e.clone()),
        }
    })
}

fn prepare() -> Result<(), FuzzError> {
    with_checker(|_| ()).map_err(|reason| FuzzError::Fixture {
        target: "gossip",
        reason,
    })
}

/// What the node does with a gossiped message's data: a message over the
/// mempool's size limit is dropped; otherwise CheckTx judges it against the
/// test net's state. CheckTx answers (an app error is a storage failure,
/// never the tx's doing), and a refusal marked permanent (which makes
/// gossip penalize the relaying peer) is one the bytes alone explain: they
/// do not decode as a tx for this chain, or its signature is bad.
pub fn gossip(data: &[u8]) {
    if data.len() > MempoolConfig::default().max_tx_bytes {
        return;
    }
    let _ = tx_hash(data);
    let checked = with_checker(|checker| checker.mempool.check_classified(data))
        .unwrap_or_else(|e| panic!("the gossip fixture: {e}"));
    let (outcome, permanent) = checked.unwrap_or_else(|e| panic!("CheckTx failed: {e}"));
    if outcome.result.is_ok() {
        assert!(!permanent, "an accepted tx marked as permanently refused");
    }
    if permanent {
        let params = fixtures::accounts_params();
        let bytes_alone = match decode_tx(data, &params, fixtures::CHAIN_ID, fixtures::components())
        {
            Err(_) => true,
            Ok(tx) => tx.verify_signature().is_err(),
        };
        assert!(
            bytes_alone,
            "a refusal marked permanent that the bytes do not explain: {}",
            outcome.log()
        );
    }
}

/// The signed transactions of the `tx` seeds (in file-name order CheckTx
/// accepts some and refuses others for their nonce).
fn seeds() -> Result<Vec<Seed>, FuzzError> {
    signed_txs()
}
