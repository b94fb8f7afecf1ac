//! What a new node takes from a running one of its network: the
//! `[consensus]` timeouts (`synod-node init --from-node URL`), read from the
//! running synod-node's `consensus_timeouts` RPC method. A node whose
//! timeouts differ from its peers' lags behind their rounds.

use std::time::Duration;

use synod_consensus_config::config::ConsensusConfig;

/// Why the consensus timeouts of a running node could not be read
/// ([`network_timeouts`]). Each variant names the node's URL.
#[derive(Debug, thiserror::Error)]
pub enum FromNodeError {
    /// The URL does not parse.
    #[error("{url:?} is not an RPC URL such as http://HOST:26657: {error}")]
    Url {
        /// The URL as given.
        url: String,
        /// Why it does not parse.
        error: hyper::http::uri::InvalidUri,
    },
    /// No HTTP answer (connection refused, reset, ...).
    #[error(
        "cannot reach the node at {url}: {error} (is it running, and is this its RPC address?)"
    )]
    Unreachable {
        /// The node's URL.
        url: String,
        /// What the HTTP client met.
        error: hyper::Error,
    },
    /// No answer in time.
    #[error("the node at {url} did not answer within {secs} s")]
    Timeout {
        /// The node's URL.
        url: String,
        /// How long it was given.
        secs: u64,
    },
    /// The node does not have the method: CometBFT, or an older synod-node.
    #[error(
        "the node at {url} does not serve consensus_timeouts ({message}): only synod-node does; \
         give the network's timeouts with --timeout-commit and --timeout-propose instead"
    )]
    NotServed {
        /// The node's URL.
        url: String,
        /// The node's JSON-RPC error message.
        message: String,
    },
    /// An answer that is not the timeouts.
    #[error("the node at {url} answered consensus_timeouts with something else: {answer}")]
    BadAnswer {
        /// The node's URL.
        url: String,
        /// The start of what it answered.
        answer: String,
    },
}

/// How long [`network_timeouts`] waits for the node.
const FROM_NODE_TIMEOUT: Duration = Duration::from_secs(10);

/// The `[consensus]` timeouts of the running synod-node whose RPC is at
/// `url` (its `consensus_timeouts` method): a node of the same network must
/// run with them, or it lags behind its peers' rounds.
pub async fn network_timeouts(url: &str) -> Result<ConsensusConfig, FromNodeError> {
    let base = url.trim_end_matches('/');
    let uri: hyper::Uri = format!("{base}/consensus_timeouts")
        .parse()
        .map_err(|error| FromNodeError::Url {
            url: url.to_string(),
            error,
        })?;
    let unreachable = |error| FromNodeError::Unreachable {
        url: url.to_string(),
        error,
    };
    let ask = async {
        let response = hyper::Client::new().get(uri).await.map_err(unreachable)?;
        hyper::body::to_bytes(response.into_body())
            .await
            .map_err(unreachable)
    };
    let body = tokio::time::timeout(FROM_NODE_TIMEOUT, ask)
        .await
        .map_err(|_| FromNodeError::Timeout {
            url: url.to_string(),
            secs: FROM_NODE_TIMEOUT.as_secs(),
        })??;
    timeouts_of_answer(url, &body)
}

/// The timeouts in a JSON-RPC answer to `consensus_timeouts`.
fn timeouts_of_answer(url: &str, body: &[u8]) -> Result<ConsensusConfig, FromNodeError> {
    let bad = || FromNodeError::BadAnswer {
        url: url.to_string(),
        answer: String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
    };
    let reply: serde_json::Value = serde_json::from_slice(body).map_err(|_| bad())?;
    if let Some(error) = reply.get("error") {
        return Err(FromNodeError::NotServed {
            url: url.to_string(),
            message: error["message"].as_str().unwrap_or("an error").to_string(),
        });
    }
    let result = reply.get("result").cloned().ok_or_else(bad)?;
    serde_json::from_value(result).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_timeouts_come_out_of_a_consensus_timeouts_answer() {
        let url = "http://127.0.0.1:26601";
        let answer = serde_json::json!({"jsonrpc": "2.0", "id": -1, "result": {
            "timeout_propose": "2s", "timeout_propose_delta": "500ms",
            "timeout_prevote": "1s", "timeout_prevote_delta": "500ms",
            "timeout_precommit": "1s", "timeout_precommit_delta": "500ms",
            "timeout_commit": "500ms"}});
        let got = timeouts_of_answer(url, answer.to_string().as_bytes()).unwrap();
        assert_eq!(got.timeout_propose, Duration::from_secs(2));
        assert_eq!(got.timeout_commit, Duration::from_millis(500));
        // CometBFT has no such method: the error says what to do instead.
        let cometbft = serde_json::json!({"jsonrpc": "2.0", "id": -1,
            "error": {"code": -32601, "message": "Method not found"}});
        let e = timeouts_of_answer(url, cometbft.to_string().as_bytes()).unwrap_err();
        assert!(
            e.to_string().contains("--timeout-commit") && e.to_string().contains(url),
            "{e}"
        );
        assert!(matches!(
            timeouts_of_answer(url, b"<html>"),
            Err(FromNodeError::BadAnswer { .. })
        ));
    }
}
