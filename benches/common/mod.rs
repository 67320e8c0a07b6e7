//! What both benchmarks need: parameters from the environment, machine load, peak memory,
//! a child process measured with `wait4` (its own wall time, CPU time and peak RSS, apart
//! from everything else on the machine), and tiny valid PNGs.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A numeric parameter from the environment, so a slow machine can run a smaller case.
pub fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

/// A list parameter such as `BENCH_SWEEP=8,16,32`.
pub fn env_list(name: &str, default: &[usize]) -> Vec<usize> {
    match std::env::var(name) {
        Ok(v) => v
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| {
                s.trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("{name}: {s:?} is not a number"))
            })
            .collect(),
        Err(_) => default.to_vec(),
    }
}

/// The 1/5/15-minute load averages: numbers from a shared 2-core machine mean little
/// without them.
pub fn load_avg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// A `/proc/self/status` field in kB (`VmHWM` = peak resident set, `VmRSS` = current).
pub fn proc_status_kb(field: &str) -> Option<u64> {
    status_kb("/proc/self/status", field)
}

fn status_kb(path: &str, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(path).ok()?;
    s.lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
}

pub fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

pub fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct Timeval {
    sec: i64,
    usec: i64,
}

/// `struct rusage` of Linux (x86_64 and aarch64 lay it out the same way).
#[repr(C)]
#[derive(Default, Clone, Copy)]
struct Rusage {
    utime: Timeval,
    stime: Timeval,
    maxrss: i64,
    rest: [i64; 13],
}

extern "C" {
    fn wait4(pid: i32, status: *mut i32, options: i32, usage: *mut Rusage) -> i32;
    fn getrusage(who: i32, usage: *mut Rusage) -> i32;
}

fn tv(t: Timeval) -> Duration {
    Duration::from_secs(t.sec.max(0) as u64) + Duration::from_micros(t.usec.max(0) as u64)
}

/// User + system CPU time of this process so far.
pub fn self_cpu() -> Duration {
    let mut u = Rusage::default();
    // SAFETY: `u` is a valid, writable `struct rusage`; RUSAGE_SELF = 0.
    let rc = unsafe { getrusage(0, &mut u) };
    assert_eq!(rc, 0, "getrusage failed");
    tv(u.utime) + tv(u.stime)
}

/// What one child process cost.
#[derive(Debug, Clone, Copy)]
pub struct ChildUsage {
    pub success: bool,
    pub code: Option<i32>,
    pub wall: Duration,
    pub user: Duration,
    pub sys: Duration,
    pub max_rss_kb: u64,
}

impl ChildUsage {
    pub fn cpu(&self) -> Duration {
        self.user + self.sys
    }
}

/// A command whose peak RSS can be measured. `ru_maxrss` of a child started straight from
/// this process is useless: Linux carries the parent's high-water mark over the fork+exec
/// (52 MB for a tiny CLI run from the plan benchmark). So the program runs under
/// `/usr/bin/time -f %M`, whose own small process is the one that forks it; without
/// `/usr/bin/time`, `/proc/PID/status` is polled for `VmHWM` (may miss the last moments).
pub struct Measured {
    pub cmd: Command,
    rss_file: Option<PathBuf>,
}

impl Measured {
    pub fn new(program: impl AsRef<OsStr>) -> Measured {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let time = Path::new("/usr/bin/time");
        if time.exists() {
            let file = std::env::temp_dir().join(format!(
                "rapidata-bench-rss-{}-{}",
                std::process::id(),
                SEQ.fetch_add(1, Ordering::Relaxed)
            ));
            let mut cmd = Command::new(time);
            cmd.arg("-f").arg("%M").arg("-o").arg(&file).arg(program);
            Measured {
                cmd,
                rss_file: Some(file),
            }
        } else {
            Measured {
                cmd: Command::new(program),
                rss_file: None,
            }
        }
    }

