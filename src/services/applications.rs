//! A student's ranked list of bases, and a base's order of its applicants: the first round's
//! inputs, checked against the cycle and recorded as a change of its inputs.

use crate::auth::Caller;
use crate::db::changes::Reused;
use crate::db::lookup;
use crate::db::models::{ApplicationRow, Cycle, PreferenceRow, RankingRow, Student};
use crate::db::schema::*;
use crate::db::{Database, DbConn};
use crate::dispatch;
use crate::domain::*;
use crate::services::inputs;
use diesel::prelude::*;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// The most bases a list may hold, whatever the cycle allows.
pub const MAX_PREFERENCES: usize = 50;

/// The most students a base's ranking may hold.
pub const MAX_RANKED: usize = 10_000;

/// A stored list, with the student it belongs to.
#[derive(Debug)]
pub struct Submitted {
    pub application: ApplicationRow,
    pub student: Student,
    pub program_code: String,
    /// The bases, most wanted first.
    pub preferences: Vec<BaseId>,
}

/// What a student's list is checked against in one cycle: the cycle's settings and, per
/// base, whether it takes interns, its seats in the cycle and the programs it accepts.
#[derive(Debug)]
pub struct ListRules {
    cycle: Cycle,
    bases: HashMap<BaseId, BaseRules>,
}

#[derive(Debug)]
struct BaseRules {
    active: bool,
    seats: Option<i32>,
    programs: Vec<ProgramId>,
}

/// The rules of each cycle kept by an instance, with the version of the rules they were read
/// at (see `db::changes`): a deadline burst changes none of them, so its lists are checked
/// without reading them again.
pub struct KeptRules<'a> {
    pub store: &'a Reused<CycleId, Arc<ListRules>>,
    /// The version of the rules now; `None` (PostgreSQL) keeps nothing.
    pub version: Option<i64>,
}

/// Submits or replaces the calling student's ranked list of bases in the cycle.
pub async fn submit(
    db: &Database,
    kept: KeptRules<'_>,
    caller: &Caller,
    cycle_id: CycleId,
    preferences: Vec<BaseId>,
) -> Result<Submitted, DomainError> {
    caller.require_role(&[Role::Student])?;
    let student_id = caller
        .student_id
        .ok_or_else(|| DomainError::Forbidden("only students apply".into()))?;
    if preferences.is_empty() || preferences.len() > MAX_PREFERENCES {
        return Err(DomainError::broke(
            "preferences",
            ListRule::Length,
            format!("must list 1 to {MAX_PREFERENCES} bases"),
        ));
    }
    let rules = match kept.store.get(&cycle_id, kept.version) {
        Some(rules) => rules,
        None => {
            // Kept rules cover every base; read for this list only, they cover its bases.
            let listed = kept.version.is_none().then(|| preferences.clone());
            let rules = Arc::new(
                db.read(move |conn| ListRules::read(conn, cycle_id, listed.as_deref()))
                    .await?,
            );
            kept.store.put(cycle_id, kept.version, Arc::clone(&rules));
            rules
        }
    };
    rules.check_cycle(preferences.len())?;
    let stored = preferences.clone();
    let (application, student, program_code) = db
        .write(move |conn| {
            // The student's program is read with the write: the writer reads what it last
            // wrote without going to the file again.
            let (student, program_code) = student_with_program(conn, student_id)?;
            rules.check_bases(student.program_id, &stored)?;
            // The change is counted before anything is written: that takes the cycle's row
            // first, as a publish does, and refuses once the cycle is published.
            if !inputs::touch(conn, cycle_id)? {
                return Err(DomainError::broke(
                    "cycle",
                    ListRule::Published,
                    "the cycle's match is published; apply directly to a base with free seats",
                ));
            }
            let application = store_list(conn, cycle_id, &student, &stored)?;
            Ok((application, student, program_code))
        })
        .await?;
    Ok(Submitted {
        application,
        student,
        program_code,
        preferences,
    })
}

