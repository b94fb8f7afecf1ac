//! A small blocking ABCI socket client speaking the CometBFT 0.38 wire
//! protocol (varint length-prefixed protobuf), used by the demo, the
//! benchmarks and the tests to drive `synod-app` exactly as CometBFT does.

use std::io::{BufReader, BufWriter, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use prost::Message;
use tendermint_proto::google::protobuf::Timestamp;
use tendermint_proto::v0_38::abci::{
    self as pb, request::Value as Req, response::Value as Rsp, Request, Response,
};

/// Why an ABCI exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to the ABCI server at {address}: {source}")]
    Connect {
        address: String,
        source: std::io::Error,
    },
    #[error("ABCI connection failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("malformed ABCI response: {0}")]
    Decode(#[from] prost::DecodeError),
    #[error("the app answered with an exception: {0}")]
    Exception(String),
    #[error("unexpected ABCI response: {0}")]
    Unexpected(String),
}

trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

/// One ABCI connection.
pub struct AbciClient {
    reader: BufReader<Box<dyn Stream>>,
    writer: BufWriter<Box<dyn Stream>>,
}

impl AbciClient {
    /// Connects to `tcp://HOST:PORT` (or `HOST:PORT`) or `unix://PATH`, with
    /// `timeout` for every read and write.
    pub fn connect(address: &str, timeout: Duration) -> Result<AbciClient, ClientError> {
        let err = |source| ClientError::Connect {
            address: address.to_string(),
            source,
        };
        let (r, w): (Box<dyn Stream>, Box<dyn Stream>) =
            if let Some(path) = address.strip_prefix("unix://") {
                let s = UnixStream::connect(path).map_err(err)?;
                s.set_read_timeout(Some(timeout)).map_err(err)?;
                s.set_write_timeout(Some(timeout)).map_err(err)?;
                (Box::new(s.try_clone().map_err(err)?), Box::new(s))
            } else {
                let addr = address.strip_prefix("tcp://").unwrap_or(address);
                let s = TcpStream::connect(addr).map_err(err)?;
                s.set_read_timeout(Some(timeout)).map_err(err)?;
                s.set_write_timeout(Some(timeout)).map_err(err)?;
                s.set_nodelay(true).map_err(err)?;
                (Box::new(s.try_clone().map_err(err)?), Box::new(s))
            };
        Ok(AbciClient {
            reader: BufReader::new(r),
            writer: BufWriter::new(w),
        })
    }

    fn send(&mut self, value: Req) -> Result<(), ClientError> {
        let msg = Request { value: Some(value) };
        self.writer.write_all(&synod_abci_wire::encode(&msg))?;
        Ok(())
    }

    fn receive(&mut self) -> Result<Rsp, ClientError> {
        // Varint length, then the message.
        let mut prefix = synod_abci_wire::LengthPrefix::new(256 * 1024 * 1024);
        let len = loop {
            let mut b = [0u8; 1];
            self.reader.read_exact(&mut b)?;
            match prefix.push(b[0]) {
                Ok(Some(len)) => break len,
                Ok(None) => {}
                Err(e) => return Err(ClientError::Unexpected(e.to_string())),
            }
        };
        let mut buf = vec![0u8; len];
        self.reader.read_exact(&mut buf)?;
        let rsp = Response::decode(buf.as_slice())?;
        match rsp.value {
            Some(Rsp::Exception(e)) => Err(ClientError::Exception(e.error)),
            Some(v) => Ok(v),
            None => Err(ClientError::Unexpected("empty response".into())),
        }
    }

    /// Sends one request and returns its response.
    ///
    /// No ABCI `Flush` follows each request: servers answer every request as
    /// soon as it is done, and a separate small Flush answer would sit in the
    /// server's Nagle buffer until our delayed ACK (~40 ms per call over TCP).
    pub fn call(&mut self, value: Req) -> Result<Rsp, ClientError> {
        self.send(value)?;
        self.writer.flush()?;
        self.receive()
    }

    /// `Flush`: waits until the server has answered everything sent before.
    pub fn flush(&mut self) -> Result<(), ClientError> {
        match self.call(Req::Flush(pb::RequestFlush {}))? {
            Rsp::Flush(_) => Ok(()),
            other => Err(unexpected("Flush", other)),
        }
    }

    /// `Info`.
    pub fn info(&mut self) -> Result<pb::ResponseInfo, ClientError> {
        match self.call(Req::Info(pb::RequestInfo {
            version: "0.38.0".into(),
            block_version: 11,
            p2p_version: 8,
            abci_version: "2.0.0".into(),
        }))? {
            Rsp::Info(r) => Ok(r),
            other => Err(unexpected("Info", other)),
        }
    }

    /// `InitChain` with a genesis `app_state`.
    pub fn init_chain(
        &mut self,
        chain_id: &str,
        app_state: &[u8],
        initial_height: i64,
    ) -> Result<pb::ResponseInitChain, ClientError> {
        match self.call(Req::InitChain(pb::RequestInitChain {
            time: Some(Timestamp {
                seconds: 1_700_000_000,
                nanos: 0,
            }),
            chain_id: chain_id.into(),
            consensus_params: Some(default_consensus_params()),
            validators: vec![],
            app_state_bytes: app_state.to_vec().into(),
            initial_height,
        }))? {
            Rsp::InitChain(r) => Ok(r),
            other => Err(unexpected("InitChain", other)),
        }
    }

    /// `CheckTx` (new).
    pub fn check_tx(&mut self, tx: &[u8]) -> Result<pb::ResponseCheckTx, ClientError> {
        match self.call(Req::CheckTx(pb::RequestCheckTx {
            tx: tx.to_vec().into(),
            r#type: 0,
        }))? {
            Rsp::CheckTx(r) => Ok(r),
            other => Err(unexpected("CheckTx", other)),
        }
    }

    /// `PrepareProposal`.
    pub fn prepare_proposal(
        &mut self,
        height: i64,
        txs: &[Vec<u8>],
        max_tx_bytes: i64,
    ) -> Result<Vec<Vec<u8>>, ClientError> {
        match self.call(Req::PrepareProposal(pb::RequestPrepareProposal {
            max_tx_bytes,
            txs: txs.iter().map(|t| t.clone().into()).collect(),
            local_last_commit: None,
            misbehavior: vec![],
            height,
            time: Some(block_time(height)),
            next_validators_hash: vec![0u8; 32].into(),
            proposer_address: vec![0u8; 20].into(),
        }))? {
            Rsp::PrepareProposal(r) => Ok(r.txs.into_iter().map(|t| t.to_vec()).collect()),
            other => Err(unexpected("PrepareProposal", other)),
        }
    }

    /// `ProcessProposal`: `true` if accepted.
    pub fn process_proposal(&mut self, height: i64, txs: &[Vec<u8>]) -> Result<bool, ClientError> {
        match self.call(Req::ProcessProposal(pb::RequestProcessProposal {
            txs: txs.iter().map(|t| t.clone().into()).collect(),
            proposed_last_commit: None,
            misbehavior: vec![],
            hash: vec![0u8; 32].into(),
            height,
            time: Some(block_time(height)),
            next_validators_hash: vec![0u8; 32].into(),
            proposer_address: vec![0u8; 20].into(),
        }))? {
            Rsp::ProcessProposal(r) => {
                Ok(r.status == pb::response_process_proposal::ProposalStatus::Accept as i32)
            }
            other => Err(unexpected("ProcessProposal", other)),
        }
    }

    /// `FinalizeBlock`. `votes` is the last commit (who signed, with what
    /// power); `evidence` are (consensus address, infraction height)
    /// duplicate votes.
    pub fn finalize_block(
        &mut self,
        height: i64,
        txs: &[Vec<u8>],
        proposer: [u8; 20],
        votes: &[crate::component::VoteInfo],
        evidence: &[([u8; 20], i64)],
    ) -> Result<pb::ResponseFinalizeBlock, ClientError> {
        let hash = {
            use sha2::{Digest, Sha256};
            Sha256::digest(height.to_be_bytes()).to_vec()
        };
        match self.call(Req::FinalizeBlock(pb::RequestFinalizeBlock {
            txs: txs.iter().map(|t| t.clone().into()).collect(),
            decided_last_commit: Some(pb::CommitInfo {
                round: 0,
                votes: votes
                    .iter()
                    .map(|v| pb::VoteInfo {
                        validator: Some(pb::Validator {
                            address: v.consensus_address.to_vec().into(),
                            power: i64::try_from(v.power).unwrap_or(i64::MAX),
                        }),
                        block_id_flag: if v.signed { 2 } else { 1 },
                    })
                    .collect(),
            }),
            misbehavior: evidence
                .iter()
                .map(|(a, h)| pb::Misbehavior {
                    r#type: pb::MisbehaviorType::DuplicateVote as i32,
                    validator: Some(pb::Validator {
                        address: a.to_vec().into(),
                        power: 1,
                    }),
                    height: *h,
                    time: Some(block_time(*h)),
                    total_voting_power: 1,
                })
                .collect(),
            hash: hash.into(),
            height,
            time: Some(block_time(height)),
            next_validators_hash: vec![0u8; 32].into(),
            proposer_address: proposer.to_vec().into(),
        }))? {
            Rsp::FinalizeBlock(r) => Ok(r),
            other => Err(unexpected("FinalizeBlock", other)),
        }
    }

    /// `Commit`.
    pub fn commit(&mut self) -> Result<pb::ResponseCommit, ClientError> {
        match self.call(Req::Commit(pb::RequestCommit {}))? {
            Rsp::Commit(r) => Ok(r),
            other => Err(unexpected("Commit", other)),
        }
    }

    /// `Query`.
    pub fn query(
        &mut self,
        path: &str,
        height: i64,
        prove: bool,
    ) -> Result<pb::ResponseQuery, ClientError> {
        match self.call(Req::Query(pb::RequestQuery {
            data: Default::default(),
            path: path.into(),
            height,
            prove,
        }))? {
            Rsp::Query(r) => Ok(r),
            other => Err(unexpected("Query", other)),
        }
    }
}

/// CometBFT 0.38's default consensus parameters (what a fresh genesis carries).
pub fn default_consensus_params() -> tendermint_proto::v0_38::types::ConsensusParams {
    use tendermint_proto::v0_38::types as t;
    t::ConsensusParams {
        block: Some(t::BlockParams {
            max_bytes: 22_020_096,
            max_gas: -1,
        }),
        evidence: Some(t::EvidenceParams {
            max_age_num_blocks: 100_000,
            max_age_duration: Some(tendermint_proto::google::protobuf::Duration {
                seconds: 172_800,
                nanos: 0,
            }),
            max_bytes: 1_048_576,
        }),
        validator: Some(t::ValidatorParams {
            pub_key_types: vec!["ed25519".into()],
        }),
        version: Some(t::VersionParams { app: 0 }),
        abci: Some(t::AbciParams {
            vote_extensions_enable_height: 0,
        }),
    }
}

/// A deterministic header time for a height (one block per second).
pub fn block_time(height: i64) -> Timestamp {
    Timestamp {
        seconds: 1_700_000_000 + height,
        nanos: 0,
    }
}

fn unexpected(what: &str, got: Rsp) -> ClientError {
    ClientError::Unexpected(format!("expected {what}, got {got:?}"))
}
