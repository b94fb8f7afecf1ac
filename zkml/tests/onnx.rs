//! ONNX import of the shipped models (zkml/models): accuracy of the int8 IR
//! against the float model, and clear refusals of what the importer cannot
//! take. Run with `--nocapture` to see the import reports.

use std::path::PathBuf;

use prost::Message;
use synod_zkml::ir::Op;
use synod_zkml::onnx::proto::{
    attribute_type, data_type, AttributeProto, Dimension, GraphProto, ModelProto, NodeProto,
    OperatorSetIdProto, TensorProto, TensorShapeProto, TensorTypeProto, TypeProto, ValueInfoProto,
};
use synod_zkml::onnx::{compare, import, ImportOptions, Imported, OnnxError, SourceFormat};

fn models_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models")
}

/// A data set file: `inputs` (arrays of numbers) and `labels`.
struct Dataset {
    inputs: Vec<Vec<f32>>,
    labels: Vec<usize>,
}

/// The numbers of the JSON array that follows `"key":` (flat or nested one
/// level). The data files are machine-written with no whitespace; this
/// small reader avoids a JSON dependency for two fixed files.
fn json_array(text: &str, key: &str) -> Vec<Vec<f64>> {
    let start = text
        .find(&format!("\"{key}\":["))
        .unwrap_or_else(|| panic!("no {key} in the data file"))
        + key.len()
        + 4;
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut depth = 1;
    let mut number = String::new();
    for c in text[start..].chars() {
        match c {
            '[' => depth += 1,
            ']' | ',' => {
                if !number.is_empty() {
                    row.push(number.parse::<f64>().expect("a number"));
                    number.clear();
                }
                if c == ']' {
                    depth -= 1;
                    if depth == 1 {
                        rows.push(std::mem::take(&mut row));
                    }
                    if depth == 0 {
                        if !row.is_empty() {
                            rows.push(row);
                        }
                        break;
                    }
                }
            }
            c => number.push(c),
        }
    }
    rows
}

fn dataset(file: &str) -> Dataset {
    let text = std::fs::read_to_string(models_dir().join(file)).expect("data file");
    let inputs = json_array(&text, "inputs")
        .into_iter()
        .map(|r| r.into_iter().map(|v| v as f32).collect())
        .collect::<Vec<Vec<f32>>>();
    let labels = json_array(&text, "labels")
        .concat()
        .into_iter()
        .map(|v| v as usize)
        .collect::<Vec<_>>();
    assert_eq!(inputs.len(), labels.len(), "{file}");
    Dataset { inputs, labels }
}

fn import_shipped(file: &str) -> Imported {
    let bytes = std::fs::read(models_dir().join(file)).expect("model file");
    let calibration = dataset("digits-calibration.json");
    let imported = import(
        &bytes,
        &ImportOptions {
            calibration: Some(calibration.inputs),
            calibration_labels: Some(calibration.labels),
            name: file.trim_end_matches(".onnx").to_owned(),
            per_channel: false,
        },
    )
    .unwrap_or_else(|e| panic!("{file}: {e}"));
    println!("== {file}\n{}", imported.report);
    imported
}

/// Imports, prints the report and the test-set comparison, returns
/// (float accuracy, int8 accuracy).
fn test_set_accuracy(file: &str) -> (f64, f64) {
    let imported = import_shipped(file);
    let test = dataset("digits-test.json");
    let agreement = compare(&imported, &test.inputs, Some(&test.labels)).expect("compare");
    println!("test set: {agreement}\n");
    (
        agreement.float_accuracy.unwrap_or_default(),
        agreement.int8_accuracy.unwrap_or_default(),
    )
}

#[test]
fn float_models_quantize_within_two_points_of_their_float_accuracy() {
    for file in ["mlp.onnx", "cnn.onnx", "mlp-10k.onnx"] {
        let (float, int8) = test_set_accuracy(file);
        assert!(float > 0.94, "{file}: float accuracy {float}");
        assert!(
            (float - int8).abs() <= 0.02,
            "{file}: float {float} vs int8 {int8}"
        );
    }
}

