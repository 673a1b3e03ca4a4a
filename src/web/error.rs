//! The one way a page answers what it cannot show: `PageError`. A handler returns it with
//! `?`; the answer is worded here, in the reader's language, by [`render`], the middleware
//! that knows the request (its language and its session) where `ResponseError` does not.

use super::lang::Choice;
use super::pages::{home_of, message, redirect, with_cookies};
use super::{extract, session};
use crate::domain::{Conflict, DomainError, FieldError, Role};
use crate::i18n;
use crate::i18n::{alliance as alliance_words, base as base_words, university as university_words};
use crate::state::AppState;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse, ResponseError};

/// What stops a page from being shown.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// Signed out: on to `/login`.
    #[error("not signed in")]
    SignIn,
    /// A page of another role.
    #[error("another role's page")]
    Forbidden,
    /// A posted form without the session's CSRF token, or with a wrong one.
    #[error("a form without its token")]
    Forged,
    /// A coordinator's login without a base, an officer's without a university.
    #[error("a login not tied to its place")]
    Untied,
    /// Nothing at this address for this user.
    #[error("not found")]
    NotFound,
    /// A change refused by a rule, shown on a page of its own when its form cannot be.
    #[error("refused")]
    Refused(Refusal),
    /// A failure of placemat itself: nothing was changed.
    #[error("a page failed: {0}")]
    Failure(DomainError),
}

/// Why a rule refused a change, as typed as the services answer it.
#[derive(Debug)]
pub enum Refusal {
    Conflict(Conflict),
    Invalid(Vec<FieldError>),
}

impl Refusal {
    pub fn status(&self) -> StatusCode {
        match self {
            Refusal::Conflict(_) => StatusCode::CONFLICT,
            Refusal::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }
}

impl PageError {
    /// The refusal of a change, which its page shows beside the form; any other error
    /// as the page it becomes.
    pub fn refusal(error: DomainError) -> Result<Refusal, PageError> {
        match PageError::from(error) {
            PageError::Refused(refusal) => Ok(refusal),
            other => Err(other),
        }
    }
}

impl From<DomainError> for PageError {
    fn from(error: DomainError) -> Self {
        match error {
            DomainError::NotFound(_) | DomainError::UnknownReference(_) => PageError::NotFound,
            DomainError::Forbidden(_) => PageError::Forbidden,
            DomainError::Conflict(kind, _) => PageError::Refused(Refusal::Conflict(kind)),
            DomainError::Invalid { errors, .. } => PageError::Refused(Refusal::Invalid(errors)),
            other => PageError::Failure(other),
        }
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::SignIn => StatusCode::SEE_OTHER,
            PageError::Forbidden | PageError::Forged | PageError::Untied => StatusCode::FORBIDDEN,
            PageError::NotFound => StatusCode::NOT_FOUND,
            PageError::Refused(refusal) => refusal.status(),
            PageError::Failure(DomainError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
            PageError::Failure(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The bare answer, which [`render`] turns into the page.
    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code()).finish()
    }
}

/// Turns every `PageError` answer into its page, in the request's language.
pub async fn render(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let response = next.call(req).await?;
    let Some(error) = response
        .response()
        .error()
        .and_then(|error| error.as_error::<PageError>())
    else {
        return Ok(response.map_into_boxed_body());
    };
    let page = page_of(response.request(), error);
    Ok(response.into_response(page))
}

fn page_of(req: &actix_web::HttpRequest, error: &PageError) -> HttpResponse {
    let choice = Choice::of(req);
    let session = extract::known_session(req);
    let session = session.as_ref();
    let status = error.status_code();
    let t = choice.lang.text();
    let home = session.map_or("/", |s| home_of(s.role));
    match error {
        PageError::SignIn => {
            let secure = req
                .app_data::<web::Data<AppState>>()
                .is_some_and(|state| state.config.serves_https());
            let to_login = redirect(choice, "/login");
            match req.cookie(session::SESSION_COOKIE) {
                Some(_) => with_cookies(to_login, vec![session::removal(secure)]),
                None => to_login,
            }
        }
        PageError::Forbidden => message(
            choice,
            session,
            status,
            |t| (t.forbidden_title, t.forbidden_text),
            (home, t.go_home),
        ),
        PageError::Forged => message(
            choice,
            session,
            status,
            |t| (t.csrf_title, t.csrf_text),
            ("/", t.go_home),
        ),
        PageError::Untied => {
            let (title, text) = match session.map(|s| s.role) {
                Some(Role::BaseCoordinator) => {
                    let w = base_words::Words::of(choice.lang);
                    (w.no_base_title, w.no_base_text)
                }
                _ => {
                    let w = university_words::Words::of(choice.lang);
                    (w.no_university_title, w.no_university_text)
                }
            };
            message(choice, session, status, |_| (title, text), ("/", t.go_home))
        }
        PageError::NotFound => {
            let (title, text, back) = match session.map(|s| s.role) {
                Some(Role::BaseCoordinator) => {
                    let w = base_words::Words::of(choice.lang);
                    (w.not_yours_title, w.not_yours_text, w.back)
                }
                Some(Role::AllianceAdmin) => {
                    let w = alliance_words::Words::of(choice.lang);
                    (w.not_found_title, w.not_found_text, w.back)
                }
                _ => (t.not_found_title, t.not_found_text, t.go_home),
            };
            message(choice, session, status, |_| (title, text), (home, back))
        }
        PageError::Refused(refusal) => {
            let text = match refusal {
                Refusal::Conflict(kind) => i18n::conflict(choice.lang, *kind),
                Refusal::Invalid(_) => t.refused_text,
            };
            message(
                choice,
                session,
                status,
                |t| (t.refused_title, text),
                (home, t.go_home),
            )
        }
        PageError::Failure(error) => {
            tracing::error!(error = ?error, "a page failed");
            message(
                choice,
                session,
                status,
                |t| (t.error_title, t.error_text),
                ("/", t.go_home),
            )
        }
    }
}
