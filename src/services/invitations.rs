//! One-time links to choose a password: the invitation a student gets when added without
//! one, and the reset anyone can ask for. The link's secret travels only in the email; the
//! database keeps its SHA-256, so a leaked table opens no account.

use crate::auth::token;
use crate::config::Config;
use crate::db::models::{EmailRow, User};
use crate::db::schema::{
    email_outbox, password_links, students, universities, users, web_sessions,
};
use crate::db::{Database, DbConn};
use crate::dispatch;
use crate::domain::validate::normalise_email;
use crate::domain::DomainError;
use crate::domain::*;
use crate::email::templates::{self, InvitationFacts};
use crate::i18n::{time, Lang};
use chrono::Duration;
use diesel::prelude::*;

pub const INVITATION: &str = "invitation";
pub const PASSWORD_RESET: &str = "password_reset";

/// Why a link is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A new account that has no password of its owner's choosing yet.
    Invitation,
    /// A forgotten password.
    Reset,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Invitation => "invitation",
            Purpose::Reset => "reset",
        }
    }

    fn email_kind(self) -> &'static str {
        match self {
            Purpose::Invitation => INVITATION,
            Purpose::Reset => PASSWORD_RESET,
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = password_links)]
struct NewLink {
    id: PasswordLinkId,
    user_id: UserId,
    token_hash: String,
    purpose: &'static str,
    created_at: Timestamp,
    expires_at: Timestamp,
}

fn mailbox(name: &str, address: &str) -> String {
    format!(
        "{} <{address}>",
        name.replace(['<', '>', '"', '\n', '\r'], " ").trim()
    )
}

/// Records a new link for the user and its email in the outbox. Call it inside the
/// transaction that creates the account, so that both happen or neither does.
pub fn send_link(
    conn: &mut DbConn,
    config: &Config,
    user_id: UserId,
    purpose: Purpose,
) -> Result<(), DomainError> {
    let user: User = dispatch!(conn, |c| users::table
        .find(user_id)
        .select(User::as_select())
        .first(c))?;
    let student_name: Option<String> = match user.student_id {
        Some(student) => Some(dispatch!(conn, |c| students::table
            .find(student)
            .select(students::name)
            .first(c))?),
        None => None,
    };
    let university_name: Option<String> = match user.university_id {
        Some(university) => Some(dispatch!(conn, |c| universities::table
            .find(university)
            .select(universities::name)
            .first(c))?),
        None => None,
    };
    let secret = token::generate();
    let now = Timestamp::now();
    let link = NewLink {
        id: PasswordLinkId::generate(),
        user_id,
        token_hash: token::fingerprint(&secret),
        purpose: purpose.as_str(),
        created_at: now,
        expires_at: now + Duration::days(config.invitation_ttl_days),
    };
    let expires_at = link.expires_at;
    dispatch!(conn, |c| diesel::insert_into(password_links::table)
        .values(&link)
        .execute(c))?;
    let name = student_name.unwrap_or_else(|| user.email.clone());
    let rendered = templates::invitation(&InvitationFacts {
        name: name.clone(),
        email: user.email.clone(),
        university: university_name.unwrap_or_else(|| "placemat".into()),
        link: format!("{}/activate/{secret}", config.public_url),
        expires_zh: time::moment(*expires_at, *now, config.time_zone, Lang::Zh),
        expires_en: time::moment(*expires_at, *now, config.time_zone, Lang::En),
        purpose_is_reset: purpose == Purpose::Reset,
    })
    .map_err(|e| DomainError::Internal(anyhow::anyhow!("cannot render the invitation: {e}")))?;
    let row = EmailRow {
        id: EmailId::generate(),
        kind: purpose.email_kind().into(),
        placement_id: None,
        recipient: mailbox(&name, &user.email),
        cc: String::new(),
        reply_to: None,
        subject: rendered.subject,
        body_text: rendered.text,
        body_html: rendered.html,
        status: EmailStatus::Pending,
        attempts: 0,
        next_attempt_at: now,
        last_error: None,
        created_at: now,
        sent_at: None,
    };
    dispatch!(conn, |c| diesel::insert_into(email_outbox::table)
        .values(&row)
        .execute(c))?;
    Ok(())
}

/// Sends a reset link when an account uses this email, and nothing otherwise: the caller
/// answers the same either way, so the form tells no one which emails are known.
pub async fn request_reset(
    db: &Database,
    config: std::sync::Arc<Config>,
    email: &str,
) -> Result<(), DomainError> {
    let email = normalise_email(email);
    db.write(move |conn| {
        let user: Option<UserId> = dispatch!(conn, |c| users::table
            .filter(users::email.eq(&email))
            .select(users::id)
            .first(c)
            .optional())?;
        match user {
            Some(user) => send_link(conn, &config, user, Purpose::Reset),
            None => Ok(()),
        }
    })
    .await
}

/// Whether the link still works: known, unused and not expired.
pub async fn is_live(db: &Database, secret: &str) -> Result<bool, DomainError> {
    let fingerprint = token::fingerprint(secret);
    db.read(move |conn| live_link(conn, &fingerprint).map(|link| link.is_some()))
        .await
}

fn live_link(
    conn: &mut DbConn,
    fingerprint: &str,
) -> Result<Option<(PasswordLinkId, UserId)>, DomainError> {
    let now = Timestamp::now();
    Ok(dispatch!(conn, |c| password_links::table
        .filter(password_links::token_hash.eq(fingerprint))
        .filter(password_links::used_at.is_null())
        .filter(password_links::expires_at.gt(now))
        .select((password_links::id, password_links::user_id))
        .first(c)
        .optional())?)
}

/// Sets the password through the link, once: answers `false` when the link no longer
/// works. Every other link of the account and every browser session it had end with it.
pub async fn redeem(
    db: &Database,
    secret: &str,
    password_hash: String,
) -> Result<bool, DomainError> {
    let fingerprint = token::fingerprint(secret);
    db.write(move |conn| {
        let Some((_, user)) = live_link(conn, &fingerprint)? else {
            return Ok(false);
        };
        let now = Timestamp::now();
        dispatch!(conn, |c| {
            diesel::update(
                password_links::table
                    .filter(password_links::user_id.eq(user))
                    .filter(password_links::used_at.is_null()),
            )
            .set(password_links::used_at.eq(now))
            .execute(c)?;
            diesel::update(users::table.find(user))
                .set(users::password_hash.eq(&password_hash))
                .execute(c)?;
            diesel::update(
                web_sessions::table
                    .filter(web_sessions::user_id.eq(user))
                    .filter(web_sessions::revoked_at.is_null()),
            )
            .set(web_sessions::revoked_at.eq(now))
            .execute(c)
        })?;
        Ok(true)
    })
    .await
}
