//! Real proofs: prove, verify, reject tampering, batch-verify.
//! (Pending: becomes zkml/tests/circuit_prove.rs once `prove` compiles in the crate.)

use synod_zkml::circuit::{
    fixtures::{random_input, random_mlp},
    prove, setup, verifier_key, verify, verify_batch, vk_hash, BatchItem, VerifyError,
    DEFAULT_MAX_K,
};

#[test]
fn a_proof_verifies_and_every_tampering_is_an_error() {
    let spec = random_mlp(&[16, 8, 4], 5);
    let setup = setup(&spec, 9, DEFAULT_MAX_K).expect("setup");
    let key = &setup.verifier;
    let input = random_input(16, 9);
    let (output, proof) = prove(&setup, &input).expect("prove");
    assert_eq!(output, spec.evaluate(&input).expect("valid"));
    verify(&setup.params, key, &input, &output, &proof).expect("honest proof verifies");

    for i in [0, 100, proof.len() / 2, proof.len() - 1] {
        let mut flipped = proof.clone();
        flipped[i] ^= 1;
        assert!(
            verify(&setup.params, key, &input, &output, &flipped).is_err(),
            "byte {i}"
        );
    }
    for len in [0, 1, 64, proof.len() / 2, proof.len() - 1] {
        assert!(
            verify(&setup.params, key, &input, &output, &proof[..len]).is_err(),
            "length {len}"
        );
    }
    let mut padded = proof.clone();
    padded.push(0);
    assert!(matches!(
        verify(&setup.params, key, &input, &output, &padded),
        Err(VerifyError::TrailingBytes { extra: 1, .. })
    ));
    let mut wrong = output.clone();
    wrong[0] = wrong[0].wrapping_add(1);
    assert!(matches!(
        verify(&setup.params, key, &input, &wrong, &proof),
        Err(VerifyError::Invalid)
    ));

    let other = random_mlp(&[16, 8, 4], 6);
    let other_key = verifier_key(&setup.params, &other, DEFAULT_MAX_K).expect("keygen");
    assert_ne!(vk_hash(&other_key.vk), vk_hash(&key.vk));
    assert!(verify(&setup.params, &other_key, &input, &output, &proof).is_err());
}

#[test]
fn a_batch_of_four_verifies_and_one_bad_proof_fails_it() {
    let spec = random_mlp(&[16, 8, 4], 5);
    let setup = setup(&spec, 9, DEFAULT_MAX_K).expect("setup");
    let runs: Vec<_> = (0..4)
        .map(|seed| {
            let input = random_input(16, seed);
            let (output, proof) = prove(&setup, &input).expect("prove");
            (input, output, proof)
        })
        .collect();
    let items: Vec<_> = runs
        .iter()
        .map(|(input, output, proof)| BatchItem {
            input,
            output,
            proof,
        })
        .collect();
    verify_batch(&setup.params, &setup.verifier, &items).expect("batch verifies");

    let mut wrong = runs[2].1.clone();
    wrong[1] = wrong[1].wrapping_add(1);
    let mut bad = items.clone();
    bad[2].output = &wrong;
    assert!(matches!(
        verify_batch(&setup.params, &setup.verifier, &bad),
        Err(VerifyError::BatchInvalid { count: 4 })
    ));
    let mut swapped = items.clone();
    swapped[0].proof = runs[1].2.as_slice();
    assert!(verify_batch(&setup.params, &setup.verifier, &swapped).is_err());
}
