//! What the operator tools built on this crate (`synod-config`,
//! `synod-node`, `synod-testnet`) share about printing for people: lines on
//! stdout that end the process quietly when the reader has gone
//! (`synod-testnet status | head`), counts in words that agree with their
//! number ("1 full node", "2 full nodes"), and an error on one line with
//! each cause once.
//!
//! Why not restore the default SIGPIPE disposition instead: that needs
//! `unsafe` (`libc::signal`), which the workspace forbids, and it would also
//! let a closed socket kill a long-running node. A write that fails with
//! `BrokenPipe` is the same news, handled here in safe code.

use std::io::Write as _;

/// Writes `bytes` to stdout and flushes. When the reader has closed the pipe
/// the process exits quietly with status 0, as a Unix filter does; any other
/// write error is reported on stderr and exits with status 1.
pub fn write_stdout(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(bytes).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        // Best effort: stderr may be gone too.
        let _ = writeln!(std::io::stderr(), "error: cannot write to stdout: {e}");
        std::process::exit(1);
    }
}

/// Writes `line` and a newline to stdout (see [`write_stdout`]).
pub fn print_line(line: &str) {
    write_stdout(format!("{line}\n").as_bytes());
}

/// `println!` for the operator tools: formats a line and prints it with
/// [`print_line`], so a closed pipe ends the process quietly instead of
/// panicking with "failed printing to stdout".
#[macro_export]
macro_rules! outln {
    () => {
        $crate::cli::print_line("")
    };
    ($($arg:tt)*) => {
        $crate::cli::print_line(&format!($($arg)*))
    };
}

/// `e` and its causes on one line (`outer: inner: innermost`), each said
/// once: a cause whose text the line already ends with is left out (an
/// error whose message includes its source, `"{path}: {source}"`, would
/// otherwise show it twice).
pub fn error_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.ends_with(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// `n` and the noun that agrees with it: `count(1, "node", "nodes")` is
/// "1 node", `count(0, "node", "nodes")` is "0 nodes".
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_line_says_each_cause_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("RPC server on 127.0.0.1:1: {source}")]
        struct Serve {
            source: std::io::Error,
        }
        let e = anyhow::Error::new(Serve {
            source: std::io::Error::other("address in use"),
        })
        .context("starting the node");
        assert_eq!(
            error_line(&e),
            "starting the node: RPC server on 127.0.0.1:1: address in use"
        );
    }

    #[test]
    fn counts_agree_with_their_number() {
        assert_eq!(count(1, "full node", "full nodes"), "1 full node");
        assert_eq!(count(0, "full node", "full nodes"), "0 full nodes");
        assert_eq!(count(4, "validator", "validators"), "4 validators");
        assert_eq!(count(1, "process", "processes"), "1 process");
    }
}
