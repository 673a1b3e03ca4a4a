use crate::api::extract::{JsonBody, Page, PageParams, QueryParams};
use crate::auth::Caller;
use crate::db::lookup;
use crate::db::models::{ApplicationRow, PreferenceRow};
use crate::db::schema::*;
use crate::db::DbConn;
use crate::dispatch;
use crate::domain::*;
use crate::error::ApiError;
use crate::services::applications::{self as applications_service, Submitted};
use crate::state::AppState;
use actix_web::web;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicationRequest {
    /// Bases, most wanted first; `services::applications` checks the length against the
    /// cycle's limit.
    #[schema(min_items = 1, max_items = 50)]
    pub preferences: Vec<BaseId>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationView {
    pub id: ApplicationId,
    pub cycle_id: CycleId,
    pub student_id: StudentId,
    pub student_name: String,
    pub student_number: String,
    pub university_id: UniversityId,
    pub program_code: String,
    pub score: Option<f64>,
    /// The student's list, most wanted first (for a coordinator: only its own base).
    pub preferences: Vec<BaseId>,
    /// For a coordinator: where the student listed its base.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub choice_rank_of_base: Option<i32>,
    pub submitted_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ApplicationFilters {
    /// Only applicants who listed this base.
    pub base: Option<BaseId>,
    /// Only students of this university (alliance admin).
    pub university: Option<UniversityId>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RankingRequest {
    /// The base's applicants, best first.
    #[schema(max_items = 10000)]
    pub student_ids: Vec<StudentId>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RankingView {
    pub cycle_id: CycleId,
    pub base_id: BaseId,
    pub student_ids: Vec<StudentId>,
}

fn load_own(
    conn: &mut DbConn,
    cycle: CycleId,
    student: StudentId,
) -> Result<ApplicationView, DomainError> {
    let own = Limits {
        student: Some(student),
        ..Limits::default()
    };
    let mut views = load_views(conn, cycle, own, None, 1, 0)?.0;
    views
        .pop()
        .ok_or_else(|| DomainError::not_found("application"))
}

fn load_views(
    conn: &mut DbConn,
    cycle: CycleId,
    limits: Limits,
    listing_base: Option<BaseId>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<ApplicationView>, i64), DomainError> {
    type Row = (
        ApplicationRow,
        (String, String, UniversityId, Option<f64>),
        String,
    );
    let (rows, total): (Vec<Row>, i64) = dispatch!(conn, |c| {
        let filtered = || {
            let mut query = applications::table
                .inner_join(students::table.inner_join(programs::table))
                .filter(applications::cycle_id.eq(cycle))
                .into_boxed();
            if let Some(university) = limits.university {
                query = query.filter(students::university_id.eq(university));
            }
            if let Some(student) = limits.student {
                query = query.filter(applications::student_id.eq(student));
            }
            if let Some(base) = limits.base.or(listing_base) {
                query = query.filter(
                    applications::id.eq_any(
                        application_preferences::table
                            .select(application_preferences::application_id)
                            .filter(application_preferences::base_id.eq(base)),
                    ),
                );
            }
            query
        };
        let total: i64 = filtered().count().get_result(c)?;
        let rows = filtered()
            .select((
                ApplicationRow::as_select(),
                (
                    students::name,
                    students::student_number,
                    students::university_id,
                    students::score,
                ),
                programs::code,
            ))
            .order((students::student_number, applications::id))
            .limit(limit)
            .offset(offset)
            .load(c)?;
        (rows, total)
    });
    let ids: Vec<ApplicationId> = rows.iter().map(|(a, _, _)| a.id).collect();
    let preferences: Vec<PreferenceRow> = dispatch!(conn, |c| application_preferences::table
        .filter(application_preferences::application_id.eq_any(&ids))
        .select(PreferenceRow::as_select())
        .order((
            application_preferences::application_id,
            application_preferences::position
        ))
        .load(c))?;
    let mut lists: HashMap<ApplicationId, Vec<(i32, BaseId)>> = HashMap::new();
    for row in preferences {
        lists
            .entry(row.application_id)
            .or_default()
            .push((row.position, row.base_id));
    }
    let coordinator_base = limits.base;
    let views = rows
        .into_iter()
        .map(
            |(application, (name, number, university_id, score), program_code)| {
                let list = lists.remove(&application.id).unwrap_or_default();
                let (preferences, choice_rank_of_base) = match coordinator_base {
                    Some(base) => {
                        let rank = list.iter().find(|(_, b)| *b == base).map(|(p, _)| *p);
                        (vec![base], rank)
                    }
                    None => (list.into_iter().map(|(_, b)| b).collect(), None),
                };
                ApplicationView {
                    id: application.id,
                    cycle_id: application.cycle_id,
                    student_id: application.student_id,
                    student_name: name,
                    student_number: number,
                    university_id,
                    program_code,
                    score,
                    preferences,
                    choice_rank_of_base,
                    submitted_at: application.submitted_at,
                    updated_at: application.updated_at,
                }
            },
        )
        .collect();
    Ok((views, total))
}

/// Submits or replaces the caller's ranked list of bases.
#[utoipa::path(put, path = "/api/v1/cycles/{id}/applications/me", tag = "applications",
    params(("id" = CycleId, Path)), request_body = ApplicationRequest,
    responses((status = 200, body = ApplicationView), (status = 403, body = crate::error::Problem),
              (status = 404, body = crate::error::Problem),
              (status = 422, description = "an entry or the window at fault; the stored list is unchanged", body = crate::error::Problem)))]
pub async fn put_mine(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CycleId>,
    body: JsonBody<ApplicationRequest>,
) -> Result<web::Json<ApplicationView>, ApiError> {
    let cycle_id = id.into_inner();
    let Submitted {
        application,
        student,
        program_code,
        preferences,
    } = applications_service::submit(
        &state.db,
        state.kept_list_rules(),
        &caller,
        cycle_id,
        body.0.preferences,
    )
    .await?;
    let student_id = student.id;
    Ok(web::Json(ApplicationView {
        id: application.id,
        cycle_id,
        student_id,
        student_name: student.name,
        student_number: student.student_number,
        university_id: student.university_id,
        program_code,
        score: student.score,
        preferences,
        choice_rank_of_base: None,
        submitted_at: application.submitted_at,
        updated_at: application.updated_at,
    }))
}

/// The caller's application in a cycle.
#[utoipa::path(get, path = "/api/v1/cycles/{id}/applications/me", tag = "applications",
    params(("id" = CycleId, Path)),
    responses((status = 200, body = ApplicationView), (status = 403, body = crate::error::Problem),
              (status = 404, body = crate::error::Problem)))]
