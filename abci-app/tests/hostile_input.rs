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

/// Finding 6 of the hardening issue: a proposer cannot fill a block with
/// transactions that ride for free. ProcessProposal runs the block's fee and
/// nonce checks in block order on a scratch layer; a block with a transaction
/// that cannot pay (no balance, a fee below the minimum, a wrong or repeated
/// nonce) gets a nil vote, while a transaction whose body fails after paying,
/// or that pays with funds an earlier transaction of the block sent, is fine.
#[test]
fn a_block_with_transactions_that_do_not_pay_gets_a_nil_vote() {
    use synod_abci_app::testkit::{TestAccount, TEST_FEE};
    let dir = tempfile::tempdir().unwrap();
    let mut chain =
        TestChain::start(dir.path(), TestNet::new(1, 1, ChainParams::default())).unwrap();
    chain.block(vec![]).unwrap();
    let user = chain.net.users[0].clone();
    let broke = TestAccount::new("nobody funded me");
    let to = |a: &TestAccount| TxBody::Transfer {
        to: a.address(),
        amount: Amount::syn(1),
    };
    let pay = |from: &TestAccount, nonce: u64, body: TxBody| from.sign_with(body, nonce, TEST_FEE);
    let accepts = |chain: &TestChain, txs: Vec<Vec<u8>>| chain.app.process_proposal(&txs).unwrap();

    let good = pay(&user, 0, to(&broke));
    assert!(accepts(&chain, vec![good.clone()]));
    // A zero-balance signer: free block space. Refused.
    assert!(!accepts(
        &chain,
        vec![good.clone(), pay(&broke, 0, to(&user))]
            .into_iter()
            .rev()
            .collect()
    ));
    // Funded by an earlier transaction of the same block: fine.
    assert!(accepts(
        &chain,
        vec![good.clone(), pay(&broke, 0, to(&user))]
    ));
    // A repeated transaction (its nonce is used by then): refused.
    assert!(!accepts(&chain, vec![good.clone(), good.clone()]));
    // A nonce from the future: refused.
    assert!(!accepts(&chain, vec![pay(&user, 5, to(&broke))]));
    // A fee below the per-byte minimum: refused.
    assert!(!accepts(
        &chain,
        vec![user.sign_with(to(&broke), 0, Amount(1))]
    ));
    // A body that fails after paying (an overdraft): fine, it paid its way.
    let overdraft = pay(
        &user,
        0,
        TxBody::Transfer {
            to: broke.address(),
            amount: Amount::syn(1_000_000_000),
        },
    );
    assert!(accepts(&chain, vec![overdraft.clone()]));
    let out = chain.block(vec![overdraft]).unwrap();
    assert_eq!(out.tx_results[0].code(), 9, "{}", out.tx_results[0].log());
    // The scratch run left nothing behind: the committed state moved only by
    // the block that executed.
    assert_eq!(
        accounts::account(&chain.state(), &user.address())
            .unwrap()
            .nonce,
        1
    );
}
