//! A small JSON Schema validator for the subset the API contract and the manifest schema
//! use: `type`, `properties`, `required`, `items`, `anyOf`, `oneOf`, `allOf`, `enum`,
//! `const`, `minimum`, `additionalProperties` and `$ref` to `#/definitions/`. Annotations
//! (`description`, `default`, `format`, `discriminator`, `title`) are ignored; `pattern`
//! is reported as unsupported rather than silently passed.
//!
//! `complete` (the manifest schema's checks) additionally reports every keyword outside
//! that set, so a rule the schema gains later is never silently passed either.
//!
//! `strict` additionally rejects object members the schema does not declare (when it has
//! `properties` and no `additionalProperties`): the contract's models accept them, but
//! for our own request bodies an undeclared member is almost certainly a misspelt wire
//! name.

use serde_json::Value;

pub struct Validator<'a> {
    pub root: &'a Value,
    pub strict: bool,
    pub complete: bool,
}

/// The keywords `check` implements, and the annotations it may ignore.
const IMPLEMENTED: &[&str] = &[
    "$ref",
    "type",
    "enum",
    "const",
    "anyOf",
    "oneOf",
    "allOf",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "minimum",
    "$schema",
    "title",
    "description",
    "definitions",
    "default",
    "format",
    "examples",
];

impl<'a> Validator<'a> {
    pub fn new(root: &'a Value) -> Self {
        Validator {
            root,
            strict: true,
            complete: false,
        }
    }

    /// For the manifest schema (`schemas/v1/manifest.schema.json`): members are checked
    /// as the schema says (it sets `additionalProperties` itself), and a keyword this
    /// validator does not implement is an error.
    pub fn complete(root: &'a Value) -> Self {
        Validator {
            root,
            strict: false,
            complete: true,
        }
    }

    /// All violations, each prefixed by its JSON path; empty when valid.
    pub fn validate(&self, schema: &Value, value: &Value) -> Vec<String> {
        let mut errs = Vec::new();
        self.check(schema, value, "$", &mut errs);
        errs
    }

    fn resolve(&self, r: &str) -> Option<&'a Value> {
        let name = r.strip_prefix("#/definitions/")?;
        self.root.get("definitions")?.get(name)
    }

    fn check(&self, schema: &Value, value: &Value, path: &str, errs: &mut Vec<String>) {
        let Some(s) = schema.as_object() else {
            if schema == &Value::Bool(false) {
                errs.push(format!("{path}: no value allowed"));
            }
            return;
        };
        if self.complete {
            for k in s.keys().filter(|k| !IMPLEMENTED.contains(&k.as_str())) {
                errs.push(format!(
                    "{path}: schema keyword `{k}` is not supported by this validator"
                ));
            }
        }
        if let Some(r) = s.get("$ref").and_then(Value::as_str) {
            match self.resolve(r) {
                Some(target) => self.check(target, value, path, errs),
                None => errs.push(format!("{path}: unresolvable $ref {r}")),
            }
        }
        if let Some(t) = s.get("type") {
            let ok = match t {
                Value::String(t) => type_ok(t, value),
                Value::Array(ts) => ts
                    .iter()
                    .filter_map(Value::as_str)
                    .any(|t| type_ok(t, value)),
                _ => true,
            };
            if !ok {
                errs.push(format!("{path}: expected type {t}, got {}", short(value)));
                return;
            }
        }
        if let Some(e) = s.get("enum").and_then(Value::as_array) {
            if !e.contains(value) {
                errs.push(format!(
                    "{path}: {} not in enum {}",
                    short(value),
                    Value::Array(e.clone())
                ));
            }
        }
        if let Some(c) = s.get("const") {
            if !same(c, value) {
                errs.push(format!("{path}: expected {c}, got {}", short(value)));
            }
        }
        if let (Some(min), Some(n)) = (s.get("minimum").and_then(Value::as_f64), value.as_f64()) {
            if n < min {
                errs.push(format!("{path}: {n} is below the minimum {min}"));
            }
        }
        if let Some(all) = s.get("allOf").and_then(Value::as_array) {
            for sub in all {
                self.check(sub, value, path, errs);
            }
        }
        if s.contains_key("pattern") && value.is_string() {
            errs.push(format!(
                "{path}: `pattern` is not supported by this validator"
            ));
        }
        if let Some(any) = s.get("anyOf").and_then(Value::as_array) {
            let results: Vec<Vec<String>> = any
                .iter()
                .map(|sub| self.validate_at(sub, value, path))
                .collect();
            if !results.iter().any(Vec::is_empty) {
                errs.push(format!(
                    "{path}: matches no anyOf branch: {}",
                    best(&results)
                ));
            }
        }
        if let Some(one) = s.get("oneOf").and_then(Value::as_array) {
            let results: Vec<Vec<String>> = one
                .iter()
                .map(|sub| self.validate_at(sub, value, path))
                .collect();
            let n = results.iter().filter(|r| r.is_empty()).count();
            if n != 1 {
                errs.push(format!(
                    "{path}: matches {n} oneOf branches (need exactly 1): {}",
                    best(&results)
                ));
            }
        }
        if let Some(obj) = value.as_object() {
            let props = s.get("properties").and_then(Value::as_object);
            if let Some(req) = s.get("required").and_then(Value::as_array) {
                for k in req.iter().filter_map(Value::as_str) {
                    if !obj.contains_key(k) {
                        errs.push(format!("{path}: missing required member `{k}`"));
                    }
                }
            }
            for (k, v) in obj {
                let sub_path = format!("{path}.{k}");
                if let Some(ps) = props.and_then(|p| p.get(k)) {
                    self.check(ps, v, &sub_path, errs);
                } else {
                    match s.get("additionalProperties") {
                        Some(Value::Bool(false)) => {
                            errs.push(format!("{sub_path}: member not allowed"))
                        }
                        Some(ap @ Value::Object(_)) => self.check(ap, v, &sub_path, errs),
                        Some(_) => {}
                        None if self.strict && props.is_some() => {
                            errs.push(format!("{sub_path}: member not declared by the schema"))
                        }
                        None => {}
                    }
                }
            }
        }
        if let (Some(items), Some(arr)) = (s.get("items"), value.as_array()) {
            for (i, v) in arr.iter().enumerate() {
                self.check(items, v, &format!("{path}[{i}]"), errs);
            }
        }
    }

    fn validate_at(&self, schema: &Value, value: &Value, path: &str) -> Vec<String> {
        let mut errs = Vec::new();
        self.check(schema, value, path, &mut errs);
        errs
    }
}

/// JSON equality, numbers by value (`1` and `1.0` are the same number).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn type_ok(t: &str, v: &Value) -> bool {
    match t {
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "null" => v.is_null(),
        _ => false,
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 80 {
        format!(
            "{}…",
            &s[..s.char_indices().nth(80).map(|(i, _)| i).unwrap_or(s.len())]
        )
    } else {
        s
    }
}

/// The branch that came closest, to explain an anyOf/oneOf failure.
fn best(results: &[Vec<String>]) -> String {
    results
        .iter()
        .filter(|r| !r.is_empty())
        .min_by_key(|r| r.len())
        .map(|r| r.join("; "))
        .unwrap_or_default()
}
