use super::*;
use crate::block::{CommitVote, HeaderHashes};
use crate::context::PartSetHeader;
use malachitebft_signing_ed25519::PrivateKey;

fn parent_id() -> BlockId {
    BlockId {
        hash: [3; 32],
        parts: PartSetHeader {
            total: 1,
            hash: [4; 32],
        },
    }
}

fn t(seconds: i64, nanos: i32) -> BlockTime {
    BlockTime { seconds, nanos }
}

#[test]
fn the_header_time_must_be_the_bft_time_of_the_last_commit() {
    let vote = |address: u8, power: i64, signed: bool, time: BlockTime| CommitVote {
        address: [address; 20],
        power,
        signed,
        signature: signed.then_some([0; 64]),
        timestamp: if signed { time } else { BlockTime::GO_ZERO },
    };
    let genesis = t(500, 0);
    // The first block takes the genesis time.
    assert_eq!(block_time_of(genesis, None, &[]), genesis);
    assert_eq!(check_block_time(genesis, genesis), Ok(()));
    // Later: the weighted median of the signed votes; absent ones count for
    // nothing (their Go-zero time would otherwise pull it back).
    let commit = [
        vote(1, 10, true, t(1_001, 0)),
        vote(2, 10, true, t(1_002, 0)),
        vote(3, 30, true, t(1_003, 0)),
        vote(4, 40, false, t(0, 0)),
    ];
    let expected = block_time_of(genesis, Some(t(1_000, 0)), &commit);
    assert_eq!(expected, t(1_003, 0));
    assert_eq!(check_block_time(expected, t(1_003, 0)), Ok(()));
    // A proposer that picks another time, even a later one, is refused.
    for got in [t(1_003, 1), t(1_002, 0), t(1_010, 0)] {
        assert!(
            matches!(
                check_block_time(expected, got),
                Err(BlockTimeError::NotBftTime { .. })
            ),
            "{got:?}"
        );
    }
    // Votes older than the previous block: 1 ms after it.
    assert_eq!(
        block_time_of(genesis, Some(t(2_000, 0)), &commit),
        t(2_000, 1_000_000)
    );
}

fn commit_block(keys: &[PrivateKey], signers: &[usize]) -> DecidedBlock {
    let parent = parent_id();
    let last_commit = keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let address = ValidatorAddress::of(&k.public_key());
            // Each precommit has its own time.
            let timestamp = t(1_000 + i as i64, 7);
            let signature = signers.contains(&i).then(|| {
                let vote = Vote {
                    vote_type: VoteType::Precommit,
                    height: BlockHeight(4),
                    round: Round::new(1),
                    value: NilOrVal::Val(parent),
                    validator: address,
                    extension: None,
                };
                k.sign(&vote_sign_bytes("c", &vote, timestamp)).to_bytes()
            });
            CommitVote {
                address: address.0,
                power: 10,
                signed: signature.is_some(),
                signature,
                timestamp,
            }
        })
        .collect();
    DecidedBlock {
        version_app: 0,
        chain_id: "c".into(),
        height: 5,
        round: 0,
        time: Default::default(),
        proposer_address: [0; 20],
        last_block_id: parent,
        app_hash: vec![],
        hashes: HeaderHashes::default(),
        last_commit_round: 1,
        last_commit,
        misbehavior: vec![],
        txs: vec![],
    }
}

