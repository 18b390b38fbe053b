-- Item X as of a time: the version of one item in force at second T (what a restore to T would
-- hold for that key), from the change log.
--
-- Parameters (replace each one in double braces before running):
--   {{table}}  the DynamoDB table name, e.g. orders
--   {{keys}}   the item's key as canonical DynamoDB JSON: attribute names sorted, no spaces,
--              numbers spelled as the application wrote them,
--              e.g. {"pk":{"S":"USER#02XVAFYT"},"sk":{"S":"PROFILE"}} (the keys column; write a '
--              inside it as '')
--   {{at}}     the restore point T, UTC, whole second, 'YYYY-MM-DD HH:MM:SS', e.g. 2026-11-26 06:15:00
--
-- Result: no row if the item had no change up to T (it did not exist yet, or its history lies
-- before what the log retains: then use state_at.sql, which starts from a snapshot); else one
-- row with the last change: exists_at_t is false when that change was a REMOVE (changed_at is
-- then the deletion time), and item is the whole item otherwise.
--
-- Semantics are rewind's (docs/FORMAT.md, DESIGN "Correctness rules"):
--   * T includes every change stamped before T + 1 s (DynamoDB stamps whole seconds);
--   * versions of an item are ordered by (stream_label, sequence_number): a re-created table or
--     re-enabled stream starts a new label whose sequence numbers start low again, and within
--     one second only the sequence number orders changes. Both are fixed-width text, so text
--     order is time order;
--   * copies of one record (retried batches) are harmless: any copy ranks first.
--
-- Dialect: the window function, TIMESTAMP literal and INTERVAL arithmetic are common to Athena
-- and DuckDB; sqlglot only rewrites the literal as a CAST and substr as SUBSTRING.
SELECT
  keys,
  event_name AS last_event,
  event_name <> 'REMOVE' AS exists_at_t,
  approximate_creation_time AS changed_at,
  stream_label,
  sequence_number,
  new_image AS item
FROM (
  SELECT keys, event_name, approximate_creation_time, stream_label, sequence_number, new_image,
    row_number() OVER (
      PARTITION BY key
      ORDER BY stream_label DESC, sequence_number DESC
    ) AS version_rank
  FROM rewind_changes
  WHERE source_table = '{{table}}'
    AND keys = '{{keys}}'
    AND dt <= substr('{{at}}', 1, 10)
    AND approximate_creation_time < TIMESTAMP '{{at}}' + INTERVAL '1' SECOND
) AS versions
WHERE version_rank = 1;
