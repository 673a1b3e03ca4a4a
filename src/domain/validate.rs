//! Field rules shared by the request bodies.

use serde::{Deserialize, Deserializer};
use std::borrow::Cow;
use unicode_normalization::UnicodeNormalization;
use validator::ValidationError;

fn failure(code: &'static str, message: &'static str) -> ValidationError {
    ValidationError::new(code).with_message(Cow::Borrowed(message))
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

/// Free text as placemat stores it: trimmed and in Unicode NFC, so that the same name typed
/// on two keyboards compares equal.
pub fn normalise(value: &str) -> String {
    value.trim().nfc().collect()
}

/// Deserialises free text, normalised (see [`normalise`]).
pub fn normalised<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    String::deserialize(deserializer).map(|value| normalise(&value))
}

/// Deserialises optional free text, normalised.
pub fn normalised_option<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    Option::<String>::deserialize(deserializer).map(|value| value.map(|v| normalise(&v)))
}

/// Deserialises free text of a change that may be absent (leave unchanged), `null` (clear)
/// or a value, normalised.
pub fn normalised_change<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<String>>, D::Error> {
    normalised_option(deserializer).map(Some)
}

/// Deserialises a whole number, also when JSON writes it with a zero fraction (`6.0`).
pub fn whole<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64>,
{
    whole_of::<D, T>(serde_json::Number::deserialize(deserializer)?)
}

/// Deserialises an optional whole number (see [`whole`]).
pub fn whole_option<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64>,
{
    Option::<serde_json::Number>::deserialize(deserializer)?
        .map(whole_of::<D, T>)
        .transpose()
}

fn whole_of<'de, D, T>(number: serde_json::Number) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64>,
{
    use serde::de::Error;
    // 2^53: past it a float no longer tells whole numbers apart.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    let value = number
        .as_i64()
        .or_else(|| {
            number
                .as_f64()
                .filter(|value| value.fract() == 0.0 && value.abs() <= EXACT)
                .map(|value| value as i64)
        })
        .ok_or_else(|| D::Error::custom(format!("{number} is not a whole number in range")))?;
    T::try_from(value).map_err(|_| D::Error::custom(format!("{value} is out of range")))
}

/// Single-line free text (names, cities, titles): no control characters, no bidirectional
/// overrides or isolates (they can make a name read differently from what it is), and at
/// least one visible character.
pub fn text(value: &str) -> Result<(), ValidationError> {
    check_text(value, false)
}

/// Multi-line free text (reasons, notes): as [`text`], but line breaks are allowed.
pub fn multi_line_text(value: &str) -> Result<(), ValidationError> {
    check_text(value, true)
}

fn check_text(value: &str, multi_line: bool) -> Result<(), ValidationError> {
    for ch in value.chars() {
        if ch.is_control() && !(multi_line && (ch == '\n' || ch == '\r')) {
            return Err(failure(
                "control_character",
                if multi_line {
                    "must not contain control characters other than line breaks"
                } else {
                    "must not contain control characters or line breaks"
                },
            ));
        }
        if is_bidi_control(ch) {
            return Err(failure(
                "bidi_control",
                "must not contain bidirectional overrides or isolates",
            ));
        }
    }
    if !value.chars().any(is_visible) {
        return Err(failure("blank", "must have a visible character"));
    }
    Ok(())
}

/// Embeddings, overrides (U+202A–U+202E) and isolates (U+2066–U+2069).
fn is_bidi_control(ch: char) -> bool {
    matches!(ch, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Whether a character shows: not a space, not a control, and not one of the characters
/// that render as nothing (zero-width spaces and joiners, marks, fillers, variation
/// selectors).
fn is_visible(ch: char) -> bool {
    !(ch.is_whitespace()
        || ch.is_control()
        || matches!(
            ch,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{E0000}'..='\u{E007F}'
        ))
}

/// The escape character of [`contains_pattern`].
pub const LIKE_ESCAPE: char = '\\';

/// A `LIKE` pattern matching text that contains `query` literally: `%`, `_` and the escape
/// character itself are escaped, so a search for `50%` finds "50%" and not everything.
pub fn contains_pattern(query: &str) -> String {
    let mut pattern = String::with_capacity(query.len() + 2);
    pattern.push('%');
    for ch in query.trim().chars() {
        if matches!(ch, '%' | '_' | LIKE_ESCAPE) {
            pattern.push(LIKE_ESCAPE);
        }
        pattern.push(ch);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_names_in_any_script_pass() {
        for name in [
            "欧阳娜娜",
            "José Ñúñez",
            "Zoë O'Brien-Smith",
            "محمد",
            "Nguyễn Thị Minh Khai",
            "Ана-Мария",
            "李 👩‍🔬",
        ] {
            assert!(text(&normalise(name)).is_ok(), "{name}");
        }
    }

    #[test]
    fn controls_overrides_and_invisible_text_are_refused() {
        for bad in [
            "a\u{0}b",
            "bell\u{7}",
            "esc\u{1b}[31m",
            "line\nbreak",
            "c1\u{85}",
            "evil\u{202E}gpj.exe",
            "iso\u{2067}late",
            "\u{200B}\u{200B}",
            "\u{3164}",
            "",
        ] {
            assert!(text(bad).is_err(), "{bad:?}");
        }
        assert!(multi_line_text("first line\nsecond line").is_ok());
        assert!(multi_line_text("tab\there").is_err());
    }

    #[test]
    fn text_is_trimmed_and_composed() {
        assert_eq!(normalise("  Zoe\u{0308} "), "Zoë");
    }

    #[test]
    fn like_patterns_are_literal() {
        assert_eq!(contains_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }
}
