//! The API contract (vendored `contract-3.27.1.json`) and a validator for the subset of JSON
//! Schema it uses.
//!
//! The emulator validates request bodies against the same schemas the SDK was generated from,
//! so a client that passes against the emulator sends what the real API accepts; tests use the
//! same contract to check every response body. The subset: `$ref` into `#/definitions/`,
//! `type`, `properties`, `required`, `additionalProperties`, `items`, `anyOf`, `oneOf` (with
//! the `_t` discriminator shortcut, so an unknown `_t` is reported as such), and `enum`.
//! `format` and `pattern` are annotations here: the contract has one `pattern` and the real
//! service is not stricter about formats than the SDK.

use std::sync::OnceLock;

use serde_json::Value;

const CONTRACT_TEXT: &str = include_str!("../third_party/api/contract-3.27.1.json");

/// One schema violation: the JSON path (`segments[0].asset`, in the API's error-key style)
/// and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub path: String,
    pub message: String,
}

/// What a schema narrows to for one value ([`Contract::narrow`]).
enum Narrowed<'a> {
    To(&'a Value),
    Alternatives(Vec<&'a Value>),
}

/// The parsed contract. Loaded once per process (it is embedded in the binary).
#[derive(Debug)]
pub struct Contract {
    root: Value,
}

impl Contract {
    /// The embedded contract. The file is part of the crate, so a parse failure is a build
    /// defect; it is reported as an empty contract (every lookup fails) rather than a panic.
    pub fn get() -> &'static Contract {
        static CONTRACT: OnceLock<Contract> = OnceLock::new();
        CONTRACT.get_or_init(|| Contract {
            root: serde_json::from_str(CONTRACT_TEXT).unwrap_or(Value::Null),
        })
    }

    /// The whole contract document.
    pub fn root(&self) -> &Value {
        &self.root
    }

    /// A schema in `definitions` by name.
    pub fn definition(&self, name: &str) -> Option<&Value> {
        self.root.get("definitions")?.get(name)
    }

    /// The property names a definition declares.
    pub fn properties(&self, name: &str) -> Vec<&str> {
        self.definition(name)
            .and_then(|d| d.get("properties"))
            .and_then(Value::as_object)
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// The endpoint entry for `"METHOD /path/{template}"`.
    pub fn endpoint(&self, id: &str) -> Option<&Value> {
        self.root
            .get("endpoints")?
            .as_array()?
            .iter()
            .find(|e| e.get("id").and_then(Value::as_str) == Some(id))
    }

    /// The declared response schema of an endpoint for a status (`None` when the status has no
    /// body schema or the endpoint is unknown).
    pub fn response_schema(&self, endpoint_id: &str, status: u16) -> Option<&Value> {
        self.endpoint(endpoint_id)?
            .get("responses")?
            .get(status.to_string())?
            .get("schema")
    }

    /// Validates `value` against the definition `name`.
    pub fn validate_definition(&self, name: &str, value: &Value) -> Vec<Violation> {
        match self.definition(name) {
            Some(schema) => self.validate(schema, value),
            None => vec![Violation {
                path: String::new(),
                message: format!("unknown schema {name}"),
            }],
        }
    }

    /// Validates `value` against an arbitrary schema taken from this contract.
    pub fn validate(&self, schema: &Value, value: &Value) -> Vec<Violation> {
        let mut out = Vec::new();
        self.check(schema, value, "", &mut out, 0);
        out
    }

    /// Fields of `value` that `schema` does not declare, as JSON paths. An object schema with
    /// `properties` declares exactly those keys, unless its `additionalProperties` is a schema
    /// (a map: any key, each value checked against it) or `true`; an object schema without
    /// `properties` is free-form. Alternatives (`anyOf`, `oneOf`) are walked through the one
    /// the value validates against (the `_t` mapping for discriminated ones).
    pub fn undeclared(&self, schema: &Value, value: &Value) -> Vec<String> {
        let mut out = Vec::new();
        self.walk_undeclared(schema, value, "", &mut out, 0);
        out
    }

    fn walk_undeclared(
        &self,
        schema: &Value,
        value: &Value,
        path: &str,
        out: &mut Vec<String>,
        depth: usize,
    ) {
        let Some(obj) = schema.as_object().filter(|_| depth <= 64) else {
            return;
        };
        match self.narrow(obj, value) {
            Narrowed::To(target) => {
                return self.walk_undeclared(target, value, path, out, depth + 1)
            }
            Narrowed::Alternatives(alts) => {
                for alt in alts {
                    self.walk_undeclared(alt, value, path, out, depth + 1);
                }
            }
        }
        match value {
            Value::Object(map) => {
                let props = obj.get("properties").and_then(Value::as_object);
                for (k, v) in map {
                    let p = join(path, k);
                    match (
                        props.and_then(|p| p.get(k)),
                        obj.get("additionalProperties"),
                    ) {
                        (Some(s), _) => self.walk_undeclared(s, v, &p, out, depth + 1),
                        (None, Some(s @ Value::Object(_))) => {
                            self.walk_undeclared(s, v, &p, out, depth + 1)
                        }
                        (None, Some(Value::Bool(true))) => {}
                        (None, _) if props.is_some() => out.push(p),
                        (None, _) => {}
                    }
                }
            }
            Value::Array(items) => {
                if let Some(item_schema) = obj.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        let p = format!("{path}[{i}]");
                        self.walk_undeclared(item_schema, item, &p, out, depth + 1);
                    }
                }
            }
            _ => {}
        }
    }

    /// Cuts `value` down to what `schema` promises: fields it does not declare are removed,
    /// and so are optional fields whose value is `null` (a server may as well leave them
    /// out). The emulator's contract-cut mode answers this way, so a client that works
    /// against it reads nothing the API does not promise.
    pub fn cut(&self, schema: &Value, value: &mut Value) {
        self.cut_at(schema, value, 0);
    }

    fn cut_at(&self, schema: &Value, value: &mut Value, depth: usize) {
        let Some(obj) = schema.as_object().filter(|_| depth <= 64) else {
            return;
        };
        match self.narrow(obj, value) {
            Narrowed::To(target) => return self.cut_at(target, value, depth + 1),
            Narrowed::Alternatives(alts) => {
                for alt in alts {
                    self.cut_at(alt, value, depth + 1);
                }
            }
        }
        match value {
            Value::Object(map) => {
                let props = obj.get("properties").and_then(Value::as_object);
                let required: Vec<&str> = obj
                    .get("required")
                    .and_then(Value::as_array)
                    .map(|r| r.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let additional = obj.get("additionalProperties");
                map.retain(|k, v| match (props.and_then(|p| p.get(k)), additional) {
                    (Some(_), _) => !v.is_null() || required.contains(&k.as_str()),
                    (None, Some(Value::Object(_) | Value::Bool(true))) => true,
                    (None, _) => props.is_none(),
                });
                for (k, v) in map.iter_mut() {
                    match (props.and_then(|p| p.get(k)), additional) {
                        (Some(s), _) => self.cut_at(s, v, depth + 1),
                        (None, Some(s @ Value::Object(_))) => self.cut_at(s, v, depth + 1),
                        _ => {}
                    }
                }
            }
            Value::Array(items) => {
                if let Some(item_schema) = obj.get("items") {
                    for item in items {
                        self.cut_at(item_schema, item, depth + 1);
                    }
                }
            }
            _ => {}
        }
    }

    /// The response schemas of an endpoint for a status: the one the contract uses, and
    /// those of the other generated operations of the same route that answer differently
    /// (`alternateGeneratedOperations` with `sameContract: false`, README line on routes
    /// generated twice).
    pub fn response_schemas(&self, endpoint_id: &str, status: u16) -> Vec<&Value> {
        let Some(ep) = self.endpoint(endpoint_id) else {
            return Vec::new();
        };
        let status = status.to_string();
        let mut out: Vec<&Value> = ep
            .get("responses")
            .and_then(|r| r.get(&status))
            .and_then(|r| r.get("schema"))
            .into_iter()
            .collect();
        for alt in ep
            .get("alternateGeneratedOperations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|a| a.get("sameContract").and_then(Value::as_bool) == Some(false))
        {
            if let Some(s) = alt
                .get("responses")
                .and_then(|r| r.get(&status))
                .and_then(|r| r.get("schema"))
            {
                out.push(s);
            }
        }
        out
    }

    /// The schema `value` is held to instead of `obj`: its `$ref`, or the `_t` mapping of a
    /// discriminated union; else the alternatives of `anyOf`/`oneOf` it validates against
    /// (the first of each), to walk besides `obj` itself.
    fn narrow<'a>(
        &'a self,
        obj: &'a serde_json::Map<String, Value>,
        value: &Value,
    ) -> Narrowed<'a> {
        if let Some(target) = obj
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| self.resolve(r))
        {
            return Narrowed::To(target);
        }
        if let (Some(mapping), Some(tag)) = (
            obj.get("discriminator").and_then(|d| d.get("mapping")),
            value.get("_t").and_then(Value::as_str),
        ) {
            if let Some(target) = mapping
                .get(tag)
                .and_then(Value::as_str)
                .and_then(|r| self.resolve(r))
            {
                return Narrowed::To(target);
            }
        }
        Narrowed::Alternatives(
            ["anyOf", "oneOf"]
                .iter()
                .filter_map(|key| obj.get(*key).and_then(Value::as_array))
                .filter_map(|alts| alts.iter().find(|a| self.validate(a, value).is_empty()))
                .collect(),
        )
    }

    fn resolve<'a>(&'a self, reference: &str) -> Option<&'a Value> {
        let name = reference.strip_prefix("#/definitions/")?;
        self.definition(name)
    }

    fn check(
        &self,
        schema: &Value,
        value: &Value,
        path: &str,
        out: &mut Vec<Violation>,
        depth: usize,
    ) {
        if depth > 64 {
            out.push(violation(path, "value is nested too deeply"));
            return;
        }
        let Some(obj) = schema.as_object() else {
            return;
        };
        if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
            match self.resolve(r) {
                Some(target) => self.check(target, value, path, out, depth + 1),
                None => out.push(violation(path, &format!("unresolvable reference {r}"))),
            }
            return;
        }
        if let Some(any) = obj.get("anyOf").and_then(Value::as_array) {
            self.check_alternatives(any, value, path, out, depth, false);
        }
        if let Some(one) = obj.get("oneOf").and_then(Value::as_array) {
            if let Some(mapping) = obj.get("discriminator").and_then(|d| d.get("mapping")) {
                self.check_discriminated(mapping, value, path, out, depth);
            } else {
                self.check_alternatives(one, value, path, out, depth, true);
            }
        }
        if let Some(t) = obj.get("type") {
            if !type_matches(t, value) {
                out.push(violation(
                    path,
                    &format!("expected {}, found {}", type_name(t), json_kind(value)),
                ));
                return;
            }
        }
        if let Some(allowed) = obj.get("enum").and_then(Value::as_array) {
            if !allowed.contains(value) {
                let list: Vec<String> = allowed.iter().map(|v| v.to_string()).collect();
                out.push(violation(
                    path,
                    &format!("{value} is not one of {}", list.join(", ")),
                ));
            }
        }
        if let Value::String(text) = value {
            // Length bounds, in characters (JSON Schema counts code points). The 3.27.1
            // contract declares none on a name field; the emulator follows whatever a
            // regenerated contract declares.
            let n = text.chars().count() as u64;
            if let Some(max) = obj.get("maxLength").and_then(Value::as_u64) {
                if n > max {
                    out.push(violation(
                        path,
                        &format!("{n} characters, more than the maximum length {max}"),
                    ));
                }
            }
            if let Some(min) = obj.get("minLength").and_then(Value::as_u64) {
                if n < min {
                    out.push(violation(
                        path,
                        &format!("{n} characters, fewer than the minimum length {min}"),
                    ));
                }
            }
        }
        if let Value::Object(map) = value {
            if let Some(required) = obj.get("required").and_then(Value::as_array) {
                for key in required.iter().filter_map(Value::as_str) {
                    if !map.contains_key(key) {
                        out.push(violation(&join(path, key), "the field is required"));
                    }
                }
            }
            let props = obj.get("properties").and_then(Value::as_object);
            for (key, v) in map {
                match props.and_then(|p| p.get(key)) {
                    Some(s) => self.check(s, v, &join(path, key), out, depth + 1),
                    None => match obj.get("additionalProperties") {
                        Some(Value::Bool(false)) => {
                            out.push(violation(&join(path, key), "unknown field"))
                        }
                        Some(s @ Value::Object(_)) => {
                            self.check(s, v, &join(path, key), out, depth + 1)
                        }
                        _ => {}
                    },
                }
            }
        }
        if let (Value::Array(items), Some(item_schema)) = (value, obj.get("items")) {
            for (i, item) in items.iter().enumerate() {
                self.check(item_schema, item, &format!("{path}[{i}]"), out, depth + 1);
            }
        }
    }

    fn check_alternatives(
        &self,
        alternatives: &[Value],
        value: &Value,
        path: &str,
        out: &mut Vec<Violation>,
        depth: usize,
        exactly_one: bool,
    ) {
        let mut matched = 0;
        let mut best: Option<Vec<Violation>> = None;
        for alt in alternatives {
            let mut errs = Vec::new();
            self.check(alt, value, path, &mut errs, depth + 1);
            if errs.is_empty() {
                matched += 1;
            } else if best.as_ref().is_none_or(|b| closer(&errs, b, path)) {
                // Report the alternative that came closest; for `X | null` that is X's errors.
                best = Some(errs);
            }
        }
        if matched == 0 {
            if let Some(errs) = best {
                out.extend(errs);
            }
        } else if exactly_one && matched > 1 {
            out.push(violation(path, "value matches more than one alternative"));
        }
    }

    fn check_discriminated(
        &self,
        mapping: &Value,
        value: &Value,
        path: &str,
        out: &mut Vec<Violation>,
        depth: usize,
    ) {
        let Some(map) = value.as_object() else {
            out.push(violation(
                path,
                &format!("expected object, found {}", json_kind(value)),
            ));
            return;
        };
        let Some(tag) = map.get("_t") else {
            out.push(violation(
                &join(path, "_t"),
                "the discriminator `_t` is required",
            ));
            return;
        };
        let target = tag
            .as_str()
            .and_then(|t| mapping.get(t))
            .and_then(Value::as_str);
        match target.and_then(|r| self.resolve(r)) {
            Some(schema) => self.check(schema, value, path, out, depth + 1),
            None => {
                let known: Vec<&str> = mapping
                    .as_object()
                    .map(|m| m.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                out.push(violation(
                    &join(path, "_t"),
                    &format!(
                        "unknown discriminator {tag}; expected one of {}",
                        known.join(", ")
                    ),
                ));
            }
        }
    }
}

