-- Deleted items in a time range, with deletions by DynamoDB's TTL process told apart from
-- deletions by an application.
--
-- Parameters (replace each one in double braces before running):
--   {{table}}  the DynamoDB table name, e.g. orders
--   {{from}}   start of the range, UTC, inclusive, 'YYYY-MM-DD HH:MM:SS', e.g. 2026-11-26 06:00:00
--   {{to}}     end of the range, UTC, exclusive, same form, e.g. 2026-11-27 00:00:00
--
-- One row per REMOVE: the item's key, when it was deleted, whether TTL deleted it, and the item
-- as it was (old_image; null only if the table's stream does not carry old images).
--
-- The TTL marker: DynamoDB stamps a TTL deletion's stream record with
-- userIdentity {"type": "Service", "principalId": "dynamodb.amazonaws.com"}; rewind keeps it
-- in user_identity as JSON with sorted keys ({"principalId":"dynamodb.amazonaws.com","type":"Service"})
-- and leaves user_identity null for every other record. Both fields are checked, as AWS
-- documents the pair, rather than comparing the JSON text.
--
-- DISTINCT drops copies of one stream record (retried batches, merged files in their grace
-- period): a record is one (key, stream_label, sequence_number).
--
-- The dt bounds are static expressions of the parameters, so partition projection prunes the
-- days outside the range.
--
-- Dialect: json_extract_scalar is Athena's (Presto/Trino); sqlglot turns it into DuckDB's ->>
-- operator. TIMESTAMP 'literal' compares with approximate_creation_time (Glue type timestamp,
-- UTC) in both engines.
SELECT
  keys,
  approximate_creation_time AS deleted_at,
  coalesce(
    json_extract_scalar(user_identity, '$.type') = 'Service'
      AND json_extract_scalar(user_identity, '$.principalId') = 'dynamodb.amazonaws.com',
    false
  ) AS ttl_delete,
  old_image AS deleted_item
FROM (
  SELECT DISTINCT key, stream_label, sequence_number, keys, approximate_creation_time,
    user_identity, old_image
  FROM rewind_changes
  WHERE source_table = '{{table}}'
    AND event_name = 'REMOVE'
    AND dt BETWEEN substr('{{from}}', 1, 10) AND substr('{{to}}', 1, 10)
    AND approximate_creation_time >= TIMESTAMP '{{from}}'
    AND approximate_creation_time < TIMESTAMP '{{to}}'
) AS removes
ORDER BY deleted_at, keys;
