//! The page handlers: sign-in and sign-out, the role homes, invitations and password
//! resets. Every answer is an HTML page in the reader's language, never problem+json.

use super::assets;
use super::i18n::{Choice, Lang, Text};
use super::session::{self, Session};
use crate::auth::password;
use crate::domain::validate;
use crate::domain::DomainError;
use crate::domain::Role;
use crate::services;
use crate::services::auth::{AuthError, Credentials};
use crate::sso::Protocol;
use crate::state::AppState;
use actix_web::cookie::Cookie;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

/// What the layout shows around every page.
pub struct Frame {
    pub lang: Lang,
    pub t: &'static Text,
    pub user: Option<UserChrome>,
    pub css: &'static str,
    pub icon: &'static str,
}

/// The signed-in user in the header, and the CSRF token of the `Sign out` form.
pub struct UserChrome {
    pub email: String,
    pub role: &'static str,
    pub csrf: String,
}

impl Frame {
    pub(super) fn new(lang: Lang, session: Option<&Session>) -> Frame {
        let t = lang.text();
        Frame {
            lang,
            t,
            user: session.map(|s| UserChrome {
                email: s.email.clone(),
                role: role_name(t, s.role),
                csrf: s.csrf.clone(),
            }),
            css: assets::css_url(),
            icon: assets::icon_url(),
        }
    }
}

fn role_name(t: &'static Text, role: Role) -> &'static str {
    match role {
        Role::Student => t.role_student,
        Role::BaseCoordinator => t.role_base,
        Role::UniversityAdmin => t.role_university,
        Role::AllianceAdmin => t.role_alliance,
    }
}

/// The home page of each role.
pub(super) fn home_of(role: Role) -> &'static str {
    match role {
        Role::Student => "/student",
        Role::BaseCoordinator => "/base",
        Role::UniversityAdmin => "/university",
        Role::AllianceAdmin => "/alliance",
    }
}

#[derive(Template)]
#[template(path = "pages/login.html")]
struct LoginPage<'a> {
    frame: Frame,
    csrf: &'a str,
    email: &'a str,
    error: Option<&'static str>,
    notice: Option<&'static str>,
    /// One button per identity provider: where it starts, and its words.
    providers: Vec<(String, String)>,
    /// After signing out of a session opened through a provider: the provider's own
    /// sign-out, and its words.
    provider_sign_out: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "pages/forgot.html")]
struct ForgotPage<'a> {
    frame: Frame,
    csrf: &'a str,
    sent: bool,
}

#[derive(Template)]
#[template(path = "pages/activate.html")]
struct ActivatePage<'a> {
    frame: Frame,
    csrf: &'a str,
    secret: &'a str,
    error: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "pages/message.html")]
struct MessagePage {
    frame: Frame,
    title: &'static str,
    text: &'static str,
    link_href: &'static str,
    link_text: &'static str,
}

/// An HTML answer in the chosen language, remembering `?lang=` when it was given.
pub(super) fn html(choice: Choice, status: StatusCode, page: &impl Template) -> HttpResponse {
    match page.render() {
        Ok(body) => {
            let mut response = HttpResponse::build(status);
            response
                .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
                .insert_header((CACHE_CONTROL, "no-store"));
            if choice.remember {
                response.cookie(choice.cookie());
            }
            response.body(body)
        }
        Err(error) => {
            tracing::error!(%error, "cannot render a page");
            HttpResponse::InternalServerError()
                .insert_header((CONTENT_TYPE, "text/plain; charset=utf-8"))
                .body("internal error")
        }
    }
}

/// A 303 to `to`, remembering `?lang=` when it was given.
pub(super) fn redirect(choice: Choice, to: &str) -> HttpResponse {
    let mut response = HttpResponse::SeeOther();
    response.insert_header((LOCATION, to));
    if choice.remember {
        response.cookie(choice.cookie());
    }
    response.finish()
}

pub(super) fn with_cookies(
    mut response: HttpResponse,
    cookies: Vec<Cookie<'static>>,
) -> HttpResponse {
    for cookie in cookies {
        if let Err(error) = response.add_cookie(&cookie) {
            tracing::error!(%error, "cannot set a cookie");
        }
    }
    response
}

