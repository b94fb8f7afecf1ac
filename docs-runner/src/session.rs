//! One bash session per document: what a reader types, in order, in one
//! terminal, so `export`, `cd` and shell variables carry from block to block.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// What running something in the session gave.
#[derive(Debug)]
pub struct Ran {
    /// Its stdout and stderr, interleaved as printed.
    pub output: String,
    /// Its exit status (for a script: the status it failed with, or 0).
    pub status: i32,
}

/// Why the session could not run something to the end.
#[derive(Debug)]
pub enum Stopped {
    /// It ran longer than allowed; what it printed so far.
    Timeout { output: String, after: Duration },
    /// The shell ended: a script failed under `set -e`, or it exited.
    Ended { output: String, status: Option<i32> },
}

/// A bash process fed through its stdin.
pub struct Session {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    marker: String,
    scripts: tempfile::TempDir,
    count: usize,
}

impl Session {
    /// A bash in `cwd` with `env` set, stderr merged into stdout, in a
    /// process group of its own (so everything it starts can be stopped).
    pub fn start(cwd: &Path, env: &[(&str, String)]) -> std::io::Result<Session> {
        let mut child = Command::new("bash")
            .args(["--noprofile", "--norc"])
            .current_dir(cwd)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| std::io::Error::other("bash has no stdin"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("bash has no stdout"))?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let marker = format!("__synod_docs_{}_{}__", std::process::id(), nanos());
        let mut s = Session {
            child,
            stdin,
            lines,
            marker,
            scripts: tempfile::tempdir()?,
            count: 0,
        };
        s.send("exec 2>&1\n")?;
        Ok(s)
    }

    fn send(&mut self, text: &str) -> std::io::Result<()> {
        self.stdin.write_all(text.as_bytes())?;
        self.stdin.flush()
    }

    /// Runs one command as typed; its status is whatever it exits with.
    pub fn command(&mut self, command: &str, timeout: Duration) -> Result<Ran, Stopped> {
        let script = format!("{{\n{command}\n}} < /dev/null\n");
        self.run(&script, timeout)
    }

    /// Runs a whole block as a script with `set -e`: the first command that
    /// fails ends the session, with its status.
    pub fn script(&mut self, body: &str, timeout: Duration) -> Result<Ran, Stopped> {
        self.count += 1;
        let path = self.scripts.path().join(format!("block-{}.sh", self.count));
        if let Err(e) = std::fs::write(&path, body) {
            return Err(Stopped::Ended {
                output: format!("cannot write the block to {}: {e}", path.display()),
                status: None,
            });
        }
        let script = format!("set -e\nsource {} < /dev/null\nset +e\n", path.display());
        self.run(&script, timeout)
    }

    fn run(&mut self, script: &str, timeout: Duration) -> Result<Ran, Stopped> {
        let text = format!("{script}echo \"{} $?\"\n", self.marker);
        if let Err(e) = self.send(&text) {
            return Err(Stopped::Ended {
                output: format!("the shell is gone: {e}"),
                status: self.child.try_wait().ok().flatten().and_then(|s| s.code()),
            });
        }
        let started = Instant::now();
        let mut output = String::new();
        loop {
            let left = timeout.saturating_sub(started.elapsed());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix(&self.marker) {
                        let status = rest.trim().parse().unwrap_or(-1);
                        return Ok(Ran { output, status });
                    }
                    output.push_str(&line);
                    output.push('\n');
                }
                Err(RecvTimeoutError::Timeout) => {
                    return Err(Stopped::Timeout {
                        output,
                        after: started.elapsed(),
                    })
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().ok().and_then(|s| s.code());
                    return Err(Stopped::Ended { output, status });
                }
            }
        }
    }

    /// Stops the shell and everything it started in its process group.
    pub fn stop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.stop();
    }
}

fn nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Session {
        Session::start(Path::new("/"), &[("GREETING", "hi".into())]).unwrap()
    }

    #[test]
    fn state_carries_between_commands_and_statuses_are_reported() {
        let mut s = session();
        let t = Duration::from_secs(10);
        let r = s.command("export X=1; cd /tmp; echo $GREETING", t).unwrap();
        assert_eq!((r.output.as_str(), r.status), ("hi\n", 0));
        let r = s
            .command("echo $X $(pwd); echo oops >&2; false", t)
            .unwrap();
        assert_eq!(r.output, "1 /tmp\noops\n");
        assert_eq!(r.status, 1);
        // A command that reads stdin gets nothing (and does not eat the session's input).
        let r = s.command("cat; echo after", t).unwrap();
        assert_eq!(r.output, "after\n");
    }

    #[test]
    fn a_failing_script_ends_the_session_and_a_slow_one_times_out() {
        let mut s = session();
        let t = Duration::from_secs(10);
        let r = s.script("A=2\necho $A", t).unwrap();
        assert_eq!((r.output.as_str(), r.status), ("2\n", 0));
        match s.script("echo before\nfalse\necho never", t) {
            Err(Stopped::Ended { output, status }) => {
                assert_eq!(output, "before\n");
                assert_eq!(status, Some(1));
            }
            other => panic!("{other:?}"),
        }
        let mut s = session();
        match s.command("echo start; sleep 5", Duration::from_millis(300)) {
            Err(Stopped::Timeout { output, .. }) => assert_eq!(output, "start\n"),
            other => panic!("{other:?}"),
        }
    }
}
