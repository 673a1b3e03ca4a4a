//! A match anyone can check: the alliance downloads a run's bundle, anyone verifies it
//! with `placemat verify`, a student finds itself in it through its receipt.

use crate::helpers::*;
use crate::matching::{run_match, small_cycle};
use placemat::domain::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::process::Command;

async fn bundle(app: &TestApp, run: &Value) -> Value {
    expect_json(
        app.get(
            &format!("/api/v1/match-runs/{}/bundle", id(run)),
            &app.admin,
        )
        .await,
        StatusCode::OK,
    )
    .await
}

/// Runs `placemat verify --bundle` on the text; answers whether it verified and what it
/// printed.
fn verify(text: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bundle.json");
    std::fs::write(&path, text).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_placemat"))
        .args(["verify", "--bundle"])
        .arg(&path)
        .output()
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success() || output.status.code() == Some(1),
        "{printed}"
    );
    (output.status.success(), printed)
}

#[tokio::test]
async fn the_bundles_of_real_runs_verify_and_every_tampering_is_named() {
    let app = spawn_app().await;
    let setup = small_cycle(&app).await;
    let first = run_match(&app, &setup.cycle, 1).await;
    let second = run_match(&app, &setup.cycle, 2).await;
    app.publish(&second).await;

    let published = bundle(&app, &second).await;
    assert_eq!(published["format"], "placemat-run-bundle/1");
    assert_eq!(published["run"]["seed"], 2);
    // Every run of the cycle is in the log, the published one marked.
    let log = published["runs"].as_array().unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0]["id"], first["id"]);
    assert_eq!(log[1]["published"], true);
    assert_eq!(log[0]["published"], false);
    // Students appear under pseudonyms only: no name, number or email.
    let text = published.to_string();
    for (key, (student, _)) in &setup.students {
        assert!(!text.contains(student["name"].as_str().unwrap()), "{key}");
        assert!(!text.contains(student["email"].as_str().unwrap()), "{key}");
        assert!(!text.contains(id(student)), "{key}");
    }
    let pseudonyms: Vec<&str> = published["instance"]["students"]
        .as_array()
        .unwrap()
        .iter()
        .map(|student| student["id"].as_str().unwrap())
        .collect();
    assert_eq!(pseudonyms.len(), 5);
    for pseudonym in &pseudonyms {
        assert!(
            pseudonym.len() == 18
                && pseudonym.starts_with("s-")
                && pseudonym[2..].chars().all(|c| c.is_ascii_hexdigit()),
            "{pseudonym}"
        );
    }
    // The same pseudonyms in every run of the cycle.
    let earlier = bundle(&app, &first).await;
    assert_eq!(
        earlier["instance"]["students"]
            .as_array()
            .unwrap()
            .iter()
            .map(|student| student["id"].as_str().unwrap())
            .collect::<Vec<_>>(),
        pseudonyms
    );

    let (verified, printed) = verify(&text);
    assert!(verified, "{printed}");
    assert!(printed.starts_with("verified"), "{printed}");
    let (verified, printed) = verify(&earlier.to_string());
    assert!(verified, "{printed}");

    // An assignment moved: s3 (unmatched) put at base A, which is full with s1.
    let mut moved = published.clone();
    let unmatched = published["result"]["assignments"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, base)| base.is_null())
        .map(|(student, _)| student.clone())
        .unwrap();
    let base_a = id(&setup.bases["A"]);
    moved["result"]["assignments"][&unmatched] = json!(base_a);
    let (verified, printed) = verify(&moved.to_string());
    assert!(!verified);
    assert!(printed.contains(base_a), "{printed}");

    // A capacity raised: base A gets a second seat.
    let mut raised = published.clone();
    for base in raised["instance"]["bases"].as_array_mut().unwrap() {
        if base["id"] == json!(base_a) {
            base["capacity"] = json!(2);
        }
    }
    let (verified, printed) = verify(&raised.to_string());
    assert!(!verified);
    assert!(printed.contains(base_a), "{printed}");

    // A list reordered: base B's ranking (its coordinator's) turned around.
    let mut reordered = published.clone();
    for base in reordered["instance"]["bases"].as_array_mut().unwrap() {
        if base["id"] == json!(id(&setup.bases["B"])) {
            base["ranking"].as_array_mut().unwrap().reverse();
        }
    }
    let (verified, printed) = verify(&reordered.to_string());
    assert!(!verified);
    assert!(printed.contains("not verified"), "{printed}");

    // A digest edited.
    let mut edited = published.clone();
    edited["digests"]["result_sha256"] = json!("0".repeat(64));
    let (verified, printed) = verify(&edited.to_string());
    assert!(!verified);
    assert!(printed.contains("result digest"), "{printed}");

    // A seed changed.
    let mut reseeded = published.clone();
    reseeded["run"]["seed"] = json!(3);
    let (verified, printed) = verify(&reseeded.to_string());
    assert!(!verified);
    assert!(printed.contains("seed"), "{printed}");

    // Truncated, not JSON, not a bundle: each named, never a panic.
    for (broken, named) in [
        (&text[..text.len() / 2], "ends early"),
        ("<html>", "not JSON"),
        (
            "{\"students\": [], \"bases\": []}",
            "not a placemat-run-bundle/1",
        ),
    ] {
        let (verified, printed) = verify(broken);
        assert!(!verified);
        assert!(printed.contains(named), "{printed}");
        assert!(!printed.contains("panicked"), "{printed}");
    }
}

