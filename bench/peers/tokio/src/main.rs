//! weft-peer-tokio: Tokio's own benchmarks (tokio/benches/*.rs), rewritten to
//! the command-line interface every weft benchmark binary shares.
//!
//! ```text
//! weft-peer-tokio --list
//! weft-peer-tokio --case NAME [--iters N] [--warmup N]
//! ```
//!
//! `--case` sets the runtime up (outside the timing), runs the warm-up
//! samples, then the timed samples, and prints one CSV line on stdout:
//!
//! ```text
//! impl,case,workers,median_ns,min_ns,p90_ns,iters,bytes_per_op,allocs_per_op,mean_ns,max_ns,p99_ns,unit
//! ```
//!
//! Timed cases: times are nanoseconds per iteration as Tokio's bench defines
//! one iteration. A sample runs `batch` iterations back to back (batch is 1
//! except for the sub-microsecond cases) and is divided by `batch`.
//! Value-mode cases (`Setup::Value`) measure each sample themselves and
//! return its value in `unit` (a latency in ns, bytes per task). The median
//! is the middle sample (mean of the two middle ones for an even count), p90
//! and p99 are nearest-rank percentiles, mean the arithmetic mean. Figures
//! of 100 and more print as integers, smaller ones with three decimals (as
//! bench/harness.h does). Without --iters / --warmup the case's defaults
//! apply, multiplied by WEFT_BENCH_SCALE when that is set. This peer does
//! not count allocations, so bytes_per_op and allocs_per_op are empty.
//! Diagnostics go to stderr; an unknown case exits with status 2, a failed
//! counter check with status 1.

mod cases;
mod extra;

use std::io::Write;
use std::time::Instant;

/// Runs `n` iterations of a case on state that `Case::setup` prepared.
pub type RunFn = Box<dyn FnMut(u64) -> Result<(), String>>;

/// Value mode: takes one sample and returns its value (in the case's unit).
pub type ValueFn = Box<dyn FnMut() -> Result<f64, String>>;

/// How a case is built: timed by the harness, or measuring itself.
pub enum Setup {
    Timed(fn(workers: usize) -> RunFn),
    Value(fn(workers: usize) -> ValueFn),
}

/// One benchmark case. The table lives in cases.rs; its numbers match the
/// table in bench/harness.h and bench/README.md.
pub struct Case {
    pub name: &'static str,
    /// Worker threads; 0 means the number of CPUs (Tokio's default).
    pub workers: usize,
    /// Timed samples when --iters is not given.
    pub iters: u64,
    /// Untimed samples first when --warmup is not given.
    pub warmup: u64,
    /// Iterations per sample.
    pub batch: u64,
    /// Builds the runtime and whatever the case keeps across iterations.
    pub setup: Setup,
    /// What the figures are: "ns/iter" for a timed case; "ns" (a latency) or
    /// "bytes" for a value-mode one.
    pub unit: &'static str,
}

const IMPL: &str = "tokio";

fn usage() -> ! {
    eprintln!("usage: weft-peer-tokio --list");
    eprintln!("       weft-peer-tokio --case NAME [--iters N] [--warmup N]");
    std::process::exit(2);
}

fn parse_count(flag: &str, value: Option<String>) -> u64 {
    match value.as_deref().map(str::parse::<u64>) {
        Some(Ok(n)) => n,
        _ => {
            eprintln!("weft-peer-tokio: {} needs a non-negative integer", flag);
            usage();
        }
    }
}

pub fn cpu_count() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// A default sample count multiplied by WEFT_BENCH_SCALE when that is set
/// (bench/run --quick sets 0.2), rounded up, never below `floor`.
/// The floor is 3, or the default itself when that is smaller.
fn scaled(count: u64, floor: u64) -> u64 {
    let scale = match std::env::var("WEFT_BENCH_SCALE") {
        Ok(v) => match v.parse::<f64>() {
            Ok(s) if s > 0.0 => s,
            _ => return count,
        },
        Err(_) => return count,
    };
    ((count as f64 * scale).ceil() as u64).max(floor)
}

/// The figures of one run, from sorted samples.
struct Summary {
    median: f64,
    min: f64,
    p90: f64,
    mean: f64,
    max: f64,
    p99: f64,
}

