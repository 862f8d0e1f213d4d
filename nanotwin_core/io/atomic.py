"""Atomic text writes: a temporary file beside the target, renamed over it when complete.

The temporary file of ``tempfile.mkstemp`` is created with mode 0600; a finished file gets the
mode a plain ``open(path, "w")`` would give (0666 less the process umask), like the HDF5
projects and PNG figures, so a shared folder stays readable by the group as the user chose.
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

__all__ = ["atomic_write_text", "default_file_mode"]

_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    """The process umask, read without changing it where the system tells it (Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    with _UMASK_LOCK:  # elsewhere: set and restore at once (the only portable way to read it)
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def default_file_mode() -> int:
    """Mode of a new regular file: 0o666 less the umask (0o644 with the usual umask 022)."""
    return 0o666 & ~_umask()


def atomic_write_text(path: str | os.PathLike[str], text: str, *, make_parents: bool = False) -> Path:
    """Write ``text`` (UTF-8, ``\\n`` line ends) to ``path`` atomically, with the umask's mode.

    An interrupted write leaves any previous file at ``path`` untouched and no temporary file.
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if make_parents:
        directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, default_file_mode())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path
