"""Data series: one model refined against many patterns (a temperature or time series).

- Which files: ``series_from_patterns`` (glob patterns or names, natural sort: ``run2`` before
  ``run10``) or ``read_series_list`` (a text file: one pattern file and an optional series value
  per line, ``#`` comments, paths relative to the list's folder).
- Series value of each file (temperature, time, ...): the list's second column, else
  ``value_spec``: a regular expression searched in the file name (its first group, or the whole
  match, read as a number), or ``header:KEY`` (a ``KEY = number`` / ``KEY: number`` header line).
- ``run_series``: ``mode="sequential"`` fits the files in order, each starting from the previous
  good result (parameter values; the size database is built once); ``"independent"`` starts
  every fit from the model and runs them as independent tasks of a mapper
  (``nanotwin_core.distributed``: here, or on a Dask cluster, with the shared size databases
  and structure sent to every worker once). Either way, a file that cannot be read or fitted is
  kept with ``status = "failed: REASON"`` and the other files are still fitted.

The files are read here (workers need no access to them); the fits' outputs (table, JSON,
project, figure) are in ``series_output``.
"""

from __future__ import annotations

import glob
import re
import time
from collections.abc import Callable, Iterable, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nanotwin_core.distributed import Mapper, SerialMapper
from nanotwin_core.errors import InputFileError, NanotwinError
from nanotwin_core.io.data import PatternData, read_pattern
from nanotwin_core.io.pattern_checks import check_pattern
from nanotwin_core.model import Model
from nanotwin_core.structures.structure import Structure

MODES = ("sequential", "independent")
GLOB_CHARS = re.compile(r"[*?\[]")
_DIGITS = re.compile(r"(\d+)")
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"

Progress = Callable[[float, str], None]


@dataclass
class SeriesItem:
    """One pattern of a series: its file and series value (None: from ``value_spec`` or none)."""

    path: str
    value: float | None = None


@dataclass
class SeriesFit:
    """The outcome of one file: ``status`` "ok" or "failed: REASON"; for "ok": ``summary`` (the
    single-fit JSON dict), ``values`` (parameter values), the observed pattern and fitted curves
    (``FitParts.arrays()``), and warnings about the file."""

    path: str
    value: float | None
    status: str
    summary: dict = field(default_factory=dict)
    values: dict[str, float] = field(default_factory=dict)
    observed: dict[str, np.ndarray] = field(default_factory=dict)
    observed_meta: dict = field(default_factory=dict)
    curves: dict[str, np.ndarray] = field(default_factory=dict)
    curve_meta: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass
class SeriesResult:
    """Every file's ``SeriesFit`` in series order; ``databases``: the size databases used."""

    fits: list[SeriesFit]
    mode: str
    value_spec: str | None = None
    databases: dict = field(default_factory=dict)
    seconds: float = 0.0
    n_workers: int = 1


# ---------------------------------------------------------------------------------- which files
def natural_key(text: str) -> list:
    """Sort key reading digit runs as numbers: ``T_298K`` < ``T_1000K``."""
    return [int(part) if part.isdigit() else part.lower() for part in _DIGITS.split(text)]


def series_from_patterns(patterns: Iterable[str]) -> list[SeriesItem]:
    """Files named by glob patterns (natural sort within each) or plain names, in that order,
    without repeats; a pattern that matches nothing is refused."""
    out: list[str] = []
    for pattern in patterns:
        if GLOB_CHARS.search(pattern):
            matches = sorted((m for m in glob.glob(pattern) if Path(m).is_file()), key=natural_key)
            if not matches:
                raise NanotwinError(f"--data {pattern}: no file matches")
            out.extend(matches)
        else:
            out.append(pattern)
    seen: set[str] = set()
    return [SeriesItem(p) for p in out if not (p in seen or seen.add(p))]


