//! Capture lag over a threshold, announced once when it goes over and once when it comes back:
//! a table that stays behind for an hour is one message, not sixty.

use super::message::Notification;
use super::sns::Notifier;
use rewind_replay::inventory::{list_tables, summarize};
use rewind_store::Store;
use std::collections::HashSet;
use std::time::Duration;

/// Which tables are over the threshold now (edge detection between checks).
#[derive(Debug, Clone)]
pub struct LagWatch {
    threshold_seconds: i64,
    over: HashSet<String>,
}

impl LagWatch {
    /// Alerts when a table's lag exceeds `threshold_seconds`.
    pub fn new(threshold_seconds: i64) -> Self {
        LagWatch {
            threshold_seconds,
            over: HashSet::new(),
        }
    }

    /// The threshold.
    pub fn threshold_seconds(&self) -> i64 {
        self.threshold_seconds
    }

    /// One table's lag and watermark as measured now: the notification to send, if its side of
    /// the threshold changed. A table first seen already behind is announced.
    pub fn observe(
        &mut self,
        table: &str,
        lag_seconds: i64,
        watermark: &str,
    ) -> Option<Notification> {
        let behind = lag_seconds > self.threshold_seconds;
        let was_behind = self.over.contains(table);
        match (was_behind, behind) {
            (false, true) => {
                self.over.insert(table.to_string());
                Some(Notification::lagging(
                    table,
                    lag_seconds,
                    self.threshold_seconds,
                    watermark,
                ))
            }
            (true, false) => {
                self.over.remove(table);
                Some(Notification::lag_recovered(
                    table,
                    lag_seconds,
                    self.threshold_seconds,
                    watermark,
                ))
            }
            _ => None,
        }
    }
}

/// Checks every table the store backs up every `every`, announcing lag crossings, until the
/// task is dropped. Tables without a watermark (nothing captured yet) are not judged; a store
/// that cannot be read is logged and tried again at the next check.
pub async fn watch_lag(store: Store, notifier: Notifier, mut watch: LagWatch, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let tables = match list_tables(&store).await {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(error = %e, "lag check: the store's tables could not be listed");
                continue;
            }
        };
        for table in tables {
            let summary = match summarize(&store, &table, &Default::default()).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(%table, error = %e, "lag check: the table could not be read");
                    continue;
                }
            };
            let (Some(lag), Some(watermark)) = (summary.lag_seconds, summary.watermark) else {
                continue;
            };
            if let Some(note) = watch.observe(&table, lag, &watermark) {
                tracing::warn!(%table, lag_seconds = lag, threshold = watch.threshold_seconds(), subject = %note.subject, "capture lag crossed its threshold");
                notifier.announce(&note).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crossing_is_announced_once_each_way() {
        let mut watch = LagWatch::new(60);
        assert!(watch.observe("a", 10, "w").is_none(), "under: nothing");
        let over = watch.observe("a", 61, "w").unwrap();
        assert_eq!(over.attributes["status"], "lagging");
        assert!(
            watch.observe("a", 500, "w").is_none(),
            "still over: nothing more"
        );
        assert!(
            watch.observe("b", 10, "w").is_none(),
            "tables are judged apart"
        );
        let back = watch.observe("a", 60, "w").unwrap();
        assert_eq!(
            back.attributes["status"], "recovered",
            "at the threshold is not over it"
        );
        assert!(watch.observe("a", 5, "w").is_none());
        assert!(
            watch.observe("a", 61, "w").is_some(),
            "over again: announced again"
        );
    }

    #[test]
    fn a_table_first_seen_behind_is_announced() {
        let mut watch = LagWatch::new(60);
        let note = watch.observe("c", 7200, "2026-12-04T08:00:00Z").unwrap();
        assert_eq!(note.attributes["table"], "c");
        assert_eq!(note.attributes["status"], "lagging");
    }
}
