//! One ABCI socket connection: CometBFT 0.38 framing (each message a
//! protobuf `Request`/`Response` prefixed by its length as an unsigned
//! varint, written and read with `synod-abci-wire`), over TCP or a Unix
//! socket, one request in flight at a time.

use std::time::Duration;

use prost::Message;
use synod_abci_wire::FrameError;
use tendermint_proto::v0_38::abci::{
    request::Value as Req, response::Value as Rsp, Request, Response,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};

/// The largest response accepted (a FinalizeBlock answer for a huge block fits).
pub const MAX_RESPONSE_BYTES: u64 = 256 * 1024 * 1024;

/// Why an ABCI exchange failed. Any of these on the consensus connection
/// means the node must stop: the app's state is no longer known.
#[derive(Debug, thiserror::Error)]
pub enum AbciError {
    #[error("cannot connect to the ABCI app at {address}: {source}")]
    Connect {
        address: String,
        source: std::io::Error,
    },
    #[error("ABCI connection to {address} failed during {request}: {source}")]
    Io {
        address: String,
        request: &'static str,
        source: std::io::Error,
    },
    #[error("the ABCI app at {address} did not answer {request} within {timeout:?}")]
    Timeout {
        address: String,
        request: &'static str,
        timeout: Duration,
    },
    #[error("malformed ABCI response to {request} from {address}: {reason}")]
    Malformed {
        address: String,
        request: &'static str,
        reason: String,
    },
    #[error("the ABCI app at {address} answered {request} with an exception: {error}")]
    Exception {
        address: String,
        request: &'static str,
        error: String,
    },
    #[error("the ABCI app at {address} answered {request} with {got}")]
    Unexpected {
        address: String,
        request: &'static str,
        got: String,
    },
}

trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}

/// A connection to an ABCI app.
pub struct AbciConnection {
    address: String,
    timeout: Duration,
    reader: BufReader<tokio::io::ReadHalf<Box<dyn Stream>>>,
    writer: BufWriter<tokio::io::WriteHalf<Box<dyn Stream>>>,
    /// An exchange failed part way (a timeout, a dropped or undecodable
    /// answer): the stream may hold the rest of an old answer, so the next
    /// call opens a fresh connection instead of reading it as its own.
    broken: bool,
}

impl std::fmt::Debug for AbciConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AbciConnection")
            .field("address", &self.address)
            .finish()
    }
}

/// The name of a request, for errors and logs.
pub fn request_name(req: &Req) -> &'static str {
    match req {
        Req::Echo(_) => "Echo",
        Req::Flush(_) => "Flush",
        Req::Info(_) => "Info",
        Req::InitChain(_) => "InitChain",
        Req::Query(_) => "Query",
        Req::CheckTx(_) => "CheckTx",
        Req::Commit(_) => "Commit",
        Req::ListSnapshots(_) => "ListSnapshots",
        Req::OfferSnapshot(_) => "OfferSnapshot",
        Req::LoadSnapshotChunk(_) => "LoadSnapshotChunk",
        Req::ApplySnapshotChunk(_) => "ApplySnapshotChunk",
        Req::PrepareProposal(_) => "PrepareProposal",
        Req::ProcessProposal(_) => "ProcessProposal",
        Req::ExtendVote(_) => "ExtendVote",
        Req::VerifyVoteExtension(_) => "VerifyVoteExtension",
        Req::FinalizeBlock(_) => "FinalizeBlock",
    }
}

