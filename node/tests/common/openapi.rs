//! A small validator for the OpenAPI 3.0 subset CometBFT's RPC document
//! uses: `type`, `properties`, `required`, `items`, `allOf`, `$ref` into
//! `#/components/schemas` and `nullable`. One check goes beyond OpenAPI: an
//! object whose schema lists its `properties` (and allows no others) must
//! not carry a key it does not list, so a misnamed field (`power` for
//! `voting_power`) fails instead of passing unseen.

use std::path::Path;

use serde_json::Value;

/// A loaded OpenAPI document.
pub struct OpenApi {
    pub doc: Value,
}

impl OpenApi {
    /// Loads a YAML OpenAPI document.
    pub fn load(path: &Path) -> OpenApi {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let doc: Value = serde_yaml::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()));
        OpenApi { doc }
    }

    /// The schema named `name` in `components/schemas`.
    pub fn schema_mut(&mut self, name: &str) -> &mut Value {
        self.doc
            .pointer_mut(&format!("/components/schemas/{name}"))
            .unwrap_or_else(|| panic!("no schema {name}"))
    }

    /// The schema of the HTTP 200 answer to `/method`.
    pub fn response_schema_mut(&mut self, method: &str) -> &mut Value {
        let pointer =
            format!("/paths/~1{method}/get/responses/200/content/application~1json/schema");
        self.doc
            .pointer_mut(&pointer)
            .unwrap_or_else(|| panic!("no 200 answer for /{method}"))
    }

    /// The schema of `result` in the answer to `/method`: the `result`
    /// property of its response schema (through `$ref` and `allOf`).
    pub fn result_schema(&self, method: &str) -> Value {
        let pointer =
            format!("/paths/~1{method}/get/responses/200/content/application~1json/schema");
        let response = self
            .doc
            .pointer(&pointer)
            .unwrap_or_else(|| panic!("no 200 answer for /{method}"));
        self.find_result(response)
            .unwrap_or_else(|| panic!("the answer to /{method} has no `result` schema"))
    }

    fn find_result(&self, schema: &Value) -> Option<Value> {
        let schema = self.resolve(schema);
        if let Some(r) = schema.pointer("/properties/result") {
            return Some(r.clone());
        }
        schema
            .get("allOf")?
            .as_array()?
            .iter()
            .find_map(|part| self.find_result(part))
    }

    /// `schema` with `$ref`s followed.
    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        let mut s = schema;
        while let Some(r) = s.get("$ref").and_then(Value::as_str) {
            let pointer = r.trim_start_matches('#');
            s = self
                .doc
                .pointer(pointer)
                .unwrap_or_else(|| panic!("dangling $ref {r}"));
        }
        s
    }

    /// Every way `value` (at `path`) departs from `schema`.
    pub fn check(&self, schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
        self.check_as(schema, value, path, true, errors)
    }

    /// [`OpenApi::check`]; `strict`: undeclared keys are errors (not for the
    /// parts of an `allOf`, which each declare only some of them).
    fn check_as(
        &self,
        schema: &Value,
        value: &Value,
        path: &str,
        strict: bool,
        errors: &mut Vec<String>,
    ) {
        // `nullable` may stand beside a `$ref` as well as in its target.
        let nullable = schema.get("nullable") == Some(&Value::Bool(true));
        let schema = self.resolve(schema);
        if value.is_null() {
            let nullable = nullable || schema.get("nullable") == Some(&Value::Bool(true));
            if !nullable && has_shape(schema) {
                errors.push(format!("{path}: null, but the schema is not nullable"));
            }
            return;
        }
        if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
            for part in parts {
                self.check_as(part, value, path, false, errors);
            }
        }
        let declared = schema.get("type").and_then(Value::as_str);
        let kind = declared.or_else(|| {
            (schema.get("properties").is_some() || schema.get("required").is_some())
                .then_some("object")
        });
        match (kind, value) {
            (None, _) => {}
            (Some("object"), Value::Object(map)) => {
                for key in schema
                    .get("required")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    if !map.contains_key(key) {
                        errors.push(format!("{path}: missing required `{key}`"));
                    }
                }
                let props = schema.get("properties").and_then(Value::as_object);
                for (k, v) in map {
                    match props.and_then(|p| p.get(k)) {
                        Some(s) => self.check(s, v, &format!("{path}.{k}"), errors),
                        None if strict
                            && props.is_some_and(|p| !p.is_empty())
                            && schema.get("additionalProperties").is_none()
                            && schema.get("allOf").is_none() =>
                        {
                            errors.push(format!("{path}: `{k}` is not in the schema"))
                        }
                        None => {}
                    }
                }
            }
            (Some("array"), Value::Array(items)) => {
                if let Some(s) = schema.get("items") {
                    for (i, v) in items.iter().enumerate() {
                        self.check(s, v, &format!("{path}[{i}]"), errors);
                    }
                }
            }
            (Some("string"), Value::String(_)) | (Some("boolean"), Value::Bool(_)) => {}
            (Some("integer"), Value::Number(n)) if n.is_i64() || n.is_u64() => {}
            (Some("number"), Value::Number(_)) => {}
            (Some(t), v) => errors.push(format!("{path}: expected {t}, got {v}")),
        }
    }
}

/// Whether a schema says anything about shape (an empty `{}` allows all).
fn has_shape(schema: &Value) -> bool {
    ["type", "properties", "required", "items", "allOf"]
        .iter()
        .any(|k| schema.get(*k).is_some())
}
