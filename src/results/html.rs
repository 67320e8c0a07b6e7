//! `results --html`: one self-contained page for the project (`<out>/report.html`): per Job
//! and Order its completion, a chart of the answer distribution, a chart of agreement (the
//! share of the most common answer per datapoint), and its datapoints, the least agreement
//! first, with their images (local files, embedded) or text. No scripts, no network: the
//! charts are SVG drawn by `plotters` (SVG backend only), images are `data:` URIs.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use base64::Engine as _;
use plotters::prelude::*;
use serde_json::Value;

use super::rows::{Table, TaskType};
use super::{Entry, PullReport, Pulled};

/// The page's file name in the output directory.
pub const FILE: &str = "report.html";

/// Embedded images at most per job, and bytes at most per image.
const MAX_IMAGES: usize = 100;
const MAX_IMAGE_BYTES: u64 = 2 << 20;
/// Bars at most in a distribution chart (the most frequent).
const MAX_BARS: usize = 12;

pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn type_name(t: TaskType) -> &'static str {
    match t {
        TaskType::Classify => "classify",
        TaskType::Compare => "compare",
        TaskType::Ranking => "ranking",
        TaskType::FreeText => "freeText",
        TaskType::Locate => "locate",
        TaskType::Draw => "draw",
        TaskType::SelectWords => "selectWords",
        TaskType::Timestamp => "timestamp",
        TaskType::Other => "other",
    }
}

fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// A bar chart (SVG) of `values` labelled `labels`.
pub fn bars(caption: &str, labels: &[String], values: &[f64]) -> String {
    let mut svg = String::new();
    let n = labels.len().max(1) as u32;
    let max = values.iter().copied().fold(0.0f64, f64::max).max(1e-9) * 1.1;
    {
        let root = SVGBackend::with_string(&mut svg, (520, 240)).into_drawing_area();
        let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
            root.fill(&WHITE)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(caption, ("sans-serif", 15))
                .margin(8)
                .x_label_area_size(28)
                .y_label_area_size(44)
                .build_cartesian_2d((0u32..n).into_segmented(), 0f64..max)?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(n as usize)
                .x_label_formatter(&|v| match v {
                    SegmentValue::CenterOf(i) => labels
                        .get(*i as usize)
                        .map(|l| short(l, 12))
                        .unwrap_or_default(),
                    _ => String::new(),
                })
                .draw()?;
            chart.draw_series(
                Histogram::vertical(&chart)
                    .style(BLUE.mix(0.6).filled())
                    .margin(6)
                    .data(values.iter().enumerate().map(|(i, v)| (i as u32, *v))),
            )?;
            root.present()?;
            Ok(())
        })();
        if let Err(e) = drawn {
            drop(root);
            return format!("<p class=\"chart-error\">{}</p>", esc(&e.to_string()));
        }
    }
    svg
}

/// Points and lines in the unit square (SVG), y downwards as on the image.
pub fn shapes(caption: &str, lines: &[Vec<(f64, f64)>]) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (320, 320)).into_drawing_area();
        let drawn =
            (|| -> Result<(), Box<dyn std::error::Error + '_>> {
                root.fill(&WHITE)?;
                let mut chart = ChartBuilder::on(&root)
                    .caption(caption, ("sans-serif", 15))
                    .margin(8)
                    .x_label_area_size(24)
                    .y_label_area_size(32)
                    .build_cartesian_2d(0f64..1f64, 0f64..1f64)?;
                chart.configure_mesh().draw()?;
                let flip = |(x, y): (f64, f64)| (x, 1.0 - y);
                chart.draw_series(lines.iter().filter(|l| l.len() > 1).map(|l| {
                    PathElement::new(l.iter().map(|p| flip(*p)).collect::<Vec<_>>(), RED)
                }))?;
                chart.draw_series(
                    lines
                        .iter()
                        .flatten()
                        .map(|p| Circle::new(flip(*p), 3, RED.mix(0.7).filled())),
                )?;
                root.present()?;
                Ok(())
            })();
        if let Err(e) = drawn {
            drop(root);
            return format!("<p class=\"chart-error\">{}</p>", esc(&e.to_string()));
        }
    }
    svg
}

fn point(v: &Value) -> Option<(f64, f64)> {
    Some((v.get("x")?.as_f64()?, v.get("y")?.as_f64()?))
}

