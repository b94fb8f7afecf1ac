//! One dishonest witness per chip, each consistent everywhere except where
//! the chip's own constraint looks (the instance carries the claim), so each
//! test fails if that constraint is removed: a standalone ReLU, the fused
//! ReLU's lower bound, a Conv2d requantization, a bias row, a MAC partial
//! sum, an inter-layer copy, ArgMax selection bits. And the verifying key
//! moves with every constant and every wire: bias, shift, zero point,
//! per-channel constants, pool shape, which tensor an Add reads.
//!
//! The MaxPool product pins, the Dense and Add requantizations, Conv
//! padding and a wrong ArgMax index are in `circuit.rs`; the Poseidon
//! commitments of each visibility in `visibility.rs` and the commitment
//! chip's own tests; output outside int8 at verify in `circuit.rs`.

mod circuit_kit;

use circuit_kit::*;
use synod_zkml::circuit::{
    params, CircuitLayer, ModelCircuitSpec, Requant, RequantTamper, Tamper, ZkModel,
};
use synod_zkml::ir::{ChannelRequant, Model, Op};

/// The honest output of `zk` on `input`, as instance values.
fn honest_output(zk: &ZkModel, input: &[i8]) -> Vec<i64> {
    let (_, _, out) = honest(zk, input);
    out.values().iter().map(|&v| i64::from(v)).collect()
}

/// MockProver's verdict on the circuit of `input` with `tamper`, against
/// an instance that claims `output`.
fn tampered(zk: &ZkModel, input: &[i8], tamper: Tamper, output: &[i64]) -> bool {
    let circuit = zk.circuit(Some(input)).with(tamper);
    mock(zk, circuit, instance(input, output))
}

#[test]
fn a_standalone_relu_output_that_is_not_the_maximum_fails() {
    let mut b = Builder::new("relu", vec![4], 21);
    b.relu(0);
    let model = b.build();
    let z = model.input.zero_point;
    let zk = ZkModel::from_ir(&model, 11).expect("fits");
    // Below, at and above the zero point.
    let input = [z - 9, z, z + 5, -128];
    let out = honest_output(&zk, &input);
    assert_eq!(out[..3], [i64::from(z), i64::from(z), i64::from(z) + 5]);
    let claim = |index: usize, value: i8| {
        let mut claimed = out.clone();
        claimed[index] = i64::from(value);
        tampered(&zk, &input, Tamper::ReluOutput { index, value }, &claimed)
    };
    // The harness: the honest value through the tamper path passes.
    assert!(claim(0, z));
    // Not clamped (y = x < z): only "y >= z" objects.
    assert!(!claim(0, z - 9));
    // Above both (y > x, y > z): only "y is x or z" objects.
    assert!(!claim(0, z + 1));
    assert!(!claim(2, z + 6));
    // Below the input (clamped to z although x > z): only "y >= x" objects.
    assert!(!claim(2, z));
}

/// A Dense neuron whose unclamped result `t` lies below its fused ReLU's
/// lower bound (the zero point): acc = -100, multiplier 1, shift 1.
fn dense_then_relu() -> (ZkModel, i64, i8) {
    let mut b = Builder::new("fused", vec![1], 22);
    b.dense(0, 1, 1);
    b.relu(1);
    let mut model = b.build();
    let Op::Dense {
        weights,
        bias,
        requant,
        ..
    } = &mut model.nodes[0].op
    else {
        unreachable!("node 0 is the Dense");
    };
    weights[0] = 0;
    bias[0] = -100;
    requant.multiplier = 1;
    requant.shift = 1;
    let zero_point = requant.zero_point;
    if let Op::Relu { zero_point: z } = &mut model.nodes[1].op {
        *z = zero_point;
    }
    model.validate().expect("valid");
    // v = -100 + 1, t = (v >> 1) + zy
    let t = (-99i64 >> 1) + i64::from(zero_point);
    (ZkModel::from_ir(&model, 11).expect("fits"), t, zero_point)
}

