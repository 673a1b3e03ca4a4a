//! A run bundle: a match run's anonymised instance, seed and result with the SHA-256
//! digests of their canonical forms and the log of every run of its cycle, and
//! [`verify`], which checks a bundle with nothing but the bundle (`placemat verify`).
//! The format and the canonical forms are described in `docs/matching.md`.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

use super::check::{check, Violation};
use super::engine::{run, Matching};
use super::instance::{borrowed_strings, BaseEntry, BorrowedString, Instance, StudentEntry};
use super::lottery::{applicant_order, lottery_numbers};

/// The value of a bundle's `format`.
pub const BUNDLE_FORMAT: &str = "placemat-run-bundle/1";

/// A run bundle as served and as read by [`verify`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bundle<'a> {
    pub format: String,
    pub cycle_id: String,
    pub run: RunSummary,
    #[serde(borrow)]
    pub instance: BundleInstance<'a>,
    #[serde(borrow)]
    pub result: BundleResult<'a>,
    pub digests: Digests,
    /// Every run of the cycle ever made, oldest first.
    pub runs: Vec<RunLogEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSummary {
    pub id: String,
    pub seed: u64,
    pub made_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digests {
    pub instance_sha256: String,
    pub result_sha256: String,
}

/// One run of the cycle; its digests are null for a run made before they were kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunLogEntry {
    pub id: String,
    pub seed: u64,
    pub made_at: String,
    pub instance_sha256: Option<String>,
    pub result_sha256: Option<String>,
    pub published: bool,
}

/// The instance in the offline engine's format, students in the run's order (a student's
/// lottery number is drawn by its position here), each base saying how much of its ranking
/// its coordinator set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleInstance<'a> {
    #[serde(borrow)]
    pub students: Vec<StudentEntry<'a>>,
    #[serde(borrow)]
    pub bases: Vec<BundleBase<'a>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleBase<'a> {
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    #[serde(default, deserialize_with = "borrowed_strings")]
    pub programs: Vec<Cow<'a, str>>,
    pub capacity: u32,
    /// How many of the ranking's first entries the base's coordinator put in order; the
    /// others follow by score (higher first, none last), then by the run's lottery.
    pub ranked_by_coordinator: u32,
    /// Every student who listed the base, best first.
    #[serde(default, deserialize_with = "borrowed_strings")]
    pub ranking: Vec<Cow<'a, str>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleResult<'a> {
    #[serde(borrow)]
    pub assignments: Assignments<'a>,
}

/// Each student's base or none, serialized as a JSON object in this order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Assignments<'a>(pub Vec<(Cow<'a, str>, Option<Cow<'a, str>>)>);

impl Serialize for Assignments<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (student, base) in &self.0 {
            map.serialize_entry(student, base)?;
        }
        map.end()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Assignments<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AssignmentsVisitor<'a>(std::marker::PhantomData<Cow<'a, str>>);

        impl<'de: 'a, 'a> Visitor<'de> for AssignmentsVisitor<'a> {
            type Value = Assignments<'a>;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("an object of student ids to base ids or null")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some((BorrowedString(student), base)) =
                    map.next_entry::<BorrowedString<'a>, Option<BorrowedString<'a>>>()?
                {
                    entries.push((student, base.map(|base| base.0)));
                }
                Ok(Assignments(entries))
            }
        }

        deserializer.deserialize_map(AssignmentsVisitor(std::marker::PhantomData))
    }
}

impl<'a> Bundle<'a> {
    /// A bundle of one run, with its digests computed; `runs` is the cycle's log, which
    /// must hold this run.
    pub fn assemble(
        cycle_id: String,
        run: RunSummary,
        instance: BundleInstance<'a>,
        assignments: Assignments<'a>,
        runs: Vec<RunLogEntry>,
    ) -> Self {
        let digests = Digests {
            instance_sha256: instance.sha256(),
            result_sha256: result_sha256(
                assignments
                    .0
                    .iter()
                    .map(|(student, base)| (student.as_ref(), base.as_deref())),
            ),
        };
        Bundle {
            format: BUNDLE_FORMAT.to_owned(),
            cycle_id,
            run,
            instance,
            result: BundleResult { assignments },
            digests,
            runs,
        }
    }

