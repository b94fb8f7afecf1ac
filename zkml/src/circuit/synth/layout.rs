//! The model region's layout: one neuron's MAC and requantization rows,
//! Conv2d windows, ReLU, MaxPool and ArgMax rows (the gates are in
//! `config.rs`).

use std::collections::BTreeMap;

use halo2_proofs::{
    circuit::{Cell, Region, Value},
    pasta::Fp,
    plonk::{Advice, Column, Error, Fixed},
};

use super::{field, Activation, Source};
use crate::circuit::config::{
    limb_slot, ModelConfig, RequantGate, LIMB_COLUMNS, MAC_WIDTH, RELU_ZERO_POINT, REQUANT_ROWS,
    SLACK_BITS, SLACK_LIMBS, SLOT_Y_MINUS_LO, SLOT_Y_PLUS_128,
};
use crate::circuit::graph::{mac_rows, PoolShape};
use crate::circuit::spec::Requant;
use crate::circuit::weights::WeightConfig;
use crate::ir::ConvGeometry;

#[cfg(feature = "testkit")]
use super::tamper::Tampering;

/// The witness of one requantization.
struct RequantWitness {
    y: i8,
    b_hi: bool,
    b_lo: bool,
    slots: [i128; REQUANT_ROWS * LIMB_COLUMNS],
}

fn requant_witness(acc: i64, r: Requant, lower_bound: i8) -> RequantWitness {
    let s = u32::from(r.shift);
    let two_s = 1i128 << s;
    let v = i128::from(acc) * i128::from(r.multiplier) + (two_s >> 1);
    let zy = i128::from(r.zero_point);
    let lo = i128::from(lower_bound);
    let t = (v >> s) + zy;
    let (y, b_hi, b_lo, slack) = if t > 127 {
        (127, true, false, v - (128 - zy) * two_s)
    } else if t < lo {
        (lo, false, true, (lo - zy + 1) * two_s - 1 - v)
    } else {
        (t, false, false, (v - (t - zy) * two_s) << (SLACK_BITS - s))
    };
    RequantWitness {
        y: y as i8,
        b_hi,
        b_lo,
        slots: slots(slack, y, lo),
    }
}

/// Limb slots: the slack's low eight bytes, its remaining high part (a
/// byte for an honest slack below `2^72`), `y - lo` and `y + 128`.
pub(super) fn slots(slack: i128, y: i128, lo: i128) -> [i128; REQUANT_ROWS * LIMB_COLUMNS] {
    let mut slots = [0i128; REQUANT_ROWS * LIMB_COLUMNS];
    for (i, slot) in slots.iter_mut().take(SLACK_LIMBS - 1).enumerate() {
        *slot = (slack >> (8 * i)) & 0xff;
    }
    slots[SLACK_LIMBS - 1] = slack >> (8 * (SLACK_LIMBS - 1));
    slots[SLOT_Y_MINUS_LO] = y - lo;
    slots[SLOT_Y_PLUS_128] = y + 128;
    slots
}

pub(super) struct Layout<'a, 'r> {
    pub(super) config: &'a ModelConfig,
    pub(super) region: &'a mut Region<'r, Fp>,
    pub(super) row: usize,
    /// The first cell pinned to each constant; later copies equal it.
    pub(super) constants: BTreeMap<i128, Cell>,
    /// Cells holding a copy of model input `i`, to constrain to its public cell.
    pub(super) input_copies: Vec<(usize, Cell)>,
    /// Committed weights: where each parameter's first use is.
    pub(super) params: Option<ParamCells<'a>>,
    /// The dishonest witness not yet laid out (mutation tests only).
    #[cfg(feature = "testkit")]
    pub(super) tamper: Tampering,
}

/// The parameters of a circuit with committed weights: the advice columns
/// they are read from, and the first cell of each weight and bias (flat
/// indices in node order, as in `synod-weights/v1`).
pub(crate) struct ParamCells<'a> {
    pub(crate) config: &'a WeightConfig,
    pub(crate) weights: Vec<Option<Cell>>,
    pub(crate) biases: Vec<Option<Cell>>,
}

