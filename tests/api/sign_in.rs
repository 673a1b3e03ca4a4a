//! Signing in under attack: failed sign-ins are throttled per account and per address, on
//! every instance. The flood of sign-ins has a test binary of its own (`tests/sign_in_flood`).

use crate::helpers::*;
use diesel::prelude::*;
use futures_util::future::join_all;
use placemat::domain::Timestamp;
use placemat::services::auth::{login_throttle, ACCOUNT_LIMIT, ADDRESS_LIMIT};
use reqwest::StatusCode;
use serde_json::json;

async fn sign_in(app: &TestApp, address: &str, email: &str, password: &str) -> reqwest::Response {
    app.client
        .post(format!("{address}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("sent")
}

/// Lets every running lock and counting window end.
async fn the_window_passes(app: &TestApp) {
    app.db
        .write(|conn| {
            let long_ago = Timestamp::now() - chrono::Duration::hours(1);
            placemat::dispatch!(conn, |c| diesel::update(login_throttle::table)
                .set((
                    login_throttle::window_started_at.eq(long_ago),
                    login_throttle::locked_until.eq(Some(long_ago)),
                ))
                .execute(c))?;
            Ok(())
        })
        .await
        .expect("the window passes");
}

#[tokio::test]
async fn an_account_guessed_at_on_two_instances_is_locked_even_for_the_right_password() {
    let app = spawn_app().await;
    let second = app.sibling().await;
    for attempt in 0..ACCOUNT_LIMIT {
        let address = if attempt % 2 == 0 {
            &app.address
        } else {
            &second
        };
        let response = sign_in(&app, address, "admin@alliance.test", "a wrong guess").await;
        expect_problem(response, StatusCode::UNAUTHORIZED).await;
    }

    let response = sign_in(&app, &app.address, "admin@alliance.test", PASSWORD).await;
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok())
        .expect("a Retry-After in seconds");
    assert!((1..=15 * 60).contains(&retry_after), "{retry_after}");
    let problem = expect_problem(response, StatusCode::TOO_MANY_REQUESTS).await;
    assert_eq!(
        problem["type"],
        "https://placemat.example/problems/too-many-requests"
    );
    expect_problem(
        sign_in(&app, &second, "admin@alliance.test", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
    )
    .await;
    // Tokens already issued still work: the lock is on signing in.
    expect_json(app.get("/api/v1/me", &app.admin).await, StatusCode::OK).await;

    the_window_passes(&app).await;
    expect_json(
        sign_in(&app, &app.address, "admin@alliance.test", PASSWORD).await,
        StatusCode::OK,
    )
    .await;
}

#[tokio::test]
async fn an_address_trying_many_accounts_is_locked_out_of_all_of_them() {
    let app = spawn_app().await;
    let app = &app;
    let guesses = (0..ADDRESS_LIMIT).map(|n| {
        let email = format!("nobody{n}@alliance.test");
        async move { sign_in(app, &app.address, &email, "a guess").await.status() }
    });
    let statuses = join_all(guesses).await;
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::UNAUTHORIZED || *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    let failures_counted = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    // Guesses turned away while the password checks were busy did not count: one at a
    // time, the rest of the limit.
    for n in failures_counted..ADDRESS_LIMIT as usize {
        let email = format!("late{n}@alliance.test");
        expect_problem(
            sign_in(app, &app.address, &email, "a guess").await,
            StatusCode::UNAUTHORIZED,
        )
        .await;
    }
    expect_problem(
        sign_in(app, &app.address, "admin@alliance.test", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
    )
    .await;
}
