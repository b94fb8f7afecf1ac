//! The circuit of a model under any [`Visibility`] other than
//! [`Visibility::PUBLIC`]: the same model region as [`ModelCircuit`], with a
//! committed tensor's values range-checked, packed and hashed in-circuit
//! (`commit_chip.rs`), and a context row.
//!
//! A separate circuit type, not a mode of [`ModelCircuit`]: halo2 configures
//! a circuit's columns from its type alone, and the public circuit's columns
//! (and so its verifying keys, the registered models' `vk_hash`) must not
//! change.
//!
//! Public region (rows `0..`, instance row `i` beside `public` row `i`): a
//! public tensor's rows are `q_public` rows as in [`ModelCircuit`]; a
//! commitment row and the context row are `q_exact` rows
//! (`public = instance`), the commitment's `public` cell a copy of the
//! Poseidon output.

use halo2_proofs::{
    circuit::{Cell, Layouter, SimpleFloorPlanner, Value},
    pasta::Fp,
    plonk::{Circuit, ConstraintSystem, Error},
};

use super::commit_chip::{
    chunk_count, CommitConfig, PACK_ROWS_PER_CHUNK, POSEIDON_CONSTANTS_PER_HASH,
    POSEIDON_ROWS_PER_HASH,
};
use super::config::ModelConfig;
use super::graph::Graph;
use super::synth::{field, ModelCells, ModelCircuit};
use super::visibility::{
    instance_rows, ContextBinding, TensorVisibility, Visibility, WeightVisibility,
};
use super::weights::WeightConfig;
use crate::private_model::bias_bytes;

/// Columns of the bound circuit: the model's, then the commitment's.
#[derive(Clone, Debug)]
pub struct BoundConfig {
    /// The model circuit's columns, gates and lookups, unchanged.
    pub model: ModelConfig,
    /// Packing, Poseidon and exact instance rows.
    pub commit: CommitConfig,
}

/// The circuit proving `output = model(input)` with the tensors shown or
/// committed as `visibility` says and, if bound, a context.
#[derive(Clone, Debug)]
pub struct BoundModelCircuit {
    model: ModelCircuit,
    visibility: Visibility,
    context: Value<Fp>,
    /// Parameters to pack and hash instead of the model's (a dishonest
    /// witness, mutation tests only).
    #[cfg(feature = "testkit")]
    committed_params: Option<(Vec<i32>, Vec<i8>)>,
}

impl BoundModelCircuit {
    /// `model`'s circuit under `visibility` (not [`Visibility::PUBLIC`]),
    /// with `context` as the witness of the context row if bound.
    pub(crate) fn new(model: ModelCircuit, visibility: Visibility, context: Value<Fp>) -> Self {
        BoundModelCircuit {
            model,
            visibility,
            context,
            #[cfg(feature = "testkit")]
            committed_params: None,
        }
    }
}

/// One row of the public region.
enum PublicRow {
    /// A public value: `q_public`, tied to `cells`.
    Value(Value<i32>, Vec<Cell>),
    /// A commitment: `q_exact`, its `public` cell a copy of `digest`.
    Commitment(Cell, Value<Fp>),
    /// The context: `q_exact`.
    Context(Value<Fp>),
}

impl Circuit<Fp> for BoundModelCircuit {
    type Config = BoundConfig;
    type FloorPlanner = SimpleFloorPlanner;

    fn without_witnesses(&self) -> Self {
        self.keygen()
    }

    fn configure(meta: &mut ConstraintSystem<Fp>) -> BoundConfig {
        let model = ModelConfig::configure(meta);
        let commit = CommitConfig::configure(meta, &model);
        BoundConfig { model, commit }
    }

    fn synthesize(&self, config: BoundConfig, layouter: impl Layouter<Fp>) -> Result<(), Error> {
        // The public circuit is `ModelCircuit`, committed weights
        // `PrivateModelCircuit`; this one would differ.
        if self.visibility.is_public() || self.visibility.weights != WeightVisibility::Fixed {
            return Err(Error::Synthesis);
        }
        self.lay_out(&config.model, &config.commit, None, layouter)
    }
}

/// Columns of the circuit with committed weights: the bound circuit's, then
/// the weights' advice columns and gates.
#[derive(Clone, Debug)]
pub struct PrivateConfig {
    /// The bound circuit's columns, unchanged.
    pub bound: BoundConfig,
    /// The weights' columns and gates.
    pub weights: WeightConfig,
}

/// The circuit proving `output = model(input)` for the model whose weights
/// commit to the instance's weights commitment (a private model), with the
/// tensors shown or committed as the visibility says.
#[derive(Clone, Debug)]
pub struct PrivateModelCircuit(BoundModelCircuit);

