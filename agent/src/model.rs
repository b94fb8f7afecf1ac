//! Models an agent serves: one [`Model`] trait for plug-ins, and the two
//! built-ins — a `.synod-model` file ([`SynodModel`]: zk proofs and traced
//! runs) and an external command ([`CommandModel`], in `command.rs`:
//! optimistic only).

use std::path::Path;
use std::sync::{Arc, OnceLock};

use synod_zkml::{circuit, LoadedModel, Tensor};

pub use crate::command::CommandModel;

/// Why a model could not load, run or prove.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model file {path}: {reason}")]
    Load { path: String, reason: String },
    #[error("the input has {got} values, the model takes {want}")]
    InputLength { got: usize, want: usize },
    #[error("running the model failed: {0}")]
    Run(String),
    #[error("proving failed: {0}")]
    Prove(String),
    #[error("the external model {command}: {reason}")]
    Command { command: String, reason: String },
    #[error("the external model {command} is not deterministic: input {sample} gave {first:?} then {second:?}")]
    NotDeterministic {
        command: String,
        sample: usize,
        first: Vec<i32>,
        second: Vec<i32>,
    },
}

/// A traced run: the output and the root of the execution trace an
/// optimistic claim commits to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TracedRun {
    pub output: Vec<i32>,
    pub trace_root: [u8; 32],
}

/// A proved run: the output and a halo2 proof that it is the model's
/// output on the input (what `SubmitResult` carries for a zk step).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProvedRun {
    pub output: Vec<i32>,
    pub proof: Vec<u8>,
}

/// A model an agent can serve. Loading is the implementor's constructor;
/// everything else is here. Implementations must be deterministic: the
/// same input always gives the same output (verifiers re-execute).
pub trait Model: Send + Sync {
    /// The on-chain model id this implementation stands for.
    fn id(&self) -> [u8; 32];
    /// How many int8 values the model takes.
    fn input_len(&self) -> usize;
    /// How many values it gives.
    fn output_len(&self) -> usize;
    /// Runs the model.
    fn run(&self, input: &[i32]) -> Result<Vec<i32>, ModelError>;
    /// Runs the model and commits to the execution (optimistic claims).
    fn run_traced(&self, input: &[i32]) -> Result<TracedRun, ModelError>;
    /// Whether [`Model::prove`] is supported (zk steps).
    fn can_prove(&self) -> bool {
        false
    }
    /// Proves a run (`None` when this model cannot prove).
    fn prove(&self, _input: &[i32]) -> Option<Result<ProvedRun, ModelError>> {
        None
    }
    /// The int8 IR the chain holds for this model, when this implementation
    /// has it: an optimistic result commits to the IR's execution trace
    /// (each node's output), which a dispute re-executes node by node.
    fn ir(&self) -> Option<&synod_zkml::Model> {
        None
    }
}

/// A `.synod-model` file: runs with zkml's integer interpreter, proves with
/// halo2 under the chain's `models.max_k` (the proving key is derived once,
/// on the first proof, and kept).
pub struct SynodModel {
    loaded: LoadedModel,
    max_k: u32,
    setup: OnceLock<Result<Arc<circuit::ProvingSetup>, String>>,
}

