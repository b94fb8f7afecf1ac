//! Scenarios: what a simulation runs (validators, actors and their counts,
//! parameter overrides, the workflow, outages, blocks, seed), read from
//! TOML. Every scenario file is outside input: unknown fields are refused
//! and every error names the field it is about.

use serde::{Deserialize, Serialize};
use synod_protocol::params::ChainParams;

use crate::error::ScenarioError;

/// The built-in scenarios, embedded in the binary: `(name, TOML text)`.
pub const BUILTIN: &[(&str, &str)] = &[
    ("baseline", include_str!("../scenarios/baseline.toml")),
    (
        "offline-agents",
        include_str!("../scenarios/offline-agents.toml"),
    ),
    ("sybil-split", include_str!("../scenarios/sybil-split.toml")),
    (
        "sybil-reregister",
        include_str!("../scenarios/sybil-reregister.toml"),
    ),
    (
        "governance-whale",
        include_str!("../scenarios/governance-whale.toml"),
    ),
    (
        "censoring-coalition",
        include_str!("../scenarios/censoring-coalition.toml"),
    ),
    (
        "demand-spike",
        include_str!("../scenarios/demand-spike.toml"),
    ),
];

/// A whole scenario.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name (used in output file names).
    pub name: String,
    /// What the scenario shows, in a sentence or two.
    #[serde(default)]
    pub description: String,
    /// Seed of the run's one random generator (split per actor).
    pub seed: u64,
    /// Blocks to simulate.
    pub blocks: u64,
    /// Distinct run inputs requesters draw from (proofs are made once per
    /// model and input, so this bounds the proving work).
    #[serde(default = "default_input_pool")]
    pub input_pool: u32,
    /// Most transactions a block carries (the rest wait in the mempool).
    #[serde(default = "default_max_block_txs")]
    pub max_block_txs: u32,
    /// Write a metrics row every this many blocks (and at the last block).
    #[serde(default = "default_every")]
    pub metrics_every: u64,
    /// The passive honest validators (actors may add more).
    pub validators: ValidatorsSpec,
    /// Parameter overrides: `[params.MODULE] name = value`, applied to the
    /// default chain params and checked against every bound.
    #[serde(default)]
    pub params: toml::Table,
    /// The genesis workflow requesters run.
    #[serde(default)]
    pub workflow: WorkflowSpec,
    /// The actors, in order (their order is the order their txs enter the mempool).
    #[serde(default)]
    pub actors: Vec<ActorSpec>,
    /// Times when validators go absent (sign no block).
    #[serde(default)]
    pub outages: Vec<Outage>,
}

fn default_input_pool() -> u32 {
    4
}
fn default_max_block_txs() -> u32 {
    5_000
}
fn default_every() -> u64 {
    1
}

/// The passive honest validators.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidatorsSpec {
    pub count: u32,
    pub stake_syn: u64,
}

/// The genesis workflow `pipeline`: two roots running model `sim-left` on
/// the run's input, and a join running `sim-join` on both outputs.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowSpec {
    pub timeout_blocks: u64,
    pub reward_syn: u64,
    pub retries: u32,
    pub min_bond_syn: u64,
}

impl Default for WorkflowSpec {
    fn default() -> Self {
        WorkflowSpec {
            timeout_blocks: 4,
            reward_syn: 2,
            retries: 2,
            min_bond_syn: 100,
        }
    }
}

/// A group of `count` actors of one kind; the other fields are the kind's
/// own options (see each actor's file).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ActorSpec {
    /// The actor kind (see `synod-sim list`).
    pub kind: String,
    /// How many actors of this group.
    #[serde(default = "one")]
    pub count: u32,
    /// Metrics class (defaults to the kind): actors of a class are summed.
    #[serde(default)]
    pub class: Option<String>,
    /// The kind's options.
    #[serde(flatten)]
    pub options: toml::Table,
}

fn one() -> u32 {
    1
}

impl ActorSpec {
    /// The metrics class.
    pub fn class(&self) -> &str {
        self.class.as_deref().unwrap_or(&self.kind)
    }
}

/// Validators absent from `from` to `until` (inclusive blocks).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outage {
    /// Indexes into the validator list (passive ones first, then actors' in order).
    pub validators: Vec<u32>,
    pub from: u64,
    pub until: u64,
}

