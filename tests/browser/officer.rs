//! The placement officer's stories: the university's students, an import, the placements
//! after the match, and the statistics with their files.

use super::*;
use calamine::{open_workbook_from_rs, Data, Reader, Xlsx};
use helpers::id;
use std::io::Cursor;

/// The number of the officer's students, as the API counts them.
async fn students_total(world: &World) -> i64 {
    let app = &world.app;
    let officer = app.login(&world.officer_email, PASSWORD).await;
    let page = expect_json(app.get("/api/v1/students", &officer).await, StatusCode::OK).await;
    page["total"].as_i64().expect("a total")
}

/// A CSV file in a folder that lives as long as the returned guard.
fn csv_file(name: &str, text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("a folder");
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("the file is written");
    (dir, path.to_string_lossy().into_owned())
}

#[tokio::test]
async fn the_officer_searches_filters_and_adds_only_the_universitys_students() {
    let _slot = browser_slots().acquire().await.expect("a slot");
    let Some(browser) = browser().await else {
        return;
    };
    let world = world().await;
    let app = &world.app;
    let other = app.create_university("FDU").await;
    app.create_student(&other, "F001", "Wang Other", "0854", Some(90.0))
        .await;
    app.create_student(&world.university, "S002", "Zhou Min", "0854", Some(70.0))
        .await;

    sign_in(&browser, app, &world.officer_email, PASSWORD).await;
    assert_eq!(browser.path().await, "/university");
    let page = browser.text().await;
    assert!(
        page.contains("Lin Yue") && page.contains("Zhou Min"),
        "{page}"
    );
    assert!(!page.contains("Wang Other"), "another university's student");
    assert!(page.contains("s001@students.test"), "the email is shown");

    browser.field("Search").await.type_text("zhou").await;
    browser.button("Show").await.click().await;
    let page = browser.text().await;
    assert!(
        page.contains("Zhou Min") && !page.contains("Lin Yue"),
        "{page}"
    );
    browser.fill("Search", "S002@students").await;
    browser.button("Show").await.click().await;
    let page = browser.text().await;
    assert!(
        page.contains("Zhou Min") && !page.contains("Lin Yue"),
        "a search by email finds the student: {page}"
    );
    browser.fill("Search", "Wang").await;
    browser.button("Show").await.click().await;
    assert!(browser.text().await.contains("No student matches."));
    browser
        .goto(&app.url("/university?cohort=2026&program=0854"))
        .await;
    assert!(browser.text().await.contains("2 students"));

    browser
        .script("document.getElementById('add-student').open = true; return null;")
        .await;
    browser
        .field("Student number")
        .await
        .type_text("S003")
        .await;
    browser
        .field("Name")
        .await
        .type_text("<b>Qian Li</b>")
        .await;
    browser
        .field("Email")
        .await
        .type_text("s001@students.test")
        .await;
    browser
        .script("document.getElementById('add-program').value = '0854'; return null;")
        .await;
    browser.field("Cohort").await.type_text("2026").await;
    browser.button("Add student").await.click().await;
    let page = browser.text().await;
    assert!(
        page.contains("Another account uses this email."),
        "the taken email is said: {page}"
    );
    assert_eq!(students_total(&world).await, 2, "nothing was added");
    browser.fill("Email", "qian.li@students.test").await;
    browser.button("Add student").await.click().await;
    let page = browser.text().await;
    assert!(page.contains("The student was added"), "{page}");
    assert!(page.contains("<b>Qian Li</b>"), "a name shows as text");
    assert_eq!(students_total(&world).await, 3);
    photograph(&browser, "university").await;

    let cookie = browser
        .cookie("placemat_session")
        .await
        .expect("a session cookie");
    let forged = with_cookie(app, reqwest::Method::POST, "/university/students", &cookie)
        .await
        .form(&[
            ("student_number", "S009"),
            ("name", "Forged"),
            ("email", "forged@students.test"),
            ("program_code", "0854"),
            ("cohort_year", "2026"),
        ])
        .send()
        .await
        .expect("sent");
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let forged_import = with_cookie(app, reqwest::Method::POST, "/university/import", &cookie)
        .await
        .header("content-type", "multipart/form-data; boundary=x")
        .body("--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\nstudent_number,name,email,program_code,cohort_year\nS010,Forged,f10@students.test,0854,2026\n\r\n--x--\r\n")
        .send()
        .await
        .expect("sent");
    assert_eq!(forged_import.status(), StatusCode::FORBIDDEN);
    assert_eq!(students_total(&world).await, 3, "nothing changed");

    let student = page_session(app, &world.student_email, PASSWORD).await;
    let refused = with_cookie(app, reqwest::Method::GET, "/university", &student.cookie)
        .await
        .send()
        .await
        .expect("sent");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused.text().await.expect("a page").contains("<h1>"));
}

