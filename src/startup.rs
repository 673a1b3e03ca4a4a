//! Builds the application, so that the binary, the tests and the benchmarks start the same
//! server.

use crate::api;
use crate::api::extract::{path_error, MAX_JSON_BODY};
use crate::config::Config;
use crate::db::changes::Reused;
use crate::db::Database;
use crate::email::transport::Mailer;
use crate::email::worker::{DeliverySettings, Worker};
use crate::error::ApiError;
use crate::headers::security_headers;
use crate::sso::Providers;
use crate::state::AppState;
use crate::telemetry::{observe_request, Metrics};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Server, ServerHandle, ServiceRequest, ServiceResponse};
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, App, HttpServer};
use anyhow::Context;
use std::net::TcpListener;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use tokio::signal::unix::SignalKind;
use tracing_actix_web::TracingLogger;
use utoipa_swagger_ui::{Config as SwaggerConfig, SwaggerUi};

/// Where the service stands, as `/readyz` tells it: migrating its database, serving, or
/// shutting down.
#[derive(Clone, Default)]
pub struct Readiness(Arc<AtomicU8>);

const MIGRATING: u8 = 0;
const READY: u8 = 1;
const STOPPING: u8 = 2;

impl Readiness {
    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::Acquire) == READY
    }

    pub fn is_migrating(&self) -> bool {
        self.0.load(Ordering::Acquire) == MIGRATING
    }

    fn ready(&self) {
        // A shutdown that began during the migrations stays a shutdown.
        let _ = self
            .0
            .compare_exchange(MIGRATING, READY, Ordering::AcqRel, Ordering::Acquire);
    }

    fn stopping(&self) {
        self.0.store(STOPPING, Ordering::Release);
    }
}

/// A database and a bound, not yet running, server.
pub struct Application {
    port: u16,
    server: Server,
    db: Database,
    worker: Option<Worker>,
    readiness: Readiness,
    migrated: bool,
    drain: std::time::Duration,
    /// The identity providers, read once the migrations are done, and where from.
    sso: Arc<std::sync::OnceLock<Providers>>,
    sso_file: Option<std::path::PathBuf>,
    public_url: String,
    /// Held as long as the server runs on a SQLite file, so that no restore replaces it.
    _serving: Option<std::fs::File>,
}

/// Reads the provider file's identity providers, checked against the member universities
/// (so once the migrations are done), into the slot the handlers read; none without a file.
async fn load_identity_providers(
    db: &Database,
    file: Option<&std::path::Path>,
    public_url: &str,
    slot: &std::sync::OnceLock<Providers>,
) -> anyhow::Result<()> {
    let providers = match file {
        Some(path) => {
            let universities = db.read(crate::db::lookup::university_codes).await?;
            Providers::load(path, public_url, |code| universities.get(code).copied())?
        }
        None => Providers::default(),
    };
    // The slot is filled once; a second start of the same application keeps the first.
    let _ = slot.set(providers);
    Ok(())
}

