//! What operators type and callers send: the point in time, the target URL, the key, the key
//! filter and masks (the CLI's `--at`, `--to`, `--key`, `--key-filter`, `--mask`, `--store`,
//! `--table`; the API's `at`, `to`, `key_filter`, `mask` and `?key=`). The CLI and the API call
//! the same parsers, so one target covers both; the API's JSON bodies are taken apart the way
//! its handlers do.

use rewind_catalog::layout::validate_table;
use rewind_replay::copy_spec::CopySpec;
use rewind_replay::history::parse_key;
use rewind_replay::target::TargetUrl;
use rewind_replay::AtSpec;
use rewind_store::url::StoreUrl;
use serde_json::Value;

/// The input as lines (`at`, `to`, `key`, `key filter`, then masks), or as an API body.
/// What parses must print back to itself where rewind prints it (reports, job records, the
/// journal's identity of a target).
pub fn arguments(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(Value::Object(body)) = serde_json::from_str::<Value>(text) {
        let field = |name: &str| body.get(name).and_then(Value::as_str).unwrap_or("");
        let masks: Vec<String> = body
            .get("mask")
            .and_then(Value::as_array)
            .map(|m| {
                m.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        one_request(
            field("table"),
            field("at"),
            field("to"),
            field("key"),
            body.get("key_filter").and_then(Value::as_str),
            &masks,
        );
        return;
    }
    let mut lines = text.split('\n');
    let mut next = || lines.next().unwrap_or("");
    let (table, at, to, key) = (next(), next(), next(), next());
    let filter = Some(next()).filter(|f| !f.is_empty());
    let masks: Vec<String> = lines.map(String::from).collect();
    one_request(table, at, to, key, filter, &masks);
}

fn one_request(
    table: &str,
    at: &str,
    to: &str,
    key: &str,
    key_filter: Option<&str>,
    masks: &[String],
) {
    let _ = validate_table(table);
    if let Ok(point) = at.parse::<AtSpec>() {
        let printed = point.to_string();
        assert_eq!(
            printed.parse::<AtSpec>().ok(),
            Some(point),
            "{at:?} printed as {printed:?}"
        );
    }
    if let Ok(url) = to.parse::<TargetUrl>() {
        let printed = url.to_string();
        assert_eq!(
            printed.parse::<TargetUrl>().ok(),
            Some(url),
            "{to:?} printed as {printed:?}"
        );
    }
    let _ = StoreUrl::parse(to);
    if let Ok(encoded) = parse_key(key) {
        assert!(
            rewind_format::key_attribute_types(&encoded).is_some(),
            "{key:?} parsed to a key that does not decode"
        );
    }
    // `file:` filters name a file the CLI reads: not an input to fuzz (the API refuses them).
    if key_filter.is_some_and(|f| f.starts_with("file:")) {
        return;
    }
    let _ = CopySpec::from_options_with_key(key_filter, masks, Some(b"fuzz-key".to_vec()));
}
