#!/usr/bin/env bash
# Check a built bundle headless, as on a clean machine: an empty environment (no Python on PATH,
# a fresh HOME), then --version, the structure list, one headless demo, the GUI's screenshot mode
# (offscreen Qt) and the numba cache landing in the user's cache folder, not in the bundle.
# Usage: check_bundle.sh [EXE]   (default dist/nanotwin/nanotwin)
set -euo pipefail
EXE="$(cd "$(dirname "${1:-dist/nanotwin/nanotwin}")" && pwd)/$(basename "${1:-dist/nanotwin/nanotwin}")"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
mkdir -p "$OUT/home"
run() { env -i PATH=/usr/bin:/bin HOME="$OUT/home" QT_QPA_PLATFORM=offscreen "$EXE" "$@"; }
run --version
run structures | head -3
run demo polymorphs --out "$OUT/demo"
ls "$OUT/demo"/polymorphs.png >/dev/null
CACHE="$OUT/home/.cache/nanotwin/numba"
[ -n "$(ls -A "$CACHE" 2>/dev/null)" ] || { echo "numba cache not written to $CACHE" >&2; exit 1; }
run gui --demo polymorphs --screenshot "$OUT/window.png" 2>/dev/null
ls -l "$OUT/window.png"
echo "bundle check passed: $EXE"
