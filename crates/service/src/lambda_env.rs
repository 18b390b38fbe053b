//! What the service's two Lambdas (the API and the Step Functions worker) read from their
//! environment, and how they say what is missing: one error type, one way to require a
//! variable, so both name a missing setting the same way at cold start.

/// A Lambda's environment is incomplete or wrong.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A variable the Lambda needs is not set.
    #[error("{name} is not set: {hint}")]
    Missing {
        /// The variable.
        name: &'static str,
        /// What to set it to.
        hint: &'static str,
    },
    /// The masking key could not be read.
    #[error(transparent)]
    MaskKey(#[from] crate::mask_key::MaskKeyError),
    /// The store could not be opened.
    #[error("REWIND_STORE: {0}")]
    Store(#[from] rewind_store::StoreError),
}

/// The value of `name` from `var`, which must be set and not empty; `hint` says what to set it
/// to.
pub fn required(
    var: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    hint: &'static str,
) -> Result<String, ConfigError> {
    var(name)
        .filter(|v| !v.is_empty())
        .ok_or(ConfigError::Missing { name, hint })
}

/// The value of `name` from `var`, `None` when unset or empty.
pub fn optional(var: &impl Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    var(name).filter(|v| !v.is_empty())
}
