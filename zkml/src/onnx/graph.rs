//! Reading a decoded ONNX graph: constant tensors with their values checked
//! against their shapes, node attributes with their types checked, and the
//! context (node index, name, op type) every error message names.

use std::collections::BTreeMap;

use super::proto::{attribute_type, data_type, AttributeProto, NodeProto, TensorProto};
use super::OnnxError;

/// The values of a constant tensor, widened to one integer or float type.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ConstValues {
    Float(Vec<f32>),
    Int(Vec<i64>),
}

/// A constant tensor (initializer or `Constant` node output), decoded.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Constant {
    pub name: String,
    pub dims: Vec<usize>,
    /// The ONNX data type it was stored as (one of [`data_type`]).
    pub data_type: i32,
    pub values: ConstValues,
}

impl Constant {
    /// Its values as floats (integers converted), whatever its type.
    pub fn as_floats(&self) -> Vec<f32> {
        match &self.values {
            ConstValues::Float(v) => v.clone(),
            ConstValues::Int(v) => v.iter().map(|&x| x as f32).collect(),
        }
    }

    /// Its values if it is an integer tensor.
    pub fn as_ints(&self) -> Option<&[i64]> {
        match &self.values {
            ConstValues::Int(v) => Some(v),
            ConstValues::Float(_) => None,
        }
    }

    /// The single value of a float tensor with one element (a scalar or `[1]`).
    pub fn float_scalar(&self) -> Option<f64> {
        match &self.values {
            ConstValues::Float(v) if v.len() == 1 => Some(f64::from(v[0])),
            _ => None,
        }
    }

    /// A short description for messages: `name` (TYPE [dims]).
    pub fn describe(&self) -> String {
        format!(
            "`{}` ({} {:?})",
            self.name,
            data_type::name(self.data_type),
            self.dims
        )
    }
}

/// The most elements a constant may have (far above any model the IR accepts).
const MAX_CONSTANT_ELEMENTS: usize = 1 << 28;

/// Decodes a tensor's values, checking their count against its dims.
pub(crate) fn decode_constant(tensor: &TensorProto) -> Result<Constant, OnnxError> {
    let bad = |problem: String| OnnxError::Constant {
        name: tensor.name.clone(),
        problem,
    };
    if tensor.data_location == 1 {
        return Err(bad(
            "its values are stored in an external file, which the importer does not read".into(),
        ));
    }
    let mut dims = Vec::with_capacity(tensor.dims.len());
    let mut count: usize = 1;
    for &d in &tensor.dims {
        let d = usize::try_from(d).map_err(|_| bad(format!("negative dimension {d}")))?;
        count = count
            .checked_mul(d)
            .filter(|&c| c <= MAX_CONSTANT_ELEMENTS)
            .ok_or_else(|| bad(format!("dims {:?} hold too many elements", tensor.dims)))?;
        dims.push(d);
    }
    let raw = &tensor.raw_data;
    let use_raw = !raw.is_empty() || count == 0;
    let check_raw = |width: usize| {
        if raw.len() == count * width {
            Ok(())
        } else {
            Err(bad(format!(
                "raw_data holds {} bytes, expected {} ({} elements of {} bytes)",
                raw.len(),
                count * width,
                count,
                width
            )))
        }
    };
    let check_typed = |field: &str, got: usize| {
        if got == count {
            Ok(())
        } else {
            Err(bad(format!(
                "{field} holds {got} values, expected {count} for dims {:?}",
                tensor.dims
            )))
        }
    };
    let int_in = |v: i64, lo: i64, hi: i64| {
        if (lo..=hi).contains(&v) {
            Ok(v)
        } else {
            Err(bad(format!(
                "value {v} is outside the range {lo}..={hi} of {}",
                data_type::name(tensor.data_type)
            )))
        }
    };
    let values = match tensor.data_type {
        data_type::FLOAT if use_raw => {
            check_raw(4)?;
            ConstValues::Float(
                raw.chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
            )
        }
        data_type::FLOAT => {
            check_typed("float_data", tensor.float_data.len())?;
            ConstValues::Float(tensor.float_data.clone())
        }
        data_type::DOUBLE if use_raw => {
            check_raw(8)?;
            ConstValues::Float(
                raw.chunks_exact(8)
                    .map(|b| {
                        let mut a = [0u8; 8];
                        a.copy_from_slice(b);
                        f64::from_le_bytes(a) as f32
                    })
                    .collect(),
            )
        }
        data_type::DOUBLE => {
            check_typed("double_data", tensor.double_data.len())?;
            ConstValues::Float(tensor.double_data.iter().map(|&x| x as f32).collect())
        }
        data_type::INT8 if use_raw => {
            check_raw(1)?;
            ConstValues::Int(raw.iter().map(|&b| i64::from(b as i8)).collect())
        }
        data_type::UINT8 if use_raw => {
            check_raw(1)?;
            ConstValues::Int(raw.iter().map(|&b| i64::from(b)).collect())
        }
        data_type::INT8 | data_type::UINT8 | data_type::INT32 if !use_raw => {
            check_typed("int32_data", tensor.int32_data.len())?;
            let (lo, hi) = match tensor.data_type {
                data_type::INT8 => (-128, 127),
                data_type::UINT8 => (0, 255),
                _ => (i64::from(i32::MIN), i64::from(i32::MAX)),
            };
            ConstValues::Int(
                tensor
                    .int32_data
                    .iter()
                    .map(|&v| int_in(i64::from(v), lo, hi))
                    .collect::<Result<_, _>>()?,
            )
        }
        data_type::INT32 => {
            check_raw(4)?;
            ConstValues::Int(
                raw.chunks_exact(4)
                    .map(|b| i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])))
                    .collect(),
            )
        }
        data_type::INT64 if use_raw => {
            check_raw(8)?;
            ConstValues::Int(
                raw.chunks_exact(8)
                    .map(|b| {
                        let mut a = [0u8; 8];
                        a.copy_from_slice(b);
                        i64::from_le_bytes(a)
                    })
                    .collect(),
            )
        }
        data_type::INT64 => {
            check_typed("int64_data", tensor.int64_data.len())?;
            ConstValues::Int(tensor.int64_data.clone())
        }
        other => {
            return Err(bad(format!(
                "data type {} ({other}) is not supported (FLOAT, DOUBLE, INT8, UINT8, INT32, INT64 are)",
                data_type::name(other)
            )))
        }
    };
    Ok(Constant {
        name: tensor.name.clone(),
        dims,
        data_type: tensor.data_type,
        values,
    })
}

