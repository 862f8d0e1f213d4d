"""Reading and writing measured powder patterns and pair distribution functions.

Patterns: ``.xye``/``.xy``/``.dat`` (whitespace columns x, I[, sigma]) and ``.chi`` (Fit2D style
with a four-line header: title, axis label, intensity label, number of points; or pyFAI style
with ``#`` comments); instruments' own files (PANalytical ``.xrdml``, Rigaku ``.ras``,
GSAS ``.fxye``/``.gsa``/``.gsas``/``.gss``) through ``io.vendor_formats``.  x is 2theta
(degrees) or Q (1/Å).  PDFs: ``.gr`` (r in Å, G in 1/Å^2, optional dG) from PDFgetX3, PDFgui,
xPDFsuite or plain two columns.

A malformed file raises :class:`nanotwin_core.errors.InputFileError` naming the file and the
line; nothing is ever read as a silent NaN.  Writers are atomic (temporary file + ``os.replace``).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from nanotwin_core.errors import InputFileError, NanotwinError
from nanotwin_core.geometry import q_from_two_theta, two_theta_from_q
from nanotwin_core.io.atomic import atomic_write_text
from nanotwin_core.io.vendor_formats import VENDOR_SUFFIXES, read_vendor_pattern

__all__ = [
    "PatternData",
    "PDFData",
    "read_pattern",
    "read_gr",
    "write_pattern",
    "write_gr",
    "q_from_tth",
    "tth_from_q",
    "axis_hint",
    "wavelength_from_name",
    "declared_wavelength",
    "PATTERN_SUFFIXES",
    "PATTERN_FILTER",
]

_COMMENT = ("#", "!")
_FLOAT_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eEdD][+-]?\d+)?$")
PATTERN_SUFFIXES = (".xye", ".xy", ".dat", ".chi", *VENDOR_SUFFIXES)
PATTERN_FILTER = f"Patterns ({' '.join('*' + s for s in PATTERN_SUFFIXES)});;All files (*)"  # file dialogs

_WAVELENGTH_RE = re.compile(
    r"(?:wavelength|lambda|wave_length)\s*(?:\([^)]*\))?\s*[=:]?\s*([+-]?\d+\.?\d*(?:[eE][+-]?\d+)?)\s*"
    r"(m\b|nm\b|a\b|å|angstrom)?",
    re.IGNORECASE,
)


# ----------------------------------------------------------------------------------------------
# conversions
# q_from_tth / tth_from_q: the names this module always had, now of the one copy in geometry
q_from_tth = q_from_two_theta
tth_from_q = two_theta_from_q


# ----------------------------------------------------------------------------------------------
# data classes
@dataclass
class PatternData:
    """A measured powder pattern.

    Attributes
    ----------
    x : first column, 2theta (degrees) or Q (1/Å) according to ``x_kind``.
    y : intensity.
    sigma : standard uncertainties from the file, or None where the file has none.
    x_kind : "tth" or "q".
    wavelength : Å, or None.
    path : source file (or None).
    sigma_source : "file" or "poisson_estimate" (sigma = sqrt(max(I, 1)); GoF, Rexp not absolute).
    mask : bool per point, True = used in fits (excluded regions are False).
    header : the header/comment lines of the file.
    notes : how x_kind and wavelength were decided (for reports).
    """

    x: np.ndarray
    y: np.ndarray
    sigma: np.ndarray | None = None
    x_kind: str = "tth"
    wavelength: float | None = None
    path: str | None = None
    sigma_source: str = "file"
    mask: np.ndarray | None = None
    header: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.x = np.asarray(self.x, dtype=float)
        self.y = np.asarray(self.y, dtype=float)
        if self.sigma is not None:
            self.sigma = np.asarray(self.sigma, dtype=float)
            self.sigma_source = "file"
        else:
            self.sigma_source = "poisson_estimate"
        if self.x_kind not in ("tth", "q"):
            raise NanotwinError(f"x_kind must be 'tth' or 'q', not {self.x_kind!r}")
        if self.mask is None:
            self.mask = np.ones(self.x.shape, dtype=bool)
        else:
            self.mask = np.asarray(self.mask, dtype=bool)
        if not (self.x.shape == self.y.shape == self.mask.shape) or (
            self.sigma is not None and self.sigma.shape != self.x.shape
        ):
            raise NanotwinError("x, y, sigma and mask must have the same length")

    # -- uncertainties
    @property
    def sigma_used(self) -> np.ndarray:
        """Sigma used for weights: the file's, or the Poisson estimate sqrt(max(I, 1))."""
        if self.sigma is not None:
            return self.sigma
        return np.sqrt(np.maximum(self.y, 1.0))

    @property
    def sigma_is_absolute(self) -> bool:
        """False where sigma was estimated: GoF and Rexp are then not absolute."""
        return self.sigma_source == "file"

    # -- axes
    def q(self) -> np.ndarray:
        """Q (1/Å) of every point."""
        if self.x_kind == "q":
            return self.x.copy()
        if self.wavelength is None:
            raise NanotwinError(f"{self.path or 'pattern'}: 2theta data need a wavelength to give Q (give "
                                "--wavelength or --energy; --x q if the first column is Q in 1/Å)")
        return q_from_tth(self.x, self.wavelength)

    def tth(self) -> np.ndarray:
        """2theta (degrees) of every point."""
        if self.x_kind == "tth":
            return self.x.copy()
        if self.wavelength is None:
            raise NanotwinError(f"{self.path or 'pattern'}: Q data need a wavelength to give 2theta")
        return tth_from_q(self.x, self.wavelength)

    # -- selections
    def excluded(self, xmin: float, xmax: float, *, kind: str | None = None) -> PatternData:
        """A copy with the points in [xmin, xmax] (in ``kind`` units, default x_kind) masked out."""
        xs = self._axis(kind)
        mask = self.mask & ~((xs >= xmin) & (xs <= xmax))
        return replace(self, mask=mask, header=list(self.header), notes=list(self.notes))

    def restricted(self, qmin: float | None = None, qmax: float | None = None) -> PatternData:
        """A copy holding only the points with qmin <= Q <= qmax (1/Å)."""
        return self._cut(self.q(), qmin, qmax)

    def restricted_tth(self, tmin: float | None = None, tmax: float | None = None) -> PatternData:
        """A copy holding only the points with tmin <= 2theta <= tmax (degrees)."""
        return self._cut(self.tth(), tmin, tmax)

    def _axis(self, kind: str | None) -> np.ndarray:
        kind = kind or self.x_kind
        return self.q() if kind == "q" else self.tth()

    def _cut(self, xs: np.ndarray, lo: float | None, hi: float | None) -> PatternData:
        keep = np.ones(xs.shape, dtype=bool)
        if lo is not None:
            keep &= xs >= lo
        if hi is not None:
            keep &= xs <= hi
        if keep.sum() < 2:
            raise NanotwinError(f"{self.path or 'pattern'}: fewer than 2 points in range [{lo}, {hi}]")
        return PatternData(
            x=self.x[keep],
            y=self.y[keep],
            sigma=None if self.sigma is None else self.sigma[keep],
            x_kind=self.x_kind,
            wavelength=self.wavelength,
            path=self.path,
            mask=self.mask[keep],
            header=list(self.header),
            notes=list(self.notes),
        )

    def __len__(self) -> int:
        return int(self.x.size)


