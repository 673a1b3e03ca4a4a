//! The counting: the database does it, in a handful of grouped queries per request, so
//! that what placemat itself reads and holds grows with the number of groups, not with the
//! number of applications or placements. The applicants of flows are the exception: a flow
//! counts each application once per host university, which the database does by sorting
//! every listing, so placemat counts them itself in one pass over the cycle's preferences,
//! read row by row in application order, holding only the counts and the bases' hosts.

use super::{Group, GroupBy, Measures, PlacementStats, StatsRow};
use crate::db::lookup;
use crate::db::schema::*;
use crate::db::{read_transaction, DbConn};
use crate::domain::*;
use crate::{dispatch, dispatch_rows};
use diesel::dsl::{count_star, sum};
use diesel::prelude::*;
use std::collections::{BTreeMap, HashMap};

/// The students the counts are limited to: the caller's scope and the filters asked for.
#[derive(Debug, Clone, Copy)]
pub struct StudentScope {
    pub university: Option<UniversityId>,
    pub program: Option<ProgramId>,
}

impl StudentScope {
    /// Every student of the alliance.
    pub const EVERYONE: StudentScope = StudentScope {
        university: None,
        program: None,
    };
}

/// Adds the student scope to a boxed query of `applications` or `placements`: each row
/// carries its student's university and program, so no query reads the students.
macro_rules! within {
    ($query:expr, $table:ident, $scope:expr) => {{
        let mut query = $query;
        if let Some(university) = $scope.university {
            query = query.filter($table::university_id.eq(university));
        }
        if let Some(program) = $scope.program {
            query = query.filter($table::program_id.eq(program));
        }
        query
    }};
}

/// Applicants and placements by status of one group, before seats are known.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    applicants: i64,
    offered: i64,
    confirmed: i64,
    declined: i64,
    withdrawn: i64,
    completed: i64,
}

impl Counts {
    fn add_placements(&mut self, status: PlacementStatus, count: i64) {
        let slot = match status {
            PlacementStatus::Offered => &mut self.offered,
            PlacementStatus::Confirmed => &mut self.confirmed,
            PlacementStatus::Declined => &mut self.declined,
            PlacementStatus::Withdrawn => &mut self.withdrawn,
            PlacementStatus::Completed => &mut self.completed,
        };
        *slot += count;
    }

    fn measures(self, seats: Option<i64>) -> Measures {
        // Placements that hold a seat fill it; declined and withdrawn ones gave it back.
        let holding = self.offered + self.confirmed + self.completed;
        Measures {
            applicants: self.applicants,
            offered: self.offered,
            confirmed: self.confirmed,
            declined: self.declined,
            withdrawn: self.withdrawn,
            completed: self.completed,
            seats,
            fill_rate: seats
                .filter(|&seats| seats > 0)
                .map(|seats| holding as f64 / seats as f64),
        }
    }
}

/// Merges the grouped counts of applicants and of placements by status, by group key.
fn tally<K: Ord>(
    applicants: Vec<(K, i64)>,
    placements: Vec<(K, PlacementStatus, i64)>,
) -> Result<BTreeMap<K, Counts>, DomainError> {
    let mut groups: BTreeMap<K, Counts> = BTreeMap::new();
    for (key, count) in applicants {
        groups.entry(key).or_default().applicants = count;
    }
    for (key, status, count) in placements {
        groups.entry(key).or_default().add_placements(status, count);
    }
    Ok(groups)
}

fn unnamed(what: &str) -> DomainError {
    DomainError::Internal(anyhow::anyhow!("a counted {what} has no record"))
}

/// Code and name of every university (a handful: the alliance's members).
fn university_names(
    conn: &mut DbConn,
) -> Result<HashMap<UniversityId, (String, String)>, DomainError> {
    let rows: Vec<(UniversityId, String, String)> = dispatch!(conn, |c| universities::table
        .select((universities::id, universities::code, universities::name))
        .load(c))?;
    Ok(rows
        .into_iter()
        .map(|(id, code, name)| (id, (code, name)))
        .collect())
}

/// The host university of every base, by code and name: what the statistics of bases add up
/// to per host (a few hundred rows, one query).
pub fn base_hosts(conn: &mut DbConn) -> Result<HashMap<BaseId, (String, String)>, DomainError> {
    let rows: Vec<(BaseId, String, String)> = dispatch!(conn, |c| bases::table
        .inner_join(universities::table)
        .select((bases::id, universities::code, universities::name))
        .load(c))?;
    Ok(rows
        .into_iter()
        .map(|(id, code, name)| (id, (code, name)))
        .collect())
}

