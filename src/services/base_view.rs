//! What the base coordinator's page shows: the base, its seats in the cycle, its applicants
//! in the base's order, its placements and the direct applications it received. Read in a
//! few set-based queries, whatever the number of applicants.

use crate::db::lookup;
use crate::db::models::{Base, Cycle};
use crate::db::schema::*;
use crate::db::DbConn;
use crate::dispatch;
use crate::domain::*;
use diesel::prelude::*;
use std::cmp::Ordering;
use std::collections::HashMap;

/// Everything the coordinator's page shows of a base in a cycle.
#[derive(Debug)]
pub struct BaseView {
    pub base: Base,
    /// The seats and the seats taken in the cycle; none when no cycle is shown.
    pub seats: Option<SeatCount>,
    /// The students who listed the base, in the base's order.
    pub applicants: Vec<Applicant>,
    /// The base's placements in the cycle, oldest first.
    pub placements: Vec<PlacementLine>,
    /// The second round's applications to the base, pending ones first.
    pub direct_applications: Vec<DirectLine>,
}

/// A base's seats in a cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeatCount {
    pub seats: i32,
    pub taken: i32,
}

impl SeatCount {
    pub fn free(self) -> i32 {
        (self.seats - self.taken).max(0)
    }
}

/// Who a row is about.
#[derive(Debug, Clone)]
pub struct StudentLine {
    pub id: StudentId,
    pub name: String,
    pub university: String,
    pub program: String,
}

/// A student who listed the base.
#[derive(Debug, Clone)]
pub struct Applicant {
    pub student: StudentLine,
    pub score: Option<f64>,
    /// Where the student put the base in their list, 1 for the first choice.
    pub choice: i32,
    /// The student's place in the base's stored ranking, if the base ranked them.
    pub ranked: Option<i32>,
}

/// A placement at the base.
#[derive(Debug, Clone)]
pub struct PlacementLine {
    pub id: PlacementId,
    pub student: StudentLine,
    pub status: PlacementStatus,
    pub updated_at: Timestamp,
}

/// A direct application to the base.
#[derive(Debug, Clone)]
pub struct DirectLine {
    pub id: DirectApplicationId,
    pub student: StudentLine,
    pub status: DirectApplicationStatus,
    pub created_at: Timestamp,
}

type StudentColumns = (StudentId, String, String, String);

fn student_line((id, name, university, program): StudentColumns) -> StudentLine {
    StudentLine {
        id,
        name,
        university,
        program,
    }
}

/// Loads the page of a base in a cycle; without a cycle, only the base.
pub fn load(
    conn: &mut DbConn,
    base_id: BaseId,
    cycle: Option<&Cycle>,
) -> Result<BaseView, DomainError> {
    let base = lookup::base(conn, base_id)?;
    let Some(cycle) = cycle else {
        return Ok(BaseView {
            base,
            seats: None,
            applicants: Vec::new(),
            placements: Vec::new(),
            direct_applications: Vec::new(),
        });
    };
    let cycle_id = cycle.id;
    let seats: Option<(i32, i32)> = dispatch!(conn, |c| cycle_seats::table
        .find((cycle_id, base_id))
        .select((cycle_seats::seats, cycle_seats::taken))
        .first(c)
        .optional())?;
    Ok(BaseView {
        base,
        seats: Some(
            seats.map_or(SeatCount { seats: 0, taken: 0 }, |(seats, taken)| {
                SeatCount { seats, taken }
            }),
        ),
        applicants: applicants(conn, cycle_id, base_id)?,
        placements: placements(conn, cycle_id, base_id)?,
        direct_applications: direct_applications(conn, cycle_id, base_id)?,
    })
}