@dataclass
class PDFData:
    """A measured pair distribution function G(r) (r in Å, G in 1/Å^2, dG optional)."""

    r: np.ndarray
    g: np.ndarray
    dg: np.ndarray | None = None
    path: str | None = None
    header: list[str] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)

    def restricted(self, rmin: float | None = None, rmax: float | None = None) -> PDFData:
        """A copy holding only rmin <= r <= rmax."""
        keep = np.ones(self.r.shape, dtype=bool)
        if rmin is not None:
            keep &= self.r >= rmin
        if rmax is not None:
            keep &= self.r <= rmax
        return PDFData(
            self.r[keep],
            self.g[keep],
            None if self.dg is None else self.dg[keep],
            self.path,
            list(self.header),
            dict(self.meta),
        )

    @property
    def qmax(self) -> float | None:
        """Qmax (1/Å) from the header, if stated."""
        return _meta_float(self.meta, "qmax")

    @property
    def qmin(self) -> float | None:
        """Qmin (1/Å) from the header, if stated."""
        return _meta_float(self.meta, "qmin")


def _meta_float(meta: dict[str, str], key: str) -> float | None:
    try:
        return float(meta[key])
    except (KeyError, ValueError):
        return None


# ----------------------------------------------------------------------------------------------
# low-level parsing
def _is_float(tok: str) -> bool:
    return bool(_FLOAT_RE.match(tok)) or tok.lower() in ("nan", "inf", "-inf", "+inf", "infinity")


def _to_float(tok: str) -> float:
    return float(tok.replace("d", "e").replace("D", "E"))


def _read_lines(path: Path) -> list[str]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputFileError(path, f"cannot read the file ({exc.strerror or exc})") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    if "\x00" in text:
        raise InputFileError(path, "binary file, not a text table")
    return text.splitlines()


