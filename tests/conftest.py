"""Shared test configuration.

- ``shared_data``: the project's sibling folder ``../shared/data`` (real files); tests that need
  it skip with a reason where a user's clone lacks it, except under NANOTWIN_REQUIRE_DATA=1 (set
  by .ci/run) where missing data is a failure: every data test goes through ``data_missing`` /
  ``require_data``.
- Qt: plain widget tests run on the offscreen platform; tests marked ``gl`` need a real OpenGL
  context (Xvfb + Mesa) and skip where no display exists, except under NANOTWIN_REQUIRE_GL=1
  (set by .ci/run) where a missing display is an error, so a broken Xvfb cannot pass silently.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

# numba caches into a user cache folder, never into the package folder.
if "NUMBA_CACHE_DIR" not in os.environ:
    try:
        import platformdirs

        os.environ["NUMBA_CACHE_DIR"] = str(Path(platformdirs.user_cache_dir("nanotwin")) / "numba")
    except ImportError:  # pragma: no cover - platformdirs is a dependency
        pass


def _has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def pytest_configure(config: pytest.Config) -> None:
    # Without a display, Qt's xcb platform aborts the whole process: default to offscreen.
    if not _has_display():
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def gl_unavailable(reason: str) -> None:
    """Skip a GL test, or fail it when NANOTWIN_REQUIRE_GL=1 (CI must really run GL tests)."""
    if os.environ.get("NANOTWIN_REQUIRE_GL") == "1":
        pytest.fail(f"NANOTWIN_REQUIRE_GL=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if "gl" in item.keywords and not _has_display():
        gl_unavailable("no display: OpenGL tests need Xvfb + Mesa")


def data_missing(reason: str) -> None:
    """Skip a test whose real data is missing, or fail it under NANOTWIN_REQUIRE_DATA=1 (CI must
    really run the data tests)."""
    if os.environ.get("NANOTWIN_REQUIRE_DATA") == "1":
        pytest.fail(f"NANOTWIN_REQUIRE_DATA=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def require_data(path: Path) -> Path:
    """``path`` when it exists, else ``data_missing``."""
    if not Path(path).exists():
        data_missing(f"real test data not found at {path} (clone lacks ../shared)")
    return Path(path)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of ../shared/data (``require_data``: a skip, or a failure in CI, where it is absent)."""
    return require_data(SHARED_DATA)


@pytest.fixture(autouse=True)
def collect_garbage_in_the_gui_thread(request):
    """Window tests run as the window does (``nanotwin_app.gui_gc``): no automatic garbage
    collection, which a worker thread could trigger on Qt objects of an earlier test."""
    if "qtbot" not in request.fixturenames:
        yield
        return
    from nanotwin_app.gui_gc import collect_in_gui_thread

    request.getfixturevalue("qtbot")  # the QApplication exists before the timer
    with collect_in_gui_thread():
        yield


@pytest.fixture
def headless_window(qtbot, tmp_path):
    """A headless main window (no GL, no warm-up) computing for real, disposed of afterwards."""
    from app_helpers import dispose, real_window

    window = real_window(tmp_path)
    yield window
    dispose(window, qtbot)


@pytest.fixture
def headless_window_factory(qtbot, tmp_path):
    """Makes further headless windows (each with its own settings), disposed of afterwards."""
    from app_helpers import dispose, real_window

    made = []

    def make():
        folder = tmp_path / f"window{len(made)}"
        folder.mkdir()
        made.append(real_window(folder))
        return made[-1]

    yield make
    for window in made:
        dispose(window, qtbot)


@pytest.fixture
def fake_main_window(qtbot, tmp_path, monkeypatch):
    """A headless window (no GL) whose demos and builds return ``app_helpers.fake_result()``."""
    from app_helpers import fake_window

    window = fake_window(qtbot, tmp_path, monkeypatch)
    yield window
    window.runner.shutdown(2000)
    window.workspace.set_dirty(False)