#[tokio::test]
async fn a_student_checks_its_outcome_with_its_receipt() {
    let app = spawn_app().await;
    let setup = small_cycle(&app).await;
    let run = run_match(&app, &setup.cycle, 5).await;
    let receipt_path = format!(
        "/api/v1/cycles/{}/applications/me/receipt",
        id(&setup.cycle)
    );
    let cutoffs_path = format!("/api/v1/cycles/{}/cutoffs", id(&setup.cycle));
    let s2 = &setup.students["s2"].1;
    let problem = expect_problem(app.get(&receipt_path, s2).await, StatusCode::CONFLICT).await;
    assert_eq!(problem_type(&problem), "not-published");
    expect_problem(app.get(&cutoffs_path, s2).await, StatusCode::CONFLICT).await;
    app.publish(&run).await;

    let receipt = expect_json(app.get(&receipt_path, s2).await, StatusCode::OK).await;
    let published = bundle(&app, &run).await;
    assert_eq!(
        receipt["instance_sha256"],
        published["digests"]["instance_sha256"]
    );
    assert_eq!(
        receipt["result_sha256"],
        published["digests"]["result_sha256"]
    );
    // s2 listed A then C and is at C (A took s1, ranked above it).
    let pseudonym = receipt["pseudonym"].as_str().unwrap();
    assert_eq!(
        published["result"]["assignments"][pseudonym],
        json!(id(&setup.bases["C"]))
    );
    let bases = receipt["bases"].as_array().unwrap();
    assert_eq!(bases.len(), 2);
    assert_eq!(bases[0]["base_id"], setup.bases["A"]["id"]);
    // In the bundle, the student stands where the receipt says at each base.
    for entry in bases {
        let base = published["instance"]["bases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|base| base["id"] == entry["base_id"])
            .unwrap();
        let position = base["ranking"]
            .as_array()
            .unwrap()
            .iter()
            .position(|student| student == pseudonym)
            .unwrap()
            + 1;
        assert_eq!(entry["position"], position);
    }
    assert_eq!(bases[0]["position"], 2);
    assert_eq!(bases[0]["last_admitted_position"], 1);

    let cutoffs = expect_json(app.get(&cutoffs_path, s2).await, StatusCode::OK).await;
    let a = cutoffs
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["base_id"] == setup.bases["A"]["id"])
        .unwrap();
    assert_eq!(a["seats"], 1);
    assert_eq!(a["applicants"], 4);
    assert_eq!(a["filled"], 1);
    assert_eq!(a["last_admitted_position"], 1);
    // A coordinator sees the cutoffs too; only students have receipts; signed out, nothing.
    expect_json(
        app.get(&cutoffs_path, &setup.coordinators["A"]).await,
        StatusCode::OK,
    )
    .await;
    expect_problem(
        app.get(&receipt_path, &setup.coordinators["A"]).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    for path in [&receipt_path, &cutoffs_path] {
        let response = app
            .request(reqwest::Method::GET, path, None)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
}

#[tokio::test]
async fn equity_shows_small_groups_as_suppressed_and_officers_only_their_own() {
    let app = spawn_app().await;
    let setup = small_cycle(&app).await;
    app.create_university("TJU").await;
    let other_officer = app.staff(Role::UniversityAdmin, Some("TJU"), None).await;
    let run = run_match(&app, &setup.cycle, 1).await;
    let path = format!("/api/v1/match-runs/{}/equity", id(&run));

    let all = expect_json(app.get(&path, &app.admin).await, StatusCode::OK).await;
    let usst = &all["by_university"][0];
    assert_eq!(usst["code"], "USST");
    assert_eq!(usst["applicants"], 5);
    // 3 of 5 matched: under 5, so not shown.
    assert_eq!(usst["matched"], Value::Null);
    assert_eq!(usst["mean_rank"], Value::Null);
    assert_eq!(usst["suppressed"], true);
    assert_eq!(all["by_program"][0]["code"], "0854");

    let own = expect_json(app.get(&path, &setup.officer).await, StatusCode::OK).await;
    assert_eq!(own["by_university"].as_array().unwrap().len(), 1);
    let foreign = expect_json(app.get(&path, &other_officer).await, StatusCode::OK).await;
    assert_eq!(foreign["by_university"], json!([]));
    assert_eq!(foreign["by_program"], json!([]));

    for token in [&setup.students["s1"].1, &setup.coordinators["A"]] {
        expect_problem(app.get(&path, token).await, StatusCode::FORBIDDEN).await;
    }
    for token in [
        &setup.officer,
        &other_officer,
        &setup.students["s1"].1,
        &setup.coordinators["A"],
    ] {
        expect_problem(
            app.get(&format!("/api/v1/match-runs/{}/bundle", id(&run)), token)
                .await,
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    for path in [
        path.clone(),
        format!("/api/v1/match-runs/{}/bundle", id(&run)),
    ] {
        let response = app
            .request(reqwest::Method::GET, &path, None)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    expect_problem(
        app.get(
            "/api/v1/match-runs/6f1c1f5e-0000-4000-8000-000000000000/bundle",
            &app.admin,
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn a_run_whose_inputs_changed_has_no_bundle_but_stays_in_the_log() {
    let app = spawn_app().await;
    let setup = small_cycle(&app).await;
    let stale = run_match(&app, &setup.cycle, 1).await;
    app.set_seats(&setup.cycle, &setup.bases["A"], 2).await;
    let fresh = run_match(&app, &setup.cycle, 1).await;
    let problem = expect_problem(
        app.get(
            &format!("/api/v1/match-runs/{}/bundle", id(&stale)),
            &app.admin,
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(problem_type(&problem), "run-stale");
    let current = bundle(&app, &fresh).await;
    let log = current["runs"].as_array().unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0]["id"], stale["id"]);
    assert!(log[0]["instance_sha256"]
        .as_str()
        .is_some_and(|d| d.len() == 64));
    let (verified, printed) = verify(&current.to_string());
    assert!(verified, "{printed}");
}
