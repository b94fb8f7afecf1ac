//! Finding the programs a testnet runs: `synod-app`, and `synod-node` or
//! `cometbft`.

use std::path::{Path, PathBuf};

use anyhow::bail;

use crate::state::Engine;

/// The programs one testnet runs.
#[derive(Clone, Debug)]
pub struct Binaries {
    pub app: PathBuf,
    pub node: PathBuf,
}

/// How to get a program that is missing.
fn build_hint(name: &str) -> &'static str {
    match name {
        "synod-app" => "build it with `cargo build -p synod-abci-app --bin synod-app`",
        "synod-node" => "build it with `cargo build -p synod-node --bin synod-node`",
        "synod" => "build it with `cargo build -p synod-client --bin synod`",
        "cometbft" => "install CometBFT v0.38 or use --engine embedded",
        _ => "build it with cargo",
    }
}

fn executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

fn in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| executable(p))
}

/// Finds `name`: only in `bin_dir` when one is given; otherwise next to this
/// executable, then on PATH. The error names the program, where it looked,
/// and the command that builds it.
pub fn find(name: &str, bin_dir: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = bin_dir {
        let p = dir.join(name);
        if executable(&p) {
            return Ok(p);
        }
        bail!(
            "{name} not found in --bin-dir {} ({} is missing): {}",
            dir.display(),
            p.display(),
            build_hint(name)
        );
    }
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join(name)));
    if let Some(p) = beside.as_ref().filter(|p| executable(p)) {
        return Ok(p.clone());
    }
    if let Some(p) = in_path(name) {
        return Ok(p);
    }
    let looked = beside
        .and_then(|p| p.parent().map(|d| d.display().to_string()))
        .unwrap_or_else(|| "(unknown)".into());
    bail!(
        "{name} not found next to synod-testnet (in {looked}) nor on PATH: {}",
        build_hint(name)
    )
}

/// The app and the engine's node binary. `cometbft` is looked up on PATH
/// only (it is not built here).
pub fn resolve(engine: Engine, bin_dir: Option<&Path>) -> anyhow::Result<Binaries> {
    let app = find("synod-app", bin_dir)?;
    let node = match engine {
        Engine::Embedded => find("synod-node", bin_dir)?,
        Engine::Cometbft => match in_path("cometbft") {
            Some(p) => p,
            None => bail!("cometbft is not on PATH: {}", build_hint("cometbft")),
        },
    };
    Ok(Binaries { app, node })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_missing_binary_is_named_with_the_command_that_builds_it() {
        let dir = tempfile::tempdir().unwrap();
        let e = find("synod-app", Some(dir.path())).unwrap_err().to_string();
        assert!(e.contains("synod-app not found"), "{e}");
        assert!(
            e.contains("cargo build -p synod-abci-app --bin synod-app"),
            "{e}"
        );
    }
}
