//! Real proofs of the shipped models (imported from zkml/models/*.onnx with
//! calibration): prove, verify, reject tampering and the wrong key,
//! batch-verify; keys are deterministic.

use synod_zkml::circuit::fixtures::{calibration_images, models_dir};
use synod_zkml::circuit::{
    params, prove_inference, verify_inference, verify_inference_batch, vk_hash, VerifyError,
    ZkModel, DEFAULT_MAX_K,
};
use synod_zkml::interp::Tensor;
use synod_zkml::ir::Model;
use synod_zkml::onnx::{import, quantize_input, ImportOptions};

fn import_shipped(file: &str) -> Model {
    let bytes = std::fs::read(models_dir().join(file)).expect("model file");
    let mut calibration = calibration_images();
    assert_eq!(calibration[0].len(), 64);
    calibration.truncate(20);
    import(
        &bytes,
        &ImportOptions {
            calibration: Some(calibration),
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("{file}: {e}"))
    .model
}

fn image(model: &Model, index: usize) -> Tensor {
    quantize_input(&model.input, &calibration_images()[index]).expect("quantizes")
}

#[test]
fn shipped_mlp_and_cnn_prove_and_verify_and_reject_the_other_key() {
    let mlp = import_shipped("mlp.onnx");
    let cnn = import_shipped("cnn.onnx");
    let zk_mlp = ZkModel::from_ir(&mlp, DEFAULT_MAX_K).expect("mlp fits");
    let zk_cnn = ZkModel::from_ir(&cnn, DEFAULT_MAX_K).expect("cnn fits");
    println!("mlp k = {}, cnn k = {}", zk_mlp.k(), zk_cnn.k());

    let p_mlp = params(zk_mlp.k()).expect("params");
    let p_cnn = if zk_cnn.k() == zk_mlp.k() {
        p_mlp.clone()
    } else {
        params(zk_cnn.k()).expect("params")
    };
    let setup_mlp = zk_mlp.setup(&p_mlp).expect("setup");
    let setup_cnn = zk_cnn.setup(&p_cnn).expect("setup");
    // The verifier's key derived independently equals the prover's.
    let key_mlp = zk_mlp.verifier_key(&p_mlp).expect("vk");
    let key_cnn = zk_cnn.verifier_key(&p_cnn).expect("vk");
    assert_eq!(vk_hash(&key_mlp.vk), vk_hash(setup_mlp.vk()));
    assert_eq!(vk_hash(&key_cnn.vk), vk_hash(setup_cnn.vk()));
    assert_ne!(vk_hash(&key_mlp.vk), vk_hash(&key_cnn.vk));

    let x_mlp = image(&mlp, 0);
    let (y_mlp, proof_mlp) = prove_inference(&setup_mlp, &x_mlp).expect("prove mlp");
    verify_inference(&p_mlp, &key_mlp, &x_mlp, &y_mlp, &proof_mlp).expect("mlp verifies");

    let x_cnn = image(&cnn, 0);
    let (y_cnn, proof_cnn) = prove_inference(&setup_cnn, &x_cnn).expect("prove cnn");
    verify_inference(&p_cnn, &key_cnn, &x_cnn, &y_cnn, &proof_cnn).expect("cnn verifies");

    // The mlp proof against the cnn key: refused, also with the tensors
    // reshaped to the cnn's shapes (then only the proof can object).
    assert!(verify_inference(&p_cnn, &key_cnn, &x_mlp, &y_mlp, &proof_mlp).is_err());
    let as_cnn = |t: &Tensor, shape: &[u32]| {
        (t.values().len() == shape.iter().product::<u32>() as usize)
            .then(|| Tensor::new(shape.to_vec(), t.values().to_vec()).expect("tensor"))
    };
    if let (Some(x), Some(y)) = (
        as_cnn(&x_mlp, &key_cnn.input_shape),
        as_cnn(&y_mlp, &key_cnn.output_shape),
    ) {
        assert!(verify_inference(&p_cnn, &key_cnn, &x, &y, &proof_mlp).is_err());
    }

    // A wrong output fails.
    for (y, key, x, proof, p) in [
        (&y_mlp, &key_mlp, &x_mlp, &proof_mlp, &p_mlp),
        (&y_cnn, &key_cnn, &x_cnn, &proof_cnn, &p_cnn),
    ] {
        let mut values = y.values().to_vec();
        values[0] = if values[0] == 0 { 1 } else { values[0] - 1 };
        let wrong = Tensor::new(y.shape().to_vec(), values).expect("tensor");
        assert!(matches!(
            verify_inference(p, key, x, &wrong, proof),
            Err(VerifyError::Invalid)
        ));
        let mut flipped = proof.clone();
        flipped[proof.len() / 2] ^= 1;
        assert!(verify_inference(p, key, x, y, &flipped).is_err());
        assert!(verify_inference(p, key, x, y, &proof[..proof.len() - 1]).is_err());
    }

    // A batch of two cnn proofs verifies; one wrong output fails it.
    let x2 = image(&cnn, 1);
    let (y2, proof2) = prove_inference(&setup_cnn, &x2).expect("prove cnn");
    let batch = vec![
        (x_cnn.clone(), y_cnn.clone(), proof_cnn.clone()),
        (x2.clone(), y2.clone(), proof2.clone()),
    ];
    verify_inference_batch(&p_cnn, &key_cnn, &batch).expect("batch verifies");
    let mut bad = batch.clone();
    bad[1].1 = y_cnn.clone();
    if y_cnn != y2 {
        assert!(matches!(
            verify_inference_batch(&p_cnn, &key_cnn, &bad),
            Err(VerifyError::BatchInvalid { count: 2 })
        ));
    }
    let mut swapped = batch;
    swapped[0].2 = proof2;
    assert!(verify_inference_batch(&p_cnn, &key_cnn, &swapped).is_err());
}

#[test]
fn the_vk_of_the_same_ir_derived_twice_hashes_equal() {
    let cnn = import_shipped("cnn.onnx");
    let again = import_shipped("cnn.onnx");
    assert_eq!(cnn, again, "the import is deterministic");
    let a = ZkModel::from_ir(&cnn, DEFAULT_MAX_K).expect("fits");
    let b = ZkModel::from_ir(&again, DEFAULT_MAX_K).expect("fits");
    assert_eq!(a.model_id(), b.model_id());
    let hash_a = vk_hash(
        &a.verifier_key(&params(a.k()).expect("params"))
            .expect("vk")
            .vk,
    );
    let hash_b = vk_hash(
        &b.verifier_key(&params(b.k()).expect("params"))
            .expect("vk")
            .vk,
    );
    assert_eq!(hash_a, hash_b);
}

#[test]
fn a_per_channel_model_proves_and_its_key_commits_to_every_channel() {
    // onnxruntime's per-channel QDQ CNN: each conv filter and each dense
    // output has its own requantization multiplier.
    let model = import_shipped("cnn-qdq-channel.onnx");
    let zk = ZkModel::from_ir(&model, DEFAULT_MAX_K).expect("fits");
    let p = params(zk.k()).expect("params");
    let setup = zk.setup(&p).expect("setup");
    let key = zk.verifier_key(&p).expect("vk");
    let x = image(&model, 2);
    let (y, proof) = prove_inference(&setup, &x).expect("proves");
    assert_eq!(
        y,
        synod_zkml::interp::run(&model, &x).expect("runs"),
        "the proved output is the interpreter's"
    );
    verify_inference(&p, &key, &x, &y, &proof).expect("verifies");

    // The same model with one filter's multiplier nudged: another key, and
    // the proof does not verify under it.
    let mut nudged = model.clone();
    let Some(synod_zkml::ir::Op::Conv2d { channels, .. }) =
        nudged.nodes.iter_mut().map(|n| &mut n.op).next()
    else {
        panic!("the CNN starts with a Conv2d");
    };
    assert_eq!(channels.len(), 4, "per-channel requantization");
    channels[3].multiplier += 1;
    let other = ZkModel::from_ir(&nudged, DEFAULT_MAX_K).expect("fits");
    let other_key = other.verifier_key(&p).expect("vk");
    assert_ne!(vk_hash(&key.vk), vk_hash(&other_key.vk));
    assert!(matches!(
        verify_inference(&p, &other_key, &x, &y, &proof),
        Err(VerifyError::Invalid)
    ));
}
