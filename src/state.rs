//! What every request handler can reach.

use crate::config::Config;
use crate::db::Database;
use crate::telemetry::Metrics;
use std::sync::Arc;

pub struct AppState {
    pub db: Database,
    pub config: Arc<Config>,
    pub metrics: Metrics,
}
