//! Table-driven planner tests: the restorable window ([`restorable_window`]) and the plan
//! ([`plan_restore`]) on hand-made catalogs. Every case states its exact expected intervals, plan
//! fields or refusal; nothing is computed by the code under test and compared with itself.
//!
//! Times are written as `HH:MM:SS[.mmm]` on 2026-11-26 (UTC) unless a full RFC 3339 time is given.
//! The usual table ([`Cat::whole_life`]) was created at 06:00:00 with its stream (label
//! `2026-11-26T06:00:00.000`), and capture has read its one shard through 09:00:00.500, so the
//! watermark is the last full second of 09:00:00.500 − 2 s = 08:59:58.500, that is 08:59:57.

use crate::at::{format_second, AtSpec};
use crate::error::ReplayError;
use crate::plan::{plan_restore, Plan, PlanOptions};
use crate::state::StampRange;
use crate::window::{
    restorable_window, BaseRef, Interval, SnapshotUse, Span, WholeLife, WindowOptions,
};
use chrono::{DateTime, Utc};
use rewind_catalog::description::{KeySchemaElement, ProvisionedThroughput, StreamSetting};
use rewind_catalog::layout::{self, ChangeFile, HourPartition, SnapshotFile};
use rewind_catalog::{
    Catalog, CatalogFile, DescribedAt, QuarantineEntry, ScanInfo, SnapshotInfo, WholeLifeEvidence,
    WholeLifeVerdict,
};
use rewind_catalog::{Checkpoint, Gap, TableDescription};

const TABLE: &str = "shop";
const L1: &str = "2026-11-26T06:00:00.000";
const L2: &str = "2026-11-26T08:00:00.000";
const S1: &str = "shardId-1";
const BACKUP: &str = "take a full backup (rewind backup)";

// ---------------------------------------------------------------------------------------------
// Time helpers

fn instant(t: &str) -> DateTime<Utc> {
    let full = if t.contains('T') {
        t.to_string()
    } else {
        format!("2026-11-26T{t}")
    };
    let full = if full.ends_with('Z') {
        full
    } else {
        format!("{full}Z")
    };
    DateTime::parse_from_rfc3339(&full)
        .unwrap_or_else(|e| panic!("test time {t:?}: {e}"))
        .with_timezone(&Utc)
}

/// A whole second.
fn s(t: &str) -> i64 {
    let at = instant(t);
    assert_eq!(at.timestamp_subsec_millis(), 0, "{t} is not a whole second");
    at.timestamp()
}

fn ms(t: &str) -> i64 {
    instant(t).timestamp_millis()
}

fn at(t: &str) -> AtSpec {
    AtSpec::Second(s(t))
}

fn iv(start: &str, end: &str) -> Interval {
    Interval {
        start: s(start),
        end: s(end),
    }
}

fn hour(h: &str) -> HourPartition {
    HourPartition::of(instant(&format!("{h}:00:00")))
}

// ---------------------------------------------------------------------------------------------
// Catalog builder

fn description(created: Option<&str>, version: i64) -> TableDescription {
    let key = |name: &str, kind: &str| KeySchemaElement {
        attribute_name: name.into(),
        key_type: kind.into(),
    };
    TableDescription {
        format_version: 1,
        table_name: TABLE.into(),
        table_arn: "arn:aws:dynamodb:us-east-1:123456789012:table/shop".into(),
        table_id: None,
        creation_date_time: created.map(|c| instant(c).to_rfc3339()),
        // RANGE first on purpose: the plan must put the hash key first.
        key_schema: vec![key("sk", "RANGE"), key("pk", "HASH")],
        attribute_definitions: Vec::new(),
        billing_mode: "PROVISIONED".into(),
        // The read capacity tells the versions apart.
        provisioned_throughput: Some(ProvisionedThroughput {
            read_capacity_units: version,
            write_capacity_units: 1,
        }),
        on_demand_throughput: None,
        global_secondary_indexes: Vec::new(),
        local_secondary_indexes: Vec::new(),
        table_class: None,
        time_to_live: None,
        sse: None,
        tags: Default::default(),
        stream: StreamSetting {
            enabled: true,
            view_type: Some("NEW_AND_OLD_IMAGES".into()),
            latest_stream_arn: None,
            latest_stream_label: Some(L1.into()),
        },
        deletion_protection_enabled: false,
        replica_regions: Vec::new(),
        global_table_version: None,
        table_status: None,
        item_count: None,
        table_size_bytes: None,
        captured_at: String::new(),
    }
}

fn version_of(d: &TableDescription) -> i64 {
    d.provisioned_throughput
        .as_ref()
        .unwrap()
        .read_capacity_units
}

/// A catalog under construction, with short names for its change files.
#[derive(Debug, Clone)]
struct Cat {
    catalog: Catalog,
    /// (short name, object key) of every change file.
    names: Vec<(&'static str, String)>,
}

impl Cat {
    fn bare() -> Self {
        Cat {
            catalog: Catalog {
                table: TABLE.into(),
                ..Catalog::default()
            },
            names: Vec::new(),
        }
    }

    /// Created at 06:00:00 with its stream L1; shard-1 read through 09:00:00.500, first read at
    /// 06:00:01; a full backup confirmed that the log covers the whole life. Watermark 08:59:57.
    fn whole_life() -> Self {
        Cat::bare()
            .described("06:00:00", Some("06:00:00"))
            .shard(L1, S1, None, "09:00:00.500", false)
            .confirmed()
    }

    /// A stored verdict: a full backup's Scan agreed with the log.
    fn confirmed(mut self) -> Self {
        self.catalog.whole_life = Some(WholeLifeEvidence {
            verdict: WholeLifeVerdict::Confirmed,
            snapshot: None,
            compared_at: None,
            reason: "agreed".into(),
            decided_at_ms: 0,
        });
        self
    }

    /// A stored verdict: an item the log never inserted.
    fn refuted(mut self, reason: &str) -> Self {
        self.catalog.whole_life = Some(WholeLifeEvidence {
            verdict: WholeLifeVerdict::Refuted,
            snapshot: None,
            compared_at: None,
            reason: reason.into(),
            decided_at_ms: 0,
        });
        self
    }

    /// [`Cat::whole_life`] with the usual change files (see [`Cat::usual_files`]).
    fn usual() -> Self {
        Cat::whole_life().usual_files()
    }

    /// A description written at `at`; versions count up from 1 in the order they are added.
    fn described(mut self, at: &str, created: Option<&str>) -> Self {
        let version = self.catalog.descriptions.len() as i64 + 1;
        self.catalog.descriptions.push(DescribedAt {
            at_ms: ms(at),
            key: layout::description_key(TABLE, instant(at)),
            description: description(created, version),
        });
        self.catalog.descriptions.sort_by_key(|d| d.at_ms);
        self
    }

    /// A shard checkpoint, first captured one second after its stream began.
    fn shard(
        mut self,
        label: &str,
        shard: &str,
        parent: Option<&str>,
        read_through: &str,
        ended: bool,
    ) -> Self {
        self.catalog.checkpoints.push(Checkpoint {
            table: TABLE.into(),
            stream_label: label.into(),
            shard_id: shard.into(),
            parent_shard_id: parent.map(str::to_string),
            last_sequence_number: None,
            last_stamp_ms: None,
            read_through_ms: ms(read_through),
            shard_ended: ended,
            updated_at_ms: ms(read_through),
            first_captured_ms: Some(ms(label) + 1_000),
        });
        self
    }

    /// Edits the last checkpoint added.
    fn last_checkpoint(mut self, edit: impl FnOnce(&mut Checkpoint)) -> Self {
        edit(self.catalog.checkpoints.last_mut().expect("a checkpoint"));
        self
    }

    fn file(mut self, name: &'static str, file: ChangeFile, size: u64) -> Self {
        let key = file.key();
        let parsed = ChangeFile::parse(&key).expect("the layout reads its own keys");
        self.catalog.change_files.push(CatalogFile {
            file: parsed,
            key: key.clone(),
            size,
        });
        // The catalog lists in key order, as the store does.
        self.catalog.change_files.sort_by(|a, b| a.key.cmp(&b.key));
        self.names.push((name, key));
        self
    }

    fn batch(self, name: &'static str, h: &str, first: u64, last: u64, size: u64) -> Self {
        let f = ChangeFile::batch(
            TABLE,
            hour(h),
            L1,
            S1,
            &first.to_string(),
            &last.to_string(),
        )
        .unwrap();
        self.file(name, f, size)
    }

    fn compacted(self, name: &'static str, h: &str, run: &str, size: u64) -> Self {
        let f = ChangeFile::compacted(TABLE, hour(h), run).unwrap();
        self.file(name, f, size)
    }

    /// Hour 06: a batch, a retried batch overlapping it, a compacted file duplicating both, and a
    /// late redrive of an older range; then one batch in each of hours 07, 08 and 09.
    fn usual_files(self) -> Self {
        self.batch("h06", "06", 1, 10, 100)
            .batch("h06-overlap", "06", 5, 20, 200)
            .compacted("h06-compacted", "06", "r-1", 300)
            .batch("h06-late", "06", 21, 25, 50)
            .batch("h07", "07", 30, 40, 400)
            .batch("h08", "08", 41, 50, 500)
            .batch("h09", "09", 51, 60, 600)
    }