    /// A bundle made offline from an instance file's instance, as if its bases'
    /// coordinators had ranked every applicant: rankings keep only the students who listed
    /// the base. For benchmarks and tests.
    pub fn offline(instance: &'a Instance<'a>, seed: u64) -> Result<Self, String> {
        let listed_by = listers(instance)?;
        let bases: Vec<BundleBase<'a>> = instance
            .bases
            .iter()
            .zip(&listed_by)
            .map(|(base, listers)| {
                let ranking: Vec<Cow<'a, str>> = base
                    .ranking
                    .iter()
                    .filter(|student| listers.contains(student.as_ref()))
                    .cloned()
                    .collect();
                BundleBase {
                    id: base.id.clone(),
                    programs: base.programs.clone(),
                    capacity: base.capacity,
                    ranked_by_coordinator: ranking.len() as u32,
                    ranking,
                }
            })
            .collect();
        let bundle_instance = BundleInstance {
            students: instance.students.clone(),
            bases,
        };
        let indexed = bundle_instance
            .as_instance()
            .index()
            .map_err(|e| e.to_string())?;
        let matching = run(&indexed.market);
        let assignments = Assignments(
            (0..indexed.market.student_count() as u32)
                .map(|student| {
                    (
                        bundle_instance.students[student as usize].id.clone(),
                        matching
                            .base_of(student)
                            .map(|base| bundle_instance.bases[base as usize].id.clone()),
                    )
                })
                .collect(),
        );
        let run_summary = RunSummary {
            id: "offline".to_owned(),
            seed,
            made_at: String::new(),
        };
        let mut bundle = Bundle::assemble(
            "offline".to_owned(),
            run_summary,
            bundle_instance,
            assignments,
            Vec::new(),
        );
        bundle.runs.push(RunLogEntry {
            id: bundle.run.id.clone(),
            seed,
            made_at: String::new(),
            instance_sha256: Some(bundle.digests.instance_sha256.clone()),
            result_sha256: Some(bundle.digests.result_sha256.clone()),
            published: true,
        });
        Ok(bundle)
    }
}

/// Per base of an instance, the ids of the students who listed it.
fn listers<'i>(
    instance: &'i Instance<'_>,
) -> Result<Vec<std::collections::HashSet<&'i str>>, String> {
    let index: std::collections::HashMap<&str, usize> = instance
        .bases
        .iter()
        .enumerate()
        .map(|(position, base)| (base.id.as_ref(), position))
        .collect();
    let mut listers = vec![std::collections::HashSet::new(); instance.bases.len()];
    for student in &instance.students {
        for base in &student.preferences {
            let position = index
                .get(base.as_ref())
                .ok_or_else(|| format!("student {} lists unknown base {base}", student.id))?;
            listers[*position].insert(student.id.as_ref());
        }
    }
    Ok(listers)
}

