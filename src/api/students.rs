use crate::api::extract::{double_option, JsonBody, Page, PageParams, QueryParams, RawBody};
use crate::auth::Caller;
use crate::db::lookup;
use crate::db::models::Student;
use crate::db::schema::{programs, students};
use crate::dispatch;
use crate::domain::validate;
use crate::domain::*;
use crate::error::ApiError;
pub use crate::services::student_input::{read_import, NewStudent, MAX_IMPORT_BYTES};
use crate::services::students::{self as students_service, StudentEdit, StudentRecord};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

#[derive(Debug, Serialize, ToSchema)]
pub struct StudentView {
    pub id: StudentId,
    pub university_id: UniversityId,
    pub student_number: String,
    pub name: String,
    pub email: String,
    pub program_code: String,
    pub cohort_year: i32,
    pub score: Option<f64>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Only when placemat generated the password: shown once, at creation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initial_password: Option<String>,
}

impl StudentView {
    fn new(row: Student, program_code: String) -> Self {
        Self {
            id: row.id,
            university_id: row.university_id,
            student_number: row.student_number,
            name: row.name,
            email: row.email,
            program_code,
            cohort_year: row.cohort_year,
            score: row.score,
            created_at: row.created_at,
            updated_at: row.updated_at,
            initial_password: None,
        }
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StudentPatch {
    #[validate(custom(function = "validate::student_number"))]
    #[schema(pattern = r"^[A-Za-z0-9-]{1,32}$")]
    pub student_number: Option<String>,
    #[serde(default, deserialize_with = "validate::normalised_option")]
    #[schema(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*[^\s\u0000-\u001F\u007F-\u009F\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0][^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*$",
        max_length = 100
    )]
    #[validate(
        length(max = 100, message = "must have at most 100 characters"),
        custom(function = "validate::text")
    )]
    pub name: Option<String>,
    #[validate(email(message = "must be an email address"), length(max = 254))]
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
    pub program_code: Option<String>,
    #[validate(range(
        min = 2000,
        max = 2100,
        message = "must be a year between 2000 and 2100"
    ))]
    #[schema(minimum = 2000, maximum = 2100)]
    #[serde(default, deserialize_with = "validate::whole_option")]
    pub cohort_year: Option<i32>,
    /// A number from 0 to 100, or null to clear it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<f64>)]
    #[validate(range(min = 0.0, max = 100.0, message = "must be between 0 and 100"))]
    #[schema(minimum = 0, maximum = 100)]
    pub score: Option<Option<f64>>,
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StudentFilters {
    /// Only this university's students (alliance admin).
    pub university: Option<UniversityId>,
    /// Only this program (code or id).
    pub program: Option<String>,
    pub cohort_year: Option<i32>,
    /// Name, student number or email contains this text.
    pub q: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResult {
    pub created: usize,
    /// The students created. Those without a password in the file have none yet: each is
    /// sent an invitation to choose one.
    pub students: Vec<StudentView>,
}

impl From<StudentRecord> for StudentView {
    fn from(record: StudentRecord) -> Self {
        let mut view = StudentView::new(record.student, record.program_code);
        view.initial_password = record.initial_password;
        view
    }
}

impl From<StudentPatch> for StudentEdit {
    fn from(patch: StudentPatch) -> Self {
        Self {
            student_number: patch.student_number,
            name: patch.name,
            email: patch.email,
            program_code: patch.program_code,
            cohort_year: patch.cohort_year,
            score: patch.score,
        }
    }
}

/// Students, scoped: a university admin sees its own university only.
#[utoipa::path(get, path = "/api/v1/students", tag = "students", params(PageParams, StudentFilters),
    responses((status = 200, body = inline(Page<StudentView>)), (status = 403, body = crate::error::Problem)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    QueryParams(page): QueryParams<PageParams>,
    QueryParams(filters): QueryParams<StudentFilters>,
) -> Result<web::Json<Page<StudentView>>, ApiError> {
    let university = caller.scope()?.managed_students(filters.university)?;
    let (items, total) = state
        .db
        .read(move |conn| {
            let program = match &filters.program {
                Some(reference) => Some(
                    lookup::program_by_ref(conn, reference)?
                        .ok_or_else(|| {
                            DomainError::UnknownReference(format!("unknown program `{reference}`"))
                        })?
                        .id,
                ),
                None => None,
            };
            let pattern = crate::services::students::search_pattern(filters.q.as_deref());
            let (rows, total): (Vec<(Student, String)>, i64) = dispatch!(conn, |c| {
                let filtered = || {
                    let mut query = students::table.inner_join(programs::table).into_boxed();
                    if let Some(university) = university {
                        query = query.filter(students::university_id.eq(university));
                    }
                    if let Some(program) = program {
                        query = query.filter(students::program_id.eq(program));
                    }
                    if let Some(year) = filters.cohort_year {
                        query = query.filter(students::cohort_year.eq(year));
                    }
                    if let Some(pattern) = &pattern {
                        query = crate::services::students::matching_search!(query, pattern);
                    }
                    query
                };
                let total: i64 = filtered().count().get_result(c)?;
                let rows = filtered()
                    .select((Student::as_select(), programs::code))
                    .order((students::student_number, students::id))
                    .limit(page.limit())
                    .offset(page.offset())
                    .load(c)?;
                (rows, total)
            });
            let items = rows
                .into_iter()
                .map(|(row, code)| StudentView::new(row, code))
                .collect();
            Ok((items, total))
        })
        .await?;
    Ok(web::Json(page.page(items, total)))
}

/// One student.
#[utoipa::path(get, path = "/api/v1/students/{id}", tag = "students", params(("id" = StudentId, Path)),
    responses((status = 200, body = StudentView), (status = 404, body = crate::error::Problem)))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<StudentId>,
) -> Result<web::Json<StudentView>, ApiError> {
    let id = id.into_inner();
    caller.require_role(&[Role::AllianceAdmin, Role::UniversityAdmin, Role::Student])?;
    let view = state
        .db
        .read(move |conn| {
            let student = students_service::visible_student(conn, &caller, id)?;
            students_service::record_of(conn, student)
        })
        .await?;
    Ok(web::Json(view.into()))
}