impl ParamCells<'_> {
    /// Every parameter's cell, `(biases, weights)`; an error if a
    /// parameter was never laid out.
    pub(crate) fn cells(&self) -> Result<(Vec<Cell>, Vec<Cell>), Error> {
        let all = |cells: &[Option<Cell>]| {
            cells
                .iter()
                .map(|c| c.ok_or(Error::Synthesis))
                .collect::<Result<Vec<Cell>, Error>>()
        };
        Ok((all(&self.biases)?, all(&self.weights)?))
    }
}

/// Records `cell` as parameter `index`'s home, or ties it to the home.
fn tie(
    region: &mut Region<'_, Fp>,
    homes: &mut [Option<Cell>],
    index: usize,
    cell: Cell,
) -> Result<(), Error> {
    match homes.get_mut(index).ok_or(Error::Synthesis)? {
        Some(home) => region.constrain_equal(*home, cell),
        slot @ None => {
            *slot = Some(cell);
            Ok(())
        }
    }
}

impl Layout<'_, '_> {
    /// Pins `cell` to the constant `v`.
    fn pin(&mut self, cell: Cell, v: i128) -> Result<(), Error> {
        match self.constants.get(&v) {
            Some(&first) => self.region.constrain_equal(first, cell),
            None => {
                self.region.constrain_constant(cell, field(v))?;
                self.constants.insert(v, cell);
                Ok(())
            }
        }
    }

    /// Assigns `a` into advice cell (`column`, `row`), equal to its source.
    pub(super) fn copy_in(
        &mut self,
        a: Activation,
        column: Column<Advice>,
        row: usize,
    ) -> Result<Cell, Error> {
        match a.source {
            Source::Input(i) => {
                let assigned = self.advice(column, row, a.value.map(i128::from))?;
                self.input_copies.push((i, assigned));
                Ok(assigned)
            }
            Source::Cell(cell) => {
                let assigned = self.advice(column, row, a.value.map(i128::from))?;
                self.region.constrain_equal(cell, assigned)?;
                Ok(assigned)
            }
            Source::Constant(v) => {
                let assigned = self.advice(column, row, a.value.map(i128::from))?;
                self.pin(assigned, i128::from(v))?;
                Ok(assigned)
            }
        }
    }

    /// Ties `cell` to weight (or bias) `index`'s first cell.
    fn tie_param(&mut self, weight: bool, index: usize, cell: Cell) -> Result<(), Error> {
        let params = self.params.as_mut().ok_or(Error::Synthesis)?;
        let homes = if weight {
            &mut params.weights
        } else {
            &mut params.biases
        };
        tie(self.region, homes, index, cell)
    }

    fn advice(
        &mut self,
        column: Column<Advice>,
        row: usize,
        value: Value<i128>,
    ) -> Result<Cell, Error> {
        Ok(self
            .region
            .assign_advice(|| "", column, row, || value.map(field))?
            .cell())
    }

    fn fixed(&mut self, column: Column<Fixed>, row: usize, value: i128) -> Result<(), Error> {
        self.region
            .assign_fixed(|| "", column, row, || Value::known(field(value)))?;
        Ok(())
    }

