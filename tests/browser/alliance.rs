//! The alliance admin's stories on the page `/alliance`: comparing and publishing match
//! runs, retrying a failed email, changing the cycle and its seats.

use super::helpers::{expect_json, id, spawn_app_delivering_on_demand, TestApp, PASSWORD};
use super::smtp::{Mode, SmtpServer};
use super::{
    browser, browser_slots, page_session, photograph, sign_in, with_cookie, world, ADMIN_EMAIL,
};
use placemat::domain::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The world's cycle and its base.
async fn cycle_and_base(app: &TestApp) -> (Value, Value) {
    let cycles = expect_json(app.get("/api/v1/cycles", &app.admin).await, StatusCode::OK).await;
    let bases = expect_json(app.get("/api/v1/bases", &app.admin).await, StatusCode::OK).await;
    let base = bases["items"]
        .as_array()
        .and_then(|all| all.iter().find(|b| b["name"] == "Cedar Micro Systems"))
        .cloned()
        .expect("the world's base");
    (cycles["items"][0].clone(), base)
}

async fn cycle_now(app: &TestApp, cycle: &Value) -> Value {
    let path = format!("/api/v1/cycles/{}", id(cycle));
    expect_json(app.get(&path, &app.admin).await, StatusCode::OK).await
}

/// The student lists the one base, through the API.
async fn apply(app: &TestApp, token: &str, cycle: &Value, base: &Value) {
    let path = format!("/api/v1/cycles/{}/applications/me", id(cycle));
    let response = app
        .put(&path, token, json!({"preferences": [base["id"]]}))
        .await;
    assert!(response.status().is_success(), "the student applies");
}

/// The cycle's runs as the API lists them, newest first.
async fn runs_of(app: &TestApp, cycle: &Value) -> Vec<Value> {
    let path = format!("/api/v1/cycles/{}/match-runs", id(cycle));
    let page = expect_json(app.get(&path, &app.admin).await, StatusCode::OK).await;
    page["items"].as_array().cloned().unwrap_or_default()
}

async fn run_with_seed(app: &TestApp, cycle: &Value, seed: i64) -> Value {
    let run = runs_of(app, cycle)
        .await
        .into_iter()
        .find(|run| run["seed"] == seed)
        .expect("the run of the seed");
    let path = format!("/api/v1/match-runs/{}", id(&run));
    expect_json(app.get(&path, &app.admin).await, StatusCode::OK).await
}

async fn placements_of(app: &TestApp, cycle: &Value) -> Value {
    let path = format!("/api/v1/placements?cycle={}", id(cycle));
    expect_json(app.get(&path, &app.admin).await, StatusCode::OK).await["total"].clone()
}

/// The visible text of an element.
async fn text_of(browser: &super::Browser, selector: &str) -> String {
    let text = browser
        .script(&format!(
            "const e = document.querySelector({selector:?}); return e ? e.innerText : '';"
        ))
        .await;
    text.as_str().unwrap_or_default().to_owned()
}

/// The rank chart of a run: its size, its accessible name and its bars as (label, count).
async fn chart_of(browser: &super::Browser, run: &Value) -> Value {
    browser
        .script(&format!(
            "const svg = document.querySelector('article[aria-labelledby=\"card-{run}\"] svg');\
             const box = svg.getBoundingClientRect();\
             const name = svg.getAttribute('aria-labelledby').split(' ')\
               .map(id => document.getElementById(id).textContent).join(' ');\
             const texts = Array.from(svg.querySelectorAll('text')).map(t => t.textContent);\
             const bars = [];\
             for (let i = 0; i + 1 < texts.length; i += 2) bars.push([texts[i], Number(texts[i + 1])]);\
             return {{width: box.width, height: box.height, name, bars}};",
            run = id(run)
        ))
        .await
}

