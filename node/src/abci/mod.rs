//! The ABCI edge of the node: an async socket client and CometBFT's four
//! connections to the app.

mod client;

pub use client::{request_name, AbciConnection, AbciError, MAX_RESPONSE_BYTES};

use std::time::Duration;

use tendermint_proto::v0_38::abci::{self as pb, request::Value as Req, response::Value as Rsp};
use tokio::sync::Mutex;

/// CometBFT's four ABCI connections, so a slow `CheckTx` or `Query` never
/// delays `FinalizeBlock`. Each connection carries one request at a time.
#[derive(Debug)]
pub struct AbciConnections {
    consensus: Mutex<AbciConnection>,
    mempool: Mutex<AbciConnection>,
    query: Mutex<AbciConnection>,
    snapshot: Mutex<AbciConnection>,
}

/// Which kind of CheckTx.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckTxKind {
    /// A transaction seen for the first time.
    New,
    /// A transaction re-validated after a block was committed.
    Recheck,
}

macro_rules! expect {
    ($conn:expr, $rsp:expr, $variant:ident) => {
        match $rsp {
            Rsp::$variant(r) => Ok(r),
            other => Err(AbciError::Unexpected {
                address: $conn.address().to_string(),
                request: stringify!($variant),
                got: format!("{other:?}").chars().take(200).collect(),
            }),
        }
    };
}

impl AbciConnections {
    /// Opens the four connections to the app at `address`.
    pub async fn connect(address: &str, timeout: Duration) -> Result<AbciConnections, AbciError> {
        Ok(AbciConnections {
            consensus: Mutex::new(AbciConnection::connect(address, timeout).await?),
            mempool: Mutex::new(AbciConnection::connect(address, timeout).await?),
            query: Mutex::new(AbciConnection::connect(address, timeout).await?),
            snapshot: Mutex::new(AbciConnection::connect(address, timeout).await?),
        })
    }

    /// `Info` (query connection): the app's last committed height and app hash.
    pub async fn info(&self) -> Result<pb::ResponseInfo, AbciError> {
        let mut c = self.query.lock().await;
        let r = c
            .call(Req::Info(pb::RequestInfo {
                version: "0.38.17".into(),
                block_version: 11,
                p2p_version: 8,
                abci_version: "2.0.0".into(),
            }))
            .await?;
        expect!(c, r, Info)
    }

    /// `Query` (query connection).
    pub async fn query(
        &self,
        path: &str,
        data: Vec<u8>,
        height: i64,
        prove: bool,
    ) -> Result<pb::ResponseQuery, AbciError> {
        let mut c = self.query.lock().await;
        let r = c
            .call(Req::Query(pb::RequestQuery {
                data: data.into(),
                path: path.into(),
                height,
                prove,
            }))
            .await?;
        expect!(c, r, Query)
    }

    /// `CheckTx` (mempool connection).
    pub async fn check_tx(
        &self,
        tx: &[u8],
        kind: CheckTxKind,
    ) -> Result<pb::ResponseCheckTx, AbciError> {
        let r#type = match kind {
            CheckTxKind::New => pb::CheckTxType::New,
            CheckTxKind::Recheck => pb::CheckTxType::Recheck,
        } as i32;
        let mut c = self.mempool.lock().await;
        let r = c
            .call(Req::CheckTx(pb::RequestCheckTx {
                tx: tx.to_vec().into(),
                r#type,
            }))
            .await?;
        expect!(c, r, CheckTx)
    }

    /// `InitChain` (consensus connection).
    pub async fn init_chain(
        &self,
        req: pb::RequestInitChain,
    ) -> Result<pb::ResponseInitChain, AbciError> {
        let mut c = self.consensus.lock().await;
        let r = c.call(Req::InitChain(req)).await?;
        expect!(c, r, InitChain)
    }

    /// `PrepareProposal` (consensus connection).
    pub async fn prepare_proposal(
        &self,
        req: pb::RequestPrepareProposal,
    ) -> Result<pb::ResponsePrepareProposal, AbciError> {
        let mut c = self.consensus.lock().await;
        let r = c.call(Req::PrepareProposal(req)).await?;
        expect!(c, r, PrepareProposal)
    }

    /// `ProcessProposal` (consensus connection): `true` if the app accepts.
    pub async fn process_proposal(
        &self,
        req: pb::RequestProcessProposal,
    ) -> Result<bool, AbciError> {
        let mut c = self.consensus.lock().await;
        let r = c.call(Req::ProcessProposal(req)).await?;
        let r = expect!(c, r, ProcessProposal)?;
        Ok(r.status == pb::response_process_proposal::ProposalStatus::Accept as i32)
    }

    /// `FinalizeBlock` (consensus connection).
    pub async fn finalize_block(
        &self,
        req: pb::RequestFinalizeBlock,
    ) -> Result<pb::ResponseFinalizeBlock, AbciError> {
        let mut c = self.consensus.lock().await;
        let r = c.call(Req::FinalizeBlock(req)).await?;
        expect!(c, r, FinalizeBlock)
    }

    /// `Commit` (consensus connection): returns the app's retain height.
    pub async fn commit(&self) -> Result<i64, AbciError> {
        let mut c = self.consensus.lock().await;
        let r = c.call(Req::Commit(pb::RequestCommit {})).await?;
        Ok(expect!(c, r, Commit)?.retain_height)
    }

    /// `ListSnapshots` (snapshot connection).
    pub async fn list_snapshots(&self) -> Result<pb::ResponseListSnapshots, AbciError> {
        let mut c = self.snapshot.lock().await;
        let r = c
            .call(Req::ListSnapshots(pb::RequestListSnapshots {}))
            .await?;
        expect!(c, r, ListSnapshots)
    }
}
