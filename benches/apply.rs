//! Apply of N distinct small-image datapoints against an emulator that adds latency to
//! every request (20 ms by default), compared with the official Python SDK on the same
//! images. Both clients run as separate processes, measured with `wait4`, against an
//! emulator that is a third process (this benchmark binary re-executed in "emulator
//! mode"), so client CPU is the client's alone and request counts come from the server.
//!
//! Targets: at equal concurrency (25, the SDK's default worker count) no slower than the
//! SDK; at our default parallelism at least 2x faster; at most 1/20 of the SDK's client CPU
//! per datapoint.
//!
//! `cargo bench --bench apply`. Parameters (environment):
//! - `BENCH_N` (10000): datapoints of the main comparison;
//! - `BENCH_PARALLELISM` (`25,<DEFAULT_PARALLELISM>`): our runs on the main case;
//! - `BENCH_SWEEP_N` (2000), `BENCH_SWEEP` (`8,16,32,64,128`; empty skips the sweep);
//! - `BENCH_LATENCY_MS` (20);
//! - `BENCH_SDK_PYTHON`: a python with `rapidata==3.27.1` installed; unset skips the SDK;
//! - `BENCH_SDK_WORKERS` (25).
//!
//! Issue #24: each of our runs is also compared with its latency floor (two requests per
//! datapoint, `parallelism` at a time, `BENCH_LATENCY_MS` each); target at most 1.15x at
//! the default parallelism on 5,000 images (`BENCH_N=5000`), and at most 0.15 ms of client
//! CPU per datapoint.

mod common;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use common::{env_list, env_usize, load_avg, mb, png, secs, verdict, ChildUsage, Measured};
use rapidata::apply::DEFAULT_PARALLELISM;
use rapidata::emulator::{self, EmulatorConfig, FaultPlan};

/// Set in the re-executed child: serve an emulator on this data dir.
const CHILD_DIR: &str = "RAPIDATA_BENCH_EMULATOR_DIR";
const CHILD_LATENCY: &str = "RAPIDATA_BENCH_EMULATOR_LATENCY_MS";
/// The client's list page size (`remote::client::PAGE_SIZE`), for the minimum request count.
const PAGE_SIZE: usize = 100;

