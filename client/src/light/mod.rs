//! A CometBFT light client: headers are believed only when validators
//! signed them, checked from a trust root by CometBFT's rules through
//! `tendermint-light-client-verifier` (the crate CometBFT's Rust light
//! client and IBC relayers use), so a proved query is checked against an app
//! hash the validators committed to, not one the node merely reports.
//!
//! - **Trust root**: a height and header hash the user got from somewhere
//!   they trust ([`LightOptions::root`], `--trust-height`/`--trust-hash`), or
//!   else, on first use, block 1 as the node reports it (trust on first use,
//!   as SSH does with host keys), kept in the store so later runs check
//!   against it. The root's commit must carry +2/3 of the power of the set
//!   its header names, and the header must hash to the given hash.
//! - **Forward** (a height above a trusted one): CometBFT's skipping
//!   verification. The target is accepted when +1/3 of the trusted block's
//!   next validators signed it ([`TrustThreshold::ONE_THIRD`]) and +2/3 of
//!   its own set did; otherwise the client bisects, verifying a block half
//!   way first. Adjacent blocks need +2/3 of the new set and the set the
//!   trusted header named as next.
//! - **Backward** (a height below every trusted one): each header must hash
//!   to the `last_block_id` of the verified header above it.
//! - **Trusting period**: a trusted block older than it (by its header time)
//!   is not used to skip forward; it must stay shorter than the time in which
//!   a validator set that has left could sign a conflicting chain unpunished.
//!
//! The store ([`LightOptions::store_dir`]) keeps, per chain id, the root and
//! the highest verified block, as JSON written atomically.

mod store;

use std::{collections::BTreeMap, path::PathBuf, time::Duration};

use tendermint::{
    block::{signed_header::SignedHeader, Header, Height},
    validator, Time,
};
use tendermint_light_client_verifier::{
    options::Options,
    types::{LightBlock, PeerId, TrustThreshold},
    ProdVerifier, Verdict, Verifier,
};
use tendermint_rpc::{Client as _, HttpClient, Paging};
use tokio::sync::Mutex;

use crate::guard;
pub use store::Trusted;

/// CometBFT's default trusting period for its light client (one week).
pub const DEFAULT_TRUSTING_PERIOD: Duration = Duration::from_secs(7 * 24 * 3600);
/// How far a header's time may be ahead of this machine's clock.
pub const DEFAULT_CLOCK_DRIFT: Duration = Duration::from_secs(10);
/// At most this many blocks are fetched to verify one height forward
/// (bisection needs about log2 of the distance per validator-set change).
pub const MAX_FORWARD_FETCHES: usize = 128;
/// At most this many headers are walked back from a trusted one.
pub const MAX_BACKWARD_STEPS: u64 = 10_000;

/// Where the `synod` CLI keeps its light-client store unless told:
/// `$SYNOD_LIGHT_DIR`, else `$HOME/.synod/light` (`None` without either).
pub fn default_store_dir() -> Option<PathBuf> {
    match std::env::var_os("SYNOD_LIGHT_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => Some(PathBuf::from(dir)),
        None => std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".synod").join("light")),
    }
}

/// The store file of `chain_id` under `dir`.
pub fn store_file(dir: &std::path::Path, chain_id: &str) -> PathBuf {
    store::path(dir, chain_id)
}

/// Forgets the trust root stored for `chain_id` under `dir`, for a tool
/// that has just started a new chain under that id (a local testnet).
/// Returns the file removed, if there was one.
pub fn forget_chain(dir: &std::path::Path, chain_id: &str) -> std::io::Result<Option<PathBuf>> {
    let file = store::path(dir, chain_id);
    match std::fs::remove_file(&file) {
        Ok(()) => Ok(Some(file)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// A header the user trusts: its height and hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrustRoot {
    pub height: u64,
    pub hash: [u8; 32],
}

/// How the light client is set up.
#[derive(Clone, Debug)]
pub struct LightOptions {
    /// The trust root; `None`: the stored one, or block 1 on first use.
    pub root: Option<TrustRoot>,
    /// Where verified blocks are kept between runs; `None`: in memory only.
    pub store_dir: Option<PathBuf>,
    pub trusting_period: Duration,
    pub clock_drift: Duration,
}

impl Default for LightOptions {
    fn default() -> Self {
        LightOptions {
            root: None,
            store_dir: None,
            trusting_period: DEFAULT_TRUSTING_PERIOD,
            clock_drift: DEFAULT_CLOCK_DRIFT,
        }
    }
}

/// Where the root of a verification came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RootSource {
    /// Given by the user (`--trust-height`/`--trust-hash`).
    Given,
    /// Taken from the node on this first use and stored.
    FirstUse,
    /// Read from the store (given or taken on an earlier run).
    Stored,
}

/// How the header a proof was checked against was obtained.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeaderCheck {
    /// Taken from the node as is (a client without a light client).
    Unchecked,
    /// Verified by the light client from a trust root.
    Verified {
        root_height: u64,
        root_hash: [u8; 32],
        source: RootSource,
    },
}

