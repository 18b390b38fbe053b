//! Round trips of every key the layout builds.

use super::*;
use chrono::{DateTime, Utc};
use proptest::prelude::*;

#[test]
fn restore_markers_round_trip() {
    let key = restore_done_key("shop", "ab12", 7);
    assert_eq!(key, "restores/table=shop/target=ab12/done/bucket=0007.json");
    assert!(key.starts_with(&restore_done_prefix("shop", "ab12")));
    assert_eq!(parse_restore_done_key(&key), Some(7));
    assert_eq!(
        parse_restore_done_key(&restore_journal("shop", "ab12")),
        None
    );
}

#[test]
fn owner_claims_name_their_table() {
    assert_eq!(
        parse_table_owner(&table_owner("shop")).as_deref(),
        Some("shop")
    );
    assert!(table_owner("shop").starts_with(&all_tables_prefix()));
    for other in [
        retention_marker("shop"),
        whole_life_confirmed("shop"),
        description_key("shop", t("2026-11-26T06:00:00Z")),
        "tables/table=a/b/owner.json".to_string(),
    ] {
        assert_eq!(parse_table_owner(&other), None, "{other}");
    }
}

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[test]
fn batch_key_round_trips_and_reads_well() {
    let hour = HourPartition::of(t("2026-11-26T06:59:59Z"));
    let f = ChangeFile::batch(
        "shop",
        hour,
        "2026-11-26T06:00:00.000",
        "shardId-00000001414562939581-a3b4c5d6",
        "1200",
        "100000000000000000001",
    )
    .unwrap();
    let key = f.key();
    assert_eq!(
        key,
        "changes/table=shop/dt=2026-11-26/hour=06/2026-11-26T06%3A00%3A00.000_\
         shardId-00000001414562939581-a3b4c5d6_\
         0000000000000000000000000000000000001200_\
         0000000000000000000100000000000000000001.parquet"
    );
    assert_eq!(ChangeFile::parse(&key).unwrap(), f);
}

#[test]
fn compacted_key_round_trips() {
    let f = ChangeFile::compacted(
        "my.table_1",
        HourPartition::of(t("2026-01-02T23:00:00Z")),
        "r-42",
    )
    .unwrap();
    assert_eq!(
        f.key(),
        "changes/table=my.table_1/dt=2026-01-02/hour=23/compacted_r-42.parquet"
    );
    assert_eq!(ChangeFile::parse(&f.key()).unwrap(), f);
}

#[test]
fn bad_change_keys_are_refused_with_the_key_named() {
    for key in [
        "changes/table=shop/dt=2026-11-26/hour=24/x_s_1_2.parquet",
        "changes/table=shop/dt=2026-11-26/hour=6/a_s_0000000000000000000000000000000000000001_0000000000000000000000000000000000000002.parquet",
        "changes/table=sh/dt=2026-11-26/hour=06/compacted_r.parquet",
        "changes/table=shop/dt=2026-11-26/hour=06/compacted_r.json",
        "changes/table=shop/dt=2026-11-26/hour=06/a_b_c.parquet",
        "snapshots/table=shop/dt=2026-11-26/hour=06/compacted_r.parquet",
        "changes/table=shop/dt=2026-11-26/hour=06/2026%3a00_s_0000000000000000000000000000000000000001_0000000000000000000000000000000000000002.parquet",
    ] {
        let e = ChangeFile::parse(key).unwrap_err();
        assert!(!e.value.is_empty(), "{key}: {e}");
    }
}

#[test]
fn pad_sequence_orders_numerically() {
    let a = pad_sequence("999").unwrap();
    let b = pad_sequence("1000").unwrap();
    assert!(a < b);
    assert_eq!(pad_sequence("0001").unwrap(), pad_sequence("1").unwrap());
    assert!(pad_sequence("12a").is_err());
    assert!(pad_sequence("").is_err());
    assert!(pad_sequence(&"9".repeat(41)).is_err());
    assert_eq!(pad_sequence(&"9".repeat(40)).unwrap(), "9".repeat(40));
}

