//! Finding referenced records by id or code, with answers that name what is missing.

use crate::db::models::{Base, Cycle, Program, Student, University};
use crate::db::schema::{bases, cycles, programs, students, universities};
use crate::db::DbConn;
use crate::dispatch;
use crate::domain::DomainError;
use crate::domain::*;
use diesel::prelude::*;
use uuid::Uuid;

/// A program by id or by code (`0854`).
pub fn program_by_ref(conn: &mut DbConn, reference: &str) -> Result<Option<Program>, DomainError> {
    let found = match Uuid::parse_str(reference) {
        Ok(id) => dispatch!(conn, |c| programs::table
            .find(ProgramId(id))
            .select(Program::as_select())
            .first(c)
            .optional())?,
        Err(_) => dispatch!(conn, |c| programs::table
            .filter(programs::code.eq(reference))
            .select(Program::as_select())
            .first(c)
            .optional())?,
    };
    Ok(found)
}

/// A university by id or by code (`USST`).
pub fn university_by_ref(
    conn: &mut DbConn,
    reference: &str,
) -> Result<Option<University>, DomainError> {
    let found = match Uuid::parse_str(reference) {
        Ok(id) => dispatch!(conn, |c| universities::table
            .find(UniversityId(id))
            .select(University::as_select())
            .first(c)
            .optional())?,
        Err(_) => dispatch!(conn, |c| universities::table
            .filter(universities::code.eq(reference))
            .select(University::as_select())
            .first(c)
            .optional())?,
    };
    Ok(found)
}

/// Every member university's id, by its code.
pub fn university_codes(
    conn: &mut DbConn,
) -> Result<std::collections::HashMap<String, UniversityId>, DomainError> {
    let rows: Vec<(String, UniversityId)> = dispatch!(conn, |c| universities::table
        .select((universities::code, universities::id))
        .load(c))?;
    Ok(rows.into_iter().collect())
}

pub fn university(conn: &mut DbConn, id: UniversityId) -> Result<Option<University>, DomainError> {
    Ok(dispatch!(conn, |c| universities::table
        .find(id)
        .select(University::as_select())
        .first(c)
        .optional())?)
}

pub fn base(conn: &mut DbConn, id: BaseId) -> Result<Base, DomainError> {
    dispatch!(conn, |c| bases::table
        .find(id)
        .select(Base::as_select())
        .first(c)
        .optional())?
    .ok_or_else(|| DomainError::not_found("base"))
}

pub fn cycle(conn: &mut DbConn, id: CycleId) -> Result<Cycle, DomainError> {
    dispatch!(conn, |c| cycles::table
        .find(id)
        .select(Cycle::as_select())
        .first(c)
        .optional())?
    .ok_or_else(|| DomainError::not_found("cycle"))
}

pub fn student(conn: &mut DbConn, id: StudentId) -> Result<Student, DomainError> {
    dispatch!(conn, |c| students::table
        .find(id)
        .select(Student::as_select())
        .first(c)
        .optional())?
    .ok_or_else(|| DomainError::not_found("student"))
}

/// The program codes of each of the given bases.
pub fn program_codes_of_bases(
    conn: &mut DbConn,
    base_ids: &[BaseId],
) -> Result<std::collections::HashMap<BaseId, Vec<String>>, DomainError> {
    use crate::db::schema::base_programs;
    let pairs: Vec<(BaseId, String)> = dispatch!(conn, |c| base_programs::table
        .inner_join(programs::table)
        .filter(base_programs::base_id.eq_any(base_ids))
        .select((base_programs::base_id, programs::code))
        .order(programs::code)
        .load(c))?;
    let mut codes: std::collections::HashMap<BaseId, Vec<String>> =
        std::collections::HashMap::new();
    for (base_id, code) in pairs {
        codes.entry(base_id).or_default().push(code);
    }
    Ok(codes)
}
