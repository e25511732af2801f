//! Field-level validation errors, collected so one response can name every
//! field that is wrong, not just the first.

use std::fmt;

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Dotted path of the field in the request, e.g. `rules[2].start_time`.
    pub field: String,
    /// Why the value was refused, in words a client developer can act on.
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { field: field.into(), reason: reason.into() }
    }
}

/// One or more fields were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Invalid(pub Vec<FieldError>);

impl Invalid {
    pub fn field(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self(vec![FieldError::new(field, reason)])
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|e| format!("{}: {}", e.field, e.reason)).collect();
        f.write_str(&parts.join("; "))
    }
}

/// Parses several fields, remembering every failure.
///
/// ```
/// # use circles_domain::validation::Validator;
/// # use circles_domain::input::{Email, PersonName};
/// let mut v = Validator::default();
/// let email = v.check("email", Email::parse("ada@example.org"));
/// let name = v.check("name", PersonName::parse("Ada"));
/// let parsed = v.done(|| Some((email?, name?))).unwrap();
/// assert_eq!(parsed.0.as_str(), "ada@example.org");
/// ```
#[derive(Debug, Default)]
pub struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    pub fn check<T, E: fmt::Display>(&mut self, field: &str, parsed: Result<T, E>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(reason) => {
                self.errors.push(FieldError::new(field, reason.to_string()));
                None
            }
        }
    }

    /// Like [`Validator::check`] for an optional field: absent stays absent.
    pub fn check_opt<T, E: fmt::Display>(&mut self, field: &str, parsed: Option<Result<T, E>>) -> Option<Option<T>> {
        match parsed {
            None => Some(None),
            Some(result) => self.check(field, result).map(Some),
        }
    }

    pub fn reject(&mut self, field: &str, reason: impl Into<String>) {
        self.errors.push(FieldError::new(field, reason));
    }

    /// Merges errors found by a nested validation, prefixing their paths.
    pub fn absorb(&mut self, prefix: &str, invalid: Invalid) {
        for e in invalid.0 {
            let field = if e.field.is_empty() { prefix.to_owned() } else { format!("{prefix}.{}", e.field) };
            self.errors.push(FieldError { field, reason: e.reason });
        }
    }

    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }

    /// Builds the value when every check passed. `build` receives no errors,
    /// so every `Option` it unwraps with `?` is present.
    pub fn done<T>(self, build: impl FnOnce() -> Option<T>) -> Result<T, Invalid> {
        if !self.errors.is_empty() {
            return Err(Invalid(self.errors));
        }
        build().ok_or_else(|| Invalid::field("", "internal validation error"))
    }
}
