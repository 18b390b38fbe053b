"""Runs deploy/athena/*.sql on a local rewind store with DuckDB, as Athena would run them on S3.

Usage: run_queries.py JOB.json     (crates/cli/tests/athena_queries.rs writes the job)

JOB = {"store": DIR, "template": deploy/athena.yaml, "sql_dir": deploy/athena,
       "queries": [{"name": ..., "file": "state_at.sql", "params": {"table": ..., ...}}]}

What stands in for what:
  * The Glue tables come from deploy/athena.yaml itself, not from a copy: each table's columns,
    partition keys and storage.location.template are read from the template (its !Sub / !If
    evaluated for a bucket and an empty prefix, s3://bucket/ mapped to the store directory).
    A DuckDB view of the same name has exactly the Glue columns, cast to the DuckDB type of the
    Glue type, and the partition columns take their values from the object's path through the
    location template, as partition projection does; Athena reads every object under a
    partition's location (sub-folders too) except names starting with '.' or '_', and so does
    this. So a wrong template (a folder name, a missing ${column}, a manifest under a partition
    location, a Glue type the Parquet column does not have) fails here.
  * Queries are transpiled from Athena's dialect to DuckDB's with sqlglot, in strict mode (an
    unsupported construct is an error, not a silent rewrite), after the {{name}} placeholders
    are substituted; every placeholder must be given and documented in the file's header.
  * Athena refuses a query that does not pin an injected partition column with an equality to a
    literal (CONSTRAINT_VIOLATION); DuckDB would not care, so this script refuses it too.
  * The session time zone is UTC, as in Athena: Glue's timestamp is UTC wall time.

Prints one JSON document: {"tables": {...what was checked}, "results": {name: {"sql", "columns",
"rows"}}}; timestamps as RFC 3339 with milliseconds and Z, binary as hex.
"""

import datetime
import json
import os
import re
import sys

import duckdb
import sqlglot
import yaml
from sqlglot import exp
from sqlglot.errors import ErrorLevel

# Athena's reserved words (DDL list, and the SELECT list), from
# https://docs.aws.amazon.com/athena/latest/ug/reserved-words.html: a partition column named like
# one would have to be quoted in every query users write.
RESERVED = set(
    """ALL ALTER AND ARRAY AS AUTHORIZATION BETWEEN BIGINT BINARY BOOLEAN BOTH BY CASE CASHE CAST
    CHAR COLUMN CONF CONSTRAINT COMMIT CREATE CROSS CUBE CURRENT CURRENT_DATE CURRENT_TIMESTAMP
    CURSOR DATABASE DATE DAYOFWEEK DECIMAL DELETE DESCRIBE DISTINCT DIV DOUBLE DROP ELSE END
    EXCHANGE EXISTS EXTENDED EXTERNAL EXTRACT FALSE FETCH FLOAT FLOOR FOLLOWING FOR FOREIGN FROM
    FULL FUNCTION GRANT GROUP GROUPING HAVING IF IMPORT IN INNER INSERT INT INTEGER INTERSECT
    INTERVAL INTO IS JOIN LATERAL LEFT LESS LIKE LOCAL MACRO MAP MORE NONE NOT NULL NUMERIC OF ON
    ONLY OR ORDER OUT OUTER OVER PARTIALSCAN PARTITION PERCENT PRECEDING PRECISION PRESERVE
    PRIMARY PROCEDURE RANGE READS REDUCE REGEXP REFERENCES REVOKE RIGHT RLIKE ROLLBACK ROLLUP ROW
    ROWS SELECT SET SMALLINT START TABLE TABLESAMPLE THEN TIME TIMESTAMP TO TRANSFORM TRIGGER
    TRUE TRUNCATE UNBOUNDED UNION UNIQUEJOIN UPDATE USER USING UTC_TMESTAMP VALUES VARCHAR VIEWS
    WHEN WHERE WINDOW WITH
    CURRENT_PATH CURRENT_TIME CURRENT_USER DEALLOCATE ESCAPE EXCEPT EXECUTE FIRST JSON_ARRAY
    JSON_EXISTS JSON_OBJECT JSON_QUERY JSON_TABLE JSON_VALUE LAST LISTAGG LOCALTIME
    LOCALTIMESTAMP NATURAL NORMALIZE PREPARE RECURSIVE SKIP TRIM UESCAPE UNNEST""".split()
)