impl Scenario {
    /// Parses and checks a scenario.
    pub fn parse(text: &str) -> Result<Scenario, ScenarioError> {
        let value: toml::Table =
            text.parse()
                .map_err(|e: toml::de::Error| ScenarioError::Toml {
                    message: e.to_string(),
                })?;
        Scenario::from_table(value)
    }

    /// A scenario from a TOML table (after `--vary` edits).
    pub fn from_table(table: toml::Table) -> Result<Scenario, ScenarioError> {
        let s: Scenario = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| ScenarioError::Toml {
                message: e.to_string(),
            })?;
        s.check()?;
        Ok(s)
    }

    /// A built-in scenario by name, or a scenario file by path.
    pub fn load(name_or_path: &str) -> Result<Scenario, ScenarioError> {
        Scenario::parse(&Scenario::text(name_or_path)?)
    }

    /// The TOML text of a built-in scenario or of a file.
    pub fn text(name_or_path: &str) -> Result<String, ScenarioError> {
        if let Some((_, text)) = BUILTIN.iter().find(|(n, _)| *n == name_or_path) {
            return Ok((*text).to_string());
        }
        std::fs::read_to_string(name_or_path).map_err(|e| ScenarioError::Unknown {
            name: name_or_path.to_string(),
            reason: e.to_string(),
            builtin: BUILTIN
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    fn check(&self) -> Result<(), ScenarioError> {
        let bad = |field: &str, reason: &str| {
            Err(ScenarioError::Field {
                field: field.to_string(),
                reason: reason.to_string(),
            })
        };
        if self.blocks == 0 || self.blocks > 10_000_000 {
            return bad("blocks", "must be 1 ..= 10000000");
        }
        if self.input_pool == 0 || self.input_pool > 1_000 {
            return bad("input_pool", "must be 1 ..= 1000");
        }
        if self.max_block_txs == 0 {
            return bad("max_block_txs", "must be at least 1");
        }
        if self.metrics_every == 0 {
            return bad("metrics_every", "must be at least 1");
        }
        if self.validators.count > 1_000 {
            return bad("validators.count", "must be at most 1000");
        }
        if self.workflow.timeout_blocks == 0 {
            return bad("workflow.timeout_blocks", "must be at least 1");
        }
        for (i, a) in self.actors.iter().enumerate() {
            if a.count == 0 || a.count > 100_000 {
                return bad(&format!("actors[{i}].count"), "must be 1 ..= 100000");
            }
        }
        for (i, o) in self.outages.iter().enumerate() {
            if o.from > o.until {
                return bad(&format!("outages[{i}]"), "`from` is after `until`");
            }
        }
        self.chain_params()?;
        Ok(())
    }

    /// The chain params: the defaults with the `[params]` overrides.
    pub fn chain_params(&self) -> Result<ChainParams, ScenarioError> {
        let mut params = ChainParams::default();
        for (module, names) in &self.params {
            let toml::Value::Table(names) = names else {
                return Err(ScenarioError::Field {
                    field: format!("params.{module}"),
                    reason: "must be a table of `name = value`".into(),
                });
            };
            for (name, value) in names {
                let json = serde_json::to_string(value).map_err(|e| ScenarioError::Field {
                    field: format!("params.{module}.{name}"),
                    reason: e.to_string(),
                })?;
                // Amounts are decimal strings in the params' JSON.
                let json = match value {
                    toml::Value::String(_) => json,
                    toml::Value::Integer(i) if is_amount(&params, module, name) => {
                        format!("\"{}\"", i128::from(*i) * 1_000_000)
                    }
                    _ => json,
                };
                params = params.set_unchecked(module, name, &json).map_err(|e| {
                    ScenarioError::Field {
                        field: format!("params.{module}.{name}"),
                        reason: e.to_string(),
                    }
                })?;
            }
        }
        params.validate().map_err(|e| ScenarioError::Field {
            field: "params".into(),
            reason: e.to_string(),
        })?;
        Ok(params)
    }
}

/// Whether `module.name` holds an amount (a JSON string of usyn).
fn is_amount(params: &ChainParams, module: &str, name: &str) -> bool {
    params
        .value_of(module, name)
        .is_some_and(|v| v.starts_with('"'))
}

/// Sets the dotted `path` (`blocks`, `params.runs.timeout_slash_ppm`,
/// `actors.1.count`) of a scenario table to `value` (read as a TOML value:
/// a number, a boolean, else a string).
pub fn set_path(table: &mut toml::Table, path: &str, value: &str) -> Result<(), ScenarioError> {
    let parsed = parse_value(value);
    let parts: Vec<&str> = path.split('.').collect();
    let bad = |reason: String| ScenarioError::Field {
        field: path.to_string(),
        reason,
    };
    let (last, init) = parts
        .split_last()
        .ok_or_else(|| bad("an empty key".into()))?;
    let Some(first) = init.first() else {
        if !table.contains_key(*last) {
            return Err(bad("no such field in the scenario".into()));
        }
        table.insert((*last).to_string(), parsed);
        return Ok(());
    };
    // Tables a scenario may leave out are created on the way (`params.runs`).
    if *first == "params" && !table.contains_key("params") {
        table.insert("params".into(), toml::Value::Table(toml::Table::new()));
    }
    let mut cur: &mut toml::Value = table
        .get_mut(*first)
        .ok_or_else(|| bad("no such field in the scenario".into()))?;
    for part in &init[1..] {
        cur = step(cur, part).ok_or_else(|| bad(format!("no `{part}` here")))?;
    }
    match cur {
        toml::Value::Table(t) => {
            t.insert((*last).to_string(), parsed);
        }
        toml::Value::Array(a) => {
            let i: usize = last
                .parse()
                .map_err(|_| bad(format!("`{last}` is not an array index")))?;
            *a.get_mut(i)
                .ok_or_else(|| bad(format!("index {i} is past the end")))? = parsed;
        }
        _ => return Err(bad(format!("cannot set `{last}` inside a value"))),
    }
    Ok(())
}

fn step<'a>(v: &'a mut toml::Value, part: &str) -> Option<&'a mut toml::Value> {
    match v {
        toml::Value::Table(t) => {
            if !t.contains_key(part) {
                t.insert(part.to_string(), toml::Value::Table(toml::Table::new()));
            }
            t.get_mut(part)
        }
        toml::Value::Array(a) => a.get_mut(part.parse::<usize>().ok()?),
        _ => None,
    }
}