pub(super) fn message(
    choice: Choice,
    session: Option<&Session>,
    status: StatusCode,
    pick: impl Fn(&'static Text) -> (&'static str, &'static str),
    link: (&'static str, &'static str),
) -> HttpResponse {
    let frame = Frame::new(choice.lang, session);
    let (title, text) = pick(frame.t);
    html(
        choice,
        status,
        &MessagePage {
            frame,
            title,
            text,
            link_href: link.0,
            link_text: link.1,
        },
    )
}

/// The page for a failure of placemat itself: nothing was changed.
pub(super) fn failure(
    choice: Choice,
    session: Option<&Session>,
    error: DomainError,
) -> HttpResponse {
    let status = match error {
        DomainError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    tracing::error!(error = ?error, "a page failed");
    let t = choice.lang.text();
    message(
        choice,
        session,
        status,
        |t| (t.error_title, t.error_text),
        ("/", t.go_home),
    )
}

/// The refusal of a form without its CSRF token, or with a wrong one.
fn forged(choice: Choice, session: Option<&Session>) -> HttpResponse {
    let t = choice.lang.text();
    message(
        choice,
        session,
        StatusCode::FORBIDDEN,
        |t| (t.csrf_title, t.csrf_text),
        ("/", t.go_home),
    )
}

/// The 403 page for a posted form that does not carry the session's CSRF token; none when it
/// does. A forged post changes nothing.
pub(super) fn csrf_refusal(choice: Choice, session: &Session, sent: &str) -> Option<HttpResponse> {
    (!session::same_secret(&session.csrf, sent)).then(|| forged(choice, Some(session)))
}

/// The session of a form posted to a role's page: as [`session_for`], and the form must carry
/// the session's CSRF token.
pub(super) async fn session_posting(
    req: &HttpRequest,
    state: &AppState,
    choice: Choice,
    role: Role,
    sent: &str,
) -> Result<Session, HttpResponse> {
    let session = session_for(req, state, choice, role).await?;
    match csrf_refusal(choice, &session, sent) {
        Some(refused) => Err(refused),
        None => Ok(session),
    }
}

/// The session of a page for one role: signed out goes to `/login`, another role gets a
/// readable 403 page.
pub(super) async fn session_for(
    req: &HttpRequest,
    state: &AppState,
    choice: Choice,
    role: Role,
) -> Result<Session, HttpResponse> {
    match session::current(req, state).await {
        Ok(Some(session)) if session.role == role => Ok(session),
        Ok(Some(session)) => {
            let t = choice.lang.text();
            Err(message(
                choice,
                Some(&session),
                StatusCode::FORBIDDEN,
                |t| (t.forbidden_title, t.forbidden_text),
                (home_of(session.role), t.go_home),
            ))
        }
        Ok(None) => Err(redirect(choice, "/login")),
        Err(error) => Err(failure(choice, None, error)),
    }
}

/// A form's fields; a body that is not a form reads as an empty one, which every handler
/// refuses for its missing CSRF token.
pub(super) fn read_form<T: Default + serde::de::DeserializeOwned>(body: &[u8]) -> T {
    serde_urlencoded::from_bytes(body).unwrap_or_default()
}

pub(super) fn query_flag(req: &HttpRequest, name: &str) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
        .unwrap_or_default()
        .into_iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value)
}

/// `GET /`: the role's home, or the sign-in page.
pub async fn root(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let choice = Choice::of(&req);
    match session::current(&req, &state).await {
        Ok(Some(session)) => redirect(choice, home_of(session.role)),
        Ok(None) => redirect(choice, "/login"),
        Err(error) => failure(choice, None, error),
    }
}

fn login_page(
    req: &HttpRequest,
    state: &AppState,
    status: StatusCode,
    email: &str,
    error: Option<&'static str>,
    notice: Option<&'static str>,
) -> HttpResponse {
    login_page_with(req, state, status, email, (error, notice), None)
}

