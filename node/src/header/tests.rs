#![allow(clippy::unwrap_used)]

use malachitebft_app_channel::app::types::core::{NilOrVal, Round, VoteType};
use malachitebft_app_channel::Signer;
use malachitebft_signing_ed25519::PrivateKey;
use tendermint_light_client_verifier::{
    types::{UntrustedBlockState, ValidatorSet as TmValidatorSet},
    ProdVerifier, Verdict,
};

use super::*;
use crate::{
    block::{CommitVote, HeaderHashes, Misbehavior},
    context::{vote_sign_bytes, BlockHeight, Ed25519Signer, Validator, ValidatorAddress, Vote},
    evidence::EvidenceVote,
};

const CHAIN: &str = "synod-test";

fn keys() -> Vec<PrivateKey> {
    (1..=4u8).map(|i| PrivateKey::from([i; 32])).collect()
}

fn set() -> ValidatorSet {
    ValidatorSet::new(keys().iter().map(|k| Validator::new(k.public_key(), 10))).unwrap()
}

fn block(height: u64) -> DecidedBlock {
    let set = set();
    let mut b = DecidedBlock {
        version_app: 1,
        chain_id: CHAIN.into(),
        height,
        round: 0,
        time: BlockTime {
            seconds: 1_700_000_000 + height as i64,
            nanos: 5,
        },
        proposer_address: set.validators()[0].address.0,
        last_block_id: BlockId {
            hash: [7; 32],
            parts: PartSetHeader {
                total: 1,
                hash: [8; 32],
            },
        },
        app_hash: vec![1, 2, 3],
        hashes: HeaderHashes {
            validators: validators_hash(&set),
            next_validators: validators_hash(&set),
            consensus: consensus_hash(22_020_096, -1),
            last_results: results_hash(&[]),
            ..HeaderHashes::default()
        },
        last_commit_round: 0,
        last_commit: Vec::new(),
        misbehavior: Vec::new(),
        txs: vec![b"tx-1".to_vec(), b"tx-2".to_vec()],
    };
    b.seal();
    b
}

/// A change to one field of a block.
type Mutation = fn(&mut DecidedBlock);

#[test]
fn the_block_hash_is_tendermint_rs_header_hash_and_every_field_changes_it() {
    let b = block(5);
    let id = b.id().unwrap();
    assert_eq!(b.header().unwrap().hash(), Hash::Sha256(id.hash));
    // The header survives CometBFT's protobuf form unchanged.
    let proto = b.to_proto().unwrap();
    let back = block::Header::try_from(proto.header.clone().unwrap()).unwrap();
    assert_eq!(back.hash(), Hash::Sha256(id.hash));
    assert_eq!(
        id.parts,
        part_set_header(&proto.encode_to_vec()),
        "the part set is the protobuf block's"
    );
    let mutations: Vec<(&str, Mutation)> = vec![
        ("app version", |b| b.version_app += 1),
        ("chain id", |b| b.chain_id.push('x')),
        ("height", |b| b.height += 1),
        ("time", |b| b.time.nanos += 1),
        ("last block id", |b| b.last_block_id.parts.total += 1),
        ("app hash", |b| b.app_hash.push(0)),
        ("proposer", |b| b.proposer_address[0] ^= 1),
        ("last commit hash", |b| b.hashes.last_commit[0] ^= 1),
        ("data hash", |b| b.hashes.data[0] ^= 1),
        ("validators hash", |b| b.hashes.validators[0] ^= 1),
        ("next validators hash", |b| b.hashes.next_validators[0] ^= 1),
        ("consensus hash", |b| b.hashes.consensus[0] ^= 1),
        ("results hash", |b| b.hashes.last_results[0] ^= 1),
        ("evidence hash", |b| b.hashes.evidence[0] ^= 1),
    ];
    for (name, mutate) in mutations {
        let mut changed = b.clone();
        mutate(&mut changed);
        assert_ne!(changed.id().unwrap().hash, id.hash, "{name}");
    }
    // A tx changes the parts (and, sealed, the data hash and the header).
    let mut more = b.clone();
    more.txs.push(b"tx-3".to_vec());
    assert_eq!(more.id().unwrap().hash, id.hash);
    assert_ne!(more.id().unwrap().parts, id.parts);
    more.seal();
    assert_ne!(more.id().unwrap().hash, id.hash);
}