#[test]
fn the_fused_relu_lower_bound_is_enforced() {
    let (zk, t, lo) = dense_then_relu();
    let input = [5i8];
    assert_eq!(honest_output(&zk, &input), [i64::from(lo)]);
    let claim = |y: i64, b_lo: bool| {
        let tamper = Tamper::Dense(RequantTamper {
            y,
            b_hi: false,
            b_lo,
        });
        tampered(&zk, &input, tamper, &[y])
    };
    assert!(claim(i64::from(lo), true), "the honest clamp");
    // The unclamped value, with a consistent slack: only `y - lo` being a
    // byte (y >= lo) objects.
    assert!(t < i64::from(lo) && t >= -128);
    assert!(!claim(t, false));
}

#[test]
fn a_wrong_conv_requantization_fails() {
    let mut b = Builder::new("conv", vec![1, 4, 4], 23);
    b.conv(0, 1, 2, 3, 1, 0);
    let zk = ZkModel::from_ir(&b.build(), 11).expect("fits");
    let input = synod_zkml::circuit::fixtures::random_input(16, 5);
    let out = honest_output(&zk, &input);
    let y = out[0];
    let claim = |y: i64, b_hi: bool, b_lo: bool| {
        let mut claimed = out.clone();
        claimed[0] = y;
        let tamper = Tamper::Conv(RequantTamper { y, b_hi, b_lo });
        tampered(&zk, &input, tamper, &claimed)
    };
    assert!(claim(y, false, false), "the honest claim");
    assert!(!claim(y + 1, false, false));
    assert!(!claim(y - 1, false, false));
    assert!(!claim(127, true, false));
    assert!(!claim(-128, false, true));
    // Every limb a byte (slack 0) but the claimed y is not the result: only
    // the requantization equation objects.
    for wrong in [y + 1, y - 1] {
        let mut claimed = out.clone();
        claimed[0] = wrong;
        assert!(!tampered(
            &zk,
            &input,
            Tamper::ConvZeroSlack(wrong),
            &claimed
        ));
    }
}

/// One neuron (weight 100, bias 17, `acc * 5 >> 6`, zero point 3) on
/// input 11: acc = 1117, and acc + 1 requantizes to the same output, so a
/// tampered accumulator changes nothing but the row it is on.
fn steady_neuron() -> ZkModel {
    one_neuron(
        100,
        17,
        Requant {
            multiplier: 5,
            shift: 6,
            zero_point: 3,
        },
    )
}

#[test]
fn a_wrong_bias_row_or_partial_sum_fails() {
    let zk = steady_neuron();
    let input = [11i8];
    let out = honest_output(&zk, &input);
    // The harness: no change passes.
    assert!(tampered(&zk, &input, Tamper::BiasRow(0), &out));
    assert!(tampered(&zk, &input, Tamper::PartialSum(0), &out));
    // acc starts at bias + 1: only the bias gate objects.
    assert!(!tampered(&zk, &input, Tamper::BiasRow(1), &out));
    // The first MAC row's sum is one more: only the MAC gate objects.
    assert!(!tampered(&zk, &input, Tamper::PartialSum(1), &out));
    assert!(!tampered(&zk, &input, Tamper::PartialSum(-1), &out));
}

#[test]
fn a_copy_between_layers_that_differs_from_its_source_fails() {
    // x -> (x + 1) >> 1 -> (acc + 32) >> 6: layer 2 reads 20 from layer 1
    // and computes 0; reading 21 computes 0 too.
    let zk = zk_of(&ModelCircuitSpec {
        input_len: 1,
        layers: vec![
            CircuitLayer::Dense {
                out: 1,
                inputs: 1,
                weights: vec![1],
                bias: vec![0],
                requant: Requant {
                    multiplier: 1,
                    shift: 1,
                    zero_point: 0,
                },
            },
            CircuitLayer::Dense {
                out: 1,
                inputs: 1,
                weights: vec![1],
                bias: vec![0],
                requant: Requant {
                    multiplier: 1,
                    shift: 6,
                    zero_point: 0,
                },
            },
        ],
    });
    let input = [40i8];
    let out = honest_output(&zk, &input);
    assert_eq!(out, [0]);
    assert!(tampered(&zk, &input, Tamper::LayerCopy(0), &out));
    // Only the copy constraint (permutation) objects.
    assert!(!tampered(&zk, &input, Tamper::LayerCopy(1), &out));
}

