//! What the placement officer's page shows of a university: its students a page at a
//! time, and its students' placements in a cycle with the students the published match
//! left without a seat. Reads only, each part in a few set-based queries.

use crate::db::models::Cycle;
use crate::db::schema::*;
use crate::db::DbConn;
use crate::dispatch;
use crate::domain::*;
use crate::services::placements::{self as lifecycle, ListOrder, Selection, Step};
use diesel::prelude::*;
use std::collections::HashMap;

/// Rows on one page of a list.
pub const PAGE_SIZE: i64 = 50;

/// The most unplaced students listed at once; the count says how many there are.
pub const UNPLACED_SHOWN: i64 = 200;

/// Which students to list.
#[derive(Debug, Clone, Default)]
pub struct StudentFilter {
    /// Name, student number or email contains this text.
    pub search: Option<String>,
    /// A program's code.
    pub program: Option<String>,
    pub cohort: Option<i32>,
    /// From 1.
    pub page: i64,
}

/// One student of the university.
#[derive(Debug, Clone)]
pub struct StudentLine {
    pub id: StudentId,
    pub name: String,
    pub number: String,
    pub email: String,
    pub program: String,
    pub cohort: i32,
    pub score: Option<f64>,
    /// The student's login has a password.
    pub activated: bool,
}

/// One page of the university's students, and what the filters may choose from.
#[derive(Debug, Clone)]
pub struct StudentPage {
    pub rows: Vec<StudentLine>,
    pub total: i64,
    /// Codes and names of every program, to filter by and to add a student to.
    pub programs: Vec<(String, String)>,
    pub cohorts: Vec<i32>,
}

/// Which placements to list.
#[derive(Debug, Clone, Default)]
pub struct PlacementFilter {
    pub status: Option<PlacementStatus>,
    pub base: Option<BaseId>,
    /// From 1.
    pub page: i64,
}

/// A placement of one of the university's students.
#[derive(Debug, Clone)]
pub struct PlacementLine {
    pub id: PlacementId,
    pub student: String,
    pub number: String,
    pub base: String,
    pub status: PlacementStatus,
    pub updated_at: Timestamp,
    pub history: Vec<Step>,
}

/// A student the published match left without a seat, and what each listed base said.
#[derive(Debug, Clone)]
pub struct Unplaced {
    pub name: String,
    pub number: String,
    /// The base's name beside the engine's explanation; empty when the student was matched
    /// and the placement was declined or withdrawn since.
    pub refusals: Vec<(String, BaseRefusal)>,
}

/// The university's students' placements in a cycle.
#[derive(Debug, Clone)]
pub struct PlacementPage {
    pub rows: Vec<PlacementLine>,
    pub total: i64,
    /// Ids and names of the bases the university's students hold placements at.
    pub bases: Vec<(BaseId, String)>,
    /// After publication: who holds no seat, and how many they are.
    pub unplaced: Option<(Vec<Unplaced>, i64)>,
}

fn offset(page: i64) -> i64 {
    (page.max(1) - 1) * PAGE_SIZE
}

/// A page of the university's students, by student number.
pub fn students(
    conn: &mut DbConn,
    university: UniversityId,
    filter: &StudentFilter,
) -> Result<StudentPage, DomainError> {
    let pattern = super::students::search_pattern(filter.search.as_deref());
    type Row = (
        StudentId,
        String,
        String,
        String,
        String,
        i32,
        Option<f64>,
        bool,
    );
    type Read = (Vec<Row>, i64, Vec<(String, String)>, Vec<i32>);
    let (rows, total, programs, cohorts): Read = dispatch!(conn, |c| {
        let filtered = || {
            let mut query = students::table
                .inner_join(programs::table)
                .left_join(users::table.on(users::student_id.eq(students::id.nullable())))
                .filter(students::university_id.eq(university))
                .into_boxed();
            if let Some(code) = &filter.program {
                query = query.filter(programs::code.eq(code.clone()));
            }
            if let Some(year) = filter.cohort {
                query = query.filter(students::cohort_year.eq(year));
            }
            if let Some(pattern) = &pattern {
                query = super::students::matching_search!(query, pattern);
            }
            query
        };
        let total: i64 = filtered().count().get_result(c)?;
        let rows: Vec<Row> = filtered()
            .select((
                students::id,
                students::name,
                students::student_number,
                students::email,
                programs::code,
                students::cohort_year,
                students::score,
                users::password_hash.nullable().is_not_null(),
            ))
            .order((students::student_number, students::id))
            .limit(PAGE_SIZE)
            .offset(offset(filter.page))
            .load(c)?;
        let programs: Vec<(String, String)> = programs::table
            .select((programs::code, programs::name))
            .order(programs::code)
            .load(c)?;
        let cohorts: Vec<i32> = students::table
            .filter(students::university_id.eq(university))
            .select(students::cohort_year)
            .distinct()
            .order(students::cohort_year.desc())
            .load(c)?;
        Ok::<_, diesel::result::Error>((rows, total, programs, cohorts))
    })?;
    Ok(StudentPage {
        rows: rows
            .into_iter()
            .map(
                |(id, name, number, email, program, cohort, score, activated)| StudentLine {
                    id,
                    name,
                    number,
                    email,
                    program,
                    cohort,
                    score,
                    activated,
                },
            )
            .collect(),
        total,
        programs,
        cohorts,
    })
}

