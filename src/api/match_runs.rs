use crate::api::extract::{OptionalJsonBody, Page, PageParams, QueryParams};
use crate::auth::Caller;
use crate::db::lookup;
use crate::db::models::{AssignmentRow, MatchRunRow};
use crate::db::schema::{match_assignments, match_runs};
use crate::dispatch;
use crate::domain::*;
use crate::domain::{BaseRefusal, RunStats, RunTimings};
use crate::error::ApiError;
use crate::services::inputs;
use crate::services::match_runs as runs;
use crate::services::run_bundles;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// Seed of the lottery that orders applicants a base did not rank and whose scores
    /// tie; the same seed over the same inputs gives the same result. Random when absent.
    #[validate(range(min = 0, message = "must not be negative"))]
    #[schema(minimum = 0)]
    #[serde(default, deserialize_with = "validate::whole_option")]
    pub seed: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunView {
    pub id: MatchRunId,
    pub cycle_id: CycleId,
    /// `completed`, or `published` once its offers are made.
    pub status: RunStatus,
    pub seed: i64,
    /// Whether applications, rankings or seats changed after the run (it can then not be
    /// published).
    pub stale: bool,
    pub stats: RunStats,
    pub timings: RunTimings,
    pub created_at: Timestamp,
    pub published_at: Option<Timestamp>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AssignmentView {
    pub student_id: StudentId,
    /// Null when the student is unmatched.
    pub base_id: Option<BaseId>,
    /// Where the student listed its base (1 = first choice).
    pub choice_rank: Option<i32>,
    /// For an unmatched student: for each base it listed, why it was not taken.
    pub unmatched_reason: Option<Vec<BaseRefusal>>,
    /// For a matched student below its first choice: why each higher choice did not take it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub higher_choices: Option<Vec<BaseRefusal>>,
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AssignmentFilters {
    /// Only matched (true) or unmatched (false) students.
    pub matched: Option<bool>,
    /// Only students matched to this base.
    pub base: Option<BaseId>,
    /// Only this student.
    pub student: Option<StudentId>,
}

fn view(row: MatchRunRow, current_version: i64) -> Result<RunView, DomainError> {
    let stats: RunStats =
        serde_json::from_str(&row.stats).map_err(|e| DomainError::Internal(e.into()))?;
    Ok(RunView {
        id: row.id,
        cycle_id: row.cycle_id,
        stale: runs::is_stale(&row, current_version),
        status: row.status,
        seed: row.seed,
        stats,
        timings: RunTimings {
            load_ms: row.load_ms,
            engine_ms: row.engine_ms,
            store_ms: row.store_ms,
        },
        created_at: row.created_at,
        published_at: row.published_at,
    })
}

fn load_run(conn: &mut crate::db::DbConn, id: MatchRunId) -> Result<RunView, DomainError> {
    let row: MatchRunRow = dispatch!(conn, |c| match_runs::table
        .find(id)
        .select(MatchRunRow::as_select())
        .first(c)
        .optional())?
    .ok_or_else(|| DomainError::not_found("match run"))?;
    let cycle = lookup::cycle(conn, row.cycle_id)?;
    view(row, inputs::version(conn, &cycle)?)
}

/// Runs the match over a cycle's current applications, rankings and seats. Placements do
/// not change until a run is published.
#[utoipa::path(post, path = "/api/v1/cycles/{id}/match-runs", tag = "matching",
    params(("id" = CycleId, Path)), request_body(content = Option<RunRequest>, description = "optional seed"),
    responses((status = 201, body = RunView), (status = 403, body = crate::error::Problem),
              (status = 404, body = crate::error::Problem)))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CycleId>,
    body: OptionalJsonBody<RunRequest>,
) -> Result<HttpResponse, ApiError> {
    let cycle_id = id.into_inner();
    let row = runs::run(&state.db, &caller, cycle_id, body.0.seed).await?;
    let run = state
        .db
        .read(move |conn| {
            let cycle = lookup::cycle(conn, cycle_id)?;
            let current = inputs::version(conn, &cycle)?;
            view(row, current)
        })
        .await?;
    tracing::info!(run = %run.id, cycle = %cycle_id, matched = run.stats.matched, engine_ms = run.timings.engine_ms, "match run");
    Ok(HttpResponse::Created().json(run))
}

