# Shared by the benchmark scripts: release build, .venv with the peers, a moto server.
# Source it from a script that has `set -euo pipefail`.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.venv"
REWIND="$ROOT/target/release/rewind"
MOTO_PID=""
WORK=""
BENCH_PIDS=() # other servers a script started, stopped on exit too

# Stops moto and removes the work directory on every exit (benchmark stores are hundreds of MB);
# KEEP_WORK=1 keeps the directory for a look afterwards.
bench_cleanup() {
    [[ -n "$MOTO_PID" ]] && kill "$MOTO_PID" 2>/dev/null || true
    for pid in "${BENCH_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    if [[ -n "$WORK" && -z "${KEEP_WORK:-}" ]]; then rm -rf "$WORK"; fi
}
trap bench_cleanup EXIT

# A fresh work directory, removed on exit.
bench_workdir() {
    WORK="$(mktemp -d)"
}

bench_setup() {
    if [[ ! -x "$VENV/bin/python" ]]; then
        python3 -m venv "$VENV"
    fi
    PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/python" -m pip install --quiet \
        -r "$ROOT/scripts/requirements-test.txt" -r "$ROOT/tests/bench/requirements.txt"
    (cd "$ROOT" && cargo build --release --quiet -p rewind-cli &&
        cargo build --release --quiet -p rewind-replay --example seed_items)
}

start_moto() {
    local log="$1"
    MOTO_PORT="$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
    "$VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >"$log" 2>&1 &
    MOTO_PID=$!
    until curl -s -o /dev/null "http://127.0.0.1:$MOTO_PORT/moto-api/"; do sleep 0.2; done
    export AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT" AWS_REGION=us-east-1 \
        AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
}

now() { date +%s.%N; }

# CPU seconds a process has used so far (user + system): arg pid.
proc_cpu() {
    awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f\n", ($14 + $15) / hz }' "/proc/$1/stat"
}

# CPU seconds the moto server has used so far (user + system).
moto_cpu() { proc_cpu "$MOTO_PID"; }

# Seeds a local store like `rewind demo --capture-only`: args: dir initial-users records-per-second
seed_store() {
    "$REWIND" --output json demo --workdir "$1" --capture-only --initial-users "$2" \
        --records-per-second "$3" >"$1.json"
}

json() { "$VENV/bin/python" -c "import json,sys; print(json.load(open(sys.argv[1]))$2)" "$1"; }
