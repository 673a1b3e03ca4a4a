//! Benchmarks `placemat verify` against `placemat match` on the same instance.
//!
//!     cargo run --release --example bench_verify -- [--sizes 45000x5000,1000000x50000] [--repeat N]
//!
//! For each size it generates an instance (seed 2027, 8 preferences, 0.9 seats per
//! student), times the match command on it (file to file), turns it into a run bundle as
//! if every base's coordinator had ranked its applicants (`Bundle::offline`), and times
//! verifying that bundle from its file (read, parse, digests, checks, engine again).
//! Medians of `N` runs (default 3).

use std::env;
use std::error::Error;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use placemat::matching::{generate, run_command, verify_file, Bundle, Instance};

const DEFAULT_SIZES: &str = "45000x5000,1000000x50000";
const SEED: u64 = 2027;
const PREFERENCES: usize = 8;
const SEAT_RATIO: f64 = 0.9;

type BenchResult<T> = Result<T, Box<dyn Error>>;

fn main() -> BenchResult<()> {
    let mut sizes = DEFAULT_SIZES.to_owned();
    let mut repeat = 3usize;
    let arguments: Vec<String> = env::args().skip(1).collect();
    for pair in arguments.chunks(2) {
        match pair {
            [flag, value] if flag == "--sizes" => sizes = value.clone(),
            [flag, value] if flag == "--repeat" => repeat = value.parse()?,
            _ => return Err("usage: [--sizes SxB,...] [--repeat N]".into()),
        }
    }
    let repeat = repeat.max(1);
    println!(
        "{:<18} {:>12} {:>12} {:>7} {:>10}",
        "instance", "match med", "verify med", "ratio", "bundle MB"
    );
    for size in sizes.split(',').filter(|size| !size.is_empty()) {
        let (students, bases) = size
            .split_once('x')
            .ok_or_else(|| format!("size {size}: expected STUDENTSxBASES"))?;
        let instance = generate(
            students.parse()?,
            bases.parse()?,
            SEED,
            PREFERENCES,
            SEAT_RATIO,
        );
        let instance_path = scratch(&format!("{size}.json"));
        let result_path = scratch(&format!("{size}.result.json"));
        let bundle_path = scratch(&format!("{size}.bundle.json"));
        write_json(&instance_path, &instance)?;
        let text = fs::read_to_string(&instance_path)?;
        let parsed = Instance::parse(&text)?;
        write_json(&bundle_path, &Bundle::offline(&parsed, SEED)?)?;
        drop(parsed);
        drop(text);
        let matched = median(repeat, || {
            run_command(&instance_path, Some(&result_path)).map_err(|e| e.to_string())?;
            Ok(())
        })?;
        let verified = median(repeat, || verify_file(&bundle_path).map(|_| ()))?;
        let megabytes = fs::metadata(&bundle_path)?.len() as f64 / 1e6;
        for path in [&instance_path, &result_path, &bundle_path] {
            let _ = fs::remove_file(path);
        }
        println!(
            "{:<18} {:>9.0} ms {:>9.0} ms {:>6.2}x {:>10.1}",
            size,
            ms(matched),
            ms(verified),
            ms(verified) / ms(matched),
            megabytes
        );
    }
    Ok(())
}

fn scratch(name: &str) -> PathBuf {
    env::temp_dir().join(format!(
        "placemat-bench-verify-{}-{name}",
        std::process::id()
    ))
}

fn write_json(path: &PathBuf, value: &impl serde::Serialize) -> BenchResult<()> {
    let mut writer = BufWriter::with_capacity(1 << 20, File::create(path)?);
    serde_json::to_writer(&mut writer, value)?;
    writer.flush()?;
    Ok(())
}

fn median(repeat: usize, mut work: impl FnMut() -> Result<(), String>) -> BenchResult<Duration> {
    let mut times = Vec::with_capacity(repeat);
    for _ in 0..repeat {
        let started = Instant::now();
        work()?;
        times.push(started.elapsed());
    }
    times.sort();
    Ok(times[times.len() / 2])
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
