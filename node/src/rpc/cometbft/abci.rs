//! The app's ABCI answers as CometBFT's RPC shows them. Two encoders meet
//! here, as in CometBFT: `ExecTxResult`, `ResponseCheckTx`, `ResponseQuery`
//! and `EventAttribute` define `MarshalJSON` with gogoproto's `jsonpb`
//! (every field written, defaults included; 64-bit integers quoted; empty
//! bytes `null`; `proof_ops` as `proofOps`), while `ResponseInfo`,
//! `ResponseFinalizeBlock`, `Event`, `ValidatorUpdate`, `TxResult` and the
//! protobuf `ConsensusParams` go through `libs/json`, which leaves out the
//! `omitempty` fields that are zero.

use serde_json::{json, Map, Value};
use tendermint_proto::v0_38::{abci as pb, crypto, types as pbtypes};

use super::json::{base64, bytes_or_null, int};

/// `ExecTxResult` (`jsonpb`): a tx's result in a block.
pub fn exec_tx_result(r: &pb::ExecTxResult) -> Value {
    json!({
        "code": r.code,
        "data": bytes_or_null(&r.data),
        "log": r.log,
        "info": r.info,
        "gas_wanted": int(r.gas_wanted),
        "gas_used": int(r.gas_used),
        "events": r.events.iter().map(jsonpb_event).collect::<Vec<_>>(),
        "codespace": r.codespace,
    })
}

/// `ResponseCheckTx` (`jsonpb`): the app's verdict on a tx.
pub fn check_tx(r: &pb::ResponseCheckTx) -> Value {
    json!({
        "code": r.code,
        "data": bytes_or_null(&r.data),
        "log": r.log,
        "info": r.info,
        "gas_wanted": int(r.gas_wanted),
        "gas_used": int(r.gas_used),
        "events": r.events.iter().map(jsonpb_event).collect::<Vec<_>>(),
        "codespace": r.codespace,
    })
}

/// `ResponseQuery` (`jsonpb`): the app's answer to `abci_query`.
pub fn query(r: &pb::ResponseQuery) -> Value {
    let proof_ops = match &r.proof_ops {
        None => Value::Null,
        Some(ops) => json!({"ops": ops.ops.iter().map(proof_op).collect::<Vec<_>>()}),
    };
    json!({
        "code": r.code,
        "log": r.log,
        "info": r.info,
        "index": int(r.index),
        "key": bytes_or_null(&r.key),
        "value": bytes_or_null(&r.value),
        "proofOps": proof_ops,
        "height": int(r.height),
        "codespace": r.codespace,
    })
}

