//! Starts the real server on a random port over a fresh database, and speaks to it as a
//! user would.

use actix_web::dev::ServerHandle;
use diesel::{Connection, RunQueryDsl};
use placemat::config::Config;
use placemat::db::Database;
use placemat::domain::{BaseId, Role};
use placemat::email::worker::Worker;
use placemat::startup::Application;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Mutex;
use tempfile::TempDir;

pub const PASSWORD: &str = "correct horse battery";

/// A running placemat and what the test needs to reach it. When the test ends, its
/// instances stop first, then its connections close, then its PostgreSQL database goes (the
/// fields drop in this order): nothing is left talking to a dropped database while the
/// test process exits.
pub struct TestApp {
    instances: Mutex<Vec<Instance>>,
    pub address: String,
    pub client: reqwest::Client,
    pub db: Database,
    pub mail_dir: PathBuf,
    pub admin: String,
    pub config: Config,
    _workdir: TempDir,
    _postgres: Option<ScratchDatabase>,
}

/// An instance serving on a thread of its own, stopped and waited for when dropped.
pub struct Instance {
    handle: ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Instance {
    pub fn start(app: Application) -> Instance {
        let handle = app.handle();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the instance");
            runtime
                .block_on(app.run_until_stopped())
                .expect("the instance serves");
        });
        Instance {
            handle,
            thread: Some(thread),
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        // The stop command is sent at once; the thread ends when the server has stopped.
        drop(self.handle.stop(false));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A PostgreSQL database of one test, dropped with it.
struct ScratchDatabase {
    server: String,
    name: String,
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let (server, name) = (self.server.clone(), self.name.clone());
        // On a thread of its own, so as not to hold up the test's runtime while the server
        // drops the database; joined, so that it ends with the test.
        let dropping = std::thread::spawn(move || {
            if let Ok(mut admin) = diesel::PgConnection::establish(&server) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin);
            }
        });
        let _ = dropping.join();
    }
}

/// Which database the suite runs on: `PLACEMAT_TEST_DATABASE_URL` names a PostgreSQL
/// server (each test gets its own database there); without it each test gets a SQLite file.
pub fn postgres_server() -> Option<String> {
    std::env::var("PLACEMAT_TEST_DATABASE_URL")
        .ok()
        .filter(|url| url.starts_with("postgres"))
}

