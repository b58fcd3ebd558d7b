#!/usr/bin/env bash
# Fill .cache/wheelhouse/torch/ with the PyTorch wheels pinned in requirements/torch.txt
# (plus their dependencies) for the images' Python (CPython 3.11, manylinux x86_64),
# so that image builds install torch without a registry. Prints the folder on stdout.
#
#   scripts/wheelhouse.sh            # download unless the stamp says it is complete
#   AIC_WHEELHOUSE_FORCE=1 scripts/wheelhouse.sh
#
# The download uses this machine's pip configuration (find-links, local indexes, CA).
# A stamp file records the requirements it was made for; a changed pin refills it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REQ="$ROOT/requirements/torch.txt"
DEST="${AIC_WHEELHOUSE_DIR:-$ROOT/.cache/wheelhouse/torch}"
STAMP="$DEST/.complete"
PY="${AIC_WHEELHOUSE_PYTHON:-python3}"

msg() { echo "wheelhouse: $*" >&2; }
die() { msg "error: $*"; exit 1; }

[ -f "$REQ" ] || die "$REQ not found"
mapfile -t PINS < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$REQ" | grep -v '^$')
[ "${#PINS[@]}" -gt 0 ] || die "no requirements in $REQ"
WANT="$(printf '%s\n' "${PINS[@]}" "python=3.11" "platform=manylinux_x86_64")"

if [ -z "${AIC_WHEELHOUSE_FORCE:-}" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
    msg "complete already: ${PINS[*]}"
    echo "$DEST"
    exit 0
fi

mkdir -p "$DEST"
rm -f "$STAMP"
msg "downloading ${PINS[*]} and dependencies into $DEST (about 3 GB)"
start=$SECONDS
# Wheels for the image's interpreter, whatever Python runs pip here. pip does not widen
# an explicit --platform to older manylinux levels, so list them (glibc 2.36 in bookworm).
PLATFORMS=(--platform manylinux1_x86_64 --platform manylinux2010_x86_64 --platform manylinux2014_x86_64)
for v in $(seq 5 28); do PLATFORMS+=(--platform "manylinux_2_${v}_x86_64"); done
PLATFORMS+=(--platform linux_x86_64)
"$PY" -m pip download --disable-pip-version-check --progress-bar off \
    --only-binary=:all: \
    --python-version 3.11 --implementation cp --abi cp311 --abi abi3 --abi none \
    "${PLATFORMS[@]}" -d "$DEST" "${PINS[@]}" >&2 || die "pip download failed"
printf '%s\n' "$WANT" >"$STAMP"
msg "done in $((SECONDS - start))s: $(du -sh "$DEST" | cut -f1), $(find "$DEST" -maxdepth 1 -name '*.whl' | wc -l) wheels"
echo "$DEST"
