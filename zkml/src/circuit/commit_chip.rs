//! The in-circuit tensor commitment of `crate::commitment` (scheme
//! `synod-tensor/v1`): a pack region that range-checks int8 values and packs
//! them 28 to a field element, then a chain of halo2_gadgets Poseidon
//! hashes over the chunks.
//!
//! Pack layout, per chunk (`PACK_WIDTH = 4` values a row, 7 rows):
//!
//! ```text
//! row      v[0..4]                  packed
//! r        values 0..4 of chunk     0 (pinned)
//! r+1..6   values 4 (t) .. 4 t + 4  running value
//! r+7      -                        the chunk (28 bytes, big-endian)
//! ```
//!
//! `q_pack`: `packed(next) = packed * 2^32 + sum_j (v_j + 128) 2^(8 (3 - j))`,
//! and each `v_j + 128` is looked up in the byte table, so every packed value
//! is an int8 and the chunk is exactly the scheme's. Cells past the tensor's
//! end are pinned to -128 (byte 0, the scheme's zero fill).

use halo2_gadgets::poseidon::{
    primitives::{ConstantLength, P128Pow5T3},
    Hash, Pow5Chip, Pow5Config,
};
use halo2_proofs::{
    circuit::{AssignedCell, Cell, Layouter, Value},
    pasta::Fp,
    plonk::{Advice, Column, ConstraintSystem, Constraints, Error, Expression, Selector},
    poly::Rotation,
};

use super::config::ModelConfig;
use super::synth::field;
use super::weights::WeightConfig;
use crate::commitment::{initial_digest, CHUNK_BYTES};

/// Int8 values packed per row.
pub const PACK_WIDTH: usize = 4;
/// Rows of one chunk: the packing rows and the row holding the chunk.
pub const PACK_ROWS_PER_CHUNK: usize = CHUNK_BYTES / PACK_WIDTH + 1;
/// Rows one `ConstantLength<2>` Poseidon hash takes in the Pow5 chip's
/// columns: the initial state (1), absorbing (state, input, sum: 3), the
/// permutation (the loaded state, 8 full rounds a row each, 56 partial
/// rounds two a row: 37).
pub const POSEIDON_ROWS_PER_HASH: usize = 1 + 3 + 1 + 8 + 28;
/// Constants one hash pins (the initial state's three words).
pub const POSEIDON_CONSTANTS_PER_HASH: usize = 3;

/// A packed tensor: the cells of its values, the cells of its bias words
/// (none but for a parameter tensor) and its commitment.
pub type Packed = (Vec<Cell>, Vec<Cell>, AssignedCell<Fp, Fp>);

/// Chunks of a tensor of `len` values.
pub fn chunk_count(len: usize) -> usize {
    len.div_ceil(CHUNK_BYTES)
}

/// Columns, gates and lookups of the commitment: the pack columns, the
/// Poseidon chip's columns, and `q_exact` (an instance row equal to its
/// `public` cell, for commitments and the context).
#[derive(Clone, Debug)]
pub struct CommitConfig {
    /// The packed int8 values (equality-enabled: copies of model cells).
    pub values: [Column<Advice>; PACK_WIDTH],
    /// Running packed value; the chunk; the pinned `h[0]`.
    pub packed: Column<Advice>,
    /// Enables the pack gate and the range lookups.
    pub q_pack: Selector,
    /// Enables `public = instance` on a row.
    pub q_exact: Selector,
    /// The Poseidon chip (`P128Pow5T3`, width 3, rate 2).
    pub poseidon: Pow5Config<Fp, 3, 2>,
}

impl CommitConfig {
    /// Allocates the columns beside `model`'s and declares the gates.
    pub fn configure(meta: &mut ConstraintSystem<Fp>, model: &ModelConfig) -> Self {
        let values: [Column<Advice>; PACK_WIDTH] = std::array::from_fn(|_| meta.advice_column());
        let packed = meta.advice_column();
        for column in values {
            meta.enable_equality(column);
        }
        meta.enable_equality(packed);
        let q_pack = meta.complex_selector();
        let q_exact = meta.selector();

        let state: [Column<Advice>; 3] = std::array::from_fn(|_| meta.advice_column());
        let partial_sbox = meta.advice_column();
        let rc_a = std::array::from_fn(|_| meta.fixed_column());
        let rc_b = std::array::from_fn(|_| meta.fixed_column());
        let poseidon = Pow5Chip::configure::<P128Pow5T3>(meta, state, partial_sbox, rc_a, rc_b);

        let offset = || Expression::Constant(Fp::from(128));
        meta.create_gate("pack", |cells| {
            let q = cells.query_selector(q_pack);
            let acc = cells.query_advice(packed, Rotation::cur());
            let next = cells.query_advice(packed, Rotation::next());
            let row = (0..PACK_WIDTH).fold(acc, |sum, j| {
                sum * Expression::Constant(Fp::from(256))
                    + cells.query_advice(values[j], Rotation::cur())
                    + offset()
            });
            Constraints::with_selector(q, [("packed(next) = packed 2^32 + row bytes", next - row)])
        });
        for column in values {
            meta.lookup(|cells| {
                let q = cells.query_selector(q_pack);
                let v = cells.query_advice(column, Rotation::cur());
                vec![(q * (v + offset()), model.byte_table)]
            });
        }
        meta.create_gate("exact public value", |cells| {
            let q = cells.query_selector(q_exact);
            let instance = cells.query_instance(model.instance, Rotation::cur());
            let public = cells.query_advice(model.public, Rotation::cur());
            Constraints::with_selector(q, [("public = instance", instance - public)])
        });
        CommitConfig {
            values,
            packed,
            q_pack,
            q_exact,
            poseidon,
        }
    }

