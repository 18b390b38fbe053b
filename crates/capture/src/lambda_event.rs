//! A capture Lambda invocation read from its payload's text: the envelope's few fields are
//! parsed, each stream record is kept as its own text and converted from it
//! ([`rewind_format::from_lambda_record_json`]).
//!
//! Why not a `serde_json::Value` of the event: building that tree of every image, then walking
//! it, bounded capture's encoding speed (docs/BENCHMARKS.md, "Capture encoding"). Records stay
//! separate texts so that one malformed record is still quarantined on its own, exactly as it
//! came, instead of failing the batch.

use crate::error::CaptureError;
use rewind_format::StreamArn;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// What one invocation asks for.
#[derive(Debug)]
pub enum Invocation<'a> {
    /// `{"action": "probe", "table": T}`, from the scheduled rule that keeps idle shards'
    /// watermarks moving ([`crate::poller::probe_stale_shards`]).
    Probe { table: String },
    /// A batch of stream records (or a tumbling window's closing call without any).
    Stream(StreamEvent<'a>),
}

/// A DynamoDB stream event as a tumbling-window mapping delivers it (shape in [`crate::lambda`]).
/// Fields are kept as they came; [`crate::lambda::handle_stream_event`] says what is wrong with
/// them.
#[derive(Debug, Default)]
pub struct StreamEvent<'a> {
    /// Each element of `Records`, as text.
    pub records: Vec<&'a RawValue>,
    pub state: Map<String, Value>,
    pub shard_id: Option<Value>,
    pub event_source_arn: Option<Value>,
    pub window: Option<Value>,
    pub final_invoke: bool,
}

/// The envelope's fields; `Records` stays unparsed until it is known to be a stream event.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "Records", borrow, default)]
    records: Option<&'a RawValue>,
    #[serde(default)]
    state: Option<Value>,
    #[serde(rename = "shardId", default)]
    shard_id: Option<Value>,
    #[serde(rename = "eventSourceARN", default)]
    event_source_arn: Option<Value>,
    #[serde(default)]
    window: Option<Value>,
    #[serde(rename = "isFinalInvokeForWindow", default)]
    final_invoke: Option<Value>,
    #[serde(default)]
    action: Option<Value>,
    #[serde(default)]
    table: Option<Value>,
}

impl<'a> Invocation<'a> {
    /// Reads an invocation's payload. Refused: text that is not a JSON object, an unknown
    /// `action`, a probe without a table, and an event without a `Records` array.
    pub fn parse(payload: &'a str) -> Result<Invocation<'a>, CaptureError> {
        // A derived struct would also take an array, field by position.
        let not_an_object = !payload.trim_start().starts_with('{');
        let envelope: Result<Envelope<'a>, String> = if not_an_object {
            Err("it is not an object".into())
        } else {
            serde_json::from_str(payload).map_err(|e| e.to_string())
        };
        let envelope = envelope.map_err(|e| {
            CaptureError::Input(format!(
                "the Lambda event is not a JSON object with a DynamoDB stream event's fields \
                 ({e}): not a DynamoDB stream event"
            ))
        })?;
        match envelope.action.as_ref().map(|a| a.as_str().ok_or(a)) {
            None => {}
            Some(Ok("probe")) => {
                return match envelope.table.as_ref().and_then(Value::as_str) {
                    Some(table) => Ok(Invocation::Probe {
                        table: table.to_string(),
                    }),
                    None => Err(CaptureError::Input(
                        "probe event without \"table\": give the rule the input {\"action\": \"probe\", \"table\": \"<name>\"}".into(),
                    )),
                };
            }
            Some(other) => {
                let other = other.map_or_else(Value::to_string, |s| format!("{s:?}"));
                return Err(CaptureError::Input(format!(
                    "unknown action {other}: the capture Lambda takes stream batches and {{\"action\": \"probe\", \"table\": T}}"
                )));
            }
        }
        let no_records = || {
            CaptureError::Input(
                "the Lambda event has no Records array: not a DynamoDB stream event".into(),
            )
        };
        let records: Vec<&'a RawValue> =
            serde_json::from_str(envelope.records.ok_or_else(no_records)?.get())
                .map_err(|_| no_records())?;
        Ok(Invocation::Stream(StreamEvent {
            records,
            state: match envelope.state {
                Some(Value::Object(state)) => state,
                _ => Map::new(),
            },
            shard_id: envelope.shard_id,
            event_source_arn: envelope.event_source_arn,
            window: envelope.window,
            final_invoke: envelope
                .final_invoke
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
        }))
    }
}

