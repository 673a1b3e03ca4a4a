//! The placement officer's page: the university's students (search, add, invite, import),
//! their placements in the current cycle with the match's reasons for those left without a
//! seat, and the statistics with the API's files. Every change goes through the same
//! services as the API, within the officer's university.

use super::error::PageError;
use super::extract::{check_token, CsrfForm, Empty, Officer};
use super::pages::{html, query_flag, redirect, Frame};
use super::statistics::{self, StatisticsView};
use crate::db::lookup;
use crate::db::models::Cycle;
use crate::domain::validate;
use crate::domain::*;
use crate::i18n;
use crate::i18n::time;
use crate::i18n::university::Words;
use crate::services;
use crate::services::student_input::{read_import, NewStudent, MAX_IMPORT_BYTES};
use crate::services::university_view::{
    self, PlacementFilter, PlacementPage, StudentFilter, StudentPage, PAGE_SIZE,
};
use crate::state::AppState;
use crate::stats::queries::StudentScope;
use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use futures_util::StreamExt;
use serde::Deserialize;
use validator::Validate;

/// Mounts the officer's page, its forms and its downloads.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/university", web::get().to(university_home))
        .route("/university/students", web::post().to(add_student))
        .route(
            "/university/students/{id}/invitation",
            web::post().to(resend_invitation),
        )
        .route("/university/import", web::post().to(import))
        .route("/university/statistics.{format}", web::get().to(download));
}

impl Officer {
    fn words(&self) -> &'static Words {
        Words::of(self.choice.lang)
    }
}

/// The parts of the page a link leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tab {
    Students,
    Placements,
    Statistics,
}

impl Tab {
    fn asked(req: &HttpRequest) -> Tab {
        match query_flag(req, "tab").as_deref() {
            Some("placements") => Tab::Placements,
            Some("statistics") => Tab::Statistics,
            _ => Tab::Students,
        }
    }
}

/// A line above a form: what was done, or why it was not.
struct Note {
    good: bool,
    text: String,
}

/// A link in a row of page links.
struct PageLink {
    number: i64,
    href: String,
    current: bool,
}

/// The page links around the current one: the first, the last, and two on each side.
fn page_links(total: i64, current: i64, href: impl Fn(i64) -> String) -> Vec<PageLink> {
    let last = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    (1..=last)
        .filter(|n| *n == 1 || *n == last || (n - current).abs() <= 2)
        .map(|number| PageLink {
            number,
            href: href(number),
            current: number == current,
        })
        .collect()
}

fn query_string(pairs: &[(&str, String)]) -> String {
    let kept: Vec<(&str, &str)> = pairs
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(key, value)| (*key, value.as_str()))
        .collect();
    serde_urlencoded::to_string(kept).unwrap_or_default()
}

/// The fields of the add-student form as typed.
#[derive(Default, Deserialize)]
struct AddForm {
    #[serde(default)]
    student_number: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    program_code: String,
    #[serde(default)]
    cohort_year: String,
    #[serde(default)]
    score: String,
}

/// What is wrong with each field of a refused add-student form.
#[derive(Default)]
struct AddErrors {
    student_number: Option<&'static str>,
    name: Option<&'static str>,
    email: Option<&'static str>,
    program_code: Option<&'static str>,
    cohort_year: Option<&'static str>,
    score: Option<&'static str>,
}

impl AddErrors {
    fn any(&self) -> bool {
        self.student_number.is_some()
            || self.name.is_some()
            || self.email.is_some()
            || self.program_code.is_some()
            || self.cohort_year.is_some()
            || self.score.is_some()
    }

    fn mark(&mut self, w: &'static Words, field: &str) {
        match field {
            "student_number" => self.student_number = Some(w.number_unfit),
            "name" => self.name = Some(w.name_unfit),
            "email" => self.email = Some(w.email_unfit),
            "program_code" => self.program_code = Some(w.program_unfit),
            "cohort_year" => self.cohort_year = Some(w.cohort_unfit),
            "score" => self.score = Some(w.score_unfit),
            _ => {}
        }
    }
}

/// One fault of a refused import file.
struct RowFault {
    row: String,
    field: String,
    message: String,
}

/// How the page is shown: after a redirect, or again after a refused form.
#[derive(Default)]
struct Showing {
    note: Option<Note>,
    add: Option<(AddForm, AddErrors)>,
    import_note: Option<Note>,
    faults: Vec<RowFault>,
}

