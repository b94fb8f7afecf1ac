//! Prover and verifier figures (release build) for the shipped MLP and CNN,
//! a 64->32 dense layer and the 10.5k-parameter MLP, the ONNX models imported
//! with the first 20 calibration images. Run with
//! `cargo bench -p synod-zkml --bench prove`.

use std::time::Instant;

use synod_zkml::circuit::fixtures::{calibration_images, models_dir};
use synod_zkml::circuit::{
    fixtures::{random_input, random_mlp},
    params, prove_inference, verify_inference, verify_inference_batch, ZkModel, DEFAULT_MAX_K,
};
use synod_zkml::interp::Tensor;
use synod_zkml::ir::Model;
use synod_zkml::onnx::{import, quantize_input, ImportOptions};

const BATCH: usize = 32;
/// Rounds of (verify every proof alone, verify them as one batch) per model.
const VERIFY_ROUNDS: usize = 5;

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

/// CPU time of every thread of this process so far, in ns (the first field
/// of each thread's schedstat). Threads that exit take their time along, but
/// the verifier's pools and halo2's pool live as long as the process.
fn process_cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// Wall and CPU (all threads) time of `f`, in ms.
fn timed(f: impl FnOnce()) -> (f64, f64) {
    let (t, cpu) = (Instant::now(), process_cpu_ns());
    f();
    (ms(t), process_cpu_ns().saturating_sub(cpu) as f64 / 1e6)
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
    // Single and batch verification alternate, and the best round counts:
    // the machine may be shared, and interference only adds time.
    let count = runs.len() as f64;
    let mut single = Vec::new();
    let mut batch = Vec::new();
    for _ in 0..VERIFY_ROUNDS {
        single.push(timed(|| {
            for (x, y, proof) in &runs {
                verify_inference(&p, &key, x, y, proof).expect("verifies");
            }
        }));
        batch.push(timed(|| {
            verify_inference_batch(&p, &key, &runs).expect("batch verifies");
        }));
    }
    let best = |v: &[(f64, f64)], pick: fn(&(f64, f64)) -> f64| {
        v.iter().map(pick).fold(f64::INFINITY, f64::min) / count
    };
    let (verify_ms, batch_ms) = (best(&single, |t| t.0), best(&batch, |t| t.0));
    let (verify_cpu, batch_cpu) = (best(&single, |t| t.1), best(&batch, |t| t.1));
    println!(
        "| {name} | {params_count} | {} | {params_ms:.0} | {vk_ms:.0} | {setup_ms:.0} | {:.0} | {verify_ms:.2} | {batch_ms:.2} | {:.1}x | {verify_cpu:.2} | {batch_cpu:.2} | {:.1}x | {} | {} |",
        zk.k(),
        median(prove_ms),
        verify_ms / batch_ms,
        verify_cpu / batch_cpu,
        runs[0].2.len(),
        peak_rss_kib() / 1024,
    );
}

fn main() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "cores: {cores}; batch of {BATCH}; prove: median; verify and batch: best of {VERIFY_ROUNDS} rounds, per proof; CPU: all threads"
    );
    println!(
        "| model | params | k | params ms | VK ms | setup (vk+pk) ms | prove ms | verify ms | batch ms/proof | verify / batch | verify CPU ms | batch CPU ms/proof | CPU ratio | proof bytes | peak RSS MiB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
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