#[tokio::test]
async fn the_admin_compares_runs_publishes_one_and_a_stale_or_late_publish_is_refused() {
    let _slot = browser_slots().acquire().await.expect("a slot");
    let Some(browser) = browser().await else {
        return;
    };
    let world = world().await;
    let app = &world.app;
    let (cycle, base) = cycle_and_base(app).await;
    app.set_seats(&cycle, &base, 1).await;
    let lin = app.login(&world.student_email, PASSWORD).await;
    let (_, zhou) = app
        .create_student(&world.university, "S002", "Zhou Min", "0854", Some(92.0))
        .await;
    apply(app, &lin, &cycle, &base).await;
    apply(app, &zhou, &cycle, &base).await;

    sign_in(&browser, app, ADMIN_EMAIL, PASSWORD).await;
    assert_eq!(browser.path().await, "/alliance");
    for seed in ["7", "8"] {
        browser.fill("Seed", seed).await;
        browser.button("Run the match").await.click().await;
        assert!(browser.text().await.contains("The match ran"));
    }
    for seed in [7, 8] {
        let run = run_with_seed(app, &cycle, seed).await;
        let row = text_of(&browser, &format!("#run-{}", id(&run))).await;
        let stats = &run["stats"];
        assert!(
            row.contains(&format!("{} matched", stats["matched"]))
                && row.contains(&format!("{} unmatched", stats["unmatched"])),
            "the run's numbers are the API's: {row} / {stats}"
        );
        let bundle = expect_json(
            app.get(
                &format!("/api/v1/match-runs/{}/bundle", id(&run)),
                &app.admin,
            )
            .await,
            StatusCode::OK,
        )
        .await;
        for digest in ["instance_sha256", "result_sha256"] {
            let digest = bundle["digests"][digest].as_str().unwrap_or_default();
            assert!(!digest.is_empty() && row.contains(digest), "{row}");
        }
        assert!(row.contains("Download bundle"), "{row}");
        let chart = chart_of(&browser, &run).await;
        assert!(
            chart["width"].as_f64() >= Some(80.0) && chart["height"].as_f64() >= Some(40.0),
            "{chart}"
        );
        assert!(chart["name"]
            .as_str()
            .unwrap_or_default()
            .contains(&seed.to_string()));
        let histogram = stats["rank_histogram"].as_object().expect("a histogram");
        for (rank, count) in histogram {
            let of_rank = |bar: &&Value| {
                let label = bar[0].as_str().unwrap_or_default();
                let digits: String = label.chars().take_while(char::is_ascii_digit).collect();
                digits == *rank && label.ends_with("choice")
            };
            let bar = chart["bars"]
                .as_array()
                .and_then(|bars| bars.iter().find(of_rank))
                .cloned()
                .expect("a bar per choice");
            assert_eq!(&bar[1], count, "the chart's count of choice {rank}");
        }
    }
    assert_eq!(runs_of(app, &cycle).await.len(), 2);
    photograph(&browser, "alliance").await;

    browser.link("Unmatched students").await.click().await;
    let unmatched = text_of(&browser, "#unmatched").await;
    assert!(
        unmatched.contains("Choice 1, Cedar Micro Systems:"),
        "the reason in words: {unmatched}"
    );
    photograph(&browser, "alliance-runs").await;

    app.set_seats(&cycle, &base, 1).await;
    browser.goto(&app.url("/alliance")).await;
    assert!(browser.text().await.contains("stale"));
    browser.button("Publish Seed 7").await.click().await;
    assert!(
        browser.text().await.contains("offer"),
        "the page says what happens"
    );
    browser.button("Publish the run").await.click().await;
    assert!(browser
        .text()
        .await
        .contains("The inputs changed after this run; run the match again before publishing."));
    assert!(cycle_now(app, &cycle).await["published_run_id"].is_null());

    browser.fill("Seed", "9").await;
    browser.button("Run the match").await.click().await;
    let fresh = run_with_seed(app, &cycle, 9).await;
    browser.button("Publish Seed 9").await.click().await;
    browser.button("Publish the run").await.click().await;
    assert!(browser.text().await.contains("The run is published"));
    let published = cycle_now(app, &cycle).await;
    assert_eq!(published["published_run_id"], fresh["id"]);
    assert_eq!(published["phase"], "published");
    assert_eq!(placements_of(app, &cycle).await, 1);
    // The published run's equity table: two applicants, so every count reads "<5".
    browser.goto(&app.url("/alliance")).await;
    let equity = text_of(&browser, "#equity").await;
    assert!(
        equity.contains("University USST") && equity.contains("<5"),
        "{equity}"
    );

    let late = run_with_seed(app, &cycle, 8).await;
    browser
        .goto(&app.url(&format!("/alliance/runs/{}/publish", id(&late))))
        .await;
    browser.button("Publish the run").await.click().await;
    assert!(browser
        .text()
        .await
        .contains("The match of this cycle is published"));
    assert_eq!(
        cycle_now(app, &cycle).await["published_run_id"],
        fresh["id"]
    );
    assert_eq!(placements_of(app, &cycle).await, 1, "nothing changed");
}