def read_series_list(path: str | Path) -> list[SeriesItem]:
    """The files (and optional values) of a series list: ``FILE [VALUE]`` per line."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputFileError(path, exc.strerror or "cannot read") from None
    except UnicodeDecodeError:
        raise InputFileError(path, "not a text file") from None
    items = []
    for n, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        name, _, rest = text.partition(" ") if "\t" not in text else text.partition("\t")
        rest = rest.strip()
        value = None
        if rest:
            try:
                value = float(rest.split()[0].rstrip(","))
            except ValueError:
                raise InputFileError(path, f"the series value {rest.split()[0]!r} is not a number",
                                     n) from None
        file = Path(name)
        items.append(SeriesItem(str(file if file.is_absolute() else path.parent / file), value))
    if not items:
        raise InputFileError(path, "no pattern files listed (one file and an optional value per line)")
    return items


def check_value_spec(spec: str | None) -> None:
    """Refuse a --series-value that is neither ``header:KEY`` nor a valid regular expression."""
    if not spec or spec.startswith("header:"):
        if spec == "header:":
            raise NanotwinError("--series-value header:KEY needs a KEY (e.g. header:temperature)")
        return
    try:
        re.compile(spec)
    except re.error as exc:
        raise NanotwinError(f"--series-value {spec!r}: not a regular expression ({exc})") from None


def series_value(path: str, spec: str, header: Sequence[str]) -> float:
    """The series value of a file from ``spec`` (see the module docstring)."""
    name = Path(path).name
    if spec.startswith("header:"):
        key = spec[len("header:"):].strip()
        pattern = re.compile(rf"^[#!;\s]*{re.escape(key)}\s*[=:]\s*({_NUMBER})", re.IGNORECASE)
        for line in header:
            match = pattern.search(line)
            if match:
                return float(match.group(1))
        raise NanotwinError(f"{path}: no header line '{key} = VALUE' (--series-value {spec})")
    match = re.search(spec, name)
    if match is None:
        raise NanotwinError(f"{path}: the name does not match --series-value {spec!r}")
    text = match.group(1) if match.groups() else match.group(0)
    try:
        return float(text)
    except (TypeError, ValueError):
        raise NanotwinError(f"{path}: --series-value {spec!r} matches {text!r}, not a number") from None


# ---------------------------------------------------------------------------------- reading
@dataclass
class ReadOptions:
    """How the series' files are read: axis (None: header, else 2theta) and wavelength (Å)."""

    x_kind: str | None = None
    wavelength: float | None = None


def read_item(item: SeriesItem, options: ReadOptions,
              value_spec: str | None) -> tuple[PatternData, SeriesFit]:
    """Read and check one file: (data, a SeriesFit with its value and warnings, status "ok");
    raises NanotwinError naming the file when it cannot be used."""
    data = read_pattern(item.path, x_kind=options.x_kind, wavelength=options.wavelength)
    warnings = check_pattern(data, x_kind_given=options.x_kind, wavelength_given=options.wavelength)
    value = item.value
    if value is None and value_spec:
        value = series_value(item.path, value_spec, data.header)
    return data, SeriesFit(path=item.path, value=value, status="ok", warnings=warnings)


def failed(item: SeriesItem, exc: BaseException) -> SeriesFit:
    """The entry of a file that could not be read or fitted (the reason on one line)."""
    reason = " ".join(str(exc).split()) or type(exc).__name__
    return SeriesFit(path=item.path, value=item.value, status=f"failed: {reason}")


# ---------------------------------------------------------------------------------- fitting
def fit_entry(
    job: tuple[PatternData, SeriesFit],
    *,
    model: Model,
    structure: Structure,
    databases: MutableMapping,
    start: dict[str, float] | None = None,
    blank_x_kind: str | None = None,
    mapper: Mapper | None = None,
    progress: Progress | None = None,
    cancel: Callable[[], bool] | None = None,
) -> SeriesFit:
    """Fit one read pattern (a task of an independent series): the SeriesFit with the fit's
    summary, curves and values, or with ``status = "failed: REASON"`` when the fit refuses the
    data (a bad range, a wrong axis). ``Cancelled`` and programming errors are raised."""
    from nanotwin_core.actions import fit_model, fit_parts, fit_summary

    data, entry = job
    t0 = time.perf_counter()
    try:
        problem, result = fit_model(model, data, blank_x_kind=blank_x_kind, structure=structure,
                                    databases=databases, start=start, mapper=mapper, progress=progress,
                                    cancel=cancel)
    except (NanotwinError, ValueError, FloatingPointError, np.linalg.LinAlgError) as exc:
        out = failed(SeriesItem(entry.path, entry.value), exc)
        out.warnings = entry.warnings
        return out
    seconds = time.perf_counter() - t0
    values = {p.name: float(p.value) for p in result.params}
    parts = fit_parts(problem, values)
    entry.summary = fit_summary(model, data, problem, result, seconds)
    entry.summary["messages"] = list(result.messages)
    entry.values = values
    entry.observed = {"x": data.x, "y": data.y, "sigma": data.sigma_used}
    entry.observed_meta = {"path": entry.path, "x_kind": data.x_kind, "wavelength": data.wavelength,
                           "sigma_source": data.sigma_source}
    entry.curves = parts.arrays()
    entry.curve_meta = {"columns": list(problem.linear_names), "populations": list(parts.populations)}
    entry.seconds = seconds
    return entry


