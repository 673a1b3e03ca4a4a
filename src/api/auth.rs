use crate::api::extract::JsonBody;
use crate::auth::{token, Caller};
use crate::db::models::ApiToken;
use crate::db::schema::api_tokens;
use crate::dispatch;
use crate::domain::*;
use crate::error::ApiError;
use crate::services::auth::{authenticate, AuthError, Credentials};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Duration;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[validate(length(min = 1, max = 254, message = "is required"))]
    #[schema(min_length = 1, max_length = 254)]
    pub email: String,
    #[validate(length(min = 1, max = 1024, message = "is required"))]
    #[schema(min_length = 1, max_length = 1024)]
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    pub token: String,
    pub expires_at: Timestamp,
    pub role: Role,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub id: UserId,
    pub email: String,
    pub role: Role,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub university_id: Option<UniversityId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_id: Option<BaseId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub student_id: Option<StudentId>,
}

/// Exchanges an email and password for a bearer token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    security(()),
    responses((status = 200, body = LoginResponse), (status = 401, body = crate::error::Problem),
              (status = 422, body = crate::error::Problem),
              (status = 429, body = crate::error::Problem,
               description = "Too many failed sign-ins for the account or from the address, or too many sign-ins at once; see `Retry-After`")))]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = body.0;
    let credentials = Credentials {
        email: request.email,
        password: request.password,
        client: req.peer_addr().map(|address| address.ip()),
    };
    let user = authenticate(&state.db, credentials, state.sso())
        .await
        .map_err(|error| match error {
            AuthError::WrongCredentials | AuthError::UseProvider(_) => {
                ApiError::Unauthorized(error.to_string())
            }
            AuthError::Throttled {
                retry_after_seconds,
            } => ApiError::TooManyRequests {
                detail: error.to_string(),
                retry_after_seconds,
            },
            // A flood of sign-ins is the client side's doing: it is told to slow down.
            AuthError::Busy => ApiError::TooManyRequests {
                detail: error.to_string(),
                retry_after_seconds: 1,
            },
            AuthError::Store(error) => error.into(),
        })?;
    let role = user.role;
    let secret = token::generate();
    let now = Timestamp::now();
    let row = ApiToken {
        id: TokenId::generate(),
        user_id: user.id,
        token_hash: token::fingerprint(&secret),
        created_at: now,
        expires_at: now + Duration::minutes(state.config.token_ttl_minutes),
        revoked_at: None,
    };
    let expires_at = row.expires_at;
    state
        .db
        .write(move |conn| {
            dispatch!(conn, |c| diesel::insert_into(api_tokens::table)
                .values(&row)
                .execute(c))?;
            Ok(())
        })
        .await?;
    tracing::info!(user = %user.id, role = %role, "login");
    Ok(HttpResponse::Ok().json(LoginResponse {
        token: secret,
        expires_at,
        role,
    }))
}

/// Revokes the token of the request.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204), (status = 401, body = crate::error::Problem)))]
pub async fn logout(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let Some(token) = caller.token_id else {
        return Ok(HttpResponse::NoContent().finish());
    };
    state
        .db
        .write(move |conn| {
            let now = Timestamp::now();
            dispatch!(conn, |c| diesel::update(api_tokens::table.find(token))
                .set(api_tokens::revoked_at.eq(now))
                .execute(c))?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth",
    responses((status = 200, body = Me), (status = 401, body = crate::error::Problem)))]
pub async fn me(caller: Caller) -> web::Json<Me> {
    web::Json(Me {
        id: caller.user_id,
        email: caller.email,
        role: caller.role,
        university_id: caller.university_id,
        base_id: caller.base_id,
        student_id: caller.student_id,
    })
}
