-- Value changes per hour: how many items changed one string attribute from one value to another
-- in each UTC hour, e.g. how many orders went from PAID to SHIPPED per hour.
--
-- Parameters (replace each one in double braces before running):
--   {{table}}      the DynamoDB table name, e.g. shop
--   {{attribute}}  a top-level attribute of type S, a plain name (letters, digits, _), e.g. status
--   {{from_day}}   first UTC day counted, inclusive, YYYY-MM-DD, e.g. 2026-11-26
--   {{to_day}}     last UTC day counted, inclusive, YYYY-MM-DD, e.g. 2026-11-27
--
-- Why a window over versions: rewind does not store a MODIFY's old image (it is the previous
-- version's new image, already in the log; docs/FORMAT.md), so the value before a change is
-- the value in the item's previous version, in rewind's order of versions (stream_label,
-- sequence_number). That previous version may lie before from_day, so versions are read from
-- the first retained day on (dt <= to_day) and only the counting is limited to the range: the
-- query reads the table's whole retained log. A change whose previous version is gone
-- (retention) has no "from" value and is not counted; neither are changes that add or remove
-- the attribute, INSERTs and REMOVEs: only MODIFYs from one value to another.
--
-- Items of different kinds in one table (single-table design) can share an attribute name:
-- add a condition on another attribute to the versions (e.g. the item's entity) if so.
--
-- Copies of one stream record (retried batches, merged files in their grace period) need no
-- DISTINCT here: a copy follows its original directly in the version order and has its value,
-- so it is never a change of value, and the next version sees the same value before it.
--
-- Dialect: json_extract_scalar (Athena) becomes DuckDB's ->> under sqlglot; lag() is common.
WITH versions AS (
  SELECT key, stream_label, sequence_number, event_name, dt, hour,
    json_extract_scalar(new_image, '$.{{attribute}}.S') AS value
  FROM rewind_changes
  WHERE source_table = '{{table}}'
    AND dt <= '{{to_day}}'
),
changes AS (
  SELECT dt, hour, event_name, value,
    lag(value) OVER (
      PARTITION BY key
      ORDER BY stream_label, sequence_number
    ) AS previous_value
  FROM versions
)
SELECT dt, hour, previous_value AS from_value, value AS to_value, count(*) AS changes
FROM changes
WHERE event_name = 'MODIFY'
  AND dt BETWEEN '{{from_day}}' AND '{{to_day}}'
  AND previous_value <> value
GROUP BY dt, hour, previous_value, value
ORDER BY dt, hour, from_value, to_value;
