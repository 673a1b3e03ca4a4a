//! The statistics section of the officer's page, in tables and charts, with links to the
//! API's files. It takes statistics already counted in a scope (one university's students,
//! or the whole alliance's), so that every page showing statistics shows them alike.

use super::charts::{self, Bar, Chart, Stack};
use super::error::PageError;
use super::pages::query_flag;
use crate::db::{Database, DbConn};
use crate::domain::{BaseId, CycleId, DomainError, PlacementStatus};
use crate::i18n::{self, Lang};
use crate::services;
use crate::state::AppState;
use crate::stats::export::{answer, ExportFormat};
use crate::stats::queries::{self, StudentScope};
use crate::stats::{Group, GroupBy, Measures, PlacementStats, StatsRow};
use actix_web::{HttpRequest, HttpResponse};
use std::collections::HashMap;

/// What the section shows, counted in one scope of one cycle.
pub struct Counts {
    pub by_program: PlacementStats,
    pub by_base: PlacementStats,
    pub flow: PlacementStats,
    /// The host university of each base, by code and name: the bases' seats and placements
    /// add up per host.
    pub hosts: HashMap<BaseId, (String, String)>,
}

/// The countings the section shows, of one cycle, in a scope.
pub fn count(
    conn: &mut DbConn,
    cycle: CycleId,
    scope: StudentScope,
) -> Result<Counts, DomainError> {
    Ok(Counts {
        by_program: queries::placement_stats(conn, cycle, GroupBy::Program, scope)?,
        by_base: queries::placement_stats(conn, cycle, GroupBy::Base, scope)?,
        flow: queries::placement_stats(conn, cycle, GroupBy::Flow, scope)?,
        hosts: queries::base_hosts(conn)?,
    })
}

/// The same countings, each on a reader connection of its own at the same time: the
/// section then costs its slowest counting (the flow), not the sum of them.
pub async fn count_at_once(
    db: &Database,
    cycle: CycleId,
    scope: StudentScope,
) -> Result<Counts, DomainError> {
    let counting = |group| db.read(move |conn| queries::placement_stats(conn, cycle, group, scope));
    let (by_program, by_base, flow, hosts) = tokio::try_join!(
        counting(GroupBy::Program),
        counting(GroupBy::Base),
        counting(GroupBy::Flow),
        db.read(queries::base_hosts)
    )?;
    Ok(Counts {
        by_program,
        by_base,
        flow,
        hosts,
    })
}

/// The grouping a download asks for with `?group_by=`; by program unless another is named.
pub fn group_of(req: &HttpRequest) -> GroupBy {
    match query_flag(req, "group_by").as_deref() {
        Some("base") => GroupBy::Base,
        Some("flow") => GroupBy::Flow,
        Some("university") => GroupBy::University,
        _ => GroupBy::Program,
    }
}

/// The API's file of the current cycle's statistics in a scope: the same bytes and headers
/// as `GET /api/v1/stats/placements`. `NotFound` when there is no cycle.
pub async fn file(
    state: &AppState,
    group_by: GroupBy,
    scope: StudentScope,
    format: ExportFormat,
) -> Result<HttpResponse, DomainError> {
    let stats = state
        .db
        .read(move |conn| {
            let cycle =
                services::cycles::current(conn)?.ok_or_else(|| DomainError::not_found("cycle"))?;
            queries::placement_stats(conn, cycle.id, group_by, scope)
        })
        .await?;
    answer(stats, format).await
}

/// A statistics download of a role's page, `csv` or `xlsx`: the API's file of the scope;
/// without a cycle, `back` to the page.
pub async fn download(
    req: &HttpRequest,
    state: &AppState,
    format: &str,
    scope: StudentScope,
    back: impl FnOnce() -> HttpResponse,
) -> Result<HttpResponse, PageError> {
    let format = match format {
        "csv" => ExportFormat::Csv,
        "xlsx" => ExportFormat::Xlsx,
        _ => return Err(PageError::NotFound),
    };
    match file(state, group_of(req), scope, format).await {
        Ok(response) => Ok(response),
        Err(DomainError::NotFound(_)) => Ok(back()),
        Err(error) => Err(error.into()),
    }
}