#[test]
fn a_last_commit_must_be_signed_by_more_than_two_thirds_and_cannot_be_forged() {
    let keys: Vec<PrivateKey> = (1..=4u8).map(|i| PrivateKey::from([i; 32])).collect();
    let set: Vec<StoredValidator> = keys
        .iter()
        .map(|k| (*k.public_key().as_bytes(), 10))
        .collect();
    assert!(verify_last_commit("c", &set, &commit_block(&keys, &[0, 1, 2])).is_ok());
    let two = verify_last_commit("c", &set, &commit_block(&keys, &[0, 1])).unwrap_err();
    assert!(
        matches!(
            two,
            LastCommitError::NotEnoughPower {
                signed: 20,
                total: 40
            }
        ),
        "{two}"
    );
    assert!(two.to_string().contains("two thirds"), "{two}");
    // A validator marked as signed with someone else's signature.
    let mut forged = commit_block(&keys, &[0, 1, 2]);
    forged.last_commit[3].signed = true;
    forged.last_commit[3].signature = forged.last_commit[0].signature;
    assert!(matches!(
        verify_last_commit("c", &set, &forged),
        Err(LastCommitError::BadSignature { .. })
    ));
    // A precommit's time moved: its signature no longer verifies.
    let mut moved = commit_block(&keys, &[0, 1, 2]);
    moved.last_commit[0].timestamp.nanos += 1;
    assert!(matches!(
        verify_last_commit("c", &set, &moved),
        Err(LastCommitError::BadSignature { .. })
    ));
    // A commit for another block id (same hash, other parts).
    let mut other = commit_block(&keys, &[0, 1, 2]);
    other.last_block_id.parts.total = 2;
    assert!(matches!(
        verify_last_commit("c", &set, &other),
        Err(LastCommitError::BadSignature { .. })
    ));
    // Signed without a signature.
    let mut bare = commit_block(&keys, &[0, 1, 2]);
    bare.last_commit[3].signed = true;
    assert!(matches!(
        verify_last_commit("c", &set, &bare),
        Err(LastCommitError::MissingSignature { .. })
    ));
    // A signature for another chain, and a shuffled or shortened list.
    assert!(verify_last_commit("d", &set, &commit_block(&keys, &[0, 1, 2])).is_err());
    let mut shuffled = commit_block(&keys, &[0, 1, 2]);
    shuffled.last_commit.swap(0, 1);
    assert!(matches!(
        verify_last_commit("c", &set, &shuffled),
        Err(LastCommitError::NotInOrder { height: 4 })
    ));
    let mut short = commit_block(&keys, &[0, 1, 2]);
    short.last_commit.pop();
    assert!(matches!(
        verify_last_commit("c", &set, &short),
        Err(LastCommitError::WrongLength {
            listed: 3,
            expected: 4,
            ..
        })
    ));
}

#[test]
fn refusals_read_as_before_the_typed_errors() {
    // Operators grep the logs for these texts: the typed errors keep them.
    let wrong_app_hash = InvalidBlock::WrongAppHash {
        theirs: vec![0xab],
        ours: vec![0xcd],
    };
    assert_eq!(
        wrong_app_hash.to_string(),
        "the header's app hash is ab, this node's is cd"
    );
    let short = InvalidBlock::from(LastCommitError::WrongLength {
        listed: 3,
        height: 4,
        expected: 4,
    });
    assert_eq!(
        short.to_string(),
        "bad last commit: the last commit lists 3 validators; height 4 had 4"
    );
    let too_many = InvalidBlock::from(InvalidEvidence::TooMany { count: 17 });
    assert_eq!(
        too_many.to_string(),
        "bad evidence: 17 evidence records, at most 16"
    );
    let forged = InvalidBlock::from(InvalidEvidence::from(EvidenceError::BadSignature));
    assert_eq!(
        forged.to_string(),
        "bad evidence: a vote's signature does not verify with the validator's key"
    );
}

#[test]
fn a_time_the_app_cannot_read_is_refused_at_every_height() {
    // One second later in total nanoseconds, but nanos = -1: tendermint-rs
    // (the app's ABCI layer) cannot read it; refused even when it is what
    // the rule computes (a genesis time no app could read).
    for got in [t(999, -1), t(998, 1_000_000_000), t(-62_135_596_801, 0)] {
        assert!(
            matches!(
                check_block_time(got, got),
                Err(BlockTimeError::OutOfRange { .. })
            ),
            "{got:?}"
        );
    }
    // The first second of year 1 is readable.
    assert_eq!(
        check_block_time(t(-62_135_596_800, 0), t(-62_135_596_800, 0)),
        Ok(())
    );
}

fn block_at(time: BlockTime) -> DecidedBlock {
    DecidedBlock {
        version_app: 0,
        chain_id: "c".into(),
        height: 5,
        round: 0,
        time,
        proposer_address: [0; 20],
        last_block_id: parent_id(),
        app_hash: vec![],
        hashes: HeaderHashes::default(),
        last_commit_round: 0,
        last_commit: vec![],
        misbehavior: vec![],
        txs: vec![b"tx".to_vec()],
    }
}

