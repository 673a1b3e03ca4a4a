//! Students and their logins: adding one, changing one, importing a class, always within
//! the caller's university.

use crate::auth::{password, Caller};
use crate::config::Config;
use crate::db::lookup;
use crate::db::models::{Program, Student, StudentChanges, User};
use crate::db::schema::{programs, students, users};
use crate::db::{Database, DbConn};
use crate::dispatch;
use crate::domain::validate;
use crate::domain::*;
use crate::services::invitations::{self, Purpose};
use diesel::prelude::*;
use std::collections::{HashMap, HashSet};

/// The search of the students' lists, for the API and the officer's page alike: the text,
/// trimmed and lowercased, as a pattern that a name, a student number or an email
/// contains; none for an empty search.
pub fn search_pattern(text: Option<&str>) -> Option<String> {
    text.map(str::trim)
        .filter(|text| !text.is_empty())
        .map(|text| crate::domain::validate::contains_pattern(&text.to_lowercase()))
}

/// Narrows a query of students to those whose name, student number or email contains the
/// [`search_pattern`], whatever else the query joins.
macro_rules! matching_search {
    ($query:expr, $pattern:expr) => {{
        use $crate::db::lower;
        use $crate::db::schema::students;
        use $crate::domain::validate::LIKE_ESCAPE;
        let pattern: &String = $pattern;
        $query.filter(
            lower(students::name)
                .like(pattern.clone())
                .escape(LIKE_ESCAPE)
                .or(lower(students::student_number)
                    .like(pattern.clone())
                    .escape(LIKE_ESCAPE))
                .or(lower(students::email)
                    .like(pattern.clone())
                    .escape(LIKE_ESCAPE)),
        )
    }};
}
pub(crate) use matching_search;

/// The most rows one import takes: a class of a few thousand fits many times over, and a
/// larger file is refused before any row is checked.
pub const MAX_IMPORT_ROWS: usize = 10_000;

/// A student to add, its fields already checked one by one.
#[derive(Debug, Clone)]
pub struct NewStudent {
    /// Defaults to the university of a university admin.
    pub university_id: Option<UniversityId>,
    pub student_number: String,
    pub name: String,
    pub email: String,
    /// Program code or id.
    pub program_code: String,
    pub cohort_year: i32,
    pub score: Option<f64>,
    pub password: Option<String>,
}

/// What changes in a student; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct StudentEdit {
    pub student_number: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub program_code: Option<String>,
    pub cohort_year: Option<i32>,
    /// `Some(None)` clears the score.
    pub score: Option<Option<f64>>,
}

/// An import file as read: the rows that parsed, each with its line, and the faults of the
/// rows that did not.
#[derive(Debug, Default)]
pub struct ImportFile {
    pub rows: Vec<(u64, NewStudent)>,
    pub faulty_rows: Vec<Vec<FieldError>>,
}

/// A student as stored, with its program's code.
#[derive(Debug)]
pub struct StudentRecord {
    pub student: Student,
    pub program_code: String,
    /// Only when placemat generated the password: handed back once, at creation.
    pub initial_password: Option<String>,
}

/// A student ready to insert, with its login.
struct Enrolment {
    student: Student,
    user: User,
    program_code: String,
    generated_password: Option<String>,
}

impl Enrolment {
    /// A student without a password of its own chooses one through an invitation.
    fn needs_invitation(&self) -> bool {
        self.generated_password.is_some() || self.user.password_hash.is_none()
    }

    fn into_record(self) -> StudentRecord {
        StudentRecord {
            student: self.student,
            program_code: self.program_code,
            initial_password: self.generated_password,
        }
    }
}

