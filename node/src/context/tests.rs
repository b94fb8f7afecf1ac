use malachitebft_app_channel::app::types::core::{
    Context, Height, NilOrVal, Round, Validator as _, ValidatorSet as _, VoteExtensionScope,
};
use malachitebft_app_channel::{Signer, Verifier};
use malachitebft_signing_ed25519::PrivateKey;

use super::*;

fn key(i: u8) -> PrivateKey {
    PrivateKey::from([i; 32])
}

fn set(powers: &[u64]) -> ValidatorSet {
    ValidatorSet::new(
        powers
            .iter()
            .enumerate()
            .map(|(i, p)| Validator::new(key(i as u8 + 1).public_key(), *p)),
    )
    .unwrap()
}

fn bid(h: u8) -> BlockId {
    BlockId {
        hash: [h; 32],
        parts: PartSetHeader {
            total: 1,
            hash: [h ^ 0xff; 32],
        },
    }
}

fn block(h: u8) -> BlockRef {
    BlockRef { id: bid(h) }
}

#[tokio::test]
async fn votes_proposals_and_extensions_verify_only_unchanged_and_on_their_chain() {
    let ctx = SynodContext::new("synod-test");
    let signer = Ed25519Signer::new("synod-test", key(1));
    let verifier = Ed25519Verifier::new("synod-test");
    let other_chain = Ed25519Verifier::new("other-chain");
    let me = ValidatorAddress::of(&signer.public_key());
    let pk = signer.public_key();

    let vote = ctx.new_precommit(BlockHeight(5), Round::new(1), NilOrVal::Val(bid(7)), me);
    let signed = signer.sign_vote(vote.clone()).await.unwrap();
    assert!(verifier
        .verify_signed_vote(&vote, &signed.signature, &pk)
        .await
        .unwrap()
        .is_valid());
    assert!(other_chain
        .verify_signed_vote(&vote, &signed.signature, &pk)
        .await
        .unwrap()
        .is_invalid());
    let nil = ctx.new_precommit(BlockHeight(5), Round::new(1), NilOrVal::Nil, me);
    assert!(verifier
        .verify_signed_vote(&nil, &signed.signature, &pk)
        .await
        .unwrap()
        .is_invalid());
    // The vote's time is signed: moved by a nanosecond, or made unreadable,
    // the signature no longer verifies.
    let mut moved_time = signed.signature;
    moved_time.timestamp.nanos = (moved_time.timestamp.nanos + 1) % 1_000_000_000;
    assert!(verifier
        .verify_signed_vote(&vote, &moved_time, &pk)
        .await
        .unwrap()
        .is_invalid());
    let mut unreadable = signed.signature;
    unreadable.timestamp.nanos = -1;
    assert!(verifier
        .verify_signed_vote(&vote, &unreadable, &pk)
        .await
        .unwrap()
        .is_invalid());
    // Another block id with the same header hash is another value.
    let mut other_parts = vote.clone();
    other_parts.value = NilOrVal::Val(BlockId {
        parts: PartSetHeader {
            total: 2,
            ..bid(7).parts
        },
        ..bid(7)
    });
    assert!(verifier
        .verify_signed_vote(&other_parts, &signed.signature, &pk)
        .await
        .unwrap()
        .is_invalid());
    let prevote = ctx.new_prevote(BlockHeight(5), Round::new(1), NilOrVal::Val(bid(7)), me);
    assert!(
        verifier
            .verify_signed_vote(&prevote, &signed.signature, &pk)
            .await
            .unwrap()
            .is_invalid(),
        "a precommit signature is not a prevote signature"
    );

    let proposal = ctx.new_proposal(BlockHeight(5), Round::new(0), block(3), Round::Nil, me);
    let sp = signer.sign_proposal(proposal.clone()).await.unwrap();
    assert!(verifier
        .verify_signed_proposal(&proposal, &sp.signature, &pk)
        .await
        .unwrap()
        .is_valid());
    // A proposal signature carries no time: one with a time is refused.
    let mut timed = sp.signature;
    timed.timestamp.seconds = 1;
    assert!(verifier
        .verify_signed_proposal(&proposal, &timed, &pk)
        .await
        .unwrap()
        .is_invalid());
    let moved = ctx.new_proposal(BlockHeight(6), Round::new(0), block(3), Round::Nil, me);
    assert!(verifier
        .verify_signed_proposal(&moved, &sp.signature, &pk)
        .await
        .unwrap()
        .is_invalid());

    let scope = VoteExtensionScope::new(BlockHeight(5), Round::new(0), bid(3), me);
    let ext = bytes::Bytes::from_static(b"extension");
    let se = signer
        .sign_vote_extension(scope.clone(), ext.clone())
        .await
        .unwrap();
    assert!(verifier
        .verify_signed_vote_extension(&scope, &ext, &se.signature, &pk)
        .await
        .unwrap()
        .is_valid());
    let forged = bytes::Bytes::from_static(b"extensioN");
    assert!(verifier
        .verify_signed_vote_extension(&scope, &forged, &se.signature, &pk)
        .await
        .unwrap()
        .is_invalid());

    let proof = signer
        .sign_validator_proof(pk.as_bytes().to_vec(), b"peer-id".to_vec())
        .await
        .unwrap();
    assert!(verifier
        .verify_validator_proof(&proof)
        .await
        .unwrap()
        .is_valid());
    let mut stolen = proof.clone();
    stolen.peer_id = b"other-peer".to_vec();
    assert!(verifier
        .verify_validator_proof(&stolen)
        .await
        .unwrap()
        .is_invalid());
}

