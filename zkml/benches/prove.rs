//! Prover and verifier figures for three MLPs (release build).
//! (Pending: becomes zkml/benches/prove.rs once `prove` compiles in the crate.)

use std::time::Instant;

use synod_zkml::circuit::{
    fixtures::{random_input, random_mlp},
    min_k, prove, setup, verify, verify_batch, BatchItem, DEFAULT_MAX_K,
};

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

fn main() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("cores: {cores}");
    println!(
        "model | params | k | setup ms | prove ms | verify ms | batch32 ms/proof | proof bytes"
    );
    for (name, dims) in [
        ("dense 64->32 + relu", &[64usize, 32][..]),
        ("mlp 64->32->10", &[64, 32, 10][..]),
        ("mlp 64->128->16->10", &[64, 128, 16, 10][..]),
    ] {
        let mut spec = random_mlp(dims, 1);
        if dims.len() == 2 {
            let z = match &spec.layers[0] {
                synod_zkml::circuit::CircuitLayer::Dense { requant, .. } => requant.zero_point,
                synod_zkml::circuit::CircuitLayer::Relu { zero_point } => *zero_point,
            };
            spec.layers
                .push(synod_zkml::circuit::CircuitLayer::Relu { zero_point: z });
        }
        let k = min_k(&spec).expect("valid model");
        let t = Instant::now();
        let s = setup(&spec, k, DEFAULT_MAX_K).expect("setup");
        let setup_ms = t.elapsed().as_secs_f64() * 1e3;

        let runs: Vec<_> = (0..32)
            .map(|seed| {
                let input = random_input(dims[0], seed);
                let t = Instant::now();
                let (output, proof) = prove(&s, &input).expect("prove");
                (input, output, proof, t.elapsed().as_secs_f64() * 1e3)
            })
            .collect();
        let mut prove_ms: Vec<f64> = runs.iter().map(|r| r.3).collect();
        prove_ms.sort_by(f64::total_cmp);

        let mut verify_ms: Vec<f64> = runs
            .iter()
            .take(10)
            .map(|(input, output, proof, _)| {
                let t = Instant::now();
                verify(&s.params, &s.verifier, input, output, proof).expect("verifies");
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        verify_ms.sort_by(f64::total_cmp);

        let items: Vec<_> = runs
            .iter()
            .map(|(input, output, proof, _)| BatchItem {
                input,
                output,
                proof,
            })
            .collect();
        let t = Instant::now();
        verify_batch(&s.params, &s.verifier, &items).expect("batch verifies");
        let batch_ms = t.elapsed().as_secs_f64() * 1e3 / items.len() as f64;

        println!(
            "{name} | {} | {k} | {setup_ms:.0} | {:.0} (median, min {:.0}) | {:.1} (median) | {batch_ms:.2} | {}",
            spec.parameter_count(),
            prove_ms[prove_ms.len() / 2],
            prove_ms[0],
            verify_ms[verify_ms.len() / 2],
            runs[0].2.len(),
        );
    }
    println!("peak RSS: {} MiB", peak_rss_kib() / 1024);
}
