//! `synod gov show | list | votes | deposits`: proposals as people read
//! them (ids and model files in hex, amounts in syn, the tally in percent).

use serde_json::{json, Value};
use synod_client::{
    proposal::{mode_name, NextStep, WorkflowFile},
    Client, QueryPath,
};
use synod_protocol::{
    governance::{
        Proposal, ProposalId, ProposalKind, ProposalStatus, ProposalSummary, Tally, TallyOutcome,
    },
    params::{GovernanceParams, PPM},
    state::VerificationMode,
};
use synod_zkml::Model;

use super::{
    super::{
        output::NotFound,
        proved::{absence_note, answer_doc, proof_footer},
        query::warn_if_catching_up,
        workflow_text::workflow_steps_text,
    },
    Context,
};

pub async fn show(ctx: &Context, id: ProposalId, prove: bool) -> anyhow::Result<()> {
    let client = ctx.client().await?;
    let path = QueryPath::Proposal(id);
    let answer = client.proposal(id, prove).await?;
    let mut doc = answer_doc(&path, &answer);
    let footer = proof_footer(&answer)
        .map(|f| format!("\n{f}"))
        .unwrap_or_default();
    if prove {
        doc["catching_up"] = json!(warn_if_catching_up(&client).await);
    }
    let proved_absent = absence_note(&answer);
    let Some(p) = answer.into_value() else {
        doc["value"] = Value::Null;
        return Err(NotFound {
            message: format!("no proposal {id} (list them with `synod gov list`){proved_absent}"),
            doc,
        }
        .into());
    };
    let gov = client.params().await?.governance;
    let tally = match (p.status, &p.final_tally) {
        (ProposalStatus::VotingPeriod, _) => client
            .tally(id)
            .await?
            .map(|t| TallyReport::new(&p, t, &gov, true)),
        (_, Some(t)) => Some(TallyReport::new(&p, t.clone(), &gov, false)),
        (_, None) => None,
    };
    doc["value"] = proposal_json(&p);
    doc["required_deposit"] = json!(gov.required_deposit(p.expedited));
    doc["next"] = json!(NextStep::of(&p, &gov).describe(id));
    doc["tally"] = tally.as_ref().map(TallyReport::json).unwrap_or(Value::Null);
    ctx.output.emit(doc, || {
        let tally = tally
            .as_ref()
            .map(|t| format!("\n{}", t.text()))
            .unwrap_or_default();
        format!("{}{tally}{footer}", proposal_text(&p, &gov))
    });
    Ok(())
}

pub async fn list(ctx: &Context, status: Option<ProposalStatus>) -> anyhow::Result<()> {
    let client = ctx.client().await?;
    let list = client.proposals(status).await?;
    ctx.output
        .emit(json!(list), || proposals_table(&list, status));
    Ok(())
}

/// Fails with [`NotFound`] when proposal `id` does not exist, so that an
/// empty list of its votes or deposits is never mistaken for a proposal.
async fn must_exist(client: &Client, id: ProposalId) -> anyhow::Result<()> {
    if client.proposal(id, false).await?.into_value().is_none() {
        return Err(NotFound::new(format!(
            "no proposal {id} (list them with `synod gov list`)"
        ))
        .into());
    }
    Ok(())
}

pub async fn votes(ctx: &Context, id: ProposalId) -> anyhow::Result<()> {
    let client = ctx.client().await?;
    let votes = client.votes(id).await?;
    if votes.is_empty() {
        must_exist(&client, id).await?;
    }
    let doc: Vec<Value> = votes
        .iter()
        .map(|v| json!({"voter": v.voter.to_string(), "option": v.option, "height": v.height.value()}))
        .collect();
    ctx.output.emit(json!(doc), || {
        if votes.is_empty() {
            return format!("no votes on proposal {id}");
        }
        let mut s = format!("{:<44}  {:<12}  HEIGHT\n", "VOTER", "OPTION");
        for v in &votes {
            s.push_str(&format!(
                "{:<44}  {:<12}  {}\n",
                v.voter.to_string(),
                v.option.as_str(),
                v.height.value()
            ));
        }
        s
    });
    Ok(())
}

