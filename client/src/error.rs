//! The one error type of the client library.

use std::path::PathBuf;

use synod_protocol::TxHash;

/// Why a client operation failed. Every variant names the value that was
/// wrong and, where the chain answered, carries its code and message.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The node's RPC did not answer at all.
    #[error("cannot reach the Synod node at {url}: {reason} (is synod-node running there? pass --node or set SYNOD_NODE)")]
    Unreachable { url: String, reason: String },

    /// An RPC call reached the node but failed.
    #[error("RPC call {call} to {url} failed: {reason}")]
    Rpc {
        call: &'static str,
        url: String,
        reason: String,
    },

    /// The node's mempool (CheckTx) refused the transaction; nothing happened on chain.
    #[error("transaction {hash} refused by the node (CheckTx code {code}): {log}")]
    CheckTxRefused {
        code: u32,
        log: String,
        hash: TxHash,
    },

    /// The transaction was included in block `height` but failed there (its
    /// fee and nonce were still charged).
    #[error("transaction {hash} failed in block {height} (code {code}): {log}")]
    BlockRefused {
        code: u32,
        log: String,
        hash: TxHash,
        height: u64,
    },

    /// The transaction was accepted but not seen in a block in time.
    #[error("transaction {hash} was accepted but not included within {secs} s; look it up later with `synod query tx {hash}`")]
    Timeout { hash: TxHash, secs: u64 },

    /// The light client could not verify the header a proof needs.
    #[error("the light client refused the header of block {height}: {reason}")]
    Light { height: u64, reason: String },

    /// A query answer did not match its Merkle proof or the app hash.
    #[error("proof check of {path} failed: {reason}")]
    Proof { path: String, reason: String },

    /// The chain answered a query with an error code.
    #[error("query {path} failed with code {code}: {log}")]
    Query {
        path: String,
        code: u32,
        log: String,
    },

    /// A key could not be created, found, read or written.
    #[error("key {name:?}: {reason}")]
    Key { name: String, reason: String },

    /// Bytes from the node did not decode.
    #[error("cannot decode {what}: {reason}")]
    Decode { what: String, reason: String },

    /// A command-line or caller-supplied value is malformed.
    #[error("bad {arg} {value:?}: {reason}")]
    BadArgument {
        arg: String,
        value: String,
        reason: String,
    },

    /// A file operation failed. The I/O error is part of the message and
    /// deliberately not a `source`, so a printed chain (`{:#}`) says it once.
    #[error("{}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
}

impl ClientError {
    /// The chain's result code, when the chain refused a transaction.
    pub fn chain_code(&self) -> Option<u32> {
        match self {
            ClientError::CheckTxRefused { code, .. } | ClientError::BlockRefused { code, .. } => {
                Some(*code)
            }
            _ => None,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, error: std::io::Error) -> ClientError {
        ClientError::Io {
            path: path.into(),
            error,
        }
    }

    pub(crate) fn bad(arg: &str, value: &str, reason: impl ToString) -> ClientError {
        ClientError::BadArgument {
            arg: arg.to_string(),
            value: value.to_string(),
            reason: reason.to_string(),
        }
    }
}
