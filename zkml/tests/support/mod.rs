//! Shared fixtures for the interpreter and dispute-step tests: seeded random
//! valid models, and a plain reference implementation of
//! `docs/zkml-arithmetic.md` (straight loops, i128 math) to compare against.

#![allow(dead_code)]

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use synod_zkml::ir::{
    ChannelRequant, ConvGeometry, Model, Node, Op, Requant, Scale, TensorId, TensorInfo,
};
use synod_zkml::Tensor;

/// A small seeded random source.
pub struct Rng(ChaCha8Rng);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(ChaCha8Rng::seed_from_u64(seed))
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        assert!(lo <= hi);
        let span = (hi - lo) as u64 + 1;
        lo + (self.0.next_u64() % span) as i64
    }

    pub fn dim(&mut self, lo: u32, hi: u32) -> u32 {
        self.range(i64::from(lo), i64::from(hi)) as u32
    }

    pub fn coin(&mut self, one_in: i64) -> bool {
        self.range(1, one_in) == 1
    }

    pub fn i8(&mut self) -> i8 {
        self.range(-128, 127) as i8
    }

    pub fn i8s(&mut self, n: usize) -> Vec<i8> {
        (0..n).map(|_| self.i8()).collect()
    }
}

/// A requantization: sometimes anything the contract allows, usually one
/// that keeps outputs mostly in range.
/// Half the time, per-channel multipliers and shifts for `outputs` channels,
/// in the canonical form (the layer's own are channel 0's; not all equal).
fn channels(r: &mut Rng, outputs: u32, requant: &mut Requant) -> Vec<ChannelRequant> {
    if outputs < 2 || r.coin(2) {
        return Vec::new();
    }
    let list: Vec<ChannelRequant> = (0..outputs)
        .map(|_| {
            let c = self::requant(r);
            ChannelRequant {
                multiplier: c.multiplier,
                shift: c.shift,
            }
        })
        .collect();
    if list.iter().all(|c| *c == list[0]) {
        return Vec::new();
    }
    requant.multiplier = list[0].multiplier;
    requant.shift = list[0].shift;
    list
}

/// The multiplier and shift of output channel `o`, read straight from the op.
fn channel_ms(requant: &Requant, channels: &[ChannelRequant], o: usize) -> (i128, u32) {
    match channels.get(o) {
        Some(c) => (c.multiplier.into(), c.shift.into()),
        None => (requant.multiplier.into(), requant.shift.into()),
    }
}

fn requant(r: &mut Rng) -> Requant {
    if r.coin(3) {
        Requant {
            multiplier: r.range(1, i64::from(i32::MAX)) as i32,
            shift: r.range(1, 62) as u8,
            zero_point: r.i8(),
        }
    } else {
        Requant {
            multiplier: r.range(1 << 29, i64::from(i32::MAX)) as i32,
            shift: r.range(34, 44) as u8,
            zero_point: r.range(-20, 20) as i8,
        }
    }
}

/// Biases for `n` outputs of this fan-in, sometimes at the overflow limit.
fn biases(r: &mut Rng, n: usize, fan_in: u64) -> Vec<i32> {
    let limit = i64::from(i32::MAX) - 16384 * fan_in as i64;
    (0..n)
        .map(|_| {
            if r.coin(10) {
                if r.coin(2) {
                    limit as i32
                } else {
                    -limit as i32
                }
            } else {
                r.range(-limit.min(60_000), limit.min(60_000)) as i32
            }
        })
        .collect()
}

