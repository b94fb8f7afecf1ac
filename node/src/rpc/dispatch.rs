//! Every method of CometBFT 0.38's RPC (`rpc/core/routes.go`), with its
//! argument names (for positional parameters and the method list), whether
//! CometBFT lets a successful answer be cached, and how synod-node serves
//! it; and the one `match` from a method name to its handler in `methods/`.

use std::sync::Arc;

use serde_json::{json, Value};

use super::{jsonrpc::RpcError, params::Params, server::Server};

/// When CometBFT marks a successful answer cacheable (`Cache-Control`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Cache {
    Never,
    Always,
    /// Only when this argument is given and not zero (a fixed height).
    WithArg(&'static str),
}

/// How synod-node serves a method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Serve {
    /// Answered by a handler.
    Handler,
    /// Only over `/websocket` (`subscribe`, `unsubscribe`, `unsubscribe_all`).
    WebsocketOnly,
    /// Answered with "not supported by synod-node" and this reason.
    NotSupported(&'static str),
}

/// One RPC method.
#[derive(Clone, Copy, Debug)]
pub(super) struct Route {
    pub(super) name: &'static str,
    pub(super) args: &'static [&'static str],
    pub(super) cache: Cache,
    pub(super) serve: Serve,
}

const fn route(name: &'static str, args: &'static [&'static str], cache: Cache) -> Route {
    Route {
        name,
        args,
        cache,
        serve: Serve::Handler,
    }
}

const fn unsupported(
    name: &'static str,
    args: &'static [&'static str],
    why: &'static str,
) -> Route {
    Route {
        name,
        args,
        cache: Cache::Never,
        serve: Serve::NotSupported(why),
    }
}

const NO_CONSENSUS_STATE: &str = "it runs Malachite's Tendermint engine, whose round state \
    (steps, vote sets, peers' round states) is not CometBFT's; the height and sync state are in \
    `status`, the rounds and votes in the node's Prometheus metrics (malachitebft_*)";
const NO_UNSAFE: &str = "synod-node has no unsafe RPC: peers come from config.toml \
    (p2p.persistent_peers) and peer exchange, and the mempool drops txs as blocks commit them";

/// Every method: CometBFT 0.38's (its unsafe ones included), then Synod's own.
pub(super) const ROUTES: &[Route] = &[
    Route {
        name: "subscribe",
        args: &["query"],
        cache: Cache::Never,
        serve: Serve::WebsocketOnly,
    },
    Route {
        name: "unsubscribe",
        args: &["query"],
        cache: Cache::Never,
        serve: Serve::WebsocketOnly,
    },
    Route {
        name: "unsubscribe_all",
        args: &[],
        cache: Cache::Never,
        serve: Serve::WebsocketOnly,
    },
    route("health", &[], Cache::Never),
    route("status", &[], Cache::Never),
    route("net_info", &[], Cache::Never),
    route("blockchain", &["minHeight", "maxHeight"], Cache::Always),
    route("genesis", &[], Cache::Always),
    route("genesis_chunked", &["chunk"], Cache::Always),
    route("block", &["height"], Cache::WithArg("height")),
    route("block_by_hash", &["hash"], Cache::Always),
    route("block_results", &["height"], Cache::WithArg("height")),
    route("commit", &["height"], Cache::WithArg("height")),
    route("header", &["height"], Cache::WithArg("height")),
    route("header_by_hash", &["hash"], Cache::Always),
    route("check_tx", &["tx"], Cache::Never),
    route("tx", &["hash", "prove"], Cache::Always),
    route(
        "tx_search",
        &["query", "prove", "page", "per_page", "order_by"],
        Cache::Never,
    ),
    route(
        "block_search",
        &["query", "page", "per_page", "order_by"],
        Cache::Never,
    ),
    route(
        "validators",
        &["height", "page", "per_page"],
        Cache::WithArg("height"),
    ),
    unsupported("dump_consensus_state", &[], NO_CONSENSUS_STATE),
    unsupported("consensus_state", &[], NO_CONSENSUS_STATE),
    route("consensus_params", &["height"], Cache::WithArg("height")),
    route("unconfirmed_txs", &["limit"], Cache::Never),
    route("num_unconfirmed_txs", &[], Cache::Never),
    route("broadcast_tx_commit", &["tx"], Cache::Never),
    route("broadcast_tx_sync", &["tx"], Cache::Never),
    route("broadcast_tx_async", &["tx"], Cache::Never),
    route(
        "abci_query",
        &["path", "data", "height", "prove"],
        Cache::Never,
    ),
    route("abci_info", &[], Cache::Always),
    unsupported(
        "broadcast_evidence",
        &["evidence"],
        "the node gathers equivocation evidence from the votes its own consensus engine sees \
         and puts it in blocks; evidence in CometBFT's vote format cannot be checked against \
         Synod's vote signatures yet (docs/rpc.md, known gaps)",
    ),
    unsupported("dial_seeds", &["seeds"], NO_UNSAFE),
    unsupported(
        "dial_peers",
        &["peers", "persistent", "unconditional", "private"],
        NO_UNSAFE,
    ),
    unsupported("unsafe_flush_mempool", &[], NO_UNSAFE),
    // Synod's own (`synod-node init --from-node`).
    route("consensus_timeouts", &[], Cache::Never),
];

/// The route of `method`, if it is one.
pub(super) fn route_of(method: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.name == method)
}

impl Route {
    /// Whether an answer to a call with `params` may be cached.
    pub(super) fn cacheable(&self, params: &Params) -> bool {
        match self.cache {
            Cache::Never => false,
            Cache::Always => true,
            Cache::WithArg(arg) => params.int(arg).ok().flatten().is_some_and(|h| h != 0),
        }
    }
}