impl PrivateModelCircuit {
    /// `model`'s circuit under `visibility` (weights committed).
    pub(crate) fn new(model: ModelCircuit, visibility: Visibility, context: Value<Fp>) -> Self {
        PrivateModelCircuit(BoundModelCircuit::new(model, visibility, context))
    }
}

#[cfg(feature = "testkit")]
impl PrivateModelCircuit {
    /// Packs and hashes `model`'s parameters while the model region keeps
    /// its own: a witness whose commitment is not of the weights it uses
    /// (mutation tests only).
    pub fn committing_to(mut self, model: &crate::ir::Model) -> Self {
        self.0.committed_params = Some(crate::private_model::parameters(model));
        self
    }
}

impl Circuit<Fp> for PrivateModelCircuit {
    type Config = PrivateConfig;
    type FloorPlanner = SimpleFloorPlanner;

    fn without_witnesses(&self) -> Self {
        PrivateModelCircuit(self.0.keygen())
    }

    fn configure(meta: &mut ConstraintSystem<Fp>) -> PrivateConfig {
        let bound = BoundModelCircuit::configure(meta);
        let weights = WeightConfig::configure(meta, &bound.model, &bound.commit);
        PrivateConfig { bound, weights }
    }

    fn synthesize(&self, config: PrivateConfig, layouter: impl Layouter<Fp>) -> Result<(), Error> {
        if self.0.visibility.weights != WeightVisibility::Committed {
            return Err(Error::Synthesis);
        }
        self.0.lay_out(
            &config.bound.model,
            &config.bound.commit,
            Some(&config.weights),
            layouter,
        )
    }
}

impl BoundModelCircuit {
    /// The model circuit, visibility and context.
    pub(crate) fn into_parts(self) -> (ModelCircuit, Visibility, Value<Fp>) {
        (self.model, self.visibility, self.context)
    }

    fn keygen(&self) -> Self {
        BoundModelCircuit {
            model: self.model.without_witnesses(),
            visibility: self.visibility,
            context: Value::unknown(),
            #[cfg(feature = "testkit")]
            committed_params: None,
        }
    }