pub async fn deposits(ctx: &Context, id: ProposalId) -> anyhow::Result<()> {
    let client = ctx.client().await?;
    let deposits = client.deposits(id).await?;
    if deposits.is_empty() {
        must_exist(&client, id).await?;
    }
    let doc: Vec<Value> = deposits
        .iter()
        .map(|d| json!({"depositor": d.depositor.to_string(), "amount": d.amount}))
        .collect();
    ctx.output.emit(json!(doc), || {
        if deposits.is_empty() {
            return format!("no deposits on proposal {id}");
        }
        let mut s = format!("{:<44}  AMOUNT\n", "DEPOSITOR");
        for d in &deposits {
            s.push_str(&format!(
                "{:<44}  {}\n",
                d.depositor.to_string(),
                d.amount.to_syn_string()
            ));
        }
        s
    });
    Ok(())
}

/// A proposal as JSON, its kind made readable (ids in hex, a model file as
/// its id and size rather than its bytes, a workflow in its file form).
fn proposal_json(p: &Proposal) -> Value {
    json!({
        "id": p.id,
        "proposer": p.proposer.to_string(),
        "kind": kind_json(&p.kind),
        "title": p.title,
        "summary": p.summary,
        "expedited": p.expedited,
        "expedited_until": p.expedited_until.map(|h| h.value()),
        "status": p.status,
        "submit_height": p.submit_height.value(),
        "deposit_end_height": p.deposit_end_height.value(),
        "total_deposit": p.total_deposit,
        "voting_start_height": p.voting_start_height.map(|h| h.value()),
        "voting_end_height": p.voting_end_height.map(|h| h.value()),
        "final_tally": p.final_tally,
        "outcome": p.outcome,
        "deposits": p.deposits,
    })
}

fn modes_json(modes: &[VerificationMode]) -> Value {
    json!(modes.iter().map(|m| mode_name(*m)).collect::<Vec<_>>())
}

/// A model file carried by a proposal: its id and name if it loads.
fn model_file_json(bytes: &[u8]) -> Value {
    match Model::from_file_bytes(bytes) {
        Ok(m) => json!({"bytes": bytes.len(), "model_id": m.id.to_string(), "name": m.model.name}),
        Err(e) => json!({"bytes": bytes.len(), "error": e.to_string()}),
    }
}

fn kind_json(kind: &ProposalKind) -> Value {
    let mut doc = match kind {
        ProposalKind::RegisterModel { model, modes } => json!({
            "model": model_file_json(model),
            "modes": modes_json(modes),
        }),
        ProposalKind::UpgradeModel {
            previous,
            model,
            modes,
            grace_blocks,
        } => json!({
            "previous": hex::encode(previous),
            "model": model_file_json(model),
            "modes": modes_json(modes),
            "grace_blocks": grace_blocks,
        }),
        ProposalKind::RetireModel { model } => json!({ "model": hex::encode(model) }),
        ProposalKind::RegisterWorkflow { workflow } | ProposalKind::UpdateWorkflow { workflow } => {
            json!({ "workflow": WorkflowFile::from_spec(workflow) })
        }
        ProposalKind::ParamChange { changes } => json!({ "changes": changes }),
        ProposalKind::TreasurySpend { recipient, amount } => {
            json!({ "recipient": recipient.to_string(), "amount": amount })
        }
        ProposalKind::Text => json!({}),
    };
    doc["type"] = json!(kind.name());
    doc["description"] = json!(kind.describe());
    doc
}

/// The model a register/upgrade proposal carries, as one line.
fn model_file_text(bytes: &[u8]) -> String {
    match Model::from_file_bytes(bytes) {
        Ok(m) => format!("{} ({})", m.id, m.model.name),
        Err(e) => format!("does not load: {e}"),
    }
}

