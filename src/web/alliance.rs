//! The alliance admin's page: the match runs of the current cycle side by side, publishing
//! one, the outbox, the cycle with its seats per base, and the statistics' files. Every
//! change goes through the same services as the API; a refusal is shown in words.

use super::charts::{self, Bar, Chart};
use super::error::{PageError, Refusal};
use super::extract::{Admin, CsrfForm, Empty};
use super::pages::{html, query_flag, redirect, Frame};
use super::statistics::{self, StatisticsView};
use crate::api::cycles::{CyclePatch, NewCycle};
use crate::db::models::{Cycle, MatchRunRow};
use crate::domain::*;
use crate::i18n;
use crate::i18n::alliance::Words;
use crate::i18n::time;
use crate::services;
use crate::services::alliance_view::{self, RunLine, SeatLine};
use crate::services::emails::EmailFilter;
use crate::state::AppState;
use crate::stats::queries::StudentScope;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use std::collections::HashMap;
use validator::Validate;

/// Mounts the alliance admin's page and its forms.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/alliance", web::get().to(alliance_home))
        .route("/alliance/runs", web::post().to(run_match))
        .service(
            web::resource("/alliance/runs/{id}/publish")
                .get(publish_form)
                .post(publish),
        )
        .route("/alliance/runs/{id}/bundle", web::get().to(download_bundle))
        .route("/alliance/emails/{id}/retry", web::post().to(retry_email))
        .route("/alliance/cycles", web::post().to(create_cycle))
        .route("/alliance/cycles/{id}", web::post().to(update_cycle))
        .route("/alliance/cycles/{id}/seats", web::post().to(save_seats))
        .route("/alliance/statistics.{format}", web::get().to(download));
}

/// The emails on one page of the outbox.
const EMAILS_PER_PAGE: i64 = 25;
/// The unmatched students listed for one run.
const UNMATCHED_SHOWN: i64 = 200;

impl Admin {
    fn words(&self) -> &'static Words {
        Words::of(self.choice.lang)
    }
}

/// The sections of the page, one shown at a time.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    Runs,
    Cycles,
    Emails,
    Statistics,
}

impl Tab {
    const ALL: [Tab; 4] = [Tab::Runs, Tab::Cycles, Tab::Emails, Tab::Statistics];

    fn of(req: &HttpRequest) -> Tab {
        match query_flag(req, "tab").as_deref() {
            Some("cycles") => Tab::Cycles,
            Some("emails") => Tab::Emails,
            Some("statistics") => Tab::Statistics,
            _ => Tab::Runs,
        }
    }

    fn key(self) -> &'static str {
        match self {
            Tab::Runs => "runs",
            Tab::Cycles => "cycles",
            Tab::Emails => "emails",
            Tab::Statistics => "statistics",
        }
    }
}

/// A line above a section: what was done, or why it was not.
struct Note {
    good: bool,
    text: String,
}

impl Note {
    fn good(text: impl Into<String>) -> Option<Note> {
        Some(Note {
            good: true,
            text: text.into(),
        })
    }

    fn bad(text: impl Into<String>) -> Option<Note> {
        Some(Note {
            good: false,
            text: text.into(),
        })
    }
}

struct TabLink {
    key: &'static str,
    href: String,
    label: &'static str,
    current: bool,
}

struct CycleHead {
    id: String,
    name: String,
    window: String,
    published: bool,
}

struct RunsPart {
    seed: String,
    seed_problem: Option<&'static str>,
    runs: Vec<RunCard>,
    unmatched: Option<UnmatchedPart>,
    /// The published run's outcome by university and by program.
    equity: Option<Vec<EquityLine>>,
}

struct RunCard {
    id: String,
    seed: i64,
    when: String,
    applicants: u32,
    matched: u32,
    unmatched: u32,
    fill_rate: String,
    filled: u64,
    seats: u64,
    took: String,
    stale: bool,
    published: bool,
    selected: bool,
    chart: Chart,
    /// SHA-256 of the run's instance and result, empty for a run made before they were kept.
    instance_sha256: String,
    result_sha256: String,
}

/// A row of the published run's equity table; a suppressed count reads "<5".
struct EquityLine {
    group: &'static str,
    code: String,
    cells: [String; 5],
}

fn equity_line(group: &'static str, row: services::run_bundles::EquityRow) -> EquityLine {
    let count = |count: Option<u32>| count.map_or_else(|| "<5".to_owned(), |n| n.to_string());
    EquityLine {
        group,
        code: row.code,
        cells: [
            count(row.applicants),
            count(row.matched),
            count(row.first_choice),
            count(row.top_three),
            row.mean_rank
                .map_or_else(|| "<5".to_owned(), |mean| format!("{mean:.2}")),
        ],
    }
}

