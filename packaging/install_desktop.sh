#!/usr/bin/env bash
# Register nanotwin with the desktop (menu entry + icon) for the current user.
#   bash packaging/install_desktop.sh                 -> uses `nanotwin` from PATH (pip install)
#   bash packaging/install_desktop.sh dist/nanotwin/nanotwin   -> uses a built bundle
set -euo pipefail
cd "$(dirname "$0")/.."
EXE="${1:-nanotwin}"
if [ "$EXE" != "nanotwin" ]; then EXE="$(cd "$(dirname "$EXE")" && pwd)/$(basename "$EXE")"; fi
APPS="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
ICONS="${XDG_DATA_HOME:-$HOME/.local/share}/icons/hicolor"
mkdir -p "$APPS" "$ICONS/256x256/apps" "$ICONS/scalable/apps"
sed "s|^Exec=nanotwin |Exec=$EXE |" resources/nanotwin.desktop > "$APPS/nanotwin.desktop"
cp resources/nanotwin.png "$ICONS/256x256/apps/nanotwin.png"
cp resources/nanotwin.svg "$ICONS/scalable/apps/nanotwin.svg"
command -v update-desktop-database >/dev/null && update-desktop-database "$APPS" || true
echo "installed $APPS/nanotwin.desktop (Exec=$EXE)"
