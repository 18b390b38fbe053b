//! The local store's own behaviour beyond the shared contract (crates/store/tests/contract.rs):
//! one checksum sidecar per object, races of put-if-absent, crashes that leave stray files.

use super::*;

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn files_on_disk_are_the_object_and_one_sidecar() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    store
        .put("a/b.bin", Bytes::from_static(b"one"))
        .await
        .unwrap();
    store
        .put("a/b.bin", Bytes::from_static(b"two"))
        .await
        .unwrap();
    let crc = checksum::to_hex(checksum::crc32c(b"two"));
    assert_eq!(
        names_in(&dir.path().join("a")),
        vec![format!(".b.bin.crc32c-{crc}"), "b.bin".to_string()]
    );
    assert_eq!(fs::read(dir.path().join("a/b.bin")).unwrap(), b"two");

    store.delete("a/b.bin").await.unwrap();
    assert!(names_in(&dir.path().join("a")).is_empty());
}

#[tokio::test]
async fn losing_put_if_absent_leaves_no_sidecar_behind() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    store
        .put_if_absent("k", Bytes::from_static(b"first"))
        .await
        .unwrap();
    let err = store
        .put_if_absent("k", Bytes::from_static(b"second"))
        .await
        .unwrap_err();
    assert!(err.is_already_exists(), "{err:?}");
    let crc = checksum::to_hex(checksum::crc32c(b"first"));
    assert_eq!(
        names_in(dir.path()),
        vec![format!(".k.crc32c-{crc}"), "k".to_string()]
    );
}

#[tokio::test]
async fn losing_put_if_absent_with_identical_bytes_keeps_the_shared_sidecar() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    store
        .put_if_absent("k", Bytes::from_static(b"same"))
        .await
        .unwrap();
    // Simulate the loser having created the sidecar itself: remove it, then lose.
    let crc = checksum::crc32c(b"same");
    fs::remove_file(
        dir.path()
            .join(format!(".k.crc32c-{}", checksum::to_hex(crc))),
    )
    .unwrap();
    let err = store
        .put_if_absent("k", Bytes::from_static(b"same"))
        .await
        .unwrap_err();
    assert!(err.is_already_exists());
    assert_eq!(&store.get("k").await.unwrap()[..], b"same");
}

#[tokio::test]
async fn stale_sidecar_from_a_crash_does_not_hide_corruption_or_break_reads() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    store.put("k", Bytes::from_static(b"old")).await.unwrap();
    // A crash after the new sidecar was created but before the rename leaves two sidecars.
    let new_crc = checksum::crc32c(b"new");
    File::create(
        dir.path()
            .join(format!(".k.crc32c-{}", checksum::to_hex(new_crc))),
    )
    .unwrap();
    assert_eq!(&store.get("k").await.unwrap()[..], b"old");
    let head = store.head("k").await.unwrap();
    assert_eq!(
        head.crc32c,
        Some(checksum::to_base64(checksum::crc32c(b"old")))
    );

    fs::write(dir.path().join("k"), b"olx").unwrap();
    match store.get("k").await {
        Err(StoreError::ChecksumMismatch { expected, .. }) => {
            assert!(expected.contains(" or "), "{expected}");
        }
        other => panic!("expected ChecksumMismatch, got {other:?}"),
    }
}

#[tokio::test]
async fn missing_sidecar_is_missing_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    fs::write(dir.path().join("foreign"), b"dropped here by hand").unwrap();
    match store.get("foreign").await {
        Err(StoreError::MissingChecksum { key }) => assert!(key.ends_with("foreign"), "{key}"),
        other => panic!("expected MissingChecksum, got {other:?}"),
    }
    assert_eq!(store.head("foreign").await.unwrap().crc32c, None);
}

#[tokio::test]
async fn a_key_that_is_a_directory_is_not_an_object() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    store.put("a/b", Bytes::from_static(b"x")).await.unwrap();
    assert!(store.get("a").await.unwrap_err().is_not_found());
    assert!(store.head("a").await.unwrap_err().is_not_found());
    store.delete("a").await.unwrap();
    assert_eq!(&store.get("a/b").await.unwrap()[..], b"x");
    // Nor can "a" while "a/b" exists: that is not a lost race.
    let err = store
        .put_if_absent("a", Bytes::from_static(b"z"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Other {
                retryable: false,
                ..
            }
        ),
        "{err:?}"
    );
    // "a/b/c" cannot exist while "a/b" is an object.
    let err = store
        .put("a/b/c", Bytes::from_static(b"y"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Other {
                retryable: false,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(store.get("a/b/c").await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn listing_skips_temp_and_sidecar_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    store.put("p/x", Bytes::from_static(b"1")).await.unwrap();
    fs::write(dir.path().join("p/.x.tmp-0123456789abcdef"), b"partial").unwrap();
    fs::create_dir_all(dir.path().join(".hidden")).unwrap();
    fs::write(dir.path().join(".hidden/y"), b"2").unwrap();
    let keys: Vec<String> = crate::list_all(&store, "")
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert_eq!(keys, vec!["p/x".to_string()]);
}
