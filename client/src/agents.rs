//! [`Client`]'s agent queries: one agent (provable) and the list of all.

use synod_protocol::{agents::AgentRecord, query::QueryPath, Address};

use crate::{client::Answer, Client, ClientError};

impl Client {
    /// The agent at `address` (`None` when it is none), proved when `prove`.
    pub async fn agent(
        &self,
        address: Address,
        prove: bool,
    ) -> Result<Answer<AgentRecord>, ClientError> {
        self.read(&QueryPath::Agent(address), None, prove).await
    }

    /// Every registered agent (exiting ones included), in address order.
    /// Not proved (a computed list).
    pub async fn agents(&self) -> Result<Vec<AgentRecord>, ClientError> {
        Ok(self
            .query_at(&QueryPath::Agents, None)
            .await?
            .unwrap_or_default())
    }
}