/// Sets a base's order of its applicants (its coordinator, or the alliance admin);
/// applicants left out follow, by score and then the run's lottery. Answers the order kept.
pub async fn save_ranking(
    db: &Database,
    caller: &Caller,
    cycle_id: CycleId,
    base_id: BaseId,
    order: Vec<StudentId>,
) -> Result<Vec<StudentId>, DomainError> {
    caller.scope()?.require_base(base_id)?;
    if order.len() > MAX_RANKED {
        return Err(DomainError::invalid(
            "student_ids",
            format!("must list at most {MAX_RANKED} students"),
        ));
    }
    db.write(move |conn| {
        lookup::cycle(conn, cycle_id)?;
        lookup::base(conn, base_id)?;
        if !inputs::touch(conn, cycle_id)? {
            return Err(DomainError::Conflict(
                Conflict::CyclePublished,
                "the cycle's match is published; rankings no longer change it".into(),
            ));
        }
        let applicants: HashSet<StudentId> = dispatch!(conn, |c| application_preferences::table
            .inner_join(applications::table)
            .filter(applications::cycle_id.eq(cycle_id))
            .filter(application_preferences::base_id.eq(base_id))
            .select(applications::student_id)
            .load::<StudentId>(c))?
        .into_iter()
        .collect();
        let mut seen = HashSet::new();
        let mut errors = Vec::new();
        for (index, student) in order.iter().enumerate() {
            if !seen.insert(*student) {
                errors.push(FieldError::new(
                    format!("student_ids[{index}]"),
                    "is listed twice",
                ));
            } else if !applicants.contains(student) {
                errors.push(FieldError::new(
                    format!("student_ids[{index}]"),
                    "has not applied to this base",
                ));
            }
        }
        if !errors.is_empty() {
            return Err(DomainError::invalid_fields(errors));
        }
        let rows: Vec<RankingRow> = order
            .iter()
            .enumerate()
            .map(|(index, &student_id)| RankingRow {
                cycle_id,
                base_id,
                student_id,
                position: index as i32 + 1,
            })
            .collect();
        dispatch!(conn, |c| diesel::delete(
            base_rankings::table
                .filter(base_rankings::cycle_id.eq(cycle_id))
                .filter(base_rankings::base_id.eq(base_id))
        )
        .execute(c))?;
        for chunk in rows.chunks(1000) {
            dispatch!(conn, |c| diesel::insert_into(base_rankings::table)
                .values(chunk)
                .execute(c))?;
        }
        Ok(order)
    })
    .await
}

impl ListRules {
    /// Reads the rules of the cycle, for the listed bases only or for every base.
    fn read(
        conn: &mut DbConn,
        cycle_id: CycleId,
        listed: Option<&[BaseId]>,
    ) -> Result<ListRules, DomainError> {
        let cycle = lookup::cycle(conn, cycle_id)?;
        let rows: Vec<(BaseId, bool, Option<i32>)> = dispatch!(conn, |c| {
            let mut query = bases::table
                .left_join(
                    cycle_seats::table.on(cycle_seats::base_id
                        .eq(bases::id)
                        .and(cycle_seats::cycle_id.eq(cycle_id))),
                )
                .select((bases::id, bases::active, cycle_seats::seats.nullable()))
                .into_boxed();
            if let Some(list) = listed {
                query = query.filter(bases::id.eq_any(list));
            }
            query.load(c)
        })?;
        let accepted: Vec<(BaseId, ProgramId)> = dispatch!(conn, |c| {
            let mut query = base_programs::table
                .select((base_programs::base_id, base_programs::program_id))
                .into_boxed();
            if let Some(list) = listed {
                query = query.filter(base_programs::base_id.eq_any(list));
            }
            query.load(c)
        })?;
        let mut bases: HashMap<BaseId, BaseRules> = rows
            .into_iter()
            .map(|(id, active, seats)| {
                let rules = BaseRules {
                    active,
                    seats,
                    programs: Vec::new(),
                };
                (id, rules)
            })
            .collect();
        for (base, program) in accepted {
            if let Some(rules) = bases.get_mut(&base) {
                rules.programs.push(program);
            }
        }
        Ok(ListRules { cycle, bases })
    }

