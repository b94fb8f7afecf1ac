//! CometBFT 0.38's types and their JSON, exactly as its RPC writes them.
//!
//! CometBFT encodes its answers with `libs/json`: 64-bit integers as
//! strings, 32-bit ones as numbers, `[]byte` as base64, `HexBytes` as
//! upper-case hex, nil slices and pointers as `null`, zero `omitempty`
//! fields left out, and registered interfaces (keys, evidence, event data)
//! wrapped in `{"type": ..., "value": ...}`. A few ABCI results bring their
//! own `MarshalJSON` (gogoproto `jsonpb` with defaults emitted): see
//! [`abci`]. The handlers build their answers from these functions only, so
//! one place says how each Go type looks; `node/tests/rpc_cometbft_json.rs`
//! checks the result of every method against CometBFT's OpenAPI document.

pub mod abci;
pub mod block;
pub mod json;
pub mod node;
