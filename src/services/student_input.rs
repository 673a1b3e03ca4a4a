//! A new student as the API's body and the CSV import read it: the fields' rules, checked
//! the same way for a JSON body, a CSV row and the officer's form.

use super::students::{ImportFile, MAX_IMPORT_ROWS};
use crate::domain::validate;
use crate::domain::*;
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

/// The largest CSV file an import reads.
pub const MAX_IMPORT_BYTES: usize = 8 * 1024 * 1024;

#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStudent {
    /// Defaults to the university of a university admin.
    pub university_id: Option<UniversityId>,
    #[validate(custom(function = "validate::student_number"))]
    #[schema(pattern = r"^[A-Za-z0-9-]{1,32}$")]
    pub student_number: String,
    /// In any script.
    #[serde(deserialize_with = "validate::normalised")]
    #[schema(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*[^\s\u0000-\u001F\u007F-\u009F\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0][^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*$",
        max_length = 100
    )]
    #[validate(
        length(max = 100, message = "must have at most 100 characters"),
        custom(function = "validate::text")
    )]
    pub name: String,
    #[validate(email(message = "must be an email address"), length(max = 254))]
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// Program code (`0854`) or id.
    #[validate(length(min = 1, max = 64, message = "is required"))]
    #[schema(min_length = 1, max_length = 64)]
    pub program_code: String,
    #[validate(range(
        min = 2000,
        max = 2100,
        message = "must be a year between 2000 and 2100"
    ))]
    #[schema(minimum = 2000, maximum = 2100)]
    #[serde(deserialize_with = "validate::whole")]
    pub cohort_year: i32,
    #[validate(range(min = 0.0, max = 100.0, message = "must be between 0 and 100"))]
    #[schema(minimum = 0, maximum = 100)]
    pub score: Option<f64>,
    /// The student's login password; when absent one is generated and returned once.
    #[validate(custom(function = "validate::password"), length(max = 1024))]
    #[schema(min_length = 8, max_length = 1024)]
    pub password: Option<String>,
}

impl From<NewStudent> for super::students::NewStudent {
    fn from(request: NewStudent) -> Self {
        Self {
            university_id: request.university_id,
            student_number: request.student_number,
            name: request.name,
            email: request.email,
            program_code: request.program_code,
            cohort_year: request.cohort_year,
            score: request.score,
            password: request.password,
        }
    }
}

/// The columns of an import file.
#[derive(Debug, Deserialize)]
struct ImportRow {
    university_id: Option<String>,
    student_number: String,
    name: String,
    email: String,
    program_code: String,
    cohort_year: String,
    score: Option<String>,
    password: Option<String>,
}

fn blank_to_none(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Turns one CSV row into a request, or the errors of that row.
fn parse_row(row: ImportRow, line: u64) -> Result<NewStudent, Vec<FieldError>> {
    let at =
        |field: &str, message: String| FieldError::new(format!("row {line}: {field}"), message);
    let mut errors = Vec::new();
    let university_id = match blank_to_none(row.university_id) {
        Some(text) => match text.parse::<UniversityId>() {
            Ok(id) => Some(id),
            Err(_) => {
                errors.push(at("university_id", "must be a university id".into()));
                None
            }
        },
        None => None,
    };
    let cohort_year = row.cohort_year.trim().parse::<i32>().unwrap_or_else(|_| {
        errors.push(at("cohort_year", "must be a year".into()));
        0
    });
    let score = match blank_to_none(row.score) {
        Some(text) => match text.parse::<f64>() {
            Ok(value) => Some(value),
            Err(_) => {
                errors.push(at("score", "must be a number".into()));
                None
            }
        },
        None => None,
    };
    let request = NewStudent {
        university_id,
        student_number: row.student_number.trim().to_owned(),
        name: validate::normalise(&row.name),
        email: row.email.trim().to_owned(),
        program_code: row.program_code.trim().to_owned(),
        cohort_year,
        score,
        password: blank_to_none(row.password),
    };
    if errors.is_empty() {
        if let Err(invalid) = request.validate() {
            if let DomainError::Invalid { errors: fields, .. } = DomainError::from(invalid) {
                errors.extend(fields.into_iter().map(|f| at(&f.field, f.message)));
            }
        }
    }
    if errors.is_empty() {
        Ok(request)
    } else {
        Err(errors)
    }
}

/// Reads an import file in the API's CSV format (a byte-order mark allowed): the rows that
/// parse, each with its line, and the faults of those that do not. The API and the officer's
/// page both read files here, so that both take the same files.
pub fn read_import(body: &[u8]) -> ImportFile {
    let text = body.strip_prefix("\u{feff}".as_bytes()).unwrap_or(body);
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text);
    let mut requests = Vec::new();
    let mut errors = Vec::new();
    for record in reader.deserialize::<ImportRow>() {
        if requests.len() + errors.len() > MAX_IMPORT_ROWS {
            break;
        }
        match record {
            Ok(row) => {
                let line = requests.len() as u64 + errors.len() as u64 + 2;
                match parse_row(row, line) {
                    Ok(request) => requests.push((line, request)),
                    Err(row_errors) => errors.push(row_errors),
                }
            }
            Err(error) => {
                let line = error.position().map(|p| p.line()).unwrap_or(0);
                errors.push(vec![FieldError::new(
                    format!("row {line}"),
                    error.to_string(),
                )]);
            }
        }
    }
    ImportFile {
        rows: requests
            .into_iter()
            .map(|(line, request)| (line, request.into()))
            .collect(),
        faulty_rows: errors,
    }
}
