-- The state of a table at second T: every item it held, rebuilt from a snapshot and the
-- changes after it, exactly as `rewind restore --at T` rebuilds it.
--
-- Parameters (replace each one in double braces before running):
--   {{table}}            the DynamoDB table name, e.g. orders
--   {{at}}               the restore point T, UTC, whole second, 'YYYY-MM-DD HH:MM:SS'
--   {{snapshot_at}}      the base snapshot's folder time, YYYYMMDDTHHMMSSZ (at=... in its key)
--   {{snapshot_run}}     the base snapshot's run_id (manifest.json; its files are under run=...)
--   {{changes_from_ms}}  the base snapshot's changes_from_ms (manifest.json), a number
--
-- Choosing the base happens outside SQL, because manifests are JSON beside the Parquet files
-- (deploy/athena/README.md): take the newest snapshot whose manifest has valid_from <= T
-- (seconds) and that `rewind ls` lists as usable (a compacted snapshot no redrive invalidated;
-- a full backup whose stream capture has covered). Read its run_id and changes_from_ms from
--   s3://<bucket>/<prefix>/snapshots/table=<t>/at=<snapshot_at>/manifest.json
-- When the change log covers the table's whole life (rewind ls: whole_life confirmed) a base is
-- optional: pass snapshot_at = none, snapshot_run = none, changes_from_ms = 0 (an empty base:
-- the partition location does not exist and reads as no rows).
--
-- Semantics (docs/FORMAT.md section 7, DESIGN "Correctness rules"):
--   * the snapshot holds one version per item; every change stamped at or after
--     changes_from_ms and before T + 1 s is applied over it, and none before (they could
--     resurrect items the snapshot already deleted);
--   * per item the last version wins, in the order: snapshot rows below every change (a full
--     backup's rows are a Scan's, stamped at the scan start with sequence number 0), then
--     changes by (stream_label, sequence_number);
--   * the item is absent if its last version is a REMOVE;
--   * items are grouped by key (the canonical key bytes: 100 and 1E+2 are one key), not by the
--     keys text.
--
-- Dialect: from_unixtime(ms / 1e3) is Athena's; sqlglot turns it into DuckDB's to_timestamp.
-- Dividing by the double 1e3 keeps milliseconds in both (integer division would truncate in
-- Athena and not in DuckDB).
WITH base AS (
  SELECT key, keys, event_name, new_image, 0 AS source_rank, stream_label, sequence_number
  FROM rewind_snapshots
  WHERE source_table = '{{table}}'
    AND snapshot_at = '{{snapshot_at}}'
    AND snapshot_run = '{{snapshot_run}}'
),
changes AS (
  SELECT key, keys, event_name, new_image, 1 AS source_rank, stream_label, sequence_number
  FROM rewind_changes
  WHERE source_table = '{{table}}'
    AND dt BETWEEN CAST(CAST(from_unixtime({{changes_from_ms}} / 1e3) AS date) AS varchar)
      AND substr('{{at}}', 1, 10)
    AND approximate_creation_time >= from_unixtime({{changes_from_ms}} / 1e3)
    AND approximate_creation_time < TIMESTAMP '{{at}}' + INTERVAL '1' SECOND
),
ranked AS (
  SELECT keys, event_name, new_image,
    row_number() OVER (
      PARTITION BY key
      ORDER BY source_rank DESC, stream_label DESC, sequence_number DESC
    ) AS version_rank
  FROM (
    SELECT * FROM base
    UNION ALL
    SELECT * FROM changes
  ) AS versions
)
SELECT keys, new_image AS item
FROM ranked
WHERE version_rank = 1
  AND event_name <> 'REMOVE'
ORDER BY keys;
