//! What the compactor Lambda is asked to do, parsed once into types: a scheduled run
//! (`{"table": T}` from an EventBridge rule's constant input, or the same under `detail`,
//! optionally with `"retention"`) or one step of a Step Functions fan-out (`"action"`: plan,
//! bucket, commit). A malformed event is refused with what is wrong, before any work.

use crate::error::{CompactorError, Result};
use crate::fanout::BucketResult;
use crate::retention::RetentionDays;
use serde::Deserialize;
use serde_json::Value;

/// One invocation's request.
#[derive(Debug, Clone, PartialEq)]
pub enum CompactorEvent {
    /// A scheduled compaction of `table`, then retention when asked.
    Scheduled {
        /// The source table.
        table: String,
        /// Apply retention after compacting, with this policy.
        retention: Option<RetentionDays>,
    },
    /// One step of a fanned-out snapshot.
    Step(CompactionStep),
    /// A scheduled scrub of `table`'s backup (`{"table": T, "check": true}`): every checksum,
    /// file, manifest and the version chain, findings published as metrics. With
    /// `"drill_to": TARGET` (and `"drill_sample": n`, default 1) also restore drills, their
    /// measured RTO published as metrics.
    Check {
        /// The source table.
        table: String,
        /// Where drills restore, and how many (`None`: no drill).
        drill: Option<(String, usize)>,
    },
}

/// A step of the fan-out state machine (plan, a Map over buckets, commit).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum CompactionStep {
    /// Plan a snapshot at `at` (default: the watermark); answers the run id and buckets.
    Plan {
        /// The source table.
        table: String,
        /// The second to cut at.
        #[serde(default)]
        at: Option<i64>,
    },
    /// Write one bucket of a planned run.
    Bucket {
        /// The source table.
        table: String,
        /// The run's id, from the plan step.
        run_id: String,
        /// The bucket.
        bucket: u32,
    },
    /// Check every bucket's result and commit the manifest.
    Commit {
        /// The source table.
        table: String,
        /// The run's id.
        run_id: String,
        /// The Map state's outputs.
        results: Vec<BucketResult>,
    },
}

fn invalid(what: &'static str, event: &Value, reason: String) -> CompactorError {
    CompactorError::Invalid {
        what,
        location: event.to_string().chars().take(200).collect(),
        reason,
    }
}

/// Where the retention policy comes from when the event does not give all of it.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

impl CompactorEvent {
    /// Parses an invocation's payload. `env` supplies the retention policy's defaults
    /// (`REWIND_KEEP_*_DAYS`, see [`RetentionDays::from_env`]).
    pub fn parse(event: &Value, env: EnvLookup<'_>) -> Result<Self> {
        if event.get("action").is_some() {
            return serde_json::from_value(event.clone())
                .map(CompactorEvent::Step)
                .map_err(|e| {
                    invalid(
                        "compaction step",
                        event,
                        format!(
                            "{e} (\"action\" is plan, bucket or commit; see docs/OPERATIONS.md)"
                        ),
                    )
                });
        }
        let table = table_of(event)?;
        match event.get("check") {
            None | Some(Value::Null) | Some(Value::Bool(false)) => {}
            Some(Value::Bool(true)) if event.get("retention").is_none() => {
                let drill = match (event.get("drill_to"), event.get("drill_sample")) {
                    (None | Some(Value::Null), None | Some(Value::Null)) => None,
                    (Some(Value::String(to)), sample) if !to.is_empty() => {
                        let n = match sample {
                            None | Some(Value::Null) => 1,
                            Some(n) => n.as_u64().filter(|n| (1..=100).contains(n)).ok_or_else(|| {
                                invalid("compactor event", event, "drill_sample must be a whole number from 1 to 100".into())
                            })? as usize,
                        };
                        Some((to.clone(), n))
                    }
                    _ => {
                        return Err(invalid(
                            "compactor event",
                            event,
                            "drill_to must name the drills' target (dynamodb://PREFIX, s3://BUCKET/PREFIX); drill_sample needs it".into(),
                        ))
                    }
                };
                return Ok(CompactorEvent::Check { table, drill });
            }
            Some(Value::Bool(true)) => {
                return Err(invalid(
                    "compactor event",
                    event,
                    "a check does not apply retention: schedule them apart".into(),
                ))
            }
            Some(other) => {
                return Err(invalid(
                    "compactor event",
                    event,
                    format!("check must be true or false, not {other}"),
                ))
            }
        }
        let retention = match event.get("retention") {
            None | Some(Value::Null) | Some(Value::Bool(false)) => None,
            Some(Value::Bool(true)) => Some(RetentionDays::from_env(env)?),
            Some(overrides @ Value::Object(_)) => Some(
                RetentionDays::from_env(env)?
                    .overridden_by(overrides)
                    .map_err(|e| invalid("compactor event", event, format!("retention: {e}")))?,
            ),
            Some(other) => {
                return Err(invalid(
                    "compactor event",
                    event,
                    format!(
                        "retention must be true, false or an object of keep_*_days, not {other}"
                    ),
                ))
            }
        };
        Ok(CompactorEvent::Scheduled { table, retention })
    }
}

