//! How workflow records read: as text for people and as JSON in the form
//! `gov propose update-workflow` reads back.

use serde_json::{json, Value};
use synod_client::proposal::{mode_name, WorkflowFile};
use synod_protocol::governance::{WorkflowRecord, WorkflowSpec};

/// A workflow name that fits in a query path.
pub(super) fn workflow_name_arg(name: &str) -> anyhow::Result<String> {
    if name.is_empty() || name.contains('/') {
        anyhow::bail!("bad NAME {name:?}: a workflow name is 1 to 64 of a-z, 0-9, '-', '_', '.'");
    }
    Ok(name.to_string())
}

/// A workflow record as JSON, its spec in the form `gov propose
/// update-workflow` reads (so it can be edited and proposed back).
pub(super) fn workflow_json(w: &WorkflowRecord) -> Value {
    json!({
        "name": w.spec.name,
        "version": w.version,
        "spec_hash": hex::encode(w.spec_hash),
        "registered_height": w.registered_height.value(),
        "updated_height": w.updated_height.value(),
        "proposal": w.proposal,
        "spec": WorkflowFile::from_spec(&w.spec),
    })
}

pub(super) fn workflow_text(w: &WorkflowRecord) -> String {
    let mut s = format!(
        "workflow:   {}\nversion:    {} (spec {})\nregistered: height {} by proposal {}, updated at height {}\nsteps:\n",
        w.spec.name,
        w.version,
        hex::encode(w.spec_hash),
        w.registered_height.value(),
        w.proposal,
        w.updated_height.value()
    );
    s.push_str(&workflow_steps_text(&w.spec));
    s
}

/// A workflow's steps, one indented line each.
pub(super) fn workflow_steps_text(spec: &WorkflowSpec) -> String {
    let mut s = String::new();
    for (i, step) in spec.steps.iter().enumerate() {
        let inputs = if step.inputs.is_empty() {
            "the run's input".to_string()
        } else {
            format!("steps {:?}", step.inputs)
        };
        let mut needs = Vec::new();
        if !step.min_bond.is_zero() {
            needs.push(format!("bond >= {}", step.min_bond.to_syn_string()));
        }
        if step.min_reputation > 0 {
            needs.push(format!("reputation >= {}", step.min_reputation));
        }
        if step.retries > 0 {
            needs.push(format!("{} retries", step.retries));
        }
        let needs = if needs.is_empty() {
            String::new()
        } else {
            format!("; executor {}", needs.join(", "))
        };
        s.push_str(&format!(
            "  {i}. {}: model {} ({}) on {inputs}, timeout {} blocks, reward {}{needs}\n",
            step.name,
            hex::encode(step.model),
            mode_name(step.mode),
            step.timeout_blocks,
            step.reward.to_syn_string()
        ));
    }
    s
}
