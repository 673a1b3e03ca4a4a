//! Answers an instance gives again while the database has not changed must never hide a
//! write: whichever instance made it, the next request on any instance sees it.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn get_on(app: &TestApp, address: &str, path: &str, token: &str) -> reqwest::Response {
    app.client
        .get(format!("{address}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("sent")
}

async fn names_listed_on(app: &TestApp, address: &str, path: &str) -> Vec<String> {
    let page = expect_json(get_on(app, address, path, &app.admin).await, StatusCode::OK).await;
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|base| base["name"].as_str().expect("a name").to_owned())
        .collect()
}

#[tokio::test]
async fn a_signed_out_token_is_refused_at_once_by_the_other_instance() {
    let app = spawn_app().await;
    let other = app.sibling().await;
    let token = app.login("admin@alliance.test", PASSWORD).await;
    for _ in 0..3 {
        let me = expect_json(
            get_on(&app, &other, "/api/v1/me", &token).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(me["email"], "admin@alliance.test");
    }

    let signed_out = app
        .request(Method::POST, "/api/v1/auth/logout", Some(&token))
        .send()
        .await
        .expect("sent");
    assert_eq!(signed_out.status(), StatusCode::NO_CONTENT);

    expect_problem(
        get_on(&app, &other, "/api/v1/me", &token).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    expect_problem(
        app.get("/api/v1/me", &token).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let still_signed_in = expect_json(
        get_on(&app, &other, "/api/v1/me", &app.admin).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(still_signed_in["role"], "alliance_admin");
}

#[tokio::test]
async fn a_students_new_email_shows_at_once_in_me_on_the_other_instance() {
    let app = spawn_app().await;
    let other = app.sibling().await;
    let usst = app.create_university("USST").await;
    app.create_program("0854").await;
    let (student, token) = app
        .create_student(&usst, "s100", "Li Wei", "0854", Some(80.0))
        .await;
    let email_on_other = || async {
        expect_json(
            get_on(&app, &other, "/api/v1/me", &token).await,
            StatusCode::OK,
        )
        .await["email"]
            .as_str()
            .expect("an email")
            .to_owned()
    };
    assert_eq!(email_on_other().await, "s100@students.test");
    // A write that touches no user or token leaves the caller as it was.
    app.create_base("Lingang Lab", "Shanghai", &usst, &["0854"])
        .await;
    assert_eq!(email_on_other().await, "s100@students.test");

    let edited = app
        .patch(
            &format!("/api/v1/students/{}", id(&student)),
            &app.admin,
            json!({"email": "li.wei@students.test"}),
        )
        .await;
    expect_json(edited, StatusCode::OK).await;
    assert_eq!(email_on_other().await, "li.wei@students.test");
}

#[tokio::test]
async fn a_base_added_renamed_or_filled_shows_at_once_in_the_other_instances_list() {
    let app = spawn_app().await;
    let other = app.sibling().await;
    let usst = app.create_university("USST").await;
    app.create_program("0854").await;
    let lingang = app
        .create_base("Lingang Lab", "Shanghai", &usst, &["0854"])
        .await;
    let listing = "/api/v1/bases?limit=20";
    for _ in 0..3 {
        assert_eq!(
            names_listed_on(&app, &other, listing).await,
            ["Lingang Lab"]
        );
    }

    app.create_base("Baoshan Works", "Shanghai", &usst, &["0854"])
        .await;
    assert_eq!(
        names_listed_on(&app, &other, listing).await,
        ["Baoshan Works", "Lingang Lab"]
    );

    let renamed = app
        .patch(
            &format!("/api/v1/bases/{}", id(&lingang)),
            &app.admin,
            json!({"name": "Anting Lab"}),
        )
        .await;
    expect_json(renamed, StatusCode::OK).await;
    assert_eq!(
        names_listed_on(&app, &other, listing).await,
        ["Anting Lab", "Baoshan Works"]
    );

    // A change made on the other instance is seen here just as well.
    let cycle = app.create_open_cycle("2027 summer", 3).await;
    let free = format!(
        "/api/v1/bases?limit=20&cycle={}&has_free_seats=true",
        id(&cycle)
    );
    assert!(names_listed_on(&app, &app.address, &free).await.is_empty());
    let seats: Value = expect_json(
        app.client
            .put(format!(
                "{other}/api/v1/cycles/{}/seats/{}",
                id(&cycle),
                id(&lingang)
            ))
            .bearer_auth(&app.admin)
            .json(&json!({"seats": 2}))
            .send()
            .await
            .expect("sent"),
        StatusCode::OK,
    )
    .await;
    assert_eq!(seats["seats"], 2);
    assert_eq!(
        names_listed_on(&app, &app.address, &free).await,
        ["Anting Lab"]
    );
}

#[tokio::test]
async fn a_list_is_checked_at_once_against_a_base_or_cycle_changed_on_the_other_instance() {
    let app = spawn_app().await;
    let other = app.sibling().await;
    let usst = app.create_university("USST").await;
    app.create_program("0854").await;
    app.create_program("0855").await;
    let lingang = app
        .create_base("Lingang Lab", "Shanghai", &usst, &["0854"])
        .await;
    let baoshan = app
        .create_base("Baoshan Works", "Shanghai", &usst, &["0854", "0855"])
        .await;
    let cycle = app.create_open_cycle("2027 summer", 3).await;
    app.set_seats(&cycle, &lingang, 2).await;
    app.set_seats(&cycle, &baoshan, 2).await;
    let (_, token) = app
        .create_student(&usst, "s100", "Li Wei", "0854", Some(80.0))
        .await;
    let apply_on_other = |list: Vec<&Value>| {
        let list: Vec<&Value> = list.into_iter().map(|base| &base["id"]).collect();
        app.client
            .put(format!(
                "{other}/api/v1/cycles/{}/applications/me",
                id(&cycle)
            ))
            .bearer_auth(&token)
            .json(&json!({ "preferences": list }))
            .send()
    };
    let both = || vec![&lingang, &baoshan];
    // The alliance admin edits on the first instance; every list goes to the other.
    let first = &app;
    let edit = move |path: String, change: Value| async move {
        expect_json(
            first.patch(&path, &first.admin, change).await,
            StatusCode::OK,
        )
        .await
    };
    for _ in 0..3 {
        expect_json(apply_on_other(both()).await.expect("sent"), StatusCode::OK).await;
    }
    let refusal = |response: reqwest::Response| async move {
        let problem = expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        let first = &problem["errors"][0];
        (
            first["field"].as_str().unwrap_or_default().to_owned(),
            first["rule"].as_str().unwrap_or_default().to_owned(),
        )
    };

    edit(
        format!("/api/v1/bases/{}", id(&lingang)),
        json!({"active": false}),
    )
    .await;
    assert_eq!(
        refusal(apply_on_other(both()).await.expect("sent")).await,
        ("preferences[0]".into(), "inactive".into())
    );
    edit(
        format!("/api/v1/bases/{}", id(&lingang)),
        json!({"active": true}),
    )
    .await;
    expect_json(apply_on_other(both()).await.expect("sent"), StatusCode::OK).await;

    app.set_seats(&cycle, &baoshan, 0).await;
    assert_eq!(
        refusal(apply_on_other(both()).await.expect("sent")).await,
        ("preferences[1]".into(), "no_seats".into())
    );
    app.set_seats(&cycle, &baoshan, 2).await;

    edit(
        format!("/api/v1/bases/{}", id(&baoshan)),
        json!({"program_codes": ["0855"]}),
    )
    .await;
    assert_eq!(
        refusal(apply_on_other(both()).await.expect("sent")).await,
        ("preferences[1]".into(), "wrong_program".into())
    );

    let anting = app
        .create_base("Anting Lab", "Shanghai", &usst, &["0854"])
        .await;
    app.set_seats(&cycle, &anting, 1).await;
    expect_json(
        apply_on_other(vec![&lingang, &anting]).await.expect("sent"),
        StatusCode::OK,
    )
    .await;

    edit(
        format!("/api/v1/cycles/{}", id(&cycle)),
        json!({"max_preferences": 1}),
    )
    .await;
    assert_eq!(
        refusal(apply_on_other(vec![&lingang, &anting]).await.expect("sent")).await,
        ("preferences".into(), "length".into())
    );
    let mine = expect_json(
        app.get(
            &format!("/api/v1/cycles/{}/applications/me", id(&cycle)),
            &token,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(mine["preferences"], json!([lingang["id"], anting["id"]]));
}
