//! The second round: unplaced students apply directly, coordinators accept while seats last.

use crate::helpers::*;
use crate::matching::{run_match, small_cycle};
use placemat::domain::Role;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn an_unmatched_student_applies_directly_and_gets_an_offer() {
    let app = spawn_app().await;
    let setup = small_cycle(&app).await;
    let direct = format!("/api/v1/cycles/{}/direct-applications", id(&setup.cycle));
    let s3 = &setup.students["s3"].1;
    let problem = expect_problem(
        app.post(&direct, s3, json!({"base_id": setup.bases["C"]["id"]}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(problem_type(&problem), "second-round-not-open");

    let run = run_match(&app, &setup.cycle, 1).await;
    app.publish(&run).await;
    let problem = expect_problem(
        app.post(&direct, s3, json!({"base_id": setup.bases["A"]["id"]}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields_at_fault(&problem), vec!["base_id"]);
    let problem = expect_problem(
        app.post(
            &direct,
            &setup.students["s1"].1,
            json!({"base_id": setup.bases["C"]["id"]}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(problem_type(&problem), "already-placed");
    for token in [&app.admin, &setup.officer, &setup.coordinators["C"]] {
        expect_problem(
            app.post(&direct, token, json!({"base_id": setup.bases["C"]["id"]}))
                .await,
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    let application = expect_json(
        app.post(&direct, s3, json!({"base_id": setup.bases["C"]["id"]}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(application["status"], "pending");
    let problem = expect_problem(
        app.post(&direct, s3, json!({"base_id": setup.bases["C"]["id"]}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(problem_type(&problem), "duplicate-direct-application");
    let pending = expect_json(
        app.get(
            &format!("{direct}?status=pending"),
            &setup.coordinators["C"],
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(pending["total"], 1);
    expect_problem(
        app.get(&format!("{direct}?status=lost"), &setup.coordinators["C"])
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    let elsewhere = expect_json(
        app.get(&direct, &setup.coordinators["A"]).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(elsewhere["total"], 0);

    let accept = format!("/api/v1/direct-applications/{}/accept", id(&application));
    for token in [&setup.coordinators["A"]] {
        expect_problem(
            app.post(&accept, token, json!({})).await,
            StatusCode::NOT_FOUND,
        )
        .await;
    }
    for token in [&app.admin, s3] {
        expect_problem(
            app.post(&accept, token, json!({})).await,
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    let accepted = expect_json(
        app.post(&accept, &setup.coordinators["C"], json!({})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(accepted["status"], "accepted");
    let problem = expect_problem(
        app.put(
            &format!(
                "/api/v1/cycles/{}/seats/{}",
                id(&setup.cycle),
                id(&setup.bases["C"])
            ),
            &app.admin,
            json!({"seats": 0}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(problem_type(&problem), "seats-below-taken");
    let offer = expect_json(
        app.get(
            &format!(
                "/api/v1/placements/{}",
                accepted["placement_id"].as_str().expect("an offer")
            ),
            s3,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(offer["status"], "offered");
    assert_eq!(offer["source"], "second_round");
    let problem = expect_problem(
        app.post(&accept, &setup.coordinators["C"], json!({})).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(problem_type(&problem), "direct-application-decided");

    let s5 = &setup.students["s5"].1;
    let full = expect_problem(
        app.post(&direct, s5, json!({"base_id": setup.bases["C"]["id"]}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(full["detail"].as_str().unwrap_or("").contains("free seat"));
}

#[tokio::test]
async fn a_coordinator_rejects_a_direct_application() {
    let app = spawn_app().await;
    let setup = small_cycle(&app).await;
    let run = run_match(&app, &setup.cycle, 1).await;
    app.publish(&run).await;
    let direct = format!("/api/v1/cycles/{}/direct-applications", id(&setup.cycle));
    let application = expect_json(
        app.post(
            &direct,
            &setup.students["s5"].1,
            json!({"base_id": setup.bases["C"]["id"]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let reject = format!("/api/v1/direct-applications/{}/reject", id(&application));
    expect_problem(
        app.post(&reject, &setup.coordinators["B"], json!({})).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let rejected = expect_json(
        app.post(
            &reject,
            &setup.coordinators["C"],
            json!({"reason": "no project fits"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["reason"], "no project fits");
    let problem = expect_problem(
        app.post(
            &format!("/api/v1/direct-applications/{}/accept", id(&application)),
            &setup.coordinators["C"],
            json!({}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(problem_type(&problem), "direct-application-decided");
}

/// A cycle published with no applications, one base with `seats`, and `students` students
/// who each applied to it directly; answers the coordinator and the application ids.
async fn crowded_base(app: &TestApp, seats: i64, students: usize) -> (String, Vec<String>) {
    let usst = app.create_university("USST").await;
    app.create_program("0854").await;
    let base = app
        .create_base("Popular", "Hangzhou", &usst, &["0854"])
        .await;
    let cycle = app.create_open_cycle("2027 summer", 3).await;
    app.set_seats(&cycle, &base, seats).await;
    let run = run_match(app, &cycle, 1).await;
    app.publish(&run).await;
    app.import_students(&usst, "c", students).await;
    let direct = format!("/api/v1/cycles/{}/direct-applications", id(&cycle));
    let mut applications = Vec::new();
    for n in 0..students {
        let token = app.login(&format!("c{n}@students.test"), PASSWORD).await;
        let application = expect_json(
            app.post(&direct, &token, json!({"base_id": base["id"]}))
                .await,
            StatusCode::CREATED,
        )
        .await;
        applications.push(id(&application).to_owned());
    }
    let coordinator = app
        .staff(Role::BaseCoordinator, None, Some(id(&base)))
        .await;
    (coordinator, applications)
}

#[tokio::test]
async fn two_hundred_concurrent_accepts_on_two_instances_fill_exactly_ten_seats() {
    let app = spawn_app().await;
    let (coordinator, applications) = crowded_base(&app, 10, 200).await;
    let paths: Vec<String> = applications
        .iter()
        .map(|application| format!("/api/v1/direct-applications/{application}/accept"))
        .collect();
    let statuses = app
        .post_concurrently_on_two_instances(&paths, &coordinator)
        .await;
    let accepted = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((accepted, refused), (10, 190), "{statuses:?}");
    let offers = expect_json(
        app.get("/api/v1/placements?status=offered", &app.admin)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(offers["total"], 10);
}

#[tokio::test]
async fn fifty_concurrent_confirmations_of_one_offer_confirm_it_once() {
    let app = spawn_app().await;
    let (coordinator, applications) = crowded_base(&app, 1, 1).await;
    let accepted = expect_json(
        app.post(
            &format!("/api/v1/direct-applications/{}/accept", applications[0]),
            &coordinator,
            json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let placement = accepted["placement_id"]
        .as_str()
        .expect("an offer")
        .to_owned();
    let paths = vec![format!("/api/v1/placements/{placement}/confirm"); 50];
    let statuses = app
        .post_concurrently_on_two_instances(&paths, &coordinator)
        .await;
    let confirmed = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((confirmed, refused), (1, 49), "{statuses:?}");
    let detail = expect_json(
        app.get(&format!("/api/v1/placements/{placement}"), &app.admin)
            .await,
        StatusCode::OK,
    )
    .await;
    let confirmations = detail["history"]
        .as_array()
        .map(|h| h.iter().filter(|e| e["to"] == "confirmed").count());
    assert_eq!(confirmations, Some(1));
}