#[test]
fn float_model_report_comes_from_calibration() {
    let imported = import_shipped("mlp.onnx");
    assert_eq!(imported.report.format, SourceFormat::Float);
    assert!(imported.report.layers.iter().any(|l| l.folded_relu));
    let calibration = imported.report.calibration.expect("calibration comparison");
    assert_eq!(calibration.samples, 100);
    assert!(calibration.top1_agreement >= 0.95);
}

#[test]
fn qdq_and_qoperator_models_import_as_stated_and_reach_94_percent() {
    for (file, format) in [
        ("mlp-qdq.onnx", SourceFormat::Qdq),
        ("mlp-qlinear.onnx", SourceFormat::QOperator),
    ] {
        let imported = import_shipped(file);
        assert_eq!(imported.report.format, format, "{file}");
        let test = dataset("digits-test.json");
        let agreement = compare(&imported, &test.inputs, Some(&test.labels)).expect("compare");
        println!("{file} test set: {agreement}\n");
        let int8 = agreement.int8_accuracy.unwrap_or_default();
        assert!(int8 >= 0.94, "{file}: int8 accuracy {int8}");
    }
}

/// How many per-channel requantizations each Dense / Conv2d has.
fn channel_counts(model: &synod_zkml::ir::Model) -> Vec<usize> {
    model
        .nodes
        .iter()
        .filter_map(|n| match &n.op {
            Op::Dense { channels, .. } | Op::Conv2d { channels, .. } => Some(channels.len()),
            _ => None,
        })
        .collect()
}

#[test]
fn per_channel_qdq_models_keep_one_requantization_per_channel() {
    // onnxruntime's per_channel=True: 1-D weight scales along axis 0 and
    // int32 biases with one scale per output.
    for (file, format, channels) in [
        ("cnn-qdq-channel.onnx", SourceFormat::Qdq, vec![4, 10]),
        ("mlp-qdq-channel.onnx", SourceFormat::Qdq, vec![32, 10]),
        (
            "cnn-qlinear-channel.onnx",
            SourceFormat::QOperator,
            vec![4, 10],
        ),
        (
            "mlp-qlinear-channel.onnx",
            SourceFormat::QOperator,
            vec![32, 10],
        ),
    ] {
        let imported = import_shipped(file);
        assert_eq!(imported.report.format, format, "{file}");
        assert_eq!(
            channel_counts(&imported.model),
            channels,
            "{file}: per-channel requantizations"
        );
        let test = dataset("digits-test.json");
        let agreement = compare(&imported, &test.inputs, Some(&test.labels)).expect("compare");
        println!("{file} test set: {agreement}\n");
        // onnxruntime itself scores 96.11% on both (zkml/models/README.md).
        let int8 = agreement.int8_accuracy.unwrap_or_default();
        assert!(int8 >= 0.955, "{file}: int8 accuracy {int8}");
        assert!(agreement.top1_agreement >= 0.99, "{file}: {agreement}");
    }
}

#[test]
fn a_per_channel_model_imports_to_the_same_ir_from_qdq_and_from_qoperator() {
    // onnxruntime writes the same weights, scales and biases in both formats
    // (zkml/models/README.md); the importer must read them alike.
    for (qdq, qop) in [
        ("cnn-qdq-channel.onnx", "cnn-qlinear-channel.onnx"),
        ("mlp-qdq-channel.onnx", "mlp-qlinear-channel.onnx"),
    ] {
        let a = import_shipped(qdq).model;
        let b = import_shipped(qop).model;
        assert_eq!(a.input, b.input, "{qdq} / {qop}: input");
        assert_eq!(a.nodes, b.nodes, "{qdq} / {qop}: nodes");
    }
}

#[test]
fn per_channel_weights_along_the_input_axis_are_refused_naming_the_axis() {
    let bytes = std::fs::read(models_dir().join("mlp-qdq-channel.onnx")).expect("model file");
    let mut model = ModelProto::decode(bytes.as_slice()).expect("onnx");
    let graph = model.graph.as_mut().expect("graph");
    let dq = graph
        .node
        .iter_mut()
        .find(|n| n.name == "fc0.weight_DequantizeLinear")
        .expect("the weight's DequantizeLinear");
    dq.attribute.retain(|a| a.name != "axis");
    dq.attribute.push(int_attr("axis", 1));
    let err = import(&model.encode_to_vec(), &ImportOptions::default())
        .expect_err("axis 1 of a [out, in] weight is its input axis");
    let text = err.to_string();
    assert!(
        text.contains("along axis 1") && text.contains("output axis (0)"),
        "{text}"
    );
}

