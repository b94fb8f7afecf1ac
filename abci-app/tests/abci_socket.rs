//! The ABCI server driven over its real TCP socket by a separate client, as
//! CometBFT drives it: InitChain, 300 blocks of random valid and invalid
//! transactions, and queries with Merkle proofs. An in-process app fed the
//! same blocks must agree on every app hash and every result code.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use synod_abci_app::{
    query::code,
    storage::verify_proof,
    testkit::{AppProcess, TestChain, TestNet, TxFuzzer, CHAIN_ID},
};
use synod_protocol::{codec, params::ChainParams, state, Address};

const BIN: &str = env!("CARGO_BIN_EXE_synod-app");

#[test]
fn synod_app_serves_300_random_blocks_and_provable_queries_over_its_socket() {
    let dir = tempfile::tempdir().unwrap();
    let net = TestNet::new(4, 8, ChainParams::default());
    let app = AppProcess::start(
        BIN.as_ref(),
        &dir.path().join("home"),
        Duration::from_secs(30),
    )
    .unwrap();
    let mut client = app.client().unwrap();
    let mut reference = TestChain::start(&dir.path().join("reference"), net.clone()).unwrap();

    let info = client.info().unwrap();
    assert_eq!(info.last_block_height, 0);
    assert!(
        info.last_block_app_hash.is_empty(),
        "a fresh app has no app hash"
    );
    let init = client
        .init_chain(CHAIN_ID, &net.app_state_json(), 1)
        .unwrap();
    assert_eq!(init.validators.len(), 4);
    assert_eq!(
        init.app_hash.as_ref(),
        reference.app.info().unwrap().1.as_slice()
    );

    let mut fuzz = TxFuzzer::new(42, &net);
    let mut last_hash = [0u8; 32];
    let mut hashes = vec![reference.app.info().unwrap().1];
    for h in 1..=300i64 {
        let candidates = fuzz.block((h % 11) as usize);
        for tx in &candidates {
            let r = client.check_tx(tx).unwrap();
            assert!(r.code == 0 || !r.log.is_empty(), "a rejection must say why");
        }
        // Even heights: an honest proposer (PrepareProposal filters, ProcessProposal accepts).
        // Odd heights: a careless proposer ships everything; FinalizeBlock must cope.
        let txs = if h % 2 == 0 {
            let kept = client.prepare_proposal(h, &candidates, 1 << 20).unwrap();
            assert!(
                client.process_proposal(h, &kept).unwrap(),
                "the app rejected its own proposal at {h}"
            );
            kept
        } else {
            candidates
        };
        let block = reference.next_block(txs.clone());
        let proposer = block.proposer_address.unwrap();
        let over_socket = client
            .finalize_block(h, &txs, proposer, &block.votes, &[])
            .unwrap();
        client.commit().unwrap();
        let in_process = reference.apply(&block).unwrap();

        assert_eq!(
            over_socket.app_hash.as_ref(),
            in_process.app_hash.as_slice(),
            "app hash differs at {h}"
        );
        let socket_codes: Vec<u32> = over_socket.tx_results.iter().map(|r| r.code).collect();
        let local_codes: Vec<u32> = in_process.tx_results.iter().map(|r| r.code()).collect();
        assert_eq!(socket_codes, local_codes, "result codes differ at {h}");
        if h % 2 == 0 {
            assert!(
                socket_codes.iter().all(|c| *c == 0),
                "PrepareProposal kept a failing tx at {h}: {socket_codes:?}"
            );
        }
        for r in &over_socket.tx_results {
            assert!(r.code == 0 || !r.log.is_empty());
        }
        last_hash = in_process.app_hash;
        hashes.push(last_hash);
    }

    let info = client.info().unwrap();
    assert_eq!(info.last_block_height, 300);
    assert_eq!(info.last_block_app_hash.as_ref(), last_hash.as_slice());

    // Provable queries: present accounts and validators, absent validators.
    let mut used = 0usize;
    for user in &net.users {
        let r = client
            .query(&format!("/account/{}", user.address()), 0, true)
            .unwrap();
        assert_eq!(r.code, code::OK, "{}", r.log);
        let op = &r.proof_ops.as_ref().expect("proof requested").ops[0];
        verify_proof(last_hash, &op.key, Some(&r.value), &op.data).unwrap();
        let mut tampered = r.value.to_vec();
        tampered[0] ^= 1;
        assert!(
            verify_proof(last_hash, &op.key, Some(&tampered), &op.data).is_err(),
            "a tampered value must not verify"
        );
        let acct: state::Account = codec::decode(&r.value).unwrap();
        // The same account as the in-process reference fed the same blocks.
        let expected =
            synod_abci_app::accounts::account(&reference.state(), &user.address()).unwrap();
        assert_eq!(acct, expected);
        used += usize::from(acct.nonce > 0);
    }
    assert!(
        used >= net.users.len() / 2,
        "only {used} users ever sent a tx"
    );
    let op_addr = net.operators[0].address();
    let r = client
        .query(&format!("/validator/{op_addr}"), 0, true)
        .unwrap();
    assert_eq!(r.code, code::OK);
    let v: state::Validator = codec::decode(&r.value).unwrap();
    assert_eq!(v.operator, op_addr);
    let op = &r.proof_ops.as_ref().unwrap().ops[0];
    verify_proof(last_hash, &op.key, Some(&r.value), &op.data).unwrap();

    let stranger = Address([0xee; 20]);
    let r = client
        .query(&format!("/validator/{stranger}"), 0, true)
        .unwrap();
    assert_eq!(r.code, code::NOT_FOUND);
    let op = &r.proof_ops.as_ref().expect("absence is provable too").ops[0];
    verify_proof(last_hash, &op.key, None, &op.data).unwrap();

    // Historical height: the state after block 100 against that block's app hash.
    let r = client
        .query(&format!("/account/{}", net.users[0].address()), 100, true)
        .unwrap();
    assert_eq!(r.height, 100);
    let op = &r.proof_ops.as_ref().unwrap().ops[0];
    verify_proof(hashes[100], &op.key, Some(&r.value), &op.data).unwrap();

    let r = client.query("/params", 0, true).unwrap();
    assert_eq!(r.code, code::OK);
    let params: ChainParams = codec::decode(&r.value).unwrap();
    assert_eq!(params, ChainParams::default());
    assert_eq!(
        r.proof_ops.unwrap().ops.len(),
        ChainParams::MODULES.len(),
        "one proof per parameter module"
    );

    let r = client.query("/validators", 0, false).unwrap();
    let list: Vec<state::ValidatorSummary> = codec::decode(&r.value).unwrap();
    assert_eq!(list.len(), 4);
    assert!(list.iter().all(|v| v.active && v.power > 0));

    assert_eq!(
        client
            .query(&format!("/reputation/{op_addr}"), 0, false)
            .unwrap()
            .code,
        code::OK
    );
    assert_eq!(
        client
            .query(&format!("/unbonding/{op_addr}"), 0, false)
            .unwrap()
            .code,
        code::OK
    );
    let r = client.query("/nonsense", 0, false).unwrap();
    assert_eq!(r.code, code::BAD_PATH);
    assert!(
        r.log.contains("/validators"),
        "the error lists the known paths: {}",
        r.log
    );
    assert_eq!(
        client.query("/account/synod1bad", 0, false).unwrap().code,
        code::BAD_PATH
    );
    assert_eq!(
        client.query("/params", 10_000, false).unwrap().code,
        code::HEIGHT_UNAVAILABLE
    );
}