/// A header the light client verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedHeader {
    pub header: Header,
    pub check: HeaderCheck,
}

/// Why a header could not be verified.
#[derive(Debug, thiserror::Error)]
pub enum LightError {
    #[error("RPC call {call} at height {height} failed: {reason}")]
    Rpc {
        call: &'static str,
        height: u64,
        reason: String,
    },
    #[error("block {height} is refused: {reason}")]
    Refused { height: u64, reason: String },
    #[error("{0}")]
    Trust(String),
    #[error("light client store {}: {reason}", path.display())]
    Store { path: PathBuf, reason: String },
}

/// The light client of one chain; share it behind the [`crate::Client`].
#[derive(Debug)]
pub struct LightClient {
    opts: LightOptions,
    state: Mutex<Option<Trusted>>,
}

impl LightClient {
    pub fn new(opts: LightOptions) -> LightClient {
        LightClient {
            opts,
            state: Mutex::new(None),
        }
    }

    pub fn options(&self) -> &LightOptions {
        &self.opts
    }

    fn verifier_options(&self) -> Options {
        Options {
            trust_threshold: TrustThreshold::ONE_THIRD,
            trusting_period: self.opts.trusting_period,
            clock_drift: self.opts.clock_drift,
        }
    }

    /// Verifies the header of block `height` of `chain_id` (served by
    /// `rpc`) from the trust root, and remembers the highest verified block.
    pub async fn verify_height(
        &self,
        rpc: &HttpClient,
        chain_id: &str,
        height: u64,
    ) -> Result<VerifiedHeader, LightError> {
        let mut guard = self.state.lock().await;
        let (mut trusted, source) = match guard.take() {
            Some(t) if t.chain_id == chain_id && self.root_matches(&t) => (t, RootSource::Stored),
            _ => self.open(rpc, chain_id).await?,
        };
        let root = &trusted.root;
        let check = HeaderCheck::Verified {
            root_height: root.height().value(),
            root_hash: hash_bytes(&root.signed_header.header),
            source,
        };
        let result = self.verify_from(rpc, &trusted, height).await;
        if let Ok(Some(block)) = &result {
            if block.height() > trusted.latest.height() {
                trusted.latest = block.clone();
                if let Some(dir) = &self.opts.store_dir {
                    store::save(dir, &trusted)?;
                }
            }
        }
        *guard = Some(trusted.clone());
        let header = match result? {
            Some(block) => block.signed_header.header,
            None => self.walk_back(rpc, &trusted, height).await?,
        };
        Ok(VerifiedHeader { header, check })
    }

    /// Whether `block` is younger than the trusting period.
    fn fresh(&self, block: &LightBlock, now: Time) -> bool {
        (now - self.opts.trusting_period).is_ok_and(|oldest| block.time() > oldest)
    }

    fn root_matches(&self, t: &Trusted) -> bool {
        match &self.opts.root {
            None => true,
            Some(r) => {
                t.root.height().value() == r.height
                    && hash_bytes(&t.root.signed_header.header) == r.hash
            }
        }
    }

    /// The trusted blocks: from the store when its root is the one asked
    /// for, else a new root (the given one, or block 1 on first use).
    async fn open(
        &self,
        rpc: &HttpClient,
        chain_id: &str,
    ) -> Result<(Trusted, RootSource), LightError> {
        if let Some(dir) = &self.opts.store_dir {
            if let Some(t) = store::load(dir, chain_id)? {
                if self.root_matches(&t) {
                    self.check_stored(&t)?;
                    self.check_same_chain(rpc, &t, dir).await?;
                    return Ok((t, RootSource::Stored));
                }
            }
        }
        let (height, expected, source) = match self.opts.root {
            Some(r) => (r.height, Some(r.hash), RootSource::Given),
            None => (1, None, RootSource::FirstUse),
        };
        let mut block = fetch(rpc, height).await?;
        // On first use, a block 1 older than the trusting period (a chain
        // launched long ago) could not be skipped from: start at the
        // latest block instead.
        if expected.is_none() && !self.fresh(&block, Time::now()) {
            let latest = guard::rpc(rpc.latest_commit())
                .await
                .map_err(|e| LightError::Rpc {
                    call: "commit",
                    height: 0,
                    reason: e.detail().to_string(),
                })?;
            block = fetch(rpc, latest.signed_header.header.height.value()).await?;
        }
        self.check_root(&block, chain_id, expected)?;
        let trusted = Trusted {
            chain_id: chain_id.to_string(),
            root: block.clone(),
            latest: block,
        };
        if let Some(dir) = &self.opts.store_dir {
            store::save(dir, &trusted)?;
        }
        Ok((trusted, source))
    }