    /// Checks a list of `length` bases against the cycle: its window and its limit.
    fn check_cycle(&self, length: usize) -> Result<(), DomainError> {
        let now = Timestamp::now();
        let cycle = &self.cycle;
        if cycle.published_run_id.is_some() {
            return Err(DomainError::broke(
                "cycle",
                ListRule::Published,
                "the cycle's match is published; apply directly to a base with free seats",
            ));
        }
        if now < cycle.applications_open_at {
            return Err(DomainError::broke(
                "cycle",
                ListRule::NotOpenYet,
                format!("applications open at {}", cycle.applications_open_at),
            ));
        }
        if now >= cycle.applications_close_at {
            return Err(DomainError::broke(
                "cycle",
                ListRule::Closed,
                format!("applications closed at {}", cycle.applications_close_at),
            ));
        }
        if length > cycle.max_preferences as usize {
            return Err(DomainError::broke(
                "preferences",
                ListRule::Length,
                format!(
                    "lists {length} bases; this cycle allows at most {}",
                    cycle.max_preferences
                ),
            ));
        }
        Ok(())
    }

    /// Checks each base of a student's list: listed once, taking interns, with seats in the
    /// cycle and accepting the student's program.
    fn check_bases(&self, program: ProgramId, list: &[BaseId]) -> Result<(), DomainError> {
        let mut seen = HashSet::new();
        let mut errors = Vec::new();
        for (index, base) in list.iter().enumerate() {
            let problem = match self.bases.get(base) {
                _ if !seen.insert(*base) => Some((ListRule::Repeated, "lists this base twice")),
                None => Some((ListRule::UnknownBase, "no such base")),
                Some(rules) if !rules.active => Some((
                    ListRule::Inactive,
                    "the base is not taking interns (inactive)",
                )),
                Some(BaseRules {
                    seats: None | Some(0),
                    ..
                }) => Some((ListRule::NoSeats, "the base has no seats in this cycle")),
                Some(rules) if !rules.programs.contains(&program) => Some((
                    ListRule::WrongProgram,
                    "the base does not accept the student's program",
                )),
                Some(_) => None,
            };
            if let Some((rule, message)) = problem {
                errors.push(FieldError::broke(
                    format!("preferences[{index}]"),
                    rule,
                    message,
                ));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(DomainError::invalid_fields(errors))
        }
    }
}

/// The student, with the code of its program.
fn student_with_program(
    conn: &mut DbConn,
    id: StudentId,
) -> Result<(Student, String), DomainError> {
    dispatch!(conn, |c| students::table
        .inner_join(programs::table)
        .filter(students::id.eq(id))
        .select((Student::as_select(), programs::code))
        .first(c)
        .optional())?
    .ok_or_else(|| DomainError::not_found("student"))
}

/// Replaces the student's list in the cycle, creating its application the first time.
fn store_list(
    conn: &mut DbConn,
    cycle_id: CycleId,
    student: &Student,
    list: &[BaseId],
) -> Result<ApplicationRow, DomainError> {
    let now = Timestamp::now();
    let student_id = student.id;
    let existing: Option<ApplicationRow> = dispatch!(conn, |c| applications::table
        .filter(applications::cycle_id.eq(cycle_id))
        .filter(applications::student_id.eq(student_id))
        .select(ApplicationRow::as_select())
        .first(c)
        .optional())?;
    let application = match existing {
        Some(current) => {
            let id = current.id;
            dispatch!(conn, |c| {
                diesel::update(applications::table.find(id))
                    .set(applications::updated_at.eq(now))
                    .execute(c)?;
                diesel::delete(
                    application_preferences::table
                        .filter(application_preferences::application_id.eq(id)),
                )
                .execute(c)
            })?;
            ApplicationRow {
                updated_at: now,
                ..current
            }
        }
        None => {
            let row = ApplicationRow {
                id: ApplicationId::generate(),
                cycle_id,
                student_id,
                submitted_at: now,
                updated_at: now,
                university_id: student.university_id,
                program_id: student.program_id,
            };
            dispatch!(conn, |c| diesel::insert_into(applications::table)
                .values(&row)
                .execute(c))?;
            row
        }
    };
    let application_id = application.id;
    let rows: Vec<PreferenceRow> = list
        .iter()
        .enumerate()
        .map(|(index, &base_id)| PreferenceRow {
            application_id,
            position: index as i32 + 1,
            base_id,
        })
        .collect();
    dispatch!(conn, |c| diesel::insert_into(
        application_preferences::table
    )
    .values(&rows)
    .execute(c))?;
    Ok(application)
}
