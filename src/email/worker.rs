//! The delivery worker that runs in every `placemat serve`: it drains the outbox, retries
//! failures with exponential backoff and jitter, and gives up on permanent refusals.

use crate::config::mailbox;
use crate::db::Database;
use crate::domain::Timestamp;
use crate::email::outbox::{self, Outcome};
use crate::email::transport::{Mailer, SEND_TIMEOUT};
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
    /// The most emails claimed at a time (fewer when the lease is short, see
    /// `Worker::claim_size`).
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
    stop: Arc<tokio::sync::watch::Sender<bool>>,
}

/// Asks a worker to stop once the email it is sending is sent and recorded.
#[derive(Clone)]
pub struct Stopper(Arc<tokio::sync::watch::Sender<bool>>);

impl Stopper {
    pub fn stop(&self) {
        self.0.send_replace(true);
    }
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
            stop: Arc::new(tokio::sync::watch::channel(false).0),
        })
    }

    /// What stops this worker's loop (`run`) between two emails.
    pub fn stopper(&self) -> Stopper {
        Stopper(Arc::clone(&self.stop))
    }

    fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    pub fn describe(&self) -> String {
        self.mailer.describe()
    }

    /// Delivers until the task is dropped or its `Stopper` says stop; a stop lets the email
    /// being sent finish and be recorded, and hands the rest of its claim back.
    pub async fn run(self) {
        let mut stop = self.stop.subscribe();
        while !self.stopping() {
            match self.run_pass().await {
                Ok(count) if count > 0 => continue,
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(error = %format!("{error:#}"), "email delivery round failed")
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(self.settings.poll) => {}
                _ = stop.wait_for(|stopped| *stopped) => {}
            }
        }
    }

    /// Emails claimed at a time: no more than can be sent, each taking the longest an SMTP
    /// exchange may, well within the lease (one exchange of it kept spare), so that a claim
    /// never outlives its lease while this worker is still sending.
    fn claim_size(&self) -> i64 {
        let lease_ms = self.settings.lease.num_milliseconds();
        let send_ms = SEND_TIMEOUT.as_millis() as i64;
        (lease_ms / send_ms - 1).clamp(1, self.settings.batch.max(1))
    }

    /// One delivery pass: claims the due emails and tries each once, recording each outcome
    /// only while the claim is still held; answers how many it claimed. The database writes
    /// take their turn like any other write (on SQLite, first come, first served).
    pub async fn run_pass(&self) -> anyhow::Result<usize> {
        let (limit, lease) = (self.claim_size(), self.settings.lease);
        let claimed = self
            .db
            .write(move |conn| Ok(outbox::claim_due(conn, limit, lease)?))
            .await
            .map_err(|e| anyhow::anyhow!("cannot claim emails: {e}"))?;
        let count = claimed.len();
        let mut claimed = claimed.into_iter();
        while let Some(email) = claimed.next() {
            if self.stopping() {
                let rest: Vec<_> = std::iter::once(email).chain(claimed).collect();
                let released = rest.len();
                self.db
                    .write(move |conn| Ok(outbox::release(conn, &rest)?))
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot hand back claimed emails: {e}"))?;
                tracing::info!(
                    released,
                    "stopping: unsent emails handed back to the outbox"
                );
                break;
            }
            // An email whose lease would end before the longest exchange could is left for
            // the next claim, rather than risking a second worker sending it too.
            let sendable_until =
                email.next_attempt_at - Duration::milliseconds(SEND_TIMEOUT.as_millis() as i64);
            if Timestamp::now() >= sendable_until {
                tracing::warn!(email = %email.id, "lease too short to send, left for the next claim");
                continue;
            }
            let mailer = Arc::clone(&self.mailer);
            let (from, envelope) = (self.from.clone(), email.envelope());
            let sent = tokio::task::spawn_blocking(move || mailer.send(&from, &envelope))
                .await
                .map_err(|e| anyhow::anyhow!("email delivery task failed: {e}"))?;
            let outcome = match sent {
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
                Outcome::Sent => crate::domain::EmailStatus::Sent.as_str(),
                Outcome::Retry { .. } => "retry",
                Outcome::Failed { .. } => crate::domain::EmailStatus::Failed.as_str(),
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
            let id = email.id;
            let recorded = self
                .db
                .write(move |conn| Ok(outbox::record(conn, &email, &outcome)?))
                .await
                .map_err(|e| anyhow::anyhow!("cannot record the delivery of {id}: {e}"))?;
            if !recorded {
                tracing::warn!(email = %id, "claim taken over by another worker, outcome not recorded");
            }
        }
        Ok(count)
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
