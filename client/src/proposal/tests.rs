#![allow(clippy::unwrap_used)]
use super::*;
use synod_protocol::{governance::ProposalKind, Address};

fn set(input: &str) -> ParamChange {
    parse_param_set(input).unwrap()
}

#[test]
fn a_set_value_is_json_when_it_parses_as_json_and_a_json_string_otherwise() {
    assert_eq!(set("staking.max_validators=50").value, "50");
    assert_eq!(set("governance.min_deposit=5000syn").value, "\"5000syn\"");
    assert_eq!(set("governance.min_deposit=\"5000\"").value, "\"5000\"");
    assert_eq!(set("a.b=true").value, "true");
    assert_eq!(set("a.b= 7 ").value, "7");
    assert_eq!(set("a.b=").value, "\"\"");
    // Split at the first '=' and the first '.': the value keeps the rest.
    let c = set("a.b.c=x=y");
    assert_eq!((c.module.as_str(), c.name.as_str()), ("a", "b.c"));
    assert_eq!(c.value, "\"x=y\"");
}

#[test]
fn a_set_without_module_name_or_value_is_refused_with_an_example() {
    for bad in [
        "max_validators=50",
        "staking.max_validators",
        ".x=1",
        "x.=1",
    ] {
        let e = parse_param_set(bad).unwrap_err().to_string();
        assert!(e.contains(bad) && e.contains("e.g."), "{bad}: {e}");
    }
}

#[test]
fn param_changes_apply_in_order_and_amounts_take_a_unit() {
    let p = ChainParams::default();
    let changed = apply_param_changes(
        &p,
        &[
            set("governance.min_deposit=5000syn"),
            set("staking.max_validators=50"),
        ],
    )
    .unwrap();
    assert_eq!(changed.governance.min_deposit, Amount::syn(5000));
    assert_eq!(changed.staking.max_validators, 50);
    // A bare number for an amount is refused (amounts are JSON strings), with a hint.
    let e = apply_param_changes(&p, &[set("governance.min_deposit=5000000")])
        .unwrap_err()
        .to_string();
    assert!(e.contains("hint") && e.contains("5000000usyn"), "{e}");
}

#[test]
fn a_bad_param_change_is_refused_with_the_chains_own_message() {
    let p = ChainParams::default();
    for input in [
        "stacking.max_validators=5",
        "staking.max_validator=5",
        "staking.max_validators=seven",
        "staking.max_validators=0",
        "governance.min_deposit=-1",
    ] {
        let change = set(input);
        let chain = p
            .with_change(&change.module, &change.name, &change.value)
            .unwrap_err();
        let e = apply_param_changes(&p, &[change]).unwrap_err();
        let expected = format!("invalid parameter change: {chain}");
        assert!(e.to_string().starts_with(&expected), "{input}: {e}");
    }
    // The unknown-parameter message lists the module's parameters.
    let e = apply_param_changes(&p, &[set("staking.max_validator=5")])
        .unwrap_err()
        .to_string();
    assert!(e.contains("max_validators"), "{e}");
}

#[test]
fn a_bound_across_fields_is_checked_once_over_all_changes() {
    let p = ChainParams::default();
    // expedited_voting_blocks must stay below voting_blocks (172800):
    // both changed together pass in either order.
    let both = [
        set("governance.voting_blocks=1000"),
        set("governance.expedited_voting_blocks=500"),
    ];
    let q = apply_param_changes(&p, &both).unwrap();
    assert_eq!(q.governance.voting_blocks, 1000);
    let reversed = [both[1].clone(), both[0].clone()];
    assert_eq!(apply_param_changes(&p, &reversed).unwrap(), q);
    // Shortening only the regular period breaks the bound, with a hint.
    let e = apply_param_changes(&p, &[set("governance.voting_blocks=1000")])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("expedited_voting_blocks") && e.contains("same proposal"),
        "{e}"
    );
}

const MODEL: &str = "9226000000000000000000000000000000000000000000000000000000000ce8";

