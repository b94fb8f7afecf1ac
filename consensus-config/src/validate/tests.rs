#![allow(clippy::unwrap_used)]

use super::*;

#[test]
fn syntax_errors_carry_line_and_column() {
    let problems = validate_genesis("{\n  \"chain_id\": \"x\",\n  oops\n}");
    assert_eq!(problems.len(), 1);
    assert!(problems[0].message.contains("line 3"), "{}", problems[0]);
    assert!(problems[0].message.contains("column"), "{}", problems[0]);
}

/// A valid genesis document (one validator) as JSON, with `models`.
#[cfg(feature = "models")]
fn genesis_with_models(models: serde_json::Value) -> String {
    let app_state = synod_protocol::GenesisAppState::one_validator_example();
    let time = tendermint::Time::from_unix_timestamp(1_700_000_000, 0).unwrap();
    let doc = crate::genesis::build_genesis("synod-x", time, &app_state).unwrap();
    let mut json: Value = serde_json::from_str(&crate::genesis::genesis_json(&doc)).unwrap();
    json["app_state"]["models"] = models;
    json.to_string()
}

/// A small valid model: Dense 4 -> 2, then Relu.
#[cfg(feature = "models")]
fn tiny_model() -> synod_zkml::ir::Model {
    use synod_zkml::ir::{Model, Node, Op, Requant, Scale, TensorId, TensorInfo};
    Model {
        name: "tiny".into(),
        input: TensorInfo {
            shape: vec![4],
            zero_point: 0,
            scale: Scale {
                multiplier: 1,
                shift: 0,
            },
        },
        nodes: vec![
            Node {
                inputs: vec![TensorId(0)],
                op: Op::Dense {
                    in_features: 4,
                    out_features: 2,
                    weights: vec![1, -1, 2, 0, 3, 1, -2, 1],
                    bias: vec![0, 5],
                    requant: Requant {
                        multiplier: 1 << 30,
                        shift: 31,
                        zero_point: 0,
                    },
                    channels: Vec::new(),
                },
            },
            Node {
                inputs: vec![TensorId(1)],
                op: Op::Relu { zero_point: 0 },
            },
        ],
    }
}

#[cfg(feature = "models")]
#[test]
fn genesis_models_are_loaded_and_each_bad_one_is_named() {
    use base64::Engine;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let good = tiny_model().to_file_bytes();
    let mut wrong_id = good.clone();
    wrong_id[12] ^= 0xff;
    let problems = validate_genesis(&genesis_with_models(serde_json::json!([
        {"model": b64(&good), "modes": ["Zk", "Optimistic"]},
        {"model": "%%%", "modes": ["Zk"]},
        {"model": b64(&wrong_id), "modes": ["Optimistic"]},
        {"model": b64(&good), "modes": []},
        {"model": b64(b"SYNODMDL"), "modes": ["Zk"], "extra": 1},
    ])));
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "app_state.models[4].extra",
            "app_state.models[3].modes",
            "app_state.models[1].model",
            "app_state.models[2].model",
            "app_state.models[3].model",
        ],
        "{problems:?}"
    );
    assert!(problems[2].message.contains("base64"), "{}", problems[2]);
    assert!(problems[3].message.contains("model id"), "{}", problems[3]);
    assert!(
        problems[4].message.contains("also app_state.models[0]"),
        "{}",
        problems[4]
    );
    assert_eq!(
        validate_genesis(&genesis_with_models(serde_json::json!([
            {"model": b64(&good), "modes": ["Zk"]},
        ]))),
        vec![]
    );
    // A genesis without the field, or with an empty list, is valid.
    assert_eq!(
        validate_genesis(&genesis_with_models(serde_json::json!([]))),
        vec![]
    );
}

