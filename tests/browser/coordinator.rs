//! The base coordinator's stories: the seats, the order of the applicants, the offers and
//! the second round, on the page `/base`.

use super::helpers::{expect_json, id, TestApp, PASSWORD};
use super::{browser, browser_slots, photograph, sign_in, with_cookie, world, World};
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

/// The base's seats as the API tells them.
async fn seats_of(app: &TestApp, cycle: &Value, base: &Value) -> Value {
    let path = format!("/api/v1/cycles/{}/seats?base={}", id(cycle), id(base));
    let page = expect_json(app.get(&path, &app.admin).await, StatusCode::OK).await;
    page["items"][0].clone()
}

/// The student lists the one base, through the API.
async fn apply(app: &TestApp, email: &str, cycle: &Value, base: &Value) {
    let token = app.login(email, PASSWORD).await;
    let path = format!("/api/v1/cycles/{}/applications/me", id(cycle));
    let response = app
        .put(&path, &token, json!({"preferences": [base["id"]]}))
        .await;
    assert!(response.status().is_success(), "{email} applies");
}

/// A second student of the world's university and program.
async fn second_student(world: &World, name: &str, score: f64) -> String {
    world
        .app
        .create_student(&world.university, "S002", name, "0854", Some(score))
        .await;
    "S002@students.test".to_owned()
}

/// Runs the match of the cycle and publishes it, as the alliance admin.
async fn publish_a_run(app: &TestApp, cycle: &Value) {
    let path = format!("/api/v1/cycles/{}/match-runs", id(cycle));
    let run = expect_json(
        app.post(&path, &app.admin, json!({"seed": 1})).await,
        StatusCode::CREATED,
    )
    .await;
    app.publish(&run).await;
}

/// The placement of the student named `name` in the cycle, as the API tells it.
async fn placement_of(app: &TestApp, cycle: &Value, name: &str) -> Value {
    let path = format!("/api/v1/placements?cycle={}", id(cycle));
    let placements = expect_json(app.get(&path, &app.admin).await, StatusCode::OK).await;
    placements["items"]
        .as_array()
        .and_then(|all| all.iter().find(|p| p["student_name"] == name))
        .cloned()
        .expect("a placement")
}

/// The names of the applicants on the page, top to bottom.
async fn applicants_on_page(browser: &super::Browser) -> Vec<String> {
    let names = browser
        .script(
            "return Array.from(document.querySelectorAll('#applicants tbody th'))\
             .map(cell => cell.textContent.trim());",
        )
        .await;
    serde_json::from_value(names).expect("a list of names")
}