# Glue type -> (DuckDB type the view presents, DuckDB types of a Parquet column Athena reads as it).
GLUE_TYPES = {
    "string": ("VARCHAR", {"VARCHAR"}),
    # Glue/Athena timestamp is wall time in UTC; the Parquet columns are UTC-adjusted.
    "timestamp": ("TIMESTAMP", {"TIMESTAMP WITH TIME ZONE", "TIMESTAMP"}),
    "binary": ("BLOB", {"BLOB"}),
    "bigint": ("BIGINT", {"BIGINT", "INTEGER", "UINTEGER", "SMALLINT", "USMALLINT"}),
    "int": ("INTEGER", {"INTEGER", "SMALLINT", "USMALLINT", "TINYINT", "UTINYINT"}),
}

TEST_BUCKET = "rewind-athena-test"


def fail(msg):
    raise SystemExit(f"run_queries: {msg}")


# --- deploy/athena.yaml: CloudFormation short-form tags, and just enough of an evaluator ---------


class Tag:
    def __init__(self, name, value):
        self.name, self.value = name, value


def _tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return Tag(suffix, value)


class CfnLoader(yaml.SafeLoader):
    pass


CfnLoader.add_multi_constructor("!", _tag)


def evaluate(node, params, conditions):
    """Evaluates the intrinsic functions the template uses (Ref, Sub, If, Not, Equals)."""
    if isinstance(node, Tag) or (isinstance(node, dict) and len(node) == 1 and
                                 next(iter(node)) in ("Ref", "Fn::Sub", "Fn::If", "Fn::Not", "Fn::Equals")):
        if isinstance(node, Tag):
            name, value = node.name, node.value
        else:
            key, value = next(iter(node.items()))
            name = key.replace("Fn::", "")
        if name == "Ref":
            if value not in params:
                fail(f"template: Ref to {value}, which this test does not define")
            return params[value]
        if name == "Equals":
            a, b = (evaluate(v, params, conditions) for v in value)
            return a == b
        if name == "Not":
            return not evaluate(value[0], params, conditions)
        if name == "If":
            cond, yes, no = value
            return evaluate(yes if conditions[cond] else no, params, conditions)
        if name == "Sub":
            if isinstance(value, list):
                text, extra = value
                local = {k: evaluate(v, params, conditions) for k, v in extra.items()}
            else:
                text, local = value, {}

            def sub(m):
                inner = m.group(1)
                if inner.startswith("!"):
                    return "${" + inner[1:] + "}"  # ${!x} is a literal ${x}
                if inner in local:
                    return str(local[inner])
                if inner in params:
                    return str(params[inner])
                fail(f"template: !Sub refers to {inner}, which this test does not define")

            return re.sub(r"\$\{([^}]*)\}", sub, text)
        fail(f"template: intrinsic {name} is not evaluated by this test")
    if isinstance(node, dict):
        return {k: evaluate(v, params, conditions) for k, v in node.items()}
    if isinstance(node, list):
        return [evaluate(v, params, conditions) for v in node]
    return node


def glue_tables(template_path, prefix):
    with open(template_path, encoding="utf-8") as f:
        template = yaml.load(f, Loader=CfnLoader)
    params = {"AWS::AccountId": "123456789012", "AWS::Region": "us-east-1"}
    for name, spec in template["Parameters"].items():
        params[name] = spec.get("Default", "")
    params["BackupBucket"] = TEST_BUCKET
    params["BackupPrefix"] = prefix
    conditions = {}
    for name, cond in template.get("Conditions", {}).items():
        conditions[name] = evaluate(cond, params, conditions)
    tables = {}
    for res in template["Resources"].values():
        if res["Type"] == "AWS::Glue::Table":
            inp = evaluate(res["Properties"]["TableInput"], params, conditions)
            tables[inp["Name"]] = inp
    return tables