impl Application {
    /// Connects to the database, applies migrations and binds the listener.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let mut app = Self::bind(config)?;
        app.migrate().await?;
        Ok(app)
    }

    /// Connects to the database and binds the listener without migrating: the server, once
    /// running, applies the migrations itself, answering `/readyz` with 503 (and every
    /// request but the health, readiness and metrics ones with 503) until they are done.
    pub fn bind(config: Config) -> anyhow::Result<Self> {
        let serving = crate::backup::serving_lock(&config.database_url)?;
        let db = Database::connect(&config.database_url, config.pool_size)?;
        let readiness = Readiness::default();
        let sso = Arc::new(std::sync::OnceLock::new());
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
            readiness: readiness.clone(),
            config: Arc::new(config.clone()),
            metrics,
            changes: crate::db::change_watch(&config.database_url, config.workers)?,
            callers: Reused::new(REUSED_ANSWERS),
            base_pages: Reused::new(REUSED_ANSWERS),
            list_rules: Reused::new(REUSED_ANSWERS),
            sso: sso.clone(),
        });
        let document = api::openapi::build();
        let metrics = web::Data::new(state.metrics.clone());
        let served = web::Data::new(api::openapi::Served(serde_json::to_string(&document)?));
        let index = web::Data::new(api::RouteIndex::of(&document));
        let server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(crate::web::error::render))
                .wrap(from_fn(api::request_line))
                .wrap(from_fn(while_migrating))
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
        // Signals are placemat's own (see `serve_until_signalled`): the readiness answer
        // must change before the server stops accepting.
        .disable_signals()
        .shutdown_timeout(SHUTDOWN_REQUESTS_SECONDS)
        .listen(listener)?
        .run();
        Ok(Self {
            port,
            server,
            db,
            worker: Some(worker),
            readiness,
            migrated: false,
            drain: std::time::Duration::from_millis(config.shutdown_drain_ms),
            sso,
            sso_file: config.sso_file.clone(),
            public_url: config.public_url.clone(),
            _serving: serving,
        })
    }

    /// Applies every pending migration, then marks the service ready.
    async fn migrate(&mut self) -> anyhow::Result<()> {
        if !self.migrated {
            let migrating = self.db.clone();
            tokio::task::spawn_blocking(move || migrating.migrate()).await??;
            self.migrated = true;
        }
        self.identity_providers().await?;
        self.readiness.ready();
        Ok(())
    }

    async fn identity_providers(&self) -> anyhow::Result<()> {
        load_identity_providers(
            &self.db,
            self.sso_file.as_deref(),
            &self.public_url,
            &self.sso,
        )
        .await
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

    /// Where the service stands.
    pub fn readiness(&self) -> Readiness {
        self.readiness.clone()
    }

    /// Serves (migrating first if `build` did not), and delivers email in the background
    /// unless the worker was taken out, until the server is stopped.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run(std::future::pending()).await
    }

    /// Serves like `run_until_stopped` until SIGTERM or SIGINT, then shuts down gracefully:
    /// `/readyz` answers 503 at once, the listener stops accepting after the drain
    /// (`PLACEMAT_SHUTDOWN_DRAIN_MS`), the requests in flight and the email being sent
    /// finish (within `SHUTDOWN_REQUESTS_SECONDS`), and the answer is `Ok` once all of it
    /// is done.
    pub async fn serve_until_signalled(self) -> anyhow::Result<()> {
        let mut terminate = tokio::signal::unix::signal(SignalKind::terminate())
            .context("cannot listen for SIGTERM")?;
        let mut interrupt = tokio::signal::unix::signal(SignalKind::interrupt())
            .context("cannot listen for SIGINT")?;
        let signalled = async move {
            tokio::select! {
                _ = terminate.recv() => "SIGTERM",
                _ = interrupt.recv() => "SIGINT",
            }
        };
        self.run(signalled).await
    }

    async fn run(
        mut self,
        stop: impl std::future::Future<Output = &'static str>,
    ) -> anyhow::Result<()> {
        let handle = self.server.handle();
        let readiness = self.readiness.clone();
        let mut server = std::pin::pin!(self.server);
        let mut stop = std::pin::pin!(stop);
        let db = self.db.clone();
        let mut migrated = self.migrated;
        if !migrated {
            tracing::info!("applying migrations");
            let migrating = tokio::task::spawn_blocking(move || db.migrate());
            tokio::select! {
                served = &mut server => return served.context("the server failed while migrating"),
                signal = &mut stop => {
                    tracing::info!(signal, "stopping before the migrations are done");
                    readiness.stopping();
                    drop(handle.stop(true));
                    // The migrations run in their own transactions; the process may end
                    // under them, and the next start applies what is left.
                    return server.await.context("the server failed while stopping");
                }
                done = migrating => {
                    if let Err(error) = done.map_err(anyhow::Error::from).and_then(|m| m) {
                        drop(handle.stop(false));
                        let _ = server.await;
                        return Err(error);
                    }
                    migrated = true;
                }
            }
        }
        if migrated {
            let loaded = load_identity_providers(
                &self.db,
                self.sso_file.as_deref(),
                &self.public_url,
                &self.sso,
            )
            .await;
            if let Err(error) = loaded {
                drop(handle.stop(false));
                let _ = server.await;
                return Err(error);
            }
            readiness.ready();
            tracing::info!("ready");
        }
        let delivery = self.worker.take().map(|worker| {
            tracing::info!(delivery = %worker.describe(), "email worker started");
            let stopper = worker.stopper();
            (stopper, tokio::spawn(worker.run()))
        });
        let drain = self.drain;
        let (served, signalled_at) = tokio::select! {
            served = &mut server => (served, None),
            signal = &mut stop => {
                let signalled_at = tokio::time::Instant::now();
                tracing::info!(signal, "shutting down: not ready, finishing the requests and the email in flight");
                readiness.stopping();
                if let Some((stopper, _)) = &delivery {
                    stopper.stop();
                }
                // A load balancer that asks `/readyz` meanwhile takes the instance out of
                // rotation before it stops accepting.
                if let Ok(served) = tokio::time::timeout(drain, &mut server).await {
                    (served, Some(signalled_at))
                } else {
                    drop(handle.stop(true));
                    (server.await, Some(signalled_at))
                }
            }
        };
        if let Some((stopper, delivering)) = delivery {
            stopper.stop();
            let deadline = signalled_at.unwrap_or_else(tokio::time::Instant::now) + SHUTDOWN_EMAIL;
            match tokio::time::timeout_at(deadline, delivering).await {
                Ok(Ok(())) => tracing::info!("email worker stopped"),
                Ok(Err(error)) => tracing::warn!(%error, "email worker ended abnormally"),
                Err(_) => tracing::warn!("email worker still sending at the deadline, left"),
            }
        }
        served.context("the server failed")
    }
}

/// How long requests in flight may take to finish after a stop.
const SHUTDOWN_REQUESTS_SECONDS: u64 = 20;

/// How long after a stop the email being sent may take to finish and be recorded: the
/// longest SMTP exchange and a little more, so that a shutdown ends within 30 seconds (the
/// drain, at most 5 s, and the requests' 20 s end before it too).
const SHUTDOWN_EMAIL: std::time::Duration = std::time::Duration::from_secs(28);

/// While the migrations run, only the health, readiness and metrics answers are given;
/// every other request gets 503.
async fn while_migrating(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let migrating = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|state| state.readiness.is_migrating());
    if migrating && !matches!(req.path(), "/healthz" | "/readyz" | "/metrics") {
        let response = actix_web::ResponseError::error_response(&ApiError::Unavailable(
            anyhow::anyhow!("placemat is applying its database migrations"),
        ));
        return Ok(req.into_response(response).map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
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
