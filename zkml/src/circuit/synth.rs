//! The halo2 circuit of a model: layout of the weights into fixed columns and
//! of one inference's witness into advice columns.

use std::collections::BTreeMap;
use std::sync::Arc;

use halo2_proofs::{
    circuit::{Cell, Layouter, SimpleFloorPlanner, Value},
    pasta::Fp,
    plonk::{Circuit, ConstraintSystem, Error},
};

use super::config::{ModelConfig, MAC_WIDTH, PUBLIC_OFFSET, REQUANT_ROWS};
use super::graph::{Graph, Op2};
use super::spec::Requant;
use super::weights::WeightConfig;

mod layout;
#[cfg(feature = "testkit")]
mod tamper;
use layout::{Layout, ParamCells};
#[cfg(feature = "testkit")]
use tamper::Tampering;
#[cfg(feature = "testkit")]
pub use tamper::{RequantTamper, Tamper};

/// Field element of an integer (negative values are `p - |v|`).
pub(crate) fn field(v: i128) -> Fp {
    let magnitude = v.unsigned_abs();
    let f = Fp::from_raw([magnitude as u64, (magnitude >> 64) as u64, 0, 0]);
    if v < 0 {
        -f
    } else {
        f
    }
}

/// The circuit proving `output = model(input)` for one model. Without an
/// input it is the keygen circuit (same fixed columns, no witness).
#[derive(Clone, Debug)]
pub struct ModelCircuit {
    graph: Arc<Graph>,
    input: Option<Vec<i8>>,
    /// A dishonest witness to lay out (mutation tests only).
    #[cfg(feature = "testkit")]
    tamper: Option<Tamper>,
}

impl ModelCircuit {
    /// The circuit of `graph`, with the witness of `input` if given.
    pub(crate) fn new(graph: Arc<Graph>, input: Option<Vec<i8>>) -> Self {
        Self {
            graph,
            input,
            #[cfg(feature = "testkit")]
            tamper: None,
        }
    }

    /// `(biases, weights)` of the model, in the order of `synod-weights/v1`.
    pub(crate) fn parameters(&self) -> (Vec<i32>, Vec<i8>) {
        let mut biases = Vec::new();
        let mut weights = Vec::new();
        for step in &self.graph.steps {
            if let Op2::Dense {
                weights: w,
                bias: b,
                ..
            }
            | Op2::Conv {
                weights: w,
                bias: b,
                ..
            } = &step.op
            {
                biases.extend_from_slice(b);
                weights.extend_from_slice(w);
            }
        }
        (biases, weights)
    }

    /// The public instance column of an inference: inputs, then outputs,
    /// each plus [`PUBLIC_OFFSET`] (small non-negative field elements).
    pub fn instance(input: &[i32], output: &[i32]) -> Vec<Fp> {
        input
            .iter()
            .chain(output)
            .map(|&v| field(i128::from(v) + i128::from(PUBLIC_OFFSET)))
            .collect()
    }
}

/// An activation value and where the circuit holds it.
#[derive(Clone, Copy)]
enum Source {
    /// Model input `i`: copies are constrained to its public cell.
    Input(usize),
    /// An advice cell.
    Cell(Cell),
    /// A constant (a padding cell): copies are pinned to the constant.
    Constant(i8),
}

/// An activation (int8, or the index an ArgMax outputs) and where it is.
#[derive(Clone, Copy)]
struct Activation {
    source: Source,
    value: Value<i32>,
}

/// What the model region leaves for the public values: the input values,
/// the output cells (with their values) and the cells holding a copy of
/// model input `i`.
pub(crate) struct ModelCells {
    pub(crate) input: Vec<Value<i32>>,
    pub(crate) outputs: Vec<(Cell, Value<i32>)>,
    pub(crate) input_copies: Vec<(usize, Cell)>,
    /// With committed weights: the cell of every bias and every weight, in
    /// the order of `synod-weights/v1`.
    pub(crate) params: Option<(Vec<Cell>, Vec<Cell>)>,
}

