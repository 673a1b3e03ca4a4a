use crate::api::extract::{JsonBody, Page, PageParams, QueryParams};
use crate::auth::Caller;
use crate::db::models::University;
use crate::db::schema::universities;
use crate::dispatch;
use crate::domain::validate;
use crate::domain::Conflict;
use crate::domain::DomainError;
use crate::domain::Timestamp;
use crate::domain::UniversityId;
use crate::error::ApiError;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use chrono::NaiveDate;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

#[derive(Debug, Serialize, ToSchema)]
pub struct UniversityView {
    pub id: UniversityId,
    pub code: String,
    pub name: String,
    pub joined_on: NaiveDate,
}

impl From<University> for UniversityView {
    fn from(row: University) -> Self {
        Self {
            id: row.id,
            code: row.code,
            name: row.name,
            joined_on: row.joined_on,
        }
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUniversity {
    /// Short code such as `USST`.
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
    /// The day it joined the alliance (default: today).
    pub joined_on: Option<NaiveDate>,
}

/// Member universities.
#[utoipa::path(get, path = "/api/v1/universities", tag = "reference data", params(PageParams),
    responses((status = 200, body = inline(Page<UniversityView>)), (status = 401, body = crate::error::Problem)))]
pub async fn list(
    state: web::Data<AppState>,
    _caller: Caller,
    QueryParams(page): QueryParams<PageParams>,
) -> Result<web::Json<Page<UniversityView>>, ApiError> {
    let (rows, total) = state
        .db
        .read(move |conn| {
            Ok(dispatch!(conn, |c| {
                let total: i64 = universities::table.count().get_result(c)?;
                let rows: Vec<University> = universities::table
                    .select(University::as_select())
                    .order(universities::code)
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

/// Adds a member university (alliance admin).
#[utoipa::path(post, path = "/api/v1/universities", tag = "reference data", request_body = NewUniversity,
    responses((status = 201, body = UniversityView), (status = 403, body = crate::error::Problem),
              (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: JsonBody<NewUniversity>,
) -> Result<HttpResponse, ApiError> {
    caller.require_alliance_admin()?;
    let request = body.0;
    let now = Timestamp::now();
    let row = University {
        id: UniversityId::generate(),
        code: request.code.trim().to_uppercase(),
        name: request.name.trim().to_owned(),
        joined_on: request.joined_on.unwrap_or_else(|| now.date_naive()),
        created_at: now,
    };
    let created = state
        .db
        .write(move |conn| {
            let taken: i64 = dispatch!(conn, |c| universities::table
                .filter(universities::code.eq(&row.code))
                .count()
                .get_result(c))?;
            if taken > 0 {
                return Err(DomainError::Conflict(
                    Conflict::UniversityCodeTaken,
                    format!("a university with code {} exists", row.code),
                ));
            }
            dispatch!(conn, |c| diesel::insert_into(universities::table)
                .values(&row)
                .execute(c))?;
            Ok(row)
        })
        .await?;
    Ok(HttpResponse::Created().json(UniversityView::from(created)))
}
