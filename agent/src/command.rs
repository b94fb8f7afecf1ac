//! An external command as a model (optimistic only). The protocol is JSON
//! lines: the agent writes `{"input": [int8, ...]}` and a newline to the
//! command's stdin, the command answers one line `{"output": [int, ...]}`
//! on stdout (or `{"error": "reason"}`). The process lives across calls; one
//! that crashes, hangs past [`CALL_TIMEOUT`] or answers badly is killed and
//! restarted on the next call. Before the agent serves it, [`CommandModel::spawn`]
//! runs every sample input twice and refuses a command that answers
//! differently.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::Mutex;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::model::{sample_inputs, Model, ModelError, TracedRun};

/// How long one answer may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest answer line read (bytes).
pub const MAX_LINE_BYTES: usize = 1 << 20;
/// Domain of the trace root of an external run (it commits to the input and
/// the output: the command's inside is not traced).
const TRACE_DOMAIN: &[u8] = b"synod-agent/command-trace/v1\0";

struct Process {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<std::io::Result<String>>,
}

/// A model served by an external command; see the module docs.
pub struct CommandModel {
    id: [u8; 32],
    command: Vec<String>,
    input_len: usize,
    output_len: usize,
    process: Mutex<Option<Process>>,
}

impl CommandModel {
    /// Starts `command`, checks it on `samples` sample inputs (each run
    /// twice, the answers must agree and have `output_len` values).
    pub fn spawn(
        id: [u8; 32],
        command: Vec<String>,
        input_len: usize,
        output_len: usize,
        samples: usize,
    ) -> Result<CommandModel, ModelError> {
        if command.is_empty() {
            return Err(ModelError::Command {
                command: String::new(),
                reason: "the command is empty".into(),
            });
        }
        let model = CommandModel {
            id,
            command,
            input_len,
            output_len,
            process: Mutex::new(None),
        };
        for (i, input) in sample_inputs(input_len, samples).iter().enumerate() {
            let first = model.run(input)?;
            let second = model.run(input)?;
            if first != second {
                return Err(ModelError::NotDeterministic {
                    command: model.name(),
                    sample: i,
                    first,
                    second,
                });
            }
        }
        Ok(model)
    }

    fn name(&self) -> String {
        self.command.join(" ")
    }

    fn err(&self, reason: impl Into<String>) -> ModelError {
        ModelError::Command {
            command: self.name(),
            reason: reason.into(),
        }
    }

    fn start(&self) -> Result<Process, ModelError> {
        let mut child = Command::new(&self.command[0])
            .args(&self.command[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| self.err(format!("cannot start: {e}")))?;
        let stdin = child.stdin.take().ok_or_else(|| self.err("no stdin"))?;
        let stdout = child.stdout.take().ok_or_else(|| self.err("no stdout"))?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut line = Vec::new();
                let read = (&mut reader)
                    .take(MAX_LINE_BYTES as u64 + 1)
                    .read_until(b'\n', &mut line);
                let item = match read {
                    Ok(0) => break,
                    Ok(_) if line.len() > MAX_LINE_BYTES => Err(std::io::Error::other(format!(
                        "an answer line is longer than {MAX_LINE_BYTES} bytes"
                    ))),
                    Ok(_) => String::from_utf8(line)
                        .map_err(|_| std::io::Error::other("an answer is not UTF-8")),
                    Err(e) => Err(e),
                };
                let stop = item.is_err();
                if tx.send(item).is_err() || stop {
                    break;
                }
            }
        });
        Ok(Process {
            child,
            stdin,
            lines,
        })
    }

    fn call(&self, input: &[i32]) -> Result<Vec<i32>, ModelError> {
        if input.len() != self.input_len {
            return Err(ModelError::InputLength {
                got: input.len(),
                want: self.input_len,
            });
        }
        let mut guard = self.process.lock().map_err(|_| self.err("lock poisoned"))?;
        if guard.is_none() {
            *guard = Some(self.start()?);
        }
        let result = match guard.as_mut() {
            Some(p) => self.exchange(p, input),
            None => Err(self.err("not started")),
        };
        if result.is_err() {
            // Crashed, hung or confused: never reuse it.
            if let Some(mut p) = guard.take() {
                let _ = p.child.kill();
                let _ = p.child.wait();
            }
        }
        result
    }

    fn exchange(&self, p: &mut Process, input: &[i32]) -> Result<Vec<i32>, ModelError> {
        let mut line = serde_json::to_vec(&serde_json::json!({ "input": input }))
            .map_err(|e| self.err(e.to_string()))?;
        line.push(b'\n');
        p.stdin
            .write_all(&line)
            .and_then(|_| p.stdin.flush())
            .map_err(|e| self.err(format!("writing the input: {e}")))?;
        let answer = match p.lines.recv_timeout(CALL_TIMEOUT) {
            Ok(Ok(line)) => line,
            Ok(Err(e)) => return Err(self.err(format!("reading the answer: {e}"))),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                return Err(self.err(format!("no answer within {} s", CALL_TIMEOUT.as_secs())))
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(self.err("it exited without answering"))
            }
        };
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Answer {
            output: Option<Vec<i32>>,
            error: Option<String>,
        }
        let answer: Answer = serde_json::from_str(answer.trim())
            .map_err(|e| self.err(format!("a bad answer line ({e})")))?;
        match (answer.output, answer.error) {
            (_, Some(reason)) => Err(self.err(format!("it answered an error: {reason}"))),
            (Some(out), None) if out.len() == self.output_len => Ok(out),
            (Some(out), None) => Err(self.err(format!(
                "it answered {} values, the model gives {}",
                out.len(),
                self.output_len
            ))),
            (None, None) => Err(self.err("the answer has neither output nor error")),
        }
    }
}