/// A page of the university's students' placements in the cycle, by student number and a
/// student's latest change first, each with its history; after publication, the students
/// without a seat.
pub fn placements(
    conn: &mut DbConn,
    university: UniversityId,
    cycle: &Cycle,
    filter: &PlacementFilter,
) -> Result<PlacementPage, DomainError> {
    let cycle_id = cycle.id;
    let selection = Selection {
        cycle: Some(cycle_id),
        university: Some(university),
        base: filter.base,
        status: filter.status,
        ..Selection::default()
    };
    let (listed, total) = lifecycle::list(
        conn,
        &[selection],
        ListOrder::StudentNumber,
        PAGE_SIZE,
        offset(filter.page),
    )?;
    let bases: Vec<(BaseId, String)> = dispatch!(conn, |c| bases::table
        .filter(
            bases::id.eq_any(
                placements::table
                    .filter(placements::cycle_id.eq(cycle_id))
                    .filter(placements::university_id.eq(university))
                    .select(placements::base_id),
            ),
        )
        .select((bases::id, bases::name))
        .order(bases::name)
        .load(c))?;
    let ids: Vec<PlacementId> = listed.iter().map(|line| line.placement.id).collect();
    let mut histories = lifecycle::history(conn, &ids)?;
    let rows = listed
        .into_iter()
        .map(|line| PlacementLine {
            status: line.placement.status,
            history: histories.remove(&line.placement.id).unwrap_or_default(),
            id: line.placement.id,
            student: line.student_name,
            number: line.student_number,
            base: line.base_name,
            updated_at: line.placement.updated_at,
        })
        .collect();
    let unplaced = match cycle.published_run_id {
        Some(run) => Some(unplaced(conn, university, cycle_id, run)?),
        None => None,
    };
    Ok(PlacementPage {
        rows,
        total,
        bases,
        unplaced,
    })
}

/// The university's students in the published run who hold no seat in the cycle now.
fn unplaced(
    conn: &mut DbConn,
    university: UniversityId,
    cycle_id: CycleId,
    run: MatchRunId,
) -> Result<(Vec<Unplaced>, i64), DomainError> {
    type Row = (String, String, Option<String>);
    let (rows, total): (Vec<Row>, i64) = dispatch!(conn, |c| {
        let filtered = || {
            let seated = placements::table
                .filter(placements::cycle_id.eq(cycle_id))
                .filter(placements::status.eq_any(PlacementStatus::HOLDING_A_SEAT))
                .select(placements::student_id);
            match_assignments::table
                .inner_join(students::table.on(students::id.eq(match_assignments::student_id)))
                .filter(match_assignments::run_id.eq(run))
                .filter(students::university_id.eq(university))
                .filter(students::id.ne_all(seated))
                .into_boxed()
        };
        let total: i64 = filtered().count().get_result(c)?;
        let rows: Vec<Row> = filtered()
            .select((
                students::name,
                students::student_number,
                match_assignments::unmatched_reason,
            ))
            .order(students::student_number)
            .limit(UNPLACED_SHOWN)
            .load(c)?;
        Ok::<_, diesel::result::Error>((rows, total))
    })?;
    let base_names: HashMap<BaseId, String> = dispatch!(conn, |c| bases::table
        .select((bases::id, bases::name))
        .load::<(BaseId, String)>(c))?
    .into_iter()
    .collect();
    let students = rows
        .into_iter()
        .map(|(name, number, reason)| {
            let refusals: Vec<BaseRefusal> = reason
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(DomainError::internal)?
                .unwrap_or_default();
            Ok(Unplaced {
                name,
                number,
                refusals: refusals
                    .into_iter()
                    .map(|refusal| {
                        let base = base_names
                            .get(&refusal.base_id)
                            .cloned()
                            .unwrap_or_default();
                        (base, refusal)
                    })
                    .collect(),
            })
        })
        .collect::<Result<Vec<_>, DomainError>>()?;
    Ok((students, total))
}