struct UnmatchedPart {
    seed: i64,
    total: i64,
    students: Vec<UnmatchedRow>,
}

struct UnmatchedRow {
    name: String,
    number: String,
    reasons: Vec<String>,
}

struct EmailsPart {
    filter: &'static str,
    options: Vec<(&'static str, &'static str)>,
    rows: Vec<EmailLine>,
    page: i64,
    pages: i64,
    total: i64,
    newer: Option<String>,
    older: Option<String>,
}

struct EmailLine {
    id: String,
    recipient: String,
    subject: String,
    state: &'static str,
    status: &'static str,
    attempts: i32,
    last_error: String,
    created: String,
    sent: String,
}

/// A cycle's fields as a form shows them, with each field's problem.
#[derive(Default)]
struct CycleForm {
    name: String,
    open: String,
    close: String,
    limit: String,
    starts: String,
    ends: String,
    problems: FieldProblems,
}

#[derive(Default)]
struct FieldProblems {
    name: Option<&'static str>,
    open: Option<&'static str>,
    close: Option<&'static str>,
    limit: Option<&'static str>,
    starts: Option<&'static str>,
    ends: Option<&'static str>,
}

struct CycleFacts {
    opens: String,
    closes: String,
    limit: i32,
    starts: String,
    ends: String,
}

struct SeatRow {
    id: String,
    name: String,
    city: String,
    active: bool,
    value: String,
    was: String,
    taken: i32,
    problem: Option<String>,
}

struct CyclesPart {
    facts: Option<CycleFacts>,
    edit: Option<CycleForm>,
    new: CycleForm,
    new_open: bool,
    zone: String,
    seats: Vec<SeatRow>,
}

#[derive(Template)]
#[template(path = "pages/alliance.html")]
struct AlliancePage {
    frame: Frame,
    w: &'static Words,
    csrf: String,
    tabs: Vec<TabLink>,
    cycle: Option<CycleHead>,
    note: Option<Note>,
    runs: Option<RunsPart>,
    cycles: Option<CyclesPart>,
    emails: Option<EmailsPart>,
    /// The statistics tab: its section, or `None` inside when there is no cycle.
    statistics: Option<Option<StatisticsView>>,
}

#[derive(Template)]
#[template(path = "pages/alliance_publish.html")]
struct PublishPage {
    frame: Frame,
    w: &'static Words,
    csrf: String,
    run: RunCard,
}

/// What a page shows besides what it reads: the note, and forms as typed.
#[derive(Default)]
struct Showing {
    note: Option<Note>,
    seed: Option<(String, &'static str)>,
    edit: Option<CycleForm>,
    new: Option<CycleForm>,
    typed_seats: HashMap<BaseId, (String, String)>,
}

/// What one tab reads, in one read.
enum Loaded {
    Runs(
        Vec<RunLine>,
        Option<(MatchRunId, Vec<alliance_view::Unmatched>, i64)>,
        Option<services::run_bundles::Equity>,
    ),
    Cycles(Vec<SeatLine>),
    Emails(Vec<crate::db::models::EmailRow>, i64),
    Statistics(Option<Box<statistics::Counts>>),
}

struct Query {
    tab: Tab,
    run: Option<MatchRunId>,
    status: Option<EmailStatus>,
    page: i64,
}

impl Query {
    fn of(req: &HttpRequest) -> Query {
        Query {
            tab: Tab::of(req),
            run: query_flag(req, "run").and_then(|id| id.parse().ok()),
            status: query_flag(req, "status").and_then(|s| s.parse::<EmailStatus>().ok()),
            page: query_flag(req, "page")
                .and_then(|p| p.parse().ok())
                .unwrap_or(1_i64)
                .max(1),
        }
    }

