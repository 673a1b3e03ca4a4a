//! The statistics as files to download: CSV and XLSX.

use super::{GroupBy, Measures, PlacementStats};
use crate::domain::{DomainError, PlacementStatus};
use actix_web::http::header;
use actix_web::{web, HttpResponse};
use rust_xlsxwriter::{Format, Workbook};
use serde::Deserialize;
use utoipa::ToSchema;

/// The formats the statistics are available in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    Json,
    Csv,
    Xlsx,
}

pub const XLSX_MEDIA_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

impl ExportFormat {
    /// In order of preference when the client accepts several equally.
    pub const ALL: [ExportFormat; 3] = [ExportFormat::Json, ExportFormat::Csv, ExportFormat::Xlsx];

    fn extension(self) -> &'static str {
        match self {
            ExportFormat::Json => "json",
            ExportFormat::Csv => "csv",
            ExportFormat::Xlsx => "xlsx",
        }
    }
}

/// The cycle's name as it may stand in a file name: ASCII letters and digits, lower case,
/// anything else as a single hyphen. A name with none of them gives `cycle`.
pub fn slug(name: &str) -> String {
    let mut slug = String::new();
    for character in name.chars() {
        if character.is_ascii_alphanumeric() {
            slug.push(character.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        "cycle".to_owned()
    } else {
        slug.to_owned()
    }
}

/// The column names of the measures, after the group's.
const MEASURE_COLUMNS: [&str; 8] = [
    "applicants",
    PlacementStatus::Offered.as_str(),
    PlacementStatus::Confirmed.as_str(),
    PlacementStatus::Declined.as_str(),
    PlacementStatus::Withdrawn.as_str(),
    PlacementStatus::Completed.as_str(),
    "seats",
    "fill_rate",
];

/// One table row of a spreadsheet: the group's labels (the totals say `Total`), then the
/// measures.
fn sheet_rows(stats: &PlacementStats) -> Vec<(Vec<String>, &Measures)> {
    let width = stats.group_by.label_columns().len();
    let mut total_labels = vec![String::new(); width];
    total_labels[0] = "Total".to_owned();
    stats
        .rows
        .iter()
        .map(|row| (row.group.labels(), &row.measures))
        .chain(std::iter::once((total_labels, &stats.totals)))
        .collect()
}

fn header_row(group_by: GroupBy) -> Vec<&'static str> {
    group_by
        .label_columns()
        .iter()
        .copied()
        .chain(MEASURE_COLUMNS)
        .collect()
}

/// The counts in column order; seats and fill rate may be absent.
fn measure_values(m: &Measures) -> [Option<f64>; 8] {
    [
        Some(m.applicants as f64),
        Some(m.offered as f64),
        Some(m.confirmed as f64),
        Some(m.declined as f64),
        Some(m.withdrawn as f64),
        Some(m.completed as f64),
        m.seats.map(|seats| seats as f64),
        m.fill_rate,
    ]
}

/// A text cell as a spreadsheet opening the CSV will show it, not run it: a leading `=`,
/// `+`, `-` or `@` starts a formula there (so do a tab or a carriage return before one),
/// and a leading apostrophe makes it text (OWASP's advice against CSV injection).
fn neutralise(text: String) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text
    }
}

/// UTF-8 with a byte-order mark: without it Excel reads the file in the local code page and
/// garbles Chinese names.
pub fn to_csv(stats: &PlacementStats) -> Result<Vec<u8>, DomainError> {
    let internal = |e: csv::Error| DomainError::Internal(e.into());
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(b"\xEF\xBB\xBF".to_vec());
    writer
        .write_record(header_row(stats.group_by))
        .map_err(internal)?;
    for (labels, measures) in sheet_rows(stats) {
        let values = measure_values(measures)
            .into_iter()
            .map(|value| value.map(|v| v.to_string()).unwrap_or_default());
        writer
            .write_record(labels.into_iter().map(neutralise).chain(values))
            .map_err(internal)?;
    }
    writer
        .into_inner()
        .map_err(|e| DomainError::Internal(anyhow::anyhow!("cannot finish the CSV: {e}")))
}

