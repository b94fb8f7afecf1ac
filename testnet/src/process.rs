//! The two processes of a node: starting them detached (their own process
//! group, output to a log file), telling whether a recorded pid is still
//! ours, signalling and stopping them.
//!
//! A pid from `testnet.json` may have been reused by an unrelated process
//! since it was recorded, so nothing is signalled unless `/proc/PID/cmdline`
//! still mentions the node's home.

use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag};
use nix::unistd::Pid;

use crate::state::{Engine, NodeRecord, TestnetState};

/// What a recorded process is doing now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcState {
    Running,
    /// Stopped by SIGSTOP.
    Stopped,
    /// Gone, a zombie, or a different program now holds the pid.
    Dead,
}

/// The state of `pid` if it is still a process of the node at `home`.
pub fn proc_state(pid: u32, home: &Path) -> ProcState {
    let stat = match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat,
        Err(_) => return ProcState::Dead,
    };
    // The state letter and the parent pid follow the command name, which is
    // in parentheses and may itself hold spaces or parentheses.
    let mut fields = stat
        .rfind(')')
        .map(|end| stat[end + 1..].split_whitespace())
        .into_iter()
        .flatten();
    let state = fields.next().unwrap_or("X");
    let parent = fields.next().and_then(|p| p.parse::<u32>().ok());
    // A child of ours is ours whatever its cmdline says: right after exec
    // the kernel has not yet set the new cmdline, and no other process can
    // take the pid of a child we have not reaped.
    let ours = parent == Some(std::process::id()) || cmdline_mentions(pid, home);
    if matches!(state, "Z" | "X" | "x") || !ours {
        return ProcState::Dead;
    }
    if matches!(state, "T" | "t") {
        ProcState::Stopped
    } else {
        ProcState::Running
    }
}

/// Whether `/proc/PID/cmdline` names `home`: the guard against pid reuse.
fn cmdline_mentions(pid: u32, home: &Path) -> bool {
    let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let args: Vec<&[u8]> = raw.split(|b| *b == 0).collect();
    let home = home.as_os_str().as_encoded_bytes();
    // HOME itself (the node) or HOME/... (the app), never HOME0/...
    args.iter().any(|arg| {
        arg.strip_prefix(home)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(b"/"))
    })
}

/// Whether `pid` is a live process of the node at `home`.
pub fn is_alive(pid: u32, home: &Path) -> bool {
    proc_state(pid, home) != ProcState::Dead
}

/// Sends `signal` to `pid` if it is still a process of the node at `home`.
pub fn signal(pid: u32, home: &Path, signal: Signal) {
    if !is_alive(pid, home) {
        return;
    }
    if let Ok(raw) = i32::try_from(pid) {
        if let Err(e) = kill(Pid::from_raw(raw), signal) {
            tracing::debug!(pid, %signal, error = %e, "signal not delivered");
        }
    }
    reap(pid);
}

/// Collects `pid`'s exit status if this process started it, so a killed
/// child does not linger as a zombie while a long command (demo) runs.
pub fn reap(pid: u32) {
    if let Ok(raw) = i32::try_from(pid) {
        let _ = waitpid(Pid::from_raw(raw), Some(WaitPidFlag::WNOHANG));
    }
}

/// Stops processes `(pid, home)`: SIGCONT (a stopped process cannot act
/// on SIGTERM), SIGTERM, up to `grace` for them to exit, then SIGKILL.
/// Returns the pids still alive afterwards (none, unless the kernel refuses).
pub fn stop_all(procs: &[(u32, PathBuf)], grace: Duration) -> Vec<u32> {
    let live: Vec<(u32, PathBuf)> = procs
        .iter()
        .filter(|(p, home)| is_alive(*p, home))
        .cloned()
        .collect();
    for (pid, home) in &live {
        signal(*pid, home, Signal::SIGCONT);
        signal(*pid, home, Signal::SIGTERM);
    }
    wait_gone(&live, grace);
    for (pid, home) in &live {
        signal(*pid, home, Signal::SIGKILL);
    }
    wait_gone(&live, Duration::from_secs(5));
    live.into_iter()
        .filter(|(p, home)| is_alive(*p, home))
        .map(|(p, _)| p)
        .collect()
}

/// The recorded processes of `node`, each with the home that guards its pid.
pub fn procs_of(node: &NodeRecord) -> Vec<(u32, PathBuf)> {
    node.pids()
        .into_iter()
        .map(|p| (p, node.home.clone()))
        .collect()
}

