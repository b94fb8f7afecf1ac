//! Every built-in scenario, run on the real state machine, asserting the
//! outcome it exists to show. Few blocks and agents: long runs are
//! `synod-sim run` commands of their own.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use synod_sim::{
    metrics::RunOutput,
    scenario::{set_path, Outage},
    Scenario,
};

fn run(name: &str) -> RunOutput {
    synod_sim::run(&Scenario::load(name).unwrap()).unwrap()
}

fn run_with(name: &str, edits: &[(&str, &str)]) -> RunOutput {
    let mut t: toml::Table = Scenario::text(name).unwrap().parse().unwrap();
    for (k, v) in edits {
        set_path(&mut t, k, v).unwrap();
    }
    synod_sim::run(&Scenario::from_table(t).unwrap()).unwrap()
}

fn last(out: &RunOutput, key: &str) -> i128 {
    *out.last
        .get(key)
        .unwrap_or_else(|| panic!("no metric {key}: {:?}", out.last.keys()))
}

#[test]
fn baseline_every_run_completes_and_honest_executors_profit() {
    let out = run("baseline");
    assert_eq!(out.height, out.blocks);
    let submitted = last(&out, "runs_submitted");
    assert!(submitted >= 5, "{submitted}");
    assert_eq!(last(&out, "runs_failed"), 0);
    assert_eq!(last(&out, "steps_timed_out"), 0);
    assert_eq!(last(&out, "slashed_usyn"), 0);
    // Runs submitted in the last few blocks may still be in flight.
    assert!(last(&out, "runs_verified") >= submitted - 3);
    assert!(last(&out, "roi_ppm:executor") > 0);
    assert!(last(&out, "roi_ppm:requester") < 0);
    assert_eq!(last(&out, "txs_failed"), 0);
}

#[test]
fn offline_agents_lose_bond_and_reputation_while_their_steps_complete_by_reassignment() {
    let out = run("offline-agents");
    assert!(last(&out, "timeouts:offline") > 0);
    assert!(last(&out, "slashed_usyn:offline") > 0);
    assert_eq!(last(&out, "timeouts:executor"), 0);
    assert_eq!(last(&out, "slashed_usyn:executor"), 0);
    assert!(last(&out, "roi_ppm:offline") < 0);
    assert!(last(&out, "roi_ppm:executor") > 0);
    assert!(last(&out, "reputation_mean:offline") < last(&out, "reputation_mean:executor"));
    assert_eq!(
        last(&out, "runs_failed"),
        0,
        "reassignment completes every step"
    );
    assert!(last(&out, "runs_verified") >= last(&out, "runs_submitted") - 3);
}

#[test]
fn splitting_stake_over_identities_never_raises_the_draw_weight() {
    let out = run("sybil-split");
    let share = |tick: u64, class: &str| {
        out.rows
            .iter()
            .find(|r| r.tick == tick)
            .and_then(|r| r.values.get(&format!("weight_share_ppm:{class}")).copied())
            .unwrap()
    };
    // Both the swarm and the whole bond 600 syn. Registered, before any
    // work: the same weight (bond × reputation), to rounding.
    assert!((share(2, "sybil") - share(2, "whole")).abs() <= 1);
    // After the same run of work, the swarm weighs less: reputation grows
    // concavely with each identity's own tasks, so work spread over many
    // identities earns less weight than work on one.
    assert!(
        last(&out, "weight_share_ppm:sybil") < last(&out, "weight_share_ppm:whole"),
        "{:?}",
        out.last
    );
    assert!(last(&out, "reputation_mean:sybil") < last(&out, "reputation_mean:whole"));
    assert!(last(&out, "assigned:sybil") > 0 && last(&out, "assigned:whole") > 0);
}