impl Drop for CommandModel {
    fn drop(&mut self) {
        if let Ok(mut guard) = self.process.lock() {
            if let Some(mut p) = guard.take() {
                let _ = p.child.kill();
                let _ = p.child.wait();
            }
        }
    }
}

impl Model for CommandModel {
    fn id(&self) -> [u8; 32] {
        self.id
    }
    fn input_len(&self) -> usize {
        self.input_len
    }
    fn output_len(&self) -> usize {
        self.output_len
    }
    fn run(&self, input: &[i32]) -> Result<Vec<i32>, ModelError> {
        self.call(input)
    }
    fn run_traced(&self, input: &[i32]) -> Result<TracedRun, ModelError> {
        let output = self.call(input)?;
        let mut h = Sha256::new();
        h.update(TRACE_DOMAIN);
        for part in [input, &output[..]] {
            h.update((part.len() as u64).to_le_bytes());
            for v in part {
                h.update(v.to_le_bytes());
            }
        }
        Ok(TracedRun {
            output,
            trace_root: h.finalize().into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn python(script: &str) -> Vec<String> {
        vec!["python3".into(), "-c".into(), script.into()]
    }

    const SUM: &str = "import sys, json\n\
        for line in sys.stdin:\n\
        \x20   x = json.loads(line)['input']\n\
        \x20   print(json.dumps({'output': [sum(x) % 127, len(x)]}), flush=True)\n";

    #[test]
    fn a_deterministic_command_runs_and_traces() {
        let m = CommandModel::spawn([7; 32], python(SUM), 4, 2, 3).expect("spawns");
        assert_eq!(m.run(&[1, 2, 3, 4]).expect("runs"), vec![10, 4]);
        let t = m.run_traced(&[1, 2, 3, 4]).expect("runs");
        assert_eq!(t, m.run_traced(&[1, 2, 3, 4]).expect("runs"));
        assert_ne!(
            t.trace_root,
            m.run_traced(&[1, 2, 3, 5]).expect("runs").trace_root
        );
        assert!(matches!(m.run(&[1]), Err(ModelError::InputLength { .. })));
    }

    #[test]
    fn a_random_command_is_refused() {
        let script = "import sys, json, random\n\
            for line in sys.stdin:\n\
            \x20   print(json.dumps({'output': [random.randint(0, 1 << 30)]}), flush=True)\n";
        let e = CommandModel::spawn([7; 32], python(script), 4, 1, 2)
            .err()
            .expect("refused");
        assert!(matches!(e, ModelError::NotDeterministic { .. }), "{e}");
    }

    #[test]
    fn a_crashing_or_wrong_command_is_an_error_and_restarts() {
        // Crashes on a negative first value, answers otherwise.
        let script = "import sys, json\n\
            for line in sys.stdin:\n\
            \x20   x = json.loads(line)['input']\n\
            \x20   if x[0] < 0: sys.exit(3)\n\
            \x20   print(json.dumps({'output': [x[0]]}), flush=True)\n";
        let m = CommandModel::spawn([7; 32], python(script), 1, 1, 0).expect("spawns");
        assert_eq!(m.run(&[5]).expect("runs"), vec![5]);
        let e = m.run(&[-1]).expect_err("crash");
        assert!(e.to_string().contains("exited"), "{e}");
        assert_eq!(m.run(&[6]).expect("restarted"), vec![6]);
        let wrong = CommandModel::spawn([7; 32], python(SUM), 4, 3, 0).expect("no samples");
        let e = wrong.run(&[1, 2, 3, 4]).expect_err("wrong length");
        assert!(e.to_string().contains("answered 2 values"), "{e}");
    }
}