    fn tab(tab: Tab) -> Query {
        Query {
            tab,
            run: None,
            status: None,
            page: 1,
        }
    }
}

/// `GET /alliance`: one section, chosen by `?tab=`.
async fn alliance_home(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Admin,
) -> Result<HttpResponse, PageError> {
    let note = query_flag(&req, "done").and_then(|done| done_note(who.words(), &req, &done));
    let showing = Showing {
        note,
        ..Showing::default()
    };
    show(&state, &who, Query::of(&req), StatusCode::OK, showing).await
}

fn done_note(w: &'static Words, req: &HttpRequest, done: &str) -> Option<Note> {
    match done {
        "ran" => Note::good(w.ran),
        "published" => Note::good(w.published_done),
        "retried" => Note::good(w.retried),
        "cycle" => Note::good(w.cycle_saved),
        "created" => Note::good(w.cycle_created),
        "seats" => {
            let count = query_flag(req, "count").unwrap_or_else(|| "0".into());
            Note::good(format!("{count} {}", w.seats_saved))
        }
        _ => None,
    }
}

async fn show(
    state: &AppState,
    who: &Admin,
    query: Query,
    status: StatusCode,
    showing: Showing,
) -> Result<HttpResponse, PageError> {
    let tab = query.tab;
    let (run, filter, page_no) = (query.run, query.status, query.page);
    let caller = who.session.caller();
    let loaded = state
        .db
        .read(move |conn| {
            let cycle = services::cycles::current(conn)?;
            let loaded = match (tab, &cycle) {
                (Tab::Runs, Some(cycle)) => {
                    let runs = alliance_view::runs(conn, cycle)?;
                    let chosen = run.filter(|id| runs.iter().any(|r| r.row.id == *id));
                    let unmatched = match chosen {
                        Some(id) => {
                            let (lines, total) =
                                alliance_view::unmatched(conn, id, UNMATCHED_SHOWN)?;
                            Some((id, lines, total))
                        }
                        None => None,
                    };
                    let equity = match cycle.published_run_id {
                        Some(published) => {
                            Some(services::run_bundles::equity(conn, &caller, published)?)
                        }
                        None => None,
                    };
                    Loaded::Runs(runs, unmatched, equity)
                }
                (Tab::Runs, None) => Loaded::Runs(Vec::new(), None, None),
                (Tab::Cycles, Some(cycle)) => Loaded::Cycles(alliance_view::seats(conn, cycle.id)?),
                (Tab::Cycles, None) => Loaded::Cycles(Vec::new()),
                (Tab::Emails, _) => {
                    let filter = EmailFilter {
                        status: filter,
                        placement: None,
                    };
                    let offset = (page_no - 1) * EMAILS_PER_PAGE;
                    let (rows, total) =
                        services::emails::list(conn, filter, EMAILS_PER_PAGE, offset)?;
                    Loaded::Emails(rows, total)
                }
                (Tab::Statistics, _) => Loaded::Statistics(None),
            };
            Ok((cycle, loaded))
        })
        .await;
    let (cycle, mut loaded) = loaded?;
    if let (Tab::Statistics, Some(current)) = (tab, &cycle) {
        let counted =
            statistics::count_at_once(&state.db, current.id, StudentScope::EVERYONE).await?;
        loaded = Loaded::Statistics(Some(Box::new(counted)));
    }
    let lang = who.choice.lang;
    let w = who.words();
    let zone = state.config.time_zone;
    let now = *Timestamp::now();
    let mut page = AlliancePage {
        frame: Frame::new(lang, Some(&who.session)),
        w,
        csrf: who.session.csrf.clone(),
        tabs: tabs(who, tab),
        cycle: cycle.as_ref().map(|cycle| CycleHead {
            id: cycle.id.to_string(),
            name: cycle.name.clone(),
            window: format!(
                "{} – {}",
                time::moment(*cycle.applications_open_at, now, zone, lang),
                time::deadline(*cycle.applications_close_at, now, zone, lang)
            ),
            published: cycle.published_run_id.is_some(),
        }),
        note: showing.note,
        runs: None,
        cycles: None,
        emails: None,
        statistics: None,
    };
    match loaded {
        Loaded::Runs(runs, unmatched, equity) => {
            let limit = cycle.as_ref().map_or(1, |c| c.max_preferences);
            let (seed, seed_problem) = match showing.seed {
                Some((typed, problem)) => (typed, Some(problem)),
                None => (String::new(), None),
            };
            let chosen = unmatched.as_ref().map(|(id, _, _)| *id);
            let cards: Vec<RunCard> = runs
                .into_iter()
                .map(|line| run_card(who, zone, limit, line, chosen))
                .collect();
            let unmatched = unmatched.map(|(id, lines, total)| UnmatchedPart {
                seed: cards
                    .iter()
                    .find(|c| c.id == id.to_string())
                    .map_or(0, |c| c.seed),
                total,
                students: lines
                    .into_iter()
                    .map(|line| UnmatchedRow {
                        reasons: line
                            .refusals
                            .iter()
                            .map(|(base, refusal)| i18n::refusal(lang, base, refusal))
                            .collect(),
                        name: line.name,
                        number: line.student_number,
                    })
                    .collect(),
            });
            page.runs = Some(RunsPart {
                seed,
                seed_problem,
                runs: cards,
                unmatched,
                equity: equity.map(|equity| {
                    let t = lang.text();
                    [
                        (t.equity_university, equity.by_university),
                        (t.equity_program, equity.by_program),
                    ]
                    .into_iter()
                    .flat_map(|(group, rows)| {
                        rows.into_iter().map(move |row| equity_line(group, row))
                    })
                    .collect()
                }),
            });
        }
        Loaded::Cycles(seats) => {
            page.cycles = Some(cycles_part(
                zone,
                cycle.as_ref(),
                seats,
                showing.edit,
                showing.new,
                showing.typed_seats,
            ));
        }
        Loaded::Emails(rows, total) => {
            page.emails = Some(emails_part(who, zone, filter, page_no, rows, total));
        }
        Loaded::Statistics(counted) => {
            page.statistics = Some(counted.map(|counted| {
                statistics::section(&counted, who.choice.lang, "/alliance/statistics")
            }));
        }
    }
    Ok(html(who.choice, status, &page))
}

fn tabs(who: &Admin, current: Tab) -> Vec<TabLink> {
    let t = who.choice.lang.text();
    Tab::ALL
        .into_iter()
        .map(|tab| TabLink {
            key: tab.key(),
            href: format!("/alliance?tab={}", tab.key()),
            label: match tab {
                Tab::Runs => t.section_match_runs,
                Tab::Cycles => t.section_cycles,
                Tab::Emails => t.section_emails,
                Tab::Statistics => t.section_statistics,
            },
            current: tab == current,
        })
        .collect()
}

/// A run's figures and its rank histogram, bars for every choice up to the limit.
fn run_card(
    who: &Admin,
    zone: Tz,
    limit: i32,
    line: RunLine,
    chosen: Option<MatchRunId>,
) -> RunCard {
    let w = who.words();
    let lang = who.choice.lang;
    let now = *Timestamp::now();
    let RunLine { row, stats, stale } = line;
    let counts: HashMap<u32, u32> = stats
        .rank_histogram
        .iter()
        .filter_map(|(rank, count)| Some((rank.parse().ok()?, *count)))
        .collect();
    let highest = counts.keys().copied().max().unwrap_or(1);
    let shown = highest.max(u32::try_from(limit).unwrap_or(1)).max(1);
    let bars: Vec<Bar> = (1..=shown)
        .map(|rank| {
            let count = counts.get(&rank).copied().unwrap_or(0);
            Bar {
                label: w.nth_choice(rank),
                value: f64::from(count),
                shown: count.to_string(),
            }
        })
        .collect();
    let chart = charts::bars(
        &format!("ranks-{}", row.id),
        &format!("{} {}", w.rank_chart_title, row.seed),
        w.rank_chart_desc,
        &bars,
    );
    let took_ms = row.load_ms + row.engine_ms + row.store_ms;
    RunCard {
        id: row.id.to_string(),
        seed: row.seed,
        when: time::moment(*row.created_at, now, zone, lang),
        applicants: stats.applicants,
        matched: stats.matched,
        unmatched: stats.unmatched,
        fill_rate: format!("{:.1}%", stats.fill_rate * 100.0),
        filled: stats.filled,
        seats: stats.seats,
        took: if took_ms >= 1000.0 {
            format!("{:.1} s", took_ms / 1000.0)
        } else {
            format!("{took_ms:.0} ms")
        },
        stale,
        published: row.status == RunStatus::Published,
        selected: chosen == Some(row.id),
        chart,
        instance_sha256: row.instance_sha256.clone().unwrap_or_default(),
        result_sha256: row.result_sha256.clone().unwrap_or_default(),
    }
}

fn emails_part(
    who: &Admin,
    zone: Tz,
    filter: Option<EmailStatus>,
    page: i64,
    rows: Vec<crate::db::models::EmailRow>,
    total: i64,
) -> EmailsPart {
    let w = who.words();
    let lang = who.choice.lang;
    let now = *Timestamp::now();
    let pages = ((total + EMAILS_PER_PAGE - 1) / EMAILS_PER_PAGE).max(1);
    let status_query = filter.map_or(String::new(), |s| format!("&status={}", s.as_str()));
    let link = |page: i64| format!("/alliance?tab=emails{status_query}&page={page}#emails");
    let mut options = vec![("", w.all_statuses)];
    options.extend(
        EmailStatus::ALL
            .iter()
            .map(|s| (s.as_str(), w.email_status(*s))),
    );
    EmailsPart {
        filter: filter.map_or("", EmailStatus::as_str),
        options,
        rows: rows
            .into_iter()
            .map(|row| {
                let status = row.status;
                EmailLine {
                    id: row.id.to_string(),
                    recipient: row.recipient,
                    subject: row.subject,
                    state: status.as_str(),
                    status: w.email_status(status),
                    attempts: row.attempts,
                    last_error: row.last_error.unwrap_or_default(),
                    created: time::moment(*row.created_at, now, zone, lang),
                    sent: row
                        .sent_at
                        .map(|at| time::moment(*at, now, zone, lang))
                        .unwrap_or_default(),
                }
            })
            .collect(),
        page,
        pages,
        total,
        newer: (page > 1).then(|| link(page - 1)),
        older: (page < pages).then(|| link(page + 1)),
    }
}

/// A moment as a `datetime-local` field holds it, in the configured zone.
fn local_field(at: DateTime<Utc>, zone: Tz) -> String {
    at.with_timezone(&zone).format("%Y-%m-%dT%H:%M").to_string()
}

/// A `datetime-local` value read in the configured zone.
fn from_local_field(text: &str, zone: Tz) -> Option<Timestamp> {
    let text = text.trim();
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
        .ok()?;
    let local = zone.from_local_datetime(&naive).earliest()?;
    Some(Timestamp::from(local.with_timezone(&Utc)))
}

impl CycleForm {
    fn of(cycle: &Cycle, zone: Tz) -> CycleForm {
        CycleForm {
            name: cycle.name.clone(),
            open: local_field(*cycle.applications_open_at, zone),
            close: local_field(*cycle.applications_close_at, zone),
            limit: cycle.max_preferences.to_string(),
            starts: cycle.starts_on.to_string(),
            ends: cycle.ends_on.to_string(),
            problems: FieldProblems::default(),
        }
    }
}

fn cycles_part(
    zone: Tz,
    cycle: Option<&Cycle>,
    seats: Vec<SeatLine>,
    edit: Option<CycleForm>,
    new: Option<CycleForm>,
    typed: HashMap<BaseId, (String, String)>,
) -> CyclesPart {
    let new_open = new.is_some() || cycle.is_none();
    CyclesPart {
        facts: cycle.map(|cycle| CycleFacts {
            opens: local_field(*cycle.applications_open_at, zone).replace('T', " "),
            closes: local_field(*cycle.applications_close_at, zone).replace('T', " "),
            limit: cycle.max_preferences,
            starts: cycle.starts_on.to_string(),
            ends: cycle.ends_on.to_string(),
        }),
        edit: cycle.map(|cycle| edit.unwrap_or_else(|| CycleForm::of(cycle, zone))),
        new: new.unwrap_or_default(),
        new_open,
        zone: zone.name().to_owned(),
        seats: seats
            .into_iter()
            .map(|line| {
                let stored = line.seats.map(|s| s.to_string()).unwrap_or_default();
                let (value, problem) = match typed.get(&line.base_id) {
                    Some((value, problem)) => (value.clone(), Some(problem.clone())),
                    None => (stored.clone(), None),
                };
                SeatRow {
                    id: line.base_id.to_string(),
                    name: line.name,
                    city: line.city,
                    active: line.active,
                    value,
                    was: stored,
                    taken: line.taken,
                    problem,
                }
            })
            .collect(),
    }
}

/// The section again with the words of a refused change, or the page the error becomes
/// when it is not a refusal.
async fn refused(
    state: &AppState,
    who: &Admin,
    tab: Tab,
    error: DomainError,
) -> Result<HttpResponse, PageError> {
    let refusal = PageError::refusal(error)?;
    let text = match &refusal {
        Refusal::Conflict(kind) => i18n::conflict(who.choice.lang, *kind),
        Refusal::Invalid(_) => who.words().unaccepted,
    };
    let showing = Showing {
        note: Note::bad(text),
        ..Showing::default()
    };
    show(state, who, Query::tab(tab), refusal.status(), showing).await
}

async fn current_cycle(state: &AppState) -> Result<Option<Cycle>, PageError> {
    Ok(state.db.read(services::cycles::current).await?)
}

#[derive(Default, Deserialize)]
struct SeedForm {
    #[serde(default)]
    seed: String,
}

/// `POST /alliance/runs`: runs the match of the current cycle.
async fn run_match(
    state: web::Data<AppState>,
    who: Admin,
    CsrfForm(form): CsrfForm<SeedForm>,
) -> Result<HttpResponse, PageError> {
    let typed = form.seed.trim().to_owned();
    let seed = if typed.is_empty() {
        None
    } else {
        match typed.parse::<i64>() {
            Ok(seed) if seed >= 0 => Some(seed),
            _ => {
                let showing = Showing {
                    seed: Some((typed, who.words().seed_not_a_number)),
                    ..Showing::default()
                };
                let status = StatusCode::UNPROCESSABLE_ENTITY;
                return show(&state, &who, Query::tab(Tab::Runs), status, showing).await;
            }
        }
    };
    let Some(cycle) = current_cycle(&state).await? else {
        return Ok(redirect(who.choice, "/alliance"));
    };
    let caller = who.session.caller();
    match services::match_runs::run(&state.db, &caller, cycle.id, seed).await {
        Ok(run) => {
            tracing::info!(run = %run.id, cycle = %cycle.id, matched = run.matched, "match run from the page");
            Ok(redirect(who.choice, "/alliance?done=ran#match-runs"))
        }
        Err(error) => refused(&state, &who, Tab::Runs, error).await,
    }
}

/// The run a path names, with its figures, if it exists.
async fn run_of(state: &AppState, id: MatchRunId) -> Result<Option<RunLine>, DomainError> {
    state
        .db
        .read(move |conn| {
            use crate::db::schema::match_runs;
            use crate::dispatch;
            use diesel::prelude::*;
            let row: Option<MatchRunRow> = dispatch!(conn, |c| match_runs::table
                .find(id)
                .select(MatchRunRow::as_select())
                .first(c)
                .optional())?;
            let Some(row) = row else { return Ok(None) };
            let cycle = crate::db::lookup::cycle(conn, row.cycle_id)?;
            let stats: RunStats =
                serde_json::from_str(&row.stats).map_err(DomainError::internal)?;
            Ok(Some(RunLine {
                stale: services::match_runs::is_stale(
                    &row,
                    services::inputs::version(conn, &cycle)?,
                ),
                stats,
                row,
            }))
        })
        .await
}

/// `GET /alliance/runs/{id}/bundle`: the run's bundle as a file, as the API gives it.
async fn download_bundle(
    who: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let id = id.parse::<MatchRunId>().map_err(|_| PageError::NotFound)?;
    let file = services::run_bundles::bundle_file(&state.db, &who.session.caller(), id).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}\"", file.name),
        ))
        .body(file.json))
}

