//! Publishing to SNS, or to nobody when no topic is configured.

use super::message::Notification;
use aws_sdk_sns::types::MessageAttributeValue;

/// A notification SNS did not take.
#[derive(Debug, thiserror::Error)]
#[error("SNS Publish to {topic}: {message}")]
pub struct NotifyError {
    /// The topic.
    pub topic: String,
    /// What SNS said.
    pub message: String,
    /// Whether trying again may work.
    pub retryable: bool,
}

/// Where notifications go: an SNS topic, or nowhere.
#[derive(Debug, Clone, Default)]
pub struct Notifier {
    topic: Option<(aws_sdk_sns::Client, String)>,
}

impl Notifier {
    /// Publishes to `topic_arn`.
    pub fn sns(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        Notifier {
            topic: Some((client, topic_arn.into())),
        }
    }

    /// Publishes nothing (no topic configured).
    pub fn disabled() -> Self {
        Notifier { topic: None }
    }

    /// The topic, when there is one.
    pub fn topic(&self) -> Option<&str> {
        self.topic.as_ref().map(|(_, arn)| arn.as_str())
    }

    /// Publishes `note` (the SDK retries throttling and transient errors); `Ok(None)` when
    /// disabled, else the message id.
    pub async fn publish(&self, note: &Notification) -> Result<Option<String>, NotifyError> {
        let Some((client, topic)) = &self.topic else {
            return Ok(None);
        };
        let mut request = client
            .publish()
            .topic_arn(topic)
            .subject(&note.subject)
            .message(&note.text);
        for (name, value) in &note.attributes {
            request = request.message_attributes(
                name,
                MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value(value)
                    .build()
                    .expect("data type is set"),
            );
        }
        match request.send().await {
            Ok(out) => Ok(out.message_id().map(str::to_string)),
            Err(e) => {
                let class = rewind_aws::classify(&e);
                Err(NotifyError {
                    topic: topic.clone(),
                    message: class.message,
                    retryable: class.retryable,
                })
            }
        }
    }

    /// Publishes `note`, logging (not returning) a failure: an announcement never decides a
    /// job's outcome, which the job catalog holds either way.
    pub async fn announce(&self, note: &Notification) {
        match self.publish(note).await {
            Ok(Some(id)) => tracing::info!(subject = %note.subject, message_id = %id, "notified"),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(subject = %note.subject, error = %e, "notification not published")
            }
        }
    }
}
