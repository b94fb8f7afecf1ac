//! Seeded example models for tests and benchmarks.

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use super::spec::{CircuitLayer, ModelCircuitSpec, Requant};

/// A dense MLP with layer widths `dims` (`dims[0]` inputs), a ReLU after
/// every hidden layer, random int8 weights and biases from `seed`, and
/// multipliers that keep typical outputs inside int8 without saturating
/// everything.
pub fn random_mlp(dims: &[usize], seed: u64) -> ModelCircuitSpec {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut layers = Vec::new();
    for (i, pair) in dims.windows(2).enumerate() {
        let (inputs, out) = (pair[0], pair[1]);
        let weights = (0..out * inputs).map(|_| rng.next_u32() as i8).collect();
        let bias = (0..out)
            .map(|_| (rng.next_u32() % 20_001) as i32 - 10_000)
            .collect();
        // acc has a standard deviation near 74 * 74 * sqrt(fan-in); map it to about 40.
        let spread = 74.0 * 74.0 * (inputs as f64).sqrt();
        let shift = 24u8;
        let multiplier = ((40.0 / spread) * f64::from(1u32 << shift)).max(1.0) as i32;
        let zero_point = (rng.next_u32() % 21) as i8 - 10;
        layers.push(CircuitLayer::Dense {
            out,
            inputs,
            weights,
            bias,
            requant: Requant {
                multiplier,
                shift,
                zero_point,
            },
        });
        if i + 2 < dims.len() {
            layers.push(CircuitLayer::Relu { zero_point });
        }
    }
    ModelCircuitSpec {
        input_len: dims[0],
        layers,
    }
}

/// A random int8 vector of length `len` from `seed`.
pub fn random_input(len: usize, seed: u64) -> Vec<i8> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..len).map(|_| rng.next_u32() as i8).collect()
}
