//! Columns, gates and lookups of the model circuit.
//!
//! Layout, per dense output neuron (`C = max(ceil(inputs / MAC_WIDTH), 3)`):
//!
//! ```text
//! row      x[0..16]        w[0..16] (fixed)      acc     bias   y  b_hi b_lo limb[0..3]
//! r        x chunk 0       weights chunk 0       bias    bias
//! r+1..    x chunk c       weights chunk c       partial
//! r+C      -               m 2^s 2^(s-1)         acc            y  b_hi b_lo slots 0..2
//!                          2^(72-s) zy lo
//! r+C+1..3 (next neuron's MAC rows)                                          slots 3..11
//! ```
//!
//! `q_mac` on MAC rows: `acc(next) = acc + sum_j x_j * w_j` (16 MACs a row);
//! `q_bias` on the first: `acc = bias`; `q_requant` on the result row proves
//! the contract's requantization, clamp and an optional fused ReLU (a lower
//! clamp bound `lo`, see [`RequantGate`]). The twelve limb slots of a result
//! row are the three limb columns over four rows; each limb column is
//! range-checked to `0..256` by an (ungated) lookup, so every slot is a byte.
//!
//! The same MAC rows serve Conv2d (one neuron per output value, its taps the
//! `C * KH * KW` input cells of its window; a tap in the padding is an advice
//! cell copy-constrained to the constant input zero point) and Add (taps
//! `a`, `b` with weights `ma`, `mb`, the zero points in the bias, requantized
//! with multiplier 1). MaxPool windows and ArgMax use one comparison row per
//! element (see [`ModelConfig::pool_gate`], [`ModelConfig::argmax_gate`]).
//!
//! The public values (inputs, then outputs) are in the instance column as
//! `v + PUBLIC_OFFSET`, small non-negative numbers, which keeps the
//! verifier's commitment to the instance cheap (a negative `v` would be the
//! 255-bit `p - |v|`). `q_public` rows `0..n` hold `v` in the `public` advice
//! column (see [`ModelConfig::public_gate`]); the model's cells are
//! copy-constrained to those.

use halo2_proofs::{
    circuit::{Layouter, Value},
    pasta::Fp,
    plonk::{
        Advice, Column, ConstraintSystem, Constraints, Error, Expression, Fixed, Instance,
        Selector, TableColumn,
    },
    poly::Rotation,
};

/// Multiply-accumulates per row (advice `x` columns and fixed weight columns).
pub const MAC_WIDTH: usize = 16;
/// Advice columns holding range-checked bytes.
pub const LIMB_COLUMNS: usize = 3;
/// Rows of limb columns a requantization uses, starting at its result row.
pub const REQUANT_ROWS: usize = 4;
/// Bytes of the requantization slack (a value in `0..2^72`).
pub const SLACK_LIMBS: usize = 9;
/// Bits of the slack: the in-range remainder `r < 2^s` is checked as
/// `r * 2^(SLACK_BITS - s) < 2^SLACK_BITS`.
pub const SLACK_BITS: u32 = 72;
/// Limb slot holding `y - lo` (proves `y >= lo`).
pub const SLOT_Y_MINUS_LO: usize = SLACK_LIMBS;
/// Limb slot holding `y + 128` (proves `y <= 127`).
pub const SLOT_Y_PLUS_128: usize = SLACK_LIMBS + 1;
/// Added to every public value in the instance column: int8 values become
/// `0..256`, ArgMax indices `128..`.
pub const PUBLIC_OFFSET: i32 = 128;

/// Where limb slot `slot` of a requantization lives: (column, row offset).
pub const fn limb_slot(slot: usize) -> (usize, usize) {
    (slot % LIMB_COLUMNS, slot / LIMB_COLUMNS)
}