struct StudentRow {
    id: String,
    name: String,
    number: String,
    email: String,
    program: String,
    cohort: i32,
    score: String,
    activated: bool,
}

struct StudentsPart {
    search: String,
    program: String,
    cohort: String,
    programs: Vec<(String, String)>,
    cohorts: Vec<i32>,
    rows: Vec<StudentRow>,
    total: i64,
    pages: Vec<PageLink>,
    form: AddForm,
    errors: AddErrors,
}

struct StepLine {
    at: String,
    change: String,
    actor: String,
    reason: String,
}

struct PlacementRowView {
    id: String,
    student: String,
    number: String,
    base: String,
    state: &'static str,
    status: &'static str,
    changed: String,
    history: Vec<StepLine>,
}

struct UnplacedView {
    name: String,
    number: String,
    lines: Vec<String>,
}

struct PlacementsPart {
    status: String,
    base: String,
    statuses: Vec<(&'static str, &'static str)>,
    bases: Vec<(String, String)>,
    rows: Vec<PlacementRowView>,
    total: i64,
    pages: Vec<PageLink>,
    published: bool,
    unplaced: Vec<UnplacedView>,
    unplaced_total: i64,
}

struct CycleLine {
    name: String,
    published: bool,
}

#[derive(Template)]
#[template(path = "pages/university.html")]
struct UniversityPage {
    frame: Frame,
    w: &'static Words,
    csrf: String,
    university: String,
    tab: Tab,
    cycle: Option<CycleLine>,
    note: Option<Note>,
    import_note: Option<Note>,
    faults: Vec<RowFault>,
    students: Option<StudentsPart>,
    placements: Option<PlacementsPart>,
    stats: Option<StatisticsView>,
}

/// `GET /university`, on one of its tabs.
async fn university_home(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Officer,
) -> Result<HttpResponse, PageError> {
    let w = who.words();
    let good = |text: String| Some(Note { good: true, text });
    let mut showing = Showing::default();
    match query_flag(&req, "done").as_deref() {
        Some("added") => showing.note = good(w.added.to_owned()),
        Some("invited") => showing.note = good(w.invited.to_owned()),
        Some("imported") => {
            let count: usize = query_flag(&req, "count")
                .and_then(|count| count.parse().ok())
                .unwrap_or(0);
            showing.import_note = good(format!(
                "{count} {} {}",
                w.imported_some, w.invitations_queued
            ));
        }
        _ => {}
    }
    show(&req, &state, &who, StatusCode::OK, showing).await
}

fn number_flag(req: &HttpRequest, name: &str) -> Option<i64> {
    query_flag(req, name).and_then(|value| value.trim().parse().ok())
}

fn text_flag(req: &HttpRequest, name: &str) -> String {
    query_flag(req, name)
        .map(|value| value.trim().to_owned())
        .unwrap_or_default()
}

/// What the page shows of each tab, read in one turn of the database.
enum Loaded {
    Students(StudentPage),
    Placements(Option<(Cycle, PlacementPage)>),
    Statistics(Option<Box<(Cycle, statistics::Counts)>>),
}

