//! Executing decided blocks on the app, and the restart handshake.
//!
//! Order for each decided block (what makes restarts safe): save the block
//! and its certificate, `FinalizeBlock`, save the results, `Commit`. After a
//! crash anywhere in between, [`handshake`] finds the app one block behind
//! the store (or level with it) and replays what is missing, checking every
//! replayed app hash against the results saved before the crash.

use tendermint_proto::v0_38::abci as pb;

use crate::{
    abci::{AbciConnections, AbciError},
    block::DecidedBlock,
    context::BlockId,
    store::{BlockStore, StoreError},
};

/// Why the node cannot bring the app to the store's height.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error(transparent)]
    Abci(#[from] AbciError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the app is at height {app} but the block store only reaches {store}: the app's home belongs to another chain or a newer node; use the matching block store")]
    AppAhead { app: u64, store: u64 },
    #[error("replaying block {height} gave app hash {got} but {stored} was recorded before: the app is not deterministic, or its state differs")]
    AppHashMismatch {
        height: u64,
        stored: String,
        got: String,
    },
    #[error("block {height} is missing from the block store")]
    MissingBlock { height: u64 },
    #[error("stored block {height} has no CometBFT header: {source}")]
    Header {
        height: u64,
        source: crate::header::HeaderError,
    },
}

/// What the handshake did.
#[derive(Clone, Debug, PartialEq)]
pub struct HandshakeOutcome {
    /// The app's height before the handshake.
    pub app_height: u64,
    /// The app's protocol version (`Info.app_version`).
    pub app_version: u64,
    /// Whether InitChain ran.
    pub initialized: bool,
    /// Blocks replayed.
    pub replayed: u64,
    /// The app's height and app hash after it (= the store's height).
    pub height: u64,
    pub app_hash: Vec<u8>,
    /// The validator set the app chose in InitChain (empty: none ran, or the
    /// app accepted genesis' validators).
    pub init_validators: Vec<pb::ValidatorUpdate>,
}

/// Executes a decided block whose id is `id`: saves it, runs
/// `FinalizeBlock`, saves the results, runs `Commit`. Returns the app's answer.
pub async fn apply_decided_block(
    abci: &AbciConnections,
    store: &BlockStore,
    block: &DecidedBlock,
    id: &BlockId,
    certificate: &[u8],
) -> Result<pb::ResponseFinalizeBlock, ChainError> {
    crate::failpoint::hit("before_save_block");
    store.save_block(block, id, certificate)?;
    crate::failpoint::hit("after_save_block");
    execute_stored(abci, store, block, id.hash, None).await
}

/// FinalizeBlock, check the app hash against `recorded` (results saved before
/// a crash), save the results, Commit. A mismatch leaves the store untouched.
async fn execute_stored(
    abci: &AbciConnections,
    store: &BlockStore,
    block: &DecidedBlock,
    hash: [u8; 32],
    recorded: Option<&pb::ResponseFinalizeBlock>,
) -> Result<pb::ResponseFinalizeBlock, ChainError> {
    let results = abci.finalize_block(block.finalize_request(hash)).await?;
    crate::failpoint::hit("after_finalize_block");
    if let Some(recorded) = recorded {
        if recorded.app_hash != results.app_hash {
            return Err(ChainError::AppHashMismatch {
                height: block.height,
                stored: hex::encode(&recorded.app_hash),
                got: hex::encode(&results.app_hash),
            });
        }
    }
    store.save_results(block.height, &results)?;
    crate::failpoint::hit("after_save_results");
    abci.commit().await?;
    crate::failpoint::hit("after_app_commit");
    Ok(results)
}

/// CometBFT's handshake: asks the app where it is (`Info`), runs `InitChain`
/// (built by `init_chain` from genesis) on an empty app, and replays every
/// stored block the app has not committed.
pub async fn handshake(
    abci: &AbciConnections,
    store: &BlockStore,
    init_chain: impl FnOnce() -> pb::RequestInitChain,
) -> Result<HandshakeOutcome, ChainError> {
    let info = abci.info().await?;
    let app_height = u64::try_from(info.last_block_height).unwrap_or(0);
    let store_height = store.height()?;
    if app_height > store_height {
        return Err(ChainError::AppAhead {
            app: app_height,
            store: store_height,
        });
    }
    let mut app_hash = info.last_block_app_hash.to_vec();
    let mut initialized = false;
    let mut init_validators = Vec::new();
    let mut next = app_height + 1;
    if app_height == 0 {
        let req = init_chain();
        let initial_height = u64::try_from(req.initial_height).unwrap_or(1).max(1);
        let r = abci.init_chain(req).await?;
        app_hash = r.app_hash.to_vec();
        init_validators = r.validators;
        initialized = true;
        next = initial_height;
        tracing::info!(app_hash = %hex::encode(&app_hash), "InitChain done");
    }
    let mut replayed = 0;
    for height in next..=store_height {
        let block = store
            .block(height)?
            .ok_or(ChainError::MissingBlock { height })?;
        let recorded = store.results(height)?;
        let hash = match store.block_id(height)? {
            Some(id) => id.hash,
            None => {
                block
                    .id()
                    .map_err(|source| ChainError::Header { height, source })?
                    .hash
            }
        };
        let results = execute_stored(abci, store, &block, hash, recorded.as_ref()).await?;
        app_hash = results.app_hash.to_vec();
        replayed += 1;
    }
    if replayed > 0 {
        tracing::info!(
            from = next,
            to = store_height,
            "replayed stored blocks into the app"
        );
    }
    Ok(HandshakeOutcome {
        app_height,
        app_version: info.app_version,
        initialized,
        replayed,
        height: store_height.max(app_height),
        app_hash,
        init_validators,
    })
}