/// Stops both processes of the node (see [`stop_all`]).
pub fn stop_node(node: &NodeRecord, grace: Duration) -> Vec<u32> {
    stop_all(&procs_of(node), grace)
}

/// SIGKILLs both processes of the node at once and waits until they are gone.
pub fn kill_node(node: &NodeRecord) -> Vec<u32> {
    kill_all(&procs_of(node))
}

/// SIGKILLs processes `(pid, home)` at once and waits (at most 5 s) until
/// they are gone; returns the pids still alive.
pub fn kill_all(procs: &[(u32, PathBuf)]) -> Vec<u32> {
    let procs = procs.to_vec();
    for (pid, home) in &procs {
        signal(*pid, home, Signal::SIGKILL);
    }
    wait_gone(&procs, Duration::from_secs(5));
    procs
        .into_iter()
        .filter(|(p, home)| is_alive(*p, home))
        .map(|(p, _)| p)
        .collect()
}

fn wait_gone(procs: &[(u32, PathBuf)], bound: Duration) {
    let start = Instant::now();
    while procs.iter().any(|(p, home)| is_alive(*p, home)) && start.elapsed() < bound {
        for (p, _) in procs {
            reap(*p);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts `program args` in its own process group (so a Ctrl-C in the
/// terminal that ran `synod-testnet` does not reach it), stdin closed,
/// stdout and stderr appended to `log`. Returns its pid.
pub fn spawn_detached(
    program: &Path,
    args: &[&std::ffi::OsStr],
    log: &Path,
) -> anyhow::Result<u32> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("opening the log {}", log.display()))?;
    let err = file
        .try_clone()
        .with_context(|| format!("opening the log {}", log.display()))?;
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err)
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting {}", program.display()))?;
    Ok(child.id())
}

/// Starts the node's app, waits (at most 30 s) until it accepts ABCI
/// connections, then starts its consensus node; records both pids in
/// `state` and saves it after each start.
pub fn start_node(state: &mut TestnetState, index: usize) -> anyhow::Result<()> {
    let node = &state.nodes[index];
    let home = node.home.clone();
    let app_home = node.app_home();
    std::fs::create_dir_all(&app_home)
        .with_context(|| format!("creating {}", app_home.display()))?;
    let abci = format!("tcp://127.0.0.1:{}", node.ports.abci);
    let app_pid = spawn_detached(
        &state.app_binary,
        &[
            "--home".as_ref(),
            app_home.as_os_str(),
            "--abci".as_ref(),
            abci.as_ref(),
        ],
        &node.app_log(),
    )?;
    state.nodes[index].app_pid = Some(app_pid);
    state.nodes[index].node_pid = None;
    state.save()?;
    wait_listening(app_pid, &home, state.nodes[index].ports.abci)
        .with_context(|| format!("starting the app of {}", state.nodes[index].name))?;

    let node_args: Vec<&std::ffi::OsStr> =
        vec!["start".as_ref(), "--home".as_ref(), home.as_os_str()];
    let node_pid = spawn_detached(
        &state.node_binary,
        &node_args,
        &state.nodes[index].node_log(),
    )?;
    state.nodes[index].node_pid = Some(node_pid);
    state.nodes[index].paused = false;
    state.save()
}

/// Waits until something listens on 127.0.0.1:`port`, failing early if
/// `pid` exits.
fn wait_listening(pid: u32, home: &Path, port: u16) -> anyhow::Result<()> {
    let start = Instant::now();
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        if !is_alive(pid, home) {
            bail!("it exited before listening on port {port}");
        }
        if start.elapsed() > Duration::from_secs(30) {
            bail!("it did not listen on port {port} within 30 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The last `lines` lines of a log file (empty if there is none).
pub fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The last lines of both logs of a node, for an error message.
pub fn explain(node: &NodeRecord, lines: usize) -> String {
    format!(
        "--- last lines of {}:\n{}\n--- last lines of {}:\n{}",
        node.node_log().display(),
        log_tail(&node.node_log(), lines),
        node.app_log().display(),
        log_tail(&node.app_log(), lines)
    )
}

/// The name of the engine's binary (for messages).
pub fn engine_binary_name(engine: Engine) -> &'static str {
    match engine {
        Engine::Embedded => "synod-node",
        Engine::Cometbft => "cometbft",
    }
}

/// Absolute form of `path` (the state records absolute homes, so the pid
/// guard can match them in `/proc/PID/cmdline`).
pub fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    if path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    let cwd = std::env::current_dir().context("reading the current directory")?;
    Ok(cwd.join(path))
}
