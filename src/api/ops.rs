use crate::db;
use crate::domain::DomainError;
use crate::error::ApiError;
use crate::state::AppState;
use actix_web::{web, HttpResponse};

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations", security(()), responses((status = 200, description = "alive")))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// Readiness: the migrations are applied, the service is not shutting down, and the
/// database answers.
#[utoipa::path(get, path = "/readyz", tag = "operations", security(()),
    responses((status = 200, description = "ready"),
        (status = 503, description = "migrating, shutting down, or the database does not answer", body = crate::error::Problem)))]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if !state.readiness.is_ready() {
        let why = if state.readiness.is_migrating() {
            "placemat is applying its database migrations"
        } else {
            "placemat is shutting down"
        };
        return Err(ApiError::Unavailable(anyhow::anyhow!(why)));
    }
    state
        .db
        .read(|conn| db::ping(conn).map_err(|e| DomainError::Unavailable(e.into())))
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"status": "ready", "database": "reachable"})))
}

/// Prometheus metrics in the text format.
#[utoipa::path(get, path = "/metrics", tag = "operations", security(()),
    responses((status = 200, description = "Prometheus text exposition", content_type = "text/plain")))]
pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let body = state.metrics.render().map_err(ApiError::Internal)?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body))
}