    /// Lays out the commitment to `values` (one per tensor element, unknown
    /// in keygen): returns the cells holding the values, in order (the
    /// caller ties them to the model's cells), and the commitment.
    pub fn commit(
        &self,
        layouter: &mut impl Layouter<Fp>,
        values: &[Value<i32>],
    ) -> Result<(Vec<Cell>, AssignedCell<Fp, Fp>), Error> {
        let (cells, _, digest) = self.lay_out(layouter, values, None, Fp::zero())?;
        Ok((cells, digest))
    }

    /// [`CommitConfig::commit`] of a parameter tensor (`synod-weights/v1`)
    /// whose first `4 * words.len()` values are the bytes of the biases
    /// `words`: also returns a cell per bias, tied to its bytes by
    /// `weights`' word gate.
    pub fn commit_parameters(
        &self,
        layouter: &mut impl Layouter<Fp>,
        values: &[Value<i32>],
        weights: &WeightConfig,
        words: &[Value<i32>],
    ) -> Result<Packed, Error> {
        if words.len().saturating_mul(PACK_WIDTH) > values.len() {
            return Err(Error::Synthesis);
        }
        self.lay_out(layouter, values, Some((weights, words)), Fp::zero())
    }

    /// [`CommitConfig::commit`] with `chunk_offset` added to every chunk
    /// handed to Poseidon (zero but in the pack gate's negative test), and
    /// the bias words of [`CommitConfig::commit_parameters`].
    fn lay_out(
        &self,
        layouter: &mut impl Layouter<Fp>,
        values: &[Value<i32>],
        words: Option<(&WeightConfig, &[Value<i32>])>,
        chunk_offset: Fp,
    ) -> Result<Packed, Error> {
        if values.is_empty() {
            return Err(Error::Synthesis);
        }
        let (cells, word_cells, h0, chunks) = layouter.assign_region(
            || "pack tensor",
            |mut region| {
                let mut cells = Vec::with_capacity(values.len());
                let mut word_cells = Vec::new();
                // Packing rows so far (a bias word's index).
                let mut pack_row = 0usize;
                let mut chunks = Vec::with_capacity(chunk_count(values.len()));
                // Pinned once each, later cells copy the first.
                let mut zero: Option<Cell> = None;
                let mut fill: Option<Cell> = None;
                let mut row = 0;
                for chunk in values.chunks(CHUNK_BYTES) {
                    let mut acc = Value::known(Fp::zero());
                    let start = region.assign_advice(|| "packed", self.packed, row, || acc)?;
                    match zero {
                        Some(first) => region.constrain_equal(first, start.cell())?,
                        None => {
                            region.constrain_constant(start.cell(), Fp::zero())?;
                            zero = Some(start.cell());
                        }
                    }
                    for r in 0..CHUNK_BYTES / PACK_WIDTH {
                        self.q_pack.enable(&mut region, row)?;
                        if let Some((config, words)) = words {
                            if let Some(&word) = words.get(pack_row) {
                                config.q_word.enable(&mut region, row)?;
                                let cell = region.assign_advice(
                                    || "bias",
                                    config.word,
                                    row,
                                    || word.map(|w| field(i128::from(w))),
                                )?;
                                word_cells.push(cell.cell());
                            }
                        }
                        pack_row += 1;
                        for (j, column) in self.values.iter().enumerate() {
                            let value = chunk
                                .get(r * PACK_WIDTH + j)
                                .copied()
                                .unwrap_or(Value::known(-128));
                            let cell = region
                                .assign_advice(
                                    || "value",
                                    *column,
                                    row,
                                    || value.map(|v| field(i128::from(v))),
                                )?
                                .cell();
                            if r * PACK_WIDTH + j < chunk.len() {
                                cells.push(cell);
                            } else {
                                match fill {
                                    Some(first) => region.constrain_equal(first, cell)?,
                                    None => {
                                        region.constrain_constant(cell, field(-128))?;
                                        fill = Some(cell);
                                    }
                                }
                            }
                            acc = acc
                                .zip(value)
                                .map(|(acc, v)| acc * Fp::from(256) + field(i128::from(v) + 128));
                        }
                        row += 1;
                        let last = r + 1 == CHUNK_BYTES / PACK_WIDTH;
                        if last {
                            acc = acc.map(|a| a + chunk_offset);
                        }
                        let cell = region.assign_advice(|| "packed", self.packed, row, || acc)?;
                        if last {
                            chunks.push(cell);
                        }
                    }
                    // The chunk's row; the next chunk starts below it.
                    row += 1;
                }
                let h0 = initial_digest(values.len());
                let h0 = region.assign_advice_from_constant(|| "h[0]", self.packed, row, h0)?;
                Ok((cells, word_cells, h0, chunks))
            },
        )?;
        let mut digest = h0;
        for (j, chunk) in chunks.into_iter().enumerate() {
            let chip = Pow5Chip::construct(self.poseidon.clone());
            let hasher = Hash::<_, _, P128Pow5T3, ConstantLength<2>, 3, 2>::init(
                chip,
                layouter.namespace(|| format!("hash init {j}")),
            )?;
            digest = hasher.hash(layouter.namespace(|| format!("hash {j}")), [digest, chunk])?;
        }
        Ok((cells, word_cells, digest))
    }
}