fn by_university(
    conn: &mut DbConn,
    cycle: CycleId,
    scope: StudentScope,
) -> Result<Vec<StatsRow>, DomainError> {
    let applicants: Vec<(UniversityId, i64)> = dispatch!(conn, |c| within!(
        applications::table
            .filter(applications::cycle_id.eq(cycle))
            .group_by(applications::university_id)
            .select((applications::university_id, count_star()))
            .into_boxed(),
        applications,
        scope
    )
    .load(c))?;
    let placed: Vec<(UniversityId, PlacementStatus, i64)> = dispatch!(conn, |c| within!(
        placements::table
            .filter(placements::cycle_id.eq(cycle))
            .group_by((placements::university_id, placements::status))
            .select((placements::university_id, placements::status, count_star()))
            .into_boxed(),
        placements,
        scope
    )
    .load(c))?;
    let names = university_names(conn)?;
    tally(applicants, placed)?
        .into_iter()
        .map(|(id, counts)| {
            let (code, name) = names.get(&id).ok_or_else(|| unnamed("university"))?;
            Ok(StatsRow {
                group: Group::University {
                    university_id: id,
                    university_code: code.clone(),
                    university_name: name.clone(),
                },
                measures: counts.measures(None),
            })
        })
        .collect()
}

fn by_program(
    conn: &mut DbConn,
    cycle: CycleId,
    scope: StudentScope,
) -> Result<Vec<StatsRow>, DomainError> {
    let applicants: Vec<(ProgramId, i64)> = dispatch!(conn, |c| within!(
        applications::table
            .filter(applications::cycle_id.eq(cycle))
            .group_by(applications::program_id)
            .select((applications::program_id, count_star()))
            .into_boxed(),
        applications,
        scope
    )
    .load(c))?;
    let placed: Vec<(ProgramId, PlacementStatus, i64)> = dispatch!(conn, |c| within!(
        placements::table
            .filter(placements::cycle_id.eq(cycle))
            .group_by((placements::program_id, placements::status))
            .select((placements::program_id, placements::status, count_star()))
            .into_boxed(),
        placements,
        scope
    )
    .load(c))?;
    let names: HashMap<ProgramId, (String, String)> = dispatch!(conn, |c| programs::table
        .select((programs::id, programs::code, programs::name))
        .load::<(ProgramId, String, String)>(c))?
    .into_iter()
    .map(|(id, code, name)| (id, (code, name)))
    .collect();
    tally(applicants, placed)?
        .into_iter()
        .map(|(id, counts)| {
            let (code, name) = names.get(&id).ok_or_else(|| unnamed("program"))?;
            Ok(StatsRow {
                group: Group::Program {
                    program_id: id,
                    program_code: code.clone(),
                    program_name: name.clone(),
                },
                measures: counts.measures(None),
            })
        })
        .collect()
}

/// Every base with seats in the cycle has a row, so that bases nobody applied to show up;
/// bases without seats appear when they have applicants or placements.
fn by_base(
    conn: &mut DbConn,
    cycle: CycleId,
    scope: StudentScope,
) -> Result<Vec<StatsRow>, DomainError> {
    let applicants: Vec<(BaseId, i64)> = dispatch!(conn, |c| within!(
        application_preferences::table
            .inner_join(applications::table)
            .filter(applications::cycle_id.eq(cycle))
            .group_by(application_preferences::base_id)
            .select((application_preferences::base_id, count_star()))
            .into_boxed(),
        applications,
        scope
    )
    .load(c))?;
    let placed: Vec<(BaseId, PlacementStatus, i64)> = dispatch!(conn, |c| within!(
        placements::table
            .filter(placements::cycle_id.eq(cycle))
            .group_by((placements::base_id, placements::status))
            .select((placements::base_id, placements::status, count_star()))
            .into_boxed(),
        placements,
        scope
    )
    .load(c))?;
    let offering: Vec<(BaseId, String, i32)> = dispatch!(conn, |c| cycle_seats::table
        .inner_join(bases::table)
        .filter(cycle_seats::cycle_id.eq(cycle))
        .select((cycle_seats::base_id, bases::name, cycle_seats::seats))
        .load(c))?;
    let mut groups = tally(applicants, placed)?;
    let mut names: HashMap<BaseId, (String, Option<i64>)> = HashMap::new();
    for (id, name, seats) in offering {
        groups.entry(id).or_default();
        names.insert(id, (name, Some(i64::from(seats))));
    }
    let missing: Vec<BaseId> = groups
        .keys()
        .filter(|id| !names.contains_key(id))
        .copied()
        .collect();
    if !missing.is_empty() {
        let found: Vec<(BaseId, String)> = dispatch!(conn, |c| bases::table
            .filter(bases::id.eq_any(&missing))
            .select((bases::id, bases::name))
            .load(c))?;
        names.extend(found.into_iter().map(|(id, name)| (id, (name, None))));
    }
    groups
        .into_iter()
        .map(|(id, counts)| {
            let (name, seats) = names.get(&id).ok_or_else(|| unnamed("base"))?;
            Ok(StatsRow {
                group: Group::Base {
                    base_id: id,
                    base_name: name.clone(),
                },
                measures: counts.measures(*seats),
            })
        })
        .collect()
}