async fn show(
    req: &HttpRequest,
    state: &AppState,
    who: &Officer,
    status: StatusCode,
    showing: Showing,
) -> Result<HttpResponse, PageError> {
    let tab = if showing.add.is_some() || !showing.faults.is_empty() {
        Tab::Students
    } else {
        Tab::asked(req)
    };
    let university = who.university;
    let student_filter = StudentFilter {
        search: Some(text_flag(req, "q")).filter(|q| !q.is_empty()),
        program: Some(text_flag(req, "program")).filter(|p| !p.is_empty()),
        cohort: number_flag(req, "cohort").and_then(|c| i32::try_from(c).ok()),
        page: number_flag(req, "page").unwrap_or(1).max(1),
    };
    let placement_filter = PlacementFilter {
        status: query_flag(req, "status").and_then(|s| s.parse().ok()),
        base: query_flag(req, "base").and_then(|b| b.parse().ok()),
        page: number_flag(req, "page").unwrap_or(1).max(1),
    };
    let (filter_students, filter_placements) = (student_filter.clone(), placement_filter.clone());
    let loaded = state
        .db
        .read(move |conn| {
            let name = lookup::university(conn, university)?
                .map(|u| u.name)
                .unwrap_or_default();
            let loaded = match tab {
                Tab::Students => Loaded::Students(university_view::students(
                    conn,
                    university,
                    &filter_students,
                )?),
                Tab::Placements => match services::cycles::current(conn)? {
                    Some(cycle) => {
                        let page = university_view::placements(
                            conn,
                            university,
                            &cycle,
                            &filter_placements,
                        )?;
                        Loaded::Placements(Some((cycle, page)))
                    }
                    None => Loaded::Placements(None),
                },
                Tab::Statistics => match services::cycles::current(conn)? {
                    Some(cycle) => {
                        let scope = StudentScope {
                            university: Some(university),
                            program: None,
                        };
                        let counted = statistics::count(conn, cycle.id, scope)?;
                        Loaded::Statistics(Some(Box::new((cycle, counted))))
                    }
                    None => Loaded::Statistics(None),
                },
            };
            Ok((name, loaded))
        })
        .await;
    let (university_name, loaded) = loaded?;
    let lang = who.choice.lang;
    let w = who.words();
    let now = *Timestamp::now();
    let zone = state.config.time_zone;
    let moment = |at: Timestamp| time::moment(*at, now, zone, lang);
    let mut cycle = None;
    let mut students = None;
    let mut placements = None;
    let mut stats = None;
    match loaded {
        Loaded::Students(page) => {
            let (form, errors) = showing.add.unwrap_or_default();
            students = Some(students_part(page, &student_filter, form, errors));
        }
        Loaded::Placements(Some((current, page))) => {
            cycle = Some(CycleLine {
                name: current.name.clone(),
                published: current.published_run_id.is_some(),
            });
            placements = Some(placements_part(
                who,
                page,
                &placement_filter,
                current.published_run_id.is_some(),
                &moment,
            ));
        }
        Loaded::Statistics(Some(loaded)) => {
            let (current, counted) = *loaded;
            cycle = Some(CycleLine {
                name: current.name.clone(),
                published: current.published_run_id.is_some(),
            });
            stats = Some(statistics::section(
                &counted,
                lang,
                "/university/statistics",
            ));
        }
        Loaded::Placements(None) | Loaded::Statistics(None) => {}
    }
    let page = UniversityPage {
        frame: Frame::new(lang, Some(&who.session)),
        w,
        csrf: who.session.csrf.clone(),
        university: university_name,
        tab,
        cycle,
        note: showing.note,
        import_note: showing.import_note,
        faults: showing.faults,
        students,
        placements,
        stats,
    };
    Ok(html(who.choice, status, &page))
}

fn students_part(
    page: StudentPage,
    filter: &StudentFilter,
    form: AddForm,
    errors: AddErrors,
) -> StudentsPart {
    let search = filter.search.clone().unwrap_or_default();
    let program = filter.program.clone().unwrap_or_default();
    let cohort = filter.cohort.map(|c| c.to_string()).unwrap_or_default();
    let href = |number: i64| {
        let query = query_string(&[
            ("q", search.clone()),
            ("program", program.clone()),
            ("cohort", cohort.clone()),
            ("page", number.to_string()),
        ]);
        format!("/university?{query}#students")
    };
    StudentsPart {
        pages: page_links(page.total, filter.page, href),
        rows: page
            .rows
            .into_iter()
            .map(|s| StudentRow {
                id: s.id.to_string(),
                name: s.name,
                number: s.number,
                email: s.email,
                program: s.program,
                cohort: s.cohort,
                score: s.score.map_or_else(|| "—".to_owned(), |v| v.to_string()),
                activated: s.activated,
            })
            .collect(),
        total: page.total,
        programs: page.programs,
        cohorts: page.cohorts,
        search,
        program,
        cohort,
        form,
        errors,
    }
}

