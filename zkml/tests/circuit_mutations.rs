//! Property: one valid proof of the shipped MLP verifies; every mutation of
//! it (any byte of the proof flipped, any output value changed, any input
//! value changed) is refused with an error, never a panic and never Ok.

use std::path::PathBuf;
use std::sync::OnceLock;

use proptest::prelude::*;
use synod_zkml::circuit::{
    params, prove_inference, verify_inference, VerifierKey, ZkModel, DEFAULT_MAX_K,
};
use synod_zkml::interp::Tensor;
use synod_zkml::onnx::{import, ImportOptions};

type Params = halo2_proofs::poly::commitment::Params<halo2_proofs::pasta::EqAffine>;

struct Proved {
    params: Params,
    key: VerifierKey,
    input: Tensor,
    output: Tensor,
    proof: Vec<u8>,
}

/// One real proof, made once for every case.
fn proved() -> &'static Proved {
    static PROVED: OnceLock<Proved> = OnceLock::new();
    PROVED.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models");
        let bytes = std::fs::read(dir.join("mlp-qdq.onnx")).expect("shipped model");
        // The QDQ model carries its own scales: no calibration needed.
        let model = import(&bytes, &ImportOptions::default())
            .expect("imports")
            .model;
        let zk = ZkModel::from_ir(&model, DEFAULT_MAX_K).expect("fits");
        let params = params(zk.k()).expect("params");
        let setup = zk.setup(&params).expect("keys");
        let values = (0..64).map(|i| (i * 29 % 256) - 128).collect();
        let input = Tensor::new(vec![64], values).expect("input");
        let (output, proof) = prove_inference(&setup, &input).expect("proves");
        let key = zk.verifier_key(&params).expect("vk");
        verify_inference(&params, &key, &input, &output, &proof)
            .expect("the honest proof verifies");
        Proved {
            params,
            key,
            input,
            output,
            proof,
        }
    })
}

fn with_value(t: &Tensor, index: usize, delta: i32) -> Tensor {
    let mut values = t.values().to_vec();
    let i = index % values.len();
    // Stay inside int8 so the shape and range checks pass: only the proof can refuse it.
    values[i] = if values[i] + delta > 127 || values[i] + delta < -128 {
        values[i] - delta
    } else {
        values[i] + delta
    };
    Tensor::new(t.shape().to_vec(), values).expect("same shape")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn a_flipped_proof_byte_is_refused(position in any::<usize>(), bit in 0u8..8) {
        let p = proved();
        let mut proof = p.proof.clone();
        let i = position % proof.len();
        proof[i] ^= 1 << bit;
        prop_assert!(verify_inference(&p.params, &p.key, &p.input, &p.output, &proof).is_err());
    }

    #[test]
    fn a_changed_output_is_refused(index in any::<usize>(), delta in 1i32..50) {
        let p = proved();
        let output = with_value(&p.output, index, delta);
        prop_assert!(verify_inference(&p.params, &p.key, &p.input, &output, &p.proof).is_err());
    }

    #[test]
    fn a_changed_input_is_refused(index in any::<usize>(), delta in 1i32..50) {
        let p = proved();
        let input = with_value(&p.input, index, delta);
        prop_assert!(verify_inference(&p.params, &p.key, &input, &p.output, &p.proof).is_err());
    }
}