/// A cycle's runs, newest first, for comparing before one is published.
#[utoipa::path(get, path = "/api/v1/cycles/{id}/match-runs", tag = "matching",
    params(("id" = CycleId, Path), PageParams),
    responses((status = 200, body = inline(Page<RunView>)), (status = 403, body = crate::error::Problem)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CycleId>,
    QueryParams(page): QueryParams<PageParams>,
) -> Result<web::Json<Page<RunView>>, ApiError> {
    caller.require_alliance_admin()?;
    let cycle_id = id.into_inner();
    let (items, total) = state
        .db
        .read(move |conn| {
            let cycle = lookup::cycle(conn, cycle_id)?;
            let (rows, total): (Vec<MatchRunRow>, i64) = dispatch!(conn, |c| {
                let total: i64 = match_runs::table
                    .filter(match_runs::cycle_id.eq(cycle_id))
                    .count()
                    .get_result(c)?;
                let rows = match_runs::table
                    .filter(match_runs::cycle_id.eq(cycle_id))
                    .select(MatchRunRow::as_select())
                    .order((match_runs::created_at.desc(), match_runs::id))
                    .limit(page.limit())
                    .offset(page.offset())
                    .load(c)?;
                (rows, total)
            });
            let version = inputs::version(conn, &cycle)?;
            let items = rows
                .into_iter()
                .map(|row| view(row, version))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((items, total))
        })
        .await?;
    Ok(web::Json(page.page(items, total)))
}

/// One run with its statistics.
#[utoipa::path(get, path = "/api/v1/match-runs/{id}", tag = "matching", params(("id" = MatchRunId, Path)),
    responses((status = 200, body = RunView), (status = 403, body = crate::error::Problem),
              (status = 404, body = crate::error::Problem)))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<MatchRunId>,
) -> Result<web::Json<RunView>, ApiError> {
    caller.require_alliance_admin()?;
    let id = id.into_inner();
    Ok(web::Json(
        state.db.read(move |conn| load_run(conn, id)).await?,
    ))
}

/// Each applicant's result in a run, with the reasons of the unmatched.
#[utoipa::path(get, path = "/api/v1/match-runs/{id}/assignments", tag = "matching",
    params(("id" = MatchRunId, Path), PageParams, AssignmentFilters),
    responses((status = 200, body = inline(Page<AssignmentView>)), (status = 403, body = crate::error::Problem),
              (status = 404, body = crate::error::Problem)))]
pub async fn assignments(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<MatchRunId>,
    QueryParams(page): QueryParams<PageParams>,
    QueryParams(filters): QueryParams<AssignmentFilters>,
) -> Result<web::Json<Page<AssignmentView>>, ApiError> {
    caller.require_alliance_admin()?;
    let run_id = id.into_inner();
    let (rows, total) = state
        .db
        .read(move |conn| {
            load_run(conn, run_id)?;
            Ok(dispatch!(conn, |c| {
                let filtered = || {
                    let mut query = match_assignments::table
                        .filter(match_assignments::run_id.eq(run_id))
                        .into_boxed();
                    match filters.matched {
                        Some(true) => {
                            query = query.filter(match_assignments::base_id.is_not_null())
                        }
                        Some(false) => query = query.filter(match_assignments::base_id.is_null()),
                        None => {}
                    }
                    if let Some(base) = filters.base {
                        query = query.filter(match_assignments::base_id.eq(base));
                    }
                    if let Some(student) = filters.student {
                        query = query.filter(match_assignments::student_id.eq(student));
                    }
                    query
                };
                let total: i64 = filtered().count().get_result(c)?;
                let rows: Vec<AssignmentRow> = filtered()
                    .select(AssignmentRow::as_select())
                    .order(match_assignments::student_id)
                    .limit(page.limit())
                    .offset(page.offset())
                    .load(c)?;
                (rows, total)
            }))
        })
        .await?;
    let items = rows
        .into_iter()
        .map(|row| {
            let reasons: Option<Vec<BaseRefusal>> = row
                .unmatched_reason
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|e| DomainError::Internal(e.into()))?;
            let matched = row.base_id.is_some();
            Ok(AssignmentView {
                student_id: row.student_id,
                base_id: row.base_id,
                choice_rank: row.choice_rank,
                unmatched_reason: if matched {
                    None
                } else {
                    Some(reasons.clone().unwrap_or_default())
                },
                higher_choices: if matched { reasons } else { None },
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(web::Json(page.page(items, total)))
}

/// Publishes a run: every matched student gets an `offered` placement. Once per cycle, and
/// only while the run is current.
#[utoipa::path(post, path = "/api/v1/match-runs/{id}/publish", tag = "matching", params(("id" = MatchRunId, Path)),
    responses((status = 200, body = RunView), (status = 403, body = crate::error::Problem),
              (status = 404, body = crate::error::Problem),
              (status = 409, description = "the cycle is published already, or the run is stale", body = crate::error::Problem)))]
pub async fn publish(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<MatchRunId>,
) -> Result<web::Json<RunView>, ApiError> {
    let run_id = id.into_inner();
    runs::publish_run(&state.db, &caller, run_id).await?;
    let view = state.db.read(move |conn| load_run(conn, run_id)).await?;
    tracing::info!(run = %run_id, offers = view.stats.matched, "match run published");
    Ok(web::Json(view))
}

/// A run's bundle: its anonymised instance, seed, result, digests and the log of every run
/// of the cycle, for `placemat verify --bundle FILE` (see docs/matching.md). A run whose
/// cycle's inputs changed after it has no bundle any more (409 `run-stale`); its digests
/// stay in the log.
#[utoipa::path(get, path = "/api/v1/match-runs/{id}/bundle", tag = "matching", params(("id" = MatchRunId, Path)),
    responses((status = 200, description = "the run bundle (format `placemat-run-bundle/1`)", body = Object),
              (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem),
              (status = 409, description = "the cycle's inputs changed after the run", body = crate::error::Problem)))]
