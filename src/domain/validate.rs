//! Field rules shared by the request bodies.

use std::borrow::Cow;
use validator::ValidationError;

fn failure(code: &'static str, message: &'static str) -> ValidationError {
    ValidationError::new(code).with_message(Cow::Borrowed(message))
}

/// Text that is not blank once trimmed.
pub fn not_blank(value: &str) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        return Err(failure("blank", "must not be blank"));
    }
    Ok(())
}

/// A short code of letters and digits, such as `USST` or `0854`.
pub fn code(value: &str) -> Result<(), ValidationError> {
    let ok = (2..=16).contains(&value.len())
        && value
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-');
    if !ok {
        return Err(failure("code", "must be 2 to 16 letters, digits or dashes"));
    }
    Ok(())
}

/// A student number: letters, digits and dashes.
pub fn student_number(value: &str) -> Result<(), ValidationError> {
    let ok = (1..=32).contains(&value.len())
        && value
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-');
    if !ok {
        return Err(failure(
            "student_number",
            "must be 1 to 32 letters, digits or dashes",
        ));
    }
    Ok(())
}

/// A password long enough to resist guessing.
pub fn password(value: &str) -> Result<(), ValidationError> {
    if value.chars().count() < 8 {
        return Err(failure("password", "must have at least 8 characters"));
    }
    Ok(())
}

/// Normalises an email address for storage and comparison.
pub fn normalise_email(value: &str) -> String {
    value.trim().to_lowercase()
}
