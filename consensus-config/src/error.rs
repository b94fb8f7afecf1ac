//! The one error type of this crate: every variant names the file (and,
//! where there is one, the key) that was wrong, and says what to do next.

use std::path::PathBuf;

/// Why a home could not be read, written or generated.
///
/// The I/O errors of [`ConfigError::Read`] and [`ConfigError::Write`] are
/// part of the message and deliberately not a `source`: a caller that
/// prints the whole chain (`{:#}`) shows the reason once, not twice.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file is missing or unreadable.
    #[error("cannot read {}: {error}", path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    /// A file or directory could not be created.
    #[error("cannot write {}: {error}", path.display())]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
    /// The file is not well-formed TOML or JSON at all.
    #[error("{} is not valid {format}: {message}", path.display())]
    Syntax {
        path: PathBuf,
        format: &'static str,
        message: String,
    },
    /// The file is well formed but one key holds a bad value.
    #[error("{}: key `{key}`: {message}", path.display())]
    Key {
        path: PathBuf,
        key: String,
        message: String,
    },
    /// A key file's public key, address or key halves disagree with its private key.
    #[error("{}: {message}; the file is corrupt or was edited by hand: restore it from a backup", path.display())]
    KeyMismatch { path: PathBuf, message: String },
    /// Generating would overwrite an existing home.
    #[error("{} already exists: refusing to overwrite an existing home (choose another --home, or remove it first if you really mean to start over)", path.display())]
    AlreadyExists { path: PathBuf },
    /// A request to generate homes that cannot be satisfied.
    #[error("invalid network spec: {0}")]
    Spec(String),
}

impl ConfigError {
    pub(crate) fn key(path: &std::path::Path, key: &str, message: impl Into<String>) -> Self {
        ConfigError::Key {
            path: path.to_path_buf(),
            key: key.to_string(),
            message: message.into(),
        }
    }

    /// A serde error from JSON text, naming the path of the failing key when
    /// there is one.
    pub(crate) fn json(
        path: &std::path::Path,
        error: serde_path_to_error::Error<serde_json::Error>,
    ) -> Self {
        let key = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_syntax() || inner.is_eof() || key == "." {
            ConfigError::Syntax {
                path: path.to_path_buf(),
                format: "JSON",
                message: inner.to_string(),
            }
        } else {
            ConfigError::key(path, &key, inner.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_error_printed_with_its_chain_names_the_reason_once() {
        let e = ConfigError::Read {
            path: PathBuf::from("m.synod-model"),
            error: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        };
        let shown = format!("{:#}", anyhow::Error::new(e).context("--model"));
        assert_eq!(shown, "--model: cannot read m.synod-model: no such file");
    }
}