impl<'a> StreamEvent<'a> {
    /// Reads a payload that must be a stream event (a probe is refused as one without records).
    pub fn parse(payload: &'a str) -> Result<StreamEvent<'a>, CaptureError> {
        match Invocation::parse(payload)? {
            Invocation::Stream(event) => Ok(event),
            Invocation::Probe { .. } => Err(CaptureError::Input(
                "the Lambda event has no Records array: it is a probe, not a DynamoDB stream event"
                    .into(),
            )),
        }
    }

    /// The stream's ARN as the event names it: at the top, or on its first record.
    pub fn arn_text(&self) -> Option<String> {
        if let Some(arn) = self.event_source_arn.as_ref().and_then(Value::as_str) {
            return Some(arn.to_string());
        }
        #[derive(Deserialize)]
        struct First {
            #[serde(rename = "eventSourceARN")]
            arn: Option<String>,
        }
        let first = self.records.first()?;
        serde_json::from_str::<First>(first.get()).ok()?.arn
    }

    /// The source table the event names, for metrics and messages about an event that could
    /// not be handled.
    pub fn table(&self) -> Option<String> {
        StreamArn::parse(&self.arn_text()?).ok().map(|a| a.table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_name_their_table_and_other_actions_are_refused() {
        assert!(matches!(
            Invocation::parse(r#"{"action": "probe", "table": "shop"}"#).unwrap(),
            Invocation::Probe { table } if table == "shop"
        ));
        assert!(matches!(
            Invocation::parse(r#"{"Records": []}"#).unwrap(),
            Invocation::Stream(_)
        ));
        let err = Invocation::parse(r#"{"action": "probe"}"#).unwrap_err();
        assert!(err.to_string().contains("without \"table\""), "{err}");
        let err = Invocation::parse(r#"{"action": "compact", "table": "shop"}"#).unwrap_err();
        assert!(
            err.to_string().contains("unknown action \"compact\""),
            "{err}"
        );
        let err = StreamEvent::parse(r#"{"action": "probe", "table": "shop"}"#).unwrap_err();
        assert!(err.to_string().contains("no Records"), "{err}");
    }

    #[test]
    fn records_stay_text_and_the_envelope_is_read() {
        let event = StreamEvent::parse(
            r#"{"Records": [{"eventID": "1", "x": [1, {"y": null}]}, 7], "shardId": "s",
                "state": {"k": "v"}, "isFinalInvokeForWindow": true, "other": {"z": 1}}"#,
        )
        .unwrap();
        let texts: Vec<&str> = event.records.iter().map(|r| r.get()).collect();
        assert_eq!(texts, [r#"{"eventID": "1", "x": [1, {"y": null}]}"#, "7"]);
        assert_eq!(event.shard_id, Some(Value::String("s".into())));
        assert_eq!(event.state.get("k"), Some(&Value::String("v".into())));
        assert!(event.final_invoke);
    }

    #[test]
    fn table_from_top_level_or_first_record() {
        let arn =
            "arn:aws:dynamodb:us-east-1:123456789012:table/shop/stream/2026-11-26T06:00:00.000";
        let table = |text: String| StreamEvent::parse(&text).unwrap().table();
        assert_eq!(
            table(format!(r#"{{"Records": [], "eventSourceARN": "{arn}"}}"#)).as_deref(),
            Some("shop")
        );
        assert_eq!(
            table(format!(r#"{{"Records": [{{"eventSourceARN": "{arn}"}}]}}"#)).as_deref(),
            Some("shop")
        );
        assert_eq!(table(r#"{"Records": []}"#.into()), None);
        assert_eq!(
            table(r#"{"Records": [], "eventSourceARN": "nope"}"#.into()),
            None
        );
    }

    #[test]
    fn payloads_that_are_not_stream_events_are_refused() {
        for (payload, needle) in [
            ("[1, 2]", "not a JSON object"),
            ("{\"shardId\": \"s\"}", "no Records"),
            ("{\"Records\": {}}", "no Records"),
            ("{\"Records\": 1}", "no Records"),
        ] {
            let err = StreamEvent::parse(payload).unwrap_err();
            assert!(err.to_string().contains(needle), "{payload}: {err}");
        }
    }
}
