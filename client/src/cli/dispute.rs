//! `synod dispute …`: optimistic results and their disputes — assert a
//! result, challenge one, make single moves of the bisection game, play a
//! whole game for one side, and show disputes with their moves and clocks.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use clap::{Subcommand, ValueEnum};
use serde_json::{json, Value};
use synod_client::{
    disputes::{play, Player},
    Amount, Client, QueryPath, SecretKey, TxBody,
};
use synod_protocol::disputes::{DisputeRecord, DisputeStatus, MoveKind};

use super::{
    model::load_model,
    output::{outcome_json, outcome_text},
    query::{show_with, IfAbsent, ReadFlags},
    tx::TxFlags,
    Context,
};

#[derive(Debug, Subcommand)]
pub enum DisputeCommand {
    /// Submit the optimistic result of step STEP of RUN assigned to the
    /// --from key: run the pinned model on the step's input and bond its
    /// trace root.
    Assert {
        #[command(flatten)]
        flags: TxFlags,
        run: u64,
        step: u32,
        /// The step's .synod-model file.
        #[arg(long)]
        model: PathBuf,
        /// The result bond (at least the step's minimum: `synod query params`).
        #[arg(long)]
        bond: Amount,
        /// Drill only: assert a false trace, wrong from node N on.
        #[arg(long, value_name = "N")]
        corrupt: Option<usize>,
    },
    /// Dispute the optimistic result of step STEP of RUN, bonding --bond.
    Challenge {
        #[command(flatten)]
        flags: TxFlags,
        run: u64,
        step: u32,
        #[arg(long)]
        bond: Amount,
    },
    /// The asserter's move: the root of its state at the midpoint.
    Bisect {
        #[command(flatten)]
        flags: TxFlags,
        dispute: u64,
        /// 64 hex digits.
        mid_root: String,
    },
    /// The challenger's move: the half it disputes.
    Select {
        #[command(flatten)]
        flags: TxFlags,
        dispute: u64,
        half: Half,
    },
    /// The challenger's last move: node `lo` re-executed on chain, with the
    /// witness built from the --model file and the run's input.
    OneStep {
        #[command(flatten)]
        flags: TxFlags,
        dispute: u64,
        #[arg(long)]
        model: PathBuf,
    },
    /// Play every dispute on step STEP of RUN that the --from key is a
    /// party of, honestly, until all are settled.
    Play {
        #[command(flatten)]
        flags: TxFlags,
        run: u64,
        step: u32,
        #[arg(long)]
        model: PathBuf,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 300)]
        secs: u64,
    },
    /// One dispute: its parties, range, clocks and moves.
    Show {
        dispute: u64,
        #[command(flatten)]
        read: ReadFlags,
    },
    /// Every dispute, or those in STATUS (no proof: a computed list).
    List { status: Option<Status> },
}

/// The half a challenger disputes.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Half {
    /// It rejects the midpoint root: the fault is in the lower half.
    Lower,
    /// It accepts the midpoint root: the fault is in the upper half.
    Upper,
}

/// A dispute status, as `/disputes/{status}` takes it.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Status {
    Open,
    Settled,
    Void,
}

