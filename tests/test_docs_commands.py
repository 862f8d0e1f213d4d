"""Every `sh` command in the user guide and the tutorial runs, and prints what the text says.

A ```sh block holds `nanotwin ...` lines; a ```text block right after it holds output lines
that must appear (whitespace-normalised) in what those commands printed.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from nanotwin_core.cli import main

DOCS = Path(__file__).resolve().parents[1] / "docs"
BLOCK = re.compile(r"```(\w*)\n(.*?)```", re.S)


def _blocks(path: Path) -> list[tuple[list[str], list[str]]]:
    """(commands, expected output lines) per sh block of a Markdown file."""
    found = BLOCK.findall(path.read_text(encoding="utf-8"))
    out = []
    for i, (lang, body) in enumerate(found):
        if lang != "sh":
            continue
        commands = [line.strip() for line in body.splitlines() if line.strip().startswith("nanotwin")]
        expected: list[str] = []
        if i + 1 < len(found) and found[i + 1][0] == "text":
            expected = [line for line in found[i + 1][1].splitlines() if line.strip()]
        out.append((commands, expected))
    return out


def _norm(text: str) -> str:
    return " ".join(text.split())


CASES = [(doc.name, i, cmds, exp) for doc in (DOCS / "guide.md", DOCS / "tutorial.md")
         for i, (cmds, exp) in enumerate(_blocks(doc))]


def test_docs_have_commands() -> None:
    assert sum(len(c[2]) for c in CASES) >= 15
    assert any(c[3] for c in CASES)  # some outputs are quoted and checked


@pytest.mark.parametrize(("doc", "index", "commands", "expected"), CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_doc_block_runs(doc, index, commands, expected, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    printed = []
    for command in commands:
        argv = shlex.split(command)
        assert argv[0] == "nanotwin"
        code = main(argv[1:])
        captured = capsys.readouterr()
        assert code == 0, f"{doc}: `{command}` exited {code}: {captured.err}"
        printed.append(captured.out)
    text = _norm("\n".join(printed))
    for line in expected:
        assert _norm(line) in text, f"{doc}: expected output line not printed: {line!r}"


@pytest.mark.parametrize("doc", ["guide.md"])
def test_doc_python_examples_run(doc, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    text = (DOCS / doc).read_text(encoding="utf-8")
    blocks = [body for lang, body in BLOCK.findall(text) if lang == "python"]
    assert blocks
    for body in blocks:
        exec(compile(body, f"{doc} example", "exec"), {})  # our own documentation, not user input


def test_doc_images_exist() -> None:
    for doc in (DOCS / "guide.md", DOCS / "tutorial.md", DOCS.parent / "README.md"):
        links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", doc.read_text(encoding="utf-8"))
        assert links, doc
        for link in links:
            assert (doc.parent / link).is_file(), f"{doc.name}: missing image {link}"