impl<'a> BundleInstance<'a> {
    /// The instance for the engine (borrowing this one's ids).
    pub fn as_instance(&self) -> Instance<'_> {
        Instance {
            students: self.students.clone(),
            bases: self
                .bases
                .iter()
                .map(|base| BaseEntry {
                    id: Cow::Borrowed(base.id.as_ref()),
                    programs: Vec::new(),
                    capacity: base.capacity,
                    ranking: base
                        .ranking
                        .iter()
                        .map(|id| Cow::Borrowed(id.as_ref()))
                        .collect(),
                })
                .collect(),
        }
    }

    /// SHA-256 of the canonical form, in lowercase hex.
    pub fn sha256(&self) -> String {
        let mut out = Canonical::new();
        out.raw("{\"students\":[");
        for (position, student) in self.students.iter().enumerate() {
            if position > 0 {
                out.raw(",");
            }
            out.raw("{\"id\":");
            out.string(&student.id);
            out.raw(",\"university\":");
            out.optional_string(student.university.as_deref());
            out.raw(",\"program\":");
            out.optional_string(student.program.as_deref());
            out.raw(",\"score\":");
            match student.score {
                Some(score) => out.raw(&format!("\"{:016x}\"", score.to_bits())),
                None => out.raw("null"),
            }
            out.raw(",\"preferences\":");
            out.strings(&student.preferences);
            out.raw("}");
        }
        out.raw("],\"bases\":[");
        for (position, base) in self.bases.iter().enumerate() {
            if position > 0 {
                out.raw(",");
            }
            out.raw("{\"id\":");
            out.string(&base.id);
            out.raw(",\"programs\":");
            out.strings(&base.programs);
            out.raw(&format!(
                ",\"capacity\":{},\"ranked_by_coordinator\":{},\"ranking\":",
                base.capacity, base.ranked_by_coordinator
            ));
            out.strings(&base.ranking);
            out.raw("}");
        }
        out.raw("]}");
        out.finish()
    }
}

/// SHA-256 of the result's canonical form, for its students in instance order.
pub fn result_sha256<'s>(assignments: impl Iterator<Item = (&'s str, Option<&'s str>)>) -> String {
    let mut out = Canonical::new();
    out.raw("{\"assignments\":{");
    for (position, (student, base)) in assignments.enumerate() {
        if position > 0 {
            out.raw(",");
        }
        out.string(student);
        out.raw(":");
        out.optional_string(base);
    }
    out.raw("}}");
    out.finish()
}

/// Compact JSON written straight into a hash: strings escaped as `json.dumps(...,
/// ensure_ascii=False)` and serde_json escape them.
struct Canonical {
    hasher: Sha256,
    buffer: String,
}

impl Canonical {
    const FLUSH_AT: usize = 1 << 16;

    fn new() -> Self {
        Canonical {
            hasher: Sha256::new(),
            buffer: String::with_capacity(Self::FLUSH_AT + 1024),
        }
    }

    fn raw(&mut self, text: &str) {
        self.buffer.push_str(text);
        self.flush_if_full();
    }

    fn flush_if_full(&mut self) {
        if self.buffer.len() >= Self::FLUSH_AT {
            self.hasher.update(self.buffer.as_bytes());
            self.buffer.clear();
        }
    }

    fn string(&mut self, text: &str) {
        self.buffer.push('"');
        for character in text.chars() {
            match character {
                '"' => self.buffer.push_str("\\\""),
                '\\' => self.buffer.push_str("\\\\"),
                '\n' => self.buffer.push_str("\\n"),
                '\r' => self.buffer.push_str("\\r"),
                '\t' => self.buffer.push_str("\\t"),
                '\u{08}' => self.buffer.push_str("\\b"),
                '\u{0c}' => self.buffer.push_str("\\f"),
                control if (control as u32) < 0x20 => {
                    self.buffer.push_str(&format!("\\u{:04x}", control as u32));
                }
                other => self.buffer.push(other),
            }
        }
        self.buffer.push('"');
        self.flush_if_full();
    }

    fn optional_string(&mut self, text: Option<&str>) {
        match text {
            Some(text) => self.string(text),
            None => self.raw("null"),
        }
    }

