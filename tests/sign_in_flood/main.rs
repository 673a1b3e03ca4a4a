//! A flood of sign-ins with unknown emails is answered with refusals only, never an error or
//! a dropped connection. It runs in a test binary of its own: password checks share one
//! bounded pool per process, and the flood fills it on purpose, which would turn the other
//! stories' sign-ins away if they ran beside it.

#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;

use futures_util::future::join_all;
use helpers::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_flood_of_sign_ins_with_unknown_emails_gets_only_refusals() {
    let app = spawn_app().await;
    let app = &app;
    let flood = (0..300).map(|n| {
        let email = format!("flood{n}@alliance.test");
        async move {
            let response = app
                .client
                .post(format!("{}/api/v1/auth/login", app.address))
                .json(&json!({"email": email, "password": "a guess"}))
                .send()
                .await
                .expect("sent");
            let status = response.status();
            let is_problem = response
                .headers()
                .get("content-type")
                .is_some_and(|value| value == "application/problem+json");
            (status, is_problem)
        }
    });
    let answers = join_all(flood).await;
    assert!(
        answers.iter().all(|(status, is_problem)| *is_problem
            && (*status == StatusCode::UNAUTHORIZED || *status == StatusCode::TOO_MANY_REQUESTS)),
        "{answers:?}"
    );
}

/// The names of this process's threads, as the kernel knows them.
fn thread_names() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .expect("the process's threads are listed")
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .map(|name| name.trim().to_owned())
        .collect()
}

#[tokio::test]
async fn a_flood_of_sign_ins_is_checked_by_the_fixed_hashing_threads_alone() {
    let app = spawn_app().await;
    let app = &app;
    let flood = (0..64).map(|n| async move {
        app.client
            .post(format!("{}/api/v1/auth/login", app.address))
            .json(&json!({"email": format!("threads{n}@alliance.test"), "password": "a guess"}))
            .send()
            .await
            .expect("sent")
            .status()
    });
    let answers = join_all(flood).await;
    assert!(answers
        .iter()
        .all(|status| *status == StatusCode::UNAUTHORIZED
            || *status == StatusCode::TOO_MANY_REQUESTS));
    let hashing = thread_names()
        .into_iter()
        .filter(|name| name.starts_with("password-"))
        .count();
    assert_eq!(hashing, placemat::auth::password::hashing_threads());
}
