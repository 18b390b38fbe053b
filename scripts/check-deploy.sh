#!/usr/bin/env bash
# Validates the AWS deployment offline (no AWS account needed):
#   1. translate deploy/template.yaml (SAM) to plain CloudFormation with aws-sam-translator
#      (tests/deploy/translate.py: fake region and account, local paths packaged as sam
#      package would), which finds errors inside SAM resources that cfn-lint alone misses;
#   2. cfn-lint on the SAM template, its translation, deploy/replica.yaml and deploy/athena.yaml;
#   3. checkov (framework cloudformation) on the same: 0 failed checks; every skip is inline in
#      the template (Metadata: checkov: skip) with its reason, and is listed here;
#   4. the state machine definitions against the Amazon States Language (npm asl-validator);
#   5. tests/deploy/check_template.py: IAM scoping, the capture mapping settings, handler
#      binaries, worker payloads against crates/service/src/steps.rs, schedules, storage; then
#      its self-test breaks the template in memory in each of those ways and must catch each.
# Everything runs offline except installing the tools: the Python ones into target/deploy-venv
# (scripts/requirements-deploy.txt; reinstalled only when that file changes), asl-validator
# into target/deploy-node. Prints what it checked; exits 1 on any finding.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# No __pycache__ beside tests/deploy/*.py in the work tree.
export PYTHONDONTWRITEBYTECODE=1
REQUIREMENTS="scripts/requirements-deploy.txt"
VENV="$PWD/target/deploy-venv"
STAMP="$VENV/.requirements.sha256"
NODE_DIR="$PWD/target/deploy-node"
ASL_VALIDATOR="asl-validator@4.0.0"
OUT="$PWD/target/deploy"
TEMPLATES=(deploy/template.yaml deploy/replica.yaml deploy/athena.yaml)
MACHINES=(deploy/statemachines/restore.asl.json deploy/statemachines/backup.asl.json)

step() {
    printf '\n--> %s\n' "$*"
}

step "tools"
if [[ ! -x "$VENV/bin/python" ]]; then
    python3 -m venv "$VENV"
fi
want_hash="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
if [[ "$want_hash" != "$(cat "$STAMP" 2>/dev/null || true)" ]]; then
    PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/python" -m pip install --quiet -r "$REQUIREMENTS"
    echo "$want_hash" >"$STAMP"
fi
if [[ "$(cat "$NODE_DIR/.installed" 2>/dev/null || true)" != "$ASL_VALIDATOR" ]]; then
    mkdir -p "$NODE_DIR"
    npm install --silent --no-audit --no-fund --prefix "$NODE_DIR" "$ASL_VALIDATOR" >/dev/null
    echo "$ASL_VALIDATOR" >"$NODE_DIR/.installed"
fi
PY="$VENV/bin/python"
echo "aws-sam-translator $("$PY" -c 'import samtranslator; print(samtranslator.__version__)'), $("$VENV/bin/cfn-lint" --version), checkov $("$VENV/bin/checkov" --version), $ASL_VALIDATOR"

failed=()
check() {
    local name="$1"
    shift
    step "$name"
    if ! "$@"; then
        failed+=("$name")
    fi
}

mkdir -p "$OUT"
rm -f "$OUT/template.json"
check "translate (aws-sam-translator)" "$PY" tests/deploy/translate.py deploy/template.yaml "$OUT/template.json"

lint_targets=("${TEMPLATES[@]}")
[[ -f "$OUT/template.json" ]] && lint_targets+=("$OUT/template.json")

cfn_lint() {
    "$VENV/bin/cfn-lint" "$@" && echo "cfn-lint: no errors or warnings in $*"
}
check "cfn-lint" cfn_lint "${lint_targets[@]}"

checkov_scan() {
    local files=()
    for f in "$@"; do files+=(-f "$f"); done
    # --skip-download: no guidelines or policies fetched (offline). The JSON report is read
    # below for the counts, each failure and every skip with its reason.
    "$VENV/bin/checkov" --framework cloudformation --skip-download -o json "${files[@]}" \
        >"$OUT/checkov.json" || true
    "$PY" - "$OUT/checkov.json" <<'PYEOF'
import json, sys
try:
    data = json.load(open(sys.argv[1]))
except ValueError as e:
    sys.exit(f"checkov wrote no JSON report ({e}); see {sys.argv[1]}")
reports = data if isinstance(data, list) else [data]
passed = failed = skipped = errors = 0
skips = []
for r in reports:
    s = r.get("summary", {})
    passed += s.get("passed", 0); failed += s.get("failed", 0)
    skipped += s.get("skipped", 0); errors += s.get("parsing_errors", 0)
    for c in r.get("results", {}).get("failed_checks", []):
        print(f"  FAILED {c['check_id']} {c['check_name']}: {c['resource']} "
              f"({c['file_path'].lstrip('/')}:{c['file_line_range'][0]})")
    for c in r.get("results", {}).get("skipped_checks", []):
        # One line per skip as written (a SAM resource and what it translates to share it).
        name = c["resource"].split(".", 1)[-1]
        skips.append((c["check_id"], name, c.get("check_result", {}).get("suppress_comment", "")))
print(f"checkov: {passed} passed, {failed} failed, {skipped} skipped, {errors} parsing errors")
for check_id, name, why in sorted(set(skips)):
    print(f"  skip {check_id} {name}: {why}")
sys.exit(1 if failed or errors else 0)
PYEOF
}
check "checkov" checkov_scan "${lint_targets[@]}"

asl() {
    "$NODE_DIR/node_modules/.bin/asl-validator" "${MACHINES[@]/#/--json-path=}"
}
check "asl-validator" asl

check "template checks (tests/deploy/check_template.py)" \
    "$PY" tests/deploy/check_template.py deploy/template.yaml "$OUT/template.json" --self-test

if ((${#failed[@]})); then
    step "check-deploy FAILED: ${failed[*]}"
    exit 1
fi
step "check-deploy: all passed"