    fn snapshot(mut self, at: &str, valid_from: &str, changes_from: &str) -> Self {
        let when = instant(at);
        let file = SnapshotFile {
            table: TABLE.into(),
            at: when,
            run_id: "run-1".into(),
            bucket: 0,
        };
        self.catalog.snapshots.push(SnapshotInfo {
            at: s(at),
            manifest_key: layout::snapshot_manifest(TABLE, when),
            valid_from: s(valid_from),
            changes_from_ms: ms(changes_from),
            files: vec![(file.key(), 1_000)],
            file_buckets: vec![0],
            buckets: 1,
            invalidated: false,
            scan: None,
        });
        self.catalog.snapshots.sort_by_key(|s| s.at);
        self
    }

    /// A full backup of stream `label` whose scan ran from `start` to `end`: valid from
    /// ceil(end) + 5 s, changes from floor(start) − 5 s (the backup's margins).
    fn backup(mut self, start: &str, end: &str, label: Option<&str>) -> Self {
        let valid_from = (ms(end) + 999).div_euclid(1000) + 5;
        let changes_from = ms(start).div_euclid(1000) * 1000 - 5_000;
        self = self.snapshot(
            &format_second(valid_from),
            &format_second(valid_from),
            &format_second(changes_from / 1000),
        );
        let snap = self
            .catalog
            .snapshots
            .iter_mut()
            .find(|x| x.at == valid_from)
            .unwrap();
        snap.scan = Some(ScanInfo {
            stream_label: label.map(str::to_string),
            scan_start_ms: ms(start),
            scan_end_ms: ms(end),
        });
        self
    }
    /// A compacted snapshot: exactly the state at `at`.
    fn compacted_snapshot(self, at: &str) -> Self {
        let next = format_second(s(at) + 1);
        self.snapshot(at, at, &next)
    }

    fn invalidate(mut self, at: &str) -> Self {
        let snap = self
            .catalog
            .snapshots
            .iter_mut()
            .find(|x| x.at == s(at))
            .expect("a snapshot at that time");
        snap.invalidated = true;
        self
    }

    fn gap(mut self, label: &str, after_stamp: Option<&str>, detected: &str) -> Self {
        self.catalog.gaps.push(Gap {
            table: TABLE.into(),
            stream_label: label.into(),
            shard_id: S1.into(),
            after_sequence_number: after_stamp.map(|_| format!("{:040}", 100)),
            after_stamp_ms: after_stamp.map(ms),
            read_through_ms: None,
            resumed_at_sequence_number: None,
            detected_at_ms: ms(detected),
            reason: "trimmed".into(),
        });
        self
    }

    fn quarantined(mut self, name: &str, stamp: Option<&str>, ingested: &str) -> Self {
        self.catalog.quarantined.push(QuarantineEntry {
            key: quarantine_key(name),
            stamp_ms: stamp.map(ms),
            ingested_at_ms: ms(ingested),
        });
        self
    }

    /// The short names of the plan's files, checking they are in key order.
    fn names_of(&self, plan: &Plan) -> Vec<&'static str> {
        let keys: Vec<&str> = plan.files.iter().map(|f| f.key.as_str()).collect();
        assert!(
            keys.windows(2).all(|w| w[0] < w[1]),
            "files in key order, once each: {keys:?}"
        );
        plan.files
            .iter()
            .map(|f| {
                let (name, _) = self
                    .names
                    .iter()
                    .find(|(_, k)| *k == f.key)
                    .unwrap_or_else(|| panic!("unknown file {}", f.key));
                let listed = self
                    .catalog
                    .change_files
                    .iter()
                    .find(|c| c.key == f.key)
                    .unwrap();
                assert_eq!(f.size, listed.size, "pinned at its listed size");
                *name
            })
            .collect()
    }
}

fn quarantine_key(name: &str) -> String {
    format!("quarantine/table=shop/dt=2026-11-26/{name}.json")
}

// ---------------------------------------------------------------------------------------------
// Plan cases

#[derive(Debug)]
enum Want {
    /// A plan: resolved second, base snapshot (by its time), first stamp applied, pinned files
    /// (short names, any order), quarantined records skipped.
    Plan {
        at: &'static str,
        base: Option<&'static str>,
        from: Option<&'static str>,
        files: &'static [&'static str],
        skipped: &'static [&'static str],
    },
    /// Refused as outside the window, with the nearest restorable seconds.
    Outside {
        at: &'static str,
        before: Option<&'static str>,
        after: Option<&'static str>,
    },
    /// Nothing restorable; the message holds every one of these.
    Nothing(Vec<&'static str>),
    /// Refused over quarantined records.
    Quarantined { count: usize, first: &'static str },
}

struct Case {
    name: &'static str,
    cat: Cat,
    at: AtSpec,
    skip_quarantined: bool,
    want: Want,
    /// The restorable window a plan carries or a refusal names, written out (first and last
    /// second of each interval, as `at` reads them).
    window: Option<&'static [(&'static str, &'static str)]>,
}

impl Case {
    fn window(self, window: &'static [(&'static str, &'static str)]) -> Case {
        Case {
            window: Some(window),
            ..self
        }
    }

    /// The written-out window; every case that plans or is refused as outside has one.
    fn expected_window(&self) -> Vec<Interval> {
        self.window
            .unwrap_or_else(|| panic!("{}: write out the window it expects", self.name))
            .iter()
            .map(|(a, b)| iv(a, b))
            .collect()
    }
}

fn case(name: &'static str, cat: Cat, at: AtSpec, want: Want) -> Case {
    Case {
        name,
        cat,
        at,
        skip_quarantined: false,
        want,
        window: None,
    }
}

fn plan_of(cat: &Cat, at: AtSpec) -> Plan {
    plan_restore(&cat.catalog, at, &PlanOptions::default()).expect("plans")
}

fn run(cases: Vec<Case>) {
    for c in cases {
        let name = c.name;
        let opts = PlanOptions {
            skip_quarantined: c.skip_quarantined,
            ..PlanOptions::default()
        };
        let got = plan_restore(&c.cat.catalog, c.at, &opts);
        match (&c.want, got) {
            (
                Want::Plan {
                    at,
                    base,
                    from,
                    files,
                    skipped,
                },
                Ok(plan),
            ) => {
                assert_eq!(plan.table, TABLE, "{name}");
                assert_eq!(plan.requested, c.at.to_string(), "{name}: requested");
                assert_eq!(
                    format_second(plan.at),
                    format_second(s(at)),
                    "{name}: resolved point"
                );
                assert_eq!(
                    plan.base.as_ref().map(|b| format_second(b.at)),
                    base.map(|b| format_second(s(b))),
                    "{name}: base"
                );
                if let Some(b) = &plan.base {
                    assert!(!b.invalidated, "{name}: an invalidated base");
                    assert!(
                        c.cat.catalog.snapshots.contains(b),
                        "{name}: base is the catalog's snapshot"
                    );
                }
                assert_eq!(
                    plan.changes,
                    StampRange {
                        from_ms: from.map(ms),
                        until_ms: (s(at) + 1) * 1000,
                    },
                    "{name}: stamp range"
                );
                let mut got_files = c.cat.names_of(&plan);
                let mut want_files = files.to_vec();
                got_files.sort_unstable();
                want_files.sort_unstable();
                assert_eq!(got_files, want_files, "{name}: pinned files");
                let want_skipped: Vec<String> = skipped.iter().map(|q| quarantine_key(q)).collect();
                assert_eq!(
                    plan.skipped_quarantine, want_skipped,
                    "{name}: skipped quarantine"
                );
                assert_eq!(plan.window, c.expected_window(), "{name}: window");
                assert!(
                    plan.watermark
                        .is_some_and(|w| plan.window.iter().all(|i| i.end <= w)),
                    "{name}: nothing restorable after the watermark {:?}",
                    plan.watermark
                );
                assert!(
                    plan.window.iter().any(|i| i.contains(plan.at)),
                    "{name}: the point is in the window"
                );
            }
            (Want::Outside { at, before, after }, Err(e)) => {
                let message = e.to_string();
                let ReplayError::OutsideWindow {
                    table,
                    at: got_at,
                    window,
                    nearest_before,
                    nearest_after,
                } = e
                else {
                    panic!("{name}: wanted OutsideWindow, got {e:?}");
                };
                assert_eq!(table, TABLE, "{name}");
                assert_eq!(got_at, format_second(s(at)), "{name}: refused point");
                assert_eq!(window, c.expected_window(), "{name}: window named");
                assert_eq!(
                    (
                        nearest_before.map(format_second),
                        nearest_after.map(format_second)
                    ),
                    (
                        before.map(|b| format_second(s(b))),
                        after.map(|a| format_second(s(a)))
                    ),
                    "{name}: nearest points"
                );
                assert!(
                    message.starts_with(&format!(
                        "{} is outside the restorable window of shop (restorable: ",
                        format_second(s(at))
                    )),
                    "{name}: {message}"
                );
                let tail = match (before, after) {
                    (Some(b), Some(a)) => format!(
                        "; nearest restorable points: {} and {}",
                        format_second(s(b)),
                        format_second(s(a))
                    ),
                    (Some(p), None) | (None, Some(p)) => {
                        format!("; nearest restorable point: {}", format_second(s(p)))
                    }
                    (None, None) => String::new(),
                };
                assert!(message.ends_with(&tail), "{name}: {message}");
            }
            (Want::Nothing(parts), Err(e)) => {
                let message = e.to_string();
                assert!(
                    matches!(&e, ReplayError::NothingRestorable { table, .. } if table == TABLE),
                    "{name}: wanted NothingRestorable, got {e:?}"
                );
                assert!(e.is_bad_input(), "{name}");
                assert!(message.starts_with("table shop: "), "{name}: {message}");
                for part in parts {
                    assert!(message.contains(part), "{name}: {message:?} lacks {part:?}");
                }
            }
            (Want::Quarantined { count, first }, Err(e)) => {
                let message = e.to_string();
                let ReplayError::Quarantined {
                    table,
                    count: got_count,
                    first: got_first,
                } = e
                else {
                    panic!("{name}: wanted Quarantined, got {e:?}");
                };
                assert_eq!(
                    (table.as_str(), got_count, got_first),
                    (TABLE, *count, quarantine_key(first)),
                    "{name}"
                );
                assert!(message.contains("--skip-quarantined"), "{name}: {message}");
            }
            (want, got) => panic!("{name}: wanted {want:?}, got {got:?}"),
        }
    }
}

fn plan(
    at: &'static str,
    base: Option<&'static str>,
    from: Option<&'static str>,
    files: &'static [&'static str],
) -> Want {
    Want::Plan {
        at,
        base,
        from,
        files,
        skipped: &[],
    }
}

