//! `synod workflow …`: submit a run of a registered workflow, follow it,
//! and (until the agent process exists) execute an assigned step from the
//! command line: run the model, prove, submit.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Subcommand;
use serde_json::{json, Value};
use synod_client::{Amount, Client, QueryPath, TxBody};
use synod_protocol::runs::{RunRecord, RunStatus, StepStatus};
use synod_zkml::{circuit, Tensor};

use super::{
    model::{load_model, progress},
    query::{show_with, IfAbsent, ReadFlags},
    tx::TxFlags,
    Context,
};

#[derive(Debug, Subcommand)]
pub enum WorkflowCommand {
    /// Start a run of a registered workflow, escrowing its budget.
    Submit {
        #[command(flatten)]
        flags: TxFlags,
        /// The workflow's name.
        name: String,
        /// The run's input: a JSON array of int8 values.
        #[arg(
            long,
            conflicts_with = "input_file",
            required_unless_present = "input_file"
        )]
        input: Option<String>,
        /// A file holding the run's input as a JSON array of int8 values.
        #[arg(long)]
        input_file: Option<PathBuf>,
        /// The escrow, at least the sum of the steps' rewards (leftover returns).
        #[arg(long)]
        budget: Amount,
        /// The workflow version (default: the registered one).
        #[arg(long)]
        version: Option<u32>,
        /// Follow the run until it is verified or fails (at most --follow-secs).
        #[arg(long)]
        follow: bool,
        #[arg(long, default_value_t = 120)]
        follow_secs: u64,
    },
    /// One run: its steps, their agents and results.
    Show {
        /// The run id.
        run: u64,
        #[command(flatten)]
        read: ReadFlags,
    },
    /// Every run still running (no proof: a computed list).
    Runs,
    /// A verified execution by workflow hash: the paper's `verifiedWorkflows`.
    Verified {
        /// 64 hex digits, as `workflow_verified` names it.
        hash: String,
        #[command(flatten)]
        read: ReadFlags,
    },
    /// Execute the steps of RUN assigned to the --from key: run the pinned
    /// model on the step's input, prove it and submit the result.
    Execute {
        #[command(flatten)]
        flags: TxFlags,
        /// The run id.
        run: u64,
        /// The .synod-model files to take the pinned models from (repeat).
        #[arg(long = "model", required = true)]
        models: Vec<PathBuf>,
    },
}

