//! The dev/test copy flags `restore` and `verify` share, so a copy is verified with exactly the
//! options it was made with.

use rewind_replay::copy_spec::CopySpec;

/// `--key-filter` and `--mask`.
#[derive(Debug, Clone, clap::Args)]
pub struct CopyArgs {
    /// A copy of some keys only: prefix:TEXT (partition keys starting with TEXT), file:PATH
    /// (one DynamoDB JSON key per line), or a DynamoDB JSON key or array of keys. With
    /// --into-existing, only those keys of the target are touched.
    #[arg(long, value_name = "SPEC")]
    key_filter: Option<String>,
    /// Mask an attribute of the copy: ATTR=hmac (keyed HMAC, key in $REWIND_MASK_KEY), ATTR=drop
    /// or ATTR=fixed:VALUE. Repeatable. Key attributes of the table or an index are refused.
    #[arg(long, value_name = "ATTR=ACTION")]
    mask: Vec<String>,
}

impl CopyArgs {
    /// The copy these flags ask for; the HMAC key comes from the environment.
    pub fn spec(&self) -> anyhow::Result<CopySpec> {
        Ok(CopySpec::from_options(
            self.key_filter.as_deref(),
            &self.mask,
        )?)
    }
}
