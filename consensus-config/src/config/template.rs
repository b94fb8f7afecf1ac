//! The text of `config.toml`: CometBFT 0.38's default template (every
//! section and key, so CometBFT accepts the file), with the values Synod sets.

use std::path::Path;
use std::time::Duration;

use super::{CometConfig, COMETBFT_VERSION};
use crate::duration;

impl CometConfig {
    /// The full CometBFT 0.38 config file: every section and key of its default
    /// template, with the values of `self` and CometBFT's defaults elsewhere.
    pub fn to_toml(&self) -> String {
        let s = |v: &str| quote(v);
        let p = |v: &Path| quote(&v.to_string_lossy());
        let d = |v: Duration| quote(&duration::format(v));
        let c = &self.consensus;
        format!(
            r#"# CometBFT 0.38 configuration, written by synod-consensus-config.
# Read by CometBFT and by the embedded synod-node. Relative paths are relative
# to the home directory. Synod reads: proxy_app, moniker, genesis_file,
# priv_validator_key_file, node_key_file, abci, [rpc] laddr, [p2p] laddr and
# persistent_peers, [mempool] limits, [consensus] timeouts, [instrumentation].

version = {version}

#######################################################################
###                   Main Base Config Options                      ###
#######################################################################

# The ABCI application: tcp://HOST:PORT or unix://PATH
proxy_app = {proxy_app}

# A human-readable name for this node
moniker = {moniker}

# Catch up by downloading blocks in parallel when far behind
block_sync = true

# Database backend and directory (CometBFT only; synod-node uses RocksDB in data/)
db_backend = {db_backend}
db_dir = {db_dir}

# Logging
log_level = {log_level}
log_format = "plain"

##### additional base config options #####

# Genesis document
genesis_file = {genesis_file}

# Consensus key of this validator
priv_validator_key_file = {priv_validator_key_file}

# Last signed height/round/step of this validator (CometBFT's double-sign guard)
priv_validator_state_file = {priv_validator_state_file}

# Listen address for an external signer (empty: sign with the key file)
priv_validator_laddr = ""

# p2p identity key of this node
node_key_file = {node_key_file}

# How to talk to the ABCI app: socket | grpc
abci = {abci}

# Ask the app whether to keep each new peer
filter_peers = false


#######################################################################
###                 Advanced Configuration Options                  ###
#######################################################################

#######################################################
###       RPC Server Configuration Options          ###
#######################################################
[rpc]

laddr = {rpc_laddr}
cors_allowed_origins = []
cors_allowed_methods = ["HEAD", "GET", "POST", ]
cors_allowed_headers = ["Origin", "Accept", "Content-Type", "X-Requested-With", "X-Server-Time", ]
grpc_laddr = ""
grpc_max_open_connections = 900
unsafe = false
max_open_connections = 900
max_subscription_clients = 100
max_subscriptions_per_client = 5
experimental_subscription_buffer_size = 200
experimental_websocket_write_buffer_size = 200
experimental_close_on_slow_client = false
timeout_broadcast_tx_commit = "10s"
max_request_batch_size = 10
max_body_bytes = 1000000
max_header_bytes = 1048576
tls_cert_file = ""
tls_key_file = ""
pprof_laddr = ""

#######################################################
###           P2P Configuration Options             ###
#######################################################
[p2p]

laddr = {p2p_laddr}
external_address = {external_address}

# Comma-separated id@host:port lists
seeds = {seeds}
persistent_peers = {persistent_peers}

addr_book_file = "config/addrbook.json"
# false for private or loopback networks
addr_book_strict = {addr_book_strict}
max_num_inbound_peers = 40
max_num_outbound_peers = 10
unconditional_peer_ids = ""
persistent_peers_max_dial_period = "0s"
flush_throttle_timeout = "100ms"
max_packet_msg_payload_size = 1024
send_rate = 5120000
recv_rate = 5120000
pex = {pex}
seed_mode = false
private_peer_ids = ""
# true to let several peers share one IP (loopback networks)
allow_duplicate_ip = {allow_duplicate_ip}
handshake_timeout = "20s"
dial_timeout = "3s"

#######################################################
###          Mempool Configuration Option          ###
#######################################################
[mempool]

type = "flood"
recheck = true
recheck_timeout = "1s"
broadcast = true
wal_dir = ""

# Most transactions, and most bytes, held
size = {mempool_size}
max_txs_bytes = {max_txs_bytes}

# Hashes of seen transactions remembered (replays are refused without asking the app)
cache_size = {cache_size}
keep-invalid-txs-in-cache = false

# Largest single transaction
max_tx_bytes = {max_tx_bytes}
max_batch_bytes = 0
experimental_max_gossip_connections_to_persistent_peers = 0
experimental_max_gossip_connections_to_non_persistent_peers = 0

#######################################################
###         State Sync Configuration Options        ###
#######################################################
[statesync]

enable = false
rpc_servers = ""
trust_height = 0
trust_hash = ""
trust_period = "168h0m0s"
discovery_time = "15s"
temp_dir = ""
chunk_request_timeout = "10s"
chunk_fetchers = "4"

#######################################################
###       Block Sync Configuration Options          ###
#######################################################
[blocksync]

version = "v0"

#######################################################
###         Consensus Configuration Options         ###
#######################################################
[consensus]

wal_file = "data/cs.wal/wal"

# Round timeouts: base, and increase per round
timeout_propose = {timeout_propose}
timeout_propose_delta = {timeout_propose_delta}
timeout_prevote = {timeout_prevote}
timeout_prevote_delta = {timeout_prevote_delta}
timeout_precommit = {timeout_precommit}
timeout_precommit_delta = {timeout_precommit_delta}
# Pause after a commit before the next height (the target block time, roughly)
timeout_commit = {timeout_commit}

double_sign_check_height = 0
skip_timeout_commit = false
create_empty_blocks = true
create_empty_blocks_interval = "0s"
peer_gossip_sleep_duration = "100ms"
peer_query_maj23_sleep_duration = "2s"

#######################################################
###         Storage Configuration Options           ###
#######################################################
[storage]

discard_abci_responses = false

#######################################################
###   Transaction Indexer Configuration Options     ###
#######################################################
[tx_index]

indexer = "kv"
psql-conn = ""

#######################################################
###       Instrumentation Configuration Options     ###
#######################################################
[instrumentation]

# Serve Prometheus metrics under /metrics
prometheus = {prometheus}
prometheus_listen_addr = {prometheus_listen_addr}
max_open_connections = 3
namespace = "cometbft"
"#,
            version = s(COMETBFT_VERSION),
            proxy_app = s(&self.proxy_app),
            moniker = s(&self.moniker),
            db_backend = s(&self.db_backend),
            db_dir = p(&self.db_dir),
            log_level = s(&self.log_level),
            genesis_file = p(&self.genesis_file),
            priv_validator_key_file = p(&self.priv_validator_key_file),
            priv_validator_state_file = p(&self.priv_validator_state_file),
            node_key_file = p(&self.node_key_file),
            abci = s(&self.abci),
            rpc_laddr = s(&self.rpc.laddr),
            p2p_laddr = s(&self.p2p.laddr),
            external_address = s(&self.p2p.external_address),
            seeds = s(&self.p2p.seeds.join(",")),
            persistent_peers = s(&self.p2p.persistent_peers.join(",")),
            addr_book_strict = self.p2p.addr_book_strict,
            allow_duplicate_ip = self.p2p.allow_duplicate_ip,
            pex = self.p2p.pex,
            mempool_size = self.mempool.size,
            max_txs_bytes = self.mempool.max_txs_bytes,
            cache_size = self.mempool.cache_size,
            max_tx_bytes = self.mempool.max_tx_bytes,
            timeout_propose = d(c.timeout_propose),
            timeout_propose_delta = d(c.timeout_propose_delta),
            timeout_prevote = d(c.timeout_prevote),
            timeout_prevote_delta = d(c.timeout_prevote_delta),
            timeout_precommit = d(c.timeout_precommit),
            timeout_precommit_delta = d(c.timeout_precommit_delta),
            timeout_commit = d(c.timeout_commit),
            prometheus = self.instrumentation.prometheus,
            prometheus_listen_addr = s(&self.instrumentation.prometheus_listen_addr),
        )
    }
}

/// A TOML basic string holding `value`.
fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
