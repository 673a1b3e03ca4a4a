//! Security headers on every answer.
//!
//! placemat sends no CORS headers: browsers only let pages served by placemat itself call
//! the API. A deployment that needs another origin puts a reverse proxy in front that adds
//! them.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;

/// What an HTML page may load: its own scripts and styles (the API explorer at `/docs`
/// also sets inline styles and uses `data:` images), and calls to placemat itself.
pub const HTML_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
    connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Any other answer is data, never a document: it may load nothing and be framed nowhere.
pub const DATA_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

/// Adds the security headers, keeping any a handler set itself.
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let personal = req.path().starts_with("/api/");
    let mut response = next.call(req).await?;
    let headers = response.headers_mut();
    let is_html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(|value| value.starts_with("text/html"))
        .unwrap_or(false);
    set_default(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set_default(headers, header::X_FRAME_OPTIONS, "DENY");
    set_default(headers, header::REFERRER_POLICY, "no-referrer");
    set_default(
        headers,
        header::CONTENT_SECURITY_POLICY,
        if is_html { HTML_POLICY } else { DATA_POLICY },
    );
    // API answers carry tokens and personal data: no cache along the way may keep them.
    if personal {
        set_default(headers, header::CACHE_CONTROL, "no-store");
    }
    Ok(response)
}

fn set_default(headers: &mut HeaderMap, name: HeaderName, value: &'static str) {
    if !headers.contains_key(&name) {
        headers.insert(name, HeaderValue::from_static(value));
    }
}
