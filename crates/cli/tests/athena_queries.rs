//! The Athena queries users are given (deploy/athena/*.sql) answer as rewind does, on a real backup.
//!
//! The store: `rewind demo --capture-only` (table `shop`: 7,500 stream records with TTL deletions,
//! a full backup by Scan), then `rewind compact --at` (a compacted snapshot); plus a second table,
//! `orders`, written with the test support's change-log builders and compacted once, whose
//! history runs over many hours and a day boundary, through a re-enabled stream (a second label
//! whose sequence numbers start low again), with records stored twice (overlapping batches).
//!
//! tests/athena/run_queries.py builds DuckDB views from deploy/athena.yaml's Glue tables
//! (columns, partition projection, location templates), transpiles each query from Athena's
//! dialect with sqlglot and runs it. Its answers are held against rewind's own:
//! - state at T (from each valid snapshot, and from the log alone) and item X as of T: the
//!   export `rewind restore --at T --to file://...` writes, and `rewind history`;
//! - changes per hour, value changes per hour and deleted items: the change files as rewind's
//!   reader decodes them, each record once, in rewind's order of versions; for `shop` also the
//!   counts the demo's workload generated (its own model, sharing no code with capture).

use chrono::DateTime;
use flate2::read::MultiGzDecoder;
use rewind_catalog::layout::{self, CheckpointKey};
use rewind_e2e::changelog::{self, Op};
use rewind_format::{read_change_file, ChangeRecord, EventName};
use rewind_store::{list_all, LocalStore, ObjectStore};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Values of the `orders` items' string attribute `status`.
const STATUSES: [&str; 3] = ["NEW", "OPEN", "DONE"];

const TTL_IDENTITY: &str = r#"{"principalId":"dynamodb.amazonaws.com","type":"Service"}"#;

fn rewind(args: &[&str]) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_rewind"))
        .args(args)
        .output()
        .expect("run rewind");
    assert!(
        out.status.success(),
        "rewind {args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    out.stdout
}

fn rewind_json(args: &[&str]) -> Value {
    let mut all = vec!["--output", "json"];
    all.extend_from_slice(args);
    let out = rewind(&all);
    serde_json::from_slice(&out)
        .unwrap_or_else(|e| panic!("rewind {args:?}: {e}: {}", String::from_utf8_lossy(&out)))
}

/// RFC 3339 with milliseconds, as the query runner prints timestamps.
fn iso_ms(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// `2026-11-26T06:10:00Z` -> the Athena literal form `2026-11-26 06:10:00`.
fn athena_time(rfc3339: &str) -> String {
    rfc3339.trim_end_matches('Z').replace('T', " ")
}

fn epoch_ms(rfc3339: &str) -> i64 {
    DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .timestamp_millis()
}

/// Every stream record of `table`, once: change files hold copies (overlapping batches), and a
/// record is one (key, stream_label, sequence_number), as docs/FORMAT.md says.
async fn records(store: &LocalStore, table: &str) -> (Vec<ChangeRecord>, usize) {
    let mut rows = 0;
    let mut once = BTreeMap::new();
    for meta in list_all(store, &layout::changes_prefix(table))
        .await
        .unwrap()
    {
        let bytes = store.get(&meta.key).await.unwrap();
        for r in read_change_file(&meta.key, bytes).unwrap() {
            rows += 1;
            once.entry((
                r.key.clone(),
                r.stream_label.clone(),
                r.sequence_number.clone(),
            ))
            .or_insert(r);
        }
    }
    (once.into_values().collect(), rows)
}

/// The items of an ImportTable export (`data/*.json.gz`, one `{"Item": ...}` per line), by
/// their key attributes as canonical DynamoDB JSON (the `keys` column's form).
fn export_items(dir: &Path, key_names: &[&str]) -> BTreeMap<String, Value> {
    let mut items = BTreeMap::new();
    for entry in std::fs::read_dir(dir.join("data")).unwrap() {
        let path = entry.unwrap().path();
        // The local store's checksum sidecars (.<name>.crc32c-...) are not objects.
        if path.file_name().unwrap().to_string_lossy().starts_with('.') {
            continue;
        }
        let mut text = String::new();
        MultiGzDecoder::new(std::fs::File::open(&path).unwrap())
            .read_to_string(&mut text)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for line in text.lines() {
            let item = serde_json::from_str::<Value>(line).unwrap()["Item"].clone();
            // BTreeMap: attribute names sorted, as canonical JSON has them.
            let keys: BTreeMap<&str, &Value> = key_names.iter().map(|k| (*k, &item[*k])).collect();
            let keys = serde_json::to_string(&keys).unwrap();
            assert!(items.insert(keys, item).is_none(), "a key twice in {dir:?}");
        }
    }
    items
}

/// The `orders` history: 24 items over about a day from 06:00 UTC, a new stream two thirds in,
/// every other REMOVE by TTL.
fn orders_history() -> Vec<ChangeRecord> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        // xorshift64: a fixed history without a random-number dependency.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let ops: Vec<Op> = (0..480)
        .map(|i| Op {
            key: (next() % 24) as u8,
            event: (next() % 256) as u8,
            gap_ms: 30_000 + (next() % 300_000) as u32,
            new_stream: i == 320,
        })
        .collect();
    let mut records = changelog::history(&ops);
    // A string attribute for value_changes_per_hour.sql, changing in some versions only.
    for (i, r) in records.iter_mut().enumerate() {
        if let Some(image) = &r.new_image {
            let mut item: BTreeMap<String, Value> = serde_json::from_str(image).unwrap();
            item.insert("status".into(), json!({ "S": STATUSES[i % 3] }));
            // Sorted attribute names, no whitespace: canonical, as capture writes images.
            r.new_image = Some(serde_json::to_string(&item).unwrap());
        }
    }
    let mut ttl = false;
    for r in records
        .iter_mut()
        .filter(|r| r.event_name == EventName::Remove)
    {
        if ttl {
            r.user_identity = Some(TTL_IDENTITY.to_string());
        }
        ttl = !ttl;
    }
    records
}