fn workflow_json(steps: &str) -> String {
    format!(r#"{{"name": "digits", "steps": [{steps}]}}"#)
}

fn step_json(name: &str, inputs: &str, mode: &str, reward: &str) -> String {
    format!(
        r#"{{"name": "{name}", "model": "{MODEL}", "inputs": {inputs}, "mode": "{mode}", "timeout_blocks": 20, "reward": {reward}}}"#
    )
}

#[test]
fn a_workflow_file_converts_to_its_spec() {
    let text = workflow_json(&format!(
        "{}, {}",
        step_json("classify", "[]", "zk", r#""1syn""#),
        step_json("check", "[0]", "Optimistic", "5000"),
    ));
    let spec = WorkflowFile::parse(&text, "wf.json").unwrap();
    assert_eq!(spec.name, "digits");
    assert_eq!(spec.steps.len(), 2);
    let model: [u8; 32] = hex::decode(MODEL).unwrap().try_into().unwrap();
    assert_eq!(
        spec.steps[0],
        WorkflowStep {
            name: "classify".into(),
            model,
            inputs: vec![],
            mode: VerificationMode::Zk,
            timeout_blocks: 20,
            reward: Amount::syn(1),
            min_bond: Amount::ZERO,
            min_reputation: 0,
            retries: 0,
        }
    );
    assert_eq!(spec.steps[1].mode, VerificationMode::Optimistic);
    assert_eq!(spec.steps[1].reward, Amount(5000));
    // `inputs` may be left out; what `query workflow` prints reads back the same.
    let no_inputs = text.replacen(r#""inputs": [], "#, "", 1);
    assert_eq!(WorkflowFile::parse(&no_inputs, "wf.json").unwrap(), spec);
    let printed = serde_json::to_string(&WorkflowFile::from_spec(&spec)).unwrap();
    assert_eq!(WorkflowFile::parse(&printed, "printed").unwrap(), spec);
}

#[test]
fn executor_requirements_are_read_and_printed_back() {
    let step = step_json("classify", "[]", "zk", r#""1syn""#).replacen(
        "}",
        r#", "min_bond": "5syn", "min_reputation": 200000, "retries": 2}"#,
        1,
    );
    let spec = WorkflowFile::parse(&workflow_json(&step), "wf.json").unwrap();
    let s = &spec.steps[0];
    assert_eq!(
        (s.min_bond, s.min_reputation, s.retries),
        (Amount::syn(5), 200_000, 2)
    );
    let printed = serde_json::to_string(&WorkflowFile::from_spec(&spec)).unwrap();
    assert!(printed.contains(r#""min_bond":"5000000usyn""#), "{printed}");
    assert_eq!(WorkflowFile::parse(&printed, "printed").unwrap(), spec);
    let bad = step_json("classify", "[]", "zk", "1").replacen("}", r#", "min_bond": true}"#, 1);
    let e = WorkflowFile::parse(&workflow_json(&bad), "wf.json").unwrap_err();
    assert!(e.to_string().contains("min_bond"), "{e}");
}

#[test]
fn a_bad_workflow_file_says_which_step_and_field() {
    let cases = [
        (
            workflow_json(&step_json("a", "[]", "zk", r#""1syn""#).replace(MODEL, "abc")),
            vec!["wf.json", "step 0 (a)", "model", "64 hex digits"],
        ),
        (
            workflow_json(&step_json("a", "[]", "fast", r#""1syn""#)),
            vec!["step 0", "mode", "zk, optimistic"],
        ),
        (
            workflow_json(&step_json("a", "[]", "zk", r#""1 banana""#)),
            vec!["step 0", "reward", "1 banana"],
        ),
        (
            workflow_json(&step_json("a", "[]", "zk", "-3")),
            vec!["reward", "whole number of usyn"],
        ),
        (
            workflow_json(&format!(
                "{}, {}",
                step_json("a", "[1]", "zk", "1"),
                step_json("b", "[]", "zk", "1")
            )),
            vec!["step 0 (a) consumes step 1", "earlier steps"],
        ),
        (
            workflow_json(&step_json("a", "[]", "zk", "1").replace("timeout_blocks", "timeout")),
            vec!["unknown field `timeout`", "expected {\"name\""],
        ),
        (
            workflow_json(&step_json("a", "[]", "zk", "1")).replace("digits", "Digits!"),
            vec!["workflow name", "Digits!"],
        ),
        (workflow_json(""), vec!["1 ..= 64 steps", "has 0"]),
        ("not json".to_string(), vec!["wf.json", "expected"]),
    ];
    for (text, needles) in cases {
        let e = WorkflowFile::parse(&text, "wf.json")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("workflow file wf.json: "), "{e}");
        for n in needles {
            assert!(e.contains(n), "{n:?} not in {e:?}");
        }
    }
}

#[test]
fn a_missing_workflow_file_names_the_path() {
    let e = WorkflowFile::read(std::path::Path::new("/nonexistent/wf.json"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("/nonexistent/wf.json") && e.contains("cannot read"),
        "{e}"
    );
}

#[test]
fn modes_parse_in_any_case_and_print_back() {
    for m in [VerificationMode::Zk, VerificationMode::Optimistic] {
        assert_eq!(parse_mode(mode_name(m)).unwrap(), m);
    }
    assert_eq!(parse_mode("ZK").unwrap(), VerificationMode::Zk);
    assert!(parse_mode("snark")
        .unwrap_err()
        .to_string()
        .contains("zk, optimistic"));
}

#[test]
fn the_proposal_id_comes_from_the_proposal_submitted_event() {
    let mut outcome = TxOutcome {
        hash: synod_protocol::TxHash([0; 32]),
        height: Some(5),
        code: 0,
        log: String::new(),
        events: vec![("fee_paid".into(), vec![("fee".into(), "10".into())])],
    };
    assert_eq!(submitted_proposal_id(&outcome), None);
    outcome.events.push((
        "proposal_submitted".into(),
        vec![
            ("kind".into(), "text".into()),
            ("proposal".into(), "7".into()),
        ],
    ));
    assert_eq!(submitted_proposal_id(&outcome), Some(7));
}

fn proposal(status: ProposalStatus, deposit: Amount, expedited: bool) -> Proposal {
    Proposal {
        id: 3,
        proposer: Address([1; 20]),
        kind: ProposalKind::Text,
        title: "t".into(),
        summary: String::new(),
        expedited,
        expedited_until: None,
        status,
        submit_height: Height(10),
        deposit_end_height: Height(110),
        total_deposit: deposit,
        voting_start_height: None,
        voting_end_height: None,
        final_tally: None,
        outcome: None,
        deposits: synod_protocol::governance::DepositFate::Held,
    }
}

#[test]
fn the_next_step_is_the_missing_deposit_the_vote_or_nothing() {
    let gov = GovernanceParams::default();
    let p = proposal(ProposalStatus::DepositPeriod, Amount::syn(2_500), false);
    let next = NextStep::of(&p, &gov);
    assert_eq!(
        next,
        NextStep::Deposits {
            missing: Amount::syn(7_500),
            by_height: Height(110)
        }
    );
    assert!(next.describe(3).contains("synod gov deposit 3"));
    // An expedited proposal needs the expedited minimum.
    let p = proposal(ProposalStatus::DepositPeriod, Amount::syn(2_500), true);
    assert!(matches!(
        NextStep::of(&p, &gov),
        NextStep::Deposits { missing, .. } if missing == Amount::syn(47_500)
    ));
    let mut p = proposal(ProposalStatus::VotingPeriod, Amount::syn(10_000), false);
    p.voting_end_height = Some(Height(300));
    assert!(NextStep::of(&p, &gov)
        .describe(3)
        .contains("until height 300"));
    let mut p = proposal(ProposalStatus::Rejected, Amount::syn(10_000), false);
    p.outcome = Some("quorum not reached".into());
    assert_eq!(
        NextStep::of(&p, &gov).describe(3),
        "ended: rejected (quorum not reached)"
    );
}