/// The circuit's columns and selectors. The same for every model: the model
/// lives in the fixed columns' values, never in the shape of the circuit.
#[derive(Clone, Debug)]
pub struct ModelConfig {
    /// MAC inputs (activations), copy-constrained to where they were produced.
    pub x: [Column<Advice>; MAC_WIDTH],
    /// Weights on MAC rows; requantization constants on result rows.
    pub w: [Column<Fixed>; MAC_WIDTH],
    /// Running accumulator; also the input of a standalone ReLU row.
    pub acc: Column<Advice>,
    /// Bias, at the first row of each neuron.
    pub bias: Column<Fixed>,
    /// Int8 outputs of requantization and ReLU rows.
    pub y: Column<Advice>,
    /// Requantization branch: the result clamped high (`y = 127`).
    pub b_hi: Column<Advice>,
    /// Requantization branch: the result clamped low (`y = lo`).
    pub b_lo: Column<Advice>,
    /// Byte limbs, each looked up in `byte_table`.
    pub limbs: [Column<Advice>; LIMB_COLUMNS],
    /// Public input values, then public output values, each plus
    /// [`PUBLIC_OFFSET`]. Not equality-enabled: only `public_gate` reads it.
    pub instance: Column<Instance>,
    /// The public values themselves, on `q_public` rows (equality-enabled).
    pub public: Column<Advice>,
    /// `0..256`.
    pub byte_table: TableColumn,
    /// Enables the MAC gate.
    pub q_mac: Selector,
    /// Enables `acc = bias`.
    pub q_bias: Selector,
    /// Enables the requantization gate.
    pub q_requant: Selector,
    /// Enables the standalone ReLU gate.
    pub q_relu: Selector,
    /// Enables a MaxPool comparison row.
    pub q_pool: Selector,
    /// Enables an ArgMax comparison row.
    pub q_argmax: Selector,
    /// Enables `public = instance - PUBLIC_OFFSET` on a row.
    pub q_public: Selector,
    /// Constants (padding values, pinned running values), equality-enabled.
    pub constants: Column<Fixed>,
}

/// Fixed-column positions of a requantization's constants on its result row.
#[derive(Clone, Copy, Debug)]
pub struct RequantGate;

impl RequantGate {
    /// `m`.
    pub const MULTIPLIER: usize = 0;
    /// `2^s`.
    pub const TWO_POW_S: usize = 1;
    /// `2^(s-1)`.
    pub const HALF: usize = 2;
    /// `2^(72-s)`.
    pub const REMAINDER_SCALE: usize = 3;
    /// `zy`.
    pub const ZERO_POINT: usize = 4;
    /// `lo`: -128, or the zero point of a ReLU fused into this layer.
    pub const LOWER_BOUND: usize = 5;
}

/// Fixed-column position of a standalone ReLU's zero point.
pub const RELU_ZERO_POINT: usize = 0;

impl ModelConfig {
    /// Allocates the columns and declares every gate and lookup.
    pub fn configure(meta: &mut ConstraintSystem<Fp>) -> Self {
        let x = std::array::from_fn(|_| meta.advice_column());
        let w = std::array::from_fn(|_| meta.fixed_column());
        let acc = meta.advice_column();
        let bias = meta.fixed_column();
        let y = meta.advice_column();
        let b_hi = meta.advice_column();
        let b_lo = meta.advice_column();
        let limbs = std::array::from_fn(|_| meta.advice_column());
        let instance = meta.instance_column();
        let public = meta.advice_column();
        let byte_table = meta.lookup_table_column();
        for column in x {
            meta.enable_equality(column);
        }
        meta.enable_equality(acc);
        meta.enable_equality(y);
        meta.enable_equality(b_lo);
        meta.enable_equality(public);
        let constants = meta.fixed_column();
        meta.enable_constant(constants);

        let config = Self {
            x,
            w,
            acc,
            bias,
            y,
            b_hi,
            b_lo,
            limbs,
            instance,
            public,
            byte_table,
            q_mac: meta.selector(),
            q_bias: meta.selector(),
            q_requant: meta.selector(),
            q_relu: meta.selector(),
            q_pool: meta.selector(),
            q_argmax: meta.selector(),
            q_public: meta.selector(),
            constants,
        };
        config.mac_gates(meta);
        config.requant_gate(meta);
        config.relu_gate(meta);
        config.pool_gate(meta);
        config.argmax_gate(meta);
        config.public_gate(meta);
        for column in limbs {
            meta.lookup(|cells| vec![(cells.query_advice(column, Rotation::cur()), byte_table)]);
        }
        config
    }

    /// Fills `byte_table` with `0..256`.
    pub fn assign_byte_table(&self, layouter: &mut impl Layouter<Fp>) -> Result<(), Error> {
        layouter.assign_table(
            || "bytes",
            |mut table| {
                for b in 0..256u64 {
                    table.assign_cell(
                        || "byte",
                        self.byte_table,
                        b as usize,
                        || Value::known(Fp::from(b)),
                    )?;
                }
                Ok(())
            },
        )
    }

    fn mac_gates(&self, meta: &mut ConstraintSystem<Fp>) {
        meta.create_gate("mac", |cells| {
            let q = cells.query_selector(self.q_mac);
            let acc = cells.query_advice(self.acc, Rotation::cur());
            let next = cells.query_advice(self.acc, Rotation::next());
            let sum = (0..MAC_WIDTH).fold(acc, |sum, j| {
                sum + cells.query_advice(self.x[j], Rotation::cur()) * cells.query_fixed(self.w[j])
            });
            Constraints::with_selector(q, [("acc(next) = acc + x.w", next - sum)])
        });
        meta.create_gate("bias", |cells| {
            let q = cells.query_selector(self.q_bias);
            let acc = cells.query_advice(self.acc, Rotation::cur());
            let bias = cells.query_fixed(self.bias);
            Constraints::with_selector(q, [("acc = bias", acc - bias)])
        });
    }