    /// A root: the header hashes to what the user gave, names the sets it
    /// comes with, and carries +2/3 of its set's power in valid signatures.
    fn check_root(
        &self,
        block: &LightBlock,
        chain_id: &str,
        expected: Option<[u8; 32]>,
    ) -> Result<(), LightError> {
        let height = block.height().value();
        let refused = |reason: String| LightError::Refused { height, reason };
        let header = &block.signed_header.header;
        if header.chain_id.as_str() != chain_id {
            return Err(refused(format!(
                "its header names chain {:?}, not {chain_id:?}",
                header.chain_id.as_str()
            )));
        }
        if let Some(expected) = expected {
            let got = hash_bytes(header);
            if got != expected {
                return Err(refused(format!(
                    "its header hashes to {}, not to the trusted hash {}",
                    hex::encode_upper(got),
                    hex::encode_upper(expected)
                )));
            }
        }
        let verifier = ProdVerifier::default();
        let untrusted = block.as_untrusted_state();
        verdict(height, verifier.verify_validator_sets(&untrusted))?;
        verdict(height, verifier.verify_commit(&untrusted))
    }

    /// A stored file is ours, but a file is outside input: its blocks must
    /// still be self-consistent.
    fn check_stored(&self, t: &Trusted) -> Result<(), LightError> {
        for b in [&t.root, &t.latest] {
            self.check_root(b, &t.chain_id, None)
                .map_err(|e| LightError::Trust(format!(
                    "the stored block {} does not check ({e}); delete the store file to start again",
                    b.height()
                )))?;
        }
        Ok(())
    }

    /// The node must serve the chain the store trusts: its header at the
    /// root's height must be the root. A testnet started again under the
    /// same chain id fails here, with what to do.
    async fn check_same_chain(
        &self,
        rpc: &HttpClient,
        t: &Trusted,
        dir: &std::path::Path,
    ) -> Result<(), LightError> {
        let h = t.root.height().value();
        let served = fetch_signed_header(rpc, h).await?.header;
        let (ours, theirs) = (
            hash_bytes(&t.root.signed_header.header),
            hash_bytes(&served),
        );
        if ours != theirs {
            return Err(LightError::Trust(format!(
                "the node's block {h} hashes to {}, but the trust root stored for chain {:?} is {}: \
                 the chain was started again under the same id (then delete {} to trust the new one) \
                 or the node serves another chain",
                hex::encode_upper(theirs),
                t.chain_id,
                hex::encode_upper(ours),
                store::path(dir, &t.chain_id).display()
            )));
        }
        Ok(())
    }

    /// Verifies `target` forward from the highest usable trusted block at or
    /// below it; `Ok(None)` when every trusted block is above `target`.
    async fn verify_from(
        &self,
        rpc: &HttpClient,
        trusted: &Trusted,
        target: u64,
    ) -> Result<Option<LightBlock>, LightError> {
        let now = Time::now();
        let fresh = |b: &LightBlock| self.fresh(b, now);
        let mut start = None;
        for b in [&trusted.latest, &trusted.root] {
            let h = b.height().value();
            if h == target {
                return Ok(Some(b.clone()));
            }
            if h < target && fresh(b) {
                start = Some(b.clone());
                break;
            }
        }
        let Some(mut from) = start else {
            if trusted.root.height().value() > target || trusted.latest.height().value() > target {
                return Ok(None);
            }
            return Err(LightError::Trust(format!(
                "every trusted block is older than the trusting period ({} s): pin a recent header with --trust-height and --trust-hash",
                self.opts.trusting_period.as_secs()
            )));
        };
        let verifier = ProdVerifier::default();
        let options = self.verifier_options();
        let mut fetched: BTreeMap<u64, LightBlock> = BTreeMap::new();
        let mut pivot = target;
        for _ in 0..MAX_FORWARD_FETCHES {
            let block = match fetched.get(&pivot) {
                Some(b) => b.clone(),
                None => {
                    let b = fetch(rpc, pivot).await?;
                    fetched.insert(pivot, b.clone());
                    b
                }
            };
            let v = verifier.verify_update_header(
                block.as_untrusted_state(),
                from.as_trusted_state(),
                &options,
                now,
            );
            match v {
                Verdict::Success => {
                    if pivot == target {
                        return Ok(Some(block));
                    }
                    from = block;
                    pivot = target;
                }
                Verdict::NotEnoughTrust(tally) => {
                    let low = from.height().value();
                    let mid = low + (pivot - low) / 2;
                    if mid == low {
                        return Err(LightError::Refused {
                            height: pivot,
                            reason: format!("not enough trust from block {low}: {tally}"),
                        });
                    }
                    pivot = mid;
                }
                Verdict::Invalid(detail) => {
                    return Err(LightError::Refused {
                        height: pivot,
                        reason: detail.to_string(),
                    })
                }
            }
        }
        Err(LightError::Trust(format!(
            "block {target} needed more than {MAX_FORWARD_FETCHES} verification steps"
        )))
    }