impl ModelCircuit {
    /// Lays out the byte table and the model region: every layer's rows.
    /// Returns the input values, the output cells and the cells that hold a
    /// copy of a model input; the caller ties those to the public instance
    /// (or to a commitment, see `bound.rs`).
    pub(crate) fn lay_out_model(
        &self,
        config: &ModelConfig,
        weight_config: Option<&WeightConfig>,
        layouter: &mut impl Layouter<Fp>,
    ) -> Result<ModelCells, Error> {
        config.assign_byte_table(layouter)?;

        let graph = &self.graph;
        let input = match &self.input {
            Some(v) if v.len() != graph.input_len => return Err(Error::Synthesis),
            Some(v) => v.iter().map(|&x| Value::known(i32::from(x))).collect(),
            None => vec![Value::unknown(); graph.input_len],
        };
        let (bias_count, weight_count) = graph.parameter_counts();
        let (outputs, input_copies, params) = layouter.assign_region(
            || "model",
            |mut region| {
                let mut layout = Layout {
                    config,
                    region: &mut region,
                    row: 0,
                    constants: BTreeMap::new(),
                    input_copies: Vec::new(),
                    params: weight_config.map(|config| ParamCells {
                        config,
                        weights: vec![None; weight_count],
                        biases: vec![None; bias_count],
                    }),
                    #[cfg(feature = "testkit")]
                    tamper: Tampering::new(self.tamper),
                };
                let mut tensors: Vec<Option<Vec<Activation>>> = vec![None; graph.tensors];
                tensors[0] = Some(
                    input
                        .iter()
                        .enumerate()
                        .map(|(i, &value)| Activation {
                            source: Source::Input(i),
                            value,
                        })
                        .collect(),
                );
                // Flat index of the next layer's first weight and bias.
                let (mut next_weight, mut next_bias) = (0usize, 0usize);
                for step in &graph.steps {
                    let read = |t: usize| tensors[t].as_deref().ok_or(Error::Synthesis);
                    let out = match &step.op {
                        Op2::Dense {
                            input,
                            out,
                            inputs,
                            weights,
                            bias,
                            requant,
                            lower_bound,
                        } => {
                            let act = read(*input)?;
                            if act.len() != *inputs {
                                return Err(Error::Synthesis);
                            }
                            #[cfg(feature = "testkit")]
                            let tampered = layout.tamper.layer_copy(act);
                            #[cfg(feature = "testkit")]
                            let act = &tampered[..];
                            let mut outs = Vec::with_capacity(*out);
                            if requant.len() != *out {
                                return Err(Error::Synthesis);
                            }
                            #[cfg(feature = "testkit")]
                            layout.tamper.arm_dense();
                            for (o, ((row, b), r)) in weights
                                .chunks_exact(*inputs)
                                .zip(bias)
                                .zip(requant)
                                .enumerate()
                            {
                                let w: Vec<i64> = row.iter().map(|&w| i64::from(w)).collect();
                                outs.push(layout.neuron(
                                    act,
                                    &w,
                                    i64::from(*b),
                                    *r,
                                    *lower_bound,
                                    Some((next_weight + o * inputs, next_bias + o)),
                                )?);
                            }
                            next_weight += weights.len();
                            next_bias += bias.len();
                            layout.row += REQUANT_ROWS - 1;
                            outs
                        }
                        Op2::Conv {
                            input,
                            geometry,
                            in_size,
                            out_size,
                            input_zero_point,
                            weights,
                            bias,
                            requant,
                            lower_bound,
                        } => {
                            let act = read(*input)?.to_vec();
                            let outs = layout.conv(
                                &act,
                                geometry,
                                *in_size,
                                *out_size,
                                *input_zero_point,
                                weights,
                                bias,
                                requant,
                                *lower_bound,
                                (next_weight, next_bias),
                            )?;
                            next_weight += weights.len();
                            next_bias += bias.len();
                            outs
                        }
                        Op2::Add {
                            a,
                            b,
                            len,
                            a_zero_point,
                            b_zero_point,
                            a_multiplier,
                            b_multiplier,
                            shift,
                            zero_point,
                            lower_bound,
                        } => {
                            let (xa, xb) = (read(*a)?.to_vec(), read(*b)?);
                            if xa.len() != *len || xb.len() != *len {
                                return Err(Error::Synthesis);
                            }
                            let xb = xb.to_vec();
                            let (ma, mb) = (i64::from(*a_multiplier), i64::from(*b_multiplier));
                            let bias =
                                -(i64::from(*a_zero_point) * ma + i64::from(*b_zero_point) * mb);
                            let requant = Requant {
                                multiplier: 1,
                                shift: *shift,
                                zero_point: *zero_point,
                            };
                            let mut outs = Vec::with_capacity(*len);
                            #[cfg(feature = "testkit")]
                            layout.tamper.arm_add();
                            for (&va, &vb) in xa.iter().zip(&xb) {
                                outs.push(layout.neuron(
                                    &[va, vb],
                                    &[ma, mb],
                                    bias,
                                    requant,
                                    *lower_bound,
                                    None,
                                )?);
                            }
                            layout.row += REQUANT_ROWS - 1;
                            outs
                        }
                        Op2::Relu {
                            input, zero_point, ..
                        } => {
                            let act = read(*input)?.to_vec();
                            layout.relu(&act, *zero_point)?
                        }
                        Op2::MaxPool { input, shape } => {
                            let act = read(*input)?.to_vec();
                            layout.max_pool(&act, shape)?
                        }
                        Op2::Reshape { input } => read(*input)?.to_vec(),
                        Op2::ArgMax { input, len } => {
                            let act = read(*input)?.to_vec();
                            if act.len() != *len {
                                return Err(Error::Synthesis);
                            }
                            vec![layout.arg_max(&act)?]
                        }
                    };
                    tensors[step.output] = Some(out);
                }
                let out = tensors[graph.output].take().ok_or(Error::Synthesis)?;
                let mut cells = Vec::with_capacity(out.len());
                for (i, a) in out.iter().enumerate() {
                    match a.source {
                        Source::Cell(cell) => cells.push((cell, a.value)),
                        // A model whose output is (a reshape of) its input:
                        // copy the output into advice cells.
                        _ => {
                            let (row, column) = (layout.row + i / MAC_WIDTH, i % MAC_WIDTH);
                            cells.push((layout.copy_in(*a, config.x[column], row)?, a.value));
                        }
                    }
                }
                let params = match &layout.params {
                    Some(p) => Some(p.cells()?),
                    None => None,
                };
                Ok((cells, layout.input_copies, params))
            },
        )?;
        if outputs.len() != graph.output_len {
            return Err(Error::Synthesis);
        }
        Ok(ModelCells {
            input,
            outputs,
            input_copies,
            params,
        })
    }
}

