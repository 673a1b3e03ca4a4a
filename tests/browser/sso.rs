//! Signing in through the universities' identity providers, in the browser: a USST student
//! through USST's CAS server, an NJTECH officer through NJTECH's OpenID Connect provider,
//! both real, on 127.0.0.1.

use crate::helpers::{spawn_app, TestApp, PASSWORD};
use crate::identity_providers::*;
use crate::{browser, browser_slots, photograph};
use placemat::domain::Role;

const STUDENT_NUMBER: &str = "S001";
const OFFICER: &str = "officer@njtech.edu.cn";
const SECRET_VARIABLE: &str = "PLACEMAT_TEST_OIDC_SECRET";

struct Campus {
    app: TestApp,
    placemat: String,
    _cas: Cas,
    _oidc: Oidc,
}

/// USST's student Lin Yue and NJTECH's officer, with placemat signing USST in through CAS
/// and NJTECH through OpenID Connect.
async fn campus() -> Campus {
    std::env::set_var(SECRET_VARIABLE, OIDC_SECRET);
    let app = spawn_app().await;
    let usst = app.create_university("USST").await;
    app.create_university("NJTECH").await;
    app.create_program("0854").await;
    app.create_student(&usst, STUDENT_NUMBER, "Lin Yue", "0854", None)
        .await;
    let db = app.db.clone();
    tokio::task::spawn_blocking(move || {
        placemat::cli::create_user(
            &db,
            Role::UniversityAdmin,
            OFFICER,
            PASSWORD,
            Some("NJTECH"),
            None,
        )
    })
    .await
    .expect("joins")
    .expect("the officer is created");
    let port = free_port();
    let placemat = format!("http://127.0.0.1:{port}");
    let cas = Cas::start(&[
        CasPerson {
            username: STUDENT_NUMBER,
            password: "cas password",
            email: "lin.yue@usst.edu.cn",
        },
        CasPerson {
            username: "S999",
            password: "cas password",
            email: "stranger@usst.edu.cn",
        },
    ]);
    let oidc = Oidc::start(&format!("{placemat}/sso/njtech/callback"));
    let entries = format!(
        "[[provider]]\nid = \"usst\"\nuniversity = \"USST\"\nname = \"USST 统一身份认证\"\nkind = \"cas\"\nurl = \"{}\"\nmatch = \"student_number\"\n\n\
         [[provider]]\nid = \"njtech\"\nuniversity = \"NJTECH\"\nname = \"NJTECH SSO\"\nkind = \"oidc\"\nissuer = \"{}\"\nclient_id = \"placemat\"\nclient_secret_env = \"{SECRET_VARIABLE}\"\nmatch = \"email\"\n",
        cas.url, oidc.issuer
    );
    let file = app.mail_dir.with_file_name("providers.toml");
    std::fs::write(&file, entries).expect("the provider file");
    app.sibling_with(|config| {
        config.bind = format!("127.0.0.1:{port}");
        config.public_url = placemat.clone();
        config.sso_file = Some(file);
    })
    .await;
    Campus {
        app,
        placemat,
        _cas: cas,
        _oidc: oidc,
    }
}

/// Signs in at the CAS server's own form (in the browser's language, Chinese).
async fn cas_form(browser: &crate::driver::Browser, username: &str) {
    browser
        .input_named("username")
        .await
        .type_text(username)
        .await;
    browser
        .input_named("password")
        .await
        .type_text("cas password")
        .await;
    browser
        .input_named("password")
        .await
        .type_text("\u{E007}")
        .await;
}

#[tokio::test]
async fn a_student_signs_in_through_cas_and_an_officer_through_openid_connect() {
    if !installed("browser sign-in through providers") {
        return;
    }
    let _slot = browser_slots().acquire().await.expect("a slot");
    let Some(browser) = browser().await else {
        return;
    };
    let campus = campus().await;
    let placemat = &campus.placemat;
    browser.goto(&format!("{placemat}/login?lang=en")).await;
    photograph(&browser, "login-providers").await;
    browser
        .button("Sign in with USST 统一身份认证")
        .await
        .click()
        .await;
    browser.wait_for_next_page().await;
    cas_form(&browser, STUDENT_NUMBER).await;
    browser.wait_for_next_page().await;
    assert_eq!(browser.path().await, "/student");
    assert!(browser.text().await.contains("Lin Yue"));
    browser.button("Sign out").await.click().await;
    browser.wait_for_next_page().await;
    assert!(browser
        .text()
        .await
        .contains("Also sign out of USST 统一身份认证"));

    browser.goto(&format!("{placemat}/login?lang=en")).await;
    browser
        .button("Sign in with NJTECH SSO")
        .await
        .click()
        .await;
    browser.wait_for_next_page().await;
    browser.input_named("login").await.type_text(OFFICER).await;
    browser.input_named("password").await.type_text("any").await;
    browser.button("Sign-in").await.click().await;
    browser.wait_for_next_page().await;
    assert_eq!(browser.path().await, "/university");
    drop(campus.app);
}

#[tokio::test]
async fn a_stranger_a_replayed_ticket_and_a_tampered_state_are_refused_in_words() {
    if !installed("browser refusals through providers") {
        return;
    }
    let _slot = browser_slots().acquire().await.expect("a slot");
    let Some(browser) = browser().await else {
        return;
    };
    let campus = campus().await;
    let placemat = &campus.placemat;

    browser.goto(&format!("{placemat}/login?lang=en")).await;
    browser.button("Sign in with USST").await.click().await;
    browser.wait_for_next_page().await;
    cas_form(&browser, "S999").await;
    browser.wait_for_next_page().await;
    let said = browser.text().await;
    assert!(said.contains("No placemat account for you"), "{said}");
    assert!(said.contains("placement officer"));
    photograph(&browser, "sso-unknown-person").await;

    // A ticket someone else already used, shown by this browser after it started its own
    // sign-in.
    let other = crate::identity_providers::browser();
    let used = cas_sign_in(&other, placemat, "usst", STUDENT_NUMBER, "cas password").await;
    other.get(&used).send().await.expect("sent");
    browser.goto(&format!("{placemat}/login?lang=en")).await;
    browser.button("Sign in with USST").await.click().await;
    browser.wait_for_next_page().await;
    browser.goto(&used).await;
    assert!(browser.text().await.contains("Sign-in not confirmed"));
    browser.goto(&format!("{placemat}/student")).await;
    assert_eq!(browser.path().await, "/login");

    // An OpenID Connect answer whose state was changed on the way, arriving at a browser
    // with a sign-in of its own under way.
    browser.goto(&format!("{placemat}/login?lang=en")).await;
    browser
        .button("Sign in with NJTECH SSO")
        .await
        .click()
        .await;
    browser.wait_for_next_page().await;
    let callback = oidc_sign_in(
        &crate::identity_providers::browser(),
        placemat,
        "njtech",
        OFFICER,
    )
    .await;
    browser.goto(&with_state(&callback, "tampered")).await;
    assert!(browser.text().await.contains("Sign-in not confirmed"));
    browser.goto(&format!("{placemat}/university")).await;
    assert_eq!(browser.path().await, "/login");
    drop(campus.app);
}
