//! Keys of work in progress: small-file compaction runs and restore journals.

use super::*;

/// Prefix of the small-file compaction's pending deletions of a table: each marker lists the
/// change files one compacted file replaced, deleted once a grace period has passed.
pub fn compaction_pending_prefix(table: &str) -> String {
    format!("{COMPACTION}/table={table}/pending/")
}

/// The pending-deletion marker of one compaction run.
pub fn compaction_pending_key(table: &str, run_id: &str) -> String {
    format!("{}{run_id}.json", compaction_pending_prefix(table))
}

/// The plan of one fanned-out compaction run (its steps read it by run id).
pub fn compaction_run_key(table: &str, run_id: &str) -> String {
    format!("{COMPACTION}/table={table}/runs/{run_id}.json")
}

/// The plan of a fanned-out full backup (`compaction/table=<t>/backups/<run>/run.json`): what
/// every step of the Step Functions run reads (the scan's start, segments, buckets, stream).
pub fn backup_run_key(table: &str, run_id: &str) -> String {
    format!("{}run.json", backup_run_prefix(table, run_id))
}

/// Everything a fanned-out backup stages before its snapshot exists: the plan, the segments'
/// part files and done-markers. Removed when the snapshot is committed.
pub fn backup_run_prefix(table: &str, run_id: &str) -> String {
    format!("{COMPACTION}/table={table}/backups/{run_id}/")
}

/// The prefix of one scan segment's part files and done-marker.
pub fn backup_segment_prefix(table: &str, run_id: &str, segment: u32) -> String {
    format!("{}segment={segment:05}/", backup_run_prefix(table, run_id))
}

/// One part file of a scan segment: rows of one snapshot bucket (change-file format).
pub fn backup_part_key(table: &str, run_id: &str, segment: u32, bucket: u32, part: u32) -> String {
    format!(
        "{}bucket={bucket:04}/part={part:05}.parquet",
        backup_segment_prefix(table, run_id, segment)
    )
}

/// The marker a finished scan segment leaves (its item count and when it ended).
pub fn backup_segment_done(table: &str, run_id: &str, segment: u32) -> String {
    format!("{}done.json", backup_segment_prefix(table, run_id, segment))
}

/// Prefix of one restore's progress journal: the source table and a digest of the target's
/// canonical URL (`target_digest`: lowercase hex), so a re-run of the same restore finds it.
pub fn restore_prefix(table: &str, target_digest: &str) -> String {
    format!("{RESTORES}/table={table}/target={target_digest}/")
}

/// The journal of a restore: the request, the resolved point and the pinned plan.
pub fn restore_journal(table: &str, target_digest: &str) -> String {
    format!("{}journal.json", restore_prefix(table, target_digest))
}

/// Prefix of the markers of finished buckets of a restore.
pub fn restore_done_prefix(table: &str, target_digest: &str) -> String {
    format!("{}done/", restore_prefix(table, target_digest))
}

/// The marker of one finished bucket, written once the bucket is durable at the target.
pub fn restore_done_key(table: &str, target_digest: &str, bucket: u32) -> String {
    format!(
        "{}bucket={bucket:04}.json",
        restore_done_prefix(table, target_digest)
    )
}

/// The bucket of a finished-bucket marker key, `None` if the key is not one.
pub fn parse_restore_done_key(key: &str) -> Option<u32> {
    let name = key.rsplit('/').next()?;
    name.strip_prefix("bucket=")?
        .strip_suffix(".json")
        .filter(|n| n.len() == 4)?
        .parse()
        .ok()
}
