//! Placement statistics of a cycle, grouped by the students' university, their program, the
//! base, or the flow from the students' university to the base's host university; answered
//! as JSON, CSV or XLSX.
//!
//! The database does the counting, in a handful of grouped queries per request: what
//! placemat itself reads and holds grows with the number of groups, not with the number of
//! applications or placements.

use crate::api::extract::QueryParams;
use crate::api::lookup;
use crate::auth::Caller;
use crate::db::schema::*;
use crate::db::{read_transaction, DbConn};
use crate::dispatch;
use crate::domain::*;
use crate::error::ApiError;
use crate::startup::AppState;
use actix_web::http::header::{self, Accept, Header, Quality};
use actix_web::{web, HttpRequest, HttpResponse};
use diesel::dsl::{count, count_star, sum};
use diesel::prelude::*;
use rust_xlsxwriter::{Format, Workbook};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

/// What the rows of the statistics are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// The students' university.
    University,
    /// The students' program.
    Program,
    /// The base.
    Base,
    /// The students' university × the base's host university.
    Flow,
}

impl GroupBy {
    const ALL: [GroupBy; 4] = [
        GroupBy::University,
        GroupBy::Program,
        GroupBy::Base,
        GroupBy::Flow,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::University => "university",
            GroupBy::Program => "program",
            GroupBy::Base => "base",
            GroupBy::Flow => "flow",
        }
    }

    /// The columns that name a group in CSV and XLSX (JSON rows also carry the ids).
    fn label_columns(self) -> &'static [&'static str] {
        match self {
            GroupBy::University => &["university_code", "university_name"],
            GroupBy::Program => &["program_code", "program_name"],
            GroupBy::Base => &["base_id", "base_name"],
            GroupBy::Flow => &[
                "student_university_code",
                "student_university_name",
                "host_university_code",
                "host_university_name",
            ],
        }
    }
}

/// The formats the statistics are available in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    Json,
    Csv,
    Xlsx,
}

const XLSX_MEDIA_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

impl ExportFormat {
    /// In order of preference when the client accepts several equally.
    const ALL: [ExportFormat; 3] = [ExportFormat::Json, ExportFormat::Csv, ExportFormat::Xlsx];

    fn media_type(self) -> &'static str {
        match self {
            ExportFormat::Json => "application/json",
            ExportFormat::Csv => "text/csv",
            ExportFormat::Xlsx => XLSX_MEDIA_TYPE,
        }
    }

    fn extension(self) -> &'static str {
        match self {
            ExportFormat::Json => "json",
            ExportFormat::Csv => "csv",
            ExportFormat::Xlsx => "xlsx",
        }
    }
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// The cycle (required).
    pub cycle: Option<CycleId>,
    /// How the rows are grouped (required).
    #[param(inline)]
    pub group_by: Option<GroupBy>,
    /// Only students of this program (code like `0854`, or id).
    pub program: Option<String>,
    /// Only students of this university (code like `USST`, or id).
    pub university: Option<String>,
    /// `json`, `csv` or `xlsx`; takes precedence over the Accept header.
    #[param(inline)]
    pub format: Option<ExportFormat>,
}

/// The counts of one group, or of all of them.
#[derive(Debug, Clone, Copy, Default, Serialize, ToSchema, PartialEq)]
pub struct Measures {
    /// Students with an application in the cycle (for a base: who listed it; for a flow:
    /// students of the university who listed a base of the host).
    pub applicants: i64,
    /// Placements in the cycle whose current status is `offered`.
    pub offered: i64,
    pub confirmed: i64,
    pub declined: i64,
    pub withdrawn: i64,
    pub completed: i64,
    /// The base's seats in the cycle; on the totals, the cycle's seats; otherwise null.
    pub seats: Option<i64>,
    /// (offered + confirmed + completed) / seats, when there are seats.
    pub fill_rate: Option<f64>,
}

/// The group a row counts.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum Group {
    University {
        university_id: UniversityId,
        university_code: String,
        university_name: String,
    },
    Program {
        program_id: ProgramId,
        program_code: String,
        program_name: String,
    },
    Base {
        base_id: BaseId,
        base_name: String,
    },
    Flow {
        student_university_id: UniversityId,
        student_university_code: String,
        student_university_name: String,
        host_university_id: UniversityId,
        host_university_code: String,
        host_university_name: String,
    },
}