/// A flow: the students' university and the host university of their bases.
type Flow = (UniversityId, UniversityId);

/// Applicants by flow: a student who listed several bases of one host is one applicant of
/// that flow. The preferences come in application order (on SQLite, the applications'
/// index gives that order without a sort), so each application's hosts are told apart among
/// its own few rows; the counting takes one pass over the rows, and each base's host comes
/// from a map of the bases read once. (Counted by the database with `count(DISTINCT)`,
/// SQLite sorted every row and looked each row's base up in the bases' table, a cost that
/// grew faster than the rows.)
fn flow_applicants(
    conn: &mut DbConn,
    cycle: CycleId,
    scope: StudentScope,
) -> Result<Vec<(Flow, i64)>, DomainError> {
    let hosts: HashMap<BaseId, UniversityId> = dispatch!(conn, |c| bases::table
        .select((bases::id, bases::host_university_id))
        .load::<(BaseId, UniversityId)>(c))?
    .into_iter()
    .collect();
    dispatch_rows!(
        conn,
        within!(
            application_preferences::table
                .inner_join(applications::table)
                .filter(applications::cycle_id.eq(cycle))
                .select((
                    applications::id,
                    applications::university_id,
                    application_preferences::base_id,
                ))
                .order(applications::id)
                .into_boxed(),
            applications,
            scope
        ),
        |rows| count_flows(rows, &hosts)
    )
}

/// Counts each application once per host university among its bases; `rows` are
/// (application, student's university, base), an application's rows together.
fn count_flows(
    rows: impl Iterator<Item = QueryResult<(ApplicationId, UniversityId, BaseId)>>,
    hosts: &HashMap<BaseId, UniversityId>,
) -> Result<Vec<(Flow, i64)>, DomainError> {
    let mut counts: HashMap<Flow, i64> = HashMap::new();
    let mut current = None;
    let mut counted: Vec<UniversityId> = Vec::new();
    for row in rows {
        let (application, from, base) = row?;
        if current != Some(application) {
            current = Some(application);
            counted.clear();
        }
        let host = *hosts.get(&base).ok_or_else(|| unnamed("base"))?;
        if !counted.contains(&host) {
            counted.push(host);
            *counts.entry((from, host)).or_default() += 1;
        }
    }
    Ok(counts.into_iter().collect())
}

fn by_flow(
    conn: &mut DbConn,
    cycle: CycleId,
    scope: StudentScope,
) -> Result<Vec<StatsRow>, DomainError> {
    let applicants = flow_applicants(conn, cycle, scope)?;
    let placed: Vec<(Flow, PlacementStatus, i64)> = dispatch!(conn, |c| within!(
        placements::table
            .inner_join(bases::table)
            .filter(placements::cycle_id.eq(cycle))
            .group_by((
                placements::university_id,
                bases::host_university_id,
                placements::status
            ))
            .select((
                placements::university_id,
                bases::host_university_id,
                placements::status,
                count_star()
            ))
            .into_boxed(),
        placements,
        scope
    )
    .load::<(UniversityId, UniversityId, PlacementStatus, i64)>(c))?
    .into_iter()
    .map(|(from, to, status, count)| ((from, to), status, count))
    .collect();
    let names = university_names(conn)?;
    tally(applicants, placed)?
        .into_iter()
        .map(|((from, to), counts)| {
            let (from_code, from_name) = names.get(&from).ok_or_else(|| unnamed("university"))?;
            let (to_code, to_name) = names.get(&to).ok_or_else(|| unnamed("university"))?;
            Ok(StatsRow {
                group: Group::Flow {
                    student_university_id: from,
                    student_university_code: from_code.clone(),
                    student_university_name: from_name.clone(),
                    host_university_id: to,
                    host_university_code: to_code.clone(),
                    host_university_name: to_name.clone(),
                },
                measures: counts.measures(None),
            })
        })
        .collect()
}

