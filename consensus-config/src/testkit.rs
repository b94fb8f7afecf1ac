//! Test helpers for Synod's command-line tools (feature `testkit`; the
//! workspace's tests turn it on, a release build has none of it).

use std::{
    io::Write as _,
    process::{Command, Output, Stdio},
};

/// Runs `command` as `command | head -0` would: the reader of its stdout is
/// gone before it prints (its first write meets a closed pipe). `stdin`, if
/// any, is written only after the reader has gone, so a program that reads
/// its input first is sure to meet the closed pipe. Returns its status and
/// stderr.
pub fn run_with_stdout_closed(command: &mut Command, stdin: Option<&[u8]>) -> Output {
    let mut child = command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the command starts");
    drop(child.stdout.take());
    if let (Some(bytes), Some(mut input)) = (stdin, child.stdin.take()) {
        // A program that stops reading early is not this helper's concern.
        let _ = input.write_all(bytes);
    }
    child.wait_with_output().expect("the command ends")
}

/// Asserts that a program run by [`run_with_stdout_closed`] ended quietly:
/// status 0, and no panic or "Broken pipe" on stderr.
pub fn assert_ended_quietly(out: &Output, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "{what} did not take a closed stdout quietly: {stderr}"
    );
    assert!(
        out.status.success(),
        "{what} failed on a closed stdout ({:?}): {stderr}",
        out.status
    );
}
