//! Free text in any script is kept as typed (trimmed, composed); control characters,
//! direction overrides and invisible-only text are refused, naming the field.

use crate::helpers::*;
use crate::matching::{run_match, small_cycle};
use reqwest::StatusCode;
use serde_json::{json, Value};

const HOSTILE: [&str; 7] = [
    "Null\u{0}Byte",
    "Bell\u{7}",
    "Red\u{1b}[31m",
    "Next\u{85}Line",
    "Two\nLines",
    "invoice\u{202E}fdp.exe",
    "\u{200B}\u{2060}\u{3164}",
];

async fn refused_field(app: &TestApp, path: &str, body: Value) -> Vec<String> {
    let problem = expect_problem(
        app.post(path, &app.admin, body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    fields_at_fault(&problem)
}

#[tokio::test]
async fn names_in_every_script_are_kept_and_hostile_ones_refused() {
    let app = spawn_app().await;
    for name in HOSTILE {
        assert_eq!(
            refused_field(
                &app,
                "/api/v1/universities",
                json!({"code": "USST", "name": name})
            )
            .await,
            vec!["name"],
            "{name:?}"
        );
        assert_eq!(
            refused_field(
                &app,
                "/api/v1/programs",
                json!({"code": "0854", "name": name})
            )
            .await,
            vec!["name"],
            "{name:?}"
        );
    }
    let universities = expect_json(
        app.get("/api/v1/universities", &app.admin).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(universities["total"], 0, "nothing refused was stored");

    let usst = expect_json(
        app.post(
            "/api/v1/universities",
            &app.admin,
            json!({"code": "USST", "name": "  上海理工大学 🎓 "}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(usst["name"], "上海理工大学 🎓", "trimmed");
    app.create_program("0854").await;
    for (number, name, kept) in [
        ("n1", "欧阳娜娜", "欧阳娜娜"),
        ("n2", "Zoe\u{0308} O'Brien-Smith", "Zoë O'Brien-Smith"),
        ("n3", "محمد بن سلمان", "محمد بن سلمان"),
        ("n4", "Nguyễn Thị Minh Khai", "Nguyễn Thị Minh Khai"),
        ("n5", "李👩‍🔬", "李👩‍🔬"),
    ] {
        let (student, _) = app.create_student(&usst, number, name, "0854", None).await;
        assert_eq!(student["name"], kept, "stored composed (NFC)");
    }
    let student = |name: &str| {
        json!({"university_id": usst["id"], "student_number": "n9", "name": name,
               "email": "n9@students.test", "program_code": "0854", "cohort_year": 2026})
    };
    for name in HOSTILE {
        assert_eq!(
            refused_field(&app, "/api/v1/students", student(name)).await,
            vec!["name"]
        );
    }
    let base = |city: &str| {
        json!({"name": "Park", "organisation": "Park Group", "city": city,
               "host_university_id": usst["id"], "program_codes": ["0854"],
               "coordinator_email": "park@bases.test", "coordinator_name": "Wang\u{2066}Wei"})
    };
    assert_eq!(
        refused_field(&app, "/api/v1/bases", base("Su\u{0}zhou")).await,
        vec!["city", "coordinator_name"]
    );
}

#[tokio::test]
async fn a_decline_reason_may_span_lines_but_not_hide_controls() {
    let app = spawn_app().await;
    let setup = small_cycle(&app).await;
    let run = run_match(&app, &setup.cycle, 1).await;
    app.publish(&run).await;
    let page = expect_json(
        app.get("/api/v1/placements", &setup.students["s2"].1).await,
        StatusCode::OK,
    )
    .await;
    let decline = format!("/api/v1/placements/{}/decline", id(&page["items"][0]));
    for reason in ["full\u{1b}[2J", "full\u{202D}", "\u{200B}"] {
        let problem = expect_problem(
            app.post(
                &decline,
                &setup.coordinators["C"],
                json!({"reason": reason}),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(fields_at_fault(&problem), vec!["reason"]);
    }
    let declined = expect_json(
        app.post(
            &decline,
            &setup.coordinators["C"],
            json!({"reason": " 名额已满。\nThe base is full. "}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(declined["decline_reason"], "名额已满。\nThe base is full.");
}