#[tokio::test]
async fn a_refused_import_names_its_rows_and_a_good_one_adds_and_invites() {
    let _slot = browser_slots().acquire().await.expect("a slot");
    let Some(browser) = browser().await else {
        return;
    };
    let world = world().await;
    let app = &world.app;
    sign_in(&browser, app, &world.officer_email, PASSWORD).await;

    let (_bad_dir, bad) = csv_file(
        "bad.csv",
        "student_number,name,email,program_code,cohort_year,score\n\
         S101,Gao Yan,gao.yan@students.test,0854,2026,81\n\
         S102,He Jing,not-an-email,0854,2026,77\n",
    );
    browser.field("CSV file").await.type_text(&bad).await;
    browser.button("Import").await.click().await;
    let page = browser.text().await;
    assert!(page.contains("Nothing was imported"), "{page}");
    assert!(page.contains("Row 3"), "the row is named: {page}");
    assert!(page.contains("email"));
    assert_eq!(students_total(&world).await, 1, "nothing was imported");

    let (_good_dir, good) = csv_file(
        "good.csv",
        "student_number,name,email,program_code,cohort_year,score\n\
         S101,Gao Yan,gao.yan@students.test,0854,2026,81\n\
         S102,He Jing,he.jing@students.test,0854,2026,77\n",
    );
    browser.field("CSV file").await.type_text(&good).await;
    browser.button("Import").await.click().await;
    let page = browser.text().await;
    assert!(page.contains("2 students added."), "{page}");
    assert!(page.contains("Gao Yan") && page.contains("He Jing"));
    assert!(
        page.contains("not activated"),
        "invited students have no password yet"
    );
    assert_eq!(students_total(&world).await, 3);
    let emails = expect_json(app.get("/api/v1/emails", &app.admin).await, StatusCode::OK).await;
    let outbox = emails.to_string();
    for address in ["gao.yan@students.test", "he.jing@students.test"] {
        assert!(outbox.contains(address), "an invitation to {address}");
    }

    browser
        .button("Resend invitation Gao Yan")
        .await
        .click()
        .await;
    assert!(browser
        .text()
        .await
        .contains("A new invitation is on its way."));
}

