//! Shared fixtures of the circuit tests (`circuit.rs`, `circuit_negative.rs`):
//! MockProver runs, honest witnesses, and a builder of small IR models with
//! seeded weights.

#![allow(dead_code)]

use halo2_proofs::{dev::MockProver, pasta::Fp};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use synod_zkml::circuit::{
    fixtures::random_input, CircuitLayer, ModelCircuit, ModelCircuitSpec, Requant, ZkModel,
    DEFAULT_MAX_K,
};
use synod_zkml::interp::{self, Tensor};
use synod_zkml::ir::{self, ConvGeometry, Model, Node, Op, Scale, TensorId, TensorInfo};

pub fn mock(zk: &ZkModel, circuit: ModelCircuit, instance: Vec<Fp>) -> bool {
    assert!(zk.k() <= 11, "test circuits stay small (k = {})", zk.k());
    let prover = MockProver::run(zk.k(), &circuit, vec![instance]).expect("synthesis");
    let result = prover.verify();
    if let Err(e) = &result {
        eprintln!("{:?}", &e[..e.len().min(2)]);
    }
    result.is_ok()
}

pub fn tensor(model: &Model, values: &[i8]) -> Tensor {
    Tensor::from_i8(model.input.shape.clone(), values).expect("shape")
}

/// The honest circuit, instance and interpreter output of `input`.
pub fn honest(zk: &ZkModel, input: &[i8]) -> (ModelCircuit, Vec<Fp>, Tensor) {
    let x = tensor(zk.model(), input);
    let output = interp::run(zk.model(), &x).expect("runs");
    let instance = zk.instance(&x, &output).expect("shapes");
    (zk.circuit(Some(input)), instance, output)
}

/// MockProver accepts the honest witness of a few random inputs.
pub fn proves_random_inputs(model: &Model, inputs: u64) {
    let zk = ZkModel::from_ir(model, 11).expect("fits");
    let len = model.input.shape.iter().product::<u32>() as usize;
    for seed in 0..inputs {
        let input = random_input(len, 1000 + seed);
        let (circuit, instance, output) = honest(&zk, &input);
        assert!(
            mock(&zk, circuit, instance),
            "{}: input {seed}, output {:?}",
            model.name,
            output.values()
        );
    }
}

pub fn zk_of(spec: &ModelCircuitSpec) -> ZkModel {
    ZkModel::from_ir(&spec.to_ir(), DEFAULT_MAX_K).expect("fits")
}

pub fn i8s(rng: &mut ChaCha8Rng, n: usize) -> Vec<i8> {
    (0..n).map(|_| rng.next_u32() as i8).collect()
}

pub fn small_int(rng: &mut ChaCha8Rng, range: u32) -> i32 {
    (rng.next_u32() % (2 * range + 1)) as i32 - range as i32
}

pub fn requant(rng: &mut ChaCha8Rng, fan_in: usize) -> ir::Requant {
    // acc spreads about 74 * 74 * sqrt(fan-in); map that to about 40.
    let spread = 74.0 * 74.0 * (fan_in as f64).sqrt();
    ir::Requant {
        multiplier: ((40.0 / spread) * f64::from(1u32 << 20)).max(1.0) as i32,
        shift: 20,
        zero_point: small_int(rng, 10) as i8,
    }
}

/// Per-channel multipliers around `r`'s (each channel's differs), with `r`
/// set to channel 0's as the canonical form wants; none for one channel.
pub fn channel_requants(r: &mut ir::Requant, outputs: u32) -> Vec<ir::ChannelRequant> {
    if outputs < 2 {
        return Vec::new();
    }
    let list: Vec<ir::ChannelRequant> = (0..outputs)
        .map(|o| ir::ChannelRequant {
            multiplier: (i64::from(r.multiplier) * (6 + i64::from(o % 5)) / 8).max(1) as i32,
            shift: r.shift,
        })
        .collect();
    r.multiplier = list[0].multiplier;
    list
}

/// A model builder: nodes append tensors; zero points are tracked so the
/// stated ones are right.
pub struct Builder {
    pub model: Model,
    zero_points: Vec<i8>,
    rng: ChaCha8Rng,
}