    fn strings(&mut self, texts: &[Cow<'_, str>]) {
        self.buffer.push('[');
        for (position, text) in texts.iter().enumerate() {
            if position > 0 {
                self.buffer.push(',');
            }
            self.string(text);
        }
        self.buffer.push(']');
    }

    fn finish(mut self) -> String {
        self.hasher.update(self.buffer.as_bytes());
        let digest = self.hasher.finalize();
        let mut hex = String::with_capacity(64);
        for byte in digest {
            hex.push_str(&format!("{byte:02x}"));
        }
        hex
    }
}

/// What [`verify`] found wrong first. Students and bases are named by their ids in the
/// bundle.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Fault {
    #[error("the file is not JSON: {0}")]
    NotJson(String),
    #[error("the file ends early (truncated?): {0}")]
    Truncated(String),
    #[error("the file is not a {BUNDLE_FORMAT} bundle: {0}")]
    WrongFormat(String),
    #[error("the instance is not valid: {0}")]
    Instance(String),
    #[error("the result names student {student}, who is not in the instance")]
    UnknownStudent { student: String },
    #[error("the result places student {student} at base {base}, which is not in the instance")]
    UnknownBase { student: String, base: String },
    #[error("the result names student {student} more than once")]
    RepeatedStudent { student: String },
    #[error("the result leaves out student {student}")]
    MissingStudent { student: String },
    #[error("capacity: base {base} holds {interns} interns for {seats} seats")]
    OverCapacity {
        base: String,
        seats: u32,
        interns: u32,
    },
    #[error("lists: student {student} is placed at base {base}, which it did not list")]
    NotListed { student: String, base: String },
    #[error("lists: student {student} is placed at base {base}, which does not rank it")]
    NotRanked { student: String, base: String },
    #[error(
        "stability: student {student} and base {base} would both rather have each other \
         (the student lists the base as choice {preference_rank}, above its placement, and \
         the base {why})"
    )]
    BlockingPair {
        student: String,
        base: String,
        preference_rank: u32,
        why: String,
    },
    #[error(
        "not the student-optimal stable matching: the result places student {student} at \
         {result}, the engine at {engine}"
    )]
    NotEngineResult {
        student: String,
        result: String,
        engine: String,
    },
    #[error(
        "base {base} says its coordinator ranked {coordinator} students, but its ranking \
         holds {ranking}"
    )]
    CoordinatorCount {
        base: String,
        coordinator: u32,
        ranking: usize,
    },
    #[error("base {base} ranks student {student}, who did not list it")]
    RankedNonApplicant { base: String, student: String },
    #[error("base {base} does not rank student {student}, who listed it")]
    ApplicantNotRanked { base: String, student: String },
    #[error(
        "seed: base {base} ranks student {before} before student {after}, but by score and \
         the lottery of seed {seed} student {after} comes first"
    )]
    RankingNotFromSeed {
        base: String,
        before: String,
        after: String,
        seed: u64,
    },
    #[error("instance digest: the instance's SHA-256 is {computed}, the bundle says {stated}")]
    InstanceDigest { computed: String, stated: String },
    #[error("result digest: the result's SHA-256 is {computed}, the bundle says {stated}")]
    ResultDigest { computed: String, stated: String },
    #[error("run log: the cycle's log of runs has no run {run}")]
    RunNotLogged { run: String },
    #[error(
        "run log: the log records run {run} with seed {logged}, the bundle with seed {stated}"
    )]
    LoggedSeed {
        run: String,
        logged: u64,
        stated: u64,
    },
    #[error("run log: the log records run {run} with other digests than the bundle's")]
    LoggedDigests { run: String },
}

/// What a bundle that verifies holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub run: String,
    pub seed: u64,
    pub students: usize,
    pub bases: usize,
    pub matched: usize,
    pub runs: usize,
    pub published: Option<String>,
}

impl fmt::Display for Verified {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "run {} (seed {}): {} of {} students matched at {} bases; the cycle has {} run{}",
            self.run,
            self.seed,
            self.matched,
            self.students,
            self.bases,
            self.runs,
            if self.runs == 1 { "" } else { "s" }
        )?;
        match &self.published {
            Some(published) if *published == self.run => write!(formatter, ", this one published"),
            Some(published) => write!(formatter, ", run {published} published"),
            None => write!(formatter, ", none published"),
        }
    }
}

