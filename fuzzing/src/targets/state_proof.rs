//! `state_proof`: the Merkle proof bytes of an ABCI query answer, which a
//! client checks against an app hash before it believes the answer.

use std::sync::OnceLock;

use synod_abci_app::{query::query, testkit::TestChain};
use synod_protocol::{proof::verify_state_proof, Address};

use super::{Seed, Target};
use crate::{error::FuzzError, fixtures};

/// The `state_proof` target.
pub const TARGET: Target = Target {
    name: "state_proof",
    about: "synod_protocol::proof::verify_state_proof (borsh jmt proofs): no panic, and no proof proves two answers",
    run: state_proof,
    prepare,
    seeds,
    dictionary: &[],
    max_len: 16 * 1024,
    short_runs: 10_000,
    cap_in_all: None,
};

/// Real answers of the test net's genesis state, with their proofs.
struct Answers {
    root: [u8; 32],
    /// A funded account's state key, its value and the proof of it.
    present: (Vec<u8>, Vec<u8>, Vec<u8>),
    /// An unknown account's state key and the proof that it is absent.
    absent: (Vec<u8>, Vec<u8>),
}

fn answers() -> &'static Result<Answers, String> {
    static ANSWERS: OnceLock<Result<Answers, String>> = OnceLock::new();
    ANSWERS.get_or_init(|| {
        let dir = tempfile::tempdir().map_err(|e| format!("temporary folder: {e}"))?;
        let chain = TestChain::start(dir.path(), fixtures::net().clone())
            .map_err(|e| format!("the test chain: {e}"))?;
        let storage = chain.app.storage();
        let root = storage
            .committed()
            .ok_or("the test chain has no committed state")?
            .root;
        let proved = |address: Address| {
            let answer = query(storage, &format!("/account/{address}"), 0, true);
            let proof =
                answer.proofs.into_iter().next().ok_or_else(|| {
                    format!("no proof in the answer for {address}: {}", answer.log)
                })?;
            Ok::<_, String>((proof.key, answer.value, proof.proof))
        };
        let present = proved(fixtures::net().users[0].address())?;
        let (key, _, proof) = proved(Address([0xee; 20]))?;
        Ok(Answers {
            root,
            present,
            absent: (key, proof),
        })
    })
}

fn prepare() -> Result<(), FuzzError> {
    answers()
        .as_ref()
        .map(|_| ())
        .map_err(|reason| FuzzError::Fixture {
            target: "state_proof",
            reason: reason.clone(),
        })
}

/// Checks `data` as the proof of a funded account's value and of an unknown
/// account's absence under the genesis root: never a panic, and bytes that
/// prove an answer prove no other (another value, or absence).
pub fn state_proof(data: &[u8]) {
    let a = answers()
        .as_ref()
        .unwrap_or_else(|e| panic!("the state_proof fixture: {e}"));
    let (key, value, _) = &a.present;
    if verify_state_proof(a.root, key, Some(value), data).is_ok() {
        let mut other = value.clone();
        other.push(0);
        assert!(
            verify_state_proof(a.root, key, Some(&other), data).is_err(),
            "a proof proves two values"
        );
        assert!(
            verify_state_proof(a.root, key, None, data).is_err(),
            "a proof proves a value and its absence"
        );
    }
    let (key, _) = &a.absent;
    if verify_state_proof(a.root, key, None, data).is_ok() {
        assert!(
            verify_state_proof(a.root, key, Some(b"value"), data).is_err(),
            "a proof proves an absence and a value"
        );
    }
}

/// The real proofs of the two answers.
fn seeds() -> Result<Vec<Seed>, FuzzError> {
    let a = answers().as_ref().map_err(|reason| FuzzError::Seed {
        target: "state_proof",
        reason: reason.clone(),
    })?;
    Ok(vec![
        ("account_present.bin".to_owned(), a.present.2.clone()),
        ("account_absent.bin".to_owned(), a.absent.1.clone()),
    ])
}