fn main() {
    if let Ok(dir) = std::env::var(CHILD_DIR) {
        serve_emulator(PathBuf::from(dir));
        return;
    }
    let n = env_usize("BENCH_N", 10_000);
    let sweep_n = env_usize("BENCH_SWEEP_N", 2_000);
    let latency = env_usize("BENCH_LATENCY_MS", 20) as u64;
    let ours = env_list("BENCH_PARALLELISM", &[25, DEFAULT_PARALLELISM]);
    let sweep = env_list("BENCH_SWEEP", &[8, 16, 32, 64, 128]);
    let sdk_workers = env_usize("BENCH_SDK_WORKERS", 25);
    let sdk_python = std::env::var("BENCH_SDK_PYTHON")
        .ok()
        .filter(|s| !s.is_empty());
    println!(
        "apply benchmark: {n} distinct PNG datapoints, emulator latency {latency} ms per request"
    );
    println!("load at start: {}", load_avg());

    let tmp = tempfile::tempdir().unwrap();
    let main_root = write_project(tmp.path(), "main", n);
    let mut rows: Vec<Row> = Vec::new();
    for &p in &ours {
        rows.push(run_ours(
            tmp.path(),
            &main_root,
            n,
            p,
            latency,
            &format!("rapidata p={p}"),
        ));
    }
    let sdk = match &sdk_python {
        Some(py) => Some(run_sdk(
            tmp.path(),
            py,
            &main_root.join("images"),
            n,
            sdk_workers,
            latency,
        )),
        None => {
            println!(
                "(SDK run skipped: set BENCH_SDK_PYTHON to a python that has rapidata==3.27.1)"
            );
            None
        }
    };
    if let Some(s) = &sdk {
        rows.push(s.clone());
    }
    println!(
        "\nmain comparison, N = {n} (minimum requests {}; see below):",
        minimum_requests(n)
    );
    print_table(&rows, n);
    // Issue #24: the latency floor of an apply is its two requests per image datapoint
    // (file upload, then create), `parallelism` at a time, each taking the added latency.
    println!("\nvs the latency floor (2 requests per datapoint / parallelism x {latency} ms):");
    for (&p, r) in ours.iter().zip(&rows) {
        let floor = 2.0 * n as f64 / p.max(1) as f64 * latency as f64 / 1000.0;
        println!(
            "  {:<18} wall {:.2} s, floor {floor:.2} s: {:.2}x (target at most 1.15x at p={DEFAULT_PARALLELISM}); CPU {:.3} ms per datapoint (target at most 0.15)",
            r.label,
            r.wall,
            r.wall / floor.max(f64::EPSILON),
            r.cpu_per_dp_ms(n)
        );
    }

    if !sweep.is_empty() {
        let sweep_root = write_project(tmp.path(), "sweep", sweep_n);
        let mut srows = Vec::new();
        for &p in &sweep {
            srows.push(run_ours(
                tmp.path(),
                &sweep_root,
                sweep_n,
                p,
                latency,
                &format!("sweep p={p}"),
            ));
        }
        println!(
            "\nparallelism sweep, N = {sweep_n} (minimum requests {}):",
            minimum_requests(sweep_n)
        );
        print_table(&srows, sweep_n);
    }

    println!("\nminimum requests = 1 token + 1 definition lookup (first plan) + 1 dataset + N file uploads");
    println!(
        "  + N datapoint creates + 1 definition + the verifying observation (1 lookup + 1 revision"
    );
    println!(
        "  + ceil(N/{PAGE_SIZE}) datapoint pages). The SDK does not verify, so its own minimum is"
    );
    println!("  N*2 + 3; it is held to the same count here only for comparison.");

    if let Some(s) = &sdk {
        let at = |p: usize| rows.iter().find(|r| r.label == format!("rapidata p={p}"));
        println!(
            "\ntargets (vs SDK with {sdk_workers} workers, {:.2} s, {:.2} ms CPU/datapoint):",
            s.wall,
            s.cpu_per_dp_ms(n)
        );
        if let Some(r) = at(25) {
            println!(
                "  p=25 no slower than the SDK: {:.2} s vs {:.2} s -> {}",
                r.wall,
                s.wall,
                verdict(r.ok && r.wall <= s.wall)
            );
        }
        if let Some(r) = at(DEFAULT_PARALLELISM) {
            let speedup = s.wall / r.wall;
            println!(
                "  default p={DEFAULT_PARALLELISM} at least 2x faster: {speedup:.2}x -> {}",
                verdict(r.ok && speedup >= 2.0)
            );
            let ratio = s.cpu_per_dp_ms(n) / r.cpu_per_dp_ms(n);
            println!(
                "  client CPU per datapoint at most 1/20 of the SDK's: {:.3} ms vs {:.2} ms (1/{ratio:.1}) -> {}",
                r.cpu_per_dp_ms(n),
                s.cpu_per_dp_ms(n),
                verdict(ratio >= 20.0)
            );
        }
    }
}

/// One measured client run.
#[derive(Debug, Clone)]
struct Row {
    label: String,
    ok: bool,
    /// Seconds.
    wall: f64,
    /// User + system CPU seconds of the client.
    cpu: f64,
    rss_mb: f64,
    /// Counted by the emulator.
    requests: u64,
    created: u64,
    note: String,
    load: String,
}

impl Row {
    fn cpu_per_dp_ms(&self, n: usize) -> f64 {
        self.cpu * 1000.0 / n.max(1) as f64
    }
}

fn minimum_requests(n: usize) -> usize {
    1 + 1 + 1 + 2 * n + 1 + 2 + n.div_ceil(PAGE_SIZE)
}

