use crate::api::extract::{JsonBody, OptionalJsonBody, Page, PageParams, QueryParams};
use crate::auth::Caller;
use crate::db::DbConn;
use crate::domain::validate;
use crate::domain::*;
use crate::error::ApiError;
use crate::services::placements as lifecycle;
use crate::services::placements::DeclineReason;
use crate::state::AppState;
use actix_web::web;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

#[derive(Debug, Serialize, ToSchema)]
pub struct PlacementView {
    pub id: PlacementId,
    pub cycle_id: CycleId,
    pub student_id: StudentId,
    pub student_name: String,
    pub university_id: UniversityId,
    pub base_id: BaseId,
    pub base_name: String,
    pub status: PlacementStatus,
    /// `match` (a published run) or `second_round` (a direct application).
    pub source: PlacementSource,
    pub run_id: Option<MatchRunId>,
    pub decline_reason: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Every change, oldest first (on a single placement only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<HistoryEntry>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntry {
    pub at: Timestamp,
    /// Email of who made the change.
    pub actor: Option<String>,
    pub from: Option<PlacementStatus>,
    pub to: PlacementStatus,
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlacementFilters {
    pub cycle: Option<CycleId>,
    pub base: Option<BaseId>,
    /// The students' university.
    pub university: Option<UniversityId>,
    pub status: Option<PlacementStatus>,
    pub student: Option<StudentId>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclineRequest {
    /// Why the base declines, told to the student.
    #[serde(deserialize_with = "validate::normalised")]
    #[schema(
        pattern = r"^[^\u0000-\u0009\u000B\u000C\u000E-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*[^\s\u0000-\u001F\u007F-\u009F\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0][^\u0000-\u0009\u000B\u000C\u000E-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*$",
        max_length = 1000
    )]
    #[validate(length(max = 1000), custom(function = "validate::multi_line_text"))]
    pub reason: String,
}

#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    #[serde(default, deserialize_with = "validate::normalised_option")]
    #[schema(
        pattern = r"^[^\u0000-\u0009\u000B\u000C\u000E-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*[^\s\u0000-\u001F\u007F-\u009F\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0][^\u0000-\u0009\u000B\u000C\u000E-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*$",
        max_length = 1000
    )]
    #[validate(length(max = 1000), custom(function = "validate::multi_line_text"))]
    pub reason: Option<String>,
}

fn to_view(listed: lifecycle::Listed) -> PlacementView {
    let row = listed.placement;
    PlacementView {
        id: row.id,
        cycle_id: row.cycle_id,
        student_id: row.student_id,
        student_name: listed.student_name,
        university_id: row.university_id,
        base_id: row.base_id,
        base_name: listed.base_name,
        status: row.status,
        source: row.source,
        run_id: row.run_id,
        decline_reason: row.decline_reason,
        created_at: row.created_at,
        updated_at: row.updated_at,
        history: None,
    }
}

/// A placement with its history.
fn detail(conn: &mut DbConn, listed: lifecycle::Listed) -> Result<PlacementView, DomainError> {
    let id = listed.placement.id;
    let history = lifecycle::history(conn, &[id])?
        .remove(&id)
        .unwrap_or_default()
        .into_iter()
        .map(|step| HistoryEntry {
            at: step.at,
            actor: step.actor,
            from: step.from,
            to: step.to,
            reason: step.reason,
        })
        .collect();
    let mut view = to_view(listed);
    view.history = Some(history);
    Ok(view)
}

/// Placements the caller may see: all (alliance admin), its students' (university admin),
/// its base's (coordinator), its own (student).
#[utoipa::path(get, path = "/api/v1/placements", tag = "placements", params(PageParams, PlacementFilters),
    responses((status = 200, body = inline(Page<PlacementView>)), (status = 401, body = crate::error::Problem)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    QueryParams(page): QueryParams<PageParams>,
    QueryParams(filters): QueryParams<PlacementFilters>,
) -> Result<web::Json<Page<PlacementView>>, ApiError> {
    let selections = [
        lifecycle::Selection::from(caller.scope()?.limits()),
        lifecycle::Selection {
            cycle: filters.cycle,
            university: filters.university,
            base: filters.base,
            student: filters.student,
            status: filters.status,
        },
    ];
    let (listed, total) = state
        .db
        .read(move |conn| {
            lifecycle::list(
                conn,
                &selections,
                lifecycle::ListOrder::Created,
                page.limit(),
                page.offset(),
            )
        })
        .await?;
    let items = listed.into_iter().map(to_view).collect();
    Ok(web::Json(page.page(items, total)))
}