    /// One neuron: `acc = bias + sum taps[i] * weights[i]` on MAC rows, then
    /// the requantization row. The caller adds the spill rows of the last
    /// neuron of a layer. `params` is where the neuron's weights and bias
    /// are in the flat parameter lists (`None` for an `Add`, whose
    /// multipliers are constants): with committed weights they are read
    /// from advice cells tied to those parameters, else from fixed columns.
    pub(super) fn neuron(
        &mut self,
        taps: &[Activation],
        weights: &[i64],
        bias: i64,
        requant: Requant,
        lower_bound: i8,
        params: Option<(usize, usize)>,
    ) -> Result<Activation, Error> {
        if taps.len() != weights.len() {
            return Err(Error::Synthesis);
        }
        let config = self.config;
        let committed = match (params, &self.params) {
            (Some(at), Some(p)) => Some((at, p.config)),
            _ => None,
        };
        let rows = mac_rows(taps.len());
        let known: Value<Vec<i32>> = taps.iter().map(|a| a.value).collect();
        let s = u32::from(requant.shift);
        let start = self.row;
        match committed {
            Some(((_, bias_index), weight_config)) => {
                weight_config.q_bias.enable(self.region, start)?;
                let cell =
                    self.advice(weight_config.bias, start, Value::known(i128::from(bias)))?;
                self.tie_param(false, bias_index, cell)?;
            }
            None => {
                config.q_bias.enable(self.region, start)?;
                self.fixed(config.bias, start, i128::from(bias))?;
            }
        }
        let mut acc = known.as_ref().map(|_| bias);
        #[cfg(feature = "testkit")]
        let acc_tamper = self.tamper.acc();
        #[cfg(feature = "testkit")]
        if let Some(super::tamper::AccTamper::Bias(d)) = acc_tamper {
            acc = acc.map(|a| a + d);
        }
        self.advice(config.acc, start, acc.map(i128::from))?;
        for c in 0..rows {
            let row = start + c;
            match committed {
                Some((_, weight_config)) => weight_config.q_mac.enable(self.region, row)?,
                None => config.q_mac.enable(self.region, row)?,
            }
            for j in 0..MAC_WIDTH {
                let i = c * MAC_WIDTH + j;
                let weight = weights.get(i).copied();
                if i < taps.len() {
                    self.copy_in(taps[i], config.x[j], row)?;
                } else {
                    self.advice(config.x[j], row, Value::known(0))?;
                }
                match (committed, weight) {
                    (Some(((first, _), weight_config)), Some(w)) => {
                        let cell =
                            self.advice(weight_config.u[j], row, Value::known(i128::from(w)))?;
                        self.tie_param(true, first + i, cell)?;
                    }
                    (Some((_, weight_config)), None) => {
                        // An unused tap: its weight is the constant 0.
                        let cell = self.advice(weight_config.u[j], row, Value::known(0))?;
                        self.pin(cell, 0)?;
                    }
                    (None, w) => self.fixed(config.w[j], row, i128::from(w.unwrap_or(0)))?,
                }
            }
            let end = ((c + 1) * MAC_WIDTH).min(taps.len());
            acc = acc.zip(known.as_ref()).map(|(acc, x)| {
                acc + (c * MAC_WIDTH..end)
                    .map(|i| i64::from(x[i]) * weights[i])
                    .sum::<i64>()
            });
            #[cfg(feature = "testkit")]
            if let (0, Some(super::tamper::AccTamper::PartialSum(d))) = (c, acc_tamper) {
                acc = acc.map(|a| a + d);
            }
            self.advice(config.acc, row + 1, acc.map(i128::from))?;
        }

        let result = start + rows;
        config.q_requant.enable(self.region, result)?;
        let constants = [
            (RequantGate::MULTIPLIER, i128::from(requant.multiplier)),
            (RequantGate::TWO_POW_S, 1i128 << s),
            (RequantGate::HALF, 1i128 << (s - 1)),
            (RequantGate::REMAINDER_SCALE, 1i128 << (SLACK_BITS - s)),
            (RequantGate::ZERO_POINT, i128::from(requant.zero_point)),
            (RequantGate::LOWER_BOUND, i128::from(lower_bound)),
        ];
        for (column, value) in constants {
            self.fixed(config.w[column], result, value)?;
        }
        let witness = acc.map(|acc| {
            let w = requant_witness(acc, requant, lower_bound);
            (i128::from(w.y), w.b_hi, w.b_lo, w.slots)
        });
        #[cfg(feature = "testkit")]
        let witness = self
            .tamper
            .requant_witness(witness, acc, requant, lower_bound);
        let y_wide = witness.as_ref().map(|w| w.0);
        let y_cell = self.advice(config.y, result, y_wide)?;
        self.advice(
            config.b_hi,
            result,
            witness.as_ref().map(|w| i128::from(w.1)),
        )?;
        self.advice(
            config.b_lo,
            result,
            witness.as_ref().map(|w| i128::from(w.2)),
        )?;
        for slot in 0..REQUANT_ROWS * LIMB_COLUMNS {
            let (column, offset) = limb_slot(slot);
            let value = witness.as_ref().map(|w| w.3[slot]);
            self.advice(config.limbs[column], result + offset, value)?;
        }
        self.row = result + 1;
        Ok(Activation {
            source: Source::Cell(y_cell),
            value: y_wide.map(|y| y as i32),
        })
    }

