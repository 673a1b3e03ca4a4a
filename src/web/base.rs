//! The base coordinator's page: the base's seats in the cycle, its applicants in its order,
//! its offers and the second round's direct applications. Every change goes through the
//! same services as the API; a refusal is shown in words beside the form it concerns.

use super::error::{PageError, Refusal};
use super::extract::{Coordinator, CsrfForm, Empty};
use super::pages::{html, query_flag, redirect, Frame};
use crate::db::models::Cycle;
use crate::domain::*;
use crate::i18n::base::Words;
use crate::i18n::time;
use crate::i18n::{self, Lang};
use crate::services;
use crate::services::base_view::{self, Applicant, BaseView, PlacementLine};
use crate::services::placements::{Decision, DeclineReason, ReasonRefused};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;
use std::collections::HashMap;

/// Mounts the coordinator's page and its forms.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/base", web::get().to(base_home))
        .route("/base/seats", web::post().to(save_seats))
        .route("/base/ranking", web::post().to(save_ranking))
        .service(
            web::resource("/base/placements/{id}/{action}")
                .get(decline_form)
                .post(act_on_placement),
        )
        .route(
            "/base/direct-applications/{id}/{action}",
            web::post().to(decide),
        );
}

impl Coordinator {
    fn words(&self) -> &'static Words {
        Words::of(self.choice.lang)
    }
}

/// A line above a form: what was done, or why it was not.
struct Note {
    good: bool,
    text: &'static str,
}

/// The sections of the page a note belongs to.
#[derive(Clone, Copy)]
enum Part {
    Seats,
    Ranking,
    Offers,
    Direct,
}

#[derive(Default)]
struct Notes {
    seats: Option<Note>,
    ranking: Option<Note>,
    offers: Option<Note>,
    direct: Option<Note>,
}

impl Notes {
    fn one(part: Part, note: Note) -> Notes {
        let mut notes = Notes::default();
        let slot = match part {
            Part::Seats => &mut notes.seats,
            Part::Ranking => &mut notes.ranking,
            Part::Offers => &mut notes.offers,
            Part::Direct => &mut notes.direct,
        };
        *slot = Some(note);
        notes
    }

    /// The line after a change, from the `done` of the redirect.
    fn done(w: &'static Words, done: &str) -> Notes {
        let (part, text) = match done {
            "seats" => (Part::Seats, w.seats_saved),
            "ranking" => (Part::Ranking, w.ranking_saved),
            other => match (
                other.parse::<PlacementStatus>(),
                other.parse::<DirectApplicationStatus>(),
            ) {
                (Ok(PlacementStatus::Confirmed), _) => (Part::Offers, w.confirmed),
                (Ok(PlacementStatus::Declined), _) => (Part::Offers, w.declined),
                (Ok(PlacementStatus::Completed), _) => (Part::Offers, w.completed),
                (_, Ok(DirectApplicationStatus::Accepted)) => (Part::Direct, w.accepted),
                (_, Ok(DirectApplicationStatus::Rejected)) => (Part::Direct, w.rejected),
                _ => return Notes::default(),
            },
        };
        Notes::one(part, Note { good: true, text })
    }
}

/// How the page is shown: after a redirect, or again after a refused form.
struct Showing {
    status: StatusCode,
    notes: Notes,
    /// The order of the applicants not saved yet.
    draft: Option<Vec<StudentId>>,
    /// The seats as typed into a refused form.
    typed_seats: Option<String>,
}

struct CycleLine {
    name: String,
    deadline: String,
    published: bool,
}

struct SeatsBox {
    value: String,
    taken: i32,
    free: i32,
}

struct ApplicantRow {
    id: String,
    name: String,
    university: String,
    program: String,
    score: String,
    choice: i32,
}

struct OfferRow {
    id: String,
    name: String,
    university: String,
    program: String,
    state: &'static str,
    status: &'static str,
    changed: String,
}

struct DirectRow {
    id: String,
    name: String,
    university: String,
    program: String,
    applied: String,
    state: &'static str,
    status: &'static str,
}

