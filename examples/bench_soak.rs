//! Soak benchmark: one cycle at the demo alliance's size and at ten alliances' worth (60,000
//! students, 3,000 bases), on SQLite and, when asked, on PostgreSQL. Each size goes through
//! the cycle's whole life against a server in a process of its own:
//!
//! 1. seed the alliance;
//! 2. the deadline burst: every student submits its list again, from 200 clients;
//! 3. a match run through the API;
//! 4. its publication;
//! 5. confirmations of one offer in six (10,000 at ten alliances), from 200 clients, each by
//!    the base's coordinator, until their emails are delivered;
//! 6. the statistics, by university, program, base and flow.
//!
//! It prints each step's time and the server's peak resident memory after it, and for each
//! figure the ratio of each size to the one before: with ten times the data, nothing should
//! cost more than about ten times as much. Beside the steps stands the machine's own cost of
//! touching every 64-byte line of a buffer the database's size, its pages in shuffled order,
//! measured in the same run: what more bytes cost this machine once they outgrow its caches.
//!
//!     cargo run --release --example bench_soak [-- --sizes 1,10 --clients 200]
//!
//! `PLACEMAT_BENCH_POSTGRES_URL=postgres://user@host:port` adds a run on PostgreSQL: the
//! benchmark creates a database of its own there for each size and drops it afterwards.

mod common;

use anyhow::Context;
use common::{ms, percentile};
use diesel::prelude::*;
use placemat::config::Config;
use placemat::db::models::User;
use placemat::db::schema::{bases, email_outbox, placements, users};
use placemat::db::{Database, DbConn};
use placemat::dispatch;
use placemat::domain::{
    BaseId, EmailStatus, PlacementId, PlacementStatus, Role, StudentId, Timestamp, UserId,
};
use placemat::seed::{self, Size};
use placemat::startup::Application;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Set in the server's process: it serves instead of measuring.
const SERVE_VAR: &str = "PLACEMAT_BENCH_SOAK_SERVE";

/// The server's pause between looks at an empty outbox: short, so that the confirmations'
/// emails start going out while they are made at every size, as they do in service. With
/// the default second, the demo's confirmations are all answered before the first look.
const MAIL_POLL_MS: u64 = 20;

fn option(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

/// The server: `placemat serve` as the command line runs it, configured by the environment.
fn serve() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let _guard = runtime.enter();
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(config).await?;
        app.run_until_stopped().await?;
        anyhow::Ok(())
    })
}

/// A server in a process of its own, so that its memory is its own.
struct Server {
    child: Child,
    address: String,
}

impl Server {
    async fn start(database_url: &str, mail_dir: &std::path::Path) -> anyhow::Result<Server> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        drop(listener);
        let child = Command::new(std::env::current_exe()?)
            .env(SERVE_VAR, "1")
            .env("PLACEMAT_DATABASE_URL", database_url)
            .env("PLACEMAT_BIND", format!("127.0.0.1:{port}"))
            .env("PLACEMAT_MAIL_DIR", mail_dir)
            .env("PLACEMAT_MAIL_POLL_MS", MAIL_POLL_MS.to_string())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()?;
        let server = Server {
            child,
            address: format!("http://127.0.0.1:{port}"),
        };
        for _ in 0..200 {
            if reqwest::get(format!("{}/healthz", server.address))
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Ok(server);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!("the server did not start")
    }

