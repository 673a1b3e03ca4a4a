//! The page handlers: sign-in and sign-out, the role homes, invitations and password
//! resets. Every answer is an HTML page in the reader's language, never problem+json.

use super::assets;
use super::error::PageError;
use super::extract::{signed_in, CsrfForm, Empty, OpenForm};
use super::lang::Choice;
use super::session::{self, Session};
use crate::auth::password;
use crate::domain::validate;
use crate::domain::DomainError;
use crate::domain::Role;
use crate::i18n::{Lang, Text};
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

pub(super) fn query_flag(req: &HttpRequest, name: &str) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
        .unwrap_or_default()
        .into_iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value)
}

/// `GET /`: the role's home, or the sign-in page.
pub async fn root(req: HttpRequest) -> Result<HttpResponse, PageError> {
    let choice = Choice::of(&req);
    Ok(match signed_in(&req).await? {
        Some(session) => redirect(choice, home_of(session.role)),
        None => redirect(choice, "/login"),
    })
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
pub async fn login_form(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let choice = Choice::of(&req);
    if let Some(session) = signed_in(&req).await? {
        return Ok(redirect(choice, home_of(session.role)));
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
    Ok(login_page_with(
        &req,
        &state,
        StatusCode::OK,
        "",
        (None, notice),
        provider_sign_out,
    ))
}

#[derive(Default, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

/// `POST /login`: a new session on success, the form with its error otherwise.
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    OpenForm(form): OpenForm<LoginForm>,
) -> Result<HttpResponse, PageError> {
    let choice = Choice::of(&req);
    let t = choice.lang.text();
    let credentials = Credentials {
        email: form.email.clone(),
        password: form.password,
        client: req.peer_addr().map(|address| address.ip()),
    };
    let refusal = match services::auth::authenticate(&state.db, credentials, state.sso()).await {
        Ok(user) => {
            let cookie = session::start(&state, &user, state.config.serves_https()).await?;
            tracing::info!(user = %user.id, role = %user.role, "signed in");
            return Ok(with_cookies(redirect(choice, "/"), vec![cookie]));
        }
        Err(AuthError::WrongCredentials) => (StatusCode::UNAUTHORIZED, t.wrong_credentials),
        Err(AuthError::Throttled { .. }) => (StatusCode::TOO_MANY_REQUESTS, t.sign_in_locked),
        Err(AuthError::Busy) => (StatusCode::SERVICE_UNAVAILABLE, t.sign_in_busy),
        Err(AuthError::UseProvider(_)) => (StatusCode::FORBIDDEN, t.sign_in_through_provider),
        Err(AuthError::Store(error)) => return Err(error.into()),
    };
    Ok(login_page(
        &req,
        &state,
        refusal.0,
        &form.email,
        Some(refusal.1),
        None,
    ))
}

/// `POST /logout`: ends the session server-side and forgets its cookie; signed out, the
/// cookie is forgotten all the same.
pub async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    _: CsrfForm<Empty>,
) -> Result<HttpResponse, PageError> {
    let choice = Choice::of(&req);
    let secure = state.config.serves_https();
    let mut after = "/login".to_owned();
    if let Some(session) = signed_in(&req).await? {
        if let Some(provider) = &session.sso_provider {
            after = format!("/login?signed_out={provider}");
        }
        session::end(&state, session.id).await?;
    }
    Ok(with_cookies(
        redirect(choice, &after),
        vec![session::removal(secure)],
    ))
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
}

/// `POST /forgot-password`: the same answer whether or not the email is known.
pub async fn forgot(
    req: HttpRequest,
    state: web::Data<AppState>,
    OpenForm(form): OpenForm<ForgotForm>,
) -> Result<HttpResponse, PageError> {
    let choice = Choice::of(&req);
    if !form.email.trim().is_empty() {
        services::invitations::request_reset(&state.db, state.config.clone(), &form.email).await?;
    }
    Ok(redirect(choice, "/forgot-password?mailed=1"))
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
) -> Result<HttpResponse, PageError> {
    let choice = Choice::of(&req);
    Ok(
        match services::invitations::is_live(&state.db, &secret).await? {
            true => activate_page(&req, &state, StatusCode::OK, &secret, None),
            false => dead_link(choice),
        },
    )
}

#[derive(Default, Deserialize)]
pub struct ActivateForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirmation: String,
}

/// `POST /activate/{secret}`: sets the password, once, then on to sign in.
pub async fn activate(
    req: HttpRequest,
    state: web::Data<AppState>,
    secret: web::Path<String>,
    OpenForm(form): OpenForm<ActivateForm>,
) -> Result<HttpResponse, PageError> {
    let choice = Choice::of(&req);
    let t = choice.lang.text();
    let problem = if validate::password(&form.password).is_err() {
        Some(t.password_too_short)
    } else if form.password != form.confirmation {
        Some(t.passwords_differ)
    } else {
        None
    };
    if let Some(problem) = problem {
        return Ok(activate_page(
            &req,
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            &secret,
            Some(problem),
        ));
    }
    let hashed = password::bounded(move |hasher| hasher.hash(&form.password))
        .await
        .map_err(DomainError::from)?
        .map_err(DomainError::Internal)?;
    Ok(
        match services::invitations::redeem(&state.db, &secret, hashed).await? {
            true => redirect(choice, "/login?done=password"),
            false => dead_link(choice),
        },
    )
}