    /// With `V = acc * m + 2^(s-1)` (exact: `|V| < 2^63`), `t = (V >> s) + zy`
    /// and `y` a byte-checked int8 with `y >= lo`, exactly one branch holds:
    ///
    /// - in range (`b_hi = b_lo = 0`): `slack = (V - (y - zy) 2^s) 2^(72-s)`;
    ///   `slack` in `0..2^72` means `0 <= V - (y - zy) 2^s < 2^s`, so `y = t`.
    /// - high (`b_hi = 1`): `y = 127` and `slack = V - (128 - zy) 2^s >= 0`,
    ///   so `t >= 128`.
    /// - low (`b_lo = 1`): `y = lo` and `slack = (lo - zy + 1) 2^s - 1 - V >= 0`,
    ///   so `t <= lo`.
    ///
    /// Every term is below `2^142` in absolute value, far from the field
    /// modulus, so the field equations are the integer ones.
    fn requant_gate(&self, meta: &mut ConstraintSystem<Fp>) {
        meta.create_gate("requantize", |cells| {
            let q = cells.query_selector(self.q_requant);
            let acc = cells.query_advice(self.acc, Rotation::cur());
            let y = cells.query_advice(self.y, Rotation::cur());
            let b_hi = cells.query_advice(self.b_hi, Rotation::cur());
            let b_lo = cells.query_advice(self.b_lo, Rotation::cur());
            let mut fixed = |i: usize| cells.query_fixed(self.w[i]);
            let m = fixed(RequantGate::MULTIPLIER);
            let two_s = fixed(RequantGate::TWO_POW_S);
            let half = fixed(RequantGate::HALF);
            let scale = fixed(RequantGate::REMAINDER_SCALE);
            let zy = fixed(RequantGate::ZERO_POINT);
            let lo = fixed(RequantGate::LOWER_BOUND);
            let mut slot = |s: usize| {
                let (column, row) = limb_slot(s);
                cells.query_advice(self.limbs[column], Rotation(row as i32))
            };
            let slack = (0..SLACK_LIMBS)
                .rev()
                .fold(Expression::Constant(Fp::zero()), |sum, i| {
                    sum * Expression::Constant(Fp::from(256)) + slot(i)
                });
            let y_minus_lo = slot(SLOT_Y_MINUS_LO);
            let y_plus_128 = slot(SLOT_Y_PLUS_128);

            let one = || Expression::Constant(Fp::one());
            let c = |v: u64| Expression::Constant(Fp::from(v));
            let v = acc * m + half;
            let in_range = (v.clone() - (y.clone() - zy.clone()) * two_s.clone()) * scale;
            let high = v.clone() - (c(128) - zy.clone()) * two_s.clone();
            let low = (lo.clone() - zy + one()) * two_s - one() - v;
            let branch = (one() - b_hi.clone() - b_lo.clone()) * in_range
                + b_hi.clone() * high
                + b_lo.clone() * low;
            Constraints::with_selector(
                q,
                [
                    ("slack", slack - branch),
                    ("b_hi boolean", b_hi.clone() * (one() - b_hi.clone())),
                    ("b_lo boolean", b_lo.clone() * (one() - b_lo.clone())),
                    ("one branch", b_hi.clone() * b_lo.clone()),
                    ("high gives 127", b_hi * (y.clone() - c(127))),
                    ("low gives lo", b_lo * (y.clone() - lo.clone())),
                    ("y >= lo", y_minus_lo - (y.clone() - lo)),
                    ("y <= 127", y_plus_128 - (y + c(128))),
                ],
            )
        });
    }

    /// `y = max(x, z)`: `y - x` and `y - z` are bytes (so `y >= x, z`) and one
    /// of them is zero; `y + 128` is a byte (so `y` is int8).
    fn relu_gate(&self, meta: &mut ConstraintSystem<Fp>) {
        meta.create_gate("relu", |cells| {
            let q = cells.query_selector(self.q_relu);
            let x = cells.query_advice(self.acc, Rotation::cur());
            let y = cells.query_advice(self.y, Rotation::cur());
            let z = cells.query_fixed(self.w[RELU_ZERO_POINT]);
            let l: Vec<_> = self
                .limbs
                .iter()
                .map(|c| cells.query_advice(*c, Rotation::cur()))
                .collect();
            let c128 = Expression::Constant(Fp::from(128));
            Constraints::with_selector(
                q,
                [
                    (
                        "y is x or z",
                        (y.clone() - x.clone()) * (y.clone() - z.clone()),
                    ),
                    ("y >= x", l[0].clone() - (y.clone() - x)),
                    ("y >= z", l[1].clone() - (y.clone() - z)),
                    ("y <= 127", l[2].clone() - (y + c128)),
                ],
            )
        });
    }