impl Circuit<Fp> for ModelCircuit {
    type Config = ModelConfig;
    type FloorPlanner = SimpleFloorPlanner;

    fn without_witnesses(&self) -> Self {
        Self {
            graph: Arc::clone(&self.graph),
            input: None,
            #[cfg(feature = "testkit")]
            tamper: None,
        }
    }

    fn configure(meta: &mut ConstraintSystem<Fp>) -> ModelConfig {
        ModelConfig::configure(meta)
    }

    fn synthesize(
        &self,
        config: ModelConfig,
        mut layouter: impl Layouter<Fp>,
    ) -> Result<(), Error> {
        let graph = &self.graph;
        let ModelCells {
            input,
            outputs,
            input_copies,
            ..
        } = self.lay_out_model(&config, None, &mut layouter)?;
        let values: Vec<Value<i32>> = input
            .iter()
            .copied()
            .chain(outputs.iter().map(|&(_, value)| value))
            .collect();
        // The region's columns (`public`, `q_public`) are used nowhere else,
        // so the floor planner puts it at row 0: row `i` is instance row `i`.
        layouter.assign_region(
            || "public values",
            |mut region| {
                let mut public = Vec::with_capacity(values.len());
                for (row, value) in values.iter().enumerate() {
                    config.q_public.enable(&mut region, row)?;
                    let value = value.map(|v| field(i128::from(v)));
                    let cell = region.assign_advice(|| "public", config.public, row, || value)?;
                    public.push(cell.cell());
                }
                for &(i, cell) in &input_copies {
                    region.constrain_equal(*public.get(i).ok_or(Error::Synthesis)?, cell)?;
                }
                let output_cells = public.get(graph.input_len..).ok_or(Error::Synthesis)?;
                for (&(cell, _), &output) in outputs.iter().zip(output_cells) {
                    region.constrain_equal(output, cell)?;
                }
                Ok(())
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2_proofs::arithmetic::Field;

    #[test]
    fn field_of_negative_values_is_the_additive_inverse() {
        assert_eq!(field(-5) + Fp::from(5), Fp::ZERO);
        assert_eq!(field(1i128 << 70), Fp::from(1u64 << 35).square());
    }
}