#[test]
fn snapshot_and_manifest_keys() {
    let at = t("2026-11-26T05:40:12Z");
    let f = SnapshotFile {
        table: "shop".into(),
        at,
        run_id: "run-7".into(),
        bucket: 17,
    };
    assert_eq!(
        f.key(),
        "snapshots/table=shop/at=20261126T054012Z/run=run-7/bucket=0017.parquet"
    );
    assert_eq!(SnapshotFile::parse(&f.key()).unwrap(), f);
    let m = snapshot_manifest("shop", at);
    assert_eq!(m, "snapshots/table=shop/at=20261126T054012Z/manifest.json");
    assert_eq!(parse_snapshot_manifest(&m), Some(("shop".into(), at)));
    assert_eq!(parse_snapshot_manifest(&f.key()), None);
}

#[test]
fn checkpoint_description_quarantine_keys() {
    let c = CheckpointKey::new("shop", "2026-11-26T06:00:00.000", "shardId-1").unwrap();
    assert_eq!(
        c.key(),
        "checkpoints/table=shop/stream=2026-11-26T06%3A00%3A00.000/shardId-1.json"
    );
    assert_eq!(CheckpointKey::parse(&c.key()).unwrap(), c);
    let at = t("2026-11-26T05:40:12+02:00");
    let d = description_key("shop", at);
    assert_eq!(d, "tables/table=shop/description/at=20261126T034012Z.json");
    assert_eq!(parse_description_key(&d).unwrap(), ("shop".into(), at));
    assert_eq!(table_owner("shop"), "tables/table=shop/owner.json");
    let g = GapKey::new("shop", "2026-11-26T06:00:00.000", "shardId-1", at).unwrap();
    assert_eq!(
        g.key(),
        "gaps/table=shop/stream=2026-11-26T06%3A00%3A00.000/shardId-1_20261126T034012Z.json"
    );
    assert_eq!(GapKey::parse(&g.key()).unwrap(), g);
    let q = quarantine_key("shop", at, &"ab".repeat(32));
    assert_eq!(
        q,
        format!(
            "quarantine/table=shop/dt=2026-11-26/{}.json",
            "ab".repeat(16)
        )
    );
}

#[test]
fn names_sort_in_time_order() {
    let a = description_key("shop", t("2026-11-26T09:00:00Z"));
    let b = description_key("shop", t("2026-11-26T10:00:00Z"));
    let c = description_key("shop", t("2027-01-01T00:00:00Z"));
    assert!(a < b && b < c);
    let h9 = changes_hour_prefix("shop", HourPartition::of(t("2026-11-26T09:00:00Z")));
    let h10 = changes_hour_prefix("shop", HourPartition::of(t("2026-11-26T10:00:00Z")));
    assert!(h9 < h10);
}

proptest! {
    #[test]
    fn any_batch_name_round_trips(
        table in "[A-Za-z0-9_.-]{3,40}",
        secs in 0i64..4_102_444_800,
        label in "[ -~]{1,40}",
        shard in "[A-Za-z0-9-]{1,65}",
        first in "[0-9]{1,40}",
        last in "[0-9]{1,40}",
    ) {
        let hour = HourPartition::of(DateTime::from_timestamp(secs, 0).unwrap());
        let f = ChangeFile::batch(&table, hour, &label, &shard, &first, &last).unwrap();
        let key = f.key();
        prop_assert_eq!(ChangeFile::parse(&key).unwrap(), f);
        prop_assert_eq!(key.matches('/').count(), 4);
    }

    #[test]
    fn any_label_round_trips(label in "\\PC{1,30}") {
        let enc = encode_label(&label).unwrap();
        prop_assert!(!enc.contains('/') && !enc.contains('_'));
        prop_assert_eq!(decode_label(&enc).unwrap(), label);
    }

    #[test]
    fn any_at_round_trips(secs in 0i64..253_402_300_799) {
        let at = DateTime::from_timestamp(secs, 0).unwrap();
        prop_assert_eq!(parse_at(&format_at(at)).unwrap(), at);
    }
}
