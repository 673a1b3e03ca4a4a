//! The student's page: the open cycle, the bases the student may list, the ranked list,
//! and after publication the placement or why there is none, with the second round.
//!
//! The list is edited without JavaScript: `Add`, `Move up`, `Move down` and `Remove` are
//! GET forms that carry the unsaved list in the address (`?draft=id,id,…`) and answer with
//! a redirect to the edited list; nothing is stored until `Save my choices` posts it to
//! `services::applications::submit`, which alone decides whether the list is acceptable.

use super::error::PageError;
use super::extract::{CsrfForm, Student};
use super::lang::Choice;
use super::pages::{html, query_flag, redirect, Frame};
use super::session::Session;
use crate::domain::*;
use crate::i18n::time;
use crate::i18n::{self, Lang};
use crate::services;
use crate::services::student_view::{BaseCard, FirstRound, StudentView};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

/// Mounts the student's page and its forms.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/student", web::get().to(student_home))
        .route("/student/choices", web::post().to(save_choices))
        .service(
            web::resource("/student/withdraw")
                .get(withdraw_form)
                .post(withdraw),
        )
        .route("/student/apply", web::post().to(apply));
}

/// The address of the page: the list being edited, the search, and where to land.
#[derive(Debug, Default, Clone)]
struct Place {
    draft: Option<Vec<BaseId>>,
    search: String,
    city: String,
}

impl Place {
    fn of(req: &HttpRequest) -> (Place, Vec<(String, String)>) {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
        let mut place = Place::default();
        for (key, value) in &pairs {
            match key.as_str() {
                "draft" => place.draft = Some(parse_ids(value)),
                "q" => place.search = value.trim().to_owned(),
                "city" => place.city = value.trim().to_owned(),
                _ => {}
            }
        }
        (place, pairs)
    }

    /// The query string of this place (without the leading `?`).
    fn query(&self) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if let Some(draft) = &self.draft {
            pairs.push(("draft", join_ids(draft)));
        }
        if !self.search.is_empty() {
            pairs.push(("q", self.search.clone()));
        }
        if !self.city.is_empty() {
            pairs.push(("city", self.city.clone()));
        }
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}

fn parse_ids(text: &str) -> Vec<BaseId> {
    text.split(',')
        .filter_map(|id| id.trim().parse().ok())
        .collect()
}

fn join_ids(ids: &[BaseId]) -> String {
    ids.iter()
        .map(|id| id.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// One edit of the unsaved list.
enum Edit {
    Add(BaseId),
    Up(BaseId),
    Down(BaseId),
    Remove(BaseId),
}

impl Edit {
    fn of(pairs: &[(String, String)]) -> Option<Edit> {
        pairs.iter().find_map(|(key, value)| {
            let id = value.trim().parse().ok()?;
            match key.as_str() {
                "add" => Some(Edit::Add(id)),
                "up" => Some(Edit::Up(id)),
                "down" => Some(Edit::Down(id)),
                "remove" => Some(Edit::Remove(id)),
                _ => None,
            }
        })
    }

    /// Applies the edit; answers the anchor the page returns to.
    fn apply(&self, list: &mut Vec<BaseId>) -> String {
        match *self {
            Edit::Add(id) => {
                if !list.contains(&id) {
                    list.push(id);
                }
                format!("base-{id}")
            }
            Edit::Up(id) => {
                if let Some(at) = list.iter().position(|b| *b == id).filter(|at| *at > 0) {
                    list.swap(at, at - 1);
                }
                format!("choice-{id}")
            }
            Edit::Down(id) => {
                if let Some(at) = list
                    .iter()
                    .position(|b| *b == id)
                    .filter(|at| at + 1 < list.len())
                {
                    list.swap(at, at + 1);
                }
                format!("choice-{id}")
            }
            Edit::Remove(id) => {
                list.retain(|b| *b != id);
                "choices".into()
            }
        }
    }
}

/// What the page says after a change was made.
fn flash(req: &HttpRequest, words: &Words, view: &StudentView) -> Option<String> {
    let done = query_flag(req, "done")?;
    Some(match done.as_str() {
        "saved" => words.saved(view.listed.len()),
        "withdrew" => words.withdrawn.to_owned(),
        "applied" => words.applied.to_owned(),
        _ => return None,
    })
}

/// An entry of the ranked list.
struct ChoiceRow<'a> {
    id: BaseId,
    card: Option<&'a BaseCard>,
    first: bool,
    last: bool,
    error: Option<String>,
}

/// The cycle box at the top of the page.
struct CycleBox {
    name: String,
    window: String,
    limit: String,
}

/// A line of the placement's history.
struct StepLine {
    at: String,
    change: String,
    reason: Option<String>,
}

/// A second-round application as the page lists it.
struct DirectLine {
    base_name: String,
    status: &'static str,
    at: String,
    reason: Option<String>,
}

#[derive(Template)]
#[template(path = "pages/student.html")]
struct StudentPage<'a> {
    frame: Frame,
    w: &'static Words,
    csrf: String,
    view: &'a StudentView,
    place: Place,
    clear_href: String,
    cycle: Option<CycleBox>,
    flash: Option<String>,
    choices: Vec<ChoiceRow<'a>>,
    draft_ids: String,
    unsaved: bool,
    saved_at: Option<String>,
    list_errors: Vec<String>,
    bases: Vec<&'a BaseCard>,
    cities: Vec<&'a str>,
    placement_status: Option<&'static str>,
    history: Vec<StepLine>,
    why_not: Option<Vec<String>>,
    second_round: Vec<&'a BaseCard>,
    direct: Vec<DirectLine>,
}