pub async fn bundle(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<MatchRunId>,
) -> Result<HttpResponse, ApiError> {
    let file = run_bundles::bundle_file(&state.db, &caller, id.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}\"", file.name),
        ))
        .body(file.json))
}

/// A run's outcome by university and by program: applicants, matched, first choice, top
/// three and mean rank, any count under 5 null with `suppressed: true`. A university admin
/// sees its own university's students only.
#[utoipa::path(get, path = "/api/v1/match-runs/{id}/equity", tag = "matching", params(("id" = MatchRunId, Path)),
    responses((status = 200, body = run_bundles::Equity), (status = 403, body = crate::error::Problem),
              (status = 404, body = crate::error::Problem)))]
pub async fn equity(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<MatchRunId>,
) -> Result<web::Json<run_bundles::Equity>, ApiError> {
    let run_id = id.into_inner();
    Ok(web::Json(
        state
            .db
            .read(move |conn| run_bundles::equity(conn, &caller, run_id))
            .await?,
    ))
}

/// The signed-in student's receipt for the published run: its pseudonym in the bundle,
/// the run's digests, and at each base it listed its position and the base's last
/// admitted position. 409 `not-published` before publication.
#[utoipa::path(get, path = "/api/v1/cycles/{id}/applications/me/receipt", tag = "applications",
    params(("id" = CycleId, Path)),
    responses((status = 200, body = run_bundles::Receipt), (status = 403, body = crate::error::Problem),
              (status = 404, body = crate::error::Problem),
              (status = 409, description = "the cycle's match is not published yet", body = crate::error::Problem)))]
pub async fn receipt(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CycleId>,
) -> Result<web::Json<run_bundles::Receipt>, ApiError> {
    caller.require_role(&[Role::Student])?;
    let cycle = id.into_inner();
    let db = state.db.clone();
    let receipt = tokio::task::spawn_blocking(move || run_bundles::receipt(&db, &caller, cycle))
        .await
        .map_err(|e| DomainError::internal(anyhow::anyhow!("the receipt failed: {e}")))??;
    Ok(web::Json(receipt))
}

/// Per base of a published cycle: seats, applicants, filled and the last admitted
/// position. Any signed-in caller; 409 `not-published` before publication.
#[utoipa::path(get, path = "/api/v1/cycles/{id}/cutoffs", tag = "matching",
    params(("id" = CycleId, Path)),
    responses((status = 200, body = Vec<run_bundles::Cutoff>), (status = 401, body = crate::error::Problem),
              (status = 404, body = crate::error::Problem),
              (status = 409, description = "the cycle's match is not published yet", body = crate::error::Problem)))]
pub async fn cutoffs(
    state: web::Data<AppState>,
    _caller: Caller,
    id: web::Path<CycleId>,
) -> Result<web::Json<Vec<run_bundles::Cutoff>>, ApiError> {
    let cycle = id.into_inner();
    let db = state.db.clone();
    let cutoffs = tokio::task::spawn_blocking(move || run_bundles::cutoffs(&db, cycle))
        .await
        .map_err(|e| DomainError::internal(anyhow::anyhow!("the cutoffs failed: {e}")))??;
    Ok(web::Json(cutoffs))
}
