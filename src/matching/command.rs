//! `placemat match --input INSTANCE.json [--output OUT.json]`: matches an instance file
//! offline and writes the result.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;
use thiserror::Error;

use super::engine::run;
use super::explain::Explainer;
use super::instance::{AssignmentsById, InstanceError, UnmatchedReasonsById};
use super::reader::InstanceLists;
use super::statistics::Statistics;

/// What a command run did, for the operator (the CLI prints it to stderr).
#[derive(Debug, Clone, PartialEq)]
pub struct CommandReport {
    pub statistics: Statistics,
    pub timings: StageTimings,
    /// Time to write the result, which the result itself cannot contain.
    pub write: Duration,
}

/// Milliseconds spent in each stage before writing.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StageTimings {
    pub read: f64,
    pub parse: f64,
    pub index: f64,
    #[serde(rename = "match")]
    pub matching: f64,
    pub explain: f64,
}

impl CommandReport {
    pub fn total(&self) -> Duration {
        let stages = self.timings;
        Duration::from_secs_f64(
            (stages.read + stages.parse + stages.index + stages.matching + stages.explain) / 1000.0,
        ) + self.write
    }
}

impl fmt::Display for CommandReport {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let statistics = &self.statistics;
        let stages = self.timings;
        write!(
            formatter,
            "matched {} of {} students ({} unmatched); filled {} of {} seats at {} bases\n\
             read {:.1} ms, parse {:.1} ms, index {:.1} ms, match {:.1} ms, explain {:.1} ms, \
             write {:.1} ms, total {:.1} ms",
            statistics.matched,
            statistics.students,
            statistics.unmatched,
            statistics.seats_filled,
            statistics.seats,
            statistics.bases,
            stages.read,
            stages.parse,
            stages.index,
            stages.matching,
            stages.explain,
            milliseconds(self.write),
            milliseconds(self.total()),
        )
    }
}

#[derive(Debug, Error)]
pub enum CommandError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("{}: {source}", path.display())]
    Instance {
        path: PathBuf,
        source: InstanceError,
    },
    #[error("cannot write the result to {}: {source}", output_name(path.as_deref()))]
    Write {
        /// `None` for standard output.
        path: Option<PathBuf>,
        source: io::Error,
    },
}

fn output_name(path: Option<&Path>) -> String {
    path.map_or_else(
        || "standard output".to_owned(),
        |path| path.display().to_string(),
    )
}

/// The result file.
#[derive(Serialize)]
struct MatchResult<'r> {
    assignments: AssignmentsById<'r>,
    statistics: &'r Statistics,
    unmatched_reasons: UnmatchedReasonsById<'r>,
    timings_ms: StageTimings,
}

/// Reads the instance at `input`, matches it, and writes the result to `output` (standard
/// output when `None`). A result file appears only complete: it is written beside
/// `output` and renamed into place. It is not synced to disk: the result follows from the
/// instance alone, so after a power loss it is made again by running the command again,
/// and waiting for a national result to reach a busy disk would double the command's time.
pub fn run_command(input: &Path, output: Option<&Path>) -> Result<CommandReport, CommandError> {
    let mut clock = StageClock::start();
    let json = fs::read_to_string(input).map_err(|source| CommandError::Read {
        path: input.to_owned(),
        source,
    })?;
    let read = clock.lap();
    let instance_error = |source| CommandError::Instance {
        path: input.to_owned(),
        source,
    };
    let lists = InstanceLists::parse(&json).map_err(instance_error)?;
    drop(json);
    let parse = clock.lap();
    let indexed = lists.index().map_err(instance_error)?;
    let index = clock.lap();
    let matching = run(&indexed.market);
    let matching_time = clock.lap();
    let statistics = Statistics::new(&indexed.market, &matching);
    let explainer = Explainer::new(&indexed.market, &matching);
    let explain = clock.lap();

    let timings = StageTimings {
        read,
        parse,
        index,
        matching: matching_time,
        explain,
    };
    let result = MatchResult {
        assignments: indexed.assignments(&matching),
        statistics: &statistics,
        unmatched_reasons: indexed.unmatched_reasons(&matching, &explainer),
        timings_ms: timings,
    };
    let write_started = Instant::now();
    write_result(&result, output).map_err(|source| CommandError::Write {
        path: output.map(Path::to_owned),
        source,
    })?;
    Ok(CommandReport {
        statistics,
        timings,
        write: write_started.elapsed(),
    })
}

/// Large writes: a national result is some 160 MB.
const WRITE_BUFFER: usize = 1 << 20;

fn write_result(result: &MatchResult<'_>, output: Option<&Path>) -> io::Result<()> {
    let Some(path) = output else {
        let mut writer = BufWriter::with_capacity(WRITE_BUFFER, io::stdout().lock());
        serde_json::to_writer(&mut writer, result)?;
        writer.write_all(b"\n")?;
        return writer.flush();
    };
    let mut partial_name = path.file_name().unwrap_or(path.as_os_str()).to_owned();
    partial_name.push(".partial");
    let partial = path.with_file_name(partial_name);
    let written = File::create(&partial).and_then(|file| {
        let mut writer = BufWriter::with_capacity(WRITE_BUFFER, file);
        serde_json::to_writer(&mut writer, result)?;
        writer.write_all(b"\n")?;
        writer.flush()
    });
    match written {
        Ok(()) => fs::rename(&partial, path),
        Err(error) => {
            // The partial file is useless and the write error is the one to report.
            let _ = fs::remove_file(&partial);
            Err(error)
        }
    }
}

