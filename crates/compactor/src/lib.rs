//! Snapshots: the full backup by parallel Scan (bootstrap, scheduled full backups) and, next,
//! the compactor that cuts snapshots from the change log and merges small files. Both write
//! snapshots the same way ([`snapshot_writer`]): bucket files under the run's own directory,
//! then the manifest, last and put-if-absent, so a crashed or losing run changes nothing a reader
//! sees.

pub mod backup;
pub mod backup_fanout;
pub mod compact;
pub mod error;
pub mod fanout;
pub mod lambda;
pub mod lambda_event;
pub mod merge;
pub mod metrics;
pub mod retention;
pub mod snapshot_writer;
pub mod table_source;

pub use backup::{backup_from, full_backup, BackupOptions, BackupReport};
pub use compact::{compact, CompactOptions, CompactReport};
pub use error::{CompactorError, Result};
pub use merge::{merge_small_files, MergeOptions, MergeReport};
pub use retention::{apply_retention, RetentionDays, RetentionPolicy, RetentionReport};
pub use table_source::{DynamoDbSource, TableSource};
