//! Bytes from outside: a transaction over the size limit, one that does not
//! decode, a valid one with bytes after it. CheckTx refuses
//! each with its code, a block carrying one gets a nil vote
//! (ProcessProposal), and a block executing one anyway refuses it without
//! touching state.

#![allow(clippy::unwrap_used)]

use synod_abci_app::{
    accounts,
    testkit::{TestChain, TestNet},
    Mempool,
};
use synod_protocol::{params::ChainParams, Amount, TxBody};

#[test]
fn oversized_undecodable_and_trailing_byte_transactions_are_refused_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let params = ChainParams::default();
    let max = params.accounts.max_tx_bytes as usize;
    let mut chain = TestChain::start(dir.path(), TestNet::new(1, 1, params)).unwrap();
    let mut user = chain.net.users[0].clone();
    let before = accounts::account(&chain.state(), &user.address()).unwrap();

    let oversized = vec![0u8; max + 1];
    let garbage = b"not a transaction".to_vec();
    // A valid, signed transfer with a byte appended.
    let mut padded = user.sign(TxBody::Transfer {
        to: synod_protocol::Address([9; 20]),
        amount: Amount(1),
    });
    padded.push(0);

    let mut mempool = Mempool::new(&chain.app);
    for (tx, code) in [(&oversized, 4), (&garbage, 2), (&padded, 2)] {
        let checked = mempool.check(tx).unwrap();
        assert_eq!(checked.code(), code, "{}", checked.log());
        assert!(!checked.log().is_empty());
        assert!(!chain
            .app
            .process_proposal(std::slice::from_ref(tx))
            .unwrap());
    }
    let out = chain
        .block(vec![oversized.clone(), garbage.clone(), padded.clone()])
        .unwrap();
    let codes: Vec<u32> = out.tx_results.iter().map(|r| r.code()).collect();
    assert_eq!(codes, vec![4, 2, 2]);
    // Nothing of them reached state: no fee, no nonce.
    assert_eq!(
        accounts::account(&chain.state(), &user.address()).unwrap(),
        before
    );
}
