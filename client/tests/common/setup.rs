//! What the agent, workflow and dispute CLI tests set up before a chain
//! starts: a keyring, the shipped MLP imported with the `synod` binary
//! (offline commands need no node), keys, and the genesis entries that
//! register the model and a one-step workflow over it.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use synod_client::{Address, Amount};
use synod_protocol::{
    governance::{WorkflowSpec, WorkflowStep},
    state::VerificationMode,
    GenesisModel,
};

use super::{json_of, SYNOD};

/// A file of the shipped models (`zkml/models`).
pub fn shipped(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../zkml/models")
        .join(file)
}

/// A temp dir with a keyring and the shipped MLP imported into it.
pub struct Offline {
    pub tmp: tempfile::TempDir,
    pub keyring: PathBuf,
    pub model_file: PathBuf,
    pub model_id: [u8; 32],
}

impl Offline {
    pub fn with_mlp() -> Offline {
        let tmp = tempfile::tempdir().unwrap();
        let keyring = tmp.path().join("keys");
        let model_file = tmp.path().join("mlp.synod-model");
        let mut offline = Offline {
            tmp,
            keyring,
            model_file,
            model_id: [0; 32],
        };
        let imported = offline.json(&[
            "model",
            "import",
            shipped("mlp.onnx").to_str().unwrap(),
            "--calibration",
            shipped("digits-calibration.json").to_str().unwrap(),
            "--out",
            offline.model_file.to_str().unwrap(),
        ]);
        offline.model_id = hex::decode(imported["model_id"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        offline
    }

    /// `synod --keyring-dir KEYS --output json ARGS`, which must succeed.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = Command::new(SYNOD)
            .arg("--keyring-dir")
            .arg(&self.keyring)
            .args(["--output", "json"])
            .args(args)
            .output()
            .unwrap();
        json_of(&out)
    }

    /// A new key in the keyring: its address.
    pub fn add_key(&self, name: &str) -> Address {
        self.json(&["keys", "add", name])["address"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    }

    /// The MLP as a genesis model allowing `mode`.
    pub fn genesis_model(&self, mode: VerificationMode) -> GenesisModel {
        GenesisModel {
            model: base64::engine::general_purpose::STANDARD
                .encode(std::fs::read(&self.model_file).unwrap()),
            modes: vec![mode],
        }
    }

    /// Workflow `classify`: one step `mlp` over the MLP in `mode` (timeout
    /// 60 blocks, reward 2 syn, executors bonded 100 syn).
    pub fn classify_workflow(&self, mode: VerificationMode, retries: u32) -> WorkflowSpec {
        WorkflowSpec {
            name: "classify".into(),
            steps: vec![WorkflowStep {
                name: "mlp".into(),
                model: self.model_id,
                inputs: vec![],
                mode,
                timeout_blocks: 60,
                reward: Amount::syn(2),
                min_bond: Amount::syn(100),
                min_reputation: 0,
                retries,
            }],
        }
    }
}