#[test]
fn hashes_of_nothing_are_cometbfts_empty_hash() {
    let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    assert_eq!(hex::encode(data_hash(&[])), empty);
    assert_eq!(hex::encode(results_hash(&[])), empty);
    assert_eq!(hex::encode(evidence_hash(&[])), empty);
}

#[test]
fn the_validators_hash_is_tendermint_rs_validator_set_hash() {
    let infos: Vec<tendermint::validator::Info> = keys()
        .iter()
        .map(|k| {
            tendermint::validator::Info::new(
                tendermint::PublicKey::from_raw_ed25519(k.public_key().as_bytes()).unwrap(),
                10u32.into(),
            )
        })
        .collect();
    let theirs = tendermint::validator::Set::without_proposer(infos).hash();
    assert_eq!(theirs, Hash::Sha256(validators_hash(&set())));
}

/// tendermint-rs' vote for a precommit of `id` at `time` by validator `index`.
fn tendermint_vote(
    id: &BlockId,
    time: BlockTime,
    address: [u8; 20],
    index: u16,
) -> tendermint::vote::Vote {
    tendermint::vote::Vote {
        vote_type: tendermint::vote::Type::Precommit,
        height: 5u32.into(),
        round: 2u16.into(),
        block_id: Some(block::Id {
            hash: Hash::Sha256(id.hash),
            part_set_header: block::parts::Header::new(id.parts.total, Hash::Sha256(id.parts.hash))
                .unwrap(),
        }),
        timestamp: Some(time.to_tendermint().unwrap()),
        validator_address: tendermint::account::Id::new(address),
        validator_index: tendermint::vote::ValidatorIndex::try_from(u32::from(index)).unwrap(),
        signature: None,
        extension: Default::default(),
        extension_signature: None,
    }
}

#[test]
fn votes_are_signed_over_cometbfts_canonical_sign_bytes() {
    let id = block(5).id().unwrap();
    let time = BlockTime {
        seconds: 1_700_000_123,
        nanos: 456,
    };
    let address = ValidatorAddress::of(&keys()[0].public_key());
    let ours = Vote {
        vote_type: VoteType::Precommit,
        height: BlockHeight(5),
        round: Round::new(2),
        value: NilOrVal::Val(id),
        validator: address,
        extension: None,
    };
    let theirs = tendermint_vote(&id, time, address.0, 0);
    let chain = tendermint::chain::Id::try_from(CHAIN).unwrap();
    assert_eq!(
        vote_sign_bytes(CHAIN, &ours, time),
        theirs.clone().into_signable_vec(chain.clone())
    );
    // A nil prevote: no block id at all.
    let nil = Vote {
        vote_type: VoteType::Prevote,
        value: NilOrVal::Nil,
        ..ours
    };
    let theirs_nil = tendermint::vote::Vote {
        vote_type: tendermint::vote::Type::Prevote,
        block_id: None,
        ..theirs
    };
    assert_eq!(
        vote_sign_bytes(CHAIN, &nil, time),
        theirs_nil.into_signable_vec(chain)
    );
}

/// Block 5 and the commit of its precommits signed by our signer, as
/// tendermint-rs' light-client types.
async fn signed_block_5() -> (
    block::signed_header::SignedHeader,
    TmValidatorSet,
    pbt::Commit,
) {
    let b = block(5);
    let id = b.id().unwrap();
    let set = set();
    let mut votes = Vec::new();
    for v in set.validators() {
        let key = keys()
            .into_iter()
            .find(|k| ValidatorAddress::of(&k.public_key()) == v.address)
            .unwrap();
        let signer = Ed25519Signer::new(CHAIN, key);
        let vote = Vote {
            vote_type: VoteType::Precommit,
            height: BlockHeight(5),
            round: Round::new(0),
            value: NilOrVal::Val(id),
            validator: v.address,
            extension: None,
        };
        let signed = signer.sign_vote(vote).await.unwrap();
        votes.push(CommitVote {
            address: v.address.0,
            power: v.voting_power as i64,
            signed: true,
            signature: Some(signed.signature.signature.to_bytes()),
            timestamp: signed.signature.timestamp,
        });
    }
    let commit = commit_proto(5, 0, &id, &votes);
    let tm_set = tendermint::validator::Set::without_proposer(
        set.validators()
            .iter()
            .map(|v| {
                tendermint::validator::Info::new(
                    tendermint::PublicKey::from_raw_ed25519(v.public_key.as_bytes()).unwrap(),
                    v.voting_power.try_into().unwrap(),
                )
            })
            .collect(),
    );
    let header = block::signed_header::SignedHeader::new(
        b.header().unwrap(),
        block::Commit::try_from(commit.clone()).unwrap(),
    )
    .unwrap();
    (header, tm_set, commit)
}

