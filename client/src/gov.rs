//! [`Client`]'s governance queries: proposals, their tally, votes and
//! deposits, registered workflows and the community treasury. Each is one
//! query path of [`QueryPath`]; the single records (a proposal, a workflow,
//! the treasury) can be proved, the computed lists cannot.

use synod_protocol::{
    governance::{
        DepositRecord, Proposal, ProposalId, ProposalStatus, ProposalSummary, Tally, VoteRecord,
        WorkflowRecord,
    },
    query::QueryPath,
    Amount,
};

use crate::{client::Answer, Client, ClientError};

impl Client {
    /// Proposal `id` (`None` when there is none), proved when `prove`.
    pub async fn proposal(
        &self,
        id: ProposalId,
        prove: bool,
    ) -> Result<Answer<Proposal>, ClientError> {
        self.read(&QueryPath::Proposal(id), None, prove).await
    }

    /// Every proposal, or those with `status`, in id order, without their
    /// payloads ([`Client::proposal`] has them). Not proved (a computed list).
    pub async fn proposals(
        &self,
        status: Option<ProposalStatus>,
    ) -> Result<Vec<ProposalSummary>, ClientError> {
        Ok(self
            .query_at(&QueryPath::Proposals(status), None)
            .await?
            .unwrap_or_default())
    }

    /// The votes on proposal `id` so far, each weighted by the voter's bonded
    /// stake now (`None` when the chain has no tally for it). Not proved
    /// (computed).
    pub async fn tally(&self, id: ProposalId) -> Result<Option<Tally>, ClientError> {
        self.query_at(&QueryPath::Tally(id), None).await
    }

    /// The current vote of every voter on proposal `id`, in voter order. Not proved.
    pub async fn votes(&self, id: ProposalId) -> Result<Vec<VoteRecord>, ClientError> {
        Ok(self
            .query_at(&QueryPath::Votes(id), None)
            .await?
            .unwrap_or_default())
    }

    /// Every depositor's total deposit on proposal `id`, in depositor order. Not proved.
    pub async fn deposits(&self, id: ProposalId) -> Result<Vec<DepositRecord>, ClientError> {
        Ok(self
            .query_at(&QueryPath::Deposits(id), None)
            .await?
            .unwrap_or_default())
    }

    /// The workflow registered as `name` (`None` when there is none), proved
    /// when `prove`.
    pub async fn workflow(
        &self,
        name: &str,
        prove: bool,
    ) -> Result<Answer<WorkflowRecord>, ClientError> {
        self.read(&QueryPath::Workflow(name.to_string()), None, prove)
            .await
    }

    /// Every registered workflow, in name order. Not proved (a computed list).
    pub async fn workflows(&self) -> Result<Vec<WorkflowRecord>, ClientError> {
        Ok(self
            .query_at(&QueryPath::Workflows, None)
            .await?
            .unwrap_or_default())
    }

    /// The community treasury balance, proved when `prove`. `None` means the
    /// chain holds no treasury record: a balance of zero.
    pub async fn treasury(&self, prove: bool) -> Result<Answer<Amount>, ClientError> {
        self.read(&QueryPath::Treasury, None, prove).await
    }
}
