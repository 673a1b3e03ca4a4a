use crate::helpers::*;
use placemat::domain::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

struct Alliance {
    usst: Value,
    ujs: Value,
    usst_officer: String,
    ujs_officer: String,
    coordinator: String,
}

async fn alliance(app: &TestApp) -> Alliance {
    let usst = app.create_university("USST").await;
    let ujs = app.create_university("UJS").await;
    app.create_program("0854").await;
    app.create_program("0860").await;
    let base = app
        .create_base("Lingang Lab", "Shanghai", &usst, &["0854"])
        .await;
    Alliance {
        usst_officer: app.staff(Role::UniversityAdmin, Some("USST"), None).await,
        ujs_officer: app.staff(Role::UniversityAdmin, Some("UJS"), None).await,
        coordinator: app
            .staff(Role::BaseCoordinator, None, Some(id(&base)))
            .await,
        usst,
        ujs,
    }
}

async fn import(app: &TestApp, token: &str, csv: &str) -> reqwest::Response {
    app.request(Method::POST, "/api/v1/students/import", Some(token))
        .header("content-type", "text/csv; charset=utf-8")
        .body(csv.to_owned())
        .send()
        .await
        .expect("sent")
}

#[tokio::test]
async fn a_placement_officer_adds_a_student_who_can_then_sign_in() {
    let app = spawn_app().await;
    let alliance = alliance(&app).await;
    let response = app
        .post(
            "/api/v1/students",
            &alliance.usst_officer,
            json!({"student_number": "2026-0001", "name": "欧阳娜娜", "email": "Nana@Students.test",
                   "program_code": "0854", "cohort_year": 2026, "score": 91.5}),
        )
        .await;
    let student = expect_json(response, StatusCode::CREATED).await;
    assert_eq!(
        student["university_id"], alliance.usst["id"],
        "defaults to the officer's university"
    );
    assert_eq!(student["name"], "欧阳娜娜");
    assert_eq!(student["email"], "nana@students.test");
    assert_eq!(student["program_code"], "0854");
    let password = student["initial_password"]
        .as_str()
        .expect("a generated password, shown once");

    let token = app.login("nana@students.test", password).await;
    let me = expect_json(app.get("/api/v1/me", &token).await, StatusCode::OK).await;
    assert_eq!(me["student_id"], student["id"]);
    let own = expect_json(
        app.get(&format!("/api/v1/students/{}", id(&student)), &token)
            .await,
        StatusCode::OK,
    )
    .await;
    assert!(
        own.get("initial_password").is_none(),
        "the password is never shown again"
    );
}