#[test]
fn evidence_with_a_time_the_app_cannot_read_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = BlockStore::open(dir.path()).unwrap();
    let mut block = block_at(t(1_000, 0));
    block.misbehavior = vec![crate::block::Misbehavior {
        address: [1; 20],
        validator_index: 0,
        power: 10,
        height: 3,
        time: t(900, -1),
        total_voting_power: 40,
        votes: vec![],
    }];
    let err = check_evidence("c", &store, &block).unwrap_err();
    assert!(matches!(err, InvalidEvidence::BadTime { .. }), "{err}");
    assert!(err.to_string().contains("not a valid timestamp"), "{err}");
    // The general check names the request the app could not read.
    let err = check_readable(&block).unwrap_err();
    assert!(err.to_string().contains("FinalizeBlock request"), "{err}");
}

#[test]
fn a_block_the_app_can_read_passes_the_conversion_check() {
    check_readable(&block_at(t(1_000, 5))).unwrap();
    let err = check_readable(&block_at(t(1_000, -5))).unwrap_err();
    assert!(err.to_string().contains("ProcessProposal request"), "{err}");
}

#[test]
fn a_block_over_block_max_bytes_is_refused_before_decoding() {
    assert!(check_size(2048, 2048).is_ok());
    let e = check_size(2049, 2048).unwrap_err();
    assert!(matches!(
        e,
        InvalidBlock::TooLarge {
            len: 2049,
            max: 2048
        }
    ));
    assert!(e.to_string().contains("block.max_bytes = 2048"), "{e}");
}

/// A tip and a block that extends it with every header hash right.
fn tip_and_block() -> (Tip<'static>, DecidedBlock) {
    let tip = Tip {
        chain_id: "c",
        version_app: 0,
        last_block_id: parent_id(),
        last_app_hash: &[9, 9],
        last_block_time: Some(t(999, 0)),
        genesis_time: t(900, 0),
        validators_hash: [11; 32],
        next_validators_hash: [12; 32],
        consensus_hash: [13; 32],
        last_results_hash: [14; 32],
    };
    let mut block = block_at(t(1_000, 0));
    block.app_hash = vec![9, 9];
    block.hashes = HeaderHashes {
        validators: [11; 32],
        next_validators: [12; 32],
        consensus: [13; 32],
        last_results: [14; 32],
        ..HeaderHashes::default()
    };
    block.seal();
    (tip, block)
}

/// A change to one of a header's hashes.
type BreakHash = fn(&mut HeaderHashes);

#[test]
fn a_proposal_with_any_wrong_header_field_is_refused_and_names_it() {
    let (tip, block) = tip_and_block();
    check_header(&tip, &block).unwrap();
    let hashes: Vec<(&str, BreakHash)> = vec![
        ("last_commit_hash", |h| h.last_commit[0] ^= 1),
        ("data_hash", |h| h.data[0] ^= 1),
        ("validators_hash", |h| h.validators[0] ^= 1),
        ("next_validators_hash", |h| h.next_validators[0] ^= 1),
        ("consensus_hash", |h| h.consensus[0] ^= 1),
        ("last_results_hash", |h| h.last_results[0] ^= 1),
        ("evidence_hash", |h| h.evidence[0] ^= 1),
    ];
    for (name, break_it) in hashes {
        let mut wrong = block.clone();
        break_it(&mut wrong.hashes);
        let e = check_header(&tip, &wrong).unwrap_err();
        assert!(
            matches!(e, InvalidBlock::WrongHash { field, .. } if field == name),
            "{name}: {e}"
        );
        assert!(e.to_string().contains(name), "{e}");
    }
    // Contents that no longer match their hashes: a tx added after sealing.
    let mut more = block.clone();
    more.txs.push(b"another".to_vec());
    assert!(matches!(
        check_header(&tip, &more),
        Err(InvalidBlock::WrongHash {
            field: "data_hash",
            ..
        })
    ));
    let mut other_version = block.clone();
    other_version.version_app = 2;
    assert!(matches!(
        check_header(&tip, &other_version),
        Err(InvalidBlock::WrongAppVersion { theirs: 2, ours: 0 })
    ));
    let mut other_chain = block.clone();
    other_chain.chain_id = "d".into();
    assert!(matches!(
        check_header(&tip, &other_chain),
        Err(InvalidBlock::WrongChain { .. })
    ));
    let mut other_parent = block.clone();
    other_parent.last_block_id.parts.hash[0] ^= 1;
    assert!(matches!(
        check_header(&tip, &other_parent),
        Err(InvalidBlock::WrongLastBlock { .. })
    ));
    let mut other_app = block;
    other_app.app_hash.push(0);
    assert!(matches!(
        check_header(&tip, &other_app),
        Err(InvalidBlock::WrongAppHash { .. })
    ));
}