@dataclass
class _Table:
    data: np.ndarray  # (n, ncol)
    lines: np.ndarray  # 1-based line number of every row
    header: list[str]


def _parse_table(
    path: Path,
    lines: Sequence[str],
    *,
    start: int = 0,
    min_cols: int = 2,
    max_cols: int | None = None,
    allow_header_text: bool = True,
) -> _Table:
    """Parse whitespace (or comma) separated numeric columns from ``lines[start:]``.

    Comment lines (``#``/``!``) and blank lines are skipped everywhere; lines whose first token is
    not a number are header lines while no data row has been read yet.  After the first data row
    every non-comment line must hold the same number of finite numbers.
    """
    header: list[str] = [ln for ln in lines[:start]]
    rows: list[list[float]] = []
    linenos: list[int] = []
    ncol: int | None = None
    for i in range(start, len(lines)):
        text = lines[i].strip()
        lineno = i + 1
        if not text or text.startswith(_COMMENT):
            if text and not rows:
                header.append(text)
            continue
        toks = text.replace(",", " ").replace(";", " ").split()
        if not rows and not _is_float(toks[0]):
            if not allow_header_text:
                raise InputFileError(path, f"non-numeric value {toks[0]!r}", lineno)
            header.append(text)
            continue
        values: list[float] = []
        for tok in toks:
            if not _is_float(tok):
                raise InputFileError(path, f"non-numeric value {tok!r}", lineno)
            v = _to_float(tok)
            if not math.isfinite(v):
                raise InputFileError(path, f"value {tok!r} is not finite", lineno)
            values.append(v)
        if ncol is None:
            ncol = len(values)
            if ncol < min_cols or (max_cols is not None and ncol > max_cols):
                want = f"{min_cols}" if max_cols == min_cols else f"{min_cols} to {max_cols or 'more'}"
                raise InputFileError(path, f"{ncol} column(s) where {want} are expected", lineno)
        elif len(values) != ncol:
            raise InputFileError(path, f"{len(values)} column(s) where {ncol} are expected", lineno)
        rows.append(values)
        linenos.append(lineno)
    if not rows:
        raise InputFileError(path, "no numeric data (empty file or header only)")
    return _Table(np.asarray(rows, dtype=float), np.asarray(linenos), header)


def _check_monotonic(path: Path, x: np.ndarray, lines: np.ndarray, what: str) -> bool:
    """Return True if x increases strictly, False if it decreases strictly; raise otherwise."""
    if x.size < 2:
        raise InputFileError(path, f"only {x.size} data point(s)")
    d = np.diff(x)
    if np.all(d > 0):
        return True
    if np.all(d < 0):
        return False
    sign = np.sign(d[0]) if d[0] != 0 else 1.0
    bad = int(np.flatnonzero(np.sign(d) != sign)[0]) + 1
    raise InputFileError(path, f"{what} is not monotonic ({x[bad - 1]:g} then {x[bad]:g})", int(lines[bad]))


def _x_kind_hint(header: Iterable[str]) -> tuple[str | None, float]:
    """(x_kind, factor to 1/Å or degrees) from header words, or (None, 1)."""
    for line in header:
        low = line.lower()
        if re.search(r"2[-_ ]?th|two[-_ ]?theta|2[-_ ]?θ|\btth\b|2-theta angle", low):
            return "tth", 1.0
        if re.search(r"\bq\b|q_|q\(|q \(|q\[|q/|\bq\s*\(", low):
            if re.search(r"nm\^?-1|1/nm|nm\)|nm-1|nm\^\(-1\)|nm\]|q_nm", low):
                return "q", 0.1
            return "q", 1.0
    return None, 1.0


def axis_hint(header: Iterable[str]) -> str | None:
    """"tth" or "q" where header words say what the first column is, else None."""
    return _x_kind_hint(header)[0]


_NAME_WAVELENGTH_RE = re.compile(r"(?:^|[_\-.])wl(\d+)p(\d+)(?:A|Å)?(?=[_\-.]|$)", re.IGNORECASE)


def wavelength_from_name(path: str | os.PathLike[str]) -> float | None:
    """The wavelength (Å) a file name states as ``wl0p49547592A`` (= 0.49547592 Å), or None."""
    m = _NAME_WAVELENGTH_RE.search(Path(path).stem)
    return float(f"{m.group(1)}.{m.group(2)}") if m else None


