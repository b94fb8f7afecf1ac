//! Reading and writing the home's files: errors name the file; files holding
//! private keys are created with mode 0600 (owner read/write only).

use std::io::Write;
use std::path::Path;

use crate::error::ConfigError;

/// Reads a UTF-8 text file.
pub(crate) fn read_text(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Creates `path`'s directory (and its parents) if absent.
pub(crate) fn create_dir(path: &Path) -> Result<(), ConfigError> {
    std::fs::create_dir_all(path).map_err(|source| ConfigError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes a file anyone may read (config, genesis).
pub(crate) fn write_public(path: &Path, bytes: &[u8]) -> Result<(), ConfigError> {
    write_with_mode(path, bytes, 0o644)
}

/// Writes a file holding a private key: readable by its owner only.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), ConfigError> {
    write_with_mode(path, bytes, 0o600)
}

fn write_with_mode(path: &Path, bytes: &[u8], mode: u32) -> Result<(), ConfigError> {
    let fail = |source| ConfigError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_dir(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    let mut file = options.open(path).map_err(fail)?;
    // The mode above applies only to new files: tighten an existing one too.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(fail)?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    file.write_all(bytes).map_err(fail)?;
    file.sync_all().map_err(fail)
}