/// Reads and verifies the bundle at `path`; the error names the fault.
pub fn verify_file(path: &std::path::Path) -> Result<Verified, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let text = String::from_utf8(bytes)
        .map_err(|e| format!("{}: the file is not UTF-8 text: {e}", path.display()))?;
    verify(&text).map_err(|fault| fault.to_string())
}

/// Checks a bundle's text: its format, the instance, capacity, lists and stability of
/// the result (checked apart from the engine), that the result is the engine's
/// (student-optimal) matching, that every base's ranking follows the run's seed, both
/// digests, and the run's entry in the cycle's log; in that order, stopping at the first
/// fault.
pub fn verify(text: &str) -> Result<Verified, Fault> {
    let bundle: Bundle<'_> = serde_json::from_str(text).map_err(|error| {
        use serde_json::error::Category;
        match error.classify() {
            Category::Eof => Fault::Truncated(error.to_string()),
            Category::Syntax | Category::Io => Fault::NotJson(error.to_string()),
            Category::Data => Fault::WrongFormat(error.to_string()),
        }
    })?;
    if bundle.format != BUNDLE_FORMAT {
        return Err(Fault::WrongFormat(format!(
            "its format is {:?}",
            bundle.format
        )));
    }
    let instance = &bundle.instance;
    let indexed = instance
        .as_instance()
        .index()
        .map_err(|error| Fault::Instance(error.to_string()))?;
    let market = &indexed.market;
    let student_id = |student: u32| instance.students[student as usize].id.to_string();
    let base_id = |base: u32| instance.bases[base as usize].id.to_string();

    let mut assigned: Vec<Option<Option<u32>>> = vec![None; market.student_count()];
    for (student, base) in &bundle.result.assignments.0 {
        let index = indexed
            .student_index(student)
            .ok_or_else(|| Fault::UnknownStudent {
                student: student.to_string(),
            })?;
        let base = match base {
            None => None,
            Some(base) => Some(indexed.base_index(base).ok_or_else(|| Fault::UnknownBase {
                student: student.to_string(),
                base: base.to_string(),
            })?),
        };
        if assigned[index as usize].replace(base).is_some() {
            return Err(Fault::RepeatedStudent {
                student: student.to_string(),
            });
        }
    }
    let assigned: Vec<Option<u32>> = assigned
        .into_iter()
        .enumerate()
        .map(|(student, base)| {
            base.ok_or_else(|| Fault::MissingStudent {
                student: student_id(student as u32),
            })
        })
        .collect::<Result<_, _>>()?;
    let matching = Matching::from_assignments(market, &assigned)
        .map_err(|error| Fault::Instance(error.to_string()))?;

    if let Err(violations) = check(market, &matching) {
        if let Some(violation) = violations.into_iter().next() {
            return Err(match violation {
                Violation::SizeMismatch { .. } => Fault::Instance(violation.to_string()),
                Violation::OverCapacity {
                    base,
                    seats,
                    interns,
                } => Fault::OverCapacity {
                    base: base_id(base),
                    seats,
                    interns,
                },
                Violation::NotListed { student, base } => Fault::NotListed {
                    student: student_id(student),
                    base: base_id(base),
                },
                Violation::NotRanked { student, base } => Fault::NotRanked {
                    student: student_id(student),
                    base: base_id(base),
                },
                Violation::BlockingPair {
                    student,
                    base,
                    preference_rank,
                    displaceable,
                } => Fault::BlockingPair {
                    student: student_id(student),
                    base: base_id(base),
                    preference_rank,
                    why: match displaceable {
                        None => "has a free seat".to_owned(),
                        Some(intern) => {
                            format!("ranks the student above its intern {}", student_id(intern))
                        }
                    },
                },
            });
        }
    }

    let engine = run(market);
    for (student, &base) in (0..).zip(&assigned) {
        let engine_base = engine.base_of(student);
        if engine_base != base {
            let name = |base: Option<u32>| base.map_or("no base".to_owned(), &base_id);
            return Err(Fault::NotEngineResult {
                student: student_id(student),
                result: name(base),
                engine: name(engine_base),
            });
        }
    }

    check_rankings(&bundle, &indexed.market)?;

    let computed = instance.sha256();
    if computed != bundle.digests.instance_sha256 {
        return Err(Fault::InstanceDigest {
            computed,
            stated: bundle.digests.instance_sha256.clone(),
        });
    }
    let computed = result_sha256(
        instance
            .students
            .iter()
            .zip(&assigned)
            .map(|(student, base)| {
                (
                    student.id.as_ref(),
                    base.map(|base| instance.bases[base as usize].id.as_ref()),
                )
            }),
    );
    if computed != bundle.digests.result_sha256 {
        return Err(Fault::ResultDigest {
            computed,
            stated: bundle.digests.result_sha256.clone(),
        });
    }

    let logged = bundle
        .runs
        .iter()
        .find(|entry| entry.id == bundle.run.id)
        .ok_or_else(|| Fault::RunNotLogged {
            run: bundle.run.id.clone(),
        })?;
    if logged.seed != bundle.run.seed {
        return Err(Fault::LoggedSeed {
            run: bundle.run.id.clone(),
            logged: logged.seed,
            stated: bundle.run.seed,
        });
    }
    if logged.instance_sha256.as_deref() != Some(bundle.digests.instance_sha256.as_str())
        || logged.result_sha256.as_deref() != Some(bundle.digests.result_sha256.as_str())
    {
        return Err(Fault::LoggedDigests {
            run: bundle.run.id.clone(),
        });
    }
    Ok(Verified {
        run: bundle.run.id.clone(),
        seed: bundle.run.seed,
        students: market.student_count(),
        bases: market.base_count(),
        matched: matching.matched_count(),
        runs: bundle.runs.len(),
        published: bundle
            .runs
            .iter()
            .find(|entry| entry.published)
            .map(|entry| entry.id.clone()),
    })
}