def _wavelength_hint(header: Iterable[str]) -> float | None:
    for line in header:
        m = _WAVELENGTH_RE.search(line)
        if not m:
            continue
        try:
            v = float(m.group(1))
        except ValueError:
            continue
        unit = (m.group(2) or "").lower()
        if unit == "m" or (not unit and 0 < v < 1e-6):
            v *= 1e10
        elif unit == "nm":
            v *= 10.0
        if 0.01 < v < 20:
            return v
    return None


# ----------------------------------------------------------------------------------------------
# readers
def read_pattern(
    path: str | os.PathLike[str],
    *,
    x_kind: str | None = None,
    wavelength: float | None = None,
) -> PatternData:
    """Read a powder pattern (.xye, .xy, .dat, .chi, or an instrument's .xrdml, .ras, .fxye/.gsa).

    Parameters
    ----------
    path : the file.
    x_kind : "tth" (2theta, degrees) or "q" (1/Å); None = from header words ("2theta", "Q"),
        else 2theta (noted in ``notes``).
    wavelength : Å; None = from a header line ``wavelength = ...`` if any.

    Returns
    -------
    PatternData with x increasing (a decreasing file is reversed).  Q in 1/nm (Fit2D/pyFAI
    labels) is converted to 1/Å.
    """
    p = Path(path)
    if p.suffix.lower() in VENDOR_SUFFIXES:
        return _vendor_pattern(p, x_kind, wavelength)
    lines = _read_lines(p)
    start = 0
    header_pre: list[str] = []
    # Fit2D .chi: title, axis label, intensity label, number of points.
    if len(lines) >= 4 and not lines[0].lstrip().startswith(_COMMENT):
        toks4 = lines[3].split()
        if (
            len(toks4) == 1
            and toks4[0].isdigit()
            and not _first_is_number(lines[1])
            and not _first_is_number(lines[2])
        ):
            start = 4
            header_pre = [ln.strip() for ln in lines[:3]]
            n_expected = int(toks4[0])
        else:
            n_expected = None
    else:
        n_expected = None
    table = _parse_table(p, lines, start=start, min_cols=2, max_cols=4)
    header = header_pre + [h for h in table.header if h not in header_pre]
    if n_expected is not None and n_expected != table.data.shape[0]:
        raise InputFileError(
            p, f"header announces {n_expected} points, the file holds {table.data.shape[0]}", 4
        )
    notes: list[str] = []
    factor = 1.0
    if x_kind is None:
        hint, factor = _x_kind_hint(header_pre[1:2] if header_pre else header)
        if hint is None and header_pre:
            hint, factor = _x_kind_hint(header)
        if hint is None:
            x_kind = "tth"
            notes.append("x column taken as 2theta (degrees): no axis hint in the file")
        else:
            x_kind = hint
            notes.append(f"x column read as {'2theta (degrees)' if hint == 'tth' else 'Q'} from the header")
    elif x_kind not in ("tth", "q"):
        raise NanotwinError(f"x_kind must be 'tth' or 'q', not {x_kind!r}")
    else:
        _, factor = _x_kind_hint(header) if x_kind == "q" else (None, 1.0)
    if wavelength is None:
        wavelength = _wavelength_hint(header)
        if wavelength is not None:
            notes.append(f"wavelength {wavelength} Å from the header")
        else:
            wavelength = wavelength_from_name(p)
            if wavelength is not None:
                notes.append(f"wavelength {wavelength} Å from the file name")
    data = table.data
    x = data[:, 0] * factor
    if factor != 1.0:
        notes.append("Q converted from 1/nm to 1/Å")
    y = data[:, 1]
    sigma = data[:, 2] if data.shape[1] >= 3 else None
    increasing = _check_monotonic(p, x, table.lines, "the x column")
    if sigma is not None:
        bad = np.flatnonzero(sigma <= 0)
        if bad.size:
            raise InputFileError(p, f"sigma {sigma[bad[0]]:g} is not positive", int(table.lines[bad[0]]))
    if not increasing:
        x, y = x[::-1], y[::-1]
        sigma = None if sigma is None else sigma[::-1]
    return PatternData(
        x=x.copy(),
        y=y.copy(),
        sigma=None if sigma is None else sigma.copy(),
        x_kind=x_kind,
        wavelength=wavelength,
        path=str(p),
        header=header,
        notes=notes,
    )


