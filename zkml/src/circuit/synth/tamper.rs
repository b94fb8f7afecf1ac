//! Dishonest witnesses for mutation tests (feature `testkit`): a circuit told
//! to lie lays out one wrong but otherwise consistent witness, so a test can
//! show that the constraints, not the witness generator, refuse it.

use halo2_proofs::circuit::Value;

use super::layout::slots;
use super::{Activation, ModelCircuit, Requant, Source};
use crate::circuit::config::{LIMB_COLUMNS, REQUANT_ROWS, SLACK_BITS};

/// A dishonest requantization witness for the first output of a layer: the
/// claimed `y` and branch, with the slack computed from the branch formula
/// and written as eight bytes plus an unreduced top limb (and `y - lo`,
/// `y + 128` unreduced), so only the constraints can object.
#[derive(Clone, Copy, Debug)]
pub struct RequantTamper {
    /// Claimed output.
    pub y: i64,
    /// Claimed high-saturation branch.
    pub b_hi: bool,
    /// Claimed low-saturation branch.
    pub b_lo: bool,
}

/// A dishonest but otherwise consistent witness.
#[derive(Clone, Copy, Debug)]
pub enum Tamper {
    /// The first output of the first Dense layer.
    Dense(RequantTamper),
    /// The first output of the first Add.
    Add(RequantTamper),
    /// Output `index` of the first MaxPool claims `value` as its window's maximum.
    PoolOutput {
        /// Output position.
        index: usize,
        /// Claimed maximum.
        value: i8,
    },
    /// The first ArgMax claims `index`.
    ArgMaxIndex(usize),
    /// The first padding cell of the first Conv2d holds `value`.
    ConvPadding(i8),
    /// The first output of the first Conv2d.
    Conv(RequantTamper),
    /// The first output of the first Conv2d claims `y` on the in-range
    /// branch with a zero slack: every limb is a byte, so only the
    /// requantization equation can object.
    ConvZeroSlack(i64),
    /// Output `index` of the first standalone ReLU claims `value`.
    ReluOutput {
        /// Output position.
        index: usize,
        /// Claimed output.
        value: i8,
    },
    /// The first ArgMax's selection bits at `positions` hold `values` (the
    /// others and everything derived from the bits follow them).
    ArgMaxBits {
        /// Two input positions.
        positions: [usize; 2],
        /// Their bits.
        values: [i8; 2],
    },
    /// The first neuron of the first Dense starts its accumulator at
    /// `bias + delta` (the MAC rows and requantization follow it).
    BiasRow(i64),
    /// The first neuron of the first Dense adds `delta` to the partial sum
    /// of its first MAC row (the later rows and requantization follow it).
    PartialSum(i64),
    /// The first Dense that reads another layer's output sees its first
    /// value off by `delta` (a copy unequal to its source; the neuron
    /// follows it).
    LayerCopy(i32),
}

/// A dishonest requantization witness.
#[derive(Clone, Copy, Debug)]
enum RequantClaim {
    /// The slack follows the claimed branch's formula.
    Formula(RequantTamper),
    /// The in-range branch with `y` and a zero slack.
    ZeroSlack(i64),
}

/// A dishonest accumulator of one neuron (see [`Tamper::BiasRow`] and
/// [`Tamper::PartialSum`]).
#[derive(Clone, Copy, Debug)]
pub(super) enum AccTamper {
    /// Added to the bias row.
    Bias(i64),
    /// Added to the first MAC row's partial sum.
    PartialSum(i64),
}

impl ModelCircuit {
    /// This circuit with a dishonest requantization witness for the first
    /// Dense layer.
    pub fn with_tamper(self, tamper: RequantTamper) -> Self {
        self.with(Tamper::Dense(tamper))
    }

    /// This circuit with a dishonest witness.
    pub fn with(mut self, tamper: Tamper) -> Self {
        self.tamper = Some(tamper);
        self
    }
}

/// A requantization row's witness: `y`, the two branch bits, the limb slots.
type RequantRow = (i128, bool, bool, [i128; REQUANT_ROWS * LIMB_COLUMNS]);

/// The tampering of one layout: each [`Tamper`] applies once, at the first
/// place it names.
pub(super) struct Tampering {
    /// Not yet applied.
    pending: Option<Tamper>,
    /// For the next neuron's requantization (armed by a Dense, Conv2d or Add step).
    next_requant: Option<RequantClaim>,
    /// For the next neuron's accumulator (armed by a Dense step).
    next_acc: Option<AccTamper>,
}

impl Tampering {
    pub(super) fn new(tamper: Option<Tamper>) -> Self {
        Self {
            pending: tamper,
            next_requant: None,
            next_acc: None,
        }
    }

    /// Takes the pending tamper if `pick` selects it.
    fn take<T>(&mut self, pick: impl FnOnce(Tamper) -> Option<T>) -> Option<T> {
        let picked = self.pending.and_then(pick);
        if picked.is_some() {
            self.pending = None;
        }
        picked
    }

    /// At the start of a Dense step: a pending [`Tamper::Dense`] goes to
    /// its first neuron.
    pub(super) fn arm_dense(&mut self) {
        self.next_requant = self.take(|t| match t {
            Tamper::Dense(r) => Some(RequantClaim::Formula(r)),
            _ => None,
        });
        self.next_acc = self.take(|t| match t {
            Tamper::BiasRow(d) => Some(AccTamper::Bias(d)),
            Tamper::PartialSum(d) => Some(AccTamper::PartialSum(d)),
            _ => None,
        });
    }

