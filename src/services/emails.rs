//! The outbox as the alliance admin sees it: the emails with their delivery state, and
//! putting a failed one back in the queue.

use crate::auth::Caller;
use crate::db::models::EmailRow;
use crate::db::schema::email_outbox;
use crate::db::{Database, DbConn};
use crate::dispatch;
use crate::domain::*;
use diesel::prelude::*;

/// Which emails a list shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct EmailFilter {
    pub status: Option<EmailStatus>,
    pub placement: Option<PlacementId>,
}

/// One page of the outbox, newest first, and how many emails the filter matches.
pub fn list(
    conn: &mut DbConn,
    filter: EmailFilter,
    limit: i64,
    offset: i64,
) -> Result<(Vec<EmailRow>, i64), DomainError> {
    Ok(dispatch!(conn, |c| {
        let filtered = || {
            let mut query = email_outbox::table.into_boxed();
            if let Some(status) = filter.status {
                query = query.filter(email_outbox::status.eq(status));
            }
            if let Some(placement) = filter.placement {
                query = query.filter(email_outbox::placement_id.eq(placement));
            }
            query
        };
        let total: i64 = filtered().count().get_result(c)?;
        let rows: Vec<EmailRow> = filtered()
            .select(EmailRow::as_select())
            .order((email_outbox::created_at.desc(), email_outbox::id))
            .limit(limit)
            .offset(offset)
            .load(c)?;
        (rows, total)
    }))
}

/// Puts a failed email back in the queue with a fresh set of attempts (alliance admin).
pub async fn retry(db: &Database, caller: &Caller, id: EmailId) -> Result<(), DomainError> {
    caller.require_alliance_admin()?;
    db.write(move |conn| {
        let status: EmailStatus = dispatch!(conn, |c| email_outbox::table
            .find(id)
            .select(email_outbox::status)
            .first(c)
            .optional())?
        .ok_or_else(|| DomainError::not_found("email"))?;
        let requeued = dispatch!(conn, |c| diesel::update(
            email_outbox::table
                .find(id)
                .filter(email_outbox::status.eq(EmailStatus::Failed))
        )
        .set((
            email_outbox::status.eq(EmailStatus::Pending),
            email_outbox::attempts.eq(0),
            email_outbox::next_attempt_at.eq(Timestamp::now()),
        ))
        .execute(c))?;
        if requeued != 1 {
            return Err(DomainError::Conflict(
                Conflict::EmailNotFailed,
                format!("only a failed email is retried; this one is {status}"),
            ));
        }
        Ok(())
    })
    .await
}