#[derive(Template)]
#[template(path = "pages/base.html")]
struct BasePage {
    frame: Frame,
    w: &'static Words,
    csrf: String,
    name: String,
    organisation: String,
    city: String,
    cycle: Option<CycleLine>,
    seats: Option<SeatsBox>,
    applicants: Vec<ApplicantRow>,
    order: String,
    draft: bool,
    offers: Vec<OfferRow>,
    direct: Vec<DirectRow>,
    notes: Notes,
}

#[derive(Template)]
#[template(path = "pages/base_decline.html")]
struct DeclinePage<'a> {
    frame: Frame,
    w: &'static Words,
    csrf: &'a str,
    offer: OfferRow,
    reason: &'a str,
    problem: Option<&'static str>,
}

/// `GET /base`; with `up` or `down`, moves one applicant in the draft order and answers a
/// redirect to it, changing nothing on the server.
async fn base_home(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Coordinator,
) -> Result<HttpResponse, PageError> {
    let draft = query_flag(&req, "order").map(|order| student_ids(&order).unwrap_or_default());
    if let Some((student, step)) = step_asked(&req) {
        let order = moved(draft.unwrap_or_default(), student, step);
        return Ok(redirect(
            who.choice,
            &format!("/base?order={}#applicant-{student}", joined(&order)),
        ));
    }
    let notes = query_flag(&req, "done")
        .map(|done| Notes::done(who.words(), &done))
        .unwrap_or_default();
    show(
        &state,
        &who,
        Showing {
            status: StatusCode::OK,
            notes,
            draft,
            typed_seats: None,
        },
    )
    .await
}

/// Student ids separated by commas; `None` when one does not read as an id.
fn student_ids(text: &str) -> Option<Vec<StudentId>> {
    text.split(',')
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(|id| id.parse().ok())
        .collect()
}

