//! The registry against real proofs of the shipped digits MLP: genesis
//! registers it, a valid proof verifies in a block and emits
//! `InferenceVerified`, every bad submission gets its own code and message
//! and changes nothing but fee and nonce, two nodes agree, and a restarted
//! app re-derives its verifying keys.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;

use synod_protocol::{
    params::ChainParams,
    state::{ModelRecord, ModelStatus, VerificationMode},
    Amount, Event, Height, TxBody,
};
use synod_zkml::trace::tensor_leaf;

use super::testkit::{genesis_model, sample_input, shipped_model, Inference, Prover};
use super::{
    handlers::{check_submission, InferenceClaim},
    model, put_model,
};
use crate::{
    accounts,
    error::{HandlerError, TxError},
    query::{self, code},
    testkit::{TestAccount, TestChain, TestNet},
    App, Mempool,
};

/// Fee covering a transaction with a proof at the default per-byte rate.
const PROOF_FEE: Amount = Amount(200_000);

struct Fixture {
    mlp: Prover,
    /// Another model with the same input and output shapes.
    other: Prover,
    valid: Inference,
    /// Another valid proof of `mlp`, on another input.
    valid2: Inference,
    other_valid: Inference,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let max_k = ChainParams::default().models.max_k;
        let mlp = Prover::new(shipped_model("mlp.onnx", "digits-mlp"), max_k);
        let other = Prover::new(shipped_model("mlp-qdq.onnx", "digits-mlp-qdq"), max_k);
        let valid = mlp.prove(&sample_input(&mlp.model, 1));
        let valid2 = mlp.prove(&sample_input(&mlp.model, 2));
        let other_valid = other.prove(&sample_input(&other.model, 1));
        Fixture {
            mlp,
            other,
            valid,
            valid2,
            other_valid,
        }
    })
}

/// One validator, one user, both fixture models registered for zk.
fn net() -> TestNet {
    let f = fixture();
    let mut net = TestNet::new(1, 1, ChainParams::default());
    net.genesis.models = vec![
        genesis_model(&f.mlp.model, &[VerificationMode::Zk]),
        genesis_model(
            &f.other.model,
            &[VerificationMode::Optimistic, VerificationMode::Zk],
        ),
    ];
    net
}

/// The claim a `SubmitInferenceProof` transaction makes.
fn claim_of(tx: &synod_protocol::SignedTx) -> InferenceClaim<'_> {
    match &tx.body {
        TxBody::SubmitInferenceProof {
            model,
            input,
            output,
            proof,
        } => InferenceClaim {
            model,
            input,
            output,
            proof,
        },
        other => panic!("not a proof submission: {other:?}"),
    }
}

fn submission(model: [u8; 32], inference: &Inference) -> TxBody {
    TxBody::SubmitInferenceProof {
        model,
        input: inference.input.values().to_vec(),
        output: inference.output.values().to_vec(),
        proof: inference.proof.clone(),
    }
}

fn sign(user: &mut TestAccount, body: TxBody) -> Vec<u8> {
    let bytes = user.sign_with(body, user.nonce, PROOF_FEE);
    user.nonce += 1;
    bytes
}

#[test]
fn genesis_registers_the_model_with_its_key_hash_and_shapes() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let chain = TestChain::start(dir.path(), net()).unwrap();
    let record = model(&chain.state(), &f.mlp.id()).unwrap().unwrap();
    assert_eq!(record.name, "digits-mlp");
    assert_eq!(record.status, ModelStatus::Active);
    assert_eq!(record.modes, vec![VerificationMode::Zk]);
    assert_eq!(record.k, f.mlp.setup.verifier.k);
    assert_eq!(
        record.vk_hash,
        synod_zkml::circuit::vk_hash(&f.mlp.setup.verifier.vk)
    );
    assert_eq!(record.input_shape, f.mlp.model.input.shape);
    assert_eq!(record.output_shape, f.valid.output.shape());
    assert!(record.parameter_count > 1_000);
    let mut ids = chain.app.verifiers().model_ids();
    ids.sort();
    let mut expected = vec![f.mlp.id(), f.other.id()];
    expected.sort();
    assert_eq!(ids, expected);

    // The queries: one model with a Merkle proof, and the list.
    let hex_id = hex::encode(f.mlp.id());
    let one = query::query(chain.app.storage(), &format!("/model/{hex_id}"), 0, true);
    assert_eq!(one.code, code::OK, "{}", one.log);
    assert_eq!(
        synod_protocol::codec::decode::<ModelRecord>(&one.value).unwrap(),
        record
    );
    assert_eq!(one.proofs.len(), 1);
    let all = query::query(chain.app.storage(), "/models", 0, false);
    let list: Vec<ModelRecord> = synod_protocol::codec::decode(&all.value).unwrap();
    assert_eq!(list.len(), 2);
    let missing = query::query(
        chain.app.storage(),
        &format!("/model/{}", "00".repeat(32)),
        0,
        false,
    );
    assert_eq!(missing.code, code::NOT_FOUND);
    let params = query::query(chain.app.storage(), "/params", 0, true);
    assert_eq!(params.code, code::OK, "{}", params.log);
    assert_eq!(params.proofs.len(), ChainParams::MODULES.len());
}