def run_series(
    model: Model,
    items: Sequence[SeriesItem],
    *,
    mode: str = "sequential",
    read: ReadOptions | None = None,
    value_spec: str | None = None,
    mapper: Mapper | None = None,
    databases: MutableMapping | None = None,
    structure: Structure | None = None,
    progress: Progress | None = None,
    cancel: Callable[[], bool] | None = None,
) -> SeriesResult:
    """Fit ``model`` to every file of ``items`` (see the module docstring).

    ``mapper``: where the work runs (None: here); ``databases``: size databases to reuse (e.g.
    from a project; new ones are added); ``structure``: overrides the model's (an imported one).
    """
    from nanotwin_core.actions import fit_settings
    from nanotwin_core.refine.dse_fit import prepare_fit

    if mode not in MODES:
        raise NanotwinError(f"series mode must be one of {', '.join(MODES)}, got {mode!r}")
    check_value_spec(value_spec)
    if not items:
        raise NanotwinError("a series needs at least one pattern file")
    model.validate()
    read = read or ReadOptions()
    mapper = mapper or SerialMapper()
    databases = {} if databases is None else databases
    structure = model.load_structure() if structure is None else structure
    t0 = time.perf_counter()
    fits: list[SeriesFit | None] = [None] * len(items)
    jobs: list[tuple[int, tuple[PatternData, SeriesFit]]] = []
    for i, item in enumerate(items):
        try:
            jobs.append((i, read_item(item, read, value_spec)))
        except NanotwinError as exc:
            fits[i] = failed(item, exc)
            if item.value is None and value_spec and not value_spec.startswith("header:"):
                try:
                    fits[i].value = series_value(item.path, value_spec, [])
                except NanotwinError:
                    pass  # the name carries no value either: the row stays without one
    if mode == "sequential":
        start: dict[str, float] | None = None
        for k, (i, job) in enumerate(jobs):
            def fit_progress(f: float, text: str, _k: int = k, _name: str = Path(job[1].path).name) -> None:
                if progress is not None:
                    progress((_k + f) / len(jobs), f"{_name}: {text}")

            fits[i] = fit_entry(job, model=model, structure=structure, databases=databases, start=start,
                                blank_x_kind=read.x_kind, mapper=mapper, progress=fit_progress, cancel=cancel)
            if fits[i].ok:
                start = fits[i].values
            if progress is not None:
                progress((k + 1) / len(jobs), f"fit {k + 1}/{len(jobs)}")
    elif jobs:
        # the size databases are built once here (their crystals spread over the mapper), then
        # sent to every worker with the structure and the model
        first = jobs[0][1][0]

        def db_progress(f: float, text: str) -> None:
            if progress is not None:
                progress(f, f"size database: {text}")

        try:
            prepare_fit(model, first, fit_settings(model, first, blank_x_kind=read.x_kind),
                        structure=structure, databases=databases, mapper=mapper, cancel=cancel,
                        progress=db_progress)
        except NanotwinError:
            pass  # a refusal of this file's data: its own fit below reports it by name
        done = mapper.map(fit_entry, [job for _, job in jobs], progress=progress, cancel=cancel, label="fit",
                          shared={"model": model, "structure": structure, "databases": databases,
                                  "blank_x_kind": read.x_kind})
        for (i, _), fit in zip(jobs, done, strict=True):
            fits[i] = fit
    out = [f for f in fits if f is not None]
    return SeriesResult(fits=out, mode=mode, value_spec=value_spec, databases=dict(databases),
                        seconds=time.perf_counter() - t0, n_workers=mapper.n_workers)
