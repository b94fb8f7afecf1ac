//! The simulated work: two small int8 models, the genesis workflow
//! `pipeline` that runs them, the pool of run inputs, and the proof book.
//!
//! Cost model: a step's result carries a real halo2 proof and the chain
//! verifies it in FinalizeBlock (batched per block), exactly as on a live
//! network. What is simulated cheaply is the executors' proving: a proof
//! depends only on (model, input), so it is made once per distinct pair,
//! process-wide, and reused by every executor, run and sweep repetition
//! that needs it. Requesters draw inputs from a pool of `input_pool`
//! inputs, so a whole simulation proves at most `2 × input_pool` times.
//! Proof bytes carry prover randomness but have a fixed length and never
//! enter state, so the state (and every metric) is the same whichever
//! copy is used.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

use synod_abci_app::models::testkit::{genesis_model, Prover};
use synod_protocol::{
    governance::{WorkflowSpec, WorkflowStep},
    state::VerificationMode,
    Amount, GenesisModel,
};
use synod_zkml::{ir::Scale, ir::TensorInfo, Model, Node, Op, Requant, Tensor, TensorId};

use crate::{error::SimError, scenario};

/// The workflow every requester runs.
pub const WORKFLOW: &str = "pipeline";

/// Values in a run's input.
pub const INPUT_LEN: usize = 16;

fn dense(name: &str, inputs: u32, outputs: u32, salt: i32) -> Model {
    let weights = (0..(inputs * outputs) as i32)
        .map(|i| ((i * 29 + salt * 7) % 251 - 125) as i8)
        .collect();
    Model {
        name: name.into(),
        input: TensorInfo {
            shape: vec![inputs],
            zero_point: 0,
            scale: Scale {
                multiplier: 1,
                shift: 4,
            },
        },
        nodes: vec![Node {
            inputs: vec![TensorId(0)],
            op: Op::Dense {
                in_features: inputs,
                out_features: outputs,
                weights,
                bias: (0..outputs as i32).map(|i| i * 100 - 300).collect(),
                requant: Requant {
                    multiplier: 1 << 30,
                    shift: 38,
                    zero_point: 0,
                },
                channels: Vec::new(),
            },
        }],
    }
}

/// `sim-left`: 16 values to 8 (the two roots).
pub fn left_model() -> Model {
    dense("sim-left", INPUT_LEN as u32, 8, 1)
}

/// `sim-join`: both roots' outputs (16 values) to 4.
pub fn join_model() -> Model {
    dense("sim-join", 16, 4, 2)
}

/// The genesis entries of both models (zk only).
pub fn genesis_models() -> Vec<GenesisModel> {
    [left_model(), join_model()]
        .iter()
        .map(|m| genesis_model(m, &[VerificationMode::Zk]))
        .collect()
}

/// Both models' ids.
pub fn model_ids() -> Vec<[u8; 32]> {
    [left_model(), join_model()]
        .iter()
        .map(|m| synod_zkml::ModelId::of(m).0)
        .collect()
}

/// The genesis workflow under the scenario's settings.
pub fn workflow(spec: &scenario::WorkflowSpec) -> WorkflowSpec {
    let ids = model_ids();
    let step = |name: &str, model: [u8; 32], inputs: Vec<u32>| WorkflowStep {
        name: name.into(),
        model,
        inputs,
        mode: VerificationMode::Zk,
        timeout_blocks: spec.timeout_blocks,
        reward: Amount::syn(spec.reward_syn),
        min_bond: Amount::syn(spec.min_bond_syn),
        min_reputation: 0,
        retries: spec.retries,
    };
    WorkflowSpec {
        name: WORKFLOW.into(),
        steps: vec![
            step("left", ids[0], vec![]),
            step("right", ids[0], vec![]),
            step("join", ids[1], vec![0, 1]),
        ],
    }
}

/// Input `i` of the pool (deterministic int8 values).
pub fn pool_input(i: u32) -> Vec<i32> {
    (0..INPUT_LEN as i32)
        .map(|j| (j * 37 + i as i32 * 53 + 11).rem_euclid(200) - 100)
        .collect()
}

/// Proven outputs: the proving keys of both models (under one `max_k`) and
/// every proof made so far, by (model, input).
pub struct ProofBook {
    provers: BTreeMap<[u8; 32], Prover>,
    proofs: Mutex<Proofs>,
}

/// An output and its proof.
#[derive(Debug)]
pub struct Proven {
    pub output: Vec<i32>,
    pub proof: Vec<u8>,
}

/// Proofs by (model id, input).
type Proofs = BTreeMap<([u8; 32], Vec<i32>), Arc<Proven>>;

type Books = Mutex<BTreeMap<u32, Arc<ProofBook>>>;

static BOOKS: OnceLock<Books> = OnceLock::new();

impl ProofBook {
    /// The process-wide book for circuits derived under `max_k` (keys are
    /// generated on first use).
    pub fn shared(max_k: u32) -> Arc<ProofBook> {
        let books = BOOKS.get_or_init(Default::default);
        let mut books = books.lock().unwrap_or_else(|p| p.into_inner());
        books
            .entry(max_k)
            .or_insert_with(|| {
                let provers = [left_model(), join_model()]
                    .into_iter()
                    .map(|m| {
                        let p = Prover::new(m, max_k);
                        (p.id(), p)
                    })
                    .collect();
                Arc::new(ProofBook {
                    provers,
                    proofs: Mutex::default(),
                })
            })
            .clone()
    }

    /// The output of `model` on `input` and its proof, made on first request.
    pub fn prove(&self, model: &[u8; 32], input: &[i32]) -> Result<Arc<Proven>, SimError> {
        let key = (*model, input.to_vec());
        if let Some(p) = self.lock().get(&key) {
            return Ok(p.clone());
        }
        let prover = self.provers.get(model).ok_or_else(|| SimError::Prove {
            model: hex(model),
            reason: "not a model of the simulated workflow".into(),
        })?;
        let len = input.len();
        let tensor =
            Tensor::new(vec![len as u32], input.to_vec()).map_err(|e| SimError::Prove {
                model: hex(model),
                reason: e.to_string(),
            })?;
        let inference = prover.prove(&tensor);
        let proven = Arc::new(Proven {
            output: inference.output.values().to_vec(),
            proof: inference.proof,
        });
        Ok(self.lock().entry(key).or_insert(proven).clone())
    }

    /// How many distinct proofs the book holds.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Proofs> {
        self.proofs.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn hex(id: &[u8; 32]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}
