//! The delivery worker that runs in every `placemat serve`: it drains the outbox, retries
//! failures with exponential backoff and jitter, and gives up on permanent refusals.

use crate::db::Database;
use crate::domain::Timestamp;
use crate::email::outbox::{self, Outcome};
use crate::email::transport::{mailbox, Mailer};
use chrono::Duration;
use lettre::message::Mailbox;
use prometheus::IntCounterVec;
use rand::Rng;
use std::sync::Arc;

/// How the worker paces itself.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// Pause between looks at an empty outbox.
    pub poll: std::time::Duration,
    /// Emails claimed at a time.
    pub batch: i64,
    /// Attempts before an email is marked `failed`.
    pub max_attempts: i32,
    /// Wait before the first retry; doubled for each further one.
    pub retry_base: Duration,
    /// Longest wait between retries.
    pub retry_cap: Duration,
    /// How long a claimed email stays hidden from other workers.
    pub lease: Duration,
}

pub struct Worker {
    db: Database,
    mailer: Arc<Mailer>,
    from: Mailbox,
    settings: DeliverySettings,
    outcomes: IntCounterVec,
}

impl Worker {
    pub fn new(
        db: Database,
        mailer: Mailer,
        from: &str,
        settings: DeliverySettings,
        outcomes: IntCounterVec,
    ) -> anyhow::Result<Self> {
        let from = mailbox(from).map_err(|e| anyhow::anyhow!("PLACEMAT_MAIL_FROM: {e}"))?;
        Ok(Self {
            db,
            mailer: Arc::new(mailer),
            from,
            settings,
            outcomes,
        })
    }

    pub fn describe(&self) -> String {
        self.mailer.describe()
    }

    /// Delivers until the task is dropped.
    pub async fn run(self) {
        let worker = Arc::new(self);
        loop {
            let round = Arc::clone(&worker);
            let delivered = tokio::task::spawn_blocking(move || round.deliver_due()).await;
            match delivered {
                Ok(Ok(count)) if count > 0 => continue,
                Ok(Ok(_)) => {}
                Ok(Err(error)) => {
                    tracing::warn!(error = %format!("{error:#}"), "email delivery round failed")
                }
                Err(error) => tracing::error!(%error, "email delivery task panicked"),
            }
            tokio::time::sleep(worker.settings.poll).await;
        }
    }

    /// Claims the due emails and tries each once; answers how many it tried.
    pub fn deliver_due(&self) -> anyhow::Result<usize> {
        let mut conn = self.db.writer()?;
        let claimed = outbox::claim_due(&mut conn, self.settings.batch, self.settings.lease)?;
        drop(conn);
        for email in &claimed {
            let outcome = match self.mailer.send(&self.from, &email.envelope()) {
                Ok(()) => Outcome::Sent,
                Err(error) if error.permanent => Outcome::Failed {
                    error: error.message,
                },
                Err(error) if email.attempts >= self.settings.max_attempts => Outcome::Failed {
                    error: format!(
                        "gave up after {} attempts: {}",
                        email.attempts, error.message
                    ),
                },
                Err(error) => Outcome::Retry {
                    error: error.message,
                    at: Timestamp::now() + self.backoff(email.attempts),
                },
            };
            let label = match &outcome {
                Outcome::Sent => "sent",
                Outcome::Retry { .. } => "retry",
                Outcome::Failed { .. } => "failed",
            };
            self.outcomes.with_label_values(&[label]).inc();
            match &outcome {
                Outcome::Sent => tracing::info!(email = %email.id, "email delivered"),
                Outcome::Retry { error, at } => {
                    tracing::warn!(email = %email.id, %error, retry_at = %at, "email delivery failed, will retry")
                }
                Outcome::Failed { error } => {
                    tracing::error!(email = %email.id, %error, "email delivery failed for good")
                }
            }
            let mut conn = self.db.writer()?;
            outbox::record(&mut conn, email.id, &outcome)?;
        }
        Ok(claimed.len())
    }

    /// The wait before retry number `attempts`: doubling from the base, capped, with up to
    /// a fifth of jitter either way so that many failures do not retry in step.
    fn backoff(&self, attempts: i32) -> Duration {
        let doublings = attempts.saturating_sub(1).clamp(0, 20) as u32;
        let base_ms = self.settings.retry_base.num_milliseconds().max(1);
        let wait_ms = base_ms
            .saturating_mul(1_i64 << doublings)
            .min(self.settings.retry_cap.num_milliseconds());
        let jitter = rand::thread_rng().gen_range(0.8..1.2);
        Duration::milliseconds((wait_ms as f64 * jitter) as i64)
    }
}
