//! The base coordinator's page: the base's seats in the cycle, its applicants in its order,
//! its offers and the second round's direct applications.

use super::pages::{home, section};
use crate::domain::Role;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};

/// Mounts the coordinator's page and its forms.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/base", web::get().to(base_home));
}

/// `GET /base`.
async fn base_home(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    home(req, state, Role::BaseCoordinator, |t| {
        (
            t.home_base,
            vec![
                section("seats", t.section_seats),
                section("applicants", t.section_applicants),
                section("offers", t.section_offers),
                section("direct-applications", t.section_direct_applications),
            ],
        )
    })
    .await
}
