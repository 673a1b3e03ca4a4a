//! A match anyone can check: students' pseudonyms, a run's bundle and digests, a student's
//! receipt, a published cycle's cutoffs and a run's equity table. See docs/matching.md
//! ("Run bundles").

use crate::auth::Caller;
use crate::db::models::MatchRunRow;
use crate::db::schema::*;
use crate::db::{read_transaction, Database, DbConn};
use crate::dispatch;
use crate::domain::*;
use crate::matching::{
    result_sha256, Assignments, Bundle, BundleBase, BundleInstance, RunLogEntry, RunSummary,
    StudentEntry,
};
use crate::services::match_runs::{self as runs, Computed, RunInputs};
use diesel::prelude::*;
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::HashMap;
use utoipa::ToSchema;

/// The cycle's pseudonym key, made on first use. It is read only here and never sent.
pub fn pseudonym_key(db: &Database, cycle: CycleId) -> Result<Vec<u8>, DomainError> {
    let read = |conn: &mut DbConn| -> Result<Option<String>, DomainError> {
        Ok(dispatch!(conn, |c| cycle_secrets::table
            .find(cycle)
            .select(cycle_secrets::pseudonym_key)
            .first::<String>(c)
            .optional())?)
    };
    let key = match read(&mut db.reader()?)? {
        Some(key) => key,
        None => db.write_blocking(|conn| -> Result<String, DomainError> {
            crate::db::lookup::cycle(conn, cycle)?;
            let mut fresh = [0u8; 32];
            rand::thread_rng().fill_bytes(&mut fresh);
            dispatch!(conn, |c| diesel::insert_into(cycle_secrets::table)
                .values((
                    cycle_secrets::cycle_id.eq(cycle),
                    cycle_secrets::pseudonym_key.eq(hex(&fresh)),
                ))
                .on_conflict_do_nothing()
                .execute(c))?;
            read(conn)?.ok_or_else(|| DomainError::internal(anyhow::anyhow!("no pseudonym key")))
        })?,
    };
    Ok(key.into_bytes())
}

/// A student's pseudonym in its cycle's bundles: `s-` and the first 16 hex digits of
/// HMAC-SHA256(cycle key, the student's id as text).
pub fn pseudonym(key: &[u8], student: StudentId) -> String {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|k| k ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(student.to_string().as_bytes())
        .finalize();
    let outer = Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize();
    format!("s-{}", hex(&outer[..8]))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// What the instance says of students and bases beyond the matching's inputs.
pub struct Labels {
    /// By student id: university code, program code.
    students: HashMap<StudentId, (String, String)>,
    /// By base id: program codes.
    bases: HashMap<BaseId, Vec<String>>,
}

pub fn load_labels(conn: &mut DbConn, cycle: CycleId) -> Result<Labels, DomainError> {
    let rows: Vec<(StudentId, String, String)> = dispatch!(conn, |c| students::table
        .inner_join(applications::table)
        .inner_join(universities::table)
        .inner_join(programs::table)
        .filter(applications::cycle_id.eq(cycle))
        .select((students::id, universities::code, programs::code))
        .load(c))?;
    let offered: Vec<(BaseId, String)> = dispatch!(conn, |c| base_programs::table
        .inner_join(programs::table)
        .inner_join(cycle_seats::table.on(cycle_seats::base_id.eq(base_programs::base_id)))
        .filter(cycle_seats::cycle_id.eq(cycle))
        .select((base_programs::base_id, programs::code))
        .order((base_programs::base_id, programs::code))
        .load(c))?;
    let mut bases: HashMap<BaseId, Vec<String>> = HashMap::new();
    for (base, code) in offered {
        bases.entry(base).or_default().push(code);
    }
    Ok(Labels {
        students: rows
            .into_iter()
            .map(|(student, university, program)| (student, (university, program)))
            .collect(),
        bases,
    })
}

/// The run's anonymised instance, students and bases in the engine's order.
pub fn instance(
    inputs: &RunInputs,
    computed: &Computed,
    labels: &Labels,
    key: &[u8],
) -> BundleInstance<'static> {
    let pseudonyms: Vec<String> = inputs
        .students
        .iter()
        .map(|&student| pseudonym(key, student))
        .collect();
    let base_ids: Vec<String> = inputs.bases.iter().map(|base| base.to_string()).collect();
    let students = inputs
        .students
        .iter()
        .enumerate()
        .map(|(index, student)| {
            let label = labels.students.get(student);
            StudentEntry {
                id: Cow::Owned(pseudonyms[index].clone()),
                university: label.map(|(university, _)| Cow::Owned(university.clone())),
                program: label.map(|(_, program)| Cow::Owned(program.clone())),
                score: inputs.scores[index],
                preferences: inputs.preferences[index]
                    .iter()
                    .map(|&base| Cow::Owned(base_ids[base as usize].clone()))
                    .collect(),
            }
        })
        .collect();
    let bases = inputs
        .bases
        .iter()
        .enumerate()
        .map(|(index, base)| BundleBase {
            id: Cow::Owned(base_ids[index].clone()),
            programs: labels
                .bases
                .get(base)
                .map(|codes| codes.iter().map(|code| Cow::Owned(code.clone())).collect())
                .unwrap_or_default(),
            capacity: inputs.capacities[index],
            ranked_by_coordinator: computed.ranked_by_coordinator[index],
            ranking: computed
                .market
                .ranking(index as u32)
                .iter()
                .map(|&student| Cow::Owned(pseudonyms[student as usize].clone()))
                .collect(),
        })
        .collect();
    BundleInstance { students, bases }
}

