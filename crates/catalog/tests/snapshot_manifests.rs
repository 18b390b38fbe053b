//! Snapshot manifests as the catalog reads them: one written by a newer rewind (another
//! manifest version) is refused by name rather than misread; one whose files are not all there
//! yet is not a snapshot.

use bytes::Bytes;
use rewind_catalog::layout;
use rewind_catalog::{
    list_snapshots, CatalogError, SnapshotFileEntry, SnapshotKind, SnapshotManifest,
    SNAPSHOT_MANIFEST_VERSION,
};
use rewind_store::{LocalStore, ObjectStore};

fn manifest(version: u32, files: Vec<SnapshotFileEntry>) -> SnapshotManifest {
    SnapshotManifest {
        manifest_version: version,
        format_version: 1,
        table: "orders".into(),
        table_arn: None,
        at: "2026-11-26T07:00:00Z".into(),
        run_id: "r1".into(),
        kind: SnapshotKind::Compacted { base: None },
        valid_from: 1_795_676_400,
        changes_from_ms: 1_795_676_401_000,
        buckets: 1,
        rows: files.iter().map(|f| f.rows).sum(),
        files,
        created_at: "2026-11-26T08:00:00Z".into(),
    }
}

async fn put_manifest(store: &LocalStore, m: &SnapshotManifest) -> String {
    let at = chrono::DateTime::parse_from_rfc3339(&m.at)
        .unwrap()
        .to_utc();
    let key = layout::snapshot_manifest("orders", at);
    store
        .put(&key, Bytes::from(serde_json::to_vec(m).unwrap()))
        .await
        .unwrap();
    key
}

#[tokio::test]
async fn a_manifest_of_another_version_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let key = put_manifest(&store, &manifest(SNAPSHOT_MANIFEST_VERSION + 1, vec![])).await;
    let err = list_snapshots(&store, "orders").await.unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(
            err,
            CatalogError::Invalid {
                what: "snapshot manifest",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(text.contains(&key), "{text}");
    assert!(
        text.contains(&format!(
            "manifest version {} is not supported",
            SNAPSHOT_MANIFEST_VERSION + 1
        )),
        "{text}"
    );
}

#[tokio::test]
async fn a_manifest_whose_files_are_not_all_there_is_not_a_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let file = SnapshotFileEntry {
        key: "snapshots/table=orders/at=20261126T070000Z/run=r1/bucket=0000.parquet".into(),
        bucket: 0,
        rows: 3,
        bytes: 5,
        crc32c: None,
    };
    put_manifest(
        &store,
        &manifest(SNAPSHOT_MANIFEST_VERSION, vec![file.clone()]),
    )
    .await;
    assert!(list_snapshots(&store, "orders").await.unwrap().is_empty());
    // The file arrives (a replica catching up) with its recorded size: now it is one.
    store
        .put(&file.key, Bytes::from_static(b"12345"))
        .await
        .unwrap();
    assert_eq!(list_snapshots(&store, "orders").await.unwrap().len(), 1);
}
