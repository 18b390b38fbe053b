//! The data files: their names (`data/bucket-NNNN-of-MMMM.json.gz`), writing one from a bucket's
//! items (`{"Item":IMAGE}` lines, gzip) and reading one back (counting its lines for the
//! manifests, or parsing its items for `verify`). The gzip and parsing work runs off the async
//! workers ([`blocking`]).

use super::{ExportTarget, DATA_PREFIX};
use crate::error::{ReplayError, Result};
use crate::state::LiveItem;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use rewind_format::Item;
use serde::Deserialize;
use std::io::{BufRead, BufReader, Write};
use tokio::sync::mpsc;

/// gzip level of the data files. Measured on 10.7k workload items (20.8 MB of lines, release
/// build, miniz_oxide): level 1 gives 25.3 % of the input at 281 MB/s, level 3 16.4 % at
/// 109 MB/s, level 6 15.3 % at 51 MB/s, level 9 14.9 % at 20 MB/s. Level 3: within 7 % of
/// level 6's size at twice its speed. (ImportTable bills the uncompressed size either way.)
const GZIP_LEVEL: u32 = 3;
/// DynamoDB's item size limit: ImportTable does not load a larger item.
pub(super) const MAX_ITEM_BYTES: u64 = 400 * 1024;
/// Items per page sent by [`ExportTarget::scan`].
const SCAN_PAGE: usize = 1000;

/// The key of bucket `bucket`'s data file among `buckets` buckets: fixed width (at least four
/// digits), so names sort in bucket order.
pub fn data_key(bucket: u32, buckets: u32) -> String {
    let width = buckets.to_string().len().max(4);
    format!("{DATA_PREFIX}bucket-{bucket:0width$}-of-{buckets:0width$}.json.gz")
}

/// The (bucket, bucket count) of a data file key written by [`data_key`], or `None` for any
/// other key.
pub fn parse_data_key(key: &str) -> Option<(u32, u32)> {
    let name = key
        .strip_prefix(DATA_PREFIX)?
        .strip_prefix("bucket-")?
        .strip_suffix(".json.gz")?;
    let (bucket, buckets) = name.split_once("-of-")?;
    let number = |s: &str| -> Option<u32> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let (bucket, buckets) = (number(bucket)?, number(buckets)?);
    (bucket < buckets && data_key(bucket, buckets) == key).then_some((bucket, buckets))
}

/// What `write_bucket` learnt about a data file, so `finish` need not read it back.
#[derive(Debug, Clone)]
pub(super) struct Written {
    pub(super) items: u64,
    pub(super) uncompressed: u64,
    pub(super) size: u64,
    pub(super) crc32c: Option<String>,
}

/// A lower bound of an item's size as DynamoDB counts it (attribute names and string and binary
/// values by their bytes, a number or boolean or null at least one byte, three bytes per list
/// or map and one per element), from its canonical DynamoDB JSON. Never more than the real
/// size, so an item it puts over the limit is over it.
pub(super) fn dynamodb_size_at_least(image: &str) -> u64 {
    use serde_json::Value;
    fn binary(text: &str) -> u64 {
        let padding = text.bytes().rev().take_while(|b| *b == b'=').count();
        ((text.len() / 4 * 3).saturating_sub(padding)) as u64
    }
    fn value(v: &Value) -> u64 {
        let Some((tag, inner)) = v.as_object().and_then(|o| o.iter().next()) else {
            return 0;
        };
        let texts = || {
            inner
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
        };
        match tag.as_str() {
            "S" => inner.as_str().map_or(0, |t| t.len() as u64),
            "B" => inner.as_str().map_or(0, binary),
            "SS" => texts().map(|t| t.len() as u64).sum(),
            "BS" => texts().map(binary).sum(),
            "NS" => texts().count() as u64,
            "L" => {
                3 + inner
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|e| 1 + value(e))
                    .sum::<u64>()
            }
            "M" => 3 + attributes(inner),
            _ => 1,
        }
    }
    fn attributes(map: &Value) -> u64 {
        map.as_object()
            .into_iter()
            .flatten()
            .map(|(name, v)| name.len() as u64 + value(v))
            .sum()
    }
    serde_json::from_str::<Value>(image).map_or(0, |item| attributes(&item))
}

