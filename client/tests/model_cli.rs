//! `synod model …` as a user runs it: the built `synod` binary on the shipped
//! digits MLP (`zkml/models/mlp.onnx`) and its calibration and test data. No
//! node is needed. Proving uses the MLP only: these tests run in debug.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

use serde_json::Value;

const SYNOD: &str = env!("CARGO_BIN_EXE_synod");

fn models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../zkml/models")
}

fn synod(args: &[&str]) -> Output {
    Command::new(SYNOD)
        .args(args)
        .env_remove("SYNOD_NODE")
        .output()
        .expect("the synod binary runs")
}

/// Runs `synod --output json ARGS`, asserts success, returns the document.
fn synod_json(args: &[&str]) -> Value {
    let mut all = vec!["--output", "json"];
    all.extend_from_slice(args);
    let out = synod(&all);
    assert!(
        out.status.success(),
        "synod {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON document on stdout")
}

/// Runs `synod ARGS`, asserts failure, returns stderr.
fn synod_fails(args: &[&str]) -> String {
    let out = synod(args);
    assert!(!out.status.success(), "synod {args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Imports the MLP with its calibration data into `dir`; returns the model path and the import document.
fn import_mlp(dir: &Path) -> (PathBuf, Value) {
    let model = dir.join("mlp.synod-model");
    let models = models_dir();
    let doc = synod_json(&[
        "model",
        "import",
        models.join("mlp.onnx").to_str().unwrap(),
        "--calibration",
        models.join("digits-calibration.json").to_str().unwrap(),
        "--out",
        model.to_str().unwrap(),
    ]);
    (model, doc)
}

fn test_data() -> String {
    models_dir()
        .join("digits-test.json")
        .to_str()
        .unwrap()
        .to_owned()
}

#[test]
fn importing_the_mlp_writes_a_model_whose_id_inspect_shows() {
    let dir = tempfile::tempdir().unwrap();
    let (model, doc) = import_mlp(dir.path());
    assert!(model.exists());
    let id = doc["model_id"].as_str().unwrap();
    assert_eq!(id.len(), 64, "{doc}");
    assert_eq!(doc["parameters"], 2410);
    assert_eq!(doc["ops"], serde_json::json!(["Dense", "Dense"]));
    assert!(
        doc["calibration"]["int8_accuracy"].as_f64().unwrap() > 0.9,
        "{doc}"
    );

    let inspected = synod_json(&["model", "inspect", model.to_str().unwrap()]);
    assert_eq!(inspected["model_id"], id);
    assert_eq!(inspected["input"]["shape"], serde_json::json!([64]));
    assert_eq!(inspected["nodes"].as_array().unwrap().len(), 2);
    assert!(inspected["k"].as_u64().is_some(), "{inspected}");
}

#[test]
fn running_the_mlp_on_test_images_mostly_gives_their_labels() {
    let dir = tempfile::tempdir().unwrap();
    let (model, _) = import_mlp(dir.path());
    let data = test_data();
    let mut correct = 0;
    for index in 0..10 {
        let doc = synod_json(&[
            "model",
            "run",
            model.to_str().unwrap(),
            "--input-file",
            &data,
            "--index",
            &index.to_string(),
            "--float",
        ]);
        assert_eq!(doc["dequantized_logits"].as_array().unwrap().len(), 10);
        if doc["class"] == doc["label"] {
            correct += 1;
        }
    }
    assert!(
        correct >= 8,
        "only {correct} of 10 test images classified right"
    );
}

#[test]
fn a_proof_verifies_and_a_tampered_proof_file_is_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (model, _) = import_mlp(dir.path());
    let model = model.to_str().unwrap();
    let proof = dir.path().join("proof.json");
    let data = test_data();
    let proved = synod_json(&[
        "model",
        "prove",
        model,
        "--input-file",
        &data,
        "--float",
        "--out",
        proof.to_str().unwrap(),
    ]);
    assert!(proved["proof_bytes"].as_u64().unwrap() > 0, "{proved}");
    let verified = synod_json(&["model", "verify", model, proof.to_str().unwrap()]);
    assert_eq!(verified["valid"], true);

    let file: Value = serde_json::from_str(&std::fs::read_to_string(&proof).unwrap()).unwrap();

    // Flipped proof bytes.
    let mut bad = file.clone();
    let hex = bad["proof"].as_str().unwrap().to_owned();
    let mid = hex.len() / 2;
    let flipped = if &hex[mid..mid + 1] == "0" { "1" } else { "0" };
    bad["proof"] = Value::String(format!("{}{flipped}{}", &hex[..mid], &hex[mid + 1..]));
    let bad_path = dir.path().join("tampered.json");
    std::fs::write(&bad_path, bad.to_string()).unwrap();
    let err = synod_fails(&["model", "verify", model, bad_path.to_str().unwrap()]);
    assert!(err.contains("does not verify"), "{err}");

    // A claimed output the model does not compute.
    let mut bad = file.clone();
    let first = bad["output"][0].as_i64().unwrap();
    bad["output"][0] = Value::from(if first == 127 { 126 } else { first + 1 });
    std::fs::write(&bad_path, bad.to_string()).unwrap();
    let err = synod_fails(&["model", "verify", model, bad_path.to_str().unwrap()]);
    assert!(err.contains("mismatched output"), "{err}");

    // A proof about another model.
    let mut bad = file;
    bad["model_id"] = Value::String("00".repeat(32));
    std::fs::write(&bad_path, bad.to_string()).unwrap();
    let err = synod_fails(&["model", "verify", model, bad_path.to_str().unwrap()]);
    assert!(err.contains("wrong model"), "{err}");
}

#[test]
fn importing_a_garbage_file_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.onnx");
    std::fs::write(&garbage, b"this is not a protobuf \xff\xff\xff").unwrap();
    let err = synod_fails(&["model", "import", garbage.to_str().unwrap()]);
    assert!(err.contains("not a readable ONNX model"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let out = synod(&[
        "--output",
        "json",
        "model",
        "inspect",
        garbage.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        doc["error"]
            .as_str()
            .unwrap()
            .contains("not a .synod-model file"),
        "{doc}"
    );
}

#[test]
fn importing_a_float_model_without_calibration_says_which_flag_to_pass() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mlp.synod-model");
    let err = synod_fails(&[
        "model",
        "import",
        models_dir().join("mlp.onnx").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(err.contains("--calibration FILE.json"), "{err}");
    // The library's own option is not the user's business.
    assert!(!err.contains("ImportOptions"), "{err}");
    assert!(!out.exists());
}

#[test]
fn a_missing_model_file_is_an_error_with_status_1() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.synod-model");
    let out = synod(&["model", "inspect", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("missing.synod-model"), "{err}");
}

#[test]
fn running_with_a_wrong_length_input_names_the_expected_shape() {
    let dir = tempfile::tempdir().unwrap();
    let (model, _) = import_mlp(dir.path());
    let err = synod_fails(&[
        "model",
        "run",
        model.to_str().unwrap(),
        "--input",
        "[1, 2, 3]",
    ]);
    assert!(err.contains("[64]") && err.contains("3 values"), "{err}");
}

const SUBMITTER: &str = "synod1q3rhnepx3sj7tmfyazlkhft4rtj9xl50y3yj3m";

/// `synod model prove` of test image 0 under `visibility` (with a context
/// for `context=bound`), written to `out`; returns the command's document.
fn prove_with(model: &str, visibility: &str, tag: Option<&str>, out: &Path) -> Value {
    let data = test_data();
    let mut args = vec![
        "model",
        "prove",
        model,
        "--input-file",
        &data,
        "--float",
        "--visibility",
        visibility,
        "--out",
        out.to_str().unwrap(),
    ];
    if let Some(tag) = tag {
        args.extend([
            "--context-chain-id",
            "synod-test",
            "--context-submitter",
            SUBMITTER,
            "--context-tag",
            tag,
        ]);
    }
    synod_json(&args)
}

#[test]
fn a_committed_input_proof_file_keeps_the_input_private_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let (model, _) = import_mlp(dir.path());
    let model = model.to_str().unwrap();
    let proof = dir.path().join("committed.json");
    let visibility = "input=committed,output=public,context=bound";
    let proved = prove_with(model, visibility, Some("run 7 step 2"), &proof);
    let full = "input=committed,output=public,weights=fixed,context=bound";
    assert_eq!(proved["visibility"], full);

    let file: Value = serde_json::from_str(&std::fs::read_to_string(&proof).unwrap()).unwrap();
    assert_eq!(file["format"], "synod-inference-proof/v2");
    assert_eq!(file["visibility"], full);
    assert_eq!(file["input"]["commitment"].as_str().unwrap().len(), 64);
    assert!(file["input"].get("values").is_none(), "{file}");
    assert_eq!(file["output"]["values"], proved["output"]);
    assert_eq!(file["context"].as_str().unwrap().len(), 64);

    let verified = synod_json(&["model", "verify", model, proof.to_str().unwrap()]);
    assert_eq!(verified["valid"], true);
    assert_eq!(verified["visibility"], full);
    assert_eq!(verified["vk_hash"], file["vk_hash"]);

    // inspect --vk --visibility prints the key the proof was made with.
    let inspected = synod_json(&[
        "model",
        "inspect",
        model,
        "--vk",
        "--visibility",
        visibility,
    ]);
    assert_eq!(inspected["vk_hash"], file["vk_hash"]);
    let public = synod_json(&["model", "inspect", model, "--vk"]);
    assert_ne!(public["vk_hash"], file["vk_hash"]);

    let bad_path = dir.path().join("tampered.json");
    let refused = |edit: &dyn Fn(&mut Value)| {
        let mut bad = file.clone();
        edit(&mut bad);
        std::fs::write(&bad_path, bad.to_string()).unwrap();
        synod_fails(&["model", "verify", model, bad_path.to_str().unwrap()])
    };
    // Another submitter's context (a proof cannot be replayed by someone else).
    let other = dir.path().join("other.json");
    let other_doc = prove_with(model, visibility, Some("run 7 step 3"), &other);
    assert_eq!(other_doc["output"], proved["output"]);
    let other_file: Value =
        serde_json::from_str(&std::fs::read_to_string(&other).unwrap()).unwrap();
    assert_ne!(other_file["context"], file["context"]);
    let err = refused(&|f| f["context"] = other_file["context"].clone());
    assert!(err.contains("does not verify"), "{err}");
    // A claimed output the proof does not show (nothing to re-run: the input is private).
    let err = refused(&|f| {
        let first = f["output"]["values"][0].as_i64().unwrap();
        f["output"]["values"][0] = Value::from(if first == 127 { 126 } else { first + 1 });
    });
    assert!(err.contains("does not verify"), "{err}");
    // Another commitment.
    let err = refused(&|f| f["input"]["commitment"] = f["context"].clone());
    assert!(err.contains("does not verify"), "{err}");
    // A stated visibility the statement does not have.
    let err = refused(&|f| f["visibility"] = Value::from("input=committed,output=committed"));
    assert!(err.contains("visibility"), "{err}");
    // A dropped context.
    let err = refused(&|f| f["context"] = Value::Null);
    assert!(err.contains("visibility"), "{err}");
}

#[test]
fn a_fully_committed_proof_verifies_and_submit_refuses_it_until_the_chain_takes_it() {
    let dir = tempfile::tempdir().unwrap();
    let (model, _) = import_mlp(dir.path());
    let model = model.to_str().unwrap();
    let proof = dir.path().join("committed.json");
    let proved = prove_with(model, "input=committed,output=committed", None, &proof);
    assert_eq!(proved["statement"]["context"], Value::Null);
    let verified = synod_json(&["model", "verify", model, proof.to_str().unwrap()]);
    assert_eq!(verified["valid"], true);
    assert_eq!(verified["output"], Value::Null);
    assert_eq!(verified["statement"], proved["statement"]);
    // Refused before any node or key is needed.
    let err = synod_fails(&[
        "model",
        "submit",
        proof.to_str().unwrap(),
        "--from",
        "alice",
        "--node",
        "http://127.0.0.1:9",
    ]);
    assert!(err.contains("the chain accepts only"), "{err}");
}

#[test]
fn context_flags_and_a_bound_visibility_go_together() {
    let dir = tempfile::tempdir().unwrap();
    let (model, _) = import_mlp(dir.path());
    let model = model.to_str().unwrap();
    let data = test_data();
    let out = dir.path().join("p.json");
    let base = [
        "model",
        "prove",
        model,
        "--input-file",
        &data,
        "--float",
        "--out",
        out.to_str().unwrap(),
    ];
    let with = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        synod_fails(&args)
    };
    let err = with(&["--visibility", "input=committed,context=bound"]);
    assert!(err.contains("--context-chain-id"), "{err}");
    let err = with(&["--context-tag", "run 1"]);
    assert!(err.contains("add context=bound"), "{err}");
    let err = with(&["--visibility", "input=hidden"]);
    assert!(err.contains("public or committed"), "{err}");
    assert!(!out.exists());
}

/// `synod model import … --visibility weights=committed`: the private model
/// file, `inspect` on it, a proof made with the weights and verified with
/// the private file alone, and tampered private files refused.
#[test]
fn a_private_model_proves_with_its_weights_and_verifies_from_its_architecture() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("mlp.synod-model");
    let models = models_dir();
    let imported = synod_json(&[
        "model",
        "import",
        models.join("mlp.onnx").to_str().unwrap(),
        "--calibration",
        models.join("digits-calibration.json").to_str().unwrap(),
        "--out",
        model.to_str().unwrap(),
        "--visibility",
        "weights=committed",
    ]);
    let private = &imported["private_model"];
    let private_path = dir.path().join("mlp.private.json");
    assert_eq!(
        private["file"],
        private_path.to_str().unwrap(),
        "{imported}"
    );
    // Pinned by zkml/tests/vk_golden.rs.
    assert_eq!(
        private["vk_hash"],
        "37b6cb443bc6d6473561f4fbc7d7862e3cfeb723241c57f40944ca02121633c4"
    );
    assert_eq!(private["k"], 12);
    let text = std::fs::read_to_string(&private_path).unwrap();
    assert!(text.contains("synod-private-model/v1"));

    let inspected = synod_json(&["model", "inspect", private_path.to_str().unwrap(), "--vk"]);
    assert_eq!(inspected["zk_only"], true);
    assert_eq!(inspected["parameters"], 2410);
    assert_eq!(
        inspected["weights_commitment"],
        private["weights_commitment"]
    );
    assert_eq!(inspected["architecture_id"], private["architecture_id"]);
    assert_eq!(inspected["vk_hash"], private["vk_hash"]);

    let proof = dir.path().join("private-proof.json");
    let proved = synod_json(&[
        "model",
        "prove",
        model.to_str().unwrap(),
        "--input-file",
        &test_data(),
        "--float",
        "--visibility",
        "weights=committed",
        "--out",
        proof.to_str().unwrap(),
    ]);
    assert_eq!(proved["model_id"], private["architecture_id"], "{proved}");
    assert_eq!(
        proved["statement"]["weights"],
        private["weights_commitment"]
    );
    let verified = synod_json(&[
        "model",
        "verify",
        private_path.to_str().unwrap(),
        proof.to_str().unwrap(),
    ]);
    assert_eq!(verified["valid"], true);
    // The owner, with the weights, verifies the same proof.
    let verified = synod_json(&[
        "model",
        "verify",
        model.to_str().unwrap(),
        proof.to_str().unwrap(),
    ]);
    assert_eq!(verified["valid"], true);
    // Not for the chain yet.
    let err = synod_fails(&[
        "model",
        "submit",
        proof.to_str().unwrap(),
        "--from",
        "alice",
    ]);
    assert!(err.contains("weights=committed"), "{err}");

    let file: Value = serde_json::from_str(&text).unwrap();
    let bad_path = dir.path().join("bad.private.json");
    let write = |v: &Value| std::fs::write(&bad_path, v.to_string()).unwrap();
    // Another model's weights commitment: the proof is not for it.
    let mut bad = file.clone();
    bad["weights_commitment"] = Value::String(format!("01{}", "00".repeat(31)));
    write(&bad);
    let err = synod_fails(&[
        "model",
        "verify",
        bad_path.to_str().unwrap(),
        proof.to_str().unwrap(),
    ]);
    assert!(err.contains("wrong weights"), "{err}");
    // The weights themselves in place of the architecture.
    let mut bad = file.clone();
    bad["architecture"] = Value::String(hex::encode(std::fs::read(&model).unwrap()));
    write(&bad);
    let err = synod_fails(&["model", "inspect", bad_path.to_str().unwrap()]);
    assert!(err.contains("nonzero weights"), "{err}");
    // A vk hash that is not the architecture's.
    let mut bad = file.clone();
    bad["vk_hash"] = Value::String("00".repeat(32));
    write(&bad);
    let err = synod_fails(&["model", "inspect", bad_path.to_str().unwrap(), "--vk"]);
    assert!(err.contains("the architecture's key hashes to"), "{err}");
    // A commitment at or above the field modulus, and garbage hex.
    for (field, value) in [
        ("weights_commitment", "ff".repeat(32)),
        ("architecture", "zz".into()),
    ] {
        let mut bad = file.clone();
        bad[field] = Value::String(value);
        write(&bad);
        let err = synod_fails(&["model", "inspect", bad_path.to_str().unwrap()]);
        assert!(
            err.contains("not a valid private model file"),
            "{field}: {err}"
        );
    }
    // Unknown fields are refused.
    let mut bad = file;
    bad["weights"] = Value::String("secret".into());
    write(&bad);
    let err = synod_fails(&["model", "inspect", bad_path.to_str().unwrap()]);
    assert!(err.contains("unknown field"), "{err}");
}

/// `prove --split-at`: the CNN as 3 linked segment proofs in one file,
/// verified as a chain; a broken link and a moved cut are refused.
#[test]
fn the_cnn_proves_as_linked_segments_and_a_broken_link_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("cnn.synod-model");
    let models = models_dir();
    synod_json(&[
        "model",
        "import",
        models.join("cnn.onnx").to_str().unwrap(),
        "--calibration",
        models.join("digits-calibration.json").to_str().unwrap(),
        "--out",
        model.to_str().unwrap(),
    ]);
    let model = model.to_str().unwrap();
    let proof = dir.path().join("segments.json");
    let proved = synod_json(&[
        "model",
        "prove",
        model,
        "--input-file",
        &test_data(),
        "--float",
        "--split-at",
        "1,3",
        "--out",
        proof.to_str().unwrap(),
    ]);
    assert_eq!(proved["segments"].as_array().unwrap().len(), 3, "{proved}");
    let run = synod_json(&[
        "model",
        "run",
        model,
        "--input-file",
        &test_data(),
        "--float",
    ]);
    assert_eq!(proved["output"], run["output"], "{run}");
    let verified = synod_json(&["model", "verify", model, proof.to_str().unwrap()]);
    assert_eq!(verified["valid"], true);
    assert_eq!(verified["segments"].as_array().unwrap().len(), 3);

    let file: Value = serde_json::from_str(&std::fs::read_to_string(&proof).unwrap()).unwrap();
    let bad_path = dir.path().join("bad.json");
    // Segment 1 claims to start from another tensor.
    let mut bad = file.clone();
    bad["segments"][1]["proof"]["input"]["commitment"] =
        bad["segments"][2]["proof"]["input"]["commitment"].clone();
    std::fs::write(&bad_path, bad.to_string()).unwrap();
    let err = synod_fails(&["model", "verify", model, bad_path.to_str().unwrap()]);
    assert!(
        err.contains("segment 1's input is not segment 0's output"),
        "{err}"
    );
    // A cut the model does not have where the file says.
    let mut bad = file;
    bad["segments"][1]["nodes"] = serde_json::json!([2, 3]);
    std::fs::write(&bad_path, bad.to_string()).unwrap();
    let err = synod_fails(&["model", "verify", model, bad_path.to_str().unwrap()]);
    assert!(err.contains("cutting the model there gives"), "{err}");
}
