//! The counting: the database does most of it, in a handful of grouped queries per
//! request. PostgreSQL groups by hashing, in any order. SQLite groups by sorting, a cost
//! that grows faster than the rows and spills to disk past its memory, unless an index
//! gives the rows in the grouping's order; so SQLite is asked for groupings in an index's
//! order, where PostgreSQL is asked for the groups themselves:
//!
//! - applicants by university and program, through `applications (cycle_id,
//!   university_id, program_id)`, which PostgreSQL groups the same way without it;
//! - placements by university and program, each status counted in a column of its own
//!   (see `by_status!`), where PostgreSQL groups by status too;
//! - placements by university, program, base and status for the flows, each base's going
//!   to its host, through `placements (cycle_id, university_id, program_id, base_id,
//!   status)`, where PostgreSQL joins the bases and groups by host.
//!
//! Placements by base and status read `placements (cycle_id, base_id, status)` on both.
//! The groupings by university and by program roll the university-and-program groups up.
//! The applicants of flows, and on SQLite those of bases, are counted by placemat itself:
//! their grouping keys live on the preferences, so it reads the cycle's preferences row by
//! row in application order, in one pass, holding only the counts and the bases' hosts.

use super::{Group, GroupBy, Measures, PlacementStats, StatsRow};
use crate::db::lookup;
use crate::db::schema::*;
use crate::db::{read_transaction, DbConn};
use crate::domain::*;
use crate::{dispatch, dispatch_rows};
use diesel::dsl::{case_when, count_star, sum};
use diesel::prelude::*;
use diesel::sql_types::Integer;
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

