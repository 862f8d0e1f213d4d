"""Progress bars of the command line (tqdm on stderr), silent with --quiet or when not a terminal."""

from __future__ import annotations

import sys

from tqdm import tqdm


def progress_enabled(quiet: bool) -> bool:
    """Bars only for a person watching: not with --quiet, not when stderr is a file or a pipe."""
    return not quiet and sys.stderr.isatty()


class FractionBar:
    """A bar fed with fractions 0-1 and a message: ``bar(0.4, "crystal 4/10")``."""

    def __init__(self, label: str, *, quiet: bool) -> None:
        self._bar = tqdm(total=1000, desc=label, unit="‰", leave=False, file=sys.stderr,
                         disable=not progress_enabled(quiet), bar_format="{desc} {percentage:3.0f}%|{bar}| "
                         "{elapsed}{postfix}")

    def __call__(self, fraction: float, message: str = "") -> None:
        self._bar.n = int(round(1000 * min(max(fraction, 0.0), 1.0)))
        self._bar.set_postfix_str(message, refresh=False)
        self._bar.refresh()

    def close(self) -> None:
        self._bar.close()

    def __enter__(self) -> FractionBar:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class StepBar:
    """A counter of steps with a status text: refinement evaluations (Rwp) or demo stages."""

    def __init__(self, label: str, *, quiet: bool, unit: str = "step") -> None:
        self._bar = tqdm(desc=label, unit=unit, leave=False, file=sys.stderr,
                         disable=not progress_enabled(quiet))

    def __call__(self, text: str) -> None:
        self._bar.update(1)
        self._bar.set_postfix_str(text)

    def close(self) -> None:
        self._bar.close()

    def __enter__(self) -> StepBar:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
