use crate::api::extract::{double_option, JsonBody, Page, PageParams, QueryParams, RawBody};
use crate::auth::{password, Caller};
use crate::config::Config;
use crate::db::lookup;
use crate::db::models::{Program, Student, StudentChanges, User};
use crate::db::schema::{programs, students, users};
use crate::db::DbConn;
use crate::dispatch;
use crate::domain::validate;
use crate::domain::validate::{contains_pattern, LIKE_ESCAPE};
use crate::domain::*;
use crate::error::{ApiError, FieldError};
use crate::services::invitations::{self, Purpose};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

/// The largest CSV file an import reads.
pub const MAX_IMPORT_BYTES: usize = 8 * 1024 * 1024;

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

#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStudent {
    /// Defaults to the university of a university admin.
    pub university_id: Option<UniversityId>,
    #[validate(custom(function = "validate::student_number"))]
    pub student_number: String,
    /// In any script.
    #[serde(deserialize_with = "validate::normalised")]
    #[validate(
        length(max = 100, message = "must have at most 100 characters"),
        custom(function = "validate::text")
    )]
    pub name: String,
    #[validate(email(message = "must be an email address"), length(max = 254))]
    pub email: String,
    /// Program code (`0854`) or id.
    #[validate(length(min = 1, max = 64, message = "is required"))]
    pub program_code: String,
    #[validate(range(
        min = 2000,
        max = 2100,
        message = "must be a year between 2000 and 2100"
    ))]
    pub cohort_year: i32,
    #[validate(range(min = 0.0, max = 100.0, message = "must be between 0 and 100"))]
    pub score: Option<f64>,
    /// The student's login password; when absent one is generated and returned once.
    #[validate(custom(function = "validate::password"), length(max = 1024))]
    pub password: Option<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StudentPatch {
    #[validate(custom(function = "validate::student_number"))]
    pub student_number: Option<String>,
    #[serde(default, deserialize_with = "validate::normalised_option")]
    #[validate(
        length(max = 100, message = "must have at most 100 characters"),
        custom(function = "validate::text")
    )]
    pub name: Option<String>,
    #[validate(email(message = "must be an email address"), length(max = 254))]
    pub email: Option<String>,
    pub program_code: Option<String>,
    #[validate(range(
        min = 2000,
        max = 2100,
        message = "must be a year between 2000 and 2100"
    ))]
    pub cohort_year: Option<i32>,
    /// A number from 0 to 100, or null to clear it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<f64>)]
    #[validate(range(min = 0.0, max = 100.0, message = "must be between 0 and 100"))]
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
    /// Name or student number contains this text.
    pub q: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResult {
    pub created: usize,
    /// The students created, with generated passwords where the file gave none.
    pub students: Vec<StudentView>,
}

/// A student ready to insert, with its login.
struct Enrolment {
    student: Student,
    user: User,
    program_code: String,
    generated_password: Option<String>,
}

/// Decides the university a new student belongs to, within the caller's scope.
fn university_for(
    caller: &Caller,
    requested: Option<UniversityId>,
) -> Result<UniversityId, UniversityRefusal> {
    match (caller.university_scope(), requested) {
        (Ok(None), Some(id)) => Ok(id),
        (Ok(None), None) => Err(UniversityRefusal::Required),
        (Ok(Some(own)), Some(id)) if id != own => Err(UniversityRefusal::OwnOnly),
        (Ok(Some(own)), _) => Ok(own),
        (Err(_), _) => Err(UniversityRefusal::NotAllowed),
    }
}

/// Why a new student cannot join the university asked for.
enum UniversityRefusal {
    Required,
    OwnOnly,
    NotAllowed,
}

impl UniversityRefusal {
    fn field_error(&self) -> FieldError {
        let message = match self {
            UniversityRefusal::Required => "is required",
            UniversityRefusal::OwnOnly => {
                "a university admin adds students to its own university only"
            }
            UniversityRefusal::NotAllowed => "not allowed",
        };
        FieldError::new("university_id", message)
    }

    fn into_error(self) -> ApiError {
        match self {
            UniversityRefusal::Required => ApiError::invalid_fields(vec![self.field_error()]),
            _ => ApiError::Forbidden(self.field_error().message),
        }
    }
}

