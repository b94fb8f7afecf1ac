//! The executor role: at every new block, read the running runs, take each
//! step the chain assigned to this agent, run the pinned model on the
//! step's input (the chain's own rule, [`RunRecord::step_input`]), prove it,
//! submit `SubmitResult`, keep the output and the proof as payloads it
//! serves, and announce the task and the result on gossip.
//!
//! An optimistic step is answered with `SubmitOptimisticResult`: the
//! output, the root of the IR's execution trace (leaf proofs of the input
//! and the output) and the bond `disputes.result_bond` asks for the model's
//! size ([`synod_client::disputes::Player`] builds it); the result is final
//! after the challenge window unless challenged. Playing a dispute on it is
//! not wired into the agent yet (`synod dispute play` does it).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use synod_client::{
    events::{BlockFollower, Follow},
    Address, Client, SecretKey, TxBody,
};
use synod_protocol::{
    runs::{RunRecord, StepStatus},
    state::VerificationMode,
};
use tokio::sync::{mpsc, watch};

use crate::{
    metrics::Metrics,
    model::Model,
    network::{gossip::Announcement, now_ms, payload::PayloadStore, Network, Received},
    store::{Assignment, StateFile, StepRecord},
};

/// Test-only misbehaviour of the executor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExecutorFaults {
    /// Never execute: assignments time out (the chain reassigns them).
    pub lazy: bool,
}

/// The executor; see the module docs.
pub struct Executor {
    pub client: Client,
    pub key: SecretKey,
    pub models: BTreeMap<[u8; 32], Arc<dyn Model>>,
    pub network: Network,
    pub payloads: PayloadStore,
    pub state: StateFile,
    pub metrics: Arc<Metrics>,
    pub faults: ExecutorFaults,
    /// When the registered agents were last read (see `refresh_agents`).
    pub agents_seen_at: Option<u64>,
}

/// How often the executor re-reads the registered agents for gossip checks.
pub const AGENTS_REFRESH_BLOCKS: u64 = 10;

impl Executor {
    fn me(&self) -> Address {
        self.key.public().address()
    }

    /// Follows the chain until `shutdown` turns true. A step in progress
    /// is finished (submitted) before the loop looks at `shutdown` again.
    pub async fn run(
        mut self,
        mut follower: BlockFollower,
        mut shutdown: watch::Receiver<bool>,
        mut gossip: mpsc::Receiver<Received>,
    ) -> anyhow::Result<()> {
        loop {
            tokio::select! {
                _ = shutdown.changed() => {
                    tracing::info!("executor stopping");
                    return Ok(());
                }
                Some(r) = gossip.recv() => {
                    tracing::debug!(from = %r.from, message = ?r.message, "gossip");
                }
                follow = follower.next() => match follow {
                    Follow::Blocks(blocks) => {
                        self.metrics.chain_height.store(blocks.to, Ordering::Relaxed);
                        if let Err(e) = self.on_height(blocks.to).await {
                            self.metrics.rpc_errors.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!(height = blocks.to, error = %format!("{e:#}"), "handling a block failed; retrying at the next");
                            continue;
                        }
                        self.state.state.last_height = blocks.to;
                        self.state.save()?;
                    }
                    Follow::Unreachable(e) => {
                        self.metrics.rpc_errors.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(error = %e, "the node is unreachable; retrying");
                    }
                }
            }
        }
    }

    /// Tells the network the chain's active agents (whose gossip passes),
    /// at start and every [`AGENTS_REFRESH_BLOCKS`] blocks.
    async fn refresh_agents(&mut self, height: u64) {
        if self
            .agents_seen_at
            .is_some_and(|h| height < h + AGENTS_REFRESH_BLOCKS)
        {
            return;
        }
        match self.client.agents().await {
            Ok(list) => {
                let set = list
                    .into_iter()
                    .filter(|a| a.is_active())
                    .map(|a| a.address)
                    .collect();
                self.network.set_agents(set).await;
                self.agents_seen_at = Some(height);
            }
            Err(e) => tracing::debug!(error = %e, "reading /agents"),
        }
    }

