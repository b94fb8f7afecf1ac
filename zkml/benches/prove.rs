//! Prover and verifier figures (release build) for the shipped MLP and CNN,
//! a 64->32 dense layer and the 10.5k-parameter MLP, the ONNX models imported
//! with the first 20 calibration images. Run with
//! `cargo bench -p synod-zkml --bench prove`.

use std::path::PathBuf;
use std::time::Instant;

use synod_zkml::circuit::{
    fixtures::{random_input, random_mlp},
    params, prove_inference, verify_inference, verify_inference_batch, ZkModel, DEFAULT_MAX_K,
};
use synod_zkml::interp::Tensor;
use synod_zkml::ir::Model;
use synod_zkml::onnx::{import, quantize_input, ImportOptions};

const BATCH: usize = 32;

fn models_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models")
}

/// The images of `digits-calibration.json` (machine-written, no whitespace).
fn calibration_images() -> Vec<Vec<f32>> {
    let text = std::fs::read_to_string(models_dir().join("digits-calibration.json"))
        .expect("calibration file");
    let start = text.find("\"inputs\":[").expect("inputs") + "\"inputs\":[".len();
    let mut images = Vec::new();
    for chunk in text[start..].split(']') {
        let Some(body) = chunk.trim_start_matches(',').strip_prefix('[') else {
            break;
        };
        images.push(
            body.split(',')
                .map(|v| v.parse::<f32>().expect("a number"))
                .collect(),
        );
    }
    images
}

fn import_shipped(file: &str, images: &[Vec<f32>]) -> Model {
    let bytes = std::fs::read(models_dir().join(file)).expect("model file");
    import(
        &bytes,
        &ImportOptions {
            calibration: Some(images[..20].to_vec()),
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("{file}: {e}"))
    .model
}

/// Peak resident set size since the last reset, in KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Resets the peak RSS counter (Linux: writing 5 to clear_refs).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn bench(name: &str, model: &Model, inputs: &[Tensor]) {
    reset_peak_rss();
    let params_count = model.validate().expect("valid").parameter_count;
    let zk = ZkModel::from_ir(model, DEFAULT_MAX_K).expect("fits");
    let t = Instant::now();
    let p = params(zk.k()).expect("params");
    let params_ms = ms(t);
    let t = Instant::now();
    let key = zk.verifier_key(&p).expect("vk");
    let vk_ms = ms(t);
    let t = Instant::now();
    let setup = zk.setup(&p).expect("setup");
    let setup_ms = ms(t);

    let mut prove_ms = Vec::new();
    let runs: Vec<(Tensor, Tensor, Vec<u8>)> = inputs
        .iter()
        .map(|x| {
            let t = Instant::now();
            let (y, proof) = prove_inference(&setup, x).expect("prove");
            prove_ms.push(ms(t));
            (x.clone(), y, proof)
        })
        .collect();
    let verify_ms: Vec<f64> = runs
        .iter()
        .take(10)
        .map(|(x, y, proof)| {
            let t = Instant::now();
            verify_inference(&p, &key, x, y, proof).expect("verifies");
            ms(t)
        })
        .collect();
    let t = Instant::now();
    verify_inference_batch(&p, &key, &runs).expect("batch verifies");
    let batch_ms = ms(t) / runs.len() as f64;
    println!(
        "| {name} | {params_count} | {} | {params_ms:.0} | {vk_ms:.0} | {setup_ms:.0} | {:.0} | {:.1} | {batch_ms:.2} | {} | {} |",
        zk.k(),
        median(prove_ms),
        median(verify_ms),
        runs[0].2.len(),
        peak_rss_kib() / 1024,
    );
}

fn main() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("cores: {cores}; batch of {BATCH}; times are medians");
    println!(
        "| model | params | k | params ms | VK ms | setup (vk+pk) ms | prove ms | verify ms | batch ms/proof | proof bytes | peak RSS MiB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let images = calibration_images();
    for file in ["mlp.onnx", "cnn.onnx", "mlp-10k.onnx"] {
        let model = import_shipped(file, &images);
        let inputs: Vec<Tensor> = images[..BATCH]
            .iter()
            .map(|image| quantize_input(&model.input, image).expect("quantizes"))
            .collect();
        bench(file, &model, &inputs);
    }
    let dense = random_mlp(&[64, 32], 1).to_ir();
    let inputs: Vec<Tensor> = (0..BATCH as u64)
        .map(|seed| Tensor::from_i8(vec![64], &random_input(64, seed)).expect("tensor"))
        .collect();
    bench("dense 64->32", &dense, &inputs);
}