/// Builds the rows for one new student; `password_hash` is precomputed by the caller so
/// that bulk imports can hash on every core.
fn enrol(
    request: NewStudent,
    university_id: UniversityId,
    program: &Program,
    password_hash: String,
    generated_password: Option<String>,
) -> Enrolment {
    let now = Timestamp::now();
    let id = StudentId::generate();
    let email = validate::normalise_email(&request.email);
    Enrolment {
        student: Student {
            id,
            university_id,
            student_number: request.student_number.trim().to_owned(),
            name: request.name.trim().to_owned(),
            email: email.clone(),
            program_id: program.id,
            cohort_year: request.cohort_year,
            score: request.score,
            created_at: now,
            updated_at: now,
        },
        user: User {
            id: UserId::generate(),
            email,
            password_hash,
            role: Role::Student.as_str().to_owned(),
            university_id: Some(university_id),
            base_id: None,
            student_id: Some(id),
            created_at: now,
        },
        program_code: program.code.clone(),
        generated_password,
    }
}

/// The password to set and, when generated, the text to hand back once.
fn choose_password(given: Option<&str>) -> (String, Option<String>) {
    match given {
        Some(text) => (text.to_owned(), None),
        None => {
            let generated = password::generate();
            (generated.clone(), Some(generated))
        }
    }
}

/// Problems that only the database can reveal: taken emails and student numbers.
fn clashes(
    conn: &mut DbConn,
    student: &Student,
    except: Option<StudentId>,
) -> Result<Vec<(Conflict, FieldError)>, DomainError> {
    let mut errors = Vec::new();
    let email_owner: Option<UserId> = dispatch!(conn, |c| users::table
        .filter(users::email.eq(&student.email))
        .filter(
            users::student_id
                .is_null()
                .or(users::student_id.ne(except.unwrap_or(StudentId(uuid::Uuid::nil()))))
        )
        .select(users::id)
        .first(c)
        .optional())?;
    if email_owner.is_some() {
        errors.push((
            Conflict::EmailTaken,
            FieldError::new("email", "is already used by another account"),
        ));
    }
    let number_owner: Option<StudentId> = dispatch!(conn, |c| students::table
        .filter(students::university_id.eq(student.university_id))
        .filter(students::student_number.eq(&student.student_number))
        .select(students::id)
        .first(c)
        .optional())?;
    if number_owner.is_some() && number_owner != except {
        errors.push((
            Conflict::StudentNumberTaken,
            FieldError::new("student_number", "is already used at this university"),
        ));
    }
    Ok(errors)
}

/// The conflict a single student's clashes answer: the kind of the first, with every
/// clash in the detail.
fn clash_conflict(problems: &[(Conflict, FieldError)]) -> Option<DomainError> {
    let (kind, _) = problems.first()?;
    let detail = problems
        .iter()
        .map(|(_, p)| format!("{} {}", p.field, p.message))
        .collect::<Vec<_>>()
        .join("; ");
    Some(DomainError::Conflict(*kind, detail))
}

fn insert_enrolments(conn: &mut DbConn, enrolments: &[Enrolment]) -> Result<(), DomainError> {
    for chunk in enrolments.chunks(500) {
        let students_rows: Vec<&Student> = chunk.iter().map(|e| &e.student).collect();
        let user_rows: Vec<&User> = chunk.iter().map(|e| &e.user).collect();
        dispatch!(conn, |c| {
            diesel::insert_into(students::table)
                .values(students_rows)
                .execute(c)?;
            diesel::insert_into(users::table)
                .values(user_rows)
                .execute(c)
        })?;
    }
    Ok(())
}

/// Students added without a password are invited to choose one.
fn invite_without_password(
    conn: &mut DbConn,
    config: &Config,
    enrolments: &[Enrolment],
) -> Result<(), DomainError> {
    for enrolment in enrolments.iter().filter(|e| e.generated_password.is_some()) {
        invitations::send_link(conn, config, enrolment.user.id, Purpose::Invitation)?;
    }
    Ok(())
}

fn program_of(conn: &mut DbConn, reference: &str, field: &str) -> Result<Program, DomainError> {
    lookup::program_by_ref(conn, reference.trim())?
        .ok_or_else(|| DomainError::invalid(field, format!("unknown program `{reference}`")))
}

/// Loads a student the caller may see: a university admin only its own students, a student
/// only itself; anyone else is told it does not exist.
fn visible_student(
    conn: &mut DbConn,
    caller: &Caller,
    id: StudentId,
) -> Result<Student, DomainError> {
    let student = lookup::student(conn, id)?;
    let visible = caller.manages_university(student.university_id) || caller.student_id == Some(id);
    if visible {
        Ok(student)
    } else {
        Err(DomainError::not_found("student"))
    }
}