#[test]
fn validator_sets_are_ordered_like_cometbft_and_refuse_bad_input() {
    let s = set(&[10, 30, 10, 0]);
    assert_eq!(s.count(), 3, "zero-power validators are left out");
    assert_eq!(s.total_voting_power(), 50);
    assert_eq!(s.get_by_index(0).unwrap().voting_power(), 30);
    let (a, b) = (s.get_by_index(1).unwrap(), s.get_by_index(2).unwrap());
    assert!(a.address < b.address, "equal power: by address");
    assert_eq!(s.get_by_address(&a.address), Some(a));
    assert_eq!(ValidatorSet::new(Vec::new()), Err(ValidatorSetError::Empty));
    let v = Validator::new(key(9).public_key(), 1);
    assert!(matches!(
        ValidatorSet::new(vec![v.clone(), v]),
        Err(ValidatorSetError::Duplicate(_))
    ));
    assert_eq!(
        ValidatorSet::new(vec![
            Validator::new(key(1).public_key(), u64::MAX),
            Validator::new(key(2).public_key(), 1)
        ]),
        Err(ValidatorSetError::PowerOverflow)
    );
}

#[test]
fn proposers_are_deterministic_and_follow_stake() {
    let ctx = SynodContext::new("synod-test");
    let s = set(&[60, 30, 10]);
    let mut counts = [0u32; 3];
    for h in 1..=2_000u64 {
        let p = ctx.select_proposer(&s, BlockHeight(h), Round::new(0));
        assert_eq!(
            p,
            ctx.select_proposer(&s, BlockHeight(h), Round::new(0)),
            "same inputs, same proposer"
        );
        let i = s.validators().iter().position(|v| v == p).unwrap();
        counts[i] += 1;
    }
    assert!(
        counts[0] > counts[1] && counts[1] > counts[2],
        "proposals follow power: {counts:?}"
    );
    assert!(
        counts[2] > 100,
        "every validator proposes sometimes: {counts:?}"
    );
    // A new round usually picks someone else.
    let changed = (1..=200u64)
        .filter(|h| {
            ctx.select_proposer(&s, BlockHeight(*h), Round::new(0))
                != ctx.select_proposer(&s, BlockHeight(*h), Round::new(1))
        })
        .count();
    assert!(changed > 50, "{changed}");
}

#[test]
fn heights_step_and_never_wrap() {
    assert_eq!(BlockHeight(4).increment(), BlockHeight(5));
    assert_eq!(BlockHeight(0).decrement(), None);
    assert_eq!(BlockHeight(u64::MAX).increment(), BlockHeight(u64::MAX));
}

