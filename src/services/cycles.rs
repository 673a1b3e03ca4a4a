//! Placement cycles: which one people work in now, and opening or changing one.

use crate::auth::Caller;
use crate::db::lookup;
use crate::db::models::{Cycle, CycleChanges};
use crate::db::schema::cycles;
use crate::db::{Database, DbConn};
use crate::dispatch;
use crate::domain::*;
use chrono::NaiveDate;
use diesel::prelude::*;

/// The fields of a new cycle, each already valid on its own.
#[derive(Debug, Clone)]
pub struct NewCycle {
    pub name: String,
    pub applications_open_at: Timestamp,
    pub applications_close_at: Timestamp,
    pub max_preferences: i32,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
}

/// The fields of a cycle to change; `None` keeps what is stored.
#[derive(Debug, Clone, Default)]
pub struct CycleEdit {
    pub name: Option<String>,
    pub applications_open_at: Option<Timestamp>,
    pub applications_close_at: Option<Timestamp>,
    pub max_preferences: Option<i32>,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
}

/// Checks the rules between a cycle's fields.
fn check(cycle: &Cycle) -> Result<(), DomainError> {
    let mut errors = Vec::new();
    if cycle.applications_close_at <= cycle.applications_open_at {
        errors.push(FieldError::new(
            "applications_close_at",
            "must be after applications_open_at",
        ));
    }
    if cycle.ends_on < cycle.starts_on {
        errors.push(FieldError::new("ends_on", "must not be before starts_on"));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(DomainError::invalid_fields(errors))
    }
}

fn refuse_taken_name(
    conn: &mut DbConn,
    name: &str,
    except: Option<CycleId>,
) -> Result<(), DomainError> {
    let other: Option<CycleId> = dispatch!(conn, |c| cycles::table
        .filter(cycles::name.eq(name))
        .select(cycles::id)
        .first(c)
        .optional())?;
    if other.is_some() && other != except {
        return Err(DomainError::Conflict(
            Conflict::CycleNameTaken,
            format!("a cycle named {name} exists"),
        ));
    }
    Ok(())
}

/// Opens a new cycle (alliance admin).
pub async fn create(
    db: &Database,
    caller: &Caller,
    fields: NewCycle,
) -> Result<Cycle, DomainError> {
    caller.require_alliance_admin()?;
    let now = Timestamp::now();
    let row = Cycle {
        id: CycleId::generate(),
        name: fields.name.trim().to_owned(),
        applications_open_at: fields.applications_open_at,
        applications_close_at: fields.applications_close_at,
        max_preferences: fields.max_preferences,
        starts_on: fields.starts_on,
        ends_on: fields.ends_on,
        row_input_changes: 0,
        published_run_id: None,
        created_at: now,
        updated_at: now,
    };
    check(&row)?;
    db.write(move |conn| {
        refuse_taken_name(conn, &row.name, None)?;
        dispatch!(conn, |c| diesel::insert_into(cycles::table)
            .values(&row)
            .execute(c))?;
        Ok(row)
    })
    .await
}

/// Changes a cycle (alliance admin); a new preference limit marks its runs stale.
pub async fn update(
    db: &Database,
    caller: &Caller,
    id: CycleId,
    edit: CycleEdit,
) -> Result<Cycle, DomainError> {
    caller.require_alliance_admin()?;
    db.write(move |conn| {
        let mut merged = lookup::cycle(conn, id)?;
        let now = Timestamp::now();
        if let Some(name) = &edit.name {
            merged.name = name.trim().to_owned();
            refuse_taken_name(conn, &merged.name, Some(id))?;
        }
        merged.applications_open_at = edit
            .applications_open_at
            .unwrap_or(merged.applications_open_at);
        merged.applications_close_at = edit
            .applications_close_at
            .unwrap_or(merged.applications_close_at);
        merged.max_preferences = edit.max_preferences.unwrap_or(merged.max_preferences);
        merged.starts_on = edit.starts_on.unwrap_or(merged.starts_on);
        merged.ends_on = edit.ends_on.unwrap_or(merged.ends_on);
        merged.updated_at = now;
        check(&merged)?;
        let changes = CycleChanges {
            name: Some(merged.name.clone()),
            applications_open_at: Some(merged.applications_open_at),
            applications_close_at: Some(merged.applications_close_at),
            max_preferences: Some(merged.max_preferences),
            starts_on: Some(merged.starts_on),
            ends_on: Some(merged.ends_on),
            updated_at: Some(now),
        };
        dispatch!(conn, |c| diesel::update(cycles::table.find(id))
            .set(&changes)
            .execute(c))?;
        // After publication the limit governs nothing a run reads.
        if edit.max_preferences.is_some() {
            crate::services::inputs::touch(conn, id)?;
        }
        lookup::cycle(conn, id)
    })
    .await
}

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
