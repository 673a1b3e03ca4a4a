//! The HTTP API, by resource.

pub mod auth;
pub mod bases;
pub mod cycles;
pub mod extract;
pub mod lookup;
pub mod openapi;
pub mod ops;
pub mod programs;
pub mod students;
pub mod universities;

use crate::error::ApiError;
use actix_web::web;

/// Mounts every route of the API.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(ops::healthz))
        .route("/readyz", web::get().to(ops::readyz))
        .route("/metrics", web::get().to(ops::metrics))
        .service(
            web::scope("/api/v1")
                .route("/openapi.json", web::get().to(openapi::document))
                .route("/auth/login", web::post().to(auth::login))
                .route("/auth/logout", web::post().to(auth::logout))
                .route("/me", web::get().to(auth::me))
                .service(
                    web::resource("/universities")
                        .get(universities::list)
                        .post(universities::create),
                )
                .service(web::resource("/programs").get(programs::list).post(programs::create))
                .service(web::resource("/bases").get(bases::list).post(bases::create))
                .service(web::resource("/bases/{id}").get(bases::get).patch(bases::update))
                .service(web::resource("/cycles").get(cycles::list).post(cycles::create))
                .service(web::resource("/cycles/{id}").get(cycles::get).patch(cycles::update))
                .route("/cycles/{id}/seats", web::get().to(cycles::list_seats))
                .route("/cycles/{id}/seats/{base_id}", web::put().to(cycles::put_seats))
                .service(web::resource("/students").get(students::list).post(students::create))
                .service(
                    web::resource("/students/import")
                        .app_data(web::PayloadConfig::new(students::MAX_IMPORT_BYTES))
                        .post(students::import),
                )
                .service(web::resource("/students/{id}").get(students::get).patch(students::update)),
        );
}

/// Answers unknown paths with a problem.
pub async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::NotFound("no such endpoint".into()))
}