/// Capture state for `orders`: each stream's shard read through its last record (the first
/// stream's shard ended when the stream was disabled), the whole life confirmed.
async fn seed_orders(store: &LocalStore, records: &[ChangeRecord]) {
    let last = records.last().unwrap();
    changelog::seed_capture_state(store, last.approximate_creation_time_ms + 60_000).await;
    let labels: BTreeSet<&str> = records.iter().map(|r| r.stream_label.as_str()).collect();
    for label in labels {
        let of_label: Vec<&ChangeRecord> =
            records.iter().filter(|r| r.stream_label == label).collect();
        let (first, last_of) = (of_label[0], of_label[of_label.len() - 1]);
        let ended = label != last.stream_label;
        let checkpoint = json!({
            "table": changelog::TABLE,
            "stream_label": label,
            "shard_id": "shardId-1",
            "last_sequence_number": last_of.sequence_number,
            "last_stamp_ms": last_of.approximate_creation_time_ms,
            "read_through_ms": if ended { last_of.approximate_creation_time_ms } else { last.approximate_creation_time_ms + 60_000 },
            "shard_ended": ended,
            "updated_at_ms": last.approximate_creation_time_ms + 60_000,
            "first_captured_ms": first.approximate_creation_time_ms,
        });
        let key = CheckpointKey::new(changelog::TABLE, label, "shardId-1")
            .unwrap()
            .key();
        store
            .put(&key, serde_json::to_vec(&checkpoint).unwrap().into())
            .await
            .unwrap();
    }
}

/// A snapshot's manifest, as state_at.sql's parameters need it.
#[derive(Debug, Clone)]
struct Base {
    folder_at: String,
    run_id: String,
    changes_from_ms: i64,
    valid_from: i64,
}

async fn snapshots(store: &LocalStore, table: &str) -> Vec<Base> {
    let mut out = Vec::new();
    for meta in list_all(store, &layout::snapshots_prefix(table))
        .await
        .unwrap()
    {
        if !meta.key.ends_with("/manifest.json") {
            continue;
        }
        let m: Value = serde_json::from_slice(&store.get(&meta.key).await.unwrap()).unwrap();
        let folder_at = meta
            .key
            .split('/')
            .find_map(|part| part.strip_prefix("at="))
            .unwrap()
            .to_string();
        out.push(Base {
            folder_at,
            run_id: m["run_id"].as_str().unwrap().to_string(),
            changes_from_ms: m["changes_from_ms"].as_i64().unwrap(),
            valid_from: m["valid_from"].as_i64().unwrap(),
        });
    }
    out.sort_by_key(|b| b.valid_from);
    out
}