/// The text of the row that names `name` in the section `section`.
async fn row_of(browser: &super::Browser, section: &str, name: &str) -> String {
    let text = browser
        .script(&format!(
            "return Array.from(document.querySelectorAll('#{section} tbody tr'))\
             .filter(row => row.querySelector('th').textContent.trim() === {name:?})\
             .map(row => row.innerText).join('');"
        ))
        .await;
    text.as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn the_coordinator_sets_the_seats_and_an_impossible_count_is_refused_in_words() {
    let _slot = browser_slots().acquire().await.expect("a slot");
    let Some(browser) = browser().await else {
        return;
    };
    let world = world().await;
    let (cycle, base) = cycle_and_base(&world.app).await;
    sign_in(&browser, &world.app, &world.coordinator_email, PASSWORD).await;
    assert_eq!(browser.path().await, "/base");
    let page = browser.text().await;
    assert!(page.contains("Cedar Micro Systems") && page.contains("Suzhou"));
    assert!(page.contains("2027 summer"), "the current cycle");

    browser.fill("Seats", "4").await;
    browser.button("Save seats").await.click().await;
    assert!(browser.text().await.contains("Seats saved."));
    assert_eq!(browser.value_of("Seats").await, "4");
    assert_eq!(seats_of(&world.app, &cycle, &base).await["seats"], 4);

    browser.fill("Seats", "-3").await;
    browser.button("Save seats").await.click().await;
    assert!(browser.text().await.contains("Seats go from 0 to 10,000."));
    assert_eq!(
        browser.value_of("Seats").await,
        "-3",
        "the count typed stays"
    );
    assert_eq!(seats_of(&world.app, &cycle, &base).await["seats"], 4);

    apply(&world.app, &world.student_email, &cycle, &base).await;
    publish_a_run(&world.app, &cycle).await;
    browser.goto(&world.app.url("/base")).await;
    assert!(
        browser.text().await.contains("1 taken"),
        "the offer holds a seat"
    );
    browser.fill("Seats", "0").await;
    browser.button("Save seats").await.click().await;
    assert!(browser
        .text()
        .await
        .contains("The base already holds more placements than that many seats."));
    assert_eq!(seats_of(&world.app, &cycle, &base).await["seats"], 4);
}

#[tokio::test]
async fn the_coordinator_moves_an_applicant_up_and_the_saved_order_stays() {
    let _slot = browser_slots().acquire().await.expect("a slot");
    let Some(browser) = browser().await else {
        return;
    };
    let world = world().await;
    let (cycle, base) = cycle_and_base(&world.app).await;
    world.app.set_seats(&cycle, &base, 3).await;
    let zhou = second_student(&world, "Zhou Min", 92.0).await;
    apply(&world.app, &world.student_email, &cycle, &base).await;
    apply(&world.app, &zhou, &cycle, &base).await;

    sign_in(&browser, &world.app, &world.coordinator_email, PASSWORD).await;
    assert_eq!(
        applicants_on_page(&browser).await,
        ["Zhou Min", "Lin Yue"],
        "unranked applicants follow their scores"
    );
    browser.button("Move up Lin Yue").await.click().await;
    assert_eq!(applicants_on_page(&browser).await, ["Lin Yue", "Zhou Min"]);
    assert!(browser.text().await.contains("not saved yet"));
    browser.goto(&world.app.url("/base")).await;
    assert_eq!(
        applicants_on_page(&browser).await,
        ["Zhou Min", "Lin Yue"],
        "a move alone changes nothing"
    );

    browser.button("Move down Zhou Min").await.click().await;
    browser.button("Save ranking").await.click().await;
    assert!(browser.text().await.contains("Ranking saved."));
    browser.goto(&world.app.url("/base")).await;
    assert_eq!(applicants_on_page(&browser).await, ["Lin Yue", "Zhou Min"]);
    let row = row_of(&browser, "applicants", "Zhou Min").await;
    assert!(row.contains("92"), "the score shows: {row}");

    world
        .app
        .create_student(&world.university, "S003", "Chen Jie", "0854", Some(70.0))
        .await;
    apply(&world.app, "S003@students.test", &cycle, &base).await;
    browser.goto(&world.app.url("/base")).await;
    assert_eq!(
        applicants_on_page(&browser).await,
        ["Lin Yue", "Zhou Min", "Chen Jie"],
        "a new applicant follows the ranked ones"
    );
    browser
        .script("document.getElementById('move-student').selectedIndex = 2; return null;")
        .await;
    browser.fill("Place", "1").await;
    browser.button("Put at place").await.click().await;
    assert_eq!(
        applicants_on_page(&browser).await,
        ["Chen Jie", "Lin Yue", "Zhou Min"]
    );
    browser.button("Save ranking").await.click().await;
    browser.goto(&world.app.url("/base")).await;
    assert_eq!(
        applicants_on_page(&browser).await,
        ["Chen Jie", "Lin Yue", "Zhou Min"]
    );

    browser.goto(&world.app.url("/base?lang=zh")).await;
    browser.button("上移 Zhou Min").await;
    browser.button("保存排序").await;
    browser.field("名额").await;
    assert_eq!(
        applicants_on_page(&browser).await,
        ["Chen Jie", "Lin Yue", "Zhou Min"]
    );
}

#[tokio::test]
async fn after_publication_the_coordinator_confirms_one_offer_and_declines_another() {
    let _slot = browser_slots().acquire().await.expect("a slot");
    let Some(browser) = browser().await else {
        return;
    };
    let world = world().await;
    let (cycle, base) = cycle_and_base(&world.app).await;
    world.app.set_seats(&cycle, &base, 2).await;
    let zhou = second_student(&world, "Zhou Min", 92.0).await;
    apply(&world.app, &world.student_email, &cycle, &base).await;
    apply(&world.app, &zhou, &cycle, &base).await;
    publish_a_run(&world.app, &cycle).await;

    sign_in(&browser, &world.app, &world.coordinator_email, PASSWORD).await;
    assert!(browser.headings().await.iter().any(|h| h == "Offers"));
    assert!(row_of(&browser, "offers", "Lin Yue")
        .await
        .contains("offered"));
    browser.button("Confirm Lin Yue").await.click().await;
    assert!(row_of(&browser, "offers", "Lin Yue")
        .await
        .contains("confirmed"));
    let cookie = browser
        .cookie("placemat_session")
        .await
        .expect("a session cookie");
    let csrf = browser
        .script("return document.querySelector('input[name=csrf_token]').value;")
        .await;
    let offer = placement_of(&world.app, &cycle, "Zhou Min").await;
    let path = format!("/base/placements/{}/decline", id(&offer));
    let without_reason = with_cookie(&world.app, reqwest::Method::POST, &path, &cookie)
        .await
        .header("accept-language", "en")
        .form(&[
            ("csrf_token", csrf.as_str().expect("a token")),
            ("reason", "  "),
        ])
        .send()
        .await
        .expect("sent");
    assert_eq!(without_reason.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(without_reason
        .text()
        .await
        .expect("a page")
        .contains("Say why the base declines."));
    assert_eq!(
        placement_of(&world.app, &cycle, "Zhou Min").await["status"],
        "offered"
    );

    browser.button("Decline Zhou Min").await.click().await;
    photograph(&browser, "base-decline").await;
    browser
        .field("Reason")
        .await
        .type_text("The lab closes for the summer.")
        .await;
    browser.button("Decline Zhou Min").await.click().await;
    assert_eq!(browser.path().await, "/base");
    assert!(row_of(&browser, "offers", "Zhou Min")
        .await
        .contains("declined"));
    assert!(row_of(&browser, "offers", "Lin Yue")
        .await
        .contains("confirmed"));
    browser.button("Complete Lin Yue").await;

    let lin = placement_of(&world.app, &cycle, "Lin Yue").await;
    let zhou = placement_of(&world.app, &cycle, "Zhou Min").await;
    assert_eq!(lin["status"], "confirmed");
    assert_eq!(zhou["status"], "declined");
    assert_eq!(zhou["decline_reason"], "The lab closes for the summer.");
    let emails = expect_json(
        world.app.get("/api/v1/emails", &world.app.admin).await,
        StatusCode::OK,
    )
    .await;
    assert!(
        emails["items"].as_array().is_some_and(|all| all
            .iter()
            .any(|e| { e["kind"] == "placement_confirmed" && e["placement_id"] == lin["id"] })),
        "a confirmation email is queued: {emails}"
    );

    browser.button("Save ranking").await.click().await;
    assert!(browser
        .text()
        .await
        .contains("The match of this cycle is published; this no longer changes it."));

    world
        .app
        .create_student(&world.university, "S003", "Chen Jie", "0854", Some(81.5))
        .await;
    let chen = world.app.login("S003@students.test", PASSWORD).await;
    let direct = format!("/api/v1/cycles/{}/direct-applications", id(&cycle));
    expect_json(
        world
            .app
            .post(&direct, &chen, json!({"base_id": base["id"]}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    browser.goto(&world.app.url("/base")).await;
    assert!(row_of(&browser, "direct-applications", "Chen Jie")
        .await
        .contains("pending"));
    photograph(&browser, "base").await;
}

#[tokio::test]
async fn accepting_a_direct_application_without_a_free_seat_is_refused_in_words() {
    let _slot = browser_slots().acquire().await.expect("a slot");
    let Some(browser) = browser().await else {
        return;
    };
    let world = world().await;
    let (cycle, base) = cycle_and_base(&world.app).await;
    world.app.set_seats(&cycle, &base, 2).await;
    apply(&world.app, &world.student_email, &cycle, &base).await;
    publish_a_run(&world.app, &cycle).await;
    let zhou = second_student(&world, "Zhou Min", 92.0).await;
    let token = world.app.login(&zhou, PASSWORD).await;
    let direct = format!("/api/v1/cycles/{}/direct-applications", id(&cycle));
    expect_json(
        world
            .app
            .post(&direct, &token, json!({"base_id": base["id"]}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    world.app.set_seats(&cycle, &base, 1).await;

    sign_in(&browser, &world.app, &world.coordinator_email, PASSWORD).await;
    assert!(row_of(&browser, "direct-applications", "Zhou Min")
        .await
        .contains("pending"));
    browser.button("Accept Zhou Min").await.click().await;
    assert!(browser
        .text()
        .await
        .contains("No seat is free at this base."));
    assert!(row_of(&browser, "direct-applications", "Zhou Min")
        .await
        .contains("pending"));
    let coordinator = world
        .app
        .staff(Role::BaseCoordinator, None, Some(id(&base)))
        .await;
    let listed = expect_json(world.app.get(&direct, &coordinator).await, StatusCode::OK).await;
    assert_eq!(listed["items"][0]["status"], "pending");

    browser.button("Reject Zhou Min").await.click().await;
    assert!(row_of(&browser, "direct-applications", "Zhou Min")
        .await
        .contains("rejected"));
}

#[tokio::test]
async fn a_forged_seats_form_changes_nothing_and_an_unknown_offer_reads_as_a_404() {
    let _slot = browser_slots().acquire().await.expect("a slot");
    let Some(browser) = browser().await else {
        return;
    };
    let world = world().await;
    let (cycle, base) = cycle_and_base(&world.app).await;
    world.app.set_seats(&cycle, &base, 3).await;
    sign_in(&browser, &world.app, &world.coordinator_email, PASSWORD).await;
    let cookie = browser
        .cookie("placemat_session")
        .await
        .expect("a session cookie");
    for body in ["seats=9", "seats=9&csrf_token=forged"] {
        let forged = with_cookie(&world.app, reqwest::Method::POST, "/base/seats", &cookie)
            .await
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("sent");
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        assert!(forged.text().await.expect("a page").contains("<h1>"));
    }
    assert_eq!(seats_of(&world.app, &cycle, &base).await["seats"], 3);

    let elsewhere = format!("/base/placements/{}/confirm", uuid::Uuid::new_v4());
    let csrf = browser
        .script("return document.querySelector('input[name=csrf_token]').value;")
        .await;
    let missing = with_cookie(&world.app, reqwest::Method::POST, &elsewhere, &cookie)
        .await
        .form(&[("csrf_token", csrf.as_str().expect("a token"))])
        .send()
        .await
        .expect("sent");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND, "a readable 404");
    assert!(missing.text().await.expect("a page").contains("<h1>"));
}
