use crate::api::extract::{JsonBody, Page, PageParams, QueryParams};
use crate::auth::Caller;
use crate::db::lookup;
use crate::db::models::{Base, BaseChanges, BaseProgram};
use crate::db::schema::{base_programs, bases, cycle_seats};
use crate::db::DbConn;
use crate::dispatch;
use crate::domain::validate;
use crate::domain::*;
use crate::error::{ApiError, FieldError};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

#[derive(Debug, Serialize, ToSchema)]
pub struct BaseView {
    pub id: BaseId,
    pub name: String,
    pub organisation: String,
    pub city: String,
    pub host_university_id: UniversityId,
    pub program_codes: Vec<String>,
    pub coordinator_email: String,
    pub coordinator_name: Option<String>,
    pub coordinator_phone: Option<String>,
    pub active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl BaseView {
    fn new(row: Base, program_codes: Vec<String>) -> Self {
        Self {
            id: row.id,
            name: row.name,
            organisation: row.organisation,
            city: row.city,
            host_university_id: row.host_university_id,
            program_codes,
            coordinator_email: row.coordinator_email,
            coordinator_name: row.coordinator_name,
            coordinator_phone: row.coordinator_phone,
            active: row.active,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBase {
    #[serde(deserialize_with = "validate::normalised")]
    #[schema(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*[^\s\u0000-\u001F\u007F-\u009F\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0][^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*$",
        max_length = 200
    )]
    #[validate(length(max = 200), custom(function = "validate::text"))]
    pub name: String,
    #[serde(deserialize_with = "validate::normalised")]
    #[schema(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*[^\s\u0000-\u001F\u007F-\u009F\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0][^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*$",
        max_length = 200
    )]
    #[validate(length(max = 200), custom(function = "validate::text"))]
    pub organisation: String,
    #[serde(deserialize_with = "validate::normalised")]
    #[schema(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*[^\s\u0000-\u001F\u007F-\u009F\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0][^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*$",
        max_length = 100
    )]
    #[validate(length(max = 100), custom(function = "validate::text"))]
    pub city: String,
    pub host_university_id: UniversityId,
    /// Program codes (or ids) the base accepts.
    #[validate(length(min = 1, max = 50, message = "must list 1 to 50 programs"))]
    #[schema(min_items = 1, max_items = 50)]
    pub program_codes: Vec<String>,
    #[validate(email(message = "must be an email address"))]
    #[schema(format = Email)]
    pub coordinator_email: String,
    #[serde(default, deserialize_with = "validate::normalised_option")]
    #[schema(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*[^\s\u0000-\u001F\u007F-\u009F\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0][^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*$",
        max_length = 200
    )]
    #[validate(length(max = 200), custom(function = "validate::text"))]
    pub coordinator_name: Option<String>,
    #[serde(default, deserialize_with = "validate::normalised_option")]
    #[schema(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*[^\s\u0000-\u001F\u007F-\u009F\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0][^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*$",
        max_length = 50
    )]
    #[validate(length(max = 50), custom(function = "validate::text"))]
    pub coordinator_phone: Option<String>,
    pub active: Option<bool>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BasePatch {
    #[serde(default, deserialize_with = "validate::normalised_option")]
    #[schema(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*[^\s\u0000-\u001F\u007F-\u009F\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0][^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*$",
        max_length = 200
    )]
    #[validate(length(max = 200), custom(function = "validate::text"))]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "validate::normalised_option")]
    #[schema(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*[^\s\u0000-\u001F\u007F-\u009F\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0][^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*$",
        max_length = 200
    )]
    #[validate(length(max = 200), custom(function = "validate::text"))]
    pub organisation: Option<String>,
    #[serde(default, deserialize_with = "validate::normalised_option")]
    #[schema(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*[^\s\u0000-\u001F\u007F-\u009F\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0][^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*$",
        max_length = 100
    )]
    #[validate(length(max = 100), custom(function = "validate::text"))]
    pub city: Option<String>,
    pub host_university_id: Option<UniversityId>,
    #[validate(length(min = 1, max = 50, message = "must list 1 to 50 programs"))]
    #[schema(min_items = 1, max_items = 50)]
    pub program_codes: Option<Vec<String>>,
    #[validate(email(message = "must be an email address"))]
    #[schema(format = Email)]
    pub coordinator_email: Option<String>,
    #[serde(default, deserialize_with = "validate::normalised_change")]
    #[schema(value_type = Option<String>)]
    #[schema(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*[^\s\u0000-\u001F\u007F-\u009F\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0][^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*$",
        max_length = 200
    )]
    #[validate(length(max = 200), custom(function = "validate::text"))]
    pub coordinator_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "validate::normalised_change")]
    #[schema(value_type = Option<String>)]
    #[schema(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*[^\s\u0000-\u001F\u007F-\u009F\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0][^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*$",
        max_length = 50
    )]
    #[validate(length(max = 50), custom(function = "validate::text"))]
    pub coordinator_phone: Option<Option<String>>,
    pub active: Option<bool>,
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BaseFilters {
    /// Only bases accepting this program (code or id).
    pub program: Option<String>,
    /// Only bases in this city.
    pub city: Option<String>,
    /// Only bases hosted by this university (code or id).
    pub host_university: Option<String>,
    /// Only bases with seats in this cycle.
    pub cycle: Option<CycleId>,
    /// With `cycle`: only bases that still have a free seat.
    pub has_free_seats: Option<bool>,
    /// Only active (true) or inactive (false) bases.
    pub active: Option<bool>,
}

