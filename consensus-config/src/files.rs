//! Reading and writing the home's files: errors name the file; files holding
//! private keys are created with mode 0600 (owner read/write only), and a
//! directory of key files with mode 0700.

use std::io::Write;
use std::path::Path;

use crate::error::ConfigError;

/// Reads a UTF-8 text file.
pub(crate) fn read_text(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
        path: path.to_path_buf(),
        error,
    })
}

/// Creates `path`'s directory (and its parents) if absent.
pub(crate) fn create_dir(path: &Path) -> Result<(), ConfigError> {
    std::fs::create_dir_all(path).map_err(|error| ConfigError::Write {
        path: path.to_path_buf(),
        error,
    })
}

/// Creates a directory of private files (a keyring) readable by its owner
/// only (mode 0700), its parents as [`create_dir`] does; an existing one is
/// tightened to 0700 too.
pub(crate) fn create_private_dir(path: &Path) -> Result<(), ConfigError> {
    create_dir(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)).map_err(
            |error| ConfigError::Write {
                path: path.to_path_buf(),
                error,
            },
        )?;
    }
    Ok(())
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
    let fail = |error| ConfigError::Write {
        path: path.to_path_buf(),
        error,
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