impl Builder {
    pub fn new(name: &str, shape: Vec<u32>, seed: u64) -> Builder {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let zero_point = small_int(&mut rng, 5) as i8;
        Builder {
            model: Model {
                name: name.to_owned(),
                input: TensorInfo {
                    shape,
                    zero_point,
                    scale: Scale {
                        multiplier: 1,
                        shift: 4,
                    },
                },
                nodes: vec![],
            },
            zero_points: vec![zero_point],
            rng,
        }
    }

    pub fn last(&self) -> u32 {
        self.model.nodes.len() as u32
    }

    pub fn push(&mut self, inputs: &[u32], op: Op, zero_point: i8) -> u32 {
        self.model.nodes.push(Node {
            inputs: inputs.iter().map(|&i| TensorId(i)).collect(),
            op,
        });
        self.zero_points.push(zero_point);
        self.last()
    }

    pub fn dense(&mut self, x: u32, inputs: u32, out: u32) -> u32 {
        let weights = i8s(&mut self.rng, (inputs * out) as usize);
        let bias = (0..out).map(|_| small_int(&mut self.rng, 5000)).collect();
        let mut requant = requant(&mut self.rng, inputs as usize);
        // Even-sized layers requantize per channel, the others per tensor.
        let channels = if out.is_multiple_of(2) {
            channel_requants(&mut requant, out)
        } else {
            Vec::new()
        };
        let zp = requant.zero_point;
        self.push(
            &[x],
            Op::Dense {
                in_features: inputs,
                out_features: out,
                weights,
                bias,
                requant,
                channels,
            },
            zp,
        )
    }

    #[allow(clippy::too_many_arguments)]
    pub fn conv(&mut self, x: u32, c: u32, o: u32, k: u32, stride: u32, padding: u32) -> u32 {
        let weights = i8s(&mut self.rng, (o * c * k * k) as usize);
        let bias = (0..o).map(|_| small_int(&mut self.rng, 5000)).collect();
        let mut requant = requant(&mut self.rng, (c * k * k) as usize);
        let channels = channel_requants(&mut requant, o);
        let zp = requant.zero_point;
        let input_zero_point = self.zero_points[x as usize];
        self.push(
            &[x],
            Op::Conv2d {
                geometry: ConvGeometry {
                    in_channels: c,
                    out_channels: o,
                    kernel_h: k,
                    kernel_w: k,
                    stride,
                    padding,
                },
                input_zero_point,
                weights,
                bias,
                requant,
                channels,
            },
            zp,
        )
    }

    pub fn relu(&mut self, x: u32) -> u32 {
        let zero_point = self.zero_points[x as usize];
        self.push(&[x], Op::Relu { zero_point }, zero_point)
    }

    pub fn max_pool(&mut self, x: u32, kernel: u32, stride: u32) -> u32 {
        let zp = self.zero_points[x as usize];
        self.push(&[x], Op::MaxPool { kernel, stride }, zp)
    }

    pub fn add(&mut self, a: u32, b: u32, shift: u8, zero_point: i8) -> u32 {
        let a_multiplier = 1 + (self.rng.next_u32() % (1 << (shift - 1))) as i32;
        let b_multiplier = 1 + (self.rng.next_u32() % (1 << (shift - 1))) as i32;
        let op = Op::Add {
            a_zero_point: self.zero_points[a as usize],
            b_zero_point: self.zero_points[b as usize],
            a_multiplier,
            b_multiplier,
            shift,
            zero_point,
        };
        self.push(&[a, b], op, zero_point)
    }

    pub fn reshape(&mut self, x: u32, shape: Vec<u32>) -> u32 {
        let zp = self.zero_points[x as usize];
        self.push(&[x], Op::Reshape { shape }, zp)
    }

    pub fn arg_max(&mut self, x: u32) -> u32 {
        self.push(&[x], Op::ArgMax, 0)
    }

    pub fn build(self) -> Model {
        self.model.validate().expect("a valid test model");
        self.model
    }
}

pub fn one_neuron(weight: i8, bias: i32, requant: Requant) -> ZkModel {
    zk_of(&ModelCircuitSpec {
        input_len: 1,
        layers: vec![CircuitLayer::Dense {
            out: 1,
            inputs: 1,
            weights: vec![weight],
            bias: vec![bias],
            requant,
        }],
    })
}

pub fn instance(input: &[i8], output: &[i64]) -> Vec<Fp> {
    let input: Vec<i32> = input.iter().map(|&v| i32::from(v)).collect();
    let output: Vec<i32> = output.iter().map(|&v| v as i32).collect();
    ModelCircuit::instance(&input, &output)
}
