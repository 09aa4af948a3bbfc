//! Checks of text fields that people type.

use crate::error::FieldError;

/// Maximum length of a name, title, region or profession, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Maximum length of a description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 4000;

/// Collects field errors so that a request gets all of them at once.
#[derive(Debug, Default)]
pub(crate) struct Checks(pub Vec<FieldError>);

impl Checks {
    pub fn fail(&mut self, field: &str, code: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, code, message));
    }

    /// Adds a problem whose message names values, such as a limit.
    pub fn push(&mut self, error: FieldError) {
        self.0.push(error);
    }

    /// Trims `value` and checks it has 1 to `max` characters and nothing invisible.
    pub fn text(&mut self, field: &str, value: &str, max: usize) -> String {
        let value = value.trim();
        let length = value.chars().count();
        if length == 0 {
            self.fail(field, "required", "must not be empty");
        } else if length > max {
            let message = format!("must have at most {max} characters");
            self.push(FieldError::new(field, "too_long", message).with("max", max));
        } else if !is_display_text(value) {
            self.fail(
                field,
                "invisible_characters",
                "must not contain control or invisible formatting characters",
            );
        }
        value.to_owned()
    }

    /// Like [`Checks::text`], but an empty or missing value is `None`.
    pub fn optional_text(
        &mut self,
        field: &str,
        value: Option<&str>,
        max: usize,
    ) -> Option<String> {
        let value = value.map(str::trim).filter(|v| !v.is_empty())?;
        Some(self.text(field, value, max))
    }

    /// Like [`Checks::text`], but a newline and tab are allowed and an empty value too.
    pub fn long_text(&mut self, field: &str, value: &str, max: usize) -> String {
        let value = value.trim();
        if value.chars().count() > max {
            let message = format!("must have at most {max} characters");
            self.push(FieldError::new(field, "too_long", message).with("max", max));
        }
        let visible = value.replace(['\n', '\t'], " ").replace('\r', "");
        if !is_display_text(&visible) {
            self.fail(
                field,
                "invisible_characters",
                "must not contain control or invisible formatting characters",
            );
        }
        value.to_owned()
    }

    pub fn finish(self) -> Result<(), crate::Error> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(crate::Error::Invalid(self.0))
        }
    }
}

/// Returns whether `text` has no control characters and no invisible formatting characters
/// (zero-width spaces and joiners, bidirectional overrides and isolates, the byte order
/// mark), with which one name could pass for another or look blank.
pub fn is_display_text(text: &str) -> bool {
    !text.chars().any(|c| {
        c.is_control()
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_counted_in_characters() {
        let mut checks = Checks::default();
        let name = "Ж".repeat(MAX_NAME_CHARS);
        assert_eq!(
            checks.text("name", &format!(" {name} "), MAX_NAME_CHARS),
            name
        );
        assert!(checks.0.is_empty());
        checks.text("name", &format!("{name}Ж"), MAX_NAME_CHARS);
        assert_eq!(checks.0.len(), 1);
    }

    #[test]
    fn text_rejects_blank_and_invisible() {
        for value in ["", "  ", "a\u{202E}b", "a\u{0}b", "a\nb"] {
            let mut checks = Checks::default();
            checks.text("name", value, MAX_NAME_CHARS);
            assert_eq!(checks.0.len(), 1, "{value:?}");
        }
    }
}