/// The result in instance order, from each student's base index.
pub fn assignments(
    instance: &BundleInstance<'static>,
    assigned: &[Option<u32>],
) -> Assignments<'static> {
    Assignments(
        instance
            .students
            .iter()
            .zip(assigned)
            .map(|(student, base)| {
                (
                    student.id.clone(),
                    base.map(|base| instance.bases[base as usize].id.clone()),
                )
            })
            .collect(),
    )
}

/// The digests of a run: of its instance and of its result.
pub fn digests(instance: &BundleInstance<'_>, assignments: &Assignments<'_>) -> (String, String) {
    (
        instance.sha256(),
        result_sha256(
            assignments
                .0
                .iter()
                .map(|(student, base)| (student.as_ref(), base.as_deref())),
        ),
    )
}

/// A stored run as the cycle's inputs give it again: inputs, market, and each student's
/// base in the stored result.
pub struct Rebuilt {
    pub run: MatchRunRow,
    pub inputs: RunInputs,
    pub computed: Computed,
    pub assigned: Vec<Option<u32>>,
    pub instance: BundleInstance<'static>,
    pub assignments: Assignments<'static>,
}

fn find_run(conn: &mut DbConn, run_id: MatchRunId) -> Result<MatchRunRow, DomainError> {
    dispatch!(conn, |c| match_runs::table
        .find(run_id)
        .select(MatchRunRow::as_select())
        .first(c)
        .optional())?
    .ok_or_else(|| DomainError::not_found("match run"))
}