impl AbciConnection {
    /// Connects to `tcp://HOST:PORT` (or `HOST:PORT`) or `unix://PATH`.
    /// `timeout` bounds the connect and every later request.
    pub async fn connect(address: &str, timeout: Duration) -> Result<AbciConnection, AbciError> {
        let err = |source| AbciError::Connect {
            address: address.to_string(),
            source,
        };
        let once = || async {
            let stream: Box<dyn Stream> = match address.strip_prefix("unix://") {
                Some(path) => Box::new(tokio::net::UnixStream::connect(path).await?),
                None => {
                    let s = tokio::net::TcpStream::connect(
                        address.strip_prefix("tcp://").unwrap_or(address),
                    )
                    .await?;
                    s.set_nodelay(true)?;
                    Box::new(s)
                }
            };
            Ok::<_, std::io::Error>(stream)
        };
        // An app that is still starting refuses connections (or has no socket
        // file yet): retry until `timeout`, as CometBFT does.
        let connect = async {
            let mut wait = Duration::from_millis(50);
            let mut told = false;
            loop {
                match once().await {
                    Ok(s) => return Ok(s),
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::NotFound
                        ) =>
                    {
                        if !told {
                            tracing::info!(address, "waiting for the ABCI app to listen");
                            told = true;
                        }
                        tokio::time::sleep(wait).await;
                        wait = (wait * 2).min(Duration::from_secs(1));
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        let stream = tokio::time::timeout(timeout, connect)
            .await
            .map_err(|_| {
                err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("nothing accepted connections within {timeout:?}"),
                ))
            })?
            .map_err(err)?;
        let (r, w) = tokio::io::split(stream);
        Ok(AbciConnection {
            address: address.to_string(),
            timeout,
            reader: BufReader::new(r),
            writer: BufWriter::new(w),
            broken: false,
        })
    }

    /// Sends one request and waits for its answer. No `Flush` follows each
    /// request: ABCI servers answer every request when it is done, and a
    /// separate small Flush answer would wait in the server's Nagle buffer
    /// for our delayed ACK (~40 ms per call over TCP).
    ///
    /// After an exchange that failed part way the connection is reopened
    /// first, so one bad request (a timeout, an answer the app never
    /// finished) cannot leave every later one reading the wrong bytes. (On
    /// the consensus connection any failure stops the node anyway.)
    pub async fn call(&mut self, request: Req) -> Result<Rsp, AbciError> {
        let name = request_name(&request);
        if self.broken {
            tracing::warn!(address = %self.address, "reopening the ABCI connection after a failed exchange");
            let address = self.address.clone();
            *self = AbciConnection::connect(&address, self.timeout).await?;
        }
        let result = match tokio::time::timeout(self.timeout, self.exchange(request, name)).await {
            Ok(r) => r,
            Err(_) => Err(AbciError::Timeout {
                address: self.address.clone(),
                request: name,
                timeout: self.timeout,
            }),
        };
        // An exception or an answer of the wrong kind was read whole: the
        // stream is still in step. Anything else may have left it mid-answer.
        if let Err(e) = &result {
            if !matches!(
                e,
                AbciError::Exception { .. } | AbciError::Unexpected { .. }
            ) {
                self.broken = true;
            }
        }
        result
    }

    async fn exchange(&mut self, request: Req, name: &'static str) -> Result<Rsp, AbciError> {
        let io = |source| AbciError::Io {
            address: self.address.clone(),
            request: name,
            source,
        };
        let msg = Request {
            value: Some(request),
        };
        self.writer
            .write_all(&synod_abci_wire::encode(&msg))
            .await
            .map_err(io)?;
        self.writer.flush().await.map_err(io)?;

        let malformed = |reason: String| AbciError::Malformed {
            address: self.address.clone(),
            request: name,
            reason,
        };
        // The varint length, read a byte at a time so nothing past it is consumed.
        let mut prefix = synod_abci_wire::LengthPrefix::new(MAX_RESPONSE_BYTES);
        let len = loop {
            let byte = self.reader.read_u8().await.map_err(io)?;
            match prefix.push(byte) {
                Ok(Some(len)) => break len,
                Ok(None) => {}
                Err(FrameError::TooLarge { len, max }) => {
                    return Err(malformed(format!("response of {len} bytes exceeds {max}")));
                }
                Err(e) => return Err(malformed(e.to_string())),
            }
        };
        let mut body = vec![0u8; len];
        self.reader.read_exact(&mut body).await.map_err(io)?;
        let response = Response::decode(body.as_slice()).map_err(|e| malformed(e.to_string()))?;
        match response.value {
            Some(Rsp::Exception(e)) => Err(AbciError::Exception {
                address: self.address.clone(),
                request: name,
                error: e.error,
            }),
            Some(v) => Ok(v),
            None => Err(malformed("empty response".into())),
        }
    }

    /// The address this connection talks to.
    pub fn address(&self) -> &str {
        &self.address
    }
}