def format_columns(format_md):
    """Column names of docs/FORMAT.md section 3's table, in order."""
    with open(format_md, encoding="utf-8") as f:
        text = f.read()
    section = text.split("## 3.", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.M)


def check_table(name, table, prefix):
    """The template's own consistency: projection for every partition key, a location template
    naming each exactly once, unreserved names; returns (location template, partition keys)."""
    params = table["Parameters"]
    if params.get("projection.enabled") != "true":
        fail(f"{name}: projection.enabled is not 'true'")
    template = params.get("storage.location.template", "")
    keys = table["PartitionKeys"]
    root = f"s3://{TEST_BUCKET}/" + (f"{prefix}/" if prefix else "")
    if not template.startswith(root) or "//" in template[len("s3://"):]:
        fail(f"{name}: location template {template!r} is not under {root!r} with single slashes")
    if not table["StorageDescriptor"]["Location"].startswith(root):
        fail(f"{name}: Location {table['StorageDescriptor']['Location']!r} is not under {root!r}")
    named = re.findall(r"\$\{([^}]*)\}", template)
    if sorted(named) != sorted(k["Name"] for k in keys):
        fail(f"{name}: location template names {named}, partition keys are {[k['Name'] for k in keys]}")
    for k in keys:
        col = k["Name"]
        if col.upper() in RESERVED:
            fail(f"{name}: partition column {col} is an Athena reserved word")
        if col != col.lower():
            fail(f"{name}: partition column {col} is not lower case (Glue lower-cases names)")
        ptype = params.get(f"projection.{col}.type")
        if ptype not in ("injected", "date", "integer", "enum"):
            fail(f"{name}: partition column {col} has no projection type ({ptype!r})")
    if not template.endswith("/"):
        fail(f"{name}: location template does not end with '/'")
    serde = table["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"]
    if "parquet" not in serde.lower():
        fail(f"{name}: SerDe {serde} is not the Parquet SerDe")
    return template, keys


def projected_value(table_name, params, col, raw):
    """The partition value partition projection gives a folder name, or an error if projection
    would never produce that folder (the data would be invisible to Athena)."""
    ptype = params[f"projection.{col}.type"]
    if ptype == "injected":
        return raw
    if ptype == "integer":
        lo, hi = (int(v) for v in params[f"projection.{col}.range"].split(","))
        digits = int(params.get(f"projection.{col}.digits", "0"))
        value = int(raw)
        if not lo <= value <= hi or raw != str(value).zfill(digits):
            fail(f"{table_name}: folder {col}={raw} is outside projection {lo}..{hi} with {digits} digits")
        return raw
    if ptype == "date":
        fmt = params[f"projection.{col}.format"]
        java_to_py = {"yyyy": "%Y", "MM": "%m", "dd": "%d", "HH": "%H"}
        pyfmt = fmt
        for j, p in java_to_py.items():
            pyfmt = pyfmt.replace(j, p)
        try:
            day = datetime.datetime.strptime(raw, pyfmt)
        except ValueError:
            fail(f"{table_name}: folder {col}={raw} does not have the projection format {fmt}")
        start = params[f"projection.{col}.range"].split(",")[0]
        if day < datetime.datetime.strptime(start, pyfmt):
            fail(f"{table_name}: folder {col}={raw} is before the projection range start {start}")
        return raw
    fail(f"{table_name}: projection type {ptype} of {col} is not emulated")


