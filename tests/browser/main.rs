//! The pages, told as their users' stories in a real browser: headless Chromium driven
//! through chromedriver, by the labels and names a screen reader would use. Without
//! chromium and chromedriver the suite says that it skipped, and passes, unless
//! `PLACEMAT_BROWSER_TESTS=required`.

mod alliance;
mod coordinator;
mod driver;
#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;
#[allow(dead_code)]
#[path = "../api/identity_providers.rs"]
mod identity_providers;
mod officer;
#[allow(dead_code)]
#[path = "../api/smtp.rs"]
mod smtp;
mod sso;
mod student;

use driver::{availability, Availability, Browser};
use helpers::{expect_json, spawn_app, TestApp, PASSWORD};
use placemat::domain::{BaseId, Role};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::OnceLock;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Two browsers at a time are plenty for a small machine.
fn browser_slots() -> &'static Semaphore {
    static SLOTS: OnceLock<Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| Semaphore::new(2))
}

/// A headless browser, or `None` (the story is skipped) where none is installed.
async fn browser() -> Option<Browser> {
    match availability() {
        Availability::Ready { driver, browser } => Some(Browser::start(&driver, &browser).await),
        Availability::Missing(why) => {
            if std::env::var("PLACEMAT_BROWSER_TESTS").as_deref() == Ok("required") {
                panic!("the browser suite is required but cannot run: {why}");
            }
            eprintln!(
                "SKIPPED the browser suite: {why}. Install the Debian packages chromium and \
                 chromium-driver to run it (PLACEMAT_BROWSER_TESTS=required makes this a failure)."
            );
            None
        }
    }
}

/// An alliance with one of everything, and the email of each role's login.
struct World {
    app: TestApp,
    university: Value,
    student_email: String,
    coordinator_email: String,
    officer_email: String,
}

const ADMIN_EMAIL: &str = "admin@alliance.test";

async fn world_with_cycle(cycle_name: &str) -> World {
    let app = spawn_app().await;
    let university = app.create_university("USST").await;
    app.create_program("0854").await;
    let base = app
        .create_base("Cedar Micro Systems", "Suzhou", &university, &["0854"])
        .await;
    app.create_open_cycle(cycle_name, 5).await;
    app.create_student(&university, "S001", "Lin Yue", "0854", Some(88.0))
        .await;
    let coordinator_email = "coordinator@bases.test".to_owned();
    let officer_email = "officer@usst.test".to_owned();
    let db = app.db.clone();
    let base_id: BaseId = base["id"]
        .as_str()
        .expect("an id")
        .parse()
        .expect("a base id");
    let (coordinator, officer) = (coordinator_email.clone(), officer_email.clone());
    tokio::task::spawn_blocking(move || {
        placemat::cli::create_user(
            &db,
            Role::BaseCoordinator,
            &coordinator,
            PASSWORD,
            None,
            Some(base_id),
        )?;
        placemat::cli::create_user(
            &db,
            Role::UniversityAdmin,
            &officer,
            PASSWORD,
            Some("USST"),
            None,
        )
    })
    .await
    .expect("joins")
    .expect("the staff logins are created");
    World {
        app,
        university,
        student_email: "s001@students.test".into(),
        coordinator_email,
        officer_email,
    }
}

async fn world() -> World {
    world_with_cycle("2027 summer").await
}

async fn sign_in(browser: &Browser, app: &TestApp, email: &str, password: &str) {
    browser.goto(&app.url("/login?lang=en")).await;
    browser.field("Email").await.type_text(email).await;
    browser.field("Password").await.type_text(password).await;
    browser.button("Sign in").await.click().await;
}

/// Saves the page at a phone's and a desk's width, and checks that the phone needs no
/// sideways scrolling.
async fn photograph(browser: &Browser, name: &str) {
    browser.viewport(375).await;
    let width = browser
        .script("return document.documentElement.scrollWidth;")
        .await;
    assert!(
        width.as_u64().expect("a width") <= 375,
        "{name} scrolls sideways at 375 px: {width}"
    );
    browser.screenshot(&format!("{name}-375")).await;
    browser.viewport(1280).await;
    browser.screenshot(&format!("{name}-1280")).await;
}

/// A session signed in over plain HTTP, for requests a browser would not send.
struct PageSession {
    cookie: String,
    csrf: String,
}

fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|value| value.strip_prefix(&format!("{name}=")))
        .map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
}

fn csrf_of(page: &str) -> String {
    page.split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a form with a CSRF token")
        .to_owned()
}

async fn page_session(app: &TestApp, email: &str, password: &str) -> PageSession {
    let form = app
        .client
        .get(app.url("/login"))
        .send()
        .await
        .expect("sent");
    let form_cookie = set_cookie(&form, "placemat_form").expect("a form cookie");
    let csrf = csrf_of(&form.text().await.expect("a page"));
    let signed_in = app
        .client
        .post(app.url("/login"))
        .header("cookie", format!("placemat_form={form_cookie}"))
        .form(&[
            ("email", email),
            ("password", password),
            ("csrf_token", &csrf),
        ])
        .send()
        .await
        .expect("sent");
    let cookie = set_cookie(&signed_in, "placemat_session").expect("signed in");
    let home = app
        .client
        .get(app.url("/"))
        .header("cookie", format!("placemat_session={cookie}"))
        .send()
        .await
        .expect("sent");
    let path = home
        .headers()
        .get("location")
        .and_then(|value| value.to_str().ok())
        .expect("a home")
        .to_owned();
    let page = with_cookie(app, reqwest::Method::GET, &path, &cookie)
        .await
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("a page");
    PageSession {
        csrf: csrf_of(&page),
        cookie,
    }
}

/// A request from outside the browser carrying the browser's session cookie.
async fn with_cookie(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    cookie: &str,
) -> reqwest::RequestBuilder {
    app.client
        .request(method, app.url(path))
        .header("cookie", format!("placemat_session={cookie}"))
}

