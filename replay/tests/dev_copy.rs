//! Dev/test copies through the real restore path into an ImportTable export: a key-filtered,
//! masked copy holds exactly the filtered keys and no masked value; the same HMAC key gives the
//! same masks on every run, another key other masks; masking a key attribute is refused before
//! anything is written; a resumed restore with other copy options starts over.

use rewind_e2e::changelog::*;
use rewind_format::{item_from_json, AttributeValue, EventName};
use rewind_replay::copy_spec::{CopySpec, KeyFilter, MaskRule};
use rewind_replay::plan::PlanOptions;
use rewind_replay::restore::{restore, RestoreProgress, RestoreRequest};
use rewind_replay::target::export::ExportTarget;
use rewind_replay::target::RestoreTarget;
use rewind_replay::verify::verify;
use rewind_replay::{AtSpec, ReplayError};
use rewind_store::{list_all, LocalStore, Store};
use std::collections::BTreeMap;
use std::sync::Arc;

const KEY_A: &[u8] = b"a key of at least sixteen bytes";
const KEY_B: &[u8] = b"another key, also long enough!!";

fn workload() -> Vec<rewind_format::ChangeRecord> {
    (0..600u64)
        .map(|i| {
            let key = format!("{}#{}", if i % 3 == 0 { "USER" } else { "ORDER" }, i % 90);
            let event = if i < 90 {
                EventName::Insert
            } else {
                EventName::Modify
            };
            record(
                &key,
                LABEL,
                100 + i,
                T0_MS + 1000 + i as i64 * 100,
                event,
                i as u32,
            )
        })
        .collect()
}

fn request(at: i64, copy: CopySpec) -> RestoreRequest {
    RestoreRequest {
        copy,
        table: TABLE.into(),
        at: AtSpec::Second(at),
        into_existing: false,
        no_ttl: false,
        plan: PlanOptions::default(),
        reconstruct: Default::default(),
    }
}

/// Every exported item: pk → attributes.
async fn exported(dir: &std::path::Path) -> BTreeMap<String, BTreeMap<String, AttributeValue>> {
    let label = format!("file://{}", dir.display());
    let target = ExportTarget::new(Arc::new(LocalStore::new(dir)), label);
    let (tx, mut rx) = tokio::sync::mpsc::channel(8);
    let scan = target.scan(tx);
    let collect = async {
        let mut out = BTreeMap::new();
        while let Some(page) = rx.recv().await {
            for item in page {
                let Some(AttributeValue::S(pk)) = item.get("pk") else {
                    panic!("an item without pk: {item:?}");
                };
                out.insert(
                    pk.clone(),
                    item.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                );
            }
        }
        out
    };
    let (scanned, items) = tokio::join!(scan, collect);
    scanned.unwrap();
    items
}

async fn copy_into(
    store: &Store,
    at: i64,
    copy: CopySpec,
) -> (
    tempfile::TempDir,
    Result<rewind_replay::restore::RestoreReport, ReplayError>,
) {
    let out = tempfile::tempdir().unwrap();
    let label = format!("file://{}", out.path().display());
    let target = ExportTarget::new(Arc::new(LocalStore::new(out.path())), label);
    let report = restore(
        store,
        &target,
        &request(at, copy),
        &RestoreProgress::default(),
    )
    .await;
    (out, report)
}

fn masked(key: &[u8]) -> CopySpec {
    CopySpec::new(
        Some(KeyFilter::parse("prefix:USER#").unwrap()),
        vec![
            MaskRule::parse("v=hmac").unwrap(),
            MaskRule::parse("blob=fixed:redacted").unwrap(),
            MaskRule::parse("note=fixed:redacted").unwrap(),
        ],
        Some(key.to_vec()),
    )
    .unwrap()
}