/// Two students list Cedar Micro Systems, which has one seat; the match is published.
pub(super) async fn published(world: &World) -> Value {
    let app = &world.app;
    let cycles = expect_json(app.get("/api/v1/cycles", &app.admin).await, StatusCode::OK).await;
    let cycle = cycles["items"][0].clone();
    let bases = expect_json(app.get("/api/v1/bases", &app.admin).await, StatusCode::OK).await;
    let cedar = bases["items"][0].clone();
    app.set_seats(&cycle, &cedar, 1).await;
    let (_, runner_up) = app
        .create_student(&world.university, "S002", "Zhou Min", "0854", Some(70.0))
        .await;
    let lin = app.login(&world.student_email, PASSWORD).await;
    let mine = format!("/api/v1/cycles/{}/applications/me", id(&cycle));
    for token in [&lin, &runner_up] {
        expect_json(
            app.put(&mine, token, json!({"preferences": [cedar["id"]]}))
                .await,
            StatusCode::OK,
        )
        .await;
    }
    let run = expect_json(
        app.post(
            &format!("/api/v1/cycles/{}/match-runs", id(&cycle)),
            &app.admin,
            json!({"seed": 7}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    app.publish(&run).await;
    cycle
}

#[tokio::test]
async fn after_publication_the_placements_show_statuses_and_why_a_student_is_unplaced() {
    let _slot = browser_slots().acquire().await.expect("a slot");
    let Some(browser) = browser().await else {
        return;
    };
    let world = world().await;
    published(&world).await;
    let app = &world.app;
    sign_in(&browser, app, &world.officer_email, PASSWORD).await;
    browser.link("Placements").await.click().await;
    let page = browser.text().await;
    assert!(page.contains("Cedar Micro Systems"), "{page}");
    assert!(page.contains("offered"), "the status in words: {page}");
    assert!(page.contains("Students without a seat (1)"), "{page}");
    assert!(
        page.contains("Choice 1, Cedar Micro Systems"),
        "the engine's reason per listed base: {page}"
    );
    browser
        .script("document.getElementById('placement-status').value = 'declined'; return null;")
        .await;
    browser.button("Show").await.click().await;
    assert!(browser.text().await.contains("No placement matches."));
    browser
        .goto(&app.url("/university?tab=placements&status=offered"))
        .await;
    assert!(browser.text().await.contains("1 placements"));
}

#[tokio::test]
async fn the_statistics_chart_the_apis_numbers_and_download_the_apis_files() {
    let _slot = browser_slots().acquire().await.expect("a slot");
    let Some(browser) = browser().await else {
        return;
    };
    let world = world().await;
    let cycle = published(&world).await;
    let app = &world.app;
    sign_in(&browser, app, &world.officer_email, PASSWORD).await;
    browser.link("Statistics").await.click().await;
    let charts = browser
        .script(
            "return [...document.querySelectorAll('#statistics svg')].map(s => { \
               const r = s.getBoundingClientRect(); \
               const names = (s.getAttribute('aria-labelledby') || '').split(' '); \
               const name = names.map(id => (document.getElementById(id) || {}).textContent || '').join(' '); \
               return {w: r.width, h: r.height, name: name.trim(), text: s.textContent}; });",
        )
        .await;
    let charts = charts.as_array().expect("a list").clone();
    assert_eq!(charts.len(), 5, "{charts:?}");
    for chart in &charts {
        assert!(chart["w"].as_f64().unwrap_or(0.0) >= 80.0, "{chart}");
        assert!(chart["h"].as_f64().unwrap_or(0.0) >= 40.0, "{chart}");
        assert!(!chart["name"].as_str().unwrap_or("").is_empty(), "{chart}");
    }

    let officer = app.login(&world.officer_email, PASSWORD).await;
    let api = |format: &str| {
        format!(
            "/api/v1/stats/placements?cycle={}&group_by=program{format}",
            id(&cycle)
        )
    };
    let stats = expect_json(app.get(&api(""), &officer).await, StatusCode::OK).await;
    let row = &stats["rows"][0];
    let count = |name: &str| row[name].as_i64().expect("a count");
    let placed = count("offered") + count("confirmed") + count("completed");
    let shown = format!("{placed}/{}", count("applicants"));
    assert!(
        charts[0]["text"].as_str().unwrap_or("").contains(&shown),
        "the chart prints {shown}: {}",
        charts[0]
    );
    assert_eq!(count("applicants"), 2);
    photograph(&browser, "university-statistics").await;

    let cookie = browser
        .cookie("placemat_session")
        .await
        .expect("a session cookie");
    for (link, format) in [("Download CSV", "csv"), ("Download XLSX", "xlsx")] {
        let href = browser
            .script(&format!(
                "return [...document.querySelectorAll('a')].find(a => a.textContent.trim().startsWith('{link}')).getAttribute('href');"
            ))
            .await;
        let href = href.as_str().expect("a link").to_owned();
        let page_file = with_cookie(app, reqwest::Method::GET, &href, &cookie)
            .await
            .send()
            .await
            .expect("sent");
        assert_eq!(page_file.status(), StatusCode::OK, "{href}");
        let api_file = app.get(&api(&format!("&format={format}")), &officer).await;
        for header in ["content-type", "content-disposition"] {
            assert_eq!(
                page_file.headers().get(header),
                api_file.headers().get(header),
                "{header} of {format}"
            );
        }
        let ours = page_file.bytes().await.expect("a file");
        let theirs = api_file.bytes().await.expect("a file");
        if format == "csv" {
            assert_eq!(ours, theirs, "the same CSV bytes");
            let text = String::from_utf8(ours.to_vec()).expect("UTF-8");
            let mut reader =
                csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
            assert!(reader.records().count() >= 2, "a row and the totals");
        } else {
            assert!(ours.starts_with(b"PK"), "an XLSX is a zip");
            let cells = |bytes: &[u8]| -> Vec<Vec<Data>> {
                let mut book: Xlsx<_> =
                    open_workbook_from_rs(Cursor::new(bytes.to_vec())).expect("a workbook");
                let range = book.worksheet_range("program").expect("the sheet");
                range.rows().map(<[Data]>::to_vec).collect()
            };
            assert_eq!(cells(&ours), cells(&theirs), "the same workbook");
        }
    }
}
