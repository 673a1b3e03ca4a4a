//! The edges of the API every client meets the same way: which routes exist, how a missing
//! login, a wrong method or an oversized request is answered.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::Value;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Every documented operation as (method, concrete path, needs a login), each path
/// parameter filled with a well-formed id.
async fn documented_operations(app: &TestApp) -> Vec<(Method, String, bool)> {
    let document = expect_json(
        app.client
            .get(app.url("/api/v1/openapi.json"))
            .send()
            .await
            .expect("sent"),
        StatusCode::OK,
    )
    .await;
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        let concrete = path
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') {
                    uuid::Uuid::nil().to_string()
                } else {
                    segment.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                let public = operation["security"]
                    .as_array()
                    .is_some_and(|requirements| {
                        requirements
                            .iter()
                            .all(|r| r == &Value::Object(Default::default()))
                    });
                let method =
                    Method::from_bytes(method.to_uppercase().as_bytes()).expect("a method");
                operations.push((method, concrete.clone(), !public));
            }
        }
    }
    operations
}

#[tokio::test]
async fn the_routes_the_server_answers_are_exactly_the_documented_ones() {
    let app = spawn_app().await;
    let operations = documented_operations(&app).await;
    assert!(operations.len() > 40, "{} operations", operations.len());

    for (method, path, _) in &operations {
        let response = app
            .request(method.clone(), path, None)
            .send()
            .await
            .expect("sent");
        assert!(
            ![StatusCode::NOT_FOUND, StatusCode::METHOD_NOT_ALLOWED].contains(&response.status()),
            "{method} {path} is documented but answered {}",
            response.status()
        );
    }

    let mut paths: Vec<&String> = operations.iter().map(|(_, path, _)| path).collect();
    paths.dedup();
    for path in paths {
        let documented: Vec<&Method> = operations
            .iter()
            .filter(|(_, p, _)| p == path)
            .map(|(method, _, _)| method)
            .collect();
        for method in METHODS {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("a method");
            if documented.contains(&&method) {
                continue;
            }
            let response = app
                .request(method.clone(), path, Some(&app.admin))
                .send()
                .await
                .expect("sent");
            let allow = response
                .headers()
                .get("allow")
                .and_then(|value| value.to_str().ok())
                .unwrap_or("")
                .to_owned();
            expect_problem(response, StatusCode::METHOD_NOT_ALLOWED).await;
            for answered in &documented {
                assert!(allow.contains(answered.as_str()), "{path}: Allow {allow}");
            }
        }
    }

    expect_problem(
        app.get("/api/v1/no-such-thing", &app.admin).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn without_a_valid_login_bad_input_is_answered_401_on_every_protected_endpoint() {
    let app = spawn_app().await;
    let operations = documented_operations(&app).await;
    let protected: Vec<_> = operations
        .iter()
        .filter(|(_, _, needs_login)| *needs_login)
        .collect();
    assert!(
        protected.len() > 40,
        "{} protected operations",
        protected.len()
    );

    for (method, path, _) in protected {
        for token in [None, Some("not-a-token")] {
            let response = app
                .request(method.clone(), &format!("{path}?limit=-1&offset=x"), token)
                .header("content-type", "application/json")
                .body("{\"preferences\": [")
                .send()
                .await
                .expect("sent");
            expect_problem(response, StatusCode::UNAUTHORIZED).await;
        }
    }

    let response = app
        .request(Method::POST, "/api/v1/students/import", Some("not-a-token"))
        .header("content-type", "text/csv")
        .body(vec![b'x'; 9 * 1024 * 1024])
        .send()
        .await
        .expect("sent");
    expect_problem(response, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn wrong_methods_are_answered_405_with_the_allowed_ones() {
    let app = spawn_app().await;

    let response = app
        .request(Method::DELETE, "/api/v1/bases", Some(&app.admin))
        .send()
        .await
        .expect("sent");
    let allow = response.headers().get("allow").cloned();
    let problem = expect_problem(response, StatusCode::METHOD_NOT_ALLOWED).await;
    assert_eq!(allow.expect("an Allow header"), "GET, HEAD, POST");
    assert!(
        problem["detail"].as_str().unwrap_or("").contains("DELETE"),
        "{problem}"
    );

    // `/students/import` is also `/students/{id}` with an id that is no UUID: it is
    // answered as the route of its own.
    for method in [Method::GET, Method::PATCH, Method::OPTIONS] {
        let response = app
            .request(method, "/api/v1/students/import", Some(&app.admin))
            .send()
            .await
            .expect("sent");
        let allow = response.headers().get("allow").cloned();
        expect_problem(response, StatusCode::METHOD_NOT_ALLOWED).await;
        assert_eq!(allow.expect("an Allow header"), "POST");
    }

    for method in ["OPTIONS", "TRACE", "BREW"] {
        let method = Method::from_bytes(method.as_bytes()).expect("a method");
        for path in ["/healthz", "/api/v1/bases"] {
            let response = app
                .request(method.clone(), path, Some(&app.admin))
                .send()
                .await
                .expect("sent");
            expect_problem(response, StatusCode::METHOD_NOT_ALLOWED).await;
        }
    }
}

#[tokio::test]
async fn head_answers_like_get_without_a_body_on_every_get_route() {
    let app = spawn_app().await;
    let health = app
        .request(Method::HEAD, "/healthz", None)
        .send()
        .await
        .expect("sent");
    assert_eq!(health.status(), StatusCode::OK);
    assert!(health.bytes().await.expect("read").is_empty());

    for (method, path, _) in documented_operations(&app).await {
        if method != Method::GET {
            continue;
        }
        let get = app
            .request(Method::GET, &path, Some(&app.admin))
            .send()
            .await
            .expect("sent");
        let head = app
            .request(Method::HEAD, &path, Some(&app.admin))
            .send()
            .await
            .expect("sent");
        assert_eq!(head.status(), get.status(), "HEAD {path}");
        assert!(
            head.bytes().await.expect("read").is_empty(),
            "HEAD {path} has no body"
        );
    }
}

#[tokio::test]
async fn oversized_and_malformed_requests_are_answered_as_problems() {
    let app = spawn_app().await;

    let response = app
        .request(Method::POST, "/api/v1/students/import", Some(&app.admin))
        .header("content-type", "text/csv")
        .body(vec![b'x'; 9 * 1024 * 1024])
        .send()
        .await
        .expect("sent");
    expect_problem(response, StatusCode::PAYLOAD_TOO_LARGE).await;

    expect_problem(
        app.get("/api/v1/bases?limit=lots", &app.admin).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    expect_problem(
        app.get("/api/v1/bases?limit=0", &app.admin).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    expect_problem(
        app.get("/api/v1/bases/not-a-uuid", &app.admin).await,
        StatusCode::BAD_REQUEST,
    )
    .await;

    let long_query = format!("/api/v1/bases?q={}", "a".repeat(20_000));
    expect_problem(
        app.get(&long_query, &app.admin).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
}
