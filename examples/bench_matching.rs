//! Benchmarks the matching engine and the `placemat match` command.
//!
//!     cargo run --release --example bench_matching -- [--sizes 6000x300,45000x5000,1000000x50000] [--repeat N]
//!
//! For each size it generates an instance (seed 2027, 8 preferences, 0.9 seats per
//! student), times the engine alone `N` times, writes the instance to a temporary JSON file
//! and times the whole command on it (read, parse, index, match, explain, write). The
//! alliance sample of `tests/fixtures/matching` is measured the same way. Each measurement
//! runs in a child process of its own so that its peak memory (VmHWM) is its own.

use std::env;
use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use placemat::matching::{generate, run, run_command, Instance, Market};

const DEFAULT_SIZES: &str = "6000x300,45000x5000,1000000x50000";
const DEFAULT_REPEAT: usize = 5;
const SEED: u64 = 2027;
const PREFERENCES: usize = 8;
const SEAT_RATIO: f64 = 0.9;
const ALLIANCE_SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/matching/alliance-6000x300.json"
);

type BenchResult<T> = Result<T, Box<dyn Error>>;

fn main() -> BenchResult<()> {
    let arguments: Vec<String> = env::args().skip(1).collect();
    match arguments.first().map(String::as_str) {
        Some("--engine-of-generated") => engine_of_generated(&arguments[1..]),
        Some("--engine-of-file") => engine_of_file(&arguments[1..]),
        Some("--command") => command(&arguments[1..]),
        _ => benchmark(&arguments),
    }
}

/// The parent process: runs one child per measurement and prints the table.
fn benchmark(arguments: &[String]) -> BenchResult<()> {
    let mut sizes = DEFAULT_SIZES.to_owned();
    let mut repeat = DEFAULT_REPEAT;
    let mut remaining = arguments.iter();
    while let Some(argument) = remaining.next() {
        let value = remaining
            .next()
            .ok_or_else(|| format!("{argument} needs a value"))?;
        match argument.as_str() {
            "--sizes" => sizes = value.clone(),
            "--repeat" => {
                repeat = value
                    .parse()
                    .map_err(|_| format!("--repeat {value}: not a count"))?
            }
            other => {
                return Err(format!(
                    "unknown argument {other}; usage: [--sizes SxB,...] [--repeat N]"
                )
                .into())
            }
        }
    }
    if repeat == 0 {
        return Err("--repeat must be at least 1".into());
    }
    let repeat_text = repeat.to_string();
    println!(
        "{:<22} {:>11} {:>11} {:>11} {:>12} {:>12} {:>11}   command stages (median run), ms",
        "instance",
        "listings",
        "engine med",
        "engine min",
        "command med",
        "command min",
        "cmd peak"
    );
    for size in sizes.split(',').filter(|size| !size.is_empty()) {
        let (students, bases) = parse_size(size)?;
        let instance_path = scratch_path(&format!("{students}x{bases}.json"));
        let engine = child(&[
            "--engine-of-generated",
            &students.to_string(),
            &bases.to_string(),
            &repeat_text,
            path_text(&instance_path)?,
        ])?;
        let command = child(&["--command", path_text(&instance_path)?, &repeat_text]);
        let _ = fs::remove_file(&instance_path);
        print_row(&format!("generated {size}"), &engine, &command?);
    }
    let engine = child(&["--engine-of-file", ALLIANCE_SAMPLE, &repeat_text])?;
    let command = child(&["--command", ALLIANCE_SAMPLE, &repeat_text])?;
    print_row("alliance-6000x300", &engine, &command);
    println!("engine: run() alone, market built beforehand; command: run_command() from file to file; peak: VmHWM of that child process");
    Ok(())
}

fn parse_size(size: &str) -> BenchResult<(usize, usize)> {
    let (students, bases) = size
        .split_once('x')
        .ok_or_else(|| format!("size {size}: expected STUDENTSxBASES"))?;
    Ok((students.parse()?, bases.parse()?))
}

fn scratch_path(name: &str) -> PathBuf {
    env::temp_dir().join(format!("placemat-bench-{}-{name}", std::process::id()))
}

fn path_text(path: &Path) -> BenchResult<&str> {
    path.to_str()
        .ok_or_else(|| format!("{} is not UTF-8", path.display()).into())
}

/// A child's measurements: the `key=value` pairs of its last output line.
struct Measurements(Vec<(String, String)>);

impl Measurements {
    fn get(&self, key: &str) -> &str {
        self.0
            .iter()
            .find(|(name, _)| name == key)
            .map_or("?", |(_, value)| value.as_str())
    }
}