fn login_page_with(
    req: &HttpRequest,
    state: &AppState,
    status: StatusCode,
    email: &str,
    (error, notice): (Option<&'static str>, Option<&'static str>),
    provider_sign_out: Option<(String, String)>,
) -> HttpResponse {
    let choice = Choice::of(req);
    let (csrf, cookie) = session::form_token(req, state.config.serves_https());
    let providers = state
        .sso()
        .iter()
        .map(|p| {
            (
                format!("/sso/{}/start", p.id),
                choice.lang.sign_in_with(&p.name),
            )
        })
        .collect();
    let page = LoginPage {
        frame: Frame::new(choice.lang, None),
        csrf: &csrf,
        email,
        error,
        notice,
        providers,
        provider_sign_out,
    };
    with_cookies(html(choice, status, &page), cookie.into_iter().collect())
}

/// `GET /login`.
pub async fn login_form(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let choice = Choice::of(&req);
    match session::current(&req, &state).await {
        Ok(Some(session)) => return redirect(choice, home_of(session.role)),
        Ok(None) => {}
        Err(error) => return failure(choice, None, error),
    }
    let notice = (query_flag(&req, "done").as_deref() == Some("password"))
        .then_some(choice.lang.text().password_set);
    let provider_sign_out =
        match query_flag(&req, "signed_out").and_then(|id| state.sso().find(&id)) {
            Some(provider) => {
                let back = format!("{}/login", state.config.public_url.trim_end_matches('/'));
                let url = match &provider.protocol {
                    Protocol::Cas(cas) => Some(cas.logout_url(&back)),
                    Protocol::Oidc(oidc) => oidc.logout_url(&back).await,
                };
                url.map(|url| (url, choice.lang.sign_out_of(&provider.name)))
            }
            None => None,
        };
    login_page_with(
        &req,
        &state,
        StatusCode::OK,
        "",
        (None, notice),
        provider_sign_out,
    )
}

#[derive(Default, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf_token: String,
}

/// `POST /login`: a new session on success, the form with its error otherwise.
pub async fn login(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    let choice = Choice::of(&req);
    let form: LoginForm = read_form(&body);
    if !session::form_token_matches(&req, &form.csrf_token) {
        return forged(choice, None);
    }
    let t = choice.lang.text();
    let credentials = Credentials {
        email: form.email.clone(),
        password: form.password,
        client: req.peer_addr().map(|address| address.ip()),
    };
    let refusal = match services::auth::authenticate(&state.db, credentials, state.sso()).await {
        Ok(user) => {
            return match session::start(&state, &user, state.config.serves_https()).await {
                Ok(cookie) => {
                    tracing::info!(user = %user.id, role = %user.role, "signed in");
                    with_cookies(redirect(choice, "/"), vec![cookie])
                }
                Err(error) => failure(choice, None, error),
            }
        }
        Err(AuthError::WrongCredentials) => (StatusCode::UNAUTHORIZED, t.wrong_credentials),
        Err(AuthError::Throttled { .. }) => (StatusCode::TOO_MANY_REQUESTS, t.sign_in_locked),
        Err(AuthError::Busy) => (StatusCode::SERVICE_UNAVAILABLE, t.sign_in_busy),
        Err(AuthError::UseProvider(_)) => (StatusCode::FORBIDDEN, t.sign_in_through_provider),
        Err(AuthError::Store(error)) => return failure(choice, None, error),
    };
    login_page(&req, &state, refusal.0, &form.email, Some(refusal.1), None)
}

#[derive(Default, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf_token: String,
}

/// `POST /logout`: ends the session server-side and forgets its cookie.
pub async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> HttpResponse {
    let choice = Choice::of(&req);
    let form: CsrfForm = read_form(&body);
    let secure = state.config.serves_https();
    let session = match session::current(&req, &state).await {
        Ok(Some(session)) => session,
        Ok(None) => {
            return with_cookies(redirect(choice, "/login"), vec![session::removal(secure)])
        }
        Err(error) => return failure(choice, None, error),
    };
    if let Some(response) = csrf_refusal(choice, &session, &form.csrf_token) {
        return response;
    }
    let after = match &session.sso_provider {
        Some(provider) => format!("/login?signed_out={provider}"),
        None => "/login".to_owned(),
    };
    match session::end(&state, session.id).await {
        Ok(()) => with_cookies(redirect(choice, &after), vec![session::removal(secure)]),
        Err(error) => failure(choice, Some(&session), error),
    }
}

