//! A student's personal data: exported for the student, its officer and the alliance, and
//! erased on request, leaving the placements under a pseudonym.

use crate::helpers::*;
use crate::matching::{run_match, small_cycle};
use placemat::domain::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn a_student_s_data_is_exported_to_those_who_hold_it_and_erased_once_its_placement_ends() {
    let app = spawn_app().await;
    let setup = small_cycle(&app).await;
    let run = run_match(&app, &setup.cycle, 1).await;
    app.publish(&run).await;
    let (student, student_token) = &setup.students["s1"];
    let (_, other_student) = &setup.students["s3"];
    let email = student["email"].as_str().expect("an email").to_owned();
    let number = student["student_number"]
        .as_str()
        .expect("a number")
        .to_owned();
    let name = student["name"].as_str().expect("a name").to_owned();
    let export = format!("/api/v1/students/{}/export", id(student));
    let erase = format!("/api/v1/students/{}/erase", id(student));
    // An invitation in the outbox about the student.
    let invited = app
        .post(
            &format!("/api/v1/students/{}/invitation", id(student)),
            &app.admin,
            json!({}),
        )
        .await;
    assert!(invited.status().is_success(), "{}", invited.status());

    // The student, its officer and the alliance get one document.
    for token in [student_token, &setup.officer, &app.admin] {
        let document = expect_json(app.get(&export, token).await, StatusCode::OK).await;
        assert_eq!(document["profile"]["email"], email.as_str());
        assert_eq!(document["login"]["email"], email.as_str());
        assert_eq!(document["placements"][0]["status"], "offered");
        assert!(document["placements"][0]["history"]
            .as_array()
            .is_some_and(|h| !h.is_empty()));
        assert!(!document["applications"][0]["preferences"]
            .as_array()
            .expect("a list")
            .is_empty());
        assert!(document["emails"]
            .as_array()
            .expect("emails")
            .iter()
            .any(|e| e["kind"] == "invitation"
                || e["recipient"].as_str().unwrap_or("").contains(&email)));
    }
    // Nobody else: another university's officer, a coordinator, another student, no one.
    app.create_university("NJTECH").await;
    let other_officer = app.staff(Role::UniversityAdmin, Some("NJTECH"), None).await;
    let coordinator = setup.coordinators["A"].clone();
    for (token, status) in [
        (other_officer.as_str(), StatusCode::NOT_FOUND),
        (coordinator.as_str(), StatusCode::FORBIDDEN),
        (other_student.as_str(), StatusCode::NOT_FOUND),
    ] {
        expect_problem(app.get(&export, token).await, status).await;
    }
    let signed_out = app
        .request(Method::GET, &export, None)
        .send()
        .await
        .expect("sent");
    assert_eq!(signed_out.status(), StatusCode::UNAUTHORIZED);

    // Erasure: not by the student, another student, a coordinator, another university, no one.
    let reason = json!({"reason": "the student asked (PIPL art. 47)"});
    for (token, status) in [
        (student_token.as_str(), StatusCode::FORBIDDEN),
        (other_student.as_str(), StatusCode::FORBIDDEN),
        (coordinator.as_str(), StatusCode::FORBIDDEN),
        (other_officer.as_str(), StatusCode::NOT_FOUND),
    ] {
        expect_problem(app.post(&erase, token, reason.clone()).await, status).await;
    }
    let signed_out = app
        .request(Method::POST, &erase, None)
        .json(&reason)
        .send()
        .await
        .expect("sent");
    assert_eq!(signed_out.status(), StatusCode::UNAUTHORIZED);
    let problem = expect_problem(
        app.post(&erase, &setup.officer, json!({"reason": ""}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields_at_fault(&problem), ["reason"]);
    // Not while the offer stands.
    let problem = expect_problem(
        app.post(&erase, &setup.officer, reason.clone()).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(problem_type(&problem), "placement-live");

    let placement = expect_json(
        app.get("/api/v1/placements", student_token).await,
        StatusCode::OK,
    )
    .await["items"][0]
        .clone();
    expect_json(
        app.post(
            &format!("/api/v1/placements/{}/withdraw", id(&placement)),
            student_token,
            json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let erased = expect_json(
        app.post(&erase, &setup.officer, reason.clone()).await,
        StatusCode::OK,
    )
    .await;
    let pseudonym = erased["pseudonym"]
        .as_str()
        .expect("a pseudonym")
        .to_owned();

    // The person is gone: the login, the sessions, the name, email and number.
    let gone = app.get("/api/v1/me", student_token).await;
    assert_eq!(gone.status(), StatusCode::UNAUTHORIZED, "the session ended");
    let refused = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .expect("sent");
    assert_eq!(
        refused.status(),
        StatusCode::UNAUTHORIZED,
        "the login is removed"
    );
    let now = expect_json(
        app.get(&format!("/api/v1/students/{}", id(student)), &app.admin)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(now["name"], pseudonym.as_str());
    let document = expect_json(app.get(&export, &app.admin).await, StatusCode::OK)
        .await
        .to_string();
    let outbox = expect_json(
        app.get("/api/v1/emails?limit=1000", &app.admin).await,
        StatusCode::OK,
    )
    .await
    .to_string();
    for trace in [&email, &number, &name] {
        assert!(
            !document.contains(trace.as_str()),
            "`{trace}` left in {document}"
        );
        assert!(
            !outbox.contains(trace.as_str()),
            "`{trace}` left in the outbox: {outbox}"
        );
    }
    // The placement and the statistics stay, under the pseudonym.
    let kept = expect_json(
        app.get(
            &format!("/api/v1/placements/{}", id(&placement)),
            &app.admin,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(kept["status"], "withdrawn");
    let stats = expect_json(
        app.get(
            &format!(
                "/api/v1/stats/placements?cycle={}&group_by=university",
                id(&setup.cycle)
            ),
            &app.admin,
        )
        .await,
        StatusCode::OK,
    )
    .await
    .to_string();
    assert!(stats.contains("\"withdrawn\":1"), "{stats}");
}
