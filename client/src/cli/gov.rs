//! `synod gov …`: governance. Propose (with the first deposit), add
//! deposits, vote, and read proposals with their tally, votes and deposits.

mod checks;
mod propose;
mod read;

use clap::Subcommand;
use serde_json::{json, Value};
use synod_client::{proposal::NextStep, Amount, Client, TxBody, TxOutcome};
use synod_protocol::{
    governance::{Proposal, ProposalId, ProposalStatus, VoteOption},
    params::GovernanceParams,
    state::ValidatorStatus,
};

use super::{
    output::{outcome_json, outcome_text, NotFound},
    tx::TxFlags,
    Context,
};

const EXAMPLES: &str = "\
Examples:
  synod gov propose text --title 'Adopt the digits benchmark' --deposit 2500syn --from alice
  synod gov propose register-model zkml/models/mlp.synod-model --modes zk,optimistic \\
      --title 'Register the digits MLP' --deposit 2500syn --from alice
  synod gov propose param-change --set staking.max_validators=50 \\
      --set governance.min_deposit=5000syn --title 'Fewer validators' --deposit 2500syn --from alice
  synod gov deposit 1 7500syn --from bob
  synod gov vote 1 yes --from validator-0
  synod gov show 1 --prove
  synod gov list --status voting";

#[derive(Debug, Subcommand)]
#[command(after_help = EXAMPLES)]
pub enum GovCommand {
    /// Submit a proposal with its first deposit.
    #[command(subcommand)]
    Propose(propose::ProposeCommand),
    /// Add to the deposits of a proposal in its deposit period.
    Deposit {
        /// The proposal id.
        #[arg(value_parser = proposal_id_parser())]
        id: ProposalId,
        /// Amount, e.g. `2500syn` or `5000usyn` (bare numbers are usyn).
        amount: Amount,
        #[command(flatten)]
        flags: TxFlags,
    },
    /// Vote on a proposal in its voting period, with your bonded stake; a
    /// later vote replaces an earlier one.
    Vote {
        /// The proposal id.
        #[arg(value_parser = proposal_id_parser())]
        id: ProposalId,
        /// yes, no, abstain or no_with_veto (also: veto).
        option: VoteOption,
        #[command(flatten)]
        flags: TxFlags,
    },
    /// A proposal: what it asks, where it stands, and its tally.
    Show {
        /// The proposal id.
        #[arg(value_parser = proposal_id_parser())]
        id: ProposalId,
        /// Check the proposal's Merkle proof against the app hash of block H+1
        /// (the tally is computed: it has no proof).
        #[arg(long)]
        prove: bool,
    },
    /// Every proposal, by id (no proof: a computed list).
    List {
        /// Only proposals with this status: deposit_period (deposit),
        /// voting_period (voting), passed, rejected, failed, expired.
        #[arg(long)]
        status: Option<ProposalStatus>,
    },
    /// The current vote of every voter on a proposal.
    Votes {
        /// The proposal id.
        #[arg(value_parser = proposal_id_parser())]
        id: ProposalId,
    },
    /// Every depositor's deposits on a proposal.
    Deposits {
        /// The proposal id.
        #[arg(value_parser = proposal_id_parser())]
        id: ProposalId,
    },
}

/// Proposal ids count up from 1.
fn proposal_id_parser() -> clap::builder::RangedU64ValueParser<u64> {
    clap::value_parser!(u64).range(1..)
}

pub async fn run(ctx: &Context, cmd: GovCommand) -> anyhow::Result<()> {
    match cmd {
        GovCommand::Propose(cmd) => propose::run(ctx, cmd).await,
        GovCommand::Deposit { id, amount, flags } => deposit(ctx, id, amount, &flags).await,
        GovCommand::Vote { id, option, flags } => vote(ctx, id, option, &flags).await,
        GovCommand::Show { id, prove } => read::show(ctx, id, prove).await,
        GovCommand::List { status } => read::list(ctx, status).await,
        GovCommand::Votes { id } => read::votes(ctx, id).await,
        GovCommand::Deposits { id } => read::deposits(ctx, id).await,
    }
}

async fn deposit(
    ctx: &Context,
    id: ProposalId,
    amount: Amount,
    flags: &TxFlags,
) -> anyhow::Result<()> {
    if amount.is_zero() {
        anyhow::bail!("bad AMOUNT {amount}: a deposit must be more than zero");
    }
    let key = flags.key(ctx)?;
    let client = flags.client(ctx).await?;
    let gov = client.params().await?.governance;
    let before = existing_proposal(&client, id).await?;
    if before.status != ProposalStatus::DepositPeriod {
        anyhow::bail!(
            "proposal {id} no longer takes deposits: {}",
            NextStep::of(&before, &gov).describe(id)
        );
    }
    let body = TxBody::Deposit {
        proposal: id,
        amount,
    };
    let outcome = flags.sign_and_send(&client, &key, body).await?;
    report(ctx, &client, id, &outcome, &gov).await;
    Ok(())
}