    /// One neuron per output of a `[C, H, W]` input of `in_size` `[H, W]`
    /// and an output of `[OH, OW]`, its taps those of [`ConvGeometry::taps`].
    #[allow(clippy::too_many_arguments)]
    pub(super) fn conv(
        &mut self,
        act: &[Activation],
        geometry: &ConvGeometry,
        in_size: [usize; 2],
        [out_h, out_w]: [usize; 2],
        input_zero_point: i8,
        weights: &[i8],
        bias: &[i32],
        requant: &[Requant],
        lower_bound: i8,
        params: (usize, usize),
    ) -> Result<Vec<Activation>, Error> {
        let fan_in = geometry.fan_in() as usize;
        let out_channels = geometry.out_channels as usize;
        if act.len() != geometry.in_channels as usize * in_size[0] * in_size[1]
            || weights.len() != out_channels * fan_in
            || bias.len() != out_channels
            || requant.len() != out_channels
        {
            return Err(Error::Synthesis);
        }
        let honest_padding = Activation {
            source: Source::Constant(input_zero_point),
            value: Value::known(i32::from(input_zero_point)),
        };
        // The first padding cell laid out holds `padding`, every other one
        // `honest_padding` (they differ only when a mutation test asks).
        let padding = honest_padding;
        #[cfg(feature = "testkit")]
        let padding = self.tamper.conv_padding(padding);
        let mut first_padding = true;
        #[cfg(feature = "testkit")]
        self.tamper.arm_conv();
        let mut outs = Vec::with_capacity(out_channels * out_h * out_w);
        for (o, ((filter, &b), &requant)) in weights
            .chunks_exact(fan_in)
            .zip(bias)
            .zip(requant)
            .enumerate()
        {
            let w: Vec<i64> = filter.iter().map(|&w| i64::from(w)).collect();
            let at = (params.0 + o * fan_in, params.1 + o);
            for oy in 0..out_h {
                for ox in 0..out_w {
                    let taps: Vec<Activation> = geometry
                        .taps(in_size, oy, ox)
                        .map(|t| match t {
                            Some(i) => act[i],
                            None if first_padding => {
                                first_padding = false;
                                padding
                            }
                            None => honest_padding,
                        })
                        .collect();
                    outs.push(self.neuron(
                        &taps,
                        &w,
                        i64::from(b),
                        requant,
                        lower_bound,
                        Some(at),
                    )?);
                }
            }
        }
        self.row += REQUANT_ROWS - 1;
        Ok(outs)
    }

    pub(super) fn relu(
        &mut self,
        act: &[Activation],
        zero_point: i8,
    ) -> Result<Vec<Activation>, Error> {
        let config = self.config;
        let z = i128::from(zero_point);
        #[cfg(feature = "testkit")]
        let tamper = self.tamper.relu_output();
        let mut outputs = Vec::with_capacity(act.len());
        for &a in act {
            let row = self.row;
            config.q_relu.enable(self.region, row)?;
            self.fixed(config.w[RELU_ZERO_POINT], row, z)?;
            self.copy_in(a, config.acc, row)?;
            let x = a.value.map(i128::from);
            let y = x.map(|x| x.max(z));
            #[cfg(feature = "testkit")]
            let y = match tamper {
                Some((index, value)) if index == outputs.len() => y.map(|_| i128::from(value)),
                _ => y,
            };
            let y_cell = self.advice(config.y, row, y)?;
            let diffs = [
                x.zip(y).map(|(x, y)| y - x),
                y.map(|y| y - z),
                y.map(|y| y + 128),
            ];
            for (column, value) in config.limbs.iter().zip(diffs) {
                self.advice(*column, row, value)?;
            }
            outputs.push(Activation {
                source: Source::Cell(y_cell),
                // y is an int8 (or a tampered claim of one).
                value: y.map(|y| y as i32),
            });
            self.row += 1;
        }
        Ok(outputs)
    }