fn is_ttl(r: &ChangeRecord) -> bool {
    r.user_identity.as_deref().is_some_and(|u| {
        let u: Value = serde_json::from_str(u).unwrap();
        u["type"] == "Service" && u["principalId"] == "dynamodb.amazonaws.com"
    })
}

/// (dt, hour, event): a group of changes_per_hour.sql.
type HourEvent = (String, i64, String);
/// (dt, hour, from value, to value): a group of value_changes_per_hour.sql.
type HourChange = (String, i64, String, String);
/// (keys, deleted at, by TTL, deleted item): a row of deleted_items.sql.
type Deletion = (String, String, bool, Option<String>);

/// One query for the runner, with what it must answer.
struct Query {
    name: String,
    file: &'static str,
    params: Value,
    check: Check,
}

enum Check {
    /// The items of this export.
    State(BTreeMap<String, Value>),
    /// Item X at T: its last change up to T + 1 s (rewind's order of versions over the change
    /// files), `history`'s answer, and the export of a restore to T when T is restorable (what
    /// it holds for the key).
    Item {
        last: Option<Box<ChangeRecord>>,
        export: Option<Option<Value>>,
        history: Value,
        until_ms: i64,
    },
    /// (dt, hour, event) -> (records, distinct items).
    PerHour(BTreeMap<HourEvent, (u64, u64)>),
    /// (keys, deleted at, ttl, deleted item).
    Deleted(BTreeSet<Deletion>),
    /// (dt, hour, from, to) -> MODIFYs.
    Transitions(BTreeMap<HourChange, u64>),
}

fn per_hour(records: &[ChangeRecord]) -> BTreeMap<HourEvent, (u64, u64)> {
    let mut groups: BTreeMap<HourEvent, (u64, BTreeSet<Vec<u8>>)> = BTreeMap::new();
    for r in records {
        let t = DateTime::from_timestamp_millis(r.approximate_creation_time_ms).unwrap();
        let g = groups
            .entry((
                t.format("%Y-%m-%d").to_string(),
                t.format("%H").to_string().parse().unwrap(),
                r.event_name.as_str().to_string(),
            ))
            .or_default();
        g.0 += 1;
        g.1.insert(r.key.clone());
    }
    groups
        .into_iter()
        .map(|(k, (n, keys))| (k, (n, keys.len() as u64)))
        .collect()
}

fn deleted(records: &[ChangeRecord], from_ms: i64, to_ms: i64) -> BTreeSet<Deletion> {
    records
        .iter()
        .filter(|r| {
            r.event_name == EventName::Remove
                && (from_ms..to_ms).contains(&r.approximate_creation_time_ms)
        })
        .map(|r| {
            (
                r.keys.clone(),
                iso_ms(r.approximate_creation_time_ms),
                is_ttl(r),
                r.old_image.clone(),
            )
        })
        .collect()
}

/// MODIFYs of string attribute `attr` from one value to another, by the UTC hour they happened:
/// the value before is the previous version's, in (stream_label, sequence_number) order.
fn transitions(records: &[ChangeRecord], attr: &str) -> BTreeMap<HourChange, u64> {
    let mut by_key: BTreeMap<&[u8], Vec<&ChangeRecord>> = BTreeMap::new();
    for r in records {
        by_key.entry(&r.key).or_default().push(r);
    }
    let value = |r: &ChangeRecord| -> Option<String> {
        let image: Value = serde_json::from_str(r.new_image.as_deref()?).unwrap();
        image[attr]["S"].as_str().map(str::to_string)
    };
    let mut out = BTreeMap::new();
    for versions in by_key.values_mut() {
        versions.sort_by(|a, b| {
            (&a.stream_label, &a.sequence_number).cmp(&(&b.stream_label, &b.sequence_number))
        });
        for pair in versions.windows(2) {
            let (before, after) = (pair[0], pair[1]);
            if after.event_name != EventName::Modify {
                continue;
            }
            if let (Some(from), Some(to)) = (value(before), value(after)) {
                if from != to {
                    let t = DateTime::from_timestamp_millis(after.approximate_creation_time_ms)
                        .unwrap();
                    let hour = t.format("%H").to_string().parse().unwrap();
                    *out.entry((t.format("%Y-%m-%d").to_string(), hour, from, to))
                        .or_default() += 1;
                }
            }
        }
    }
    out
}