#[test]
fn float_models_quantize_per_channel_on_request() {
    // mlp.onnx has a dead hidden unit (subnormal weights): its channel scale
    // is held at 1/4096 of the tensor's, so its bias still fits.
    for (file, counts) in [("cnn.onnx", vec![4, 10]), ("mlp.onnx", vec![32, 10])] {
        let bytes = std::fs::read(models_dir().join(file)).expect("model file");
        let calibration = dataset("digits-calibration.json");
        let options = |per_channel| ImportOptions {
            calibration: Some(calibration.inputs.clone()),
            calibration_labels: Some(calibration.labels.clone()),
            name: file.into(),
            per_channel,
        };
        let per_tensor = import(&bytes, &options(false)).expect("imports");
        let per_channel =
            import(&bytes, &options(true)).unwrap_or_else(|e| panic!("{file} per channel: {e}"));
        assert_eq!(channel_counts(&per_tensor.model), vec![0, 0], "{file}");
        assert_eq!(channel_counts(&per_channel.model), counts, "{file}");
        assert_ne!(
            synod_zkml::ir::ModelId::of(&per_tensor.model),
            synod_zkml::ir::ModelId::of(&per_channel.model)
        );
        let test = dataset("digits-test.json");
        let a = compare(&per_channel, &test.inputs, Some(&test.labels)).expect("compare");
        println!("{file} per channel: {a}");
        let (float, int8) = (
            a.float_accuracy.unwrap_or_default(),
            a.int8_accuracy.unwrap_or_default(),
        );
        assert!(
            (float - int8).abs() <= 0.02,
            "{file}: float {float} vs int8 {int8}"
        );
        assert!(a.top1_agreement >= 0.99, "{file}: {a}");
    }
}

#[test]
fn quantized_models_import_without_calibration() {
    let bytes = std::fs::read(models_dir().join("mlp-qlinear.onnx")).expect("model file");
    let imported = import(&bytes, &ImportOptions::default()).expect("import");
    assert_eq!(imported.report.calibration, None);
    assert_eq!(imported.model.nodes.len(), 2);
}

#[test]
fn float_models_without_calibration_are_refused() {
    let bytes = std::fs::read(models_dir().join("mlp.onnx")).expect("model file");
    let err = import(&bytes, &ImportOptions::default()).expect_err("needs calibration");
    assert!(matches!(err, OnnxError::NeedsCalibration { .. }), "{err}");
}

// ----------------------------------------------------------------------
// Hand-built models
// ----------------------------------------------------------------------

fn float_tensor(name: &str, dims: &[i64], values: &[f32]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: data_type::FLOAT,
        float_data: values.to_vec(),
        ..TensorProto::default()
    }
}

fn float_io(name: &str, dims: &[i64]) -> ValueInfoProto {
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type: data_type::FLOAT,
                shape: Some(TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|&d| Dimension {
                            dim_value: Some(d),
                            dim_param: None,
                        })
                        .collect(),
                }),
            }),
        }),
    }
}

fn int_attr(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        i,
        r#type: attribute_type::INT,
        ..AttributeProto::default()
    }
}

fn node(op_type: &str, name: &str, inputs: &[&str], outputs: &[&str]) -> NodeProto {
    NodeProto {
        op_type: op_type.into(),
        name: name.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        ..NodeProto::default()
    }
}

/// input [1, 4] -> Gemm (4 -> 3, given attributes) -> `then` -> output.
fn small_model(gemm_attrs: Vec<AttributeProto>, then: Option<NodeProto>) -> Vec<u8> {
    let mut gemm = node("Gemm", "fc", &["input", "w", "b"], &["fc_out"]);
    gemm.attribute = gemm_attrs;
    let mut nodes = vec![gemm];
    let output = match then {
        Some(n) => {
            let out = n.output[0].clone();
            nodes.push(n);
            out
        }
        None => "fc_out".to_owned(),
    };
    let model = ModelProto {
        ir_version: 7,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 13,
        }],
        graph: Some(GraphProto {
            name: "small".into(),
            node: nodes,
            initializer: vec![
                float_tensor(
                    "w",
                    &[3, 4],
                    &[
                        0.5, -0.25, 0.125, 1.0, -1.0, 0.5, 0.25, 0.0, 0.75, 0.75, -0.5, 0.25,
                    ],
                ),
                float_tensor("b", &[3], &[0.1, -0.2, 0.05]),
            ],
            input: vec![float_io("input", &[1, 4])],
            output: vec![float_io(&output, &[1, 3])],
            ..GraphProto::default()
        }),
        ..ModelProto::default()
    };
    model.encode_to_vec()
}

