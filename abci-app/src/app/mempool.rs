//! CheckTx's view of the chain: committed state plus every transaction
//! accepted since the last commit.

use synod_protocol::Height;

use super::App;
use crate::{
    accounts,
    component::Components,
    error::{AppError, TxError},
    execute::{self, TxOutcome},
    state::State,
};

/// The mempool's view: committed state plus every transaction accepted by
/// CheckTx since the last commit (so nonces and balances chain correctly).
pub struct Mempool {
    state: State,
    chain_id: Option<String>,
    max_block_gas: Option<u64>,
    height: Height,
    verified: SignatureCache,
    components: Components,
}

/// Hashes of txs (all their bytes, signature included) whose signature
/// verified, so the recheck after every block skips ed25519 for the same
/// bytes. Bounded, oldest out first. Only CheckTx uses it, never a block.
#[derive(Default)]
struct SignatureCache {
    set: std::collections::BTreeSet<[u8; 32]>,
    order: std::collections::VecDeque<[u8; 32]>,
}

impl SignatureCache {
    const CAPACITY: usize = 1 << 16;

    fn contains(&self, h: &[u8; 32]) -> bool {
        self.set.contains(h)
    }

    fn insert(&mut self, h: [u8; 32]) {
        if self.set.insert(h) {
            self.order.push_back(h);
            if self.order.len() > Self::CAPACITY {
                if let Some(old) = self.order.pop_front() {
                    self.set.remove(&old);
                }
            }
        }
    }
}

impl Mempool {
    /// A mempool view over the last committed state.
    pub fn new(app: &App) -> Mempool {
        Mempool {
            state: State::new(app.storage.clone()),
            chain_id: app.chain_id.clone(),
            max_block_gas: app.max_block_gas,
            height: Height(app.info().map_or(1, |(h, _)| h + 1)),
            verified: SignatureCache::default(),
            components: app.components.clone(),
        }
    }

    /// A view over the new committed state, keeping what is known about
    /// signatures (for the recheck that follows a commit).
    pub fn reset(&mut self, app: &App) {
        let verified = std::mem::take(&mut self.verified);
        *self = Mempool::new(app);
        self.verified = verified;
    }

    /// CheckTx (new or recheck): the full pipeline against the mempool view.
    pub fn check(&mut self, bytes: &[u8]) -> Result<TxOutcome, AppError> {
        Ok(self.check_classified(bytes)?.0)
    }

    /// [`Mempool::check`], and whether a refusal is permanent: the bytes
    /// alone make the tx invalid (stateless checks, signature), so no later
    /// state can accept it ([`synod_abci_wire::PERMANENT_REJECTION`]).
    pub fn check_classified(&mut self, bytes: &[u8]) -> Result<(TxOutcome, bool), AppError> {
        let Some(chain_id) = self.chain_id.as_deref() else {
            return Err(AppError::NotInitialized);
        };
        let params = accounts::params(&self.state)?;
        let tx = match execute::decode_tx(bytes, &params, chain_id, &self.components) {
            Ok(tx) => tx,
            Err(e) => {
                let outcome = TxOutcome::rejected(e, 0);
                return Ok((outcome, true));
            }
        };
        // A tx no block may hold never will: refused for its bytes alone.
        let gas = crate::gas::tx_gas(&self.state, &self.components, &tx, bytes.len())?;
        if let Some(max) = self.max_block_gas.filter(|max| gas > *max) {
            let outcome = TxOutcome::rejected(TxError::GasOverBlockLimit { gas, max }, gas);
            return Ok((outcome, true));
        }
        use sha2::Digest;
        let hash: [u8; 32] = sha2::Sha256::digest(bytes).into();
        let known = self.verified.contains(&hash);
        let outcome = execute::simulate_tx(
            &mut self.state,
            &self.components,
            &tx,
            bytes.len(),
            self.height,
            known.then_some(true),
        )?;
        let bad_signature = matches!(outcome.result, Err(TxError::BadSignature { .. }));
        if !known && !bad_signature {
            self.verified.insert(hash);
        }
        Ok((outcome, bad_signature))
    }
}