fn joined(order: &[StudentId]) -> String {
    order
        .iter()
        .map(StudentId::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// One change to the draft order of the applicants.
#[derive(Debug, Clone, Copy)]
enum Step {
    Up,
    Down,
    /// To a place, 1 for the top.
    To(usize),
}

/// The change a `GET /base` asks for: `up` or `down` with a student, or `student` and `to`.
fn step_asked(req: &HttpRequest) -> Option<(StudentId, Step)> {
    let student = |name: &str| query_flag(req, name).and_then(|id| id.parse().ok());
    if let Some(id) = student("up") {
        return Some((id, Step::Up));
    }
    if let Some(id) = student("down") {
        return Some((id, Step::Down));
    }
    let place = query_flag(req, "to").and_then(|place| place.trim().parse().ok())?;
    Some((student("student")?, Step::To(place)))
}

/// The order with one student moved; a student it does not hold leaves it as it is.
fn moved(mut order: Vec<StudentId>, student: StudentId, step: Step) -> Vec<StudentId> {
    let Some(at) = order.iter().position(|id| *id == student) else {
        return order;
    };
    match step {
        Step::Up if at > 0 => order.swap(at, at - 1),
        Step::Down if at + 1 < order.len() => order.swap(at, at + 1),
        Step::To(place) => {
            let moving = order.remove(at);
            let index = place.saturating_sub(1).min(order.len());
            order.insert(index, moving);
        }
        Step::Up | Step::Down => {}
    }
    order
}

/// The applicants in the draft order: those it lists first, then the others in the base's
/// order; and whether that differs from the base's order.
fn arranged(applicants: Vec<Applicant>, draft: &[StudentId]) -> (Vec<Applicant>, bool) {
    let stored: Vec<StudentId> = applicants.iter().map(|a| a.student.id).collect();
    let mut by_id: HashMap<StudentId, Applicant> = applicants
        .into_iter()
        .map(|applicant| (applicant.student.id, applicant))
        .collect();
    let arranged: Vec<Applicant> = draft
        .iter()
        .chain(stored.iter())
        .filter_map(|id| by_id.remove(id))
        .collect();
    let changed = arranged
        .iter()
        .map(|a| a.student.id)
        .ne(stored.iter().copied());
    (arranged, changed)
}

/// The cycle the page works on, and what it shows of the base in it: one read.
async fn load(state: &AppState, base_id: BaseId) -> Result<(Option<Cycle>, BaseView), DomainError> {
    state
        .db
        .read(move |conn| {
            let cycle = services::cycles::current(conn)?;
            let view = base_view::load(conn, base_id, cycle.as_ref())?;
            Ok((cycle, view))
        })
        .await
}

async fn show(
    state: &AppState,
    who: &Coordinator,
    showing: Showing,
) -> Result<HttpResponse, PageError> {
    let (cycle, view) = load(state, who.base_id)
        .await
        .map_err(|error| match error {
            DomainError::NotFound(_) => PageError::Untied,
            other => other.into(),
        })?;
    let lang = who.choice.lang;
    let w = who.words();
    let now = *Timestamp::now();
    let zone = state.config.time_zone;
    let moment = |at: Timestamp| time::moment(*at, now, zone, lang);
    let (applicants, draft) = arranged(view.applicants, showing.draft.as_deref().unwrap_or(&[]));
    let order = applicants.iter().map(|a| a.student.id).collect::<Vec<_>>();
    let page = BasePage {
        frame: Frame::new(lang, Some(&who.session)),
        w,
        csrf: who.session.csrf.clone(),
        name: view.base.name,
        organisation: view.base.organisation,
        city: view.base.city,
        cycle: cycle.map(|cycle| CycleLine {
            deadline: time::deadline(*cycle.applications_close_at, now, zone, lang),
            published: cycle.published_run_id.is_some(),
            name: cycle.name,
        }),
        seats: view.seats.map(|count| SeatsBox {
            value: showing
                .typed_seats
                .unwrap_or_else(|| count.seats.to_string()),
            taken: count.taken,
            free: count.free(),
        }),
        order: joined(&order),
        applicants: applicants
            .into_iter()
            .map(|a| ApplicantRow {
                id: a.student.id.to_string(),
                name: a.student.name,
                university: a.student.university,
                program: a.student.program,
                score: a.score.map_or_else(|| "—".to_owned(), |s| s.to_string()),
                choice: a.choice,
            })
            .collect(),
        draft,
        offers: view
            .placements
            .into_iter()
            .map(|line| offer_row(lang, line, &moment))
            .collect(),
        direct: view
            .direct_applications
            .into_iter()
            .map(|line| DirectRow {
                id: line.id.to_string(),
                name: line.student.name,
                university: line.student.university,
                program: line.student.program,
                applied: moment(line.created_at),
                state: line.status.as_str(),
                status: w.direct_status(line.status),
            })
            .collect(),
        notes: showing.notes,
    };
    Ok(html(who.choice, showing.status, &page))
}

fn offer_row(lang: Lang, line: PlacementLine, moment: &impl Fn(Timestamp) -> String) -> OfferRow {
    OfferRow {
        id: line.id.to_string(),
        name: line.student.name,
        university: line.student.university,
        program: line.student.program,
        state: line.status.as_str(),
        status: i18n::placement_status(lang, line.status),
        changed: moment(line.updated_at),
    }
}

/// The page again with the words of a refused change beside its form, or the page the
/// error becomes when it is not a refusal.
async fn refused(
    state: &AppState,
    who: &Coordinator,
    part: Part,
    error: DomainError,
    draft: Option<Vec<StudentId>>,
    typed_seats: Option<String>,
) -> Result<HttpResponse, PageError> {
    let refusal = PageError::refusal(error)?;
    let w = who.words();
    let text = match &refusal {
        Refusal::Conflict(kind) => i18n::conflict(who.choice.lang, *kind),
        Refusal::Invalid(errors) => match errors.first().map(|e| e.field.as_str()) {
            Some("seats") => w.seats_out_of_range,
            Some("reason") => w.reason_unfit,
            Some(ranked) if ranked.starts_with("student_ids") => w.ranking_stale,
            _ => w.unaccepted,
        },
    };
    let showing = Showing {
        status: refusal.status(),
        notes: Notes::one(part, Note { good: false, text }),
        draft,
        typed_seats,
    };
    show(state, who, showing).await
}

/// The cycle the coordinator's forms change; none sends them back to the page.
async fn current_cycle(state: &AppState) -> Result<Option<Cycle>, PageError> {
    Ok(state.db.read(services::cycles::current).await?)
}

#[derive(Default, Deserialize)]
struct SeatsForm {
    #[serde(default)]
    seats: String,
}

/// `POST /base/seats`: the base's seats in the current cycle.
async fn save_seats(
    state: web::Data<AppState>,
    who: Coordinator,
    CsrfForm(form): CsrfForm<SeatsForm>,
) -> Result<HttpResponse, PageError> {
    let typed = form.seats.trim().to_owned();
    let Ok(seats) = typed.parse::<i32>() else {
        let note = Note {
            good: false,
            text: who.words().seats_not_a_number,
        };
        let showing = Showing {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            notes: Notes::one(Part::Seats, note),
            draft: None,
            typed_seats: Some(typed),
        };
        return show(&state, &who, showing).await;
    };
    let Some(cycle) = current_cycle(&state).await? else {
        return Ok(redirect(who.choice, "/base"));
    };
    let caller = who.session.caller();
    match services::seats::set(&state.db, &caller, cycle.id, who.base_id, seats).await {
        Ok(_) => Ok(redirect(who.choice, "/base?done=seats#seats")),
        Err(error) => refused(&state, &who, Part::Seats, error, None, Some(typed)).await,
    }
}

#[derive(Default, Deserialize)]
struct RankingForm {
    #[serde(default)]
    order: String,
}

/// `POST /base/ranking`: stores the order shown as the base's ranking of its applicants.
async fn save_ranking(
    state: web::Data<AppState>,
    who: Coordinator,
    CsrfForm(form): CsrfForm<RankingForm>,
) -> Result<HttpResponse, PageError> {
    let Some(order) = student_ids(&form.order) else {
        let stale = DomainError::invalid("student_ids", "not a list of student ids");
        return refused(&state, &who, Part::Ranking, stale, None, None).await;
    };
    let Some(cycle) = current_cycle(&state).await? else {
        return Ok(redirect(who.choice, "/base"));
    };
    let caller = who.session.caller();
    let saved = services::applications::save_ranking(
        &state.db,
        &caller,
        cycle.id,
        who.base_id,
        order.clone(),
    )
    .await;
    match saved {
        Ok(_) => Ok(redirect(who.choice, "/base?done=ranking#applicants")),
        Err(error) => refused(&state, &who, Part::Ranking, error, Some(order), None).await,
    }
}

/// The placement and the action named by a path, if both read, with the `done` of the
/// redirect after it.
fn placement_path(
    path: &(String, String),
) -> Option<(PlacementId, PlacementAction, PlacementStatus)> {
    let (action, done) = match path.1.as_str() {
        "confirm" => (PlacementAction::Confirm, PlacementStatus::Confirmed),
        "decline" => (PlacementAction::Decline, PlacementStatus::Declined),
        "complete" => (PlacementAction::Complete, PlacementStatus::Completed),
        _ => return None,
    };
    Some((path.0.parse().ok()?, action, done))
}

/// `GET /base/placements/{id}/decline`: asks for the reason before declining an offer.
async fn decline_form(
    state: web::Data<AppState>,
    who: Coordinator,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    match placement_path(&path) {
        Some((id, PlacementAction::Decline, _)) => {
            decline_page(&state, &who, id, StatusCode::OK, "", None).await
        }
        _ => Err(PageError::NotFound),
    }
}

async fn decline_page(
    state: &AppState,
    who: &Coordinator,
    id: PlacementId,
    status: StatusCode,
    reason: &str,
    problem: Option<&'static str>,
) -> Result<HttpResponse, PageError> {
    let base_id = who.base_id;
    let line = state
        .db
        .read(move |conn| base_view::placement(conn, base_id, id))
        .await?;
    if line.status != PlacementStatus::Offered {
        let moved_on = DomainError::conflict(Conflict::PlacementState, "not offered");
        return refused(state, who, Part::Offers, moved_on, None, None).await;
    }
    let lang = who.choice.lang;
    let now = *Timestamp::now();
    let zone = state.config.time_zone;
    let page = DeclinePage {
        frame: Frame::new(lang, Some(&who.session)),
        w: who.words(),
        csrf: &who.session.csrf,
        offer: offer_row(lang, line, &|at: Timestamp| {
            time::moment(*at, now, zone, lang)
        }),
        reason,
        problem,
    };
    Ok(html(who.choice, status, &page))
}

#[derive(Default, Deserialize)]
struct PlacementForm {
    #[serde(default)]
    reason: String,
}

/// `POST /base/placements/{id}/{confirm|decline|complete}`.
async fn act_on_placement(
    state: web::Data<AppState>,
    who: Coordinator,
    path: web::Path<(String, String)>,
    CsrfForm(form): CsrfForm<PlacementForm>,
) -> Result<HttpResponse, PageError> {
    let (id, action, done) = placement_path(&path).ok_or(PageError::NotFound)?;
    let reason = match action {
        PlacementAction::Decline => match DeclineReason::try_from(form.reason.as_str()) {
            Ok(reason) => Some(reason.into()),
            Err(refused) => {
                let w = who.words();
                let problem = match refused {
                    ReasonRefused::Missing => w.reason_missing,
                    ReasonRefused::Unfit => w.reason_unfit,
                };
                let status = StatusCode::UNPROCESSABLE_ENTITY;
                return decline_page(&state, &who, id, status, &form.reason, Some(problem)).await;
            }
        },
        _ => None,
    };
    let caller = who.session.caller();
    let acted = state
        .db
        .write(move |conn| services::placements::act(conn, &caller, id, action, reason))
        .await;
    match acted {
        Ok(placement) => {
            tracing::info!(placement = %id, status = %placement.status, "placement {}ed", action.verb());
            Ok(redirect(who.choice, &format!("/base?done={done}#offers")))
        }
        Err(error) => refused(&state, &who, Part::Offers, error, None, None).await,
    }
}

/// `POST /base/direct-applications/{id}/{accept|reject}`.
async fn decide(
    state: web::Data<AppState>,
    who: Coordinator,
    path: web::Path<(String, String)>,
    _: CsrfForm<Empty>,
) -> Result<HttpResponse, PageError> {
    let (id, action) = path.into_inner();
    let id = id
        .parse::<DirectApplicationId>()
        .map_err(|_| PageError::NotFound)?;
    let (decision, done) = match action.as_str() {
        "accept" => (Decision::Accept, DirectApplicationStatus::Accepted),
        "reject" => (Decision::Reject(None), DirectApplicationStatus::Rejected),
        _ => return Err(PageError::NotFound),
    };
    let caller = who.session.caller();
    let decided = state
        .db
        .write(move |conn| services::placements::decide(conn, &caller, id, decision))
        .await;
    match decided {
        Ok(_) => {
            tracing::info!(application = %id, "direct application {done}");
            Ok(redirect(
                who.choice,
                &format!("/base?done={done}#direct-applications"),
            ))
        }
        Err(error) => refused(&state, &who, Part::Direct, error, None, None).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<StudentId> {
        (0..n).map(|_| StudentId::generate()).collect()
    }

    #[test]
    fn a_move_swaps_with_the_neighbour_and_stops_at_the_ends() {
        let order = ids(3);
        let up = moved(order.clone(), order[1], Step::Up);
        assert_eq!(up, vec![order[1], order[0], order[2]]);
        let down = moved(order.clone(), order[1], Step::Down);
        assert_eq!(down, vec![order[0], order[2], order[1]]);
        assert_eq!(moved(order.clone(), order[0], Step::Up), order);
        assert_eq!(moved(order.clone(), order[2], Step::Down), order);
        assert_eq!(moved(order.clone(), StudentId::generate(), Step::Up), order);
    }

    #[test]
    fn a_student_put_at_a_place_takes_it_within_the_list() {
        let order = ids(4);
        let top = moved(order.clone(), order[3], Step::To(1));
        assert_eq!(top, vec![order[3], order[0], order[1], order[2]]);
        let third = moved(order.clone(), order[0], Step::To(3));
        assert_eq!(third, vec![order[1], order[2], order[0], order[3]]);
        let beyond = moved(order.clone(), order[1], Step::To(99));
        assert_eq!(beyond, vec![order[0], order[2], order[3], order[1]]);
        assert_eq!(moved(order.clone(), order[2], Step::To(0))[0], order[2]);
    }

    #[test]
    fn an_order_reads_back_from_its_text_and_refuses_what_is_not_an_id() {
        let order = ids(2);
        assert_eq!(student_ids(&joined(&order)), Some(order));
        assert_eq!(student_ids(""), Some(vec![]));
        assert_eq!(student_ids("abc,def"), None);
    }
}
