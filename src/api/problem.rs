//! The one error type of the API, answered as `application/problem+json` (RFC 9457), and
//! the one place a [`DomainError`] becomes an HTTP answer: each conflict kind has its own
//! problem `type`, documented in `docs/problems.md`.

use crate::domain::{Conflict, DomainError, FieldError};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("authentication required")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{1}")]
    Conflict(Conflict, String),
    #[error("{0}")]
    NotAcceptable(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{detail}")]
    Validation {
        detail: String,
        errors: Vec<FieldError>,
    },
    #[error("{detail}")]
    TooManyRequests {
        detail: String,
        retry_after_seconds: u64,
    },
    #[error("the service is busy, try again shortly")]
    Unavailable(#[source] anyhow::Error),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// The slug and title of each conflict's problem type.
fn conflict_type(kind: Conflict) -> (&'static str, &'static str) {
    match kind {
        Conflict::RunStale => ("run-stale", "The run is stale"),
        Conflict::CyclePublished => ("cycle-published", "The cycle's match is published"),
        Conflict::SecondRoundNotOpen => ("second-round-not-open", "The second round is not open"),
        Conflict::NotPublished => ("not-published", "The cycle's match is not published yet"),
        Conflict::NoFreeSeat => ("no-free-seat", "No free seat"),
        Conflict::SeatsBelowTaken => ("seats-below-taken", "Fewer seats than live placements"),
        Conflict::PlacementState => (
            "placement-state",
            "The placement's state does not allow this move",
        ),
        Conflict::AlreadyPlaced => ("already-placed", "The student already holds a placement"),
        Conflict::DuplicateDirectApplication => (
            "duplicate-direct-application",
            "A pending direct application to this base exists",
        ),
        Conflict::DirectApplicationDecided => (
            "direct-application-decided",
            "The direct application was decided already",
        ),
        Conflict::EmailTaken => ("email-taken", "The email is already used"),
        Conflict::PlacementLive => (
            "placement-live",
            "The student holds an offered or confirmed placement",
        ),
        Conflict::StudentNumberTaken => {
            ("student-number-taken", "The student number is already used")
        }
        Conflict::UniversityCodeTaken => (
            "university-code-taken",
            "The university code is already used",
        ),
        Conflict::ProgramCodeTaken => ("program-code-taken", "The program code is already used"),
        Conflict::CycleNameTaken => ("cycle-name-taken", "The cycle name is already used"),
        Conflict::EmailNotFailed => ("email-not-failed", "Only a failed email is sent again"),
        Conflict::AlreadyExists => ("already-exists", "The record exists already"),
        Conflict::DataRule => ("data-rule", "The change would break a rule of the data"),
        Conflict::ConcurrentChange => ("concurrent-change", "A concurrent change interfered"),
    }
}

impl ApiError {
    /// A validation failure of a single field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        DomainError::invalid(field, message).into()
    }

    /// A validation failure of several fields.
    pub fn invalid_fields(errors: Vec<FieldError>) -> Self {
        DomainError::invalid_fields(errors).into()
    }

    pub fn not_found(what: &str) -> Self {
        ApiError::NotFound(format!("{what} not found"))
    }

    fn slug_and_title(&self) -> (&'static str, &'static str) {
        match self {
            ApiError::BadRequest(_) => ("bad-request", "Malformed request"),
            ApiError::Unauthorized(_) => ("unauthorized", "Authentication required"),
            ApiError::Forbidden(_) => ("forbidden", "Not allowed"),
            ApiError::NotFound(_) => ("not-found", "Not found"),
            ApiError::Conflict(kind, _) => conflict_type(*kind),
            ApiError::NotAcceptable(_) => ("not-acceptable", "Format not available"),
            ApiError::PayloadTooLarge(_) => ("payload-too-large", "Request body too large"),
            ApiError::Validation { .. } => ("validation", "Invalid input"),
            ApiError::TooManyRequests { .. } => ("too-many-requests", "Too many requests"),
            ApiError::Unavailable(_) => ("unavailable", "Service unavailable"),
            ApiError::Internal(_) => ("internal", "Internal error"),
        }
    }

    fn detail(&self) -> String {
        match self {
            ApiError::Unauthorized(reason) => reason.clone(),
            other => other.to_string(),
        }
    }
}

impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        match error {
            DomainError::NotFound(detail) => ApiError::NotFound(detail),
            DomainError::Forbidden(detail) => ApiError::Forbidden(detail),
            DomainError::Conflict(kind, detail) => ApiError::Conflict(kind, detail),
            DomainError::UnknownReference(detail) => ApiError::BadRequest(detail),
            DomainError::Invalid { detail, errors } => ApiError::Validation { detail, errors },
            DomainError::Unavailable(cause) => ApiError::Unavailable(cause),
            DomainError::Internal(cause) => ApiError::Internal(cause),
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(error: diesel::result::Error) -> Self {
        DomainError::from(error).into()
    }
}

impl From<diesel::r2d2::PoolError> for ApiError {
    fn from(error: diesel::r2d2::PoolError) -> Self {
        DomainError::from(error).into()
    }
}

impl From<validator::ValidationErrors> for ApiError {
    fn from(errors: validator::ValidationErrors) -> Self {
        DomainError::from(errors).into()
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(error: actix_web::error::BlockingError) -> Self {
        ApiError::Internal(anyhow::anyhow!("blocking task failed: {error}"))
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(..) => StatusCode::CONFLICT,
            ApiError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if status.is_server_error() {
            tracing::error!(error = ?anyhow_chain(self), "request failed");
        }
        let (slug, title) = self.slug_and_title();
        let problem = Problem {
            kind: format!("https://placemat.example/problems/{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: self.detail(),
            errors: match self {
                ApiError::Validation { errors, .. } => errors.clone(),
                _ => Vec::new(),
            },
        };
        let mut response = HttpResponse::build(status);
        response.content_type("application/problem+json");
        if matches!(self, ApiError::Unauthorized(_)) {
            response.insert_header(("WWW-Authenticate", "Bearer"));
        }
        if let ApiError::TooManyRequests {
            retry_after_seconds,
            ..
        } = self
        {
            response.insert_header(("Retry-After", retry_after_seconds.to_string()));
        }
        response.json(problem)
    }
}

/// The whole cause chain, for the log only.
fn anyhow_chain(error: &ApiError) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl From<crate::auth::password::HashingError> for ApiError {
    fn from(error: crate::auth::password::HashingError) -> Self {
        DomainError::from(error).into()
    }
}