/// Which node an error is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NodeContext {
    pub index: usize,
    pub name: String,
    /// With its domain when not the default one (`com.microsoft.QGemm`).
    pub op_type: String,
}

impl NodeContext {
    pub fn of(index: usize, node: &NodeProto) -> NodeContext {
        NodeContext {
            index,
            name: node.name.clone(),
            op_type: qualified_op_type(node),
        }
    }

    /// An error about this node.
    pub fn error(&self, problem: impl Into<String>) -> OnnxError {
        OnnxError::Node {
            index: self.index,
            name: self.name.clone(),
            op_type: self.op_type.clone(),
            problem: problem.into(),
        }
    }
}

/// `op_type`, prefixed with the domain unless it is the default ONNX domain.
pub(crate) fn qualified_op_type(node: &NodeProto) -> String {
    match node.domain.as_str() {
        "" | "ai.onnx" => node.op_type.clone(),
        domain => format!("{domain}.{}", node.op_type),
    }
}

/// A node's attributes, by name, checked against the names an op knows.
pub(crate) struct Attributes<'a> {
    by_name: BTreeMap<&'a str, &'a AttributeProto>,
    ctx: &'a NodeContext,
}

impl<'a> Attributes<'a> {
    /// Refuses any attribute not in `known`: an attribute the importer
    /// ignored could change what the node computes.
    pub fn new(
        node: &'a NodeProto,
        ctx: &'a NodeContext,
        known: &[&str],
    ) -> Result<Attributes<'a>, OnnxError> {
        let mut by_name = BTreeMap::new();
        for a in &node.attribute {
            if !known.contains(&a.name.as_str()) {
                return Err(ctx.error(format!(
                    "attribute `{}` is not supported (known: {})",
                    a.name,
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                )));
            }
            by_name.insert(a.name.as_str(), a);
        }
        Ok(Attributes { by_name, ctx })
    }

    fn typed(
        &self,
        name: &str,
        ty: i32,
        what: &str,
    ) -> Result<Option<&'a AttributeProto>, OnnxError> {
        match self.by_name.get(name) {
            None => Ok(None),
            // IR version 1 files have no type field; trust the name then.
            Some(a) if a.r#type == ty || a.r#type == 0 => Ok(Some(a)),
            Some(a) => Err(self.ctx.error(format!(
                "attribute `{name}` has type {}, expected {what}",
                a.r#type
            ))),
        }
    }

    pub fn int(&self, name: &str, default: i64) -> Result<i64, OnnxError> {
        Ok(self
            .typed(name, attribute_type::INT, "INT")?
            .map_or(default, |a| a.i))
    }

    pub fn float(&self, name: &str, default: f32) -> Result<f32, OnnxError> {
        Ok(self
            .typed(name, attribute_type::FLOAT, "FLOAT")?
            .map_or(default, |a| a.f))
    }

    pub fn ints(&self, name: &str) -> Result<Option<&'a [i64]>, OnnxError> {
        Ok(self
            .typed(name, attribute_type::INTS, "INTS")?
            .map(|a| a.ints.as_slice()))
    }

    pub fn string(&self, name: &str) -> Result<Option<String>, OnnxError> {
        Ok(self
            .typed(name, attribute_type::STRING, "STRING")?
            .map(|a| String::from_utf8_lossy(&a.s).into_owned()))
    }

    pub fn tensor(&self, name: &str) -> Result<Option<&'a TensorProto>, OnnxError> {
        Ok(self
            .typed(name, attribute_type::TENSOR, "TENSOR")?
            .and_then(|a| a.t.as_ref()))
    }
}