#[test]
fn a_valid_proof_verifies_in_a_block_and_emits_inference_verified() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let mut chain = TestChain::start(dir.path(), net()).unwrap();
    let mut user = chain.net.users[0].clone();
    let tx = sign(&mut user, submission(f.mlp.id(), &f.valid));

    // CheckTx accepts it (the cheap checks only).
    let mut mempool = Mempool::new(&chain.app);
    assert_eq!(mempool.check(&tx).unwrap().code(), 0);

    let out = chain.block(vec![tx]).unwrap();
    let r = &out.tx_results[0];
    assert_eq!(r.code(), 0, "{}", r.log());
    let verified = r
        .events
        .iter()
        .find(|e| matches!(e, Event::InferenceVerified { .. }))
        .expect("an InferenceVerified event");
    assert_eq!(
        verified,
        &Event::InferenceVerified {
            model: f.mlp.id(),
            submitter: user.address(),
            input_commitment: tensor_leaf(&f.valid.input),
            output: f.valid.output.values().to_vec(),
        }
    );
    let attrs = verified.attributes();
    assert!(attrs.contains(&("model", hex::encode(f.mlp.id()))));
}

/// Submits `body` alone in a block; asserts its code and message, and that
/// the signer paid exactly the fee, used one nonce and got no other event.
fn assert_rejected(
    chain: &mut TestChain,
    user: &mut TestAccount,
    body: TxBody,
    code: u32,
    message: &str,
) {
    let before = accounts::account(&chain.state(), &user.address()).unwrap();
    let tx = sign(user, body);
    let out = chain.block(vec![tx]).unwrap();
    let r = &out.tx_results[0];
    assert_eq!(r.code(), code, "{}", r.log());
    assert!(r.log().contains(message), "{:?} lacks {message:?}", r.log());
    assert_eq!(
        r.events,
        vec![Event::FeePaid {
            payer: user.address(),
            fee: PROOF_FEE
        }]
    );
    let after = accounts::account(&chain.state(), &user.address()).unwrap();
    assert_eq!(after.nonce, before.nonce + 1);
    assert_eq!(
        after.balance,
        before.balance.checked_sub(PROOF_FEE).unwrap()
    );
}

#[test]
fn every_bad_submission_gets_its_code_and_pays_only_fee_and_nonce() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let mut chain = TestChain::start(dir.path(), net()).unwrap();
    let mut user = chain.net.users[0].clone();
    let id = f.mlp.id();

    // A flipped byte inside the proof.
    let mut mutated = f.valid.clone();
    let mid = mutated.proof.len() / 2;
    mutated.proof[mid] ^= 0x01;
    assert_rejected(
        &mut chain,
        &mut user,
        submission(id, &mutated),
        27,
        "invalid proof for model",
    );

    // A valid proof of another model, claimed for this one.
    assert_rejected(
        &mut chain,
        &mut user,
        submission(id, &f.other_valid),
        27,
        "invalid proof for model",
    );

    // The right proof with a different output.
    let mut wrong = f.valid.clone();
    let mut values = wrong.output.values().to_vec();
    values[0] = if values[0] == 0 { 1 } else { 0 };
    wrong.output = synod_zkml::Tensor::new(wrong.output.shape().to_vec(), values).unwrap();
    assert_rejected(
        &mut chain,
        &mut user,
        submission(id, &wrong),
        27,
        "does not verify",
    );

    // A model nobody registered.
    assert_rejected(
        &mut chain,
        &mut user,
        submission([9; 32], &f.valid),
        23,
        "unknown model",
    );

    // A proof over the size limit.
    let mut big = f.valid.clone();
    big.proof = vec![0; ChainParams::default().models.max_proof_bytes as usize + 1];
    assert_rejected(
        &mut chain,
        &mut user,
        submission(id, &big),
        25,
        "max_proof_bytes",
    );

    // An input of the wrong length.
    let TxBody::SubmitInferenceProof {
        model,
        mut input,
        output,
        proof,
    } = submission(id, &f.valid)
    else {
        unreachable!()
    };
    input.pop();
    assert_rejected(
        &mut chain,
        &mut user,
        TxBody::SubmitInferenceProof {
            model,
            input,
            output,
            proof,
        },
        26,
        "wrong input",
    );

    // And the valid proof still verifies after all that.
    let out = chain
        .block(vec![sign(&mut user, submission(id, &f.valid))])
        .unwrap();
    assert_eq!(out.tx_results[0].code(), 0, "{}", out.tx_results[0].log());
}

