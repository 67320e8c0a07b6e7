//! Plan of one job definition whose 100,000 datapoints are already on the remote: the
//! everyday CI case ("did anything change?"). Targets on the reference 2-core machine:
//! under 2 s and under 200 MB.
//!
//! Set-up: a JSONL of N text datapoints, an in-process emulator (own runtime, loopback
//! port, state in a temp dir), converged once with `apply`. Measured: `make_plan`'s phases
//! (load manifests, observe, diff) in-process, then the CLI `rapidata plan --endpoint` as a
//! separate process (its own wall time, CPU time and peak RSS, without the emulator's).
//!
//! `cargo bench --bench plan`; `BENCH_N` (default 100000), `BENCH_ITERS` (default 3).

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{
    env_usize, load_avg, mb, proc_status_kb, secs, self_cpu, text_project, verdict, Measured,
};
use rapidata::apply::{self, ApplyOptions, Cancel, Silent};
use rapidata::emulator::{self, EmulatorConfig};
use rapidata::manifest::{self, Project};
use rapidata::plan::{self, make_plan, PlanOptions};
use rapidata::remote::{Client, ClientConfig, Credentials, Endpoints, RetryPolicy, Secret};

const TARGET_WALL: Duration = Duration::from_secs(2);
const TARGET_RSS_MB: f64 = 200.0;

fn load(root: &Path) -> Project {
    match manifest::load(&[root.to_path_buf()], &manifest::LoadOptions::default()) {
        Ok(p) => p,
        Err(d) => panic!("bench manifests invalid:\n{d}"),
    }
}

fn client(base: &str, id: &str, secret: &str, concurrency: usize) -> Client {
    Client::new(ClientConfig {
        endpoints: Endpoints::single(base),
        credentials: Credentials::ClientSecret {
            client_id: id.into(),
            client_secret: Secret::new(secret),
        },
        request_timeout: Duration::from_secs(60),
        max_concurrency: concurrency,
        retry: RetryPolicy::default(),
    })
    .unwrap()
}