    /// Runs the command to completion and measures it alone: `wait4` returns the resource
    /// usage of exactly that child (and its waited-for descendants), so an emulator running
    /// as another child does not leak into it.
    pub fn run(mut self) -> io::Result<ChildUsage> {
        let started = Instant::now();
        let child = self.cmd.spawn()?;
        let pid = child.id() as i32;
        let done = Arc::new(AtomicBool::new(false));
        let poller = (self.rss_file.is_none()).then(|| {
            let done = done.clone();
            std::thread::spawn(move || {
                let mut peak = 0;
                while !done.load(Ordering::Relaxed) {
                    if let Some(kb) = status_kb(&format!("/proc/{pid}/status"), "VmHWM") {
                        peak = peak.max(kb);
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                peak
            })
        });
        let mut status: i32 = 0;
        let mut usage = Rusage::default();
        loop {
            // SAFETY: valid pointers to a local status word and `struct rusage`; `pid` is our
            // own child, which std has not reaped (we never call `wait` on `child`).
            let rc = unsafe { wait4(pid, &mut status, 0, &mut usage) };
            if rc == pid {
                break;
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
        let wall = started.elapsed();
        done.store(true, Ordering::Relaxed);
        drop(child);
        let max_rss_kb = match (&self.rss_file, poller) {
            (Some(f), _) => {
                let text = std::fs::read_to_string(f).unwrap_or_default();
                let _ = std::fs::remove_file(f);
                text.lines()
                    .rev()
                    .find_map(|l| l.trim().parse::<u64>().ok())
                    .unwrap_or(0)
            }
            (None, Some(p)) => p.join().unwrap_or(0),
            (None, None) => 0,
        };
        let exit = <ExitStatus as std::os::unix::process::ExitStatusExt>::from_raw(status);
        Ok(ChildUsage {
            success: exit.success(),
            code: exit.code(),
            wall,
            user: tv(usage.utime),
            sys: tv(usage.stime),
            max_rss_kb,
        })
    }
}

fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in data {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + x as u32) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
}

/// A valid 2×2 truecolour PNG whose colour encodes `i` (distinct for i < 2^24), like the
/// images `sdk_bench.py` makes, so both clients upload files of the same kind and size.
pub fn png(i: u32) -> Vec<u8> {
    let rgb = [(i >> 16) as u8, (i >> 8) as u8, i as u8];
    let row = [[0].as_slice(), &rgb, &rgb].concat(); // filter type 0, two pixels
    let raw = [row.as_slice(), &row].concat();
    // zlib stream with one stored (uncompressed) deflate block.
    let mut z = vec![0x78, 0x01, 0x01];
    z.extend_from_slice(&(raw.len() as u16).to_le_bytes());
    z.extend_from_slice(&(!(raw.len() as u16)).to_le_bytes());
    z.extend_from_slice(&raw);
    z.extend_from_slice(&adler32(&raw).to_be_bytes());
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&2u32.to_be_bytes());
    ihdr.extend_from_slice(&2u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &z);
    chunk(&mut out, b"IEND", &[]);
    out
}

/// `PASS`/`MISS` for a target line.
pub fn verdict(ok: bool) -> &'static str {
    if ok {
        "PASS"
    } else {
        "MISS"
    }
}

/// A project of one classification job definition named `name` whose `n` text datapoints
/// come from a JSONL source (the plan and scale benchmarks).
pub fn text_project(dir: &Path, name: &str, n: usize) -> PathBuf {
    let root = dir.join("project");
    std::fs::create_dir_all(&root).unwrap();
    let mut jsonl = String::with_capacity(n * 70);
    for i in 0..n {
        jsonl.push_str(&format!(
            "{{\"asset\": {{\"text\": \"Benchmark sentence number {i}: is it positive?\"}}}}\n"
        ));
    }
    std::fs::write(root.join("data.jsonl"), jsonl).unwrap();
    std::fs::write(
        root.join("rapidata.yaml"),
        format!(
            "apiVersion: rapidata.ai/v1\nkind: JobDefinition\nname: {name}\ntype: classify\n\
             instruction: \"Is this sentence positive?\"\nanswerOptions: [yes, no]\n\
             referee:\n  responsesPerDatapoint: 3\ndatapointSources:\n  - jsonl: data.jsonl\n"
        ),
    )
    .unwrap();
    root
}
