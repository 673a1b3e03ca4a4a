//! The outbox: emails recorded in the transaction of the change they report, then claimed
//! by the delivery workers.

use crate::db::models::{EmailAttemptRow, EmailRow};
use crate::db::schema::*;
use crate::db::DbConn;
use crate::dispatch;
use crate::domain::*;
use crate::email::templates::{self, ConfirmationFacts};
use crate::email::transport::Envelope;
use chrono::Duration;
use diesel::prelude::*;

pub const PLACEMENT_CONFIRMED: &str = "placement_confirmed";

fn mailbox_text(name: &str, address: &str) -> String {
    format!(
        "{} <{address}>",
        name.replace(['<', '>', '"', '\n', '\r'], " ").trim()
    )
}

/// Records the confirmation email of a placement: to the student, cc its university's
/// placement officers, reply-to the base's coordinator. Call it inside the transaction
/// that confirms; the unique (placement, kind) index keeps it to one email.
pub fn queue_confirmation(
    conn: &mut DbConn,
    placement: PlacementId,
) -> Result<EmailId, DomainError> {
    type Facts = (
        (String, String, UniversityId),
        (
            String,
            String,
            String,
            String,
            Option<String>,
            Option<String>,
        ),
        (String, chrono::NaiveDate, chrono::NaiveDate),
    );
    let (
        (student_name, student_email, university),
        (base_name, organisation, city, coordinator_email, coordinator_name, coordinator_phone),
        (cycle_name, starts_on, ends_on),
    ): Facts = dispatch!(conn, |c| placements::table
        .inner_join(students::table)
        .inner_join(bases::table)
        .inner_join(cycles::table)
        .filter(placements::id.eq(placement))
        .select((
            (students::name, students::email, students::university_id),
            (
                bases::name,
                bases::organisation,
                bases::city,
                bases::coordinator_email,
                bases::coordinator_name,
                bases::coordinator_phone,
            ),
            (cycles::name, cycles::starts_on, cycles::ends_on),
        ))
        .first(c))?;
    let officers: Vec<String> = dispatch!(conn, |c| users::table
        .filter(users::role.eq(Role::UniversityAdmin))
        .filter(users::university_id.eq(university))
        .select(users::email)
        .order(users::email)
        .load(c))?;
    let coordinator_label = coordinator_name
        .clone()
        .unwrap_or_else(|| base_name.clone());
    let coordinator = [
        Some(coordinator_label.clone()),
        Some(coordinator_email.clone()),
        coordinator_phone,
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ");
    let rendered = templates::placement_confirmed(&ConfirmationFacts {
        student_name: student_name.clone(),
        cycle_name,
        base_name,
        organisation,
        city,
        starts_on: starts_on.to_string(),
        ends_on: ends_on.to_string(),
        coordinator,
    })
    .map_err(|e| {
        DomainError::Internal(anyhow::anyhow!("cannot render the confirmation email: {e}"))
    })?;
    let now = Timestamp::now();
    let row = EmailRow {
        id: EmailId::generate(),
        kind: PLACEMENT_CONFIRMED.into(),
        placement_id: Some(placement),
        recipient: mailbox_text(&student_name, &student_email),
        cc: officers.join("\n"),
        reply_to: Some(mailbox_text(&coordinator_label, &coordinator_email)),
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
    Ok(row.id)
}

impl EmailRow {
    pub fn envelope(&self) -> Envelope {
        Envelope {
            message_id: format!("<{}@placemat>", self.id),
            to: self.recipient.clone(),
            cc: self
                .cc
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_owned)
                .collect(),
            reply_to: self.reply_to.clone(),
            subject: self.subject.clone(),
            text: self.body_text.clone(),
            html: self.body_html.clone(),
        }
    }
}

/// Claims up to `limit` due emails for one worker: each gets one more attempt and is hidden
/// from other workers for `lease` (if this worker dies, the email is due again after it).
/// The claimed rows come back as stored: their `attempts` and `next_attempt_at` are the
/// claim's token for [`record`]. Runs inside a write transaction; PostgreSQL skips rows
/// another worker holds (`FOR UPDATE SKIP LOCKED`), on SQLite the transaction is exclusive.
pub fn claim_due(conn: &mut DbConn, limit: i64, lease: Duration) -> QueryResult<Vec<EmailRow>> {
    let now = Timestamp::now();
    let due = email_outbox::table
        .filter(email_outbox::status.eq(EmailStatus::Pending))
        .filter(email_outbox::next_attempt_at.le(now))
        .order(email_outbox::next_attempt_at)
        .select(email_outbox::id)
        .limit(limit);
    let ids: Vec<EmailId> = match conn {
        DbConn::Pg(c) => due.for_update().skip_locked().load(&mut **c)?,
        DbConn::Sqlite(c) => due.load(&mut **c)?,
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    dispatch!(conn, |c| {
        diesel::update(email_outbox::table.filter(email_outbox::id.eq_any(&ids)))
            .set((
                email_outbox::attempts.eq(email_outbox::attempts + 1),
                email_outbox::next_attempt_at.eq(now + lease),
            ))
            .execute(c)?;
        email_outbox::table
            .filter(email_outbox::id.eq_any(&ids))
            .select(EmailRow::as_select())
            .load(c)
    })
}

/// Hands claimed emails that were not tried back to the outbox, as they were before the
/// claim (due now, the claim's attempt not counted), while the claim is still this
/// worker's. Runs inside a write transaction.
pub fn release(conn: &mut DbConn, claimed: &[EmailRow]) -> QueryResult<()> {
    let now = Timestamp::now();
    for email in claimed {
        dispatch!(conn, |c| diesel::update(
            email_outbox::table
                .filter(email_outbox::id.eq(email.id))
                .filter(email_outbox::status.eq(EmailStatus::Pending))
                .filter(email_outbox::attempts.eq(email.attempts))
                .filter(email_outbox::next_attempt_at.eq(email.next_attempt_at))
        )
        .set((
            email_outbox::attempts.eq(email_outbox::attempts - 1),
            email_outbox::next_attempt_at.eq(now),
        ))
        .execute(c))?;
    }
    Ok(())
}

/// How one delivery attempt ended.
pub enum Outcome {
    Sent,
    /// Try again at the given time.
    Retry {
        error: String,
        at: Timestamp,
    },
    /// Give up.
    Failed {
        error: String,
    },
}

/// Records an attempt and its consequence, only while the claim is still this worker's:
/// the email is still pending with the attempt count and lease end its claim gave it (a
/// worker that claimed it since has changed both). Answers whether it was recorded. Runs
/// inside a write transaction.
pub fn record(conn: &mut DbConn, claimed: &EmailRow, outcome: &Outcome) -> QueryResult<bool> {
    let now = Timestamp::now();
    let attempt = EmailAttemptRow {
        id: EmailAttemptId::generate(),
        email_id: claimed.id,
        at: now,
        succeeded: matches!(outcome, Outcome::Sent),
        error: match outcome {
            Outcome::Sent => None,
            Outcome::Retry { error, .. } | Outcome::Failed { error } => Some(error.clone()),
        },
    };
    dispatch!(conn, |c| {
        let row = email_outbox::table
            .filter(email_outbox::id.eq(claimed.id))
            .filter(email_outbox::status.eq(EmailStatus::Pending))
            .filter(email_outbox::attempts.eq(claimed.attempts))
            .filter(email_outbox::next_attempt_at.eq(claimed.next_attempt_at));
        let updated = match outcome {
            Outcome::Sent => diesel::update(row)
                .set((
                    email_outbox::status.eq(EmailStatus::Sent),
                    email_outbox::sent_at.eq(Some(now)),
                    email_outbox::last_error.eq(None::<String>),
                ))
                .execute(c)?,
            Outcome::Retry { error, at } => diesel::update(row)
                .set((
                    email_outbox::next_attempt_at.eq(*at),
                    email_outbox::last_error.eq(Some(error)),
                ))
                .execute(c)?,
            Outcome::Failed { error } => diesel::update(row)
                .set((
                    email_outbox::status.eq(EmailStatus::Failed),
                    email_outbox::last_error.eq(Some(error)),
                ))
                .execute(c)?,
        };
        if updated == 0 {
            return Ok(false);
        }
        diesel::insert_into(email_attempts::table)
            .values(&attempt)
            .execute(c)?;
        Ok(true)
    })
}