#[test]
fn check_tx_refuses_what_the_cheap_checks_can_see_and_defers_the_proof() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let chain = TestChain::start(dir.path(), net()).unwrap();
    let mut user = chain.net.users[0].clone();
    let mut mempool = Mempool::new(&chain.app);
    let unknown = sign(&mut user, submission([9; 32], &f.valid));
    assert_eq!(mempool.check(&unknown).unwrap().code(), 23);
    user.nonce -= 1; // refused by CheckTx: the nonce was not used
    let mut mutated = f.valid.clone();
    mutated.proof[10] ^= 0xff;
    let deferred = sign(&mut user, submission(f.mlp.id(), &mutated));
    assert_eq!(mempool.check(&deferred).unwrap().code(), 0);
}

#[test]
fn the_cheap_checks_name_retired_optimistic_only_and_out_of_range_submissions() {
    let (_dir, mut state) = crate::testkit::scratch_state();
    let record = ModelRecord {
        id: [1; 32],
        name: "m".into(),
        vk_hash: [0; 32],
        k: 10,
        modes: vec![VerificationMode::Zk],
        status: ModelStatus::Retired {
            at_height: Height(7),
        },
        registered_height: Height(0),
        parameter_count: 1,
        input_shape: vec![1, 2],
        output_shape: vec![1],
        predecessor: None,
        successor: None,
        retire_at: Some(Height(7)),
    };
    put_model(&mut state, &record);
    let code_of = |state: &crate::state::State, id: [u8; 32], input: &[i32]| {
        let claim = InferenceClaim {
            model: &id,
            input,
            output: &[0],
            proof: &[0; 8],
        };
        match check_submission(state, claim) {
            Err(HandlerError::Tx(e)) => (e.code(), e.to_string()),
            Ok(_) => (0, String::new()),
            Err(e) => panic!("{e}"),
        }
    };
    let (c, msg) = code_of(&state, [1; 32], &[0, 0]);
    assert_eq!(c, 24);
    assert!(msg.contains("retired at height 7"), "{msg}");

    put_model(
        &mut state,
        &ModelRecord {
            id: [2; 32],
            status: ModelStatus::Active,
            modes: vec![VerificationMode::Optimistic],
            ..record.clone()
        },
    );
    let (c, msg) = code_of(&state, [2; 32], &[0, 0]);
    assert_eq!(c, 28, "{msg}");

    put_model(
        &mut state,
        &ModelRecord {
            id: [3; 32],
            status: ModelStatus::Active,
            ..record
        },
    );
    assert_eq!(code_of(&state, [3; 32], &[0, 0]).0, 0);
    let (c, msg) = code_of(&state, [3; 32], &[0, 300]);
    assert_eq!(c, 29);
    assert!(msg.contains("position 1"), "{msg}");
    assert_eq!(code_of(&state, [3; 32], &[0]).0, 26);
    assert_eq!(
        TxError::InvalidProof {
            model: "m".into(),
            reason: "r".into()
        }
        .code(),
        27
    );
}

#[test]
fn two_apps_fed_the_same_blocks_with_proofs_agree_on_every_app_hash() {
    let f = fixture();
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let net = net();
    let mut a = TestChain::start(d1.path(), net.clone()).unwrap();
    let mut b = TestChain::start(d2.path(), net.clone()).unwrap();
    assert_eq!(a.app.info(), b.app.info(), "genesis hashes differ");
    let mut user = net.users[0].clone();
    let mut mutated = f.valid.clone();
    mutated.proof[100] ^= 0x10;
    let blocks = vec![
        vec![sign(&mut user, submission(f.mlp.id(), &f.valid))],
        vec![
            sign(&mut user, submission(f.other.id(), &f.other_valid)),
            sign(&mut user, submission(f.mlp.id(), &mutated)),
            sign(&mut user, submission(f.mlp.id(), &f.valid)),
        ],
        vec![],
    ];
    for (h, txs) in blocks.into_iter().enumerate() {
        let block = a.next_block(txs);
        let (oa, ob) = (a.apply(&block).unwrap(), b.apply(&block).unwrap());
        assert_eq!(
            oa.app_hash,
            ob.app_hash,
            "app hashes differ at height {}",
            h + 1
        );
        let codes: Vec<u32> = oa.tx_results.iter().map(|r| r.code()).collect();
        assert_eq!(
            codes,
            ob.tx_results.iter().map(|r| r.code()).collect::<Vec<_>>()
        );
        assert_eq!(oa.tx_results, ob.tx_results);
        if h == 1 {
            assert_eq!(codes, vec![0, 27, 0]);
        }
    }
}

