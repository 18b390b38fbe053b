//! Notifications a person (or a subscription filter) acts on: a job succeeded or failed, and a
//! table's capture lag went over its threshold (and came back). Published to an SNS topic with
//! message attributes `table`, `kind` and `status`, so a subscription can filter, say, only
//! failed restores of one table.
//!
//! A notification that cannot be published is logged and dropped: the job's outcome is in the
//! job catalog whatever happens to its announcement.

mod lag_watch;
mod message;
mod sns;

pub use lag_watch::{watch_lag, LagWatch};
pub use message::{Notification, NotificationKind, NotificationStatus};
pub use sns::{Notifier, NotifyError};
