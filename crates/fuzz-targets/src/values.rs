//! DynamoDB JSON (the form of every image and key in the change log) into items.

use rewind_format::{encode_key, item_from_json, item_to_json};

/// Text that parses as a DynamoDB JSON item must re-encode canonically to text that parses
/// again, and the canonical text must be a fixed point (sets compare as sets: canonical text
/// sorts their members): a restore writes what capture stored, so an encoding that drifts
/// would change items on their way through the log.
pub fn dynamodb_json(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(item) = item_from_json(text) else {
        return;
    };
    let canonical = item_to_json(&item);
    let again = item_from_json(&canonical)
        .unwrap_or_else(|e| panic!("canonical text {canonical} does not parse: {e}"));
    assert_eq!(
        again.len(),
        item.len(),
        "canonical text {canonical} lost attributes"
    );
    assert_eq!(
        item_to_json(&again),
        canonical,
        "canonical text is not a fixed point"
    );
    // Any attribute set may be offered as a key (the API's `?key=`): an error, never a panic.
    let _ = encode_key(&item);
}