/// `GET /alliance/runs/{id}/publish`: says what publishing does, and asks to confirm.
async fn publish_form(
    state: web::Data<AppState>,
    who: Admin,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let id = id.parse::<MatchRunId>().map_err(|_| PageError::NotFound)?;
    let line = run_of(&state, id).await?.ok_or(PageError::NotFound)?;
    let page = PublishPage {
        frame: Frame::new(who.choice.lang, Some(&who.session)),
        w: who.words(),
        csrf: who.session.csrf.clone(),
        run: run_card(&who, state.config.time_zone, 1, line, None),
    };
    Ok(html(who.choice, StatusCode::OK, &page))
}

/// `POST /alliance/runs/{id}/publish`.
async fn publish(
    state: web::Data<AppState>,
    who: Admin,
    id: web::Path<String>,
    _: CsrfForm<Empty>,
) -> Result<HttpResponse, PageError> {
    let id = id.parse::<MatchRunId>().map_err(|_| PageError::NotFound)?;
    let caller = who.session.caller();
    match services::match_runs::publish_run(&state.db, &caller, id).await {
        Ok(run) => {
            tracing::info!(run = %id, offers = run.matched, "match run published from the page");
            Ok(redirect(who.choice, "/alliance?done=published#match-runs"))
        }
        Err(error) => refused(&state, &who, Tab::Runs, error).await,
    }
}

