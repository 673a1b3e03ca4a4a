//! `GET /sso/{id}/start` and `GET /sso/{id}/callback`: sign-in through a university's
//! identity provider, ending in the same browser session as a password sign-in.

use super::lang::Choice;
use super::pages::{home_of, message, redirect, with_cookies};
use super::session;
use crate::i18n::Text;
use crate::services::sso::{self as sign_in, Answer, SsoFailure};
use crate::state::AppState;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header::LOCATION;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

/// The cookie that ties a sign-in under way to the browser that started it.
const SSO_COOKIE: &str = "placemat_sso";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/sso/{provider}/start", web::get().to(start))
        .route("/sso/{provider}/callback", web::get().to(callback));
}

/// `GET /sso/{id}/start`: to the provider, with a new attempt.
pub async fn start(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> HttpResponse {
    let choice = Choice::of(&req);
    let Some(provider) = state.sso().find(&id) else {
        return unknown_provider(choice);
    };
    match sign_in::begin(&state.db, &provider).await {
        Ok(begun) => {
            let cookie = Cookie::build(SSO_COOKIE, begun.browser_secret)
                .path("/sso/")
                .http_only(true)
                // Lax: the provider sends the browser back with a top-level GET.
                .same_site(SameSite::Lax)
                .secure(state.config.serves_https())
                .max_age(actix_web::cookie::time::Duration::minutes(10))
                .finish();
            let response = HttpResponse::SeeOther()
                .insert_header((LOCATION, begun.redirect))
                .finish();
            with_cookies(response, vec![cookie])
        }
        Err(failure) => refusal(choice, &provider.id, failure),
    }
}

#[derive(Deserialize)]
pub struct Callback {
    ticket: Option<String>,
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `GET /sso/{id}/callback`: the provider's answer, checked with the provider; a session
/// for the account it names, or a readable refusal.
pub async fn callback(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> HttpResponse {
    let choice = Choice::of(&req);
    let Some(provider) = state.sso().find(&id) else {
        return unknown_provider(choice);
    };
    let query = web::Query::<Callback>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .ok();
    let answer = match query {
        Some(Callback {
            ticket: Some(ticket),
            ..
        }) => Some(Answer::Ticket(ticket)),
        Some(Callback {
            code: Some(code),
            state: Some(oidc_state),
            error: None,
            ..
        }) => Some(Answer::Code {
            code,
            state: oidc_state,
        }),
        _ => None,
    };
    let Some(answer) = answer else {
        let failure = sign_in::refused("the provider's answer has no ticket or code");
        return refusal(choice, &provider.id, failure);
    };
    let browser = req.cookie(SSO_COOKIE).map(|c| c.value().to_owned());
    let secure = state.config.serves_https();
    let mut forget = Cookie::build(SSO_COOKIE, "")
        .path("/sso/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .finish();
    forget.make_removal();
    let user = match sign_in::complete(&state.db, &provider, browser.as_deref(), answer).await {
        Ok(user) => user,
        Err(failure) => {
            return with_cookies(refusal(choice, &provider.id, failure), vec![forget]);
        }
    };
    match session::start_through(&state, &user, secure, Some(&provider.id)).await {
        Ok(cookie) => {
            tracing::info!(user = %user.id, role = %user.role, provider = %provider.id, "signed in through single sign-on");
            with_cookies(redirect(choice, home_of(user.role)), vec![cookie, forget])
        }
        Err(error) => with_cookies(
            refusal(choice, &provider.id, SsoFailure::Store(error)),
            vec![forget],
        ),
    }
}

fn unknown_provider(choice: Choice) -> HttpResponse {
    let t = choice.lang.text();
    message(
        choice,
        None,
        StatusCode::NOT_FOUND,
        |t: &'static Text| (t.sso_unknown_provider_title, t.sso_unknown_provider_text),
        ("/login", t.back_to_sign_in),
    )
}

/// A page's title and text, picked from the catalogue.
type Words = fn(&'static Text) -> (&'static str, &'static str);

/// The page for a sign-in that opened no session, logged without secrets.
fn refusal(choice: Choice, provider: &str, failure: SsoFailure) -> HttpResponse {
    let t = choice.lang.text();
    let (status, pick): (StatusCode, Words) = match &failure {
        SsoFailure::UnknownPerson => (StatusCode::FORBIDDEN, |t| {
            (t.sso_unknown_person_title, t.sso_unknown_person_text)
        }),
        SsoFailure::Refused(_) => (StatusCode::FORBIDDEN, |t| {
            (t.sso_refused_title, t.sso_refused_text)
        }),
        SsoFailure::Unreachable(_) => (StatusCode::BAD_GATEWAY, |t| {
            (t.sso_unreachable_title, t.sso_unreachable_text)
        }),
        SsoFailure::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, |t| {
            (t.error_title, t.error_text)
        }),
    };
    match &failure {
        SsoFailure::Store(error) => {
            tracing::error!(%provider, error = ?error, "single sign-on failed")
        }
        other => tracing::warn!(%provider, reason = %other, "single sign-on refused"),
    }
    message(choice, None, status, pick, ("/login", t.back_to_sign_in))
}