#[cfg(test)]
mod tests {
    use halo2_proofs::{
        circuit::SimpleFloorPlanner,
        dev::{FailureLocation, MockProver, VerifyFailure},
        plonk::Circuit,
    };

    use super::*;
    use crate::commitment::TensorCommitment;

    /// Commits to raw values (any i32, not only int8) and shows the
    /// commitment as instance row 0.
    #[derive(Clone, Debug)]
    struct CommitCircuit {
        values: Vec<i32>,
        /// Added to each chunk after packing (a forged chunk when nonzero).
        chunk_offset: Fp,
    }

    impl Circuit<Fp> for CommitCircuit {
        type Config = (ModelConfig, CommitConfig);
        type FloorPlanner = SimpleFloorPlanner;

        fn without_witnesses(&self) -> Self {
            self.clone()
        }

        fn configure(meta: &mut ConstraintSystem<Fp>) -> Self::Config {
            let model = ModelConfig::configure(meta);
            let commit = CommitConfig::configure(meta, &model);
            (model, commit)
        }

        fn synthesize(
            &self,
            (model, commit): Self::Config,
            mut layouter: impl Layouter<Fp>,
        ) -> Result<(), Error> {
            model.assign_byte_table(&mut layouter)?;
            let values: Vec<Value<i32>> = self.values.iter().map(|&v| Value::known(v)).collect();
            let (_, _, digest) = commit.lay_out(&mut layouter, &values, None, self.chunk_offset)?;
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

    fn mock(values: Vec<i32>, commitment: Fp) -> Result<(), Vec<VerifyFailure>> {
        mock_forged(values, Fp::zero(), commitment)
    }

    fn mock_forged(
        values: Vec<i32>,
        chunk_offset: Fp,
        commitment: Fp,
    ) -> Result<(), Vec<VerifyFailure>> {
        let circuit = CommitCircuit {
            values,
            chunk_offset,
        };
        MockProver::run(9, &circuit, vec![vec![commitment]])
            .expect("synthesizes")
            .verify()
    }

    #[test]
    fn the_circuit_commits_as_the_native_function_does_at_every_chunk_boundary() {
        for len in [1usize, 4, 27, 28, 29, 56, 57] {
            let values: Vec<i8> = (0..len).map(|i| (i as i32 * 37 - 100) as i8).collect();
            let native = TensorCommitment::of(&values).expect("commits").to_field();
            let raw = values.iter().map(|&v| i32::from(v)).collect();
            assert_eq!(mock(raw, native), Ok(()), "length {len}");
        }
    }

    #[test]
    fn values_outside_int8_that_pack_to_the_same_chunk_are_refused() {
        let honest: Vec<i8> = vec![10, 20, 30, 40, 50];
        let native = TensorCommitment::of(&honest).expect("commits").to_field();
        // b[0] - 1 and b[1] + 256 give the same big-endian chunk: only the
        // byte range check tells these values from the honest ones.
        let mut forged: Vec<i32> = honest.iter().map(|&v| i32::from(v)).collect();
        forged[0] -= 1;
        forged[1] += 256;
        let failures = mock(forged, native).expect_err("refused");
        assert!(
            failures.iter().all(|f| matches!(
                f,
                VerifyFailure::Lookup {
                    location: FailureLocation::InRegion { .. },
                    ..
                }
            )),
            "{failures:?}"
        );
    }

    #[test]
    fn a_chunk_that_is_not_the_packing_of_the_values_is_refused() {
        let values: Vec<i8> = vec![10, 20, 30, 40, 50];
        let raw: Vec<i32> = values.iter().map(|&v| i32::from(v)).collect();
        let chunk = crate::commitment::chunks(&values)[0];
        // Poseidon runs on the forged chunk and the instance is its hash:
        // only the pack gate ties the chunk to the values.
        let forged = crate::commitment::poseidon2(
            crate::commitment::initial_digest(values.len()),
            chunk + Fp::one(),
        );
        assert!(mock_forged(raw.clone(), Fp::zero(), forged).is_err());
        let failures = mock_forged(raw, Fp::one(), forged).expect_err("refused");
        assert!(
            failures.iter().all(|f| matches!(
                f,
                VerifyFailure::ConstraintNotSatisfied { constraint, .. }
                    if format!("{constraint}").contains("pack")
            )),
            "{failures:?}"
        );
    }
}
