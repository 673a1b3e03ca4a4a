//! The student's page: building and saving a ranked list, the rules of the list said in
//! words, and after publication the placement, the reasons, and the second round.

use super::*;
use helpers::{expect_problem, id};

/// The world with two more bases open to the student, and one that is not.
struct Market {
    world: World,
    cycle: Value,
    cedar: Value,
    harbor: Value,
    lotus: Value,
}

async fn market() -> Market {
    let world = world().await;
    let app = &world.app;
    let cycles = expect_json(app.get("/api/v1/cycles", &app.admin).await, StatusCode::OK).await;
    let cycle = cycles["items"][0].clone();
    let bases = expect_json(app.get("/api/v1/bases", &app.admin).await, StatusCode::OK).await;
    let cedar = bases["items"][0].clone();
    let harbor = app
        .create_base("Harbor Logistics", "Shanghai", &world.university, &["0854"])
        .await;
    app.create_program("0860").await;
    let lotus = app
        .create_base("Lotus Bio Lab", "Suzhou", &world.university, &["0860"])
        .await;
    for base in [&cedar, &harbor, &lotus] {
        app.set_seats(&cycle, base, 1).await;
    }
    Market {
        world,
        cycle,
        cedar,
        harbor,
        lotus,
    }
}

async fn stored_list(app: &TestApp, cycle: &Value, email: &str) -> Vec<String> {
    let token = app.login(email, PASSWORD).await;
    let path = format!("/api/v1/cycles/{}/applications/me", id(cycle));
    let response = app.get(&path, &token).await;
    if response.status() == StatusCode::NOT_FOUND {
        return Vec::new();
    }
    expect_json(response, StatusCode::OK).await["preferences"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|base| base.as_str().expect("an id").to_owned())
        .collect()
}

