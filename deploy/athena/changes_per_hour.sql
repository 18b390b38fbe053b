-- Changes per hour per event type: how many INSERTs, MODIFYs and REMOVEs a table had in each UTC
-- hour of a range of days, and how many distinct items they touched.
--
-- Parameters (replace each one in double braces before running; values go inside the quotes as shown):
--   {{table}}     the DynamoDB table name, e.g. orders
--   {{from_day}}  first UTC day, inclusive, YYYY-MM-DD, e.g. 2026-11-26
--   {{to_day}}    last UTC day, inclusive, YYYY-MM-DD, e.g. 2026-11-27
--
-- Why the DISTINCT: one stream record can be stored more than once (a retried capture batch that
-- started elsewhere, or a merged hour file beside the files it replaces during their grace
-- period). A record is identified by (key, stream_label, sequence_number); counting rows would
-- count the copies.
--
-- dt and hour are the partition columns: the UTC day and hour of approximate_creation_time, so
-- grouping by them reads no timestamps and the dt bounds prune whole days (partition projection).
--
-- Dialect: plain ANSI SQL; sqlglot transpiles it to DuckDB unchanged (tests/athena/run_queries.py).
SELECT
  dt,
  hour,
  event_name,
  count(*) AS changes,
  count(DISTINCT key) AS items
FROM (
  SELECT DISTINCT key, stream_label, sequence_number, event_name, dt, hour
  FROM rewind_changes
  WHERE source_table = '{{table}}'
    AND dt BETWEEN '{{from_day}}' AND '{{to_day}}'
) AS records
GROUP BY dt, hour, event_name
ORDER BY dt, hour, event_name;
