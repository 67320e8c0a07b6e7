//! Audience filters checked against the API contract's `IAudienceFilter` schemas (the
//! vendored `contract-3.27.1.json`, embedded once in the binary for the emulator): known
//! `_t`, required and unknown fields, value types and enum values, each reported at the
//! YAML node it is about, with a "did you mean". Country and language codes are
//! normalised as the SDK's `CountryFilter` (upper case) and `LanguageFilter` (lower case)
//! do (`rapidata_client/filter/country_filter.py`, `language_filter.py`), so `languages:
//! [DE]` is sent as `de` and `deviceTypes: [Desktop]` is refused at validate instead of
//! failing at apply with a bare HTTP 400.

use serde_json::{Map, Value};

use super::context::{Ctx, Loc};
use super::raw::{Located, RawValue};
use super::suggest::did_you_mean;
use crate::contract::Contract;

const FILTER_UNION: &str = "IAudienceFilter";

/// Nesting deeper than this is refused (a filter tree is a few levels in practice).
const MAX_DEPTH: usize = 16;

fn at(file: u32, l: &Located<RawValue>) -> Loc {
    Loc::new(file, l.line, l.column)
}

fn kind(v: &RawValue) -> &'static str {
    match v {
        RawValue::Null => "null",
        RawValue::Bool(_) => "a boolean",
        RawValue::Number(_) => "a number",
        RawValue::String(_) => "a string",
        RawValue::Seq(_) => "a list",
        RawValue::Map(_) => "a mapping",
    }
}