fn outside(at: &'static str, before: Option<&'static str>, after: Option<&'static str>) -> Want {
    Want::Outside { at, before, after }
}

const H06: [&str; 4] = ["h06", "h06-overlap", "h06-compacted", "h06-late"];
const H06_07: [&str; 5] = ["h06", "h06-overlap", "h06-compacted", "h06-late", "h07"];
const H06_08: [&str; 6] = [
    "h06",
    "h06-overlap",
    "h06-compacted",
    "h06-late",
    "h07",
    "h08",
];

// ---------------------------------------------------------------------------------------------
// The window

/// Window expectations: intervals, watermark, holes and whether the log covers the whole life.
struct WindowCase {
    name: &'static str,
    cat: Cat,
    intervals: Vec<Interval>,
    watermark: Option<&'static str>,
    holes: Vec<Interval>,
    whole_life: bool,
}

fn run_windows(cases: Vec<WindowCase>) {
    for c in cases {
        let name = c.name;
        let w = restorable_window(&c.cat.catalog, &WindowOptions::default());
        assert_eq!(w.intervals, c.intervals, "{name}: intervals");
        assert_eq!(
            w.watermark.map(format_second),
            c.watermark.map(|x| format_second(s(x))),
            "{name}: watermark"
        );
        let holes: Vec<Interval> = w
            .holes
            .iter()
            .map(|h| Interval {
                start: h.start,
                end: h.end,
            })
            .collect();
        assert_eq!(holes, c.holes, "{name}: holes");
        assert_eq!(
            w.not_whole_life().is_none(),
            c.whole_life,
            "{name}: whole life ({:?})",
            w.not_whole_life()
        );
        // Spans are sorted, each non-empty, and their union is the intervals.
        for span in &w.spans {
            assert!(span.interval.start <= span.interval.end, "{name}: {span:?}");
            assert!(
                w.intervals
                    .iter()
                    .any(|i| i.start <= span.interval.start && span.interval.end <= i.end),
                "{name}: {span:?} outside the intervals"
            );
        }
        for i in &w.intervals {
            for second in [i.start, i.end] {
                assert!(w.contains(second), "{name}");
                assert!(
                    w.spans.iter().any(|sp| sp.interval.contains(second)),
                    "{name}: {second} in no span"
                );
            }
        }
    }
}

#[test]
fn whole_life_window_is_stream_start_to_watermark() {
    let w = restorable_window(&Cat::whole_life().catalog, &WindowOptions::default());
    assert_eq!(w.intervals, vec![iv("06:00:00", "08:59:57")]);
    assert_eq!(
        w.spans,
        vec![Span {
            interval: iv("06:00:00", "08:59:57"),
            base: BaseRef::WholeLife,
            changes_from_ms: None,
        }]
    );
    assert_eq!(w.watermark, Some(s("08:59:57")));
    assert!(w.holes.is_empty());
    assert_eq!(w.not_whole_life(), None);
    assert_eq!(w.nearest(s("12:00:00")), (Some(s("08:59:57")), None));
    assert_eq!(w.nearest(s("05:00:00")), (None, Some(s("06:00:00"))));
    assert_eq!(
        w.nearest(s("07:00:00")),
        (Some(s("07:00:00")), Some(s("07:00:00")))
    );
}

#[test]
fn whole_life_restore_points() {
    run(vec![
        case(
            "latest is the watermark",
            Cat::usual(),
            AtSpec::Latest,
            plan("08:59:57", None, None, &H06_08),
        )
        .window(&[("06:00:00", "08:59:57")]),
        case(
            "exactly the stream's first second",
            Cat::usual(),
            at("06:00:00"),
            plan("06:00:00", None, None, &H06),
        )
        .window(&[("06:00:00", "08:59:57")]),
        case(
            "exactly the watermark",
            Cat::usual(),
            at("08:59:57"),
            plan("08:59:57", None, None, &H06_08),
        )
        .window(&[("06:00:00", "08:59:57")]),
        case(
            "one second after the watermark",
            Cat::usual(),
            at("08:59:58"),
            outside("08:59:58", Some("08:59:57"), None),
        )
        .window(&[("06:00:00", "08:59:57")]),
        case(
            "long after the watermark",
            Cat::usual(),
            at("2026-11-27T08:00:00"),
            outside("2026-11-27T08:00:00", Some("08:59:57"), None),
        )
        .window(&[("06:00:00", "08:59:57")]),
        case(
            "one second before the table existed",
            Cat::usual(),
            at("05:59:59"),
            outside("05:59:59", None, Some("06:00:00")),
        )
        .window(&[("06:00:00", "08:59:57")]),
        case(
            "a day before the table existed",
            Cat::usual(),
            at("2026-11-25T06:00:00"),
            outside("2026-11-25T06:00:00", None, Some("06:00:00")),
        )
        .window(&[("06:00:00", "08:59:57")]),
        case(
            "a stream created 0.9 s after the table starts at its own second",
            Cat::bare()
                .described("06:00:00", Some("06:00:00"))
                .shard("2026-11-26T06:00:00.900", S1, None, "09:00:00.500", false)
                .confirmed(),
            at("05:59:59"),
            outside("05:59:59", None, Some("06:00:00")),
        )
        .window(&[("06:00:00", "08:59:57")]),
    ]);
}

#[test]
fn whole_life_rule() {
    let not_whole = |name, cat| case(name, cat, AtSpec::Latest, Want::Nothing(vec![]));
    let unconfirmed = || Cat::bare().shard(L1, S1, None, "09:00:00.500", false);
    let mut cases = vec![
        not_whole(
            "stream enabled an hour after the table was created, nothing confirmed",
            unconfirmed().described("06:00:00", Some("05:00:00")),
        ),
        not_whole(
            "stream enabled within a second of creation, nothing confirmed (the moto case)",
            unconfirmed().described("06:00:00", Some("05:59:59.900")),
        ),
        not_whole(
            "stream given at creation, nothing confirmed",
            unconfirmed().described("06:00:00", Some("06:00:00")),
        ),
        not_whole(
            "capture first read the shard 24 h + 1 s after the stream began",
            Cat::whole_life().last_checkpoint(|c| {
                c.first_captured_ms = Some(ms("2026-11-27T06:00:01"));
            }),
        ),
        not_whole(
            "capture first read the shard exactly 24 h after the stream began",
            Cat::whole_life().last_checkpoint(|c| {
                c.first_captured_ms = Some(ms("2026-11-27T06:00:00"));
            }),
        ),
        not_whole(
            "a checkpoint from before first_captured_ms existed",
            Cat::whole_life().last_checkpoint(|c| c.first_captured_ms = None),
        ),
        not_whole(
            "a root shard whose parent was never captured, first read late",
            Cat::bare()
                .described("06:00:00", Some("06:00:00"))
                .shard(L1, "shardId-2", Some("shardId-0"), "09:00:00.500", false)
                .last_checkpoint(|c| c.first_captured_ms = Some(ms("2026-11-27T07:00:00")))
                .confirmed(),
        ),
        not_whole(
            "records lost before the first capture",
            Cat::whole_life().gap(L1, None, "06:30:00"),
        ),
        not_whole(
            "refuted by an item without an INSERT",
            unconfirmed().refuted("item {\"pk\":{\"S\":\"a\"}} has no INSERT in the change log"),
        ),
    ];
    let reasons = [
        "not confirmed: items written before the stream began would be missing",
        "not confirmed: items written before the stream began would be missing",
        "not confirmed: items written before the stream began would be missing",
        "capture first read stream 2026-11-26T06:00:00.000 more than 24 h after it began",
        "capture first read stream 2026-11-26T06:00:00.000 more than 24 h after it began",
        "shard shardId-1 of stream 2026-11-26T06:00:00.000 has no record of when capture first read it",
        "capture first read stream 2026-11-26T06:00:00.000 more than 24 h after it began",
        "stream 2026-11-26T06:00:00.000 lost records before its first capture",
        "has no INSERT in the change log",
    ];
    assert_eq!(cases.len(), reasons.len());
    for (c, reason) in cases.iter_mut().zip(reasons) {
        let w = restorable_window(&c.cat.catalog, &WindowOptions::default());
        assert!(
            w.not_whole_life().is_some_and(|r| r.contains(reason)),
            "{}: {:?}",
            c.name,
            w.not_whole_life()
        );
        assert!(w.intervals.is_empty(), "{}", c.name);
        assert!(w.spans.is_empty(), "{}", c.name);
        // No backup to compare with: nothing can confirm it yet.
        assert_eq!(w.confirm_with(), None, "{}", c.name);
        // The refusal says why and what to do.
        c.want = Want::Nothing(vec![
            "the change log does not cover the table's whole life (",
            reason,
            "no snapshot exists yet",
            BACKUP,
        ]);
    }
    // The same refusal for a point in time as for `latest`.
    cases.push(case(
        "a point in time, nothing confirmed",
        unconfirmed().described("06:00:00", Some("05:00:00")),
        at("07:00:00"),
        Want::Nothing(vec!["not confirmed", BACKUP]),
    ));
    run(cases);

    // What counts as the whole life: a confirmation, whatever the timing of the stream's
    // creation (the backup's Scan is the evidence, not the clock).
    let whole = |name, cat| WindowCase {
        name,
        cat,
        intervals: vec![iv("06:00:00", "08:59:57")],
        watermark: Some("08:59:57"),
        holes: vec![],
        whole_life: true,
    };
    run_windows(vec![
        whole(
            "stream enabled an hour after creation, confirmed by a backup",
            unconfirmed()
                .described("06:00:00", Some("05:00:00"))
                .confirmed(),
        ),
        whole(
            "confirmed, no description at all",
            unconfirmed().confirmed(),
        ),
        whole(
            "first read 1 ms short of 24 h",
            Cat::whole_life().last_checkpoint(|c| {
                c.first_captured_ms = Some(ms("2026-11-27T05:59:59.999"));
            }),
        ),
        whole(
            "a child shard without first_captured_ms (only roots matter)",
            Cat::whole_life()
                .last_checkpoint(|c| {
                    c.shard_ended = true;
                    c.read_through_ms = ms("07:00:00");
                })
                .shard(L1, "shardId-2", Some(S1), "09:00:00.500", false)
                .last_checkpoint(|c| c.first_captured_ms = None),
        ),
    ]);
}

