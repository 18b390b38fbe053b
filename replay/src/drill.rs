//! Restore drills (`rewind check --sample N --drill-to TARGET`): a backup is proven by restoring
//! it. Each drill restores a random second of the restorable window into its own scratch target
//! under `TARGET`, verifies it item by item against the state at that second, records how long
//! the restore took (the measured RTO), and removes the scratch target.

use crate::at::{format_second, AtSpec};
use crate::error::{ReplayError, Result};
use crate::journal::JournalRef;
use crate::restore::{restore, RestoreProgress, RestoreRequest};
use crate::target::{open_target, TargetUrl};
use crate::verify::verify;
use crate::window::{restorable_window, Interval};
use rand::Rng;
use rewind_store::Store;
use serde::Serialize;
use std::time::Instant;

/// One drill.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DrillResult {
    /// The second restored, RFC 3339.
    pub at: String,
    /// The scratch target.
    pub target: String,
    /// Items restored.
    pub items: u64,
    /// Seconds the restore took: the RTO for this table and point, measured.
    pub restore_seconds: f64,
    /// Items restored per second of the restore: how the RTO scales with the table.
    pub items_per_second: f64,
    /// Seconds the verification took.
    pub verify_seconds: f64,
    /// Whether the target equalled the state item by item.
    pub equal: bool,
    /// Missing, extra and differing items when it did not.
    pub differences: u64,
    /// What was left at the scratch target ("removed", or why not).
    pub cleanup: String,
}

/// `n` seconds drawn uniformly from the restorable intervals (fewer when the window is
/// shorter than `n` seconds; none when it is empty), in time order.
pub fn sample_points<R: Rng>(intervals: &[Interval], n: usize, rng: &mut R) -> Vec<i64> {
    let total: i64 = intervals.iter().map(|i| i.end - i.start + 1).sum();
    if total <= 0 {
        return Vec::new();
    }
    let mut points = std::collections::BTreeSet::new();
    while points.len() < n.min(total as usize) {
        let mut offset = rng.gen_range(0..total);
        for interval in intervals {
            let len = interval.end - interval.start + 1;
            if offset < len {
                points.insert(interval.start + offset);
                break;
            }
            offset -= len;
        }
    }
    points.into_iter().collect()
}

/// The scratch target of drill `index` under `base`: a sub-directory or sub-prefix of an
/// export, or a table named after the base with a suffix.
pub fn scratch_target(base: &TargetUrl, index: usize, unique: &str) -> TargetUrl {
    match base {
        TargetUrl::DynamoDb { table, region } => TargetUrl::DynamoDb {
            table: format!("{table}-drill-{unique}-{index}"),
            region: region.clone(),
        },
        TargetUrl::Export { url } => TargetUrl::Export {
            url: format!("{}/drill-{unique}-{index}", url.trim_end_matches('/')),
        },
    }
}

/// Runs `n` drills of `table` into scratch targets under `base`.
pub async fn drill(
    store: &Store,
    table: &str,
    n: usize,
    base: &TargetUrl,
) -> Result<Vec<DrillResult>> {
    let catalog = rewind_catalog::load_catalog(store.as_ref(), table, None).await?;
    let window = restorable_window(&catalog, &Default::default());
    let mut rng = rand::thread_rng();
    let points = sample_points(&window.intervals, n, &mut rng);
    if points.is_empty() && n > 0 {
        return Err(ReplayError::Invalid {
            what: "restore drill",
            location: table.to_string(),
            reason: "the table has no restorable window to drill".into(),
        });
    }
    let unique = format!("{:08x}", rng.gen::<u32>());
    let mut results = Vec::new();
    for (index, second) in points.into_iter().enumerate() {
        let url = scratch_target(base, index, &unique);
        let target = open_target(&url).await?;
        let request = RestoreRequest {
            table: table.to_string(),
            at: AtSpec::Second(second),
            into_existing: false,
            no_ttl: true,
            plan: Default::default(),
            reconstruct: Default::default(),
            copy: Default::default(),
        };
        let started = Instant::now();
        let report = restore(
            store,
            target.as_ref(),
            &request,
            &RestoreProgress::default(),
        )
        .await?;
        let restore_seconds = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let verified = verify(
            store,
            table,
            AtSpec::Second(second),
            target.as_ref(),
            &Default::default(),
            &Default::default(),
            &Default::default(),
        )
        .await?;
        let verify_seconds = started.elapsed().as_secs_f64();
        let mut cleanup = match target.discard().await {
            Ok(Some(removed)) => removed,
            Ok(None) => format!("left at {url}"),
            Err(e) => format!("not removed: {e}"),
        };
        // The drill's restore journal is the drill's: it goes with the scratch target.
        if let Err(e) = JournalRef::new(table, &target.id())
            .remove(store.as_ref())
            .await
        {
            cleanup.push_str(&format!("; its journal not removed: {e}"));
        }
        tracing::info!(%table, at = %format_second(second), restore_seconds, equal = verified.is_equal(), "restore drill");
        results.push(DrillResult {
            at: format_second(second),
            target: url.to_string(),
            items: report.items,
            restore_seconds,
            items_per_second: report.items as f64 / restore_seconds.max(1e-3),
            verify_seconds,
            equal: verified.is_equal(),
            differences: verified.missing + verified.extra + verified.differing,
            cleanup,
        });
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn points_are_drawn_from_the_intervals_only() {
        let intervals = [
            Interval {
                start: 100,
                end: 109,
            },
            Interval {
                start: 500,
                end: 504,
            },
        ];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let points = sample_points(&intervals, 8, &mut rng);
        assert_eq!(points.len(), 8);
        assert!(points.windows(2).all(|w| w[0] < w[1]), "distinct, in order");
        assert!(points
            .iter()
            .all(|p| intervals.iter().any(|i| i.start <= *p && *p <= i.end)));
        assert_eq!(
            sample_points(&intervals, 100, &mut rng).len(),
            15,
            "at most every second"
        );
        assert!(sample_points(&[], 3, &mut rng).is_empty());
    }

    #[test]
    fn scratch_targets_stay_under_the_base() {
        let export = TargetUrl::Export {
            url: "file:///tmp/drills/".into(),
        };
        assert_eq!(
            scratch_target(&export, 2, "ab").to_string(),
            "file:///tmp/drills/drill-ab-2"
        );
        let table = TargetUrl::DynamoDb {
            table: "orders-scratch".into(),
            region: Some("eu-west-1".into()),
        };
        assert_eq!(
            scratch_target(&table, 0, "ab"),
            TargetUrl::DynamoDb {
                table: "orders-scratch-drill-ab-0".into(),
                region: Some("eu-west-1".into())
            }
        );
    }
}