/// Nearest rank: the smallest sample with at least `pct`% of samples <= it.
fn percentile(sorted: &[f64], pct: usize) -> f64 {
    let n = sorted.len();
    let rank = ((n * pct + 99) / 100).max(1).min(n);
    sorted[rank - 1]
}

fn summarize(sorted: &[f64]) -> Summary {
    let n = sorted.len();
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    Summary {
        median,
        min: sorted[0],
        p90: percentile(sorted, 90),
        mean: sorted.iter().sum::<f64>() / n as f64,
        max: sorted[n - 1],
        p99: percentile(sorted, 99),
    }
}

/// One CSV figure: an integer from 100 up, three decimals below.
fn fig(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{:.0}", v)
    } else {
        format!("{:.3}", v)
    }
}

fn run_case(case: &Case, iters: u64, warmup: u64) -> Result<(), String> {
    let workers = if case.workers == 0 {
        cpu_count()
    } else {
        case.workers
    };
    let batch = match case.setup {
        Setup::Timed(_) => case.batch.max(1),
        Setup::Value(_) => 1,
    };
    eprintln!(
        "{}: {} workers={} warmup={} iters={} batch={}{}",
        IMPL,
        case.name,
        workers,
        warmup,
        iters,
        batch,
        if let Setup::Value(_) = case.setup { " (value mode)" } else { "" }
    );
    let mut samples = Vec::with_capacity(iters as usize);
    match case.setup {
        Setup::Timed(setup) => {
            let mut run = setup(workers);
            for _ in 0..warmup {
                run(batch)?;
            }
            for _ in 0..iters {
                let start = Instant::now();
                run(batch)?;
                let ns = start.elapsed().as_nanos() as f64;
                samples.push(ns / batch as f64);
            }
            // Keep the runtime and its tasks alive until the process exits:
            // dropping them would shut the runtime down while the result is
            // being printed.
            std::mem::forget(run);
        }
        Setup::Value(setup) => {
            let mut sample = setup(workers);
            for _ in 0..warmup {
                sample()?;
            }
            for _ in 0..iters {
                samples.push(sample()?);
            }
            std::mem::forget(sample);
        }
    }
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let s = summarize(&samples);
    let line = format!(
        "{},{},{},{},{},{},{},,,{},{},{},{}\n",
        IMPL,
        case.name,
        workers,
        fig(s.median),
        fig(s.min),
        fig(s.p90),
        iters,
        fig(s.mean),
        fig(s.max),
        fig(s.p99),
        case.unit
    );
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    out.write_all(line.as_bytes())
        .and_then(|_| out.flush())
        .map_err(|e| format!("writing the result: {}", e))
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut list = false;
    let mut name: Option<String> = None;
    let mut iters: Option<u64> = None;
    let mut warmup: Option<u64> = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--list" => list = true,
            "--case" => name = Some(args.next().unwrap_or_else(|| usage())),
            "--iters" => iters = Some(parse_count("--iters", args.next()).max(1)),
            "--warmup" => warmup = Some(parse_count("--warmup", args.next())),
            "-h" | "--help" => usage(),
            other => {
                eprintln!("weft-peer-tokio: unknown argument '{}'", other);
                usage();
            }
        }
    }
    let table = cases::all();
    if list {
        let mut out = String::new();
        for case in &table {
            out.push_str(case.name);
            out.push('\n');
        }
        print!("{}", out);
        return;
    }
    let name = name.unwrap_or_else(|| usage());
    let case = match table.iter().find(|c| c.name == name) {
        Some(case) => case,
        None => {
            eprintln!("weft-peer-tokio: unknown case '{}' (see --list)", name);
            std::process::exit(2);
        }
    };
    let iters = iters.unwrap_or_else(|| scaled(case.iters, case.iters.min(3)));
    let warmup = warmup.unwrap_or_else(|| scaled(case.warmup, case.warmup.min(1)));
    match run_case(case, iters, warmup) {
        // Exit without dropping runtimes: some cases leave tasks looping
        // forever (as Tokio's benches do), and shutdown is not what we time.
        Ok(()) => std::process::exit(0),
        Err(msg) => {
            eprintln!("weft-peer-tokio: {}: FAILED: {}", name, msg);
            std::process::exit(1);
        }
    }
}
