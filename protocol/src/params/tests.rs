//! Parameter bounds, changes by module.name and their JSON forms.

use super::*;

#[test]
fn evidence_may_not_outlive_the_unbonding_period() {
    let mut p = ChainParams::default();
    assert!(p.staking.max_evidence_age_blocks <= p.staking.unbonding_blocks);
    p.staking.max_evidence_age_blocks = p.staking.unbonding_blocks + 1;
    let problems = p.problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].name, "max_evidence_age_blocks");
    assert!(
        problems[0].to_string().contains("unbonding_blocks"),
        "{}",
        problems[0]
    );
    // A change that shortens the unbonding period below the evidence age is refused too.
    let shorter = vec![crate::governance::ParamChange {
        module: "staking".into(),
        name: "unbonding_blocks".into(),
        value: "10".into(),
    }];
    assert!(ChainParams::default().with_changes(&shorter).is_err());
}

#[test]
fn the_minimum_fee_is_the_per_byte_fee_times_the_length() {
    let mut p = AccountsParams {
        min_fee_per_byte_usyn: 3,
        ..AccountsParams::default()
    };
    assert_eq!(p.min_fee(0), Amount::ZERO);
    assert_eq!(p.min_fee(250), Amount(750));
    p.min_fee_per_byte_usyn = 0;
    assert_eq!(p.min_fee(1_000), Amount::ZERO);
    // The largest per-byte fee times the largest length does not wrap.
    p.min_fee_per_byte_usyn = u64::MAX;
    assert_eq!(
        p.min_fee(usize::MAX),
        Amount(u128::from(u64::MAX) * usize::MAX as u128)
    );
}

#[test]
fn param_change_applies_and_checks() {
    let p = ChainParams::default();
    let q = p.with_change("staking", "max_validators", "7").unwrap();
    assert_eq!(q.staking.max_validators, 7);
    assert_eq!(
        q.value_of("staking", "max_validators").as_deref(),
        Some("7")
    );
    let q = p
        .with_change("governance", "min_deposit", "\"5000000\"")
        .unwrap();
    assert_eq!(q.governance.min_deposit, Amount(5_000_000));
    assert!(matches!(
        p.with_change("stacking", "max_validators", "7"),
        Err(ParamChangeError::UnknownModule { .. })
    ));
    let e = p.with_change("staking", "max_validator", "7").unwrap_err();
    assert!(e.to_string().contains("max_validators"), "{e}");
    assert!(matches!(
        p.with_change("staking", "max_validators", "seven"),
        Err(ParamChangeError::NotJson { .. })
    ));
    assert!(matches!(
        p.with_change("staking", "max_validators", "-1"),
        Err(ParamChangeError::WrongType { .. })
    ));
    assert!(matches!(
        p.with_change("staking", "max_validators", "0"),
        Err(ParamChangeError::OutOfBounds(_))
    ));
    // A cross-field bound: expedited voting must stay shorter...
    assert!(matches!(
        p.with_change("governance", "voting_blocks", "86400"),
        Err(ParamChangeError::OutOfBounds(_))
    ));
    // ...checked once after all changes, in any order.
    let change = |name: &str, value: &str| crate::governance::ParamChange {
        module: "governance".into(),
        name: name.into(),
        value: value.into(),
    };
    let both = [
        change("voting_blocks", "100"),
        change("expedited_voting_blocks", "50"),
    ];
    let q = p.with_changes(&both).unwrap();
    assert_eq!(q.governance.voting_blocks, 100);
    let reversed = [both[1].clone(), both[0].clone()];
    assert_eq!(p.with_changes(&reversed).unwrap(), q);
    assert!(p
        .with_changes(&[both[0].clone(), change("nope", "1")])
        .is_err());
}

#[test]
fn defaults_are_valid() {
    ChainParams::default().validate().unwrap();
}

#[test]
fn out_of_bounds_names_the_param() {
    let mut p = ChainParams::default();
    p.staking.double_sign_slash_ppm = 2_000_000;
    let e = p.validate().unwrap_err();
    assert_eq!((e.module, e.name), ("staking", "double_sign_slash_ppm"));
}

#[test]
fn problems_names_every_bad_param_in_every_module() {
    let mut p = ChainParams::default();
    p.accounts.max_tx_bytes = 1;
    p.staking.unbonding_blocks = 0;
    p.staking.double_sign_slash_ppm = 2_000_000;
    p.reputation.power_factor_step_ppm = 0;
    p.rewards.treasury_share_ppm = 2_000_000;
    p.models.max_k = 19;
    let named: Vec<_> = p.problems().iter().map(|e| (e.module, e.name)).collect();
    assert!(named.contains(&("accounts", "max_tx_bytes")), "{named:?}");
    assert!(
        named.contains(&("staking", "unbonding_blocks")),
        "{named:?}"
    );
    assert!(
        named.contains(&("staking", "double_sign_slash_ppm")),
        "{named:?}"
    );
    assert!(
        named.contains(&("reputation", "power_factor_step_ppm")),
        "{named:?}"
    );
    assert!(
        named.contains(&("rewards", "treasury_share_ppm")),
        "{named:?}"
    );
    assert!(named.contains(&("models", "max_k")), "{named:?}");
    assert_eq!(p.validate().unwrap_err(), p.problems()[0]);
}

#[test]
fn params_without_the_models_module_read_as_its_defaults() {
    let mut v = serde_json::to_value(ChainParams::default()).unwrap();
    v.as_object_mut().unwrap().remove("models");
    let p: ChainParams = serde_json::from_value(v).unwrap();
    assert_eq!(p.models, ModelsParams::default());
}

#[test]
fn the_encoding_is_the_module_encodings_back_to_back() {
    let p = ChainParams::default();
    let parts = [
        crate::codec::encode(&p.accounts),
        crate::codec::encode(&p.staking),
        crate::codec::encode(&p.reputation),
        crate::codec::encode(&p.rewards),
        crate::codec::encode(&p.models),
        crate::codec::encode(&p.governance),
        crate::codec::encode(&p.agents),
        crate::codec::encode(&p.runs),
        crate::codec::encode(&p.disputes),
    ];
    assert_eq!(parts.concat(), crate::codec::encode(&p));
}

#[test]
fn unknown_fields_are_rejected_in_json() {
    let mut v = serde_json::to_value(ChainParams::default()).unwrap();
    v["staking"]["bogus"] = serde_json::json!(1);
    assert!(serde_json::from_value::<ChainParams>(v).is_err());
}

#[test]
fn agent_params_have_bounds_and_default_when_absent() {
    let mut p = ChainParams::default();
    assert!(p.agents.validate().is_ok());
    p.agents.min_bond = Amount::ZERO;
    p.agents.max_models = 0;
    let names: Vec<_> = p.problems().iter().map(|e| e.name).collect();
    assert_eq!(names, ["min_bond", "max_models"]);
    // A genesis written before the module existed reads with its defaults.
    let mut v = serde_json::to_value(ChainParams::default()).unwrap();
    v.as_object_mut().unwrap().remove("agents");
    let back: ChainParams = serde_json::from_value(v).unwrap();
    assert_eq!(back.agents, AgentsParams::default());
    let q = ChainParams::default()
        .with_change("agents", "min_bond", "\"5000000\"")
        .unwrap();
    assert_eq!(q.agents.min_bond, Amount(5_000_000));
}