/// A full backup is usable once capture covers its stream from before its changes begin, and
/// the first usable one in the first stream can settle the whole-life claim.
#[test]
fn full_backups_wait_for_capture() {
    let unconfirmed = || {
        Cat::bare().described("06:00:00", Some("06:00:00")).shard(
            L1,
            S1,
            None,
            "09:00:00.500",
            false,
        )
    };
    let status = |cat: &Cat| {
        let w = restorable_window(&cat.catalog, &WindowOptions::default());
        assert_eq!(w.snapshots.len(), 1);
        (w.snapshots[0].status.clone(), w)
    };

    // Scan 07:00:00–07:00:10: valid from 07:00:15, changes from 06:59:55.
    let (st, w) = status(&unconfirmed().backup("07:00:00", "07:00:10", Some(L1)));
    assert_eq!(st, SnapshotUse::Usable);
    assert_eq!(w.intervals, vec![iv("07:00:15", "08:59:57")]);
    assert_eq!(w.confirm_with(), Some(w.snapshots[0].manifest_key.as_str()));
    assert!(matches!(w.whole_life, WholeLife::Unconfirmed { .. }));
    assert!(w
        .not_whole_life()
        .unwrap()
        .contains("is compared with the change log"));

    // Taken before capture ran: no checkpoint of its stream yet.
    let (st, w) = status(&Cat::bare().described("06:00:00", Some("06:00:00")).backup(
        "07:00:00",
        "07:00:10",
        Some(L1),
    ));
    assert!(
        matches!(&st, SnapshotUse::WaitingForCapture(r) if r.contains("has not read the table's stream 2026-11-26T06:00:00.000")),
        "{st:?}"
    );
    assert!(w.intervals.is_empty() && w.confirm_with().is_none());
    let err = plan_restore(
        &Cat::bare()
            .described("06:00:00", Some("06:00:00"))
            .backup("07:00:00", "07:00:10", Some(L1))
            .catalog,
        AtSpec::Latest,
        &PlanOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("capture has not run for this table")
            && err.contains("full backup at 2026-11-26T07:00:15Z is waiting for capture"),
        "{err}"
    );

    // Capture running, but not yet past the backup's first valid second.
    let (st, _) = status(
        &Cat::bare()
            .described("06:00:00", Some("06:00:00"))
            .shard(L1, S1, None, "07:00:10", false)
            .backup("07:00:00", "07:00:10", Some(L1)),
    );
    assert!(
        matches!(&st, SnapshotUse::WaitingForCapture(r) if r.contains("usable from 2026-11-26T07:00:15Z")),
        "{st:?}"
    );

    // Capture first read the stream more than 24 h after the scan's changes begin: records of
    // the scan's time may be gone. Refused, whatever the watermark.
    let late = || {
        Cat::bare()
            .described("06:00:00", Some("06:00:00"))
            .shard(L1, S1, None, "2026-11-27T09:00:00", false)
            .last_checkpoint(|c| c.first_captured_ms = Some(ms("2026-11-27T06:59:56")))
    };
    let (st, w) = status(&late().backup("07:00:00", "07:00:10", Some(L1)));
    assert!(
        matches!(&st, SnapshotUse::Refused(r) if r.contains("more than 24 h after the backup's changes begin")),
        "{st:?}"
    );
    assert!(w.intervals.is_empty());
    let err = plan_restore(
        &late().backup("07:00:00", "07:00:10", Some(L1)).catalog,
        AtSpec::Latest,
        &PlanOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("cannot be used: capture first read stream"),
        "{err}"
    );
    // 1 ms earlier is within 24 h of 06:59:55: usable.
    let (st, _) = status(
        &late()
            .last_checkpoint(|c| c.first_captured_ms = Some(ms("2026-11-27T06:59:54.999")))
            .backup("07:00:00", "07:00:10", Some(L1)),
    );
    assert_eq!(st, SnapshotUse::Usable);

    // A scan that began within the margin of the stream's creation: its changes start before
    // the stream, which is no loss (the scan saw everything older). Usable.
    let (st, _) = status(
        &Cat::bare()
            .described("06:00:00", Some("06:00:00"))
            .shard(L1, S1, None, "09:00:00.500", false)
            .backup("06:00:02", "06:00:03", Some(L1)),
    );
    assert_eq!(st, SnapshotUse::Usable);

    // A manifest from before the stream label was recorded: the backup then required capture.
    let (st, _) = status(&unconfirmed().backup("07:00:00", "07:00:10", None));
    assert_eq!(st, SnapshotUse::Usable);

    // A compacted snapshot never settles the claim (it was cut from the log itself).
    let w = restorable_window(
        &unconfirmed().compacted_snapshot("07:00:00").catalog,
        &WindowOptions::default(),
    );
    assert_eq!(w.snapshots[0].status, SnapshotUse::Usable);
    assert_eq!(w.confirm_with(), None);

    // Once confirmed, the log is restorable from the stream's first second.
    let w = restorable_window(
        &unconfirmed()
            .backup("07:00:00", "07:00:10", Some(L1))
            .confirmed()
            .catalog,
        &WindowOptions::default(),
    );
    assert_eq!(w.intervals, vec![iv("06:00:00", "08:59:57")]);
    // Refuted: only from the backup on, and never confirmable again.
    let w = restorable_window(
        &unconfirmed()
            .backup("07:00:00", "07:00:10", Some(L1))
            .refuted("item a has no INSERT")
            .catalog,
        &WindowOptions::default(),
    );
    assert_eq!(w.intervals, vec![iv("07:00:15", "08:59:57")]);
    assert_eq!(w.confirm_with(), None);
    assert_eq!(
        plan_restore(
            &unconfirmed()
                .backup("07:00:00", "07:00:10", Some(L1))
                .refuted("item a has no INSERT")
                .catalog,
            at("07:00:14"),
            &PlanOptions::default()
        )
        .unwrap_err()
        .to_string(),
        "2026-11-26T07:00:14Z is outside the restorable window of shop (restorable: 2026-11-26T07:00:15Z .. 2026-11-26T08:59:57Z); nearest restorable point: 2026-11-26T07:00:15Z"
    );
}

