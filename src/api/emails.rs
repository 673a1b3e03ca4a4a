use crate::api::extract::{Page, PageParams, QueryParams};
use crate::auth::Caller;
use crate::db::models::{EmailAttemptRow, EmailRow};
use crate::db::schema::{email_attempts, email_outbox};
use crate::dispatch;
use crate::domain::*;
use crate::error::ApiError;
use crate::services::emails;
use crate::state::AppState;
use actix_web::web;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

#[derive(Debug, Serialize, ToSchema)]
pub struct EmailView {
    pub id: EmailId,
    pub kind: String,
    pub placement_id: Option<PlacementId>,
    pub recipient: String,
    pub cc: Vec<String>,
    pub reply_to: Option<String>,
    pub subject: String,
    /// `pending`, `sent` or `failed`.
    pub status: EmailStatus,
    pub attempts: i32,
    pub last_error: Option<String>,
    /// When a pending email is next tried.
    pub next_attempt_at: Timestamp,
    pub created_at: Timestamp,
    pub sent_at: Option<Timestamp>,
    /// Every delivery attempt, oldest first (on a single email only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<AttemptView>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    pub at: Timestamp,
    pub succeeded: bool,
    pub error: Option<String>,
}

impl From<EmailRow> for EmailView {
    fn from(row: EmailRow) -> Self {
        Self {
            id: row.id,
            kind: row.kind,
            placement_id: row.placement_id,
            recipient: row.recipient,
            cc: row
                .cc
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_owned)
                .collect(),
            reply_to: row.reply_to,
            subject: row.subject,
            status: row.status,
            attempts: row.attempts,
            last_error: row.last_error,
            next_attempt_at: row.next_attempt_at,
            created_at: row.created_at,
            sent_at: row.sent_at,
            history: None,
        }
    }
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EmailFilters {
    #[param(inline)]
    pub status: Option<EmailStatus>,
    pub placement: Option<PlacementId>,
}

fn load(conn: &mut crate::db::DbConn, id: EmailId) -> Result<EmailView, DomainError> {
    let row: EmailRow = dispatch!(conn, |c| email_outbox::table
        .find(id)
        .select(EmailRow::as_select())
        .first(c)
        .optional())?
    .ok_or_else(|| DomainError::not_found("email"))?;
    let attempts: Vec<EmailAttemptRow> = dispatch!(conn, |c| email_attempts::table
        .filter(email_attempts::email_id.eq(id))
        .select(EmailAttemptRow::as_select())
        .order((email_attempts::at, email_attempts::id))
        .load(c))?;
    let mut view = EmailView::from(row);
    view.history = Some(
        attempts
            .into_iter()
            .map(|a| AttemptView {
                at: a.at,
                succeeded: a.succeeded,
                error: a.error,
            })
            .collect(),
    );
    Ok(view)
}

/// The outbox, newest first (alliance admin).
#[utoipa::path(get, path = "/api/v1/emails", tag = "emails", params(PageParams, EmailFilters),
    responses((status = 200, body = inline(Page<EmailView>)), (status = 403, body = crate::error::Problem)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    QueryParams(page): QueryParams<PageParams>,
    QueryParams(filters): QueryParams<EmailFilters>,
) -> Result<web::Json<Page<EmailView>>, ApiError> {
    caller.require_alliance_admin()?;
    let filter = emails::EmailFilter {
        status: filters.status,
        placement: filters.placement,
    };
    let (rows, total) = state
        .db
        .read(move |conn| emails::list(conn, filter, page.limit(), page.offset()))
        .await?;
    Ok(web::Json(
        page.page(rows.into_iter().map(Into::into).collect(), total),
    ))
}

/// One email with its delivery attempts (alliance admin).
#[utoipa::path(get, path = "/api/v1/emails/{id}", tag = "emails", params(("id" = EmailId, Path)),
    responses((status = 200, body = EmailView), (status = 403, body = crate::error::Problem),
              (status = 404, body = crate::error::Problem)))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<EmailId>,
) -> Result<web::Json<EmailView>, ApiError> {
    caller.require_alliance_admin()?;
    let id = id.into_inner();
    Ok(web::Json(state.db.read(move |conn| load(conn, id)).await?))
}

/// Puts a failed email back in the queue with a fresh set of attempts (alliance admin).
#[utoipa::path(post, path = "/api/v1/emails/{id}/retry", tag = "emails", params(("id" = EmailId, Path)),
    responses((status = 200, body = EmailView), (status = 403, body = crate::error::Problem),
              (status = 404, body = crate::error::Problem),
              (status = 409, description = "the email has not failed", body = crate::error::Problem)))]
pub async fn retry(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<EmailId>,
) -> Result<web::Json<EmailView>, ApiError> {
    let id = id.into_inner();
    emails::retry(&state.db, &caller, id).await?;
    let view = state.db.read(move |conn| load(conn, id)).await?;
    Ok(web::Json(view))
}