impl StudentPage<'_> {
    /// Where the base stands in the list being edited (1 = first), if it is there.
    fn in_draft(&self, id: &BaseId) -> Option<usize> {
        self.choices
            .iter()
            .position(|row| row.id == *id)
            .map(|at| at + 1)
    }

    fn seats(&self, card: &BaseCard) -> String {
        self.w.seats(card.seats, card.free)
    }

    fn applied_to(&self, card: &BaseCard) -> bool {
        self.direct
            .iter()
            .any(|line| line.base_name == card.name && line.status == self.w.pending)
    }
}

/// Why a save was refused, in words: the list's errors and the entries' own.
#[derive(Default)]
struct Refused {
    list: Vec<String>,
    entries: Vec<(usize, String)>,
}

impl Refused {
    /// The words for a refusal of the list; `None` for a failure of placemat itself.
    fn of(
        error: &DomainError,
        words: &Words,
        lang: Lang,
        limit: i32,
        count: usize,
    ) -> Option<Refused> {
        let mut refused = Refused::default();
        match error {
            DomainError::Invalid { errors, .. } => {
                for error in errors {
                    let entry = error
                        .field
                        .strip_prefix("preferences[")
                        .and_then(|rest| rest.strip_suffix(']'))
                        .and_then(|index| index.parse::<usize>().ok());
                    let text = words.rule(error.rule, limit, count);
                    match entry {
                        Some(index) => refused.entries.push((index, text)),
                        None => refused.list.push(text),
                    }
                }
            }
            DomainError::Conflict(kind, _) => refused.list.push(i18n::conflict(lang, *kind).into()),
            DomainError::NotFound(_)
            | DomainError::Forbidden(_)
            | DomainError::UnknownReference(_) => refused.list.push(words.gone.into()),
            DomainError::Unavailable(_) | DomainError::Internal(_) => return None,
        }
        Some(refused)
    }
}

/// Loads the student's view on a reader connection.
async fn view_of(state: &AppState, who: &Student) -> Result<StudentView, PageError> {
    let student = who.student_id;
    let mut view = state
        .db
        .read(move |conn| services::student_view::load(conn, student))
        .await?;
    if let Some(cycle) = view.cycle.as_ref().filter(|_| view.published()) {
        let (db, caller, cycle) = (state.db.clone(), who.session.caller(), cycle.id);
        view.receipt = tokio::task::spawn_blocking(move || {
            services::run_bundles::receipt(&db, &caller, cycle).ok()
        })
        .await
        .ok()
        .flatten();
    }
    Ok(view)
}