/// The most frequent values, at most `MAX_BARS`, most frequent first (ties by name).
fn frequent(values: impl Iterator<Item = String>) -> (Vec<String>, Vec<f64>) {
    let mut n: HashMap<String, usize> = HashMap::new();
    for v in values {
        *n.entry(v).or_default() += 1;
    }
    let mut v: Vec<(String, usize)> = n.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(MAX_BARS);
    v.into_iter().map(|(k, c)| (k, c as f64)).unzip()
}

/// The answer distribution chart of a job's rows.
fn distribution(t: &Table) -> String {
    let rows = &t.rows;
    let list = |r: &serde_json::Map<String, Value>, c: &str| -> Vec<Value> {
        r.get(c)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    match t.task {
        TaskType::Classify => {
            let options: Vec<&String> = t
                .columns
                .iter()
                .filter(|c| c.starts_with("votes_"))
                .collect();
            let labels: Vec<String> = options
                .iter()
                .map(|c| c["votes_".len()..].to_string())
                .collect();
            let values: Vec<f64> = options
                .iter()
                .map(|c| rows.iter().filter_map(|r| r[c.as_str()].as_f64()).sum())
                .collect();
            bars("Votes per option", &labels, &values)
        }
        TaskType::Compare => {
            let mut v = [0.0; 3];
            for r in rows
                .iter()
                .filter(|r| r["responses"].as_u64().unwrap_or(0) > 0)
            {
                let w = &r["winner"];
                let i = if w.is_null() {
                    2
                } else if *w == r["asset"] {
                    0
                } else if *w == r["assetB"] {
                    1
                } else {
                    2
                };
                v[i] += 1.0;
            }
            let labels = ["first asset", "second asset", "no winner"].map(String::from);
            bars("Winners", &labels, &v)
        }
        TaskType::Ranking => {
            let labels: Vec<String> = rows
                .iter()
                .map(|r| r["key"].as_str().unwrap_or("?").to_string())
                .collect();
            let values: Vec<f64> = rows
                .iter()
                .map(|r| r["score"].as_f64().unwrap_or(0.0))
                .collect();
            bars("Score per datapoint", &labels, &values)
        }
        TaskType::FreeText => {
            let (l, v) = frequent(rows.iter().flat_map(|r| list(r, "texts")).map(|t| {
                t.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| t.to_string())
            }));
            bars("Most frequent answers", &l, &v)
        }
        TaskType::SelectWords => {
            let (l, v) = frequent(
                rows.iter()
                    .flat_map(|r| list(r, "selectedWords"))
                    .flat_map(|w| w.as_array().cloned().unwrap_or_default())
                    .map(|w| {
                        w.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| w.to_string())
                    }),
            );
            bars("Most selected words", &l, &v)
        }
        TaskType::Timestamp => {
            let times: Vec<f64> = rows
                .iter()
                .flat_map(|r| list(r, "times"))
                .flat_map(|t| t.as_array().cloned().unwrap_or_default())
                .filter_map(|t| t.as_f64())
                .collect();
            let (lo, hi) = times
                .iter()
                .fold((f64::MAX, f64::MIN), |(a, b), t| (a.min(*t), b.max(*t)));
            let (lo, hi) = if times.is_empty() {
                (0.0, 1.0)
            } else {
                (lo, hi.max(lo + 1.0))
            };
            let width = (hi - lo) / 10.0;
            let mut v = vec![0.0; 10];
            for t in &times {
                v[(((t - lo) / width) as usize).min(9)] += 1.0;
            }
            let labels: Vec<String> = (0..10)
                .map(|i| format!("{:.0}s", (lo + width * i as f64) / 1000.0))
                .collect();
            bars("Times marked (from)", &labels, &v)
        }
        TaskType::Locate => {
            let pts: Vec<Vec<(f64, f64)>> = rows
                .iter()
                .flat_map(|r| list(r, "points"))
                .flat_map(|resp| resp.as_array().cloned().unwrap_or_default())
                .filter_map(|p| point(&p).map(|p| vec![p]))
                .collect();
            shapes("Points clicked", &pts)
        }
        TaskType::Draw => {
            let lines: Vec<Vec<(f64, f64)>> = rows
                .iter()
                .flat_map(|r| list(r, "lines"))
                .flat_map(|resp| resp.as_array().cloned().unwrap_or_default())
                .map(|l| {
                    l.as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(point)
                        .collect()
                })
                .collect();
            shapes("Lines drawn", &lines)
        }
        TaskType::Other => {
            let values: Vec<f64> = rows
                .iter()
                .map(|r| r["responses"].as_f64().unwrap_or(0.0))
                .collect();
            let labels: Vec<String> = rows
                .iter()
                .map(|r| r["key"].as_str().unwrap_or("?").to_string())
                .collect();
            bars("Responses per datapoint", &labels, &values)
        }
    }
}

