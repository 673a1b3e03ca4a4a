//! Signing in: the credential check and the failed sign-in throttle, one path for the API
//! login and the sign-in page.
//!
//! Failed sign-ins are counted per account and per client address in the database, so the
//! limits hold across every instance. Past a limit, sign-ins for that account or from that
//! address are refused until the lock ends, even with the right password, and without
//! spending a password check on them.

use crate::auth::password;
use crate::db::models::User;
use crate::db::schema::users;
use crate::db::{Database, DbConn};
use crate::dispatch;
use crate::domain::validate::normalise_email;
use crate::domain::DomainError;
use crate::domain::Timestamp;
use crate::sso::Providers;
use chrono::Duration;
use diesel::prelude::*;
use std::net::IpAddr;

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::sql_types::*;
    login_throttle (key) {
        key -> Text,
        failures -> Integer,
        window_started_at -> Instant,
        locked_until -> Nullable<Instant>,
    }
}

/// Failed sign-ins an account may have within [`WINDOW`] before it is locked.
pub const ACCOUNT_LIMIT: i32 = 10;
/// Failed sign-ins one client address may have within [`WINDOW`] before it is locked: higher
/// than the account limit, because a campus network puts many students behind one address.
pub const ADDRESS_LIMIT: i32 = 100;
/// The window failures are counted in, in minutes.
pub const WINDOW_MINUTES: i64 = 15;
/// How long a lock lasts, in minutes.
pub const LOCKOUT_MINUTES: i64 = 15;

/// Why a sign-in was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No account with this email and password; which of the two was wrong is not told.
    #[error("wrong email or password")]
    WrongCredentials,
    /// Too many failed sign-ins for the account or from the address.
    #[error("too many failed sign-ins, try again in {retry_after_seconds} seconds")]
    Throttled { retry_after_seconds: u64 },
    /// The account's university signs its people in through its identity provider only.
    #[error("this account signs in through {0}")]
    UseProvider(String),
    /// The password checks are all busy.
    #[error("sign-in is busy, try again shortly")]
    Busy,
    /// The database could not answer.
    #[error(transparent)]
    Store(DomainError),
}

impl From<DomainError> for AuthError {
    fn from(error: DomainError) -> Self {
        AuthError::Store(error)
    }
}

/// Who is signing in, and from where (`None` when the address is not known).
pub struct Credentials {
    pub email: String,
    pub password: String,
    pub client: Option<IpAddr>,
}

/// Checks an email and password against the accounts, under the throttle: answers the
/// account, or why not. An unknown email costs the same password check as a wrong password.
/// A right password of an account whose university allows no password sign-in (its
/// provider's `password = false`) is refused, naming the provider to use.
pub async fn authenticate(
    db: &Database,
    credentials: Credentials,
    providers: &Providers,
) -> Result<User, AuthError> {
    let email = normalise_email(&credentials.email);
    let keys = throttle_keys(&email, credentials.client);
    let (user, locked_until) = {
        let keys = keys.clone();
        let email = email.clone();
        db.read(move |conn| {
            let user: Option<User> = dispatch!(conn, |c| users::table
                .filter(users::email.eq(&email))
                .select(User::as_select())
                .first(c)
                .optional())?;
            Ok((user, lock_of(conn, &keys)?))
        })
        .await?
    };
    if let Some(until) = locked_until {
        return Err(throttled(until));
    }
    let stored_hash = user.as_ref().and_then(|u| u.password_hash.clone());
    let password_text = credentials.password;
    let verified = password::bounded(move |hasher| {
        hasher.verify_login(&password_text, stored_hash.as_deref())
    })
    .await
    .map_err(|error| match error {
        password::HashingError::Busy => AuthError::Busy,
        other => AuthError::Store(other.into()),
    })?;
    match user {
        Some(user) if verified => {
            if let Some(provider) = providers.password_refused(user.role, user.university_id) {
                return Err(AuthError::UseProvider(provider.name.clone()));
            }
            let account = keys[0].0.clone();
            db.write(move |conn| {
                dispatch!(conn, |c| diesel::delete(
                    login_throttle::table.filter(login_throttle::key.eq(&account))
                )
                .execute(c))?;
                Ok(())
            })
            .await?;
            Ok(user)
        }
        _ => {
            db.write(move |conn| record_failure(conn, &keys)).await?;
            Err(AuthError::WrongCredentials)
        }
    }
}

/// The throttle rows of a sign-in with their limits: the account first.
fn throttle_keys(email: &str, client: Option<IpAddr>) -> Vec<(String, i32)> {
    let mut keys = vec![(format!("account:{email}"), ACCOUNT_LIMIT)];
    if let Some(address) = client {
        keys.push((format!("address:{address}"), ADDRESS_LIMIT));
    }
    keys
}

fn throttled(until: Timestamp) -> AuthError {
    let seconds = (until.0 - Timestamp::now().0).num_seconds().max(1);
    AuthError::Throttled {
        retry_after_seconds: seconds as u64,
    }
}

/// The latest lock still running on any of the keys.
fn lock_of(conn: &mut DbConn, keys: &[(String, i32)]) -> Result<Option<Timestamp>, DomainError> {
    let names: Vec<&str> = keys.iter().map(|(key, _)| key.as_str()).collect();
    let now = Timestamp::now();
    let locks: Vec<Option<Timestamp>> = dispatch!(conn, |c| login_throttle::table
        .filter(login_throttle::key.eq_any(&names))
        .filter(login_throttle::locked_until.gt(now))
        .select(login_throttle::locked_until)
        .load(c))?;
    Ok(locks.into_iter().flatten().max())
}

/// Counts one failed sign-in on every key, starting a new window when the last one has
/// passed and locking a key that reaches its limit. Each key is one upsert, so instances
/// counting at once neither lose a failure nor wait on each other's reads.
fn record_failure(conn: &mut DbConn, keys: &[(String, i32)]) -> Result<(), DomainError> {
    use crate::db::sql_types::Instant;
    use diesel::dsl::case_when;
    use diesel::sql_types::{Integer, Nullable};
    let now = Timestamp::now();
    let window_start = now - Duration::minutes(WINDOW_MINUTES);
    let lock = now + Duration::minutes(LOCKOUT_MINUTES);
    // One statement per key, so that concurrent failures count on the row itself, with
    // no read between: the right-hand sides read the row as it was before this failure.
    for (key, limit) in keys {
        let stale = login_throttle::window_started_at.le(window_start);
        let counted = case_when::<_, _, Integer>(stale, 1).otherwise(login_throttle::failures + 1);
        let reaches_limit = counted.ge(*limit);
        let upsert = diesel::insert_into(login_throttle::table)
            .values((
                login_throttle::key.eq(key),
                login_throttle::failures.eq(1),
                login_throttle::window_started_at.eq(now),
                login_throttle::locked_until.eq((*limit <= 1).then_some(lock)),
            ))
            .on_conflict(login_throttle::key)
            .do_update()
            .set((
                login_throttle::failures.eq(counted),
                login_throttle::window_started_at.eq(case_when::<_, _, Instant>(stale, now)
                    .otherwise(login_throttle::window_started_at)),
                login_throttle::locked_until.eq(case_when::<_, _, Nullable<Instant>>(
                    reaches_limit,
                    Some(lock),
                )
                .otherwise(None::<Timestamp>)),
            ));
        dispatch!(conn, |c| upsert.execute(c))?;
    }
    Ok(())
}
