//! Property: reconstruction equals a naive reference (replay everything in order into a map) for
//! random histories — several streams, removes, duplicated records, files of random sizes written
//! in shuffled order, and any restore point.

use proptest::prelude::*;
use rewind_e2e::changelog::*;
use rewind_format::{ChangeRecord, EventName};
use rewind_replay::plan::{PinnedFile, Plan};
use rewind_replay::reconstruct::{reconstruct, ReconstructOptions};
use rewind_replay::state::StampRange;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

fn op() -> impl Strategy<Value = Op> {
    (
        any::<u8>(),
        any::<u8>(),
        0u32..4000,
        proptest::bool::weighted(0.03),
    )
        .prop_map(|(key, event, gap_ms, new_stream)| Op {
            key,
            event,
            gap_ms,
            new_stream,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn reconstruction_equals_the_naive_reference(
        ops in proptest::collection::vec(op(), 1..160),
        duplicate_every in 2usize..9,
        chunk in 1usize..40,
        shuffle_seed in any::<u64>(),
        at_fraction in 0.0f64..1.2,
        bucket_bits in 0u32..6,
    ) {
        let records = history(&ops);
        // Duplicates: some records again (a retried batch that started elsewhere).
        let mut written: Vec<ChangeRecord> = records.clone();
        written.extend(records.iter().step_by(duplicate_every).cloned());
        // Shuffle which records share a file.
        use rand::{seq::SliceRandom, SeedableRng};
        written.shuffle(&mut rand::rngs::StdRng::seed_from_u64(shuffle_seed));

        let first = records.first().unwrap().approximate_creation_time_ms / 1000;
        let last = records.last().unwrap().approximate_creation_time_ms / 1000;
        let at = first + ((last - first + 1) as f64 * at_fraction) as i64;
        let want = reference(&records, (at + 1) * 1000);

        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let got = rt.block_on(async {
            let (_dir, store) = local_store();
            let keys = write_files(store.as_ref(), &written, chunk).await;
            let mut files: Vec<PinnedFile> = Vec::new();
            for key in keys {
                let size = store.head(&key).await.unwrap().size;
                files.push(PinnedFile { key, size });
            }
            // File order must not matter either.
            files.shuffle(&mut rand::rngs::StdRng::seed_from_u64(shuffle_seed ^ 1));
            let plan = Plan {
                table: TABLE.into(),
                requested: at.to_string(),
                at,
                base: None,
                changes: StampRange::through_second(at),
                files,
                buckets: 1 << bucket_bits,
                description: None,
                key_names: vec![],
                window: vec![],
                watermark: None,
                skipped_quarantine: vec![],
                lineage: None,
            };
            let got = Mutex::new(BTreeMap::new());
            let opts = ReconstructOptions { read_concurrency: 3, bucket_concurrency: 2, spill_dir: None };
            reconstruct(&store, &plan, &opts, &BTreeSet::new(), |_, items| {
                let got = &got;
                async move {
                    let mut g = got.lock().unwrap();
                    for item in items {
                        assert!(g.insert(item.keys().to_string(), item.image().to_string()).is_none(), "a key in two buckets");
                    }
                    Ok(())
                }
            })
            .await
            .unwrap();
            got.into_inner().unwrap()
        });
        prop_assert_eq!(got, want);
    }
}

/// A file of T's own hour whose records are all stamped after T is skipped by its statistics,
/// without being decoded; the state is the same.
#[tokio::test]
async fn files_entirely_after_the_point_are_pruned_unread() {
    let records: Vec<ChangeRecord> = (0..30u64)
        .map(|i| {
            let event = if i < 10 {
                EventName::Insert
            } else {
                EventName::Modify
            };
            record(
                &format!("k{}", i % 10),
                LABEL,
                100 + i,
                T0_MS + 1000 + i as i64 * 1000,
                event,
                i as u32,
            )
        })
        .collect();
    let (_dir, store) = local_store();
    // Ten records per file, in time order: the third file starts at T0 + 21 s.
    let keys = write_files(store.as_ref(), &records, 10).await;
    let mut files = Vec::new();
    for key in keys {
        let size = store.head(&key).await.unwrap().size;
        files.push(PinnedFile { key, size });
    }
    let at = T0_MS / 1000 + 15;
    let plan = Plan {
        table: TABLE.into(),
        requested: at.to_string(),
        at,
        base: None,
        changes: StampRange::through_second(at),
        files,
        buckets: 16,
        description: None,
        key_names: vec![],
        window: vec![],
        watermark: None,
        skipped_quarantine: vec![],
        lineage: None,
    };
    let got = Mutex::new(BTreeMap::new());
    let stats = reconstruct(
        &store,
        &plan,
        &ReconstructOptions::default(),
        &BTreeSet::new(),
        |_, items| {
            let got = &got;
            async move {
                got.lock().unwrap().extend(
                    items
                        .into_iter()
                        .map(|i| (i.keys().to_string(), i.image().to_string())),
                );
                Ok(())
            }
        },
    )
    .await
    .unwrap();
    assert_eq!(stats.files_read, 3);
    assert_eq!(stats.files_pruned, 1);
    assert_eq!(
        stats.rows_read, 20,
        "the pruned file's rows are never decoded"
    );
    assert_eq!(
        got.into_inner().unwrap(),
        reference(&records, (at + 1) * 1000)
    );
}
