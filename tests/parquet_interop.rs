//! A change file written by rewind-format, opened by the peers users will read it with: pyarrow
//! and DuckDB (which stands in for Athena). Checks the documented columns and types, each column's
//! codec (ZSTD, or none where ZSTD gains nothing), the sorting columns, and the key-value metadata of docs/FORMAT.md.

use rewind_e2e::run_python;
use rewind_format::{
    from_lambda_record, write_change_file, ConvertOptions, WriteOptions, UNCOMPRESSED_COLUMNS,
};
use rewind_workload::{Workload, WorkloadConfig};

const CHECK: &str = r#"
import json, sys
import pyarrow.parquet as pq
import duckdb

path = sys.argv[1]
f = pq.ParquetFile(path)
md = f.metadata
out = {}
out["schema"] = {field.name: str(field.type) for field in f.schema_arrow}
out["nullable"] = {field.name: field.nullable for field in f.schema_arrow}
codecs = {}
for g in range(md.num_row_groups):
    for c in range(md.num_columns):
        col = md.row_group(g).column(c)
        codecs.setdefault(col.compression, set()).add(col.path_in_schema)
out["codecs"] = {codec: sorted(names) for codec, names in codecs.items()}
out["stats"] = all(md.row_group(g).column(c).statistics is not None
                   for g in range(md.num_row_groups) for c in range(md.num_columns))
out["kv"] = {k.decode(): v.decode() for k, v in (md.metadata or {}).items() if k.startswith(b"rewind.")}
out["rows"] = md.num_rows
out["sorting"] = [(md.schema.column(s.column_index).name, s.descending)
                  for s in (md.row_group(0).sorting_columns or [])]
t = f.read()
out["event_names"] = sorted(set(t.column("event_name").to_pylist()))
out["min_seq"] = min(t.column("sequence_number").to_pylist())
con = duckdb.connect()
out["duck"] = con.execute(
    "select count(*), count(distinct key), min(approximate_creation_time)::varchar, "
    "sum(case when event_name = 'REMOVE' then 1 else 0 end) from read_parquet(?)", [path]).fetchone()
out["duck_json"] = con.execute(
    "select json_extract_string(new_image, '$.pk.S') from read_parquet(?) "
    "where new_image is not null limit 1", [path]).fetchone()[0]
print(json.dumps(out))
"#;

#[test]
fn pyarrow_and_duckdb_read_a_change_file() {
    let workload = Workload::new(WorkloadConfig {
        seed: 7,
        ..WorkloadConfig::default()
    });
    let records: Vec<_> = workload
        .take(3000)
        .map(|r| {
            from_lambda_record(
                &r,
                "shardId-00000001-0001",
                1_764_000_000_000,
                &ConvertOptions::default(),
            )
            .unwrap()
        })
        .collect();
    let removes = records
        .iter()
        .filter(|r| r.event_name == rewind_format::EventName::Remove)
        .count();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("changes.parquet");
    let written = write_change_file(
        &path.display().to_string(),
        records.clone(),
        &WriteOptions {
            max_row_group_rows: 1000,
            ..WriteOptions::default()
        },
    )
    .unwrap();
    std::fs::write(&path, &written.bytes).unwrap();

    let out: serde_json::Value =
        serde_json::from_str(&run_python(CHECK, &[path.to_str().unwrap()])).unwrap();

    let dict = "dictionary<values=string, indices=int32, ordered=0>";
    let ts = "timestamp[ms, tz=UTC]";
    let expected = serde_json::json!({
        "table_name": dict, "event_name": dict, "stream_label": dict, "sequence_number": "string",
        "approximate_creation_time": ts, "key": "binary", "keys": "string", "new_image": "string",
        "old_image": "string", "old_image_hash": "uint32", "user_identity": "string",
        "shard_id": dict, "ingested_at": ts,
    });
    assert_eq!(out["schema"], expected, "{out}");
    for nullable in ["new_image", "old_image", "old_image_hash", "user_identity"] {
        assert_eq!(out["nullable"][nullable], true, "{nullable}");
    }
    assert_eq!(out["nullable"]["key"], false);
    let mut uncompressed: Vec<&str> = UNCOMPRESSED_COLUMNS.to_vec();
    uncompressed.sort_unstable();
    let zstd = [
        "ingested_at",
        "key",
        "keys",
        "new_image",
        "old_image",
        "sequence_number",
        "user_identity",
    ];
    assert_eq!(
        out["codecs"],
        serde_json::json!({"ZSTD": zstd, "UNCOMPRESSED": uncompressed}),
        "the item, key and sequence columns are ZSTD, the few-valued ones not compressed"
    );
    assert_eq!(out["stats"], true, "statistics on every column chunk");
    assert_eq!(out["rows"], 3000);
    assert_eq!(
        out["sorting"],
        serde_json::json!([
            ["key", false],
            ["stream_label", false],
            ["sequence_number", false]
        ])
    );
    let kv = &out["kv"];
    let s = &written.summary;
    assert_eq!(kv["rewind.format_version"], "1");
    assert_eq!(kv["rewind.table"], "shop");
    assert_eq!(kv["rewind.row_count"], "3000");
    assert_eq!(
        kv["rewind.first_sequence_number"],
        s.first_sequence_number.as_str()
    );
    assert_eq!(
        kv["rewind.last_sequence_number"],
        s.last_sequence_number.as_str()
    );
    assert_eq!(
        kv["rewind.min_creation_time"],
        rewind_format::format_ms(s.min_creation_time_ms).as_str()
    );
    assert_eq!(
        kv["rewind.max_creation_time"],
        rewind_format::format_ms(s.max_creation_time_ms).as_str()
    );
    assert!(kv["rewind.data_crc32c"].as_str().unwrap().contains(':'));
    assert_eq!(out["min_seq"], s.first_sequence_number.as_str());
    assert_eq!(
        out["event_names"],
        serde_json::json!(["INSERT", "MODIFY", "REMOVE"])
    );

    let distinct_keys = records
        .iter()
        .map(|r| r.key.clone())
        .collect::<std::collections::HashSet<_>>()
        .len();
    let duck = out["duck"].as_array().unwrap();
    assert_eq!(duck[0], 3000);
    assert_eq!(duck[1], distinct_keys);
    assert_eq!(duck[3].as_f64().unwrap() as usize, removes);
    assert!(out["duck_json"].as_str().unwrap().contains('#'), "{out}");
}