fn view_of(conn: &mut DbConn, student: Student) -> Result<StudentView, DomainError> {
    let code: String = dispatch!(conn, |c| programs::table
        .find(student.program_id)
        .select(programs::code)
        .first(c))?;
    Ok(StudentView::new(student, code))
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
    let scope = caller.university_scope()?;
    let university = match (scope, filters.university) {
        (Some(own), Some(asked)) if own != asked => {
            return Err(ApiError::Forbidden(
                "a university admin sees its own students only".into(),
            ))
        }
        (Some(own), _) => Some(own),
        (None, asked) => asked,
    };
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
            let pattern = filters.q.as_deref().map(contains_pattern);
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
                        query = query.filter(
                            students::name.like(pattern.clone()).escape(LIKE_ESCAPE).or(
                                students::student_number
                                    .like(pattern.clone())
                                    .escape(LIKE_ESCAPE),
                            ),
                        );
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
            let student = visible_student(conn, &caller, id)?;
            view_of(conn, student)
        })
        .await?;
    Ok(web::Json(view))
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
    caller.university_scope()?;
    let request = body.0;
    let university_id =
        university_for(&caller, request.university_id).map_err(UniversityRefusal::into_error)?;
    let (password_text, generated) = choose_password(request.password.as_deref());
    let password_hash = password::bounded(move || password::hash(&password_text))
        .await?
        .map_err(ApiError::Internal)?;
    let config = state.config.clone();
    let view = state
        .db
        .write(move |conn| {
            if lookup::university(conn, university_id)?.is_none() {
                return Err(DomainError::invalid("university_id", "no such university"));
            }
            let program = program_of(conn, &request.program_code, "program_code")?;
            let enrolment = enrol(request, university_id, &program, password_hash, generated);
            let problems = clashes(conn, &enrolment.student, None)?;
            if let Some(conflict) = clash_conflict(&problems) {
                return Err(conflict);
            }
            insert_enrolments(conn, std::slice::from_ref(&enrolment))?;
            invite_without_password(conn, &config, std::slice::from_ref(&enrolment))?;
            let mut view = StudentView::new(enrolment.student, enrolment.program_code);
            view.initial_password = enrolment.generated_password;
            Ok(view)
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
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
    caller.university_scope()?;
    let id = id.into_inner();
    let patch = body.0;
    let view = state
        .db
        .write(move |conn| {
            let mut student = visible_student(conn, &caller, id)?;
            if patch.score.is_some() {
                crate::services::inputs::touch_applied(conn, id)?;
            }
            let program_id = match &patch.program_code {
                Some(reference) => Some(program_of(conn, reference, "program_code")?.id),
                None => None,
            };
            if let Some(number) = &patch.student_number {
                student.student_number = number.trim().to_owned();
            }
            if let Some(email) = &patch.email {
                student.email = validate::normalise_email(email);
            }
            let problems = clashes(conn, &student, Some(id))?;
            if let Some(conflict) = clash_conflict(&problems) {
                return Err(conflict);
            }
            let changes = StudentChanges {
                student_number: patch.student_number.map(|_| student.student_number.clone()),
                name: patch.name.map(|v| v.trim().to_owned()),
                email: patch.email.map(|_| student.email.clone()),
                program_id,
                cohort_year: patch.cohort_year,
                score: patch.score,
                updated_at: Some(Timestamp::now()),
            };
            dispatch!(conn, |c| {
                diesel::update(students::table.find(id))
                    .set(&changes)
                    .execute(c)?;
                if let Some(email) = &changes.email {
                    diesel::update(users::table.filter(users::student_id.eq(id)))
                        .set(users::email.eq(email))
                        .execute(c)?;
                }
                Ok::<(), diesel::result::Error>(())
            })?;
            let student = lookup::student(conn, id)?;
            view_of(conn, student)
        })
        .await?;
    Ok(web::Json(view))
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
            if let ApiError::Validation { errors: fields, .. } = ApiError::from(invalid) {
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
    caller.university_scope()?;
    let content_type = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with("text/csv") {
        return Err(ApiError::BadRequest("the body must be text/csv".into()));
    }
    let text = body.strip_prefix("\u{feff}".as_bytes()).unwrap_or(&body);
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text);
    let mut requests = Vec::new();
    let mut errors = Vec::new();
    for record in reader.deserialize::<ImportRow>() {
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
    let mut errors: Vec<FieldError> = errors.into_iter().flatten().collect();
    if requests.is_empty() && errors.is_empty() {
        return Err(ApiError::invalid("body", "the file has no rows"));
    }
    let mut rows = Vec::with_capacity(requests.len());
    let mut seen_emails = HashSet::new();
    let mut seen_numbers = HashSet::new();
    for (line, request) in requests {
        match university_for(&caller, request.university_id) {
            Ok(university) => {
                if !seen_emails.insert(validate::normalise_email(&request.email)) {
                    errors.push(FieldError::new(
                        format!("row {line}: email"),
                        "appears twice in the file",
                    ));
                }
                if !seen_numbers.insert((university, request.student_number.clone())) {
                    errors.push(FieldError::new(
                        format!("row {line}: student_number"),
                        "appears twice in the file",
                    ));
                }
                rows.push((line, university, request));
            }
            Err(refusal) => {
                let e = refusal.field_error();
                errors.push(FieldError::new(
                    format!("row {line}: {}", e.field),
                    e.message,
                ))
            }
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid_fields(errors));
    }
    let passwords: Vec<(String, Option<String>)> = rows
        .iter()
        .map(|(_, _, r)| choose_password(r.password.as_deref()))
        .collect();
    let hashes = password::bounded(move || hash_all(passwords))
        .await?
        .map_err(ApiError::Internal)?;
    let config = state.config.clone();
    let result = state
        .db
        .write(move |conn| {
            let mut programs_by_code: HashMap<String, Option<Program>> = HashMap::new();
            let mut universities: HashMap<UniversityId, bool> = HashMap::new();
            let mut errors = Vec::new();
            let mut enrolments = Vec::with_capacity(rows.len());
            for ((line, university, request), (hash, generated)) in rows.into_iter().zip(hashes) {
                let known_university = match universities.get(&university) {
                    Some(known) => *known,
                    None => {
                        let known = lookup::university(conn, university)?.is_some();
                        universities.insert(university, known);
                        known
                    }
                };
                if !known_university {
                    errors.push(FieldError::new(
                        format!("row {line}: university_id"),
                        "no such university",
                    ));
                    continue;
                }
                let code = request.program_code.clone();
                if !programs_by_code.contains_key(&code) {
                    let found = lookup::program_by_ref(conn, &code)?;
                    programs_by_code.insert(code.clone(), found);
                }
                let Some(Some(program)) = programs_by_code.get(&code) else {
                    errors.push(FieldError::new(
                        format!("row {line}: program_code"),
                        format!("unknown program `{code}`"),
                    ));
                    continue;
                };
                let enrolment = enrol(request, university, program, hash, generated);
                for (_, clash) in clashes(conn, &enrolment.student, None)? {
                    errors.push(FieldError::new(
                        format!("row {line}: {}", clash.field),
                        clash.message,
                    ));
                }
                enrolments.push(enrolment);
            }
            if !errors.is_empty() {
                return Err(DomainError::invalid_fields(errors));
            }
            insert_enrolments(conn, &enrolments)?;
            invite_without_password(conn, &config, &enrolments)?;
            let students = enrolments
                .into_iter()
                .map(|e| {
                    let mut view = StudentView::new(e.student, e.program_code);
                    view.initial_password = e.generated_password;
                    view
                })
                .collect::<Vec<_>>();
            Ok(ImportResult {
                created: students.len(),
                students,
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(result))
}

/// Hashes passwords on every core; returns each hash with the generated text, if any.
fn hash_all(
    passwords: Vec<(String, Option<String>)>,
) -> anyhow::Result<Vec<(String, Option<String>)>> {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let chunk_size = passwords.len().div_ceil(workers).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = passwords
            .chunks(chunk_size)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|(text, generated)| {
                            password::hash(text).map(|hash| (hash, generated.clone()))
                        })
                        .collect::<anyhow::Result<Vec<_>>>()
                })
            })
            .collect();
        let mut all = Vec::with_capacity(passwords.len());
        for handle in handles {
            let part = handle
                .join()
                .map_err(|_| anyhow::anyhow!("a password hashing thread panicked"))??;
            all.extend(part);
        }
        Ok(all)
    })
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
    caller.university_scope()?;
    let id = id.into_inner();
    let config = state.config.clone();
    state
        .db
        .write(move |conn| {
            let student = visible_student(conn, &caller, id)?;
            let user: UserId = dispatch!(conn, |c| users::table
                .filter(users::student_id.eq(student.id))
                .select(users::id)
                .first(c))?;
            invitations::send_link(conn, &config, user, Purpose::Invitation)
        })
        .await?;
    Ok(HttpResponse::Accepted().finish())
}
