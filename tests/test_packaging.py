"""The package layout promises: every package is installed, the core never imports Qt."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import tomllib

REPO = Path(__file__).resolve().parents[1]
QT_MODULES = ("PySide6", "PyQt5", "PyQt6", "qtpy", "pyqtgraph", "vispy", "superqt")


def test_every_package_is_listed_in_pyproject() -> None:
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    # folders mapped to a package name (app/ -> nanotwin_app, docs/ -> nanotwin_app.guide)
    found = {name for name, folder in setuptools["package-dir"].items()
             if (REPO / folder / "__init__.py").exists()}
    for init in (REPO / "nanotwin_core").rglob("__init__.py"):
        found.add(".".join(init.parent.relative_to(REPO).parts))
    for init in (REPO / "app").rglob("__init__.py"):
        found.add(".".join(("nanotwin_app",) + init.parent.relative_to(REPO / "app").parts))
    assert found - listed == set(), f"packages missing from pyproject: {sorted(found - listed)}"
    assert listed - found == set(), f"pyproject lists packages that do not exist: {sorted(listed - found)}"
    data = setuptools["package-data"]["nanotwin_app.guide"]
    assert "*.md" in data and "img/*.png" in data  # the guide's text and images


def test_core_source_never_imports_qt() -> None:
    offenders = []
    for path in (REPO / "nanotwin_core").rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                if name.split(".")[0] in QT_MODULES:
                    offenders.append(f"{path.relative_to(REPO)}:{node.lineno} imports {name}")
    assert offenders == []


def test_importing_the_core_loads_no_qt() -> None:
    code = (
        "import sys, importlib, pkgutil, nanotwin_core\n"
        "for m in pkgutil.walk_packages(nanotwin_core.__path__, 'nanotwin_core.'):\n"
        "    importlib.import_module(m.name)\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {QT_MODULES!r}]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_desktop_entry_and_icon() -> None:
    entry = (REPO / "resources" / "nanotwin.desktop").read_text(encoding="utf-8").splitlines()
    keys = dict(line.split("=", 1) for line in entry[1:] if "=" in line)
    assert entry[0] == "[Desktop Entry]"
    assert keys["Type"] == "Application" and keys["Icon"] == "nanotwin"
    assert keys["Exec"].split()[0] == "nanotwin"
    png = (REPO / "resources" / "nanotwin.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (256, 256)


def test_bundle_recipe_names_existing_files() -> None:
    spec = (REPO / "packaging" / "nanotwin.spec").read_text(encoding="utf-8")
    for needed in ('"vispy"', '"xraydb"', '"nanotwin_app"', "entry.py", "nanotwin.png"):
        assert needed in spec
    assert (REPO / "packaging" / "entry.py").exists()
    build = (REPO / "packaging" / "build_bundle.sh").read_text(encoding="utf-8")
    assert "check_bundle.sh" in build and (REPO / "packaging" / "check_bundle.sh").exists()