/// Adds a student and its login. Without a password one is generated and handed back once,
/// and the student is invited to choose its own.
pub async fn create(
    db: &Database,
    config: &Config,
    caller: &Caller,
    request: NewStudent,
) -> Result<StudentRecord, DomainError> {
    caller.scope()?.managed_students(None)?;
    let university_id = university_for(caller, request.university_id).map_err(|r| r.error())?;
    let (password_text, generated) = match request.password.as_deref() {
        Some(text) => (text.to_owned(), None),
        None => {
            let generated = password::generate();
            (generated.clone(), Some(generated))
        }
    };
    let password_hash = password::bounded(move |hasher| hasher.hash(&password_text))
        .await?
        .map_err(DomainError::internal)?;
    let config = config.clone();
    db.write(move |conn| {
        if lookup::university(conn, university_id)?.is_none() {
            return Err(DomainError::invalid("university_id", "no such university"));
        }
        let program = program_of(conn, &request.program_code, "program_code")?;
        let enrolment = enrol(
            request,
            university_id,
            &program,
            Some(password_hash),
            generated,
        );
        let problems = clashes(conn, &enrolment.student, None)?;
        if let Some(conflict) = clash_conflict(&problems) {
            return Err(conflict);
        }
        insert_enrolments(conn, std::slice::from_ref(&enrolment))?;
        invite_without_password(conn, &config, std::slice::from_ref(&enrolment))?;
        Ok(enrolment.into_record())
    })
    .await
}