/// The `_t` values of the filter union and the definition each one names.
fn filter_variants(c: &Contract) -> Vec<(String, String)> {
    c.definition(FILTER_UNION)
        .and_then(|d| d.pointer("/discriminator/mapping"))
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(t, r)| {
                    let def = r.as_str()?.strip_prefix("#/definitions/")?;
                    Some((t.clone(), def.to_string()))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Checks one top-level filter; returns its wire value (normalised) when it is valid.
pub fn check_filter(ctx: &mut Ctx, file: u32, node: &Located<RawValue>) -> Option<Value> {
    Checker {
        ctx,
        file,
        contract: Contract::get(),
        ok: true,
    }
    .run(node)
}

/// Checks a filter as the API returns it (`rapidata import` writes it into a manifest):
/// its normalised wire value, or the problems a manifest with it would be refused for.
pub fn check_filter_value(value: &Value) -> Result<Value, Vec<String>> {
    fn located(v: &Value) -> Located<RawValue> {
        let value = match v {
            Value::Null => RawValue::Null,
            Value::Bool(b) => RawValue::Bool(*b),
            Value::Number(n) => RawValue::Number(n.clone()),
            Value::String(s) => RawValue::String(s.clone()),
            Value::Array(a) => RawValue::Seq(a.iter().map(located).collect()),
            Value::Object(m) => RawValue::Map(
                m.iter()
                    .map(|(k, v)| {
                        let key = Located {
                            value: k.clone(),
                            line: 1,
                            column: 1,
                        };
                        (key, located(v))
                    })
                    .collect(),
            ),
        };
        Located {
            value,
            line: 1,
            column: 1,
        }
    }
    let mut ctx = Ctx::new(super::paths::PathResolver::new(".".into(), false));
    let checked = check_filter(&mut ctx, 0, &located(value));
    match checked {
        Some(v) if ctx.diags.is_empty() => Ok(v),
        _ => Err(ctx
            .diags
            .errors
            .iter()
            .map(|d| match &d.help {
                Some(h) => format!("{} ({h})", d.message),
                None => d.message.clone(),
            })
            .collect()),
    }
}

struct Checker<'a> {
    ctx: &'a mut Ctx,
    file: u32,
    contract: &'static Contract,
    ok: bool,
}

impl Checker<'_> {
    fn run(mut self, node: &Located<RawValue>) -> Option<Value> {
        let v = self.filter(node, "", 0);
        if self.ok {
            v
        } else {
            None
        }
    }

    fn fail(&mut self, loc: Loc, message: String, help: String) {
        self.ok = false;
        self.ctx.error(loc, message, help);
    }

    fn filter(&mut self, node: &Located<RawValue>, path: &str, depth: usize) -> Option<Value> {
        let loc = at(self.file, node);
        let here = if path.is_empty() {
            String::new()
        } else {
            format!(" (at `{path}`)")
        };
        if depth > MAX_DEPTH {
            self.fail(
                loc,
                format!("audience filter{here} is nested more than {MAX_DEPTH} levels deep"),
                "flatten the filter".into(),
            );
            return None;
        }
        let RawValue::Map(fields) = &node.value else {
            self.fail(
                loc,
                format!(
                    "audience filter{here} must be a mapping with `_t`, not {}",
                    kind(&node.value)
                ),
                "e.g. `{_t: CountryFilter, countries: [DE]}`".into(),
            );
            return None;
        };
        let variants = filter_variants(self.contract);
        let names: Vec<&str> = variants.iter().map(|(t, _)| t.as_str()).collect();
        let t = fields.iter().find(|(k, _)| k.value == "_t");
        let Some((_, tnode)) = t else {
            self.fail(
                loc,
                format!("audience filter{here} has no `_t`"),
                format!("add `_t:` with one of {}", names.join(", ")),
            );
            return None;
        };
        let tloc = at(self.file, tnode);
        let RawValue::String(tname) = &tnode.value else {
            self.fail(
                tloc,
                format!("`_t`{here} must be a string"),
                format!("use one of {}", names.join(", ")),
            );
            return None;
        };
        let Some((_, def_name)) = variants.iter().find(|(x, _)| x == tname) else {
            let help = match did_you_mean(tname, &names) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("use one of {}", names.join(", ")),
            };
            self.fail(
                tloc,
                format!("unknown audience filter `_t: {tname}`{here}"),
                help,
            );
            return None;
        };
        let def = self.contract.definition(def_name)?;
        let props = def.get("properties").and_then(Value::as_object)?;
        let required: Vec<&str> = def
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let prop_names: Vec<&str> = props.keys().map(String::as_str).collect();
        let mut out = Map::new();
        for (k, v) in fields {
            let kloc = Loc::new(self.file, k.line, k.column);
            let Some(schema) = props.get(&k.value) else {
                let choices: Vec<&str> =
                    prop_names.iter().copied().filter(|p| *p != "_t").collect();
                // A typo, or a singular for the list field (`country` for `countries`).
                let close = did_you_mean(&k.value, &choices).or_else(|| {
                    let stem = k.value.trim_end_matches(['s', 'y']).to_lowercase();
                    choices
                        .iter()
                        .copied()
                        .find(|c| stem.len() >= 3 && c.to_lowercase().starts_with(&stem))
                });
                let help = match close {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("{tname} takes {}", choices.join(", ")),
                };
                self.fail(
                    kloc,
                    format!("unknown field `{}` in {tname}{here}", k.value),
                    help,
                );
                continue;
            };
            if k.value == "_t" {
                out.insert("_t".into(), Value::String(tname.clone()));
                continue;
            }
            let sub = format!("{path}{}", k.value);
            let norm = match (tname.as_str(), k.value.as_str()) {
                ("CountryFilter", "countries") => Norm::Country,
                ("LanguageFilter", "languages") => Norm::Language,
                _ => Norm::None,
            };
            if let Some(x) = self.value(schema, v, &sub, depth, norm) {
                out.insert(k.value.clone(), x);
            }
        }
        for r in required {
            if !fields.iter().any(|(k, _)| k.value == r) {
                self.fail(
                    loc,
                    format!("{tname}{here} needs `{r}`"),
                    format!("add `{r}:`"),
                );
            }
        }
        Some(Value::Object(out))
    }

    fn resolve<'s>(&self, schema: &'s Value) -> Result<&'s Value, &'s str> {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let name = r.strip_prefix("#/definitions/").unwrap_or(r);
                Err(name)
            }
            None => Ok(schema),
        }
    }

    fn value(
        &mut self,
        schema: &Value,
        node: &Located<RawValue>,
        path: &str,
        depth: usize,
        norm: Norm,
    ) -> Option<Value> {
        let loc = at(self.file, node);
        let schema = match self.resolve(schema) {
            Ok(s) => s,
            Err(FILTER_UNION) => return self.filter(node, &format!("{path}."), depth + 1),
            Err(name) => self.contract.definition(name)?,
        };
        if let Some(alts) = schema.get("anyOf").and_then(Value::as_array) {
            if node.value == RawValue::Null && alts.iter().any(|a| a["type"] == "null") {
                return Some(Value::Null);
            }
            let first = alts.iter().find(|a| a["type"] != "null")?;
            return self.value(first, node, path, depth, norm);
        }
        let ty = schema.get("type").and_then(Value::as_str).unwrap_or("");
        match (ty, &node.value) {
            ("array", RawValue::Seq(items)) => {
                let item_schema = schema.get("items")?;
                let mut out = Vec::new();
                for (i, it) in items.iter().enumerate() {
                    if let Some(x) =
                        self.value(item_schema, it, &format!("{path}[{i}]"), depth, norm)
                    {
                        out.push(x);
                    }
                }
                Some(Value::Array(out))
            }
            ("string", RawValue::String(s)) => self.string(schema, s, loc, path, norm),
            ("integer", RawValue::Number(n)) if n.is_i64() || n.is_u64() => {
                Some(Value::Number(n.clone()))
            }
            ("number", RawValue::Number(n)) => Some(Value::Number(n.clone())),
            ("boolean", RawValue::Bool(b)) => Some(Value::Bool(*b)),
            ("", _) => Some(node.value.to_json()),
            (ty, other) => {
                let want = match ty {
                    "array" => "a list",
                    "string" => "a string",
                    "integer" => "an integer",
                    "number" => "a number",
                    "boolean" => "true or false",
                    _ => "a mapping",
                };
                self.fail(
                    loc,
                    format!("`{path}` must be {want}, not {}", kind(other)),
                    match ty {
                        "array" => format!("write a list, e.g. `{}: [...]`", leaf(path)),
                        _ => format!("write {want}"),
                    },
                );
                None
            }
        }
    }

    fn string(
        &mut self,
        schema: &Value,
        s: &str,
        loc: Loc,
        path: &str,
        norm: Norm,
    ) -> Option<Value> {
        let s = match norm {
            Norm::Country | Norm::Language => {
                if s.chars().count() != 2 {
                    let what = if norm == Norm::Country {
                        ("Country", "ISO 3166-1 alpha-2", "DE")
                    } else {
                        ("Language", "ISO 639-1", "de")
                    };
                    self.fail(
                        loc,
                        format!("{} code `{s}` at `{path}` is not 2 letters long", what.0),
                        format!("use an {} code such as `{}`", what.1, what.2),
                    );
                    return None;
                }
                if norm == Norm::Country {
                    s.to_uppercase()
                } else {
                    s.to_lowercase()
                }
            }
            Norm::None => s.to_string(),
        };
        if let Some(values) = schema.get("enum").and_then(Value::as_array) {
            let allowed: Vec<&str> = values.iter().filter_map(Value::as_str).collect();
            if !allowed.contains(&s.as_str()) {
                let help = match did_you_mean(&s, &allowed) {
                    Some(x) => format!("did you mean `{x}`?"),
                    None if allowed.len() <= 12 => format!("use one of {}", allowed.join(", ")),
                    None => format!(
                        "use one of the {} values of the API contract",
                        allowed.len()
                    ),
                };
                let what = if norm == Norm::Language {
                    "unknown ISO 639-1 language code".to_string()
                } else {
                    "unknown value".to_string()
                };
                self.fail(loc, format!("{what} `{s}` at `{path}`"), help);
                return None;
            }
        }
        Some(Value::String(s))
    }
}

fn leaf(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Norm {
    None,
    Country,
    Language,
}