/// Agreement of the datapoints, in ten bins of the share of the most common answer.
fn agreement_chart(t: &Table) -> String {
    let labels: Vec<String> = (0..10)
        .map(|i| format!("{}–{}%", i * 10, i * 10 + 10))
        .collect();
    let mut v = vec![0.0; 10];
    for a in t.agreement.iter().flatten() {
        v[((a * 10.0) as usize).min(9)] += 1.0;
    }
    bars(
        "Datapoints by agreement (share of the most common answer)",
        &labels,
        &v,
    )
}

/// A local file inside `root`, embedded as a `data:` URI when it is a raster image.
fn embed(root: &Path, asset: &str) -> Option<String> {
    let mime = match Path::new(asset)
        .extension()?
        .to_str()?
        .to_ascii_lowercase()
        .as_str()
    {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        _ => return None,
    };
    let root = std::fs::canonicalize(root).ok()?;
    let path = std::fs::canonicalize(root.join(asset)).ok()?;
    if !path.starts_with(&root) || std::fs::metadata(&path).ok()?.len() > MAX_IMAGE_BYTES {
        return None;
    }
    let bytes = std::fs::read(&path).ok()?;
    Some(format!(
        "data:{mime};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

/// The answer of a row, in a few words.
fn answer(t: &Table, r: &serde_json::Map<String, Value>) -> String {
    let s = |c: &str| match r.get(c) {
        None | Some(Value::Null) => "—".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    };
    match t.task {
        TaskType::Classify => {
            let votes: Vec<String> = t
                .columns
                .iter()
                .filter_map(|c| Some(format!("{} {}", c.strip_prefix("votes_")?, s(c))))
                .collect();
            format!("{} ({})", s("label"), votes.join(", "))
        }
        TaskType::Compare => format!("{} ({})", s("winner"), s("winnerShare")),
        TaskType::Ranking => format!("rank {} (score {})", s("rank"), s("score")),
        TaskType::FreeText => s("texts"),
        TaskType::Locate => s("points"),
        TaskType::Draw => s("lines"),
        TaskType::SelectWords => s("selectedWords"),
        TaskType::Timestamp => s("times"),
        TaskType::Other => s("answers"),
    }
}

fn section(out: &mut String, root: &Path, kind: &str, name: &str, e: &Entry, t: &Table) {
    let with = t
        .rows
        .iter()
        .filter(|r| r["responses"].as_u64().unwrap_or(0) > 0)
        .count();
    let responses: u64 = t.rows.iter().filter_map(|r| r["responses"].as_u64()).sum();
    let _ = write!(
        out,
        "<section class=\"job\" data-name=\"{}\" data-type=\"{}\">\n<h2>{kind} {}</h2>\n",
        esc(name),
        type_name(t.task),
        esc(name)
    );
    let mut about = vec![format!("job {}", esc(&e.id))];
    if let Some(r) = e.revision {
        about.push(format!("revision {r}"));
    }
    if let Some(a) = &e.audience {
        about.push(format!("audience {}", esc(a)));
    }
    if let Some(c) = &e.completed_at {
        about.push(format!("completed {}", esc(c)));
    }
    let _ = writeln!(
        out,
        "<p class=\"completion\" data-with-responses=\"{with}\" data-datapoints=\"{}\">{}: {with} of {} datapoints have responses ({responses} responses); {}</p>",
        t.rows.len(),
        esc(&e.state),
        t.rows.len(),
        about.join(", ")
    );
    let _ = writeln!(
        out,
        "<div class=\"charts\"><figure class=\"distribution\">{}</figure><figure class=\"agreement\">{}</figure></div>",
        distribution(t),
        if t.agreement.iter().any(Option::is_some) {
            agreement_chart(t)
        } else {
            "<p>No agreement measure for this task type: its answers (ranks, points, lines, times) are not alike by equality.</p>".to_string()
        }
    );
    // The least agreement first; without a measure, in manifest order.
    let mut order: Vec<usize> = (0..t.rows.len()).collect();
    order.sort_by(|&a, &b| {
        let k = |i: usize| t.agreement[i].unwrap_or(f64::INFINITY);
        k(a).total_cmp(&k(b))
    });
    out.push_str("<table class=\"datapoints\">\n<tr><th>agreement</th><th>key</th><th>datapoint</th><th>answer</th><th>responses</th><th>source</th></tr>\n");
    let mut images = 0;
    for i in order {
        let r = &t.rows[i];
        let key = r["key"].as_str().unwrap_or("");
        let agreement = t.agreement[i]
            .map(|a| format!("{:.0}%", a * 100.0))
            .unwrap_or_else(|| "—".into());
        let mut cell = String::new();
        for c in ["asset", "assetB"] {
            let Some(asset) = r.get(c).and_then(Value::as_str) else {
                continue;
            };
            match (images < MAX_IMAGES).then(|| embed(root, asset)).flatten() {
                Some(uri) => {
                    images += 1;
                    let _ = write!(
                        cell,
                        "<img src=\"{uri}\" alt=\"{}\" title=\"{}\">",
                        esc(asset),
                        esc(asset)
                    );
                }
                None => {
                    let _ = write!(
                        cell,
                        "<div class=\"text\">{}</div>",
                        esc(&short(asset, 300))
                    );
                }
            }
        }
        let _ = writeln!(
            out,
            "<tr data-key=\"{}\" data-agreement=\"{}\"><td>{agreement}</td><td>{}</td><td>{cell}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(key),
            t.agreement[i].map(|a| a.to_string()).unwrap_or_default(),
            esc(key),
            esc(&short(&answer(t, r), 400)),
            r["responses"],
            esc(r["source"].as_str().unwrap_or(""))
        );
    }
    out.push_str("</table>\n</section>\n");
}

/// The page for a pull report.
pub fn render(report: &PullReport, root: &Path) -> String {
    let mut out = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>rapidata results</title>\n<style>\nbody{font-family:sans-serif;margin:2em;color:#222}\nsection.job{border-top:1px solid #ccc;margin-top:2em}\n.charts{display:flex;flex-wrap:wrap;gap:1em}\nfigure{margin:0}\ntable{border-collapse:collapse}\ntd,th{border:1px solid #ddd;padding:4px;vertical-align:top;text-align:left}\nimg{max-width:160px;max-height:160px;margin:2px}\n.text{max-width:320px;white-space:pre-wrap}\n</style>\n</head>\n<body>\n<h1>rapidata results</h1>\n",
    );
    for i in &report.items {
        match (&i.latest, &i.pulled) {
            (Some((e, t)), _) => section(&mut out, root, &i.kind.to_string(), &i.name, e, t),
            (None, p) => {
                let state = match p {
                    Pulled::NotCompleted { state, .. } => format!("{state}: no results yet"),
                    Pulled::NotCreated => "not created yet".into(),
                    Pulled::Failed { message } => format!("failed: {message}"),
                    _ => "no results".into(),
                };
                let _ = writeln!(
                    out,
                    "<section class=\"job pending\" data-name=\"{}\">\n<h2>{} {}</h2>\n<p class=\"completion\">{}</p>\n</section>",
                    esc(&i.name),
                    i.kind,
                    esc(&i.name),
                    esc(&state)
                );
            }
        }
    }
    out.push_str("</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::rows::{table, Producer};
    use serde_json::json;

    #[test]
    fn text_from_the_results_is_escaped_everywhere() {
        let doc = json!({"info": {"type": "Classification"}, "results": [
            {"identifier": "<img src=x onerror=alert(1)>",
             "aggregatedResults": {"<script>alert(1)</script>": 2, "b": 1},
             "detailedResults": [{}, {}, {}]},
        ]});
        let joined = crate::results::join::rows(&doc, &[], &[], Path::new("/nonexistent"));
        let t = table(
            &doc,
            &joined,
            &[],
            Path::new("/nonexistent"),
            &Producer::default(),
        );
        let mut page = String::new();
        section(
            &mut page,
            Path::new("/nonexistent"),
            "Job",
            "x\"><script>",
            &blank(),
            &t,
        );
        assert!(!page.contains("<script"), "{page}");
        assert!(!page.contains("<img src=x"), "{page}");
        assert!(page.contains("&lt;script&gt;"), "{page}");
    }

    fn blank() -> Entry {
        super::super::blank_entry("id".into(), "Completed".into(), None)
    }
}