fn child(arguments: &[&str]) -> BenchResult<Measurements> {
    let output = Command::new(env::current_exe()?).args(arguments).output()?;
    if !output.status.success() {
        return Err(format!(
            "child {arguments:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    let text = String::from_utf8(output.stdout)?;
    let line = text.lines().last().unwrap_or_default();
    Ok(Measurements(
        line.split_whitespace()
            .filter_map(|pair| pair.split_once('='))
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .collect(),
    ))
}

fn print_row(name: &str, engine: &Measurements, command: &Measurements) {
    println!(
        "{:<22} {:>11} {:>8} ms {:>8} ms {:>9} ms {:>9} ms {:>7} MiB   read {} parse {} index {} match {} explain {} write {}",
        name,
        engine.get("listings"),
        engine.get("median_ms"),
        engine.get("min_ms"),
        command.get("median_ms"),
        command.get("min_ms"),
        command.get("peak_mib"),
        command.get("read"),
        command.get("parse"),
        command.get("index"),
        command.get("match"),
        command.get("explain"),
        command.get("write"),
    );
}

/// Child: generates an instance, times the engine on it and writes it for the command.
fn engine_of_generated(arguments: &[String]) -> BenchResult<()> {
    let [students, bases, repeat, instance_path] = arguments else {
        return Err("--engine-of-generated STUDENTS BASES REPEAT INSTANCE_PATH".into());
    };
    let instance = generate(
        students.parse()?,
        bases.parse()?,
        SEED,
        PREFERENCES,
        SEAT_RATIO,
    );
    let indexed = instance.index()?;
    let times = time_engine(&indexed.market, repeat.parse()?);
    serde_json::to_writer(
        std::io::BufWriter::new(fs::File::create(instance_path)?),
        &instance,
    )?;
    report_engine(&indexed.market, &times);
    Ok(())
}

/// Child: times the engine on an instance file.
fn engine_of_file(arguments: &[String]) -> BenchResult<()> {
    let [instance_path, repeat] = arguments else {
        return Err("--engine-of-file INSTANCE_PATH REPEAT".into());
    };
    let json = fs::read_to_string(instance_path)?;
    let instance = Instance::parse(&json)?;
    let indexed = instance.index()?;
    let times = time_engine(&indexed.market, repeat.parse()?);
    report_engine(&indexed.market, &times);
    Ok(())
}

fn time_engine(market: &Market, repeat: usize) -> Vec<Duration> {
    (0..repeat)
        .map(|_| {
            let started = Instant::now();
            let matching = run(market);
            let elapsed = started.elapsed();
            drop(matching);
            elapsed
        })
        .collect()
}

fn report_engine(market: &Market, times: &[Duration]) {
    let listings: usize = (0..market.student_count() as u32)
        .map(|student| market.preferences(student).len())
        .sum();
    let (median, min) = median_and_min(times);
    println!(
        "listings={listings} median_ms={median:.2} min_ms={min:.2} peak_mib={}",
        peak_mib()
    );
}

/// Child: times the whole command on an instance file, writing the result to a scratch file.
fn command(arguments: &[String]) -> BenchResult<()> {
    let [instance_path, repeat] = arguments else {
        return Err("--command INSTANCE_PATH REPEAT".into());
    };
    let output = scratch_path("result.json");
    let mut runs = Vec::new();
    for _ in 0..repeat.parse::<usize>()? {
        let started = Instant::now();
        let report = run_command(Path::new(instance_path), Some(&output))?;
        runs.push((started.elapsed(), report));
    }
    fs::remove_file(&output)?;
    let times: Vec<Duration> = runs.iter().map(|(elapsed, _)| *elapsed).collect();
    let (median, min) = median_and_min(&times);
    runs.sort_by_key(|(elapsed, _)| *elapsed);
    let (_, typical) = &runs[runs.len() / 2];
    let stages = typical.timings;
    println!(
        "median_ms={median:.1} min_ms={min:.1} peak_mib={} read={:.1} parse={:.1} index={:.1} match={:.1} explain={:.1} write={:.1}",
        peak_mib(),
        stages.read,
        stages.parse,
        stages.index,
        stages.matching,
        stages.explain,
        typical.write.as_secs_f64() * 1000.0,
    );
    Ok(())
}

fn median_and_min(times: &[Duration]) -> (f64, f64) {
    let mut milliseconds: Vec<f64> = times
        .iter()
        .map(|time| time.as_secs_f64() * 1000.0)
        .collect();
    milliseconds.sort_by(f64::total_cmp);
    let median = milliseconds
        .get(milliseconds.len() / 2)
        .copied()
        .unwrap_or(f64::NAN);
    let min = milliseconds.first().copied().unwrap_or(f64::NAN);
    (median, min)
}

/// Peak resident memory of this process in MiB, from Linux's /proc; "n/a" elsewhere.
fn peak_mib() -> String {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(format!("{:.0}", kib as f64 / 1024.0))
        })
        .unwrap_or_else(|| "n/a".to_owned())
}