/// A group's placements in each status, in the order of [`PlacementStatus`]'s states (as
/// `Option`s, the type of SQL's `sum`).
type ByStatus = (
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

/// A group's placements counted in each status, as the `sum` of a `CASE` for each: one
/// grouping counts every status, so placements are grouped by the columns before the
/// status in an index and read in its order, without a sort. The status stays last in
/// the index, so that a change of status leaves the entry where it is.
macro_rules! by_status {
    () => {
        (
            by_status!(PlacementStatus::Offered),
            by_status!(PlacementStatus::Confirmed),
            by_status!(PlacementStatus::Declined),
            by_status!(PlacementStatus::Withdrawn),
            by_status!(PlacementStatus::Completed),
        )
    };
    ($status:expr) => {
        sum(case_when::<_, _, Integer>(placements::status.eq($status), 1).otherwise(0))
    };
}

/// The counts of `by_status!`, each beside its status.
fn statuses(
    (offered, confirmed, declined, withdrawn, completed): ByStatus,
) -> impl Iterator<Item = (PlacementStatus, i64)> {
    [
        (PlacementStatus::Offered, offered),
        (PlacementStatus::Confirmed, confirmed),
        (PlacementStatus::Declined, declined),
        (PlacementStatus::Withdrawn, withdrawn),
        (PlacementStatus::Completed, completed),
    ]
    .into_iter()
    .filter_map(|(status, count)| Some((status, count?)))
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

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, other: Counts) {
        self.applicants += other.applicants;
        self.offered += other.offered;
        self.confirmed += other.confirmed;
        self.declined += other.declined;
        self.withdrawn += other.withdrawn;
        self.completed += other.completed;
    }
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

/// Adds up the grouped counts of applicants and of placements by status, by group key; a
/// key may come several times, from finer groups.
fn tally<K: Ord>(
    applicants: impl IntoIterator<Item = (K, i64)>,
    placements: impl IntoIterator<Item = (K, PlacementStatus, i64)>,
) -> BTreeMap<K, Counts> {
    let mut groups: BTreeMap<K, Counts> = BTreeMap::new();
    for (key, count) in applicants {
        groups.entry(key).or_default().applicants += count;
    }
    for (key, status, count) in placements {
        groups.entry(key).or_default().add_placements(status, count);
    }
    groups
}

/// Adds up finer groups' counts into coarser ones.
fn roll_up<K: Ord, G: Ord>(
    groups: BTreeMap<K, Counts>,
    coarser: impl Fn(K) -> G,
) -> BTreeMap<G, Counts> {
    let mut rolled: BTreeMap<G, Counts> = BTreeMap::new();
    for (key, counts) in groups {
        *rolled.entry(coarser(key)).or_default() += counts;
    }
    rolled
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

/// A group of students: their university and program.
type StudentGroup = (UniversityId, ProgramId);

/// Applicants and placements by status of each university and program (on SQLite, grouped
/// in the order of the indexes named at the top).
fn by_student_group(
    conn: &mut DbConn,
    cycle: CycleId,
    scope: StudentScope,
) -> Result<BTreeMap<StudentGroup, Counts>, DomainError> {
    let applicants: Vec<(UniversityId, ProgramId, i64)> = dispatch!(conn, |c| within!(
        applications::table
            .filter(applications::cycle_id.eq(cycle))
            .group_by((applications::university_id, applications::program_id))
            .select((
                applications::university_id,
                applications::program_id,
                count_star()
            ))
            .into_boxed(),
        applications,
        scope
    )
    .load(c))?;
    let placed: Vec<(StudentGroup, PlacementStatus, i64)> = match conn {
        DbConn::Sqlite(_) => dispatch!(conn, |c| within!(
            placements::table
                .filter(placements::cycle_id.eq(cycle))
                .group_by((placements::university_id, placements::program_id))
                .select((
                    placements::university_id,
                    placements::program_id,
                    by_status!(),
                ))
                .into_boxed(),
            placements,
            scope
        )
        .load::<(UniversityId, ProgramId, ByStatus)>(c))?
        .into_iter()
        .flat_map(|(university, program, counts)| {
            statuses(counts).map(move |(status, count)| ((university, program), status, count))
        })
        .collect(),
        DbConn::Pg(_) => dispatch!(conn, |c| within!(
            placements::table
                .filter(placements::cycle_id.eq(cycle))
                .group_by((
                    placements::university_id,
                    placements::program_id,
                    placements::status
                ))
                .select((
                    placements::university_id,
                    placements::program_id,
                    placements::status,
                    count_star()
                ))
                .into_boxed(),
            placements,
            scope
        )
        .load::<(UniversityId, ProgramId, PlacementStatus, i64)>(c))?
        .into_iter()
        .map(|(university, program, status, count)| ((university, program), status, count))
        .collect(),
    };
    Ok(tally(
        applicants
            .into_iter()
            .map(|(university, program, count)| ((university, program), count)),
        placed,
    ))
}

fn by_university(
    conn: &mut DbConn,
    cycle: CycleId,
    scope: StudentScope,
) -> Result<Vec<StatsRow>, DomainError> {
    let groups = roll_up(by_student_group(conn, cycle, scope)?, |(university, _)| {
        university
    });
    let names = university_names(conn)?;
    groups
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
    let groups = roll_up(by_student_group(conn, cycle, scope)?, |(_, program)| {
        program
    });
    let names: HashMap<ProgramId, (String, String)> = dispatch!(conn, |c| programs::table
        .select((programs::id, programs::code, programs::name))
        .load::<(ProgramId, String, String)>(c))?
    .into_iter()
    .map(|(id, code, name)| (id, (code, name)))
    .collect();
    groups
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
    let applicants: Vec<(BaseId, i64)> = match conn {
        DbConn::Sqlite(_) => base_applicants(conn, cycle, scope)?,
        DbConn::Pg(_) => dispatch!(conn, |c| within!(
            application_preferences::table
                .inner_join(applications::table)
                .filter(applications::cycle_id.eq(cycle))
                .group_by(application_preferences::base_id)
                .select((application_preferences::base_id, count_star()))
                .into_boxed(),
            applications,
            scope
        )
        .load(c))?,
    };
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
    let mut groups = tally(applicants, placed);
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

/// The cycle's preferences in scope, as `$columns`, in application order (on SQLite, the
/// applications' index gives that order without a sort, and the preferences' own index is
/// read in one sweep), for counting row by row.
macro_rules! preferences {
    ($cycle:expr, $scope:expr, $columns:expr) => {
        within!(
            application_preferences::table
                .inner_join(applications::table)
                .filter(applications::cycle_id.eq($cycle))
                .select($columns)
                .order(applications::id)
                .into_boxed(),
            applications,
            $scope
        )
    };
}

/// Counts the applicants of each base: each preference is one, as an application lists a
/// base at most once.
fn base_applicants(
    conn: &mut DbConn,
    cycle: CycleId,
    scope: StudentScope,
) -> Result<Vec<(BaseId, i64)>, DomainError> {
    dispatch_rows!(
        conn,
        preferences!(cycle, scope, application_preferences::base_id),
        |rows| {
            let mut counts: HashMap<BaseId, i64> = HashMap::new();
            for base in rows {
                *counts.entry(base?).or_default() += 1;
            }
            Ok(counts.into_iter().collect())
        }
    )
}

/// A preference with what its flow needs: the application, its student's university and
/// the base listed.
type Preference = (ApplicationId, UniversityId, BaseId);

/// Applicants by flow: a student who listed several bases of one host is one applicant of
/// that flow. Each application's rows come together, so its hosts are told apart among its
/// own few rows.
fn flow_applicants(
    conn: &mut DbConn,
    cycle: CycleId,
    scope: StudentScope,
    hosts: &HashMap<BaseId, UniversityId>,
) -> Result<Vec<(Flow, i64)>, DomainError> {
    dispatch_rows!(
        conn,
        preferences!(
            cycle,
            scope,
            (
                applications::id,
                applications::university_id,
                application_preferences::base_id,
            )
        ),
        |rows| count_flows(rows, hosts)
    )
}

/// Counts each application once per host university among its bases; `rows` are
/// (application, student's university, base), an application's rows together.
fn count_flows(
    rows: impl Iterator<Item = QueryResult<Preference>>,
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

/// Applicants and placements by flow: each base's placements count for its host.
fn by_flow(
    conn: &mut DbConn,
    cycle: CycleId,
    scope: StudentScope,
) -> Result<Vec<StatsRow>, DomainError> {
    let hosts: HashMap<BaseId, UniversityId> = dispatch!(conn, |c| bases::table
        .select((bases::id, bases::host_university_id))
        .load::<(BaseId, UniversityId)>(c))?
    .into_iter()
    .collect();
    let applicants = flow_applicants(conn, cycle, scope, &hosts)?;
    let placed: Vec<(Flow, PlacementStatus, i64)> = match conn {
        // In the order of the placements' group index, without a sort; each base's
        // placements count for its host.
        DbConn::Sqlite(_) => dispatch!(conn, |c| within!(
            placements::table
                .filter(placements::cycle_id.eq(cycle))
                .group_by((
                    placements::university_id,
                    placements::program_id,
                    placements::base_id,
                    placements::status
                ))
                .select((
                    placements::university_id,
                    placements::base_id,
                    placements::status,
                    count_star()
                ))
                .into_boxed(),
            placements,
            scope
        )
        .load::<(UniversityId, BaseId, PlacementStatus, i64)>(c))?
        .into_iter()
        .map(|(from, base, status, count)| {
            let to = *hosts.get(&base).ok_or_else(|| unnamed("base"))?;
            Ok(((from, to), status, count))
        })
        .collect::<Result<_, DomainError>>()?,
        DbConn::Pg(_) => dispatch!(conn, |c| within!(
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
        .collect(),
    };
    let names = university_names(conn)?;
    tally(applicants, placed)
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
    fn finer_groups_add_up_into_coarser_ones() {
        let (home, away) = (UniversityId::generate(), UniversityId::generate());
        let (civil, power) = (ProgramId::generate(), ProgramId::generate());
        let groups = tally(
            [((home, civil), 3), ((home, power), 2), ((away, civil), 4)],
            [
                ((home, civil), PlacementStatus::Offered, 1),
                ((home, power), PlacementStatus::Offered, 2),
            ]
            .into_iter()
            .chain(
                statuses((None, Some(1), None, Some(2), None))
                    .map(|(status, count)| ((away, civil), status, count)),
            ),
        );
        let universities = roll_up(groups.clone(), |(university, _)| university);
        assert_eq!(universities[&home].applicants, 5);
        assert_eq!(universities[&home].offered, 3);
        assert_eq!(universities[&away].applicants, 4);
        assert_eq!(
            (universities[&away].confirmed, universities[&away].withdrawn),
            (1, 2)
        );
        assert_eq!(universities[&away].offered, 0);

        let programs = roll_up(groups, |(_, program)| program);
        assert_eq!(programs[&civil].applicants, 7);
        assert_eq!(programs[&civil].offered, 1);
        assert_eq!(programs[&civil].confirmed, 1);
        assert_eq!(programs[&power].applicants, 2);
        assert_eq!(programs[&power].offered, 2);
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