fn small_calibration() -> ImportOptions {
    ImportOptions {
        calibration: Some(vec![
            vec![0.0, 0.5, 1.0, 0.25],
            vec![1.0, 0.0, 0.5, 0.75],
            vec![0.25, 0.25, 0.0, 1.0],
        ]),
        name: "small".into(),
        ..ImportOptions::default()
    }
}

#[test]
fn a_hand_built_gemm_model_imports() {
    let bytes = small_model(vec![int_attr("transB", 1)], None);
    let imported = import(&bytes, &small_calibration()).expect("import");
    println!("{}", imported.report);
    assert_eq!(imported.model.nodes.len(), 1);
    assert_eq!(imported.model.input.shape, vec![4]);
}

#[test]
fn an_unsupported_op_is_refused_naming_the_op_the_node_and_the_supported_ops() {
    let softmax = node("Softmax", "probabilities", &["fc_out"], &["probs"]);
    let bytes = small_model(vec![int_attr("transB", 1)], Some(softmax));
    let err = import(&bytes, &small_calibration()).expect_err("Softmax is not supported");
    match &err {
        OnnxError::UnsupportedOp {
            op_type,
            node_name,
            node_index,
            supported,
        } => {
            assert_eq!(op_type, "Softmax");
            assert_eq!(node_name, "probabilities");
            assert_eq!(*node_index, 1);
            assert!(supported.contains(&"Gemm"));
        }
        other => panic!("expected UnsupportedOp, got {other}"),
    }
    let message = err.to_string();
    println!("{message}");
    assert!(message.contains("Softmax") && message.contains("probabilities"));
    assert!(message.contains("Gemm, MatMul"));
}

#[test]
fn an_unsupported_op_in_another_domain_is_named_with_its_domain() {
    let mut lstm = node("FusedLSTM", "rnn", &["fc_out"], &["h"]);
    lstm.domain = "com.example".into();
    let bytes = small_model(vec![int_attr("transB", 1)], Some(lstm));
    let err = import(&bytes, &small_calibration()).expect_err("not supported");
    assert!(err.to_string().contains("com.example.FusedLSTM"), "{err}");
}

#[test]
fn gemm_with_transposed_input_is_refused_with_a_clear_message() {
    let bytes = small_model(vec![int_attr("transA", 1), int_attr("transB", 1)], None);
    let err = import(&bytes, &small_calibration()).expect_err("transA=1");
    let message = err.to_string();
    println!("{message}");
    assert!(
        matches!(err, OnnxError::Node { ref op_type, ref name, .. } if op_type == "Gemm" && name == "fc")
    );
    assert!(message.contains("transA=1"), "{message}");
}

#[test]
fn truncated_and_garbage_files_fail_cleanly() {
    let good = std::fs::read(models_dir().join("cnn.onnx")).expect("model file");
    for cut in [1, 10, good.len() / 3, good.len() / 2, good.len() - 1] {
        let err = import(&good[..cut], &small_calibration()).expect_err("truncated");
        println!("cut at {cut}: {err}");
    }
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let err = import(&garbage, &small_calibration()).expect_err("garbage");
    println!("garbage: {err}");
    let err = import(&[], &small_calibration()).expect_err("empty");
    assert_eq!(err, OnnxError::NoGraph);
}

#[test]
fn a_weight_whose_data_does_not_match_its_dims_is_refused() {
    let mut model = ModelProto::decode(small_model(vec![int_attr("transB", 1)], None).as_slice())
        .expect("decode");
    if let Some(graph) = &mut model.graph {
        graph.initializer[0].float_data.pop();
    }
    let err = import(&model.encode_to_vec(), &small_calibration()).expect_err("short weight");
    println!("{err}");
    assert!(matches!(err, OnnxError::Constant { ref name, .. } if name == "w"));
}