fn proof_op(op: &crypto::ProofOp) -> Value {
    json!({"type": op.r#type, "key": bytes_or_null(&op.key), "data": bytes_or_null(&op.data)})
}

/// `ResponseInfo` (`libs/json`, every field `omitempty`).
pub fn info(r: &pb::ResponseInfo) -> Value {
    let mut out = Map::new();
    if !r.data.is_empty() {
        out.insert("data".into(), json!(r.data));
    }
    if !r.version.is_empty() {
        out.insert("version".into(), json!(r.version));
    }
    if r.app_version != 0 {
        out.insert("app_version".into(), int(r.app_version));
    }
    if r.last_block_height != 0 {
        out.insert("last_block_height".into(), int(r.last_block_height));
    }
    if !r.last_block_app_hash.is_empty() {
        out.insert(
            "last_block_app_hash".into(),
            json!(base64(&r.last_block_app_hash)),
        );
    }
    Value::Object(out)
}

/// An event inside a `jsonpb` answer: every field, attributes always a list.
fn jsonpb_event(e: &pb::Event) -> Value {
    json!({
        "type": e.r#type,
        "attributes": e.attributes.iter().map(attribute).collect::<Vec<_>>(),
    })
}

/// `EventAttribute` (`jsonpb`, its own `MarshalJSON`).
fn attribute(a: &pb::EventAttribute) -> Value {
    json!({"key": a.key, "value": a.value, "index": a.index})
}

/// `Event` (`libs/json`, `omitempty`): block events, `NewBlockEvents`.
pub fn event(e: &pb::Event) -> Value {
    let mut out = Map::new();
    if !e.r#type.is_empty() {
        out.insert("type".into(), json!(e.r#type));
    }
    if !e.attributes.is_empty() {
        out.insert(
            "attributes".into(),
            Value::Array(e.attributes.iter().map(attribute).collect()),
        );
    }
    Value::Object(out)
}

/// A list of [`event`]s that is nil when empty (decoded from protobuf).
pub fn events_or_null(events: &[pb::Event]) -> Value {
    if events.is_empty() {
        Value::Null
    } else {
        Value::Array(events.iter().map(event).collect())
    }
}

/// `ValidatorUpdate` (`libs/json`): the key is the protobuf `PublicKey`,
/// whose oneof shows as `Sum` wrapped in its registered type name.
pub fn validator_update(u: &pb::ValidatorUpdate) -> Value {
    use crypto::public_key::Sum;
    let sum = match u.pub_key.as_ref().and_then(|k| k.sum.as_ref()) {
        Some(Sum::Ed25519(k)) => json!({
            "type": "tendermint.crypto.PublicKey_Ed25519",
            "value": {"ed25519": base64(k)},
        }),
        Some(Sum::Secp256k1(k)) => json!({
            "type": "tendermint.crypto.PublicKey_Secp256K1",
            "value": {"secp256k1": base64(k)},
        }),
        None => Value::Null,
    };
    let mut out = Map::new();
    out.insert("pub_key".into(), json!({ "Sum": sum }));
    if u.power != 0 {
        out.insert("power".into(), int(u.power));
    }
    Value::Object(out)
}

/// The protobuf `ConsensusParams` (`libs/json`, sections and fields
/// `omitempty`; the evidence age as nanoseconds): `consensus_param_updates`.
pub fn consensus_params_update(p: &pbtypes::ConsensusParams) -> Value {
    let mut out = Map::new();
    let nonzero = |m: &mut Map<String, Value>, k: &str, v: i64| {
        if v != 0 {
            m.insert(k.into(), int(v));
        }
    };
    if let Some(b) = &p.block {
        let mut m = Map::new();
        nonzero(&mut m, "max_bytes", b.max_bytes);
        nonzero(&mut m, "max_gas", b.max_gas);
        out.insert("block".into(), Value::Object(m));
    }
    if let Some(e) = &p.evidence {
        let mut m = Map::new();
        nonzero(&mut m, "max_age_num_blocks", e.max_age_num_blocks);
        let nanos = e.max_age_duration.as_ref().map_or(0i128, |d| {
            i128::from(d.seconds) * 1_000_000_000 + i128::from(d.nanos)
        });
        m.insert("max_age_duration".into(), int(nanos));
        nonzero(&mut m, "max_bytes", e.max_bytes);
        out.insert("evidence".into(), Value::Object(m));
    }
    if let Some(v) = &p.validator {
        let mut m = Map::new();
        if !v.pub_key_types.is_empty() {
            m.insert("pub_key_types".into(), json!(v.pub_key_types));
        }
        out.insert("validator".into(), Value::Object(m));
    }
    if let Some(v) = &p.version {
        let mut m = Map::new();
        if v.app != 0 {
            m.insert("app".into(), int(v.app));
        }
        out.insert("version".into(), Value::Object(m));
    }
    if let Some(a) = &p.abci {
        let mut m = Map::new();
        nonzero(
            &mut m,
            "vote_extensions_enable_height",
            a.vote_extensions_enable_height,
        );
        out.insert("abci".into(), Value::Object(m));
    }
    Value::Object(out)
}

/// `ResponseFinalizeBlock` (`libs/json`), as `NewBlock` events carry it.
pub fn finalize_block(r: &pb::ResponseFinalizeBlock) -> Value {
    let mut out = Map::new();
    if !r.events.is_empty() {
        out.insert(
            "events".into(),
            Value::Array(r.events.iter().map(event).collect()),
        );
    }
    if !r.tx_results.is_empty() {
        out.insert(
            "tx_results".into(),
            Value::Array(r.tx_results.iter().map(exec_tx_result).collect()),
        );
    }
    out.insert(
        "validator_updates".into(),
        validator_updates(&r.validator_updates),
    );
    if let Some(p) = &r.consensus_param_updates {
        out.insert("consensus_param_updates".into(), consensus_params_update(p));
    }
    if !r.app_hash.is_empty() {
        out.insert("app_hash".into(), json!(base64(&r.app_hash)));
    }
    Value::Object(out)
}

/// A list of [`validator_update`]s, `null` when there are none.
pub fn validator_updates(updates: &[pb::ValidatorUpdate]) -> Value {
    if updates.is_empty() {
        Value::Null
    } else {
        Value::Array(updates.iter().map(validator_update).collect())
    }
}

/// `TxResult` (`libs/json`): a tx with its result, as a `Tx` event carries it.
pub fn tx_result(height: u64, index: u32, tx: &[u8], result: &pb::ExecTxResult) -> Value {
    let mut out = Map::new();
    if height != 0 {
        out.insert("height".into(), int(height));
    }
    if index != 0 {
        out.insert("index".into(), json!(index));
    }
    if !tx.is_empty() {
        out.insert("tx".into(), json!(base64(tx)));
    }
    out.insert("result".into(), exec_tx_result(result));
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonpb_answers_write_every_field_and_libs_json_ones_only_the_set_ones() {
        let r = exec_tx_result(&pb::ExecTxResult::default());
        assert_eq!(
            r,
            json!({"code": 0, "data": null, "log": "", "info": "", "gas_wanted": "0",
                   "gas_used": "0", "events": [], "codespace": ""})
        );
        assert_eq!(info(&pb::ResponseInfo::default()), json!({}));
        let i = info(&pb::ResponseInfo {
            last_block_height: 7,
            last_block_app_hash: vec![1, 2, 3].into(),
            ..Default::default()
        });
        assert_eq!(
            i,
            json!({"last_block_height": "7", "last_block_app_hash": "AQID"})
        );
        let fb = finalize_block(&pb::ResponseFinalizeBlock::default());
        assert_eq!(fb, json!({"validator_updates": null}));
    }

    #[test]
    fn validator_update_keys_are_protobuf_oneofs() {
        let u = pb::ValidatorUpdate {
            pub_key: Some(crypto::PublicKey {
                sum: Some(crypto::public_key::Sum::Ed25519(vec![0; 32])),
            }),
            power: 10,
        };
        assert_eq!(
            validator_update(&u),
            json!({"pub_key": {"Sum": {"type": "tendermint.crypto.PublicKey_Ed25519",
                   "value": {"ed25519": base64(&[0; 32])}}}, "power": "10"})
        );
    }
}