/// Adds a student and its login.
#[utoipa::path(post, path = "/api/v1/students", tag = "students", request_body = NewStudent,
    responses((status = 201, body = StudentView), (status = 403, body = crate::error::Problem),
              (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: JsonBody<NewStudent>,
) -> Result<HttpResponse, ApiError> {
    let record = students_service::create(&state.db, &state.config, &caller, body.0.into()).await?;
    Ok(HttpResponse::Created().json(StudentView::from(record)))
}

/// Changes a student.
#[utoipa::path(patch, path = "/api/v1/students/{id}", tag = "students", params(("id" = StudentId, Path)),
    request_body = StudentPatch,
    responses((status = 200, body = StudentView), (status = 403, body = crate::error::Problem),
              (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<StudentId>,
    body: JsonBody<StudentPatch>,
) -> Result<web::Json<StudentView>, ApiError> {
    let record =
        students_service::update(&state.db, &caller, id.into_inner(), body.0.into()).await?;
    Ok(web::Json(record.into()))
}

/// Imports students from CSV: every row or none; errors name their row.
#[utoipa::path(post, path = "/api/v1/students/import", tag = "students",
    request_body(content = String, content_type = "text/csv",
        description = "header row: university_id (optional for a university admin), student_number, name, email, program_code, cohort_year, score (optional), password (optional)"),
    responses((status = 201, body = ImportResult), (status = 403, body = crate::error::Problem),
              (status = 422, description = "the rows at fault; nothing was imported", body = crate::error::Problem)))]
pub async fn import(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: RawBody<MAX_IMPORT_BYTES>,
) -> Result<HttpResponse, ApiError> {
    caller.scope()?.managed_students(None)?;
    let content_type = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with("text/csv") {
        return Err(ApiError::BadRequest("the body must be text/csv".into()));
    }
    let file = read_import(&body);
    let records = students_service::import(&state.db, &state.config, &caller, file).await?;
    let students: Vec<StudentView> = records.into_iter().map(StudentView::from).collect();
    Ok(HttpResponse::Created().json(ImportResult {
        created: students.len(),
        students,
    }))
}

/// Sends the student a new invitation link to choose a password; earlier links keep working
/// until used or expired.
#[utoipa::path(post, path = "/api/v1/students/{id}/invitation", tag = "students",
    params(("id" = StudentId, Path)),
    responses((status = 202, description = "the invitation is in the outbox"),
              (status = 401, body = crate::error::Problem), (status = 403, body = crate::error::Problem),
              (status = 404, body = crate::error::Problem)))]
pub async fn resend_invitation(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<StudentId>,
) -> Result<HttpResponse, ApiError> {
    students_service::resend_invitation(&state.db, &state.config, &caller, id.into_inner()).await?;
    Ok(HttpResponse::Accepted().finish())
}