    /// A header below every trusted block: walked back by hashes from the
    /// lowest trusted block above it.
    async fn walk_back(
        &self,
        rpc: &HttpClient,
        trusted: &Trusted,
        target: u64,
    ) -> Result<Header, LightError> {
        let above = [&trusted.root, &trusted.latest]
            .into_iter()
            .filter(|b| b.height().value() > target)
            .min_by_key(|b| b.height())
            .ok_or_else(|| LightError::Trust(format!("no trusted block above {target}")))?;
        let top = above.height().value();
        if top - target > MAX_BACKWARD_STEPS {
            return Err(LightError::Trust(format!(
                "block {target} is {} blocks below the trusted block {top} (at most {MAX_BACKWARD_STEPS} are walked back): pin a lower header with --trust-height and --trust-hash",
                top - target
            )));
        }
        let mut next = above.signed_header.header.clone();
        for h in (target..top).rev() {
            let header = fetch_signed_header(rpc, h).await?.header;
            let linked = next.last_block_id.map(|id| id.hash) == Some(header.hash());
            if !linked || header.height.value() != h || header.chain_id != next.chain_id {
                return Err(LightError::Refused {
                    height: h,
                    reason: format!(
                        "its header is not the one block {} links to (last_block_id)",
                        h + 1
                    ),
                });
            }
            next = header;
        }
        Ok(next)
    }
}

fn verdict(height: u64, v: Verdict) -> Result<(), LightError> {
    match v {
        Verdict::Success => Ok(()),
        Verdict::NotEnoughTrust(tally) => Err(LightError::Refused {
            height,
            reason: format!("its commit lacks +2/3 of the power: {tally}"),
        }),
        Verdict::Invalid(detail) => Err(LightError::Refused {
            height,
            reason: detail.to_string(),
        }),
    }
}

/// The 32 bytes of a header's hash (CometBFT's Merkle hash of its fields).
pub fn hash_bytes(header: &Header) -> [u8; 32] {
    let mut out = [0u8; 32];
    let h = header.hash();
    let bytes = h.as_bytes();
    if bytes.len() == 32 {
        out.copy_from_slice(bytes);
    }
    out
}

fn rpc_height(call: &'static str, h: u64) -> Result<Height, LightError> {
    Height::try_from(h).map_err(|e| LightError::Rpc {
        call,
        height: h,
        reason: e.to_string(),
    })
}

async fn fetch_signed_header(rpc: &HttpClient, h: u64) -> Result<SignedHeader, LightError> {
    let height = rpc_height("commit", h)?;
    let commit = guard::rpc(rpc.commit(height))
        .await
        .map_err(|e| LightError::Rpc {
            call: "commit",
            height: h,
            reason: e.detail().to_string(),
        })?;
    if commit.signed_header.header.height != height {
        return Err(LightError::Refused {
            height: h,
            reason: format!(
                "the node answered with block {}",
                commit.signed_header.header.height
            ),
        });
    }
    Ok(commit.signed_header)
}

async fn validator_set(rpc: &HttpClient, h: u64) -> Result<validator::Set, LightError> {
    let height = rpc_height("validators", h)?;
    let r = guard::rpc(rpc.validators(height, Paging::All))
        .await
        .map_err(|e| LightError::Rpc {
            call: "validators",
            height: h,
            reason: e.detail().to_string(),
        })?;
    Ok(validator::Set::without_proposer(r.validators))
}

/// What the light client needs of block `h`: its signed header and the
/// validator sets of `h` and `h + 1`.
async fn fetch(rpc: &HttpClient, h: u64) -> Result<LightBlock, LightError> {
    let signed_header = fetch_signed_header(rpc, h).await?;
    let validators = validator_set(rpc, h).await?;
    let next_validators = validator_set(rpc, h + 1).await?;
    Ok(LightBlock::new(
        signed_header,
        validators,
        next_validators,
        PeerId::new([0; 20]),
    ))
}
