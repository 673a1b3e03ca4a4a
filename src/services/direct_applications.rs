//! The second round: once a cycle's match is published, an unplaced student applies directly
//! to a base that still has a free seat and accepts the student's program.

use crate::auth::Caller;
use crate::db::lookup;
use crate::db::models::DirectApplicationRow;
use crate::db::schema::*;
use crate::db::Database;
use crate::dispatch;
use crate::domain::*;
use diesel::prelude::*;

/// The calling student applies to a base in the cycle's second round.
pub async fn apply(
    db: &Database,
    caller: &Caller,
    cycle_id: CycleId,
    base_id: BaseId,
) -> Result<DirectApplicationRow, DomainError> {
    caller.require_role(&[Role::Student])?;
    let student_id = caller
        .student_id
        .ok_or_else(|| DomainError::Forbidden("only students apply".into()))?;
    db.write(move |conn| {
        let cycle = lookup::cycle(conn, cycle_id)?;
        if cycle.published_run_id.is_none() {
            return Err(DomainError::Conflict(
                Conflict::SecondRoundNotOpen,
                "the second round opens when the cycle's match is published".into(),
            ));
        }
        let student = lookup::student(conn, student_id)?;
        let placed: i64 = dispatch!(conn, |c| placements::table
            .filter(placements::cycle_id.eq(cycle_id))
            .filter(placements::student_id.eq(student_id))
            .filter(placements::status.eq_any(PlacementStatus::HOLDING_A_SEAT))
            .count()
            .get_result(c))?;
        if placed > 0 {
            return Err(DomainError::Conflict(
                Conflict::AlreadyPlaced,
                "the student already holds a placement in this cycle".into(),
            ));
        }
        let base = dispatch!(conn, |c| bases::table
            .left_join(
                cycle_seats::table.on(cycle_seats::base_id
                    .eq(bases::id)
                    .and(cycle_seats::cycle_id.eq(cycle_id))),
            )
            .filter(bases::id.eq(base_id))
            .select((
                bases::active,
                cycle_seats::seats.nullable(),
                cycle_seats::taken.nullable()
            ))
            .first::<(bool, Option<i32>, Option<i32>)>(c)
            .optional())?;
        let accepts: i64 = dispatch!(conn, |c| base_programs::table
            .filter(base_programs::base_id.eq(base_id))
            .filter(base_programs::program_id.eq(student.program_id))
            .count()
            .get_result(c))?;
        let problem = match base {
            None => Some("no such base"),
            Some((false, _, _)) => Some("the base is not taking interns (inactive)"),
            Some((true, Some(seats), Some(taken))) if taken < seats && accepts == 0 => {
                Some("the base does not accept the student's program")
            }
            Some((true, Some(seats), Some(taken))) if taken < seats => None,
            Some(_) => Some("the base has no free seat in this cycle"),
        };
        if let Some(message) = problem {
            return Err(DomainError::invalid("base_id", message));
        }
        let row = DirectApplicationRow {
            id: DirectApplicationId::generate(),
            cycle_id,
            student_id,
            base_id,
            status: DirectApplicationStatus::Pending,
            placement_id: None,
            decided_by: None,
            decided_at: None,
            reason: None,
            created_at: Timestamp::now(),
        };
        let inserted = dispatch!(conn, |c| diesel::insert_into(direct_applications::table)
            .values(&row)
            .execute(c));
        match inserted {
            Ok(_) => Ok(row),
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => Err(DomainError::Conflict(
                Conflict::DuplicateDirectApplication,
                "the student already has a pending application to this base".into(),
            )),
            Err(other) => Err(other.into()),
        }
    })
    .await
}