fn verdict(header: &block::signed_header::SignedHeader, set: &TmValidatorSet) -> Verdict {
    let verifier = ProdVerifier::default();
    let untrusted = UntrustedBlockState {
        signed_header: header,
        validators: set,
        next_validators: Some(set),
    };
    match verifier.verify_validator_sets(&untrusted) {
        Verdict::Success => verifier.verify_commit(&untrusted),
        other => other,
    }
}

#[tokio::test]
async fn a_commit_of_our_precommits_verifies_with_the_light_client_and_tampering_fails() {
    let (header, set, commit) = signed_block_5().await;
    assert_eq!(verdict(&header, &set), Verdict::Success);

    let tampered = |change: &dyn Fn(&mut pbt::Commit)| {
        let mut c = commit.clone();
        change(&mut c);
        let header = block::signed_header::SignedHeader::new(
            header.header.clone(),
            block::Commit::try_from(c).unwrap(),
        )
        .unwrap();
        verdict(&header, &set)
    };
    // One vote's time moved by a nanosecond, one signature flipped: that
    // vote no longer counts, and 3 of 4 equal powers are not more than 2/3
    // only if two fail; flip two of each.
    let later = tampered(&|c| {
        for s in &mut c.signatures[..2] {
            if let Some(t) = s.timestamp.as_mut() {
                t.nanos += 1;
            }
        }
    });
    assert!(
        matches!(later, Verdict::Invalid(_) | Verdict::NotEnoughTrust(_)),
        "{later:?}"
    );
    let forged = tampered(&|c| {
        for s in &mut c.signatures[..2] {
            let mut sig = s.signature.to_vec();
            sig[0] ^= 1;
            s.signature = sig;
        }
    });
    assert!(
        matches!(forged, Verdict::Invalid(_) | Verdict::NotEnoughTrust(_)),
        "{forged:?}"
    );
    // A header that is not the committed one.
    let mut other = header.header.clone();
    other.app_hash = tendermint::AppHash::try_from(vec![9]).unwrap();
    let forged_header =
        block::signed_header::SignedHeader::new(other, header.commit.clone()).unwrap();
    assert!(matches!(verdict(&forged_header, &set), Verdict::Invalid(_)));
}

