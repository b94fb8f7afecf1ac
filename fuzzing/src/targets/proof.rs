//! `proof`: the proof bytes of a `SubmitInferenceProof` transaction (or of
//! `synod model verify`), checked against the shipped MLP's verifying key.

use std::num::NonZeroUsize;

use synod_zkml::{
    circuit::{verify_inference, verify_inference_batch_with_workers},
    Tensor,
};

use super::{Seed, Target};
use crate::{
    error::FuzzError,
    fixtures::{self, mlp_verifier},
};

/// The `proof` target.
pub const TARGET: Target = Target {
    name: "proof",
    about: "halo2 proof bytes against the shipped MLP's verifying key, single and batch verifiers (slow: milliseconds an input)",
    run: proof,
    prepare,
    seeds,
    dictionary: &[],
    max_len: 16 * 1024,
    short_runs: 200,
    cap_in_all: Some(20_000),
};

fn prepare() -> Result<(), FuzzError> {
    mlp_verifier()
        .as_ref()
        .map(|_| ())
        .map_err(|reason| FuzzError::Fixture {
            target: "proof",
            reason: reason.clone(),
        })
}

/// Verifies `data` as a proof that the MLP maps the fixture input to its
/// output, with the single verifier (clients) and the batch verifier (the
/// chain): neither panics, they agree, and bytes that verify do not also
/// prove another output.
pub fn proof(data: &[u8]) {
    let v = mlp_verifier()
        .as_ref()
        .unwrap_or_else(|e| panic!("the proof fixture: {e}"));
    let single = verify_inference(&v.params, &v.key, &v.input, &v.output, data);
    let batch = verify_inference_batch_with_workers(
        &v.params,
        &v.key,
        &[(v.input.clone(), v.output.clone(), data.to_vec())],
        NonZeroUsize::MIN,
    );
    assert_eq!(
        single.is_ok(),
        batch.is_ok(),
        "the verifiers disagree: single {single:?}, batch {batch:?}"
    );
    if single.is_ok() {
        let mut values = v.output.values().to_vec();
        if let Some(first) = values.first_mut() {
            *first = if *first == 0 { 1 } else { 0 };
        }
        let other = Tensor::new(v.output.shape().to_vec(), values)
            .unwrap_or_else(|e| panic!("the output shape: {e}"));
        assert!(
            verify_inference(&v.params, &v.key, &v.input, &other, data).is_err(),
            "a proof verifies for two outputs"
        );
    }
}

/// A real proof of the fixture inference, and its first half.
fn seeds() -> Result<Vec<Seed>, FuzzError> {
    let proof = fixtures::mlp_proof()
        .as_ref()
        .map_err(|reason| FuzzError::Seed {
            target: "proof",
            reason: reason.clone(),
        })?;
    Ok(vec![
        ("mlp_proof.bin".to_owned(), proof.clone()),
        (
            "mlp_proof_first_half.bin".to_owned(),
            proof[..proof.len() / 2].to_vec(),
        ),
    ])
}
