//! CometBFT's light client against real processes (4 `synod-node` + 4
//! `synod-app` on loopback): headers, commits and validator sets fetched
//! with tendermint-rs' `HttpClient` verify with `tendermint-light-client-
//! verifier`'s `ProdVerifier`, unchanged: every height from the one before
//! (adjacent: +2/3 of the new set signed), and the top from the first
//! (skipping: +1/3 of the trusted set signed), across a change of the
//! validator set (a bond, which takes effect two heights after its block,
//! as in CometBFT). Every block hash recomputes from its header's fields
//! with tendermint-rs, every block names its parent's id, and a forged
//! header, a tampered commit or a wrong validator set is refused.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::procs::{funded_spec, wait_all_at, Validator};
use synod_abci_app::testkit::{TestAccount, CHAIN_ID};
use synod_consensus_config::{generate_network, home::OPERATOR_KEY_FILE, OperatorKey};
use synod_node::mempool::tx_hash;
use synod_protocol::{Amount, TxBody};
use tendermint::{block::signed_header::SignedHeader, validator, Time};
use tendermint_light_client_verifier::{
    options::Options,
    types::{TrustThreshold, TrustedBlockState, UntrustedBlockState},
    ProdVerifier, Verdict, Verifier,
};
use tendermint_rpc::{Client, HttpClient, Paging};

/// What a light client fetches for one height.
struct Fetched {
    signed_header: SignedHeader,
    validators: validator::Set,
    next_validators: validator::Set,
}

async fn validator_set(client: &HttpClient, h: u64) -> validator::Set {
    let r = client.validators(h as u32, Paging::All).await.unwrap();
    validator::Set::without_proposer(r.validators)
}

async fn fetch(client: &HttpClient, h: u64) -> Fetched {
    let commit = client.commit(h as u32).await.unwrap();
    Fetched {
        signed_header: commit.signed_header,
        validators: validator_set(client, h).await,
        next_validators: validator_set(client, h + 1).await,
    }
}

fn trusted(f: &Fetched) -> TrustedBlockState<'_> {
    TrustedBlockState {
        chain_id: &f.signed_header.header.chain_id,
        header_time: f.signed_header.header.time,
        height: f.signed_header.header.height,
        next_validators: &f.next_validators,
        next_validators_hash: f.signed_header.header.next_validators_hash,
    }
}

fn untrusted(f: &Fetched) -> UntrustedBlockState<'_> {
    UntrustedBlockState {
        signed_header: &f.signed_header,
        validators: &f.validators,
        next_validators: Some(&f.next_validators),
    }
}

