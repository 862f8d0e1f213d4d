"""The files a command writes: checked before any computing, replaced all together at the end.

``OutputFiles.plan`` refuses, at once and naming the user's path and option:
- an output that is one of the command's inputs (``fit --data run.xye --out run.xye``);
- an output whose folder does not exist or cannot be written, or that is a folder;
- two outputs on the same file;
- an existing file that nanotwin did not write as that kind (a project, a pattern, ...), unless
  ``--force``.
``stage`` writes each file beside its target under a hidden temporary name; ``commit`` renames
them all over their targets. A failure before ``commit`` leaves every existing file as it was
and removes the temporary files; messages name the target, never the temporary file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import h5py

from nanotwin_core.errors import NanotwinError
from nanotwin_core.figures import FIGURE_MARK
from nanotwin_core.io.project import FORMAT_NAME
from nanotwin_core.io.xyz import PROPERTIES

KIND_NAMES = {
    "project": "nanotwin project (HDF5)",
    "pattern": "pattern written by nanotwin",
    "gr": "G(r) file written by nanotwin",
    "xyz": "extended XYZ file written by nanotwin",
    "report": "report written by nanotwin",
    "json": "JSON summary written by nanotwin",
    "table": "series table written by nanotwin",
    "figure": "figure written by nanotwin",
    "instrument": "instrument file written by nanotwin",
}


def _first_lines(path: Path, n: int) -> list[str]:
    with open(path, encoding="utf-8", errors="replace") as fh:
        return [fh.readline() for _ in range(n)]


def written_by_nanotwin(path: Path, kind: str) -> bool:
    """True when the existing file ``path`` is a nanotwin file of ``kind`` (safe to replace)."""
    if path.stat().st_size == 0:
        return True  # nothing to lose
    try:
        if kind == "project":
            if not h5py.is_hdf5(path):
                return False
            with h5py.File(path, "r") as f:
                return f.attrs.get("format") == FORMAT_NAME
        if kind in ("pattern", "gr", "report"):
            return _first_lines(path, 1)[0].startswith("# nanotwin")
        if kind == "xyz":
            return _first_lines(path, 2)[1].startswith(f"Properties={PROPERTIES}")
        if kind == "json":
            with open(path, encoding="utf-8") as fh:
                doc = json.load(fh)
            return isinstance(doc, dict) and ("n_points" in doc and "parameters" in doc or "fits" in doc
                                              or "bragg" in doc and "at_positions" in doc)
        if kind == "table":
            return _first_lines(path, 1)[0].startswith("file,value,status")
        if kind == "instrument":
            first = _first_lines(path, 1)[0]
            return first.startswith("# nanotwin") or first.startswith("#GSAS-II instrument parameter file; "
                                                                      "written by nanotwin")
        if kind == "figure":
            with open(path, "rb") as fh:
                return FIGURE_MARK.encode() in fh.read(4_000_000)
    except (OSError, ValueError, IndexError):
        return False
    raise ValueError(f"unknown output kind {kind!r}")


def _same_file(a: Path, b: Path) -> bool:
    if a.exists() and b.exists():
        return os.path.samefile(a, b)
    return a.resolve() == b.resolve()


@dataclass
class PlannedOutput:
    option: str
    path: Path
    kind: str
    staged: Path | None = None


class OutputFiles:
    """The outputs of one command run (see the module docstring).

    ``inputs``: (option, path) pairs of the files the command reads (None paths are skipped).
    """

    def __init__(self, *, force: bool = False, inputs: Iterable[tuple[str, str | None]] = ()) -> None:
        self.force = force
        self.inputs = [(option, Path(p)) for option, p in inputs if p]
        self.planned: dict[str, PlannedOutput] = {}

    # ------------------------------------------------------------------ checks
    def plan(self, option: str, path: str | None, kind: str) -> Path | None:
        """Check one output now (before any computing); None path = not asked for."""
        if not path:
            return None
        target = Path(path)
        where = f"{option} {path}"
        if target.is_dir():
            raise NanotwinError(f"{where}: is a folder; give a file name")
        folder = target.parent if str(target.parent) else Path(".")
        if not folder.is_dir():
            raise NanotwinError(f"{where}: the folder {folder} does not exist")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise NanotwinError(f"{where}: cannot write in the folder {folder} (permission denied)")
        for in_option, in_path in self.inputs:
            if _same_file(target, in_path):
                raise NanotwinError(f"{where}: is also the input {in_option}; refusing to overwrite "
                                    "what you read: choose another output name")
        for other in self.planned.values():
            if _same_file(target, other.path):
                raise NanotwinError(f"{where}: the same file as {other.option}")
        if target.exists() and not self.force and not written_by_nanotwin(target, kind):
            raise NanotwinError(f"{where}: exists and is not a {KIND_NAMES[kind]}; refusing to replace it "
                                "(choose another name, or --force to replace it)")
        self.planned[option] = PlannedOutput(option, target, kind)
        return target

    def drop(self, option: str) -> None:
        """Forget a planned output (nothing of it is written)."""
        self.planned.pop(option, None)

    def path(self, option: str) -> Path | None:
        """The planned target of ``option`` (None when it was not asked for)."""
        entry = self.planned.get(option)
        return entry.path if entry else None

    # ------------------------------------------------------------------ writing
    def stage(self, option: str, write: Callable[[Path], object]) -> None:
        """Write ``option``'s file to a temporary name beside its target: ``write(temporary_path)``."""
        entry = self.planned[option]
        target = entry.path
        entry.staged = target.with_name(f".{target.stem}.partial-{os.getpid()}{target.suffix}")
        try:
            write(entry.staged)
        except OSError as exc:
            self.discard()
            reason = exc.strerror or type(exc).__name__
            raise NanotwinError(f"{option} {target}: cannot write the file ({reason})") from None

    def commit(self) -> list[Path]:
        """Rename every staged file over its target; returns the targets written."""
        written = []
        for entry in self.planned.values():
            if entry.staged is None:
                continue
            try:
                os.replace(entry.staged, entry.path)
            except OSError as exc:
                self.discard()
                raise NanotwinError(f"{entry.option} {entry.path}: cannot write the file "
                                    f"({exc.strerror or exc})") from None
            entry.staged = None
            written.append(entry.path)
        return written

    def discard(self) -> None:
        """Remove the staged temporary files (targets untouched)."""
        for entry in self.planned.values():
            if entry.staged is not None:
                entry.staged.unlink(missing_ok=True)
                entry.staged = None

    def __enter__(self) -> OutputFiles:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.discard()
