//! `synod-testnet down` and `synod-testnet logs`.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::Duration;
use synod_consensus_config::{cli::count, outln};

use anyhow::{bail, Context};

use crate::{process, state::TestnetState};

/// Stops every recorded process (SIGCONT, SIGTERM, 10 s, SIGKILL), checks
/// by pid that none is left, and with `clean` removes the directory.
pub fn down(dir: &Path, clean: bool) -> anyhow::Result<()> {
    let dir = process::absolute(dir)?;
    let mut state = TestnetState::load(&dir)?;
    let mut procs: Vec<(u32, std::path::PathBuf)> = crate::agents::procs(&state);
    procs.extend(state.nodes.iter().flat_map(process::procs_of));
    let live = procs
        .iter()
        .filter(|(p, home)| process::is_alive(*p, home))
        .count();
    let left = process::stop_all(&procs, Duration::from_secs(10));
    if !left.is_empty() {
        bail!("these processes are still alive after SIGKILL: {left:?}");
    }
    for a in &mut state.agents {
        a.pid = None;
    }
    for node in &mut state.nodes {
        node.app_pid = None;
        node.node_pid = None;
        node.paused = false;
    }
    outln!(
        "stopped {} of {} in {}",
        count(live, "process", "processes"),
        count(state.nodes.len(), "node", "nodes"),
        dir.display()
    );
    if clean {
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
        outln!("removed {}", dir.display());
    } else {
        state.save()?;
    }
    Ok(())
}

/// Prints the last `lines` lines of a node's log; with `follow`, keeps
/// printing what is appended until Ctrl-C.
pub async fn logs(
    state: &TestnetState,
    index: usize,
    app: bool,
    follow: bool,
    lines: usize,
) -> anyhow::Result<()> {
    let node = &state.nodes[index];
    let path = if app { node.app_log() } else { node.node_log() };
    log_file(&node.name, &path, follow, lines).await
}

/// [`logs`] of any log file (an agent's: `DIR/agent-I/agent.log`).
pub async fn log_file(name: &str, path: &Path, follow: bool, lines: usize) -> anyhow::Result<()> {
    let path = path.to_path_buf();
    if !path.exists() {
        bail!("{name} has no log yet ({} is missing)", path.display());
    }
    outln!("{}", process::log_tail(&path, lines));
    if !follow {
        return Ok(());
    }
    let mut file =
        std::fs::File::open(&path).with_context(|| format!("opening {}", path.display()))?;
    let mut pos = file.seek(SeekFrom::End(0))?;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
        let len = file.metadata()?.len();
        if len < pos {
            // Truncated or replaced: start again from its beginning.
            pos = 0;
        }
        file.seek(SeekFrom::Start(pos))?;
        let mut buf = Vec::new();
        file.read_to_end(&mut buf)?;
        pos += buf.len() as u64;
        synod_consensus_config::cli::write_stdout(&buf);
    }
}