/// `GET /forgot-password`.
pub async fn forgot_form(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let choice = Choice::of(&req);
    let (csrf, cookie) = session::form_token(&req, state.config.serves_https());
    let page = ForgotPage {
        frame: Frame::new(choice.lang, None),
        csrf: &csrf,
        sent: query_flag(&req, "mailed").is_some(),
    };
    with_cookies(
        html(choice, StatusCode::OK, &page),
        cookie.into_iter().collect(),
    )
}

#[derive(Default, Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    csrf_token: String,
}

/// `POST /forgot-password`: the same answer whether or not the email is known.
pub async fn forgot(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> HttpResponse {
    let choice = Choice::of(&req);
    let form: ForgotForm = read_form(&body);
    if !session::form_token_matches(&req, &form.csrf_token) {
        return forged(choice, None);
    }
    if !form.email.trim().is_empty() {
        let sent =
            services::invitations::request_reset(&state.db, state.config.clone(), &form.email)
                .await;
        if let Err(error) = sent {
            return failure(choice, None, error);
        }
    }
    redirect(choice, "/forgot-password?mailed=1")
}

fn activate_page(
    req: &HttpRequest,
    state: &AppState,
    status: StatusCode,
    secret: &str,
    error: Option<&'static str>,
) -> HttpResponse {
    let choice = Choice::of(req);
    let (csrf, cookie) = session::form_token(req, state.config.serves_https());
    let page = ActivatePage {
        frame: Frame::new(choice.lang, None),
        csrf: &csrf,
        secret,
        error,
    };
    with_cookies(html(choice, status, &page), cookie.into_iter().collect())
}

fn dead_link(choice: Choice) -> HttpResponse {
    let t = choice.lang.text();
    message(
        choice,
        None,
        StatusCode::GONE,
        |t| (t.link_dead_title, t.link_dead_text),
        ("/forgot-password", t.forgot_password),
    )
}

/// `GET /activate/{secret}`: the form to choose a password, while the link works.
pub async fn activate_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    secret: web::Path<String>,
) -> HttpResponse {
    let choice = Choice::of(&req);
    match services::invitations::is_live(&state.db, &secret).await {
        Ok(true) => activate_page(&req, &state, StatusCode::OK, &secret, None),
        Ok(false) => dead_link(choice),
        Err(error) => failure(choice, None, error),
    }
}

#[derive(Default, Deserialize)]
pub struct ActivateForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirmation: String,
    #[serde(default)]
    csrf_token: String,
}

/// `POST /activate/{secret}`: sets the password, once, then on to sign in.
pub async fn activate(
    req: HttpRequest,
    state: web::Data<AppState>,
    secret: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let choice = Choice::of(&req);
    let form: ActivateForm = read_form(&body);
    if !session::form_token_matches(&req, &form.csrf_token) {
        return forged(choice, None);
    }
    let t = choice.lang.text();
    let problem = if validate::password(&form.password).is_err() {
        Some(t.password_too_short)
    } else if form.password != form.confirmation {
        Some(t.passwords_differ)
    } else {
        None
    };
    if let Some(problem) = problem {
        return activate_page(
            &req,
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            &secret,
            Some(problem),
        );
    }
    let hashed = match password::bounded(move |hasher| hasher.hash(&form.password)).await {
        Ok(Ok(hash)) => hash,
        Ok(Err(error)) => return failure(choice, None, DomainError::Internal(error)),
        Err(error) => return failure(choice, None, error.into()),
    };
    match services::invitations::redeem(&state.db, &secret, hashed).await {
        Ok(true) => redirect(choice, "/login?done=password"),
        Ok(false) => dead_link(choice),
        Err(error) => failure(choice, None, error),
    }
}
