//! CometBFT's event query language (`tm.event='Tx' AND transfer.amount > 5`)
//! matched against a block's or a tx's flattened events. The parser is
//! tendermint-rpc's; this is the matcher a server needs.

use std::collections::BTreeMap;

use tendermint_rpc::query::{EventType, Operand, Operation, Query};

/// Flattened events: `type.key` -> every value it took (`tm.event` included).
pub type Attributes = BTreeMap<String, Vec<String>>;

/// Whether `events` satisfy every condition of `query`.
pub fn matches(query: &Query, events: &Attributes) -> bool {
    if let Some(kind) = &query.event_type {
        let want = match kind {
            EventType::NewBlock => "NewBlock",
            EventType::Tx => "Tx",
        };
        if !events
            .get("tm.event")
            .is_some_and(|v| v.iter().any(|x| x == want))
        {
            return false;
        }
    }
    query.conditions.iter().all(|c| {
        let Some(values) = events.get(&c.key) else {
            return false;
        };
        values.iter().any(|v| satisfies(v, &c.operation))
    })
}

fn satisfies(value: &str, op: &Operation) -> bool {
    use std::cmp::Ordering::*;
    let cmp = |operand: &Operand| compare(value, operand);
    match op {
        Operation::Eq(o) => cmp(o) == Some(Equal),
        Operation::Lt(o) => cmp(o) == Some(Less),
        Operation::Lte(o) => matches!(cmp(o), Some(Less | Equal)),
        Operation::Gt(o) => cmp(o) == Some(Greater),
        Operation::Gte(o) => matches!(cmp(o), Some(Greater | Equal)),
        Operation::Contains(s) => value.contains(s.as_str()),
        Operation::Exists => true,
    }
}

/// Orders an event value against an operand: numbers numerically (an
/// unparsable value never matches), strings and dates by their text.
fn compare(value: &str, operand: &Operand) -> Option<std::cmp::Ordering> {
    match operand {
        Operand::String(s) => Some(value.cmp(s.as_str())),
        Operand::Signed(n) => value.parse::<i128>().ok().map(|v| v.cmp(&i128::from(*n))),
        Operand::Unsigned(n) => value.parse::<i128>().ok().map(|v| v.cmp(&i128::from(*n))),
        Operand::Float(f) => value.parse::<f64>().ok().and_then(|v| v.partial_cmp(f)),
        other => Some(value.cmp(other.to_string().trim_matches('\''))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, &str)]) -> Attributes {
        let mut out = Attributes::new();
        for (k, v) in pairs {
            out.entry((*k).into()).or_default().push((*v).into());
        }
        out
    }

    #[test]
    fn event_type_and_conditions_must_all_hold() {
        let tx = attrs(&[
            ("tm.event", "Tx"),
            ("tx.height", "12"),
            ("workflow.run_id", "7"),
            ("transfer.memo", "hello world"),
        ]);
        let q = |s: &str| s.parse::<Query>().unwrap();
        assert!(matches(&q("tm.event='Tx'"), &tx));
        assert!(matches(&q("tm.event='Tx' AND workflow.run_id='7'"), &tx));
        assert!(!matches(&q("tm.event='Tx' AND workflow.run_id='8'"), &tx));
        assert!(!matches(&q("tm.event='NewBlock'"), &tx));
        assert!(matches(&q("tx.height > 11 AND tx.height <= 12"), &tx));
        assert!(!matches(&q("tx.height < 12"), &tx));
        assert!(matches(&q("transfer.memo CONTAINS 'world'"), &tx));
        assert!(matches(&q("workflow.run_id EXISTS"), &tx));
        assert!(!matches(&q("workflow.missing EXISTS"), &tx));
    }

    #[test]
    fn a_non_numeric_value_never_matches_a_number() {
        let e = attrs(&[("a.b", "seven")]);
        assert!(!matches(&"a.b > 3".parse::<Query>().unwrap(), &e));
    }
}
