use crate::api::extract::{JsonBody, Page, PageParams, QueryParams};
use crate::auth::Caller;
use crate::db::models::Program;
use crate::db::schema::programs;
use crate::dispatch;
use crate::domain::validate;
use crate::domain::Conflict;
use crate::domain::DomainError;
use crate::domain::ProgramId;
use crate::domain::Timestamp;
use crate::error::ApiError;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

#[derive(Debug, Serialize, ToSchema)]
pub struct ProgramView {
    pub id: ProgramId,
    /// Code of the national catalogue, such as `0854`.
    pub code: String,
    pub name: String,
}

impl From<Program> for ProgramView {
    fn from(row: Program) -> Self {
        Self {
            id: row.id,
            code: row.code,
            name: row.name,
        }
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProgram {
    #[validate(custom(function = "validate::code"))]
    #[schema(pattern = r"^[A-Za-z0-9-]{2,16}$")]
    pub code: String,
    #[serde(deserialize_with = "validate::normalised")]
    #[schema(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*[^\s\u0000-\u001F\u007F-\u009F\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0][^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*$",
        max_length = 200
    )]
    #[validate(length(max = 200), custom(function = "validate::text"))]
    pub name: String,
}

/// Degree programs.
#[utoipa::path(get, path = "/api/v1/programs", tag = "reference data", params(PageParams),
    responses((status = 200, body = inline(Page<ProgramView>)), (status = 401, body = crate::error::Problem)))]
pub async fn list(
    state: web::Data<AppState>,
    _caller: Caller,
    QueryParams(page): QueryParams<PageParams>,
) -> Result<web::Json<Page<ProgramView>>, ApiError> {
    let (rows, total) = state
        .db
        .read(move |conn| {
            Ok(dispatch!(conn, |c| {
                let total: i64 = programs::table.count().get_result(c)?;
                let rows: Vec<Program> = programs::table
                    .select(Program::as_select())
                    .order(programs::code)
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

/// Adds a degree program (alliance admin).
#[utoipa::path(post, path = "/api/v1/programs", tag = "reference data", request_body = NewProgram,
    responses((status = 201, body = ProgramView), (status = 403, body = crate::error::Problem),
              (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: JsonBody<NewProgram>,
) -> Result<HttpResponse, ApiError> {
    caller.require_alliance_admin()?;
    let request = body.0;
    let row = Program {
        id: ProgramId::generate(),
        code: request.code.trim().to_owned(),
        name: request.name.trim().to_owned(),
        created_at: Timestamp::now(),
    };
    let created = state
        .db
        .write(move |conn| {
            let taken: i64 = dispatch!(conn, |c| programs::table
                .filter(programs::code.eq(&row.code))
                .count()
                .get_result(c))?;
            if taken > 0 {
                return Err(DomainError::Conflict(
                    Conflict::ProgramCodeTaken,
                    format!("a program with code {} exists", row.code),
                ));
            }
            dispatch!(conn, |c| diesel::insert_into(programs::table)
                .values(&row)
                .execute(c))?;
            Ok(row)
        })
        .await?;
    Ok(HttpResponse::Created().json(ProgramView::from(created)))
}
