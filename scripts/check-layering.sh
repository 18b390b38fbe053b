#!/usr/bin/env bash
# The crate graph rewind promises (docs/DECISIONS.md, "One owner for the catalog"):
#
#   aws, format <- store <- catalog <- {capture, replay} <- {compactor, service} <- cli
#
# A restore host (replay, the API service) and the compactor link no stream-reading code: not the
# capture crate, not the DynamoDB Streams SDK, not the Lambda runtime (replay) or Lambda event
# types. The catalog depends on neither capture nor replay. Checked on `cargo tree` (normal and dev edges),
# so a new dependency that breaks the layering fails the test run, naming the path.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

status=0
forbid() {
    local package="$1"
    shift
    local tree
    tree="$(cargo tree --quiet --offline -p "$package" --prefix none --format '{p}' 2>/dev/null ||
        cargo tree --quiet -p "$package" --prefix none --format '{p}')"
    for crate in "$@"; do
        if grep -q "^$crate v" <<<"$tree"; then
            echo "layering: $package depends on $crate; the path:" >&2
            cargo tree --quiet -p "$package" -i "$crate" >&2 || true
            status=1
        fi
    done
}

forbid rewind-catalog rewind-capture rewind-replay rewind-compactor aws-sdk-dynamodbstreams lambda_runtime aws_lambda_events
forbid rewind-replay rewind-capture rewind-compactor aws-sdk-dynamodbstreams lambda_runtime aws_lambda_events
forbid rewind-compactor rewind-capture aws-sdk-dynamodbstreams aws_lambda_events
forbid rewind-service rewind-capture aws-sdk-dynamodbstreams aws_lambda_events
forbid rewind-api-lambda rewind-capture aws-sdk-dynamodbstreams
forbid rewind-worker-lambda rewind-capture aws-sdk-dynamodbstreams aws_lambda_events
forbid rewind-store rewind-catalog rewind-capture rewind-replay
forbid rewind-format rewind-store rewind-catalog

if ((status == 0)); then
    echo "layering holds: catalog, replay, compactor and service link no capture or stream code"
fi
exit "$status"