#[test]
fn gaps_split_the_window() {
    // Gap after a record stamped 07:00:05.300, noticed at 07:30:00: hole [07:00:05, 07:30:00].
    let gapped = || Cat::usual().gap(L1, Some("07:00:05.300"), "07:30:00");
    let hole = iv("07:00:05", "07:30:00");
    run_windows(vec![
        WindowCase {
            name: "a gap ends the whole-life span the second before its first second",
            cat: gapped(),
            intervals: vec![iv("06:00:00", "07:00:04")],
            watermark: Some("08:59:57"),
            holes: vec![hole],
            whole_life: true,
        },
        WindowCase {
            name: "scan snapshot needing changes from inside the hole",
            cat: gapped().snapshot("07:29:00", "07:35:00", "07:28:58"),
            intervals: vec![iv("06:00:00", "07:00:04")],
            watermark: Some("08:59:57"),
            holes: vec![hole],
            whole_life: true,
        },
        WindowCase {
            name: "scan snapshot needing changes from the hole's last second",
            cat: gapped().snapshot("07:30:02", "07:45:00", "07:30:00.500"),
            intervals: vec![iv("06:00:00", "07:00:04")],
            watermark: Some("08:59:57"),
            holes: vec![hole],
            whole_life: true,
        },
        WindowCase {
            name: "scan snapshot needing changes only after the hole",
            cat: gapped().snapshot("07:30:03", "07:45:00", "07:30:01"),
            intervals: vec![iv("06:00:00", "07:00:04"), iv("07:45:00", "08:59:57")],
            watermark: Some("08:59:57"),
            holes: vec![hole],
            whole_life: true,
        },
        WindowCase {
            name: "a scan snapshot named at its validity is not an instant: the hole still counts",
            cat: gapped().snapshot("07:45:00", "07:45:00", "07:10:00"),
            intervals: vec![iv("06:00:00", "07:00:04")],
            watermark: Some("08:59:57"),
            holes: vec![hole],
            whole_life: true,
        },
        WindowCase {
            name: "a gap of a table whose log is not whole-life, with a snapshot before it",
            cat: Cat::bare()
                .described("06:00:00", Some("05:00:00"))
                .shard(L1, S1, None, "09:00:00.500", false)
                .snapshot("06:10:00", "06:20:00", "06:09:58")
                .gap(L1, Some("07:00:05.300"), "07:30:00"),
            intervals: vec![iv("06:20:00", "07:00:04")],
            watermark: Some("08:59:57"),
            holes: vec![hole],
            whole_life: false,
        },
    ]);

    let scanned = || gapped().snapshot("07:30:03", "07:45:00", "07:30:01");
    run(vec![
        case(
            "the last second before the gap",
            gapped(),
            at("07:00:04"),
            plan("07:00:04", None, None, &H06_07),
        )
        .window(&[("06:00:00", "07:00:04")]),
        case(
            "the gap's first second",
            gapped(),
            at("07:00:05"),
            outside("07:00:05", Some("07:00:04"), None),
        )
        .window(&[("06:00:00", "07:00:04")]),
        case(
            "latest after a gap with no snapshot is refused, not moved back",
            gapped(),
            AtSpec::Latest,
            outside("08:59:57", Some("07:00:04"), None),
        )
        .window(&[("06:00:00", "07:00:04")]),
        case(
            "in the hole, a snapshot after it",
            scanned(),
            at("07:20:00"),
            outside("07:20:00", Some("07:00:04"), Some("07:45:00")),
        )
        .window(&[("06:00:00", "07:00:04"), ("07:45:00", "08:59:57")]),
        case(
            "after the hole, before the snapshot is valid",
            scanned(),
            at("07:44:59"),
            outside("07:44:59", Some("07:00:04"), Some("07:45:00")),
        )
        .window(&[("06:00:00", "07:00:04"), ("07:45:00", "08:59:57")]),
        case(
            "the scan snapshot's first valid second",
            scanned(),
            at("07:45:00"),
            plan("07:45:00", Some("07:30:03"), Some("07:30:01"), &["h07"]),
        )
        .window(&[("06:00:00", "07:00:04"), ("07:45:00", "08:59:57")]),
        case(
            "latest over the scan snapshot",
            scanned(),
            AtSpec::Latest,
            plan(
                "08:59:57",
                Some("07:30:03"),
                Some("07:30:01"),
                &["h07", "h08"],
            ),
        )
        .window(&[("06:00:00", "07:00:04"), ("07:45:00", "08:59:57")]),
        case(
            "before the gap the whole-life log is still used",
            scanned(),
            at("06:30:00"),
            plan("06:30:00", None, None, &H06),
        )
        .window(&[("06:00:00", "07:00:04"), ("07:45:00", "08:59:57")]),
    ]);
}

#[test]
fn re_enabled_stream() {
    // L1 disabled (its shard ended, read through 07:00:00), re-enabled as L2 at 08:00:00.
    let reenabled = || {
        Cat::usual()
            .last_checkpoint(|c| {
                c.shard_ended = true;
                c.read_through_ms = ms("07:00:00");
            })
            .shard(L2, "shardId-9", None, "09:00:00.500", false)
    };
    let hole = iv("06:59:58", "08:00:00");
    run_windows(vec![
        WindowCase {
            name: "hole from the first stream's end to the second stream's creation",
            cat: reenabled(),
            intervals: vec![iv("06:00:00", "06:59:57")],
            watermark: Some("08:59:57"),
            holes: vec![hole],
            whole_life: true,
        },
        WindowCase {
            name: "a snapshot on the second stream",
            cat: reenabled().snapshot("08:05:00", "08:10:00", "08:04:58"),
            intervals: vec![iv("06:00:00", "06:59:57"), iv("08:10:00", "08:59:57")],
            watermark: Some("08:59:57"),
            holes: vec![hole],
            whole_life: true,
        },
        WindowCase {
            name: "a snapshot needing changes from before the second stream",
            cat: reenabled().snapshot("08:00:30", "08:10:00", "07:59:59"),
            intervals: vec![iv("06:00:00", "06:59:57")],
            watermark: Some("08:59:57"),
            holes: vec![hole],
            whole_life: true,
        },
        WindowCase {
            name: "a stream enabled only later: not the whole life, nothing restorable",
            cat: Cat::bare().described("06:00:00", Some("06:00:00")).shard(
                L2,
                "shardId-9",
                None,
                "09:00:00.500",
                false,
            ),
            intervals: vec![],
            watermark: Some("08:59:57"),
            holes: vec![],
            whole_life: false,
        },
    ]);
    let w = restorable_window(&reenabled().catalog, &WindowOptions::default());
    assert_eq!(
        w.holes[0].reason,
        "stream 2026-11-26T06:00:00.000 ended and stream 2026-11-26T08:00:00.000 began: \
         changes in between were not streamed"
    );

    let with_snapshot = || reenabled().snapshot("08:05:00", "08:10:00", "08:04:58");
    run(vec![
        case(
            "the first stream's last full second",
            reenabled(),
            at("06:59:57"),
            plan("06:59:57", None, None, &H06),
        )
        .window(&[("06:00:00", "06:59:57")]),
        case(
            "between the streams",
            with_snapshot(),
            at("07:30:00"),
            outside("07:30:00", Some("06:59:57"), Some("08:10:00")),
        )
        .window(&[("06:00:00", "06:59:57"), ("08:10:00", "08:59:57")]),
        case(
            "the second stream's creation second",
            with_snapshot(),
            at("08:00:00"),
            outside("08:00:00", Some("06:59:57"), Some("08:10:00")),
        )
        .window(&[("06:00:00", "06:59:57"), ("08:10:00", "08:59:57")]),
        case(
            "latest with a snapshot on the second stream",
            with_snapshot(),
            AtSpec::Latest,
            plan("08:59:57", Some("08:05:00"), Some("08:04:58"), &["h08"]),
        )
        .window(&[("06:00:00", "06:59:57"), ("08:10:00", "08:59:57")]),
        case(
            "latest with no snapshot on the second stream",
            reenabled(),
            AtSpec::Latest,
            outside("08:59:57", Some("06:59:57"), None),
        )
        .window(&[("06:00:00", "06:59:57")]),
    ]);
}