#[tokio::test]
async fn a_failed_email_shows_its_error_and_is_sent_after_retry() {
    let _slot = browser_slots().acquire().await.expect("a slot");
    let Some(browser) = browser().await else {
        return;
    };
    let smtp = SmtpServer::start();
    smtp.set_mode(Mode::Reject(550));
    let url = smtp.url();
    let (app, worker) = spawn_app_delivering_on_demand(|config| config.smtp_url = Some(url)).await;
    let usst = app.create_university("USST").await;
    app.create_program("0854").await;
    let base = app
        .create_base("Cedar Micro Systems", "Suzhou", &usst, &["0854"])
        .await;
    let cycle = app.create_open_cycle("2027 summer", 3).await;
    app.set_seats(&cycle, &base, 1).await;
    let (_, student) = app
        .create_student(&usst, "S001", "Lin Yue", "0854", Some(80.0))
        .await;
    apply(&app, &student, &cycle, &base).await;
    let path = format!("/api/v1/cycles/{}/match-runs", id(&cycle));
    let run = expect_json(
        app.post(&path, &app.admin, json!({"seed": 1})).await,
        StatusCode::CREATED,
    )
    .await;
    app.publish(&run).await;
    let coordinator = app
        .staff(Role::BaseCoordinator, None, Some(id(&base)))
        .await;
    let offers = expect_json(
        app.get("/api/v1/placements", &coordinator).await,
        StatusCode::OK,
    )
    .await;
    let confirmed = app
        .post(
            &format!("/api/v1/placements/{}/confirm", id(&offers["items"][0])),
            &coordinator,
            json!({}),
        )
        .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    worker.run_pass().await.expect("a delivery pass");

    sign_in(&browser, &app, ADMIN_EMAIL, PASSWORD).await;
    browser.link("Emails").await.click().await;
    let row = text_of(&browser, "#emails tbody tr").await;
    assert!(row.contains("failed") && row.contains("550"), "{row}");
    browser
        .script("document.getElementById('status-filter').value = 'failed'; return null;")
        .await;
    browser.button("Show").await.click().await;
    assert!(text_of(&browser, "#emails tbody").await.contains("failed"));
    photograph(&browser, "alliance-emails").await;

    smtp.set_mode(Mode::Accept);
    browser.button("Retry").await.click().await;
    assert!(browser.text().await.contains("back in the queue"));
    worker.run_pass().await.expect("a delivery pass");
    browser.goto(&app.url("/alliance?tab=emails")).await;
    let row = text_of(&browser, "#emails tbody tr").await;
    assert!(row.contains("sent") && !row.contains("Retry"), "{row}");
    assert_eq!(smtp.received().len(), 1, "the server got the email");
}

/// A cycle's close as the API tells it, in UTC.
fn close_of(cycle: &Value) -> chrono::DateTime<chrono::Utc> {
    cycle["applications_close_at"]
        .as_str()
        .and_then(|text| chrono::DateTime::parse_from_rfc3339(text).ok())
        .map(|at| at.with_timezone(&chrono::Utc))
        .expect("a close")
}

