//! How a proved read prints: the JSON `proof` object and the line saying
//! what the answer was checked against (the app hash, and the header's
//! light-client verification).

use serde_json::{json, Value};
use synod_client::{
    light::{HeaderCheck, RootSource},
    Answer, Proved, QueryPath,
};

/// The JSON document of a read, without its value:
/// `{"path", "proved"}`, and when proved `"height"` and `"proof"`.
pub(super) fn answer_doc<T>(path: &QueryPath, answer: &Answer<T>) -> Value {
    match answer {
        Answer::Unproved(_) => json!({ "path": path.to_string(), "proved": false }),
        Answer::Proved(proved) => json!({
            "path": path.to_string(),
            "proved": true,
            "height": proved.height,
            "proof": {
                "verified": true,
                "app_hash": hex::encode_upper(&proved.app_hash),
                "block": proved.height + 1,
                "light_client": light_client_json(proved),
            },
        }),
    }
}

/// The line saying at which height a proved read answers and what it was
/// checked against.
pub(super) fn proof_footer<T>(answer: &Answer<T>) -> Option<String> {
    match answer {
        Answer::Unproved(_) => None,
        Answer::Proved(proved) => Some(format!(
            "at height {}: proved against app hash {} of block {} (state after block {}; {})",
            proved.height,
            hex::encode_upper(&proved.app_hash),
            proved.height + 1,
            proved.height,
            header_note(proved)
        )),
    }
}

/// For a proved read that found nothing: ` (its absence is proved at
/// height H against app hash … of block H+1)`; empty when not proved.
pub(super) fn absence_note<T>(answer: &Answer<T>) -> String {
    match answer {
        Answer::Unproved(_) => String::new(),
        Answer::Proved(proved) => format!(
            " (its absence is proved at height {} against app hash {} of block {})",
            proved.height,
            hex::encode_upper(&proved.app_hash),
            proved.height + 1
        ),
    }
}

/// How the header was checked, as the footer says it.
fn header_note<T>(proved: &Proved<T>) -> String {
    match &proved.header {
        HeaderCheck::Unchecked => "the header is trusted from the node".into(),
        HeaderCheck::Verified {
            root_height,
            source,
            ..
        } => {
            let root = match source {
                RootSource::Given => "the header you trust",
                RootSource::FirstUse => "trusted on first use",
                RootSource::Stored => "the stored trust root",
            };
            format!("header signed by the validators, verified by the light client from block {root_height}, {root}")
        }
    }
}

/// `null` when the header was not checked, else the trust root it was
/// verified from.
fn light_client_json<T>(proved: &Proved<T>) -> Value {
    match &proved.header {
        HeaderCheck::Unchecked => Value::Null,
        HeaderCheck::Verified {
            root_height,
            root_hash,
            source,
        } => json!({
            "root_height": root_height,
            "root_hash": hex::encode_upper(root_hash),
            "root": match source {
                RootSource::Given => "given",
                RootSource::FirstUse => "first_use",
                RootSource::Stored => "stored",
            },
        }),
    }
}