fn print_table(rows: &[Row], n: usize) {
    println!(
        "  {:<18} {:>8} {:>9} {:>11} {:>8} {:>9} {:>8}  load (1/5/15 min) / notes",
        "client", "wall s", "CPU s", "CPU ms/dp", "RSS MB", "requests", "created",
    );
    for r in rows {
        println!(
            "  {:<18} {:>8.2} {:>9.2} {:>11.3} {:>8.0} {:>9} {:>8}  [{}] {}{}",
            r.label,
            r.wall,
            r.cpu,
            r.cpu_per_dp_ms(n),
            r.rss_mb,
            r.requests,
            r.created,
            r.load,
            if r.ok { "" } else { "FAILED " },
            r.note
        );
    }
}

fn write_project(dir: &Path, name: &str, n: usize) -> PathBuf {
    let root = dir.join(name);
    let images = root.join("images");
    std::fs::create_dir_all(&images).unwrap();
    for i in 0..n {
        std::fs::write(images.join(format!("img{i:07}.png")), png(i as u32)).unwrap();
    }
    std::fs::write(
        root.join("rapidata.yaml"),
        format!(
            "apiVersion: rapidata.ai/v1\nkind: JobDefinition\nname: apply-bench-{name}\ntype: classify\n\
             instruction: \"What is in the image?\"\nanswerOptions: [a, b]\n\
             referee:\n  responsesPerDatapoint: 3\ndatapointSources:\n  - files: \"images/*.png\"\n"
        ),
    )
    .unwrap();
    // Warm the file-hash cache, so every run starts from the same state (a user's second
    // apply); the first, cold load of N tiny files is cheap anyway.
    if let Err(d) = rapidata::manifest::load(
        std::slice::from_ref(&root),
        &rapidata::manifest::LoadOptions::default(),
    ) {
        panic!("bench manifests invalid:\n{d}");
    }
    root
}

/// An emulator in a child process (this binary in emulator mode).
struct EmulatorProc {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    base: String,
}