/// Creates an empty database and answers its URL (and, on PostgreSQL, what to drop later).
pub fn fresh_database(workdir: &TempDir) -> (String, Option<(String, String)>) {
    match postgres_server() {
        Some(server) => {
            let name = format!("placemat_test_{}", uuid::Uuid::new_v4().simple());
            let mut admin =
                diesel::PgConnection::establish(&server).expect("connect to the PostgreSQL server");
            diesel::sql_query(format!("CREATE DATABASE {name}"))
                .execute(&mut admin)
                .expect("create a test database");
            let (base, _) = server.rsplit_once('/').expect("a database URL has a path");
            (format!("{base}/{name}"), Some((server.clone(), name)))
        }
        None => {
            let path = workdir.path().join("placemat.db");
            (format!("sqlite://{}", path.display()), None)
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    start(adjust, false).await.0
}

/// Starts the app without its background email delivery: the test runs each delivery pass
/// itself with the worker it gets back.
pub async fn spawn_app_delivering_on_demand(adjust: impl FnOnce(&mut Config)) -> (TestApp, Worker) {
    let (app, worker) = start(adjust, true).await;
    (app, worker.expect("the worker was taken out"))
}

async fn start(adjust: impl FnOnce(&mut Config), on_demand: bool) -> (TestApp, Option<Worker>) {
    if std::env::var_os("TEST_LOG").is_some() {
        placemat::telemetry::init_logging();
    }
    let workdir = tempfile::tempdir().expect("a temporary folder");
    let (database_url, postgres) = fresh_database(&workdir);
    let mail_dir = workdir.path().join("mail");
    let mut config = Config {
        database_url,
        bind: "127.0.0.1:0".into(),
        mail_dir: mail_dir.clone(),
        pool_size: 8,
        workers: 2,
        mail_poll_ms: 50,
        mail_retry_base_ms: 200,
        ..Config::default()
    };
    adjust(&mut config);
    let mut app = Application::build(config.clone())
        .await
        .expect("the application starts");
    let worker = if on_demand { app.take_delivery() } else { None };
    let port = app.port();
    let db = app.database().clone();
    let instance = Instance::start(app);
    let admin_db = db.clone();
    tokio::task::spawn_blocking(move || {
        placemat::cli::create_user(
            &admin_db,
            Role::AllianceAdmin,
            "admin@alliance.test",
            PASSWORD,
            None,
            None,
        )
    })
    .await
    .expect("joins")
    .expect("the alliance admin is created");
    let mut app = TestApp {
        instances: Mutex::new(vec![instance]),
        address: format!("http://127.0.0.1:{port}"),
        // Idle connections are let go before the server's keep-alive (5 s) would close
        // them under a request.
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(std::time::Duration::from_secs(2))
            .build()
            .expect("an HTTP client"),
        db,
        mail_dir,
        admin: String::new(),
        config,
        _workdir: workdir,
        _postgres: postgres.map(|(server, name)| ScratchDatabase { server, name }),
    };
    app.admin = app.login("admin@alliance.test", PASSWORD).await;
    (app, worker)
}

impl TestApp {
    fn keep_running(&self, app: Application) {
        self.instances
            .lock()
            .expect("the instances")
            .push(Instance::start(app));
    }

    /// Starts a second instance on the same database, as behind a load balancer; answers
    /// its address.
    pub async fn sibling(&self) -> String {
        let app = Application::build(self.config.clone())
            .await
            .expect("the second instance starts");
        let address = format!("http://127.0.0.1:{}", app.port());
        self.keep_running(app);
        address
    }

    /// Starts a second instance on the same database with its configuration adjusted;
    /// answers its address.
    pub async fn sibling_with(&self, adjust: impl FnOnce(&mut Config)) -> String {
        let mut config = self.config.clone();
        adjust(&mut config);
        let app = Application::build(config)
            .await
            .expect("the second instance starts");
        let address = format!("http://127.0.0.1:{}", app.port());
        self.keep_running(app);
        address
    }

    /// Starts a second instance on the same database whose email delivery the test drives;
    /// answers its address and its worker.
    pub async fn sibling_delivering_on_demand(&self) -> (String, Worker) {
        let mut app = Application::build(self.config.clone())
            .await
            .expect("the second instance starts");
        let worker = app.take_delivery().expect("a worker");
        let address = format!("http://127.0.0.1:{}", app.port());
        self.keep_running(app);
        (address, worker)
    }

    /// POSTs to every path at once, alternating between this instance and a second one on
    /// the same database, as a load balancer would; answers the statuses in order.
    pub async fn post_concurrently_on_two_instances(
        &self,
        paths: &[String],
        token: &str,
    ) -> Vec<StatusCode> {
        let second = self.sibling().await;
        let requests = paths.iter().enumerate().map(|(n, path)| {
            let address = if n % 2 == 0 { &self.address } else { &second };
            self.client
                .post(format!("{address}{path}"))
                .bearer_auth(token)
                .send()
        });
        futures_util::future::join_all(requests)
            .await
            .into_iter()
            .map(|response| response.expect("sent").status())
            .collect()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let builder = self.client.request(method, self.url(path));
        match token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path, Some(token))
            .send()
            .await
            .expect("request sent")
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Response {
        self.request(Method::POST, path, Some(token))
            .json(&body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> Response {
        self.request(Method::PUT, path, Some(token))
            .json(&body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Response {
        self.request(Method::PATCH, path, Some(token))
            .json(&body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn login(&self, email: &str, password: &str) -> String {
        let response = self
            .client
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .expect("request sent");
        let body = expect_json(response, StatusCode::OK).await;
        body["token"].as_str().expect("a token").to_owned()
    }

    /// Creates an administrator or coordinator login and signs it in.
    pub async fn staff(&self, role: Role, university: Option<&str>, base: Option<&str>) -> String {
        let email = format!("{}-{}@alliance.test", role, uuid::Uuid::new_v4().simple());
        let db = self.db.clone();
        let university = university.map(str::to_owned);
        let base = base.map(|id| id.parse::<BaseId>().expect("a base id"));
        let login = email.clone();
        tokio::task::spawn_blocking(move || {
            placemat::cli::create_user(&db, role, &login, PASSWORD, university.as_deref(), base)
        })
        .await
        .expect("joins")
        .expect("the user is created");
        self.login(&email, PASSWORD).await
    }

    pub async fn create_university(&self, code: &str) -> Value {
        let response = self
            .post(
                "/api/v1/universities",
                &self.admin,
                json!({"code": code, "name": format!("University {code}")}),
            )
            .await;
        expect_json(response, StatusCode::CREATED).await
    }

    pub async fn create_program(&self, code: &str) -> Value {
        let response = self
            .post(
                "/api/v1/programs",
                &self.admin,
                json!({"code": code, "name": format!("Program {code}")}),
            )
            .await;
        expect_json(response, StatusCode::CREATED).await
    }

    pub async fn create_base(
        &self,
        name: &str,
        city: &str,
        host: &Value,
        programs: &[&str],
    ) -> Value {
        let response = self
            .post(
                "/api/v1/bases",
                &self.admin,
                json!({
                    "name": name,
                    "organisation": format!("{name} Group"),
                    "city": city,
                    "host_university_id": host["id"],
                    "program_codes": programs,
                    "coordinator_email": format!("{}@bases.test", name.to_lowercase().replace(' ', ".")),
                }),
            )
            .await;
        expect_json(response, StatusCode::CREATED).await
    }

    /// A cycle whose application window is open now.
    pub async fn create_open_cycle(&self, name: &str, max_preferences: i64) -> Value {
        let now = chrono::Utc::now();
        let response = self
            .post(
                "/api/v1/cycles",
                &self.admin,
                json!({
                    "name": name,
                    "applications_open_at": now - chrono::Duration::days(1),
                    "applications_close_at": now + chrono::Duration::days(14),
                    "max_preferences": max_preferences,
                    "starts_on": "2027-07-01",
                    "ends_on": "2027-08-31",
                }),
            )
            .await;
        expect_json(response, StatusCode::CREATED).await
    }

    /// Publishes a match run and answers it.
    pub async fn publish(&self, run: &Value) -> Value {
        let path = format!("/api/v1/match-runs/{}/publish", id(run));
        expect_json(
            self.post(&path, &self.admin, json!({})).await,
            StatusCode::OK,
        )
        .await
    }

    /// Imports `count` students of the program `0854` from CSV, as the alliance admin; their
    /// emails are `{prefix}{n}@students.test` and their password is [`PASSWORD`].
    pub async fn import_students(&self, university: &Value, prefix: &str, count: usize) {
        let mut csv = String::from(
            "university_id,student_number,name,email,program_code,cohort_year,password\n",
        );
        for n in 0..count {
            csv.push_str(&format!(
                "{},{prefix}{n:04},学生 {prefix}{n},{prefix}{n}@students.test,0854,2026,{PASSWORD}\n",
                id(university)
            ));
        }
        let imported = self
            .request(Method::POST, "/api/v1/students/import", Some(&self.admin))
            .header("content-type", "text/csv")
            .body(csv)
            .send()
            .await
            .expect("sent");
        expect_json(imported, StatusCode::CREATED).await;
    }

    pub async fn set_seats(&self, cycle: &Value, base: &Value, seats: i64) -> Value {
        let path = format!("/api/v1/cycles/{}/seats/{}", id(cycle), id(base));
        let response = self.put(&path, &self.admin, json!({"seats": seats})).await;
        expect_json(response, StatusCode::OK).await
    }

    /// Adds a student as the alliance admin and answers the student and its token.
    pub async fn create_student(
        &self,
        university: &Value,
        number: &str,
        name: &str,
        program: &str,
        score: Option<f64>,
    ) -> (Value, String) {
        let email = format!("{number}@students.test");
        let response = self
            .post(
                "/api/v1/students",
                &self.admin,
                json!({
                    "university_id": university["id"],
                    "student_number": number,
                    "name": name,
                    "email": email,
                    "program_code": program,
                    "cohort_year": 2026,
                    "score": score,
                    "password": PASSWORD,
                }),
            )
            .await;
        let student = expect_json(response, StatusCode::CREATED).await;
        let token = self.login(&email, PASSWORD).await;
        (student, token)
    }
}

pub fn id(resource: &Value) -> &str {
    resource["id"].as_str().expect("the resource has an id")
}

/// Reads a JSON body after checking the status, showing the body when the status differs.
pub async fn expect_json(response: Response, status: StatusCode) -> Value {
    let actual = response.status();
    let text = response.text().await.expect("a body");
    assert_eq!(actual, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Checks a problem answer: its status, its content type, and the fields it names.
pub async fn expect_problem(response: Response, status: StatusCode) -> Value {
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = expect_json(response, status).await;
    assert_eq!(
        content_type, "application/problem+json",
        "problem content type; body: {body}"
    );
    assert_eq!(body["status"], status.as_u16(), "problem status field");
    assert!(body["title"].is_string() && body["detail"].is_string() && body["type"].is_string());
    body
}

/// The fields a validation problem names.
pub fn fields_at_fault(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The kind of a problem: the last segment of its `type` URI.
pub fn problem_type(problem: &Value) -> &str {
    problem["type"]
        .as_str()
        .and_then(|uri| uri.strip_prefix("https://placemat.example/problems/"))
        .unwrap_or("")
}