/// The words of the statistics in one language.
pub struct Words {
    pub intro: &'static str,
    pub by_program: &'static str,
    pub by_base: &'static str,
    pub flow: &'static str,
    pub code: &'static str,
    pub program: &'static str,
    pub base: &'static str,
    pub from_university: &'static str,
    pub to_university: &'static str,
    pub applicants: &'static str,
    pub seats: &'static str,
    pub fill_rate: &'static str,
    pub total: &'static str,
    pub download_csv: &'static str,
    pub download_xlsx: &'static str,
    pub none: &'static str,
    pub charts: &'static str,
    pub placed_title: &'static str,
    pub status_title: &'static str,
    pub host_fill_title: &'static str,
    pub university_status_title: &'static str,
    pub flow_title: &'static str,
}

static EN: Words = Words {
    intro: "Counts of the cycle's applicants and placements; the files hold the same numbers.",
    by_program: "By program",
    by_base: "By base",
    flow: "From university to host university",
    code: "Code",
    program: "Program",
    base: "Base",
    from_university: "Students of",
    to_university: "Placed at bases of",
    applicants: "Applicants",
    seats: "Seats",
    fill_rate: "Fill rate",
    total: "Total",
    download_csv: "Download CSV",
    download_xlsx: "Download XLSX",
    none: "Nothing to count yet.",
    charts: "Charts",
    placed_title: "Fill rate by program: applicants holding a seat",
    status_title: "Placement status by program",
    host_fill_title: "Fill rate by host university: seats taken",
    university_status_title: "Placement status by the students' university",
    flow_title: "Students holding a seat, by host university",
};

static ZH: Words = Words {
    intro: "本轮申请与录取的统计；下载的文件数字相同。",
    by_program: "按专业",
    by_base: "按基地",
    flow: "学生所在高校 → 基地所属高校",
    code: "代码",
    program: "专业",
    base: "基地",
    from_university: "学生所在高校",
    to_university: "基地所属高校",
    applicants: "申请人数",
    seats: "名额",
    fill_rate: "名额使用率",
    total: "合计",
    download_csv: "下载 CSV",
    download_xlsx: "下载 XLSX",
    none: "暂无可统计的数据。",
    charts: "图表",
    placed_title: "各专业录取率：已获名额的申请人",
    status_title: "各专业录取状态",
    host_fill_title: "各基地所属高校的名额使用率",
    university_status_title: "各高校学生的录取状态",
    flow_title: "按基地所属高校统计的获名额学生",
};

impl Words {
    pub fn of(lang: Lang) -> &'static Words {
        match lang {
            Lang::En => &EN,
            Lang::Zh => &ZH,
        }
    }
}

/// One table of counts: the columns naming its groups, then the measures.
pub struct Table {
    pub id: &'static str,
    pub heading: &'static str,
    pub labels: Vec<&'static str>,
    pub measures: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
    pub total: Vec<String>,
    pub csv: String,
    pub xlsx: String,
    /// Says which file a download link gives, for a screen reader.
    pub file_name: &'static str,
}

/// A chart and the width it is drawn for, in CSS pixels: it shrinks to fit a phone but
/// never grows past that width, so that a small matrix keeps the size of its text.
pub struct ChartBox {
    /// The chart's title, shown above it as well as inside it for screen readers.
    pub caption: &'static str,
    pub chart: Chart,
    pub max_width: u32,
}

impl ChartBox {
    fn new(caption: &'static str, chart: Chart, width: u32) -> ChartBox {
        ChartBox {
            caption,
            chart,
            max_width: width,
        }
    }
}

/// Everything the statistics section shows.
pub struct StatisticsView {
    pub w: &'static Words,
    pub tables: Vec<Table>,
    pub charts: Vec<ChartBox>,
}

/// Seat-holding placements: offered, confirmed or completed.
fn placed(m: &Measures) -> i64 {
    m.offered + m.confirmed + m.completed
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "—".to_owned(), |r| format!("{:.1}%", r * 100.0))
}