pub async fn run(ctx: &Context, cmd: DisputeCommand) -> anyhow::Result<()> {
    match cmd {
        DisputeCommand::Assert {
            flags,
            run,
            step,
            model,
            bond,
            corrupt,
        } => {
            let client = flags.client(ctx).await?;
            let mut player = player(&client, run, step, &model).await?;
            if let Some(n) = corrupt {
                player = player.corrupted(n)?;
            }
            send(ctx, &flags, &client, player.result(run, step, bond)).await
        }
        DisputeCommand::Challenge {
            flags,
            run,
            step,
            bond,
        } => {
            let client = flags.client(ctx).await?;
            send(ctx, &flags, &client, TxBody::Challenge { run, step, bond }).await
        }
        DisputeCommand::Bisect {
            flags,
            dispute,
            mid_root,
        } => {
            let mid_root: [u8; 32] = hex::decode(mid_root.trim())
                .ok()
                .and_then(|b| b.try_into().ok())
                .context("bad MID_ROOT: a state root is 64 hex digits")?;
            let client = flags.client(ctx).await?;
            send(ctx, &flags, &client, TxBody::Bisect { dispute, mid_root }).await
        }
        DisputeCommand::Select {
            flags,
            dispute,
            half,
        } => {
            let client = flags.client(ctx).await?;
            let half = match half {
                Half::Lower => 0,
                Half::Upper => 1,
            };
            send(ctx, &flags, &client, TxBody::SelectHalf { dispute, half }).await
        }
        DisputeCommand::OneStep {
            flags,
            dispute,
            model,
        } => {
            let client = flags.client(ctx).await?;
            let d = record(&client, dispute).await?;
            let player = player(&client, d.run, d.step, &model).await?;
            let witness = player
                .execution
                .trace()
                .transition_witness(&player.model, player.execution.tensors(), d.lo as usize)
                .context("building the one-step witness")?
                .to_bytes();
            send(ctx, &flags, &client, TxBody::OneStep { dispute, witness }).await
        }
        DisputeCommand::Play {
            flags,
            run,
            step,
            model,
            secs,
        } => {
            let key = flags.key(ctx)?;
            let client = flags.client(ctx).await?;
            let player = player(&client, run, step, &model).await?;
            let me = key.public().address();
            let played = play(
                &client,
                me,
                run,
                step,
                &player,
                Duration::from_secs(secs),
                |body| send_move(&client, &key, body),
            )
            .await?;
            ctx.output.emit(
                json!({"moves": played.moves, "disputes": played.disputes.iter().map(dispute_json).collect::<Vec<_>>()}),
                || {
                    let mut text = format!("{} move(s) sent", played.moves);
                    for d in &played.disputes {
                        text.push('\n');
                        text.push_str(&dispute_text(d));
                    }
                    text
                },
            );
            Ok(())
        }
        DisputeCommand::Show { dispute, read } => {
            let client = ctx.client().await?;
            show_with(
                ctx,
                &client,
                &QueryPath::Dispute(dispute),
                &read,
                IfAbsent::NotFound("no dispute with this id (list them with `synod dispute list`)"),
                dispute_json,
                dispute_text,
            )
            .await
        }
        DisputeCommand::List { status } => {
            let status = status.map(|s| match s {
                Status::Open => "open",
                Status::Settled => "settled",
                Status::Void => "void",
            });
            let list = ctx.client().await?.disputes(status).await?;
            ctx.output.emit(
                json!(list.iter().map(dispute_json).collect::<Vec<_>>()),
                || {
                    if list.is_empty() {
                        return "no disputes".into();
                    }
                    list.iter()
                        .map(|d| {
                            format!(
                                "dispute {}  run {} step {}  {}  range {}..{}",
                                d.id,
                                d.run,
                                d.step,
                                status_text(&d.status),
                                d.lo,
                                d.hi
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                },
            );
            Ok(())
        }
    }
}

async fn send(ctx: &Context, flags: &TxFlags, client: &Client, body: TxBody) -> anyhow::Result<()> {
    let key = flags.key(ctx)?;
    let outcome = flags.sign_and_send(client, &key, body).await?;
    ctx.output
        .emit(outcome_json(&outcome), || outcome_text(&outcome));
    Ok(())
}

/// One move of `play`, sent with the chain's minimum fee and waited for.
async fn send_move(client: &Client, key: &SecretKey, body: TxBody) -> Result<(), String> {
    client
        .send(key, body)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

async fn record(client: &Client, id: u64) -> anyhow::Result<DisputeRecord> {
    client
        .dispute(id, false)
        .await?
        .value()
        .cloned()
        .with_context(|| format!("no dispute {id} on chain"))
}

/// The honest player of step `step` of run `run` with the model in `path`.
async fn player(client: &Client, run: u64, step: u32, path: &Path) -> anyhow::Result<Player> {
    let loaded = load_model(path)?;
    let record = client
        .run(run, false)
        .await?
        .value()
        .cloned()
        .with_context(|| format!("no run {run} on chain"))?;
    Ok(Player::for_step(&record, step, loaded.model)?)
}

fn status_text(s: &DisputeStatus) -> String {
    match s {
        DisputeStatus::Open => "open".into(),
        DisputeStatus::Settled {
            winner,
            reason,
            paid,
            burned,
            height,
        } => format!(
            "settled at height {height}: the {winner} won by {} ({} paid, {} burned)",
            match reason {
                synod_protocol::disputes::SettleReason::OneStep => "one step",
                synod_protocol::disputes::SettleReason::Timeout => "timeout",
            },
            paid.to_syn_string(),
            burned.to_syn_string()
        ),
        DisputeStatus::Void { height } => {
            format!("void at height {height} (another dispute proved the result false)")
        }
    }
}

fn move_text(m: &MoveKind) -> String {
    match m {
        MoveKind::Bisect { mid, mid_root } => {
            format!("bisect: state after node {mid} = {}", hex::encode(mid_root))
        }
        MoveKind::SelectHalf { half } => {
            format!("select {}", if *half == 0 { "lower" } else { "upper" })
        }
        MoveKind::OneStep { step, correct } => format!(
            "one step: node {step} re-executed, the asserted state {}",
            if *correct { "holds" } else { "is false" }
        ),
    }
}

fn dispute_text(d: &DisputeRecord) -> String {
    let next = if d.is_open() {
        format!(
            " (next: {} by the {}, by the end of block {})",
            d.expected_move(),
            d.turn,
            d.deadline
        )
    } else {
        String::new()
    };
    let mut text = format!(
        "dispute {}: run {} step {} (model {})\nasserter:   {}\nchallenger: {} (bond {})\nstatus:     {}\nrange:      {}..{}{next}\nclocks:     asserter {} blocks, challenger {} blocks\nmoves:",
        d.id,
        d.run,
        d.step,
        hex::encode(d.model),
        d.asserter,
        d.challenger,
        d.bond.to_syn_string(),
        status_text(&d.status),
        d.lo,
        d.hi,
        d.asserter_clock,
        d.challenger_clock,
    );
    if d.moves.is_empty() {
        text.push_str(" none");
    }
    for m in &d.moves {
        text.push_str(&format!(
            "\n  height {} {} ({} block(s)): {}",
            m.height,
            m.by,
            m.spent,
            move_text(&m.kind)
        ));
    }
    text
}

fn dispute_json(d: &DisputeRecord) -> Value {
    json!({
        "id": d.id,
        "run": d.run,
        "step": d.step,
        "model": hex::encode(d.model),
        "asserter": d.asserter.to_string(),
        "challenger": d.challenger.to_string(),
        "bond": d.bond.0.to_string(),
        "trace_root": hex::encode(d.trace_root),
        "lo": d.lo,
        "lo_root": hex::encode(d.lo_root),
        "hi": d.hi,
        "hi_root": hex::encode(d.hi_root),
        "mid_root": d.mid_root.map(hex::encode),
        "next_move": if d.is_open() { Value::from(d.expected_move()) } else { Value::Null },
        "turn": d.turn.as_str(),
        "asserter_clock": d.asserter_clock,
        "challenger_clock": d.challenger_clock,
        "deadline": d.deadline.value(),
        "opened_height": d.opened_height.value(),
        "status": d.status.name(),
        "settlement": status_text(&d.status),
        "moves": d.moves.iter().map(|m| json!({
            "height": m.height.value(),
            "by": m.by.as_str(),
            "spent": m.spent,
            "move": move_text(&m.kind),
        })).collect::<Vec<_>>(),
    })
}