fn placements_part(
    who: &Officer,
    page: PlacementPage,
    filter: &PlacementFilter,
    published: bool,
    moment: &impl Fn(Timestamp) -> String,
) -> PlacementsPart {
    let lang = who.choice.lang;
    let w = who.words();
    let status = filter
        .status
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default();
    let base = filter.base.map(|b| b.to_string()).unwrap_or_default();
    let href = |number: i64| {
        let query = query_string(&[
            ("tab", "placements".to_owned()),
            ("status", status.clone()),
            ("base", base.clone()),
            ("page", number.to_string()),
        ]);
        format!("/university?{query}#placements")
    };
    let (unplaced, unplaced_total) = page.unplaced.unwrap_or_default();
    PlacementsPart {
        pages: page_links(page.total, filter.page, href),
        statuses: PlacementStatus::ALL
            .iter()
            .map(|s| (s.as_str(), i18n::placement_status(lang, *s)))
            .collect(),
        bases: page
            .bases
            .into_iter()
            .map(|(id, name)| (id.to_string(), name))
            .collect(),
        rows: page
            .rows
            .into_iter()
            .map(|line| PlacementRowView {
                id: line.id.to_string(),
                student: line.student,
                number: line.number,
                base: line.base,
                state: line.status.as_str(),
                status: i18n::placement_status(lang, line.status),
                changed: moment(line.updated_at),
                history: line
                    .history
                    .into_iter()
                    .map(|step| StepLine {
                        at: moment(step.at),
                        change: match step.from {
                            Some(from) => format!(
                                "{} → {}",
                                i18n::placement_status(lang, from),
                                i18n::placement_status(lang, step.to)
                            ),
                            None => i18n::placement_status(lang, step.to).to_owned(),
                        },
                        actor: step.actor.unwrap_or_default(),
                        reason: step.reason.unwrap_or_default(),
                    })
                    .collect(),
            })
            .collect(),
        total: page.total,
        published,
        unplaced: unplaced
            .into_iter()
            .map(|student| UnplacedView {
                lines: if student.refusals.is_empty() {
                    vec![w.lost_seat.to_owned()]
                } else {
                    student
                        .refusals
                        .iter()
                        .map(|(base, refusal)| i18n::refusal(lang, base, refusal))
                        .collect()
                },
                name: student.name,
                number: student.number,
            })
            .collect(),
        unplaced_total,
        status,
        base,
    }
}

/// `POST /university/students`: adds a student to the officer's university.
async fn add_student(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Officer,
    CsrfForm(form): CsrfForm<AddForm>,
) -> Result<HttpResponse, PageError> {
    let w = who.words();
    let mut errors = AddErrors::default();
    let cohort_year = form.cohort_year.trim().parse::<i32>().unwrap_or_else(|_| {
        errors.mark(w, "cohort_year");
        0
    });
    let score = match form.score.trim() {
        "" => None,
        text => text.parse::<f64>().map(Some).unwrap_or_else(|_| {
            errors.mark(w, "score");
            None
        }),
    };
    // The request is checked as the API checks it, so that both take the same students.
    let request = NewStudent {
        university_id: Some(who.university),
        student_number: form.student_number.trim().to_owned(),
        name: validate::normalise(&form.name),
        email: form.email.trim().to_owned(),
        program_code: form.program_code.trim().to_owned(),
        cohort_year,
        score,
        password: None,
    };
    if let Err(invalid) = request.validate() {
        if let DomainError::Invalid { errors: fields, .. } = DomainError::from(invalid) {
            for field in fields {
                errors.mark(w, &field.field);
            }
        }
    }
    if errors.any() {
        return refused_student(&req, &state, &who, form, errors, None).await;
    }
    let caller = who.session.caller();
    match services::students::create(&state.db, &state.config, &caller, request.into()).await {
        Ok(record) => {
            tracing::info!(student = %record.student.id, "student added on the officer's page");
            Ok(redirect(who.choice, "/university?done=added#students"))
        }
        Err(DomainError::Invalid { errors: fields, .. }) => {
            for field in fields {
                errors.mark(w, &field.field);
            }
            refused_student(&req, &state, &who, form, errors, None).await
        }
        Err(DomainError::Conflict(kind, _)) => {
            let text = i18n::conflict(who.choice.lang, kind);
            refused_student(&req, &state, &who, form, errors, Some((kind, text))).await
        }
        Err(error) => Err(error.into()),
    }
}

