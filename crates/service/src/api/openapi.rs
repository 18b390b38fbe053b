//! `GET /openapi.json`: the API's OpenAPI 3.0 document, kept in the repository
//! (`crates/service/openapi.json`) and compiled into the binary, so what is served is what is
//! reviewed. A test below fails when the router gains or loses a route the document does not
//! describe; `crates/cli/tests/openapi_fuzz.rs` validates it and fuzzes a running server with it.

use axum::http::header;
use axum::response::IntoResponse;

/// The document, as kept in the repository.
pub const DOCUMENT: &str = include_str!("../../openapi.json");

/// `GET /openapi.json`: the document, as JSON.
pub async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::collections::BTreeSet;

    const METHODS: [&str; 8] = [
        "get", "post", "put", "delete", "patch", "head", "options", "trace",
    ];

    fn document_json() -> Value {
        serde_json::from_str(DOCUMENT).expect("openapi.json is JSON")
    }

    /// Every `(method, path)` the document describes.
    fn documented(doc: &Value) -> BTreeSet<(String, String)> {
        let paths = doc["paths"].as_object().expect("a paths object");
        let mut out = BTreeSet::new();
        for (path, item) in paths {
            for method in item.as_object().expect("a path item").keys() {
                if METHODS.contains(&method.as_str()) {
                    out.insert((method.clone(), path.clone()));
                }
            }
        }
        out
    }

    /// Every `(method, path)` the router registers, read from the source of `router()` in
    /// `mod.rs`: each `.route("PATH", get(..).post(..))` call. Reading the source (axum cannot
    /// list a router's routes) is what makes a route added there without documentation fail.
    fn routed(source: &str) -> BTreeSet<(String, String)> {
        let mut out = BTreeSet::new();
        let mut rest = source;
        while let Some(at) = rest.find(".route(") {
            rest = &rest[at + ".route(".len()..];
            let rest_trimmed = rest.trim_start();
            let path_and_more = rest_trimmed
                .strip_prefix('"')
                .expect("a route's path is a string literal");
            let end = path_and_more.find('"').expect("the path's closing quote");
            let path = &path_and_more[..end];
            // The method router: up to the `)` that closes `.route(`.
            let mut depth = 1;
            let mut call_end = 0;
            for (i, c) in path_and_more[end + 1..].char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            call_end = end + 1 + i;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            assert!(call_end > 0, "unclosed .route( for {path}");
            let methods = &path_and_more[end + 1..call_end];
            let mut found = 0;
            for name in called(methods) {
                if METHODS.contains(&name) {
                    out.insert((name.to_string(), path.to_string()));
                    found += 1;
                }
            }
            assert!(found > 0, "no method found for route {path}: {methods}");
            rest = &path_and_more[call_end..];
        }
        out
    }

    /// The identifiers in `code` that are called (followed by `(`), in order.
    fn called(code: &str) -> Vec<&str> {
        let bytes = code.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i].is_ascii_alphabetic() || bytes[i] == b'_' {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                let next = code[i..].trim_start();
                if next.starts_with('(') {
                    out.push(&code[start..i]);
                }
            } else {
                i += 1;
            }
        }
        out
    }

    #[test]
    fn the_document_is_openapi_3() {
        let doc = document_json();
        let version = doc["openapi"].as_str().expect("an openapi version");
        assert!(version.starts_with("3."), "{version}");
        assert!(doc["info"]["title"].is_string());
        assert!(doc["info"]["version"].is_string());
    }

    #[test]
    fn every_route_is_documented_and_every_documented_route_exists() {
        let routes = routed(include_str!("mod.rs"));
        assert!(
            routes.contains(&("get".into(), "/openapi.json".into())),
            "the router serves the document: {routes:?}"
        );
        let doc = documented(&document_json());
        let undocumented: Vec<_> = routes.difference(&doc).collect();
        let unrouted: Vec<_> = doc.difference(&routes).collect();
        assert!(
            undocumented.is_empty() && unrouted.is_empty(),
            "routes missing from openapi.json: {undocumented:?}; documented but not routed: {unrouted:?}"
        );
    }

    #[test]
    fn the_route_reader_sees_every_method_of_a_route() {
        let source = r#"Router::new()
            .route("/a", get(x::list))
            .route( "/a/{id}", get(x::one).post(x::make).delete(tower::service_fn(f)))
            .route("/b", post(y))
            .with_state(state)"#;
        let want: BTreeSet<(String, String)> = [
            ("get", "/a"),
            ("get", "/a/{id}"),
            ("post", "/a/{id}"),
            ("delete", "/a/{id}"),
            ("post", "/b"),
        ]
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
        assert_eq!(routed(source), want);
    }

    #[test]
    fn every_reference_resolves() {
        fn walk(doc: &Value, node: &Value, missing: &mut Vec<String>) {
            match node {
                Value::Object(map) => {
                    if let Some(Value::String(target)) = map.get("$ref") {
                        let pointer = target.strip_prefix('#').unwrap_or(target);
                        if doc.pointer(pointer).is_none() {
                            missing.push(target.clone());
                        }
                    }
                    map.values().for_each(|v| walk(doc, v, missing));
                }
                Value::Array(items) => items.iter().for_each(|v| walk(doc, v, missing)),
                _ => {}
            }
        }
        let doc = document_json();
        let mut missing = Vec::new();
        walk(&doc, &doc, &mut missing);
        assert!(missing.is_empty(), "unresolved $ref: {missing:?}");
    }
}