/// Reads the table from the event: `{"table": ...}` (the rule's constant input) or the same
/// object under `detail` (a custom event).
pub fn table_of(event: &Value) -> Result<String> {
    event
        .get("table")
        .or_else(|| event.get("detail").and_then(|d| d.get("table")))
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| {
            invalid(
                "compactor event",
                event,
                "no \"table\" (give the EventBridge target the constant input {\"table\": \"<name>\"})"
                    .into(),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn a_check_event_asks_for_a_scrub_only() {
        assert_eq!(
            CompactorEvent::parse(&json!({"table": "shop", "check": true}), &no_env).unwrap(),
            CompactorEvent::Check {
                drill: None,
                table: "shop".into()
            }
        );
        assert!(matches!(
            CompactorEvent::parse(&json!({"table": "shop", "check": false}), &no_env).unwrap(),
            CompactorEvent::Scheduled { .. }
        ));
        assert_eq!(
            CompactorEvent::parse(
                &json!({"table": "shop", "check": true, "drill_to": "s3://b/drills", "drill_sample": 2}),
                &no_env
            )
            .unwrap(),
            CompactorEvent::Check {
                table: "shop".into(),
                drill: Some(("s3://b/drills".into(), 2)),
            }
        );
        for bad in [
            json!({"table": "shop", "check": "yes"}),
            json!({"table": "shop", "check": true, "retention": true}),
            json!({"check": true}),
            json!({"table": "shop", "check": true, "drill_sample": 2}),
            json!({"table": "shop", "check": true, "drill_to": "s3://b/d", "drill_sample": 0}),
            json!({"table": "shop", "check": true, "drill_to": 7}),
        ] {
            assert!(CompactorEvent::parse(&bad, &no_env).is_err(), "{bad}");
        }
    }

    #[test]
    fn scheduled_events_name_their_table() {
        assert_eq!(
            CompactorEvent::parse(&json!({"table": "shop"}), &no_env).unwrap(),
            CompactorEvent::Scheduled {
                table: "shop".into(),
                retention: None
            }
        );
        assert_eq!(
            CompactorEvent::parse(&json!({"detail": {"table": "shop"}}), &no_env).unwrap(),
            CompactorEvent::Scheduled {
                table: "shop".into(),
                retention: None
            }
        );
        let err = CompactorEvent::parse(&json!({"source": "aws.events"}), &no_env).unwrap_err();
        assert!(err.to_string().contains("no \"table\""), "{err}");
    }

    #[test]
    fn retention_comes_from_the_event_over_the_environment_over_the_defaults() {
        let env = |name: &str| (name == "REWIND_KEEP_CHANGES_DAYS").then(|| "90".to_string());
        let parsed = CompactorEvent::parse(&json!({"table": "t", "retention": true}), &env);
        let CompactorEvent::Scheduled {
            retention: Some(days),
            ..
        } = parsed.unwrap()
        else {
            panic!("retention asked for")
        };
        assert_eq!(days.keep_changes_days, 90);
        assert_eq!(
            days.keep_weekly_days,
            RetentionDays::default().keep_weekly_days
        );

        let parsed = CompactorEvent::parse(
            &json!({"table": "t", "retention": {"keep_changes_days": 7, "keep_monthly_days": 400}}),
            &env,
        );
        let CompactorEvent::Scheduled {
            retention: Some(days),
            ..
        } = parsed.unwrap()
        else {
            panic!("retention asked for")
        };
        assert_eq!((days.keep_changes_days, days.keep_monthly_days), (7, 400));

        let bad = CompactorEvent::parse(
            &json!({"table": "t", "retention": {"keep_changes": 7}}),
            &no_env,
        )
        .unwrap_err();
        assert!(bad.to_string().contains("keep_changes"), "{bad}");
        let env = |_: &str| Some("ninety".to_string());
        let bad =
            CompactorEvent::parse(&json!({"table": "t", "retention": true}), &env).unwrap_err();
        assert!(bad.to_string().contains("REWIND_KEEP_"), "{bad}");
    }

    #[test]
    fn steps_parse_into_their_variant_or_say_what_is_missing() {
        assert_eq!(
            CompactorEvent::parse(
                &json!({"action": "bucket", "table": "t", "run_id": "r1", "bucket": 3}),
                &no_env
            )
            .unwrap(),
            CompactorEvent::Step(CompactionStep::Bucket {
                table: "t".into(),
                run_id: "r1".into(),
                bucket: 3
            })
        );
        let err =
            CompactorEvent::parse(&json!({"action": "bucket", "table": "t"}), &no_env).unwrap_err();
        assert!(err.to_string().contains("run_id"), "{err}");
        let err = CompactorEvent::parse(&json!({"action": "explode", "table": "t"}), &no_env)
            .unwrap_err();
        assert!(err.to_string().contains("plan, bucket or commit"), "{err}");
    }
}