    /// Takes every step assigned to this agent whose deadline is not past.
    async fn on_height(&mut self, height: u64) -> anyhow::Result<()> {
        self.refresh_agents(height).await;
        let runs = self.client.runs().await.context("reading /runs")?;
        let me = self.me();
        for run in &runs {
            for (i, step) in run.steps.iter().enumerate() {
                let StepStatus::Assigned { agent, deadline } = step.status else {
                    continue;
                };
                if agent != me || deadline.0 < height {
                    continue;
                }
                let a = Assignment {
                    run: run.id,
                    step: i as u32,
                    attempt: step.attempts,
                };
                if self.state.get(a).is_some_and(|r| r.accepted) {
                    continue;
                }
                if self.faults.lazy {
                    tracing::info!(run = run.id, step = i, "lazy (test fault): not executing");
                    continue;
                }
                let first_time = self.state.get(a).is_none();
                if first_time {
                    self.metrics.tasks_assigned.fetch_add(1, Ordering::Relaxed);
                    self.announce(Announcement::Task {
                        agent: me,
                        run: run.id,
                        step: i as u32,
                        model: run.models[i],
                        deadline: deadline.0,
                        sent_ms: now_ms(),
                    })
                    .await;
                }
                match run.spec.steps[i].mode {
                    VerificationMode::Zk => {
                        if let Err(e) = self.zk_step(run, i, a).await {
                            self.metrics.tasks_failed.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!(run = run.id, step = i, error = %format!("{e:#}"), "step failed; retrying at the next block");
                        }
                    }
                    VerificationMode::Optimistic => {
                        if let Err(e) = self.optimistic_step(run, i, a).await {
                            self.metrics.tasks_failed.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!(run = run.id, step = i, error = %format!("{e:#}"), "optimistic step failed; retrying at the next block");
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Runs, proves (or reuses the result kept from before a restart),
    /// submits and announces one zk step.
    async fn zk_step(&mut self, run: &RunRecord, i: usize, a: Assignment) -> anyhow::Result<()> {
        let model = self.models.get(&run.models[i]).cloned().with_context(|| {
            format!(
                "run {} step {i} pins model {}, which this agent does not hold",
                run.id,
                hex::encode(run.models[i])
            )
        })?;
        let record = match self.state.get(a).cloned() {
            Some(r) => r,
            None => {
                let input = run.step_input(i);
                let input_hash = self.payloads.put(&serde_json::to_vec(&input)?)?;
                let started = Instant::now();
                let proved = tokio::task::spawn_blocking(move || {
                    let traced = model.run_traced(&input)?;
                    let proved = model.prove(&input).unwrap_or_else(|| {
                        Err(crate::model::ModelError::Prove(
                            "this model cannot prove".into(),
                        ))
                    })?;
                    Ok::<_, crate::model::ModelError>((traced, proved))
                })
                .await
                .context("the proving task panicked")?;
                let (traced, proved) = proved?;
                anyhow::ensure!(
                    traced.output == proved.output,
                    "the traced run and the proof disagree on the output"
                );
                self.metrics.proofs.fetch_add(1, Ordering::Relaxed);
                self.metrics.proof_seconds.observe(started.elapsed());
                tracing::info!(
                    run = run.id,
                    step = i,
                    secs = started.elapsed().as_secs_f64(),
                    "proved"
                );
                let output_json = serde_json::to_vec(&proved.output)?;
                let record = StepRecord {
                    input_hash,
                    output_hash: self.payloads.put(&output_json)?,
                    proof: self.payloads.put(&proved.proof)?,
                    output: proved.output,
                    trace_root: traced.trace_root,
                    tx: None,
                    accepted: false,
                };
                self.state.put(a, record.clone())?;
                record
            }
        };
        let proof = self
            .payloads
            .get(&record.proof)?
            .context("the kept proof is missing from the payload store")?;
        let body = TxBody::SubmitResult {
            run: run.id,
            step: i as u32,
            output: record.output.clone(),
            proof,
        };
        let outcome = self.client.send(&self.key, body).await;
        let mut record = record;
        match outcome {
            Ok(done) => {
                record.tx = Some(done.hash.to_string());
                record.accepted = true;
                self.state.put(a, record.clone())?;
                self.metrics.tasks_done.fetch_add(1, Ordering::Relaxed);
                tracing::info!(run = run.id, step = i, tx = %done.hash, height = done.height.unwrap_or(0), "result accepted");
                self.announce(Announcement::Result {
                    agent: self.me(),
                    run: run.id,
                    step: i as u32,
                    input: record.input_hash,
                    output: record.output_hash,
                    proof: record.proof,
                    trace_root: record.trace_root,
                    sent_ms: now_ms(),
                })
                .await;
                Ok(())
            }
            Err(e) => Err(anyhow::Error::new(e).context("submitting the result")),
        }
    }

    /// Runs one optimistic step on the model's IR, submits the bonded
    /// result with its trace root, and announces it.
    async fn optimistic_step(
        &mut self,
        run: &RunRecord,
        i: usize,
        a: Assignment,
    ) -> anyhow::Result<()> {
        let model = self.models.get(&run.models[i]).cloned().with_context(|| {
            format!(
                "run {} step {i} pins model {}, which this agent does not hold",
                run.id,
                hex::encode(run.models[i])
            )
        })?;
        let ir = model
            .ir()
            .cloned()
            .context("this model has no IR to trace: it cannot answer an optimistic step the chain can dispute")?;
        let parameters: u64 = ir.nodes.iter().map(|n| n.op.parameter_count()).sum();
        let (run_id, step) = (run.id, i as u32);
        let record_run = run.clone();
        let player = tokio::task::spawn_blocking(move || {
            synod_client::disputes::Player::for_step(&record_run, step, ir)
        })
        .await
        .context("the tracing task panicked")?
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        let bond = self.client.params().await?.disputes.result_bond(parameters);
        let body = player.result(run_id, step, bond);
        let TxBody::SubmitOptimisticResult {
            output, trace_root, ..
        } = &body
        else {
            anyhow::bail!("the player built no optimistic result");
        };
        let input = run.step_input(i);
        let record = StepRecord {
            input_hash: self.payloads.put(&serde_json::to_vec(&input)?)?,
            output_hash: self.payloads.put(&serde_json::to_vec(output)?)?,
            proof: [0; 32],
            output: output.clone(),
            trace_root: *trace_root,
            tx: None,
            accepted: false,
        };
        let done = self
            .client
            .send(&self.key, body.clone())
            .await
            .context("submitting the optimistic result")?;
        let mut record = record;
        record.tx = Some(done.hash.to_string());
        record.accepted = true;
        self.state.put(a, record.clone())?;
        self.metrics.tasks_done.fetch_add(1, Ordering::Relaxed);
        tracing::info!(run = run_id, step, tx = %done.hash, bond = %bond, "optimistic result accepted");
        self.announce(Announcement::Result {
            agent: self.me(),
            run: run_id,
            step,
            input: record.input_hash,
            output: record.output_hash,
            proof: record.proof,
            trace_root: record.trace_root,
            sent_ms: now_ms(),
        })
        .await;
        Ok(())
    }

    async fn announce(&self, message: Announcement) {
        if let Err(e) = self.network.publish(message).await {
            // No peers yet is the usual reason; the chain is the source of truth.
            tracing::debug!(error = %e, "not announced");
        }
    }
}

/// Registers the key as an agent serving `models` with `bond`, or updates
/// its models when it is registered with others. Returns whether a tx was
/// sent.
pub async fn ensure_registered(
    client: &Client,
    key: &SecretKey,
    models: &[[u8; 32]],
    bond: synod_client::Amount,
    metadata: String,
) -> anyhow::Result<bool> {
    let me = key.public().address();
    let mut models = models.to_vec();
    models.sort();
    models.dedup();
    let max = client.params().await?.agents.max_metadata_bytes as usize;
    let metadata = if metadata.len() > max {
        String::new()
    } else {
        metadata
    };
    let current = client.agent(me, false).await?.into_value();
    let body = match current {
        Some(r) if r.models == models => return Ok(false),
        Some(_) => TxBody::UpdateAgent { models, metadata },
        None => TxBody::RegisterAgent {
            models,
            bond,
            metadata,
        },
    };
    let kind = body.kind();
    let done = client
        .send(key, body)
        .await
        .with_context(|| format!("sending {kind}"))?;
    tracing::info!(agent = %me, tx = %done.hash, kind, "registered");
    Ok(true)
}
