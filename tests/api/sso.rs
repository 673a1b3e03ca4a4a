//! Signing in through the universities' own identity providers: a CAS 3.0 server and an
//! OpenID Connect provider, both real and on 127.0.0.1, in front of a placemat that knows
//! them from its provider file.

use crate::helpers::*;
use crate::identity_providers::*;
use reqwest::StatusCode;
use std::time::Duration;

const STUDENT_NUMBER: &str = "2026001";

/// The alliance with a USST student and an NJTECH officer, and a placemat instance that
/// signs USST in through CAS and NJTECH through OpenID Connect.
struct Alliance {
    app: TestApp,
    placemat: String,
    student_name: String,
    _cas: Option<Cas>,
    _oidc: Option<Oidc>,
}

async fn alliance() -> Alliance {
    let (app, student_name) = two_universities(STUDENT_NUMBER, "李华").await;
    let port = free_port();
    let placemat = format!("http://127.0.0.1:{port}");
    let cas = Cas::start(&[
        CasPerson {
            username: STUDENT_NUMBER,
            password: "cas password",
            email: "li.hua@usst.edu.cn",
        },
        CasPerson {
            username: "2026999",
            password: "cas password",
            email: "stranger@usst.edu.cn",
        },
    ]);
    let oidc = Oidc::start(&format!("{placemat}/sso/njtech/callback"));
    let entries = cas_entry(&cas.url, "") + &oidc_entry(&oidc.issuer, "");
    with_providers(&app, port, &entries).await;
    Alliance {
        app,
        placemat,
        student_name,
        _cas: Some(cas),
        _oidc: Some(oidc),
    }
}

async fn page(browser: &reqwest::Client, url: &str) -> (StatusCode, Option<String>, String) {
    let response = browser.get(url).send().await.expect("sent");
    let status = response.status();
    let next = location(&response);
    (status, next, response.text().await.expect("a body"))
}