/// A block a CometBFT v0.38 network decided (chain `provi`, height 549,
/// with a last commit of three signatures and one duplicate-vote evidence),
/// as its RPC served it; the values are those of tendermint-rs' fixture
/// `tendermint-rpc/tests/kvstore_fixtures/v0_38/incoming/block_search_evidence.json`.
/// Our encoding must give back the hashes and the block id CometBFT
/// computed for it.
fn cometbft_block_549() -> DecidedBlock {
    let h = |s: &str| -> [u8; 32] { hex::decode(s).unwrap().try_into().unwrap() };
    let a = |s: &str| -> [u8; 20] { hex::decode(s).unwrap().try_into().unwrap() };
    let sig = |s: &str| -> [u8; 64] { hex::decode(s).unwrap().try_into().unwrap() };
    let t = |seconds, nanos| BlockTime { seconds, nanos };
    let commit = |address: &str, time: BlockTime, signature: &str| CommitVote {
        address: a(address),
        power: 1,
        signed: true,
        signature: Some(sig(signature)),
        timestamp: time,
    };
    let offender = a("C888306A908A217B9A943D1DAD8790044D0947A4");
    let vote = |value, timestamp, signature: &str| EvidenceVote {
        kind: 2,
        height: 547,
        round: 0,
        value,
        validator: offender,
        signature: sig(signature),
        timestamp,
    };
    DecidedBlock {
        version_app: 0,
        chain_id: "provi".into(),
        height: 549,
        round: 0,
        time: t(1_726_243_109, 677_606_671),
        proposer_address: a("99BD3A72EF12CD024E7584B3AC900AE3743C6ADF"),
        last_block_id: BlockId {
            hash: h("02E7201800A013798DE9CC5E158D227F465C6082C02891C27967CBB2E8D8322E"),
            parts: PartSetHeader {
                total: 1,
                hash: h("F60555618ED4ABB2BECBA4A5D3C8B366FD1B2040F660774275B02ADEB6E8F1CA"),
            },
        },
        app_hash: h("EEDC3EA34934725E9D2BF94C1D861B9E4438D7CBB76275B7F6C0C9EE23134238").to_vec(),
        hashes: HeaderHashes {
            last_commit: h("BA41D70D0B4133C8E088D627034AD9B0AB1C4B7B471F11CBE078E54FB78F8459"),
            data: h("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"),
            validators: h("CD0FED96CC6A2F96F9D6220901E3FF609DC6B8C80A32D90C9F466ED14F97AF30"),
            next_validators: h("FAE16F233FBF640966E76C54102B09010A54786E227A26227353E4BD4F0EDF54"),
            consensus: h("048091BC7DDC283F77BFBF91D73C44DA58C3DF8A9CBC867405D8B7F3DAADA22F"),
            last_results: h("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"),
            evidence: h("051CD844C65A51852281128722BC6BE700F2CC288F6C4AB808E06D9EF82170E5"),
        },
        last_commit_round: 0,
        last_commit: vec![
            commit(
                "06C0F3E47CC5C748269088DC2F36411D3AAA27C6",
                t(1_726_243_109, 677_606_671),
                "f6ff8f1472e9d3248ec6f55a532d2485c4a1bc051c47794d1134238ea0f639c62fc144ac4ad6b7fe60adb8311208de85565ff4f0d92390f9ac46bd007628790e",
            ),
            commit(
                "99BD3A72EF12CD024E7584B3AC900AE3743C6ADF",
                t(1_726_243_109, 574_657_588),
                "88c630b4e123ac495841fbf976be350096d69f94074056e90e1d460ed1fea05f84f2399d6bb740e4a51958de05b87c0a522f9c2ea90daf40227caea2ce10d209",
            ),
            commit(
                "C888306A908A217B9A943D1DAD8790044D0947A4",
                t(1_726_243_109, 575_293_338),
                "8083ac620e38b36c8f6f0147d73f2c36a8056fc042985b4be46c94a0c7c893c00e336e7978ea5305d73c6b8b8dfda56f2852e555d63ece870b6d7ae8ed3d5c08",
            ),
        ],
        misbehavior: vec![Misbehavior {
            address: offender,
            validator_index: 2,
            power: 99,
            height: 547,
            time: t(1_726_243_107, 59_566_170),
            total_voting_power: 1509,
            votes: vec![
                vote(
                    None,
                    t(1_726_243_108, 469_186_921),
                    "854ecde89e394ca28783bff1b1bccbcd2bd9b2ee712610c2d7049416960ba8cfed71a75aba0c27ec10d1c1716178a55da06551fdbe20f376d730d78e38808006",
                ),
                vote(
                    Some(BlockId {
                        hash: h("36A6DC9D9DC15034156C81083294FE0F48F62CBBECBAB58D50E6873323ADC1DE"),
                        parts: PartSetHeader {
                            total: 1,
                            hash: h("BA930F53061BDAEFB9C761E44CAB36817009DAC8BDE1B1E16B2A527B4B30F30C"),
                        },
                    }),
                    t(1_726_243_108, 364_807_546),
                    "d312f8b2f87152f42bb19159a9769eafea4a234d1de23d178b4deea9820833307460a806a959497c2f36f282626535f7883f5bb7fc502bbd9e28caa17574b70a",
                ),
            ],
        }],
        txs: vec![],
    }
}

#[test]
fn a_block_cometbft_decided_gives_back_cometbfts_hashes_and_block_id() {
    let b = cometbft_block_549();
    // CometBFT lists the vote with the smaller block id first (here the nil one).
    let votes = &b.misbehavior[0].votes;
    assert_eq!(
        crate::evidence::in_cometbft_order(votes[1].clone(), votes[0].clone()).to_vec(),
        *votes
    );
    let (last_commit, data, evidence) = b.content_hashes();
    assert_eq!(last_commit, b.hashes.last_commit, "last_commit_hash");
    assert_eq!(data, b.hashes.data, "data_hash");
    assert_eq!(evidence, b.hashes.evidence, "evidence_hash");
    let id = b.id().unwrap();
    assert_eq!(
        hex::encode_upper(id.hash),
        "9A32DFAD3F04AB0573D91D08F12766A159E5ADFE4FA14DFD569B234DA5933ADB",
        "header hash"
    );
    assert_eq!(id.parts.total, 1);
    assert_eq!(
        hex::encode_upper(id.parts.hash),
        "D3C3646B934B783DF7F469EF0BC610AE0CE713A5DDE2A452B5F9395513CF542E",
        "part-set hash: our protobuf block is byte for byte CometBFT's"
    );
}