#[tokio::test]
async fn a_masked_key_filtered_copy_holds_the_filtered_keys_and_no_masked_value() {
    let (_src, store) = local_store();
    let records = workload();
    write_files(store.as_ref(), &records, 100).await;
    seed_capture_state(store.as_ref(), T0_MS + 3_600_000).await;
    let at = (T0_MS + 1000) / 1000 + 50;
    let want: BTreeMap<String, BTreeMap<String, AttributeValue>> =
        reference(&records, (at + 1) * 1000)
            .into_values()
            .map(|image| {
                let item = item_from_json(&image).unwrap();
                let Some(AttributeValue::S(pk)) = item.get("pk") else {
                    unreachable!()
                };
                (
                    pk.clone(),
                    item.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                )
            })
            .collect();
    let users: Vec<&String> = want.keys().filter(|pk| pk.starts_with("USER#")).collect();
    assert!(
        !users.is_empty() && users.len() < want.len(),
        "the workload has both kinds"
    );

    let (out_a, report) = copy_into(&store, at, masked(KEY_A)).await;
    let report = report.unwrap();
    assert_eq!(report.items, users.len() as u64, "{report:?}");
    let copy = report.copy.expect("the report says what the copy did");
    assert!(
        copy.contains("prefix") && copy.contains("mask v: hmac (key "),
        "{copy}"
    );
    assert!(!copy.contains("sixteen"), "the key never appears: {copy}");
    let got_a = exported(out_a.path()).await;
    assert_eq!(
        got_a.keys().collect::<Vec<_>>(),
        users,
        "exactly the filtered keys"
    );
    for (pk, item) in &got_a {
        let original = &want[pk];
        assert_ne!(item.get("v"), original.get("v"), "{pk}: v is masked");
        assert!(
            matches!(item.get("v"), Some(AttributeValue::N(_))),
            "a number stays a number"
        );
        assert_eq!(
            item.get("blob"),
            Some(&AttributeValue::S("redacted".into()))
        );
        assert!(
            !item.contains_key("note"),
            "{pk}: a mask never adds an attribute"
        );
    }
    // No original value of v survives anywhere in the copy.
    let originals: Vec<&AttributeValue> = want.values().filter_map(|i| i.get("v")).collect();
    assert!(got_a
        .values()
        .all(|i| !originals.contains(&i.get("v").unwrap())));

    // verify compares a copy as it was made: equal with the same options, not with others.
    let verify_a = |copy: CopySpec| {
        let dir = out_a.path().to_path_buf();
        let store = store.clone();
        async move {
            let label = format!("file://{}", dir.display());
            let target = ExportTarget::new(Arc::new(LocalStore::new(&dir)), label);
            verify(
                &store,
                TABLE,
                AtSpec::Second(at),
                &target,
                &PlanOptions::default(),
                &Default::default(),
                &copy,
            )
            .await
            .unwrap()
        }
    };
    let same = verify_a(masked(KEY_A)).await;
    assert!(
        same.is_equal() && same.matching == users.len() as u64,
        "{same:?}"
    );
    let other_key = verify_a(masked(KEY_B)).await;
    assert_eq!(other_key.differing, users.len() as u64, "{other_key:?}");
    let unmasked = verify_a(CopySpec::default()).await;
    assert!(
        unmasked.missing > 0 && unmasked.differing > 0,
        "{unmasked:?}"
    );

    // The same key gives the same masks on another run; another key gives others.
    let (out_a2, again) = copy_into(&store, at, masked(KEY_A)).await;
    again.unwrap();
    assert_eq!(exported(out_a2.path()).await, got_a);
    let (out_b, other) = copy_into(&store, at, masked(KEY_B)).await;
    other.unwrap();
    let got_b = exported(out_b.path()).await;
    assert_eq!(got_b.keys().collect::<Vec<_>>(), users);
    assert!(got_b.iter().all(|(pk, i)| i.get("v") != got_a[pk].get("v")));
}