#[tokio::test]
async fn the_admin_changes_the_cycle_and_its_seats_and_a_close_before_the_opening_is_refused() {
    let _slot = browser_slots().acquire().await.expect("a slot");
    let Some(browser) = browser().await else {
        return;
    };
    let world = world().await;
    let app = &world.app;
    let (cycle, base) = cycle_and_base(app).await;
    sign_in(&browser, app, ADMIN_EMAIL, PASSWORD).await;
    browser.link("Cycles").await.click().await;
    assert!(browser.text().await.contains("2027 summer"));

    browser.fill("Preference limit", "7").await;
    browser
        .script("document.getElementById('edit-close').value = '2030-01-15T10:00'; return null;")
        .await;
    browser.button("Save cycle").await.click().await;
    assert!(browser.text().await.contains("The cycle is saved."));
    let saved = cycle_now(app, &cycle).await;
    assert_eq!(saved["max_preferences"], 7);
    assert_eq!(
        close_of(&saved).to_rfc3339(),
        "2030-01-15T02:00:00+00:00",
        "the time is read in the configured zone (Shanghai)"
    );

    browser.fill("Preference limit", "3").await;
    browser
        .script("document.getElementById('edit-close').value = '2020-01-01T08:00'; return null;")
        .await;
    browser.button("Save cycle").await.click().await;
    let close_field = text_of(&browser, "#edit-close-problem").await;
    assert_eq!(close_field, "The close must be after the opening.");
    let unchanged = cycle_now(app, &cycle).await;
    assert_eq!(unchanged["max_preferences"], 7, "nothing changed");
    assert_eq!(close_of(&unchanged), close_of(&saved));

    browser.fill("Cedar Micro Systems", "4").await;
    browser.button("Save seats").await.click().await;
    assert!(browser.text().await.contains("1 seats saved."));
    let path = format!("/api/v1/cycles/{}/seats?base={}", id(&cycle), id(&base));
    let seats = expect_json(app.get(&path, &app.admin).await, StatusCode::OK).await;
    assert_eq!(seats["items"][0]["seats"], 4);
    browser.fill("Cedar Micro Systems", "-1").await;
    browser.button("Save seats").await.click().await;
    assert!(browser.text().await.contains("Seats go from 0 to 10,000."));
    assert_eq!(browser.value_of("Cedar Micro Systems").await, "-1");
    photograph(&browser, "alliance-cycles").await;
}

#[tokio::test]
async fn a_post_without_its_token_changes_nothing_and_a_coordinator_is_turned_away() {
    let world = world().await;
    let app = &world.app;
    let (cycle, _) = cycle_and_base(app).await;
    let admin = page_session(app, ADMIN_EMAIL, PASSWORD).await;
    let forged = with_cookie(app, reqwest::Method::POST, "/alliance/runs", &admin.cookie)
        .await
        .form(&[("seed", "3")])
        .send()
        .await
        .expect("sent");
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(runs_of(app, &cycle).await.is_empty(), "no run was made");
    let edit = format!("/alliance/cycles/{}", id(&cycle));
    let forged = with_cookie(app, reqwest::Method::POST, &edit, &admin.cookie)
        .await
        .form(&[("limit", "9"), ("csrf_token", "wrong")])
        .send()
        .await
        .expect("sent");
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(cycle_now(app, &cycle).await["max_preferences"], 5);

    let coordinator = page_session(app, &world.coordinator_email, PASSWORD).await;
    let refused = with_cookie(
        app,
        reqwest::Method::GET,
        "/alliance?lang=en",
        &coordinator.cookie,
    )
    .await
    .send()
    .await
    .expect("sent");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused
        .text()
        .await
        .expect("a page")
        .contains("Not your page"));
}

