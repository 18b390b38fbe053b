#!/usr/bin/env bash
# Builds the four Lambda functions the template deploys as zips, as `sam build` would
# (cargo lambda, release, arm64 by default), and checks their sizes against Lambda's limits:
# a zip uploaded directly must stay under 50 MB, the unzipped package under 250 MB; we hold
# them to 30 MB zipped so that a dependency that bloats a function shows up here first.
#
#   scripts/build-lambdas.sh            arm64 (the template's default)
#   LAMBDA_ARCH=x86-64 scripts/build-lambdas.sh
#
# cargo lambda comes from PyPI with zig (scripts/requirements-lambda.txt) into
# target/cargo-lambda-venv; it cross-links with zig against an old glibc, so no Docker is
# needed. The arm64 standard library comes from `rustup target add`; if that cannot be fetched,
# the script says so and builds x86-64 instead (the template's Architecture parameter allows
# both). Output: target/lambda-zips/<function>.zip. Measured here: about 29 min for the four
# at the lowest priority beside other work (23 min of CPU); 6.3 to 8.6 MB per zip.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

FUNCTIONS=(rewind-capture-lambda rewind-compactor-lambda rewind-api-lambda rewind-worker-lambda)
MAX_ZIP_BYTES=$((30 * 1024 * 1024))
MAX_UNZIPPED_BYTES=$((250 * 1024 * 1024))
VENV="target/cargo-lambda-venv"
REQUIREMENTS="scripts/requirements-lambda.txt"
STAMP="$VENV/.requirements.sha256"

want="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
if [[ ! -x "$VENV/bin/cargo-lambda" || "$(cat "$STAMP" 2>/dev/null)" != "$want" ]]; then
    python3 -m venv "$VENV"
    PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/pip" install --quiet -r "$REQUIREMENTS"
    echo "$want" >"$STAMP"
fi
export PATH="$PWD/$VENV/bin:$PATH"

arch="${LAMBDA_ARCH:-arm64}"
if [[ "$arch" == arm64 ]] && ! rustup target list --installed | grep -q '^aarch64-unknown-linux-gnu$'; then
    if ! rustup target add aarch64-unknown-linux-gnu; then
        echo "build-lambdas: the aarch64 standard library could not be fetched; building x86-64 instead" >&2
        arch="x86-64"
    fi
fi

bins=()
for f in "${FUNCTIONS[@]}"; do bins+=(--bin "$f"); done
CARGO_TARGET_DIR="$PWD/target/lambda-build" cargo-lambda lambda build --release "--$arch" "${bins[@]}"

out="target/lambda-zips"
rm -rf "$out"
mkdir -p "$out"
status=0
for f in "${FUNCTIONS[@]}"; do
    bootstrap="target/lambda-build/lambda/$f/bootstrap"
    (cd "$(dirname "$bootstrap")" && python3 -c 'import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    info = zipfile.ZipInfo("bootstrap")
    info.external_attr = 0o755 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(info, open("bootstrap", "rb").read())' "$OLDPWD/$out/$f.zip")
    zipped=$(stat -c %s "$out/$f.zip")
    unzipped=$(stat -c %s "$bootstrap")
    python3 -c 'import sys; print(f"{sys.argv[1]:<26} {sys.argv[2]}  zip {int(sys.argv[3]) / 2**20:6.1f} MB  unzipped {int(sys.argv[4]) / 2**20:6.1f} MB")' \
        "$f" "$arch" "$zipped" "$unzipped"
    if ((zipped > MAX_ZIP_BYTES || unzipped > MAX_UNZIPPED_BYTES)); then
        echo "build-lambdas: $f is over the size limit (zip $zipped B > $MAX_ZIP_BYTES, or unzipped $unzipped B > $MAX_UNZIPPED_BYTES)" >&2
        status=1
    fi
    if ! python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); i = z.getinfo("bootstrap"); sys.exit(0 if (i.external_attr >> 16) & 0o111 else 1)' "$out/$f.zip"; then
        echo "build-lambdas: $f.zip holds a bootstrap that is not executable" >&2
        status=1
    fi
done
exit "$status"
