"""The core's demo scenarios as menu entries (the computing is in ``jobs.run_demo``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoEntry:
    """One demo as the Demos menu shows it."""

    name: str
    title: str
    caption: str


def demo_entries() -> list[DemoEntry]:
    """Every demo of ``nanotwin_core.demos.DEMOS`` (empty if the module is missing)."""
    try:
        from nanotwin_core.demos import DEMOS
    except ImportError:
        return []
    return [DemoEntry(d.name, d.title, d.caption) for d in DEMOS.values()]


def default_demo() -> str | None:
    """The core's default demo name."""
    try:
        from nanotwin_core.demos import DEFAULT_DEMO
    except ImportError:
        return None
    return DEFAULT_DEMO