impl SynodModel {
    /// Reads the file; proofs are made for circuits of at most `2^max_k` rows.
    pub fn load(path: &Path, max_k: u32) -> Result<SynodModel, ModelError> {
        let loaded = synod_zkml::Model::read_file(path).map_err(|e| ModelError::Load {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Ok(SynodModel {
            loaded,
            max_k,
            setup: OnceLock::new(),
        })
    }

    fn tensor(&self, input: &[i32]) -> Result<Tensor, ModelError> {
        let want = self.input_len();
        if input.len() != want {
            return Err(ModelError::InputLength {
                got: input.len(),
                want,
            });
        }
        Tensor::new(self.loaded.model.input.shape.clone(), input.to_vec())
            .map_err(|e| ModelError::Run(e.to_string()))
    }

    /// Derives the proving key now (slow: keygen), so the first step does
    /// not pay for it.
    pub fn warm_up(&self) -> Result<(), ModelError> {
        self.proving_setup().map(|_| ())
    }

    fn proving_setup(&self) -> Result<Arc<circuit::ProvingSetup>, ModelError> {
        self.setup
            .get_or_init(|| {
                let zk = circuit::ZkModel::from_ir(&self.loaded.model, self.max_k)
                    .map_err(|e| format!("this model has no circuit under max_k: {e}"))?;
                let params = circuit::params(zk.k()).map_err(|e| e.to_string())?;
                zk.setup(&params).map(Arc::new).map_err(|e| e.to_string())
            })
            .clone()
            .map_err(ModelError::Prove)
    }
}

impl Model for SynodModel {
    fn id(&self) -> [u8; 32] {
        self.loaded.id.0
    }

    fn input_len(&self) -> usize {
        self.loaded.model.input.shape.iter().product::<u32>() as usize
    }

    fn output_len(&self) -> usize {
        self.loaded.info.output().shape.iter().product::<u32>() as usize
    }

    fn run(&self, input: &[i32]) -> Result<Vec<i32>, ModelError> {
        let out = synod_zkml::run(&self.loaded.model, &self.tensor(input)?)
            .map_err(|e| ModelError::Run(e.to_string()))?;
        Ok(out.values().to_vec())
    }

    fn run_traced(&self, input: &[i32]) -> Result<TracedRun, ModelError> {
        let exec = synod_zkml::run_traced(&self.loaded.model, &self.tensor(input)?)
            .map_err(|e| ModelError::Run(e.to_string()))?;
        let output = exec
            .output()
            .map(|t| t.values().to_vec())
            .ok_or_else(|| ModelError::Run("the run has no output".into()))?;
        Ok(TracedRun {
            output,
            trace_root: exec.trace().root().0,
        })
    }

    fn can_prove(&self) -> bool {
        true
    }

    fn ir(&self) -> Option<&synod_zkml::Model> {
        Some(&self.loaded.model)
    }

    fn prove(&self, input: &[i32]) -> Option<Result<ProvedRun, ModelError>> {
        Some((|| {
            let tensor = self.tensor(input)?;
            let setup = self.proving_setup()?;
            let (output, proof) = circuit::prove_inference(&setup, &tensor)
                .map_err(|e| ModelError::Prove(e.to_string()))?;
            Ok(ProvedRun {
                output: output.values().to_vec(),
                proof,
            })
        })())
    }
}

/// Deterministic sample inputs of `len` int8 values (for checks).
pub fn sample_inputs(len: usize, count: usize) -> Vec<Vec<i32>> {
    (0..count as i32)
        .map(|seed| {
            (0..len as i32)
                .map(|i| (i * 37 + seed * 11).rem_euclid(256) - 128)
                .collect()
        })
        .collect()
}

/// A small Dense model (20 int8 in, 10 out) for tests and examples: the
/// "head" of the testnet's 3-step workflow, joining two digit classifiers.
pub fn head_model() -> synod_zkml::Model {
    use synod_zkml::{ir::Scale, ir::TensorInfo, Node, Op, Requant, TensorId};
    let weights = (0..200).map(|i| ((i * 29) % 251 - 125) as i8).collect();
    synod_zkml::Model {
        name: "digits-head".into(),
        input: TensorInfo {
            shape: vec![20],
            zero_point: 0,
            scale: Scale {
                multiplier: 1,
                shift: 4,
            },
        },
        nodes: vec![Node {
            inputs: vec![TensorId(0)],
            op: Op::Dense {
                in_features: 20,
                out_features: 10,
                weights,
                bias: (0..10).map(|i| i * 100 - 500).collect(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_model_file_is_a_load_error() {
        let e = SynodModel::load(Path::new("/nonexistent.synod-model"), 16)
            .err()
            .expect("fails");
        assert!(matches!(e, ModelError::Load { .. }), "{e}");
    }

    #[test]
    fn a_synod_model_runs_traced_deterministically_and_proves() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("head.synod-model");
        let id = head_model().write_file(&path).expect("writes");
        let m = SynodModel::load(&path, 16).expect("loads");
        assert_eq!(m.id(), id.0);
        assert_eq!((m.input_len(), m.output_len()), (20, 10));
        let input = &sample_inputs(m.input_len(), 1)[0];
        let a = m.run_traced(input).expect("runs");
        assert_eq!(a, m.run_traced(input).expect("runs"));
        assert_eq!(a.output, m.run(input).expect("runs"));
        assert!(matches!(
            m.run(&input[1..]),
            Err(ModelError::InputLength { .. })
        ));
        let proved = m.prove(input).expect("zk").expect("proves");
        assert_eq!(proved.output, a.output);
        assert!(!proved.proof.is_empty());
    }
}
