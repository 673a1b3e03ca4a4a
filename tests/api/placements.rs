//! After publication: bases confirm, decline and complete; students withdraw.

use crate::helpers::*;
use crate::matching::{run_match, small_cycle, Cycle};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn published(app: &TestApp) -> Cycle {
    let setup = small_cycle(app).await;
    let run = run_match(app, &setup.cycle, 1).await;
    app.publish(&run).await;
    setup
}

async fn placement_of(app: &TestApp, student_token: &str) -> Value {
    let page = expect_json(
        app.get("/api/v1/placements", student_token).await,
        StatusCode::OK,
    )
    .await;
    page["items"][0].clone()
}

fn action(placement: &Value, verb: &str) -> String {
    format!("/api/v1/placements/{}/{verb}", id(placement))
}

async fn free_seats(app: &TestApp, setup: &Cycle, base: &str) -> i64 {
    let path = format!(
        "/api/v1/cycles/{}/seats?base={}",
        id(&setup.cycle),
        id(&setup.bases[base])
    );
    let page = expect_json(app.get(&path, &app.admin).await, StatusCode::OK).await;
    page["items"][0]["free"].as_i64().expect("free seats")
}

#[tokio::test]
async fn a_base_confirms_an_offer_and_later_completes_it_with_a_full_history() {
    let app = spawn_app().await;
    let setup = published(&app).await;
    let offer = placement_of(&app, &setup.students["s1"].1).await;
    assert_eq!(offer["status"], "offered");
    let confirmed = expect_json(
        app.post(
            &action(&offer, "confirm"),
            &setup.coordinators["A"],
            json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(confirmed["status"], "confirmed");
    let problem = expect_problem(
        app.post(
            &action(&offer, "confirm"),
            &setup.coordinators["A"],
            json!({}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(problem_type(&problem), "placement-state");
    assert!(problem["detail"]
        .as_str()
        .unwrap_or("")
        .contains("confirmed"));
    let problem = expect_problem(
        app.post(
            &action(&offer, "decline"),
            &setup.coordinators["A"],
            json!({"reason": "late"}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(problem_type(&problem), "placement-state");
    let completed = expect_json(
        app.post(
            &action(&offer, "complete"),
            &setup.coordinators["A"],
            json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(completed["status"], "completed");
    let problem = expect_problem(
        app.post(
            &action(&offer, "withdraw"),
            &setup.students["s1"].1,
            json!({}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(problem_type(&problem), "placement-state");

    let detail = expect_json(
        app.get(
            &format!("/api/v1/placements/{}", id(&offer)),
            &setup.students["s1"].1,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let history = detail["history"].as_array().expect("a history");
    let moves: Vec<(Value, Value)> = history
        .iter()
        .map(|h| (h["from"].clone(), h["to"].clone()))
        .collect();
    assert_eq!(
        moves,
        vec![
            (Value::Null, json!("offered")),
            (json!("offered"), json!("confirmed")),
            (json!("confirmed"), json!("completed")),
        ]
    );
    assert_eq!(history[0]["actor"], "admin@alliance.test");
    assert!(history[1]["actor"]
        .as_str()
        .unwrap_or("")
        .starts_with("base_coordinator-"));
    assert_eq!(
        free_seats(&app, &setup, "A").await,
        0,
        "a completed internship keeps its seat"
    );
}

#[tokio::test]
async fn a_decline_needs_a_reason_and_frees_the_seat() {
    let app = spawn_app().await;
    let setup = published(&app).await;
    let offer = placement_of(&app, &setup.students["s2"].1).await;
    assert_eq!(offer["base_id"], setup.bases["C"]["id"]);
    assert_eq!(free_seats(&app, &setup, "C").await, 1);
    let problem = expect_problem(
        app.post(
            &action(&offer, "decline"),
            &setup.coordinators["C"],
            json!({"reason": "  "}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields_at_fault(&problem), vec!["reason"]);
    let missing = app
        .request(
            Method::POST,
            &action(&offer, "decline"),
            Some(&setup.coordinators["C"]),
        )
        .send()
        .await
        .expect("sent");
    expect_problem(missing, StatusCode::BAD_REQUEST).await;
    let declined = expect_json(
        app.post(
            &action(&offer, "decline"),
            &setup.coordinators["C"],
            json!({"reason": "学生专业方向不符"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(declined["status"], "declined");
    assert_eq!(declined["decline_reason"], "学生专业方向不符");
    assert_eq!(declined["history"][1]["reason"], "学生专业方向不符");
    assert_eq!(free_seats(&app, &setup, "C").await, 2);
}

#[tokio::test]
async fn a_student_withdraws_from_a_confirmed_placement_and_the_seat_opens() {
    let app = spawn_app().await;
    let setup = published(&app).await;
    let offer = placement_of(&app, &setup.students["s4"].1).await;
    expect_json(
        app.post(
            &action(&offer, "confirm"),
            &setup.coordinators["B"],
            json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(free_seats(&app, &setup, "B").await, 0);
    expect_problem(
        app.post(
            &action(&offer, "withdraw"),
            &setup.students["s1"].1,
            json!({}),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let withdrawn = expect_json(
        app.post(
            &action(&offer, "withdraw"),
            &setup.students["s4"].1,
            json!({"reason": "family move"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(withdrawn["status"], "withdrawn");
    assert_eq!(free_seats(&app, &setup, "B").await, 1);
    let plain = app
        .request(
            Method::POST,
            &action(&offer, "withdraw"),
            Some(&setup.students["s4"].1),
        )
        .send()
        .await
        .expect("sent");
    let problem = expect_problem(plain, StatusCode::CONFLICT).await;
    assert_eq!(problem_type(&problem), "placement-state");
}

#[tokio::test]
async fn nobody_acts_on_a_placement_outside_their_scope() {
    let app = spawn_app().await;
    let setup = published(&app).await;
    let offer = placement_of(&app, &setup.students["s1"].1).await;
    let detail = format!("/api/v1/placements/{}", id(&offer));
    for verb in ["confirm", "complete"] {
        expect_problem(
            app.post(&action(&offer, verb), &setup.coordinators["B"], json!({}))
                .await,
            StatusCode::NOT_FOUND,
        )
        .await;
        expect_problem(
            app.post(&action(&offer, verb), &app.admin, json!({})).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        expect_problem(
            app.post(&action(&offer, verb), &setup.officer, json!({}))
                .await,
            StatusCode::FORBIDDEN,
        )
        .await;
        expect_problem(
            app.post(&action(&offer, verb), &setup.students["s1"].1, json!({}))
                .await,
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    expect_problem(
        app.post(
            &action(&offer, "withdraw"),
            &setup.coordinators["A"],
            json!({}),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    expect_problem(
        app.get(&detail, &setup.coordinators["B"]).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    expect_problem(
        app.get(&detail, &setup.students["s2"].1).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    app.create_university("UJS").await;
    let other_officer = app
        .staff(placemat::domain::Role::UniversityAdmin, Some("UJS"), None)
        .await;
    expect_problem(
        app.get(&detail, &other_officer).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let seen = expect_json(
        app.get("/api/v1/placements", &other_officer).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(seen["total"], 0);
    let at_b = expect_json(
        app.get("/api/v1/placements", &setup.coordinators["B"])
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(at_b["total"], 1);
    let officer = expect_json(
        app.get("/api/v1/placements", &setup.officer).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(officer["total"], 3);
    expect_json(app.get(&detail, &setup.officer).await, StatusCode::OK).await;
    expect_problem(
        app.get("/api/v1/placements?status=lost", &app.admin).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    let still = expect_json(app.get(&detail, &app.admin).await, StatusCode::OK).await;
    assert_eq!(still["status"], "offered", "refusals changed nothing");
}
