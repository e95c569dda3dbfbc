//! The text and number limits of RULES.md, in one place, and the serde readers that enforce
//! them while a scenario is read (so the error names the record path, e.g.
//! `students[3].first_name`).
//!
//! Lengths count Unicode scalar values (`char`s), not bytes: "é" is one character.

use serde::{Deserialize, Deserializer};

use super::DomainError;
pub use super::text::{EMAIL_MAX_CHARS, MESSAGE_MAX_CHARS, TITLE_MAX_CHARS};

/// Longest first or last name of a student or parent, in Unicode scalar values.
pub const NAME_MAX_CHARS: usize = 100;
/// Longest subject of a session or study plan, in Unicode scalar values.
pub const SUBJECT_MAX_CHARS: usize = 200;
/// Longest objective of a session or study plan, in Unicode scalar values.
pub const OBJECTIVE_MAX_CHARS: usize = 1000;

/// Refuses `value` when it holds more than `max` Unicode scalar values.
pub fn check_max_chars(value: &str, max: usize) -> Result<(), DomainError> {
    // `chars().count()` walks the whole text; stopping at max + 1 keeps a huge value cheap.
    if value.chars().take(max + 1).count() > max {
        return Err(DomainError::TooLong { max });
    }
    Ok(())
}

fn text_at_most<'de, D: Deserializer<'de>>(d: D, max: usize) -> Result<String, D::Error> {
    let value = String::deserialize(d)?;
    check_max_chars(&value, max).map_err(serde::de::Error::custom)?;
    Ok(value)
}

/// Reads a first or last name of at most [`NAME_MAX_CHARS`] characters.
pub(crate) fn name<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    text_at_most(d, NAME_MAX_CHARS)
}

/// Reads a subject of at most [`SUBJECT_MAX_CHARS`] characters.
pub(crate) fn subject<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    text_at_most(d, SUBJECT_MAX_CHARS)
}

/// Reads an objective of at most [`OBJECTIVE_MAX_CHARS`] characters.
pub(crate) fn objective<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    text_at_most(d, OBJECTIVE_MAX_CHARS)
}

/// Reads a duration in minutes, which must be a positive integer.
pub(crate) fn duration_minutes<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let minutes = u32::deserialize(d)?;
    if minutes == 0 {
        return Err(serde::de::Error::custom(DomainError::ZeroDuration));
    }
    Ok(minutes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_count_characters_not_bytes() {
        let hundred_accented = "é".repeat(NAME_MAX_CHARS);
        assert!(hundred_accented.len() > NAME_MAX_CHARS);
        assert_eq!(check_max_chars(&hundred_accented, NAME_MAX_CHARS), Ok(()));
        let one_more = "é".repeat(NAME_MAX_CHARS + 1);
        assert_eq!(
            check_max_chars(&one_more, NAME_MAX_CHARS),
            Err(DomainError::TooLong {
                max: NAME_MAX_CHARS
            })
        );
    }
}
