//! What went wrong, in the domain's words: services and the database layer answer with a
//! [`DomainError`]; `api::problem` alone turns it into an HTTP answer.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde::Serialize;
use utoipa::ToSchema;

/// One field at fault in an input.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
    /// Which rule of a student's list the field breaks, for a client that words it itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<ListRule>,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
            rule: None,
        }
    }

    /// A field that breaks a named rule of a student's list.
    pub fn broke(field: impl Into<String>, rule: ListRule, message: impl Into<String>) -> Self {
        Self {
            rule: Some(rule),
            ..Self::new(field, message)
        }
    }
}

/// The rules a student's ranked list of bases must keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ListRule {
    /// The cycle's match is published: the first round is over.
    Published,
    /// The application window has not opened yet.
    NotOpenYet,
    /// The application window has closed.
    Closed,
    /// The list is empty or longer than the cycle allows.
    Length,
    /// The list names the base twice.
    Repeated,
    /// No such base.
    UnknownBase,
    /// The base is not taking interns.
    Inactive,
    /// The base has no seats in the cycle.
    NoSeats,
    /// The base does not accept the student's program.
    WrongProgram,
}

/// Each way a request can clash with the current state; a client tells them apart by kind,
/// never by the wording of the detail. `docs/problems.md` documents each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// The run was made before the cycle's inputs last changed.
    RunStale,
    /// The cycle's match is published; what was asked no longer changes it.
    CyclePublished,
    /// The second round opens when the cycle's match is published.
    SecondRoundNotOpen,
    /// What was asked exists once the cycle's match is published.
    NotPublished,
    /// The base has no free seat left for what was asked.
    NoFreeSeat,
    /// The base holds more live placements than the seats asked for.
    SeatsBelowTaken,
    /// The placement is not in a state that allows this move.
    PlacementState,
    /// The student already holds a placement in this cycle.
    AlreadyPlaced,
    /// The student already has a pending direct application to this base.
    DuplicateDirectApplication,
    /// The direct application was decided already.
    DirectApplicationDecided,
    /// Another account uses this email.
    EmailTaken,
    /// Another student of the university uses this student number.
    StudentNumberTaken,
    /// Another university uses this code.
    UniversityCodeTaken,
    /// Another program uses this code.
    ProgramCodeTaken,
    /// Another cycle uses this name.
    CycleNameTaken,
    /// Only a failed email is sent again.
    EmailNotFailed,
    /// A student with an offered or confirmed placement cannot be erased.
    PlacementLive,
    /// A record with the same identity exists.
    AlreadyExists,
    /// The change would break a rule the database keeps.
    DataRule,
    /// A concurrent change interfered; the same request may succeed when sent again.
    ConcurrentChange,
}

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The record does not exist, or is not the caller's to see.
    #[error("{0}")]
    NotFound(String),
    /// The caller sees the record but may not do this.
    #[error("{0}")]
    Forbidden(String),
    #[error("{1}")]
    Conflict(Conflict, String),
    /// A filter or parameter names a record that does not exist.
    #[error("{0}")]
    UnknownReference(String),
    #[error("{detail}")]
    Invalid {
        detail: String,
        errors: Vec<FieldError>,
    },
    #[error("the service is busy, try again shortly")]
    Unavailable(#[source] anyhow::Error),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl DomainError {
    pub fn not_found(what: &str) -> Self {
        DomainError::NotFound(format!("{what} not found"))
    }

    pub fn conflict(kind: Conflict, detail: impl Into<String>) -> Self {
        DomainError::Conflict(kind, detail.into())
    }

    /// A single field at fault.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::invalid_fields(vec![FieldError::new(field, message)])
    }

    /// A student's list that breaks one of its rules.
    pub fn broke(field: impl Into<String>, rule: ListRule, message: impl Into<String>) -> Self {
        Self::invalid_fields(vec![FieldError::broke(field, rule, message)])
    }

    /// Several fields at fault.
    pub fn invalid_fields(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [only] => format!("{}: {}", only.field, only.message),
            _ => format!("{} fields are invalid", errors.len()),
        };
        DomainError::Invalid { detail, errors }
    }

    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        DomainError::Internal(error.into())
    }
}

impl From<DieselError> for DomainError {
    fn from(error: DieselError) -> Self {
        match error {
            DieselError::NotFound => DomainError::NotFound("not found".into()),
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                DomainError::conflict(Conflict::AlreadyExists, "conflicts with an existing record")
            }
            DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => {
                DomainError::invalid("body", "refers to a record that does not exist")
            }
            DieselError::DatabaseError(DatabaseErrorKind::CheckViolation, _) => {
                DomainError::conflict(
                    Conflict::DataRule,
                    "the change would break a rule of the data",
                )
            }
            DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => {
                DomainError::conflict(
                    Conflict::ConcurrentChange,
                    "a concurrent change interfered, try again",
                )
            }
            DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                DomainError::Unavailable(anyhow::anyhow!(
                    "database connection closed: {}",
                    info.message()
                ))
            }
            other => DomainError::Internal(other.into()),
        }
    }
}

impl From<diesel::r2d2::PoolError> for DomainError {
    fn from(error: diesel::r2d2::PoolError) -> Self {
        DomainError::Unavailable(error.into())
    }
}

impl From<validator::ValidationErrors> for DomainError {
    fn from(errors: validator::ValidationErrors) -> Self {
        let mut fields = Vec::new();
        collect_validation_errors("", &errors, &mut fields);
        fields.sort_by(|a, b| a.field.cmp(&b.field));
        DomainError::invalid_fields(fields)
    }
}

fn collect_validation_errors(
    prefix: &str,
    errors: &validator::ValidationErrors,
    out: &mut Vec<FieldError>,
) {
    use validator::ValidationErrorsKind;
    for (field, kind) in errors.errors() {
        let path = if prefix.is_empty() {
            field.to_string()
        } else {
            format!("{prefix}.{field}")
        };
        match kind {
            ValidationErrorsKind::Field(list) => {
                for error in list {
                    let message = error
                        .message
                        .as_ref()
                        .map(|m| m.to_string())
                        .unwrap_or_else(|| format!("fails the rule `{}`", error.code));
                    out.push(FieldError::new(path.clone(), message));
                }
            }
            ValidationErrorsKind::Struct(inner) => collect_validation_errors(&path, inner, out),
            ValidationErrorsKind::List(items) => {
                for (index, inner) in items {
                    collect_validation_errors(&format!("{path}[{index}]"), inner, out);
                }
            }
        }
    }
}
