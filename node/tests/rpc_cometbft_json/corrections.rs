//! CometBFT's OpenAPI document for v0.38, with its mistakes corrected to
//! what CometBFT's Go code sends.

use std::path::Path;

use serde_json::json;

use crate::common::openapi::OpenApi;

/// CometBFT's OpenAPI document with its mistakes corrected to the Go code.
pub fn reference() -> OpenApi {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cometbft/openapi-v0.38.yaml");
    let mut api = OpenApi::load(&path);
    corrections(&mut api);
    api
}

/// Where the document disagrees with CometBFT 0.38's Go code, the Go code
/// wins. `libs/json` writes 64-bit integers as strings and 32-bit ones as
/// numbers, nil slices as null and leaves out zero `omitempty` fields;
/// `abci/types/types.go` gives `ExecTxResult`, `ResponseCheckTx`,
/// `ResponseQuery` and `EventAttribute` a `MarshalJSON` with gogoproto's
/// `jsonpb` (`EmitDefaults`: every field written, empty bytes null,
/// `proof_ops` as `proofOps`).
fn corrections(api: &mut OpenApi) {
    let string = || json!({"type": "string"});
    let nullable_string = || json!({"type": "string", "nullable": true});
    // abci.Event inside jsonpb answers (both fields written) and in
    // libs/json ones (both omitempty): the same properties, none required.
    api.doc["components"]["schemas"]["AbciEvent"] = json!({
        "type": "object",
        "properties": {
            "type": {"type": "string"},
            "attributes": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}},
        },
    });
    // abci.ExecTxResult and abci.ResponseCheckTx (jsonpb): the document
    // still has Tendermint 0.32's `tags` and a string `code`.
    let exec_tx_result = json!({
        "type": "object",
        "required": ["code", "data", "log", "info", "gas_wanted", "gas_used", "events", "codespace"],
        "properties": {
            "code": {"type": "integer"},
            "data": nullable_string(),
            "log": string(), "info": string(),
            "gas_wanted": string(), "gas_used": string(),
            "events": {"type": "array", "items": {"$ref": "#/components/schemas/AbciEvent"}},
            "codespace": string(),
        },
    });
    api.doc["components"]["schemas"]["ExecTxResult"] = exec_tx_result.clone();
    // types.TxProof (types/tx.go): root_hash, data and a merkle.Proof; the
    // document has amino's `RootHash`, `Data`, `Proof`.
    let tx_proof = json!({
        "type": "object",
        "required": ["root_hash", "data", "proof"],
        "properties": {
            "root_hash": string(), "data": string(),
            "proof": {
                "type": "object",
                "required": ["total", "index", "leaf_hash"],
                "properties": {
                    "total": string(), "index": string(), "leaf_hash": string(),
                    "aunts": {"type": "array", "items": string()},
                },
            },
        },
    });
    // coretypes.ResultTx (rpc/core/types/responses.go).
    let result_tx = json!({
        "type": "object",
        "required": ["hash", "height", "index", "tx_result", "tx"],
        "properties": {
            "hash": string(), "height": string(), "index": {"type": "integer"},
            "tx_result": {"$ref": "#/components/schemas/ExecTxResult"},
            "tx": string(), "proof": tx_proof,
        },
    });
    api.doc["components"]["schemas"]["TxResponse"]["properties"]["result"] = result_tx.clone();
    // ResultTxSearch: total_count is a Go int (a string).
    api.doc["components"]["schemas"]["TxSearchResponse"]["properties"]["result"] = json!({
        "type": "object",
        "required": ["txs", "total_count"],
        "properties": {"txs": {"type": "array", "items": result_tx}, "total_count": string()},
    });
    // ResultBroadcastTx: code is a uint32 (a number).
    api.doc["components"]["schemas"]["BroadcastTxResponse"]["properties"]["result"]["properties"]
        ["code"] = json!({"type": "integer"});
    // ResultBroadcastTxCommit: check_tx and tx_result (0.38), not deliver_tx.
    api.doc["components"]["schemas"]["BroadcastTxCommitResponse"]["properties"]["result"] = json!({
        "type": "object",
        "required": ["check_tx", "tx_result", "hash", "height"],
        "properties": {
            "check_tx": {"$ref": "#/components/schemas/ExecTxResult"},
            "tx_result": {"$ref": "#/components/schemas/ExecTxResult"},
            "hash": string(), "height": string(),
        },
    });
    // ResultCheckTx embeds abci.ResponseCheckTx, whose jsonpb MarshalJSON
    // it inherits: the same fields as ExecTxResult.
    api.doc["components"]["schemas"]["CheckTxResponse"]["properties"]["result"] = exec_tx_result;
    // abci.ResponseQuery (jsonpb): proofOps (may be null), a numeric code,
    // null key/value when empty; not the document's string `proof`.
    api.doc["components"]["schemas"]["ABCIQueryResponse"]["properties"]["result"]["properties"]
        ["response"] = json!({
        "type": "object",
        "required": ["code", "log", "info", "index", "key", "value", "proofOps", "height", "codespace"],
        "properties": {
            "code": {"type": "integer"}, "log": string(), "info": string(), "index": string(),
            "key": nullable_string(), "value": nullable_string(),
            "proofOps": {"type": "object", "nullable": true, "properties": {"ops": {"type": "array",
                "items": {"type": "object", "properties": {"type": string(),
                    "key": nullable_string(), "data": nullable_string()}}}}},
            "height": string(), "codespace": string(),
        },
    });
    // abci.ResponseInfo has no MarshalJSON: libs/json leaves out its zero
    // (omitempty) fields, so none is required.
    api.doc["components"]["schemas"]["ABCIInfoResponse"]["properties"]["result"]["properties"]
        ["response"]
        .as_object_mut()
        .unwrap()
        .remove("required");
    // ResultHeader{Header *types.Header `json:"header"`}: the document gives
    // the bare header as the whole answer.
    let header_answer = json!({"allOf": [
        {"$ref": "#/components/schemas/JSONRPC"},
        {"type": "object", "properties": {"result": {
            "type": "object", "required": ["header"],
            "properties": {"header": {"$ref": "#/components/schemas/BlockHeader", "nullable": true}},
        }}},
    ]});
    *api.response_schema_mut("header") = header_answer.clone();
    *api.response_schema_mut("header_by_hash") = header_answer;
    // types.ConsensusParams of 0.38 (types/params.go): block, evidence,
    // validator, version, abci; the document's `time_iota_ms` and
    // `max_age` are Tendermint 0.32's.
    *api.schema_mut("ConsensusParams") = json!({
        "type": "object", "nullable": true,
        "required": ["block", "evidence", "validator", "version", "abci"],
        "properties": {
            "block": {"type": "object", "required": ["max_bytes", "max_gas"],
                "properties": {"max_bytes": string(), "max_gas": string()}},
            "evidence": {"type": "object",
                "required": ["max_age_num_blocks", "max_age_duration", "max_bytes"],
                "properties": {"max_age_num_blocks": string(), "max_age_duration": string(),
                    "max_bytes": string()}},
            "validator": {"type": "object", "required": ["pub_key_types"],
                "properties": {"pub_key_types": {"type": "array", "nullable": true, "items": string()}}},
            "version": {"type": "object", "required": ["app"], "properties": {"app": string()}},
            "abci": {"type": "object", "required": ["vote_extensions_enable_height"],
                "properties": {"vote_extensions_enable_height": string()}},
        },
    });
    // ResultBlockResults: app_hash (missing from the document); the
    // protobuf ConsensusParams (all omitempty) in consensus_param_updates;
    // validator updates keyed by the protobuf PublicKey (`Sum`), not amino.
    let results = &mut api.doc["components"]["schemas"]["BlockResultsResponse"]["properties"]
        ["result"]["properties"];
    results["app_hash"] = nullable_string();
    results["txs_results"]["items"] = json!({"$ref": "#/components/schemas/ExecTxResult"});
    results["finalize_block_events"]["items"] = json!({"$ref": "#/components/schemas/AbciEvent"});
    results["consensus_param_updates"] = json!({"type": "object", "nullable": true});
    results["validator_updates"]["items"] = json!({
        "type": "object", "required": ["pub_key"],
        "properties": {"pub_key": {"type": "object", "required": ["Sum"], "properties": {"Sum": {
            "type": "object", "nullable": true, "required": ["type", "value"],
            "properties": {"type": string(), "value": {"type": "object"}}}}},
            "power": string()},
    });
    // types.BlockMeta: block_size is a Go int (a string).
    api.doc["components"]["schemas"]["BlockMeta"]["properties"]["block_size"] = string();
    // types.Block: data is Data{Txs} (an object), evidence EvidenceData{Evidence}
    // (an object), last_commit.height an int64 (a string).
    let block = &mut api.doc["components"]["schemas"]["Block"]["properties"];
    block["data"] = json!({"type": "object", "required": ["txs"],
        "properties": {"txs": {"type": "array", "nullable": true, "items": string()}}});
    block["evidence"] = json!({"type": "object", "required": ["evidence"],
        "properties": {"evidence": {"type": "array", "items": {"$ref": "#/components/schemas/Evidence"}}}});
    block["last_commit"]["properties"]["height"] = string();
    block["last_commit"]["required"] = json!(["height", "round", "block_id", "signatures"]);
    // An Evidence interface value: its registered type name and the value.
    *api.schema_mut("Evidence") = json!({"type": "object", "required": ["type", "value"],
        "properties": {"type": string(), "value": {"type": "object"}}});
    // types.CommitSig (the document's `Commit` is a pre-0.34 vote): an
    // absent signature is null.
    *api.schema_mut("Commit") = json!({
        "type": "object",
        "required": ["block_id_flag", "validator_address", "timestamp", "signature"],
        "properties": {"block_id_flag": {"type": "integer"}, "validator_address": string(),
            "timestamp": string(), "signature": nullable_string()},
    });
    api.doc["components"]["schemas"]["CommitResponse"]["properties"]["result"]["properties"]
        ["signed_header"]["properties"]["commit"]["properties"]["signatures"]["items"] =
        json!({"$ref": "#/components/schemas/Commit"});
    // ResultBlockSearch.total_count and ResultGenesisChunk's chunk and total
    // are Go ints (strings).
    api.doc["components"]["schemas"]["BlockSearchResponse"]["properties"]["result"]["properties"]
        ["total_count"] = string();
    let chunk = &mut api.doc["components"]["schemas"]["GenesisChunkedResponse"]["properties"]
        ["result"]["properties"];
    chunk["chunk"] = string();
    chunk["total"] = string();
    // ResultUnconfirmedTxs also carries `txs` (null for num_unconfirmed_txs).
    api.doc["components"]["schemas"]["NumUnconfirmedTransactionsResponse"]["properties"]
        ["result"]["properties"]["txs"] =
        json!({"type": "array", "nullable": true, "items": string()});
}
