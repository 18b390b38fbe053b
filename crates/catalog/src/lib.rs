//! The backup catalog: what is in the bucket and what it means. Every record rewind keeps beside
//! the data (table description versions, the owner claim, shard checkpoints, recorded gaps,
//! quarantined records, snapshot manifests and invalidations, the retention marker, whole-life
//! verdicts, deletion records, restore journals), its (de)serialisation, and the key layout that names it.
//!
//! Capture writes most of it; replay, the compactor, `ls` and the service read it. None of them
//! builds a key or parses a record itself, and this crate depends on neither capture nor replay,
//! so a restore host links no stream-reading code (docs/DECISIONS.md, "One owner for the
//! catalog").

pub mod change_files;
pub mod checkpoint;
pub mod deletion;
pub mod description;
mod error;
pub mod gap;
pub mod journal;
mod json_record;
pub mod layout;
pub mod manifest;
pub mod owner;
pub mod quarantine;
pub mod retention;
pub mod snapshots;
pub mod table_catalog;
pub mod view_type;
pub mod whole_life;

pub use change_files::{list_change_files, CatalogFile};
pub use checkpoint::{list_checkpoints, load_checkpoint, save_checkpoint, Checkpoint};
pub use deletion::{list_deletions, load_deletion, record_deletion, DeletionCause, TableDeletion};
pub use description::{
    describe_table, latest_description, list_descriptions, save_description_if_changed,
    DescribedAt, TableDescription,
};
pub use error::{CatalogError, Result};
pub use gap::{list_gaps, record_gap, Gap};
pub use journal::{JournalRef, JournalStatus, StoredJournal};
pub use manifest::{
    SnapshotFileEntry, SnapshotInvalidation, SnapshotKind, SnapshotManifest,
    SNAPSHOT_MANIFEST_VERSION,
};
pub use owner::{claim_table, read_owner, TableOwner};
pub use quarantine::{list_quarantined, quarantine, QuarantineEntry, QuarantinedRecord};
pub use retention::{advance_retention_marker, load_retention_marker, RetentionMarker};
pub use snapshots::{list_snapshots, record_snapshot_invalidation, ScanInfo, SnapshotInfo};
pub use table_catalog::{load_catalog, Catalog};
pub use view_type::{check_view_type, ViewTypeVerdict};
pub use whole_life::{load_whole_life, record_whole_life, WholeLifeEvidence, WholeLifeVerdict};
