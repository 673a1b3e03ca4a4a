use crate::api::extract::{JsonBody, Page, PageParams, QueryParams};
use crate::auth::Caller;
use crate::db::lookup;
use crate::db::models::{Cycle, CycleSeats};
use crate::db::schema::{bases, cycle_seats, cycles, placements};
use crate::dispatch;
use crate::domain::validate;
use crate::domain::*;
use crate::error::ApiError;
use crate::services::cycles as service;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use chrono::NaiveDate;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

/// Where a cycle stands, derived from its window and publication.
#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CyclePhase {
    Upcoming,
    Open,
    Closed,
    Published,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CycleView {
    pub id: CycleId,
    pub name: String,
    pub applications_open_at: Timestamp,
    pub applications_close_at: Timestamp,
    pub max_preferences: i32,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub phase: CyclePhase,
    pub published_run_id: Option<MatchRunId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<Cycle> for CycleView {
    fn from(row: Cycle) -> Self {
        let now = Timestamp::now();
        let phase = if row.published_run_id.is_some() {
            CyclePhase::Published
        } else if now < row.applications_open_at {
            CyclePhase::Upcoming
        } else if now < row.applications_close_at {
            CyclePhase::Open
        } else {
            CyclePhase::Closed
        };
        Self {
            id: row.id,
            name: row.name,
            applications_open_at: row.applications_open_at,
            applications_close_at: row.applications_close_at,
            max_preferences: row.max_preferences,
            starts_on: row.starts_on,
            ends_on: row.ends_on,
            phase,
            published_run_id: row.published_run_id,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCycle {
    #[serde(deserialize_with = "validate::normalised")]
    #[schema(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*[^\s\u0000-\u001F\u007F-\u009F\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0][^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*$",
        max_length = 100
    )]
    #[validate(length(max = 100), custom(function = "validate::text"))]
    pub name: String,
    pub applications_open_at: Timestamp,
    pub applications_close_at: Timestamp,
    /// The most bases a student may list (1–50).
    #[validate(range(min = 1, max = 50, message = "must be between 1 and 50"))]
    #[schema(minimum = 1, maximum = 50)]
    #[serde(deserialize_with = "validate::whole")]
    pub max_preferences: i32,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CyclePatch {
    #[serde(default, deserialize_with = "validate::normalised_option")]
    #[schema(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*[^\s\u0000-\u001F\u007F-\u009F\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0][^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*$",
        max_length = 100
    )]
    #[validate(length(max = 100), custom(function = "validate::text"))]
    pub name: Option<String>,
    pub applications_open_at: Option<Timestamp>,
    pub applications_close_at: Option<Timestamp>,
    #[validate(range(min = 1, max = 50, message = "must be between 1 and 50"))]
    #[schema(minimum = 1, maximum = 50)]
    #[serde(default, deserialize_with = "validate::whole_option")]
    pub max_preferences: Option<i32>,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
}

impl From<NewCycle> for service::NewCycle {
    fn from(request: NewCycle) -> Self {
        Self {
            name: request.name,
            applications_open_at: request.applications_open_at,
            applications_close_at: request.applications_close_at,
            max_preferences: request.max_preferences,
            starts_on: request.starts_on,
            ends_on: request.ends_on,
        }
    }
}

impl From<CyclePatch> for service::CycleEdit {
    fn from(patch: CyclePatch) -> Self {
        Self {
            name: patch.name,
            applications_open_at: patch.applications_open_at,
            applications_close_at: patch.applications_close_at,
            max_preferences: patch.max_preferences,
            starts_on: patch.starts_on,
            ends_on: patch.ends_on,
        }
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeatsRequest {
    /// Interns the base takes in this cycle (0–10,000).
    #[schema(minimum = 0, maximum = 10000)]
    #[serde(deserialize_with = "validate::whole")]
    pub seats: i32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SeatsView {
    pub cycle_id: CycleId,
    pub base_id: BaseId,
    pub base_name: String,
    pub seats: i32,
    pub offered: i64,
    pub confirmed: i64,
    /// Seats not held by an offered or confirmed placement.
    pub free: i64,
    pub updated_at: Timestamp,
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeatFilters {
    /// Only this base.
    pub base: Option<BaseId>,
    /// Only bases with (true) or without (false) a free seat.
    pub has_free_seats: Option<bool>,
}

/// Placement cycles, newest first.
#[utoipa::path(get, path = "/api/v1/cycles", tag = "reference data", params(PageParams),
    responses((status = 200, body = inline(Page<CycleView>)), (status = 401, body = crate::error::Problem)))]
pub async fn list(
    state: web::Data<AppState>,
    _caller: Caller,
    QueryParams(page): QueryParams<PageParams>,
) -> Result<web::Json<Page<CycleView>>, ApiError> {
    let (rows, total) = state
        .db
        .read(move |conn| {
            Ok(dispatch!(conn, |c| {
                let total: i64 = cycles::table.count().get_result(c)?;
                let rows: Vec<Cycle> = cycles::table
                    .select(Cycle::as_select())
                    .order((cycles::applications_open_at.desc(), cycles::id))
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

/// One cycle.
#[utoipa::path(get, path = "/api/v1/cycles/{id}", tag = "reference data", params(("id" = CycleId, Path)),
    responses((status = 200, body = CycleView), (status = 404, body = crate::error::Problem)))]
pub async fn get(
    state: web::Data<AppState>,
    _caller: Caller,
    id: web::Path<CycleId>,
) -> Result<web::Json<CycleView>, ApiError> {
    let id = id.into_inner();
    let row = state.db.read(move |conn| lookup::cycle(conn, id)).await?;
    Ok(web::Json(row.into()))
}

/// Opens a new cycle (alliance admin).
#[utoipa::path(post, path = "/api/v1/cycles", tag = "reference data", request_body = NewCycle,
    responses((status = 201, body = CycleView), (status = 403, body = crate::error::Problem),
              (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: JsonBody<NewCycle>,
) -> Result<HttpResponse, ApiError> {
    let created = service::create(&state.db, &caller, body.0.into()).await?;
    Ok(HttpResponse::Created().json(CycleView::from(created)))
}

/// Changes a cycle (alliance admin).
#[utoipa::path(patch, path = "/api/v1/cycles/{id}", tag = "reference data", params(("id" = CycleId, Path)),
    request_body = CyclePatch,
    responses((status = 200, body = CycleView), (status = 403, body = crate::error::Problem),
              (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CycleId>,
    body: JsonBody<CyclePatch>,
) -> Result<web::Json<CycleView>, ApiError> {
    let updated = service::update(&state.db, &caller, id.into_inner(), body.0.into()).await?;
    Ok(web::Json(updated.into()))
}

/// Sets how many interns a base takes in a cycle (alliance admin, or the base's coordinator).
#[utoipa::path(put, path = "/api/v1/cycles/{id}/seats/{base_id}", tag = "reference data",
    params(("id" = CycleId, Path), ("base_id" = BaseId, Path)), request_body = SeatsRequest,
    responses((status = 200, body = SeatsView), (status = 403, body = crate::error::Problem),
              (status = 404, body = crate::error::Problem),
              (status = 409, description = "fewer seats than live placements", body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)))]
pub async fn put_seats(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(CycleId, BaseId)>,
    body: JsonBody<SeatsRequest>,
) -> Result<web::Json<SeatsView>, ApiError> {
    let (cycle_id, base_id) = path.into_inner();
    crate::services::seats::set(&state.db, &caller, cycle_id, base_id, body.0.seats).await?;
    let view = state
        .db
        .read(move |conn| {
            let mut views = load_seats(conn, cycle_id, Some(base_id), None, 1, 0)?.0;
            views.pop().ok_or_else(|| DomainError::not_found("seats"))
        })
        .await?;
    Ok(web::Json(view))
}

/// Seats, offered, confirmed and free per base in a cycle.
#[utoipa::path(get, path = "/api/v1/cycles/{id}/seats", tag = "reference data",
    params(("id" = CycleId, Path), PageParams, SeatFilters),
    responses((status = 200, body = inline(Page<SeatsView>)), (status = 404, body = crate::error::Problem)))]
pub async fn list_seats(
    state: web::Data<AppState>,
    _caller: Caller,
    id: web::Path<CycleId>,
    QueryParams(page): QueryParams<PageParams>,
    QueryParams(filters): QueryParams<SeatFilters>,
) -> Result<web::Json<Page<SeatsView>>, ApiError> {
    let cycle_id = id.into_inner();
    let (items, total) = state
        .db
        .read(move |conn| {
            lookup::cycle(conn, cycle_id)?;
            load_seats(
                conn,
                cycle_id,
                filters.base,
                filters.has_free_seats,
                page.limit(),
                page.offset(),
            )
        })
        .await?;
    Ok(web::Json(page.page(items, total)))
}

fn load_seats(
    conn: &mut crate::db::DbConn,
    cycle_id: CycleId,
    base: Option<BaseId>,
    has_free_seats: Option<bool>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<SeatsView>, i64), DomainError> {
    let (rows, total): (Vec<(CycleSeats, String)>, i64) = dispatch!(conn, |c| {
        let filtered = || {
            let mut query = cycle_seats::table
                .inner_join(bases::table)
                .filter(cycle_seats::cycle_id.eq(cycle_id))
                .into_boxed();
            if let Some(base) = base {
                query = query.filter(cycle_seats::base_id.eq(base));
            }
            match has_free_seats {
                Some(true) => query = query.filter(cycle_seats::taken.lt(cycle_seats::seats)),
                Some(false) => query = query.filter(cycle_seats::taken.ge(cycle_seats::seats)),
                None => {}
            }
            query
        };
        let total: i64 = filtered().count().get_result(c)?;
        let rows = filtered()
            .select((CycleSeats::as_select(), bases::name))
            .order((bases::name, bases::id))
            .limit(limit)
            .offset(offset)
            .load(c)?;
        (rows, total)
    });
    let base_ids: Vec<BaseId> = rows.iter().map(|(seats, _)| seats.base_id).collect();
    let counts: Vec<(BaseId, PlacementStatus, i64)> = dispatch!(conn, |c| placements::table
        .filter(placements::cycle_id.eq(cycle_id))
        .filter(placements::base_id.eq_any(&base_ids))
        .filter(placements::status.eq_any([PlacementStatus::Offered, PlacementStatus::Confirmed]))
        .group_by((placements::base_id, placements::status))
        .select((
            placements::base_id,
            placements::status,
            diesel::dsl::count_star()
        ))
        .load(c))?;
    let mut by_base: HashMap<BaseId, (i64, i64)> = HashMap::new();
    for (base_id, status, count) in counts {
        let entry = by_base.entry(base_id).or_default();
        if status == PlacementStatus::Offered {
            entry.0 = count;
        } else {
            entry.1 = count;
        }
    }
    let views = rows
        .into_iter()
        .map(|(seats, base_name)| {
            let (offered, confirmed) = by_base.get(&seats.base_id).copied().unwrap_or_default();
            SeatsView {
                cycle_id: seats.cycle_id,
                base_id: seats.base_id,
                base_name,
                seats: seats.seats,
                offered,
                confirmed,
                free: i64::from(seats.seats) - i64::from(seats.taken),
                updated_at: seats.updated_at,
            }
        })
        .collect();
    Ok((views, total))
}