/// `POST /alliance/emails/{id}/retry`.
async fn retry_email(
    state: web::Data<AppState>,
    who: Admin,
    id: web::Path<String>,
    _: CsrfForm<Empty>,
) -> Result<HttpResponse, PageError> {
    let id = id.parse::<EmailId>().map_err(|_| PageError::NotFound)?;
    let caller = who.session.caller();
    match services::emails::retry(&state.db, &caller, id).await {
        Ok(()) => Ok(redirect(
            who.choice,
            "/alliance?tab=emails&done=retried#emails",
        )),
        Err(error) => refused(&state, &who, Tab::Emails, error).await,
    }
}

#[derive(Default, Deserialize)]
struct CycleFields {
    #[serde(default)]
    name: String,
    #[serde(default)]
    open: String,
    #[serde(default)]
    close: String,
    #[serde(default)]
    limit: String,
    #[serde(default)]
    starts: String,
    #[serde(default)]
    ends: String,
}

/// The fields read as a new cycle, or the form again with each field's problem.
fn read_cycle(
    w: &'static Words,
    zone: Tz,
    fields: CycleFields,
) -> Result<NewCycle, Box<CycleForm>> {
    let mut problems = FieldProblems::default();
    let open = from_local_field(&fields.open, zone);
    problems.open = open.is_none().then_some(w.not_a_time);
    let close = from_local_field(&fields.close, zone);
    problems.close = close.is_none().then_some(w.not_a_time);
    let limit = fields.limit.trim().parse::<i32>().ok();
    problems.limit = limit.is_none().then_some(w.not_a_number);
    let date = |text: &str| NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok();
    let starts = date(&fields.starts);
    problems.starts = starts.is_none().then_some(w.not_a_date);
    let ends = date(&fields.ends);
    problems.ends = ends.is_none().then_some(w.not_a_date);
    let name = crate::domain::validate::normalise(&fields.name);
    if name.is_empty() {
        problems.name = Some(w.name_unfit);
    }
    let form = |problems| {
        Box::new(CycleForm {
            name: fields.name.clone(),
            open: fields.open.clone(),
            close: fields.close.clone(),
            limit: fields.limit.clone(),
            starts: fields.starts.clone(),
            ends: fields.ends.clone(),
            problems,
        })
    };
    let (Some(open), Some(close), Some(limit), Some(starts), Some(ends), None) =
        (open, close, limit, starts, ends, problems.name)
    else {
        return Err(form(problems));
    };
    // The request is checked as the API checks it, so that both take the same values.
    let request = NewCycle {
        name,
        applications_open_at: open,
        applications_close_at: close,
        max_preferences: limit,
        starts_on: starts,
        ends_on: ends,
    };
    match request.validate() {
        Ok(()) => Ok(request),
        Err(errors) => Err(form(problems_of(w, DomainError::from(errors)))),
    }
}

