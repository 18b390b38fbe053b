//! Reading the catalog's JSON records, one way for all of them: a missing object is `None`
//! (or skipped in a listing), a body that is not the record it should be is
//! [`CatalogError::Invalid`] naming the kind of record and the object, never a silent default.

use crate::error::{CatalogError, Result};
use rewind_store::ObjectStore;
use serde::de::DeserializeOwned;

/// Parses `body`, the object at `key`, as a `what`.
pub(crate) fn parse<T: DeserializeOwned>(
    store: &dyn ObjectStore,
    key: &str,
    body: &[u8],
    what: &'static str,
) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| CatalogError::Invalid {
        what,
        location: store.describe(key),
        reason: e.to_string(),
    })
}

/// Reads the `what` at `key`, `None` when there is no such object.
pub(crate) async fn read<T: DeserializeOwned>(
    store: &dyn ObjectStore,
    key: &str,
    what: &'static str,
) -> Result<Option<T>> {
    match store.get(key).await {
        Ok(body) => parse(store, key, &body, what).map(Some),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Reads every object listed under `prefix` for which `keep` holds, in key order, each as a
/// `what`, with its key.
pub(crate) async fn read_all<T: DeserializeOwned>(
    store: &dyn ObjectStore,
    prefix: &str,
    what: &'static str,
    keep: impl Fn(&str) -> bool,
) -> Result<Vec<(String, T)>> {
    let mut out = Vec::new();
    for meta in rewind_store::list_all(store, prefix).await? {
        if !keep(&meta.key) {
            continue;
        }
        let body = store.get(&meta.key).await?;
        let record = parse(store, &meta.key, &body, what)?;
        out.push((meta.key, record));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rewind_store::LocalStore;

    #[tokio::test]
    async fn missing_is_none_and_garbage_names_the_object() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        assert_eq!(
            read::<u32>(&store, "a/x.json", "number").await.unwrap(),
            None
        );
        store.put("a/x.json", "7".into()).await.unwrap();
        store.put("a/y.json", "seven".into()).await.unwrap();
        assert_eq!(
            read::<u32>(&store, "a/x.json", "number").await.unwrap(),
            Some(7)
        );
        let err = read::<u32>(&store, "a/y.json", "number").await.unwrap_err();
        assert!(
            matches!(&err, CatalogError::Invalid { what: "number", location, .. } if location.ends_with("a/y.json")),
            "{err:?}"
        );
        let all = read_all::<u32>(&store, "a/", "number", |k| k.ends_with("x.json"))
            .await
            .unwrap();
        assert_eq!(all, vec![("a/x.json".to_string(), 7)]);
        assert!(read_all::<u32>(&store, "a/", "number", |_| true)
            .await
            .is_err());
    }
}