/// Every base ranks exactly the students who listed it: first those its coordinator put
/// in order, then the others by score and the lottery of the run's seed.
fn check_rankings(bundle: &Bundle<'_>, market: &super::market::Market) -> Result<(), Fault> {
    let instance = &bundle.instance;
    let student_id = |student: u32| instance.students[student as usize].id.to_string();
    let mut applicants = vec![0usize; market.base_count()];
    for student in 0..market.student_count() as u32 {
        for &base in market.preferences(student) {
            if market.rank_at(student, base).is_none() {
                return Err(Fault::ApplicantNotRanked {
                    base: instance.bases[base as usize].id.to_string(),
                    student: student_id(student),
                });
            }
            applicants[base as usize] += 1;
        }
    }
    let lottery = lottery_numbers(bundle.run.seed, market.student_count());
    let score = |student: u32| instance.students[student as usize].score;
    for (base, entry) in (0..).zip(&instance.bases) {
        let ranking = market.ranking(base);
        let coordinator = entry.ranked_by_coordinator as usize;
        if coordinator > ranking.len() {
            return Err(Fault::CoordinatorCount {
                base: entry.id.to_string(),
                coordinator: entry.ranked_by_coordinator,
                ranking: ranking.len(),
            });
        }
        if ranking.len() != applicants[base as usize] {
            let outsider = ranking
                .iter()
                .copied()
                .find(|&student| !market.preferences(student).contains(&base))
                .unwrap_or(ranking[0]);
            return Err(Fault::RankedNonApplicant {
                base: entry.id.to_string(),
                student: student_id(outsider),
            });
        }
        for pair in ranking[coordinator..].windows(2) {
            let (before, after) = (pair[0], pair[1]);
            if applicant_order((before, score(before)), (after, score(after)), &lottery)
                != Ordering::Less
            {
                return Err(Fault::RankingNotFromSeed {
                    base: entry.id.to_string(),
                    before: student_id(before),
                    after: student_id(after),
                    seed: bundle.run.seed,
                });
            }
        }
    }
    Ok(())
}
