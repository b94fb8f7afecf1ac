//! The CometBFT side of genesis validation: the chain id, the genesis
//! time and the consensus parameters, as CometBFT 0.38 checks them.

use super::*;

impl Check {
    pub(super) fn chain_id(&mut self, value: Option<&Value>) -> Option<String> {
        let id = match value {
            Some(Value::String(id)) => id,
            Some(other) => {
                self.problem("chain_id", format!("expected a string, found {other}"));
                return None;
            }
            None => {
                self.problem("chain_id", "missing");
                return None;
            }
        };
        if id.is_empty() {
            self.problem("chain_id", "must not be empty");
        } else if id.len() > MAX_CHAIN_ID_LEN {
            self.problem(
                "chain_id",
                format!(
                    "is {} bytes long; CometBFT allows at most {MAX_CHAIN_ID_LEN}",
                    id.len()
                ),
            );
        }
        // tendermint-rs' rule (`chain::Id`), which synod-node reads it with.
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        if let Some(c) = id.chars().find(|&c| !allowed(c)) {
            self.problem(
                "chain_id",
                format!(
                    "{id:?} holds {c:?}: a chain id may hold only a-z, A-Z, 0-9, '-', '_' and '.'"
                ),
            );
        }
        Some(id.clone())
    }

    pub(super) fn genesis_time(&mut self, value: Option<&Value>) {
        match value {
            Some(Value::String(t)) => {
                if tendermint::Time::parse_from_rfc3339(t).is_err() {
                    self.problem(
                        "genesis_time",
                        format!("{t:?} is not an RFC 3339 time such as \"2024-01-01T00:00:00Z\""),
                    );
                }
            }
            Some(other) => {
                self.problem("genesis_time", format!("expected a string, found {other}"))
            }
            None => self.problem("genesis_time", "missing"),
        }
    }

    pub(super) fn consensus_params(&mut self, value: &Value) {
        let base = "consensus_params";
        let Some(params) = value.as_object() else {
            self.problem(base, format!("expected an object, found {value}"));
            return;
        };
        let mut block_max_bytes = None;
        if let Some(block) = self.object(params, base, "block") {
            let base = "consensus_params.block";
            if let Some(max) = self.int64_field(block, base, "max_bytes") {
                if max == -1 {
                    // CometBFT reads -1 as its largest block; tendermint-rs
                    // reads the field unsigned, so synod-node refuses it.
                    self.problem(
                        join(base, "max_bytes"),
                        format!("-1 (CometBFT's largest block) is refused by synod-node, which reads the size unsigned: write \"{MAX_BLOCK_SIZE_BYTES}\""),
                    );
                } else if max <= 0 {
                    self.problem(join(base, "max_bytes"), format!("{max} must be > 0"));
                } else if max > MAX_BLOCK_SIZE_BYTES {
                    self.problem(
                        join(base, "max_bytes"),
                        format!("{max} is above CometBFT's largest block, {MAX_BLOCK_SIZE_BYTES}"),
                    );
                } else {
                    block_max_bytes = Some(max);
                }
            }
            if let Some(gas) = self.int64_field(block, base, "max_gas") {
                if gas < -1 {
                    self.problem(
                        join(base, "max_gas"),
                        format!("{gas} must be >= -1 (-1: no limit)"),
                    );
                }
            }
        }
        if let Some(evidence) = self.object(params, base, "evidence") {
            let base = "consensus_params.evidence";
            if let Some(n) = self.int64_field(evidence, base, "max_age_num_blocks") {
                if n <= 0 {
                    self.problem(join(base, "max_age_num_blocks"), format!("{n} must be > 0"));
                }
            }
            if let Some(d) = self.int64_field(evidence, base, "max_age_duration") {
                if d <= 0 {
                    self.problem(
                        join(base, "max_age_duration"),
                        format!("{d} must be > 0 (nanoseconds, e.g. \"172800000000000\" for 48h)"),
                    );
                }
            }
            if let Some(bytes) = self.int64_field(evidence, base, "max_bytes") {
                if bytes < 0 {
                    self.problem(join(base, "max_bytes"), format!("{bytes} must be >= 0"));
                } else if let Some(block) = block_max_bytes.filter(|&b| bytes > b) {
                    self.problem(
                        join(base, "max_bytes"),
                        format!("{bytes} is more than a block holds (consensus_params.block.max_bytes = {block})"),
                    );
                }
            }
        }
        if let Some(validator) = self.object(params, base, "validator") {
            let path = "consensus_params.validator.pub_key_types";
            match validator.get("pub_key_types") {
                Some(Value::Array(types)) if types.is_empty() => {
                    self.problem(path, "must list at least one key type: [\"ed25519\"]");
                }
                Some(Value::Array(types)) => {
                    for (i, t) in types.iter().enumerate() {
                        if t.as_str() != Some("ed25519") {
                            self.problem(
                                format!("{path}[{i}]"),
                                format!("{t} is not supported: Synod's validators use \"ed25519\" keys only"),
                            );
                        }
                    }
                }
                Some(other) => self.problem(path, format!("expected a list, found {other}")),
                None => self.problem(path, "missing"),
            }
        }
        self.version_params(params.get("version"));
        if let Some(abci) = self.optional_object(params, base, "abci") {
            if let Some(height) = abci
                .get("vote_extensions_enable_height")
                .filter(|h| !h.is_null())
            {
                let path = "consensus_params.abci.vote_extensions_enable_height";
                if let Some(h) = self.int64(path, height) {
                    if h < 0 {
                        self.problem(path, format!("{h} must be >= 0 (0: disabled)"));
                    }
                }
            }
        }
    }

    /// `consensus_params.version` in the shape tendermint-rs reads: absent,
    /// null, `{}`, or an object with `app` (or its alias `app_version`), an
    /// unsigned integer in a string.
    pub(super) fn version_params(&mut self, value: Option<&Value>) {
        let base = "consensus_params.version";
        let version = match value {
            None | Some(Value::Null) => return,
            Some(Value::Object(v)) if v.is_empty() => return,
            Some(Value::Object(v)) => v,
            Some(other) => {
                self.problem(base, format!("expected an object, found {other}"));
                return;
            }
        };
        let (key, app) = match (version.get("app"), version.get("app_version")) {
            (Some(_), Some(_)) => {
                self.problem(
                    base,
                    "gives both `app` and its alias `app_version`: keep `app`",
                );
                return;
            }
            (Some(app), None) => ("app", app),
            (None, Some(app)) => ("app_version", app),
            (None, None) => {
                let keys: Vec<&str> = version.keys().map(String::as_str).collect();
                self.problem(
                    join(base, "app"),
                    format!(
                        "missing: version holds {} but not `app` (e.g. {{\"app\": \"0\"}}, or leave version empty)",
                        keys.join(", ")
                    ),
                );
                return;
            }
        };
        let readable = app.as_str().is_some_and(|s| s.parse::<u64>().is_ok());
        if !readable {
            self.problem(
                join(base, key),
                format!("{app} must be an unsigned integer in a string"),
            );
        }
    }

    /// An object field of `parent` that may be absent.
    pub(super) fn optional_object<'a>(
        &mut self,
        parent: &'a Map<String, Value>,
        base: &str,
        field: &str,
    ) -> Option<&'a Map<String, Value>> {
        match parent.get(field) {
            None => None,
            Some(Value::Object(o)) => Some(o),
            Some(other) => {
                self.problem(
                    join(base, field),
                    format!("expected an object, found {other}"),
                );
                None
            }
        }
    }
}