/// Finding of synod-sim (see docs/simulations.md): the runs module never
/// gives one agent two steps of a run while others qualify, so a swarm of
/// identities can hold every step of a run where the whole can hold one,
/// and over seeds the swarm earns more than the whole with less weight.
/// This asserts the paper's claim; it fails on the current rules.
#[test]
#[ignore = "fails: the per-run one-step-per-agent rule rewards splitting (see docs/simulations.md)"]
fn splitting_stake_over_identities_never_raises_expected_income() {
    let (mut swarm, mut whole) = (0, 0);
    for seed in 0..6 {
        let out = run_with("sybil-split", &[("seed", &seed.to_string())]);
        swarm += last(&out, "income_usyn:sybil");
        whole += last(&out, "income_usyn:whole");
    }
    assert!(swarm <= whole, "swarm {swarm} > whole {whole}");
}

#[test]
fn reregistering_after_a_slash_never_beats_the_slashed_identity() {
    let out = run("sybil-reregister");
    assert!(last(&out, "slashed_usyn:sybil") > 0);
    let report = &out.actors.get(&0).expect("the sybil's report").values;
    assert!(report["identities_used"] >= 2, "{report:?}");
    let floor = 100_000;
    let mut checked = 0;
    for n in 0.. {
        let (Some(old), Some(fresh)) = (
            report.get(&format!("abandoned_{n}_score")),
            report.get(&format!("fresh_{}_score", n + 1)),
        ) else {
            break;
        };
        assert!(
            fresh <= old,
            "fresh identity {fresh} above the abandoned {old}"
        );
        assert_eq!(*fresh, floor, "a fresh identity starts at the floor");
        checked += 1;
    }
    assert!(checked >= 1, "{report:?}");
}

#[test]
fn a_whale_passes_a_proposal_alone_only_above_the_threshold() {
    // 20,000 of 40,000 bonded: exactly 50%, not above the threshold.
    let out = run("governance-whale");
    assert_eq!(last(&out, "proposals_rejected"), 1);
    assert_eq!(last(&out, "proposals_passed"), 0);
    assert_eq!(last(&out, "params_changed"), 0);
    // One syn more and the whale alone passes its change.
    let out = run_with("governance-whale", &[("actors.0.stake_syn", "20001")]);
    assert_eq!(last(&out, "proposals_passed"), 1);
    assert_eq!(last(&out, "params_changed"), 1);
}

#[test]
fn a_censoring_coalition_under_a_third_only_delays_txs_while_it_proposes() {
    let out = run("censoring-coalition");
    assert!(last(&out, "power_share_ppm:censor") < 333_333);
    assert!(last(&out, "txs_censored") > 0);
    let delay = last(&out, "max_censor_delay_blocks");
    assert!(delay >= 1);
    assert!(
        delay <= last(&out, "max_actor_proposer_streak"),
        "a censored tx waits at most the coalition's run of proposer slots"
    );
    assert_eq!(last(&out, "timeouts:executor"), 0);
    assert_eq!(last(&out, "runs_failed"), 0);
}

#[test]
fn a_demand_spike_is_capped_per_submitter_and_served() {
    let out = run("demand-spike");
    assert!(
        last(&out, "runs_rejected") > 0,
        "the open-runs cap refuses the excess"
    );
    assert_eq!(last(&out, "runs_failed"), 0);
    let verified_at = |tick: u64| {
        out.rows
            .iter()
            .find(|r| r.tick == tick)
            .map(|r| r.values["runs_verified"])
            .unwrap()
    };
    let before = verified_at(10);
    let during = verified_at(22) - verified_at(12);
    assert!(
        during > before,
        "spike throughput {during} vs {before} before"
    );
}

#[test]
fn validators_absent_with_a_third_of_the_power_halt_the_chain_and_one_absent_does_not() {
    let mut s = Scenario::load("baseline").unwrap();
    s.blocks = 12;
    s.outages.push(Outage {
        validators: vec![0, 1],
        from: 5,
        until: 8,
    });
    let out = synod_sim::run(&s).unwrap();
    assert_eq!(last(&out, "halted_blocks"), 4);
    assert_eq!(out.height, 8);
    s.outages[0].validators = vec![0];
    let out = synod_sim::run(&s).unwrap();
    assert_eq!(last(&out, "halted_blocks"), 0);
    assert_eq!(out.height, 12);
}