/// What one chart of the statistics page shows, read off its SVG: its size, its accessible
/// name, its row labels, the numbers printed on its shapes (`rect + text`: a matrix's
/// cells), its figures (a bar's number or a stack's total) and a matrix's column headings.
async fn chart_on_page(browser: &super::Browser, id: &str) -> Value {
    browser
        .script(&format!(
            "const s = document.getElementById('{id}-title').closest('svg'); \
             const r = s.getBoundingClientRect(); \
             const texts = q => [...s.querySelectorAll(q)].map(t => t.textContent); \
             return {{w: r.width, h: r.height, name: document.getElementById('{id}-title').textContent, \
                     rows: texts('text.label'), shown: texts('rect + text'), \
                     bold: texts('text.figure'), columns: texts('text.column')}};"
        ))
        .await
}

/// The first word of a label: the university's code.
fn code_of(label: &Value) -> String {
    label
        .as_str()
        .and_then(|text| text.split_whitespace().next())
        .unwrap_or_default()
        .to_owned()
}

/// Each row of a bar chart as its label's code and its bold figure.
fn bold_figures(chart: &Value) -> Vec<(String, String)> {
    let rows = chart["rows"].as_array().expect("labels");
    let figures = chart["bold"].as_array().expect("figures");
    rows.iter()
        .map(code_of)
        .zip(
            figures
                .iter()
                .map(|f| f.as_str().unwrap_or_default().to_owned()),
        )
        .collect()
}

fn placed_in(row: &Value) -> i64 {
    ["offered", "confirmed", "completed"]
        .iter()
        .map(|name| row[*name].as_i64().expect("a count"))
        .sum()
}

