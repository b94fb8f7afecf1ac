//! [`Client`]'s run queries: one run and one verified execution (both
//! provable), and the runs still running.

use synod_protocol::{
    query::QueryPath,
    runs::{RunRecord, VerifiedWorkflow},
};

use crate::{client::Answer, Client, ClientError};

impl Client {
    /// Run `id` (`None` when there is none), proved when `prove`.
    pub async fn run(&self, id: u64, prove: bool) -> Result<Answer<RunRecord>, ClientError> {
        self.read(&QueryPath::Run(id), None, prove).await
    }

    /// Every run still running, in id order. Not proved (a computed list).
    pub async fn runs(&self) -> Result<Vec<RunRecord>, ClientError> {
        Ok(self
            .query_at(&QueryPath::Runs, None)
            .await?
            .unwrap_or_default())
    }

    /// The verified execution with this workflow hash (the paper's
    /// `verifiedWorkflows[hash]`), proved when `prove`.
    pub async fn verified(
        &self,
        workflow_hash: [u8; 32],
        prove: bool,
    ) -> Result<Answer<VerifiedWorkflow>, ClientError> {
        self.read(&QueryPath::Verified(workflow_hash), None, prove)
            .await
    }
}
