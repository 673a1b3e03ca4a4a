//! Service benchmarks over the demo alliance (6,000 students, 300 bases):
//!
//! 1. the application deadline burst: every demo student resubmits its list, from 200
//!    concurrent clients spread over the instances (one by default, `--instances 2` for
//!    two stateless instances on the one database); latency percentiles and errors;
//! 2. a full match run through the API (read from the database, match, store), repeated;
//!    then its publication.
//!
//!     cargo run --release --example bench_service [-- --runs 5 --clients 200 --instances 1]
//!
//! SQLite in a temporary folder by default; `PLACEMAT_BENCH_EMPTY_DATABASE_URL=postgres://…/db`
//! runs it on an empty PostgreSQL database instead.

mod common;

use common::{ms, percentile};
use placemat::config::Config;
use placemat::domain::StudentId;
use placemat::startup::Application;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Instant;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let runs = arg("--runs", 5);
    let clients = arg("--clients", 200);
    let instances = arg("--instances", 1).max(1);
    let workdir = tempfile::tempdir()?;
    let database_url = std::env::var("PLACEMAT_BENCH_EMPTY_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", workdir.path().join("bench.db").display()));
    let config = Config {
        database_url: database_url.clone(),
        bind: "127.0.0.1:0".into(),
        mail_dir: workdir.path().join("mail"),
        ..Config::default()
    };
    let app = Application::build(config.clone()).await?;
    let db = app.database().clone();
    let address = format!("http://127.0.0.1:{}", app.port());
    let mut addresses = vec![address.clone()];
    tokio::spawn(app.run_until_stopped());
    for _ in 1..instances {
        let other = Application::build(config.clone()).await?;
        addresses.push(format!("http://127.0.0.1:{}", other.port()));
        tokio::spawn(other.run_until_stopped());
    }
    let seeding = Instant::now();
    let seed_db = db.clone();
    tokio::task::spawn_blocking(move || placemat::seed::demo(&seed_db)).await??;
    println!(
        "database: {}",
        if database_url.starts_with("postgres") {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );
    println!(
        "demo data loaded in {:.2} s",
        seeding.elapsed().as_secs_f64()
    );

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()?;
    let login: Value = client
        .post(format!("{address}/api/v1/auth/login"))
        .json(&json!({"email": placemat::seed::DEMO_ADMIN_EMAIL, "password": placemat::seed::DEMO_PASSWORD}))
        .send()
        .await?
        .json()
        .await?;
    let admin = login["token"].as_str().unwrap_or_default().to_owned();
    let cycles: Value = client
        .get(format!("{address}/api/v1/cycles"))
        .bearer_auth(&admin)
        .send()
        .await?
        .json()
        .await?;
    let cycle = cycles["items"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    // The students' current lists, to submit again.
    let mut lists: Vec<(StudentId, Value)> = Vec::new();
    for offset in (0..6000).step_by(1000) {
        let page: Value = client
            .get(format!(
                "{address}/api/v1/cycles/{cycle}/applications?limit=1000&offset={offset}"
            ))
            .bearer_auth(&admin)
            .send()
            .await?
            .json()
            .await?;
        for item in page["items"].as_array().cloned().unwrap_or_default() {
            let student: StudentId = item["student_id"].as_str().unwrap_or_default().parse()?;
            lists.push((student, item["preferences"].clone()));
        }
    }
    let token_db = db.clone();
    let tokens: HashMap<StudentId, String> =
        tokio::task::spawn_blocking(move || common::for_students(&mut token_db.writer()?, 1))
            .await??;

    println!(
        "\n== application deadline burst: {} submissions from {clients} concurrent clients, {instances} instance(s)",
        lists.len()
    );
    let started = Instant::now();
    let per_client = lists.len().div_ceil(clients);
    let mut handles = Vec::new();
    for (number, chunk) in lists.chunks(per_client).enumerate() {
        let chunk: Vec<(String, Value)> = chunk
            .iter()
            .filter_map(|(student, list)| tokens.get(student).map(|t| (t.clone(), list.clone())))
            .collect();
        let client = client.clone();
        let url = format!(
            "{}/api/v1/cycles/{cycle}/applications/me",
            addresses[number % addresses.len()]
        );
        handles.push(tokio::spawn(async move {
            let mut outcomes = Vec::with_capacity(chunk.len());
            for (token, list) in chunk {
                let sent = Instant::now();
                let status = client
                    .put(&url)
                    .bearer_auth(token)
                    .json(&json!({"preferences": list}))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0);
                outcomes.push((status, sent.elapsed()));
            }
            outcomes
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for handle in handles {
        for (status, latency) in handle.await? {
            if status != 200 {
                errors += 1;
            }
            latencies.push(latency);
        }
    }
    let wall = started.elapsed();
    latencies.sort();
    println!(
        "requests {}  errors {errors}  wall {:.2} s  throughput {:.0}/s",
        latencies.len(),
        wall.as_secs_f64(),
        latencies.len() as f64 / wall.as_secs_f64()
    );
    println!(
        "latency ms: p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}",
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.9)),
        ms(percentile(&latencies, 0.99)),
        ms(percentile(&latencies, 1.0))
    );

    println!("\n== match run over the demo cycle through the API, {runs} runs");
    let mut walls = Vec::new();
    let mut last_run = String::new();
    for seed in 0..runs {
        let sent = Instant::now();
        let run: Value = client
            .post(format!("{address}/api/v1/cycles/{cycle}/match-runs"))
            .bearer_auth(&admin)
            .json(&json!({"seed": seed}))
            .send()
            .await?
            .json()
            .await?;
        let wall = sent.elapsed();
        walls.push(wall);
        println!(
            "run {seed}: {:.0} ms end to end (load {:.1} ms, engine {:.1} ms, store {:.1} ms); matched {} of {}",
            ms(wall),
            run["timings"]["load_ms"].as_f64().unwrap_or(0.0),
            run["timings"]["engine_ms"].as_f64().unwrap_or(0.0),
            run["timings"]["store_ms"].as_f64().unwrap_or(0.0),
            run["stats"]["matched"],
            run["stats"]["applicants"]
        );
        last_run = run["id"].as_str().unwrap_or_default().to_owned();
    }
    walls.sort();
    println!(
        "median {:.0} ms, min {:.0} ms",
        ms(percentile(&walls, 0.5)),
        ms(walls[0])
    );
    let sent = Instant::now();
    let published = client
        .post(format!("{address}/api/v1/match-runs/{last_run}/publish"))
        .bearer_auth(&admin)
        .send()
        .await?;
    println!(
        "publish: HTTP {} in {:.0} ms",
        published.status().as_u16(),
        ms(sent.elapsed())
    );
    Ok(())
}
