//! Signing in through the universities' identity providers, in the browser: a USST student
//! through USST's CAS server, an NJTECH officer through NJTECH's OpenID Connect provider,
//! both real, on 127.0.0.1.

use crate::helpers::TestApp;
use crate::identity_providers::*;
use crate::{browser, browser_slots, photograph};

const STUDENT_NUMBER: &str = "S001";

struct Campus {
    app: TestApp,
    placemat: String,
    _cas: Cas,
    _oidc: Oidc,
}

/// USST's student Lin Yue and NJTECH's officer, with placemat signing USST in through CAS
/// and NJTECH through OpenID Connect.
async fn campus() -> Campus {
    let (app, _) = two_universities(STUDENT_NUMBER, "Lin Yue").await;
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
    let entries = cas_entry(&cas.url, "") + &oidc_entry(&oidc.issuer, "");
    with_providers(&app, port, &entries).await;
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