/// The measures of a row as the table prints them.
fn cells(m: &Measures, with_seats: bool) -> Vec<String> {
    let mut cells = vec![
        m.applicants.to_string(),
        m.offered.to_string(),
        m.confirmed.to_string(),
        m.declined.to_string(),
        m.withdrawn.to_string(),
        m.completed.to_string(),
    ];
    if with_seats {
        cells.push(m.seats.map_or_else(|| "—".to_owned(), |s| s.to_string()));
        cells.push(percent(m.fill_rate));
    }
    cells
}

fn table(
    stats: &PlacementStats,
    lang: Lang,
    id: &'static str,
    heading: &'static str,
    labels: Vec<&'static str>,
    files_at: &str,
) -> Table {
    let w = Words::of(lang);
    let with_seats = matches!(stats.group_by, GroupBy::Base);
    let mut measures = vec![w.applicants];
    measures.extend(
        PlacementStatus::ALL
            .iter()
            .map(|status| i18n::placement_status(lang, *status)),
    );
    if with_seats {
        measures.extend([w.seats, w.fill_rate]);
    }
    let label_count = labels.len();
    let rows = stats
        .rows
        .iter()
        .map(|row| {
            let mut line = row_labels(&row.group);
            line.extend(cells(&row.measures, with_seats));
            line
        })
        .collect();
    let mut total = vec![w.total.to_owned()];
    total.extend(std::iter::repeat_n(String::new(), label_count - 1));
    total.extend(cells(&stats.totals, with_seats));
    let group = stats.group_by.as_str();
    Table {
        id,
        heading,
        labels,
        measures,
        rows,
        total,
        csv: format!("{files_at}.csv?group_by={group}"),
        xlsx: format!("{files_at}.xlsx?group_by={group}"),
        file_name: heading,
    }
}

/// The cells naming a row's group.
fn row_labels(group: &Group) -> Vec<String> {
    match group {
        Group::Base { base_name, .. } => vec![base_name.clone()],
        Group::Flow {
            student_university_code,
            student_university_name,
            host_university_code,
            host_university_name,
            ..
        } => vec![
            format!("{student_university_code} {student_university_name}"),
            format!("{host_university_code} {host_university_name}"),
        ],
        other => other.labels(),
    }
}

/// Short names of the flow's columns and rows: university codes, in first-seen order.
fn flow_matrix(flow: &PlacementStats) -> (Vec<String>, Vec<String>, Vec<Vec<u64>>) {
    let mut from: Vec<String> = Vec::new();
    let mut to: Vec<String> = Vec::new();
    let mut pairs = Vec::new();
    for row in &flow.rows {
        if let Group::Flow {
            student_university_code,
            host_university_code,
            ..
        } = &row.group
        {
            let r = position(&mut from, student_university_code);
            let c = position(&mut to, host_university_code);
            pairs.push((r, c, placed(&row.measures).max(0) as u64));
        }
    }
    let mut counts = vec![vec![0; to.len()]; from.len()];
    for (r, c, count) in pairs {
        counts[r][c] += count;
    }
    (from, to, counts)
}

/// The width `charts::matrix` draws for a number of columns.
fn matrix_width(columns: usize) -> u32 {
    130 + columns.max(1) as u32 * 64 + 8
}

fn position(list: &mut Vec<String>, item: &str) -> usize {
    match list.iter().position(|known| known == item) {
        Some(at) => at,
        None => {
            list.push(item.to_owned());
            list.len() - 1
        }
    }
}

/// A group's placements by status, in `PlacementStatus::ALL`'s order.
fn by_status(m: &Measures) -> [i64; 5] {
    [m.offered, m.confirmed, m.declined, m.withdrawn, m.completed]
}

/// The totals of a status chart in words: "In all: 3 offered, 1 confirmed, …".
fn in_all(lang: Lang, totals: &Measures) -> String {
    let parts: Vec<String> = PlacementStatus::ALL
        .iter()
        .zip(by_status(totals))
        .map(|(status, count)| {
            let word = i18n::placement_status(lang, *status);
            match lang {
                Lang::En => format!("{count} {word}"),
                Lang::Zh => format!("{word} {count}"),
            }
        })
        .collect();
    match lang {
        Lang::En => format!("In all: {}.", parts.join(", ")),
        Lang::Zh => format!("总计：{}。", parts.join("，")),
    }
}