def create_view(con, store, name, table, template, keys):
    """A view named like the Glue table over the objects partition projection would find."""
    params = table["Parameters"]
    root = f"s3://{TEST_BUCKET}/"
    local = os.path.join(store, template[len(root):])
    # The template as a path pattern: each ${col} is one folder-name segment.
    pattern = "^" + re.sub(r"\\\$\\\{([a-z_]+)\\\}", r"(?P<\1>[^/]+)", re.escape(local))
    # Walk from the last folder before the first ${...} (e.g. <store>/changes/).
    walk_root = local.split("${", 1)[0].rsplit("/", 1)[0]
    files = []
    for dirpath, dirnames, filenames in os.walk(walk_root):
        dirnames[:] = [d for d in dirnames if not d.startswith((".", "_"))]
        for fn in filenames:
            if fn.startswith((".", "_")):
                continue  # hidden objects (the local store's checksum sidecars), as Hive skips
            path = os.path.join(dirpath, fn)
            m = re.match(pattern, path)
            if m:
                files.append((path, {k["Name"]: projected_value(name, params, k["Name"], m.group(k["Name"])) for k in keys}))
    # Parquet objects under the table's Location that no projected partition reaches are data
    # Athena would never read (a template whose folders do not match the layout).
    location = os.path.join(store, table["StorageDescriptor"]["Location"][len(root):])
    reached = {p for p, _ in files}
    for dirpath, dirnames, filenames in os.walk(location):
        dirnames[:] = [d for d in dirnames if not d.startswith((".", "_"))]
        for fn in filenames:
            path = os.path.join(dirpath, fn)
            if fn.endswith(".parquet") and not fn.startswith((".", "_")) and path not in reached:
                fail(f"{name}: {path} is under the table's Location but no projected partition reaches it")
    columns = table["StorageDescriptor"]["Columns"]
    part_cols = [k["Name"] for k in keys]
    part_ddl = ", ".join(f'"{c}" VARCHAR' for c in part_cols)
    con.execute(f"CREATE TEMP TABLE {name}__objects (filename VARCHAR, {part_ddl})")
    for path, values in files:
        con.execute(f"INSERT INTO {name}__objects VALUES (?{', ?' * len(part_cols)})",
                    [path] + [values[c] for c in part_cols])
    data_cols = []
    for c in columns:
        if c["Type"] not in GLUE_TYPES:
            fail(f"{name}: Glue type {c['Type']} of {c['Name']} is not mapped by this test")
        data_cols.append(f'CAST(d."{c["Name"]}" AS {GLUE_TYPES[c["Type"]][0]}) AS "{c["Name"]}"')
    part_sel = [f'CAST(o."{k["Name"]}" AS {GLUE_TYPES[k["Type"]][0]}) AS "{k["Name"]}"' for k in keys]
    checked = {}
    if files:
        paths = [p for p, _ in files]
        described = con.execute("DESCRIBE SELECT * FROM read_parquet(?, union_by_name=true)", [paths]).fetchall()
        found = {row[0]: row[1] for row in described}
        for c in columns:
            got = found.get(c["Name"])
            if got is None:
                fail(f"{name}: column {c['Name']} is in Glue but not in the Parquet files")
            if got not in GLUE_TYPES[c["Type"]][1]:
                fail(f"{name}: column {c['Name']} is {got} in Parquet but {c['Type']} in Glue")
            checked[c["Name"]] = f"{c['Type']} <- {got}"
        # read_parquet in a view needs a constant list of files: inline it as a SQL list.
        listed = "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"
        source = (f"read_parquet({listed}, filename=true, union_by_name=true) AS d "
                  f"JOIN {name}__objects AS o ON d.filename = o.filename")
        con.execute(f"CREATE VIEW {name} AS SELECT {', '.join(data_cols + part_sel)} FROM {source}")
    else:
        empty = [f'CAST(NULL AS {GLUE_TYPES[c["Type"]][0]}) AS "{c["Name"]}"' for c in columns + keys]
        con.execute(f"CREATE VIEW {name} AS SELECT {', '.join(empty)} WHERE false")
    return {"objects": len(files), "columns": checked,
            "partitions": sorted({tuple(v.values()) for _, v in files})}


