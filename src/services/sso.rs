//! Sign-in through a university's identity provider: the attempt kept from the redirect to
//! the provider until its return, and the account the provider's answer names.
//!
//! An attempt belongs to one browser (a random secret in a cookie, kept here as its
//! fingerprint) and is used once, so a provider's answer replayed, or carried to another
//! browser, opens nothing. A CAS ticket is validated once: placemat records every ticket it
//! was shown before asking the server about it. Nobody is created by signing in: the
//! answer must name a student or a placement officer of the provider's university.

use crate::auth::token;
use crate::db::models::User;
use crate::db::schema::{sso_attempts, sso_tickets, students, users};
use crate::db::{Database, DbConn};
use crate::dispatch;
use crate::domain::validate::normalise_email;
use crate::domain::{DomainError, Role, SsoAttemptId, Timestamp};
use crate::sso::{Identity, Matching, Protocol, Provider, SsoError};
use chrono::Duration;
use diesel::prelude::*;

/// How long a browser may take at its provider before the attempt is void.
const ATTEMPT_MINUTES: i64 = 10;

/// How long a CAS ticket's fingerprint is kept: far longer than any CAS server lets a
/// ticket live (minutes), so a replay is always recognised, yet the table stays small.
const TICKET_DAYS: i64 = 2;