#[test]
fn a_restarted_app_rebuilds_its_verifying_keys_from_state() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let mut chain = TestChain::start(dir.path(), net()).unwrap();
    chain.block(vec![]).unwrap();
    let storage = chain.app.storage().clone();
    drop(chain.app);
    let app = App::new(storage).unwrap();
    let mut ids = app.verifiers().model_ids();
    ids.sort();
    let mut expected = vec![f.mlp.id(), f.other.id()];
    expected.sort();
    assert_eq!(ids, expected, "every zk model's key is derived at start");
    let mut chain = TestChain {
        app,
        net: chain.net,
        height: chain.height,
        absent: Default::default(),
    };
    let mut user = chain.net.users[0].clone();
    let out = chain
        .block(vec![sign(&mut user, submission(f.mlp.id(), &f.valid))])
        .unwrap();
    assert_eq!(out.tx_results[0].code(), 0, "{}", out.tx_results[0].log());
}

#[test]
fn a_restart_refuses_a_stored_key_hash_this_build_does_not_derive() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let chain = TestChain::start(dir.path(), net()).unwrap();
    let mut state = chain.state();
    let mut record = model(&state, &f.mlp.id()).unwrap().unwrap();
    record.vk_hash[0] ^= 1;
    put_model(&mut state, &record);
    let err = super::VerifierCache::rebuild(&state)
        .unwrap_err()
        .to_string();
    assert!(err.contains("digits-mlp"), "{err}");
    assert!(err.contains("refusing to verify"), "{err}");
}

#[test]
fn genesis_names_the_model_that_cannot_be_registered() {
    let f = fixture();
    let mut bad = net();
    // The stated id no longer matches the contents.
    let mut file = f.mlp.model.to_file_bytes();
    file[12] ^= 0xff;
    use base64::Engine;
    bad.genesis.models[1].model = base64::engine::general_purpose::STANDARD.encode(file);
    let dir = tempfile::tempdir().unwrap();
    let err = TestChain::start(dir.path(), bad).err().unwrap().to_string();
    assert!(err.contains("app_state.models[1]"), "{err}");
    assert!(err.contains("model id"), "{err}");

    let mut bad = net();
    bad.genesis.models[0].model = "not base64!".into();
    let dir = tempfile::tempdir().unwrap();
    let err = TestChain::start(dir.path(), bad).err().unwrap().to_string();
    assert!(
        err.contains("app_state.models[0]") && err.contains("base64"),
        "{err}"
    );

    let mut bad = net();
    bad.genesis.models.push(bad.genesis.models[0].clone());
    let dir = tempfile::tempdir().unwrap();
    let err = TestChain::start(dir.path(), bad).err().unwrap().to_string();
    assert!(
        err.contains("app_state.models[2]") && err.contains("digits-mlp") && err.contains("twice"),
        "{err}"
    );
}

