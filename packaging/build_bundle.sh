#!/usr/bin/env bash
# Build nanotwin's one-folder desktop bundle with PyInstaller, then check that it starts headless.
#   bash packaging/build_bundle.sh            -> dist/nanotwin/ (run dist/nanotwin/nanotwin)
#   SKIP_CHECK=1 bash packaging/build_bundle.sh   builds without the start-up check
set -euo pipefail
cd "$(dirname "$0")/.."
# A private virtual environment with a regular (not editable) install: PyInstaller then sees
# exactly the installed packages, and the developer's own environment is left alone.
VENV="${VENV:-build/bundle-venv}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
rm -rf build/lib build/bdist.*  # setuptools' staging folder may hold files of older builds
"$VENV/bin/python" -m pip install --quiet ".[bundle]"
"$VENV/bin/python" -m PyInstaller --noconfirm --clean --distpath dist --workpath build/pyinstaller \
    packaging/nanotwin.spec
if [ "${SKIP_CHECK:-0}" != "1" ]; then
    bash packaging/check_bundle.sh dist/nanotwin/nanotwin
fi
echo "bundle: $(pwd)/dist/nanotwin  ($(du -sh dist/nanotwin | cut -f1))"