fn proposal_text(p: &Proposal, gov: &GovernanceParams) -> String {
    let mut s = format!(
        "proposal {}: {}\nkind:        {}\n",
        p.id,
        p.title,
        p.kind.describe()
    );
    match &p.kind {
        ProposalKind::RegisterModel { model, .. } | ProposalKind::UpgradeModel { model, .. } => {
            s.push_str(&format!("model:       {}\n", model_file_text(model)));
        }
        ProposalKind::RegisterWorkflow { workflow } | ProposalKind::UpdateWorkflow { workflow } => {
            s.push_str("steps:\n");
            s.push_str(&workflow_steps_text(workflow));
        }
        _ => {}
    }
    s.push_str(&format!(
        "proposer:    {}\nstatus:      {}{}\nsubmitted:   height {}\ndeposits:    {} of {} needed ({})\ndeposit end: height {}\n",
        p.proposer,
        p.status,
        match (p.expedited, p.expedited_until) {
            (true, _) => " (expedited)".to_string(),
            (false, Some(h)) => format!(" (expedited until height {}, now regular)", h.value()),
            (false, None) => String::new(),
        },
        p.submit_height.value(),
        p.total_deposit.to_syn_string(),
        gov.required_deposit(p.expedited).to_syn_string(),
        match p.deposits {
            synod_protocol::governance::DepositFate::Held => "held",
            synod_protocol::governance::DepositFate::Refunded => "refunded",
            synod_protocol::governance::DepositFate::Burned => "burned",
        },
        p.deposit_end_height.value()
    ));
    if let (Some(start), Some(end)) = (p.voting_start_height, p.voting_end_height) {
        s.push_str(&format!(
            "voting:      heights {} to {}\n",
            start.value(),
            end.value()
        ));
    }
    if let Some(outcome) = &p.outcome {
        s.push_str(&format!("outcome:     {outcome}\n"));
    }
    s.push_str(&format!(
        "next:        {}\n",
        NextStep::of(p, gov).describe(p.id)
    ));
    if !p.summary.is_empty() {
        s.push_str(&format!(
            "summary:\n  {}\n",
            p.summary.replace('\n', "\n  ")
        ));
    }
    s
}

/// At most `max` characters of `s`, with an ellipsis when cut.
fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max.saturating_sub(1)).collect();
    format!("{cut}…")
}

fn proposals_table(list: &[ProposalSummary], status: Option<ProposalStatus>) -> String {
    if list.is_empty() {
        return match status {
            Some(s) => format!("no proposals with status {s}"),
            None => "no proposals".into(),
        };
    }
    let mut s = format!(
        "{:>5}  {:<14}  {:<17}  {:<40}  VOTING END\n",
        "ID", "STATUS", "KIND", "TITLE"
    );
    for p in list {
        s.push_str(&format!(
            "{:>5}  {:<14}  {:<17}  {:<40}  {}\n",
            p.id,
            p.status.as_str(),
            p.kind,
            truncate(&p.title, 40),
            p.voting_end_height
                .map(|h| h.value().to_string())
                .unwrap_or_else(|| "-".into())
        ));
    }
    s
}

/// A tally with the thresholds that apply to its proposal.
struct TallyReport {
    tally: Tally,
    /// The votes so far (voting period), rather than the deciding tally.
    live: bool,
    expedited: bool,
    quorum_ppm: u64,
    threshold_ppm: u64,
    veto_threshold_ppm: u64,
    /// For a live tally: what it would decide if voting ended now, under
    /// the current parameters.
    if_ended_now: Option<TallyOutcome>,
}

impl TallyReport {
    fn new(p: &Proposal, tally: Tally, gov: &GovernanceParams, live: bool) -> TallyReport {
        let threshold_ppm = if p.expedited {
            gov.expedited_threshold_ppm
        } else {
            gov.threshold_ppm
        };
        TallyReport {
            if_ended_now: live.then(|| tally.outcome(gov, threshold_ppm)),
            tally,
            live,
            expedited: p.expedited,
            quorum_ppm: gov.quorum_ppm,
            threshold_ppm,
            veto_threshold_ppm: gov.veto_threshold_ppm,
        }
    }

