use crate::helpers::*;
use crate::matching::small_cycle;
use placemat::domain::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn mine(cycle: &Value) -> String {
    format!("/api/v1/cycles/{}/applications/me", id(cycle))
}

#[tokio::test]
async fn a_student_applies_changes_its_mind_and_sees_its_list() {
    let app = spawn_app().await;
    let setup = small_cycle(&app).await;
    let token = &setup.students["s1"].1;
    let list = json!({"preferences": [setup.bases["C"]["id"], setup.bases["A"]["id"]]});
    let stored = expect_json(
        app.put(&mine(&setup.cycle), token, list).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        stored["preferences"],
        json!([setup.bases["C"]["id"], setup.bases["A"]["id"]])
    );
    let fetched = expect_json(app.get(&mine(&setup.cycle), token).await, StatusCode::OK).await;
    assert_eq!(fetched["preferences"], stored["preferences"]);
    assert_eq!(
        fetched["id"], stored["id"],
        "resubmitting replaces the same application"
    );
    let (_, newcomer) = app
        .create_student(&setup.university, "s9", "New", "0854", None)
        .await;
    expect_problem(
        app.get(&mine(&setup.cycle), &newcomer).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn an_ineligible_list_is_refused_entry_by_entry_and_the_old_list_stays() {
    let app = spawn_app().await;
    let setup = small_cycle(&app).await;
    let usst = setup.university.clone();
    app.create_program("0860").await;
    let bio = app.create_base("Bio Lab", "Suzhou", &usst, &["0860"]).await;
    app.set_seats(&setup.cycle, &bio, 3).await;
    let seatless = app
        .create_base("No Seats", "Suzhou", &usst, &["0854"])
        .await;
    let closed = app.create_base("Closed", "Suzhou", &usst, &["0854"]).await;
    app.set_seats(&setup.cycle, &closed, 3).await;
    expect_json(
        app.patch(
            &format!("/api/v1/bases/{}", id(&closed)),
            &app.admin,
            json!({"active": false}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let token = &setup.students["s1"].1;
    let before = expect_json(app.get(&mine(&setup.cycle), token).await, StatusCode::OK).await;

    let problem = expect_problem(
        app.put(
            &mine(&setup.cycle),
            token,
            json!({"preferences": [bio["id"], setup.bases["A"]["id"], seatless["id"]]}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        fields_at_fault(&problem),
        vec!["preferences[0]", "preferences[2]"]
    );
    assert!(problem["errors"][0]["message"]
        .as_str()
        .unwrap_or("")
        .contains("program"));
    assert!(problem["errors"][1]["message"]
        .as_str()
        .unwrap_or("")
        .contains("no seats"));
    assert_eq!(problem["errors"][0]["rule"], "wrong_program");
    assert_eq!(problem["errors"][1]["rule"], "no_seats");
    for (list, field, rule) in [
        (
            json!([setup.bases["A"]["id"], setup.bases["A"]["id"]]),
            "preferences[1]",
            json!("repeated"),
        ),
        (json!([closed["id"]]), "preferences[0]", json!("inactive")),
        (
            json!(["6f1c1f5e-0000-4000-8000-000000000000"]),
            "preferences[0]",
            json!("unknown_base"),
        ),
        (
            json!([
                setup.bases["A"]["id"],
                setup.bases["B"]["id"],
                setup.bases["C"]["id"],
                bio["id"]
            ]),
            "preferences",
            json!("length"),
        ),
        (json!([]), "preferences", json!("length")),
        (json!(["not-a-uuid"]), "preferences[0]", Value::Null),
    ] {
        let problem = expect_problem(
            app.put(&mine(&setup.cycle), token, json!({"preferences": list}))
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(fields_at_fault(&problem), vec![field], "{list}");
        assert_eq!(problem["errors"][0]["rule"], rule, "{list}");
    }
    let after = expect_json(app.get(&mine(&setup.cycle), token).await, StatusCode::OK).await;
    assert_eq!(
        after["preferences"], before["preferences"],
        "refused lists change nothing"
    );

    let window = format!("/api/v1/cycles/{}", id(&setup.cycle));
    let past = json!({"applications_open_at": "2020-01-01T00:00:00Z", "applications_close_at": "2020-02-01T00:00:00Z"});
    expect_json(app.patch(&window, &app.admin, past).await, StatusCode::OK).await;
    let problem = expect_problem(
        app.put(
            &mine(&setup.cycle),
            token,
            json!({"preferences": [setup.bases["A"]["id"]]}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields_at_fault(&problem), vec!["cycle"]);
    assert_eq!(problem["errors"][0]["rule"], "closed");
}

#[tokio::test]
async fn each_role_lists_the_applications_in_its_scope() {
    let app = spawn_app().await;
    let setup = small_cycle(&app).await;
    let path = format!("/api/v1/cycles/{}/applications", id(&setup.cycle));
    let all = expect_json(app.get(&path, &app.admin).await, StatusCode::OK).await;
    assert_eq!(all["total"], 5);
    let officer = expect_json(app.get(&path, &setup.officer).await, StatusCode::OK).await;
    assert_eq!(
        officer["total"], 5,
        "all five study at the officer's university"
    );
    let other_officer = {
        app.create_university("UJS").await;
        app.staff(Role::UniversityAdmin, Some("UJS"), None).await
    };
    let none = expect_json(app.get(&path, &other_officer).await, StatusCode::OK).await;
    assert_eq!(none["total"], 0);
    let at_b = expect_json(
        app.get(&path, &setup.coordinators["B"]).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(at_b["total"], 3, "s1, s3 and s4 listed B");
    for item in at_b["items"].as_array().expect("items") {
        assert_eq!(
            item["preferences"],
            json!([setup.bases["B"]["id"]]),
            "a coordinator sees only its own base in a list"
        );
        assert!(item["choice_rank_of_base"].is_number());
    }
    expect_problem(
        app.get(
            &format!("{path}?base={}", id(&setup.bases["A"])),
            &setup.coordinators["B"],
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    expect_problem(
        app.get(&path, &setup.students["s1"].1).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    for token in [&app.admin, &setup.officer, &setup.coordinators["A"]] {
        expect_problem(
            app.put(
                &mine(&setup.cycle),
                token,
                json!({"preferences": [setup.bases["A"]["id"]]}),
            )
            .await,
            StatusCode::FORBIDDEN,
        )
        .await;
    }
}

#[tokio::test]
async fn a_coordinator_ranks_only_its_own_applicants() {
    let app = spawn_app().await;
    let setup = small_cycle(&app).await;
    let path = format!(
        "/api/v1/cycles/{}/rankings/{}",
        id(&setup.cycle),
        id(&setup.bases["A"])
    );
    let s = |key: &str| setup.students[key].0["id"].clone();
    let ranked = expect_json(
        app.put(
            &path,
            &setup.coordinators["A"],
            json!({"student_ids": [s("s5"), s("s2")]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(ranked["student_ids"], json!([s("s5"), s("s2")]));
    let read = expect_json(
        app.get(&path, &setup.coordinators["A"]).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(read["student_ids"], ranked["student_ids"]);
    let problem = expect_problem(
        app.put(
            &path,
            &setup.coordinators["A"],
            json!({"student_ids": [s("s5"), s("s4"), s("s5")]}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        fields_at_fault(&problem),
        vec!["student_ids[1]", "student_ids[2]"]
    );
    for token in [
        &setup.coordinators["B"],
        &setup.officer,
        &setup.students["s5"].1,
    ] {
        expect_problem(
            app.put(&path, token, json!({"student_ids": []})).await,
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    let read = expect_json(app.get(&path, &app.admin).await, StatusCode::OK).await;
    assert_eq!(
        read["student_ids"], ranked["student_ids"],
        "refusals changed nothing"
    );

    let run = crate::matching::run_match(&app, &setup.cycle, 3).await;
    let items = crate::matching::assignments(&app, &run).await;
    let at_a: Vec<&Value> = items
        .iter()
        .filter(|i| i["base_id"] == setup.bases["A"]["id"])
        .collect();
    assert_eq!(at_a.len(), 1);
    assert_eq!(
        at_a[0]["student_id"],
        s("s5"),
        "A's ranking puts s5 first, whatever the scores"
    );
}