/// A random valid model: a chain of 1..=6 ops (Dense, Conv2d, Add of two
/// same-shaped tensors, Relu, MaxPool, Reshape), sometimes ending in ArgMax.
pub fn random_model(seed: u64) -> Model {
    let mut r = Rng::new(seed);
    let input_shape = if r.coin(2) {
        vec![r.dim(1, 3), r.dim(2, 8), r.dim(2, 8)]
    } else {
        vec![r.dim(1, 40)]
    };
    let input_zp = r.i8();
    let mut shapes = vec![input_shape.clone()];
    let mut zps = vec![input_zp];
    let mut nodes = Vec::new();
    let steps = r.range(1, 6);
    for _ in 0..steps {
        let cur = shapes.len() - 1;
        let (shape, zp) = (shapes[cur].clone(), zps[cur]);
        let from = vec![TensorId(cur as u32)];
        let choice = r.range(0, 4);
        let (op, inputs, out_shape, out_zp) = match (shape.as_slice(), choice) {
            (&[n], 0) => {
                let out = r.dim(1, 20);
                let weights = r.i8s((n * out) as usize);
                let bias = biases(&mut r, out as usize, u64::from(n));
                let mut rq = requant(&mut r);
                let channels = channels(&mut r, out, &mut rq);
                let op = Op::Dense {
                    in_features: n,
                    out_features: out,
                    weights,
                    bias,
                    requant: rq,
                    channels,
                };
                let zp = match &op {
                    Op::Dense { requant, .. } => requant.zero_point,
                    _ => unreachable!(),
                };
                (op, from, vec![out], zp)
            }
            (&[c, h, w], 0) => {
                let padding = r.dim(0, 2);
                let kh = r.dim(1, 3).min(h + 2 * padding);
                let kw = r.dim(1, 3).min(w + 2 * padding);
                let stride = r.dim(1, 2);
                let oc = r.dim(1, 4);
                let fan_in = u64::from(c * kh * kw);
                let mut rq = requant(&mut r);
                let channels = channels(&mut r, oc, &mut rq);
                let op = Op::Conv2d {
                    geometry: ConvGeometry {
                        in_channels: c,
                        out_channels: oc,
                        kernel_h: kh,
                        kernel_w: kw,
                        stride,
                        padding,
                    },
                    input_zero_point: zp,
                    weights: r.i8s((u64::from(oc) * fan_in) as usize),
                    bias: biases(&mut r, oc as usize, fan_in),
                    requant: rq,
                    channels,
                };
                let oh = (h + 2 * padding - kh) / stride + 1;
                let ow = (w + 2 * padding - kw) / stride + 1;
                (op, from, vec![oc, oh, ow], rq.zero_point)
            }
            (&[c, h, w], 1) if h.min(w) >= 1 => {
                let kernel = r.dim(1, h.min(w).min(3));
                let stride = r.dim(1, 2);
                let op = Op::MaxPool { kernel, stride };
                let out = vec![c, (h - kernel) / stride + 1, (w - kernel) / stride + 1];
                (op, from, out, zp)
            }
            (&[n], 1) => {
                // Unflatten to [1, 1, n] or [n, 1, 1].
                let to = if r.coin(2) {
                    vec![1, 1, n]
                } else {
                    vec![n, 1, 1]
                };
                (Op::Reshape { shape: to.clone() }, from, to, zp)
            }
            (_, 2) => {
                let same: Vec<usize> = (0..shapes.len()).filter(|&i| shapes[i] == shape).collect();
                let other = same[r.range(0, same.len() as i64 - 1) as usize];
                let sensible = r.coin(2);
                let m = |r: &mut Rng| {
                    if sensible {
                        r.range(1 << 29, 1 << 30) as i32
                    } else {
                        r.range(1, i64::from(i32::MAX)) as i32
                    }
                };
                let (a_multiplier, b_multiplier) = (m(&mut r), m(&mut r));
                let shift = if sensible { 31 } else { r.range(1, 62) as u8 };
                let zero_point = r.i8();
                let op = Op::Add {
                    a_zero_point: zp,
                    b_zero_point: zps[other],
                    a_multiplier,
                    b_multiplier,
                    shift,
                    zero_point,
                };
                (
                    op,
                    vec![TensorId(cur as u32), TensorId(other as u32)],
                    shape.clone(),
                    zero_point,
                )
            }
            (&[c, h, w], _) => {
                if r.coin(2) {
                    (Op::Relu { zero_point: zp }, from, shape.clone(), zp)
                } else {
                    let to = vec![c * h * w];
                    (Op::Reshape { shape: to.clone() }, from, to, zp)
                }
            }
            _ => (Op::Relu { zero_point: zp }, from, shape.clone(), zp),
        };
        nodes.push(Node { inputs, op });
        shapes.push(out_shape);
        zps.push(out_zp);
    }
    let last = shapes.len() - 1;
    if shapes[last].len() == 1 && r.coin(2) {
        nodes.push(Node {
            inputs: vec![TensorId(last as u32)],
            op: Op::ArgMax,
        });
    }
    Model {
        name: format!("random-{seed}"),
        input: TensorInfo {
            shape: input_shape,
            zero_point: input_zp,
            scale: Scale {
                multiplier: 1,
                shift: 7,
            },
        },
        nodes,
    }
}