/// The placements of each row as a stack of the five statuses, in `PlacementStatus::ALL`'s
/// order.
fn status_stacks(stats: &PlacementStats, label: impl Fn(&StatsRow) -> String) -> Vec<Stack> {
    stats
        .rows
        .iter()
        .map(|row| {
            let m = &row.measures;
            Stack {
                label: label(row),
                counts: by_status(m)
                    .iter()
                    .map(|count| (*count).max(0) as u64)
                    .collect(),
            }
        })
        .collect()
}

/// The placements of each students' university by status: its flows to every host added
/// up (each placement is at one host's base), in code order. The counting by university
/// gives the same numbers; the flow is counted for its matrix anyway.
fn university_stacks(flow: &PlacementStats) -> Vec<Stack> {
    let mut per_university: std::collections::BTreeMap<(&str, &str), [i64; 5]> =
        std::collections::BTreeMap::new();
    for row in &flow.rows {
        if let Group::Flow {
            student_university_code,
            student_university_name,
            ..
        } = &row.group
        {
            let sums = per_university
                .entry((student_university_code, student_university_name))
                .or_default();
            for (sum, count) in sums.iter_mut().zip(by_status(&row.measures)) {
                *sum += count;
            }
        }
    }
    per_university
        .into_iter()
        .map(|((code, name), counts)| Stack {
            label: format!("{code} {name}"),
            counts: counts.iter().map(|count| (*count).max(0) as u64).collect(),
        })
        .collect()
}

/// The seat-holding placements and the seats of the bases of each host university, by the
/// host's code and name in code order; bases without seats in the cycle add none.
fn host_fill(
    by_base: &PlacementStats,
    hosts: &HashMap<BaseId, (String, String)>,
) -> Vec<(String, i64, i64)> {
    let mut per_host: std::collections::BTreeMap<(String, String), (i64, i64)> =
        std::collections::BTreeMap::new();
    for row in &by_base.rows {
        if let Group::Base { base_id, .. } = &row.group {
            if let Some(host) = hosts.get(base_id) {
                let entry = per_host.entry(host.clone()).or_default();
                entry.0 += placed(&row.measures);
                entry.1 += row.measures.seats.unwrap_or(0);
            }
        }
    }
    per_host
        .into_iter()
        .map(|((code, name), (taken, seats))| (format!("{code} {name}"), taken, seats))
        .collect()
}

