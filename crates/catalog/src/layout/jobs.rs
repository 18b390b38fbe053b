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