/// The last version of `keys` stamped before `until_ms`, by (stream_label, sequence_number).
fn last_version(records: &[ChangeRecord], keys: &str, until_ms: i64) -> Option<ChangeRecord> {
    records
        .iter()
        .filter(|r| r.keys == keys && r.approximate_creation_time_ms < until_ms)
        .max_by(|a, b| {
            (&a.stream_label, &a.sequence_number).cmp(&(&b.stream_label, &b.sequence_number))
        })
        .cloned()
}

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    store_dir: String,
}

impl Fixture {
    /// `rewind restore --at` into a new export directory; its items.
    fn restore(&self, table: &str, at: &str, key_names: &[&str]) -> BTreeMap<String, Value> {
        let target = self
            .root
            .join("exports")
            .join(format!("{table}-{}", at.replace(':', "")));
        let url = format!("file://{}", target.display());
        let out = rewind_json(&[
            "restore",
            "--table",
            table,
            "--store",
            &self.store_dir,
            "--at",
            at,
            "--to",
            &url,
        ]);
        let items = export_items(&target, key_names);
        assert_eq!(out["items"].as_u64(), Some(items.len() as u64), "{out:#}");
        items
    }

    fn history(&self, table: &str, keys: &str) -> Value {
        rewind_json(&[
            "history",
            "--table",
            table,
            "--store",
            &self.store_dir,
            "--key",
            keys,
        ])
    }
}

