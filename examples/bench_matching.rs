//! Benchmarks the matching engine and the `placemat match` command.
//!
//!     cargo run --release --example bench_matching -- [--sizes 6000x300,45000x5000,1000000x50000] [--repeat N]
//!
//! For each size it generates an instance (seed 2027, 8 preferences, 0.9 seats per
//! student) and writes it to a temporary JSON file, with the bare market beside it as
//! numbers. It then times the engine alone `N` times on that market, and the whole command
//! `N` times on the JSON file (read, parse, index, match, explain, write). The alliance
//! sample of `tests/fixtures/matching` is measured the same way. Each measurement runs in a
//! child process of its own, so its peak memory (VmHWM) is its own: the engine's is that of
//! building the market with `MarketBuilder` and running it, without any string ids.

use std::env;
use std::error::Error;
use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Read, Write};
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
        Some("--generate") => generate_files(&arguments[1..]),
        Some("--dump-market") => dump_market_of_file(&arguments[1..]),
        Some("--engine") => engine(&arguments[1..]),
        Some("--command") => command(&arguments[1..]),
        _ => benchmark(&arguments),
    }
}

/// The parent process: runs the children and prints the table.
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
    let repeat = repeat.to_string();
    println!(
        "{:<26} {:>9} | {:>10} {:>10} {:>9} | {:>11} {:>11} {:>9} | command stages, ms (median run)",
        "instance", "listings", "engine med", "engine min", "peak", "command med", "command min", "peak"
    );
    let market_path = scratch_path("market.bin");
    for size in sizes.split(',').filter(|size| !size.is_empty()) {
        let (students, bases) = parse_size(size)?;
        let instance_path = scratch_path(&format!("{students}x{bases}.json"));
        let measured = child(&[
            "--generate",
            &students.to_string(),
            &bases.to_string(),
            path_text(&instance_path)?,
            path_text(&market_path)?,
        ])
        .and_then(|_| measure(&instance_path, &market_path, &repeat));
        let _ = fs::remove_file(&instance_path);
        let (engine, command) = measured?;
        print_row(&format!("generated {size}"), &engine, &command);
    }
    let sample = Path::new(ALLIANCE_SAMPLE);
    child(&["--dump-market", ALLIANCE_SAMPLE, path_text(&market_path)?])?;
    let (engine, command) = measure(sample, &market_path, &repeat)?;
    print_row("sample alliance-6000x300", &engine, &command);
    let _ = fs::remove_file(&market_path);
    println!(
        "engine: MarketBuilder::build then run(), timing run() only; \
         command: run_command() from file to file; peak: VmHWM of the measuring process"
    );
    Ok(())
}

fn measure(
    instance_path: &Path,
    market_path: &Path,
    repeat: &str,
) -> BenchResult<(Measurements, Measurements)> {
    let engine = child(&["--engine", path_text(market_path)?, repeat])?;
    let command = child(&["--command", path_text(instance_path)?, repeat])?;
    Ok((engine, command))
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
        "{:<26} {:>9} | {:>7} ms {:>7} ms {:>5} MiB | {:>8} ms {:>8} ms {:>5} MiB | \
         read {} parse {} index {} match {} explain {} write {}",
        name,
        engine.get("listings"),
        engine.get("median_ms"),
        engine.get("min_ms"),
        engine.get("peak_mib"),
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

/// Child: generates an instance and writes it as JSON and as a bare market.
fn generate_files(arguments: &[String]) -> BenchResult<()> {
    let [students, bases, instance_path, market_path] = arguments else {
        return Err("--generate STUDENTS BASES INSTANCE_PATH MARKET_PATH".into());
    };
    let instance = generate(
        students.parse()?,
        bases.parse()?,
        SEED,
        PREFERENCES,
        SEAT_RATIO,
    );
    let mut json = BufWriter::new(File::create(instance_path)?);
    serde_json::to_writer(&mut json, &instance)?;
    json.flush()?;
    dump_market(&instance.index()?.market, Path::new(market_path))
}

/// Child: writes the market of an instance file as bare numbers.
fn dump_market_of_file(arguments: &[String]) -> BenchResult<()> {
    let [instance_path, market_path] = arguments else {
        return Err("--dump-market INSTANCE_PATH MARKET_PATH".into());
    };
    let json = fs::read_to_string(instance_path)?;
    let market = Instance::parse(&json)?.index()?.market;
    dump_market(&market, Path::new(market_path))
}

/// Little-endian u32s: student and base counts, the seats, then each student's list and
/// each base's ranking, each preceded by its length.
fn dump_market(market: &Market, path: &Path) -> BenchResult<()> {
    let mut out = BufWriter::new(File::create(path)?);
    let mut put = |value: usize| -> BenchResult<()> {
        out.write_all(&u32::try_from(value)?.to_le_bytes())?;
        Ok(())
    };
    let students = market.student_count() as u32;
    let bases = market.base_count() as u32;
    put(students as usize)?;
    put(bases as usize)?;
    for &seats in market.capacities() {
        put(seats as usize)?;
    }
    let lists = (0..students)
        .map(|student| market.preferences(student))
        .chain((0..bases).map(|base| market.ranking(base)));
    for list in lists {
        put(list.len())?;
        for &index in list {
            put(index as usize)?;
        }
    }
    out.flush()?;
    Ok(())
}

fn load_market(path: &Path) -> BenchResult<Market> {
    let mut input = BufReader::new(File::open(path)?);
    let mut next = || -> BenchResult<u32> {
        let mut bytes = [0; 4];
        input.read_exact(&mut bytes)?;
        Ok(u32::from_le_bytes(bytes))
    };
    let students = next()?;
    let bases = next()?;
    let seats = (0..bases)
        .map(|_| next())
        .collect::<BenchResult<Vec<u32>>>()?;
    let mut builder = Market::builder(seats);
    let mut list = Vec::new();
    for position in 0..students + bases {
        list.clear();
        for _ in 0..next()? {
            list.push(next()?);
        }
        if position < students {
            builder.add_student(&list);
        } else {
            builder.set_ranking(position - students, &list);
        }
    }
    Ok(builder.build()?)
}

/// Child: builds the market from its bare numbers and times the engine on it.
fn engine(arguments: &[String]) -> BenchResult<()> {
    let [market_path, repeat] = arguments else {
        return Err("--engine MARKET_PATH REPEAT".into());
    };
    let market = load_market(Path::new(market_path))?;
    let times: Vec<Duration> = (0..repeat.parse::<usize>()?)
        .map(|_| {
            let started = Instant::now();
            let matching = run(&market);
            let elapsed = started.elapsed();
            drop(matching);
            elapsed
        })
        .collect();
    let listings: usize = (0..market.student_count() as u32)
        .map(|student| market.preferences(student).len())
        .sum();
    let (median, min) = median_and_min(&times);
    println!(
        "listings={listings} median_ms={median:.2} min_ms={min:.2} peak_mib={}",
        peak_mib()
    );
    Ok(())
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
    let (_, typical) = runs
        .get(runs.len() / 2)
        .ok_or("--command needs REPEAT of at least 1")?;
    let stages = typical.timings;
    println!(
        "median_ms={median:.1} min_ms={min:.1} peak_mib={} read={:.1} parse={:.1} index={:.1} \
         match={:.1} explain={:.1} write={:.1}",
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