/// The names of the ranked list on the page, top to bottom.
async fn ranked_names(browser: &Browser) -> Vec<String> {
    let names = browser
        .script(
            "return [...document.querySelectorAll('.choices li strong')].map(e => e.textContent.trim());",
        )
        .await;
    names
        .as_array()
        .expect("names")
        .iter()
        .map(|name| name.as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn a_student_finds_bases_builds_a_ranked_list_and_saves_it() {
    let _slot = browser_slots().acquire().await.expect("a slot");
    let Some(browser) = browser().await else {
        return;
    };
    let market = market().await;
    let app = &market.world.app;
    sign_in(&browser, app, &market.world.student_email, PASSWORD).await;
    assert_eq!(browser.path().await, "/student");
    let page = browser.text().await;
    assert!(page.contains("2027 summer"), "the open cycle is named");
    assert!(page.contains("closes in"), "the deadline is said plainly");
    assert!(
        !page.contains("Lotus Bio Lab"),
        "a base outside the student's program is not offered"
    );

    browser.field("Search").await.type_text("shanghai").await;
    browser.button("Show").await.click().await;
    let page = browser.text().await;
    assert!(page.contains("Harbor Logistics"));
    assert!(
        !page.contains("Cedar Micro Systems"),
        "the search narrows the bases"
    );
    browser.button("Add Harbor Logistics").await.click().await;
    browser.link("Show all").await.click().await;
    browser
        .button("Add Cedar Micro Systems")
        .await
        .click()
        .await;
    assert_eq!(
        ranked_names(&browser).await,
        ["Harbor Logistics", "Cedar Micro Systems"]
    );
    assert!(
        browser.text().await.contains("Not saved yet"),
        "an edited list says it is not stored"
    );
    assert!(
        stored_list(app, &market.cycle, &market.world.student_email)
            .await
            .is_empty(),
        "editing stores nothing"
    );
    browser
        .button("Move up Cedar Micro Systems")
        .await
        .click()
        .await;
    assert_eq!(
        ranked_names(&browser).await,
        ["Cedar Micro Systems", "Harbor Logistics"]
    );
    browser.button("Save my choices").await.click().await;
    assert!(browser.text().await.contains("Saved"));
    assert_eq!(
        stored_list(app, &market.cycle, &market.world.student_email).await,
        [id(&market.cedar), id(&market.harbor)]
    );
    browser.goto(&app.url("/student")).await;
    assert_eq!(
        ranked_names(&browser).await,
        ["Cedar Micro Systems", "Harbor Logistics"],
        "the stored list comes back"
    );
    photograph(&browser, "student").await;

    browser
        .button("Remove Harbor Logistics")
        .await
        .click()
        .await;
    assert_eq!(ranked_names(&browser).await, ["Cedar Micro Systems"]);
    browser.goto(&app.url("/student?lang=zh")).await;
    assert!(browser.text().await.contains("保存我的志愿"));
    photograph(&browser, "student-zh").await;
}

#[tokio::test]
async fn the_rules_of_the_list_are_said_in_words_and_change_nothing() {
    let _slot = browser_slots().acquire().await.expect("a slot");
    let Some(browser) = browser().await else {
        return;
    };
    let market = market().await;
    let app = &market.world.app;
    let cycle_path = format!("/api/v1/cycles/{}", id(&market.cycle));
    expect_json(
        app.patch(&cycle_path, &app.admin, json!({"max_preferences": 1}))
            .await,
        StatusCode::OK,
    )
    .await;
    sign_in(&browser, app, &market.world.student_email, PASSWORD).await;
    browser
        .button("Add Cedar Micro Systems")
        .await
        .click()
        .await;
    browser.button("Add Harbor Logistics").await.click().await;
    browser.button("Save my choices").await.click().await;
    let page = browser.text().await;
    assert!(
        page.contains("this cycle allows at most 1"),
        "over the limit is said: {page}"
    );
    assert!(!page.contains("Saved"));
    assert_eq!(
        ranked_names(&browser).await,
        ["Cedar Micro Systems", "Harbor Logistics"],
        "the refused list stays on the page to be fixed"
    );
    assert!(stored_list(app, &market.cycle, &market.world.student_email)
        .await
        .is_empty());

    browser
        .button("Remove Harbor Logistics")
        .await
        .click()
        .await;
    browser.button("Save my choices").await.click().await;
    assert!(browser.text().await.contains("Saved"));

    let past = json!({
        "applications_open_at": "2020-01-01T00:00:00Z",
        "applications_close_at": "2020-02-01T00:00:00Z",
        "max_preferences": 5,
    });
    expect_json(
        app.patch(&cycle_path, &app.admin, past).await,
        StatusCode::OK,
    )
    .await;
    browser.goto(&app.url("/student")).await;
    assert!(
        browser.text().await.contains("closed"),
        "the window says it closed"
    );
    browser.button("Add Harbor Logistics").await.click().await;
    browser.button("Save my choices").await.click().await;
    let page = browser.text().await;
    assert!(
        page.contains("Applications have closed"),
        "the closed window is said: {page}"
    );
    assert_eq!(
        stored_list(app, &market.cycle, &market.world.student_email).await,
        [id(&market.cedar)],
        "the saved list stays as it was"
    );
}

#[tokio::test]
async fn after_publication_students_see_their_placement_the_reasons_and_the_second_round() {
    let _slot = browser_slots().acquire().await.expect("a slot");
    let Some(browser) = browser().await else {
        return;
    };
    let market = market().await;
    let app = &market.world.app;
    let (_, runner_up) = app
        .create_student(
            &market.world.university,
            "S002",
            "Zhou Min",
            "0854",
            Some(70.0),
        )
        .await;
    let lin = app.login(&market.world.student_email, PASSWORD).await;
    let mine = format!("/api/v1/cycles/{}/applications/me", id(&market.cycle));
    for token in [&lin, &runner_up] {
        expect_json(
            app.put(&mine, token, json!({"preferences": [market.cedar["id"]]}))
                .await,
            StatusCode::OK,
        )
        .await;
    }
    let run = expect_json(
        app.post(
            &format!("/api/v1/cycles/{}/match-runs", id(&market.cycle)),
            &app.admin,
            json!({"seed": 7}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    app.publish(&run).await;
    let coordinator = app.login(&market.world.coordinator_email, PASSWORD).await;
    let offers = expect_json(
        app.get("/api/v1/placements?status=offered", &coordinator)
            .await,
        StatusCode::OK,
    )
    .await;
    let offer = &offers["items"][0];
    expect_json(
        app.post(
            &format!("/api/v1/placements/{}/confirm", id(offer)),
            &coordinator,
            json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;

    sign_in(&browser, app, &market.world.student_email, PASSWORD).await;
    assert!(browser.headings().await.iter().any(|h| h == "My placement"));
    let page = browser.text().await;
    assert!(page.contains("Cedar Micro Systems"));
    assert!(page.contains("confirmed"), "the status is said: {page}");
    assert!(
        page.contains("cedar.micro.systems@bases.test"),
        "the base's contact is given"
    );
    // The receipt: the student's pseudonym and the published run's digests, as the API
    // gives them, and where it stood at Cedar against the last admitted.
    let receipt = expect_json(
        app.get(&format!("{mine}/receipt"), &lin).await,
        StatusCode::OK,
    )
    .await;
    assert!(browser.headings().await.iter().any(|h| h == "My receipt"));
    assert!(
        page.contains(receipt["pseudonym"].as_str().unwrap()),
        "{page}"
    );
    assert!(
        page.contains(receipt["result_sha256"].as_str().unwrap()),
        "{page}"
    );
    assert!(page.contains("Last admitted position"), "{page}");
    photograph(&browser, "student-placed").await;
    browser.button("Withdraw").await.click().await;
    assert_eq!(
        browser.path().await,
        "/student/withdraw",
        "withdrawing asks first"
    );
    browser.button("Withdraw").await.click().await;
    let page = browser.text().await;
    assert!(page.contains("You withdrew"), "{page}");
    assert!(page.contains("withdrawn"));
    let placement = expect_json(
        app.get(&format!("/api/v1/placements/{}", id(offer)), &lin)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(placement["status"], "withdrawn");
    browser.button("Sign out").await.click().await;

    sign_in(&browser, app, "s002@students.test", PASSWORD).await;
    assert!(browser
        .headings()
        .await
        .iter()
        .any(|h| h == "Why I was not placed"));
    let reasons = browser
        .script("return [...document.querySelectorAll('.reasons li')].map(e => e.textContent);")
        .await;
    let reasons = reasons.as_array().expect("reasons");
    assert_eq!(reasons.len(), 1, "one line per listed base");
    let line = reasons[0].as_str().unwrap_or_default();
    assert!(
        line.contains("Cedar Micro Systems") && line.contains("ranks above you"),
        "{line}"
    );
    photograph(&browser, "student-unplaced").await;
    browser.button("Apply Harbor Logistics").await.click().await;
    let page = browser.text().await;
    assert!(page.contains("Your application was sent"), "{page}");
    assert!(page.contains("waiting for an answer"));
    let again = expect_problem(
        app.post(
            &format!("/api/v1/cycles/{}/direct-applications", id(&market.cycle)),
            &runner_up,
            json!({"base_id": market.harbor["id"]}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        again["type"]
            .as_str()
            .unwrap_or_default()
            .ends_with("duplicate-direct-application"),
        "the page's application is the one stored: {again}"
    );
    assert!(
        !browser
            .text()
            .await
            .contains(market.lotus["name"].as_str().unwrap_or("?")),
        "the second round offers only bases of the student's program"
    );
}

#[tokio::test]
async fn a_saved_list_needs_the_csrf_token_and_another_student_cannot_act_for_one() {
    let market = market().await;
    let app = &market.world.app;
    let session = page_session(app, &market.world.student_email, PASSWORD).await;
    let forged = app
        .client
        .post(app.url("/student/choices"))
        .header("cookie", format!("placemat_session={}", session.cookie))
        .form(&[("preferences", id(&market.cedar))])
        .send()
        .await
        .expect("sent");
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(stored_list(app, &market.cycle, &market.world.student_email)
        .await
        .is_empty());
    let coordinator = page_session(app, &market.world.coordinator_email, PASSWORD).await;
    let refused = app
        .client
        .post(app.url("/student/choices"))
        .header("cookie", format!("placemat_session={}", coordinator.cookie))
        .form(&[
            ("preferences", id(&market.cedar)),
            ("csrf_token", coordinator.csrf.as_str()),
        ])
        .send()
        .await
        .expect("sent");
    assert_eq!(
        refused.status(),
        StatusCode::FORBIDDEN,
        "another role's form is refused"
    );
    assert!(stored_list(app, &market.cycle, &market.world.student_email)
        .await
        .is_empty());
}