#[test]
fn a_block_verifies_the_proofs_of_one_model_in_one_batch() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let mut chain = TestChain::start(dir.path(), net()).unwrap();
    let mut user = chain.net.users[0].clone();
    let signed = |user: &mut TestAccount, body| {
        synod_protocol::SignedTx::decode(&sign(user, body), 1 << 20).unwrap()
    };
    let a = signed(&mut user, submission(f.mlp.id(), &f.valid));
    let b = signed(&mut user, submission(f.mlp.id(), &f.valid2));
    let c = signed(&mut user, submission(f.other.id(), &f.other_valid));
    let cache = chain.app.verifiers().clone();
    let comps = chain.app.components().clone();
    let with_len = |txs: &[&synod_protocol::SignedTx]| -> Vec<(synod_protocol::SignedTx, usize)> {
        txs.iter()
            .map(|t| ((*t).clone(), t.encode().len()))
            .collect()
    };
    let preverify = |txs: &[&synod_protocol::SignedTx]| {
        let owned = with_len(txs);
        let refs: Vec<(&synod_protocol::SignedTx, usize)> =
            owned.iter().map(|(t, l)| (t, *l)).collect();
        super::batch::preverify(&chain.state(), &comps, &refs, &cache).unwrap()
    };
    let batched = preverify(&[&a, &b, &c]);
    // Two proofs of one model: one batch. A lone proof is left to its tx.
    assert_eq!(batched.len(), 2);

    let mut mutated = f.valid2.clone();
    mutated.proof[64] ^= 0x04;
    let bad = signed(&mut user, submission(f.mlp.id(), &mutated));
    let batched = preverify(&[&a, &bad]);
    assert!(
        batched.is_empty(),
        "a pair with a bad proof verifies nothing: each proof is checked alone"
    );
    // One bad proof among four: the batch is halved, and the good half passes.
    let again = signed(&mut user, submission(f.mlp.id(), &f.valid));
    let batched = preverify(&[&a, &b, &again, &bad]);
    assert_eq!(
        batched.len(),
        2,
        "the half without the bad proof is verified"
    );
    assert!(batched.contains(claim_of(&a)) && batched.contains(claim_of(&b)));
    assert!(!batched.contains(claim_of(&bad)));

    // In a block: the batch's claims succeed, the bad one alone fails.
    let out = chain
        .block(vec![a.encode(), b.encode(), c.encode(), bad.encode()])
        .unwrap();
    let codes: Vec<u32> = out.tx_results.iter().map(|r| r.code()).collect();
    assert_eq!(codes, vec![0, 0, 0, 27]);
    let commitments: Vec<_> = out
        .tx_results
        .iter()
        .flat_map(|r| &r.events)
        .filter_map(|e| match e {
            Event::InferenceVerified {
                input_commitment, ..
            } => Some(*input_commitment),
            _ => None,
        })
        .collect();
    assert_eq!(
        commitments,
        vec![
            tensor_leaf(&f.valid.input),
            tensor_leaf(&f.valid2.input),
            tensor_leaf(&f.other_valid.input)
        ]
    );
}

/// Finding 7 of the hardening issue: a proof pays for its verification, in
/// proportion to its circuit's `2^k` rows; a fee that covers only its bytes
/// is refused before any verification (alone or in a batch).
#[test]
fn a_proof_pays_for_its_verification_by_circuit_size() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let mut chain = TestChain::start(dir.path(), net()).unwrap();
    let user = chain.net.users[0].clone();
    let record = model(&chain.state(), &f.mlp.id()).unwrap().unwrap();
    let p = ChainParams::default();
    let verify = p.models.verify_fee(record.k);
    assert_eq!(
        verify.0,
        u128::from(p.models.verify_fee_per_row_usyn) << record.k
    );
    assert!(!verify.is_zero());

    // A fee that covers the bytes but not the verification: refused, code 8.
    let body = submission(f.mlp.id(), &f.valid);
    let probe = user.sign_with(body.clone(), user.nonce, PROOF_FEE);
    let bytes_fee = p.accounts.min_fee(probe.len());
    let short = Amount(bytes_fee.0 + verify.0 - 10);
    let tx = user.sign_with(body.clone(), user.nonce, short);
    let twin = user.sign_with(submission(f.mlp.id(), &f.valid2), user.nonce, short);
    let decoded = |b: &[u8]| synod_protocol::SignedTx::decode(b, 1 << 20).unwrap();
    // The batch leaves out claims whose fee does not cover verification.
    let (a, b) = (decoded(&tx), decoded(&twin));
    let batched = super::batch::preverify(
        &chain.state(),
        chain.app.components(),
        &[(&a, tx.len()), (&b, twin.len())],
        chain.app.verifiers(),
    )
    .unwrap();
    assert!(batched.is_empty(), "underpaid claims are never verified");
    let out = chain.block(vec![tx.clone()]).unwrap();
    let r = &out.tx_results[0];
    assert_eq!(r.code(), 8, "{}", r.log());
    // Its gas counts the circuit's rows too, whatever became of it.
    assert_eq!(
        r.gas,
        crate::gas::GAS_PER_TX
            + crate::gas::GAS_PER_BYTE * tx.len() as u64
            + (crate::gas::GAS_PER_PROOF_ROW << record.k)
    );
    assert!(
        r.log().contains("pays for verifying the proof"),
        "{}",
        r.log()
    );

    // The same claim with the full fee is verified.
    let full = Amount(bytes_fee.0 + verify.0 + 64);
    let ok = user.sign_with(body, user.nonce, full);
    let out = chain.block(vec![ok]).unwrap();
    assert_eq!(out.tx_results[0].code(), 0, "{}", out.tx_results[0].log());
}