    /// The model region, the commitments and the public region.
    fn lay_out(
        &self,
        model_config: &ModelConfig,
        commit: &CommitConfig,
        weights: Option<&WeightConfig>,
        mut layouter: impl Layouter<Fp>,
    ) -> Result<(), Error> {
        let ModelCells {
            input,
            outputs,
            input_copies,
            params,
        } = self
            .model
            .lay_out_model(model_config, weights, &mut layouter)?;

        let mut input_homes: Vec<Vec<Cell>> = vec![Vec::new(); input.len()];
        for &(i, cell) in &input_copies {
            input_homes.get_mut(i).ok_or(Error::Synthesis)?.push(cell);
        }
        let mut rows = Vec::new();
        match self.visibility.input {
            TensorVisibility::Public => {
                for (value, homes) in input.iter().zip(input_homes) {
                    rows.push(PublicRow::Value(*value, homes));
                }
            }
            TensorVisibility::Committed => {
                let (packed, digest) = commit.commit(&mut layouter, &input)?;
                // The packed cell is the input's home: every copy equals it.
                let packed_copies: Vec<(Cell, Cell)> = packed
                    .iter()
                    .zip(&input_homes)
                    .flat_map(|(&home, copies)| copies.iter().map(move |&c| (home, c)))
                    .collect();
                layouter.assign_region(
                    || "input copies",
                    |mut region| {
                        for &(home, copy) in &packed_copies {
                            region.constrain_equal(home, copy)?;
                        }
                        Ok(())
                    },
                )?;
                rows.push(PublicRow::Commitment(
                    digest.cell(),
                    digest.value().copied(),
                ));
            }
        }
        match self.visibility.output {
            TensorVisibility::Public => {
                for &(cell, value) in &outputs {
                    rows.push(PublicRow::Value(value, vec![cell]));
                }
            }
            TensorVisibility::Committed => {
                let values: Vec<Value<i32>> = outputs.iter().map(|&(_, v)| v).collect();
                let (packed, digest) = commit.commit(&mut layouter, &values)?;
                let pairs: Vec<(Cell, Cell)> = packed
                    .iter()
                    .zip(&outputs)
                    .map(|(&p, &(cell, _))| (p, cell))
                    .collect();
                layouter.assign_region(
                    || "output copies",
                    |mut region| {
                        for &(packed, output) in &pairs {
                            region.constrain_equal(packed, output)?;
                        }
                        Ok(())
                    },
                )?;
                rows.push(PublicRow::Commitment(
                    digest.cell(),
                    digest.value().copied(),
                ));
            }
        }
        if let Some(weight_config) = weights {
            let (bias_cells, weight_cells) = params.ok_or(Error::Synthesis)?;
            let (biases, weight_values) = self.model.parameters();
            #[cfg(feature = "testkit")]
            let (biases, weight_values) = self
                .committed_params
                .clone()
                .unwrap_or((biases, weight_values));
            let words: Vec<Value<i32>> = biases.iter().map(|&b| Value::known(b)).collect();
            let values: Vec<Value<i32>> = biases
                .iter()
                .flat_map(|&b| bias_bytes(b))
                .chain(weight_values)
                .map(|v| Value::known(i32::from(v)))
                .collect();
            let (packed, word_cells, digest) =
                commit.commit_parameters(&mut layouter, &values, weight_config, &words)?;
            let weights_packed = packed.get(4 * biases.len()..).ok_or(Error::Synthesis)?;
            if word_cells.len() != bias_cells.len() || weights_packed.len() != weight_cells.len() {
                return Err(Error::Synthesis);
            }
            layouter.assign_region(
                || "parameter copies",
                |mut region| {
                    for (&word, &bias) in word_cells.iter().zip(&bias_cells) {
                        region.constrain_equal(word, bias)?;
                    }
                    for (&packed, &weight) in weights_packed.iter().zip(&weight_cells) {
                        region.constrain_equal(packed, weight)?;
                    }
                    Ok(())
                },
            )?;
            rows.push(PublicRow::Commitment(
                digest.cell(),
                digest.value().copied(),
            ));
        }
        if self.visibility.context == ContextBinding::Bound {
            rows.push(PublicRow::Context(self.context));
        }

        // The region's columns (`public`, `q_public`, `q_exact`) are used
        // nowhere else, so the floor planner puts it at row 0.
        let model = model_config;
        let q_exact = commit.q_exact;
        layouter.assign_region(
            || "public values",
            |mut region| {
                for (row, public_row) in rows.iter().enumerate() {
                    match public_row {
                        PublicRow::Value(value, cells) => {
                            model.q_public.enable(&mut region, row)?;
                            let value = value.map(|v| field(i128::from(v)));
                            let cell =
                                region.assign_advice(|| "public", model.public, row, || value)?;
                            for &c in cells {
                                region.constrain_equal(cell.cell(), c)?;
                            }
                        }
                        PublicRow::Commitment(digest, value) => {
                            q_exact.enable(&mut region, row)?;
                            let cell = region.assign_advice(
                                || "commitment",
                                model.public,
                                row,
                                || *value,
                            )?;
                            region.constrain_equal(cell.cell(), *digest)?;
                        }
                        PublicRow::Context(value) => {
                            q_exact.enable(&mut region, row)?;
                            region.assign_advice(|| "context", model.public, row, || *value)?;
                        }
                    }
                }
                Ok(())
            },
        )
    }
}

/// Rows the bound circuit of `graph` under `visibility` needs, halo2's
/// reserved rows included, given the model region's bound on pinned
/// constants. Packing and hashing use their own columns, so they run
/// beside the model region rather than after it.
pub(crate) fn bound_rows(graph: &Graph, visibility: &Visibility, model_constants: usize) -> usize {
    let mut pack_rows = 0usize;
    let mut hashes = 0usize;
    let mut constants = model_constants;
    let (biases, weights) = graph.parameter_counts();
    let mut committed = Vec::new();
    for (v, len) in [
        (visibility.input, graph.input_len),
        (visibility.output, graph.output_len),
    ] {
        if v == TensorVisibility::Committed {
            committed.push(len);
        }
    }
    if visibility.weights == WeightVisibility::Committed {
        committed.push(biases.saturating_mul(4).saturating_add(weights));
    }
    for len in committed {
        let chunks = chunk_count(len);
        // Each tensor's region: its chunks and the row of `h[0]`.
        pack_rows = pack_rows.saturating_add(chunks * PACK_ROWS_PER_CHUNK + 1);
        hashes = hashes.saturating_add(chunks);
        // 0, the -128 fill and `h[0]`, and each hash's initial state.
        constants = constants.saturating_add(3 + chunks * POSEIDON_CONSTANTS_PER_HASH);
    }
    let mut cs = ConstraintSystem::<Fp>::default();
    if visibility.weights == WeightVisibility::Committed {
        PrivateModelCircuit::configure(&mut cs);
    } else {
        BoundModelCircuit::configure(&mut cs);
    }
    graph
        .rows()
        .max(256)
        .max(constants)
        .max(instance_rows(visibility, graph.input_len, graph.output_len))
        .max(pack_rows)
        .max(hashes.saturating_mul(POSEIDON_ROWS_PER_HASH))
        .saturating_add(cs.minimum_rows())
}
