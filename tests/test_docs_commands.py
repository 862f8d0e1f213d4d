"""Every `sh` command of the README, the user guide and the tutorial runs as written.

Each document's commands run in order in a fresh copy of the clone (its git-tracked files) inside
a clean temporary folder that holds nothing else but ``shared`` (the sibling ``../shared`` with
the real data), as on a user's machine right after cloning. A ```text block right after a ```sh
block holds output lines that must appear (whitespace-normalised) in what its commands printed.

A command whose trailing comment starts with ``long`` (e.g. ``# long: about 3 minutes``) is
visible as such in the document and skipped here, each named in its own skipped test; a GUI
command (``nanotwin gui``, ``nanotwin`` alone) is left to the window tests.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from nanotwin_core.cli import main

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
DOCUMENTS = (REPO / "README.md", DOCS / "guide.md", DOCS / "tutorial.md")
SHARED = REPO.parent / "shared"
BLOCK = re.compile(r"```(\w*)\n(.*?)```", re.S)
LONG = re.compile(r"#\s*long\b")
INPUT_OPTIONS = ("--data", "--blank", "--xyz", "--cif", "--model")


def _logical_lines(body: str) -> list[str]:
    """Lines of a shell block with backslash continuations joined."""
    out, current = [], ""
    for line in body.splitlines():
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        out.append((current + line).strip())
        current = ""
    return [line for line in out if line]


def _blocks(path: Path) -> list[tuple[list[str], list[str]]]:
    """(command lines, expected output lines) per sh block of a Markdown file."""
    found = BLOCK.findall(path.read_text(encoding="utf-8"))
    out = []
    for i, (lang, body) in enumerate(found):
        if lang != "sh":
            continue
        commands = [line for line in _logical_lines(body) if line.startswith("nanotwin")]
        expected: list[str] = []
        if i + 1 < len(found) and found[i + 1][0] == "text":
            expected = [line for line in found[i + 1][1].splitlines() if line.strip()]
        out.append((commands, expected))
    return out


def _is_gui(argv: list[str]) -> bool:
    return len(argv) == 1 or argv[1] == "gui"


def _skipped(command: str) -> bool:
    return bool(LONG.search(command)) or _is_gui(shlex.split(command, comments=True))


def _norm(text: str) -> str:
    return " ".join(text.split())


def _fresh_clone(root: Path) -> Path:
    """root/nanotwin: the git-tracked files of this checkout; root/shared: the real ../shared."""
    clone = root / "nanotwin"
    files = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z"], capture_output=True, check=True
                           ).stdout.decode().split("\0")
    for name in filter(None, files):
        source = REPO / name
        if source.is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, clone / name)
    if SHARED.is_dir():
        (root / "shared").symlink_to(SHARED, target_is_directory=True)
    return clone


LONG_COMMANDS = [(doc.name, cmd) for doc in DOCUMENTS for cmds, _ in _blocks(doc) for cmd in cmds
                 if LONG.search(cmd)]


def test_docs_have_commands() -> None:
    blocks = [b for doc in DOCUMENTS for b in _blocks(doc)]
    assert sum(len(cmds) for cmds, _ in blocks) >= 25
    assert any(expected for _, expected in blocks)  # some outputs are quoted and checked
    assert len(LONG_COMMANDS) <= 6  # most commands run here (each long one says why)


@pytest.mark.parametrize("doc", DOCUMENTS, ids=[d.name for d in DOCUMENTS])
def test_doc_commands_run_from_a_fresh_clone(doc, tmp_path, monkeypatch, capsys) -> None:
    blocks = _blocks(doc)
    needs_data = any("../shared" in cmd for cmds, _ in blocks for cmd in cmds if not _skipped(cmd))
    if needs_data and not SHARED.is_dir():
        if os.environ.get("NANOTWIN_REQUIRE_DATA"):
            pytest.fail(f"{doc.name} uses ../shared/data, which is missing beside {REPO}")
        pytest.skip(f"{doc.name} uses ../shared/data, which is missing beside {REPO}")
    monkeypatch.chdir(_fresh_clone(tmp_path))
    for commands, expected in blocks:
        printed = []
        for command in commands:
            if _skipped(command):
                continue
            argv = shlex.split(command, comments=True)
            code = main(argv[1:])
            captured = capsys.readouterr()
            assert code == 0, f"{doc.name}: `{command}` exited {code}: {captured.err}"
            printed.append(captured.out)
        text = _norm("\n".join(printed))
        for line in expected:
            assert _norm(line) in text, f"{doc.name}: expected output line not printed: {line!r}"


@pytest.mark.parametrize(("doc", "command"), LONG_COMMANDS or [("none", "")],
                         ids=[f"{d}-long{i}" for i, (d, _) in enumerate(LONG_COMMANDS or [("none", "")])])
def test_long_doc_commands_are_named(doc, command) -> None:
    """Not run, but the data files they read must exist where the document says."""
    argv = shlex.split(command, comments=True) if command else []
    for option, value in zip(argv, argv[1:], strict=False):
        if option in INPUT_OPTIONS and value.startswith("../shared/") and SHARED.is_dir():
            assert (REPO / value).is_file(), f"{doc}: {option} {value} does not exist (from the clone)"
    pytest.skip(f"marked long in {doc}, not run by the default tests: {command}")


@pytest.mark.parametrize("doc", [REPO / "README.md", DOCS / "guide.md"], ids=["README.md", "guide.md"])
def test_doc_python_examples_run(doc, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    text = doc.read_text(encoding="utf-8")
    blocks = [body for lang, body in BLOCK.findall(text) if lang == "python"]
    assert blocks
    for body in blocks:
        exec(compile(body, f"{doc.name} example", "exec"), {})  # our own documentation, not user input


def test_doc_images_exist() -> None:
    for doc in DOCUMENTS:
        links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", doc.read_text(encoding="utf-8"))
        assert links, doc
        for link in links:
            assert (doc.parent / link).is_file(), f"{doc.name}: missing image {link}"