def _vendor_pattern(p: Path, x_kind: str | None, wavelength: float | None) -> PatternData:
    """An instrument's own file (``io.vendor_formats``): 2θ always, the wavelength it states."""
    vendor = read_vendor_pattern(p)
    if x_kind not in (None, "tth"):
        raise InputFileError(p, f"the file's x axis is 2θ (degrees), not {x_kind!r}: "
                                "leave the axis to the file")
    notes = ["x column read as 2theta (degrees): the instrument's file says so", *vendor.notes]
    if wavelength is None:
        wavelength = _wavelength_hint(vendor.header)
        if wavelength is not None:
            notes.append(f"wavelength {wavelength} Å from the header")
    return PatternData(x=vendor.tth, y=vendor.y, sigma=vendor.sigma, x_kind="tth", wavelength=wavelength,
                       path=str(p), header=vendor.header, notes=notes)


def declared_wavelength(path: str | os.PathLike[str], header: Iterable[str]) -> tuple[float | None, str]:
    """(wavelength in Å, "header" | "file name") that a pattern file states itself, or (None, "")."""
    from_header = _wavelength_hint(header)
    if from_header is not None:
        return from_header, "header"
    from_name = wavelength_from_name(path)
    return (from_name, "file name") if from_name is not None else (None, "")


def _first_is_number(line: str) -> bool:
    toks = line.split()
    return bool(toks) and _is_float(toks[0])


def read_gr(path: str | os.PathLike[str]) -> PDFData:
    """Read a G(r) file (PDFgetX3, PDFgui, xPDFsuite or plain columns r, G[, dr, dG] / r, G, dG).

    Returns
    -------
    PDFData with r (Å), G (1/Å^2), dG (or None) and header ``key = value`` pairs in ``meta``
    (e.g. qmin, qmax, composition, wavelength).
    """
    p = Path(path)
    lines = _read_lines(p)
    start = 0
    for i, ln in enumerate(lines):
        if ln.strip().lower().startswith("#### start data"):
            start = i + 1
            break
    table = _parse_table(p, lines, start=start, min_cols=2, max_cols=4)
    meta: dict[str, str] = {}
    for h in table.header:
        m = re.match(r"^[#!\s]*([A-Za-z_][\w.]*)\s*[=:]\s*(.*)$", h)
        if m and m.group(1).lower() not in meta:
            meta[m.group(1).lower()] = m.group(2).strip()
    d = table.data
    r, g = d[:, 0], d[:, 1]
    if d.shape[1] == 3:
        dg = d[:, 2]
    elif d.shape[1] == 4:  # PDFgui: r G dr dG
        dg = d[:, 3]
    else:
        dg = None
    _check_monotonic(p, r, table.lines, "r")
    if np.any(np.diff(r) < 0):
        r, g = r[::-1], g[::-1]
        dg = None if dg is None else dg[::-1]
    if dg is not None and np.all(dg == 0):
        dg = None
    return PDFData(r.copy(), g.copy(), None if dg is None else dg.copy(), str(p), table.header, meta)


# ----------------------------------------------------------------------------------------------
# writers
def _columns_text(header_lines: Iterable[str], cols: Sequence[np.ndarray]) -> str:
    n = len(cols[0])
    for c in cols:
        if len(c) != n:
            raise NanotwinError("columns to write must have the same length")
        if not np.all(np.isfinite(c)):
            raise NanotwinError("refusing to write non-finite values")
    out = [f"# {h}" if not str(h).startswith("#") else str(h) for h in header_lines]
    block = np.column_stack([np.asarray(c, dtype=float) for c in cols])
    out.extend(" ".join(f"{v:.10g}" for v in row) for row in block)
    return "\n".join(out) + "\n"


def write_pattern(
    path: str | os.PathLike[str],
    x: np.ndarray,
    y: np.ndarray,
    sigma: np.ndarray | None = None,
    header_lines: Iterable[str] = (),
) -> None:
    """Write x, I[, sigma] columns with ``#`` header lines, atomically.

    Put the axis ("2theta (degrees)" or "Q (1/Å)") and the wavelength in ``header_lines`` so
    :func:`read_pattern` can read them back.
    """
    cols = [np.asarray(x, float), np.asarray(y, float)]
    if sigma is not None:
        cols.append(np.asarray(sigma, float))
    atomic_write_text(path, _columns_text(header_lines, cols), make_parents=True)


def write_gr(
    path: str | os.PathLike[str],
    r: np.ndarray,
    g: np.ndarray,
    dg: np.ndarray | None = None,
    header_lines: Iterable[str] = (),
) -> None:
    """Write r (Å), G (1/Å^2)[, dG] with ``#`` header lines (``key = value`` style), atomically."""
    cols = [np.asarray(r, float), np.asarray(g, float)]
    if dg is not None:
        cols.append(np.asarray(dg, float))
    atomic_write_text(path, _columns_text(header_lines, cols), make_parents=True)
