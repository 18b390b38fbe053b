//! The table's own objects: owner claim, retention marker, whole-life verdicts and description
//! versions.

use super::*;
use chrono::{DateTime, Utc};

/// The object that binds a table name in this prefix to one source table ARN.
pub fn table_owner(table: &str) -> String {
    format!("{TABLES}/table={table}/owner.json")
}

/// Prefix of every table's own objects (owner claims, descriptions, markers).
pub fn all_tables_prefix() -> String {
    format!("{TABLES}/")
}

/// The table an owner-claim key belongs to, `None` for any other key.
pub fn parse_table_owner(key: &str) -> Option<String> {
    let rest = key.strip_prefix(TABLES)?.strip_prefix("/table=")?;
    let table = rest.strip_suffix("/owner.json")?;
    (!table.contains('/') && validate_table(table).is_ok()).then(|| table.to_string())
}

/// What retention has deleted of a table's change log: restores must not assume the log covers
/// what is gone.
pub fn retention_marker(table: &str) -> String {
    format!("{TABLES}/table={table}/retention.json")
}

/// The proof that the change log covers the table's whole life: a full backup's Scan that the
/// log explains (written once, put-if-absent).
pub fn whole_life_confirmed(table: &str) -> String {
    format!("{TABLES}/table={table}/whole-life/confirmed.json")
}

/// The proof that it does not (an item the log never inserted); it outranks a confirmation and
/// is never withdrawn (written once, put-if-absent).
pub fn whole_life_refuted(table: &str) -> String {
    format!("{TABLES}/table={table}/whole-life/refuted.json")
}

/// Prefix of the table's description versions.
pub fn descriptions_prefix(table: &str) -> String {
    format!("{TABLES}/table={table}/description/")
}

/// One version of the table description, in force from `at`.
pub fn description_key(table: &str, at: DateTime<Utc>) -> String {
    format!("{}at={}.json", descriptions_prefix(table), format_at(at))
}

/// Reads a description key back to its table and time.
pub fn parse_description_key(key: &str) -> Result<(String, DateTime<Utc>), LayoutError> {
    let bad = |reason: &str| err("description key", key, reason);
    let parts: Vec<&str> = key.split('/').collect();
    let [TABLES, table_part, "description", name] = parts[..] else {
        return Err(bad("expected tables/table=<t>/description/at=<time>.json"));
    };
    let table = parse_table_part(table_part)?;
    let at = name
        .strip_prefix("at=")
        .and_then(|s| s.strip_suffix(".json"))
        .ok_or_else(|| bad("expected at=<time>.json"))?;
    Ok((table, parse_at(at)?))
}

/// Every prefix under which a table's backup lives (change log, snapshots, checkpoints, gaps,
/// quarantine, pending compactions, and its own records): what a scrub reads. Restore journals
/// are the restores', not the backup's, and are left out.
pub fn table_prefixes(table: &str) -> Vec<String> {
    vec![
        changes_prefix(table),
        snapshots_prefix(table),
        checkpoints_prefix(table),
        gaps_prefix(table),
        quarantine_prefix(table),
        compaction_pending_prefix(table),
        format!("{TABLES}/table={table}/"),
    ]
}

/// Prefix of the records of a table's deleted lineages (one per stream drained after the table
/// was deleted or re-created).
pub fn deletions_prefix(table: &str) -> String {
    format!("{TABLES}/table={table}/deleted/")
}

/// The record that the table whose stream is `label` was deleted and that stream drained: it
/// closes the lineage the stream belongs to (docs/FORMAT.md, "Deleted tables").
pub fn deletion_key(table: &str, label: &str) -> Result<String, LayoutError> {
    Ok(format!(
        "{}stream={}.json",
        deletions_prefix(table),
        encode_label(label)?
    ))
}