impl Server {
    /// Answers a call of `route` with `params` (the subscription methods
    /// are the websocket session's: here they are not found).
    pub(super) async fn dispatch(
        self: &Arc<Self>,
        route: &'static Route,
        params: Params,
    ) -> Result<Value, RpcError> {
        match route.serve {
            Serve::NotSupported(why) => return Err(RpcError::not_supported(route.name, why)),
            Serve::WebsocketOnly => return Err(RpcError::method_not_found()),
            Serve::Handler => {}
        }
        tracing::debug!(method = route.name, "rpc call");
        let p = params;
        match route.name {
            "health" => Ok(json!({})),
            "status" => self.blocking(move |s| s.status()).await,
            "net_info" => self.net_info().await,
            "abci_info" => self.abci_info().await,
            "abci_query" => self.abci_query(&p).await,
            "check_tx" => self.check_tx(&p).await,
            "broadcast_tx_async" => self.broadcast_tx(&p, false).await,
            "broadcast_tx_sync" => self.broadcast_tx(&p, true).await,
            "broadcast_tx_commit" => self.broadcast_tx_commit(&p).await,
            "unconfirmed_txs" => self.unconfirmed_txs(&p).await,
            "num_unconfirmed_txs" => self.num_unconfirmed_txs().await,
            "consensus_timeouts" => self.consensus_timeouts(),
            // Methods that read the block store run on the blocking pool, so
            // a slow one never holds up the runtime consensus shares.
            "block" => self.blocking(move |s| s.block(&p)).await,
            "block_by_hash" => self.blocking(move |s| s.block_by_hash(&p)).await,
            "header" => self.blocking(move |s| s.header(&p)).await,
            "header_by_hash" => self.blocking(move |s| s.header_by_hash(&p)).await,
            "commit" => self.blocking(move |s| s.commit(&p)).await,
            "block_results" => self.blocking(move |s| s.block_results(&p)).await,
            "blockchain" => self.blocking(move |s| s.blockchain(&p)).await,
            "validators" => self.blocking(move |s| s.validators(&p)).await,
            "consensus_params" => self.blocking(move |s| s.consensus_params(&p)).await,
            // The genesis document can be large: parsed off the runtime too.
            "genesis" => self.blocking(|s| s.genesis()).await,
            "genesis_chunked" => self.blocking(move |s| s.genesis_chunked(&p)).await,
            "tx" => self.blocking(move |s| s.tx(&p)).await,
            "tx_search" => self.blocking(move |s| s.tx_search(&p)).await,
            "block_search" => self.blocking(move |s| s.block_search(&p)).await,
            // A route without a handler is a bug here, not the caller's.
            other => Err(RpcError::internal(format!("{other} has no handler"))),
        }
    }

    /// Runs a handler that reads the store on tokio's blocking pool.
    async fn blocking(
        self: &Arc<Self>,
        f: impl FnOnce(&Server) -> Result<Value, RpcError> + Send + 'static,
    ) -> Result<Value, RpcError> {
        let server = Arc::clone(self);
        tokio::task::spawn_blocking(move || f(&server))
            .await
            .map_err(|e| RpcError::internal(format!("the handler failed: {e}")))?
    }
}

/// The list of methods `GET /` shows, as CometBFT's HTML page of links.
pub(super) fn method_list(host: &str) -> String {
    let mut served: Vec<&Route> = ROUTES
        .iter()
        .filter(|r| r.serve == Serve::Handler)
        .collect();
    served.sort_by_key(|r| (!r.args.is_empty(), r.name));
    let mut html = String::from("<html><body><br>Available endpoints:<br>");
    let mut with_args = false;
    for r in served {
        if !r.args.is_empty() && !with_args {
            html.push_str("<br>Endpoints that require arguments:<br>");
            with_args = true;
        }
        let query: Vec<String> = r.args.iter().map(|a| format!("{a}=_")).collect();
        let link = if r.args.is_empty() {
            format!("//{host}/{}", r.name)
        } else {
            format!("//{host}/{}?{}", r.name, query.join("&"))
        };
        html.push_str(&format!("<a href=\"{link}\">{link}</a></br>"));
    }
    html.push_str("</body></html>");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_of_cometbfts_routes_has_a_route() {
        // rpc/core/routes.go of v0.38, unsafe routes included.
        let cometbft = [
            "subscribe",
            "unsubscribe",
            "unsubscribe_all",
            "health",
            "status",
            "net_info",
            "blockchain",
            "genesis",
            "genesis_chunked",
            "block",
            "block_by_hash",
            "block_results",
            "commit",
            "header",
            "header_by_hash",
            "check_tx",
            "tx",
            "tx_search",
            "block_search",
            "validators",
            "dump_consensus_state",
            "consensus_state",
            "consensus_params",
            "unconfirmed_txs",
            "num_unconfirmed_txs",
            "broadcast_tx_commit",
            "broadcast_tx_sync",
            "broadcast_tx_async",
            "abci_query",
            "abci_info",
            "broadcast_evidence",
            "dial_seeds",
            "dial_peers",
            "unsafe_flush_mempool",
        ];
        for m in cometbft {
            assert!(route_of(m).is_some(), "{m} has no route");
        }
        assert_eq!(
            ROUTES.len(),
            cometbft.len() + 1,
            "only consensus_timeouts is extra"
        );
    }

    #[test]
    fn fixed_heights_are_cacheable_and_the_latest_is_not() {
        let block = route_of("block").unwrap();
        let at = |v: Value| Params::json(&["height"], v).unwrap();
        assert!(block.cacheable(&at(json!({"height": "5"}))));
        assert!(!block.cacheable(&at(json!({}))));
        assert!(!route_of("status").unwrap().cacheable(&at(json!({}))));
    }
}