pub fn to_xlsx(stats: &PlacementStats) -> Result<Vec<u8>, DomainError> {
    let internal = |e: rust_xlsxwriter::XlsxError| DomainError::Internal(e.into());
    let bold = Format::new().set_bold();
    let percent = Format::new().set_num_format("0.0%");
    let bold_percent = Format::new().set_bold().set_num_format("0.0%");
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name(stats.group_by.as_str()).map_err(internal)?;
    for (column, name) in header_row(stats.group_by).into_iter().enumerate() {
        sheet
            .write_string_with_format(0, column_number(column)?, name, &bold)
            .map_err(internal)?;
    }
    let rows = sheet_rows(stats);
    let last = rows.len();
    for (index, (labels, measures)) in rows.into_iter().enumerate() {
        let row = u32::try_from(index + 1)
            .map_err(|_| DomainError::Internal(anyhow::anyhow!("too many rows for a worksheet")))?;
        let is_total = index + 1 == last;
        let label_count = labels.len();
        for (column, label) in labels.into_iter().enumerate() {
            let column = column_number(column)?;
            if is_total {
                sheet.write_string_with_format(row, column, label, &bold)
            } else {
                sheet.write_string(row, column, label)
            }
            .map_err(internal)?;
        }
        for (offset, value) in measure_values(measures).into_iter().enumerate() {
            // An absent seat count or fill rate stays an empty cell, not a zero.
            let Some(value) = value else { continue };
            let column = column_number(label_count + offset)?;
            let is_rate = offset == MEASURE_COLUMNS.len() - 1;
            match (is_rate, is_total) {
                (true, true) => sheet.write_number_with_format(row, column, value, &bold_percent),
                (true, false) => sheet.write_number_with_format(row, column, value, &percent),
                (false, true) => sheet.write_number_with_format(row, column, value, &bold),
                (false, false) => sheet.write_number(row, column, value),
            }
            .map_err(internal)?;
        }
    }
    sheet.set_freeze_panes(1, 0).map_err(internal)?;
    sheet.autofit();
    workbook.save_to_buffer().map_err(internal)
}

fn column_number(index: usize) -> Result<u16, DomainError> {
    u16::try_from(index).map_err(|_| DomainError::Internal(anyhow::anyhow!("too many columns")))
}

/// The statistics in a format: JSON, or CSV and XLSX as attachments named after the cycle
/// and the grouping. The officer's page answers its downloads here too, so that its files
/// are the API's.
pub async fn answer(
    stats: PlacementStats,
    format: ExportFormat,
) -> Result<HttpResponse, DomainError> {
    let vary = (header::VARY, "Accept");
    let (content_type, render): (&str, Render) = match format {
        ExportFormat::Json => return Ok(HttpResponse::Ok().insert_header(vary).json(stats)),
        ExportFormat::Csv => ("text/csv; charset=utf-8", to_csv),
        ExportFormat::Xlsx => (XLSX_MEDIA_TYPE, to_xlsx),
    };
    let filename = format!(
        "placements-{}-{}.{}",
        slug(&stats.cycle_name),
        stats.group_by.as_str(),
        format.extension()
    );
    // Building a spreadsheet is CPU work: keep it off the async threads.
    let body = web::block(move || render(&stats)).await.map_err(|error| {
        DomainError::Internal(anyhow::anyhow!("blocking task failed: {error}"))
    })??;
    Ok(HttpResponse::Ok()
        .insert_header(vary)
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .body(body))
}

/// Writes the statistics as a file to download.
type Render = fn(&PlacementStats) -> Result<Vec<u8>, DomainError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycle_names_become_file_name_slugs() {
        assert_eq!(slug("2027 Summer"), "2027-summer");
        assert_eq!(slug("  Spring / Autumn -- 2028 "), "spring-autumn-2028");
        assert_eq!(slug("2027年暑期实习"), "2027");
        assert_eq!(slug("暑期实习"), "cycle");
    }

    #[test]
    fn text_cells_that_a_spreadsheet_would_run_become_text() {
        for formula in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutralise(formula.to_owned()), format!("'{formula}"));
        }
        for text in ["Total", "北京基地", "a=b", "", "'quoted"] {
            assert_eq!(neutralise(text.to_owned()), text);
        }
    }
}