/// Rebuilds a run from the cycle's inputs, which must be those it was made from: the
/// rebuilt digests must be the ones stored when it ran.
pub fn rebuild(db: &Database, run_id: MatchRunId) -> Result<Rebuilt, DomainError> {
    let mut conn = db.reader()?;
    let run = find_run(&mut conn, run_id)?;
    let (inputs, labels, stored) = read_transaction(&mut conn, |conn| {
        let inputs = runs::read_inputs(conn, run.cycle_id)?;
        let labels = load_labels(conn, run.cycle_id)?;
        let stored: Vec<(StudentId, Option<BaseId>)> =
            dispatch!(conn, |c| match_assignments::table
                .filter(match_assignments::run_id.eq(run_id))
                .select((match_assignments::student_id, match_assignments::base_id))
                .load(c))?;
        Ok::<_, DomainError>((inputs, labels, stored))
    })?;
    drop(conn);
    let stale = || {
        DomainError::conflict(
            Conflict::RunStale,
            "the cycle's inputs changed after this run, so its bundle cannot be made again; \
             its digests stay in the cycle's log",
        )
    };
    if inputs.version != run.inputs_version {
        return Err(stale());
    }
    let key = pseudonym_key(db, run.cycle_id)?;
    let computed = runs::compute(&inputs, run.seed as u64)?;
    let base_index: HashMap<BaseId, u32> = (0..)
        .zip(inputs.bases.iter().copied())
        .map(|(i, b)| (b, i))
        .collect();
    let stored: HashMap<StudentId, Option<BaseId>> = stored.into_iter().collect();
    let assigned: Vec<Option<u32>> = inputs
        .students
        .iter()
        .map(|student| {
            stored
                .get(student)
                .copied()
                .flatten()
                .and_then(|base| base_index.get(&base).copied())
        })
        .collect();
    let instance = instance(&inputs, &computed, &labels, &key);
    let assignments = assignments(&instance, &assigned);
    if let (Some(instance_sha256), Some(result_sha256)) = (&run.instance_sha256, &run.result_sha256)
    {
        if (instance_sha256.clone(), result_sha256.clone()) != digests(&instance, &assignments) {
            return Err(stale());
        }
    }
    Ok(Rebuilt {
        run,
        inputs,
        computed,
        assigned,
        instance,
        assignments,
    })
}

/// Every run of a cycle, oldest first, as the bundle's log.
fn run_log(conn: &mut DbConn, cycle: CycleId) -> Result<Vec<RunLogEntry>, DomainError> {
    let rows: Vec<MatchRunRow> = dispatch!(conn, |c| match_runs::table
        .filter(match_runs::cycle_id.eq(cycle))
        .select(MatchRunRow::as_select())
        .order((match_runs::created_at, match_runs::id))
        .load(c))?;
    Ok(rows
        .into_iter()
        .map(|row| RunLogEntry {
            id: row.id.to_string(),
            seed: row.seed as u64,
            made_at: row.created_at.to_string(),
            instance_sha256: row.instance_sha256,
            result_sha256: row.result_sha256,
            published: row.status == RunStatus::Published,
        })
        .collect())
}

/// A run's bundle as the file the API and the alliance's page hand out: its name and its
/// JSON, made off the async threads.
pub struct BundleFile {
    pub name: String,
    pub json: Vec<u8>,
}

pub async fn bundle_file(
    db: &Database,
    caller: &Caller,
    run_id: MatchRunId,
) -> Result<BundleFile, DomainError> {
    let (db, caller) = (db.clone(), caller.clone());
    let json = tokio::task::spawn_blocking(move || {
        let bundle = bundle(&db, &caller, run_id)?;
        serde_json::to_vec(&bundle).map_err(|e| DomainError::Internal(e.into()))
    })
    .await
    .map_err(|e| DomainError::internal(anyhow::anyhow!("the bundle failed: {e}")))??;
    Ok(BundleFile {
        name: format!("run-{run_id}.bundle.json"),
        json,
    })
}

/// A run's bundle (alliance admin). A run made before digests were kept gets them now, in
/// the bundle and in the log.
pub fn bundle(
    db: &Database,
    caller: &Caller,
    run_id: MatchRunId,
) -> Result<Bundle<'static>, DomainError> {
    caller.require_alliance_admin()?;
    let rebuilt = rebuild(db, run_id)?;
    let run = &rebuilt.run;
    let mut log = run_log(&mut db.reader()?, run.cycle_id)?;
    let bundle_of = |log: Vec<RunLogEntry>| {
        Bundle::assemble(
            run.cycle_id.to_string(),
            RunSummary {
                id: run.id.to_string(),
                seed: run.seed as u64,
                made_at: run.created_at.to_string(),
            },
            rebuilt.instance.clone(),
            rebuilt.assignments.clone(),
            log,
        )
    };
    if run.instance_sha256.is_none() {
        let (instance_sha256, result_sha256) = digests(&rebuilt.instance, &rebuilt.assignments);
        db.write_blocking(|conn| -> Result<(), DomainError> {
            dispatch!(conn, |c| diesel::update(match_runs::table.find(run_id))
                .set((
                    match_runs::instance_sha256.eq(&instance_sha256),
                    match_runs::result_sha256.eq(&result_sha256),
                ))
                .execute(c))?;
            Ok(())
        })?;
        for entry in &mut log {
            if entry.id == run.id.to_string() {
                entry.instance_sha256 = Some(instance_sha256.clone());
                entry.result_sha256 = Some(result_sha256.clone());
            }
        }
    }
    Ok(bundle_of(log))
}