#[test]
fn init_chain_with_a_broken_genesis_is_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let app = AppProcess::start(BIN.as_ref(), dir.path(), Duration::from_secs(30)).unwrap();
    let mut client = app.client().unwrap();
    let err = client.init_chain(CHAIN_ID, b"{\"accounts\": 5}", 1);
    assert!(err.is_err(), "a malformed app_state must not start a chain");
    let log = std::fs::read_to_string(dir.path().join("synod-app.log")).unwrap();
    assert!(
        log.contains("app_state"),
        "the log names the problem: {log}"
    );
    // Nothing was stored: a correct genesis still works on a new connection.
    let mut client = app.client().unwrap();
    assert_eq!(client.info().unwrap().last_block_height, 0);
    let net = TestNet::new(1, 1, ChainParams::default());
    client
        .init_chain(CHAIN_ID, &net.app_state_json(), 1)
        .unwrap();
}

#[test]
fn synod_app_also_serves_over_a_unix_socket() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("abci.sock");
    let address = format!("unix://{}", sock.display());
    let net = TestNet::new(2, 2, ChainParams::default());
    let app = AppProcess::start_at(
        BIN.as_ref(),
        &dir.path().join("home"),
        &address,
        Duration::from_secs(30),
    )
    .unwrap();
    let mut client = app.client().unwrap();
    client.flush().unwrap();
    let init = client
        .init_chain(CHAIN_ID, &net.app_state_json(), 1)
        .unwrap();
    assert_eq!(init.validators.len(), 2);
    let mut user = net.users[0].clone();
    let tx = user.sign(synod_protocol::TxBody::Transfer {
        to: net.users[1].address(),
        amount: synod_protocol::Amount(5),
    });
    assert_eq!(client.check_tx(&tx).unwrap().code, 0);
    let out = client.finalize_block(1, &[tx], [0; 20], &[], &[]).unwrap();
    assert_eq!(out.tx_results[0].code, 0);
    client.commit().unwrap();
    assert_eq!(client.info().unwrap().last_block_height, 1);
}