/// Renders the page for `view`, with the list being edited and the refusal of a save.
fn render(
    req: &HttpRequest,
    state: &AppState,
    choice: Choice,
    session: &Session,
    view: &StudentView,
    place: Place,
    refused: Option<(Refused, StatusCode)>,
) -> HttpResponse {
    let lang = choice.lang;
    let words = Words::of(lang);
    let zone = state.config.time_zone;
    let now = *Timestamp::now();
    let moment = |at: &Timestamp| time::moment(**at, now, zone, lang);
    let draft = place.draft.clone().unwrap_or_else(|| view.listed.clone());
    let (refused, status) = refused.unwrap_or((Refused::default(), StatusCode::OK));
    let choices: Vec<ChoiceRow> = draft
        .iter()
        .enumerate()
        .map(|(index, id)| ChoiceRow {
            id: *id,
            card: view.cards.get(id),
            first: index == 0,
            last: index + 1 == draft.len(),
            error: refused
                .entries
                .iter()
                .find(|(at, _)| *at == index)
                .map(|(_, text)| text.clone()),
        })
        .collect();
    let cycle = view.cycle.as_ref().map(|cycle| CycleBox {
        name: cycle.name.clone(),
        window: if now < *cycle.applications_open_at {
            words.opens(&moment(&cycle.applications_open_at))
        } else {
            time::deadline(*cycle.applications_close_at, now, zone, lang)
        },
        limit: words.limit(cycle.max_preferences),
    });
    let mut cities: Vec<&str> = view
        .open_bases
        .iter()
        .filter_map(|id| view.cards.get(id))
        .map(|card| card.city.as_str())
        .collect();
    cities.sort_unstable();
    cities.dedup();
    let bases = view
        .open_bases
        .iter()
        .filter_map(|id| view.cards.get(id))
        .filter(|card| card.matches(&place.search))
        .filter(|card| place.city.is_empty() || card.city == place.city)
        .collect();
    let history = view
        .placement
        .iter()
        .flat_map(|placement| placement.history.iter())
        .map(|step| StepLine {
            at: moment(&step.at),
            change: match step.from {
                Some(from) => format!(
                    "{} → {}",
                    i18n::placement_status(lang, from),
                    i18n::placement_status(lang, step.to)
                ),
                None => i18n::placement_status(lang, step.to).to_owned(),
            },
            // The step that made the placement carries what placemat wrote (the run
            // published, the application accepted), not a person's words: the change says it.
            reason: step.from.and(step.reason.clone()),
        })
        .collect();
    let why_not = match &view.first_round {
        FirstRound::Unmatched(refusals) if !view.placed() => Some(
            refusals
                .iter()
                .map(|line| words.why_not(&line.base_name, &line.refusal))
                .collect(),
        ),
        FirstRound::NotApplied if !view.placed() => Some(Vec::new()),
        _ => None,
    };
    let direct = view
        .direct
        .iter()
        .map(|card| DirectLine {
            base_name: card.base_name.clone(),
            status: words.direct_status(card.status),
            at: moment(&card.created_at),
            reason: card.reason.clone(),
        })
        .collect();
    let page = StudentPage {
        frame: Frame::new(lang, Some(session)),
        w: words,
        csrf: session.csrf.clone(),
        view,
        clear_href: format!(
            "/student?{}#bases",
            Place {
                draft: place.draft.clone(),
                ..Place::default()
            }
            .query()
        ),
        cycle,
        flash: flash(req, words, view),
        unsaved: draft != view.listed,
        draft_ids: join_ids(&draft),
        saved_at: view.saved_at.as_ref().map(|at| words.saved_at(&moment(at))),
        choices,
        list_errors: refused.list,
        bases,
        cities,
        placement_status: view
            .placement
            .as_ref()
            .map(|placement| i18n::placement_status(lang, placement.status)),
        history,
        why_not,
        second_round: view.second_round(),
        direct,
        place,
    };
    html(choice, status, &page)
}

/// `GET /student`: the page; an edit of the unsaved list answers with the edited list's
/// address.
async fn student_home(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Student,
) -> Result<HttpResponse, PageError> {
    let (mut place, pairs) = Place::of(&req);
    let view = view_of(&state, &who).await?;
    if let Some(edit) = Edit::of(&pairs) {
        let mut list = place.draft.take().unwrap_or_else(|| view.listed.clone());
        let anchor = edit.apply(&mut list);
        place.draft = Some(list);
        return Ok(redirect(
            who.choice,
            &format!("/student?{}#{anchor}", place.query()),
        ));
    }
    Ok(render(
        &req,
        &state,
        who.choice,
        &who.session,
        &view,
        place,
        None,
    ))
}