async fn vote(
    ctx: &Context,
    id: ProposalId,
    option: VoteOption,
    flags: &TxFlags,
) -> anyhow::Result<()> {
    let key = flags.key(ctx)?;
    let client = flags.client(ctx).await?;
    let gov = client.params().await?.governance;
    let before = existing_proposal(&client, id).await?;
    if before.status != ProposalStatus::VotingPeriod {
        anyhow::bail!(
            "proposal {id} is not open for votes: {}",
            NextStep::of(&before, &gov).describe(id)
        );
    }
    let voter = key.public().address();
    let summary = client
        .validators()
        .await?
        .into_iter()
        .find(|v| v.validator.operator == voter);
    match summary {
        None => anyhow::bail!(
            "{} ({voter}) has no voting power: a vote weighs the voter's validator self-bond, so only the operator of an active validator can vote",
            flags.from()
        ),
        Some(v) if v.validator.status != ValidatorStatus::Candidate || !v.active => anyhow::bail!(
            "{} ({voter}) has no voting power now: its validator is {}, and only validators in the active set, not jailed or tombstoned, vote",
            flags.from(),
            if v.validator.status != ValidatorStatus::Candidate {
                "jailed or tombstoned"
            } else {
                "not in the active set"
            }
        ),
        Some(_) => {}
    }
    let body = TxBody::Vote {
        proposal: id,
        option,
    };
    let outcome = flags.sign_and_send(&client, &key, body).await?;
    report(ctx, &client, id, &outcome, &gov).await;
    Ok(())
}

/// Proposal `id`, or an error saying there is none.
async fn existing_proposal(client: &Client, id: ProposalId) -> anyhow::Result<Proposal> {
    client
        .proposal(id, false)
        .await?
        .into_value()
        .ok_or_else(|| {
            NotFound::new(format!(
                "there is no proposal {id} on chain (list them with `synod gov list`)"
            ))
            .into()
        })
}

/// Prints a governance tx's outcome (as `synod tx` does) with, once it is in
/// a block, where the proposal stands now.
async fn report(
    ctx: &Context,
    client: &Client,
    id: ProposalId,
    outcome: &TxOutcome,
    gov: &GovernanceParams,
) {
    let now = match outcome.height {
        Some(_) => read_back(client, id).await,
        None => None,
    };
    let mut doc = outcome_json(outcome);
    doc["proposal"] = standing_json(id, now.as_ref(), gov);
    ctx.output.emit(doc, || {
        format!(
            "{}\n{}",
            standing_text(id, now.as_ref(), gov),
            outcome_text(outcome)
        )
    });
}

/// The proposal after a tx that changed it. The tx already succeeded, so a
/// failed read is logged, not an error.
async fn read_back(client: &Client, id: ProposalId) -> Option<Proposal> {
    match client.proposal(id, false).await {
        Ok(answer) => answer.into_value(),
        Err(e) => {
            tracing::warn!(proposal = id, error = %e, "cannot read the proposal back");
            None
        }
    }
}

/// Where a proposal stands, as JSON: `{"id", "status", ..., "next"}`; only
/// the id when it could not be read.
fn standing_json(id: ProposalId, p: Option<&Proposal>, gov: &GovernanceParams) -> Value {
    let Some(p) = p else {
        return json!({ "id": id, "status": null });
    };
    json!({
        "id": id,
        "status": p.status,
        "expedited": p.expedited,
        "total_deposit": p.total_deposit,
        "required_deposit": gov.required_deposit(p.expedited),
        "deposit_end_height": p.deposit_end_height.value(),
        "voting_end_height": p.voting_end_height.map(|h| h.value()),
        "next": NextStep::of(p, gov).describe(id),
    })
}

/// Where a proposal stands, for people.
fn standing_text(id: ProposalId, p: Option<&Proposal>, gov: &GovernanceParams) -> String {
    let Some(p) = p else {
        return format!("proposal: {id} (not read back; see `synod gov show {id}`)");
    };
    format!(
        "proposal: {id} ({})\nstatus:   {}{}\ndeposits: {} of {} needed\nnext:     {}",
        p.kind.name(),
        p.status,
        if p.expedited { " (expedited)" } else { "" },
        p.total_deposit.to_syn_string(),
        gov.required_deposit(p.expedited).to_syn_string(),
        NextStep::of(p, gov).describe(id)
    )
}

#[cfg(test)]
mod tests {
    use super::super::Cli;
    use clap::Parser;

    fn parses(args: &[&str]) -> bool {
        let mut all = vec!["synod", "gov"];
        all.extend_from_slice(args);
        Cli::try_parse_from(all).is_ok()
    }

    fn refusal(args: &[&str]) -> String {
        let mut all = vec!["synod", "gov"];
        all.extend_from_slice(args);
        Cli::try_parse_from(all)
            .expect_err("must not parse")
            .to_string()
    }

    #[test]
    fn votes_take_the_four_options_and_refuse_others_by_name() {
        for option in [
            "yes",
            "no",
            "abstain",
            "no_with_veto",
            "veto",
            "NO-WITH-VETO",
        ] {
            assert!(parses(&["vote", "1", option, "--from", "a"]), "{option}");
        }
        let e = refusal(&["vote", "1", "maybe", "--from", "a"]);
        assert!(e.contains("maybe") && e.contains("no_with_veto"), "{e}");
    }

    #[test]
    fn proposal_ids_are_positive_integers() {
        assert!(parses(&["show", "7", "--prove"]));
        assert!(!parses(&["show", "0"]));
        assert!(!parses(&["votes", "seven"]));
        assert!(!parses(&["deposit", "-1", "5syn", "--from", "a"]));
    }

    #[test]
    fn a_deposit_needs_an_amount_and_a_key() {
        assert!(parses(&["deposit", "3", "7500syn", "--from", "bob"]));
        assert!(!parses(&["deposit", "3", "7500syn"]));
        let e = refusal(&["deposit", "3", "lots", "--from", "bob"]);
        assert!(e.contains("AMOUNT") && e.contains("lots"), "{e}");
    }

    #[test]
    fn list_filters_by_a_known_status() {
        assert!(parses(&["list"]));
        assert!(parses(&["list", "--status", "voting"]));
        assert!(parses(&["list", "--status", "deposit_period"]));
        let e = refusal(&["list", "--status", "pending"]);
        assert!(e.contains("pending") && e.contains("voting_period"), "{e}");
    }
}
