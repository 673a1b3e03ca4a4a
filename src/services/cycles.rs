//! Which cycle the pages show.

use crate::db::models::Cycle;
use crate::db::schema::cycles;
use crate::db::DbConn;
use crate::dispatch;
use crate::domain::*;
use diesel::prelude::*;

/// The cycle people work in now: the one whose application window is open (the one closing
/// first, should two be open), else the one whose window closed last, else the next to open.
pub fn current(conn: &mut DbConn) -> Result<Option<Cycle>, DomainError> {
    let now = Timestamp::now();
    let open: Option<Cycle> = dispatch!(conn, |c| cycles::table
        .filter(cycles::applications_open_at.le(now))
        .filter(cycles::applications_close_at.gt(now))
        .order(cycles::applications_close_at.asc())
        .select(Cycle::as_select())
        .first(c)
        .optional())?;
    if open.is_some() {
        return Ok(open);
    }
    let closed: Option<Cycle> = dispatch!(conn, |c| cycles::table
        .filter(cycles::applications_close_at.le(now))
        .order(cycles::applications_close_at.desc())
        .select(Cycle::as_select())
        .first(c)
        .optional())?;
    if closed.is_some() {
        return Ok(closed);
    }
    Ok(dispatch!(conn, |c| cycles::table
        .order(cycles::applications_open_at.asc())
        .select(Cycle::as_select())
        .first(c)
        .optional())?)
}