    /// One window per output: `n` comparison rows and a tail row (see
    /// [`ModelConfig::pool_gate`]).
    pub(super) fn max_pool(
        &mut self,
        act: &[Activation],
        shape: &PoolShape,
    ) -> Result<Vec<Activation>, Error> {
        let config = self.config;
        if act.len() != shape.channels * shape.height * shape.width {
            return Err(Error::Synthesis);
        }
        #[cfg(feature = "testkit")]
        let tamper = self.tamper.pool_output();
        let mut outs = Vec::with_capacity(shape.channels * shape.out_h * shape.out_w);
        for c in 0..shape.channels {
            for oy in 0..shape.out_h {
                for ox in 0..shape.out_w {
                    let window: Vec<Activation> = shape.window(c, oy, ox).map(|i| act[i]).collect();
                    let values: Value<Vec<i32>> = window.iter().map(|a| a.value).collect();
                    let y = values
                        .as_ref()
                        .map(|v| v.iter().copied().max().unwrap_or(i32::from(i8::MIN)));
                    #[cfg(feature = "testkit")]
                    let y = match tamper {
                        Some((index, value)) if index == outs.len() => y.map(|_| i32::from(value)),
                        _ => y,
                    };
                    let y_wide = y.map(i128::from);
                    let start = self.row;
                    let mut p = Value::known(Fp::one());
                    let mut y_cell = None;
                    for (j, a) in window.iter().enumerate() {
                        let row = start + j;
                        config.q_pool.enable(self.region, row)?;
                        self.copy_in(*a, config.acc, row)?;
                        let cell = self.advice(config.y, row, y_wide)?;
                        y_cell.get_or_insert(cell);
                        let p_cell = self
                            .region
                            .assign_advice(|| "p", config.b_lo, row, || p)?
                            .cell();
                        if j == 0 {
                            self.pin(p_cell, 1)?;
                        }
                        let diff = y_wide.zip(a.value).map(|(y, x)| y - i128::from(x));
                        self.advice(config.limbs[0], row, diff)?;
                        p = p.zip(diff).map(|(p, d)| p * field(d));
                    }
                    let tail = start + window.len();
                    self.advice(config.y, tail, y_wide)?;
                    let p_cell = self
                        .region
                        .assign_advice(|| "p", config.b_lo, tail, || p)?
                        .cell();
                    self.pin(p_cell, 0)?;
                    self.row = tail + 1;
                    outs.push(Activation {
                        source: Source::Cell(y_cell.ok_or(Error::Synthesis)?),
                        value: y,
                    });
                }
            }
        }
        Ok(outs)
    }

    /// `n` comparison rows and a tail row holding the index (see
    /// [`ModelConfig::argmax_gate`]).
    pub(super) fn arg_max(&mut self, act: &[Activation]) -> Result<Activation, Error> {
        let config = self.config;
        let values: Value<Vec<i32>> = act.iter().map(|a| a.value).collect();
        let index = values.as_ref().map(|v| {
            let mut best = 0;
            for (i, &x) in v.iter().enumerate() {
                if x > v[best] {
                    best = i;
                }
            }
            best
        });
        #[cfg(feature = "testkit")]
        let index = self.tamper.arg_max_index(index);
        let m = values
            .as_ref()
            .zip(index)
            .map(|(v, i)| i128::from(v.get(i).copied().unwrap_or(0)));
        let start = self.row;
        let bits: Value<Vec<i128>> =
            index.map(|i| (0..act.len()).map(|j| i128::from(i == j)).collect());
        #[cfg(feature = "testkit")]
        let bits = self.tamper.arg_max_bits(bits);
        let (mut c, mut r) = (Value::known(0i128), Value::known(0i128));
        for (j, a) in act.iter().enumerate() {
            let row = start + j;
            config.q_argmax.enable(self.region, row)?;
            self.copy_in(*a, config.acc, row)?;
            self.advice(config.y, row, m)?;
            let s = bits.as_ref().map(|b| b.get(j).copied().unwrap_or(0));
            self.advice(config.b_hi, row, s)?;
            let c_cell = self.advice(config.b_lo, row, c)?;
            let r_cell = self.advice(config.x[0], row, r)?;
            if j == 0 {
                self.pin(c_cell, 0)?;
                self.pin(r_cell, 0)?;
            }
            let before = c.zip(s).map(|(c, s)| 1 - c - s);
            let diff = m
                .zip(a.value)
                .zip(before)
                .map(|((m, x), b)| m - i128::from(x) - b);
            self.advice(config.limbs[0], row, diff)?;
            c = c.zip(s).map(|(c, s)| c + s);
            r = r.zip(before).map(|(r, b)| r + b);
        }
        let tail = start + act.len();
        self.advice(config.y, tail, m)?;
        let c_cell = self.advice(config.b_lo, tail, c)?;
        self.pin(c_cell, 1)?;
        let index_cell = self.advice(config.x[0], tail, r)?;
        self.row = tail + 1;
        Ok(Activation {
            source: Source::Cell(index_cell),
            // At most the IR's tensor size limit (2^24): fits an i32.
            value: r.map(|r| r as i32),
        })
    }
}