/// Why a sign-in through a provider opened no session.
#[derive(Debug, thiserror::Error)]
pub enum SsoFailure {
    /// The provider vouched for somebody placemat does not know at that university.
    #[error("no account of this university matches the provider's user")]
    UnknownPerson,
    /// The answer was refused: forged, replayed, expired, for another browser.
    #[error(transparent)]
    Refused(SsoError),
    /// The provider could not be reached in time, or answered nonsense.
    #[error(transparent)]
    Unreachable(SsoError),
    #[error(transparent)]
    Store(#[from] DomainError),
}

impl From<SsoError> for SsoFailure {
    fn from(error: SsoError) -> Self {
        match error {
            SsoError::Refused(_) => SsoFailure::Refused(error),
            SsoError::Unreachable(_) => SsoFailure::Unreachable(error),
        }
    }
}

pub fn refused(reason: &str) -> SsoFailure {
    SsoFailure::Refused(SsoError::Refused(reason.into()))
}

/// Where to send the browser, and the secret its cookie keeps for the return.
pub struct Begun {
    pub redirect: String,
    pub browser_secret: String,
}

/// What the provider sent the browser back with.
pub enum Answer {
    /// CAS: `?ticket=`.
    Ticket(String),
    /// OpenID Connect: `?code=&state=`.
    Code { code: String, state: String },
}

#[derive(Insertable)]
#[diesel(table_name = sso_attempts)]
struct NewAttempt {
    id: SsoAttemptId,
    provider: String,
    browser_hash: String,
    state_hash: String,
    nonce: String,
    pkce_verifier: String,
    created_at: Timestamp,
}

/// Starts a sign-in through the provider.
pub async fn begin(db: &Database, provider: &Provider) -> Result<Begun, SsoFailure> {
    let browser_secret = token::generate();
    let (redirect, state, nonce, pkce_verifier) = match &provider.protocol {
        Protocol::Cas(cas) => (cas.login_url(), String::new(), String::new(), String::new()),
        Protocol::Oidc(oidc) => {
            let pending = oidc.start().await?;
            (
                pending.authorize_url,
                pending.state,
                pending.nonce,
                pending.pkce_verifier,
            )
        }
    };
    let attempt = NewAttempt {
        id: SsoAttemptId::generate(),
        provider: provider.id.clone(),
        browser_hash: token::fingerprint(&browser_secret),
        state_hash: token::fingerprint(&state),
        nonce,
        pkce_verifier,
        created_at: Timestamp::now(),
    };
    db.write(move |conn| {
        let void = Timestamp::now() - Duration::minutes(ATTEMPT_MINUTES);
        dispatch!(conn, |c| diesel::delete(
            sso_attempts::table.filter(sso_attempts::created_at.lt(void))
        )
        .execute(c))?;
        let forgotten = Timestamp::now() - Duration::days(TICKET_DAYS);
        dispatch!(conn, |c| diesel::delete(
            sso_tickets::table.filter(sso_tickets::seen_at.lt(forgotten))
        )
        .execute(c))?;
        dispatch!(conn, |c| diesel::insert_into(sso_attempts::table)
            .values(&attempt)
            .execute(c))?;
        Ok(())
    })
    .await?;
    Ok(Begun {
        redirect,
        browser_secret,
    })
}

/// The nonce and PKCE verifier of the attempt, once it is taken.
struct Taken {
    state_hash: String,
    nonce: String,
    pkce_verifier: String,
}

/// Finishes a sign-in: the browser's attempt is taken (once), the answer checked with the
/// provider, and the account it names found.
pub async fn complete(
    db: &Database,
    provider: &Provider,
    browser_secret: Option<&str>,
    answer: Answer,
) -> Result<User, SsoFailure> {
    let browser_secret =
        browser_secret.ok_or_else(|| refused("the browser has no sign-in under way"))?;
    let taken = take_attempt(db, &provider.id, token::fingerprint(browser_secret)).await?;
    let identity = match (&provider.protocol, answer) {
        (Protocol::Cas(cas), Answer::Ticket(ticket)) => {
            first_showing(db, &ticket).await?;
            cas.validate(&ticket).await?
        }
        (Protocol::Oidc(oidc), Answer::Code { code, state }) => {
            // Fingerprints are compared: neither side is a secret any more.
            if taken.state_hash != token::fingerprint(&state) {
                return Err(refused("the state does not match the sign-in under way"));
            }
            oidc.finish(&code, &taken.nonce, &taken.pkce_verifier)
                .await?
        }
        _ => return Err(refused("the answer is not of the provider's protocol")),
    };
    let university = provider.university_id;
    let matching = provider.matching;
    db.read(move |conn| account_of(conn, university, matching, &identity))
        .await?
        .ok_or(SsoFailure::UnknownPerson)
}

/// Takes the browser's unused, fresh attempt at this provider, so that it cannot be used
/// again; none is a refusal.
async fn take_attempt(
    db: &Database,
    provider: &str,
    browser_hash: String,
) -> Result<Taken, SsoFailure> {
    let provider = provider.to_owned();
    let taken = db
        .write(move |conn| {
            let now = Timestamp::now();
            let fresh = now - Duration::minutes(ATTEMPT_MINUTES);
            let found: Option<(SsoAttemptId, String, String, String)> =
                dispatch!(conn, |c| sso_attempts::table
                    .filter(sso_attempts::browser_hash.eq(&browser_hash))
                    .filter(sso_attempts::provider.eq(&provider))
                    .filter(sso_attempts::used_at.is_null())
                    .filter(sso_attempts::created_at.gt(fresh))
                    .select((
                        sso_attempts::id,
                        sso_attempts::state_hash,
                        sso_attempts::nonce,
                        sso_attempts::pkce_verifier,
                    ))
                    .first(c)
                    .optional())?;
            let Some((id, state_hash, nonce, pkce_verifier)) = found else {
                return Ok(None);
            };
            let used = dispatch!(conn, |c| diesel::update(
                sso_attempts::table
                    .find(id)
                    .filter(sso_attempts::used_at.is_null())
            )
            .set(sso_attempts::used_at.eq(now))
            .execute(c))?;
            Ok((used == 1).then_some(Taken {
                state_hash,
                nonce,
                pkce_verifier,
            }))
        })
        .await?;
    taken.ok_or_else(|| refused("no sign-in is under way for this browser, or it was used"))
}

/// Records that placemat was shown this ticket; a ticket shown before is a replay.
async fn first_showing(db: &Database, ticket: &str) -> Result<(), SsoFailure> {
    let ticket_hash = token::fingerprint(ticket);
    let inserted = db
        .write(move |conn| {
            Ok(dispatch!(conn, |c| diesel::insert_into(
                sso_tickets::table
            )
            .values((
                sso_tickets::ticket_hash.eq(&ticket_hash),
                sso_tickets::seen_at.eq(Timestamp::now()),
            ))
            .on_conflict_do_nothing()
            .execute(c))?)
        })
        .await?;
    if inserted == 1 {
        Ok(())
    } else {
        Err(refused("the ticket was used before"))
    }
}

/// The account of the provider's university that the identity names: a student by student
/// number or email (as the entry matches), or a placement officer by email.
fn account_of(
    conn: &mut DbConn,
    university: crate::domain::UniversityId,
    matching: Matching,
    identity: &Identity,
) -> Result<Option<User>, DomainError> {
    let email = match matching {
        Matching::Email => Some(normalise_email(&identity.user)),
        Matching::StudentNumber => identity.email.as_deref().map(normalise_email),
    };
    if matching == Matching::StudentNumber {
        let number = identity.user.trim().to_owned();
        let student: Option<User> = dispatch!(conn, |c| users::table
            .inner_join(students::table.on(users::student_id.eq(students::id.nullable())))
            .filter(students::university_id.eq(university))
            .filter(students::student_number.eq(&number))
            .filter(users::role.eq(Role::Student))
            .select(User::as_select())
            .first(c)
            .optional())?;
        if student.is_some() {
            return Ok(student);
        }
    }
    let Some(email) = email else {
        return Ok(None);
    };
    let roles = match matching {
        Matching::Email => vec![Role::Student, Role::UniversityAdmin],
        Matching::StudentNumber => vec![Role::UniversityAdmin],
    };
    Ok(dispatch!(conn, |c| users::table
        .filter(users::email.eq(&email))
        .filter(users::university_id.eq(university))
        .filter(users::role.eq_any(&roles))
        .select(User::as_select())
        .first(c)
        .optional())?)
}
