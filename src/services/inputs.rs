//! A cycle's matching inputs (applications, rankings, seats, programs) carry a version, so
//! that a run made before the last change is known to be stale.
//!
//! The version is the count of changes on the cycle's row (`inputs_version`) plus the
//! changes counted apart, in slots of `cycle_input_counts`. On PostgreSQL a change of one
//! cycle's inputs ([`touch`]: a list, a ranking, seats) takes the cycle's row in key-share
//! mode, refuses once the match is published, and adds one to a slot picked at random;
//! changes to every unpublished cycle at once (a base's programs, a student's score) count
//! on the cycles' rows. A publish takes the cycle's row FOR UPDATE before it compares the
//! version with the run's. That lock waits for every transaction holding the row in any
//! mode, and a change arriving later waits for the publish and then finds the cycle
//! published; so of a publish and a change running together exactly one order wins: the
//! publish sees the change and refuses as stale, or the change finds the cycle published.
//! Key-share holders do not block each other, and each locks only its own slot, so list
//! submissions commit side by side instead of queueing on the one row. Every such
//! transaction takes the cycle before anything else (and a publish then the seats), so
//! none of them deadlock. SQLite has a single writer, which orders them all by itself:
//! there every change counts on the cycle's row.

use crate::db::models::Cycle;
use crate::db::schema::{applications, cycle_input_counts, cycles};
use crate::db::DbConn;
use crate::dispatch;
use crate::domain::{CycleId, MatchRunId, StudentId};
use diesel::dsl::sum;
use diesel::prelude::*;
use rand::Rng;

/// Slots a cycle's changes are counted in: more than the connections that write at once.
const SLOTS: i32 = 64;

/// Records that an input of the cycle changed, unless its match is published. Answers
/// whether the change was counted: `false` means the cycle is published (or gone), and the
/// caller refuses the change or, where the change still matters after publication (seats
/// for the second round), goes on knowing no run is affected.
pub fn touch(conn: &mut DbConn, cycle: CycleId) -> QueryResult<bool> {
    let c = match conn {
        DbConn::Pg(c) => c,
        // SQLite's one writer orders the changes by itself: they count on the cycle's row.
        DbConn::Sqlite(c) => {
            let counted = diesel::update(
                cycles::table
                    .find(cycle)
                    .filter(cycles::published_run_id.is_null()),
            )
            .set(cycles::inputs_version.eq(cycles::inputs_version + 1))
            .execute(&mut **c)?;
            return Ok(counted == 1);
        }
    };
    let published: Option<Option<MatchRunId>> = cycles::table
        .find(cycle)
        .select(cycles::published_run_id)
        .for_key_share()
        .first(&mut **c)
        .optional()?;
    if published != Some(None) {
        return Ok(false);
    }
    let slot = rand::thread_rng().gen_range(0..SLOTS);
    diesel::insert_into(cycle_input_counts::table)
        .values((
            cycle_input_counts::cycle_id.eq(cycle),
            cycle_input_counts::slot.eq(slot),
            cycle_input_counts::changes.eq(1),
        ))
        .on_conflict((cycle_input_counts::cycle_id, cycle_input_counts::slot))
        .do_update()
        .set(cycle_input_counts::changes.eq(cycle_input_counts::changes + 1))
        .execute(&mut **c)?;
    Ok(true)
}

/// The version of the cycle's inputs, its row as read in `cycle` plus the changes counted
/// apart as they stand now.
pub fn version(conn: &mut DbConn, cycle: &Cycle) -> QueryResult<i64> {
    let counted: Option<i64> = dispatch!(conn, |c| cycle_input_counts::table
        .filter(cycle_input_counts::cycle_id.eq(cycle.id))
        .select(sum(cycle_input_counts::changes))
        .first(c))?;
    Ok(cycle.row_input_changes + counted.unwrap_or(0))
}

/// Takes the cycle's row for a publish: it waits for every change holding the row, and
/// holds off those that come later until the publish commits. Answers the cycle as it
/// stands then, or `None` when it is gone.
pub fn claim(conn: &mut DbConn, cycle: CycleId) -> QueryResult<Option<Cycle>> {
    match conn {
        DbConn::Pg(c) => cycles::table
            .find(cycle)
            .select(Cycle::as_select())
            .for_update()
            .first(&mut **c)
            .optional(),
        DbConn::Sqlite(c) => cycles::table
            .find(cycle)
            .select(Cycle::as_select())
            .first(&mut **c)
            .optional(),
    }
}

/// Records that an input of every cycle not yet published changed (a base's programs or
/// its active flag, say).
pub fn touch_unpublished(conn: &mut DbConn) -> QueryResult<()> {
    dispatch!(conn, |c| diesel::update(
        cycles::table.filter(cycles::published_run_id.is_null())
    )
    .set(cycles::inputs_version.eq(cycles::inputs_version + 1))
    .execute(c))?;
    Ok(())
}

/// Records that an input changed in every cycle not yet published where the student has
/// applied: the score orders the student among each base's applicants it has not ranked.
pub fn touch_applied(conn: &mut DbConn, student: StudentId) -> QueryResult<()> {
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
    .set(cycles::inputs_version.eq(cycles::inputs_version + 1))
    .execute(c))?;
    Ok(())
}