/// The students who listed the base: first as the base ranked them, then by score (highest
/// first, none last), then by name.
fn applicants(
    conn: &mut DbConn,
    cycle_id: CycleId,
    base_id: BaseId,
) -> Result<Vec<Applicant>, DomainError> {
    let rows: Vec<(StudentColumns, Option<f64>, i32)> =
        dispatch!(conn, |c| application_preferences::table
            .inner_join(
                applications::table.inner_join(
                    students::table
                        .inner_join(universities::table)
                        .inner_join(programs::table)
                ),
            )
            .filter(applications::cycle_id.eq(cycle_id))
            .filter(application_preferences::base_id.eq(base_id))
            .select((
                (
                    students::id,
                    students::name,
                    universities::name,
                    programs::code
                ),
                students::score,
                application_preferences::position,
            ))
            .load(c))?;
    let ranking: HashMap<StudentId, i32> = dispatch!(conn, |c| base_rankings::table
        .filter(base_rankings::cycle_id.eq(cycle_id))
        .filter(base_rankings::base_id.eq(base_id))
        .select((base_rankings::student_id, base_rankings::position))
        .load::<(StudentId, i32)>(c))?
    .into_iter()
    .collect();
    let mut applicants: Vec<Applicant> = rows
        .into_iter()
        .map(|(student, score, choice)| {
            let student = student_line(student);
            Applicant {
                ranked: ranking.get(&student.id).copied(),
                student,
                score,
                choice,
            }
        })
        .collect();
    applicants.sort_by(base_order);
    Ok(applicants)
}

fn base_order(a: &Applicant, b: &Applicant) -> Ordering {
    let by_rank = match (a.ranked, b.ranked) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    let by_score = match (a.score, b.score) {
        (Some(x), Some(y)) => y.total_cmp(&x),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    by_rank
        .then(by_score)
        .then_with(|| a.student.name.cmp(&b.student.name))
        .then_with(|| a.student.id.cmp(&b.student.id))
}

fn placements(
    conn: &mut DbConn,
    cycle_id: CycleId,
    base_id: BaseId,
) -> Result<Vec<PlacementLine>, DomainError> {
    placement_lines(conn, base_id, Some(cycle_id), None)
}

/// One placement at the base, whatever its cycle; not found when it is another base's.
pub fn placement(
    conn: &mut DbConn,
    base_id: BaseId,
    id: PlacementId,
) -> Result<PlacementLine, DomainError> {
    placement_lines(conn, base_id, None, Some(id))?
        .pop()
        .ok_or_else(|| DomainError::not_found("placement"))
}

fn placement_lines(
    conn: &mut DbConn,
    base_id: BaseId,
    cycle_id: Option<CycleId>,
    id: Option<PlacementId>,
) -> Result<Vec<PlacementLine>, DomainError> {
    let rows: Vec<(PlacementId, StudentColumns, PlacementStatus, Timestamp)> =
        dispatch!(conn, |c| {
            let mut query = placements::table
                .inner_join(
                    students::table
                        .inner_join(universities::table)
                        .inner_join(programs::table),
                )
                .filter(placements::base_id.eq(base_id))
                .into_boxed();
            if let Some(cycle_id) = cycle_id {
                query = query.filter(placements::cycle_id.eq(cycle_id));
            }
            if let Some(id) = id {
                query = query.filter(placements::id.eq(id));
            }
            query
                .order((placements::created_at, placements::id))
                .select((
                    placements::id,
                    (
                        students::id,
                        students::name,
                        universities::name,
                        programs::code,
                    ),
                    placements::status,
                    placements::updated_at,
                ))
                .load(c)
        })?;
    rows.into_iter()
        .map(|(id, student, status, updated_at)| {
            Ok(PlacementLine {
                id,
                student: student_line(student),
                status,
                updated_at,
            })
        })
        .collect()
}

fn direct_applications(
    conn: &mut DbConn,
    cycle_id: CycleId,
    base_id: BaseId,
) -> Result<Vec<DirectLine>, DomainError> {
    let rows: Vec<(
        DirectApplicationId,
        StudentColumns,
        DirectApplicationStatus,
        Timestamp,
    )> = dispatch!(conn, |c| direct_applications::table
        .inner_join(
            students::table
                .inner_join(universities::table)
                .inner_join(programs::table)
        )
        .filter(direct_applications::cycle_id.eq(cycle_id))
        .filter(direct_applications::base_id.eq(base_id))
        .order((direct_applications::created_at, direct_applications::id))
        .select((
            direct_applications::id,
            (
                students::id,
                students::name,
                universities::name,
                programs::code
            ),
            direct_applications::status,
            direct_applications::created_at,
        ))
        .load(c))?;
    let mut lines = rows
        .into_iter()
        .map(|(id, student, status, created_at)| {
            Ok(DirectLine {
                id,
                student: student_line(student),
                status,
                created_at,
            })
        })
        .collect::<Result<Vec<_>, DomainError>>()?;
    // Pending ones first, each group oldest first: the stable sort keeps the date order.
    lines.sort_by_key(|line| line.status != DirectApplicationStatus::Pending);
    Ok(lines)
}
