//! What every request handler can reach.

use crate::auth::Caller;
use crate::config::Config;
use crate::db::changes::{ChangeWatch, Reused};
use crate::db::Database;
use crate::domain::{CycleId, Timestamp};
use crate::services::applications::{KeptRules, ListRules};
use crate::sso::Providers;
use crate::telemetry::Metrics;
use std::sync::Arc;

pub struct AppState {
    pub db: Database,
    /// Whether `/readyz` may say ready: not while migrating or shutting down.
    pub readiness: crate::startup::Readiness,
    pub config: Arc<Config>,
    pub metrics: Metrics,
    /// Whether the database changed since an answer below was read.
    pub changes: ChangeWatch,
    /// The caller behind each recently presented token fingerprint, with the token's expiry.
    pub callers: Reused<String, (Caller, Timestamp)>,
    /// Recently asked pages of `GET /api/v1/bases`, as sent, by query string.
    pub base_pages: Reused<String, actix_web::web::Bytes>,
    /// The rules ranked lists are checked against, by cycle.
    pub list_rules: Reused<CycleId, Arc<ListRules>>,
    /// The universities' identity providers, read once the migrations are done.
    pub sso: Arc<std::sync::OnceLock<Providers>>,
}

impl AppState {
    /// The universities' identity providers (none before the migrations are done, while
    /// every page and API answer is 503 anyway).
    pub fn sso(&self) -> &Providers {
        static NONE: std::sync::OnceLock<Providers> = std::sync::OnceLock::new();
        self.sso
            .get()
            .unwrap_or_else(|| NONE.get_or_init(Providers::default))
    }

    /// The kept list rules, with the version they must have been read at to be given now.
    pub fn kept_list_rules(&self) -> KeptRules<'_> {
        KeptRules {
            store: &self.list_rules,
            version: self.changes.list_rules_version(),
        }
    }
}