pub async fn run(ctx: &Context, cmd: WorkflowCommand) -> anyhow::Result<()> {
    match cmd {
        WorkflowCommand::Submit {
            flags,
            name,
            input,
            input_file,
            budget,
            version,
            follow,
            follow_secs,
        } => {
            let text = match (input, input_file) {
                (Some(text), _) => text,
                (None, Some(path)) => std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?,
                (None, None) => anyhow::bail!("pass --input JSON or --input-file FILE"),
            };
            let input: Vec<i32> = serde_json::from_str(text.trim())
                .context("bad --input: expected a JSON array of int8 values")?;
            if let Some(i) = input.iter().position(|v| i8::try_from(*v).is_err()) {
                anyhow::bail!(
                    "bad --input: value {} at position {i} is not int8",
                    input[i]
                );
            }
            let client = flags.client(ctx).await?;
            let version = match version {
                Some(v) => v,
                None => client
                    .workflow(&name, false)
                    .await?
                    .value()
                    .map(|w| w.version)
                    .with_context(|| format!("no workflow {name:?} is registered"))?,
            };
            let key = flags.key(ctx)?;
            let outcome = flags
                .sign_and_send(
                    &client,
                    &key,
                    TxBody::SubmitRun {
                        workflow: name,
                        version,
                        input,
                        budget,
                    },
                )
                .await?;
            let id = outcome
                .events
                .iter()
                .find(|(kind, _)| kind == "run_submitted")
                .and_then(|(_, attributes)| attributes.iter().find(|(k, _)| k == "run"))
                .and_then(|(_, v)| v.parse::<u64>().ok())
                .context("the chain accepted the run but named no run id")?;
            if !follow {
                let run = client.run(id, false).await?.value().cloned();
                ctx.output.emit(
                    json!({"run": id, "hash": outcome.hash.to_string(), "height": outcome.height, "record": run.as_ref().map(run_json)}),
                    || match &run {
                        Some(r) => format!("run {id} started in block {}\n{}", outcome.height.unwrap_or(0), run_text(r)),
                        None => format!("run {id} started"),
                    },
                );
                return Ok(());
            }
            let done = follow_run(ctx, &client, id, Duration::from_secs(follow_secs)).await?;
            ctx.output.emit(run_json(&done), || run_text(&done));
            Ok(())
        }
        WorkflowCommand::Show { run, read } => {
            let client = ctx.client().await?;
            let absent = IfAbsent::NotFound(
                "no run with this id (list the running ones with `synod workflow runs`)",
            );
            show_with(
                ctx,
                &client,
                &QueryPath::Run(run),
                &read,
                absent,
                run_json,
                run_text,
            )
            .await
        }
        WorkflowCommand::Runs => {
            let list = ctx.client().await?.runs().await?;
            ctx.output
                .emit(json!(list.iter().map(run_json).collect::<Vec<_>>()), || {
                    if list.is_empty() {
                        return "no runs running".into();
                    }
                    list.iter()
                        .map(|r| {
                            format!(
                                "run {}  {} v{}  escrow {}  {}",
                                r.id,
                                r.workflow,
                                r.version,
                                r.escrow.to_syn_string(),
                                progress_text(r)
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                });
            Ok(())
        }
        WorkflowCommand::Verified { hash, read } => show_verified(ctx, &hash, &read).await,
        WorkflowCommand::Execute { flags, run, models } => execute(ctx, &flags, run, &models).await,
    }
}

/// `synod workflow verified HASH` (also `synod query verified HASH`).
pub async fn show_verified(ctx: &Context, hash: &str, read: &ReadFlags) -> anyhow::Result<()> {
    let bytes: [u8; 32] = hex::decode(hash.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .with_context(|| format!("bad HASH {hash:?}: a workflow hash is 64 hex digits"))?;
    let client = ctx.client().await?;
    let absent = IfAbsent::NotFound("no verified execution has this workflow hash");
    show_with(
        ctx,
        &client,
        &QueryPath::Verified(bytes),
        read,
        absent,
        |v: &synod_protocol::runs::VerifiedWorkflow| json!(v),
        |v| {
            format!(
                "verified: workflow {} version {}, run {}\nverifier: {}\nheight:   {}",
                v.workflow, v.version, v.run, v.verifier, v.height
            )
        },
    )
    .await
}

/// Polls run `id` until it is verified or failed (or `limit` passes),
/// printing each change of a step on stderr.
async fn follow_run(
    ctx: &Context,
    client: &Client,
    id: u64,
    limit: Duration,
) -> anyhow::Result<RunRecord> {
    let deadline = Instant::now() + limit;
    let mut last = String::new();
    loop {
        let run = client
            .run(id, false)
            .await?
            .value()
            .cloned()
            .with_context(|| format!("run {id} is not on chain"))?;
        let now = run_text(&run);
        if now != last && ctx.output == super::output::Output::Text {
            eprintln!("{now}\n");
            last = now;
        }
        if !run.is_running() {
            return Ok(run);
        }
        if Instant::now() > deadline {
            anyhow::bail!(
                "run {id} is still running after {} s: {}",
                limit.as_secs(),
                progress_text(&run)
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Runs, proves and submits every step of `run` assigned to the --from key.
async fn execute(ctx: &Context, flags: &TxFlags, id: u64, files: &[PathBuf]) -> anyhow::Result<()> {
    let key = flags.key(ctx)?;
    let me = key.public().address();
    let client = flags.client(ctx).await?;
    let mut loaded = Vec::new();
    for path in files {
        loaded.push(load_model(path)?);
    }
    let max_k = client.params().await?.models.max_k;
    let run = client
        .run(id, false)
        .await?
        .value()
        .cloned()
        .with_context(|| format!("no run {id} on chain"))?;
    let mine: Vec<usize> = (0..run.steps.len())
        .filter(
            |&i| matches!(run.steps[i].status, StepStatus::Assigned { agent, .. } if agent == me),
        )
        .collect();
    if mine.is_empty() {
        anyhow::bail!(
            "no step of run {id} is assigned to {me} now:\n{}",
            run_text(&run)
        );
    }
    let mut done = Vec::new();
    for i in mine {
        let pinned = run.models[i];
        let model = loaded.iter().find(|m| m.id.0 == pinned).with_context(|| {
            format!(
                "step {i} runs model {}; pass its .synod-model file with --model",
                hex::encode(pinned)
            )
        })?;
        let input = run.step_input(i);
        let tensor = Tensor::new(model.model.input.shape.clone(), input)
            .with_context(|| format!("step {i}'s input does not fit the model's input shape"))?;
        let zk =
            circuit::ZkModel::from_ir(&model.model, max_k).context("this model has no circuit")?;
        let (params, _) =
            progress::spin(&format!("deriving IPA parameters (k = {})", zk.k()), || {
                circuit::params(zk.k())
            });
        let params = params.context("deriving the parameters")?;
        let (setup, _) = progress::spin("deriving the proving key", || zk.setup(&params));
        let setup = setup.context("deriving the proving key")?;
        let (proved, _) = progress::spin(&format!("proving step {i}"), || {
            circuit::prove_inference(&setup, &tensor)
        });
        let (output, proof) = proved.context("proving")?;
        let outcome = flags
            .sign_and_send(
                &client,
                &key,
                TxBody::SubmitResult {
                    run: id,
                    step: i as u32,
                    output: output.values().to_vec(),
                    proof,
                },
            )
            .await?;
        done.push(json!({"step": i, "output": output.values(), "hash": outcome.hash.to_string(), "height": outcome.height}));
    }
    let after = client.run(id, false).await?.value().cloned();
    ctx.output.emit(
        json!({"run": id, "submitted": done, "record": after.as_ref().map(run_json)}),
        || {
            let mut text = done
                .iter()
                .map(|d| {
                    format!(
                        "step {} submitted: output {} (tx {})",
                        d["step"],
                        d["output"],
                        d["hash"].as_str().unwrap_or("")
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            if let Some(r) = &after {
                text.push('\n');
                text.push_str(&run_text(r));
            }
            text
        },
    );
    Ok(())
}

fn status_text(run: &RunRecord) -> String {
    match &run.status {
        RunStatus::Running => "running".into(),
        RunStatus::Verified {
            workflow_hash,
            verifier,
            height,
        } => format!(
            "verified at height {height} by {verifier}\nworkflow hash {}",
            hex::encode(workflow_hash)
        ),
        RunStatus::Failed {
            step,
            reason,
            height,
        } => format!("failed at height {height}, step {step}: {reason}"),
    }
}

fn progress_text(run: &RunRecord) -> String {
    let finals = run
        .steps
        .iter()
        .filter(|s| matches!(s.status, StepStatus::Final { .. }))
        .count();
    format!("{finals}/{} steps final", run.steps.len())
}

fn run_text(run: &RunRecord) -> String {
    let steps = run
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let name = &run.spec.steps[i].name;
            let state = match &s.status {
                StepStatus::Waiting => "waiting for its inputs".to_string(),
                StepStatus::Assigned { agent, deadline } => {
                    format!(
                        "assigned to {agent} until height {deadline} (attempt {})",
                        s.attempts
                    )
                }
                StepStatus::Final {
                    agent,
                    output,
                    height,
                } => {
                    format!("final at height {height} by {agent}: {output:?}")
                }
                StepStatus::Asserted {
                    agent,
                    output,
                    window_end,
                    open_disputes,
                    ..
                } => format!(
                    "asserted by {agent} (optimistic, challengeable until height {window_end}, {open_disputes} dispute(s) open): {output:?}"
                ),
            };
            format!("  step {i} ({name}): {state}")
        })
        .collect::<Vec<_>>()
        .join("\n");
    format!(
        "run {}: {} version {}, submitted by {} at height {}\nescrow {} of {}; {}\n{}",
        run.id,
        run.workflow,
        run.version,
        run.submitter,
        run.submitted_height,
        run.escrow.to_syn_string(),
        run.budget.to_syn_string(),
        status_text(run),
        steps
    )
}

fn run_json(run: &RunRecord) -> Value {
    let steps: Vec<Value> = run
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            json!({
                "name": run.spec.steps[i].name,
                "model": hex::encode(run.models[i]),
                "status": s.status,
                "attempts": s.attempts,
                "executors": s.executors.iter().map(ToString::to_string).collect::<Vec<_>>(),
            })
        })
        .collect();
    let status = match &run.status {
        RunStatus::Running => json!({"running": {}}),
        RunStatus::Verified {
            workflow_hash,
            verifier,
            height,
        } => {
            json!({"verified": {"workflow_hash": hex::encode(workflow_hash), "verifier": verifier.to_string(), "height": height}})
        }
        RunStatus::Failed {
            step,
            reason,
            height,
        } => {
            json!({"failed": {"step": step, "reason": reason, "height": height}})
        }
    };
    json!({
        "id": run.id,
        "workflow": run.workflow,
        "version": run.version,
        "spec_hash": hex::encode(run.spec_hash),
        "submitter": run.submitter.to_string(),
        "input": run.input,
        "budget": run.budget,
        "escrow": run.escrow,
        "status": status,
        "steps": steps,
        "submitted_height": run.submitted_height,
    })
}
