//! The OpenAPI document, generated from the handlers and types.

use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "placemat", description = "Internship placement service of a regional alliance of engineering universities."),
    paths(
        super::ops::healthz,
        super::ops::readyz,
        super::ops::metrics,
        super::auth::login,
        super::auth::logout,
        super::auth::me,
        super::universities::list,
        super::universities::create,
        super::programs::list,
        super::programs::create,
        super::bases::list,
        super::bases::get,
        super::bases::create,
        super::bases::update,
        super::cycles::list,
        super::cycles::get,
        super::cycles::create,
        super::cycles::update,
        super::cycles::put_seats,
        super::cycles::list_seats,
        super::students::list,
        super::students::get,
        super::students::create,
        super::students::update,
        super::students::import,
        super::students::resend_invitation,
        super::applications::put_mine,
        super::applications::get_mine,
        super::applications::list,
        super::applications::put_ranking,
        super::applications::get_ranking,
        super::match_runs::create,
        super::match_runs::list,
        super::match_runs::get,
        super::match_runs::assignments,
        super::match_runs::publish,
        super::direct_applications::create,
        super::direct_applications::list,
        super::direct_applications::accept,
        super::direct_applications::reject,
        super::placements::list,
        super::placements::get,
        super::placements::confirm,
        super::placements::decline,
        super::placements::withdraw,
        super::placements::complete,
        super::emails::list,
        super::emails::get,
        super::emails::retry,
        super::stats::placements,
    ),
    components(schemas(crate::error::Problem, crate::error::FieldError)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

/// Serves the OpenAPI document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations", security(()),
    responses((status = 200, description = "OpenAPI 3 document")))]
pub async fn document() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