#[test]
fn snapshots_as_bases() {
    let two = || {
        Cat::usual()
            .compacted_snapshot("07:00:00")
            .compacted_snapshot("08:00:00")
    };
    run(vec![
        case(
            "exactly on a compacted snapshot",
            Cat::usual().compacted_snapshot("07:00:00"),
            at("07:00:00"),
            plan("07:00:00", Some("07:00:00"), Some("07:00:01"), &["h07"]),
        )
        .window(&[("06:00:00", "08:59:57")]),
        case(
            "the newest valid snapshot wins",
            two(),
            at("08:30:00"),
            plan("08:30:00", Some("08:00:00"), Some("08:00:01"), &["h08"]),
        )
        .window(&[("06:00:00", "08:59:57")]),
        case(
            "between two snapshots the older one is the base",
            two(),
            at("07:59:59"),
            plan("07:59:59", Some("07:00:00"), Some("07:00:01"), &["h07"]),
        )
        .window(&[("06:00:00", "08:59:57")]),
        case(
            "an invalidated snapshot is skipped",
            two().invalidate("08:00:00"),
            at("08:30:00"),
            plan(
                "08:30:00",
                Some("07:00:00"),
                Some("07:00:01"),
                &["h07", "h08"],
            ),
        )
        .window(&[("06:00:00", "08:59:57")]),
        case(
            "every snapshot invalidated: the whole-life log",
            two().invalidate("07:00:00").invalidate("08:00:00"),
            at("08:30:00"),
            plan("08:30:00", None, None, &H06_08),
        )
        .window(&[("06:00:00", "08:59:57")]),
        case(
            "before the first snapshot: the whole-life log",
            two(),
            at("06:59:59"),
            plan("06:59:59", None, None, &H06),
        )
        .window(&[("06:00:00", "08:59:57")]),
        case(
            "a snapshot at an hour's last second needs no file at all",
            Cat::usual().compacted_snapshot("07:59:59"),
            at("07:59:59"),
            plan("07:59:59", Some("07:59:59"), Some("08:00:00"), &[]),
        )
        .window(&[("06:00:00", "08:59:57")]),
        case(
            "a scan snapshot whose changes start in the previous hour",
            Cat::usual().snapshot("07:00:00", "07:05:00", "06:59:58"),
            at("07:10:00"),
            plan("07:10:00", Some("07:00:00"), Some("06:59:58"), &H06_07),
        )
        .window(&[("06:00:00", "08:59:57")]),
        case(
            "a compacted snapshot newer than a scan snapshot wins",
            Cat::usual()
                .snapshot("07:00:00", "07:05:00", "06:59:58")
                .compacted_snapshot("07:02:00"),
            at("07:10:00"),
            plan("07:10:00", Some("07:02:00"), Some("07:02:01"), &["h07"]),
        )
        .window(&[("06:00:00", "08:59:57")]),
    ]);

    // A compacted snapshot's instant stays restorable inside a hole of the change log.
    let gapped = || Cat::usual().gap(L1, Some("07:00:05.300"), "07:30:00");
    run_windows(vec![
        WindowCase {
            name: "compacted snapshot inside the hole",
            cat: gapped().compacted_snapshot("07:10:00"),
            intervals: vec![iv("06:00:00", "07:00:04"), iv("07:10:00", "07:10:00")],
            watermark: Some("08:59:57"),
            holes: vec![iv("07:00:05", "07:30:00")],
            whole_life: true,
        },
        WindowCase {
            name: "compacted snapshot just before the hole",
            cat: gapped().compacted_snapshot("07:00:03"),
            intervals: vec![iv("06:00:00", "07:00:04")],
            watermark: Some("08:59:57"),
            holes: vec![iv("07:00:05", "07:30:00")],
            whole_life: true,
        },
        WindowCase {
            name: "compacted snapshot after the hole",
            cat: gapped().compacted_snapshot("07:40:00"),
            intervals: vec![iv("06:00:00", "07:00:04"), iv("07:40:00", "08:59:57")],
            watermark: Some("08:59:57"),
            holes: vec![iv("07:00:05", "07:30:00")],
            whole_life: true,
        },
        WindowCase {
            name: "invalidated compacted snapshot inside the hole",
            cat: gapped()
                .compacted_snapshot("07:10:00")
                .invalidate("07:10:00"),
            intervals: vec![iv("06:00:00", "07:00:04")],
            watermark: Some("08:59:57"),
            holes: vec![iv("07:00:05", "07:30:00")],
            whole_life: true,
        },
    ]);
    run(vec![
        case(
            "the compacted instant inside the hole",
            gapped().compacted_snapshot("07:10:00"),
            at("07:10:00"),
            plan("07:10:00", Some("07:10:00"), Some("07:10:01"), &["h07"]),
        )
        .window(&[("06:00:00", "07:00:04"), ("07:10:00", "07:10:00")]),
        case(
            "one second after the compacted instant inside the hole",
            gapped().compacted_snapshot("07:10:00"),
            at("07:10:01"),
            outside("07:10:01", Some("07:10:00"), None),
        )
        .window(&[("06:00:00", "07:00:04"), ("07:10:00", "07:10:00")]),
        case(
            "one second before it",
            gapped().compacted_snapshot("07:10:00"),
            at("07:09:59"),
            outside("07:09:59", Some("07:00:04"), Some("07:10:00")),
        )
        .window(&[("06:00:00", "07:00:04"), ("07:10:00", "07:10:00")]),
        case(
            "a snapshot just before the hole is the base up to the hole",
            gapped().compacted_snapshot("07:00:03"),
            at("07:00:04"),
            plan("07:00:04", Some("07:00:03"), Some("07:00:04"), &["h07"]),
        )
        .window(&[("06:00:00", "07:00:04")]),
    ]);
}

#[test]
fn file_selection() {
    let other_stream_file =
        ChangeFile::batch(TABLE, hour("07"), L2, "shardId-9", "1", "2").unwrap();
    run(vec![
        case(
            "overlapping, duplicate and late files are all pinned; later hours are not",
            Cat::usual(),
            at("08:30:00"),
            plan("08:30:00", None, None, &H06_08),
        )
        .window(&[("06:00:00", "08:59:57")]),
        case(
            "only the hours up to T's",
            Cat::usual(),
            at("06:59:59"),
            plan("06:59:59", None, None, &H06),
        )
        .window(&[("06:00:00", "08:59:57")]),
        case(
            "T at an hour's first second pins that hour",
            Cat::usual(),
            at("07:00:00"),
            plan("07:00:00", None, None, &H06_07),
        )
        .window(&[("06:00:00", "08:59:57")]),
        case(
            "with a base, no file before the base's hour",
            Cat::usual().compacted_snapshot("07:00:00"),
            at("08:30:00"),
            plan(
                "08:30:00",
                Some("07:00:00"),
                Some("07:00:01"),
                &["h07", "h08"],
            ),
        )
        .window(&[("06:00:00", "08:59:57")]),
        case(
            "files of every stream label in range are pinned",
            Cat::usual().file("h07-L2", other_stream_file, 70),
            at("07:30:00"),
            plan(
                "07:30:00",
                None,
                None,
                &[
                    "h06",
                    "h06-overlap",
                    "h06-compacted",
                    "h06-late",
                    "h07",
                    "h07-L2",
                ],
            ),
        )
        .window(&[("06:00:00", "08:59:57")]),
        case(
            "an empty table: checkpoints, no change files",
            Cat::whole_life(),
            AtSpec::Latest,
            plan("08:59:57", None, None, &[]),
        )
        .window(&[("06:00:00", "08:59:57")]),
    ]);
    let empty = plan_of(&Cat::whole_life(), AtSpec::Latest);
    assert_eq!((empty.input_bytes(), empty.buckets), (0, 16));
    let full = plan_of(&Cat::usual(), at("08:30:00"));
    assert_eq!(full.input_bytes(), 100 + 200 + 300 + 50 + 400 + 500);
    let based = plan_of(&Cat::usual().compacted_snapshot("07:00:00"), at("08:30:00"));
    assert_eq!(based.input_bytes(), 1_000 + 400 + 500, "base files count");
}

#[test]
fn watermark() {
    struct W {
        name: &'static str,
        cat: Cat,
        skew_ms: i64,
        watermark: &'static str,
    }
    let created = || {
        Cat::bare()
            .described("06:00:00", Some("06:00:00"))
            .confirmed()
    };
    let ended_parent = || created().shard(L1, S1, None, "07:00:00", true);
    let cases = vec![
        W {
            name: "one open shard",
            cat: Cat::whole_life(),
            skew_ms: 2_000,
            watermark: "08:59:57",
        },
        W {
            name: "read through the last ms of a second, after the skew",
            cat: created().shard(L1, S1, None, "09:00:02.999", false),
            skew_ms: 2_000,
            watermark: "09:00:00",
        },
        W {
            name: "one ms short of it",
            cat: created().shard(L1, S1, None, "09:00:02.998", false),
            skew_ms: 2_000,
            watermark: "08:59:59",
        },
        W {
            name: "no skew margin",
            cat: created().shard(L1, S1, None, "09:00:00.999", false),
            skew_ms: 0,
            watermark: "09:00:00",
        },
        W {
            name: "an ended shard whose child has a checkpoint does not bound it",
            cat: ended_parent().shard(L1, "shardId-2", Some(S1), "09:00:00.500", false),
            skew_ms: 2_000,
            watermark: "08:59:57",
        },
        W {
            name: "an ended shard with no child checkpoint bounds it",
            cat: ended_parent().shard(L1, "shardId-3", None, "09:00:00.500", false),
            skew_ms: 2_000,
            watermark: "06:59:57",
        },
        W {
            name: "a closed shard not yet read to its end bounds it, child or not",
            cat: created().shard(L1, S1, None, "07:00:00", false).shard(
                L1,
                "shardId-2",
                Some(S1),
                "09:00:00.500",
                false,
            ),
            skew_ms: 2_000,
            watermark: "06:59:57",
        },
        W {
            name: "ended parent and ended child: the grandchild bounds it",
            cat: ended_parent()
                .shard(L1, "shardId-2", Some(S1), "08:00:00", true)
                .shard(L1, "shardId-4", Some("shardId-2"), "09:00:00.500", false),
            skew_ms: 2_000,
            watermark: "08:59:57",
        },
        W {
            name: "a split: both children bound it",
            cat: ended_parent()
                .shard(L1, "shardId-2", Some(S1), "09:00:00.500", false)
                .shard(L1, "shardId-3", Some(S1), "08:30:00", false),
            skew_ms: 2_000,
            watermark: "08:29:57",
        },
        W {
            name: "a stale open shard holds it back",
            cat: Cat::whole_life().shard(L1, "shardId-3", None, "08:00:00", false),
            skew_ms: 2_000,
            watermark: "07:59:57",
        },
        W {
            name: "a captured record later than the read-through counts",
            cat: created()
                .shard(L1, S1, None, "08:00:00", false)
                .last_checkpoint(|c| {
                    c.last_sequence_number = Some(format!("{:040}", 7));
                    c.last_stamp_ms = Some(ms("08:30:00"));
                })
                .batch("h08", "08", 1, 7, 100),
            skew_ms: 2_000,
            watermark: "08:29:57",
        },
    ];
    for c in cases {
        let opts = WindowOptions {
            skew_margin_ms: c.skew_ms,
        };
        let w = restorable_window(&c.cat.catalog, &opts);
        assert_eq!(
            w.watermark.map(format_second),
            Some(format_second(s(c.watermark))),
            "{}",
            c.name
        );
        // The whole-life interval ends exactly there.
        assert_eq!(w.intervals, vec![iv("06:00:00", c.watermark)], "{}", c.name);
        // And `latest` resolves to it.
        let p = plan_restore(
            &c.cat.catalog,
            AtSpec::Latest,
            &PlanOptions {
                window: opts,
                ..PlanOptions::default()
            },
        )
        .unwrap();
        assert_eq!(
            format_second(p.at),
            format_second(s(c.watermark)),
            "{}",
            c.name
        );
    }
}

