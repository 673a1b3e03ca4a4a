//! Browser sessions: a random id in an HttpOnly cookie, its SHA-256 in `web_sessions`, with
//! an idle and an absolute timeout, revoked server-side at sign-out. Each session carries
//! the CSRF token its forms must send back.

use crate::auth::{token, Caller};
use crate::db::models::User;
use crate::db::schema::{users, web_sessions};
use crate::dispatch;
use crate::domain::DomainError;
use crate::domain::*;
use crate::state::AppState;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::HttpRequest;
use chrono::Duration;
use diesel::prelude::*;

pub const SESSION_COOKIE: &str = "placemat_session";
/// The CSRF token of the forms shown before sign-in (login, forgotten password, activation),
/// compared with the form's field: a forged cross-site form cannot read it.
pub const FORM_COOKIE: &str = "placemat_form";
/// The name of the hidden CSRF field of every form.
pub const CSRF_FIELD: &str = "csrf_token";

/// How often a session's last request is recorded: often enough for the idle timeout,
/// rarely enough not to write on every page view.
const TOUCH_EVERY_SECONDS: i64 = 60;

/// A signed-in browser.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: SessionId,
    pub user_id: UserId,
    pub email: String,
    pub role: Role,
    pub csrf: String,
    pub university_id: Option<UniversityId>,
    pub base_id: Option<BaseId>,
    pub student_id: Option<StudentId>,
    /// The identity provider the session was opened through, if any.
    pub sso_provider: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = web_sessions)]
struct NewSession {
    id: SessionId,
    user_id: UserId,
    session_hash: String,
    csrf_token: String,
    created_at: Timestamp,
    last_seen_at: Timestamp,
    sso_provider: Option<String>,
}

type SessionRow = (
    SessionId,
    String,
    Timestamp,
    Option<String>,
    (
        UserId,
        String,
        Role,
        Option<UniversityId>,
        Option<BaseId>,
        Option<StudentId>,
    ),
);

/// The live session of the request's cookie, if any; records the request for the idle
/// timeout.
pub async fn current(req: &HttpRequest, state: &AppState) -> Result<Option<Session>, DomainError> {
    let Some(cookie) = req.cookie(SESSION_COOKIE) else {
        return Ok(None);
    };
    let fingerprint = token::fingerprint(cookie.value());
    let now = Timestamp::now();
    let idle_since = now - Duration::minutes(state.config.session_idle_minutes);
    let born_since = now - Duration::hours(state.config.session_max_hours);
    let row: Option<SessionRow> = state
        .db
        .read(move |conn| {
            Ok(dispatch!(conn, |c| web_sessions::table
                .inner_join(users::table)
                .filter(web_sessions::session_hash.eq(&fingerprint))
                .filter(web_sessions::revoked_at.is_null())
                .filter(web_sessions::last_seen_at.gt(idle_since))
                .filter(web_sessions::created_at.gt(born_since))
                .select((
                    web_sessions::id,
                    web_sessions::csrf_token,
                    web_sessions::last_seen_at,
                    web_sessions::sso_provider,
                    (
                        users::id,
                        users::email,
                        users::role,
                        users::university_id,
                        users::base_id,
                        users::student_id,
                    ),
                ))
                .first(c)
                .optional())?)
        })
        .await?;
    let Some((
        id,
        csrf,
        last_seen,
        sso_provider,
        (user_id, email, role, university_id, base_id, student_id),
    )) = row
    else {
        return Ok(None);
    };
    if now - Duration::seconds(TOUCH_EVERY_SECONDS) > last_seen {
        state
            .db
            .write(move |conn| {
                dispatch!(conn, |c| diesel::update(web_sessions::table.find(id))
                    .set(web_sessions::last_seen_at.eq(now))
                    .execute(c))?;
                Ok(())
            })
            .await?;
    }
    Ok(Some(Session {
        id,
        user_id,
        email,
        role,
        csrf,
        university_id,
        base_id,
        student_id,
        sso_provider,
    }))
}

impl Session {
    /// The signed-in user as the services know a caller: the same scope as an API token.
    pub fn caller(&self) -> Caller {
        Caller {
            user_id: self.user_id,
            token_id: None,
            email: self.email.clone(),
            role: self.role,
            university_id: self.university_id,
            base_id: self.base_id,
            student_id: self.student_id,
        }
    }
}

/// Opens a new session for the user: always a fresh id, so that an id planted before
/// sign-in is worth nothing after it. Answers the cookie to set.
pub async fn start(
    state: &AppState,
    user: &User,
    secure: bool,
) -> Result<Cookie<'static>, DomainError> {
    start_through(state, user, secure, None).await
}

/// Opens a new session, as [`start`], through an identity provider (`None`: a password).
pub async fn start_through(
    state: &AppState,
    user: &User,
    secure: bool,
    sso_provider: Option<&str>,
) -> Result<Cookie<'static>, DomainError> {
    let secret = token::generate();
    let now = Timestamp::now();
    let row = NewSession {
        id: SessionId::generate(),
        user_id: user.id,
        session_hash: token::fingerprint(&secret),
        csrf_token: token::generate(),
        created_at: now,
        last_seen_at: now,
        sso_provider: sso_provider.map(str::to_owned),
    };
    state
        .db
        .write(move |conn| {
            dispatch!(conn, |c| diesel::insert_into(web_sessions::table)
                .values(&row)
                .execute(c))?;
            Ok(())
        })
        .await?;
    Ok(Cookie::build(SESSION_COOKIE, secret)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .finish())
}

/// Ends the session server-side: its cookie opens nothing afterwards.
pub async fn end(state: &AppState, id: SessionId) -> Result<(), DomainError> {
    state
        .db
        .write(move |conn| {
            let now = Timestamp::now();
            dispatch!(conn, |c| diesel::update(web_sessions::table.find(id))
                .set(web_sessions::revoked_at.eq(now))
                .execute(c))?;
            Ok(())
        })
        .await
}

/// The cookie that removes the session cookie from the browser.
pub fn removal(secure: bool) -> Cookie<'static> {
    let mut cookie = Cookie::build(SESSION_COOKIE, "")
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .finish();
    cookie.make_removal();
    cookie
}

/// The CSRF token of the signed-out forms: the browser's, or a new one to set.
pub fn form_token(req: &HttpRequest, secure: bool) -> (String, Option<Cookie<'static>>) {
    match req.cookie(FORM_COOKIE) {
        Some(cookie) if !cookie.value().is_empty() => (cookie.value().to_owned(), None),
        _ => {
            let value = token::generate();
            let cookie = Cookie::build(FORM_COOKIE, value.clone())
                .path("/")
                .http_only(true)
                .same_site(SameSite::Lax)
                .secure(secure)
                .finish();
            (value, Some(cookie))
        }
    }
}

/// Whether a signed-out form sent back the token of its browser's cookie.
pub fn form_token_matches(req: &HttpRequest, sent: &str) -> bool {
    req.cookie(FORM_COOKIE)
        .is_some_and(|cookie| same_secret(cookie.value(), sent))
}

/// Compares two secrets in time independent of where they differ.
pub fn same_secret(expected: &str, sent: &str) -> bool {
    !expected.is_empty()
        && expected.len() == sent.len()
        && expected
            .bytes()
            .zip(sent.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}