#[tokio::test]
async fn listed_keys_are_copied_and_key_attributes_are_never_masked() {
    let (_src, store) = local_store();
    let records = workload();
    write_files(store.as_ref(), &records, 100).await;
    seed_capture_state(store.as_ref(), T0_MS + 3_600_000).await;
    let at = (T0_MS + 1000) / 1000 + 50;

    let listed =
        KeyFilter::parse(r#"[{"pk":{"S":"USER#3"}},{"pk":{"S":"ORDER#4"}},{"pk":{"S":"nobody"}}]"#)
            .unwrap();
    let (out, report) = copy_into(
        &store,
        at,
        CopySpec::new(
            Some(listed),
            vec![MaskRule::parse("blob=drop").unwrap()],
            None,
        )
        .unwrap(),
    )
    .await;
    assert_eq!(report.unwrap().items, 2);
    let got = exported(out.path()).await;
    assert_eq!(got.keys().collect::<Vec<_>>(), ["ORDER#4", "USER#3"]);
    assert_eq!(got["USER#3"], {
        let item =
            item_from_json(&reference(&records, (at + 1) * 1000)[r#"{"pk":{"S":"USER#3"}}"#])
                .unwrap();
        item.iter()
            .filter(|(k, _)| *k != "blob")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<BTreeMap<_, _>>()
    });

    let masks_pk = CopySpec::new(
        None,
        vec![MaskRule::parse("pk=hmac").unwrap()],
        Some(KEY_A.to_vec()),
    )
    .unwrap();
    let (out, refused) = copy_into(&store, at, masks_pk).await;
    let err = refused.unwrap_err();
    assert!(err.is_bad_input(), "{err:?}");
    assert!(
        err.to_string().contains("key attribute of the table"),
        "{err}"
    );
    assert!(
        list_all(&LocalStore::new(out.path()), "")
            .await
            .unwrap()
            .is_empty(),
        "nothing written"
    );

    let wrong_key = KeyFilter::parse(r#"{"id":{"S":"USER#3"}}"#).unwrap();
    let (_out, refused) = copy_into(
        &store,
        at,
        CopySpec::new(Some(wrong_key), vec![], None).unwrap(),
    )
    .await;
    let err = refused.unwrap_err();
    assert!(err.to_string().contains("the table's key is"), "{err}");
}

#[tokio::test]
async fn an_interrupted_copy_resumes_only_with_the_same_options() {
    use rewind_store::{FaultKind, FaultyStore, Op};
    let (_src, store) = local_store();
    let records = workload();
    write_files(store.as_ref(), &records, 100).await;
    seed_capture_state(store.as_ref(), T0_MS + 3_600_000).await;
    let at = (T0_MS + 1000) / 1000 + 50;
    let out = tempfile::tempdir().unwrap();
    let label = format!("file://{}", out.path().display());
    let local: Store = Arc::new(LocalStore::new(out.path()));
    let failing = FaultyStore::new(Arc::clone(&local)).fail_nth(Op::Put, 3, FaultKind::Permanent);
    let mut req = request(at, masked(KEY_A));
    req.reconstruct.bucket_concurrency = 1;
    let target = ExportTarget::new(Arc::new(failing), label.clone());
    assert!(restore(&store, &target, &req, &RestoreProgress::default())
        .await
        .is_err());

    // Another mask key: not this copy's journal, and the half-written target is refused.
    let target = ExportTarget::new(Arc::clone(&local), label.clone());
    let mut other = request(at, masked(KEY_B));
    other.reconstruct.bucket_concurrency = 1;
    let err = restore(&store, &target, &other, &RestoreProgress::default())
        .await
        .unwrap_err();
    assert!(matches!(err, ReplayError::TargetExists { .. }), "{err:?}");
    // The same options resume it.
    let report = restore(&store, &target, &req, &RestoreProgress::default())
        .await
        .unwrap();
    assert!(report.resumed && report.buckets_skipped > 0, "{report:?}");
    let (fresh, _) = copy_into(&store, at, masked(KEY_A)).await;
    assert_eq!(exported(out.path()).await, exported(fresh.path()).await);
}