#[tokio::test]
async fn a_student_signs_in_through_the_universitys_cas_and_a_replayed_ticket_opens_nothing() {
    if !installed("cas sign-in") {
        return;
    }
    let alliance = alliance().await;
    let placemat = &alliance.placemat;
    let login = page(&browser(), &format!("{placemat}/login?lang=en"))
        .await
        .2;
    assert!(login.contains("Sign in with USST 统一身份认证"), "{login}");
    assert!(login.contains("Sign in with NJTECH SSO"));

    let student = browser();
    let callback = cas_sign_in(&student, placemat, "usst", STUDENT_NUMBER, "cas password").await;
    assert!(callback.starts_with(&format!("{placemat}/sso/usst/callback?ticket=ST-")));
    let (status, next, _) = page(&student, &callback).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        next.as_deref(),
        Some(format!("{placemat}/student").as_str())
    );
    let (status, _, home) = page(&student, &format!("{placemat}/student")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(home.contains(&alliance.student_name));

    // The same ticket, shown again by another browser that started a sign-in of its own.
    let thief = browser();
    thief
        .get(format!("{placemat}/sso/usst/start"))
        .send()
        .await
        .expect("sent");
    let (status, _, refusal) = page(&thief, &format!("{callback}&lang=en")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        refusal.contains("could not confirm this sign-in"),
        "{refusal}"
    );
    assert!(refusal.contains("href=\"/login\""));
    let (status, next, _) = page(&thief, &format!("{placemat}/student")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(next.as_deref(), Some(format!("{placemat}/login").as_str()));

    // A forged ticket is refused by the CAS server itself.
    let forger = browser();
    forger
        .get(format!("{placemat}/sso/usst/start"))
        .send()
        .await
        .expect("sent");
    let (status, _, _) = page(
        &forger,
        &format!("{placemat}/sso/usst/callback?ticket=ST-forged"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_officer_signs_in_through_openid_connect_and_a_tampered_state_opens_nothing() {
    if !installed("oidc sign-in") {
        return;
    }
    let alliance = alliance().await;
    let placemat = &alliance.placemat;
    let officer = browser();
    let callback = oidc_sign_in(&officer, placemat, "njtech", OFFICER).await;
    assert!(callback.starts_with(&format!("{placemat}/sso/njtech/callback?")));
    let (status, next, _) = page(&officer, &callback).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{callback}");
    assert_eq!(
        next.as_deref(),
        Some(format!("{placemat}/university").as_str())
    );
    let (status, _, _) = page(&officer, &format!("{placemat}/university")).await;
    assert_eq!(status, StatusCode::OK);

    let tamperer = browser();
    let callback = oidc_sign_in(&tamperer, placemat, "njtech", OFFICER).await;
    let tampered = with_state(&callback, "a state placemat never made");
    let (status, _, refusal) = page(&tamperer, &tampered).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refusal}");
    // The attempt was used up by the tampered answer: the genuine one opens nothing now.
    let (status, _, _) = page(&tamperer, &callback).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = page(&tamperer, &format!("{placemat}/university")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // An answer carried to a browser that started no sign-in opens nothing either.
    let callback = oidc_sign_in(&browser(), placemat, "njtech", OFFICER).await;
    let (status, _, _) = page(&browser(), &callback).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_person_placemat_does_not_know_is_refused_and_told_whom_to_ask() {
    if !installed("unknown person") {
        return;
    }
    let alliance = alliance().await;
    let placemat = &alliance.placemat;
    let stranger = browser();
    let callback = cas_sign_in(&stranger, placemat, "usst", "2026999", "cas password").await;
    let (status, _, refusal) = page(&stranger, &format!("{callback}&lang=en")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(refusal.contains("No placemat account for you"), "{refusal}");
    assert!(refusal.contains("placement officer"));

    // The NJTECH officer's email means nothing at USST's provider, and an email nobody has
    // means nothing at NJTECH's.
    let stranger = browser();
    let callback = oidc_sign_in(&stranger, placemat, "njtech", "nobody@njtech.edu.cn").await;
    let (status, _, _) = page(&stranger, &callback).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, next, _) = page(&stranger, &format!("{placemat}/university")).await;
    assert_eq!(
        (status, next),
        (StatusCode::SEE_OTHER, Some(format!("{placemat}/login")))
    );
    let count = alliance
        .app
        .get("/api/v1/students?limit=1", &alliance.app.admin)
        .await;
    assert_eq!(expect_json(count, StatusCode::OK).await["total"], 1);
}

#[tokio::test]
async fn a_spoiled_signature_a_replayed_id_token_and_an_expired_one_are_refused() {
    if !installed("spoiled id tokens") {
        return;
    }
    let (app, _) = two_universities(STUDENT_NUMBER, "李华").await;
    let port = free_port();
    let placemat = format!("http://127.0.0.1:{port}");
    let upstream = free_port();
    let proxy = Proxy::start(upstream);
    let _oidc = Oidc::start_on(
        upstream,
        &format!("{placemat}/sso/njtech/callback"),
        2,
        proxy.port,
    );
    let issuer = format!("http://127.0.0.1:{}", proxy.port);
    with_providers(&app, port, &oidc_entry(&issuer, "")).await;

    let sign_in = |spoil: Spoil| {
        let placemat = placemat.clone();
        let proxy = &proxy;
        async move {
            proxy.spoil(spoil);
            let officer = browser();
            let callback = oidc_sign_in(&officer, &placemat, "njtech", OFFICER).await;
            page(&officer, &callback).await.0
        }
    };
    assert_eq!(sign_in(Spoil::Signature).await, StatusCode::FORBIDDEN);
    assert_eq!(sign_in(Spoil::Replay).await, StatusCode::SEE_OTHER);
    assert_eq!(sign_in(Spoil::Replay).await, StatusCode::FORBIDDEN);
    assert_eq!(
        sign_in(Spoil::Delay(Duration::from_millis(3500))).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(sign_in(Spoil::Nothing).await, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_provider_that_is_down_or_too_slow_gets_a_readable_502() {
    if !installed("providers down") {
        return;
    }
    let (app, _) = two_universities(STUDENT_NUMBER, "李华").await;
    let port = free_port();
    let placemat = format!("http://127.0.0.1:{port}");
    let down = format!("http://127.0.0.1:{}", free_port());
    // A provider that takes the connection and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let slow = format!("http://{}", silent.local_addr().expect("an address"));
    let held = tokio::spawn(async move {
        let mut kept = Vec::new();
        while let Ok((connection, _)) = silent.accept().await {
            kept.push(connection);
        }
    });
    let entries = cas_entry(&format!("{down}/cas"), "") + &oidc_entry(&slow, "timeout_seconds = 1");
    with_providers(&app, port, &entries).await;

    let visitor = browser();
    let started = std::time::Instant::now();
    let (status, _, words) = page(&visitor, &format!("{placemat}/sso/njtech/start?lang=en")).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(words.contains("did not answer in time"), "{words}");
    assert!(started.elapsed() < Duration::from_secs(5));

    let (status, next, _) = page(&visitor, &format!("{placemat}/sso/usst/start")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(next.is_some_and(|to| to.starts_with(&down)));
    let (status, _, _) = page(
        &visitor,
        &format!("{placemat}/sso/usst/callback?ticket=ST-1"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    let (status, _, _) = page(&visitor, &format!("{placemat}/sso/nowhere/start")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    held.abort();
}

#[tokio::test]
async fn a_university_without_password_sign_in_sends_its_people_to_its_provider() {
    let (app, _) = two_universities(STUDENT_NUMBER, "李华").await;
    let port = free_port();
    let entries = cas_entry("http://127.0.0.1:9/cas", "password = false");
    let placemat = with_providers(&app, port, &entries).await;
    let response = app
        .client
        .post(format!("{placemat}/api/v1/auth/login"))
        .json(&serde_json::json!({"email": format!("{STUDENT_NUMBER}@students.test"), "password": PASSWORD}))
        .send()
        .await
        .expect("sent");
    let problem = expect_problem(response, StatusCode::UNAUTHORIZED).await;
    assert!(problem["detail"]
        .as_str()
        .is_some_and(|detail| detail.contains("USST 统一身份认证")));
    // NJTECH keeps its passwords, and so do the alliance and the bases.
    let response = app
        .client
        .post(format!("{placemat}/api/v1/auth/login"))
        .json(&serde_json::json!({"email": OFFICER, "password": PASSWORD}))
        .send()
        .await
        .expect("sent");
    expect_json(response, StatusCode::OK).await;
}

#[tokio::test]
async fn a_provider_file_with_a_fault_stops_serve_naming_the_entry() {
    let (app, _) = two_universities(STUDENT_NUMBER, "李华").await;
    for (entries, expected) in [
        (
            cas_entry("http://127.0.0.1:9/cas", "").replace("USST\"", "MIT\""),
            "provider `usst` (entry 1)",
        ),
        (
            oidc_entry("http://127.0.0.1:9", "").replace(SECRET_VARIABLE, "PLACEMAT_TEST_UNSET"),
            "PLACEMAT_TEST_UNSET",
        ),
        (
            cas_entry("http://127.0.0.1:9/cas", "").replace("url = ", "link = "),
            "provider `usst` (entry 1)",
        ),
    ] {
        let file = app_file(&app, &entries);
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_placemat"))
            .arg("serve")
            .env("PLACEMAT_DATABASE_URL", &app.config.database_url)
            .env("PLACEMAT_BIND", "127.0.0.1:0")
            .env("PLACEMAT_SSO_FILE", &file)
            .env("PLACEMAT_MAIL_DIR", &app.mail_dir)
            .output()
            .expect("placemat runs");
        assert_eq!(output.status.code(), Some(1));
        let said = String::from_utf8_lossy(&output.stderr);
        assert!(said.contains(expected), "{said}");
    }
}

#[tokio::test]
async fn signing_out_of_a_session_from_cas_offers_the_providers_own_sign_out() {
    if !installed("sso sign-out") {
        return;
    }
    let alliance = alliance().await;
    let placemat = &alliance.placemat;
    let student = browser();
    let callback = cas_sign_in(&student, placemat, "usst", STUDENT_NUMBER, "cas password").await;
    page(&student, &callback).await;
    let home = page(&student, &format!("{placemat}/student")).await.2;
    let logout = home.find("action=\"/logout\"").expect("a sign-out form");
    let form = home[..logout].rfind("<form").expect("the form's start");
    let (_, fields) = form_of(&home[form..]);
    let csrf = fields
        .into_iter()
        .find(|(name, _)| name == "csrf_token")
        .expect("the sign-out form's token");
    let out = student
        .post(format!("{placemat}/logout"))
        .form(&[csrf])
        .send()
        .await
        .expect("sent");
    let next = location(&out).expect("back to the sign-in page");
    assert!(next.ends_with("/login?signed_out=usst"), "{next}");
    let (_, _, login) = page(&student, &format!("{next}&lang=en")).await;
    assert!(
        login.contains("Also sign out of USST 统一身份认证"),
        "{login}"
    );
    assert!(login.contains("/cas/logout?service="));
    let (status, _, _) = page(&student, &format!("{placemat}/student")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}