def check_injected(name, tree, tables):
    """Athena's rule for injected partition columns: a static equality in the WHERE clause."""
    for table in tree.find_all(exp.Table):
        glue = tables.get(table.name)
        if glue is None:
            continue
        for k in glue["PartitionKeys"]:
            col = k["Name"]
            if glue["Parameters"].get(f"projection.{col}.type") != "injected":
                continue
            select = table.find_ancestor(exp.Select)
            where = select.args.get("where") if select else None
            pinned = where is not None and any(
                isinstance(eq.left, exp.Column) and eq.left.name == col and isinstance(eq.right, exp.Literal)
                for eq in where.find_all(exp.EQ)
            )
            if not pinned:
                fail(f"{name}: reads {table.name} without {col} = '<literal>' (Athena: CONSTRAINT_VIOLATION "
                     f"for the injected partition column {col})")


def substitute(name, sql, params):
    used = set(re.findall(r"\{\{(\w+)\}\}", sql))
    header = "\n".join(line for line in sql.splitlines() if line.startswith("--"))
    undocumented = {p for p in used if f"{{{{{p}}}}}" not in header}
    if undocumented:
        fail(f"{name}: placeholders {sorted(undocumented)} are not described in the header comment")
    if used != set(params):
        fail(f"{name}: the file's placeholders are {sorted(used)}, the job gives {sorted(params)}")
    # Values are SQL text inside the query's own quotes: a quote in a value is doubled.
    return re.sub(r"\{\{(\w+)\}\}", lambda m: str(params[m.group(1)]).replace("'", "''"), sql)


def to_json(value):
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return value


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        job = json.load(f)
    store = os.path.abspath(job["store"])

    # The template must render single-slash locations with and without a prefix; the local
    # store is the bucket's root (empty prefix).
    check_prefixed = glue_tables(job["template"], "backups/rewind")
    for name, table in check_prefixed.items():
        check_table(name, table, "backups/rewind")
    tables = glue_tables(job["template"], "")
    if set(tables) != {"rewind_changes", "rewind_snapshots"}:
        fail(f"the template defines Glue tables {sorted(tables)}")

    want = format_columns(job["format_md"])
    for name, table in tables.items():
        got = [c["Name"] for c in table["StorageDescriptor"]["Columns"]]
        if got != want:
            fail(f"{name}: Glue columns {got} differ from docs/FORMAT.md section 3 {want}")

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    report = {"tables": {}, "results": {}}
    for name, table in tables.items():
        template, keys = check_table(name, table, "")
        report["tables"][name] = create_view(con, store, name, table, template, keys)

    for q in job["queries"]:
        path = os.path.join(job["sql_dir"], q["file"])
        with open(path, encoding="utf-8") as f:
            athena_sql = substitute(q["name"], f.read(), q["params"])
        try:
            trees = sqlglot.parse(athena_sql, read="athena", error_level=ErrorLevel.RAISE)
        except sqlglot.errors.SqlglotError as e:
            fail(f"{q['name']}: {q['file']} does not parse as Athena SQL: {e}")
        trees = [t for t in trees if t is not None]
        if len(trees) != 1:
            fail(f"{q['name']}: {q['file']} holds {len(trees)} statements, not one")
        check_injected(q["name"], trees[0], tables)
        try:
            # Without the comments: the header is the file's; the SQL is what a failure shows.
            duck_sql = sqlglot.transpile(athena_sql, read="athena", write="duckdb",
                                         unsupported_level=ErrorLevel.RAISE, comments=False,
                                         pretty=True)[0]
        except sqlglot.errors.SqlglotError as e:
            fail(f"{q['name']}: {q['file']} does not transpile to DuckDB faithfully: {e}")
        try:
            cur = con.execute(duck_sql)
        except duckdb.Error as e:
            fail(f"{q['name']}: DuckDB refused the transpiled {q['file']}: {e}\n{duck_sql}")
        columns = [d[0] for d in cur.description]
        rows = [[to_json(v) for v in row] for row in cur.fetchall()]
        report["results"][q["name"]] = {"sql": duck_sql, "columns": columns, "rows": rows}
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()