    fn options(&self) -> [(&'static str, u128); 4] {
        let t = &self.tally;
        [
            ("yes", t.yes.0),
            ("no", t.no.0),
            ("abstain", t.abstain.0),
            ("no_with_veto", t.no_with_veto.0),
        ]
    }

    /// What the outcome means, in words.
    fn verdict(&self) -> Option<&'static str> {
        Some(match self.if_ended_now? {
            TallyOutcome::Passed => "it would pass",
            // The Cosmos SDK rule the chain follows: whatever stops an
            // expedited proposal, it goes on as a regular one.
            _ if self.expedited => {
                "it would not pass as expedited, and go on as a regular proposal until its regular voting period ends"
            }
            TallyOutcome::QuorumFailed => "it would fail: quorum not reached (deposits burned)",
            TallyOutcome::Vetoed => "it would be vetoed (deposits burned)",
            TallyOutcome::Rejected => "it would be rejected (deposits refunded)",
        })
    }

    fn json(&self) -> Value {
        let turnout = self.tally.turnout();
        let mut percent = serde_json::Map::new();
        for (name, stake) in self.options() {
            percent.insert(name.into(), json!(Tally::percent(stake, turnout)));
        }
        json!({
            "live": self.live,
            "yes": self.tally.yes,
            "no": self.tally.no,
            "abstain": self.tally.abstain,
            "no_with_veto": self.tally.no_with_veto,
            "bonded": self.tally.bonded,
            "turnout": turnout.to_string(),
            "percent_of_turnout": percent,
            "turnout_of_bonded": Tally::percent(turnout, self.tally.bonded.0),
            "quorum_ppm": self.quorum_ppm,
            "threshold_ppm": self.threshold_ppm,
            "expedited": self.expedited,
            "veto_threshold_ppm": self.veto_threshold_ppm,
            "if_ended_now": self.if_ended_now.map(outcome_name),
        })
    }

    fn text(&self) -> String {
        let turnout = self.tally.turnout();
        let ppm = |v: u64| Tally::percent(v.into(), PPM.into());
        let mut s = if self.live {
            "tally so far (each vote weighted by the voter's bonded stake now):\n".to_string()
        } else {
            "final tally:\n".to_string()
        };
        for (name, stake) in self.options() {
            s.push_str(&format!(
                "  {name:<13} {:>20}  {:>6}\n",
                synod_protocol::Amount(stake).to_syn_string(),
                Tally::percent(stake, turnout)
            ));
        }
        s.push_str(&format!(
            "  turnout       {} = {} of {} bonded (quorum {})\n  threshold     yes > {} of yes + no + no_with_veto{}; vetoed at no_with_veto > {} of turnout\n",
            synod_protocol::Amount(turnout).to_syn_string(),
            Tally::percent(turnout, self.tally.bonded.0),
            self.tally.bonded.to_syn_string(),
            ppm(self.quorum_ppm),
            ppm(self.threshold_ppm),
            if self.expedited { " (expedited)" } else { "" },
            ppm(self.veto_threshold_ppm),
        ));
        if let Some(verdict) = self.verdict() {
            s.push_str(&format!("  if voting ended now: {verdict}\n"));
        }
        s
    }
}