/// The totals: distinct applicants (a student listing several bases counts once), every
/// placement in scope, and the cycle's seats.
fn totals(
    conn: &mut DbConn,
    cycle: CycleId,
    scope: StudentScope,
    rows: &[StatsRow],
) -> Result<Measures, DomainError> {
    let applicants: i64 = dispatch!(conn, |c| within!(
        applications::table
            .filter(applications::cycle_id.eq(cycle))
            .into_boxed(),
        applications,
        scope
    )
    .count()
    .get_result(c))?;
    let seats: Option<i64> = dispatch!(conn, |c| cycle_seats::table
        .filter(cycle_seats::cycle_id.eq(cycle))
        .select(sum(cycle_seats::seats))
        .first(c))?;
    // Every grouping puts each placement in exactly one row, so the rows add up.
    let mut counts = Counts {
        applicants,
        ..Counts::default()
    };
    for row in rows {
        let m = &row.measures;
        counts.offered += m.offered;
        counts.confirmed += m.confirmed;
        counts.declined += m.declined;
        counts.withdrawn += m.withdrawn;
        counts.completed += m.completed;
    }
    Ok(counts.measures(Some(seats.unwrap_or(0))))
}

/// The statistics of a cycle for the students in scope, read in one snapshot so that the
/// rows and the totals agree under concurrent changes.
pub fn placement_stats(
    conn: &mut DbConn,
    cycle_id: CycleId,
    group_by: GroupBy,
    scope: StudentScope,
) -> Result<PlacementStats, DomainError> {
    read_transaction(conn, |conn| {
        let cycle = lookup::cycle(conn, cycle_id)?;
        let mut rows = match group_by {
            GroupBy::University => by_university(conn, cycle_id, scope)?,
            GroupBy::Program => by_program(conn, cycle_id, scope)?,
            GroupBy::Base => by_base(conn, cycle_id, scope)?,
            GroupBy::Flow => by_flow(conn, cycle_id, scope)?,
        };
        rows.sort_by_cached_key(|row| row.group.sort_key());
        let totals = totals(conn, cycle_id, scope, &rows)?;
        Ok(PlacementStats {
            cycle_id,
            cycle_name: cycle.name,
            group_by,
            rows,
            totals,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fill_rate_needs_seats() {
        let counts = Counts {
            offered: 1,
            confirmed: 2,
            completed: 1,
            declined: 5,
            ..Counts::default()
        };
        assert_eq!(counts.measures(Some(8)).fill_rate, Some(0.5));
        assert_eq!(counts.measures(Some(0)).fill_rate, None);
        assert_eq!(counts.measures(None).fill_rate, None);
    }

    #[test]
    fn a_flow_counts_each_application_once_per_host() {
        let (home, away) = (UniversityId::generate(), UniversityId::generate());
        let bases: Vec<BaseId> = (0..3).map(|_| BaseId::generate()).collect();
        let hosts = HashMap::from([(bases[0], home), (bases[1], home), (bases[2], away)]);
        let applications: Vec<ApplicationId> = (0..3).map(|_| ApplicationId::generate()).collect();
        let rows = [
            (applications[0], home, bases[0]),
            (applications[0], home, bases[2]),
            (applications[0], home, bases[1]),
            (applications[1], home, bases[1]),
            (applications[1], home, bases[0]),
            (applications[2], away, bases[0]),
            (applications[2], away, bases[2]),
        ];
        let mut counted = count_flows(rows.into_iter().map(Ok), &hosts).expect("counted");
        counted.sort_by_key(|&((from, to), _)| (from != home, to != home));
        assert_eq!(
            counted,
            [
                ((home, home), 2),
                ((home, away), 1),
                ((away, home), 1),
                ((away, away), 1)
            ]
        );

        let nothing = count_flows(std::iter::empty(), &hosts).expect("counted");
        assert!(nothing.is_empty());
    }

    #[test]
    fn a_flow_count_fails_on_a_failed_row_or_an_unknown_base() {
        let home = UniversityId::generate();
        let base = BaseId::generate();
        let hosts = HashMap::from([(base, home)]);
        let application = ApplicationId::generate();
        let failed = [
            Ok((application, home, base)),
            Err(diesel::result::Error::RollbackTransaction),
        ];
        assert!(count_flows(failed.into_iter(), &hosts).is_err());

        let unknown = [Ok((application, home, BaseId::generate()))];
        assert!(count_flows(unknown.into_iter(), &hosts).is_err());
    }
}
