//! The HMAC key of masked copies, as a server holds it: read once at start from
//! `REWIND_MASK_KEY`, or from Secrets Manager when `REWIND_MASK_KEY_SECRET` names a secret (the
//! way to keep it out of a Lambda's or a task's plain configuration). Never logged, never
//! stored with a copy.

use rewind_replay::copy_spec::MASK_KEY_ENV;

/// The variable naming the Secrets Manager secret (ARN or name) that holds the key.
pub const MASK_KEY_SECRET_ENV: &str = "REWIND_MASK_KEY_SECRET";

/// The key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum MaskKeyError {
    /// Both sources are set: which one masks is not for rewind to guess.
    #[error("both {MASK_KEY_ENV} and {MASK_KEY_SECRET_ENV} are set; set one")]
    Ambiguous,
    /// Secrets Manager did not give the secret.
    #[error("{MASK_KEY_SECRET_ENV}={secret}: GetSecretValue: {message}")]
    Secret {
        /// The secret as named.
        secret: String,
        /// What Secrets Manager said.
        message: String,
    },
    /// The secret holds no value.
    #[error("{MASK_KEY_SECRET_ENV}={secret}: the secret has neither a string nor a binary value")]
    Empty {
        /// The secret as named.
        secret: String,
    },
}

/// The key, or none (then `hmac` masks are refused with a message saying how to set one).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct MaskKey(Option<Vec<u8>>);

impl std::fmt::Debug for MaskKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(key) => write!(f, "MaskKey({} bytes)", key.len()),
            None => f.write_str("MaskKey(none)"),
        }
    }
}

impl MaskKey {
    /// A key given directly.
    pub fn new(key: Option<Vec<u8>>) -> Self {
        MaskKey(key)
    }

    /// The key's bytes, for [`rewind_replay::copy_spec::CopySpec::from_options_with_key`].
    pub fn bytes(&self) -> Option<Vec<u8>> {
        self.0.clone()
    }

    /// Reads the key from `var` (the process environment in the binaries): `REWIND_MASK_KEY`
    /// as is, or the secret `REWIND_MASK_KEY_SECRET` names (its string, else its binary
    /// value) through `secrets`.
    pub async fn load(
        var: impl Fn(&str) -> Option<String>,
        secrets: &aws_sdk_secretsmanager::Client,
    ) -> Result<Self, MaskKeyError> {
        let direct = var(MASK_KEY_ENV).filter(|v| !v.is_empty());
        let secret = var(MASK_KEY_SECRET_ENV).filter(|v| !v.is_empty());
        match (direct, secret) {
            (Some(_), Some(_)) => Err(MaskKeyError::Ambiguous),
            (Some(key), None) => Ok(MaskKey(Some(key.into_bytes()))),
            (None, None) => Ok(MaskKey(None)),
            (None, Some(secret)) => {
                let out = secrets
                    .get_secret_value()
                    .secret_id(&secret)
                    .send()
                    .await
                    .map_err(|e| MaskKeyError::Secret {
                        secret: secret.clone(),
                        message: rewind_aws::classify(&e).message,
                    })?;
                let key = match (out.secret_string, out.secret_binary) {
                    (Some(s), _) if !s.is_empty() => s.into_bytes(),
                    (_, Some(b)) if !b.as_ref().is_empty() => b.into_inner(),
                    _ => return Err(MaskKeyError::Empty { secret }),
                };
                tracing::info!(%secret, bytes = key.len(), "mask key read from Secrets Manager");
                Ok(MaskKey(Some(key)))
            }
        }
    }

    /// [`MaskKey::load`] on the process environment.
    pub async fn from_env(secrets: &aws_sdk_secretsmanager::Client) -> Result<Self, MaskKeyError> {
        Self::load(|name| std::env::var(name).ok(), secrets).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_never_printed() {
        let key = MaskKey::new(Some(b"a-very-secret-key-value".to_vec()));
        assert_eq!(format!("{key:?}"), "MaskKey(23 bytes)");
        assert_eq!(format!("{:?}", MaskKey::default()), "MaskKey(none)");
    }
}