fn main() {
    let n = env_usize("BENCH_N", 100_000);
    let iters = env_usize("BENCH_ITERS", 3).max(1);
    println!(
        "plan benchmark: 1 job definition, {n} text datapoints, converged; {iters} iterations"
    );
    println!("load before set-up: {}", load_avg());
    let tmp = tempfile::tempdir().unwrap();
    let root = text_project(tmp.path(), "plan-bench", n);

    // The emulator gets its own runtime (its own worker threads), like a server would.
    let emu_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let config = EmulatorConfig {
        listen: ([127, 0, 0, 1], 0).into(),
        data_dir: tmp.path().join("emulator"),
        ..EmulatorConfig::default()
    };
    let (id, secret) = (config.client_id.clone(), config.client_secret.clone());
    let emu = emu_rt.block_on(emulator::start(config)).unwrap();
    let base = emu.base_url();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();

    // Converge once (this also warms the manifest cache).
    let t = Instant::now();
    let project = load(&root);
    let c = client(&base, &id, &secret, apply::DEFAULT_PARALLELISM);
    let outcome = rt.block_on(async {
        let first = make_plan(
            &c,
            &project,
            &PlanOptions::default(),
            &base,
            &Default::default(),
        )
        .await
        .unwrap();
        let opts = ApplyOptions {
            round_backoff: Duration::from_millis(100),
            ..Default::default()
        };
        apply::apply(
            &c,
            &project,
            &PlanOptions::default(),
            &opts,
            first,
            &plan::RecordStore::in_memory("x"),
            &Silent,
            &Cancel::new(),
        )
        .await
        .unwrap()
    });
    assert!(
        outcome.converged(),
        "set-up apply did not converge: {:?}",
        outcome.report.failures_by_reason
    );
    println!(
        "set-up: apply of {n} datapoints (in-process, no added latency, parallelism {}) took {:.1} s, {} requests [load {}]",
        apply::DEFAULT_PARALLELISM,
        secs(t.elapsed()),
        outcome.report.requests,
        load_avg()
    );
    drop((project, outcome));

    // In-process: a fresh load each time (the cache is warm), then observe, then diff.
    let c = client(&base, &id, &secret, 32);
    let opts = PlanOptions::default();
    let mut totals = Vec::new();
    println!("\nin-process make_plan (client concurrency 32; the emulator shares this process):");
    for i in 1..=iters {
        emu.reset_stats();
        let cpu0 = self_cpu();
        let t0 = Instant::now();
        let project = load(&root);
        let t1 = Instant::now();
        let selection = opts.selection(&project);
        let selected =
            |r: &manifest::Resource| selection.contains(&(r.kind(), r.name().to_string()));
        let observed = rt
            .block_on(plan::observe(
                &c,
                &project,
                &selected,
                &Default::default(),
                None,
            ))
            .unwrap();
        let t2 = Instant::now();
        let p = plan::diff(&project, &observed, &opts, &base);
        let t3 = Instant::now();
        let cpu = self_cpu() - cpu0;
        assert!(
            !p.has_changes(),
            "the converged remote should plan no changes"
        );
        let dp = p.resources[0]
            .datapoints
            .as_ref()
            .map_or(0, |d| d.unchanged);
        assert_eq!(dp as usize, n, "every datapoint should be unchanged");
        totals.push(t3 - t0);
        println!(
            "  #{i}: load {:.3} s | observe {:.3} s ({} requests) | diff {:.3} s | total {:.3} s | CPU (client+emulator) {:.2} s | {dp} unchanged [load {}]",
            secs(t1 - t0),
            secs(t2 - t1),
            emu.stats().total(),
            secs(t3 - t2),
            secs(t3 - t0),
            secs(cpu),
            load_avg()
        );
    }
    let hwm = proc_status_kb("VmHWM").unwrap_or(0);
    println!(
        "  peak RSS of this process (VmHWM, includes the emulator and the set-up apply): {:.0} MB",
        mb(hwm)
    );

    // The CLI as its own process: what a user's CI job pays.
    println!("\nCLI `rapidata plan DIR --endpoint URL` (separate process; emulator in the bench process):");
    let exe = env!("CARGO_BIN_EXE_rapidata");
    let mut cli = Vec::new();
    for i in 1..=iters {
        let mut m = Measured::new(exe);
        m.cmd
            .arg("plan")
            .arg(&root)
            .args(["--endpoint", &base, "--color", "never"])
            .env("RAPIDATA_CLIENT_ID", &id)
            .env("RAPIDATA_CLIENT_SECRET", &secret)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        let u = m.run().unwrap();
        assert!(u.success, "rapidata plan failed: {:?}", u.code);
        println!(
            "  #{i}: wall {:.3} s | CPU user {:.2} s + sys {:.2} s | peak RSS {:.0} MB [load {}]",
            secs(u.wall),
            secs(u.user),
            secs(u.sys),
            mb(u.max_rss_kb),
            load_avg()
        );
        cli.push(u);
    }

    let best_in = totals.iter().min().copied().unwrap_or_default();
    let best_cli = cli.iter().map(|u| u.wall).min().unwrap_or_default();
    let max_rss = cli.iter().map(|u| u.max_rss_kb).max().unwrap_or(0);
    println!("\nsummary (N = {n}):");
    println!(
        "  best in-process plan: {:.3} s; best CLI plan: {:.3} s; CLI peak RSS: {:.0} MB",
        secs(best_in),
        secs(best_cli),
        mb(max_rss)
    );
    println!(
        "  target wall < {:.0} s (CLI, best of {iters}): {}",
        secs(TARGET_WALL),
        verdict(best_cli < TARGET_WALL)
    );
    println!(
        "  target peak RSS < {TARGET_RSS_MB:.0} MB (CLI): {}",
        verdict(mb(max_rss) < TARGET_RSS_MB)
    );
    rt.block_on(async { drop(c) });
    emu_rt.block_on(emu.shutdown());
}