/// The one `.eml` file sent to `address`, once the outbox worker has written it.
async fn email_to(app: &TestApp, address: &str) -> String {
    for _ in 0..400 {
        if let Ok(entries) = std::fs::read_dir(&app.mail_dir) {
            for entry in entries.flatten() {
                let raw = std::fs::read(entry.path()).unwrap_or_default();
                if let Some(message) = mail_parser::MessageParser::default().parse(&raw) {
                    let to_them = message
                        .to()
                        .and_then(|list| list.first())
                        .and_then(|a| a.address())
                        == Some(address);
                    if to_them {
                        return message.body_text(0).expect("a text part").into_owned();
                    }
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no email reached {address}");
}

/// The path of the one-time link in an email, to open on this test's server.
fn link_path(email: &str) -> String {
    let start = email.find("/activate/").expect("a link to /activate/");
    email[start..]
        .split_whitespace()
        .next()
        .expect("a link")
        .to_owned()
}

#[tokio::test]
async fn every_role_signs_in_and_lands_on_its_home() {
    let _slot = browser_slots().acquire().await.expect("a slot");
    let Some(browser) = browser().await else {
        return;
    };
    let world = world().await;
    browser.goto(&world.app.url("/login?lang=en")).await;
    photograph(&browser, "login").await;
    let homes = [
        (
            &world.student_email,
            "/student",
            "student",
            vec!["Bases", "My choices"],
        ),
        (
            &world.coordinator_email,
            "/base",
            "base",
            vec!["Seats", "Offers", "Direct applications"],
        ),
        (
            &world.officer_email,
            "/university",
            "university",
            vec!["Students", "Import students", "Placements", "Statistics"],
        ),
        (
            &ADMIN_EMAIL.to_owned(),
            "/alliance",
            "alliance",
            vec!["Cycles", "Match runs", "Emails", "Statistics"],
        ),
    ];
    for (email, home, name, sections) in homes {
        sign_in(&browser, &world.app, email, PASSWORD).await;
        assert_eq!(browser.path().await, home, "{email} lands on its home");
        let headings = browser.headings().await;
        for section in sections {
            assert!(
                headings.iter().any(|h| h == section),
                "{home} has {section}: {headings:?}"
            );
        }
        assert!(
            browser.text().await.contains(email.as_str()),
            "the header names the user"
        );
        let marked = browser
            .script("return document.querySelectorAll('.tabs [aria-current=\"page\"]').length")
            .await;
        assert!(
            marked.as_u64().is_some_and(|n| n <= 1),
            "{home} marks at most one tab as shown: {marked}"
        );
        photograph(&browser, &format!("{name}-home")).await;
        browser.goto(&world.app.url("/?lang=zh")).await;
        assert_eq!(browser.path().await, home, "/ leads a signed-in user home");
        photograph(&browser, &format!("{name}-home-zh")).await;
        browser.button("退出登录").await.click().await;
        assert_eq!(browser.path().await, "/login");
    }
}

#[tokio::test]
async fn a_wrong_password_is_said_on_the_page() {
    let _slot = browser_slots().acquire().await.expect("a slot");
    let Some(browser) = browser().await else {
        return;
    };
    let world = world().await;
    sign_in(
        &browser,
        &world.app,
        &world.student_email,
        "not the password",
    )
    .await;
    assert_eq!(browser.path().await, "/login");
    assert!(browser.text().await.contains("Wrong email or password."));
    photograph(&browser, "login-wrong-password").await;

    let status = world
        .app
        .client
        .post(world.app.url("/login"))
        .header("cookie", "placemat_form=abc")
        .form(&[
            ("email", world.student_email.as_str()),
            ("password", "nope"),
            ("csrf_token", "abc"),
        ])
        .send()
        .await
        .expect("sent")
        .status();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn signing_out_ends_the_session_and_its_cookie_opens_nothing() {
    let _slot = browser_slots().acquire().await.expect("a slot");
    let Some(browser) = browser().await else {
        return;
    };
    let world = world().await;
    sign_in(&browser, &world.app, &world.student_email, PASSWORD).await;
    let cookie = browser
        .cookie("placemat_session")
        .await
        .expect("a session cookie");
    let record = browser.cookie_record("placemat_session").await;
    assert_eq!(record["httpOnly"], json!(true));
    assert_eq!(record["sameSite"], json!("Lax"));
    let before = with_cookie(&world.app, reqwest::Method::GET, "/student", &cookie)
        .await
        .send()
        .await
        .expect("sent");
    assert_eq!(before.status(), StatusCode::OK);

    browser.button("Sign out").await.click().await;
    assert_eq!(browser.path().await, "/login");
    let after = with_cookie(&world.app, reqwest::Method::GET, "/student", &cookie)
        .await
        .send()
        .await
        .expect("sent");
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
    assert_eq!(after.headers()["location"], "/login");
    browser.goto(&world.app.url("/student")).await;
    assert_eq!(
        browser.path().await,
        "/login",
        "signed out, a page leads to sign-in"
    );
}

#[tokio::test]
async fn a_forged_post_without_the_csrf_token_is_refused_and_changes_nothing() {
    let _slot = browser_slots().acquire().await.expect("a slot");
    let Some(browser) = browser().await else {
        return;
    };
    let world = world().await;
    sign_in(&browser, &world.app, &world.student_email, PASSWORD).await;
    let cookie = browser
        .cookie("placemat_session")
        .await
        .expect("a session cookie");
    for body in ["", "csrf_token=forged"] {
        let forged = with_cookie(&world.app, reqwest::Method::POST, "/logout", &cookie)
            .await
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("sent");
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        assert!(
            forged.text().await.expect("a page").contains("<h1>"),
            "a readable page"
        );
    }
    let still = with_cookie(&world.app, reqwest::Method::GET, "/student", &cookie)
        .await
        .send()
        .await
        .expect("sent");
    assert_eq!(still.status(), StatusCode::OK, "the session lives on");

    let forged_login = world
        .app
        .client
        .post(world.app.url("/login"))
        .form(&[
            ("email", world.student_email.as_str()),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .expect("sent");
    assert_eq!(forged_login.status(), StatusCode::FORBIDDEN);
    assert!(forged_login
        .headers()
        .get("set-cookie")
        .is_none_or(|c| !c.to_str().unwrap_or("").contains("placemat_session")));
}

#[tokio::test]
async fn both_languages_render_by_switch_cookie_and_accept_language() {
    let _slot = browser_slots().acquire().await.expect("a slot");
    let Some(browser) = browser().await else {
        return;
    };
    let world = world().await;
    browser.goto(&world.app.url("/login?lang=en")).await;
    browser.button("Sign in").await;
    assert_eq!(browser.cookie("lang").await.as_deref(), Some("en"));
    browser.goto(&world.app.url("/login")).await;
    browser.button("Sign in").await;
    browser.link("中文").await.click().await;
    browser.button("登录").await;
    browser.field("邮箱").await;
    assert_eq!(browser.cookie("lang").await.as_deref(), Some("zh"));
    photograph(&browser, "login-zh").await;

    let page = |accept: Option<&'static str>| {
        let mut request = world.app.client.get(world.app.url("/login"));
        if let Some(accept) = accept {
            request = request.header("accept-language", accept);
        }
        request.send()
    };
    let english = page(Some("en-GB,en;q=0.9,zh;q=0.5"))
        .await
        .expect("sent")
        .text()
        .await
        .expect("a page");
    assert!(english.contains(">Sign in</button>"));
    assert!(english.contains("<html lang=\"en\">"));
    let chinese = page(None)
        .await
        .expect("sent")
        .text()
        .await
        .expect("a page");
    assert!(chinese.contains(">登录</button>"), "Chinese by default");
    let french = page(Some("fr-FR"))
        .await
        .expect("sent")
        .text()
        .await
        .expect("a page");
    assert!(french.contains(">登录</button>"));
}

#[tokio::test]
async fn another_roles_home_answers_a_readable_403() {
    let _slot = browser_slots().acquire().await.expect("a slot");
    let Some(browser) = browser().await else {
        return;
    };
    let world = world().await;
    sign_in(&browser, &world.app, &world.student_email, PASSWORD).await;
    browser.goto(&world.app.url("/alliance")).await;
    assert!(browser.text().await.contains("Not your page"));
    browser.link("Go to my page").await.click().await;
    assert_eq!(browser.path().await, "/student");
    let cookie = browser
        .cookie("placemat_session")
        .await
        .expect("a session cookie");
    for other in ["/alliance", "/base", "/university"] {
        let response = with_cookie(&world.app, reqwest::Method::GET, other, &cookie)
            .await
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{other}");
    }
    browser.goto(&world.app.url("/base?lang=zh")).await;
    assert!(browser.text().await.contains("无权访问此页"));
}

#[tokio::test]
async fn a_signed_in_request_for_a_page_that_does_not_exist_reads_as_a_404_page() {
    let _slot = browser_slots().acquire().await.expect("a slot");
    let Some(browser) = browser().await else {
        return;
    };
    let world = world().await;
    sign_in(&browser, &world.app, &world.student_email, PASSWORD).await;
    browser.goto(&world.app.url("/no-such-page")).await;
    assert!(browser.text().await.contains("Page not found"));
    browser.link("Go to my page").await.click().await;
    assert_eq!(browser.path().await, "/student");
    let cookie = browser
        .cookie("placemat_session")
        .await
        .expect("a session cookie");
    let response = with_cookie(&world.app, reqwest::Method::GET, "/no-such-page", &cookie)
        .await
        .header("accept-language", "zh-CN")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let page = response.text().await.expect("a body");
    assert!(
        page.contains("<title>") && page.contains("lang=\"zh"),
        "{page}"
    );
    assert!(page.contains("页面不存在"), "{page}");
}

#[tokio::test]
async fn an_invited_student_chooses_a_password_from_the_emailed_link_and_signs_in() {
    let _slot = browser_slots().acquire().await.expect("a slot");
    let Some(browser) = browser().await else {
        return;
    };
    let world = world().await;
    let created = world
        .app
        .post(
            "/api/v1/students",
            &world.app.admin,
            json!({"university_id": world.university["id"], "student_number": "S002",
                   "name": "Zhou Min", "email": "zhou.min@students.test",
                   "program_code": "0854", "cohort_year": 2026}),
        )
        .await;
    expect_json(created, StatusCode::CREATED).await;
    let email = email_to(&world.app, "zhou.min@students.test").await;
    assert!(email.contains("Zhou Min 同学") && email.contains("Dear Zhou Min"));
    let link = link_path(&email);

    browser
        .goto(&world.app.url(&format!("{link}?lang=en")))
        .await;
    assert!(
        browser.text().await.contains("At least 8 characters"),
        "the rules in words"
    );
    photograph(&browser, "activate").await;
    browser
        .field("Password")
        .await
        .type_text("lantern river 2027")
        .await;
    browser
        .field("Confirm password")
        .await
        .type_text("lantern river 2028")
        .await;
    browser.button("Set my password").await.click().await;
    assert!(browser.text().await.contains("The two passwords differ."));
    browser
        .field("Password")
        .await
        .type_text("lantern river 2027")
        .await;
    browser
        .field("Confirm password")
        .await
        .type_text("lantern river 2027")
        .await;
    browser.button("Set my password").await.click().await;
    assert_eq!(browser.path().await, "/login");
    assert!(browser.text().await.contains("Your password is set."));

    sign_in(
        &browser,
        &world.app,
        "zhou.min@students.test",
        "lantern river 2027",
    )
    .await;
    assert_eq!(browser.path().await, "/student");

    browser.goto(&world.app.url(&link)).await;
    assert!(
        browser.text().await.contains("This link no longer works"),
        "a link works once"
    );
}

#[tokio::test]
async fn a_forgotten_password_is_reset_by_email_and_unknown_emails_get_the_same_answer() {
    let _slot = browser_slots().acquire().await.expect("a slot");
    let Some(browser) = browser().await else {
        return;
    };
    let world = world().await;
    browser.goto(&world.app.url("/login?lang=en")).await;
    browser.link("Forgot password?").await.click().await;
    assert_eq!(browser.path().await, "/forgot-password");
    browser
        .field("Email")
        .await
        .type_text("nobody@students.test")
        .await;
    browser.button("Send the link").await.click().await;
    let unknown = browser.text().await;
    photograph(&browser, "forgot-password").await;
    browser
        .field("Email")
        .await
        .type_text(&world.student_email)
        .await;
    browser.button("Send the link").await.click().await;
    assert_eq!(
        browser.text().await,
        unknown,
        "the same answer for a known email"
    );
    assert!(unknown.contains("If an account uses this email"));

    let link = link_path(&email_to(&world.app, &world.student_email).await);
    browser.goto(&world.app.url(&link)).await;
    browser
        .field("Password")
        .await
        .type_text("a brand new secret")
        .await;
    browser
        .field("Confirm password")
        .await
        .type_text("a brand new secret")
        .await;
    browser.button("Set my password").await.click().await;
    sign_in(&browser, &world.app, &world.student_email, PASSWORD).await;
    assert!(
        browser.text().await.contains("Wrong email or password."),
        "the old password is gone"
    );
    sign_in(
        &browser,
        &world.app,
        &world.student_email,
        "a brand new secret",
    )
    .await;
    assert_eq!(browser.path().await, "/student");
}

#[tokio::test]
async fn a_script_in_a_name_shows_as_text() {
    let _slot = browser_slots().acquire().await.expect("a slot");
    let Some(browser) = browser().await else {
        return;
    };
    let world = world_with_cycle("<script>alert(1)</script>").await;
    sign_in(&browser, &world.app, &world.student_email, PASSWORD).await;
    assert_eq!(browser.path().await, "/student");
    assert!(browser.text().await.contains("<script>alert(1)</script>"));
    let scripts = browser.script("return document.scripts.length;").await;
    assert_eq!(scripts, json!(0), "nothing of the name became a script");

    let app = &world.app;
    let cycles = expect_json(app.get("/api/v1/cycles", &app.admin).await, StatusCode::OK).await;
    let bases = expect_json(app.get("/api/v1/bases", &app.admin).await, StatusCode::OK).await;
    app.set_seats(&cycles["items"][0], &bases["items"][0], 2)
        .await;
    let (_, token) = app
        .create_student(
            &world.university,
            "S666",
            "<img src=x onerror=alert(1)>",
            "0854",
            Some(60.0),
        )
        .await;
    let mine = format!(
        "/api/v1/cycles/{}/applications/me",
        helpers::id(&cycles["items"][0])
    );
    expect_json(
        app.put(
            &mine,
            &token,
            json!({"preferences": [bases["items"][0]["id"]]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    browser.button("Sign out").await.click().await;
    sign_in(&browser, app, &world.coordinator_email, PASSWORD).await;
    assert!(
        browser
            .text()
            .await
            .contains("<img src=x onerror=alert(1)>"),
        "the applicant's name shows as text on the coordinator's page"
    );
    let images = browser
        .script("return document.querySelectorAll('main img').length;")
        .await;
    assert_eq!(images, json!(0), "nothing of the name became an element");
}