impl Group {
    /// The order of the rows: universities and programs by code, bases by name, flows by
    /// the two universities' codes.
    fn sort_key(&self) -> Vec<String> {
        match self {
            Group::Base { base_id, base_name } => vec![base_name.clone(), base_id.to_string()],
            other => other.labels(),
        }
    }

    /// The values of [`GroupBy::label_columns`].
    fn labels(&self) -> Vec<String> {
        match self {
            Group::University {
                university_code,
                university_name,
                ..
            } => vec![university_code.clone(), university_name.clone()],
            Group::Program {
                program_code,
                program_name,
                ..
            } => vec![program_code.clone(), program_name.clone()],
            Group::Base { base_id, base_name } => vec![base_id.to_string(), base_name.clone()],
            Group::Flow {
                student_university_code,
                student_university_name,
                host_university_code,
                host_university_name,
                ..
            } => vec![
                student_university_code.clone(),
                student_university_name.clone(),
                host_university_code.clone(),
                host_university_name.clone(),
            ],
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatsRow {
    #[serde(flatten)]
    pub group: Group,
    #[serde(flatten)]
    pub measures: Measures,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlacementStats {
    pub cycle_id: CycleId,
    pub cycle_name: String,
    pub group_by: GroupBy,
    pub rows: Vec<StatsRow>,
    pub totals: Measures,
}

/// The students the counts are limited to: the caller's scope and the filters asked for.
#[derive(Debug, Clone, Copy)]
struct StudentScope {
    university: Option<UniversityId>,
    program: Option<ProgramId>,
}

impl StudentScope {
    fn is_everyone(self) -> bool {
        self.university.is_none() && self.program.is_none()
    }
}

/// Adds the student scope to a boxed query that joins `students`.
macro_rules! within {
    ($query:expr, $scope:expr) => {{
        let mut query = $query;
        if let Some(university) = $scope.university {
            query = query.filter(students::university_id.eq(university));
        }
        if let Some(program) = $scope.program {
            query = query.filter(students::program_id.eq(program));
        }
        query
    }};
}

/// Adds the student scope to a boxed query that does not join `students`, as a subquery on
/// its student column: unscoped, such a query then reads no student at all, which saves a
/// lookup per counted row.
macro_rules! of_students_within {
    ($query:expr, $student:expr, $scope:expr) => {{
        let mut query = $query;
        if !$scope.is_everyone() {
            let mut in_scope = students::table.select(students::id).into_boxed();
            if let Some(university) = $scope.university {
                in_scope = in_scope.filter(students::university_id.eq(university));
            }
            if let Some(program) = $scope.program {
                in_scope = in_scope.filter(students::program_id.eq(program));
            }
            query = query.filter($student.eq_any(in_scope));
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
    fn add_placements(&mut self, status: &str, count: i64) -> Result<(), ApiError> {
        let status: PlacementStatus = status
            .parse()
            .map_err(|e: String| ApiError::Internal(anyhow::anyhow!(e)))?;
        let slot = match status {
            PlacementStatus::Offered => &mut self.offered,
            PlacementStatus::Confirmed => &mut self.confirmed,
            PlacementStatus::Declined => &mut self.declined,
            PlacementStatus::Withdrawn => &mut self.withdrawn,
            PlacementStatus::Completed => &mut self.completed,
        };
        *slot += count;
        Ok(())
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
    placements: Vec<(K, String, i64)>,
) -> Result<BTreeMap<K, Counts>, ApiError> {
    let mut groups: BTreeMap<K, Counts> = BTreeMap::new();
    for (key, count) in applicants {
        groups.entry(key).or_default().applicants = count;
    }
    for (key, status, count) in placements {
        groups
            .entry(key)
            .or_default()
            .add_placements(&status, count)?;
    }
    Ok(groups)
}

fn unnamed(what: &str) -> ApiError {
    ApiError::Internal(anyhow::anyhow!("a counted {what} has no record"))
}

/// Code and name of every university (a handful: the alliance's members).
fn university_names(
    conn: &mut DbConn,
) -> Result<HashMap<UniversityId, (String, String)>, ApiError> {
    let rows: Vec<(UniversityId, String, String)> = dispatch!(conn, |c| universities::table
        .select((universities::id, universities::code, universities::name))
        .load(c))?;
    Ok(rows
        .into_iter()
        .map(|(id, code, name)| (id, (code, name)))
        .collect())
}

/// The students with an application in the cycle, as a set to filter `students` with: SQLite
/// then reads the students in order instead of looking each applicant's student up.
#[diesel::dsl::auto_type(no_type_alias)]
fn applicants_of(cycle: CycleId) -> _ {
    applications::table
        .filter(applications::cycle_id.eq(cycle))
        .select(applications::student_id)
}

fn by_university(
    conn: &mut DbConn,
    cycle: CycleId,
    scope: StudentScope,
) -> Result<Vec<StatsRow>, ApiError> {
    let applicants: Vec<(UniversityId, i64)> = dispatch!(conn, |c| within!(
        students::table
            .filter(students::id.eq_any(applicants_of(cycle)))
            .group_by(students::university_id)
            .select((students::university_id, count_star()))
            .into_boxed(),
        scope
    )
    .load(c))?;
    let placed: Vec<(UniversityId, String, i64)> = dispatch!(conn, |c| within!(
        placements::table
            .inner_join(students::table)
            .filter(placements::cycle_id.eq(cycle))
            .group_by((students::university_id, placements::status))
            .select((students::university_id, placements::status, count_star()))
            .into_boxed(),
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
) -> Result<Vec<StatsRow>, ApiError> {
    let applicants: Vec<(ProgramId, i64)> = dispatch!(conn, |c| within!(
        students::table
            .filter(students::id.eq_any(applicants_of(cycle)))
            .group_by(students::program_id)
            .select((students::program_id, count_star()))
            .into_boxed(),
        scope
    )
    .load(c))?;
    let placed: Vec<(ProgramId, String, i64)> = dispatch!(conn, |c| within!(
        placements::table
            .inner_join(students::table)
            .filter(placements::cycle_id.eq(cycle))
            .group_by((students::program_id, placements::status))
            .select((students::program_id, placements::status, count_star()))
            .into_boxed(),
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
) -> Result<Vec<StatsRow>, ApiError> {
    let applicants: Vec<(BaseId, i64)> = dispatch!(conn, |c| of_students_within!(
        application_preferences::table
            .inner_join(applications::table)
            .filter(applications::cycle_id.eq(cycle))
            .group_by(application_preferences::base_id)
            .select((application_preferences::base_id, count_star()))
            .into_boxed(),
        applications::student_id,
        scope
    )
    .load(c))?;
    let placed: Vec<(BaseId, String, i64)> = dispatch!(conn, |c| of_students_within!(
        placements::table
            .filter(placements::cycle_id.eq(cycle))
            .group_by((placements::base_id, placements::status))
            .select((placements::base_id, placements::status, count_star()))
            .into_boxed(),
        placements::student_id,
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

fn by_flow(
    conn: &mut DbConn,
    cycle: CycleId,
    scope: StudentScope,
) -> Result<Vec<StatsRow>, ApiError> {
    // A student who listed several bases of one host is one applicant of that flow.
    let applicants: Vec<((UniversityId, UniversityId), i64)> = dispatch!(conn, |c| within!(
        application_preferences::table
            .inner_join(applications::table.inner_join(students::table))
            .inner_join(bases::table)
            .filter(applications::cycle_id.eq(cycle))
            .group_by((students::university_id, bases::host_university_id))
            .select((
                students::university_id,
                bases::host_university_id,
                count(applications::id).aggregate_distinct()
            ))
            .into_boxed(),
        scope
    )
    .load::<(UniversityId, UniversityId, i64)>(c))?
    .into_iter()
    .map(|(from, to, count)| ((from, to), count))
    .collect();
    let placed: Vec<((UniversityId, UniversityId), String, i64)> = dispatch!(conn, |c| within!(
        placements::table
            .inner_join(students::table)
            .inner_join(bases::table)
            .filter(placements::cycle_id.eq(cycle))
            .group_by((
                students::university_id,
                bases::host_university_id,
                placements::status
            ))
            .select((
                students::university_id,
                bases::host_university_id,
                placements::status,
                count_star()
            ))
            .into_boxed(),
        scope
    )
    .load::<(UniversityId, UniversityId, String, i64)>(c))?
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
) -> Result<Measures, ApiError> {
    let applicants: i64 = dispatch!(conn, |c| of_students_within!(
        applications::table
            .filter(applications::cycle_id.eq(cycle))
            .into_boxed(),
        applications::student_id,
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

/// Reads the filters, checked against the caller's scope.
fn student_scope(
    conn: &mut DbConn,
    own: Option<UniversityId>,
    query: &StatsQuery,
) -> Result<StudentScope, ApiError> {
    let program = match &query.program {
        Some(reference) => Some(
            lookup::program_by_ref(conn, reference.trim())?
                .ok_or_else(|| ApiError::BadRequest(format!("unknown program `{reference}`")))?
                .id,
        ),
        None => None,
    };
    let asked = match &query.university {
        Some(reference) => Some(
            lookup::university_by_ref(conn, reference.trim())?
                .ok_or_else(|| ApiError::BadRequest(format!("unknown university `{reference}`")))?
                .id,
        ),
        None => None,
    };
    let university = match (own, asked) {
        (Some(own), Some(asked)) if own != asked => {
            return Err(ApiError::Forbidden(
                "a university admin sees statistics of its own students only".into(),
            ))
        }
        (Some(own), _) => Some(own),
        (None, asked) => asked,
    };
    Ok(StudentScope {
        university,
        program,
    })
}

/// Placement statistics of a cycle, as JSON, CSV or XLSX (alliance admin: every student;
/// university admin: its own students).
///
/// `group_by` chooses the rows: `university` (the students' university), `program` (the
/// students' program), `base`, or `flow` (the students' university × the base's host
/// university). Each row names its group (university and program: code and name; base: id
/// and name; flow: both universities' codes and names) and counts:
///
/// - `applicants`: students of the group with an application in the cycle; for `base`,
///   students who listed that base; for `flow`, students of the university who listed at
///   least one base of the host university;
/// - `offered`, `confirmed`, `declined`, `withdrawn`, `completed`: placements in the cycle
///   whose current status is that one;
/// - `seats`: the base's seats in the cycle (`base` only; null for the other groupings);
/// - `fill_rate`: (offered + confirmed + completed) / seats when seats > 0, else null.
///
/// Rows are the groups with applicants or placements, and for `base` every base with
/// seats in the cycle. `totals` counts the same students: distinct applicants, every
/// placement, and the cycle's total seats. A university admin gets its own students'
/// counts only, totals included; seats stay the bases' (and the cycle's) whole capacity,
/// so its fill rate is the share of seats its students hold. `program` and `university`
/// narrow the counts to students of that program or university.
///
/// The format is `?format=json|csv|xlsx`, or else the `Accept` header: `application/json`,
/// `text/csv` (UTF-8 with a byte-order mark, a header row, the totals as the last row) or
/// `application/vnd.openxmlformats-officedocument.spreadsheetml.sheet` (one worksheet named
/// after the grouping, a header row, numbers as numbers, the fill rate as a percentage, the
/// totals as the last row). CSV and XLSX come as attachments named
/// `placements-<cycle>-<group_by>.csv|xlsx`.
#[utoipa::path(get, path = "/api/v1/stats/placements", tag = "stats", operation_id = "placement_stats",
    params(StatsQuery,
        ("Accept" = Option<String>, Header,
         description = "`application/json` (default), `text/csv` or `application/vnd.openxmlformats-officedocument.spreadsheetml.sheet`")),
    responses(
        (status = 200, description = "the statistics", content(
            (PlacementStats = "application/json"),
            (String = "text/csv"),
            ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 400, description = "missing cycle or group_by, unknown group_by, format or filter", body = crate::error::Problem),
        (status = 401, body = crate::error::Problem),
        (status = 403, description = "not an administrator, or another university's students", body = crate::error::Problem),
        (status = 404, description = "unknown cycle", body = crate::error::Problem),
        (status = 406, description = "no format the Accept header allows", body = crate::error::Problem)))]
pub async fn placements(
    state: web::Data<AppState>,
    caller: Caller,
    request: HttpRequest,
    QueryParams(query): QueryParams<StatsQuery>,
) -> Result<HttpResponse, ApiError> {
    let own = caller.university_scope()?;
    let format = match query.format {
        Some(format) => format,
        None => negotiate(&request)?,
    };
    let cycle_id = query
        .cycle
        .ok_or_else(|| ApiError::BadRequest("cycle is required: ?cycle=ID".into()))?;
    let group_by = query.group_by.ok_or_else(|| {
        ApiError::BadRequest(format!(
            "group_by is required: one of {}",
            GroupBy::ALL.map(GroupBy::as_str).join(", ")
        ))
    })?;
    let stats = state
        .db
        .read(move |conn| {
            // One snapshot, so that the rows and the totals agree under concurrent changes.
            read_transaction(conn, |conn| {
                let cycle = lookup::cycle(conn, cycle_id)?;
                let scope = student_scope(conn, own, &query)?;
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
        })
        .await?;
    tracing::debug!(cycle = %cycle_id, group_by = group_by.as_str(), rows = stats.rows.len(), "placement statistics");
    let vary = (header::VARY, "Accept");
    let (content_type, render): (&str, Render) = match format {
        ExportFormat::Json => return Ok(HttpResponse::Ok().insert_header(vary).json(stats)),
        ExportFormat::Csv => ("text/csv; charset=utf-8", to_csv),
        ExportFormat::Xlsx => (XLSX_MEDIA_TYPE, to_xlsx),
    };
    let filename = format!(
        "placements-{}-{}.{}",
        slug(&stats.cycle_name),
        group_by.as_str(),
        format.extension()
    );
    // Building a spreadsheet is CPU work: keep it off the async threads.
    let body = web::block(move || render(&stats)).await??;
    Ok(HttpResponse::Ok()
        .insert_header(vary)
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .body(body))
}

/// Writes the statistics as a file to download.
type Render = fn(&PlacementStats) -> Result<Vec<u8>, ApiError>;

/// The format the Accept header prefers. Each format takes the quality of the most specific
/// media range that matches it; the best quality wins, then the most specific match, then
/// JSON before CSV before XLSX. No header, or an empty one, means JSON.
fn negotiate(request: &HttpRequest) -> Result<ExportFormat, ApiError> {
    let accept = Accept::parse(request)
        .map_err(|_| ApiError::BadRequest("the Accept header cannot be parsed".into()))?;
    if accept.is_empty() {
        return Ok(ExportFormat::Json);
    }
    let mut best: Option<(Quality, u8, ExportFormat)> = None;
    for format in ExportFormat::ALL {
        let matched = accept
            .iter()
            .filter_map(|range| {
                specificity(&range.item, format.media_type()).map(|s| (s, range.quality))
            })
            .max_by_key(|&(specificity, _)| specificity);
        if let Some((specificity, quality)) = matched {
            let better = best.is_none_or(|(q, s, _)| (quality, specificity) > (q, s));
            if quality > Quality::ZERO && better {
                best = Some((quality, specificity, format));
            }
        }
    }
    best.map(|(_, _, format)| format).ok_or_else(|| {
        ApiError::NotAcceptable(format!(
            "placement statistics are available as {}; ask for one of them in Accept, or use ?format=json|csv|xlsx",
            ExportFormat::ALL.map(ExportFormat::media_type).join(", ")
        ))
    })
}

/// How closely a media range matches a media type: 2 exactly, 1 by `type/*`, 0 by `*/*`;
/// `None` when it does not match.
fn specificity(range: &actix_web::mime::Mime, media_type: &str) -> Option<u8> {
    let (kind, subtype) = media_type.split_once('/')?;
    let range_kind = range.type_().as_str();
    let range_subtype = range.subtype().as_str();
    if range_kind == "*" {
        Some(0)
    } else if !range_kind.eq_ignore_ascii_case(kind) {
        None
    } else if range_subtype == "*" {
        Some(1)
    } else if range_subtype.eq_ignore_ascii_case(subtype) {
        Some(2)
    } else {
        None
    }
}

/// The cycle's name as it may stand in a file name: ASCII letters and digits, lower case,
/// anything else as a single hyphen. A name with none of them gives `cycle`.
fn slug(name: &str) -> String {
    let mut slug = String::new();
    for character in name.chars() {
        if character.is_ascii_alphanumeric() {
            slug.push(character.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        "cycle".to_owned()
    } else {
        slug.to_owned()
    }
}

/// The column names of the measures, after the group's.
const MEASURE_COLUMNS: [&str; 8] = [
    "applicants",
    "offered",
    "confirmed",
    "declined",
    "withdrawn",
    "completed",
    "seats",
    "fill_rate",
];

/// One table row of a spreadsheet: the group's labels (the totals say `Total`), then the
/// measures.
fn sheet_rows(stats: &PlacementStats) -> Vec<(Vec<String>, &Measures)> {
    let width = stats.group_by.label_columns().len();
    let mut total_labels = vec![String::new(); width];
    total_labels[0] = "Total".to_owned();
    stats
        .rows
        .iter()
        .map(|row| (row.group.labels(), &row.measures))
        .chain(std::iter::once((total_labels, &stats.totals)))
        .collect()
}

fn header_row(group_by: GroupBy) -> Vec<&'static str> {
    group_by
        .label_columns()
        .iter()
        .copied()
        .chain(MEASURE_COLUMNS)
        .collect()
}

/// The counts in column order; seats and fill rate may be absent.
fn measure_values(m: &Measures) -> [Option<f64>; 8] {
    [
        Some(m.applicants as f64),
        Some(m.offered as f64),
        Some(m.confirmed as f64),
        Some(m.declined as f64),
        Some(m.withdrawn as f64),
        Some(m.completed as f64),
        m.seats.map(|seats| seats as f64),
        m.fill_rate,
    ]
}

/// UTF-8 with a byte-order mark: without it Excel reads the file in the local code page and
/// garbles Chinese names.
fn to_csv(stats: &PlacementStats) -> Result<Vec<u8>, ApiError> {
    let internal = |e: csv::Error| ApiError::Internal(e.into());
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(b"\xEF\xBB\xBF".to_vec());
    writer
        .write_record(header_row(stats.group_by))
        .map_err(internal)?;
    for (labels, measures) in sheet_rows(stats) {
        let values = measure_values(measures)
            .into_iter()
            .map(|value| value.map(|v| v.to_string()).unwrap_or_default());
        writer
            .write_record(labels.into_iter().chain(values))
            .map_err(internal)?;
    }
    writer
        .into_inner()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("cannot finish the CSV: {e}")))
}

fn to_xlsx(stats: &PlacementStats) -> Result<Vec<u8>, ApiError> {
    let internal = |e: rust_xlsxwriter::XlsxError| ApiError::Internal(e.into());
    let bold = Format::new().set_bold();
    let percent = Format::new().set_num_format("0.0%");
    let bold_percent = Format::new().set_bold().set_num_format("0.0%");
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name(stats.group_by.as_str()).map_err(internal)?;
    for (column, name) in header_row(stats.group_by).into_iter().enumerate() {
        sheet
            .write_string_with_format(0, column_number(column)?, name, &bold)
            .map_err(internal)?;
    }
    let rows = sheet_rows(stats);
    let last = rows.len();
    for (index, (labels, measures)) in rows.into_iter().enumerate() {
        let row = u32::try_from(index + 1)
            .map_err(|_| ApiError::Internal(anyhow::anyhow!("too many rows for a worksheet")))?;
        let is_total = index + 1 == last;
        let label_count = labels.len();
        for (column, label) in labels.into_iter().enumerate() {
            let column = column_number(column)?;
            if is_total {
                sheet.write_string_with_format(row, column, label, &bold)
            } else {
                sheet.write_string(row, column, label)
            }
            .map_err(internal)?;
        }
        for (offset, value) in measure_values(measures).into_iter().enumerate() {
            // An absent seat count or fill rate stays an empty cell, not a zero.
            let Some(value) = value else { continue };
            let column = column_number(label_count + offset)?;
            let is_rate = offset == MEASURE_COLUMNS.len() - 1;
            match (is_rate, is_total) {
                (true, true) => sheet.write_number_with_format(row, column, value, &bold_percent),
                (true, false) => sheet.write_number_with_format(row, column, value, &percent),
                (false, true) => sheet.write_number_with_format(row, column, value, &bold),
                (false, false) => sheet.write_number(row, column, value),
            }
            .map_err(internal)?;
        }
    }
    sheet.set_freeze_panes(1, 0).map_err(internal)?;
    sheet.autofit();
    workbook.save_to_buffer().map_err(internal)
}

fn column_number(index: usize) -> Result<u16, ApiError> {
    u16::try_from(index).map_err(|_| ApiError::Internal(anyhow::anyhow!("too many columns")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycle_names_become_file_name_slugs() {
        assert_eq!(slug("2027 Summer"), "2027-summer");
        assert_eq!(slug("  Spring / Autumn -- 2028 "), "spring-autumn-2028");
        assert_eq!(slug("2027年暑期实习"), "2027");
        assert_eq!(slug("暑期实习"), "cycle");
    }

    #[test]
    fn media_ranges_match_by_specificity() {
        let csv: actix_web::mime::Mime = "text/csv".parse().expect("a media type");
        let text: actix_web::mime::Mime = "text/*".parse().expect("a media type");
        let any: actix_web::mime::Mime = "*/*".parse().expect("a media type");
        assert_eq!(specificity(&csv, "text/csv"), Some(2));
        assert_eq!(specificity(&text, "text/csv"), Some(1));
        assert_eq!(specificity(&any, "text/csv"), Some(0));
        assert_eq!(specificity(&csv, "application/json"), None);
    }

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
}
