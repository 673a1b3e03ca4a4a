//! The HTTP API, by resource.

pub mod applications;
pub mod auth;
pub mod bases;
pub mod cycles;
pub mod direct_applications;
pub mod emails;
pub mod extract;
pub mod lookup;
pub mod match_runs;
pub mod openapi;
pub mod ops;
pub mod placements;
pub mod programs;
pub mod stats;
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
                .service(
                    web::resource("/programs")
                        .get(programs::list)
                        .post(programs::create),
                )
                .service(web::resource("/bases").get(bases::list).post(bases::create))
                .service(
                    web::resource("/bases/{id}")
                        .get(bases::get)
                        .patch(bases::update),
                )
                .service(
                    web::resource("/cycles")
                        .get(cycles::list)
                        .post(cycles::create),
                )
                .service(
                    web::resource("/cycles/{id}")
                        .get(cycles::get)
                        .patch(cycles::update),
                )
                .route("/cycles/{id}/seats", web::get().to(cycles::list_seats))
                .route(
                    "/cycles/{id}/seats/{base_id}",
                    web::put().to(cycles::put_seats),
                )
                .service(
                    web::resource("/students")
                        .get(students::list)
                        .post(students::create),
                )
                .service(
                    web::resource("/students/import")
                        .app_data(web::PayloadConfig::new(students::MAX_IMPORT_BYTES))
                        .post(students::import),
                )
                .service(
                    web::resource("/students/{id}")
                        .get(students::get)
                        .patch(students::update),
                )
                .route(
                    "/students/{id}/invitation",
                    web::post().to(students::resend_invitation),
                )
                .service(
                    web::resource("/cycles/{id}/applications/me")
                        .get(applications::get_mine)
                        .put(applications::put_mine),
                )
                .route(
                    "/cycles/{id}/applications",
                    web::get().to(applications::list),
                )
                .service(
                    web::resource("/cycles/{id}/rankings/{base_id}")
                        .get(applications::get_ranking)
                        .put(applications::put_ranking),
                )
                .service(
                    web::resource("/cycles/{id}/match-runs")
                        .get(match_runs::list)
                        .post(match_runs::create),
                )
                .route("/match-runs/{id}", web::get().to(match_runs::get))
                .route(
                    "/match-runs/{id}/assignments",
                    web::get().to(match_runs::assignments),
                )
                .route(
                    "/match-runs/{id}/publish",
                    web::post().to(match_runs::publish),
                )
                .service(
                    web::resource("/cycles/{id}/direct-applications")
                        .get(direct_applications::list)
                        .post(direct_applications::create),
                )
                .route(
                    "/direct-applications/{id}/accept",
                    web::post().to(direct_applications::accept),
                )
                .route(
                    "/direct-applications/{id}/reject",
                    web::post().to(direct_applications::reject),
                )
                .route("/placements", web::get().to(placements::list))
                .route("/placements/{id}", web::get().to(placements::get))
                .route(
                    "/placements/{id}/confirm",
                    web::post().to(placements::confirm),
                )
                .route(
                    "/placements/{id}/decline",
                    web::post().to(placements::decline),
                )
                .route(
                    "/placements/{id}/withdraw",
                    web::post().to(placements::withdraw),
                )
                .route(
                    "/placements/{id}/complete",
                    web::post().to(placements::complete),
                )
                .route("/emails", web::get().to(emails::list))
                .route("/emails/{id}", web::get().to(emails::get))
                .route("/emails/{id}/retry", web::post().to(emails::retry))
                .route("/stats/placements", web::get().to(stats::placements)),
        );
}

/// Answers unknown paths with a problem.
pub async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::NotFound("no such endpoint".into()))
}