/// The words of a refusal of a cycle, field by field; the error itself when it is not
/// about fields.
fn cycle_problems(w: &'static Words, error: DomainError) -> Result<FieldProblems, DomainError> {
    match error {
        DomainError::Conflict(Conflict::CycleNameTaken, _) => Ok(FieldProblems {
            name: Some(w.name_taken),
            ..FieldProblems::default()
        }),
        invalid @ DomainError::Invalid { .. } => Ok(problems_of(w, invalid)),
        other => Err(other),
    }
}

fn problems_of(w: &'static Words, error: DomainError) -> FieldProblems {
    let mut problems = FieldProblems::default();
    if let DomainError::Invalid { errors, .. } = error {
        for error in errors {
            match error.field.as_str() {
                "name" => problems.name = Some(w.name_unfit),
                "applications_open_at" => problems.open = Some(w.not_a_time),
                "applications_close_at" => problems.close = Some(w.close_before_open),
                "max_preferences" => problems.limit = Some(w.limit_range),
                "starts_on" => problems.starts = Some(w.not_a_date),
                "ends_on" => problems.ends = Some(w.ends_before_starts),
                _ => problems.name = problems.name.or(Some(w.unaccepted)),
            }
        }
    }
    problems
}

/// The cycles tab again with a refused form.
async fn cycle_refused(
    state: &AppState,
    who: &Admin,
    edit: Option<CycleForm>,
    new: Option<CycleForm>,
) -> Result<HttpResponse, PageError> {
    let showing = Showing {
        note: Note::bad(who.words().unaccepted),
        edit,
        new,
        ..Showing::default()
    };
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    show(state, who, Query::tab(Tab::Cycles), status, showing).await
}