#[tokio::test]
async fn the_alliance_charts_the_apis_numbers_across_universities_and_downloads_the_apis_files() {
    let _slot = browser_slots().acquire().await.expect("a slot");
    let Some(browser) = browser().await else {
        return;
    };
    let world = world().await;
    let app = &world.app;
    // A second university hosts a base that a student of each university lists, so that
    // students flow across universities.
    let (cycle, _) = cycle_and_base(app).await;
    let tju = app.create_university("TJU").await;
    let willow = app
        .create_base("Willow Test Labs", "Tianjin", &tju, &["0854"])
        .await;
    app.set_seats(&cycle, &willow, 3).await;
    let (_, tju_student) = app
        .create_student(&tju, "T001", "Guo Ning", "0854", Some(60.0))
        .await;
    let (_, usst_student) = app
        .create_student(&world.university, "S003", "Han Lei", "0854", Some(65.0))
        .await;
    for token in [&tju_student, &usst_student] {
        apply(app, token, &cycle, &willow).await;
    }
    let cycle = super::officer::published(&world).await;
    sign_in(&browser, app, ADMIN_EMAIL, PASSWORD).await;
    browser.link("Statistics").await.click().await;
    let stats_of = |group: &str, format: &str| {
        format!(
            "/api/v1/stats/placements?cycle={}&group_by={group}{format}",
            id(&cycle)
        )
    };
    let stats = |group: &'static str| {
        let path = stats_of(group, "");
        async move { expect_json(app.get(&path, &app.admin).await, StatusCode::OK).await }
    };

    let flow = chart_on_page(&browser, "chart-flow").await;
    assert!(flow["w"].as_f64().unwrap_or(0.0) >= 80.0, "{flow}");
    assert!(flow["h"].as_f64().unwrap_or(0.0) >= 40.0, "{flow}");
    assert!(!flow["name"].as_str().unwrap_or("").is_empty(), "{flow}");
    let columns: Vec<String> = flow["columns"]
        .as_array()
        .expect("headings")
        .iter()
        .map(code_of)
        .collect();
    let rows: Vec<String> = flow["rows"]
        .as_array()
        .expect("labels")
        .iter()
        .map(code_of)
        .collect();
    let cells = flow["shown"].as_array().expect("cells");
    assert_eq!(cells.len(), rows.len() * columns.len(), "{flow}");
    let mut on_chart = std::collections::BTreeMap::new();
    for (r, from) in rows.iter().enumerate() {
        for (c, to) in columns.iter().enumerate() {
            let count: i64 = cells[r * columns.len() + c]
                .as_str()
                .and_then(|text| text.parse().ok())
                .expect("a number");
            if count > 0 {
                on_chart.insert((from.clone(), to.clone()), count);
            }
        }
    }
    let flow_stats = stats("flow").await;
    let mut from_api = std::collections::BTreeMap::new();
    for row in flow_stats["rows"].as_array().expect("rows") {
        let placed = placed_in(row);
        if placed > 0 {
            let pair = (
                code_of(&row["student_university_code"]),
                code_of(&row["host_university_code"]),
            );
            *from_api.entry(pair).or_insert(0) += placed;
        }
    }
    assert_eq!(on_chart, from_api, "the matrix's cells are the API's flow");
    assert_eq!(
        from_api.get(&("USST".to_owned(), "TJU".to_owned())),
        Some(&1),
        "a USST student holds a seat at a TJU base"
    );

    // Fill rate by host university: the API's bases' seats and seat-holders, added up by
    // each base's host.
    let universities = expect_json(
        app.get("/api/v1/universities", &app.admin).await,
        StatusCode::OK,
    )
    .await;
    let codes: std::collections::HashMap<String, String> = universities["items"]
        .as_array()
        .expect("universities")
        .iter()
        .map(|u| (id(u).to_owned(), code_of(&u["code"])))
        .collect();
    let bases = expect_json(app.get("/api/v1/bases", &app.admin).await, StatusCode::OK).await;
    let host_of: std::collections::HashMap<String, String> = bases["items"]
        .as_array()
        .expect("bases")
        .iter()
        .map(|b| {
            let host = b["host_university_id"].as_str().expect("a host");
            (id(b).to_owned(), codes[host].clone())
        })
        .collect();
    let mut per_host = std::collections::BTreeMap::new();
    for row in stats("base").await["rows"].as_array().expect("rows") {
        let host = host_of[row["base_id"].as_str().expect("a base")].clone();
        let entry = per_host.entry(host).or_insert((0, 0));
        entry.0 += placed_in(row);
        entry.1 += row["seats"].as_i64().unwrap_or(0);
    }
    let expected: Vec<(String, String)> = per_host
        .iter()
        .map(|(host, (taken, seats))| (host.clone(), format!("{taken}/{seats}")))
        .collect();
    let fill = chart_on_page(&browser, "chart-host-fill").await;
    assert_eq!(
        bold_figures(&fill),
        expected,
        "the fill rates are the API's bases' numbers"
    );
    assert_eq!(
        expected,
        vec![
            ("TJU".to_owned(), "2/3".to_owned()),
            ("USST".to_owned(), "1/1".to_owned())
        ]
    );

    // Placement status by the students' university: each stack's total is the API's.
    let by_university = stats("university").await;
    let expected: Vec<(String, String)> = by_university["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| {
            let total: i64 = ["offered", "confirmed", "declined", "withdrawn", "completed"]
                .iter()
                .map(|name| row[*name].as_i64().expect("a count"))
                .sum();
            (code_of(&row["university_code"]), total.to_string())
        })
        .collect();
    let status = chart_on_page(&browser, "chart-university-status").await;
    assert_eq!(
        bold_figures(&status),
        expected,
        "the stacks' totals are the API's"
    );
    assert_eq!(expected.len(), 2, "both universities: {expected:?}");
    photograph(&browser, "alliance-statistics").await;

    let cookie = browser
        .cookie("placemat_session")
        .await
        .expect("a session cookie");
    let href = browser
        .script(
            "return [...document.querySelectorAll('a')].find(a => a.textContent.trim().startsWith('Download CSV') && a.href.includes('group_by=flow')).getAttribute('href');",
        )
        .await;
    let href = href.as_str().expect("a link").to_owned();
    let page_file = with_cookie(app, reqwest::Method::GET, &href, &cookie)
        .await
        .send()
        .await
        .expect("sent");
    assert_eq!(page_file.status(), StatusCode::OK, "{href}");
    let api_file = app.get(&stats_of("flow", "&format=csv"), &app.admin).await;
    assert_eq!(
        page_file.bytes().await.expect("a file"),
        api_file.bytes().await.expect("a file"),
        "the same CSV bytes as the API's"
    );
}
