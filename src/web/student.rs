//! The student's page: the open cycle, the bases the student may list, the ranked list,
//! and after publication the placement or why there is none.

use super::pages::{home, section};
use crate::domain::Role;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};

/// Mounts the student's page and its forms.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/student", web::get().to(student_home));
}

/// `GET /student`.
async fn student_home(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    home(req, state, Role::Student, |t| {
        (
            t.home_student,
            vec![
                section("bases", t.section_bases),
                section("choices", t.section_my_choices),
            ],
        )
    })
    .await
}