/// `POST /alliance/cycles/{id}`: changes the cycle.
async fn update_cycle(
    state: web::Data<AppState>,
    who: Admin,
    id: web::Path<String>,
    CsrfForm(fields): CsrfForm<CycleFields>,
) -> Result<HttpResponse, PageError> {
    let id = id.parse::<CycleId>().map_err(|_| PageError::NotFound)?;
    let w = who.words();
    let request = match read_cycle(w, state.config.time_zone, fields) {
        Ok(request) => request,
        Err(form) => return cycle_refused(&state, &who, Some(*form), None).await,
    };
    let typed = CycleForm {
        name: request.name.clone(),
        open: local_field(*request.applications_open_at, state.config.time_zone),
        close: local_field(*request.applications_close_at, state.config.time_zone),
        limit: request.max_preferences.to_string(),
        starts: request.starts_on.to_string(),
        ends: request.ends_on.to_string(),
        problems: FieldProblems::default(),
    };
    let patch = CyclePatch {
        name: Some(request.name),
        applications_open_at: Some(request.applications_open_at),
        applications_close_at: Some(request.applications_close_at),
        max_preferences: Some(request.max_preferences),
        starts_on: Some(request.starts_on),
        ends_on: Some(request.ends_on),
    };
    let caller = who.session.caller();
    match services::cycles::update(&state.db, &caller, id, patch.into()).await {
        Ok(_) => Ok(redirect(
            who.choice,
            "/alliance?tab=cycles&done=cycle#cycles",
        )),
        Err(error) => match cycle_problems(w, error) {
            Ok(problems) => {
                let form = CycleForm { problems, ..typed };
                cycle_refused(&state, &who, Some(form), None).await
            }
            Err(error) => refused(&state, &who, Tab::Cycles, error).await,
        },
    }
}