#[test]
fn quarantine() {
    let based = || Cat::usual().compacted_snapshot("08:00:00");
    let mut cases = vec![
        case(
            "a quarantined record stamped in range refuses",
            Cat::usual().quarantined("q1", Some("07:00:00"), "07:00:01"),
            at("08:30:00"),
            Want::Quarantined {
                count: 1,
                first: "q1",
            },
        ),
        case(
            "stamped in T's last millisecond",
            Cat::usual().quarantined("q1", Some("08:30:00.999"), "08:30:01"),
            at("08:30:00"),
            Want::Quarantined {
                count: 1,
                first: "q1",
            },
        ),
        case(
            "stamped after T: ignored",
            Cat::usual().quarantined("q1", Some("08:30:01"), "08:30:02"),
            at("08:30:00"),
            plan("08:30:00", None, None, &H06_08),
        )
        .window(&[("06:00:00", "08:59:57")]),
        case(
            "unknown stamp refuses (it may be anywhere)",
            Cat::usual().quarantined("q1", None, "09:00:00"),
            at("08:30:00"),
            Want::Quarantined {
                count: 1,
                first: "q1",
            },
        ),
        case(
            "two in range: counted, the first named",
            Cat::usual()
                .quarantined("q1", Some("07:00:00"), "07:00:01")
                .quarantined("q2", Some("06:00:00"), "06:00:01")
                .quarantined("q3", Some("08:45:00"), "08:45:01"),
            at("08:30:00"),
            Want::Quarantined {
                count: 2,
                first: "q1",
            },
        ),
        case(
            "stamped at the base's second: before the range, ignored",
            based().quarantined("q1", Some("08:00:00.500"), "08:00:01"),
            at("08:30:00"),
            plan("08:30:00", Some("08:00:00"), Some("08:00:01"), &["h08"]),
        )
        .window(&[("06:00:00", "08:59:57")]),
        case(
            "stamped right after the base: in range",
            based().quarantined("q1", Some("08:00:01"), "08:00:02"),
            at("08:30:00"),
            Want::Quarantined {
                count: 1,
                first: "q1",
            },
        ),
        case(
            "unknown stamp met before the base's range: ignored",
            based().quarantined("q1", None, "08:00:00.999"),
            at("08:30:00"),
            plan("08:30:00", Some("08:00:00"), Some("08:00:01"), &["h08"]),
        )
        .window(&[("06:00:00", "08:59:57")]),
        case(
            "unknown stamp met after the base: refuses",
            based().quarantined("q1", None, "08:00:01"),
            at("08:30:00"),
            Want::Quarantined {
                count: 1,
                first: "q1",
            },
        ),
    ];
    let mut skipping = case(
        "skip_quarantined lists them in the plan",
        Cat::usual()
            .quarantined("q1", Some("07:00:00"), "07:00:01")
            .quarantined("q2", None, "09:00:00")
            .quarantined("q3", Some("08:45:00"), "08:45:01"),
        at("08:30:00"),
        Want::Plan {
            at: "08:30:00",
            base: None,
            from: None,
            files: &H06_08,
            skipped: &["q1", "q2"],
        },
    )
    .window(&[("06:00:00", "08:59:57")]);
    skipping.skip_quarantined = true;
    cases.push(skipping);
    run(cases);
}

#[test]
fn description_in_force_at_t() {
    let versions = || {
        Cat::usual()
            .described("07:00:00", Some("06:00:00"))
            .described("08:00:00", Some("06:00:00"))
    };
    let late = || {
        Cat::bare()
            .described("06:30:00", Some("06:00:00"))
            .shard(L1, S1, None, "09:00:00.500", false)
            .confirmed()
    };
    for (name, cat, t, version) in [
        ("first version's first second", versions(), "06:00:00", 1),
        (
            "the second before the second version",
            versions(),
            "06:59:59",
            1,
        ),
        ("exactly at the second version", versions(), "07:00:00", 2),
        ("the newest at or before T", versions(), "08:59:57", 3),
        ("before every version: the oldest", late(), "06:10:00", 1),
    ] {
        let p = plan_of(&cat, at(t));
        let d = p.description.as_ref().expect("a description");
        assert_eq!(version_of(d), version, "{name}");
        assert_eq!(p.key_names, vec!["pk", "sk"], "{name}: hash key first");
    }
    // Without a description the whole-life rule cannot hold; with a snapshot it still plans.
    let none = Cat::bare()
        .shard(L1, S1, None, "09:00:00.500", false)
        .snapshot("07:00:00", "07:05:00", "06:59:58");
    let p = plan_of(&none, at("07:10:00"));
    assert_eq!((p.description, p.key_names), (None, Vec::<String>::new()));
}

#[test]
fn fingerprint() {
    let base = Cat::usual;
    let fp = |cat: &Cat, t: AtSpec| plan_of(cat, t).fingerprint();
    let reference = fp(&base(), at("08:30:00"));
    assert_eq!(reference, fp(&base(), at("08:30:00")), "equal inputs");
    assert_eq!(reference.len(), 32);

    let resize = |name: &str, size: u64| {
        let mut cat = base();
        let key = cat
            .names
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap()
            .1
            .clone();
        cat.catalog
            .change_files
            .iter_mut()
            .find(|f| f.key == key)
            .unwrap()
            .size = size;
        cat
    };
    assert_ne!(
        reference,
        fp(&resize("h07", 401), at("08:30:00")),
        "pinned file resized"
    );
    assert_eq!(
        reference,
        fp(&resize("h09", 601), at("08:30:00")),
        "a file the plan does not read"
    );
    assert_ne!(reference, fp(&base(), at("08:30:01")), "another point");
    assert_ne!(
        reference,
        fp(&base().batch("h07-late", "07", 26, 29, 10), at("08:30:00")),
        "a late file"
    );
    // `latest` and the second it resolves to are the same restore.
    assert_eq!(fp(&base(), AtSpec::Latest), fp(&base(), at("08:59:57")));

    let snap = || base().compacted_snapshot("08:00:00");
    let with_base = fp(&snap(), at("08:30:00"));
    assert_ne!(reference, with_base, "another base");
    let mut resized = snap();
    resized.catalog.snapshots[0].files[0].1 += 1;
    assert_ne!(
        with_base,
        fp(&resized, at("08:30:00")),
        "a base file resized"
    );
}

#[test]
fn nothing_restorable_says_why() {
    run(vec![
        case(
            "no checkpoints",
            Cat::bare().described("06:00:00", Some("06:00:00")),
            AtSpec::Latest,
            Want::Nothing(vec![
                "capture has not run for this table (no checkpoints in the store)",
            ]),
        ),
        case(
            "capture has not yet read past the first second",
            Cat::bare()
                .described("06:00:00", Some("06:00:00"))
                .shard(L1, S1, None, "06:00:01", false)
                .confirmed(),
            AtSpec::Latest,
            Want::Nothing(vec![
                "capture has not yet read past the first restorable second",
            ]),
        ),
        case(
            "every snapshot invalidated and the log is not the whole life",
            Cat::bare()
                .described("06:00:00", Some("05:00:00"))
                .shard(L1, S1, None, "09:00:00.500", false)
                .compacted_snapshot("07:00:00")
                .invalidate("07:00:00"),
            at("08:00:00"),
            Want::Nothing(vec![
                "not confirmed",
                "snapshot at 2026-11-26T07:00:00Z is invalidated",
                BACKUP,
            ]),
        ),
        case(
            "a gap right at the stream's start",
            Cat::usual().gap(L1, Some("06:00:00.200"), "06:30:00"),
            AtSpec::Latest,
            Want::Nothing(vec!["every restorable span is cut by a gap"]),
        ),
    ]);
}

// ---------------------------------------------------------------------------------------------
// Deleted tables and lineages

const L3: &str = "2026-11-26T08:40:00.000";

impl Cat {
    /// The table of stream `label` was found gone at `detected`; its last change was stamped
    /// `last_change`; `drained` says whether its stream was read to the end.
    fn deleted(mut self, label: &str, detected: &str, last_change: &str, drained: bool) -> Self {
        self.catalog.deletions.push(rewind_catalog::TableDeletion {
            format_version: rewind_catalog::deletion::DELETION_VERSION,
            table: TABLE.into(),
            table_arn: format!("arn:aws:dynamodb:us-east-1:123456789012:table/{TABLE}"),
            table_id: None,
            created_at: None,
            stream_arn: format!(
                "arn:aws:dynamodb:us-east-1:123456789012:table/{TABLE}/stream/{label}"
            ),
            stream_label: label.into(),
            cause: rewind_catalog::DeletionCause::TableNotFound,
            detected_at_ms: ms(detected),
            last_change_ms: Some(ms(last_change)),
            drained,
            unreadable_shards: if drained { vec![] } else { vec![S1.into()] },
            unreadable_reason: (!drained).then(|| "ResourceNotFoundException".to_string()),
        });
        self
    }

