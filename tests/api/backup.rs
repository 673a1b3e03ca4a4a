//! An operator backs up the SQLite database while people write to it, and restores it.

use crate::helpers::*;
use placemat::config::Config;
use placemat::startup::Application;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn placemat(database_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_placemat"))
        .args(args)
        .env("PLACEMAT_DATABASE_URL", database_url)
        .env_remove("PLACEMAT_FILES_URL")
        .output()
        .expect("placemat runs")
}

fn path_text(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

#[tokio::test]
async fn a_backup_taken_while_fifty_clients_write_holds_every_write_acknowledged_before_it() {
    let app = spawn_app().await;
    if postgres_server().is_some() {
        let output = placemat(
            &app.config.database_url,
            &["backup", "--output", "/tmp/x.dump"],
        );
        assert_eq!(output.status.code(), Some(2), "PostgreSQL: exit 2");
        let said = String::from_utf8_lossy(&output.stderr);
        assert!(said.contains("pg_dump"), "names pg_dump: {said}");
        return;
    }
    // A stored document beside the database, as the documents folder will hold.
    let database = Path::new(app.config.database_url.trim_start_matches("sqlite://")).to_owned();
    let documents = database.parent().expect("a folder").join("files");
    std::fs::create_dir_all(documents.join("ab")).expect("a documents folder");
    std::fs::write(
        documents.join("ab").join("document.pdf"),
        b"%PDF-1.7 a document",
    )
    .expect("a document");

    let writing = Arc::new(AtomicBool::new(true));
    let clients: Vec<_> = (0..50)
        .map(|client| {
            let (http, url, admin, writing) = (
                app.client.clone(),
                app.url("/api/v1/universities"),
                app.admin.clone(),
                Arc::clone(&writing),
            );
            tokio::spawn(async move {
                let mut acknowledged = Vec::new();
                let mut n = 0;
                while writing.load(Ordering::Relaxed) {
                    let code = format!("C{client}-{n}");
                    n += 1;
                    let answer = http
                        .post(&url)
                        .bearer_auth(&admin)
                        .json(&json!({"code": code, "name": format!("University {code}")}))
                        .send()
                        .await
                        .expect("sent");
                    if answer.status() == StatusCode::CREATED {
                        acknowledged.push((code, Instant::now()));
                    }
                }
                acknowledged
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let folder = tempfile::tempdir().expect("a folder for backups");
    let copy = folder.path().join("placemat-backup.db");
    let started = Instant::now();
    let url = app.config.database_url.clone();
    let target = copy.clone();
    let output = tokio::task::spawn_blocking(move || {
        placemat(&url, &["backup", "--output", path_text(&target)])
    })
    .await
    .expect("joins");
    assert!(
        output.status.success(),
        "the backup is made: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    writing.store(false, Ordering::Relaxed);
    let mut before = HashSet::new();
    let mut total = 0;
    for client in clients {
        for (code, at) in client.await.expect("a client") {
            total += 1;
            if at < started {
                before.insert(code);
            }
        }
    }
    assert!(
        before.len() >= 50,
        "writes acknowledged before the backup: {}",
        before.len()
    );
    assert!(total > before.len(), "writes went on during the backup");
    assert!(copy
        .with_extension("db.files")
        .join("ab")
        .join("document.pdf")
        .is_file());

    // Never an overwrite, and never a restore under a running server.
    let again = placemat(
        &app.config.database_url,
        &["backup", "--output", path_text(&copy)],
    );
    assert!(
        !again.status.success(),
        "an existing backup is not overwritten"
    );
    let under = placemat(
        &app.config.database_url,
        &["restore", "--input", path_text(&copy)],
    );
    assert!(!under.status.success(), "no restore while a server runs");
    assert!(
        String::from_utf8_lossy(&under.stderr).contains("server is running"),
        "{}",
        String::from_utf8_lossy(&under.stderr)
    );

    // Restored into a new folder and served, every acknowledged write is there.
    let elsewhere = tempfile::tempdir().expect("a new folder");
    let restored_url = format!(
        "sqlite://{}",
        elsewhere.path().join("placemat.db").display()
    );
    let restored = placemat(&restored_url, &["restore", "--input", path_text(&copy)]);
    assert!(
        restored.status.success(),
        "restored: {}",
        String::from_utf8_lossy(&restored.stderr)
    );
    assert!(elsewhere
        .path()
        .join("files")
        .join("ab")
        .join("document.pdf")
        .is_file());
    let served = Application::build(Config {
        database_url: restored_url,
        bind: "127.0.0.1:0".into(),
        mail_dir: elsewhere.path().join("mail"),
        workers: 1,
        pool_size: 4,
        ..Config::default()
    })
    .await
    .expect("the restored database serves");
    let address = format!("http://127.0.0.1:{}", served.port());
    let _instance = Instance::start(served);
    let http = reqwest::Client::new();
    let token = expect_json(
        http.post(format!("{address}/api/v1/auth/login"))
            .json(&json!({"email": "admin@alliance.test", "password": PASSWORD}))
            .send()
            .await
            .expect("sent"),
        StatusCode::OK,
    )
    .await["token"]
        .as_str()
        .expect("a token")
        .to_owned();
    let mut present = HashSet::new();
    let mut offset = 0;
    loop {
        let page: Value = expect_json(
            http.get(format!(
                "{address}/api/v1/universities?limit=1000&offset={offset}"
            ))
            .bearer_auth(&token)
            .send()
            .await
            .expect("sent"),
            StatusCode::OK,
        )
        .await;
        let items = page["items"].as_array().expect("items");
        present.extend(
            items
                .iter()
                .map(|u| u["code"].as_str().expect("a code").to_owned()),
        );
        offset += items.len();
        if items.is_empty() || offset as u64 >= page["total"].as_u64().expect("a total") {
            break;
        }
    }
    let missing: Vec<_> = before.difference(&present).collect();
    assert!(
        missing.is_empty(),
        "acknowledged before the backup, missing: {missing:?}"
    );

    // Restoring again keeps the database it replaces beside it.
    drop(_instance);
    let twice = placemat(
        &format!(
            "sqlite://{}",
            elsewhere.path().join("placemat.db").display()
        ),
        &["restore", "--input", path_text(&copy)],
    );
    assert!(
        twice.status.success(),
        "{}",
        String::from_utf8_lossy(&twice.stderr)
    );
    let kept = std::fs::read_dir(elsewhere.path())
        .expect("listed")
        .filter_map(Result::ok)
        .any(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .starts_with("placemat.db.before-restore-")
        });
    assert!(kept, "the old database is kept");
}