/// `POST /alliance/cycles`: opens a new cycle.
async fn create_cycle(
    state: web::Data<AppState>,
    who: Admin,
    CsrfForm(fields): CsrfForm<CycleFields>,
) -> Result<HttpResponse, PageError> {
    let w = who.words();
    let typed = CycleForm {
        name: fields.name.clone(),
        open: fields.open.clone(),
        close: fields.close.clone(),
        limit: fields.limit.clone(),
        starts: fields.starts.clone(),
        ends: fields.ends.clone(),
        problems: FieldProblems::default(),
    };
    let request = match read_cycle(w, state.config.time_zone, fields) {
        Ok(request) => request,
        Err(form) => return cycle_refused(&state, &who, None, Some(*form)).await,
    };
    let caller = who.session.caller();
    match services::cycles::create(&state.db, &caller, request.into()).await {
        Ok(_) => Ok(redirect(
            who.choice,
            "/alliance?tab=cycles&done=created#cycles",
        )),
        Err(error) => match cycle_problems(w, error) {
            Ok(problems) => {
                let form = CycleForm { problems, ..typed };
                cycle_refused(&state, &who, None, Some(form)).await
            }
            Err(error) => refused(&state, &who, Tab::Cycles, error).await,
        },
    }
}

/// `POST /alliance/cycles/{id}/seats`: saves the seats that changed, base by base.
async fn save_seats(
    state: web::Data<AppState>,
    who: Admin,
    id: web::Path<String>,
    CsrfForm(fields): CsrfForm<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let cycle_id = id.parse::<CycleId>().map_err(|_| PageError::NotFound)?;
    let w = who.words();
    let was: HashMap<&str, &str> = fields
        .iter()
        .filter_map(|(key, value)| Some((key.strip_prefix("was-")?, value.as_str())))
        .collect();
    let changed: Vec<(BaseId, String)> = fields
        .iter()
        .filter_map(|(key, value)| {
            let base = key.strip_prefix("seats-")?;
            let value = value.trim();
            (was.get(base).map(|v| v.trim()) != Some(value))
                .then(|| Some((base.parse().ok()?, value.to_owned())))
                .flatten()
        })
        .collect();
    let caller = who.session.caller();
    let mut saved = 0;
    let mut typed = HashMap::new();
    for (base, value) in changed {
        let Ok(seats) = value.parse::<i32>() else {
            typed.insert(base, (value, w.seats_range.to_owned()));
            continue;
        };
        match services::seats::set(&state.db, &caller, cycle_id, base, seats).await {
            Ok(_) => saved += 1,
            Err(DomainError::Invalid { .. }) => {
                typed.insert(base, (value, w.seats_range.to_owned()));
            }
            Err(DomainError::Conflict(kind, _)) => {
                typed.insert(
                    base,
                    (value, i18n::conflict(who.choice.lang, kind).to_owned()),
                );
            }
            Err(error) => return refused(&state, &who, Tab::Cycles, error).await,
        }
    }
    if typed.is_empty() {
        return Ok(redirect(
            who.choice,
            &format!("/alliance?tab=cycles&done=seats&count={saved}#seats"),
        ));
    }
    let showing = Showing {
        note: Note::bad(if saved == 0 {
            w.seats_refused.to_owned()
        } else {
            format!("{saved} {} {}", w.seats_saved, w.seats_refused)
        }),
        typed_seats: typed,
        ..Showing::default()
    };
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    show(&state, &who, Query::tab(Tab::Cycles), status, showing).await
}

/// `GET /alliance/statistics.{csv,xlsx}?group_by=…`: the API's file of the current
/// cycle's statistics of the whole alliance.
async fn download(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Admin,
    format: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    statistics::download(&req, &state, &format, StudentScope::EVERYONE, || {
        redirect(who.choice, "/alliance?tab=statistics")
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_field_reads_back_in_the_configured_zone() {
        let zone: Tz = chrono_tz::Asia::Shanghai;
        let at = from_local_field("2026-03-01T09:30", zone).map(|t| *t);
        let expected = Utc.with_ymd_and_hms(2026, 3, 1, 1, 30, 0).single();
        assert_eq!(at, expected);
        assert_eq!(
            local_field(expected.unwrap_or_default(), zone),
            "2026-03-01T09:30"
        );
        assert!(from_local_field("tomorrow", zone).is_none());
    }
}