/// Resolves program references to ids, naming each unknown one.
fn resolve_programs(
    conn: &mut DbConn,
    references: &[String],
) -> Result<Vec<ProgramId>, DomainError> {
    let mut ids = Vec::with_capacity(references.len());
    let mut errors = Vec::new();
    for (index, reference) in references.iter().enumerate() {
        match lookup::program_by_ref(conn, reference.trim())? {
            Some(program) if ids.contains(&program.id) => errors.push(FieldError::new(
                format!("program_codes[{index}]"),
                "is listed twice",
            )),
            Some(program) => ids.push(program.id),
            None => errors.push(FieldError::new(
                format!("program_codes[{index}]"),
                format!("unknown program `{reference}`"),
            )),
        }
    }
    if errors.is_empty() {
        Ok(ids)
    } else {
        Err(DomainError::invalid_fields(errors))
    }
}

fn require_university(conn: &mut DbConn, id: UniversityId) -> Result<(), DomainError> {
    match lookup::university(conn, id)? {
        Some(_) => Ok(()),
        None => Err(DomainError::invalid(
            "host_university_id",
            "no such university",
        )),
    }
}

fn replace_programs(
    conn: &mut DbConn,
    base: BaseId,
    programs: &[ProgramId],
) -> Result<(), DomainError> {
    let rows: Vec<BaseProgram> = programs
        .iter()
        .map(|&program_id| BaseProgram {
            base_id: base,
            program_id,
        })
        .collect();
    dispatch!(conn, |c| {
        diesel::delete(base_programs::table.filter(base_programs::base_id.eq(base))).execute(c)?;
        diesel::insert_into(base_programs::table)
            .values(&rows)
            .execute(c)
    })?;
    Ok(())
}

fn load_view(conn: &mut DbConn, id: BaseId) -> Result<BaseView, DomainError> {
    let row = lookup::base(conn, id)?;
    let mut codes = lookup::program_codes_of_bases(conn, &[id])?;
    Ok(BaseView::new(row, codes.remove(&id).unwrap_or_default()))
}

/// Internship bases, filterable.
#[utoipa::path(get, path = "/api/v1/bases", tag = "reference data", params(PageParams, BaseFilters),
    responses((status = 200, body = inline(Page<BaseView>)), (status = 400, body = crate::error::Problem),
              (status = 401, body = crate::error::Problem)))]
pub async fn list(
    state: web::Data<AppState>,
    _caller: Caller,
    req: HttpRequest,
    QueryParams(page): QueryParams<PageParams>,
    QueryParams(filters): QueryParams<BaseFilters>,
) -> Result<HttpResponse, ApiError> {
    if filters.has_free_seats.is_some() && filters.cycle.is_none() {
        return Err(ApiError::BadRequest("has_free_seats needs a cycle".into()));
    }
    // Every role sees the same bases, so a page asked for again is sent again as long as
    // nothing was committed since it was read.
    let asked = req.query_string().to_owned();
    let version = state.changes.version();
    if let Some(sent) = state.base_pages.get(&asked, version) {
        return Ok(json_page(sent));
    }
    let listed = state
        .db
        .read(move |conn| {
            let program = match &filters.program {
                Some(reference) => Some(
                    lookup::program_by_ref(conn, reference)?
                        .ok_or_else(|| {
                            DomainError::UnknownReference(format!("unknown program `{reference}`"))
                        })?
                        .id,
                ),
                None => None,
            };
            let host = match &filters.host_university {
                Some(reference) => Some(
                    lookup::university_by_ref(conn, reference)?
                        .ok_or_else(|| {
                            DomainError::UnknownReference(format!(
                                "unknown university `{reference}`"
                            ))
                        })?
                        .id,
                ),
                None => None,
            };
            let (rows, total): (Vec<Base>, i64) = dispatch!(conn, |c| {
                let filtered = || {
                    let mut query = bases::table.into_boxed();
                    if let Some(program) = program {
                        query = query.filter(
                            bases::id.eq_any(
                                base_programs::table
                                    .select(base_programs::base_id)
                                    .filter(base_programs::program_id.eq(program)),
                            ),
                        );
                    }
                    if let Some(city) = &filters.city {
                        query = query.filter(bases::city.eq(city.clone()));
                    }
                    if let Some(host) = host {
                        query = query.filter(bases::host_university_id.eq(host));
                    }
                    if let Some(active) = filters.active {
                        query = query.filter(bases::active.eq(active));
                    }
                    if let Some(cycle) = filters.cycle {
                        if filters.has_free_seats == Some(true) {
                            query = query.filter(
                                bases::id.eq_any(
                                    cycle_seats::table
                                        .select(cycle_seats::base_id)
                                        .filter(cycle_seats::cycle_id.eq(cycle))
                                        .filter(cycle_seats::taken.lt(cycle_seats::seats)),
                                ),
                            );
                        } else {
                            query = query.filter(
                                bases::id.eq_any(
                                    cycle_seats::table
                                        .select(cycle_seats::base_id)
                                        .filter(cycle_seats::cycle_id.eq(cycle)),
                                ),
                            );
                        }
                    }
                    query
                };
                let total: i64 = filtered().count().get_result(c)?;
                let rows = filtered()
                    .select(Base::as_select())
                    .order((bases::name, bases::id))
                    .limit(page.limit())
                    .offset(page.offset())
                    .load(c)?;
                (rows, total)
            });
            let ids: Vec<BaseId> = rows.iter().map(|row| row.id).collect();
            let mut codes = lookup::program_codes_of_bases(conn, &ids)?;
            let views = rows
                .into_iter()
                .map(|row| {
                    let row_codes = codes.remove(&row.id).unwrap_or_default();
                    BaseView::new(row, row_codes)
                })
                .collect();
            Ok((views, total))
        })
        .await?;
    let sent = web::Bytes::from(
        serde_json::to_vec(&page.page(listed.0, listed.1))
            .map_err(|e| ApiError::Internal(e.into()))?,
    );
    state.base_pages.put(asked, version, sent.clone());
    Ok(json_page(sent))
}