#[derive(Default, Deserialize)]
struct ChoicesForm {
    #[serde(default)]
    preferences: String,
}

/// `POST /student/choices`: stores the list, or shows why not beside it.
async fn save_choices(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Student,
    CsrfForm(form): CsrfForm<ChoicesForm>,
) -> Result<HttpResponse, PageError> {
    let choice = who.choice;
    let list = parse_ids(&form.preferences);
    let view = view_of(&state, &who).await?;
    let Some(cycle) = view.cycle.as_ref() else {
        return Ok(redirect(choice, "/student"));
    };
    let caller = who.session.caller();
    let kept = state.kept_list_rules();
    let Err(error) =
        services::applications::submit(&state.db, kept, &caller, cycle.id, list.clone()).await
    else {
        return Ok(redirect(choice, "/student?done=saved#choices"));
    };
    let words = Words::of(choice.lang);
    let Some(refused) = Refused::of(
        &error,
        words,
        choice.lang,
        cycle.max_preferences,
        list.len(),
    ) else {
        return Err(error.into());
    };
    let place = Place {
        draft: Some(list),
        ..Place::default()
    };
    let status = PageError::refusal(error)?.status();
    Ok(render(
        &req,
        &state,
        choice,
        &who.session,
        &view,
        place,
        Some((refused, status)),
    ))
}

#[derive(Template)]
#[template(path = "pages/student_withdraw.html")]
struct WithdrawPage<'a> {
    frame: Frame,
    w: &'static Words,
    csrf: &'a str,
    placement: PlacementId,
    base_name: &'a str,
    error: Option<&'static str>,
}

/// `GET /student/withdraw`: asks to confirm giving up the placement.
async fn withdraw_form(
    state: web::Data<AppState>,
    who: Student,
) -> Result<HttpResponse, PageError> {
    let choice = who.choice;
    let view = view_of(&state, &who).await?;
    let Some(placement) = view.placement.as_ref().filter(|p| p.status.holds_seat()) else {
        return Ok(redirect(choice, "/student"));
    };
    let page = WithdrawPage {
        frame: Frame::new(choice.lang, Some(&who.session)),
        w: Words::of(choice.lang),
        csrf: &who.session.csrf,
        placement: placement.id,
        base_name: &placement.base.name,
        error: None,
    };
    Ok(html(choice, StatusCode::OK, &page))
}

#[derive(Default, Deserialize)]
struct WithdrawForm {
    #[serde(default)]
    placement: String,
}

/// `POST /student/withdraw`: gives the placement up.
async fn withdraw(
    state: web::Data<AppState>,
    who: Student,
    CsrfForm(form): CsrfForm<WithdrawForm>,
) -> Result<HttpResponse, PageError> {
    let choice = who.choice;
    let Ok(id) = form.placement.trim().parse::<PlacementId>() else {
        return Ok(redirect(choice, "/student"));
    };
    let caller = who.session.caller();
    let reason = Some(Words::of(choice.lang).withdrawn_reason.to_owned());
    let acted = state
        .db
        .write(move |conn| {
            services::placements::act(conn, &caller, id, PlacementAction::Withdraw, reason)
        })
        .await;
    match acted {
        Ok(_) => Ok(redirect(choice, "/student?done=withdrew#placement")),
        Err(DomainError::Conflict(kind, _)) => {
            let page = WithdrawPage {
                frame: Frame::new(choice.lang, Some(&who.session)),
                w: Words::of(choice.lang),
                csrf: &who.session.csrf,
                placement: id,
                base_name: "",
                error: Some(i18n::conflict(choice.lang, kind)),
            };
            Ok(html(choice, StatusCode::CONFLICT, &page))
        }
        Err(DomainError::NotFound(_) | DomainError::Forbidden(_)) => {
            Ok(redirect(choice, "/student"))
        }
        Err(error) => Err(error.into()),
    }
}

