//! The agent's local state (`DATA_DIR/state.json`), written atomically after
//! every change, so a restart neither loses a result it computed nor
//! submits one twice: per assignment (run, step, attempt) the output and
//! proof (by payload hash) and the tx that carried them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One assignment: run, step, attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Assignment {
    pub run: u64,
    pub step: u32,
    pub attempt: u32,
}

/// What the agent did for one assignment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    pub output: Vec<i32>,
    /// Payload hash of the proof (zk steps).
    pub proof: [u8; 32],
    /// Payload hash of the step input's JSON.
    #[serde(default)]
    pub input_hash: [u8; 32],
    /// Payload hash of the output's JSON.
    pub output_hash: [u8; 32],
    pub trace_root: [u8; 32],
    /// The `SubmitResult` tx, once sent.
    pub tx: Option<String>,
    /// Set once the chain included it with code 0.
    pub accepted: bool,
}

/// The state file's contents.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentState {
    /// The last height the executor handled.
    pub last_height: u64,
    /// Keyed by `run/step/attempt` (JSON object keys are strings).
    pub steps: BTreeMap<String, StepRecord>,
}

impl Assignment {
    fn key(&self) -> String {
        format!("{}/{}/{}", self.run, self.step, self.attempt)
    }
}

/// The state file and its contents.
#[derive(Debug)]
pub struct StateFile {
    path: PathBuf,
    pub state: AgentState,
}

impl StateFile {
    /// Opens (or starts) `DATA_DIR/state.json`.
    pub fn open(data_dir: &Path) -> anyhow::Result<StateFile> {
        use anyhow::Context as _;
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating {}", data_dir.display()))?;
        let path = data_dir.join("state.json");
        let state = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .with_context(|| format!("parsing {}", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => AgentState::default(),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        Ok(StateFile { path, state })
    }

    /// The record of `a`, if any.
    pub fn get(&self, a: Assignment) -> Option<&StepRecord> {
        self.state.steps.get(&a.key())
    }

    /// Sets the record of `a` and saves.
    pub fn put(&mut self, a: Assignment, record: StepRecord) -> anyhow::Result<()> {
        self.state.steps.insert(a.key(), record);
        self.save()
    }

    /// Writes the file through a temporary one.
    pub fn save(&self) -> anyhow::Result<()> {
        use anyhow::Context as _;
        let tmp = self.path.with_extension("json.tmp");
        let text = serde_json::to_vec_pretty(&self.state)?;
        std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &self.path)
            .with_context(|| format!("writing {}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_survives_a_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = Assignment {
            run: 3,
            step: 1,
            attempt: 2,
        };
        let record = StepRecord {
            output: vec![1, -2],
            proof: [4; 32],
            input_hash: [7; 32],
            output_hash: [5; 32],
            trace_root: [6; 32],
            tx: Some("AB".into()),
            accepted: false,
        };
        let mut f = StateFile::open(dir.path()).expect("opens");
        f.state.last_height = 9;
        f.put(a, record.clone()).expect("saves");
        let f = StateFile::open(dir.path()).expect("reopens");
        assert_eq!(f.get(a), Some(&record));
        assert_eq!(f.state.last_height, 9);
        assert_eq!(f.get(Assignment { attempt: 3, ..a }), None);
    }
}
