//! The placement statistics endpoint: reads the filters and the format asked for, counts
//! through `stats::queries`, and answers as JSON or as a file from `stats::export`.

use crate::api::extract::QueryParams;
use crate::api::negotiate::{negotiate, Offered};
use crate::auth::Caller;
use crate::db::lookup;
use crate::db::DbConn;
use crate::domain::*;
use crate::error::ApiError;
use crate::state::AppState;
use crate::stats::export::XLSX_MEDIA_TYPE;
pub use crate::stats::export::{answer, ExportFormat};
use crate::stats::queries::{self, StudentScope};
use crate::stats::{GroupBy, PlacementStats};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;
use validator::Validate;

impl Offered for ExportFormat {
    fn media_type(self) -> &'static str {
        match self {
            ExportFormat::Json => "application/json",
            ExportFormat::Csv => "text/csv",
            ExportFormat::Xlsx => XLSX_MEDIA_TYPE,
        }
    }
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// The cycle.
    #[param(required = true)]
    pub cycle: Option<CycleId>,
    /// How the rows are grouped.
    #[param(inline, required = true)]
    pub group_by: Option<GroupBy>,
    /// Only students of this program (code like `0854`, or id).
    pub program: Option<String>,
    /// Only students of this university (code like `USST`, or id).
    pub university: Option<String>,
    /// `json`, `csv` or `xlsx`; takes precedence over the Accept header.
    #[param(inline)]
    pub format: Option<ExportFormat>,
}

/// Reads the filters, checked against the caller's scope.
fn student_scope(
    conn: &mut DbConn,
    scope: Scope,
    query: &StatsQuery,
) -> Result<StudentScope, DomainError> {
    let program = match &query.program {
        Some(reference) => Some(
            lookup::program_by_ref(conn, reference.trim())?
                .ok_or_else(|| {
                    DomainError::UnknownReference(format!("unknown program `{reference}`"))
                })?
                .id,
        ),
        None => None,
    };
    let asked = match &query.university {
        Some(reference) => Some(
            lookup::university_by_ref(conn, reference.trim())?
                .ok_or_else(|| {
                    DomainError::UnknownReference(format!("unknown university `{reference}`"))
                })?
                .id,
        ),
        None => None,
    };
    let university = scope.managed_students(asked)?;
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
    let scope = caller.scope()?;
    scope.managed_students(None)?;
    let format = match query.format {
        Some(format) => format,
        None => negotiate(
            &request,
            &ExportFormat::ALL,
            "ask for one of them in Accept, or use ?format=json|csv|xlsx",
        )?,
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
            let scope = student_scope(conn, scope, &query)?;
            queries::placement_stats(conn, cycle_id, group_by, scope)
        })
        .await?;
    tracing::debug!(cycle = %cycle_id, group_by = group_by.as_str(), rows = stats.rows.len(), "placement statistics");
    Ok(answer(stats, format).await?)
}
