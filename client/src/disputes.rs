//! Disputes from the client side: [`Client`]'s dispute queries, and the
//! honest player of the bisection game ([`Player`]) that `synod dispute
//! play` and the agent process use. A player holds its own execution of
//! the step and answers every move from it: the state root at the
//! midpoint when it asserts, the half whose end it disagrees with when it
//! challenges, and the one-step witness at the end.

use std::time::{Duration, Instant};

use synod_protocol::{
    disputes::{DisputeRecord, LeafProof, Side},
    query::QueryPath,
    runs::RunRecord,
    Address, Amount, TxBody,
};
use synod_zkml::{trace::run_traced, Execution, Model, Tensor};

use crate::{client::Answer, Client, ClientError};

impl Client {
    /// Dispute `id` (`None` when there is none), proved when `prove`.
    pub async fn dispute(
        &self,
        id: u64,
        prove: bool,
    ) -> Result<Answer<DisputeRecord>, ClientError> {
        self.read(&QueryPath::Dispute(id), None, prove).await
    }

    /// Every dispute, or those in `status` (`open`, `settled`, `void`), in
    /// id order. Not proved (a computed list).
    pub async fn disputes(&self, status: Option<&str>) -> Result<Vec<DisputeRecord>, ClientError> {
        Ok(self
            .query_at(&QueryPath::Disputes(status.map(str::to_string)), None)
            .await?
            .unwrap_or_default())
    }
}

/// Why a player cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum PlayerError {
    #[error("step {step} of run {run} does not exist")]
    NoStep { run: u64, step: u32 },
    #[error("step {step} of run {run} runs model {pinned}, not the given model {given}")]
    WrongModel {
        run: u64,
        step: u32,
        pinned: String,
        given: String,
    },
    #[error("the step's input does not fit the model: {0}")]
    Input(String),
    #[error("node {node} does not exist in an execution of {nodes} nodes")]
    NoNode { node: usize, nodes: usize },
}

/// One side's execution of a step, and the moves it makes from it.
pub struct Player {
    pub model: Model,
    pub execution: Execution,
}

impl Player {
    /// The honest execution of step `step` of `run` with `model` (which
    /// must be the model the run pinned for it).
    pub fn for_step(run: &RunRecord, step: u32, model: Model) -> Result<Player, PlayerError> {
        let i = step as usize;
        let pinned = run
            .models
            .get(i)
            .ok_or(PlayerError::NoStep { run: run.id, step })?;
        let id = synod_zkml::ModelId::of(&model).0;
        if *pinned != id {
            return Err(PlayerError::WrongModel {
                run: run.id,
                step,
                pinned: hex::encode(pinned),
                given: hex::encode(id),
            });
        }
        let input = Tensor::new(model.input.shape.clone(), run.step_input(i))
            .map_err(|e| PlayerError::Input(e.to_string()))?;
        let execution =
            run_traced(&model, &input).map_err(|e| PlayerError::Input(e.to_string()))?;
        Ok(Player { model, execution })
    }

    /// This player's execution with tensor `node` (1 ..= nodes) off by one
    /// in its first value and every later node run on it: a false trace,
    /// for drills and tests of the game.
    pub fn corrupted(self, node: usize) -> Result<Player, PlayerError> {
        let nodes = self.model.nodes.len();
        if node == 0 || node > nodes {
            return Err(PlayerError::NoNode { node, nodes });
        }
        let mut tensors = self.execution.tensors().to_vec();
        let t = &tensors[node];
        let mut values = t.values().to_vec();
        values[0] = if values[0] >= 127 { 126 } else { values[0] + 1 };
        tensors[node] = Tensor::new(t.shape().to_vec(), values)
            .map_err(|e| PlayerError::Input(e.to_string()))?;
        for j in node..nodes {
            let n = &self.model.nodes[j];
            let inputs: Vec<&Tensor> = n.inputs.iter().map(|id| &tensors[id.0 as usize]).collect();
            tensors[j + 1] = synod_zkml::execute_node(j, n, &inputs)
                .map_err(|e| PlayerError::Input(e.to_string()))?;
        }
        Ok(Player {
            model: self.model,
            execution: Execution::new(tensors),
        })
    }