/// The published run of a cycle, rebuilt; 409 `not-published` before publication.
fn published(db: &Database, cycle: CycleId) -> Result<Rebuilt, DomainError> {
    let row = crate::db::lookup::cycle(&mut db.reader()?, cycle)?;
    let run = row.published_run_id.ok_or_else(|| {
        DomainError::conflict(
            Conflict::NotPublished,
            "the cycle's match is not published yet",
        )
    })?;
    rebuild(db, run)
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Receipt {
    /// The student's id in the run's bundle.
    pub pseudonym: String,
    pub run_id: MatchRunId,
    pub instance_sha256: String,
    pub result_sha256: String,
    /// The base the student is matched to in the published run, if any.
    pub matched_base_id: Option<BaseId>,
    /// The student's list, in its order.
    pub bases: Vec<ReceiptBase>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ReceiptBase {
    pub base_id: BaseId,
    /// The student's position in the base's ranking (1 = first).
    pub position: u32,
    /// The ranking position of the last student the base admitted; null when it admitted
    /// nobody.
    pub last_admitted_position: Option<u32>,
}

/// Per base, the ranking position (1-based) of the last intern it admitted.
fn last_admitted(rebuilt: &Rebuilt) -> Vec<Option<u32>> {
    let mut last = vec![None; rebuilt.inputs.bases.len()];
    for (student, base) in (0..).zip(&rebuilt.assigned) {
        if let Some(base) = *base {
            let rank = rebuilt.computed.market.rank_at(student, base);
            let slot: &mut Option<u32> = &mut last[base as usize];
            *slot = (*slot).max(rank);
        }
    }
    last
}

/// The signed-in student's receipt for a published cycle.
pub fn receipt(db: &Database, caller: &Caller, cycle: CycleId) -> Result<Receipt, DomainError> {
    caller.require_role(&[Role::Student])?;
    let student = caller
        .student_id
        .ok_or_else(|| DomainError::Forbidden("the login is not a student's".into()))?;
    let rebuilt = published(db, cycle)?;
    let index = rebuilt
        .inputs
        .students
        .iter()
        .position(|&id| id == student)
        .ok_or_else(|| DomainError::not_found("application"))? as u32;
    let last = last_admitted(&rebuilt);
    let market = &rebuilt.computed.market;
    let (instance_sha256, result_sha256) = digests(&rebuilt.instance, &rebuilt.assignments);
    Ok(Receipt {
        pseudonym: rebuilt.instance.students[index as usize].id.to_string(),
        run_id: rebuilt.run.id,
        instance_sha256,
        result_sha256,
        matched_base_id: rebuilt.assigned[index as usize]
            .map(|base| rebuilt.inputs.bases[base as usize]),
        bases: market
            .preferences(index)
            .iter()
            .map(|&base| ReceiptBase {
                base_id: rebuilt.inputs.bases[base as usize],
                position: market.rank_at(index, base).unwrap_or(0),
                last_admitted_position: last[base as usize],
            })
            .collect(),
    })
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Cutoff {
    pub base_id: BaseId,
    pub seats: u32,
    /// Students who listed the base.
    pub applicants: u32,
    pub filled: u32,
    /// The ranking position of the last student admitted; null when none was.
    pub last_admitted_position: Option<u32>,
}

/// Per base of a published cycle: seats, applicants, filled and last admitted position
/// (any signed-in caller).
pub fn cutoffs(db: &Database, cycle: CycleId) -> Result<Vec<Cutoff>, DomainError> {
    let rebuilt = published(db, cycle)?;
    let last = last_admitted(&rebuilt);
    let market = &rebuilt.computed.market;
    let mut filled = vec![0u32; rebuilt.inputs.bases.len()];
    for base in rebuilt.assigned.iter().flatten() {
        filled[*base as usize] += 1;
    }
    Ok(rebuilt
        .inputs
        .bases
        .iter()
        .enumerate()
        .map(|(index, &base_id)| Cutoff {
            base_id,
            seats: market.capacity(index as u32),
            applicants: market.ranking(index as u32).len() as u32,
            filled: filled[index],
            last_admitted_position: last[index],
        })
        .collect())
}

/// Counts below this are not shown.
pub const SUPPRESS_BELOW: u32 = 5;

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Equity {
    pub by_university: Vec<EquityRow>,
    pub by_program: Vec<EquityRow>,
}

/// One group's outcome; a count under 5 is null and the row says `suppressed`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct EquityRow {
    /// The university's or program's code.
    pub code: String,
    pub applicants: Option<u32>,
    pub matched: Option<u32>,
    pub first_choice: Option<u32>,
    pub top_three: Option<u32>,
    /// Mean choice rank of the matched; null when `matched` is.
    pub mean_rank: Option<f64>,
    pub suppressed: bool,
}

#[derive(Default)]
struct Tally {
    applicants: u32,
    matched: u32,
    first_choice: u32,
    top_three: u32,
    rank_sum: u64,
}

impl Tally {
    fn add(&mut self, choice_rank: Option<i32>) {
        self.applicants += 1;
        if let Some(rank) = choice_rank {
            self.matched += 1;
            self.rank_sum += rank.max(0) as u64;
            if rank == 1 {
                self.first_choice += 1;
            }
            if rank <= 3 {
                self.top_three += 1;
            }
        }
    }

    fn row(self, code: String) -> EquityRow {
        let shown = |count: u32| (count >= SUPPRESS_BELOW).then_some(count);
        let counts = [
            self.applicants,
            self.matched,
            self.first_choice,
            self.top_three,
        ];
        EquityRow {
            code,
            applicants: shown(self.applicants),
            matched: shown(self.matched),
            first_choice: shown(self.first_choice),
            top_three: shown(self.top_three),
            mean_rank: shown(self.matched).map(|matched| self.rank_sum as f64 / matched as f64),
            suppressed: counts.iter().any(|&count| count < SUPPRESS_BELOW),
        }
    }
}

/// A run's outcome by university and by program: every row for the alliance admin, a
/// university admin's own university's students only.
pub fn equity(
    conn: &mut DbConn,
    caller: &Caller,
    run_id: MatchRunId,
) -> Result<Equity, DomainError> {
    caller.require_role(&[Role::AllianceAdmin, Role::UniversityAdmin])?;
    let only: Option<UniversityId> = match caller.role {
        Role::AllianceAdmin => None,
        _ => Some(
            caller
                .university_id
                .ok_or_else(|| DomainError::Forbidden("the login has no university".into()))?,
        ),
    };
    find_run(conn, run_id)?;
    let rows: Vec<(UniversityId, String, String, Option<i32>)> =
        dispatch!(conn, |c| match_assignments::table
            .inner_join(
                students::table
                    .inner_join(universities::table)
                    .inner_join(programs::table)
            )
            .filter(match_assignments::run_id.eq(run_id))
            .select((
                students::university_id,
                universities::code,
                programs::code,
                match_assignments::choice_rank,
            ))
            .load(c))?;
    let mut by_university: std::collections::BTreeMap<String, Tally> = Default::default();
    let mut by_program: std::collections::BTreeMap<String, Tally> = Default::default();
    for (university, university_code, program_code, choice_rank) in rows {
        if only.is_some_and(|only| only != university) {
            continue;
        }
        by_university
            .entry(university_code)
            .or_default()
            .add(choice_rank);
        by_program.entry(program_code).or_default().add(choice_rank);
    }
    Ok(Equity {
        by_university: by_university
            .into_iter()
            .map(|(code, tally)| tally.row(code))
            .collect(),
        by_program: by_program
            .into_iter()
            .map(|(code, tally)| tally.row(code))
            .collect(),
    })
}