#[cfg(feature = "models")]
#[test]
fn genesis_workflow_steps_are_checked_against_the_genesis_models() {
    use base64::Engine;
    let tiny = tiny_model();
    let id = synod_zkml::ir::ModelId::of(&tiny).0;
    let file = base64::engine::general_purpose::STANDARD.encode(tiny.to_file_bytes());
    let step = |name: &str, model: [u8; 32], inputs: Vec<u32>, mode: &str| {
        serde_json::json!({
            "name": name, "model": model.to_vec(), "inputs": inputs, "mode": mode,
            "timeout_blocks": 5, "reward": "1", "min_bond": "0", "min_reputation": 0, "retries": 0
        })
    };
    let with = |workflows: serde_json::Value| {
        let mut g: Value = serde_json::from_str(&genesis_with_models(serde_json::json!([
            {"model": file, "modes": ["Zk"]},
        ])))
        .unwrap();
        g["app_state"]["workflows"] = workflows;
        validate_genesis(&g.to_string())
    };
    // Tiny takes 4 values and gives 2: one step on the run's input is fine.
    assert_eq!(
        with(serde_json::json!([{"name": "ok", "steps": [step("a", id, vec![], "Zk")]}])),
        vec![]
    );
    let problems = with(serde_json::json!([
        {"name": "chained", "steps": [step("a", id, vec![], "Zk"), step("b", id, vec![0], "Zk")]},
        {"name": "mode", "steps": [step("a", id, vec![], "Optimistic")]},
        {"name": "missing", "steps": [step("a", [7; 32], vec![], "Zk")]},
    ]));
    let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(text.len(), 3, "{text:?}");
    assert!(
        text[0].contains("app_state.workflows[0]") && text[0].contains("step 1"),
        "{text:?}"
    );
    assert!(
        text[1].contains("app_state.workflows[1]") && text[1].contains("Optimistic"),
        "{text:?}"
    );
    assert!(
        text[2].contains("app_state.workflows[2]") && text[2].contains("unknown model"),
        "{text:?}"
    );
}

/// A valid one-validator genesis document, as JSON, changed by `edit`.
fn one_validator_genesis(edit: impl FnOnce(&mut Value)) -> String {
    let app_state = synod_protocol::GenesisAppState::one_validator_example();
    let time = tendermint::Time::from_unix_timestamp(1_700_000_000, 0).unwrap();
    let doc = crate::genesis::build_genesis("synod-x", time, &app_state).unwrap();
    let mut json: Value = serde_json::from_str(&crate::genesis::genesis_json(&doc)).unwrap();
    edit(&mut json);
    json.to_string()
}

#[test]
fn a_bad_balance_is_one_problem_not_also_an_unfunded_validator() {
    assert_eq!(validate_genesis(&one_validator_genesis(|_| {})), vec![]);
    for bad in [serde_json::json!("12 bananas"), serde_json::json!(5)] {
        let problems = validate_genesis(&one_validator_genesis(|g| {
            g["app_state"]["accounts"][0]["balance"] = bad.clone();
        }));
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["app_state.accounts[0].balance"], "{problems:?}");
    }
    // A readable balance that is too small is still named where it is.
    let problems = validate_genesis(&one_validator_genesis(|g| {
        g["app_state"]["accounts"][0]["balance"] = serde_json::json!("1");
    }));
    assert!(
        problems
            .iter()
            .any(|p| p.path == "app_state.validators[0].self_bond"),
        "{problems:?}"
    );
}

#[test]
fn a_bad_validator_entry_is_one_problem_not_also_an_unknown_listed_key() {
    let problems = validate_genesis(&one_validator_genesis(|g| {
        g["app_state"]["validators"][0]["self_bond"] = serde_json::json!("lots");
    }));
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["app_state.validators[0].self_bond"], "{problems:?}");
}

/// The paths of `text`'s problems.
fn problem_paths(text: &str) -> Vec<String> {
    validate_genesis(text).into_iter().map(|p| p.path).collect()
}

#[test]
fn a_genesis_that_repeats_a_key_is_refused_naming_the_key() {
    let text = crate::genesis::genesis_json(
        &crate::genesis::build_genesis(
            "synod-x",
            tendermint::Time::from_unix_timestamp(1_700_000_000, 0).unwrap(),
            &synod_protocol::GenesisAppState::one_validator_example(),
        )
        .unwrap(),
    );
    assert_eq!(validate_genesis(&text), vec![]);
    // The first models entry is one the app refuses; a reader that keeps
    // the last value sees an empty list.
    let twice = text.replacen(
        "\"models\": []",
        "\"models\": [{\"modes\": [\"zk\"]}],\n    \"models\": []",
        1,
    );
    assert_ne!(twice, text);
    let problems = validate_genesis(&twice);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].path, "app_state.models");
    assert!(
        problems[0]
            .message
            .contains("\"models\" appears more than once"),
        "{}",
        problems[0]
    );
    let chain_twice = text.replacen(
        "\"chain_id\"",
        "\"chain_id\": \"synod-y\",\n  \"chain_id\"",
        1,
    );
    assert_eq!(problem_paths(&chain_twice), ["chain_id"]);
}