    /// The server's peak resident memory so far, in MiB.
    fn peak_mib(&self) -> f64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find_map(|line| line.strip_prefix("VmHWM:"))
                    .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            })
            .map_or(0.0, |kb| kb / 1024.0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One step's figures.
struct Step {
    name: &'static str,
    wall: Duration,
    detail: String,
    peak_mib: f64,
}

/// Sends every request from `clients` concurrent clients; answers the statuses' failures
/// and the sorted latencies.
async fn fire(requests: Vec<reqwest::RequestBuilder>, clients: usize) -> (usize, Vec<Duration>) {
    let per_client = requests.len().div_ceil(clients.max(1)).max(1);
    let mut queues: Vec<Vec<reqwest::RequestBuilder>> = Vec::new();
    let mut requests = requests.into_iter().peekable();
    while requests.peek().is_some() {
        queues.push(requests.by_ref().take(per_client).collect());
    }
    let handles: Vec<_> = queues
        .into_iter()
        .map(|queue| {
            tokio::spawn(async move {
                let mut outcomes = Vec::with_capacity(queue.len());
                for request in queue {
                    let sent = Instant::now();
                    let ok = request
                        .send()
                        .await
                        .is_ok_and(|response| response.status().is_success());
                    outcomes.push((ok, sent.elapsed()));
                }
                outcomes
            })
        })
        .collect();
    let mut failures = 0;
    let mut latencies = Vec::new();
    for handle in handles {
        for (ok, latency) in handle.await.unwrap_or_default() {
            if !ok {
                failures += 1;
            }
            latencies.push(latency);
        }
    }
    latencies.sort();
    (failures, latencies)
}

fn burst_detail(count: usize, failures: usize, wall: Duration, latencies: &[Duration]) -> String {
    format!(
        "{count} requests, {failures} failed, {:.0}/s, p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        count as f64 / wall.as_secs_f64(),
        ms(percentile(latencies, 0.5)),
        ms(percentile(latencies, 0.99)),
        ms(percentile(latencies, 1.0))
    )
}

/// Waits until the outbox holds no email still to send: a confirmation's work includes
/// delivering its email, which the server's worker does beside the requests. An email
/// that failed for good fails the benchmark.
fn outbox_drained(db: &Database) -> anyhow::Result<()> {
    let mut conn = db.reader()?;
    let deadline = Instant::now() + Duration::from_secs(600);
    let count = |conn: &mut DbConn, status: EmailStatus| -> QueryResult<i64> {
        dispatch!(conn, |c| email_outbox::table
            .filter(email_outbox::status.eq(status))
            .count()
            .get_result(c))
    };
    loop {
        let failed = count(&mut conn, EmailStatus::Failed)?;
        anyhow::ensure!(failed == 0, "{failed} emails could not be delivered");
        let pending = count(&mut conn, EmailStatus::Pending)?;
        if pending == 0 {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "{pending} emails still undelivered after ten minutes"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Tokens for every student and for a coordinator of every base, written straight into the
/// database: signing tens of thousands of accounts in would measure password hashing.
fn mint_tokens(
    db: &Database,
) -> anyhow::Result<(HashMap<StudentId, String>, HashMap<BaseId, String>)> {
    let mut conn = db.writer()?;
    let now = Timestamp::now();
    let base_ids: Vec<BaseId> = dispatch!(&mut conn, |c| bases::table.select(bases::id).load(c))?;
    let coordinators: Vec<User> = base_ids
        .iter()
        .map(|&base| User {
            id: UserId::generate(),
            email: format!("soak-{base}@bases.placemat.example"),
            password_hash: None,
            role: Role::BaseCoordinator,
            university_id: None,
            base_id: Some(base),
            student_id: None,
            created_at: now,
        })
        .collect();
    for chunk in coordinators.chunks(1000) {
        dispatch!(&mut conn, |c| diesel::insert_into(users::table)
            .values(chunk)
            .execute(c))?;
    }
    let student_tokens = common::for_students(&mut conn, 2)?;
    let coordinator_ids: Vec<UserId> = coordinators.iter().map(|user| user.id).collect();
    let secrets = common::mint(&mut conn, &coordinator_ids, 2)?;
    let base_tokens = coordinators
        .iter()
        .zip(secrets)
        .filter_map(|(coordinator, secret)| coordinator.base_id.map(|base| (base, secret)))
        .collect();
    Ok((student_tokens, base_tokens))
}

async fn json_of(request: reqwest::RequestBuilder) -> anyhow::Result<Value> {
    let response = request.send().await?;
    let status = response.status();
    let body: Value = response.json().await?;
    anyhow::ensure!(status.is_success(), "HTTP {status}: {body}");
    Ok(body)
}

/// The database's size as the database counts it: SQLite's pages (those still in its log
/// included), or PostgreSQL's size of the database.
fn database_bytes(db: &Database) -> anyhow::Result<u64> {
    #[derive(diesel::QueryableByName)]
    struct Bytes {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        bytes: i64,
    }
    let mut conn = db.reader()?;
    let query = match conn {
        DbConn::Sqlite(_) => {
            "SELECT page_count * page_size AS bytes FROM pragma_page_count(), pragma_page_size()"
        }
        DbConn::Pg(_) => "SELECT pg_database_size(current_database()) AS bytes",
    };
    let size: Bytes = dispatch!(&mut conn, |c| diesel::sql_query(query).get_result(c))?;
    Ok(u64::try_from(size.bytes)?)
}

/// The machine's own cost of reading `bytes` of memory: one byte of each 64-byte line of a
/// buffer that large, its 4 KiB pages in a shuffled order and the lines of a page in order
/// (the best of five reads). Once the buffer outgrows the processor's caches, each line
/// costs more: the same holds for the pages of a database that size.
fn memory_reference(bytes: u64) -> Duration {
    const PAGE: usize = 4096;
    const LINE: usize = 64;
    let pages = (bytes as usize / PAGE).max(1);
    let buffer: Vec<u8> = (0..pages * PAGE).map(|i| i as u8).collect();
    let mut order: Vec<usize> = (0..pages).collect();
    order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(7));
    let mut best = Duration::MAX;
    for _ in 0..5 {
        let started = Instant::now();
        let mut sum = 0u64;
        for &page in &order {
            for line in buffer[page * PAGE..(page + 1) * PAGE].iter().step_by(LINE) {
                sum = sum.wrapping_add(u64::from(*line));
            }
        }
        std::hint::black_box(sum);
        best = best.min(started.elapsed());
    }
    best
}

/// The whole cycle at one size; answers its steps.
async fn soak(database_url: &str, size: Size, clients: usize) -> anyhow::Result<Vec<Step>> {
    let workdir = tempfile::tempdir()?;
    let mut steps = Vec::new();

    let db = Database::connect(database_url, 4)?;
    let started = Instant::now();
    let seeding = db.clone();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        seeding.migrate()?;
        seed::demo_of_size(&seeding, size)?;
        Ok(())
    })
    .await??;
    let seeded = started.elapsed();
    let minting = db.clone();
    let (student_tokens, base_tokens) =
        tokio::task::spawn_blocking(move || mint_tokens(&minting)).await??;

    let server = Server::start(database_url, &workdir.path().join("mail")).await?;
    steps.push(Step {
        name: "seed",
        wall: seeded,
        detail: format!("{} students, {} bases", size.students, size.bases),
        peak_mib: server.peak_mib(),
    });
    let address = server.address.clone();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()?;
    let admin = json_of(
        client
            .post(format!("{address}/api/v1/auth/login"))
            .json(&json!({"email": seed::DEMO_ADMIN_EMAIL, "password": seed::DEMO_PASSWORD})),
    )
    .await?["token"]
        .as_str()
        .context("a token")?
        .to_owned();
    let cycle = json_of(
        client
            .get(format!("{address}/api/v1/cycles"))
            .bearer_auth(&admin),
    )
    .await?["items"][0]["id"]
        .as_str()
        .context("a cycle")?
        .to_owned();

    let mut lists = Vec::new();
    let mut offset = 0;
    loop {
        let page = json_of(
            client
                .get(format!(
                    "{address}/api/v1/cycles/{cycle}/applications?limit=1000&offset={offset}"
                ))
                .bearer_auth(&admin),
        )
        .await?;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        if items.is_empty() {
            break;
        }
        offset += items.len();
        for item in items {
            let student: StudentId = item["student_id"].as_str().unwrap_or_default().parse()?;
            lists.push((student, item["preferences"].clone()));
        }
    }
    let submissions: Vec<_> = lists
        .iter()
        .filter_map(|(student, list)| {
            student_tokens.get(student).map(|token| {
                client
                    .put(format!("{address}/api/v1/cycles/{cycle}/applications/me"))
                    .bearer_auth(token)
                    .json(&json!({"preferences": list}))
            })
        })
        .collect();
    let count = submissions.len();
    let started = Instant::now();
    let (failures, latencies) = fire(submissions, clients).await;
    let wall = started.elapsed();
    steps.push(Step {
        name: "deadline burst",
        wall,
        detail: burst_detail(count, failures, wall, &latencies),
        peak_mib: server.peak_mib(),
    });

    let started = Instant::now();
    let run = json_of(
        client
            .post(format!("{address}/api/v1/cycles/{cycle}/match-runs"))
            .bearer_auth(&admin)
            .json(&json!({"seed": 1})),
    )
    .await?;
    steps.push(Step {
        name: "match run",
        wall: started.elapsed(),
        detail: format!(
            "matched {} of {}; load {:.0} ms, engine {:.0} ms, store {:.0} ms",
            run["stats"]["matched"],
            run["stats"]["applicants"],
            run["timings"]["load_ms"].as_f64().unwrap_or(0.0),
            run["timings"]["engine_ms"].as_f64().unwrap_or(0.0),
            run["timings"]["store_ms"].as_f64().unwrap_or(0.0)
        ),
        peak_mib: server.peak_mib(),
    });

    let run_id = run["id"].as_str().context("a run id")?;
    let started = Instant::now();
    json_of(
        client
            .post(format!("{address}/api/v1/match-runs/{run_id}/publish"))
            .bearer_auth(&admin),
    )
    .await?;
    steps.push(Step {
        name: "publish",
        wall: started.elapsed(),
        detail: String::new(),
        peak_mib: server.peak_mib(),
    });

    let confirmations = size.students / 6;
    let reading = db.clone();
    let offers: Vec<(PlacementId, BaseId)> = tokio::task::spawn_blocking(move || {
        let mut conn = reading.reader()?;
        let rows = dispatch!(&mut conn, |c| placements::table
            .filter(placements::status.eq(PlacementStatus::Offered))
            .select((placements::id, placements::base_id))
            .limit(confirmations as i64)
            .load(c))?;
        anyhow::Ok(rows)
    })
    .await??;
    let confirming: Vec<_> = offers
        .iter()
        .filter_map(|(placement, base)| {
            base_tokens.get(base).map(|token| {
                client
                    .post(format!("{address}/api/v1/placements/{placement}/confirm"))
                    .bearer_auth(token)
            })
        })
        .collect();
    let count = confirming.len();
    let started = Instant::now();
    let (failures, latencies) = fire(confirming, clients).await;
    let answered = started.elapsed();
    let draining = db.clone();
    tokio::task::spawn_blocking(move || outbox_drained(&draining)).await??;
    steps.push(Step {
        name: "confirmations",
        wall: started.elapsed(),
        detail: format!(
            "{}; answered in {:.0} ms, then their emails delivered",
            burst_detail(count, failures, answered, &latencies),
            ms(answered)
        ),
        peak_mib: server.peak_mib(),
    });

    let mut counted = Vec::new();
    let started = Instant::now();
    for group in ["university", "program", "base", "flow"] {
        let asked = Instant::now();
        let stats = json_of(
            client
                .get(format!(
                    "{address}/api/v1/stats/placements?cycle={cycle}&group_by={group}"
                ))
                .bearer_auth(&admin),
        )
        .await?;
        counted.push(format!(
            "{group} {:.0} ms ({} rows)",
            ms(asked.elapsed()),
            stats["rows"].as_array().map_or(0, Vec::len)
        ));
    }
    steps.push(Step {
        name: "statistics",
        wall: started.elapsed(),
        detail: counted.join(", "),
        peak_mib: server.peak_mib(),
    });

    let sizing = db.clone();
    let bytes = tokio::task::spawn_blocking(move || database_bytes(&sizing)).await??;
    let wall = tokio::task::spawn_blocking(move || memory_reference(bytes)).await?;
    steps.push(Step {
        name: "memory (machine)",
        wall,
        detail: format!(
            "{:.0} MiB, the database's size, its pages in shuffled order: {:.1} ns per 64-byte line",
            bytes as f64 / (1024.0 * 1024.0),
            wall.as_secs_f64() * 1e9 / (bytes as f64 / 64.0).max(1.0)
        ),
        peak_mib: server.peak_mib(),
    });
    Ok(steps)
}

/// A fresh PostgreSQL database on the server at `server_url`, dropped when done.
struct ScratchPostgres {
    server_url: String,
    name: String,
}

impl ScratchPostgres {
    fn create(server_url: &str, size: usize) -> anyhow::Result<(ScratchPostgres, String)> {
        let name = format!("placemat_soak_{size}_{}", std::process::id());
        let mut admin = PgConnection::establish(&format!("{server_url}/postgres"))?;
        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name}")).execute(&mut admin)?;
        diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin)?;
        let url = format!("{server_url}/{name}");
        Ok((
            ScratchPostgres {
                server_url: server_url.to_owned(),
                name,
            },
            url,
        ))
    }
}