/// The statistics section for counts already taken in the reader's scope; the download
/// links go to `files_at` followed by `.csv` or `.xlsx`.
pub fn section(counts: &Counts, lang: Lang, files_at: &str) -> StatisticsView {
    let Counts {
        by_program,
        by_base,
        flow,
        hosts,
    } = counts;
    let w = Words::of(lang);
    let en = lang == Lang::En;
    let program_label = |row: &StatsRow| match &row.group {
        Group::Program {
            program_code,
            program_name,
            ..
        } => format!("{program_code} {program_name}"),
        other => other.labels().join(" "),
    };
    let placed_bars: Vec<Bar> = by_program
        .rows
        .iter()
        .map(|row| {
            let m = &row.measures;
            let share = if m.applicants > 0 {
                placed(m) as f64 / m.applicants as f64
            } else {
                0.0
            };
            Bar {
                label: program_label(row),
                value: share,
                shown: format!("{}/{}", placed(m), m.applicants),
            }
        })
        .collect();
    let placed_desc = if en {
        format!(
            "For each of {} programs: applicants holding a seat (offered, confirmed or completed) out of all applicants; a whole bar is 100%. In all {} of {}.",
            by_program.rows.len(),
            placed(&by_program.totals),
            by_program.totals.applicants
        )
    } else {
        format!(
            "{} 个专业各自获得名额（已录取、已确认或已完成）的申请人数与申请总人数，整条为 100%。合计 {} / {}。",
            by_program.rows.len(),
            placed(&by_program.totals),
            by_program.totals.applicants
        )
    };
    let series: Vec<&str> = PlacementStatus::ALL
        .iter()
        .map(|status| i18n::placement_status(lang, *status))
        .collect();
    let status_desc = if en {
        format!(
            "Placements of each program by status, the total at the end of each bar. {}",
            in_all(lang, &by_program.totals)
        )
    } else {
        format!(
            "各专业的录取按状态分段，条末为合计。{}",
            in_all(lang, &by_program.totals)
        )
    };
    let host_rows = host_fill(by_base, hosts);
    let host_bars: Vec<Bar> = host_rows
        .iter()
        .map(|(label, taken, seats)| Bar {
            label: label.clone(),
            value: if *seats > 0 {
                *taken as f64 / *seats as f64
            } else {
                0.0
            },
            shown: format!("{taken}/{seats}"),
        })
        .collect();
    let (taken, seats) = host_rows
        .iter()
        .fold((0, 0), |(taken, seats), row| (taken + row.1, seats + row.2));
    let host_desc = if en {
        format!(
            "For each of {} host universities: seats of its bases held (offered, confirmed or completed) out of the seats its bases offer in the cycle; a whole bar is 100%. In all {taken} of {seats}.",
            host_rows.len()
        )
    } else {
        format!(
            "{} 所基地所属高校各自的基地名额中已被占用（已录取、已确认或已完成）的数目与本轮名额总数，整条为 100%。合计 {taken} / {seats}。",
            host_rows.len()
        )
    };
    let university_rows = university_stacks(flow);
    let university_desc = if en {
        format!(
            "Placements of the students of each of {} universities by status, the total at the end of each bar. {}",
            university_rows.len(),
            in_all(lang, &flow.totals)
        )
    } else {
        format!(
            "{} 所高校学生的录取按状态分段，条末为合计。{}",
            university_rows.len(),
            in_all(lang, &flow.totals)
        )
    };
    let (from, to, flow_counts) = flow_matrix(flow);
    let flow_desc = if en {
        format!(
            "Rows: the students' university; columns: the university hosting the base; each cell counts students holding a seat. {} in all.",
            placed(&flow.totals)
        )
    } else {
        format!(
            "行为学生所在高校，列为基地所属高校，每格为获得名额的学生人数。合计 {}。",
            placed(&flow.totals)
        )
    };
    StatisticsView {
        w,
        tables: vec![
            table(
                by_program,
                lang,
                "stats-program",
                w.by_program,
                vec![w.code, w.program],
                files_at,
            ),
            table(
                by_base,
                lang,
                "stats-base",
                w.by_base,
                vec![w.base],
                files_at,
            ),
            table(
                flow,
                lang,
                "stats-flow",
                w.flow,
                vec![w.from_university, w.to_university],
                files_at,
            ),
        ],
        charts: vec![
            ChartBox::new(
                w.placed_title,
                charts::shares("chart-placed", w.placed_title, &placed_desc, &placed_bars),
                charts::BAR_WIDTH,
            ),
            ChartBox::new(
                w.status_title,
                charts::stacked(
                    "chart-status",
                    w.status_title,
                    &status_desc,
                    &series,
                    &status_stacks(by_program, program_label),
                ),
                charts::BAR_WIDTH,
            ),
            ChartBox::new(
                w.host_fill_title,
                charts::shares("chart-host-fill", w.host_fill_title, &host_desc, &host_bars),
                charts::BAR_WIDTH,
            ),
            ChartBox::new(
                w.university_status_title,
                charts::stacked(
                    "chart-university-status",
                    w.university_status_title,
                    &university_desc,
                    &series,
                    &university_rows,
                ),
                charts::BAR_WIDTH,
            ),
            ChartBox::new(
                w.flow_title,
                charts::matrix(
                    "chart-flow",
                    w.flow_title,
                    &flow_desc,
                    &from,
                    &to,
                    &flow_counts,
                ),
                matrix_width(to.len()),
            ),
        ],
    }
}
