"""Written text files get the umask's mode (issue #17 item 5), like .h5 and .png files."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from nanotwin_core.builder import build_crystal
from nanotwin_core.io.atomic import atomic_write_text, default_file_mode
from nanotwin_core.io.data import write_gr, write_pattern
from nanotwin_core.io.xyz import write_xyz


@pytest.fixture(params=[0o022, 0o027, 0o002])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_text_files_have_the_umask_mode(tmp_path, umask) -> None:
    want = 0o666 & ~umask
    assert default_file_mode() == want
    x = np.linspace(1, 2, 5)
    write_pattern(tmp_path / "p.xye", x, x)
    write_gr(tmp_path / "p.gr", x, x)
    write_xyz(build_crystal("CsPbBr3-gamma", size_ab_nm=1, size_c_nm=1), tmp_path / "p.xyz")
    atomic_write_text(tmp_path / "r.md", "# report\n")
    with open(tmp_path / "plain.txt", "w") as fh:  # what a plain open() gives: the reference
        fh.write("x")
    for name in ("p.xye", "p.gr", "p.xyz", "r.md", "plain.txt"):
        assert _mode(tmp_path / name) == want, name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.gr", "p.xye", "p.xyz", "plain.txt", "r.md"]


def test_interrupted_write_keeps_the_old_file(tmp_path, monkeypatch) -> None:
    target = tmp_path / "keep.xye"
    target.write_text("old\n")

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        atomic_write_text(target, "new\n")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.xye"]
