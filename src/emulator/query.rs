//! Query strings of the API: percent-encoded keys (`name%5Bcontains%5D`), repeated keys,
//! 1-based paging, `sort` with `-` for descending, and deepObject filters `field[op]=value`.

use std::cmp::Ordering;

use serde_json::Value;

use super::http::{ApiError, ApiResult};

/// The largest `page_size` served; larger requests are clamped and the response's `pageSize`
/// says what was used.
pub const MAX_PAGE_SIZE: u64 = 1000;
const DEFAULT_PAGE_SIZE: u64 = 10;

/// Decoded `key=value` pairs in their order on the wire.
#[derive(Debug, Default, Clone)]
pub(crate) struct Query {
    pub pairs: Vec<(String, String)>,
}

impl Query {
    pub fn parse(raw: Option<&str>) -> Query {
        let pairs = raw
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (percent_decode(k), percent_decode(v)),
                None => (percent_decode(p), String::new()),
            })
            .collect();
        Query { pairs }
    }

    pub fn first(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, key: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn int(&self, key: &str) -> ApiResult<Option<u64>> {
        match self.first(key) {
            None | Some("") => Ok(None),
            Some(v) => v.parse::<u64>().map(Some).map_err(|_| {
                ApiError::field(key, format!("'{v}' is not a valid non-negative integer."))
            }),
        }
    }

    /// `(page, page_size)`, 1-based page, page size clamped to [`MAX_PAGE_SIZE`].
    pub fn paging(&self) -> ApiResult<(u64, u64)> {
        let page = self.int("page")?.unwrap_or(1);
        if page == 0 {
            return Err(ApiError::field("page", "page is 1-based."));
        }
        let size = self.int("page_size")?.unwrap_or(DEFAULT_PAGE_SIZE);
        if size == 0 {
            return Err(ApiError::field(
                "page_size",
                "page_size must be at least 1.",
            ));
        }
        Ok((page, size.min(MAX_PAGE_SIZE)))
    }

    /// Sort keys as `(field, descending)`.
    pub fn sort(&self) -> Vec<(String, bool)> {
        self.all("sort")
            .into_iter()
            .flat_map(|s| s.split(','))
            .filter(|s| !s.is_empty())
            .map(|s| match s.strip_prefix('-') {
                Some(f) => (f.to_string(), true),
                None => (s.strip_prefix('+').unwrap_or(s).to_string(), false),
            })
            .collect()
    }

    /// deepObject filters `field[op]=value`; `in` is collected over repeated keys.
    pub fn filters(&self) -> ApiResult<Vec<Filter>> {
        let mut out: Vec<Filter> = Vec::new();
        for (k, v) in &self.pairs {
            let Some((field, rest)) = k.split_once('[') else {
                continue;
            };
            let Some(op) = rest.strip_suffix(']') else {
                continue;
            };
            let op = FilterOp::parse(op)
                .ok_or_else(|| ApiError::field(k, format!("Unknown filter operator '{op}'.")))?;
            if op == FilterOp::In {
                if let Some(f) = out
                    .iter_mut()
                    .find(|f| f.field == field && f.op == FilterOp::In)
                {
                    f.values.push(v.clone());
                    continue;
                }
            }
            out.push(Filter {
                field: field.to_string(),
                op,
                values: vec![v.clone()],
            });
        }
        Ok(out)
    }

    /// `logic=or` combines filters with OR; anything else with AND.
    pub fn logic_or(&self) -> bool {
        self.first("logic")
            .is_some_and(|l| l.eq_ignore_ascii_case("or"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FilterOp {
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
    Contains,
    NotContains,
    StartsWith,
    EndsWith,
    In,
}

impl FilterOp {
    fn parse(s: &str) -> Option<FilterOp> {
        Some(match s {
            "eq" => FilterOp::Eq,
            "neq" => FilterOp::Neq,
            "gt" => FilterOp::Gt,
            "gte" => FilterOp::Gte,
            "lt" => FilterOp::Lt,
            "lte" => FilterOp::Lte,
            "contains" => FilterOp::Contains,
            "not_contains" => FilterOp::NotContains,
            "starts_with" => FilterOp::StartsWith,
            "ends_with" => FilterOp::EndsWith,
            "in" => FilterOp::In,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Filter {
    pub field: String,
    pub op: FilterOp,
    pub values: Vec<String>,
}

impl Filter {
    /// Text comparisons (`contains`, `starts_with`, `ends_with`) ignore case, like the
    /// service's search boxes; `eq`/`in` are exact.
    pub fn matches(&self, actual: Option<&Value>) -> bool {
        let text = match actual {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        let want = self.values.first().map(String::as_str).unwrap_or("");
        let lower = || (text.to_lowercase(), want.to_lowercase());
        match self.op {
            FilterOp::Eq => text == want,
            FilterOp::Neq => text != want,
            FilterOp::In => self.values.contains(&text),
            FilterOp::Contains => {
                let (t, w) = lower();
                t.contains(&w)
            }
            FilterOp::NotContains => {
                let (t, w) = lower();
                !t.contains(&w)
            }
            FilterOp::StartsWith => {
                let (t, w) = lower();
                t.starts_with(&w)
            }
            FilterOp::EndsWith => {
                let (t, w) = lower();
                t.ends_with(&w)
            }
            FilterOp::Gt | FilterOp::Gte | FilterOp::Lt | FilterOp::Lte => {
                let ord = compare_text(&text, want);
                match self.op {
                    FilterOp::Gt => ord == Ordering::Greater,
                    FilterOp::Gte => ord != Ordering::Less,
                    FilterOp::Lt => ord == Ordering::Less,
                    _ => ord != Ordering::Greater,
                }
            }
        }
    }
}

fn compare_text(a: &str, b: &str) -> Ordering {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => a.cmp(b),
    }
}

fn compare_values(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .unwrap_or(0.0)
            .partial_cmp(&y.as_f64().unwrap_or(0.0))
            .unwrap_or(Ordering::Equal),
        (Some(Value::String(x)), Some(Value::String(y))) => x.cmp(y),
        (None | Some(Value::Null), None | Some(Value::Null)) => Ordering::Equal,
        (None | Some(Value::Null), _) => Ordering::Less,
        (_, None | Some(Value::Null)) => Ordering::Greater,
        (Some(x), Some(y)) => x.to_string().cmp(&y.to_string()),
    }
}

/// `created_at` → `createdAt`; the wire filter and sort names are snake_case.
pub(crate) fn camel(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut upper = false;
    for c in field.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Filters, sorts and pages a small in-memory collection (definitions, jobs, audiences,
/// orders, revisions). `field_name` maps a wire field to the item's JSON field. Items come in
/// creation order, which is also the tie-breaker of every sort.
pub(crate) fn page_items(
    items: Vec<Value>,
    query: &Query,
    field_name: &dyn Fn(&str) -> String,
) -> ApiResult<Value> {
    let (page, size) = query.paging()?;
    let filters = query.filters()?;
    let or = query.logic_or();
    let mut items: Vec<Value> = items
        .into_iter()
        .filter(|item| {
            if filters.is_empty() {
                return true;
            }
            let mut results = filters
                .iter()
                .map(|f| f.matches(item.get(field_name(&f.field))));
            if or {
                results.any(|r| r)
            } else {
                results.all(|r| r)
            }
        })
        .collect();
    let sort = query.sort();
    if !sort.is_empty() {
        items.sort_by(|a, b| {
            for (field, desc) in &sort {
                let name = field_name(field);
                let ord = compare_values(a.get(&name), b.get(&name));
                let ord = if *desc { ord.reverse() } else { ord };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
            Ordering::Equal
        });
    }
    let total = items.len() as u64;
    let start = ((page - 1).saturating_mul(size)).min(total) as usize;
    let end = (start as u64 + size).min(total) as usize;
    let page_items: Vec<Value> = items.drain(start..end).collect();
    Ok(serde_json::json!({
        "total": total,
        "page": page,
        "pageSize": size,
        "items": page_items,
        "totalPages": total.div_ceil(size),
    }))
}

/// Percent-decoding of a query component (`+` is a space, as in form encoding).
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_percent_encoded_filter_keys() {
        let q = Query::parse(Some("page=2&page_size=10&sort=-created_at&name%5Bcontains%5D=a%20b+c&id%5Bin%5D=x&id%5Bin%5D=y"));
        assert_eq!(q.paging().unwrap(), (2, 10));
        assert_eq!(q.sort(), vec![("created_at".to_string(), true)]);
        let f = q.filters().unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].field, "name");
        assert_eq!(f[0].values, vec!["a b c"]);
        assert_eq!(f[1].values, vec!["x", "y"]);
    }

    #[test]
    fn truncated_escape_is_kept_literally() {
        assert_eq!(percent_decode("50%"), "50%");
        assert_eq!(percent_decode("%4"), "%4");
        assert_eq!(percent_decode("%41"), "A");
    }
}
