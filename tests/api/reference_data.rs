use crate::helpers::*;
use placemat::domain::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// One token of every role but the alliance admin, for refusals.
async fn other_roles(app: &TestApp) -> Vec<(&'static str, String)> {
    let university = app.create_university("ZJUT").await;
    app.create_program("0855").await;
    let base = app
        .create_base("Xiaoshan Works", "Hangzhou", &university, &["0855"])
        .await;
    let officer = app.staff(Role::UniversityAdmin, Some("ZJUT"), None).await;
    let coordinator = app
        .staff(Role::BaseCoordinator, None, Some(id(&base)))
        .await;
    let (_, student) = app
        .create_student(&university, "Z1", "Wang Fang", "0855", Some(80.0))
        .await;
    vec![
        ("university admin", officer),
        ("base coordinator", coordinator),
        ("student", student),
    ]
}

#[tokio::test]
async fn the_alliance_admin_adds_universities_and_programs_that_everyone_can_read() {
    let app = spawn_app().await;
    let usst = app.create_university("USST").await;
    assert_eq!(usst["code"], "USST");
    let program = app.create_program("0854").await;
    assert_eq!(program["code"], "0854");
    let roles = other_roles(&app).await;

    for (_, token) in &roles {
        let universities =
            expect_json(app.get("/api/v1/universities", token).await, StatusCode::OK).await;
        assert_eq!(universities["total"], 2);
        let programs = expect_json(
            app.get("/api/v1/programs?limit=1", token).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(programs["total"], 2);
        assert_eq!(programs["limit"], 1);
        assert_eq!(programs["items"].as_array().map(Vec::len), Some(1));
    }
    let second_page = expect_json(
        app.get("/api/v1/programs?limit=1&offset=1", &app.admin)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(second_page["items"][0]["code"], "0855");
}

#[tokio::test]
async fn only_the_alliance_admin_writes_reference_data() {
    let app = spawn_app().await;
    let usst = app.create_university("USST").await;
    let roles = other_roles(&app).await;
    let base_body = json!({
        "name": "Any", "organisation": "Any", "city": "Wuxi", "host_university_id": usst["id"],
        "program_codes": ["0855"], "coordinator_email": "c@bases.test"
    });
    for (role, token) in &roles {
        for (path, body) in [
            (
                "/api/v1/universities",
                json!({"code": "NEW", "name": "New"}),
            ),
            ("/api/v1/programs", json!({"code": "0862", "name": "New"})),
            ("/api/v1/bases", base_body.clone()),
            (
                "/api/v1/cycles",
                json!({"name": "x", "applications_open_at": "2027-01-01T00:00:00Z",
                       "applications_close_at": "2027-02-01T00:00:00Z", "max_preferences": 3,
                       "starts_on": "2027-07-01", "ends_on": "2027-08-01"}),
            ),
        ] {
            let response = app.post(path, token, body).await;
            assert_eq!(
                response.status(),
                StatusCode::FORBIDDEN,
                "{role} POST {path}"
            );
        }
    }
    let universities = expect_json(
        app.get("/api/v1/universities", &app.admin).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(universities["total"], 2, "nothing was added");
}

#[tokio::test]
async fn bad_reference_data_is_refused_with_the_field_at_fault() {
    let app = spawn_app().await;
    app.create_university("USST").await;
    let problem = expect_problem(
        app.post(
            "/api/v1/universities",
            &app.admin,
            json!({"code": "USST", "name": "Again"}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(problem_type(&problem), "university-code-taken");
    assert!(problem["detail"].as_str().unwrap_or("").contains("USST"));
    let problem = expect_problem(
        app.post(
            "/api/v1/universities",
            &app.admin,
            json!({"code": "a b", "name": "  "}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields_at_fault(&problem), vec!["code", "name"]);
    let problem = expect_problem(
        app.post(
            "/api/v1/programs",
            &app.admin,
            json!({"code": "0854", "name": "x", "colour": "red"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(problem["detail"].as_str().unwrap_or("").contains("colour"));
    let malformed = app
        .request(Method::POST, "/api/v1/programs", Some(&app.admin))
        .header("content-type", "application/json")
        .body("{\"code\": ")
        .send()
        .await
        .expect("sent");
    expect_problem(malformed, StatusCode::BAD_REQUEST).await;
    let not_json = app
        .request(Method::POST, "/api/v1/programs", Some(&app.admin))
        .header("content-type", "text/plain")
        .body("code=0854")
        .send()
        .await
        .expect("sent");
    expect_problem(not_json, StatusCode::BAD_REQUEST).await;
    let huge = app
        .request(Method::POST, "/api/v1/programs", Some(&app.admin))
        .header("content-type", "application/json")
        .body(format!(
            "{{\"code\": \"0854\", \"name\": \"{}\"}}",
            "x".repeat(300 * 1024)
        ))
        .send()
        .await
        .expect("sent");
    expect_problem(huge, StatusCode::PAYLOAD_TOO_LARGE).await;
    let bad_page = app.get("/api/v1/programs?limit=5000", &app.admin).await;
    expect_problem(bad_page, StatusCode::BAD_REQUEST).await;
    let programs = expect_json(
        app.get("/api/v1/programs", &app.admin).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(programs["total"], 0, "nothing was stored");
}

#[tokio::test]
async fn bases_are_created_changed_and_found_by_their_filters() {
    let app = spawn_app().await;
    let usst = app.create_university("USST").await;
    let ujs = app.create_university("UJS").await;
    app.create_program("0854").await;
    app.create_program("0858").await;
    let lingang = app
        .create_base("Lingang Lab", "Shanghai", &usst, &["0854", "0858"])
        .await;
    assert_eq!(lingang["program_codes"], json!(["0854", "0858"]));
    assert_eq!(lingang["active"], true);
    let zhenjiang = app
        .create_base("Zhenjiang Power", "Zhenjiang", &ujs, &["0858"])
        .await;

    let by_program = expect_json(
        app.get("/api/v1/bases?program=0854", &app.admin).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(by_program["total"], 1);
    assert_eq!(by_program["items"][0]["id"], lingang["id"]);
    let by_city = expect_json(
        app.get("/api/v1/bases?city=Zhenjiang", &app.admin).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(by_city["items"][0]["id"], zhenjiang["id"]);
    let by_host = expect_json(
        app.get("/api/v1/bases?host_university=UJS", &app.admin)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(by_host["total"], 1);

    let cycle = app.create_open_cycle("2027 summer", 3).await;
    app.set_seats(&cycle, &lingang, 2).await;
    app.set_seats(&cycle, &zhenjiang, 0).await;
    let in_cycle = expect_json(
        app.get(&format!("/api/v1/bases?cycle={}", id(&cycle)), &app.admin)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(in_cycle["total"], 2);
    let free = expect_json(
        app.get(
            &format!("/api/v1/bases?cycle={}&has_free_seats=true", id(&cycle)),
            &app.admin,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(free["total"], 1);
    assert_eq!(free["items"][0]["id"], lingang["id"]);

    let path = format!("/api/v1/bases/{}", id(&zhenjiang));
    let changed = expect_json(
        app.patch(
            &path,
            &app.admin,
            json!({"active": false, "program_codes": ["0854"], "coordinator_name": "赵老师"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(changed["active"], false);
    assert_eq!(changed["program_codes"], json!(["0854"]));
    assert_eq!(changed["coordinator_name"], "赵老师");
    let fetched = expect_json(app.get(&path, &app.admin).await, StatusCode::OK).await;
    assert_eq!(fetched["coordinator_name"], "赵老师");
}

#[tokio::test]
async fn bad_bases_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let usst = app.create_university("USST").await;
    app.create_program("0854").await;
    let base = app
        .create_base("Lingang Lab", "Shanghai", &usst, &["0854"])
        .await;
    let problem = expect_problem(
        app.post(
            "/api/v1/bases",
            &app.admin,
            json!({"name": "X", "organisation": "X", "city": "Wuxi", "host_university_id": usst["id"],
                   "program_codes": ["0854", "9999"], "coordinator_email": "not-an-email"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields_at_fault(&problem), vec!["coordinator_email"]);
    let problem = expect_problem(
        app.post(
            "/api/v1/bases",
            &app.admin,
            json!({"name": "X", "organisation": "X", "city": "Wuxi", "host_university_id": usst["id"],
                   "program_codes": ["0854", "9999"], "coordinator_email": "x@bases.test"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields_at_fault(&problem), vec!["program_codes[1]"]);
    let problem = expect_problem(
        app.post(
            "/api/v1/bases",
            &app.admin,
            json!({"name": "X", "organisation": "X", "city": "Wuxi",
                   "host_university_id": "6f1c1f5e-0000-4000-8000-000000000000",
                   "program_codes": ["0854"], "coordinator_email": "x@bases.test"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields_at_fault(&problem), vec!["host_university_id"]);
    let path = format!("/api/v1/bases/{}", id(&base));
    expect_problem(
        app.patch(&path, &app.admin, json!({"active": "yes"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    expect_problem(
        app.patch(&path, &app.admin, json!({"program_codes": []}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    expect_problem(
        app.get("/api/v1/bases/not-a-uuid", &app.admin).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    expect_problem(
        app.get(
            "/api/v1/bases/6f1c1f5e-0000-4000-8000-000000000000",
            &app.admin,
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    expect_problem(
        app.get("/api/v1/bases?program=9999", &app.admin).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    let listed = expect_json(app.get("/api/v1/bases", &app.admin).await, StatusCode::OK).await;
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["items"][0]["program_codes"], json!(["0854"]));
    let roles = other_roles(&app).await;
    for (role, token) in &roles {
        let response = app.patch(&path, token, json!({"active": false})).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{role}");
    }
}

async fn seats_of(app: &TestApp, cycle: &Value, token: &str) -> Value {
    expect_json(
        app.get(&format!("/api/v1/cycles/{}/seats", id(cycle)), token)
            .await,
        StatusCode::OK,
    )
    .await
}

#[tokio::test]
async fn cycles_are_opened_changed_and_given_seats() {
    let app = spawn_app().await;
    let usst = app.create_university("USST").await;
    app.create_program("0854").await;
    let base = app
        .create_base("Lingang Lab", "Shanghai", &usst, &["0854"])
        .await;
    let other_base = app
        .create_base("Pudong Fab", "Shanghai", &usst, &["0854"])
        .await;
    let cycle = app.create_open_cycle("2027 summer", 3).await;
    assert_eq!(cycle["phase"], "open");
    let path = format!("/api/v1/cycles/{}", id(&cycle));
    let changed = expect_json(
        app.patch(&path, &app.admin, json!({"max_preferences": 5}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(changed["max_preferences"], 5);
    let problem = expect_problem(
        app.patch(
            &path,
            &app.admin,
            json!({"applications_close_at": "2000-01-01T00:00:00Z"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields_at_fault(&problem), vec!["applications_close_at"]);
    let problem = expect_problem(
        app.post(
            "/api/v1/cycles",
            &app.admin,
            json!({"name": "bad", "applications_open_at": "2027-01-01T00:00:00Z",
                   "applications_close_at": "2026-01-01T00:00:00Z", "max_preferences": 0,
                   "starts_on": "2027-07-01", "ends_on": "2027-06-01"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields_at_fault(&problem), vec!["max_preferences"]);
    let problem = expect_problem(
        app.post(
            "/api/v1/cycles",
            &app.admin,
            json!({"name": "bad", "applications_open_at": "2027-01-01T00:00:00Z",
                   "applications_close_at": "2026-01-01T00:00:00Z", "max_preferences": 2,
                   "starts_on": "2027-07-01", "ends_on": "2027-06-01"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        fields_at_fault(&problem),
        vec!["applications_close_at", "ends_on"]
    );
    let fetched = expect_json(app.get(&path, &app.admin).await, StatusCode::OK).await;
    assert_eq!(
        fetched["max_preferences"], 5,
        "refused changes changed nothing"
    );

    let coordinator = app
        .staff(Role::BaseCoordinator, None, Some(id(&base)))
        .await;
    let seats_path = format!("/api/v1/cycles/{}/seats/{}", id(&cycle), id(&base));
    let seats = expect_json(
        app.put(&seats_path, &coordinator, json!({"seats": 4}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(seats["seats"], 4);
    assert_eq!(seats["free"], 4);
    assert_eq!(seats["offered"], 0);
    let other_path = format!("/api/v1/cycles/{}/seats/{}", id(&cycle), id(&other_base));
    expect_problem(
        app.put(&other_path, &coordinator, json!({"seats": 4}))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let problem = expect_problem(
        app.put(&seats_path, &coordinator, json!({"seats": -1}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields_at_fault(&problem), vec!["seats"]);
    expect_problem(
        app.put(&seats_path, &coordinator, json!({"seats": 10001}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let unknown_cycle = format!(
        "/api/v1/cycles/6f1c1f5e-0000-4000-8000-000000000000/seats/{}",
        id(&base)
    );
    expect_problem(
        app.put(&unknown_cycle, &app.admin, json!({"seats": 1}))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    app.set_seats(&cycle, &other_base, 0).await;

    let roles = other_roles(&app).await;
    for (role, token) in &roles {
        let listing = seats_of(&app, &cycle, token).await;
        assert_eq!(listing["total"], 2, "{role} reads seats");
        let response = app.put(&other_path, token, json!({"seats": 9})).await;
        assert_eq!(
            response.status(),
            StatusCode::FORBIDDEN,
            "{role} may not set another base's seats"
        );
        let response = app.patch(&path, token, json!({"max_preferences": 2})).await;
        assert_eq!(
            response.status(),
            StatusCode::FORBIDDEN,
            "{role} may not change a cycle"
        );
    }
    let listing = seats_of(&app, &cycle, &app.admin).await;
    let lingang = listing["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["base_id"] == base["id"]).cloned())
        .expect("listed");
    assert_eq!(lingang["seats"], 4);
    let free_only = expect_json(
        app.get(
            &format!("/api/v1/cycles/{}/seats?has_free_seats=true", id(&cycle)),
            &app.admin,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(free_only["total"], 1);
}

#[tokio::test]
async fn a_code_or_name_in_use_is_refused_as_taken() {
    let app = spawn_app().await;
    app.create_program("0854").await;
    let problem = expect_problem(
        app.post(
            "/api/v1/programs",
            &app.admin,
            json!({"code": "0854", "name": "Again"}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(problem_type(&problem), "program-code-taken");
    let cycle = app.create_open_cycle("2027 summer", 3).await;
    let problem = expect_problem(
        app.post(
            "/api/v1/cycles",
            &app.admin,
            json!({
                "name": "2027 summer",
                "applications_open_at": cycle["applications_open_at"],
                "applications_close_at": cycle["applications_close_at"],
                "max_preferences": 3,
                "starts_on": "2027-07-01",
                "ends_on": "2027-08-31",
            }),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(problem_type(&problem), "cycle-name-taken");
}

#[tokio::test]
async fn a_whole_number_written_with_a_zero_fraction_is_taken_and_a_fraction_is_refused() {
    let app = spawn_app().await;
    let university = app.create_university("NBUT").await;
    app.create_program("0856").await;
    let base = app
        .create_base("Beilun Port", "Ningbo", &university, &["0856"])
        .await;
    let cycle = app.create_open_cycle("2031 summer", 5).await;
    let seats_path = format!("/api/v1/cycles/{}/seats/{}", id(&cycle), id(&base));

    let seats = expect_json(
        app.put(&seats_path, &app.admin, json!({"seats": 12.0}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(seats["seats"], 12);

    let problem = expect_problem(
        app.put(&seats_path, &app.admin, json!({"seats": 12.5}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields_at_fault(&problem), vec!["seats"]);
    let listed = expect_json(
        app.get(&format!("/api/v1/cycles/{}/seats", id(&cycle)), &app.admin)
            .await,
        StatusCode::OK,
    )
    .await;
    let kept = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|item| item["base_id"] == base["id"])
        .expect("the base's seats");
    assert_eq!(kept["seats"], 12, "{listed}");
}
