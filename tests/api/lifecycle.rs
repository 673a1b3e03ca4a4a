//! The service's life as an operator sees it: the real `placemat` binary started as a child
//! process, asked whether it is ready, and stopped with a signal.

use crate::helpers::*;
use crate::smtp::{Mode, SmtpServer};
use placemat::config::Config;
use placemat::db::Database;
use placemat::domain::Role;
use placemat::startup::Application;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A `placemat` process started by the test; killed if the test ends with it still running.
pub struct Placemat {
    child: Child,
    pub address: String,
    pub log: PathBuf,
}

impl Placemat {
    /// Runs `placemat serve` on a free port with the given environment, its standard output
    /// and error going to `log`; answers once `/readyz` says ready.
    pub async fn serve(database_url: &str, env: &[(&str, &str)], log: &Path) -> Placemat {
        let port = crate::smtp::unused_port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_placemat"));
        command
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .env("PLACEMAT_DATABASE_URL", database_url)
            .env("PLACEMAT_MAIL_POLL_MS", "50")
            .env("PLACEMAT_WORKERS", "2")
            .env("RUST_LOG", "info")
            .env_remove("PLACEMAT_SMTP_URL")
            .env_remove("PLACEMAT_LOG_FORMAT");
        for (name, value) in env {
            command.env(name, value);
        }
        let output = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("a log file");
        let child = command
            .stdout(output.try_clone().expect("the log file again"))
            .stderr(output)
            .stdin(Stdio::null())
            .spawn()
            .expect("placemat starts");
        let placemat = Placemat {
            child,
            address: format!("http://127.0.0.1:{port}"),
            log: log.to_owned(),
        };
        placemat.wait_until_ready().await;
        placemat
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    async fn wait_until_ready(&self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(answer) = client.get(self.url("/readyz")).send().await {
                if answer.status() == StatusCode::OK {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "placemat did not become ready; its log:\n{}",
            self.log_text()
        );
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends the process a signal by name (`TERM`, `INT`).
    pub fn signal(&self, name: &str) {
        let sent = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(sent.success(), "the signal was sent");
    }

    /// Waits for the process to end, at most `limit`; answers its exit status.
    pub async fn wait_for_exit(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("the process is there") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "placemat still runs after {limit:?}; its log:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Placemat {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Creates the alliance admin in the database directly and signs it in.
pub async fn sign_in_admin(database_url: &str, address: &str, email: &str) -> String {
    let url = database_url.to_owned();
    let login = email.to_owned();
    tokio::task::spawn_blocking(move || {
        let db = Database::connect(&url, 2).expect("the database opens");
        placemat::cli::create_user(&db, Role::AllianceAdmin, &login, PASSWORD, None, None)
    })
    .await
    .expect("joins")
    .expect("the admin is created");
    let answer = reqwest::Client::new()
        .post(format!("{address}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .expect("sent");
    expect_json(answer, StatusCode::OK).await["token"]
        .as_str()
        .expect("a token")
        .to_owned()
}

async fn outbox(client: &reqwest::Client, address: &str, admin: &str) -> Vec<Value> {
    let answer = client
        .get(format!("{address}/api/v1/emails?limit=1000"))
        .bearer_auth(admin)
        .send()
        .await
        .expect("sent");
    expect_json(answer, StatusCode::OK).await["items"]
        .as_array()
        .expect("items")
        .clone()
}

#[tokio::test]
async fn readiness_waits_for_the_migrations() {
    let workdir = tempfile::tempdir().expect("a folder");
    let (database_url, postgres) = fresh_database(&workdir);
    // Something else holds the database while placemat starts: on SQLite a write
    // transaction, on PostgreSQL the migrations' lock.
    let url = database_url.clone();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let (held, holding) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        use diesel::connection::SimpleConnection;
        use diesel::Connection;
        if let Some(path) = url.strip_prefix("sqlite://") {
            let mut conn = diesel::SqliteConnection::establish(path).expect("opens");
            conn.batch_execute("PRAGMA journal_mode = WAL; BEGIN IMMEDIATE;")
                .expect("holds the write lock");
            held.send(()).expect("told");
            released.recv().expect("released");
            conn.batch_execute("COMMIT").expect("lets go");
        } else {
            let mut conn = diesel::PgConnection::establish(&url).expect("connects");
            conn.batch_execute("SELECT pg_advisory_lock(8100956909264003444)")
                .expect("holds the migrations' lock");
            held.send(()).expect("told");
            released.recv().expect("released");
            conn.batch_execute("SELECT pg_advisory_unlock(8100956909264003444)")
                .expect("lets go");
        }
    });
    holding.recv().expect("the database is held");
    let config = Config {
        database_url: database_url.clone(),
        bind: "127.0.0.1:0".into(),
        mail_dir: workdir.path().join("mail"),
        pool_size: 4,
        workers: 1,
        ..Config::default()
    };
    let app = Application::bind(config).expect("binds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let _instance = Instance::start(app);
    let client = reqwest::Client::new();

    let waiting = client
        .get(format!("{address}/readyz"))
        .send()
        .await
        .expect("sent");
    expect_problem(waiting, StatusCode::SERVICE_UNAVAILABLE).await;
    let alive = client
        .get(format!("{address}/healthz"))
        .send()
        .await
        .expect("sent");
    assert_eq!(alive.status(), StatusCode::OK, "alive while migrating");
    let api = client
        .get(format!("{address}/api/v1/programs"))
        .send()
        .await
        .expect("sent");
    expect_problem(api, StatusCode::SERVICE_UNAVAILABLE).await;

    release.send(()).expect("let go");
    holder.join().expect("the holder ends");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = client
            .get(format!("{address}/readyz"))
            .send()
            .await
            .expect("sent");
        if answer.status() == StatusCode::OK {
            let body: Value = answer.json().await.expect("json");
            assert_eq!(body["database"], "reachable");
            break;
        }
        assert!(Instant::now() < deadline, "ready once migrated");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(postgres);
}

#[tokio::test]
async fn sigterm_lets_the_request_and_the_email_in_flight_finish_and_sends_nothing_twice() {
    let workdir = tempfile::tempdir().expect("a folder");
    let (database_url, _postgres) = fresh_database(&workdir);
    let smtp = SmtpServer::start();
    smtp.set_mode(Mode::Slow(Duration::from_secs(3)));
    let smtp_url = smtp.url();
    let env = [
        ("PLACEMAT_SMTP_URL", smtp_url.as_str()),
        ("PLACEMAT_SHUTDOWN_DRAIN_MS", "1000"),
    ];
    let log = workdir.path().join("placemat.log");
    let mut placemat = Placemat::serve(&database_url, &env, &log).await;
    let admin = sign_in_admin(&database_url, &placemat.address, "admin@alliance.test").await;
    let client = reqwest::Client::new();
    let university = expect_json(
        client
            .post(placemat.url("/api/v1/universities"))
            .bearer_auth(&admin)
            .json(&json!({"code": "USST", "name": "University USST"}))
            .send()
            .await
            .expect("sent"),
        StatusCode::CREATED,
    )
    .await;
    expect_json(
        client
            .post(placemat.url("/api/v1/programs"))
            .bearer_auth(&admin)
            .json(&json!({"code": "0854", "name": "Electronics"}))
            .send()
            .await
            .expect("sent"),
        StatusCode::CREATED,
    )
    .await;
    // Two students without passwords: two invitations, claimed together by one pass.
    let mut csv =
        String::from("university_id,student_number,name,email,program_code,cohort_year\n");
    for n in 0..2 {
        csv.push_str(&format!(
            "{},S{n},Student {n},s{n}@students.test,0854,2026\n",
            id(&university)
        ));
    }
    expect_json(
        client
            .post(placemat.url("/api/v1/students/import"))
            .bearer_auth(&admin)
            .header("content-type", "text/csv")
            .body(csv)
            .send()
            .await
            .expect("sent"),
        StatusCode::CREATED,
    )
    .await;
    // Wait until the first invitation is being sent (claimed, the SMTP server pausing).
    let deadline = Instant::now() + Duration::from_secs(20);
    while !outbox(&client, &placemat.address, &admin)
        .await
        .iter()
        .any(|email| email["attempts"] == 1)
    {
        assert!(Instant::now() < deadline, "an invitation is claimed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A request in flight: its head and half its body are sent before the signal.
    let port = placemat.address.rsplit(':').next().expect("a port");
    let mut in_flight = tokio::net::TcpStream::connect(format!("127.0.0.1:{port}"))
        .await
        .expect("connects");
    let body = json!({"email": "nobody@alliance.test", "password": "not the password"}).to_string();
    let (first, second) = body.split_at(body.len() / 2);
    in_flight
        .write_all(
            format!(
                "POST /api/v1/auth/login HTTP/1.1\r\nHost: localhost\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{first}",
                body.len()
            )
            .as_bytes(),
        )
        .await
        .expect("half a request sent");
    tokio::time::sleep(Duration::from_millis(200)).await;

    let signalled = Instant::now();
    placemat.signal("TERM");
    tokio::time::sleep(Duration::from_millis(200)).await;
    // A load balancer asking during the drain is told to send nothing more.
    let after = client
        .get(placemat.url("/readyz"))
        .send()
        .await
        .expect("sent");
    assert_eq!(
        after.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "not ready from the signal on"
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(
        std::net::TcpStream::connect(format!("127.0.0.1:{port}")).is_err(),
        "no new connections after the signal"
    );
    in_flight
        .write_all(second.as_bytes())
        .await
        .expect("the rest of the request sent");
    let mut answer = String::new();
    in_flight
        .read_to_string(&mut answer)
        .await
        .expect("the answer read");
    assert!(
        answer.starts_with("HTTP/1.1 401"),
        "the request in flight is answered: {answer}"
    );
    let status = placemat.wait_for_exit(Duration::from_secs(30)).await;
    assert!(
        status.success(),
        "exit 0: {status:?}\n{}",
        placemat.log_text()
    );
    assert!(signalled.elapsed() < Duration::from_secs(30));
    assert_eq!(
        smtp.received().len(),
        1,
        "the invitation being sent at the signal was sent"
    );

    // Started again, placemat sends the other invitation, and the first one not again.
    smtp.set_mode(Mode::Accept);
    let mut again = Placemat::serve(&database_url, &env, &log).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while smtp.received().len() < 2 {
        assert!(Instant::now() < deadline, "the second invitation is sent");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received = smtp.received();
    assert_eq!(received.len(), 2, "each invitation sent once: {received:?}");
    let mut recipients: Vec<String> = received.iter().map(|r| r.rcpt_to.join(",")).collect();
    recipients.sort();
    recipients.dedup();
    assert_eq!(
        recipients.len(),
        2,
        "to two different students: {recipients:?}"
    );
    let emails = outbox(&client, &again.address, &admin).await;
    assert!(
        emails
            .iter()
            .all(|email| email["status"] == "sent" && email["attempts"] == 1),
        "each recorded as sent after one attempt: {emails:?}"
    );

    again.signal("INT");
    let status = again.wait_for_exit(Duration::from_secs(30)).await;
    assert!(status.success(), "exit 0 on SIGINT too: {status:?}");
}

/// Signs in right and wrong, follows an activation link and sends a token in a query: what
/// a real run's log must not give away.
async fn a_run_with_secrets(database_url: &str, env: &[(&str, &str)], log: &Path) -> Vec<String> {
    let mut placemat = Placemat::serve(database_url, env, log).await;
    let email = format!("admin-{}@alliance.test", uuid::Uuid::new_v4().simple());
    let admin = sign_in_admin(database_url, &placemat.address, &email).await;
    let client = reqwest::Client::new();
    let refused = client
        .post(placemat.url("/api/v1/auth/login"))
        .json(&json!({"email": email, "password": "wrong-password-42"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    client
        .get(placemat.url("/activate/activation-secret-0123456789"))
        .send()
        .await
        .expect("sent");
    client
        .get(placemat.url("/api/v1/me?token=query-token-0123456789"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("sent");
    placemat.signal("TERM");
    assert!(placemat
        .wait_for_exit(Duration::from_secs(30))
        .await
        .success());
    let text = placemat.log_text();
    for secret in [
        email.as_str(),
        PASSWORD,
        "wrong-password-42",
        admin.as_str(),
        "activation-secret-0123456789",
        "query-token-0123456789",
    ] {
        assert!(!text.contains(secret), "`{secret}` is in the log:\n{text}");
    }
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn json_logs_are_one_object_a_line_and_give_nothing_away() {
    let workdir = tempfile::tempdir().expect("a folder");
    let (database_url, _postgres) = fresh_database(&workdir);
    let log = workdir.path().join("json.log");
    let lines = a_run_with_secrets(
        &database_url,
        &[
            ("PLACEMAT_LOG_FORMAT", "json"),
            ("RUST_LOG", "info,tracing_actix_web=debug"),
        ],
        &log,
    )
    .await;
    assert!(lines.len() >= 4, "{lines:?}");
    let mut with_request = 0;
    for line in &lines {
        let object: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON object ({e}): {line}"));
        for field in ["timestamp", "level", "target", "message"] {
            assert!(object[field].is_string(), "{field} in {line}");
        }
        chrono::DateTime::parse_from_rfc3339(object["timestamp"].as_str().expect("text"))
            .expect("an RFC 3339 timestamp");
        if object["request_id"].is_string() {
            with_request += 1;
        }
    }
    assert!(
        lines
            .iter()
            .any(|line| line.contains("\"message\":\"login\"")),
        "{lines:?}"
    );
    assert!(
        with_request > 0,
        "events of a request carry its id: {lines:?}"
    );

    let text_log = workdir.path().join("text.log");
    let text = a_run_with_secrets(&database_url, &[], &text_log).await;
    assert!(
        text.iter()
            .all(|line| serde_json::from_str::<Value>(line).is_err()),
        "the default format is text"
    );
}