#[derive(Default, Deserialize)]
struct ApplyForm {
    #[serde(default)]
    base: String,
}

/// `POST /student/apply`: a second-round application to a base with a free seat.
async fn apply(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Student,
    CsrfForm(form): CsrfForm<ApplyForm>,
) -> Result<HttpResponse, PageError> {
    let choice = who.choice;
    let view = view_of(&state, &who).await?;
    let (Some(cycle), Ok(base)) = (view.cycle.as_ref(), form.base.trim().parse::<BaseId>()) else {
        return Ok(redirect(choice, "/student"));
    };
    let caller = who.session.caller();
    let Err(error) = services::direct_applications::apply(&state.db, &caller, cycle.id, base).await
    else {
        return Ok(redirect(choice, "/student?done=applied#second-round"));
    };
    let words = Words::of(choice.lang);
    let Some(refused) = Refused::of(&error, words, choice.lang, cycle.max_preferences, 0) else {
        return Err(error.into());
    };
    Ok(render(
        &req,
        &state,
        choice,
        &who.session,
        &view,
        Place::default(),
        Some((refused, StatusCode::CONFLICT)),
    ))
}

/// The words of the student's page.
pub struct Words {
    lang: Lang,
    pub intro_bases: &'static str,
    pub empty_list: &'static str,
    pub unsaved: &'static str,
    pub move_up: &'static str,
    pub move_down: &'static str,
    pub remove: &'static str,
    pub save: &'static str,
    pub add: &'static str,
    pub search: &'static str,
    pub city: &'static str,
    pub all_cities: &'static str,
    pub show: &'static str,
    pub clear: &'static str,
    pub no_base_matches: &'static str,
    /// What follows a label before its value: `: ` in English, `：` in Chinese.
    pub colon: &'static str,
    pub programs: &'static str,
    pub my_placement: &'static str,
    pub status: &'static str,
    pub contact: &'static str,
    pub history: &'static str,
    pub withdraw: &'static str,
    pub withdraw_question: &'static str,
    pub withdraw_warning: &'static str,
    pub keep: &'static str,
    pub withdrawn: &'static str,
    pub withdrawn_reason: &'static str,
    pub why_not_placed: &'static str,
    pub why_not_intro: &'static str,
    pub not_applied: &'static str,
    pub second_round: &'static str,
    pub second_round_intro: &'static str,
    pub second_round_none: &'static str,
    pub apply: &'static str,
    pub applied: &'static str,
    pub waiting: &'static str,
    pub my_direct: &'static str,
    pub pending: &'static str,
    pub accepted: &'static str,
    pub rejected: &'static str,
    pub first_round_over: &'static str,
    pub gone: &'static str,
    pub my_list: &'static str,
    pub published_note: &'static str,
}

impl Words {
    /// Where a base stands in the student's list.
    pub fn in_list(&self, rank: &usize) -> String {
        match self.lang {
            Lang::En => format!("In my list, choice {rank}"),
            Lang::Zh => format!("已在志愿表，第 {rank} 志愿"),
        }
    }

