//! The BatchWriteItem call's body, written from the items' canonical DynamoDB JSON as they are
//! ([`batch_body`]), and the interceptor that puts it in place of the SDK's serialisation of an
//! empty input before the request is signed ([`RawBody`]). The items are never parsed into the
//! SDK's types and serialised again, which was about two thirds of the writer's CPU
//! (docs/BENCHMARKS.md, restore writer capacity).

use super::batch_writer::Pending;
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use bytes::Bytes;

/// The body of a BatchWriteItem call writing `pending` into `table`, written from the items'
/// DynamoDB JSON as they are: `{"RequestItems":{TABLE:[{"PutRequest":{"Item":IMAGE}},
/// {"DeleteRequest":{"Key":KEYS}},...]}}`.
pub(super) fn batch_body(table: &str, pending: &[Pending]) -> Bytes {
    let table = serde_json::Value::from(table).to_string();
    let requests: usize = pending
        .iter()
        .map(|p| p.image.as_ref().map_or(p.keys_json.len(), String::len) + 24)
        .sum();
    let mut body = Vec::with_capacity(24 + table.len() + requests);
    body.extend_from_slice(b"{\"RequestItems\":{");
    body.extend_from_slice(table.as_bytes());
    body.extend_from_slice(b":[");
    for (i, p) in pending.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        match &p.image {
            Some(image) => {
                body.extend_from_slice(b"{\"PutRequest\":{\"Item\":");
                body.extend_from_slice(image.as_bytes());
            }
            None => {
                body.extend_from_slice(b"{\"DeleteRequest\":{\"Key\":");
                body.extend_from_slice(p.keys_json.as_bytes());
            }
        }
        body.extend_from_slice(b"}}");
    }
    body.extend_from_slice(b"]}}");
    Bytes::from(body)
}

/// Puts a body written by [`batch_body`] in place of the SDK's serialisation of the call's
/// (empty) input, before the request is signed, so that the signature covers it.
#[derive(Debug)]
pub(super) struct RawBody(pub(super) Bytes);

impl Intercept for RawBody {
    fn name(&self) -> &'static str {
        "RawBatchWriteBody"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> std::result::Result<(), BoxError> {
        let request = context.request_mut();
        request
            .headers_mut()
            .insert("content-length", self.0.len().to_string());
        *request.body_mut() = self.0.clone().into();
        Ok(())
    }
}