#[test]
fn a_corrupt_store_stops_synod_app_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    {
        let app = AppProcess::start(BIN.as_ref(), &home, Duration::from_secs(30)).unwrap();
        let net = TestNet::new(1, 1, ChainParams::default());
        app.client()
            .unwrap()
            .init_chain(CHAIN_ID, &net.app_state_json(), 1)
            .unwrap();
    }
    // Lose RocksDB's CURRENT file: the store can no longer be opened.
    std::fs::remove_file(home.join("data/state.db/CURRENT")).unwrap();
    let err = AppProcess::start(BIN.as_ref(), &home, Duration::from_secs(30)).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("state.db") && msg.contains("not a valid Synod store"),
        "the error names the store: {msg}"
    );
    // Nothing was silently recreated.
    assert!(!home.join("data/state.db/CURRENT").exists());
}

#[test]
fn a_chain_starting_at_a_later_height_reports_no_block_until_its_first_one() {
    let dir = tempfile::tempdir().unwrap();
    let net = TestNet::new(1, 1, ChainParams::default());
    let app = AppProcess::start(BIN.as_ref(), dir.path(), Duration::from_secs(30)).unwrap();
    let mut client = app.client().unwrap();
    let init = client
        .init_chain(CHAIN_ID, &net.app_state_json(), 100)
        .unwrap();
    // CometBFT must still see an app without blocks (it would refuse an app ahead of its store).
    let info = client.info().unwrap();
    assert_eq!(info.last_block_height, 0);
    assert_eq!(info.last_block_app_hash, init.app_hash);
    // A repeated InitChain (crash before the first block) answers the same.
    let again = client
        .init_chain(CHAIN_ID, &net.app_state_json(), 100)
        .unwrap();
    assert_eq!(again.app_hash, init.app_hash);
    let votes = [synod_abci_app::staking::VoteInfo {
        consensus_address: net.consensus_address(0),
        signed: true,
        power: 10_000,
    }];
    let out = client
        .finalize_block(100, &[], net.consensus_address(0), &votes, &[])
        .unwrap();
    client.commit().unwrap();
    let info = client.info().unwrap();
    assert_eq!(info.last_block_height, 100);
    assert_eq!(info.last_block_app_hash, out.app_hash);
}
