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

#[tokio::test]
async fn invented_methods_and_paths_add_no_metric_series() {
    let app = spawn_app().await;
    let series = |text: &str| {
        text.lines()
            .filter(|line| line.starts_with("placemat_http_requests_total"))
            .count()
    };
    let probe = |n: usize| {
        let method = reqwest::Method::from_bytes(format!("PROBE{n}").as_bytes()).expect("a method");
        app.client
            .request(method, app.url(&format!("/invented/path/{n}")))
            .send()
    };
    for n in 0..3 {
        probe(n).await.expect("sent");
    }
    let metrics = |app: &TestApp| app.client.get(app.url("/metrics")).send();
    let before = metrics(&app)
        .await
        .expect("sent")
        .text()
        .await
        .expect("text");
    for n in 3..50 {
        probe(n).await.expect("sent");
        app.client
            .get(app.url(&format!("/api/v1/students/{n}/nothing")))
            .send()
            .await
            .expect("sent");
    }
    let after = metrics(&app)
        .await
        .expect("sent")
        .text()
        .await
        .expect("text");
    assert!(!after.contains("PROBE"), "{after}");
    assert!(!after.contains("/invented/"), "{after}");
    assert!(after.contains("method=\"other\""), "{after}");
    assert!(
        series(&after) <= series(&before) + 2,
        "at most the new GET series for unmatched paths and /metrics:\n{after}"
    );
}

#[test]
fn serve_refuses_a_bad_setting_at_once_and_names_it() {
    let workdir = tempfile::tempdir().expect("a temporary folder");
    let database = format!("sqlite://{}", workdir.path().join("p.db").display());
    for (variable, value) in [
        ("PLACEMAT_TOKEN_TTL_MINUTES", "0"),
        ("PLACEMAT_TOKEN_TTL_MINUTES", "-30"),
        ("PLACEMAT_DB_POOL_SIZE", "0"),
        ("PLACEMAT_WORKERS", "0"),
        ("PLACEMAT_DATABASE_URL", "mysql://localhost/placemat"),
        ("PLACEMAT_SMTP_URL", "smtp//mail.example"),
        ("PLACEMAT_MAIL_MAX_ATTEMPTS", "0"),
        ("PLACEMAT_MAIL_RETRY_BASE_MS", "-1"),
    ] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_placemat"))
            .args(["serve", "--bind", "127.0.0.1:0"])
            .env("PLACEMAT_DATABASE_URL", &database)
            .env(variable, value)
            .output()
            .expect("placemat runs");
        assert!(!output.status.success(), "{variable}={value} is refused");
        let message = String::from_utf8_lossy(&output.stderr);
        assert!(message.contains(variable), "{variable}={value}: {message}");
    }
    assert!(!workdir.path().join("p.db").exists(), "nothing was started");
}

#[tokio::test]
async fn the_openapi_document_states_the_limits_and_answers_the_server_keeps() {
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
    let schemas = &document["components"]["schemas"];
    let list = &document["paths"]["/api/v1/students"]["get"];
    let parameter = |name: &str| {
        list["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .find(|p| p["name"] == name)
            .cloned()
            .expect("a parameter")
    };
    assert_eq!(parameter("limit")["schema"]["minimum"], 1);
    assert_eq!(parameter("limit")["schema"]["maximum"], 1000);
    assert_eq!(parameter("offset")["schema"]["minimum"], 0);
    assert_eq!(
        schemas["SeatsRequest"]["properties"]["seats"]["maximum"],
        10000
    );
    assert_eq!(
        schemas["NewCycle"]["properties"]["max_preferences"]["maximum"],
        50
    );
    assert_eq!(schemas["RunRequest"]["properties"]["seed"]["minimum"], 0);
    assert_eq!(
        schemas["NewStudent"]["properties"]["email"]["format"],
        "email"
    );
    assert!(schemas["NewStudent"]["properties"]["name"]["pattern"].is_string());

    let stats = &document["paths"]["/api/v1/stats/placements"]["get"]["parameters"];
    for name in ["cycle", "group_by"] {
        let parameter = stats
            .as_array()
            .expect("parameters")
            .iter()
            .find(|p| p["name"] == name)
            .expect("a parameter");
        assert_eq!(parameter["required"], true, "{name}");
    }
    for (path, method) in [
        ("/api/v1/cycles/{id}/match-runs", "post"),
        ("/api/v1/direct-applications/{id}/reject", "post"),
        ("/api/v1/placements/{id}/withdraw", "post"),
    ] {
        let body = &document["paths"][path][method]["requestBody"];
        assert_ne!(
            body["required"], true,
            "{method} {path} takes no body as well"
        );
    }

    let seats = &document["paths"]["/api/v1/cycles/{id}/seats/{base_id}"]["put"]["responses"];
    for status in ["400", "401", "403", "404", "409", "422"] {
        assert!(
            seats[status]["content"]["application/problem+json"].is_object(),
            "{status} is a documented problem"
        );
    }
}
