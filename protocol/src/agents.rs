//! Agents: the executors and verifiers of workflow steps, registered on
//! chain with a bond of their own.
//!
//! An agent's chain address is its ed25519 key's address, and its libp2p
//! `PeerId` derives from the same key, so no other id is stored. Agent
//! bonds are a ledger apart from validator self-bonds: an address may be
//! both a validator and an agent, and the two stakes never mix.

use serde::{Deserialize, Serialize};

use crate::{address::Address, amount::Amount, height::Height};

/// A registered agent, keyed by its address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentRecord {
    pub address: Address,
    /// The models it serves (model ids, ascending, no repeats).
    pub models: Vec<[u8; 32]>,
    /// Its bond: what a fraud or a missed step can cost it.
    pub bond: Amount,
    /// Free text it publishes (an endpoint, a contact), printable.
    pub metadata: String,
    pub status: AgentStatus,
    pub registered_height: Height,
    pub updated_height: Height,
}

impl AgentRecord {
    /// Whether the agent may take new work (it has not asked to exit).
    pub fn is_active(&self) -> bool {
        self.status == AgentStatus::Active
    }

    /// Whether it serves `model`.
    pub fn serves(&self, model: &[u8; 32]) -> bool {
        self.models.binary_search(model).is_ok()
    }
}

/// Where an agent stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AgentStatus {
    /// Takes work.
    Active,
    /// Asked to exit at `since`; takes no new work, and its bond returns to
    /// its account at `release_height`.
    Exiting {
        since: Height,
        release_height: Height,
    },
}

/// Why an agent's model list or metadata is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AgentFieldError {
    #[error("an agent serves at least one model")]
    NoModels,
    #[error("{count} models listed; at most {max} (params.agents.max_models)")]
    TooManyModels { count: usize, max: u32 },
    #[error("model {} is listed twice", hex::encode(.0))]
    RepeatedModel([u8; 32]),
    #[error("metadata is {len} bytes; at most {max} (params.agents.max_metadata_bytes)")]
    MetadataTooLong { len: usize, max: u32 },
    #[error("metadata contains control characters")]
    MetadataControlCharacters,
}

/// The models of a `RegisterAgent` or `UpdateAgent`, sorted: at least one,
/// at most `max`, none twice.
pub fn sorted_models(models: &[[u8; 32]], max: u32) -> Result<Vec<[u8; 32]>, AgentFieldError> {
    if models.is_empty() {
        return Err(AgentFieldError::NoModels);
    }
    if models.len() > max as usize {
        return Err(AgentFieldError::TooManyModels {
            count: models.len(),
            max,
        });
    }
    let mut sorted = models.to_vec();
    sorted.sort_unstable();
    if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
        return Err(AgentFieldError::RepeatedModel(w[0]));
    }
    Ok(sorted)
}

/// An agent's metadata: at most `max` bytes, no control characters.
pub fn check_metadata(metadata: &str, max: u32) -> Result<(), AgentFieldError> {
    if metadata.len() > max as usize {
        return Err(AgentFieldError::MetadataTooLong {
            len: metadata.len(),
            max,
        });
    }
    if metadata.chars().any(char::is_control) {
        return Err(AgentFieldError::MetadataControlCharacters);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_lists_are_sorted_and_refused_when_empty_long_or_repeated() {
        assert_eq!(
            sorted_models(&[[2; 32], [1; 32]], 4),
            Ok(vec![[1; 32], [2; 32]])
        );
        assert_eq!(sorted_models(&[], 4), Err(AgentFieldError::NoModels));
        assert_eq!(
            sorted_models(&[[1; 32], [2; 32], [3; 32]], 2),
            Err(AgentFieldError::TooManyModels { count: 3, max: 2 })
        );
        assert_eq!(
            sorted_models(&[[1; 32], [2; 32], [1; 32]], 4),
            Err(AgentFieldError::RepeatedModel([1; 32]))
        );
    }

    #[test]
    fn metadata_is_short_and_printable() {
        assert_eq!(check_metadata("", 8), Ok(()));
        assert_eq!(check_metadata("tcp://x", 8), Ok(()));
        assert_eq!(
            check_metadata("123456789", 8),
            Err(AgentFieldError::MetadataTooLong { len: 9, max: 8 })
        );
        assert_eq!(
            check_metadata("a\u{7}", 8),
            Err(AgentFieldError::MetadataControlCharacters)
        );
    }
}