    /// At the start of a Conv2d step: a pending [`Tamper::Conv`] goes to
    /// its first neuron.
    pub(super) fn arm_conv(&mut self) {
        self.next_requant = self.take(|t| match t {
            Tamper::Conv(r) => Some(RequantClaim::Formula(r)),
            Tamper::ConvZeroSlack(y) => Some(RequantClaim::ZeroSlack(y)),
            _ => None,
        });
    }

    /// The armed accumulator tamper of the next neuron, if any.
    pub(super) fn acc(&mut self) -> Option<AccTamper> {
        self.next_acc.take()
    }

    /// A Dense step's input: the first value moved by a pending
    /// [`Tamper::LayerCopy`] when it is another layer's output.
    pub(super) fn layer_copy(&mut self, act: &[Activation]) -> Vec<Activation> {
        let mut act = act.to_vec();
        if let Some(first) = act.first_mut() {
            if matches!(first.source, Source::Cell(_)) {
                if let Some(delta) = self.take(|t| match t {
                    Tamper::LayerCopy(d) => Some(d),
                    _ => None,
                }) {
                    first.value = first.value.map(|v| v + delta);
                }
            }
        }
        act
    }

    /// At the start of a standalone ReLU step: the output and the value a
    /// pending [`Tamper::ReluOutput`] claims.
    pub(super) fn relu_output(&mut self) -> Option<(usize, i8)> {
        self.take(|t| match t {
            Tamper::ReluOutput { index, value } => Some((index, value)),
            _ => None,
        })
    }

    /// An ArgMax step's selection bits: `honest`, with the positions a
    /// pending [`Tamper::ArgMaxBits`] names replaced.
    pub(super) fn arg_max_bits(&mut self, honest: Value<Vec<i128>>) -> Value<Vec<i128>> {
        match self.take(|t| match t {
            Tamper::ArgMaxBits { positions, values } => Some((positions, values)),
            _ => None,
        }) {
            Some((positions, values)) => honest.map(|mut bits| {
                for (p, v) in positions.into_iter().zip(values) {
                    if let Some(bit) = bits.get_mut(p) {
                        *bit = i128::from(v);
                    }
                }
                bits
            }),
            None => honest,
        }
    }

    /// At the start of an Add step: a pending [`Tamper::Add`] goes to its
    /// first neuron.
    pub(super) fn arm_add(&mut self) {
        self.next_requant = self.take(|t| match t {
            Tamper::Add(r) => Some(RequantClaim::Formula(r)),
            _ => None,
        });
    }

    /// A neuron's requantization witness: the armed dishonest one, else `honest`.
    pub(super) fn requant_witness(
        &mut self,
        honest: Value<RequantRow>,
        acc: Value<i64>,
        requant: Requant,
        lower_bound: i8,
    ) -> Value<RequantRow> {
        match self.next_requant.take() {
            Some(RequantClaim::Formula(t)) => {
                acc.map(|acc| tampered_witness(acc, requant, lower_bound, t))
            }
            Some(RequantClaim::ZeroSlack(y)) => acc.map(|_| {
                let y = i128::from(y);
                (y, false, false, slots(0, y, i128::from(lower_bound)))
            }),
            None => honest,
        }
    }

    /// The first padding cell of a Conv2d step: `padding`, or the value a
    /// pending [`Tamper::ConvPadding`] claims.
    pub(super) fn conv_padding(&mut self, mut padding: Activation) -> Activation {
        if let Some(v) = self.take(|t| match t {
            Tamper::ConvPadding(v) => Some(v),
            _ => None,
        }) {
            padding.value = Value::known(i32::from(v));
        }
        padding
    }

    /// At the start of a MaxPool step: the output and the value a pending
    /// [`Tamper::PoolOutput`] claims.
    pub(super) fn pool_output(&mut self) -> Option<(usize, i8)> {
        self.take(|t| match t {
            Tamper::PoolOutput { index, value } => Some((index, value)),
            _ => None,
        })
    }

    /// An ArgMax step's index: `index`, or the one a pending
    /// [`Tamper::ArgMaxIndex`] claims.
    pub(super) fn arg_max_index(&mut self, index: Value<usize>) -> Value<usize> {
        match self.take(|t| match t {
            Tamper::ArgMaxIndex(i) => Some(i),
            _ => None,
        }) {
            Some(i) => index.map(|_| i),
            None => index,
        }
    }
}

fn tampered_witness(acc: i64, r: Requant, lower_bound: i8, t: RequantTamper) -> RequantRow {
    let s = u32::from(r.shift);
    let two_s = 1i128 << s;
    let v = i128::from(acc) * i128::from(r.multiplier) + (two_s >> 1);
    let zy = i128::from(r.zero_point);
    let lo = i128::from(lower_bound);
    let y = i128::from(t.y);
    let slack = if t.b_hi {
        v - (128 - zy) * two_s
    } else if t.b_lo {
        (lo - zy + 1) * two_s - 1 - v
    } else {
        (v - (y - zy) * two_s) << (SLACK_BITS - s)
    };
    (y, t.b_hi, t.b_lo, slots(slack, y, lo))
}
