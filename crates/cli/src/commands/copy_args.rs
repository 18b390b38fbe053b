//! The dev/test copy flags `restore` and `verify` share, so a copy is verified with exactly the
//! options it was made with.

use rewind_replay::copy_spec::{CopySpec, MASK_KEY_ENV};
use rewind_service::mask_key::{MaskKey, MASK_KEY_SECRET_ENV};

/// `--key-filter` and `--mask`.
#[derive(Debug, Clone, clap::Args)]
pub struct CopyArgs {
    /// A copy of some keys only: prefix:TEXT (partition keys starting with TEXT), file:PATH
    /// (one DynamoDB JSON key per line), or a DynamoDB JSON key or array of keys. With
    /// --into-existing, only those keys of the target are touched.
    #[arg(long, value_name = "SPEC")]
    key_filter: Option<String>,
    /// Mask an attribute of the copy: ATTR=hmac (keyed HMAC, key in $REWIND_MASK_KEY or
    /// the Secrets Manager secret $REWIND_MASK_KEY_SECRET names), ATTR=drop
    /// or ATTR=fixed:VALUE. Repeatable. Key attributes of the table or an index are refused.
    #[arg(long, value_name = "ATTR=ACTION")]
    mask: Vec<String>,
}

impl CopyArgs {
    /// The copy these flags ask for. The HMAC key is `$REWIND_MASK_KEY`, or the Secrets
    /// Manager secret `$REWIND_MASK_KEY_SECRET` names (read only when that is set).
    pub async fn spec(&self) -> anyhow::Result<CopySpec> {
        let key = if std::env::var_os(MASK_KEY_SECRET_ENV).is_some_and(|v| !v.is_empty()) {
            let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
            MaskKey::from_env(&aws_sdk_secretsmanager::Client::new(&sdk))
                .await?
                .bytes()
        } else {
            std::env::var_os(MASK_KEY_ENV).map(|k| k.into_encoded_bytes())
        };
        Ok(CopySpec::from_options_with_key(
            self.key_filter.as_deref(),
            &self.mask,
            key,
        )?)
    }
}