impl EmulatorProc {
    fn start(data_dir: &Path, latency_ms: u64) -> EmulatorProc {
        let exe = std::env::current_exe().unwrap();
        let mut child = Command::new(exe)
            .env(CHILD_DIR, data_dir)
            .env(CHILD_LATENCY, latency_ms.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut base = String::new();
        stdout.read_line(&mut base).unwrap();
        let base = base.trim().to_string();
        assert!(
            base.starts_with("http://"),
            "emulator child did not start: {base:?}"
        );
        EmulatorProc {
            child,
            stdin,
            stdout,
            base,
        }
    }

    /// Requests the emulator served, per route.
    fn stats(&mut self) -> BTreeMap<String, u64> {
        writeln!(self.stdin, "stats").unwrap();
        self.stdin.flush().unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap()
    }

    fn stop(mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.stdin.flush();
        let _ = self.child.wait();
    }
}

/// Emulator mode: serve on a free loopback port, print its URL, answer `stats` on stdin
/// with a JSON line of request counts, stop on `quit` or end of input.
fn serve_emulator(data_dir: PathBuf) {
    let latency_ms = std::env::var(CHILD_LATENCY)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = EmulatorConfig {
        listen: ([127, 0, 0, 1], 0).into(),
        data_dir,
        faults: FaultPlan {
            latency_ms,
            ..FaultPlan::default()
        },
        ..EmulatorConfig::default()
    };
    let handle = rt.block_on(emulator::start(config)).unwrap();
    println!("{}", handle.base_url());
    std::io::stdout().flush().unwrap();
    for line in std::io::stdin().lock().lines() {
        match line.as_deref().map(str::trim) {
            Ok("stats") => {
                println!(
                    "{}",
                    serde_json::to_string(handle.stats().routes()).unwrap()
                );
                std::io::stdout().flush().unwrap();
            }
            _ => break,
        }
    }
    rt.block_on(handle.shutdown());
}

fn row(label: &str, u: &ChildUsage, stats: &BTreeMap<String, u64>, note: String) -> Row {
    Row {
        label: label.to_string(),
        ok: u.success,
        wall: secs(u.wall),
        cpu: secs(u.cpu()),
        rss_mb: mb(u.max_rss_kb),
        requests: stats.values().sum(),
        created: stats
            .get("POST /dataset/{datasetId}/datapoint")
            .copied()
            .unwrap_or(0),
        note,
        load: load_avg(),
    }
}

fn describe_routes(stats: &BTreeMap<String, u64>) -> String {
    stats
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn run_ours(
    tmp: &Path,
    root: &Path,
    n: usize,
    parallelism: usize,
    latency: u64,
    label: &str,
) -> Row {
    let slug = label.replace([' ', '='], "-");
    let mut emu = EmulatorProc::start(&tmp.join(format!("emu-{slug}")), latency);
    let err = tmp.join(format!("{slug}.stderr"));
    let report = tmp.join(format!("{slug}.report.json"));
    let mut m = Measured::new(env!("CARGO_BIN_EXE_rapidata"));
    m.cmd
        .arg("apply")
        .arg(root)
        .args([
            "--endpoint",
            &emu.base,
            "--auto-approve",
            "-q",
            "--color",
            "never",
        ])
        .args(["--parallelism", &parallelism.to_string()])
        .arg("--report")
        .arg(&report)
        .env("RAPIDATA_CLIENT_ID", emulator::DEFAULT_CLIENT_ID)
        .env("RAPIDATA_CLIENT_SECRET", emulator::DEFAULT_CLIENT_SECRET)
        .stdout(Stdio::null())
        .stderr(File::create(&err).unwrap());
    let u = m.run().unwrap();
    let stats = emu.stats();
    emu.stop();
    let rounds = std::fs::read(&report)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v.get("rounds").and_then(|r| r.as_u64()))
        .unwrap_or(0);
    let mut note = format!("rounds {rounds}");
    if !u.success {
        note.push_str(&format!(
            " | stderr: {}",
            std::fs::read_to_string(&err).unwrap_or_default().trim()
        ));
    }
    let r = row(label, &u, &stats, note);
    println!(
        "{label}: N={n} wall {:.2} s, CPU {:.2} s, {} requests ({}) [load {}]",
        r.wall,
        r.cpu,
        r.requests,
        describe_routes(&stats),
        r.load
    );
    r
}

fn run_sdk(tmp: &Path, python: &str, images: &Path, n: usize, workers: usize, latency: u64) -> Row {
    let label = format!("SDK workers={workers}");
    let mut emu = EmulatorProc::start(&tmp.join("emu-sdk"), latency);
    let out = tmp.join("sdk.stdout");
    let err = tmp.join("sdk.stderr");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/third_party/interop/sdk_bench.py"
    );
    let mut m = Measured::new(python);
    m.cmd
        .arg(script)
        .args([
            "--base-url",
            &emu.base,
            "--n",
            &n.to_string(),
            "--workers",
            &workers.to_string(),
        ])
        .arg("--images")
        .arg(images)
        .args([
            "--client-id",
            emulator::DEFAULT_CLIENT_ID,
            "--client-secret",
            emulator::DEFAULT_CLIENT_SECRET,
        ])
        .stdout(File::create(&out).unwrap())
        .stderr(File::create(&err).unwrap());
    let u = m.run().unwrap();
    let stats = emu.stats();
    emu.stop();
    let printed = std::fs::read_to_string(&out).unwrap_or_default();
    let json: Option<serde_json::Value> = printed
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok());
    let mut r = row(&label, &u, &stats, String::new());
    match &json {
        Some(v) => {
            // The script times the SDK call alone (no interpreter start, imports or token).
            r.wall = v["wall_s"].as_f64().unwrap_or(r.wall);
            r.cpu = v["cpu_s"].as_f64().unwrap_or(r.cpu);
            r.ok = v["failed"].as_i64() == Some(0);
            r.note = format!(
                "call only; whole process: wall {:.2} s, CPU {:.2} s; SDK counted {} requests",
                secs(u.wall),
                secs(u.cpu()),
                v["requests"]
            );
        }
        None => {
            r.ok = false;
            r.note = format!(
                "no result line; stderr: {}",
                std::fs::read_to_string(&err).unwrap_or_default()
            );
        }
    }
    println!(
        "{label}: N={n} wall {:.2} s, CPU {:.2} s, {} requests ({}) [load {}]",
        r.wall,
        r.cpu,
        r.requests,
        describe_routes(&stats),
        r.load
    );
    r
}