    pub fn of(lang: Lang) -> &'static Words {
        match lang {
            Lang::Zh => &ZH,
            Lang::En => &EN,
        }
    }

    fn saved(&self, count: usize) -> String {
        match self.lang {
            Lang::En if count == 1 => "Saved: your list of 1 base is stored.".to_owned(),
            Lang::En => format!("Saved: your list of {count} bases is stored."),
            Lang::Zh => format!("已保存：你的 {count} 个志愿已提交。"),
        }
    }

    fn saved_at(&self, when: &str) -> String {
        match self.lang {
            Lang::En => format!("Last saved {when}."),
            Lang::Zh => format!("最近保存于{when}。"),
        }
    }

    fn opens(&self, when: &str) -> String {
        match self.lang {
            Lang::En => format!("opens {when}"),
            Lang::Zh => format!("{when}开放"),
        }
    }

    fn limit(&self, max: i32) -> String {
        match self.lang {
            Lang::En => format!("List up to {max} bases, the one you want most first."),
            Lang::Zh => format!("最多可填 {max} 个基地，最想去的排在最前。"),
        }
    }

    fn seats(&self, seats: i32, free: i32) -> String {
        match self.lang {
            Lang::En if seats == 1 && free == 1 => "1 seat".to_owned(),
            Lang::En if seats == free => format!("{seats} seats"),
            Lang::En => format!("{seats} seats, {free} free"),
            Lang::Zh if seats == free => format!("{seats} 个名额"),
            Lang::Zh => format!("{seats} 个名额，空余 {free} 个"),
        }
    }

    fn direct_status(&self, status: DirectApplicationStatus) -> &'static str {
        match status {
            DirectApplicationStatus::Pending => self.pending,
            DirectApplicationStatus::Accepted => self.accepted,
            DirectApplicationStatus::Rejected => self.rejected,
        }
    }

    /// A rule of the list in words.
    fn rule(&self, rule: Option<ListRule>, limit: i32, count: usize) -> String {
        let en = self.lang == Lang::En;
        match rule {
            Some(ListRule::Published) => self.first_round_over.to_owned(),
            Some(ListRule::NotOpenYet) if en => "Applications are not open yet.".into(),
            Some(ListRule::NotOpenYet) => "申请尚未开放。".into(),
            Some(ListRule::Closed) if en => {
                "Applications have closed; your saved list stays as it was.".into()
            }
            Some(ListRule::Closed) => "申请已截止，已保存的志愿保持不变。".into(),
            Some(ListRule::Length) if count == 0 && en => "Add at least one base.".into(),
            Some(ListRule::Length) if count == 0 => "请至少添加一个基地。".into(),
            Some(ListRule::Length) if en => format!(
                "Your list has {count} bases; this cycle allows at most {limit}. Remove {} before saving.",
                count.saturating_sub(limit.max(0) as usize)
            ),
            Some(ListRule::Length) => format!(
                "你填了 {count} 个基地，本轮最多 {limit} 个，请先删去 {} 个再保存。",
                count.saturating_sub(limit.max(0) as usize)
            ),
            Some(ListRule::Repeated) if en => "Listed twice.".into(),
            Some(ListRule::Repeated) => "重复填报。".into(),
            Some(ListRule::UnknownBase) if en => "This base does not exist.".into(),
            Some(ListRule::UnknownBase) => "该基地不存在。".into(),
            Some(ListRule::Inactive) if en => "This base no longer takes interns.".into(),
            Some(ListRule::Inactive) => "该基地已不再接收实习生。".into(),
            Some(ListRule::NoSeats) if en => "This base has no seats in this cycle.".into(),
            Some(ListRule::NoSeats) => "该基地本轮没有名额。".into(),
            Some(ListRule::WrongProgram) if en => "This base does not take your program.".into(),
            Some(ListRule::WrongProgram) => "该基地不接收你的专业。".into(),
            None => self.gone.to_owned(),
        }
    }

    /// The engine's explanation for one listed base, in words.
    fn why_not(&self, base: &str, refusal: &BaseRefusal) -> String {
        let rank = refusal.preference_rank;
        match (self.lang, refusal.reason.as_str()) {
            (Lang::En, "no_seats") => format!("Choice {rank}, {base}: it had no seats in this cycle."),
            (Lang::Zh, "no_seats") => format!("第 {rank} 志愿 {base}：本轮没有名额。"),
            (Lang::En, "not_ranked") => {
                format!("Choice {rank}, {base}: the base did not rank you, so it could not take you.")
            }
            (Lang::Zh, "not_ranked") => format!("第 {rank} 志愿 {base}：该基地的排序中没有你，无法录取。"),
            (Lang::En, "full_with_higher_ranked") => format!(
                "Choice {rank}, {base}: {} to applicants the base ranks above you (you were number {} in its order; the last one taken was number {}).",
                i18n::seats_went(refusal.seats.unwrap_or(0)),
                refusal.student_rank.unwrap_or(0),
                refusal.last_kept_rank.unwrap_or(0)
            ),
            (Lang::Zh, "full_with_higher_ranked") => format!(
                "第 {rank} 志愿 {base}：{} 个名额都给了该基地排序在你之前的申请人（你排第 {} 位，最后录取的排第 {} 位）。",
                refusal.seats.unwrap_or(0),
                refusal.student_rank.unwrap_or(0),
                refusal.last_kept_rank.unwrap_or(0)
            ),
            (Lang::En, _) => format!("Choice {rank}, {base}: {}", refusal.message),
            (Lang::Zh, _) => format!("第 {rank} 志愿 {base}：{}", refusal.message),
        }
    }
}