/// A random int8 input for `model`.
pub fn random_input(model: &Model, seed: u64) -> Tensor {
    let mut r = Rng::new(seed);
    let n: u32 = model.input.shape.iter().product();
    Tensor::from_i8(model.input.shape.clone(), &r.i8s(n as usize)).expect("shape matches")
}

/// A 64 -> 32 -> 10 MLP with ReLU and ArgMax, random weights.
pub fn mlp(seed: u64) -> Model {
    let mut r = Rng::new(seed);
    let dense = |r: &mut Rng, i: u32, o: u32| Op::Dense {
        in_features: i,
        out_features: o,
        weights: r.i8s((i * o) as usize),
        bias: (0..o).map(|_| r.range(-5000, 5000) as i32).collect(),
        requant: Requant {
            multiplier: 1 << 30,
            shift: 40,
            zero_point: -3,
        },
        channels: Vec::new(),
    };
    let nodes = vec![
        Node {
            inputs: vec![TensorId(0)],
            op: dense(&mut r, 64, 32),
        },
        Node {
            inputs: vec![TensorId(1)],
            op: Op::Relu { zero_point: -3 },
        },
        Node {
            inputs: vec![TensorId(2)],
            op: dense(&mut r, 32, 10),
        },
        Node {
            inputs: vec![TensorId(3)],
            op: Op::ArgMax,
        },
    ];
    Model {
        name: "mlp-64-32-10".to_owned(),
        input: TensorInfo {
            shape: vec![64],
            zero_point: 0,
            scale: Scale {
                multiplier: 1,
                shift: 4,
            },
        },
        nodes,
    }
}

// ---- The reference implementation ----------------------------------------

fn requantize_ref(acc: i128, m: i128, s: u32, zy: i128) -> i32 {
    let y = ((acc * m + (1i128 << (s - 1))) >> s) + zy;
    y.clamp(-128, 127) as i32
}