/// A bucket's data file before compression: one `{"Item":IMAGE}` line per item, the images as
/// they are in the state. An item over DynamoDB's 400 KB limit is refused, naming its key: the
/// export would pass for complete while ImportTable dropped it.
pub(super) fn data_lines(items: &[LiveItem]) -> Result<Vec<u8>> {
    let capacity: usize = items.iter().map(|i| i.image().len() + 10).sum();
    let mut lines = Vec::with_capacity(capacity);
    for item in items {
        // Canonical JSON has no raw newline (one in a string is escaped); a line break
        // would split the item into two broken lines.
        if !item.image().starts_with('{') || item.image().contains('\n') {
            return Err(ReplayError::Invalid {
                what: "item image",
                location: item.keys().to_string(),
                reason: "not one line of DynamoDB JSON".into(),
            });
        }
        // The canonical JSON is never shorter than the item's DynamoDB size, so only a long
        // image needs measuring.
        if item.image().len() as u64 > MAX_ITEM_BYTES {
            let size = dynamodb_size_at_least(item.image());
            if size > MAX_ITEM_BYTES {
                return Err(ReplayError::Invalid {
                    what: "item",
                    location: item.keys().to_string(),
                    reason: format!(
                        "at least {size} bytes as DynamoDB counts them, over the {MAX_ITEM_BYTES}-byte \
                         item limit: ImportTable would not load it (DynamoDB never stores such an \
                         item, so the backup holds a damaged or foreign record: run rewind check)"
                    ),
                });
            }
        }
        lines.extend_from_slice(b"{\"Item\":");
        lines.extend_from_slice(item.image().as_bytes());
        lines.extend_from_slice(b"}\n");
    }
    Ok(lines)
}

/// A data file's lines as one gzip member, at [`GZIP_LEVEL`].
pub(super) fn gzip(lines: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(
        Vec::with_capacity(lines.len() / 4 + 64),
        Compression::new(GZIP_LEVEL),
    );
    encoder.write_all(lines)?;
    encoder.finish()
}

impl ExportTarget {
    /// Counts a data file written by another run (a resumed restore), reading it back.
    pub(super) async fn count_back(&self, key: &str) -> Result<Written> {
        let body = self.store.get(key).await?;
        let crc32c = self.store.head(key).await?.crc32c;
        let size = body.len() as u64;
        let location = self.store.describe(key);
        let (items, uncompressed) = blocking(move || count_lines(&body, &location)).await??;
        Ok(Written {
            items,
            uncompressed,
            size,
            crc32c,
        })
    }
}

/// Runs CPU-bound work (gzip, parsing) off the async workers.
pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(v) => Ok(v),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(ReplayError::io(
            "<blocking task>",
            std::io::Error::other(e.to_string()),
        )),
    }
}

/// One line of a data file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    #[serde(rename = "Item")]
    item: Item,
}

fn invalid_line(location: &str, line: u64, reason: impl Into<String>) -> ReplayError {
    ReplayError::Invalid {
        what: "export line",
        location: format!("{location} line {line}"),
        reason: reason.into(),
    }
}

/// Calls `f` with each line (without its `\n`) of a gzip data file and its 1-based number;
/// returns the uncompressed byte count. `f` returns `false` to stop.
fn for_each_line(
    body: &[u8],
    location: &str,
    mut f: impl FnMut(&[u8], u64) -> Result<bool>,
) -> Result<u64> {
    let mut reader = BufReader::with_capacity(256 * 1024, MultiGzDecoder::new(body));
    let mut buf = Vec::with_capacity(4096);
    let (mut number, mut bytes) = (0u64, 0u64);
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| invalid_line(location, number + 1, format!("not gzip: {e}")))?;
        if n == 0 {
            return Ok(bytes);
        }
        number += 1;
        bytes += n as u64;
        let line = buf.strip_suffix(b"\n").unwrap_or(&buf);
        if !f(line, number)? {
            return Ok(bytes);
        }
    }
}

/// Counts the lines (items) and uncompressed bytes of a data file.
fn count_lines(body: &[u8], location: &str) -> Result<(u64, u64)> {
    let mut items = 0u64;
    let bytes = for_each_line(body, location, |line, number| {
        if line.is_empty() {
            return Err(invalid_line(location, number, "empty line"));
        }
        items += 1;
        Ok(true)
    })?;
    Ok((items, bytes))
}

/// Parses a data file and sends its items in pages; `false` when the receiver has gone.
pub(super) fn read_data_file(
    body: &[u8],
    location: &str,
    sink: &mpsc::Sender<Vec<Item>>,
) -> Result<bool> {
    let mut page = Vec::with_capacity(SCAN_PAGE);
    let mut open = true;
    for_each_line(body, location, |line, number| {
        let parsed: Line = serde_json::from_slice(line).map_err(|e| {
            invalid_line(
                location,
                number,
                format!("not {{\"Item\": DynamoDB JSON}}: {e}"),
            )
        })?;
        rewind_format::validate_item(&parsed.item)
            .map_err(|e| invalid_line(location, number, e.to_string()))?;
        page.push(parsed.item);
        if page.len() == SCAN_PAGE {
            open = sink
                .blocking_send(std::mem::replace(&mut page, Vec::with_capacity(SCAN_PAGE)))
                .is_ok();
        }
        Ok(open)
    })?;
    if open && !page.is_empty() {
        open = sink.blocking_send(page).is_ok();
    }
    Ok(open)
}
