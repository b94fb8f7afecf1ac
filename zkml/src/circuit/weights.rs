//! Committed weights (a private model): the columns and gates that let a
//! neuron read its weights and bias from advice cells instead of the fixed
//! columns, and the gate tying a bias to its four bytes in the parameter
//! tensor's packing (scheme `synod-weights/v1`, `crate::private_model`).
//!
//! Per neuron of a `Dense` or `Conv2d` layer (an `Add` keeps the fixed
//! path: its multipliers are requantization constants):
//!
//! ```text
//! row      x[0..16]      u[0..16] (advice)    acc      bias (advice)
//! r        x chunk 0     weights chunk 0      bias     bias
//! r+1..    x chunk c     weights chunk c      partial
//! ```
//!
//! `q_mac`: `acc(next) = acc + sum_j x_j u_j`; `q_bias`: `acc = bias`. The
//! requantization row is the model circuit's (fixed constants). Every use
//! of one weight (a Conv filter tap at each output position) is
//! copy-constrained to one cell, itself a copy of the weight's packed value,
//! and the unused `u` cells of a neuron's last row are pinned to 0.
//!
//! `q_word`, on the packing rows of the bias bytes:
//! `word = sum_j (v_j + 128) 256^(3 - j) - 2^31`, where the `v_j` are the
//! row's four range-checked bytes, so `word` is the bias the bytes encode.

use halo2_proofs::{
    pasta::Fp,
    plonk::{Advice, Column, ConstraintSystem, Constraints, Expression, Selector},
    poly::Rotation,
};

use super::commit_chip::{CommitConfig, PACK_WIDTH};
use super::config::{ModelConfig, MAC_WIDTH};

/// Columns and gates of committed weights.
#[derive(Clone, Debug)]
pub struct WeightConfig {
    /// The weights of a MAC row (equality-enabled: copies of the packed
    /// parameter tensor).
    pub u: [Column<Advice>; MAC_WIDTH],
    /// The bias, at a neuron's first row.
    pub bias: Column<Advice>,
    /// `acc(next) = acc + x.u`.
    pub q_mac: Selector,
    /// `acc = bias`.
    pub q_bias: Selector,
    /// A bias as its four packed bytes (in the packing region).
    pub word: Column<Advice>,
    /// Enables the word gate.
    pub q_word: Selector,
}

impl WeightConfig {
    /// Allocates the columns beside `model`'s and `commit`'s, and declares
    /// the gates.
    pub fn configure(
        meta: &mut ConstraintSystem<Fp>,
        model: &ModelConfig,
        commit: &CommitConfig,
    ) -> Self {
        let u: [Column<Advice>; MAC_WIDTH] = std::array::from_fn(|_| meta.advice_column());
        let bias = meta.advice_column();
        let word = meta.advice_column();
        for column in u {
            meta.enable_equality(column);
        }
        meta.enable_equality(bias);
        meta.enable_equality(word);
        let config = WeightConfig {
            u,
            bias,
            q_mac: meta.selector(),
            q_bias: meta.selector(),
            word,
            q_word: meta.selector(),
        };
        meta.create_gate("mac (committed weights)", |cells| {
            let q = cells.query_selector(config.q_mac);
            let acc = cells.query_advice(model.acc, Rotation::cur());
            let next = cells.query_advice(model.acc, Rotation::next());
            let sum = (0..MAC_WIDTH).fold(acc, |sum, j| {
                sum + cells.query_advice(model.x[j], Rotation::cur())
                    * cells.query_advice(config.u[j], Rotation::cur())
            });
            Constraints::with_selector(q, [("acc(next) = acc + x.u", next - sum)])
        });
        meta.create_gate("bias (committed weights)", |cells| {
            let q = cells.query_selector(config.q_bias);
            let acc = cells.query_advice(model.acc, Rotation::cur());
            let bias = cells.query_advice(config.bias, Rotation::cur());
            Constraints::with_selector(q, [("acc = bias", acc - bias)])
        });
        meta.create_gate("bias bytes", |cells| {
            let q = cells.query_selector(config.q_word);
            let word = cells.query_advice(config.word, Rotation::cur());
            let bytes = (0..PACK_WIDTH).fold(Expression::Constant(Fp::zero()), |sum, j| {
                sum * Expression::Constant(Fp::from(256))
                    + cells.query_advice(commit.values[j], Rotation::cur())
                    + Expression::Constant(Fp::from(128))
            });
            let offset = Expression::Constant(Fp::from(1u64 << 31));
            Constraints::with_selector(q, [("word = bytes - 2^31", word - (bytes - offset))])
        });
        config
    }
}

