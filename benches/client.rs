//! Client throughput against the local emulator: N datapoint creates at a given
//! concurrency, then one paged listing. Prints numbers; asserts nothing.
//!
//! cargo bench --bench client -- [datapoints=2000] [concurrency=16] [token_ttl_secs=3600]
//!
//! With a token lifetime, the emulator's token endpoint also answers in 20 ms (a real one
//! is not instant), so fetching a token per request shows in the create time.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rapidata::emulator::{self, EmulatorConfig, FaultPlan, RouteFault};
use rapidata::manifest::model::{Asset, Datapoint, Origin, Task};
use rapidata::remote::wire_build as wb;
use rapidata::remote::{Client, ClientConfig, Credentials, Endpoints, Secret};

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(2000);
    let concurrency = args.get(1).copied().unwrap_or(16);
    let token_ttl = args.get(2).map(|&s| s as u64);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run(n, concurrency, token_ttl));
}

async fn run(n: usize, concurrency: usize, token_ttl: Option<u64>) {
    let dir = std::env::temp_dir().join(format!("rapidata-client-bench-{}", std::process::id()));
    let emu = emulator::start(EmulatorConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: dir.clone(),
        token_ttl: Duration::from_secs(token_ttl.unwrap_or(3600)),
        faults: FaultPlan {
            routes: token_ttl
                .map(|_| RouteFault {
                    route: "POST /connect/token".into(),
                    latency_ms: 20,
                    ..Default::default()
                })
                .into_iter()
                .collect(),
            ..Default::default()
        },
        ..EmulatorConfig::default()
    })
    .await
    .expect("emulator");
    let mut cfg = ClientConfig::new(
        Endpoints::single(&emu.base_url()),
        Credentials::ClientSecret {
            client_id: emulator::DEFAULT_CLIENT_ID.into(),
            client_secret: Secret::new(emulator::DEFAULT_CLIENT_SECRET),
        },
    );
    cfg.max_concurrency = concurrency;
    cfg.request_timeout = Duration::from_secs(30);
    let client = Client::new(cfg).expect("client");
    let task = Task::Classify {
        instruction: "Cat?".into(),
        answer_options: vec!["yes".into(), "no".into()],
    };
    let ds = client
        .create_dataset(&wb::dataset_body("bench", &task))
        .await
        .expect("dataset");
    let bodies: Vec<_> = (0..n)
        .map(|i| {
            let dp = Datapoint {
                key: format!("k{i}"),
                explicit_key: true,
                fingerprint: format!("fp{i}"),
                origin: Origin {
                    file: std::path::Path::new("bench.yaml").into(),
                    line: i + 1,
                    column: 1,
                },
                assets: vec![Asset::Text(format!("text {i}"))],
                context: None,
                context_asset: None,
                private_metadata: Default::default(),
                group: None,
                sentence: None,
            };
            wb::datapoint_body(&task, &dp, &|_| None).expect("body")
        })
        .collect();
    let start = Instant::now();
    let creates = bodies.iter().map(|b| client.create_datapoint(&ds, b));
    let results = futures::future::join_all(creates).await;
    let create_time = start.elapsed();
    let failed = results.iter().filter(|r| r.is_err()).count();
    let start = Instant::now();
    let listed = client.list_datapoints(&ds).await.expect("list");
    let list_time = start.elapsed();
    let stats = client.stats();
    println!(
        "datapoints={n} concurrency={concurrency} token_ttl={}",
        token_ttl.map_or("3600 s (token endpoint instant)".into(), |t| format!(
            "{t} s (token endpoint 20 ms)"
        ))
    );
    println!(
        "create: {:.2?} total, {:.0} datapoints/s, {failed} failed",
        create_time,
        n as f64 / create_time.as_secs_f64()
    );
    println!(
        "list: {} datapoints in {:.2?} ({} pages)",
        listed.len(),
        list_time,
        stats
            .by_route
            .get("GET /dataset/{datasetId}/datapoints")
            .copied()
            .unwrap_or(0)
    );
    println!(
        "requests={} retries={} token_fetches={}",
        stats.requests, stats.retries, stats.token_fetches
    );
    emu.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}