/// One placement with its history.
#[utoipa::path(get, path = "/api/v1/placements/{id}", tag = "placements", params(("id" = PlacementId, Path)),
    responses((status = 200, body = PlacementView), (status = 404, body = crate::error::Problem)))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<PlacementId>,
) -> Result<web::Json<PlacementView>, ApiError> {
    let id = id.into_inner();
    let view = state
        .db
        .read(move |conn| {
            let listed = lifecycle::find_listed(conn, id)?;
            lifecycle::require_visible(&caller, &listed.placement)?;
            detail(conn, listed)
        })
        .await?;
    Ok(web::Json(view))
}

async fn act(
    state: web::Data<AppState>,
    caller: Caller,
    id: PlacementId,
    action: PlacementAction,
    reason: Option<String>,
) -> Result<web::Json<PlacementView>, ApiError> {
    let view = state
        .db
        .write(move |conn| {
            lifecycle::act(conn, &caller, id, action, reason)?;
            let listed = lifecycle::find_listed(conn, id)?;
            detail(conn, listed)
        })
        .await?;
    tracing::info!(placement = %id, status = %view.status, "placement {}ed", action.verb());
    Ok(web::Json(view))
}

/// The base confirms an offered placement (its coordinator).
#[utoipa::path(post, path = "/api/v1/placements/{id}/confirm", tag = "placements", params(("id" = PlacementId, Path)),
    responses((status = 200, body = PlacementView), (status = 403, body = crate::error::Problem),
              (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn confirm(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<PlacementId>,
) -> Result<web::Json<PlacementView>, ApiError> {
    act(
        state,
        caller,
        id.into_inner(),
        PlacementAction::Confirm,
        None,
    )
    .await
}

/// The base declines an offered placement, with a reason (its coordinator). The seat is
/// free again for the second round.
#[utoipa::path(post, path = "/api/v1/placements/{id}/decline", tag = "placements", params(("id" = PlacementId, Path)),
    request_body = DeclineRequest,
    responses((status = 200, body = PlacementView), (status = 403, body = crate::error::Problem),
              (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)))]
pub async fn decline(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<PlacementId>,
    body: JsonBody<DeclineRequest>,
) -> Result<web::Json<PlacementView>, ApiError> {
    act(
        state,
        caller,
        id.into_inner(),
        PlacementAction::Decline,
        Some(
            DeclineReason::try_from(body.0.reason.as_str())
                .map_err(DomainError::from)?
                .into(),
        ),
    )
    .await
}

/// The student gives up an offered or confirmed placement; the seat is free again.
#[utoipa::path(post, path = "/api/v1/placements/{id}/withdraw", tag = "placements", params(("id" = PlacementId, Path)),
    request_body(content = Option<NoteRequest>, description = "optional reason"),
    responses((status = 200, body = PlacementView), (status = 403, body = crate::error::Problem),
              (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn withdraw(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<PlacementId>,
    body: OptionalJsonBody<NoteRequest>,
) -> Result<web::Json<PlacementView>, ApiError> {
    let reason = body.0.reason;
    act(
        state,
        caller,
        id.into_inner(),
        PlacementAction::Withdraw,
        reason,
    )
    .await
}

/// The internship of a confirmed placement is over (its coordinator).
#[utoipa::path(post, path = "/api/v1/placements/{id}/complete", tag = "placements", params(("id" = PlacementId, Path)),
    responses((status = 200, body = PlacementView), (status = 403, body = crate::error::Problem),
              (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn complete(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<PlacementId>,
) -> Result<web::Json<PlacementView>, ApiError> {
    act(
        state,
        caller,
        id.into_inner(),
        PlacementAction::Complete,
        None,
    )
    .await
}