async fn refused_student(
    req: &HttpRequest,
    state: &AppState,
    who: &Officer,
    form: AddForm,
    mut errors: AddErrors,
    conflict: Option<(Conflict, &'static str)>,
) -> Result<HttpResponse, PageError> {
    let (status, text) = match conflict {
        Some((kind, text)) => {
            match kind {
                Conflict::EmailTaken => errors.email = Some(text),
                Conflict::StudentNumberTaken => errors.student_number = Some(text),
                _ => {}
            }
            (StatusCode::CONFLICT, text)
        }
        None => (StatusCode::UNPROCESSABLE_ENTITY, who.words().not_added),
    };
    let showing = Showing {
        note: Some(Note {
            good: false,
            text: text.to_owned(),
        }),
        add: Some((form, errors)),
        ..Showing::default()
    };
    show(req, state, who, status, showing).await
}

/// `POST /university/students/{id}/invitation`: a new link to choose a password.
async fn resend_invitation(
    state: web::Data<AppState>,
    who: Officer,
    id: web::Path<String>,
    _: CsrfForm<Empty>,
) -> Result<HttpResponse, PageError> {
    let id = id.parse::<StudentId>().map_err(|_| PageError::NotFound)?;
    let caller = who.session.caller();
    services::students::resend_invitation(&state.db, &state.config, &caller, id).await?;
    Ok(redirect(who.choice, "/university?done=invited#students"))
}

/// A multipart upload as read: its CSRF token and the file, or that it was too large.
#[derive(Default)]
struct Upload {
    csrf_token: String,
    file: Vec<u8>,
    too_large: bool,
}

/// Reads the import form, never more than the API takes; a body that is not a multipart
/// form reads as an empty one, which is refused for its missing CSRF token.
async fn read_upload(req: &HttpRequest, payload: web::Payload) -> Upload {
    let mut upload = Upload::default();
    let mut form = Multipart::new(req.headers(), payload);
    let mut read = 0usize;
    while let Some(Ok(mut field)) = form.next().await {
        let name = field.name().unwrap_or_default().to_owned();
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let Ok(chunk) = chunk else {
                return upload;
            };
            read += chunk.len();
            if read > MAX_IMPORT_BYTES {
                upload.too_large = true;
                return upload;
            }
            bytes.extend_from_slice(&chunk);
        }
        match name.as_str() {
            "csrf_token" => upload.csrf_token = String::from_utf8_lossy(&bytes).into_owned(),
            "file" => upload.file = bytes,
            _ => {}
        }
    }
    upload
}

/// "row 3: email" as the page's words: the row and the field apart.
fn fault(w: &'static Words, error: FieldError) -> RowFault {
    let (row, field) = match error.field.strip_prefix("row ") {
        Some(rest) => match rest.split_once(": ") {
            Some((row, field)) => (row.to_owned(), field.to_owned()),
            None => (rest.to_owned(), String::new()),
        },
        None => (w.whole_file.to_owned(), error.field),
    };
    RowFault {
        row,
        field,
        message: error.message,
    }
}

/// `POST /university/import`: imports a CSV file of students, every row or none.
async fn import(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Officer,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let upload = read_upload(&req, payload).await;
    check_token(&who.session, &upload.csrf_token)?;
    let w = who.words();
    let refused = |text: &'static str, faults: Vec<RowFault>| Showing {
        import_note: Some(Note {
            good: false,
            text: text.to_owned(),
        }),
        faults,
        ..Showing::default()
    };
    if upload.too_large {
        let showing = refused(w.import_too_large, vec![]);
        return show(&req, &state, &who, StatusCode::PAYLOAD_TOO_LARGE, showing).await;
    }
    let file = read_import(&upload.file);
    let no_rows = file.rows.is_empty() && file.faulty_rows.is_empty();
    let caller = who.session.caller();
    match services::students::import(&state.db, &state.config, &caller, file).await {
        Ok(records) => {
            tracing::info!(
                count = records.len(),
                "students imported on the officer's page"
            );
            Ok(redirect(
                who.choice,
                &format!(
                    "/university?done=imported&count={}#import-students",
                    records.len()
                ),
            ))
        }
        Err(DomainError::Invalid { errors, .. }) => {
            let showing = if no_rows {
                refused(w.import_empty, vec![])
            } else {
                refused(
                    w.import_refused,
                    errors.into_iter().map(|e| fault(w, e)).collect(),
                )
            };
            show(
                &req,
                &state,
                &who,
                StatusCode::UNPROCESSABLE_ENTITY,
                showing,
            )
            .await
        }
        Err(error) => Err(error.into()),
    }
}

/// `GET /university/statistics.{csv,xlsx}?group_by=…`: the API's file of the current
/// cycle's statistics of the officer's students.
async fn download(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Officer,
    format: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let scope = StudentScope {
        university: Some(who.university),
        program: None,
    };
    statistics::download(&req, &state, &format, scope, || {
        redirect(who.choice, "/university?tab=statistics")
    })
    .await
}