    /// One element `x = acc` of a MaxPool window of `n` elements, on rows
    /// `r..r+n`, with the window's maximum `y` (the same on every row and on
    /// the tail row `r+n`) and the running product `p = b_lo`:
    ///
    /// - `y - x` is a byte (limb 0), so `y >= x` for every element;
    /// - `p(next) = p * (y - x)`, with `p(r) = 1` and `p(r+n) = 0` pinned to
    ///   constants: a product of field elements is zero only if a factor is,
    ///   so `y` equals some element. Hence `y` is exactly the maximum.
    pub fn pool_gate(&self, meta: &mut ConstraintSystem<Fp>) {
        meta.create_gate("maxpool", |cells| {
            let q = cells.query_selector(self.q_pool);
            let x = cells.query_advice(self.acc, Rotation::cur());
            let y = cells.query_advice(self.y, Rotation::cur());
            let y_next = cells.query_advice(self.y, Rotation::next());
            let p = cells.query_advice(self.b_lo, Rotation::cur());
            let p_next = cells.query_advice(self.b_lo, Rotation::next());
            let diff = cells.query_advice(self.limbs[0], Rotation::cur());
            Constraints::with_selector(
                q,
                [
                    ("y >= x", diff - (y.clone() - x.clone())),
                    ("p(next) = p (y - x)", p_next - p * (y.clone() - x)),
                    ("y(next) = y", y_next - y),
                ],
            )
        });
    }

    /// Element `j` (`x = acc`) of an ArgMax over `n` elements on rows
    /// `r..r+n`, with the maximum `m = y` (carried to the tail row `r+n`),
    /// the selection bit `s = b_hi`, the count `c = b_lo` of selections
    /// before `j` (`c(r) = 0` and `c(r+n) = 1` pinned, so exactly one bit is
    /// set, at the claimed index `i`), and the running index `x[0]`
    /// (`x[0](r) = 0` pinned; `x[0](r+n)` is the public index):
    ///
    /// - `s (m - x) = 0`: the selected element is `m`;
    /// - `before = 1 - c - s` is 1 exactly for `j < i`, and
    ///   `m - x - before` is a byte (limb 0): `x_j < m` before the index,
    ///   `x_j <= m` at and after it, so `i` is the first maximum;
    /// - `x[0](next) = x[0] + before`: the tail holds `i`.
    pub fn argmax_gate(&self, meta: &mut ConstraintSystem<Fp>) {
        meta.create_gate("argmax", |cells| {
            let q = cells.query_selector(self.q_argmax);
            let x = cells.query_advice(self.acc, Rotation::cur());
            let m = cells.query_advice(self.y, Rotation::cur());
            let m_next = cells.query_advice(self.y, Rotation::next());
            let s = cells.query_advice(self.b_hi, Rotation::cur());
            let c = cells.query_advice(self.b_lo, Rotation::cur());
            let c_next = cells.query_advice(self.b_lo, Rotation::next());
            let index = cells.query_advice(self.x[0], Rotation::cur());
            let index_next = cells.query_advice(self.x[0], Rotation::next());
            let diff = cells.query_advice(self.limbs[0], Rotation::cur());
            let one = || Expression::Constant(Fp::one());
            let before = one() - c.clone() - s.clone();
            Constraints::with_selector(
                q,
                [
                    ("s boolean", s.clone() * (one() - s.clone())),
                    (
                        "selected is the maximum",
                        s.clone() * (m.clone() - x.clone()),
                    ),
                    ("c(next) = c + s", c_next - (c + s)),
                    (
                        "x < m before the index, x <= m after",
                        diff - (m.clone() - x - before.clone()),
                    ),
                    (
                        "index(next) = index + before",
                        index_next - (index + before),
                    ),
                    ("m(next) = m", m_next - m),
                ],
            )
        });
    }

    /// `public = instance - PUBLIC_OFFSET` on a `q_public` row: the row's
    /// public value, which the model's cells are copy-constrained to. The
    /// map from `v` to `v + PUBLIC_OFFSET` is one to one on field elements,
    /// so the instance fixes every public cell.
    pub fn public_gate(&self, meta: &mut ConstraintSystem<Fp>) {
        meta.create_gate("public value", |cells| {
            let q = cells.query_selector(self.q_public);
            let instance = cells.query_instance(self.instance, Rotation::cur());
            let public = cells.query_advice(self.public, Rotation::cur());
            let offset = Expression::Constant(Fp::from(PUBLIC_OFFSET as u64));
            Constraints::with_selector(
                q,
                [("public = instance - offset", instance - public - offset)],
            )
        });
    }
}
