//! `cargo bench --bench validate`:
//! 1. documents per file: one manifest file of N documents (N = 5,000 .. 40,000, set with
//!    `DOCS=5000,10000,...`), each behind a comment and blank lines; prints wall and CPU
//!    time per N and per 1,000 documents. Linear means the per-1,000 time stays flat;
//!    the target is 40,000 documents under 2 s.
//! 2. load (= `rapidata validate`) a manifest with 100,000 JSONL datapoints over 10,000
//!    local image files, first without the hash cache (every file read and hashed), then
//!    with it (no file read), printing wall time and peak RSS. `DOCS_ONLY=1` skips it.
//!
//! Peak RSS is VmHWM from /proc/self/status, reset between phases through
//! /proc/self/clear_refs (Linux); elsewhere it prints "n/a".

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use common::{env_list, env_usize, secs, self_cpu, verdict};

use rapidata::manifest::{load_with_stats, LoadOptions};

const FILES: usize = 10_000;
const ROWS: usize = 100_000;

fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn generate(dir: &Path) {
    std::fs::create_dir_all(dir.join("img")).unwrap();
    for i in 0..FILES {
        // A PNG signature plus distinct bytes: recognised as png, unique hash.
        let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
        bytes.extend_from_slice(format!("tiny-image-{i:06}-").as_bytes());
        bytes.resize(300, (i % 251) as u8);
        std::fs::write(dir.join(format!("img/{i}.png")), bytes).unwrap();
    }
    let mut w = std::io::BufWriter::new(std::fs::File::create(dir.join("rows.jsonl")).unwrap());
    for i in 0..ROWS {
        writeln!(
            w,
            r#"{{"asset": "img/{}.png", "context": "row {i}", "privateMetadata": {{"batch": "{}"}}}}"#,
            i % FILES,
            i / 1000
        )
        .unwrap();
    }
    w.flush().unwrap();
    std::fs::write(
        dir.join("bench.yaml"),
        "apiVersion: rapidata.ai/v1\nkind: JobDefinition\nname: bench\ntype: freeText\ninstruction: Describe\ndatapointSources:\n  - jsonl: rows.jsonl\n",
    )
    .unwrap();
}

fn run(label: &str, dir: &Path, cache: &Path) {
    reset_peak();
    let opts = LoadOptions {
        cache_dir: Some(cache.to_path_buf()),
        ..LoadOptions::default()
    };
    let paths: Vec<PathBuf> = vec![dir.join("bench.yaml")];
    let t = Instant::now();
    let (res, stats) = load_with_stats(&paths, &opts);
    let elapsed = t.elapsed();
    let project = res.unwrap_or_else(|d| panic!("benchmark manifest invalid:\n{d}"));
    assert_eq!(stats.datapoints, ROWS);
    drop(project);
    let rss = peak_rss_kib().map_or("n/a".to_owned(), |k| {
        format!("{:.1} MiB", k as f64 / 1024.0)
    });
    println!(
        "{label:<24} {:>8.1} ms   peak RSS {rss:>10}   datapoints {}   files {} (cache hits {}, {} bytes read)",
        elapsed.as_secs_f64() * 1000.0,
        stats.datapoints,
        stats.hash.files,
        stats.hash.cache_hits,
        stats.hash.bytes_read
    );
}

/// One manifest file with `n` Audience documents; returns the load's wall and CPU time.
fn documents_per_file(n: usize) -> (f64, f64) {
    let tmp = tempfile::tempdir().unwrap();
    let mut text = String::with_capacity(n * 160);
    for i in 0..n {
        text.push_str(&format!(
            "# audience {i}\n\napiVersion: rapidata.ai/v1\nkind: Audience\nname: audience-{i}\nfilters:\n  - {{_t: CountryFilter, countries: [DE]}}\n\n---\n"
        ));
    }
    let file = tmp.path().join("many.yaml");
    std::fs::write(&file, text).unwrap();
    let opts = LoadOptions {
        no_cache: true,
        ..LoadOptions::default()
    };
    let cpu = self_cpu();
    let t = Instant::now();
    let (res, stats) = load_with_stats(&[file], &opts);
    let wall = secs(t.elapsed());
    let cpu = secs(self_cpu() - cpu);
    let project = res.unwrap_or_else(|d| panic!("benchmark manifest invalid:\n{d}"));
    assert_eq!(project.resources.len(), n);
    assert_eq!(stats.resources, n);
    (wall, cpu)
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to filter here.
    println!("documents per file (one manifest file, Audience documents):");
    let mut per_k = Vec::new();
    let mut at_40k = None;
    for n in env_list("DOCS", &[5_000, 10_000, 20_000, 40_000]) {
        let (wall, cpu) = documents_per_file(n);
        let k = n as f64 / 1000.0;
        per_k.push(cpu / k);
        if n == 40_000 {
            at_40k = Some(wall);
        }
        println!(
            "  {n:>6} documents   wall {wall:>6.2} s   cpu {cpu:>6.2} s   cpu per 1,000 documents {:>6.1} ms",
            cpu / k * 1000.0
        );
    }
    if let (Some(min), Some(max)) = (
        per_k.iter().cloned().reduce(f64::min),
        per_k.iter().cloned().reduce(f64::max),
    ) {
        println!(
            "  cpu per 1,000 documents varies {:.2}x from smallest to largest N (linear: about 1x; quadratic doubles with N)",
            max / min
        );
    }
    if let Some(wall) = at_40k {
        println!(
            "  40,000 documents in {wall:.2} s (target < 2 s): {}",
            verdict(wall < 2.0)
        );
    }
    if env_usize("DOCS_ONLY", 0) == 1 {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let t = Instant::now();
    generate(tmp.path());
    println!(
        "generated {ROWS} JSONL rows over {FILES} files in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let cache = tmp.path().join("cache");
    run("cold (no hash cache)", tmp.path(), &cache);
    run("warm (hash cache)", tmp.path(), &cache);
    run("warm again", tmp.path(), &cache);
}
