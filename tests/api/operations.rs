use crate::helpers::*;
use reqwest::StatusCode;

#[tokio::test]
async fn an_operator_sees_health_readiness_and_metrics() {
    let app = spawn_app().await;
    let health = app
        .client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("sent");
    assert_eq!(health.status(), StatusCode::OK);
    let ready = expect_json(
        app.client
            .get(app.url("/readyz"))
            .send()
            .await
            .expect("sent"),
        StatusCode::OK,
    )
    .await;
    assert_eq!(ready["database"], "reachable");

    app.get("/api/v1/programs", &app.admin).await;
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("sent");
    assert_eq!(metrics.status(), StatusCode::OK);
    let text = metrics.text().await.expect("text");
    assert!(text.contains("placemat_http_requests_total"), "{text}");
    assert!(text.contains("route=\"/api/v1/programs\""), "{text}");
}

#[tokio::test]
async fn every_answer_carries_a_request_id() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("sent");
    let id = response
        .headers()
        .get("x-request-id")
        .expect("a request id header");
    assert!(!id.is_empty());
}

#[tokio::test]
async fn the_openapi_document_describes_the_api_and_the_docs_page_renders_it() {
    let app = spawn_app().await;
    let document = expect_json(
        app.client
            .get(app.url("/api/v1/openapi.json"))
            .send()
            .await
            .expect("sent"),
        StatusCode::OK,
    )
    .await;
    assert!(document["openapi"]
        .as_str()
        .expect("a version")
        .starts_with("3."));
    for path in [
        "/api/v1/auth/login",
        "/api/v1/me",
        "/api/v1/universities",
        "/api/v1/programs",
        "/api/v1/bases/{id}",
        "/api/v1/cycles/{id}/seats/{base_id}",
        "/api/v1/students/import",
    ] {
        assert!(document["paths"][path].is_object(), "{path} is documented");
    }
    assert!(document["components"]["securitySchemes"]["bearer"].is_object());

    let redirect = app.client.get(app.url("/docs")).send().await.expect("sent");
    assert_eq!(redirect.status(), StatusCode::FOUND);
    let page = app
        .client
        .get(app.url("/docs/"))
        .send()
        .await
        .expect("sent");
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.expect("html").contains("swagger"));
}

#[tokio::test]
async fn an_unknown_path_is_a_problem_not_a_blank_page() {
    let app = spawn_app().await;
    let response = app.get("/api/v1/nowhere", &app.admin).await;
    expect_problem(response, StatusCode::NOT_FOUND).await;
}
