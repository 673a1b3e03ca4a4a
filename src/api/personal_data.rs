//! A student's personal data: its export, and its erasure.

use crate::api::extract::JsonBody;
use crate::auth::Caller;
use crate::domain::StudentId;
use crate::error::ApiError;
use crate::services::personal_data;
use crate::state::AppState;
use actix_web::web;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

/// Why a student's data is erased.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Erasure {
    /// 1 to 2,000 characters; kept in the audit with who erased and when.
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    pub reason: String,
}

/// What remains of an erased student.
#[derive(Debug, Serialize, ToSchema)]
pub struct Erased {
    pub id: StudentId,
    /// The name, email and student number the student now has.
    pub pseudonym: String,
}

/// Everything placemat holds about a student, as one JSON document: profile, login,
/// applications, direct applications, placements with their history, and the emails about
/// them.
#[utoipa::path(get, path = "/api/v1/students/{id}/export", tag = "students",
    params(("id" = StudentId, Path)),
    responses((status = 200, description = "the student's data", body = Object),
              (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)))]
pub async fn export(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<StudentId>,
) -> Result<web::Json<serde_json::Value>, ApiError> {
    let document = personal_data::export(&state.db, &caller, id.into_inner()).await?;
    Ok(web::Json(document))
}

/// Erases a student's personal data: the name, email and number become a pseudonym, the
/// login and its sessions go; placements and statistics stay under the pseudonym.
#[utoipa::path(post, path = "/api/v1/students/{id}/erase", tag = "students",
    params(("id" = StudentId, Path)), request_body = Erasure,
    responses((status = 200, body = Erased), (status = 403, body = crate::error::Problem),
              (status = 404, body = crate::error::Problem),
              (status = 409, description = "placement-live: an offered or confirmed placement", body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)))]
pub async fn erase(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<StudentId>,
    body: JsonBody<Erasure>,
) -> Result<web::Json<Erased>, ApiError> {
    let id = id.into_inner();
    let pseudonym = personal_data::erase(&state.db, &caller, id, body.0.reason).await?;
    Ok(web::Json(Erased { id, pseudonym }))
}