/// Every tensor of running `model` on `input`, by the contract's formulas.
/// Shapes and zero points are worked out here, not read from the interpreter.
pub fn reference_run(model: &Model, input: &Tensor) -> Vec<(Vec<u32>, Vec<i32>)> {
    let mut tensors: Vec<(Vec<u32>, Vec<i32>)> =
        vec![(input.shape().to_vec(), input.values().to_vec())];
    let mut zps: Vec<i128> = vec![i128::from(model.input.zero_point)];
    for node in &model.nodes {
        let (xs, xv) = tensors[node.inputs[0].0 as usize].clone();
        let zx = zps[node.inputs[0].0 as usize];
        let (shape, values, zp) = match &node.op {
            Op::Dense {
                in_features,
                out_features,
                weights,
                bias,
                requant,
                channels,
            } => {
                let mut out = Vec::new();
                for o in 0..*out_features as usize {
                    let (m, s) = channel_ms(requant, channels, o);
                    let mut acc = i128::from(bias[o]);
                    for i in 0..*in_features as usize {
                        acc +=
                            i128::from(xv[i]) * i128::from(weights[o * *in_features as usize + i]);
                    }
                    assert!(
                        acc >= i128::from(i32::MIN) && acc <= i128::from(i32::MAX),
                        "accumulator overflow"
                    );
                    out.push(requantize_ref(acc, m, s, requant.zero_point.into()));
                }
                (vec![*out_features], out, i128::from(requant.zero_point))
            }
            Op::Conv2d {
                geometry,
                weights,
                bias,
                requant,
                channels,
                ..
            } => {
                let ConvGeometry {
                    in_channels,
                    out_channels,
                    kernel_h,
                    kernel_w,
                    stride,
                    padding,
                } = geometry;
                let (c, h, w) = (*in_channels as i64, xs[1] as i64, xs[2] as i64);
                let (kh, kw, s, p) = (
                    *kernel_h as i64,
                    *kernel_w as i64,
                    *stride as i64,
                    *padding as i64,
                );
                let oh = (h + 2 * p - kh) / s + 1;
                let ow = (w + 2 * p - kw) / s + 1;
                let mut out = Vec::new();
                for o in 0..*out_channels as i64 {
                    let (m, sh) = channel_ms(requant, channels, o as usize);
                    for oy in 0..oh {
                        for ox in 0..ow {
                            let mut acc = i128::from(bias[o as usize]);
                            for ci in 0..c {
                                for ky in 0..kh {
                                    for kx in 0..kw {
                                        let y = oy * s + ky - p;
                                        let x = ox * s + kx - p;
                                        let v = if y >= 0 && y < h && x >= 0 && x < w {
                                            i128::from(xv[((ci * h + y) * w + x) as usize])
                                        } else {
                                            zx
                                        };
                                        let wi = ((o * c + ci) * kh + ky) * kw + kx;
                                        acc += v * i128::from(weights[wi as usize]);
                                    }
                                }
                            }
                            assert!(
                                acc >= i128::from(i32::MIN) && acc <= i128::from(i32::MAX),
                                "accumulator overflow"
                            );
                            out.push(requantize_ref(acc, m, sh, requant.zero_point.into()));
                        }
                    }
                }
                (
                    vec![*out_channels, oh as u32, ow as u32],
                    out,
                    i128::from(requant.zero_point),
                )
            }
            Op::Add {
                a_multiplier,
                b_multiplier,
                shift,
                zero_point,
                ..
            } => {
                let (_, bv) = &tensors[node.inputs[1].0 as usize];
                let zb = zps[node.inputs[1].0 as usize];
                let s = u32::from(*shift);
                let out = xv
                    .iter()
                    .zip(bv)
                    .map(|(&a, &b)| {
                        let sum = (i128::from(a) - zx) * i128::from(*a_multiplier)
                            + (i128::from(b) - zb) * i128::from(*b_multiplier);
                        (((sum + (1i128 << (s - 1))) >> s) + i128::from(*zero_point))
                            .clamp(-128, 127) as i32
                    })
                    .collect();
                (xs.clone(), out, i128::from(*zero_point))
            }
            Op::Relu { .. } => (
                xs.clone(),
                xv.iter().map(|&v| (i128::from(v).max(zx)) as i32).collect(),
                zx,
            ),
            Op::MaxPool { kernel, stride } => {
                let (c, h, w) = (xs[0] as usize, xs[1] as usize, xs[2] as usize);
                let (k, s) = (*kernel as usize, *stride as usize);
                let (oh, ow) = ((h - k) / s + 1, (w - k) / s + 1);
                let mut out = Vec::new();
                for ci in 0..c {
                    for oy in 0..oh {
                        for ox in 0..ow {
                            let mut m = i32::MIN;
                            for ky in 0..k {
                                for kx in 0..k {
                                    m = m.max(xv[(ci * h + oy * s + ky) * w + ox * s + kx]);
                                }
                            }
                            out.push(m);
                        }
                    }
                }
                (vec![c as u32, oh as u32, ow as u32], out, zx)
            }
            Op::Reshape { shape } => (shape.clone(), xv.clone(), zx),
            Op::ArgMax => {
                let mut best = 0;
                for i in 1..xv.len() {
                    if xv[i] > xv[best] {
                        best = i;
                    }
                }
                (vec![1], vec![best as i32], 0)
            }
        };
        tensors.push((shape, values));
        zps.push(zp);
    }
    tensors
}
