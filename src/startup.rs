//! Builds the application, so that the binary, the tests and the benchmarks start the same
//! server.

use crate::api;
use crate::api::extract::{path_error, MAX_JSON_BODY};
use crate::config::Config;
use crate::db::changes::Reused;
use crate::db::Database;
use crate::email::transport::Mailer;
use crate::email::worker::{DeliverySettings, Worker};
use crate::headers::security_headers;
use crate::state::AppState;
use crate::telemetry::{observe_request, Metrics};
use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use std::net::TcpListener;
use std::sync::Arc;
use tracing_actix_web::TracingLogger;
use utoipa_swagger_ui::{Config as SwaggerConfig, SwaggerUi};

/// A migrated database and a bound, not yet running, server.
pub struct Application {
    port: u16,
    server: Server,
    db: Database,
    worker: Option<Worker>,
}

impl Application {
    /// Connects to the database, applies migrations and binds the listener.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let db = Database::connect(&config.database_url, config.pool_size)?;
        let migrating = db.clone();
        tokio::task::spawn_blocking(move || migrating.migrate()).await??;
        let listener = TcpListener::bind(&config.bind)
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.bind))?;
        let port = listener.local_addr()?.port();
        let metrics = Metrics::new()?;
        let worker = Worker::new(
            db.clone(),
            Mailer::from_config(&config)?,
            &config.mail_from,
            DeliverySettings {
                poll: std::time::Duration::from_millis(config.mail_poll_ms),
                batch: 20,
                max_attempts: config.mail_max_attempts,
                retry_base: chrono::Duration::milliseconds(config.mail_retry_base_ms),
                retry_cap: chrono::Duration::hours(1),
                lease: chrono::Duration::minutes(2),
            },
            metrics.email_attempts.clone(),
        )?;
        let state = web::Data::new(AppState {
            db: db.clone(),
            config: Arc::new(config.clone()),
            metrics,
            changes: crate::db::change_watch(&config.database_url, config.workers)?,
            callers: Reused::new(REUSED_ANSWERS),
            base_pages: Reused::new(REUSED_ANSWERS),
            list_rules: Reused::new(REUSED_ANSWERS),
        });
        let document = api::openapi::build();
        let metrics = web::Data::new(state.metrics.clone());
        let served = web::Data::new(api::openapi::Served(serde_json::to_string(&document)?));
        let index = web::Data::new(api::RouteIndex::of(&document));
        let server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(crate::web::error::render))
                .wrap(from_fn(api::request_line))
                .wrap(from_fn(security_headers))
                .wrap(from_fn(observe_request))
                .wrap(TracingLogger::default())
                .app_data(state.clone())
                .app_data(metrics.clone())
                .app_data(served.clone())
                .app_data(index.clone())
                .app_data(web::PayloadConfig::new(MAX_JSON_BODY))
                .app_data(web::PathConfig::default().error_handler(path_error))
                .service(
                    SwaggerUi::new("/docs/{_:.*}")
                        .config(SwaggerConfig::new(["/api/v1/openapi.json"])),
                )
                .route("/docs", web::get().to(redirect_to_docs))
                .configure(api::routes)
                .configure(crate::web::routes)
                .default_service(web::to(unknown))
        })
        .workers(config.workers)
        .listen(listener)?
        .run();
        Ok(Self {
            port,
            server,
            db,
            worker: Some(worker),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    /// What stops the server from outside, once it runs.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Takes the email worker out, so that the caller runs its delivery passes itself
    /// (`Worker::run_pass`) instead of the background loop.
    pub fn take_delivery(&mut self) -> Option<Worker> {
        self.worker.take()
    }

    /// Serves, and delivers email in the background unless the worker was taken out, until
    /// the server is stopped.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let worker = self.worker.map(|worker| {
            tracing::info!(delivery = %worker.describe(), "email worker started");
            tokio::spawn(worker.run())
        });
        let served = self.server.await;
        if let Some(worker) = worker {
            worker.abort();
        }
        served
    }
}

/// How many answers of each kind an instance keeps for reuse (see `db::changes`).
const REUSED_ANSWERS: usize = 4096;

async fn redirect_to_docs() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Found()
        .insert_header(("Location", "/docs/"))
        .finish()
}

/// What no route took: a signed-in browser's lost page is a page, anything else the API's
/// answer.
async fn unknown(
    req: actix_web::HttpRequest,
    index: web::Data<api::RouteIndex>,
) -> Result<actix_web::HttpResponse, actix_web::Error> {
    if crate::web::is_lost_page(&req).await {
        return Err(crate::web::error::PageError::NotFound.into());
    }
    Ok(api::fallback(req, index).await?)
}
