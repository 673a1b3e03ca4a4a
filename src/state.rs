//! What every request handler can reach.

use crate::auth::Caller;
use crate::config::Config;
use crate::db::changes::{ChangeWatch, Reused};
use crate::db::Database;
use crate::domain::Timestamp;
use crate::telemetry::Metrics;
use std::sync::Arc;

pub struct AppState {
    pub db: Database,
    pub config: Arc<Config>,
    pub metrics: Metrics,
    /// Whether the database changed since an answer below was read.
    pub changes: ChangeWatch,
    /// The caller behind each recently presented token fingerprint, with the token's expiry.
    pub callers: Reused<String, (Caller, Timestamp)>,
    /// Recently asked pages of `GET /api/v1/bases`, as sent, by query string.
    pub base_pages: Reused<String, actix_web::web::Bytes>,
}