/// Whether the errors `a` of one alternative describe the value better than `b`: an
/// alternative of the wrong type at this level (`expected null, found array`) is the worst
/// explanation; otherwise fewer errors win.
fn closer(a: &[Violation], b: &[Violation], path: &str) -> bool {
    let wrong_type = |errs: &[Violation]| {
        errs.len() == 1 && errs[0].path == path && errs[0].message.starts_with("expected ")
    };
    match (wrong_type(a), wrong_type(b)) {
        (false, true) => true,
        (true, false) => false,
        _ => a.len() < b.len(),
    }
}

fn violation(path: &str, message: &str) -> Violation {
    Violation {
        path: path.to_string(),
        message: message.to_string(),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn type_matches(t: &Value, value: &Value) -> bool {
    match t {
        Value::String(s) => single_type_matches(s, value),
        Value::Array(list) => list
            .iter()
            .filter_map(Value::as_str)
            .any(|s| single_type_matches(s, value)),
        _ => true,
    }
}

fn single_type_matches(t: &str, value: &Value) -> bool {
    match t {
        "string" => value.is_string(),
        "integer" => {
            value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "null" => value.is_null(),
        _ => true,
    }
}

fn type_name(t: &Value) -> String {
    match t {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accepts_a_wire_example_datapoint() {
        let body = json!({"segments": [{"key": "asset", "kind": "Asset", "asset": {"_t": "TextAssetInput", "text": "x"}}],
            "sortIndex": 0, "group": null, "privateMetadata": null});
        assert!(Contract::get()
            .validate_definition("CreateDatapointEndpointInput", &body)
            .is_empty());
    }

    #[test]
    fn reports_unknown_discriminator_and_missing_fields_with_paths() {
        let body = json!({"segments": [{"key": "asset", "kind": "Asset", "asset": {"_t": "Bogus"}}, {"kind": "Text"}]});
        let errs = Contract::get().validate_definition("CreateDatapointEndpointInput", &body);
        let paths: Vec<&str> = errs.iter().map(|v| v.path.as_str()).collect();
        assert!(paths.contains(&"segments[0].asset._t"), "{errs:?}");
        assert!(paths.contains(&"segments[1].key"), "{errs:?}");
    }

    #[test]
    fn finds_undeclared_fields_through_refs_alternatives_and_maps() {
        let c = Contract::get();
        let order = json!({"orderName": "o", "customerMail": "m", "orderDate": "2026-01-01T00:00:00Z",
            "state": "Created", "pipelineId": "p", "isLocked": false, "isPublic": false, "datasetId": "d"});
        let schema = json!({"$ref": "#/definitions/GetOrderByIdEndpointOutput"});
        assert!(
            c.validate(&schema, &order).is_empty(),
            "extras are valid JSON Schema"
        );
        assert_eq!(c.undeclared(&schema, &order), vec!["datasetId"]);
        // Through a discriminated oneOf inside an array, and a map (additionalProperties).
        let seg = json!({"segments": [{"key": "asset", "kind": "Asset", "asset": {"_t": "TextAsset", "text": "t",
            "identifier": "t", "metadata": {"k": {"_t": "TextMetadata", "text": "x", "extra": 1}}, "bogus": 2}}],
            "id": "i", "datasetId": "d"});
        let schema = json!({"$ref": "#/definitions/QueryDatapointsByDatasetIdEndpointOutput"});
        let mut found = c.undeclared(&schema, &seg);
        found.sort();
        assert_eq!(
            found,
            vec![
                "segments[0].asset.bogus",
                "segments[0].asset.metadata.k.extra"
            ]
        );
        let metrics =
            json!({"usersPerState": {"Graduated": 3, "DroppedLowAccuracy": 1}, "capacity": "Low"});
        let schema = json!({"$ref": "#/definitions/GetAudienceUserStateMetricsResult"});
        assert!(c.undeclared(&schema, &metrics).is_empty());
    }

    #[test]
    fn reports_wrong_types_and_enums() {
        let body = json!({"name": 5, "schema": [{"key": "a", "kind": "Video", "required": true}]});
        let errs = Contract::get().validate_definition("CreateDatasetEndpointInput", &body);
        assert_eq!(errs.len(), 2, "{errs:?}");
    }

    #[test]
    fn enforces_string_length_bounds_a_schema_declares() {
        let c = Contract::get();
        let schema = json!({"type": "object", "properties": {
            "name": {"anyOf": [{"type": "string", "maxLength": 3, "minLength": 1}, {"type": "null"}]}}});
        assert!(c.validate(&schema, &json!({"name": "abc"})).is_empty());
        assert!(
            c.validate(&schema, &json!({"name": "äöü"})).is_empty(),
            "characters, not bytes"
        );
        assert!(c.validate(&schema, &json!({"name": null})).is_empty());
        for bad in ["abcd", ""] {
            let errs = c.validate(&schema, &json!({ "name": bad }));
            assert_eq!(errs.len(), 1, "{bad:?}: {errs:?}");
            assert_eq!(errs[0].path, "name");
        }
        // A property that is *called* maxLength is no bound (DatasetSegmentDefinition).
        let seg = json!({"key": "context", "kind": "Text", "label": "Context", "required": false, "maxLength": 400});
        assert!(c
            .validate_definition("DatasetSegmentDefinition", &seg)
            .is_empty());
    }
}