fn parse_value(value: &str) -> toml::Value {
    if let Ok(i) = value.parse::<i64>() {
        return toml::Value::Integer(i);
    }
    if let Ok(b) = value.parse::<bool>() {
        return toml::Value::Boolean(b);
    }
    if let Ok(f) = value.parse::<f64>() {
        return toml::Value::Float(f);
    }
    toml::Value::String(value.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_builtin_scenario_parses() {
        for (name, text) in BUILTIN {
            let s = Scenario::parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(&s.name, name);
        }
    }

    #[test]
    fn a_bad_scenario_is_refused_naming_the_field() {
        let base = BUILTIN[0].1;
        let e = Scenario::parse(&base.replace("blocks =", "blocs =")).unwrap_err();
        assert!(e.to_string().contains("blocs"), "{e}");
        let mut t: toml::Table = base.parse().unwrap_or_default();
        set_path(&mut t, "params.runs.timeout_slash_ppm", "2000000").unwrap_or(());
        let e = Scenario::from_table(t).unwrap_err();
        assert!(e.to_string().contains("params"), "{e}");
        let mut t: toml::Table = base.parse().unwrap_or_default();
        set_path(&mut t, "params.runs.no_such_param", "1").unwrap_or(());
        let e = Scenario::from_table(t).unwrap_err();
        assert!(e.to_string().contains("params.runs.no_such_param"), "{e}");
        let mut t: toml::Table = base.parse().unwrap_or_default();
        let e = set_path(&mut t, "nothing.here", "1").unwrap_err();
        assert!(e.to_string().contains("nothing.here"), "{e}");
    }

    #[test]
    fn vary_sets_nested_fields_and_array_items() {
        let mut t: toml::Table = BUILTIN[0].1.parse().unwrap_or_default();
        set_path(&mut t, "blocks", "7").unwrap_or(());
        set_path(&mut t, "actors.0.count", "3").unwrap_or(());
        let s = Scenario::from_table(t).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((s.blocks, s.actors[0].count), (7, 3));
    }
}