#[tokio::test]
async fn students_are_seen_and_changed_only_within_their_university() {
    let app = spawn_app().await;
    let alliance = alliance(&app).await;
    let (usst_student, usst_token) = app
        .create_student(&alliance.usst, "U1", "Li Lei", "0854", Some(70.0))
        .await;
    let (ujs_student, ujs_token) = app
        .create_student(&alliance.ujs, "J1", "Han Meimei", "0860", None)
        .await;
    let usst_path = format!("/api/v1/students/{}", id(&usst_student));

    let listing = expect_json(
        app.get("/api/v1/students", &alliance.usst_officer).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listing["total"], 1);
    assert_eq!(listing["items"][0]["id"], usst_student["id"]);
    let all = expect_json(
        app.get("/api/v1/students", &app.admin).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(all["total"], 2);
    let filtered = expect_json(
        app.get("/api/v1/students?program=0860&q=Han", &app.admin)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(filtered["total"], 1);
    assert_eq!(filtered["items"][0]["id"], ujs_student["id"]);
    let any_case = expect_json(
        app.get("/api/v1/students?program=0860&q=hAN", &app.admin)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        any_case["items"][0]["id"], ujs_student["id"],
        "the search ignores case on every backend"
    );
    let by_email = expect_json(
        app.get("/api/v1/students?q=J1%40students", &app.admin)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(by_email["total"], 1, "the search reads emails too");
    assert_eq!(by_email["items"][0]["id"], ujs_student["id"]);

    expect_problem(
        app.get(&usst_path, &alliance.ujs_officer).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    expect_problem(app.get(&usst_path, &ujs_token).await, StatusCode::NOT_FOUND).await;
    expect_problem(
        app.get(&usst_path, &alliance.coordinator).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    expect_problem(
        app.get(
            &format!("/api/v1/students?university={}", id(&alliance.ujs)),
            &alliance.usst_officer,
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    for token in [&alliance.coordinator, &usst_token] {
        expect_problem(
            app.get("/api/v1/students", token).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        expect_problem(
            app.patch(&usst_path, token, json!({"name": "X"})).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        expect_problem(
            app.post(
                "/api/v1/students",
                token,
                json!({"student_number": "X1", "name": "X", "email": "x@students.test", "program_code": "0854", "cohort_year": 2026}),
            )
            .await,
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    expect_problem(
        app.patch(&usst_path, &alliance.ujs_officer, json!({"name": "X"}))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    expect_problem(
        app.post(
            "/api/v1/students",
            &alliance.ujs_officer,
            json!({"university_id": alliance.usst["id"], "student_number": "X1", "name": "X",
                   "email": "x@students.test", "program_code": "0854", "cohort_year": 2026}),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;

    let changed = expect_json(
        app.patch(
            &usst_path,
            &alliance.usst_officer,
            json!({"name": "李雷", "score": null, "email": "lilei@students.test"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(changed["name"], "李雷");
    assert_eq!(changed["score"], Value::Null);
    app.login("lilei@students.test", PASSWORD).await;
    let unchanged = expect_json(
        app.get(
            &format!("/api/v1/students/{}", id(&ujs_student)),
            &app.admin,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(unchanged["name"], "Han Meimei");
}

#[tokio::test]
async fn bad_students_are_refused_with_the_fields_at_fault() {
    let app = spawn_app().await;
    let alliance = alliance(&app).await;
    app.create_student(&alliance.usst, "U1", "Li Lei", "0854", None)
        .await;
    let problem = expect_problem(
        app.post(
            "/api/v1/students",
            &alliance.usst_officer,
            json!({"student_number": "bad number!", "name": "", "email": "nope", "program_code": "0854",
                   "cohort_year": 1900, "score": 101}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        fields_at_fault(&problem),
        vec!["cohort_year", "email", "name", "score", "student_number"]
    );
    let problem = expect_problem(
        app.post(
            "/api/v1/students",
            &alliance.usst_officer,
            json!({"student_number": "U2", "name": "X", "email": "u2@students.test", "program_code": "9999", "cohort_year": 2026}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields_at_fault(&problem), vec!["program_code"]);
    let problem = expect_problem(
        app.post(
            "/api/v1/students",
            &alliance.usst_officer,
            json!({"student_number": "U2", "name": "X", "email": "u2@students.test", "cohort_year": 2026}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields_at_fault(&problem), vec!["program_code"]);
    let problem = expect_problem(
        app.post(
            "/api/v1/students",
            &alliance.usst_officer,
            json!({"student_number": "U1", "name": "Again", "email": "u1@students.test", "program_code": "0854", "cohort_year": 2026}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(problem_type(&problem), "email-taken");
    assert!(problem["detail"].as_str().unwrap_or("").contains("email"));
    assert!(problem["detail"]
        .as_str()
        .unwrap_or("")
        .contains("student_number"));
    let problem = expect_problem(
        app.post(
            "/api/v1/students",
            &alliance.usst_officer,
            json!({"student_number": "U1", "name": "Again", "email": "someone.else@students.test", "program_code": "0854", "cohort_year": 2026}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(problem_type(&problem), "student-number-taken");
    let listing = expect_json(
        app.get("/api/v1/students", &app.admin).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listing["total"], 1, "nothing was added");
    expect_problem(
        app.get("/api/v1/students/123", &app.admin).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
}

#[tokio::test]
async fn an_officer_imports_a_class_from_csv() {
    let app = spawn_app().await;
    let alliance = alliance(&app).await;
    let csv = "\u{feff}student_number,name,email,program_code,cohort_year,score,password\n\
               2026001,张伟,zhangwei@students.test,0854,2026,88.5,\n\
               2026002,王芳,wangfang@students.test,0860,2026,,a-long-password\n";
    let result = expect_json(
        import(&app, &alliance.usst_officer, csv).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(result["created"], 2);
    assert!(
        result["students"][0].get("initial_password").is_none(),
        "a student imported without a password chooses one through its invitation"
    );
    assert!(result["students"][1].get("initial_password").is_none());
    app.login("wangfang@students.test", "a-long-password").await;
    let guessed = app
        .request(Method::POST, "/api/v1/auth/login", None)
        .json(&json!({"email": "zhangwei@students.test", "password": "a-guessed-password"}))
        .send()
        .await
        .expect("sent");
    expect_problem(guessed, StatusCode::UNAUTHORIZED).await;
    let listing = expect_json(
        app.get("/api/v1/students?q=王", &alliance.usst_officer)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listing["total"], 1);
    assert_eq!(listing["items"][0]["university_id"], alliance.usst["id"]);
}

#[tokio::test]
async fn an_import_past_ten_thousand_rows_is_refused_whole() {
    let app = spawn_app().await;
    let alliance = alliance(&app).await;
    let mut csv = String::from("student_number,name,email,program_code,cohort_year\n");
    for n in 0..10_001 {
        csv.push_str(&format!("N{n},Student {n},n{n}@students.test,0854,2026\n"));
    }
    let problem = expect_problem(
        import(&app, &alliance.usst_officer, &csv).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields_at_fault(&problem), vec!["body"]);
    let listing = expect_json(
        app.get("/api/v1/students", &app.admin).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listing["total"], 0, "no row was imported");
}

#[tokio::test]
async fn an_import_with_bad_rows_names_them_and_imports_nothing() {
    let app = spawn_app().await;
    let alliance = alliance(&app).await;
    app.create_student(&alliance.usst, "2026001", "Li Lei", "0854", None)
        .await;
    let csv = "student_number,name,email,program_code,cohort_year,score\n\
               2026010,Good Row,good@students.test,0854,2026,70\n\
               2026001,Taken Number,taken@students.test,0854,2026,70\n\
               2026011,Bad Program,bad@students.test,9999,2026,\n\
               2026012,Bad Year,year@students.test,0854,soon,\n\
               2026013,Twice,good@students.test,0854,2026,\n";
    let problem = expect_problem(
        import(&app, &alliance.usst_officer, csv).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let fields = fields_at_fault(&problem);
    assert!(
        fields.contains(&"row 5: cohort_year".to_owned()),
        "{fields:?}"
    );
    assert!(fields.contains(&"row 6: email".to_owned()), "{fields:?}");
    let problem = expect_problem(
        import(
            &app,
            &alliance.usst_officer,
            &csv.replace("soon", "2026")
                .replace("2026013,Twice,good@", "2026013,Twice,twice@"),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let fields = fields_at_fault(&problem);
    assert_eq!(fields, vec!["row 3: student_number", "row 4: program_code"]);
    let listing = expect_json(
        app.get("/api/v1/students", &app.admin).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listing["total"], 1, "no row was imported");

    expect_problem(
        import(&app, &alliance.usst_officer, "student_number,name\n").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let csv_for_ujs = format!(
        "university_id,student_number,name,email,program_code,cohort_year\n{},J1,X,j1@students.test,0854,2026\n",
        id(&alliance.ujs)
    );
    let problem = expect_problem(
        import(&app, &alliance.usst_officer, &csv_for_ujs).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields_at_fault(&problem), vec!["row 2: university_id"]);
    for token in [&alliance.coordinator] {
        expect_problem(
            import(&app, token, &csv_for_ujs).await,
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    let as_json = app
        .post("/api/v1/students/import", &alliance.usst_officer, json!({}))
        .await;
    expect_problem(as_json, StatusCode::BAD_REQUEST).await;
}

#[tokio::test]
async fn a_search_finds_percent_signs_and_underscores_literally() {
    let app = spawn_app().await;
    let usst = app.create_university("USST").await;
    app.create_program("0854").await;
    for (number, name) in [
        ("p-1", "Li 100%"),
        ("p-2", "Wang_Wei"),
        ("p-3", "Zhang Wei"),
        ("p-4", "Back\\slash"),
    ] {
        app.create_student(&usst, number, name, "0854", None).await;
    }
    for (query, expected) in [
        ("%25", vec!["Li 100%"]),
        ("_", vec!["Wang_Wei"]),
        ("g_W", vec!["Wang_Wei"]),
        ("%5C", vec!["Back\\slash"]),
        ("Wei", vec!["Wang_Wei", "Zhang Wei"]),
        ("%25%25", vec![]),
    ] {
        let found = expect_json(
            app.get(&format!("/api/v1/students?q={query}"), &app.admin)
                .await,
            StatusCode::OK,
        )
        .await;
        let mut names: Vec<&str> = found["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|s| s["name"].as_str())
            .collect();
        names.sort();
        assert_eq!(names, expected, "q={query}");
    }
}

/// The `.eml` files written so far that mention `text`.
fn emails_mentioning(app: &TestApp, text: &str) -> usize {
    std::fs::read_dir(&app.mail_dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|entry| {
                    std::fs::read_to_string(entry.path())
                        .map(|raw| raw.contains(text))
                        .unwrap_or(false)
                })
                .count()
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn a_student_added_without_a_password_is_invited_and_the_officer_can_invite_again() {
    let (app, worker) = spawn_app_delivering_on_demand(|_| {}).await;
    let world = alliance(&app).await;
    let created = app
        .post(
            "/api/v1/students",
            &world.usst_officer,
            json!({"student_number": "I-001", "name": "Invited One",
                   "email": "invited.one@students.test", "program_code": "0854",
                   "cohort_year": 2026}),
        )
        .await;
    let student = expect_json(created, StatusCode::CREATED).await;
    worker.run_pass().await.expect("a delivery pass");
    assert_eq!(emails_mentioning(&app, "invited.one@students.test"), 1);

    let imported = import(
        &app,
        &world.usst_officer,
        "student_number,name,email,program_code,cohort_year,password\n\
         I-002,Invited Two,invited.two@students.test,0854,2026,\n\
         I-003,Chosen Three,chosen.three@students.test,0854,2026,a chosen password\n",
    )
    .await;
    expect_json(imported, StatusCode::CREATED).await;
    worker.run_pass().await.expect("a delivery pass");
    assert_eq!(emails_mentioning(&app, "invited.two@students.test"), 1);

    let path = format!("/api/v1/students/{}/invitation", id(&student));
    let resent = app.post(&path, &world.usst_officer, json!({})).await;
    assert_eq!(resent.status(), StatusCode::ACCEPTED);
    let by_admin = app.post(&path, &app.admin, json!({})).await;
    assert_eq!(by_admin.status(), StatusCode::ACCEPTED);
    worker.run_pass().await.expect("a delivery pass");
    assert_eq!(emails_mentioning(&app, "invited.one@students.test"), 3);
    assert_eq!(
        emails_mentioning(&app, "chosen.three@students.test"),
        0,
        "a student with a chosen password gets no invitation"
    );
}

#[tokio::test]
async fn only_the_students_university_and_the_alliance_may_resend_an_invitation() {
    let app = spawn_app().await;
    let world = alliance(&app).await;
    let (student, student_token) = app
        .create_student(&world.usst, "R-001", "Resend Me", "0854", None)
        .await;
    let path = format!("/api/v1/students/{}/invitation", id(&student));
    let other_university = app.post(&path, &world.ujs_officer, json!({})).await;
    expect_problem(other_university, StatusCode::NOT_FOUND).await;
    let coordinator = app.post(&path, &world.coordinator, json!({})).await;
    expect_problem(coordinator, StatusCode::FORBIDDEN).await;
    let themselves = app.post(&path, &student_token, json!({})).await;
    expect_problem(themselves, StatusCode::FORBIDDEN).await;
    let anonymous = app
        .request(Method::POST, &path, None)
        .send()
        .await
        .expect("sent");
    expect_problem(anonymous, StatusCode::UNAUTHORIZED).await;
    let unknown = app
        .post(
            &format!("/api/v1/students/{}/invitation", uuid::Uuid::new_v4()),
            &app.admin,
            json!({}),
        )
        .await;
    expect_problem(unknown, StatusCode::NOT_FOUND).await;
    assert_eq!(emails_mentioning(&app, "r-001@students.test"), 0);
}
