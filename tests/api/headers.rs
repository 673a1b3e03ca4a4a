//! Every answer tells browsers to keep placemat's data to placemat: no sniffing, no
//! framing, no referrer, no caching of personal data, and no other origin.

use crate::helpers::*;
use reqwest::StatusCode;

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
}

#[tokio::test]
async fn api_answers_are_never_cached_framed_or_shared_with_other_origins() {
    let app = spawn_app().await;
    let me = app
        .client
        .get(app.url("/api/v1/me"))
        .bearer_auth(&app.admin)
        .header("Origin", "https://evil.test")
        .send()
        .await
        .expect("sent");
    assert_eq!(me.status(), StatusCode::OK);
    assert_eq!(header(&me, "x-content-type-options"), "nosniff");
    assert_eq!(header(&me, "x-frame-options"), "DENY");
    assert_eq!(header(&me, "referrer-policy"), "no-referrer");
    assert_eq!(header(&me, "cache-control"), "no-store");
    assert!(header(&me, "content-security-policy").contains("frame-ancestors 'none'"));
    assert!(me.headers().get("access-control-allow-origin").is_none());

    let refused = app
        .client
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .expect("sent");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(header(&refused, "cache-control"), "no-store");
    assert_eq!(header(&refused, "x-content-type-options"), "nosniff");

    let health = app
        .client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("sent");
    assert_eq!(header(&health, "x-frame-options"), "DENY");
}

#[tokio::test]
async fn the_docs_page_may_load_only_its_own_scripts_and_styles() {
    let app = spawn_app().await;
    let page = app
        .client
        .get(app.url("/docs/"))
        .send()
        .await
        .expect("sent");
    assert_eq!(page.status(), StatusCode::OK);
    assert!(header(&page, "content-type").starts_with("text/html"));
    let policy = header(&page, "content-security-policy").to_owned();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(policy.contains(directive), "{policy}");
    }
    let html = page.text().await.expect("the page");
    assert!(
        !html.contains("<script>"),
        "no inline script the policy would block"
    );
    for asset in [
        "swagger-ui-bundle.js",
        "swagger-initializer.js",
        "swagger-ui.css",
    ] {
        assert!(html.contains(asset), "{asset}");
        let loaded = app
            .client
            .get(app.url(&format!("/docs/{asset}")))
            .send()
            .await
            .expect("sent");
        assert_eq!(loaded.status(), StatusCode::OK, "{asset}");
    }
    let spec = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .expect("sent");
    assert_eq!(
        spec.status(),
        StatusCode::OK,
        "the page's call to its own origin"
    );
}