impl Drop for ScratchPostgres {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&format!("{}/postgres", self.server_url)) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin);
        }
    }
}

fn report(backend: &str, sizes: &[usize], results: &[Vec<Step>]) {
    println!("\n== {backend}");
    for (size, steps) in sizes.iter().zip(results) {
        let scaled = Size::times(*size);
        println!(
            "\n{size} alliance(s): {} students, {} bases",
            scaled.students, scaled.bases
        );
        println!(
            "{:<16} {:>10} {:>14}  detail",
            "step", "time ms", "peak RSS MiB"
        );
        for step in steps {
            println!(
                "{:<16} {:>10.0} {:>14.0}  {}",
                step.name,
                ms(step.wall),
                step.peak_mib,
                step.detail
            );
        }
    }
    for (pair, steps) in sizes.windows(2).zip(results.windows(2)) {
        let (small, large) = (&steps[0], &steps[1]);
        let data = pair[1] as f64 / pair[0] as f64;
        println!(
            "\n{} ÷ {} alliance(s) (the data grew {data:.1}×; \"per data\" divides by that):",
            pair[1], pair[0]
        );
        for (a, b) in small.iter().zip(large) {
            let time = b.wall.as_secs_f64() / a.wall.as_secs_f64().max(1e-9);
            println!(
                "{:<16} time {:>5.1}× ({:>4.2} per data)   peak RSS {:>4.1}×",
                a.name,
                time,
                time / data,
                b.peak_mib / a.peak_mib.max(1e-9)
            );
        }
    }
}

fn main() -> anyhow::Result<()> {
    if std::env::var_os(SERVE_VAR).is_some() {
        return serve();
    }
    let sizes: Vec<usize> = option("--sizes")
        .unwrap_or_else(|| "1,10".into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .filter(|&n| n > 0)
        .collect();
    anyhow::ensure!(!sizes.is_empty(), "--sizes takes sizes such as 1,10");
    let clients: usize = option("--clients")
        .and_then(|n| n.parse().ok())
        .unwrap_or(200);
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let mut results = Vec::new();
        for &size in &sizes {
            let folder = tempfile::tempdir()?;
            let url = format!("sqlite://{}", folder.path().join("soak.db").display());
            results.push(soak(&url, Size::times(size), clients).await?);
        }
        report("SQLite", &sizes, &results);
        if let Ok(server_url) = std::env::var("PLACEMAT_BENCH_POSTGRES_URL") {
            let mut results = Vec::new();
            for &size in &sizes {
                let (_scratch, url) = ScratchPostgres::create(&server_url, size)?;
                results.push(soak(&url, Size::times(size), clients).await?);
            }
            report("PostgreSQL", &sizes, &results);
        }
        anyhow::Ok(())
    })
}
