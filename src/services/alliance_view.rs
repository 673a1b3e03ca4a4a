//! What the alliance admin's page shows, each part read with a few set-based queries: the
//! runs of a cycle with their figures, the unmatched students of one run with the engine's
//! reasons, and the seats of every base.

use crate::db::models::{Cycle, MatchRunRow};
use crate::db::schema::{bases, cycle_seats, match_assignments, match_runs, students};
use crate::db::DbConn;
use crate::dispatch;
use crate::domain::*;
use crate::services::match_runs::is_stale;
use diesel::prelude::*;
use std::collections::HashMap;

/// The most runs the page compares.
pub const RUNS_SHOWN: i64 = 12;

/// One run with its figures.
pub struct RunLine {
    pub row: MatchRunRow,
    pub stats: RunStats,
    pub stale: bool,
}

/// The cycle's latest runs, newest first.
pub fn runs(conn: &mut DbConn, cycle: &Cycle) -> Result<Vec<RunLine>, DomainError> {
    let cycle_id = cycle.id;
    let rows: Vec<MatchRunRow> = dispatch!(conn, |c| match_runs::table
        .filter(match_runs::cycle_id.eq(cycle_id))
        .select(MatchRunRow::as_select())
        .order((match_runs::created_at.desc(), match_runs::id))
        .limit(RUNS_SHOWN)
        .load(c))?;
    let version = crate::services::inputs::version(conn, cycle)?;
    rows.into_iter()
        .map(|row| {
            let stats: RunStats =
                serde_json::from_str(&row.stats).map_err(DomainError::internal)?;
            Ok(RunLine {
                stale: is_stale(&row, version),
                stats,
                row,
            })
        })
        .collect()
}

/// A student the run left without a base, and why each listed base did not take them.
pub struct Unmatched {
    pub name: String,
    pub student_number: String,
    pub refusals: Vec<(String, BaseRefusal)>,
}

/// The unmatched students of a run, by name, at most `limit`; and how many there are.
pub fn unmatched(
    conn: &mut DbConn,
    run: MatchRunId,
    limit: i64,
) -> Result<(Vec<Unmatched>, i64), DomainError> {
    let (rows, total): (Vec<(StudentId, Option<String>)>, i64) = dispatch!(conn, |c| {
        let total: i64 = match_assignments::table
            .filter(match_assignments::run_id.eq(run))
            .filter(match_assignments::base_id.is_null())
            .count()
            .get_result(c)?;
        let rows = match_assignments::table
            .filter(match_assignments::run_id.eq(run))
            .filter(match_assignments::base_id.is_null())
            .select((
                match_assignments::student_id,
                match_assignments::unmatched_reason,
            ))
            .order(match_assignments::student_id)
            .limit(limit)
            .load(c)?;
        (rows, total)
    });
    let ids: Vec<StudentId> = rows.iter().map(|(id, _)| *id).collect();
    let people: HashMap<StudentId, (String, String)> = dispatch!(conn, |c| students::table
        .filter(students::id.eq_any(&ids))
        .select((students::id, students::name, students::student_number))
        .load::<(StudentId, String, String)>(c))?
    .into_iter()
    .map(|(id, name, number)| (id, (name, number)))
    .collect();
    let mut parsed = Vec::with_capacity(rows.len());
    for (student, reason) in rows {
        let refusals: Vec<BaseRefusal> = reason
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(DomainError::internal)?
            .unwrap_or_default();
        parsed.push((student, refusals));
    }
    let base_ids: Vec<BaseId> = parsed
        .iter()
        .flat_map(|(_, refusals)| refusals.iter().map(|r| r.base_id))
        .collect();
    let names: HashMap<BaseId, String> = dispatch!(conn, |c| bases::table
        .filter(bases::id.eq_any(&base_ids))
        .select((bases::id, bases::name))
        .load::<(BaseId, String)>(c))?
    .into_iter()
    .collect();
    let mut lines: Vec<Unmatched> = parsed
        .into_iter()
        .map(|(student, refusals)| {
            let (name, student_number) = people.get(&student).cloned().unwrap_or_default();
            Unmatched {
                name,
                student_number,
                refusals: refusals
                    .into_iter()
                    .map(|r| (names.get(&r.base_id).cloned().unwrap_or_default(), r))
                    .collect(),
            }
        })
        .collect();
    lines.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((lines, total))
}

/// A base and its seats in the cycle; `None` when it has none set.
pub struct SeatLine {
    pub base_id: BaseId,
    pub name: String,
    pub city: String,
    pub active: bool,
    pub seats: Option<i32>,
    pub taken: i32,
}

/// Every base with its seats in the cycle, by name.
pub fn seats(conn: &mut DbConn, cycle: CycleId) -> Result<Vec<SeatLine>, DomainError> {
    let all: Vec<(BaseId, String, String, bool)> = dispatch!(conn, |c| bases::table
        .select((bases::id, bases::name, bases::city, bases::active))
        .order((bases::name, bases::id))
        .load(c))?;
    let set: HashMap<BaseId, (i32, i32)> = dispatch!(conn, |c| cycle_seats::table
        .filter(cycle_seats::cycle_id.eq(cycle))
        .select((cycle_seats::base_id, cycle_seats::seats, cycle_seats::taken))
        .load::<(BaseId, i32, i32)>(c))?
    .into_iter()
    .map(|(base, seats, taken)| (base, (seats, taken)))
    .collect();
    Ok(all
        .into_iter()
        .map(|(base_id, name, city, active)| {
            let stored = set.get(&base_id).copied();
            SeatLine {
                base_id,
                name,
                city,
                active,
                seats: stored.map(|(seats, _)| seats),
                taken: stored.map_or(0, |(_, taken)| taken),
            }
        })
        .collect())
}
