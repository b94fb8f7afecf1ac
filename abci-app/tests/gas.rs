//! The block gas limit (`consensus_params.block.max_gas`): every tx wants
//! gas by a fixed schedule (`synod_abci_app::gas`); PrepareProposal stops
//! at the limit, ProcessProposal refuses a block over it (a nil vote), and
//! CheckTx refuses for good a tx that wants more than a whole block may
//! use. Without a limit (-1, CometBFT's default) nothing changes.

#![allow(clippy::unwrap_used)]

use synod_abci_app::{
    gas::{self, GAS_PER_BYTE, GAS_PER_TX},
    testkit::{TestAccount, TestChain, TestNet, CHAIN_ID, TEST_FEE},
    App, Mempool, Storage, StorageOptions,
};
use synod_protocol::{params::ChainParams, Amount, TxBody};

/// A chain whose genesis sets `max_gas`.
fn chain_with_limit(dir: &std::path::Path, users: usize, max_gas: i64) -> TestChain {
    let net = TestNet::new(1, users, ChainParams::default());
    let storage = Storage::open(dir, StorageOptions { prune_window: 0 }).unwrap();
    let mut app = App::new(storage).unwrap();
    app.init_chain_with_gas_limit(
        CHAIN_ID,
        &net.app_state_json(),
        1,
        gas::block_limit(max_gas),
    )
    .unwrap();
    TestChain {
        app,
        net,
        height: 0,
        absent: Default::default(),
    }
}

fn transfer(from: &TestAccount, nonce: u64) -> Vec<u8> {
    from.sign_with(
        TxBody::Transfer {
            to: synod_protocol::Address([7; 20]),
            amount: Amount::syn(1),
        },
        nonce,
        TEST_FEE,
    )
}

fn wants(tx: &[u8]) -> u64 {
    GAS_PER_TX + GAS_PER_BYTE * tx.len() as u64
}

#[test]
fn a_transfer_wants_its_base_and_byte_gas_in_check_tx_and_in_the_block() {
    let dir = tempfile::tempdir().unwrap();
    let mut chain = chain_with_limit(dir.path(), 1, -1);
    assert_eq!(chain.app.max_block_gas(), None);
    let tx = transfer(&chain.net.users[0], 0);
    let checked = Mempool::new(&chain.app).check(&tx).unwrap();
    assert_eq!(checked.code(), 0, "{}", checked.log());
    assert_eq!(checked.gas, wants(&tx));
    let out = chain.block(vec![tx.clone(), b"garbage".to_vec()]).unwrap();
    assert_eq!(out.tx_results[0].gas, wants(&tx));
    assert_eq!(out.tx_results[1].gas, 0, "an undecodable tx wants nothing");
}

#[test]
fn blocks_hold_at_most_the_gas_limit() {
    let dir = tempfile::tempdir().unwrap();
    let probe = transfer(&TestAccount::new("probe"), 0);
    // Room for three transfers, not four.
    let limit = wants(&probe) * 3 + wants(&probe) / 2;
    let mut chain = chain_with_limit(dir.path(), 5, limit as i64);
    chain.block(vec![]).unwrap();
    assert_eq!(chain.app.max_block_gas(), Some(limit));
    let txs: Vec<Vec<u8>> = chain.net.users.iter().map(|u| transfer(u, 0)).collect();
    assert!(txs.iter().all(|t| wants(t) == wants(&probe)));

    // The proposer keeps the first three, in order.
    let kept = chain.app.prepare_proposal(&txs, 1 << 20).unwrap();
    assert_eq!(kept, txs[..3].to_vec());
    // Validators accept three and refuse four: over the limit, a nil vote.
    assert!(chain.app.process_proposal(&txs[..3]).unwrap());
    assert!(!chain.app.process_proposal(&txs[..4]).unwrap());
    // The limit is part of the chain: a reopened app still holds it.
    let path = dir.path().to_path_buf();
    let TestChain { app, .. } = chain;
    drop(app);
    let reopened =
        App::new(Storage::open(&path, StorageOptions { prune_window: 0 }).unwrap()).unwrap();
    assert_eq!(reopened.max_block_gas(), Some(limit));
    assert!(!reopened.process_proposal(&txs[..4]).unwrap());
}

#[test]
fn check_tx_refuses_for_good_a_tx_no_block_can_hold() {
    let dir = tempfile::tempdir().unwrap();
    let probe = transfer(&TestAccount::new("probe"), 0);
    let chain = chain_with_limit(dir.path(), 1, (wants(&probe) - 1) as i64);
    let tx = transfer(&chain.net.users[0], 0);
    let (checked, permanent) = Mempool::new(&chain.app).check_classified(&tx).unwrap();
    assert_eq!(checked.code(), 42, "{}", checked.log());
    assert!(checked.log().contains("block.max_gas"), "{}", checked.log());
    assert!(permanent, "no later state makes the block bigger");
}

#[test]
fn without_a_limit_a_block_takes_every_paying_tx() {
    let dir = tempfile::tempdir().unwrap();
    let chain = chain_with_limit(dir.path(), 5, -1);
    let txs: Vec<Vec<u8>> = chain.net.users.iter().map(|u| transfer(u, 0)).collect();
    assert_eq!(chain.app.prepare_proposal(&txs, 1 << 20).unwrap(), txs);
    assert!(chain.app.process_proposal(&txs).unwrap());
    assert_eq!(gas::block_limit(0), None);
    assert_eq!(gas::block_limit(-1), None);
    assert_eq!(gas::block_limit(7), Some(7));
}