pub async fn get_mine(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CycleId>,
) -> Result<web::Json<ApplicationView>, ApiError> {
    caller.require_role(&[Role::Student])?;
    let cycle_id = id.into_inner();
    let student = caller
        .student_id
        .ok_or_else(|| DomainError::Forbidden("only students apply".into()))?;
    let view = state
        .db
        .read(move |conn| {
            lookup::cycle(conn, cycle_id)?;
            load_own(conn, cycle_id, student)
        })
        .await?;
    Ok(web::Json(view))
}

/// Applications in a cycle: all for the alliance admin, its students' for a university
/// admin, its applicants for a coordinator.
#[utoipa::path(get, path = "/api/v1/cycles/{id}/applications", tag = "applications",
    params(("id" = CycleId, Path), PageParams, ApplicationFilters),
    responses((status = 200, body = inline(Page<ApplicationView>)), (status = 403, body = crate::error::Problem)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CycleId>,
    QueryParams(page): QueryParams<PageParams>,
    QueryParams(filters): QueryParams<ApplicationFilters>,
) -> Result<web::Json<Page<ApplicationView>>, ApiError> {
    let cycle_id = id.into_inner();
    let scope = caller.scope()?;
    let limits = match scope {
        Scope::Base(own) => {
            if filters.base.is_some_and(|asked| asked != own) {
                return Err(ApiError::Forbidden(
                    "a coordinator sees its own base's applicants only".into(),
                ));
            }
            scope.limits()
        }
        _ => Limits {
            university: scope.managed_students(filters.university)?,
            ..Limits::default()
        },
    };
    let (items, total) = state
        .db
        .read(move |conn| {
            lookup::cycle(conn, cycle_id)?;
            load_views(
                conn,
                cycle_id,
                limits,
                filters.base,
                page.limit(),
                page.offset(),
            )
        })
        .await?;
    Ok(web::Json(page.page(items, total)))
}

/// Sets a base's order of its applicants (its coordinator, or the alliance admin).
/// Applicants left out follow, by score and then the run's lottery.
#[utoipa::path(put, path = "/api/v1/cycles/{id}/rankings/{base_id}", tag = "applications",
    params(("id" = CycleId, Path), ("base_id" = BaseId, Path)), request_body = RankingRequest,
    responses((status = 200, body = RankingView), (status = 403, body = crate::error::Problem),
              (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)))]
pub async fn put_ranking(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(CycleId, BaseId)>,
    body: JsonBody<RankingRequest>,
) -> Result<web::Json<RankingView>, ApiError> {
    let (cycle_id, base_id) = path.into_inner();
    let student_ids = applications_service::save_ranking(
        &state.db,
        &caller,
        cycle_id,
        base_id,
        body.0.student_ids,
    )
    .await?;
    Ok(web::Json(RankingView {
        cycle_id,
        base_id,
        student_ids,
    }))
}

/// A base's current ranking of its applicants.
#[utoipa::path(get, path = "/api/v1/cycles/{id}/rankings/{base_id}", tag = "applications",
    params(("id" = CycleId, Path), ("base_id" = BaseId, Path)),
    responses((status = 200, body = RankingView), (status = 403, body = crate::error::Problem)))]
pub async fn get_ranking(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(CycleId, BaseId)>,
) -> Result<web::Json<RankingView>, ApiError> {
    let (cycle_id, base_id) = path.into_inner();
    caller.scope()?.require_base(base_id)?;
    let student_ids = state
        .db
        .read(move |conn| {
            lookup::cycle(conn, cycle_id)?;
            Ok(dispatch!(conn, |c| base_rankings::table
                .filter(base_rankings::cycle_id.eq(cycle_id))
                .filter(base_rankings::base_id.eq(base_id))
                .select(base_rankings::student_id)
                .order(base_rankings::position)
                .load(c))?)
        })
        .await?;
    Ok(web::Json(RankingView {
        cycle_id,
        base_id,
        student_ids,
    }))
}