/// Sends `tx` and waits (bounded) for the height of the block that has it.
async fn commit_tx(client: &HttpClient, tx: Vec<u8>) -> u64 {
    let hash = tendermint::Hash::Sha256(tx_hash(&tx));
    let r = client.broadcast_tx_sync(tx).await.unwrap();
    assert!(r.code.is_ok(), "the tx was refused: {}", r.log);
    for _ in 0..300 {
        if let Ok(found) = client.tx(hash, false).await {
            assert!(found.tx_result.code.is_ok(), "{}", found.tx_result.log);
            return found.height.value();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the tx {hash} was not in a block within 60 s");
}

fn options() -> Options {
    Options {
        trust_threshold: TrustThreshold::ONE_THIRD,
        trusting_period: Duration::from_secs(3_600),
        clock_drift: Duration::from_secs(10),
    }
}

fn verify(from: &Fetched, to: &Fetched) -> Verdict {
    ProdVerifier::default().verify_update_header(
        untrusted(to),
        trusted(from),
        &options(),
        Time::now(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_light_client_verifies_every_header_adjacent_and_skipping() {
    let dir = tempfile::tempdir().unwrap();
    let mut user = TestAccount::new("light-client-test-user");
    let mut spec = funded_spec(dir.path(), 4, CHAIN_ID, 11, &[user.address()]);
    spec.config.consensus.timeout_commit = Duration::from_millis(200);
    let homes = generate_network(&spec).unwrap();
    let mut vals: Vec<Validator> = homes.iter().map(Validator::of).collect();
    for v in &mut vals {
        v.start();
    }
    wait_all_at(&vals, &[0, 1, 2, 3], 2, 120).await;
    // Txs, so blocks carry data and results hash something.
    for _ in 0..3 {
        let tx = user.sign(TxBody::Transfer {
            to: homes[1].operator,
            amount: Amount(1),
        });
        let r = vals[0].rpc.broadcast_tx_sync(tx).await.unwrap();
        assert!(r.code.is_ok(), "{r:?}");
    }
    // Validator 2's operator bonds more: the set of two heights later changes.
    let mut operator = TestAccount {
        key: OperatorKey::read(&homes[2].home.join(OPERATOR_KEY_FILE))
            .unwrap()
            .0,
        nonce: 0,
    };
    let bond = operator.sign(TxBody::Bond {
        amount: Amount::syn(10),
    });
    let bonded_at = commit_tx(&vals[0].rpc, bond).await;
    let top = bonded_at + 4;
    wait_all_at(&vals, &[0, 1, 2, 3], top, 120).await;
    let client = &vals[1].rpc;
    let results = client.block_results(bonded_at as u32).await.unwrap();
    assert!(
        !results.validator_updates.is_empty(),
        "the bond changes the set"
    );

    // Block hashes are CometBFT's: the Merkle root of the header's fields,
    // and each block names its parent's full id.
    let mut previous_id = None;
    let mut txs_seen = 0;
    // As in CometBFT, headers carry the app's protocol version from `Info`.
    let app_version = client.abci_info().await.unwrap().app_version;
    assert!(app_version > 0, "synod-app states its version");
    for h in 1..=top {
        let b = client.block(h as u32).await.unwrap();
        assert_eq!(b.block.header.version.app, app_version, "height {h}");
        assert_eq!(b.block.header.hash(), b.block_id.hash, "height {h}");
        assert_eq!(b.block.header.last_block_id, previous_id, "height {h}");
        assert!(b.block_id.part_set_header.total >= 1);
        txs_seen += b.block.data.len();
        previous_id = Some(b.block_id);
        let by_hash = client.block_by_hash(b.block_id.hash).await.unwrap();
        assert_eq!(by_hash.block.map(|x| x.header.height.value()), Some(h));
    }
    assert!(txs_seen >= 3, "the txs were committed");

    // Adjacent verification of every height from the one before; the top
    // height's commit is the node's stored certificate (not yet recorded
    // by a next block), the others the next block's last commit.
    let mut fetched = Vec::new();
    for h in 1..=top {
        fetched.push(fetch(client, h).await);
    }
    for pair in fetched.windows(2) {
        let (from, to) = (&pair[0], &pair[1]);
        assert_eq!(
            verify(from, to),
            Verdict::Success,
            "height {} from {}",
            to.signed_header.header.height,
            from.signed_header.header.height
        );
    }
    // The set changed two heights after the bond's block, and the header
    // before named it as its next set.
    let at = |h: u64| &fetched[(h - 1) as usize].signed_header.header;
    assert_eq!(
        at(bonded_at + 1).validators_hash,
        at(bonded_at).validators_hash
    );
    assert_ne!(
        at(bonded_at + 2).validators_hash,
        at(bonded_at + 1).validators_hash
    );
    assert_eq!(
        at(bonded_at + 1).next_validators_hash,
        at(bonded_at + 2).validators_hash
    );
    // Skipping: the top straight from the first height.
    assert_eq!(
        verify(&fetched[0], &fetched[fetched.len() - 1]),
        Verdict::Success
    );
    // The same headers from another validator verify too (same ids).
    let other = fetch(&vals[3].rpc, top - 1).await;
    assert_eq!(
        other.signed_header.header.hash(),
        fetched[fetched.len() - 2].signed_header.header.hash()
    );
    assert_eq!(verify(&fetched[0], &other), Verdict::Success);

    // A forged header (another app hash) does not match its commit.
    let mut forged = fetch(client, top - 1).await;
    forged.signed_header = SignedHeader::new(
        {
            let mut h = forged.signed_header.header.clone();
            h.app_hash = tendermint::AppHash::try_from(vec![0xAB; 32]).unwrap();
            h
        },
        forged.signed_header.commit.clone(),
    )
    .unwrap();
    assert!(
        matches!(verify(&fetched[0], &forged), Verdict::Invalid(_)),
        "a forged header is refused"
    );
    // A commit whose signatures' times were moved does not verify.
    let mut moved = fetch(client, top - 1).await;
    let mut commit = moved.signed_header.commit.clone();
    for s in &mut commit.signatures {
        if let tendermint::block::CommitSig::BlockIdFlagCommit { timestamp, .. } = s {
            *timestamp = (*timestamp + Duration::from_millis(1)).unwrap();
        }
    }
    moved.signed_header = SignedHeader::new(moved.signed_header.header.clone(), commit).unwrap();
    assert!(
        !matches!(verify(&fetched[0], &moved), Verdict::Success),
        "a commit with moved vote times is refused"
    );
    // A validator set that is not the header's.
    let mut wrong_set = fetch(client, top - 1).await;
    wrong_set.validators =
        validator::Set::without_proposer(wrong_set.validators.validators()[..3].to_vec());
    assert!(matches!(
        verify(&fetched[0], &wrong_set),
        Verdict::Invalid(_)
    ));

    for v in &mut vals {
        v.kill();
    }
}