#[cfg(test)]
mod tests {
    use halo2_proofs::{
        circuit::{Layouter, SimpleFloorPlanner, Value},
        dev::{MockProver, VerifyFailure},
        plonk::{Circuit, Error},
    };

    use super::*;
    use crate::commitment::TensorCommitment;
    use crate::private_model::bias_bytes;

    /// Commits to the bytes of `biases` then `weights`, with `words` as the
    /// biases the word gate reads; the commitment is instance row 0.
    #[derive(Clone, Debug)]
    struct ParamCircuit {
        biases: Vec<i32>,
        words: Vec<i32>,
        weights: Vec<i8>,
    }

    impl Circuit<Fp> for ParamCircuit {
        type Config = (ModelConfig, CommitConfig, WeightConfig);
        type FloorPlanner = SimpleFloorPlanner;

        fn without_witnesses(&self) -> Self {
            self.clone()
        }

        fn configure(meta: &mut ConstraintSystem<Fp>) -> Self::Config {
            let model = ModelConfig::configure(meta);
            let commit = CommitConfig::configure(meta, &model);
            let weights = WeightConfig::configure(meta, &model, &commit);
            (model, commit, weights)
        }

        fn synthesize(
            &self,
            (model, commit, weights): Self::Config,
            mut layouter: impl Layouter<Fp>,
        ) -> Result<(), Error> {
            model.assign_byte_table(&mut layouter)?;
            let values: Vec<Value<i32>> = self
                .biases
                .iter()
                .flat_map(|&b| bias_bytes(b))
                .chain(self.weights.iter().copied())
                .map(|v| Value::known(i32::from(v)))
                .collect();
            let words: Vec<Value<i32>> = self.words.iter().map(|&w| Value::known(w)).collect();
            let (_, _, digest) =
                commit.commit_parameters(&mut layouter, &values, &weights, &words)?;
            layouter.assign_region(
                || "public",
                |mut region| {
                    commit.q_exact.enable(&mut region, 0)?;
                    let cell = digest.copy_advice(|| "commitment", &mut region, model.public, 0)?;
                    region.constrain_equal(cell.cell(), digest.cell())
                },
            )
        }
    }

    fn mock(biases: &[i32], words: &[i32]) -> Result<(), Vec<VerifyFailure>> {
        let weights: Vec<i8> = (0..40).map(|i| (i * 7 - 90) as i8).collect();
        let mut tensor: Vec<i8> = biases.iter().flat_map(|&b| bias_bytes(b)).collect();
        tensor.extend_from_slice(&weights);
        let commitment = TensorCommitment::of(&tensor).expect("commits").to_field();
        let circuit = ParamCircuit {
            biases: biases.to_vec(),
            words: words.to_vec(),
            weights,
        };
        MockProver::run(9, &circuit, vec![vec![commitment]])
            .expect("synthesizes")
            .verify()
    }

    #[test]
    fn a_bias_word_is_exactly_its_four_committed_bytes() {
        // Nine biases: the words cross the first chunk's seven rows.
        let biases = [0, -1, 1, i32::MIN, i32::MAX, 123_456, -98_765, 255, 256];
        assert_eq!(mock(&biases, &biases), Ok(()));
        for i in [0, 7, 8] {
            let mut words = biases;
            words[i] = words[i].wrapping_add(1);
            let failures = mock(&biases, &words).expect_err("refused");
            assert!(
                failures.iter().all(|f| matches!(
                    f,
                    VerifyFailure::ConstraintNotSatisfied { constraint, .. }
                        if format!("{constraint}").contains("bias bytes")
                )),
                "{failures:?}"
            );
        }
    }
}
