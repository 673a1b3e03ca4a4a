//! The credential check, one for every way in: the API's token login and the sign-in page.

use crate::auth::password;
use crate::db::models::User;
use crate::db::schema::users;
use crate::db::Database;
use crate::dispatch;
use crate::domain::validate::normalise_email;
use crate::domain::Role;
use crate::error::ApiError;
use actix_web::web;
use diesel::prelude::*;

/// Who a correct email and password belong to.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub user: User,
    pub role: Role,
}

/// Checks an email and password; a wrong password and an unknown email are refused alike.
pub async fn authenticate(
    db: &Database,
    email: &str,
    password_text: &str,
) -> Result<Authenticated, ApiError> {
    let email = normalise_email(email);
    let user: Option<User> = db
        .read(move |conn| {
            Ok(dispatch!(conn, |c| users::table
                .filter(users::email.eq(&email))
                .select(User::as_select())
                .first(c)
                .optional())?)
        })
        .await?;
    let stored_hash = user.as_ref().map(|u| u.password_hash.clone());
    let password_text = password_text.to_owned();
    let verified =
        web::block(move || password::verify_login(&password_text, stored_hash.as_deref())).await?;
    let user = match user {
        Some(user) if verified => user,
        _ => return Err(ApiError::Unauthorized("wrong email or password".into())),
    };
    let role = user
        .role
        .parse()
        .map_err(|e: String| ApiError::Internal(anyhow::anyhow!(e)))?;
    Ok(Authenticated { user, role })
}