fn outcome_name(o: TallyOutcome) -> &'static str {
    match o {
        TallyOutcome::Passed => "passed",
        TallyOutcome::QuorumFailed => "quorum_failed",
        TallyOutcome::Vetoed => "vetoed",
        TallyOutcome::Rejected => "rejected",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use synod_protocol::{governance::DepositFate, Address, Amount, Height};

    fn proposal(expedited: bool) -> Proposal {
        Proposal {
            id: 4,
            proposer: Address([2; 20]),
            kind: ProposalKind::Text,
            title: "Adopt the digits benchmark".into(),
            summary: "line one\nline two".into(),
            expedited,
            expedited_until: None,
            status: ProposalStatus::VotingPeriod,
            submit_height: Height(10),
            deposit_end_height: Height(110),
            total_deposit: Amount::syn(10_000),
            voting_start_height: Some(Height(20)),
            voting_end_height: Some(Height(120)),
            final_tally: None,
            outcome: None,
            deposits: DepositFate::Held,
        }
    }

    fn tally(yes: u64, no: u64, abstain: u64, veto: u64, bonded: u64) -> Tally {
        Tally {
            yes: Amount::syn(yes),
            no: Amount::syn(no),
            abstain: Amount::syn(abstain),
            no_with_veto: Amount::syn(veto),
            bonded: Amount::syn(bonded),
        }
    }

    #[test]
    fn the_live_tally_shows_shares_of_turnout_and_turnout_of_bonded() {
        let gov = GovernanceParams::default();
        let r = TallyReport::new(&proposal(false), tally(600, 300, 100, 0, 2_500), &gov, true);
        let text = r.text();
        for needle in [
            "60.0%",
            "30.0%",
            "10.0%",
            "1000 syn = 40.0% of 2500 syn bonded (quorum 33.4%)",
            "yes > 50.0%",
            "it would pass",
        ] {
            assert!(text.contains(needle), "{needle:?} not in\n{text}");
        }
        let doc = r.json();
        assert_eq!(doc["percent_of_turnout"]["yes"], "60.0%");
        assert_eq!(doc["turnout_of_bonded"], "40.0%");
        assert_eq!(doc["if_ended_now"], "passed");
        assert_eq!(doc["yes"], "600000000");
    }

    #[test]
    fn an_expedited_proposal_is_measured_against_the_expedited_threshold() {
        let gov = GovernanceParams::default();
        // 60% yes passes a regular proposal but not an expedited one.
        let t = tally(600, 400, 0, 0, 1_000);
        let regular = TallyReport::new(&proposal(false), t.clone(), &gov, true);
        assert_eq!(regular.if_ended_now, Some(TallyOutcome::Passed));
        let expedited = TallyReport::new(&proposal(true), t, &gov, true);
        assert_eq!(expedited.if_ended_now, Some(TallyOutcome::Rejected));
        let text = expedited.text();
        assert!(
            text.contains("yes > 66.7%") && text.contains("(expedited)"),
            "{text}"
        );
        assert!(text.contains("go on as a regular proposal"), "{text}");
    }

    #[test]
    fn a_final_tally_does_not_guess_what_it_would_decide_now() {
        let gov = GovernanceParams::default();
        let r = TallyReport::new(&proposal(false), tally(1, 0, 0, 0, 1_000), &gov, false);
        assert!(r.text().starts_with("final tally"));
        assert!(!r.text().contains("if voting ended now"));
        assert_eq!(r.json()["if_ended_now"], Value::Null);
    }

    #[test]
    fn a_proposal_reads_with_its_deposits_voting_heights_and_next_step() {
        let gov = GovernanceParams::default();
        let text = proposal_text(&proposal(false), &gov);
        for needle in [
            "proposal 4: Adopt the digits benchmark",
            "text (no state change)",
            "10000 syn of 10000 syn needed (held)",
            "heights 20 to 120",
            "open for votes until height 120",
            "  line two",
        ] {
            assert!(text.contains(needle), "{needle:?} not in\n{text}");
        }
        let doc = proposal_json(&proposal(false));
        assert_eq!(doc["kind"]["type"], "text");
        assert_eq!(doc["status"], "voting_period");
        assert_eq!(doc["total_deposit"], "10000000000");
    }

    #[test]
    fn proposal_kinds_show_ids_in_hex_and_model_files_by_id() {
        let doc = kind_json(&ProposalKind::RetireModel { model: [0xab; 32] });
        assert_eq!(doc["model"], "ab".repeat(32));
        assert_eq!(doc["type"], "retire_model");
        let doc = kind_json(&ProposalKind::RegisterModel {
            model: vec![1, 2, 3],
            modes: vec![VerificationMode::Zk],
        });
        assert_eq!(doc["model"]["bytes"], 3);
        assert!(doc["model"]["error"].is_string(), "{doc}");
        assert_eq!(doc["modes"], json!(["zk"]));
    }

    #[test]
    fn the_list_is_a_table_with_long_titles_cut() {
        let mut p = proposal(false);
        p.title = "x".repeat(100);
        let table = proposals_table(&[p.summary()], None);
        assert!(table.starts_with("   ID  STATUS"), "{table}");
        assert!(table.contains(&format!("{}…", "x".repeat(39))), "{table}");
        assert!(
            table.contains("voting_period") && table.contains("120"),
            "{table}"
        );
        assert_eq!(
            proposals_table(&[], Some(ProposalStatus::Passed)),
            "no proposals with status passed"
        );
    }
}