    /// The `SubmitOptimisticResult` of this execution for step `step` of
    /// run `run`, bonding `bond`.
    pub fn result(&self, run: u64, step: u32, bond: Amount) -> TxBody {
        let trace = self.execution.trace();
        let proof = |i: usize| {
            let p = trace
                .leaf_proof(i)
                .unwrap_or(synod_zkml::merkle::MerkleProof {
                    leaf_count: 0,
                    siblings: Vec::new(),
                });
            LeafProof {
                leaf_count: p.leaf_count,
                siblings: p.siblings,
            }
        };
        TxBody::SubmitOptimisticResult {
            run,
            step,
            output: self
                .execution
                .output()
                .map(|t| t.values().to_vec())
                .unwrap_or_default(),
            trace_root: trace.root().0,
            bond,
            input_proof: proof(0),
            output_proof: proof(trace.leaves().len().saturating_sub(1)),
        }
    }

    /// The root of this execution's state after node `upto` (`S_upto`).
    pub fn state_root(&self, upto: u32) -> Option<[u8; 32]> {
        self.execution
            .trace()
            .state_root(upto as usize)
            .map(|r| r.0)
    }

    /// The move `me` makes in `d` now, if it is `me`'s turn in an open
    /// dispute: always the honest one for this execution.
    pub fn next_move(&self, d: &DisputeRecord, me: &Address) -> Option<TxBody> {
        if !d.is_open() || d.party(d.turn) != *me {
            return None;
        }
        let id = d.id;
        match (d.turn, d.expected_move()) {
            (Side::Asserter, "bisect") => Some(TxBody::Bisect {
                dispute: id,
                mid_root: self.state_root(d.mid())?,
            }),
            (Side::Challenger, "select") => Some(TxBody::SelectHalf {
                dispute: id,
                half: u8::from(self.state_root(d.mid()) == d.mid_root),
            }),
            (Side::Challenger, "one-step") => Some(TxBody::OneStep {
                dispute: id,
                witness: self
                    .execution
                    .trace()
                    .transition_witness(&self.model, self.execution.tensors(), d.lo as usize)
                    .ok()?
                    .to_bytes(),
            }),
            _ => None,
        }
    }
}

/// How a [`play`] ended.
#[derive(Debug)]
pub struct Played {
    /// Every dispute on the result `me` was a party of, as it ended.
    pub disputes: Vec<DisputeRecord>,
    /// The moves `me` sent.
    pub moves: usize,
}

/// Plays every dispute on step `step` of run `run` that `me` is a party
/// of, honestly for `player`, until none is open (or `limit` passes):
/// polls the chain, and sends each move through `send` once per turn
/// (`send` fails when the chain refuses the move).
pub async fn play<F, Fut>(
    client: &Client,
    me: Address,
    run: u64,
    step: u32,
    player: &Player,
    limit: Duration,
    mut send: F,
) -> Result<Played, PlayError>
where
    F: FnMut(TxBody) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let deadline = Instant::now() + limit;
    let mut sent: std::collections::BTreeMap<u64, usize> = std::collections::BTreeMap::new();
    let mut moves = 0;
    loop {
        let mine: Vec<DisputeRecord> = client
            .disputes(None)
            .await?
            .into_iter()
            .filter(|d| d.run == run && d.step == step && (d.asserter == me || d.challenger == me))
            .collect();
        if !mine.is_empty() && mine.iter().all(|d| !d.is_open()) {
            return Ok(Played {
                disputes: mine,
                moves,
            });
        }
        for d in mine.iter().filter(|d| d.is_open()) {
            if sent.get(&d.id) == Some(&d.moves.len()) {
                continue;
            }
            if let Some(body) = player.next_move(d, &me) {
                send(body).await.map_err(|reason| PlayError::Send {
                    dispute: d.id,
                    reason,
                })?;
                sent.insert(d.id, d.moves.len());
                moves += 1;
            }
        }
        if Instant::now() > deadline {
            return Err(PlayError::Timeout {
                secs: limit.as_secs(),
            });
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Why [`play`] stopped before every dispute ended.
#[derive(Debug, thiserror::Error)]
pub enum PlayError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("a move in dispute {dispute} failed: {reason}")]
    Send { dispute: u64, reason: String },
    #[error("disputes still open after {secs} s")]
    Timeout { secs: u64 },
}