#[tokio::test]
async fn the_signer_never_signs_two_messages_for_one_position_even_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("priv_validator_state.json");
    // As `synod-node init` (and CometBFT) write it: nothing signed yet.
    std::fs::write(
        &path,
        "{\n  \"height\": \"0\",\n  \"round\": 0,\n  \"step\": 0\n}\n",
    )
    .unwrap();
    let ctx = SynodContext::new("synod-test");
    let signer = Ed25519Signer::with_state_file("synod-test", key(1), path.clone()).unwrap();
    let me = ValidatorAddress::of(&signer.public_key());
    let vote_a = ctx.new_prevote(BlockHeight(5), Round::new(0), NilOrVal::Val(bid(1)), me);
    let vote_b = ctx.new_prevote(BlockHeight(5), Round::new(0), NilOrVal::Val(bid(2)), me);
    let first = signer.sign_vote(vote_a.clone()).await.unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2));
    // The same vote again, later: the same signature and time (CometBFT's
    // signer does the same; a restart may ask again).
    assert_eq!(
        signer.sign_vote(vote_a.clone()).await.unwrap().signature,
        first.signature
    );
    // A different message at the same position is a double sign.
    assert!(signer.sign_vote(vote_b.clone()).await.is_err());

    // A restarted signer remembers.
    let restarted = Ed25519Signer::with_state_file("synod-test", key(1), path.clone()).unwrap();
    assert!(
        restarted.sign_vote(vote_b).await.is_err(),
        "the conflict is refused after a restart too"
    );
    let older = ctx.new_precommit(BlockHeight(4), Round::new(3), NilOrVal::Nil, me);
    let err = restarted.sign_vote(older).await.unwrap_err();
    assert!(err.to_string().contains("double-sign"), "{err}");
    // Moving forward is fine: precommit after prevote, then the next height's proposal.
    let precommit = ctx.new_precommit(BlockHeight(5), Round::new(0), NilOrVal::Val(bid(1)), me);
    restarted.sign_vote(precommit).await.unwrap();
    // The file is CometBFT's format.
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(saved["height"], "5");
    assert_eq!(saved["round"], 0);
    assert_eq!(saved["step"], 3);
    assert!(saved["signbytes"].as_str().unwrap().len() > 64);
    let proposal = ctx.new_proposal(BlockHeight(6), Round::new(0), block(1), Round::Nil, me);
    restarted.sign_proposal(proposal).await.unwrap();
    // A corrupt state file is an error, not a fresh start.
    std::fs::write(&path, b"garbage").unwrap();
    let refused = Ed25519Signer::with_state_file("synod-test", key(1), path);
    assert!(matches!(
        refused,
        Err(SignRefused::State {
            source: SignStateError::Corrupt(_),
            ..
        })
    ));
    if let Err(e) = refused {
        assert!(e.to_string().contains(": corrupt: "), "{e}");
    }
}

#[tokio::test]
async fn malachites_vote_keeper_sees_one_vote_at_two_times_as_no_equivocation_but_two_values_as_one(
) {
    use malachitebft_app_channel::app::types::core::ThresholdParams;
    use malachitebft_core_votekeeper::keeper::VoteKeeper;
    let ctx = SynodContext::new("synod-test");
    // No sign-state file: this signer stamps every signature afresh.
    let signer = Ed25519Signer::new("synod-test", key(1));
    let me = ValidatorAddress::of(&signer.public_key());
    let mut keeper =
        VoteKeeper::<SynodContext>::new(set(&[10, 10, 10, 10]), ThresholdParams::default());
    let vote = |id| ctx.new_prevote(BlockHeight(5), Round::new(0), NilOrVal::Val(id), me);
    let early = signer.sign_vote(vote(bid(1))).await.unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2));
    let late = signer.sign_vote(vote(bid(1))).await.unwrap();
    assert_ne!(early.signature.timestamp, late.signature.timestamp);
    keeper.apply_vote(early, Round::new(0));
    keeper.apply_vote(late, Round::new(0));
    assert!(
        keeper.evidence().is_empty(),
        "one vote at two times is no equivocation"
    );
    let other = signer.sign_vote(vote(bid(2))).await.unwrap();
    keeper.apply_vote(other, Round::new(0));
    assert_eq!(keeper.evidence().get(&me).map(Vec::len), Some(1));
}
