//! The stylesheet and icon, built into the binary and served under `/static/` with a
//! content hash in their URLs, so that browsers may keep them for a year.

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{web, HttpResponse};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

const CSS: &str = include_str!("../../static/style.css");
const ICON: &str = include_str!("../../static/icon.svg");

struct Asset {
    name: &'static str,
    body: &'static str,
    content_type: &'static str,
}

const ASSETS: [Asset; 2] = [
    Asset {
        name: "style.css",
        body: CSS,
        content_type: "text/css; charset=utf-8",
    },
    Asset {
        name: "icon.svg",
        body: ICON,
        content_type: "image/svg+xml",
    },
];

fn versioned(asset: &Asset) -> String {
    let digest = Sha256::digest(asset.body.as_bytes());
    let hash: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("/static/{}?v={hash}", asset.name)
}

/// The URL of the stylesheet, with its content hash.
pub fn css_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| versioned(&ASSETS[0]))
}

/// The URL of the icon, with its content hash.
pub fn icon_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| versioned(&ASSETS[1]))
}

/// `GET /static/{name}`: a changed file gets a new URL, so the old one may be cached for good.
pub async fn serve(name: web::Path<String>) -> HttpResponse {
    match ASSETS.iter().find(|asset| asset.name == name.as_str()) {
        Some(asset) => HttpResponse::Ok()
            .insert_header((CONTENT_TYPE, asset.content_type))
            .insert_header((CACHE_CONTROL, "public, max-age=31536000, immutable"))
            .body(asset.body),
        None => HttpResponse::NotFound()
            .insert_header((CONTENT_TYPE, "text/plain; charset=utf-8"))
            .body("no such file"),
    }
}
