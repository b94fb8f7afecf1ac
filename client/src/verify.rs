//! Checking a proved query answer: every proof op must be a Jellyfish Merkle
//! proof of the state key the client expects for the path (derived by the
//! client, never taken from the node), of the value the node returned (or of
//! its absence), against an app hash.

use synod_protocol::{
    codec,
    params::ChainParams,
    proof::verify_state_proof,
    query::{QueryPath, JMT_PROOF_OP},
};
use tendermint::merkle::proof::ProofOp;

use crate::ClientError;

/// Checks that `value` (`None`: absent) is what state holds for `path` under
/// `app_hash`, given the answer's proof ops.
pub fn verify_answer(
    path: &QueryPath,
    value: Option<&[u8]>,
    ops: &[ProofOp],
    app_hash: &[u8],
) -> Result<(), ClientError> {
    let fail = |reason: String| ClientError::Proof {
        path: path.to_string(),
        reason,
    };
    let root: [u8; 32] = app_hash.try_into().map_err(|_| {
        fail(format!(
            "the app hash has {} bytes, expected 32",
            app_hash.len()
        ))
    })?;
    let keys = path.proved_keys();
    if keys.is_empty() {
        return Err(fail(
            "this path has no proof (a computed list); prove each /validator/{addr} instead".into(),
        ));
    }
    if ops.len() != keys.len() {
        return Err(fail(format!(
            "the answer carries {} proof ops, expected {} (one per state key)",
            ops.len(),
            keys.len()
        )));
    }
    let parts: Vec<Option<Vec<u8>>> = match (path, value) {
        (QueryPath::Params, Some(v)) => {
            let params: ChainParams = codec::decode(v)
                .map_err(|e| fail(format!("the params value does not decode: {e}")))?;
            // In the order of `ChainParams::MODULES` and of `proved_keys()`.
            let parts = [
                codec::encode(&params.accounts),
                codec::encode(&params.staking),
                codec::encode(&params.reputation),
                codec::encode(&params.rewards),
                codec::encode(&params.models),
                codec::encode(&params.governance),
                codec::encode(&params.agents),
                codec::encode(&params.runs),
                codec::encode(&params.disputes),
            ];
            if parts.concat() != v {
                return Err(fail(format!(
                    "the params value is not its {} module parts back to back",
                    parts.len()
                )));
            }
            parts.into_iter().map(Some).collect()
        }
        (QueryPath::Params, None) => {
            return Err(fail("the chain answered /params without a value".into()))
        }
        (_, v) => vec![v.map(<[u8]>::to_vec)],
    };
    for ((op, key), part) in ops.iter().zip(&keys).zip(&parts) {
        if op.field_type != JMT_PROOF_OP {
            return Err(fail(format!(
                "proof op type {:?}, expected {JMT_PROOF_OP:?}",
                op.field_type
            )));
        }
        if op.key != *key {
            return Err(fail(format!(
                "the node proved key {:?}, but this path reads key {:?}",
                String::from_utf8_lossy(&op.key),
                String::from_utf8_lossy(key)
            )));
        }
        verify_state_proof(root, key, part.as_deref(), &op.data)
            .map_err(|e| fail(e.to_string()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use synod_protocol::Address;

    fn op(key: Vec<u8>) -> ProofOp {
        ProofOp {
            field_type: JMT_PROOF_OP.into(),
            key,
            data: vec![0; 8],
        }
    }

    #[test]
    fn a_proof_of_another_key_is_refused_before_any_merkle_check() {
        let a = Address([1; 20]);
        let b = Address([2; 20]);
        let path = QueryPath::Account(a);
        let ops = QueryPath::Account(b)
            .proved_keys()
            .into_iter()
            .map(op)
            .collect::<Vec<_>>();
        let err = verify_answer(&path, Some(b"x"), &ops, &[0; 32]).unwrap_err();
        assert!(err.to_string().contains("this path reads key"), "{err}");
    }

    #[test]
    fn missing_proof_ops_and_short_app_hashes_are_refused() {
        let path = QueryPath::Account(Address([1; 20]));
        assert!(verify_answer(&path, None, &[], &[0; 32]).is_err());
        let ops: Vec<_> = path.proved_keys().into_iter().map(op).collect();
        assert!(verify_answer(&path, None, &ops, &[0; 31]).is_err());
        assert!(verify_answer(&QueryPath::Validators, None, &[], &[0; 32]).is_err());
    }

    #[test]
    fn the_params_value_is_split_into_one_part_per_proved_key() {
        // Every module's part reaches the Merkle check (which garbage proof
        // bytes fail), rather than the answer being refused as mis-split.
        let path = QueryPath::Params;
        let value = codec::encode(&ChainParams::default());
        let ops: Vec<_> = path.proved_keys().into_iter().map(op).collect();
        assert_eq!(ops.len(), ChainParams::MODULES.len());
        let err = verify_answer(&path, Some(&value), &ops, &[0; 32]).unwrap_err();
        assert!(!err.to_string().contains("module parts"), "{err}");
        assert!(err.to_string().contains("Merkle proof"), "{err}");
    }

    #[test]
    fn garbage_proof_bytes_are_refused() {
        let path = QueryPath::Account(Address([1; 20]));
        let ops: Vec<_> = path.proved_keys().into_iter().map(op).collect();
        assert!(matches!(
            verify_answer(&path, Some(b"v"), &ops, &[0; 32]),
            Err(ClientError::Proof { .. })
        ));
    }
}