#[test]
fn a_chain_id_is_at_most_50_bytes_of_the_characters_tendermint_allows() {
    for bad in ["synod test", "synod/1", "synod:x", "ßynod"] {
        let paths = problem_paths(&one_validator_genesis(|g| g["chain_id"] = bad.into()));
        assert_eq!(paths, ["chain_id"], "{bad}");
    }
    // 26 characters, 52 bytes.
    let problems = validate_genesis(&one_validator_genesis(|g| {
        g["chain_id"] = "é".repeat(26).into()
    }));
    assert!(
        problems.iter().any(|p| p.message.contains("52 bytes long")),
        "{problems:?}"
    );
    let longest = "a-Z_0.9".repeat(7) + "x";
    assert_eq!(longest.len(), MAX_CHAIN_ID_LEN);
    assert_eq!(
        validate_genesis(&one_validator_genesis(|g| g["chain_id"] = longest.into())),
        vec![]
    );
}

#[test]
fn consensus_params_are_checked_in_the_shape_the_node_reads() {
    let paths = |edit: &dyn Fn(&mut Value)| problem_paths(&one_validator_genesis(edit));
    assert_eq!(
        paths(&|g| {
            g["consensus_params"]["version"] =
                serde_json::json!({"vote_extensions_enable_height": "0"})
        }),
        ["consensus_params.version.app"]
    );
    assert_eq!(
        paths(&|g| g["consensus_params"]["version"] = serde_json::json!([])),
        ["consensus_params.version"]
    );
    assert_eq!(
        paths(&|g| g["consensus_params"]["abci"] = Value::Null),
        ["consensus_params.abci"]
    );
    assert_eq!(
        paths(&|g| g["consensus_params"]["block"]["max_bytes"] = "-1".into()),
        ["consensus_params.block.max_bytes"]
    );
    // What the node reads as absent passes.
    for version in [
        serde_json::json!({}),
        Value::Null,
        serde_json::json!({"app_version": "3"}),
    ] {
        assert_eq!(
            paths(&|g| g["consensus_params"]["version"] = version.clone()),
            Vec::<String>::new()
        );
    }
}

#[test]
fn what_only_the_node_refuses_is_reported_with_its_path() {
    let problems = validate_genesis(&one_validator_genesis(|g| {
        g["consensus_params"]["block"]["time_iota_ms"] = "soon".into()
    }));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].path, "consensus_params.block.time_iota_ms");
    assert!(
        problems[0]
            .message
            .starts_with("synod-node refuses the document"),
        "{}",
        problems[0]
    );
    let paths = problem_paths(&one_validator_genesis(|g| {
        let root = g.as_object_mut().unwrap();
        root.remove("initial_height");
        root.remove("app_hash");
    }));
    assert_eq!(paths, ["initial_height", "app_hash"]);
}

#[test]
fn a_listed_key_that_panics_tendermint_is_a_problem_not_a_crash() {
    for value in ["AAAA=", "=", "AAAAAAAA===="] {
        let problems = validate_genesis(&one_validator_genesis(|g| {
            g["validators"][0]["pub_key"]["value"] = value.into()
        }));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].path, "validators[0].pub_key.value");
        assert!(
            problems[0].message.contains("not standard base64"),
            "{}",
            problems[0]
        );
    }
}

#[test]
fn a_non_object_is_refused() {
    let problems = validate_genesis("[1, 2]");
    assert_eq!(problems[0].path, "(document)");
}

#[test]
fn numbers_where_cometbft_expects_strings_are_named() {
    let problems = validate_genesis(r#"{"initial_height": 1}"#);
    assert!(
        problems
            .iter()
            .any(|p| p.path == "initial_height" && p.message.contains("must be a string")),
        "{problems:?}"
    );
}

#[test]
fn genesis_workflows_are_read_and_checked() {
    let step = serde_json::json!({
        "name": "classify", "model": vec![1u8; 32], "inputs": [], "mode": "Zk",
        "timeout_blocks": 0, "reward": "1", "min_bond": "0", "min_reputation": 0, "retries": 0
    });
    let problems = validate_genesis(&one_validator_genesis(|g| {
        g["app_state"]["workflows"] = serde_json::json!([
            {"name": "digits", "steps": [step.clone()]},
            {"name": "digits", "steps": [step]},
        ]);
    }));
    let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    assert!(
        text.iter()
            .any(|p| p.contains("app_state.workflows[0]") && p.contains("zero timeout")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|p| p.contains("app_state.workflows[1]") && p.contains("listed twice")),
        "{text:?}"
    );
}
