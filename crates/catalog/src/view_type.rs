//! Which stream view types capture accepts, and what it tells an operator about the others.

use crate::error::CatalogError;

/// What capture makes of a stream view type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewTypeVerdict {
    /// NEW_AND_OLD_IMAGES: everything, including continuity hashes and deleted items.
    Full,
    /// NEW_IMAGE: restorable, but deleted items' content and the continuity hash are lost.
    NewImageOnly,
}

/// Checks a view type; KEYS_ONLY and OLD_IMAGE cannot rebuild items and are refused.
pub fn check_view_type(table: &str, view_type: &str) -> Result<ViewTypeVerdict, CatalogError> {
    const FIX: &str = "enable NEW_AND_OLD_IMAGES: a stream's view type cannot be changed, so disable \
                       the stream and enable it again (aws dynamodb update-table --table-name <t> \
                       --stream-specification StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES), \
                       then take a full backup (rewind backup)";
    match view_type {
        "NEW_AND_OLD_IMAGES" => Ok(ViewTypeVerdict::Full),
        "NEW_IMAGE" => Ok(ViewTypeVerdict::NewImageOnly),
        other => Err(CatalogError::ViewType {
            table: table.to_string(),
            view_type: other.to_string(),
            advice: FIX,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts() {
        assert_eq!(
            check_view_type("t", "NEW_AND_OLD_IMAGES").unwrap(),
            ViewTypeVerdict::Full
        );
        assert_eq!(
            check_view_type("t", "NEW_IMAGE").unwrap(),
            ViewTypeVerdict::NewImageOnly
        );
        for bad in ["KEYS_ONLY", "OLD_IMAGE", ""] {
            let e = check_view_type("shop", bad).unwrap_err().to_string();
            assert!(
                e.contains("shop") && e.contains(bad) && e.contains("NEW_AND_OLD_IMAGES"),
                "{e}"
            );
        }
    }
}
