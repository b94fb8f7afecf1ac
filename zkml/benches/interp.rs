//! Interpreter figures: inferences per second (untraced and traced, one core
//! and every core), trace size per inference, and the size and check time of
//! one step witness, for a 64->32->10 MLP and a small CNN with seeded random
//! weights. Run with `cargo bench -p synod-zkml --bench interp`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use synod_zkml::interp::{Interpreter, Tensor};
use synod_zkml::ir::{
    ConvGeometry, Model, ModelId, Node, Op, Requant, Scale, TensorId, TensorInfo,
};
use synod_zkml::trace::verify_step;

const MEASURE: Duration = Duration::from_millis(1500);

fn i8s(rng: &mut ChaCha8Rng, n: usize) -> Vec<i8> {
    (0..n).map(|_| rng.next_u32() as i8).collect()
}

fn biases(rng: &mut ChaCha8Rng, n: usize) -> Vec<i32> {
    (0..n)
        .map(|_| (rng.next_u32() % 8001) as i32 - 4000)
        .collect()
}

const REQUANT: Requant = Requant {
    multiplier: 1 << 30,
    shift: 38,
    zero_point: -5,
};

fn node(input: u32, op: Op) -> Node {
    Node {
        inputs: vec![TensorId(input)],
        op,
    }
}

fn dense(rng: &mut ChaCha8Rng, in_features: u32, out_features: u32) -> Op {
    Op::Dense {
        in_features,
        out_features,
        weights: i8s(rng, (in_features * out_features) as usize),
        bias: biases(rng, out_features as usize),
        requant: REQUANT,
        channels: Vec::new(),
    }
}

fn input_info(shape: Vec<u32>) -> TensorInfo {
    TensorInfo {
        shape,
        zero_point: 0,
        scale: Scale {
            multiplier: 1,
            shift: 7,
        },
    }
}

/// 64 -> 32 (ReLU) -> 10, then ArgMax.
fn mlp(rng: &mut ChaCha8Rng) -> Model {
    Model {
        name: "mlp-64-32-10".into(),
        input: input_info(vec![64]),
        nodes: vec![
            node(0, dense(rng, 64, 32)),
            node(1, Op::Relu { zero_point: -5 }),
            node(2, dense(rng, 32, 10)),
            node(3, Op::ArgMax),
        ],
    }
}

/// [1, 8, 8] -> conv 1->4 3x3 -> ReLU -> MaxPool 2 -> flatten 36 -> dense 10 -> ArgMax.
fn cnn(rng: &mut ChaCha8Rng) -> Model {
    let conv = Op::Conv2d {
        geometry: ConvGeometry {
            in_channels: 1,
            out_channels: 4,
            kernel_h: 3,
            kernel_w: 3,
            stride: 1,
            padding: 0,
        },
        input_zero_point: 0,
        weights: i8s(rng, 4 * 9),
        bias: biases(rng, 4),
        requant: REQUANT,
        channels: Vec::new(),
    };
    Model {
        name: "cnn-8x8".into(),
        input: input_info(vec![1, 8, 8]),
        nodes: vec![
            node(0, conv),
            node(1, Op::Relu { zero_point: -5 }),
            node(
                2,
                Op::MaxPool {
                    kernel: 2,
                    stride: 2,
                },
            ),
            node(3, Op::Reshape { shape: vec![36] }),
            node(4, dense(rng, 36, 10)),
            node(5, Op::ArgMax),
        ],
    }
}

/// Calls `f` repeatedly for about `MEASURE`; returns calls per second.
fn per_second(mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < MEASURE {
        for _ in 0..64 {
            f();
        }
        n += 64;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// Aggregate calls per second with one thread per core.
fn per_second_all_cores(cores: usize, f: impl Fn() + Sync) -> f64 {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..cores).map(|_| s.spawn(|| per_second(&f))).collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0.0)).sum()
    })
}

fn report(model: &Model, seed: u64, cores: usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let interp = Interpreter::new(model).expect("the bench models are valid");
    let elements: u32 = model.input.shape.iter().product();
    let input = Tensor::from_i8(model.input.shape.clone(), &i8s(&mut rng, elements as usize))
        .expect("shape matches");
    let info = interp.info();

    let untraced = per_second(|| {
        black_box(interp.run(black_box(&input)).expect("runs"));
    });
    let traced = per_second(|| {
        black_box(interp.run_traced(black_box(&input)).expect("runs"));
    });
    let untraced_all = per_second_all_cores(cores, || {
        black_box(interp.run(black_box(&input)).expect("runs"));
    });
    let traced_all = per_second_all_cores(cores, || {
        black_box(interp.run_traced(black_box(&input)).expect("runs"));
    });

    let execution = interp.run_traced(&input).expect("runs");
    let (id, root) = (ModelId::of(model), execution.trace().root());
    let witnesses: Vec<_> = (0..model.nodes.len())
        .map(|step| execution.witness(model, step).expect("witness"))
        .collect();
    let largest = witnesses
        .iter()
        .max_by_key(|w| w.to_bytes().len())
        .expect("a model has nodes");
    let verify_per_s = per_second(|| {
        black_box(verify_step(&id, &root, black_box(largest)).expect("well formed"));
    });

    println!(
        "{} ({} nodes, {} parameters, {} MACs)",
        model.name,
        model.nodes.len(),
        info.parameter_count,
        info.mac_count
    );
    println!("  inferences/s, 1 core:       untraced {untraced:>10.0}   traced {traced:>10.0}");
    println!("  inferences/s, {cores} cores:      untraced {untraced_all:>10.0}   traced {traced_all:>10.0}");
    println!(
        "  trace per inference: {} leaves = {} bytes (root 32 bytes); all tensor states {} bytes",
        execution.trace().leaves().len(),
        execution.trace().trace_size_bytes(),
        execution.state_size_bytes()
    );
    println!(
        "  largest step witness: step {} ({}), {} bytes; verify_step {:.1} us",
        largest.step,
        largest.node.op.kind(),
        largest.to_bytes().len(),
        1e6 / verify_per_s
    );
    println!("  model file: {} bytes", model.to_file_bytes().len());
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is accepted and ignored.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "synod-zkml interpreter figures ({cores} cores, {:.1} s per figure)\n",
        MEASURE.as_secs_f64()
    );
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    report(&mlp(&mut rng), 1, cores);
    println!();
    report(&cnn(&mut rng), 2, cores);
}