/// Changes a student the caller manages; a new email moves its login too.
pub async fn update(
    db: &Database,
    caller: &Caller,
    id: StudentId,
    edit: StudentEdit,
) -> Result<StudentRecord, DomainError> {
    caller.scope()?.managed_students(None)?;
    let caller = caller.clone();
    db.write(move |conn| {
        let mut student = visible_student(conn, &caller, id)?;
        if edit.score.is_some() {
            // The score orders unranked applicants: every unpublished cycle the student
            // applied to has new inputs.
            crate::services::inputs::touch_applied(conn, id)?;
        }
        let program_id = match &edit.program_code {
            Some(reference) => Some(program_of(conn, reference, "program_code")?.id),
            None => None,
        };
        if let Some(number) = &edit.student_number {
            student.student_number = number.trim().to_owned();
        }
        if let Some(email) = &edit.email {
            student.email = validate::normalise_email(email);
        }
        let problems = clashes(conn, &student, Some(id))?;
        if let Some(conflict) = clash_conflict(&problems) {
            return Err(conflict);
        }
        let changes = StudentChanges {
            student_number: edit.student_number.map(|_| student.student_number.clone()),
            name: edit.name.map(|v| v.trim().to_owned()),
            email: edit.email.map(|_| student.email.clone()),
            program_id,
            cohort_year: edit.cohort_year,
            score: edit.score,
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
        record_of(conn, student)
    })
    .await
}

/// Imports a class: every row or none, each fault named by its row. Rows without a password
/// get no hash: their students sign in once they have chosen one through the invitation
/// each is sent. Rows with a password are hashed one after another in a single turn of the
/// bounded hashing pool, so an import never holds more than one hashing slot.
pub async fn import(
    db: &Database,
    config: &Config,
    caller: &Caller,
    file: ImportFile,
) -> Result<Vec<StudentRecord>, DomainError> {
    caller.scope()?.managed_students(None)?;
    let ImportFile { rows, faulty_rows } = file;
    if rows.len() + faulty_rows.len() > MAX_IMPORT_ROWS {
        return Err(DomainError::invalid(
            "body",
            format!("an import takes at most {MAX_IMPORT_ROWS} rows"),
        ));
    }
    let mut errors: Vec<FieldError> = faulty_rows.into_iter().flatten().collect();
    if rows.is_empty() && errors.is_empty() {
        return Err(DomainError::invalid("body", "the file has no rows"));
    }
    let mut accepted = Vec::with_capacity(rows.len());
    let mut seen_emails = HashSet::new();
    let mut seen_numbers = HashSet::new();
    for (line, request) in rows {
        match university_for(caller, request.university_id) {
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
                accepted.push((line, university, request));
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
        return Err(DomainError::invalid_fields(errors));
    }
    let given: Vec<Option<String>> = accepted
        .iter_mut()
        .map(|(_, _, request)| request.password.take())
        .collect();
    let hashes = if given.iter().any(Option::is_some) {
        password::bounded(move |hasher| {
            given
                .iter()
                .map(|text| text.as_deref().map(|text| hasher.hash(text)).transpose())
                .collect::<anyhow::Result<Vec<_>>>()
        })
        .await?
        .map_err(DomainError::internal)?
    } else {
        vec![None; given.len()]
    };
    let config = config.clone();
    db.write(move |conn| {
        let mut programs_by_code: HashMap<String, Option<Program>> = HashMap::new();
        let mut universities: HashMap<UniversityId, bool> = HashMap::new();
        let mut errors = Vec::new();
        let mut enrolments = Vec::with_capacity(accepted.len());
        for ((line, university, request), hash) in accepted.into_iter().zip(hashes) {
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
            let enrolment = enrol(request, university, program, hash, None);
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
        Ok(enrolments.into_iter().map(Enrolment::into_record).collect())
    })
    .await
}

/// Sends a student the caller manages a new invitation link to choose a password; earlier
/// links keep working until used or expired.
pub async fn resend_invitation(
    db: &Database,
    config: &Config,
    caller: &Caller,
    id: StudentId,
) -> Result<(), DomainError> {
    caller.scope()?.managed_students(None)?;
    let caller = caller.clone();
    let config = config.clone();
    db.write(move |conn| {
        let student = visible_student(conn, &caller, id)?;
        let user: UserId = dispatch!(conn, |c| users::table
            .filter(users::student_id.eq(student.id))
            .select(users::id)
            .first(c))?;
        invitations::send_link(conn, &config, user, Purpose::Invitation)
    })
    .await
}

/// Loads a student the caller may see: a university admin only its own students, a student
/// only itself; anyone else is told it does not exist.
pub fn visible_student(
    conn: &mut DbConn,
    caller: &Caller,
    id: StudentId,
) -> Result<Student, DomainError> {
    let student = lookup::student(conn, id)?;
    let visible = caller.scope()?.reaches(Concerning {
        student: id,
        university: student.university_id,
        base: None,
    });
    if visible {
        Ok(student)
    } else {
        Err(DomainError::not_found("student"))
    }
}

/// The student with its program's code.
pub fn record_of(conn: &mut DbConn, student: Student) -> Result<StudentRecord, DomainError> {
    let program_code: String = dispatch!(conn, |c| programs::table
        .find(student.program_id)
        .select(programs::code)
        .first(c))?;
    Ok(StudentRecord {
        student,
        program_code,
        initial_password: None,
    })
}

/// Decides the university a new student belongs to, within the caller's scope.
fn university_for(
    caller: &Caller,
    requested: Option<UniversityId>,
) -> Result<UniversityId, UniversityRefusal> {
    match (caller.scope(), requested) {
        (Ok(Scope::Alliance), Some(id)) => Ok(id),
        (Ok(Scope::Alliance), None) => Err(UniversityRefusal::Required),
        (Ok(Scope::University(own)), Some(id)) if id != own => Err(UniversityRefusal::OwnOnly),
        (Ok(Scope::University(own)), _) => Ok(own),
        _ => Err(UniversityRefusal::NotAllowed),
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

    fn error(self) -> DomainError {
        match self {
            UniversityRefusal::Required => DomainError::invalid_fields(vec![self.field_error()]),
            _ => DomainError::Forbidden(self.field_error().message),
        }
    }
}

/// Builds the rows for one new student and its login.
fn enrol(
    request: NewStudent,
    university_id: UniversityId,
    program: &Program,
    password_hash: Option<String>,
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
            role: Role::Student,
            university_id: Some(university_id),
            base_id: None,
            student_id: Some(id),
            created_at: now,
        },
        program_code: program.code.clone(),
        generated_password,
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

/// Students added without a password of their own are invited to choose one.
fn invite_without_password(
    conn: &mut DbConn,
    config: &Config,
    enrolments: &[Enrolment],
) -> Result<(), DomainError> {
    for enrolment in enrolments.iter().filter(|e| e.needs_invitation()) {
        invitations::send_link(conn, config, enrolment.user.id, Purpose::Invitation)?;
    }
    Ok(())
}

fn program_of(conn: &mut DbConn, reference: &str, field: &str) -> Result<Program, DomainError> {
    lookup::program_by_ref(conn, reference.trim())?
        .ok_or_else(|| DomainError::invalid(field, format!("unknown program `{reference}`")))
}