fn json_page(body: web::Bytes) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(actix_web::http::header::ContentType::json())
        .body(body)
}

/// One base.
#[utoipa::path(get, path = "/api/v1/bases/{id}", tag = "reference data", params(("id" = BaseId, Path)),
    responses((status = 200, body = BaseView), (status = 404, body = crate::error::Problem)))]
pub async fn get(
    state: web::Data<AppState>,
    _caller: Caller,
    id: web::Path<BaseId>,
) -> Result<web::Json<BaseView>, ApiError> {
    let id = id.into_inner();
    Ok(web::Json(
        state.db.read(move |conn| load_view(conn, id)).await?,
    ))
}

/// Adds a base (alliance admin).
#[utoipa::path(post, path = "/api/v1/bases", tag = "reference data", request_body = NewBase,
    responses((status = 201, body = BaseView), (status = 403, body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: JsonBody<NewBase>,
) -> Result<HttpResponse, ApiError> {
    caller.require_alliance_admin()?;
    let request = body.0;
    let view = state
        .db
        .write(move |conn| {
            require_university(conn, request.host_university_id)?;
            let programs = resolve_programs(conn, &request.program_codes)?;
            let now = Timestamp::now();
            let row = Base {
                id: BaseId::generate(),
                name: request.name.trim().to_owned(),
                organisation: request.organisation.trim().to_owned(),
                city: request.city.trim().to_owned(),
                host_university_id: request.host_university_id,
                coordinator_email: validate::normalise_email(&request.coordinator_email),
                coordinator_name: request.coordinator_name,
                coordinator_phone: request.coordinator_phone,
                active: request.active.unwrap_or(true),
                created_at: now,
                updated_at: now,
            };
            dispatch!(conn, |c| diesel::insert_into(bases::table)
                .values(&row)
                .execute(c))?;
            replace_programs(conn, row.id, &programs)?;
            load_view(conn, row.id)
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Changes a base (alliance admin).
#[utoipa::path(patch, path = "/api/v1/bases/{id}", tag = "reference data", params(("id" = BaseId, Path)),
    request_body = BasePatch,
    responses((status = 200, body = BaseView), (status = 403, body = crate::error::Problem),
              (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<BaseId>,
    body: JsonBody<BasePatch>,
) -> Result<web::Json<BaseView>, ApiError> {
    caller.require_alliance_admin()?;
    let id = id.into_inner();
    let patch = body.0;
    let view = state
        .db
        .write(move |conn| {
            lookup::base(conn, id)?;
            if patch.program_codes.is_some() || patch.active.is_some() {
                crate::services::inputs::touch_unpublished(conn)?;
            }
            if let Some(host) = patch.host_university_id {
                require_university(conn, host)?;
            }
            if let Some(codes) = &patch.program_codes {
                let programs = resolve_programs(conn, codes)?;
                replace_programs(conn, id, &programs)?;
            }
            let changes = BaseChanges {
                name: patch.name.map(|v| v.trim().to_owned()),
                organisation: patch.organisation.map(|v| v.trim().to_owned()),
                city: patch.city.map(|v| v.trim().to_owned()),
                host_university_id: patch.host_university_id,
                coordinator_email: patch
                    .coordinator_email
                    .map(|v| validate::normalise_email(&v)),
                coordinator_name: patch.coordinator_name,
                coordinator_phone: patch.coordinator_phone,
                active: patch.active,
                updated_at: Some(Timestamp::now()),
            };
            dispatch!(conn, |c| diesel::update(bases::table.find(id))
                .set(&changes)
                .execute(c))?;
            load_view(conn, id)
        })
        .await?;
    Ok(web::Json(view))
}
