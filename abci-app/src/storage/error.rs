//! What can go wrong in the store, each variant naming the value or path at fault.

use std::path::PathBuf;

/// An error of the versioned Merkle store.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The store path exists but is not a directory.
    #[error("store path {path} exists but is not a directory")]
    NotADirectory {
        /// The path given to `Storage::open`.
        path: PathBuf,
    },
    /// The store directory could not be inspected or created.
    #[error("cannot access store directory {path}: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A new store could not be created in an empty directory.
    #[error("cannot create a new store in {path}: {reason}")]
    CreateFailed {
        /// The directory.
        path: PathBuf,
        /// What RocksDB reported.
        reason: String,
    },
    /// The directory has files but they are not a valid store (missing CURRENT
    /// or MANIFEST, corrupt files, other column families, no format marker).
    #[error(
        "{path} is not a valid Synod store: {reason} (restore it from a backup, or point to an \
         empty directory to start a new store)"
    )]
    NotAStore {
        /// The directory.
        path: PathBuf,
        /// Why it was rejected.
        reason: String,
    },
    /// A column family the store needs is not open (a bug: open checks them all).
    #[error("column family {name} is not open")]
    MissingColumnFamily {
        /// The column family.
        name: &'static str,
    },
    /// RocksDB failed an operation.
    #[error("rocksdb {operation} on column family {column_family} failed: {source}")]
    Db {
        /// What was being done (read, seek, write, ...).
        operation: &'static str,
        /// The column family involved ("*" for a multi-family write batch).
        column_family: &'static str,
        /// The RocksDB error.
        #[source]
        source: rocksdb::Error,
    },
    /// Data read from disk does not decode.
    #[error("corrupt entry {key} in column family {column_family}: {reason}")]
    Corrupt {
        /// The column family it was read from.
        column_family: &'static str,
        /// The entry's key, hex-encoded.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A value could not be encoded for storage.
    #[error("cannot encode {what}: {reason}")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// The encoder's message.
        reason: String,
    },
    /// The requested version is no longer (or was never) stored.
    #[error(
        "version {version} is not stored (pruned, or before the first version); the oldest \
         readable version is {oldest_kept}"
    )]
    VersionPruned {
        /// The requested version.
        version: u64,
        /// The oldest version that can still be read.
        oldest_kept: u64,
    },
    /// The requested version has not been committed yet.
    #[error("version {version} is not committed yet (latest committed: {})", display_version(*latest))]
    VersionNotCommitted {
        /// The requested version.
        version: u64,
        /// The latest committed version, `None` for a fresh store.
        latest: Option<u64>,
    },
    /// `prepare` was asked for a version that does not follow the committed one.
    #[error("cannot prepare version {requested}: the next version is {expected}")]
    UnexpectedVersion {
        /// The version passed to `prepare`.
        requested: u64,
        /// The only version that can be prepared now.
        expected: u64,
    },
    /// The version is reserved by the Jellyfish Merkle Tree (`u64::MAX`) or would overflow.
    #[error("version {version} cannot be stored: u64::MAX is reserved by the Merkle tree")]
    VersionOutOfRange {
        /// The offending version.
        version: u64,
    },
    /// A prepared version was built on a state that is no longer the committed one.
    #[error(
        "cannot commit version {version}: it was prepared on top of version {}, but the \
         committed version is {}",
        display_version(*prepared_on),
        display_version(*committed)
    )]
    StalePreparedCommit {
        /// The prepared version.
        version: u64,
        /// The committed version it was prepared on.
        prepared_on: Option<u64>,
        /// The committed version now.
        committed: Option<u64>,
    },
    /// The Merkle tree failed (missing or inconsistent nodes).
    #[error("merkle tree {operation} at version {version} failed: {reason}")]
    Tree {
        /// What was being done.
        operation: &'static str,
        /// The version involved.
        version: u64,
        /// The tree's message.
        reason: String,
    },
    /// Proof bytes do not decode as a proof.
    #[error("malformed proof: {reason}")]
    MalformedProof {
        /// Why they do not decode.
        reason: String,
    },
    /// A well-formed proof does not prove the claim.
    #[error("proof rejected for key {key}: {reason}")]
    ProofRejected {
        /// The key, hex-encoded.
        key: String,
        /// Why it does not verify.
        reason: String,
    },
}

fn display_version(version: Option<u64>) -> String {
    version.map_or_else(|| "none (fresh store)".to_owned(), |v| v.to_string())
}