    /// The usual whole-life table (stream L1), its one shard read to its end at 08:31:10
    /// (AWS closes a deleted table's shards), found deleted at 08:30:00.400.
    fn deleted_whole_life() -> Self {
        Cat::bare()
            .described("06:00:00", Some("06:00:00"))
            .shard(L1, S1, None, "08:31:10", true)
            .last_checkpoint(|c| c.last_stamp_ms = Some(ms("08:29:50")))
            .confirmed()
            .deleted(L1, "08:30:00.400", "08:29:50", true)
    }

    /// [`Cat::deleted_whole_life`], then a table created again under the name at 08:40:00 with
    /// stream L3 (read through 09:00:00.500), backed up by a Scan from `scan_start` to 08:41:30.
    fn recreated(scan_start: &str) -> Self {
        Cat::deleted_whole_life()
            .described("08:40:01", Some("08:40:00"))
            .shard(L3, "shardId-new", None, "09:00:00.500", false)
            .backup(scan_start, "08:41:30", Some(L3))
    }
}

#[test]
fn a_drained_deleted_table_is_restorable_to_the_second_before_it_was_found_gone() {
    let cat = Cat::deleted_whole_life();
    let w = restorable_window(&cat.catalog, &WindowOptions::default());
    // Not the read-through of its ended shard minus the margin (08:31:07): the stream holds
    // nothing more, so the lineage ends at the deletion.
    assert_eq!(w.intervals, vec![iv("06:00:00", "08:29:59")]);
    assert_eq!(w.watermark, Some(s("08:29:59")));
    let deletion = w.deleted().expect("the newest lineage is deleted");
    assert_eq!(deletion.last_restorable_second(), s("08:29:59"));
    assert_eq!(w.lineages.len(), 1);
    assert!(w
        .lineage_of(s("07:00:00"))
        .unwrap()
        .describe()
        .contains("deleted"));
    let p = plan_of(&cat, AtSpec::Latest);
    assert_eq!(p.at, s("08:29:59"));
    assert!(
        p.lineage.as_deref().unwrap().starts_with("lineage 1"),
        "{:?}",
        p.lineage
    );
}

#[test]
fn an_undrained_deleted_table_ends_where_its_shards_were_read_through() {
    // The stream could not be read after the deletion: a gap after the checkpoint, whose
    // read-through (08:29:00.300) covers everything stamped before 08:28:58.300.
    let mut cat = Cat::bare()
        .described("06:00:00", Some("06:00:00"))
        .shard(L1, S1, None, "08:29:00.300", false)
        .last_checkpoint(|c| c.last_stamp_ms = Some(ms("08:20:00")))
        .confirmed()
        .deleted(L1, "08:30:00.400", "08:20:00", false);
    cat.catalog.gaps.push(Gap {
        table: TABLE.into(),
        stream_label: L1.into(),
        shard_id: S1.into(),
        after_sequence_number: Some(format!("{:040}", 100)),
        after_stamp_ms: Some(ms("08:20:00")),
        read_through_ms: Some(ms("08:29:00.300")),
        resumed_at_sequence_number: None,
        detected_at_ms: ms("08:30:02"),
        reason: "the table was deleted and its stream can no longer be read".into(),
    });
    let w = restorable_window(&cat.catalog, &WindowOptions::default());
    assert_eq!(w.intervals, vec![iv("06:00:00", "08:28:57")]);
    assert_eq!(w.watermark, Some(s("08:28:57")), "latest is restorable");
    assert_eq!(plan_of(&cat, AtSpec::Latest).at, s("08:28:57"));
    // A gap recorded before rewind kept the read-through still ends at the last record.
    cat.catalog.gaps[0].read_through_ms = None;
    let w = restorable_window(&cat.catalog, &WindowOptions::default());
    assert_eq!(w.intervals, vec![iv("06:00:00", "08:19:59")]);
}

#[test]
fn a_recreated_table_is_a_new_lineage_never_mixed_with_the_old_one() {
    let cat = Cat::recreated("08:41:00");
    let w = restorable_window(&cat.catalog, &WindowOptions::default());
    // The new table's backup: valid from 08:41:35, changes from 08:40:55.
    assert_eq!(
        w.intervals,
        vec![iv("06:00:00", "08:29:59"), iv("08:41:35", "08:59:57")]
    );
    assert!(w.deleted().is_none(), "the newest lineage is live");
    assert_eq!(w.lineages.len(), 2);
    assert_eq!(w.lineages[1].streams, vec![L3.to_string()]);
    assert_eq!(w.lineage_of(s("08:50:00")).unwrap().number, 2);
    assert_eq!(w.lineage_of(s("07:00:00")).unwrap().number, 1);
    assert!(w.lineage_of(s("08:35:00")).is_none(), "no table then");
    assert!(
        w.holes[0].reason.contains("was deleted") && w.holes[0].reason.contains("new lineage"),
        "{}",
        w.holes[0].reason
    );
    // Each lineage's points plan from its own base only.
    let old = plan_of(&cat, at("08:00:00"));
    assert_eq!(old.base, None, "the first lineage's whole-life log");
    let new = plan_of(&cat, AtSpec::Latest);
    assert_eq!(new.at, s("08:59:57"));
    assert_eq!(new.changes.from_ms, Some(ms("08:40:55")));
    assert!(new.lineage.as_deref().unwrap().starts_with("lineage 2"));
    match plan_restore(&cat.catalog, at("08:35:00"), &PlanOptions::default()) {
        Err(ReplayError::OutsideWindow { .. }) => {}
        other => panic!("between the lineages: {other:?}"),
    }
}

#[test]
fn a_backup_scanned_right_after_its_stream_began_needs_no_older_change() {
    // The scan started 2 s after the new stream: its 5 s margin reaches into the old lineage.
    // The hole before the stream does not end its span, and the old lineage's changes (stamped
    // before the stream's first second) are never applied over it.
    let cat = Cat::recreated("08:40:02");
    let w = restorable_window(&cat.catalog, &WindowOptions::default());
    assert_eq!(
        w.intervals,
        vec![iv("06:00:00", "08:29:59"), iv("08:41:35", "08:59:57")]
    );
    let new = plan_of(&cat, AtSpec::Latest);
    assert_eq!(new.changes.from_ms, Some(ms("08:40:00")), "not 08:39:57");
}

#[test]
fn a_deletion_found_after_the_name_was_used_again_ends_before_the_new_stream() {
    // Capture was down: the old table was found gone at 08:45, after the new table's stream
    // began at 08:40. The old lineage cannot reach into the new table's time.
    let mut cat = Cat::recreated("08:41:00");
    cat.catalog.deletions[0].detected_at_ms = ms("08:45:00");
    cat.catalog.deletions[0].cause = rewind_catalog::DeletionCause::TableRecreated;
    let w = restorable_window(&cat.catalog, &WindowOptions::default());
    assert_eq!(
        w.intervals,
        vec![iv("06:00:00", "08:39:59"), iv("08:41:35", "08:59:57")]
    );
    assert!(w.lineages[0]
        .describe()
        .contains("last restorable point 2026-11-26T08:39:59Z"));
}

#[test]
fn a_checkpoint_whose_last_file_has_not_arrived_claims_nothing_of_that_hour() {
    // A replica: shard-1's checkpoint (last record seq 45, stamped 08:30:00) arrived, the batch
    // file holding it (h08: 41..50, hour 08) did not. The window ends before hour 08.
    let with_checkpoint = || {
        Cat::usual().last_checkpoint(|c| {
            c.last_sequence_number = Some(format!("{:040}", 45));
            c.last_stamp_ms = Some(ms("08:30:00"));
        })
    };
    let without = |cat: Cat| {
        let mut cat = cat;
        let h08 = cat
            .names
            .iter()
            .find(|(n, _)| *n == "h08")
            .unwrap()
            .1
            .clone();
        cat.catalog.change_files.retain(|f| f.key != h08);
        cat
    };
    let w = restorable_window(
        &without(with_checkpoint()).catalog,
        &WindowOptions::default(),
    );
    assert_eq!(w.intervals, vec![iv("06:00:00", "07:59:57")]);
    assert_eq!(w.incomplete.len(), 1, "{:?}", w.incomplete);
    assert!(
        w.incomplete[0].contains("sequence 45"),
        "{}",
        w.incomplete[0]
    );
    // Once it arrives (or the hour was compacted) the checkpoint stands.
    let w = restorable_window(&with_checkpoint().catalog, &WindowOptions::default());
    assert!(w.incomplete.is_empty(), "{:?}", w.incomplete);
    assert_eq!(w.intervals, vec![iv("06:00:00", "08:59:57")]);
    let compacted = without(with_checkpoint()).compacted("h08-compacted", "08", "r-8", 10);
    let w = restorable_window(&compacted.catalog, &WindowOptions::default());
    assert!(w.incomplete.is_empty(), "{:?}", w.incomplete);
    // A catalog listed only up to hour 07 (a restore to 07:30) does not judge hour 08.
    let mut early = without(with_checkpoint());
    early.catalog.change_files_until = Some(hour("07"));
    early
        .catalog
        .change_files
        .retain(|f| f.file.hour <= hour("07"));
    let w = restorable_window(&early.catalog, &WindowOptions::default());
    assert!(w.incomplete.is_empty(), "{:?}", w.incomplete);
    assert_eq!(w.intervals, vec![iv("06:00:00", "08:59:57")]);
}
