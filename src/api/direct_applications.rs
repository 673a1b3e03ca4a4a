use crate::api::extract::{JsonBody, OptionalJsonBody, Page, PageParams, QueryParams};
use crate::auth::Caller;
use crate::db::lookup;
use crate::db::models::DirectApplicationRow;
use crate::db::schema::*;
use crate::dispatch;
use crate::domain::validate;
use crate::domain::*;
use crate::error::ApiError;
use crate::services::placements::{self as lifecycle, Decision};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DirectApplicationRequest {
    pub base_id: BaseId,
}

#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectRequest {
    #[serde(default, deserialize_with = "validate::normalised_option")]
    #[schema(
        pattern = r"^[^\u0000-\u0009\u000B\u000C\u000E-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*[^\s\u0000-\u001F\u007F-\u009F\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0][^\u0000-\u0009\u000B\u000C\u000E-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*$",
        max_length = 1000
    )]
    #[validate(length(max = 1000), custom(function = "validate::multi_line_text"))]
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DirectApplicationView {
    pub id: DirectApplicationId,
    pub cycle_id: CycleId,
    pub student_id: StudentId,
    pub base_id: BaseId,
    /// `pending`, `accepted` or `rejected`.
    pub status: DirectApplicationStatus,
    /// The offer made when the application was accepted.
    pub placement_id: Option<PlacementId>,
    pub reason: Option<String>,
    pub created_at: Timestamp,
    pub decided_at: Option<Timestamp>,
}

impl From<DirectApplicationRow> for DirectApplicationView {
    fn from(row: DirectApplicationRow) -> Self {
        Self {
            id: row.id,
            cycle_id: row.cycle_id,
            student_id: row.student_id,
            base_id: row.base_id,
            status: row.status,
            placement_id: row.placement_id,
            reason: row.reason,
            created_at: row.created_at,
            decided_at: row.decided_at,
        }
    }
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DirectApplicationFilters {
    #[param(inline)]
    pub status: Option<DirectApplicationStatus>,
}

/// Second round: an unplaced student applies to a base that still has a free seat.
#[utoipa::path(post, path = "/api/v1/cycles/{id}/direct-applications", tag = "second round",
    params(("id" = CycleId, Path)), request_body = DirectApplicationRequest,
    responses((status = 201, body = DirectApplicationView), (status = 403, body = crate::error::Problem),
              (status = 404, body = crate::error::Problem),
              (status = 409, description = "not yet published, already placed, or already applied there", body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CycleId>,
    body: JsonBody<DirectApplicationRequest>,
) -> Result<HttpResponse, ApiError> {
    let created = crate::services::direct_applications::apply(
        &state.db,
        &caller,
        id.into_inner(),
        body.0.base_id,
    )
    .await?;
    Ok(HttpResponse::Created().json(DirectApplicationView::from(created)))
}

/// Direct applications of a cycle: a coordinator sees its base's, a student its own, a
/// university admin its students', the alliance admin all.
#[utoipa::path(get, path = "/api/v1/cycles/{id}/direct-applications", tag = "second round",
    params(("id" = CycleId, Path), PageParams, DirectApplicationFilters),
    responses((status = 200, body = inline(Page<DirectApplicationView>)), (status = 404, body = crate::error::Problem)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CycleId>,
    QueryParams(page): QueryParams<PageParams>,
    QueryParams(filters): QueryParams<DirectApplicationFilters>,
) -> Result<web::Json<Page<DirectApplicationView>>, ApiError> {
    let cycle_id = id.into_inner();
    let limits = caller.scope()?.limits();
    let (rows, total) = state
        .db
        .read(move |conn| {
            lookup::cycle(conn, cycle_id)?;
            Ok(dispatch!(conn, |c| {
                let filtered = || {
                    let mut query = direct_applications::table
                        .inner_join(students::table)
                        .filter(direct_applications::cycle_id.eq(cycle_id))
                        .into_boxed();
                    if let Some(university) = limits.university {
                        query = query.filter(students::university_id.eq(university));
                    }
                    if let Some(base) = limits.base {
                        query = query.filter(direct_applications::base_id.eq(base));
                    }
                    if let Some(student) = limits.student {
                        query = query.filter(direct_applications::student_id.eq(student));
                    }
                    if let Some(status) = filters.status {
                        query = query.filter(direct_applications::status.eq(status));
                    }
                    query
                };
                let total: i64 = filtered().count().get_result(c)?;
                let rows: Vec<DirectApplicationRow> = filtered()
                    .select(DirectApplicationRow::as_select())
                    .order((direct_applications::created_at, direct_applications::id))
                    .limit(page.limit())
                    .offset(page.offset())
                    .load(c)?;
                (rows, total)
            }))
        })
        .await?;
    Ok(web::Json(
        page.page(rows.into_iter().map(Into::into).collect(), total),
    ))
}

/// The base's coordinator accepts: a seat is taken and the student gets an offer; 409 when
/// no seat is free.
#[utoipa::path(post, path = "/api/v1/direct-applications/{id}/accept", tag = "second round",
    params(("id" = DirectApplicationId, Path)),
    responses((status = 200, body = DirectApplicationView), (status = 403, body = crate::error::Problem),
              (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn accept(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<DirectApplicationId>,
) -> Result<web::Json<DirectApplicationView>, ApiError> {
    let id = id.into_inner();
    let row = state
        .db
        .write(move |conn| lifecycle::decide(conn, &caller, id, Decision::Accept))
        .await?;
    Ok(web::Json(row.into()))
}

/// The base's coordinator rejects a direct application.
#[utoipa::path(post, path = "/api/v1/direct-applications/{id}/reject", tag = "second round",
    params(("id" = DirectApplicationId, Path)), request_body(content = Option<RejectRequest>, description = "optional reason"),
    responses((status = 200, body = DirectApplicationView), (status = 403, body = crate::error::Problem),
              (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn reject(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<DirectApplicationId>,
    body: OptionalJsonBody<RejectRequest>,
) -> Result<web::Json<DirectApplicationView>, ApiError> {
    let id = id.into_inner();
    let reason = body.0.reason;
    let row = state
        .db
        .write(move |conn| lifecycle::decide(conn, &caller, id, Decision::Reject(reason)))
        .await?;
    Ok(web::Json(row.into()))
}
