//! A cycle's matching inputs (applications, rankings, seats, programs) carry a version, so
//! that a run made before the last change is known to be stale.
//!
//! Publishing and every input change serialise on the cycle's row: a change bumps the
//! version with a conditional update before it writes anything else, and a publish sets
//! the published run only where the version is still the run's. On PostgreSQL the update
//! waits for the row while the other transaction holds it and is then evaluated against
//! what that transaction committed, so of a publish and a change running together exactly
//! one order wins: the publish sees the change and refuses as stale, or the change finds
//! the cycle published. Taking the row first also keeps the lock order of every such
//! transaction the same as the publish's (cycle, then seats), so none of them deadlock.

use crate::db::schema::{applications, cycles};
use crate::db::DbConn;
use crate::dispatch;
use crate::domain::{CycleId, StudentId, Timestamp};
use diesel::prelude::*;

/// Records that an input of the cycle changed, unless its match is published. Answers
/// whether the version moved: `false` means the cycle is published (or gone), and the
/// caller refuses the change or, where the change still matters after publication (seats
/// for the second round), goes on knowing no run is affected.
pub fn touch(conn: &mut DbConn, cycle: CycleId) -> QueryResult<bool> {
    let now = Timestamp::now();
    let updated = dispatch!(conn, |c| diesel::update(
        cycles::table
            .find(cycle)
            .filter(cycles::published_run_id.is_null())
    )
    .set((
        cycles::inputs_version.eq(cycles::inputs_version + 1),
        cycles::inputs_changed_at.eq(now),
    ))
    .execute(c))?;
    Ok(updated == 1)
}

/// Records that an input of every cycle not yet published changed (a base's programs or
/// its active flag, say).
pub fn touch_unpublished(conn: &mut DbConn) -> QueryResult<()> {
    let now = Timestamp::now();
    dispatch!(conn, |c| diesel::update(
        cycles::table.filter(cycles::published_run_id.is_null())
    )
    .set((
        cycles::inputs_version.eq(cycles::inputs_version + 1),
        cycles::inputs_changed_at.eq(now),
    ))
    .execute(c))?;
    Ok(())
}

/// Records that an input changed in every cycle not yet published where the student has
/// applied: the score orders the student among each base's applicants it has not ranked.
pub fn touch_applied(conn: &mut DbConn, student: StudentId) -> QueryResult<()> {
    let now = Timestamp::now();
    dispatch!(conn, |c| diesel::update(
        cycles::table
            .filter(cycles::published_run_id.is_null())
            .filter(
                cycles::id.eq_any(
                    applications::table
                        .filter(applications::student_id.eq(student))
                        .select(applications::cycle_id)
                )
            )
    )
    .set((
        cycles::inputs_version.eq(cycles::inputs_version + 1),
        cycles::inputs_changed_at.eq(now),
    ))
    .execute(c))?;
    Ok(())
}
