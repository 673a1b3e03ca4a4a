use crate::helpers::*;
use placemat::domain::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn an_admin_logs_in_sees_itself_and_logs_out() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "Admin@Alliance.test", "password": PASSWORD}))
        .send()
        .await
        .expect("sent");
    let login = expect_json(response, StatusCode::OK).await;
    assert_eq!(login["role"], "alliance_admin");
    assert!(login["expires_at"].is_string());
    let token = login["token"].as_str().expect("token");

    let me = expect_json(app.get("/api/v1/me", token).await, StatusCode::OK).await;
    assert_eq!(me["email"], "admin@alliance.test");
    assert_eq!(me["role"], "alliance_admin");

    let logout = app
        .request(Method::POST, "/api/v1/auth/logout", Some(token))
        .send()
        .await
        .expect("sent");
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    expect_problem(app.get("/api/v1/me", token).await, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn wrong_credentials_are_refused_alike() {
    let app = spawn_app().await;
    for body in [
        json!({"email": "admin@alliance.test", "password": "not the password"}),
        json!({"email": "nobody@alliance.test", "password": PASSWORD}),
    ] {
        let response = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .json(&body)
            .send()
            .await
            .expect("sent");
        let problem = expect_problem(response, StatusCode::UNAUTHORIZED).await;
        assert_eq!(problem["detail"], "wrong email or password");
    }
    let response = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "", "password": ""}))
        .send()
        .await
        .expect("sent");
    let problem = expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(fields_at_fault(&problem), vec!["email", "password"]);
}

#[tokio::test]
async fn requests_without_a_valid_token_are_refused() {
    let app = spawn_app().await;
    let none = app
        .request(Method::GET, "/api/v1/me", None)
        .send()
        .await
        .expect("sent");
    assert_eq!(
        none.headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer")
    );
    expect_problem(none, StatusCode::UNAUTHORIZED).await;
    expect_problem(
        app.get("/api/v1/me", "made-up-token").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let basic = app
        .client
        .get(app.url("/api/v1/me"))
        .header("authorization", "Basic YWRtaW46YWRtaW4=")
        .send()
        .await
        .expect("sent");
    expect_problem(basic, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let app = spawn_app_with(|config| config.token_ttl_minutes = 0).await;
    expect_problem(
        app.get("/api/v1/me", &app.admin).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

#[tokio::test]
async fn each_role_sees_its_own_scope_in_me() {
    let app = spawn_app().await;
    let university = app.create_university("USST").await;
    app.create_program("0854").await;
    let base = app
        .create_base("Lingang Lab", "Shanghai", &university, &["0854"])
        .await;
    let officer = app.staff(Role::UniversityAdmin, Some("USST"), None).await;
    let coordinator = app
        .staff(Role::BaseCoordinator, None, Some(id(&base)))
        .await;
    let (student, student_token) = app
        .create_student(&university, "S1", "李雷", "0854", None)
        .await;

    let me = expect_json(app.get("/api/v1/me", &officer).await, StatusCode::OK).await;
    assert_eq!(me["role"], "university_admin");
    assert_eq!(me["university_id"], university["id"]);
    let me = expect_json(app.get("/api/v1/me", &coordinator).await, StatusCode::OK).await;
    assert_eq!(me["role"], "base_coordinator");
    assert_eq!(me["base_id"], base["id"]);
    let me = expect_json(app.get("/api/v1/me", &student_token).await, StatusCode::OK).await;
    assert_eq!(me["role"], "student");
    assert_eq!(me["student_id"], student["id"]);
}

#[tokio::test]
async fn every_endpoint_but_login_and_the_documents_wants_a_token() {
    let app = spawn_app().await;
    let some_id = "6f1c1f5e-0000-4000-8000-000000000000";
    let calls = [
        (Method::GET, "/api/v1/me".to_owned()),
        (Method::POST, "/api/v1/auth/logout".to_owned()),
        (Method::GET, "/api/v1/universities".to_owned()),
        (Method::POST, "/api/v1/universities".to_owned()),
        (Method::GET, "/api/v1/programs".to_owned()),
        (Method::GET, "/api/v1/bases".to_owned()),
        (Method::GET, format!("/api/v1/bases/{some_id}")),
        (Method::PATCH, format!("/api/v1/bases/{some_id}")),
        (Method::GET, "/api/v1/cycles".to_owned()),
        (Method::GET, format!("/api/v1/cycles/{some_id}/seats")),
        (
            Method::PUT,
            format!("/api/v1/cycles/{some_id}/seats/{some_id}"),
        ),
        (Method::GET, "/api/v1/students".to_owned()),
        (Method::POST, "/api/v1/students/import".to_owned()),
        (
            Method::PUT,
            format!("/api/v1/cycles/{some_id}/applications/me"),
        ),
        (
            Method::GET,
            format!("/api/v1/cycles/{some_id}/applications"),
        ),
        (
            Method::PUT,
            format!("/api/v1/cycles/{some_id}/rankings/{some_id}"),
        ),
        (Method::POST, format!("/api/v1/cycles/{some_id}/match-runs")),
        (
            Method::GET,
            format!("/api/v1/match-runs/{some_id}/assignments"),
        ),
        (
            Method::POST,
            format!("/api/v1/match-runs/{some_id}/publish"),
        ),
        (
            Method::POST,
            format!("/api/v1/cycles/{some_id}/direct-applications"),
        ),
        (
            Method::POST,
            format!("/api/v1/direct-applications/{some_id}/accept"),
        ),
        (Method::GET, "/api/v1/placements".to_owned()),
        (
            Method::POST,
            format!("/api/v1/placements/{some_id}/confirm"),
        ),
        (Method::GET, "/api/v1/emails".to_owned()),
        (
            Method::GET,
            format!("/api/v1/stats/placements?cycle={some_id}&group_by=university"),
        ),
    ];
    for (method, path) in calls {
        let response = app
            .request(method.clone(), &path, None)
            .send()
            .await
            .expect("sent");
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "{method} {path}"
        );
    }
    for open in ["/api/v1/openapi.json", "/healthz", "/readyz", "/metrics"] {
        let response = app.client.get(app.url(open)).send().await.expect("sent");
        assert_eq!(response.status(), StatusCode::OK, "{open}");
    }
}