struct StageClock {
    last: Instant,
}

impl StageClock {
    fn start() -> Self {
        Self {
            last: Instant::now(),
        }
    }

    /// Milliseconds since the previous lap.
    fn lap(&mut self) -> f64 {
        let now = Instant::now();
        let elapsed = milliseconds(now - self.last);
        self.last = now;
        elapsed
    }
}

fn milliseconds(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    struct ScratchDir(PathBuf);

    impl ScratchDir {
        fn new(name: &str) -> Self {
            let path = std::env::temp_dir()
                .join(format!("placemat-command-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&path);
            fs::create_dir_all(&path).unwrap();
            Self(path)
        }

        fn file(&self, name: &str, contents: &str) -> PathBuf {
            let path = self.0.join(name);
            fs::write(&path, contents).unwrap();
            path
        }
    }

    impl Drop for ScratchDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    const INSTANCE: &str = r#"{"students": [
        {"id": "S2", "preferences": ["B1"]},
        {"id": "S1", "preferences": ["B1", "B2"]},
        {"id": "S0", "preferences": ["B1"]}],
      "bases": [{"id": "B1", "capacity": 1, "ranking": ["S2", "S1", "S0"]},
                {"id": "B2", "capacity": 0, "ranking": ["S1"]}]}"#;

    #[test]
    fn writes_assignments_in_input_order_with_statistics_reasons_and_timings() {
        let dir = ScratchDir::new("result");
        let input = dir.file("instance.json", INSTANCE);
        let output = dir.0.join("result.json");
        let report = run_command(&input, Some(&output)).unwrap();
        assert_eq!(report.statistics.matched, 1);
        assert_eq!(report.statistics.unmatched, 2);
        assert!(report
            .to_string()
            .starts_with("matched 1 of 3 students (2 unmatched)"));

        let text = fs::read_to_string(&output).unwrap();
        assert!(
            text.starts_with(r#"{"assignments":{"S2":"B1","S1":null,"S0":null},"statistics":{"#),
            "{text}"
        );
        let result: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(result["statistics"]["seats"], 1);
        assert_eq!(
            result["statistics"]["choice_rank_histogram"],
            serde_json::json!({"1": 1})
        );
        assert_eq!(
            result["unmatched_reasons"]["S1"],
            serde_json::json!([
                {"base": "B1", "preference_rank": 1, "reason": "full_with_higher_ranked",
                 "seats": 1, "kept": 1, "last_kept_rank": 1, "student_rank": 2},
                {"base": "B2", "preference_rank": 2, "reason": "no_seats"}
            ])
        );
        for stage in ["read", "parse", "index", "match", "explain"] {
            assert!(
                result["timings_ms"][stage].as_f64().unwrap() >= 0.0,
                "{stage}"
            );
        }
        assert!(!dir.0.join("result.json.partial").exists());
    }

    #[test]
    fn a_missing_input_is_a_read_error() {
        let dir = ScratchDir::new("missing");
        let error = run_command(&dir.0.join("absent.json"), None).unwrap_err();
        assert!(matches!(error, CommandError::Read { .. }));
        assert!(error.to_string().starts_with("cannot read "), "{error}");
    }

    #[test]
    fn bad_instances_are_refused_without_writing() {
        let dir = ScratchDir::new("bad");
        let output = dir.0.join("result.json");
        for (name, contents, message) in [
            (
                "empty.json",
                "",
                "malformed instance: EOF while parsing a value at line 1 column 0",
            ),
            (
                "truncated.json",
                &INSTANCE[..40],
                "malformed instance: EOF while parsing",
            ),
            (
                "unknown.json",
                &INSTANCE.replace(r#"["B1", "B2"]"#, r#"["B1", "B9"]"#),
                "student S1: preference 2 names unknown base B9",
            ),
        ] {
            let input = dir.file(name, contents);
            let error = run_command(&input, Some(&output)).unwrap_err();
            assert!(matches!(error, CommandError::Instance { .. }), "{name}");
            assert!(error.to_string().contains(message), "{name}: {error}");
            assert!(
                error.to_string().starts_with(&input.display().to_string()),
                "{error}"
            );
            assert!(!output.exists());
        }
    }

    #[test]
    fn input_that_is_not_utf8_is_a_read_error() {
        let dir = ScratchDir::new("binary");
        let input = dir.0.join("binary.json");
        fs::write(&input, [0xff, 0xfe, 0x00]).unwrap();
        assert!(matches!(
            run_command(&input, None).unwrap_err(),
            CommandError::Read { .. }
        ));
    }

    #[test]
    fn an_unwritable_output_is_a_write_error() {
        let dir = ScratchDir::new("unwritable");
        let input = dir.file("instance.json", INSTANCE);
        let output = dir.0.join("no-such-dir").join("result.json");
        let error = run_command(&input, Some(&output)).unwrap_err();
        assert!(matches!(error, CommandError::Write { path: Some(_), .. }));
        assert!(
            error.to_string().starts_with("cannot write the result to "),
            "{error}"
        );
    }
}
