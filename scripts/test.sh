#!/usr/bin/env bash
# The one command that runs every check: scripts/test.sh [extra args for cargo test]
#
# Sets up the Python tools in .venv (moto server, pyarrow, DuckDB, schemathesis and
# openapi-spec-validator for the REST API; pinned in
# scripts/requirements-test.txt, reinstalled only when that file changes), starts moto server
# on a free local port for the AWS-facing tests, then runs rustfmt, the crate layering check,
# clippy, the deploy templates' validation (scripts/check-deploy.sh), the whole workspace's
# tests against moto and the Lambda zips' build (scripts/build-lambdas.sh). All of them run;
# the script fails if any failed. moto is stopped on every exit path.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
REQUIREMENTS="scripts/requirements-test.txt"
VENV="$ROOT/.venv"
STAMP="$VENV/.requirements.sha256"
MOTO_LOG="$ROOT/target/moto.log"
MOTO_PID=""

step() {
    printf '\n==> [%4ds] %s\n' "$SECONDS" "$*"
}

stop_moto() {
    if [[ -n "$MOTO_PID" ]] && kill -0 "$MOTO_PID" 2>/dev/null; then
        kill "$MOTO_PID" 2>/dev/null || true
        wait "$MOTO_PID" 2>/dev/null || true
    fi
    MOTO_PID=""
}
trap stop_moto EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step "Python test tools (.venv)"
if [[ ! -x "$VENV/bin/python" ]]; then
    python3 -m venv "$VENV"
fi
want_hash="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
have_hash="$(cat "$STAMP" 2>/dev/null || true)"
if [[ "$want_hash" != "$have_hash" ]]; then
    PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/python" -m pip install --quiet -r "$REQUIREMENTS"
    echo "$want_hash" >"$STAMP"
else
    echo "up to date ($REQUIREMENTS unchanged)"
fi

step "moto server"
PORT="$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
mkdir -p "$(dirname "$MOTO_LOG")"
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" >"$MOTO_LOG" 2>&1 &
MOTO_PID=$!
deadline=$((SECONDS + 60))
until curl -s -o /dev/null "http://127.0.0.1:$PORT/moto-api/"; do
    if ! kill -0 "$MOTO_PID" 2>/dev/null; then
        echo "moto server exited; its log ($MOTO_LOG):" >&2
        cat "$MOTO_LOG" >&2
        exit 1
    fi
    if ((SECONDS >= deadline)); then
        echo "moto server did not answer on 127.0.0.1:$PORT within 60 s; its log ($MOTO_LOG):" >&2
        cat "$MOTO_LOG" >&2
        exit 1
    fi
    sleep 0.2
done
echo "listening on 127.0.0.1:$PORT (pid $MOTO_PID, log $MOTO_LOG)"

export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT"
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN
export REWIND_TEST_PYTHON="$VENV/bin/python"
# A full run builds every test binary once; incremental caches would only cost disk (several
# GB on a clean clone). Set CARGO_INCREMENTAL=1 to keep them.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

# All the checks run even when one fails, so one run reports everything; the script
# fails at the end if any did.
failed=()
check() {
    step "$*"
    if ! "$@"; then
        failed+=("$*")
    fi
}
check cargo fmt --all -- --check
check scripts/check-layering.sh
check cargo clippy --workspace --all-targets -- -D warnings
check scripts/check-deploy.sh
check cargo test --workspace --no-fail-fast "$@"
# The Lambda zips the template deploys, built as `sam build` builds them, with their sizes
# checked (the slowest step: a release cross-build; REWIND_SKIP_LAMBDA_BUILD=1 skips it locally).
if [[ "${REWIND_SKIP_LAMBDA_BUILD:-0}" != 1 ]]; then
    check scripts/build-lambdas.sh
fi

if ((${#failed[@]})); then
    step "FAILED:"
    printf '    %s\n' "${failed[@]}"
    exit 1
fi
step "all checks passed"
