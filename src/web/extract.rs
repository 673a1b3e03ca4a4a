//! What a page handler takes from its request, as an API handler takes its caller and body:
//! the signed-in user of the page's role ([`Student`], [`Coordinator`], [`Officer`],
//! [`Admin`]) and a posted form whose CSRF token was checked ([`CsrfForm`], or
//! [`OpenForm`] before sign-in). Each fails with the [`PageError`] its page shows.
//!
//! A role is one small type: its fields, its [`PageRole`] impl (the role, and what its
//! session must carry), and one line of `page_role!`.

use super::error::PageError;
use super::lang::Choice;
use super::session::{self, Session};
use crate::domain::{BaseId, DomainError, Role, StudentId, UniversityId};
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::rc::Rc;
use tokio::sync::OnceCell;

/// The request's session, looked up once however many extractors ask for it.
#[derive(Clone, Default)]
struct Known(Rc<OnceCell<Option<Session>>>);

fn known(req: &HttpRequest) -> Known {
    if let Some(known) = req.extensions().get::<Known>() {
        return known.clone();
    }
    let known = Known::default();
    req.extensions_mut().insert(known.clone());
    known
}

/// The live session of the request, if it is signed in.
pub async fn signed_in(req: &HttpRequest) -> Result<Option<Session>, PageError> {
    let Some(state) = req.app_data::<web::Data<AppState>>() else {
        return Err(PageError::Failure(DomainError::Internal(anyhow::anyhow!(
            "no application state"
        ))));
    };
    let known = known(req);
    let found = known
        .0
        .get_or_try_init(|| session::current(req, state))
        .await?;
    Ok(found.clone())
}

/// The session an extractor of this request already found, for the words around an error.
pub fn known_session(req: &HttpRequest) -> Option<Session> {
    req.extensions()
        .get::<Known>()
        .and_then(|known| known.0.get().cloned().flatten())
}

/// A role that has pages: which role it is, and what its session must carry.
pub trait PageRole: Sized {
    const ROLE: Role;
    fn from_session(choice: Choice, session: Session) -> Result<Self, PageError>;
}

/// The user of a role's page: signed out goes to `/login`, another role gets a 403 page.
async fn of_role<R: PageRole>(req: HttpRequest) -> Result<R, PageError> {
    let choice = Choice::of(&req);
    match signed_in(&req).await? {
        Some(session) if session.role == R::ROLE => R::from_session(choice, session),
        Some(_) => Err(PageError::Forbidden),
        None => Err(PageError::SignIn),
    }
}

macro_rules! page_role {
    ($name:ident) => {
        impl FromRequest for $name {
            type Error = PageError;
            type Future = LocalBoxFuture<'static, Result<Self, PageError>>;

            fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
                Box::pin(of_role::<$name>(req.clone()))
            }
        }
    };
}

/// A signed-in student.
pub struct Student {
    pub choice: Choice,
    pub session: Session,
    pub student_id: StudentId,
}

impl PageRole for Student {
    const ROLE: Role = Role::Student;
    fn from_session(choice: Choice, session: Session) -> Result<Self, PageError> {
        let student_id = session.student_id.ok_or(PageError::Forbidden)?;
        Ok(Student {
            choice,
            session,
            student_id,
        })
    }
}
page_role!(Student);

/// A signed-in base coordinator and the base they answer for.
pub struct Coordinator {
    pub choice: Choice,
    pub session: Session,
    pub base_id: BaseId,
}

impl PageRole for Coordinator {
    const ROLE: Role = Role::BaseCoordinator;
    fn from_session(choice: Choice, session: Session) -> Result<Self, PageError> {
        let base_id = session.base_id.ok_or(PageError::Untied)?;
        Ok(Coordinator {
            choice,
            session,
            base_id,
        })
    }
}
page_role!(Coordinator);

/// A signed-in placement officer and the university they answer for.
pub struct Officer {
    pub choice: Choice,
    pub session: Session,
    pub university: UniversityId,
}

impl PageRole for Officer {
    const ROLE: Role = Role::UniversityAdmin;
    fn from_session(choice: Choice, session: Session) -> Result<Self, PageError> {
        let university = session.university_id.ok_or(PageError::Untied)?;
        Ok(Officer {
            choice,
            session,
            university,
        })
    }
}
page_role!(Officer);

/// A signed-in alliance admin.
pub struct Admin {
    pub choice: Choice,
    pub session: Session,
}

impl PageRole for Admin {
    const ROLE: Role = Role::AllianceAdmin;
    fn from_session(choice: Choice, session: Session) -> Result<Self, PageError> {
        Ok(Admin { choice, session })
    }
}
page_role!(Admin);

/// The CSRF field every form carries.
#[derive(Default, Deserialize)]
struct Token {
    #[serde(default)]
    csrf_token: String,
}

/// A form's fields; a body that is not a form reads as an empty one, whose missing token
/// refuses it.
fn fields<T: Default + DeserializeOwned>(body: &[u8]) -> T {
    serde_urlencoded::from_bytes(body).unwrap_or_default()
}

/// A posted form's token and its fields.
async fn posted<T: Default + DeserializeOwned>(
    req: &HttpRequest,
    payload: &mut Payload,
) -> (String, T) {
    let body = web::Bytes::from_request(req, payload)
        .await
        .unwrap_or_default();
    let sent: Token = fields(&body);
    (sent.csrf_token, fields(&body))
}

/// That a posted form sent its session's CSRF token: a forged one changes nothing.
pub fn check_token(session: &Session, sent: &str) -> Result<(), PageError> {
    match session::same_secret(&session.csrf, sent) {
        true => Ok(()),
        false => Err(PageError::Forged),
    }
}

/// A form posted by a signed-in user with the session's CSRF token: a signed-out post goes
/// to `/login`, a forged one gets a 403 page and changes nothing.
pub struct CsrfForm<T>(pub T);

impl<T: Default + DeserializeOwned + 'static> FromRequest for CsrfForm<T> {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let (token, form) = posted(&req, &mut payload).await;
            let session = signed_in(&req).await?.ok_or(PageError::SignIn)?;
            check_token(&session, &token)?;
            Ok(CsrfForm(form))
        })
    }
}

/// A form of the pages before sign-in (sign in, forgotten password, choosing a password),
/// whose token must equal the browser's form cookie.
pub struct OpenForm<T>(pub T);

impl<T: Default + DeserializeOwned + 'static> FromRequest for OpenForm<T> {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let (token, form) = posted(&req, &mut payload).await;
            match session::form_token_matches(&req, &token) {
                true => Ok(OpenForm(form)),
                false => Err(PageError::Forged),
            }
        })
    }
}

/// A form with no field but its token.
#[derive(Default, Deserialize)]
pub struct Empty {}