#[tokio::test]
async fn athena_queries_answer_as_rewind_does() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let work = root.join("demo");
    let work_s = work.to_str().unwrap();
    let report = rewind_json(&["demo", "--workdir", work_s, "--capture-only"]);
    let store_dir = format!("{work_s}/store");
    // A compacted snapshot beside the demo's full backup (06:05:05): two kinds of base.
    rewind_json(&[
        "compact",
        "--table",
        "shop",
        "--store",
        &store_dir,
        "--at",
        "2026-11-26T06:15:00Z",
        "--no-probe",
    ]);
    let store = LocalStore::new(&store_dir);

    let orders = orders_history();
    changelog::write_files(&store, &orders, 40).await;
    // Records 105..185 again, in other objects: a retried batch that started elsewhere.
    changelog::write_files(&store, &orders[105..185], 1000).await;
    seed_orders(&store, &orders).await;

    let fx = Fixture {
        _dir: dir,
        root: root.clone(),
        store_dir: store_dir.clone(),
    };
    let (shop, shop_rows) = records(&store, "shop").await;
    let (orders_read, orders_rows) = records(&store, changelog::TABLE).await;
    assert_eq!(orders_read.len(), orders.len(), "each orders record once");
    assert!(orders_rows > orders.len(), "the orders log holds copies");
    let n = |f: &str| {
        report[f]
            .as_u64()
            .unwrap_or_else(|| panic!("{f}: {report:#}"))
    };
    assert_eq!(shop.len() as u64, n("records"), "{shop_rows} rows");

    let shop_bases = snapshots(&store, "shop").await;
    assert_eq!(shop_bases.len(), 2, "{shop_bases:?}");
    let (scan, compacted) = (&shop_bases[0], &shop_bases[1]);
    assert_eq!(compacted.folder_at, "20261126T061500Z");

    let shop_keys = ["pk", "sk"];
    let orders_keys = ["pk"];
    let mut queries: Vec<Query> = Vec::new();
    let no_base = Base {
        folder_at: "none".into(),
        run_id: "none".into(),
        changes_from_ms: 0,
        valid_from: 0,
    };

    // State at T, from each base that is valid at T (and from none: the log covers the whole
    // life), against the export of a restore to T.
    let shop_points: [(&str, Vec<&Base>); 4] = [
        ("2026-11-26T06:10:00Z", vec![scan, &no_base]),
        ("2026-11-26T06:15:00Z", vec![compacted, scan]),
        ("2026-11-26T06:20:00Z", vec![compacted, scan, &no_base]),
        ("2026-11-26T06:24:59Z", vec![compacted]),
    ];
    let mut shop_exports = BTreeMap::new();
    for (at, bases) in &shop_points {
        let export = fx.restore("shop", at, &shop_keys);
        for base in bases {
            assert!(base.valid_from * 1000 <= epoch_ms(at));
            queries.push(Query {
                name: format!("state shop {at} base {}", base.folder_at),
                file: "state_at.sql",
                params: json!({
                    "table": "shop",
                    "at": athena_time(at),
                    "snapshot_at": base.folder_at,
                    "snapshot_run": base.run_id,
                    "changes_from_ms": base.changes_from_ms,
                }),
                check: Check::State(export.clone()),
            });
        }
        shop_exports.insert(at.to_string(), export);
    }
    // orders is restorable up to its first stream's end only: rewind counts the time between
    // one stream's end and the next one's start as a hole that only a full backup taken after it
    // bridges (and a full backup needs DynamoDB). So its states are taken before the new stream,
    // one of them over a compacted snapshot whose rows carry their versions' labels.
    let second = |ms: i64| iso_ms(ms - ms.rem_euclid(1000)).replace(".000Z", "Z");
    let orders_snapshot_at = second(orders[150].approximate_creation_time_ms);
    rewind_json(&[
        "compact",
        "--table",
        changelog::TABLE,
        "--store",
        &store_dir,
        "--at",
        &orders_snapshot_at,
        "--no-probe",
    ]);
    let orders_bases = snapshots(&store, changelog::TABLE).await;
    assert_eq!(orders_bases.len(), 1, "{orders_bases:?}");
    let orders_points = [
        second(orders[100].approximate_creation_time_ms),
        second(orders[300].approximate_creation_time_ms),
    ];
    let mut orders_exports = BTreeMap::new();
    for at in &orders_points {
        let export = fx.restore(changelog::TABLE, at, &orders_keys);
        let bases: Vec<&Base> = orders_bases
            .iter()
            .filter(|b| b.valid_from * 1000 <= epoch_ms(at))
            .chain([&no_base])
            .collect();
        for base in bases {
            queries.push(Query {
                name: format!("state orders {at} base {}", base.folder_at),
                file: "state_at.sql",
                params: json!({
                    "table": changelog::TABLE,
                    "at": athena_time(at),
                    "snapshot_at": base.folder_at,
                    "snapshot_run": base.run_id,
                    "changes_from_ms": base.changes_from_ms,
                }),
                check: Check::State(export.clone()),
            });
        }
        orders_exports.insert(at.clone(), export);
    }
    assert!(
        queries
            .iter()
            .any(|q| q.name.starts_with("state orders") && !q.name.ends_with("none")),
        "a state of orders over its snapshot"
    );

    // Item X as of T: the item with the most versions, items deleted by TTL and by the
    // application before T, one first written after T, one never written.
    let mut item_queries = |table: &str,
                            at: &str,
                            recs: &[ChangeRecord],
                            export: Option<&BTreeMap<String, Value>>,
                            picks: Vec<String>| {
        let until_ms = epoch_ms(at) + 1000;
        for keys in picks {
            queries.push(Query {
                name: format!("item {table} {keys} at {at}"),
                file: "item_as_of.sql",
                params: json!({"table": table, "keys": keys, "at": athena_time(at)}),
                check: Check::Item {
                    last: last_version(recs, &keys, until_ms).map(Box::new),
                    export: export.map(|e| e.get(&keys).cloned()),
                    history: fx.history(table, &keys),
                    until_ms,
                },
            });
        }
    };
    let at = "2026-11-26T06:20:00Z";
    let until_ms = epoch_ms(at) + 1000;
    let mut versions: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &shop {
        *versions.entry(&r.keys).or_default() += 1;
    }
    let busiest = versions
        .iter()
        .max_by_key(|(_, n)| **n)
        .unwrap()
        .0
        .to_string();
    let last_is = |ttl: bool| {
        shop.iter()
            .map(|r| r.keys.as_str())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .find(|k| {
                last_version(&shop, k, until_ms)
                    .is_some_and(|v| v.event_name == EventName::Remove && is_ttl(&v) == ttl)
            })
            .unwrap_or_else(|| panic!("no item deleted (ttl: {ttl}) before {at}"))
            .to_string()
    };
    let later = shop
        .iter()
        .filter(|r| r.approximate_creation_time_ms >= until_ms && r.event_name == EventName::Insert)
        .find(|r| last_version(&shop, &r.keys, until_ms).is_none())
        .expect("an item first written after T")
        .keys
        .clone();
    let picks = vec![
        busiest,
        last_is(true),
        last_is(false),
        later,
        r#"{"pk":{"S":"nobody"},"sk":{"S":"x"}}"#.to_string(),
    ];
    item_queries("shop", at, &shop, Some(&shop_exports[at]), picks);
    // Every orders item, before the new stream (against the export) and after it, where its
    // sequence numbers start low again (against rewind's order of versions and `history`).
    let picks = || -> Vec<String> {
        (0..24)
            .map(|k| format!(r#"{{"pk":{{"S":"k{k}"}}}}"#))
            .collect()
    };
    let orders_at = &orders_points[1];
    item_queries(
        changelog::TABLE,
        orders_at,
        &orders_read,
        Some(&orders_exports[orders_at]),
        picks(),
    );
    let after_new_stream = second(orders[420].approximate_creation_time_ms);
    item_queries(
        changelog::TABLE,
        &after_new_stream,
        &orders_read,
        None,
        picks(),
    );

    // Changes per hour per event type.
    queries.push(Query {
        name: "per hour shop".into(),
        file: "changes_per_hour.sql",
        params: json!({"table": "shop", "from_day": "2026-11-26", "to_day": "2026-11-26"}),
        check: Check::PerHour(per_hour(&shop)),
    });
    queries.push(Query {
        name: "per hour orders".into(),
        file: "changes_per_hour.sql",
        params: json!({"table": changelog::TABLE, "from_day": "2026-11-26", "to_day": "2026-11-27"}),
        check: Check::PerHour(per_hour(&orders_read)),
    });
    // The workload's own counts of what it generated.
    let shop_hours = per_hour(&shop);
    for (event, field) in [
        ("INSERT", "inserts"),
        ("MODIFY", "modifies"),
        ("REMOVE", "removes"),
    ] {
        let generated: u64 = shop_hours
            .iter()
            .filter(|((_, _, e), _)| e == event)
            .map(|(_, (c, _))| c)
            .sum();
        assert_eq!(generated, n(field), "{event}");
    }

    // How many orders changed status per hour (DESIGN's example), from one value to another.
    let status = transitions(&shop, "status");
    assert!(status.len() >= 4, "{status:?}");
    queries.push(Query {
        name: "status changes shop".into(),
        file: "value_changes_per_hour.sql",
        params: json!({"table": "shop", "attribute": "status", "from_day": "2026-11-26", "to_day": "2026-11-26"}),
        check: Check::Transitions(status),
    });

    // The same on orders: copies of records, two streams, and a range that starts after the
    // first day, so the value before a change often lies before the range.
    let orders_status = transitions(&orders_read, "status");
    for (from_day, to_day) in [("2026-11-26", "2026-11-27"), ("2026-11-27", "2026-11-27")] {
        let want: BTreeMap<_, _> = orders_status
            .iter()
            .filter(|((dt, ..), _)| (from_day..=to_day).contains(&dt.as_str()))
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        assert!(!want.is_empty());
        queries.push(Query {
            name: format!("status changes orders {from_day}..{to_day}"),
            file: "value_changes_per_hour.sql",
            params: json!({"table": changelog::TABLE, "attribute": "status", "from_day": from_day, "to_day": to_day}),
            check: Check::Transitions(want),
        });
    }

    // Deleted items in a range, TTL told apart.
    let shop_from = "2026-11-26T06:00:00Z";
    let shop_to = "2026-11-26T06:25:00Z";
    let shop_deleted = deleted(&shop, epoch_ms(shop_from), epoch_ms(shop_to));
    assert_eq!(shop_deleted.len() as u64, n("removes"));
    assert_eq!(
        shop_deleted.iter().filter(|d| d.2).count() as u64,
        n("ttl_removes")
    );
    queries.push(Query {
        name: "deleted shop".into(),
        file: "deleted_items.sql",
        params: json!({"table": "shop", "from": athena_time(shop_from), "to": athena_time(shop_to)}),
        check: Check::Deleted(shop_deleted),
    });
    // Over midnight, on the other table.
    let (from, to) = ("2026-11-26T20:00:00Z", "2026-11-27T04:30:00Z");
    let orders_deleted = deleted(&orders_read, epoch_ms(from), epoch_ms(to));
    assert!(orders_deleted.iter().any(|d| d.2) && orders_deleted.iter().any(|d| !d.2));
    queries.push(Query {
        name: "deleted orders over midnight".into(),
        file: "deleted_items.sql",
        params: json!({"table": changelog::TABLE, "from": athena_time(from), "to": athena_time(to)}),
        check: Check::Deleted(orders_deleted),
    });

    // Run them all in one DuckDB session.
    let repo = rewind_e2e::repo_root();
    let job = json!({
        "store": store_dir,
        "template": repo.join("deploy/athena.yaml"),
        "sql_dir": repo.join("deploy/athena"),
        "format_md": repo.join("docs/FORMAT.md"),
        "queries": queries.iter().map(|q| json!({"name": q.name, "file": q.file, "params": q.params})).collect::<Vec<_>>(),
    });
    let job_path = root.join("job.json");
    std::fs::write(&job_path, serde_json::to_vec_pretty(&job).unwrap()).unwrap();
    let script = std::fs::read_to_string(repo.join("tests/athena/run_queries.py")).unwrap();
    let out = rewind_e2e::run_python(&script, &[job_path.to_str().unwrap()]);
    let answer: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));

    // The views saw both tables' change files, over many hours and two days, and all three
    // snapshots (shop's full backup and compacted snapshot, orders' compacted snapshot).
    let partitions = &answer["tables"]["rewind_changes"]["partitions"];
    let orders_hours: Vec<&Value> = partitions
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p[0] == changelog::TABLE)
        .collect();
    assert!(orders_hours.len() > 20, "{partitions}");
    assert!(
        orders_hours.iter().any(|p| p[1] == "2026-11-27"),
        "{partitions}"
    );
    let snapshot_partitions = &answer["tables"]["rewind_snapshots"]["partitions"];
    assert_eq!(
        snapshot_partitions.as_array().unwrap().len(),
        3,
        "{snapshot_partitions}"
    );

    let mut compared = BTreeMap::<&str, u64>::new();
    for q in &queries {
        let result = &answer["results"][&q.name];
        let columns: Vec<&str> = result["columns"]
            .as_array()
            .unwrap_or_else(|| panic!("{}: no result in {answer:#}", q.name))
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        let rows: Vec<BTreeMap<&str, &Value>> = result["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| columns.iter().copied().zip(r.as_array().unwrap()).collect())
            .collect();
        let ctx = || {
            format!(
                "{} ({})\n{}",
                q.name,
                q.file,
                result["sql"].as_str().unwrap()
            )
        };
        match &q.check {
            Check::State(export) => {
                let got: BTreeMap<String, Value> = rows
                    .iter()
                    .map(|r| {
                        let item = r["item"]
                            .as_str()
                            .unwrap_or_else(|| panic!("{}: a row without an item: {r:?}", ctx()));
                        let item: Value = serde_json::from_str(item).unwrap();
                        (r["keys"].as_str().unwrap().to_string(), item)
                    })
                    .collect();
                assert_eq!(got.len(), rows.len(), "one row per key: {}", ctx());
                let missing: Vec<_> = export.keys().filter(|k| !got.contains_key(*k)).collect();
                let extra: Vec<_> = got.keys().filter(|k| !export.contains_key(*k)).collect();
                let differ: Vec<_> = got
                    .iter()
                    .filter(|(k, v)| export.get(*k).is_some_and(|e| e != *v))
                    .map(|(k, _)| k)
                    .collect();
                assert!(
                    missing.is_empty() && extra.is_empty() && differ.is_empty(),
                    "{}\nmissing {missing:?}\nextra {extra:?}\ndiffering {differ:?}",
                    ctx()
                );
                *compared.entry("state items").or_default() += got.len() as u64;
            }
            Check::Item {
                last,
                export,
                history,
                until_ms,
            } => {
                // rewind history's last version up to T is the same as the change files'.
                let from_history = history
                    .as_array()
                    .unwrap()
                    .iter()
                    .rfind(|v| epoch_ms(v["at"].as_str().unwrap()) < *until_ms);
                match (last, rows.as_slice()) {
                    (None, []) => {
                        assert!(from_history.is_none(), "{}", ctx());
                        assert!(export.as_ref().is_none_or(Option::is_none), "{}", ctx());
                    }
                    (Some(v), [row]) => {
                        let h = from_history.unwrap_or_else(|| panic!("history: {}", ctx()));
                        assert_eq!(h["sequence_number"], v.sequence_number.as_str());
                        assert_eq!(row["last_event"], v.event_name.as_str(), "{}", ctx());
                        assert_eq!(row["stream_label"], v.stream_label.as_str(), "{}", ctx());
                        assert_eq!(
                            row["sequence_number"],
                            v.sequence_number.as_str(),
                            "{}",
                            ctx()
                        );
                        assert_eq!(
                            row["changed_at"],
                            iso_ms(v.approximate_creation_time_ms).as_str(),
                            "{}",
                            ctx()
                        );
                        let exists = row["exists_at_t"].as_bool().unwrap();
                        assert_eq!(exists, v.event_name != EventName::Remove, "{}", ctx());
                        if exists {
                            let item: Value =
                                serde_json::from_str(row["item"].as_str().unwrap()).unwrap();
                            let want: Value =
                                serde_json::from_str(v.new_image.as_deref().unwrap()).unwrap();
                            assert_eq!(item, want, "{}", ctx());
                            assert_eq!(h["new_image"], want, "{}", ctx());
                        } else {
                            assert!(row["item"].is_null(), "{}", ctx());
                        }
                        if let Some(in_export) = export {
                            assert_eq!(exists, in_export.is_some(), "{}", ctx());
                            if let Some(e) = in_export {
                                let item: Value =
                                    serde_json::from_str(row["item"].as_str().unwrap()).unwrap();
                                assert_eq!(&item, e, "{}", ctx());
                            }
                        }
                    }
                    _ => panic!("{}: want {last:?}, got {rows:?}", ctx()),
                }
                *compared.entry("items as of").or_default() += 1;
            }
            Check::PerHour(want) => {
                let got: BTreeMap<HourEvent, (u64, u64)> = rows
                    .iter()
                    .map(|r| {
                        (
                            (
                                r["dt"].as_str().unwrap().to_string(),
                                r["hour"].as_i64().unwrap(),
                                r["event_name"].as_str().unwrap().to_string(),
                            ),
                            (r["changes"].as_u64().unwrap(), r["items"].as_u64().unwrap()),
                        )
                    })
                    .collect();
                assert_eq!(&got, want, "{}", ctx());
                *compared.entry("hour groups").or_default() += got.len() as u64;
                *compared.entry("records counted").or_default() +=
                    got.values().map(|(c, _)| c).sum::<u64>();
            }
            Check::Transitions(want) => {
                let got: BTreeMap<HourChange, u64> = rows
                    .iter()
                    .map(|r| {
                        (
                            (
                                r["dt"].as_str().unwrap().to_string(),
                                r["hour"].as_i64().unwrap(),
                                r["from_value"].as_str().unwrap().to_string(),
                                r["to_value"].as_str().unwrap().to_string(),
                            ),
                            r["changes"].as_u64().unwrap(),
                        )
                    })
                    .collect();
                assert_eq!(&got, want, "{}", ctx());
                *compared.entry("value changes").or_default() += got.values().sum::<u64>();
            }
            Check::Deleted(want) => {
                let got: BTreeSet<Deletion> = rows
                    .iter()
                    .map(|r| {
                        (
                            r["keys"].as_str().unwrap().to_string(),
                            r["deleted_at"].as_str().unwrap().to_string(),
                            r["ttl_delete"].as_bool().unwrap(),
                            r["deleted_item"].as_str().map(str::to_string),
                        )
                    })
                    .collect();
                assert_eq!(got.len(), rows.len(), "one row per deletion: {}", ctx());
                assert_eq!(&got, want, "{}", ctx());
                *compared.entry("deletions").or_default() += got.len() as u64;
                *compared.entry("ttl deletions").or_default() +=
                    got.iter().filter(|d| d.2).count() as u64;
            }
        }
    }
    eprintln!("compared: {compared:?} over {} queries", queries.len());
}