static EN: Words = Words {
    lang: Lang::En,
    intro_bases: "Bases that take your program and have seats in this cycle.",
    empty_list: "Your list is empty. Add bases from the list below, the one you want most first.",
    unsaved: "Not saved yet: press Save my choices to keep this list.",
    move_up: "Move up",
    move_down: "Move down",
    remove: "Remove",
    save: "Save my choices",
    add: "Add",
    search: "Search",
    city: "City",
    all_cities: "All cities",
    show: "Show",
    clear: "Show all",
    no_base_matches: "No base matches your search.",
    colon: ": ",
    programs: "Programs",
    my_placement: "My placement",
    status: "Status",
    contact: "Contact",
    history: "History",
    withdraw: "Withdraw",
    withdraw_question: "Withdraw from your placement?",
    withdraw_warning: "The seat goes back to the base for other students. This cannot be undone.",
    keep: "Keep my placement",
    withdrawn: "You withdrew from your placement.",
    withdrawn_reason: "withdrawn by the student on the student's page",
    why_not_placed: "Why I was not placed",
    why_not_intro: "The match explained each base you listed:",
    not_applied: "You had no list in the first round.",
    second_round: "Second round",
    second_round_intro: "These bases take your program and still have free seats. Apply to one; its coordinator answers here.",
    second_round_none: "No base that takes your program has a free seat right now. Look again later.",
    apply: "Apply",
    applied: "Your application was sent; the base's coordinator answers on this page.",
    waiting: "Application sent",
    my_direct: "My applications in the second round",
    pending: "waiting for an answer",
    accepted: DirectApplicationStatus::Accepted.as_str(),
    rejected: DirectApplicationStatus::Rejected.as_str(),
    first_round_over: "The match is published: the first round is over. Apply in the second round below.",
    gone: "This is no longer possible. The page shows where things stand now.",
    my_list: "The list I saved",
    published_note: "The match of this cycle is published.",
};

static ZH: Words = Words {
    lang: Lang::Zh,
    intro_bases: "接收你的专业、本轮有名额的基地。",
    empty_list: "志愿表还是空的。从下面的基地中添加，最想去的排在最前。",
    unsaved: "尚未保存：请点击“保存我的志愿”。",
    move_up: "上移",
    move_down: "下移",
    remove: "删除",
    save: "保存我的志愿",
    add: "添加",
    search: "搜索",
    city: "城市",
    all_cities: "全部城市",
    show: "筛选",
    clear: "显示全部",
    no_base_matches: "没有符合条件的基地。",
    colon: "：",
    programs: "专业",
    my_placement: "我的实习安排",
    status: "状态",
    contact: "联系人",
    history: "记录",
    withdraw: "退出实习",
    withdraw_question: "确定退出这个实习安排吗？",
    withdraw_warning: "名额将退回基地，供其他同学申请。此操作无法撤销。",
    keep: "保留我的实习安排",
    withdrawn: "你已退出实习安排。",
    withdrawn_reason: "学生在本人页面退出",
    why_not_placed: "我为什么没有被录取",
    why_not_intro: "匹配结果对你填报的每个基地的说明：",
    not_applied: "你在第一轮没有提交志愿。",
    second_round: "第二轮",
    second_round_intro:
        "以下基地接收你的专业且仍有空余名额。申请其中一个，基地负责人会在本页答复。",
    second_round_none: "目前没有接收你专业的基地有空余名额，请稍后再看。",
    apply: "申请",
    applied: "申请已发送，基地负责人会在本页答复。",
    waiting: "已申请",
    my_direct: "我的第二轮申请",
    pending: "等待答复",
    accepted: "已接受",
    rejected: "未通过",
    first_round_over: "匹配结果已发布，第一轮已结束。请在下方参加第二轮申请。",
    gone: "此操作已不可行，页面显示的是当前情况。",
    my_list: "我保存的志愿",
    published_note: "本轮匹配结果已发布。",
};
