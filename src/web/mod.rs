//! The web pages: server-rendered HTML from askama templates compiled into the binary, in
//! Chinese and English, over server-side sessions. Pages call the same services as the
//! API, never the API itself.

mod alliance;
pub mod assets;
mod base;
pub mod charts;
pub mod error;
pub mod extract;
pub mod lang;
mod pages;
pub mod session;
mod sso;
mod statistics;
mod student;
mod university;

use actix_web::{web, HttpRequest};

/// Whether a request nothing answered is a signed-in browser's, which gets the 404 page
/// in its language.
pub async fn is_lost_page(req: &HttpRequest) -> bool {
    !req.path().starts_with("/api/") && matches!(extract::signed_in(req).await, Ok(Some(_)))
}

/// Mounts every page and the static files.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(pages::root))
        .service(
            web::resource("/login")
                .get(pages::login_form)
                .post(pages::login),
        )
        .route("/logout", web::post().to(pages::logout))
        .service(
            web::resource("/forgot-password")
                .get(pages::forgot_form)
                .post(pages::forgot),
        )
        .service(
            web::resource("/activate/{secret}")
                .get(pages::activate_form)
                .post(pages::activate),
        )
        .configure(student::routes)
        .configure(base::routes)
        .configure(university::routes)
        .configure(alliance::routes)
        .configure(sso::routes)
        .route("/static/{name}", web::get().to(assets::serve));
}