#[test]
fn argmax_selection_bits_are_one_boolean_bit() {
    let mut b = Builder::new("argmax", vec![6], 24);
    b.arg_max(0);
    let zk = ZkModel::from_ir(&b.build(), 11).expect("fits");
    let input = [3i8, 7, 1, 7, 2, -5];
    let bits = |values: [i8; 2], index: i64| {
        let tamper = Tamper::ArgMaxBits {
            positions: [1, 3],
            values,
        };
        tampered(&zk, &input, tamper, &[index])
    };
    assert!(bits([1, 0], 1), "the honest bits");
    // Both maxima selected: the running index ends at 1 + 0 + 0 - 1 - 1 - 1;
    // only the pinned final count (exactly one bit) objects.
    assert!(!bits([1, 1], -2));
    // 2 and -1 sum to one selection: the index ends at 1 - 1 - 1 + 0 + 0 + 0;
    // only "s boolean" objects.
    assert!(!bits([2, -1], -1));
}

/// The last node of `m`, the Dense of [`conv_net`].
fn dense(m: &mut Model) -> &mut Op {
    &mut m.nodes[4].op
}

/// The VK hash of `model` (k from the model).
fn hash(model: &Model) -> [u8; 32] {
    let zk = ZkModel::from_ir(model, 11).expect("fits");
    zk.verifier_key(&params(zk.k()).expect("params"))
        .expect("vk")
        .vk_hash()
}

/// A model with every kind of constant: Conv2d (per channel), ReLU,
/// MaxPool, Reshape, Dense.
fn conv_net() -> Model {
    let mut b = Builder::new("net", vec![1, 6, 6], 25);
    let c = b.conv(0, 1, 2, 3, 1, 0);
    let r = b.relu(c);
    let p = b.max_pool(r, 2, 2);
    let f = b.reshape(p, vec![8]);
    b.dense(f, 8, 3);
    b.build()
}

#[test]
fn the_vk_moves_with_bias_shift_zero_point_and_per_channel_constants() {
    let base = conv_net();
    let h = hash(&base);
    assert_eq!(h, hash(&conv_net()), "deterministic");
    let variant = |edit: &dyn Fn(&mut Model)| {
        let mut m = base.clone();
        edit(&mut m);
        m.validate().expect("a valid variant");
        hash(&m)
    };
    let bias = variant(&|m| {
        if let Op::Dense { bias, .. } = dense(m) {
            bias[1] += 1;
        }
    });
    let shift = variant(&|m| {
        if let Op::Dense { requant, .. } = dense(m) {
            requant.shift += 1;
        }
    });
    let zero_point = variant(&|m| {
        if let Op::Dense { requant, .. } = dense(m) {
            requant.zero_point = requant.zero_point.wrapping_add(1);
        }
    });
    // The two channels' multipliers swapped (channel 0's is the layer's own).
    let swapped = variant(&|m| {
        if let Op::Conv2d {
            requant, channels, ..
        } = &mut m.nodes[0].op
        {
            channels.swap(0, 1);
            let ChannelRequant { multiplier, shift } = channels[0];
            requant.multiplier = multiplier;
            requant.shift = shift;
        }
    });
    let all = [h, bias, shift, zero_point, swapped];
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            assert_ne!(a, b, "every change moves the key");
        }
    }
}

#[test]
fn the_vk_moves_with_the_pool_shape_and_the_wiring() {
    // Kernel 2 stride 2 and kernel 3 stride 1 both take [1, 4, 4] to [1, 2, 2].
    let pool = |kernel: u32, stride: u32| {
        let mut b = Builder::new("pool", vec![1, 4, 4], 26);
        b.max_pool(0, kernel, stride);
        hash(&b.build())
    };
    assert_ne!(pool(2, 2), pool(3, 1));

    // add(x, relu(x)) against add(relu(x), x) with unequal multipliers.
    let add = |swap: bool| {
        let mut b = Builder::new("wiring", vec![4], 27);
        let r = b.relu(0);
        let z = b.model.input.zero_point;
        let (first, second) = if swap { (r, 0) } else { (0, r) };
        b.push(
            &[first, second],
            Op::Add {
                a_zero_point: z,
                b_zero_point: z,
                a_multiplier: 3,
                b_multiplier: 5,
                shift: 4,
                zero_point: 0,
            },
            0,
        );
        hash(&b.build())
    };
    assert_ne!(add(false), add(true));
}
