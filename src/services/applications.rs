//! A student's ranked list of bases, and a base's order of its applicants: the first round's
//! inputs, checked against the cycle and recorded as a change of its inputs.

use crate::auth::Caller;
use crate::db::lookup;
use crate::db::models::{ApplicationRow, Cycle, PreferenceRow, RankingRow, Student};
use crate::db::schema::*;
use crate::db::{Database, DbConn};
use crate::dispatch;
use crate::domain::*;
use crate::services::inputs;
use diesel::prelude::*;
use std::collections::{HashMap, HashSet};

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

/// Submits or replaces the calling student's ranked list of bases in the cycle.
pub async fn submit(
    db: &Database,
    caller: &Caller,
    cycle_id: CycleId,
    preferences: Vec<BaseId>,
) -> Result<Submitted, DomainError> {
    caller.require_role(&[Role::Student])?;
    if preferences.is_empty() || preferences.len() > MAX_PREFERENCES {
        return Err(DomainError::broke(
            "preferences",
            ListRule::Length,
            format!("must list 1 to {MAX_PREFERENCES} bases"),
        ));
    }
    // The checks read on a reader connection, so that the single writer of SQLite is held
    // only for the writes themselves: deadline bursts queue on it.
    let checked = preferences.clone();
    let caller = caller.clone();
    let (student, program_code) = db
        .read(move |conn| {
            let cycle = lookup::cycle(conn, cycle_id)?;
            let student = own_student(conn, &caller)?;
            check_preferences(conn, &cycle, &student, &checked)?;
            let program_code: String = dispatch!(conn, |c| programs::table
                .find(student.program_id)
                .select(programs::code)
                .first(c))?;
            Ok((student, program_code))
        })
        .await?;
    let student_id = student.id;
    let stored = preferences.clone();
    let application = db
        .write(move |conn| {
            // The version is bumped first: it takes the cycle row, in the order a publish
            // takes it, and refuses once the cycle is published.
            if !inputs::touch(conn, cycle_id)? {
                return Err(DomainError::broke(
                    "cycle",
                    ListRule::Published,
                    "the cycle's match is published; apply directly to a base with free seats",
                ));
            }
            store_list(conn, cycle_id, student_id, &stored)
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

/// Checks a student's list against the cycle: the window, the limit, and each base.
fn check_preferences(
    conn: &mut DbConn,
    cycle: &Cycle,
    student: &Student,
    list: &[BaseId],
) -> Result<(), DomainError> {
    let now = Timestamp::now();
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
    if list.len() > cycle.max_preferences as usize {
        return Err(DomainError::broke(
            "preferences",
            ListRule::Length,
            format!(
                "lists {} bases; this cycle allows at most {}",
                list.len(),
                cycle.max_preferences
            ),
        ));
    }
    let rows: Vec<(BaseId, bool, Option<i32>)> = dispatch!(conn, |c| bases::table
        .left_join(
            cycle_seats::table.on(cycle_seats::base_id
                .eq(bases::id)
                .and(cycle_seats::cycle_id.eq(cycle.id))),
        )
        .filter(bases::id.eq_any(list))
        .select((bases::id, bases::active, cycle_seats::seats.nullable()))
        .load(c))?;
    let accepting: HashSet<BaseId> = dispatch!(conn, |c| base_programs::table
        .filter(base_programs::base_id.eq_any(list))
        .filter(base_programs::program_id.eq(student.program_id))
        .select(base_programs::base_id)
        .load::<BaseId>(c))?
    .into_iter()
    .collect();
    let known: HashMap<BaseId, (bool, Option<i32>)> = rows
        .into_iter()
        .map(|(id, active, seats)| (id, (active, seats)))
        .collect();
    let mut seen = HashSet::new();
    let mut errors = Vec::new();
    for (index, base) in list.iter().enumerate() {
        let field = format!("preferences[{index}]");
        let problem = match known.get(base) {
            _ if !seen.insert(*base) => Some((ListRule::Repeated, "lists this base twice")),
            None => Some((ListRule::UnknownBase, "no such base")),
            Some((false, _)) => Some((
                ListRule::Inactive,
                "the base is not taking interns (inactive)",
            )),
            Some((true, None | Some(0))) => {
                Some((ListRule::NoSeats, "the base has no seats in this cycle"))
            }
            Some(_) if !accepting.contains(base) => Some((
                ListRule::WrongProgram,
                "the base does not accept the student's program",
            )),
            Some(_) => None,
        };
        if let Some((rule, message)) = problem {
            errors.push(FieldError::broke(field, rule, message));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(DomainError::invalid_fields(errors))
    }
}

fn own_student(conn: &mut DbConn, caller: &Caller) -> Result<Student, DomainError> {
    let id = caller
        .student_id
        .ok_or_else(|| DomainError::Forbidden("only students apply".into()))?;
    lookup::student(conn, id)
}

/// Replaces the student's list in the cycle, creating its application the first time.
fn store_list(
    conn: &mut DbConn,
    cycle_id: CycleId,
    student_id: StudentId,
    list: &[BaseId],
) -> Result<ApplicationRow, DomainError> {
    let now = Timestamp::now();
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
