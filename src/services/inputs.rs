//! A cycle's matching inputs (applications, rankings, seats, programs) carry a version, so
//! that a run made before the last change is known to be stale.

use crate::db::schema::cycles;
use crate::db::DbConn;
use crate::dispatch;
use crate::domain::{CycleId, Timestamp};
use diesel::prelude::*;

/// Records that an input of the cycle changed.
pub fn touch(conn: &mut DbConn, cycle: CycleId) -> QueryResult<()> {
    let now = Timestamp::now();
    dispatch!(conn, |c| diesel::update(cycles::table.find(cycle))
        .set((
            cycles::inputs_version.eq(cycles::inputs_version + 1),
            cycles::inputs_changed_at.eq(now),
        ))
        .execute(c))?;
    Ok(())
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
