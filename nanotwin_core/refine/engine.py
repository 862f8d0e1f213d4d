"""Least-squares refinement with variable projection.

The model is any callable ``basis(values) -> A`` returning an (n_points, n_linear) matrix whose
columns are the linearly scaled components (population patterns, Chebyshev terms, a blank...).
Inside every evaluation the linear coefficients c are solved by weighted linear least squares
(non-negative where asked: scale factors, fractions), so the nonlinear search
(``scipy.optimize.least_squares``, bounded trust region, finite-difference Jacobian) sees only
the nonlinear parameters.  At the optimum one full Jacobian over *every* refined parameter
(nonlinear and linear) gives the covariance (J^T W J)^-1 chi^2/(N - P), as DebUsSy does.

Figures of merit (w = 1/sigma^2, N points, P refined parameters):
Rwp = sqrt(sum w (yo - yc)^2 / sum w yo^2), Rexp = sqrt((N - P)/sum w yo^2),
GoF = sqrt(chi^2/(N - P)) = Rwp/Rexp.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from nanotwin_core.errors import Cancelled, NanotwinError
from nanotwin_core.refine.diagnostics import NEAR_SINGULAR, diagnose_result, fit_status
from nanotwin_core.refine.linear_solve import solve_linear
from nanotwin_core.refine.parameters import Parameter, ParameterSet

__all__ = ["FitResult", "Refinement", "fit", "solve_linear", "figures_of_merit"]

BasisFn = Callable[[dict[str, float]], np.ndarray]
CancelLike = Callable[[], bool] | object | None


def _is_cancelled(cancel: CancelLike) -> bool:
    if cancel is None:
        return False
    is_set = getattr(cancel, "is_set", None)
    if callable(is_set):
        return bool(is_set())
    return bool(cancel())  # type: ignore[operator]


def figures_of_merit(y: np.ndarray, yc: np.ndarray, sigma: np.ndarray, n_params: int) -> dict[str, float]:
    """Rwp, Rexp, GoF, chi2 (w = 1/sigma^2), N and P."""
    w = 1.0 / sigma**2
    sw = float(np.sum(w * y * y))
    chi2 = float(np.sum(w * (y - yc) ** 2))
    n = int(y.size)
    dof = max(n - n_params, 1)
    return {
        "rwp": math.sqrt(chi2 / sw) if sw > 0 else math.nan,
        "rexp": math.sqrt(dof / sw) if sw > 0 else math.nan,
        "gof": math.sqrt(chi2 / dof),
        "chi2": chi2,
        "n_points": n,
        "n_params": n_params,
    }


@dataclass
class FitResult:
    """Outcome of a refinement.

    Attributes
    ----------
    params : the parameter set at the optimum (values, esd, at_bound filled; linear ones included).
    y_obs, y_calc, sigma : fitted points (mask applied).
    components : (n, m) contribution of every linear column (a[:, k] c_k).
    rwp, rexp, gof, chi2 : figures of merit; n_points, n_params (N, P: all refined incl. linear).
    sigma_source : "file" or "poisson_estimate" (GoF and Rexp then not absolute).
    cov_names : parameter names in the order of ``covariance`` / ``correlation``.
    covariance, correlation : over the refined parameters not stuck at a bound.
    success, message, nfev, messages (notes for reports).
    start_values : the free parameters' values when the least squares started.
    stopped_at_limit : True when the minimiser stopped at its evaluation limit (not converged).
    linear_unbounded : for non-negative linear terms that ended at 0, the value an unbounded
        solve gives (the sign the data wanted).
    condition : condition number of the (column-scaled) normal matrix; inf when singular.
    weak_names : the parameters of its weakest direction (where it is near-singular).
    diagnostics : ``refine.diagnostics.Diagnostic`` findings (``status`` sums them up).
    """

    params: ParameterSet
    y_obs: np.ndarray
    y_calc: np.ndarray
    sigma: np.ndarray
    components: np.ndarray
    linear_names: list[str]
    rwp: float
    rexp: float
    gof: float
    chi2: float
    n_points: int
    n_params: int
    sigma_source: str = "file"
    cov_names: list[str] = field(default_factory=list)
    covariance: np.ndarray | None = None
    correlation: np.ndarray | None = None
    success: bool = True
    message: str = ""
    nfev: int = 0
    messages: list[str] = field(default_factory=list)
    start_values: dict[str, float] = field(default_factory=dict)
    stopped_at_limit: bool = False
    linear_unbounded: dict[str, float] = field(default_factory=dict)
    condition: float | None = None
    weak_names: tuple[str, ...] = ()
    diagnostics: list = field(default_factory=list)

    @property
    def status(self) -> str:
        """"ok", or "failed: <why>" when a diagnostic says the fit gave no result."""
        return fit_status(self.diagnostics)

    @property
    def failed(self) -> bool:
        """True when the fit gave no result (an error diagnostic)."""
        return self.status != "ok"

    @property
    def values(self) -> dict[str, float]:
        """Name -> refined value."""
        return self.params.values()

    @property
    def esds(self) -> dict[str, float | None]:
        """Name -> esd (None where not refined or at a bound)."""
        return {p.name: p.esd for p in self.params}

    @property
    def sigma_is_absolute(self) -> bool:
        """False where sigma was estimated (GoF, Rexp not absolute)."""
        return self.sigma_source == "file"


class Refinement:
    """A variable-projection refinement problem.

    Parameters
    ----------
    basis : ``basis(values) -> (n_points, n_linear)`` matrix; ``values`` maps every parameter name
        in ``params`` to its value.  Evaluated on the full data grid; ``mask`` selects points.
    params : the nonlinear parameters (and optionally entries for linear names: a linear name
        present with ``refine=False`` or constraint "fixed" is held at its value).
    y, sigma : observations and their standard uncertainties.
    linear_names : names of the columns of ``basis``.
    nonneg : bool or one per column: True = coefficient >= 0 (scale factors, fractions).
    sigma_source : "file" or "poisson_estimate", carried to the result.
    mask : bool per point, True = fitted.
    callback : ``callback(values, rwp)`` once per iteration.
    cancel : ``cancel() -> bool`` or a ``threading.Event``; polled at every model evaluation,
        a cancel raises :class:`nanotwin_core.errors.Cancelled`.
    """

    def __init__(
        self,
        basis: BasisFn,
        params: ParameterSet,
        y: np.ndarray,
        sigma: np.ndarray,
        linear_names: Sequence[str],
        nonneg: bool | Sequence[bool] = True,
        *,
        sigma_source: str = "file",
        mask: np.ndarray | None = None,
        callback: Callable[[dict[str, float], float], None] | None = None,
        cancel: CancelLike = None,
    ) -> None:
        self.basis = basis
        self.params = params
        y = np.asarray(y, float)
        sigma = np.asarray(sigma, float)
        if y.shape != sigma.shape or y.ndim != 1:
            raise NanotwinError("y and sigma must be 1-D arrays of equal length")
        if np.any(~np.isfinite(y)) or np.any(~np.isfinite(sigma)) or np.any(sigma <= 0):
            raise NanotwinError("y must be finite and sigma finite and positive")
        self.mask = np.ones(y.shape, bool) if mask is None else np.asarray(mask, bool)
        self.y_full = y
        self.y = y[self.mask]
        self.sigma = sigma[self.mask]
        self.w = 1.0 / self.sigma
        self.linear_names = list(linear_names)
        m = len(self.linear_names)
        self.nonneg = np.full(m, bool(nonneg)) if isinstance(nonneg, bool) else np.asarray(nonneg, bool)
        if self.nonneg.shape != (m,):
            raise NanotwinError("nonneg needs one flag per linear column")
        for k, name in enumerate(self.linear_names):
            if name not in params:
                params.append(Parameter(name, 0.0, True, 0.0 if self.nonneg[k] else -math.inf, linear=True))
            else:
                p = params[name]
                p.linear = True
                if p.master is not None:
                    raise NanotwinError(f"linear parameter {name} cannot be constrained to another")
                if self.nonneg[k]:
                    p.min = max(p.min, 0.0)
        self.sigma_source = sigma_source
        self.callback = callback
        self.cancel = cancel
        self.nfev = 0
        self._last: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    # ------------------------------------------------------------------------------------------
    @property
    def free_linear(self) -> np.ndarray:
        """bool per column: refined (solved) linear coefficient."""
        return np.array([self.params[n].is_free for n in self.linear_names], bool)

    @property
    def nonlinear_names(self) -> list[str]:
        """Free nonlinear parameter names."""
        lin = set(self.linear_names)
        return [n for n in self.params.free_names() if n not in lin]

    def _check_cancel(self) -> None:
        if _is_cancelled(self.cancel):
            raise Cancelled("refinement cancelled")

    def design(self, values: Mapping[str, float]) -> np.ndarray:
        """The basis matrix on the fitted points, checked."""
        self._check_cancel()
        self.nfev += 1
        a = np.asarray(self.basis(dict(values)), float)
        if a.ndim == 1:
            a = a[:, None]
        if a.shape != (self.y_full.size, len(self.linear_names)):
            raise NanotwinError(
                f"model returned shape {a.shape}, expected ({self.y_full.size}, {len(self.linear_names)})"
            )
        a = a[self.mask]
        if not np.all(np.isfinite(a)):
            raise NanotwinError(f"model returned non-finite values at {dict(values)}")
        return a

    def evaluate(self, x: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(a, c, y_calc) at nonlinear vector x (None = current values); solves c, sets params."""
        names = self.nonlinear_names
        if x is not None:
            self.params.set_vector(names, x)
        values = self.params.values()
        a = self.design(values)
        free = self.free_linear
        c = np.array([values[n] for n in self.linear_names], float)
        fixed_part = a[:, ~free] @ c[~free] if np.any(~free) else 0.0
        if np.any(free):
            c[free] = solve_linear(a[:, free], self.y - fixed_part, self.w, self.nonneg[free])
        for n, v in zip(self.linear_names, c, strict=True):
            self.params[n].value = float(v)
        yc = a @ c
        self._last = (a, c, yc)
        return a, c, yc

    def residual(self, x: np.ndarray) -> np.ndarray:
        """Weighted residual w (y - y_calc) with the linear coefficients projected out."""
        _, _, yc = self.evaluate(x)
        return (self.y - yc) * self.w

    @property
    def y_calc(self) -> np.ndarray | None:
        """The calculated curve of the last model evaluation on the fitted points (None before)."""
        return None if self._last is None else self._last[2]

    def rwp(self, yc: np.ndarray) -> float:
        """Rwp of a calculated pattern on the fitted points."""
        return math.sqrt(float(np.sum((self.w * (self.y - yc)) ** 2) / np.sum((self.w * self.y) ** 2)))

    def _steps(self, x: np.ndarray) -> np.ndarray:
        h = np.empty(x.size)
        for k, n in enumerate(self.nonlinear_names):
            p = self.params[n]
            if p.step is not None:
                h[k] = abs(p.step)
                continue
            typ = abs(x[k]) if x[k] != 0 else 1.0
            if math.isfinite(p.min) and math.isfinite(p.max):
                typ = max(typ, 1e-3 * (p.max - p.min))
            h[k] = 1e-6 * typ
        return h

    def _jac(self, x: np.ndarray) -> np.ndarray:
        names = self.nonlinear_names
        r0 = self.residual(x)
        if self.callback is not None:
            self.callback(self.params.values(), self.rwp(self._last[2]))  # type: ignore[index]
        h = self._steps(x)
        jac = np.empty((r0.size, x.size))
        for k, n in enumerate(names):
            p = self.params[n]
            xk = x.copy()
            step = h[k] if x[k] + h[k] <= p.max else -h[k]
            xk[k] = x[k] + step
            jac[:, k] = (self.residual(xk) - r0) / step
        self.params.set_vector(names, x)
        return jac

    # ------------------------------------------------------------------------------------------
    def global_start(
        self,
        grid: Mapping[str, Sequence[float]] | None = None,
        *,
        method: str = "grid",
        bounds: Mapping[str, tuple[float, float]] | None = None,
        maxiter: int = 10,
        popsize: int = 8,
        seed: int | None = 0,
        time_limit: float | None = None,
        progress: Callable[[float, str], None] | None = None,
    ) -> dict[str, float]:
        """Coarse global search on chosen parameters; sets and returns the best start values.

        ``method="grid"``: every combination of ``grid`` values (name -> list of values).
        ``method="de"``: ``scipy.optimize.differential_evolution`` within ``bounds`` (small budget).
        The cost is the projected chi^2 (linear coefficients solved at every point).
        ``time_limit`` (s): stop there with the best point so far; ``progress(fraction, text)``.
        """
        t0 = time.perf_counter()

        def out_of_time() -> bool:
            return time_limit is not None and time.perf_counter() - t0 > time_limit

        def cost(names: list[str], vals: Sequence[float]) -> float:
            self.params.set_vector(names, vals)
            try:
                _, _, yc = self.evaluate()
            except NanotwinError:
                return math.inf
            return float(np.sum((self.w * (self.y - yc)) ** 2))

        if method == "grid":
            if not grid:
                raise NanotwinError("global_start(method='grid') needs a grid of values")
            names = list(grid)
            start = self.params.get_vector(names)
            best, best_v = math.inf, start
            combos = list(itertools.product(*(grid[n] for n in names)))
            for k, combo in enumerate(combos):
                cval = cost(names, combo)
                if cval < best:
                    best, best_v = cval, list(combo)
                if progress is not None:
                    progress((k + 1) / len(combos), "global start")
                if out_of_time():
                    break
        elif method == "de":
            if not bounds:
                raise NanotwinError("global_start(method='de') needs bounds")
            names = list(bounds)
            generation = [0]

            def step(*_args) -> bool:
                generation[0] += 1
                if progress is not None:
                    progress(min(generation[0] / maxiter, 1.0), "global start")
                return out_of_time()

            res = optimize.differential_evolution(
                lambda v: cost(names, v),
                [bounds[n] for n in names],
                maxiter=maxiter,
                popsize=popsize,
                polish=False,
                seed=seed,
                tol=1e-6,
                callback=step,
            )
            best_v = list(res.x)
        else:
            raise NanotwinError(f"unknown global method {method!r}")
        self.params.set_vector(names, best_v)
        return dict(zip(names, best_v, strict=True))

    def run(self, *, max_nfev: int | None = None, ftol: float = 1e-10, xtol: float = 1e-10) -> FitResult:
        """Refine and return the :class:`FitResult` (esds from the full Jacobian)."""
        names = self.nonlinear_names
        messages: list[str] = []
        success, message, at_limit = True, "linear parameters only", False
        start = {n: self.params[n].value for n in names}
        if names:
            x0 = np.array(self.params.get_vector(names))
            lo = np.array([self.params[n].min for n in names])
            hi = np.array([self.params[n].max for n in names])
            if np.any(x0 < lo) or np.any(x0 > hi):
                bad = [n for n, v, a, b in zip(names, x0, lo, hi, strict=True) if not a <= v <= b]
                raise NanotwinError(f"start values outside their bounds: {', '.join(bad)}")
            # the trust-region method needs a strictly interior start
            span = np.where(np.isfinite(hi - lo), hi - lo, np.abs(x0) + 1.0)
            x0 = np.clip(x0, lo + 1e-10 * span, hi - 1e-10 * span)
            res = optimize.least_squares(
                self.residual,
                x0,
                jac=self._jac,
                bounds=(lo, hi),
                method="trf",
                x_scale="jac",
                ftol=ftol,
                xtol=xtol,
                gtol=1e-12,
                max_nfev=max_nfev,
            )
            self.params.set_vector(names, res.x)
            success, message, at_limit = bool(res.success), str(res.message), res.status == 0
            for n, am in zip(names, res.active_mask, strict=True):
                self.params[n].at_bound = None if am == 0 else ("min" if am < 0 else "max")
        a, c, yc = self.evaluate()
        if self.callback is not None:
            self.callback(self.params.values(), self.rwp(yc))
        for k, n in enumerate(self.linear_names):
            p = self.params[n]
            p.at_bound = "min" if (p.is_free and self.nonneg[k] and c[k] == 0.0) else None
        result = self._result(a, c, yc, success, message, messages)
        result.start_values = start
        result.stopped_at_limit = at_limit
        result.linear_unbounded = self._unbounded(a, c)
        result.diagnostics = diagnose_result(result, max_nfev=max_nfev)
        return result

    def _unbounded(self, a: np.ndarray, c: np.ndarray) -> dict[str, float]:
        """Unbounded solution of the free linear terms where a bounded one ended at 0."""
        free = self.free_linear
        stuck = free & self.nonneg & (c == 0.0)
        if not stuck.any():
            return {}
        fixed_part = a[:, ~free] @ c[~free] if np.any(~free) else 0.0
        c_free = solve_linear(a[:, free], self.y - fixed_part, self.w, np.zeros(int(free.sum()), bool))
        names = [n for n, f in zip(self.linear_names, free, strict=True) if f]
        return {n: float(v) for n, v, k in zip(names, c_free, np.flatnonzero(free), strict=True) if stuck[k]}

    def _result(
        self, a: np.ndarray, c: np.ndarray, yc: np.ndarray, success: bool, message: str, messages: list[str]
    ) -> FitResult:
        names = self.nonlinear_names
        lin_free = [n for n in self.linear_names if self.params[n].is_free]
        all_refined = names + lin_free
        n_par = len(all_refined)
        fom = figures_of_merit(self.y, yc, self.sigma, n_par)
        if self.y.size <= n_par:
            messages.append(f"{self.y.size} points for {n_par} refined parameters: esds undefined")
        # full Jacobian of y_calc over every refined parameter not at a bound
        use = [n for n in all_refined if self.params[n].at_bound is None]
        cols = []
        x = np.array(self.params.get_vector(names))
        h = self._steps(x) if names else np.empty(0)
        for k, n in enumerate(names):
            if n not in use:
                continue
            p = self.params[n]
            hk = h[k]
            lo_ok = x[k] - hk >= p.min
            hi_ok = x[k] + hk <= p.max
            vals = []
            for sgn in (+1, -1):
                if (sgn > 0 and not hi_ok) or (sgn < 0 and not lo_ok):
                    vals.append(None)
                    continue
                self.params.set_vector([n], [x[k] + sgn * hk])
                vals.append(self.design(self.params.values()) @ c)
            self.params.set_vector([n], [x[k]])
            if vals[0] is not None and vals[1] is not None:
                cols.append((vals[0] - vals[1]) / (2 * hk))
            elif vals[0] is not None:
                cols.append((vals[0] - yc) / hk)
            else:
                cols.append((yc - vals[1]) / hk)
        for n in lin_free:
            if n in use:
                cols.append(a[:, self.linear_names.index(n)])
        self.params.resolve()
        cov = corr = None
        condition, weak = None, ()
        for p in self.params:
            p.esd = None
        if cols and self.y.size > n_par:
            jw = np.column_stack(cols) * self.w[:, None]
            d = np.sqrt(np.einsum("ij,ij->j", jw, jw))
            d[d == 0] = 1.0
            js = jw / d
            mtx = js.T @ js
            eig, vec = np.linalg.eigh(mtx)
            condition = float(eig[-1] / eig[0]) if eig[0] > 0 else math.inf
            if condition >= NEAR_SINGULAR:  # the weakest directions: what the data cannot separate
                null = vec[:, eig <= eig[-1] / NEAR_SINGULAR]
                weight = np.sum(null * null, axis=1)
                weak = tuple(use[i] for i in np.argsort(-weight) if weight[i] > 0.1)
            try:
                inv = np.linalg.inv(mtx)
                if not np.all(np.isfinite(inv)) or condition > 1e14:
                    raise np.linalg.LinAlgError
            except np.linalg.LinAlgError:
                inv = np.linalg.pinv(mtx)
            cov = inv / np.outer(d, d) * (fom["chi2"] / (self.y.size - n_par))
            sd = np.sqrt(np.clip(np.diag(cov), 0, None))
            with np.errstate(invalid="ignore", divide="ignore"):
                corr = cov / np.outer(sd, sd)
            corr[~np.isfinite(corr)] = 0.0
            for n, s in zip(use, sd, strict=True):
                self.params[n].esd = float(s)
        for p in self.params:  # constrained parameters carry their master's esd
            if p.master is not None:
                q = p
                while q.master is not None:
                    q = self.params[q.master]
                p.esd = q.esd
                p.at_bound = q.at_bound
        if self.sigma_source != "file":
            messages.append("sigma estimated as sqrt(max(I, 1)): GoF and Rexp are not absolute")
        comps = a * c[None, :]
        return FitResult(
            params=self.params,
            y_obs=self.y.copy(),
            y_calc=yc.copy(),
            sigma=self.sigma.copy(),
            components=comps,
            linear_names=list(self.linear_names),
            rwp=fom["rwp"],
            rexp=fom["rexp"],
            gof=fom["gof"],
            chi2=fom["chi2"],
            n_points=int(fom["n_points"]),
            n_params=n_par,
            sigma_source=self.sigma_source,
            cov_names=use if cov is not None else [],
            covariance=cov,
            correlation=corr,
            success=success,
            message=message,
            nfev=self.nfev,
            messages=messages,
            condition=condition,
            weak_names=weak,
        )


def fit(
    basis: BasisFn,
    params: ParameterSet,
    y: np.ndarray,
    sigma: np.ndarray,
    linear_names: Sequence[str],
    nonneg: bool | Sequence[bool] = True,
    *,
    sigma_source: str = "file",
    mask: np.ndarray | None = None,
    callback: Callable[[dict[str, float], float], None] | None = None,
    cancel: CancelLike = None,
    global_grid: Mapping[str, Sequence[float]] | None = None,
    max_nfev: int | None = None,
) -> FitResult:
    """Refine ``params`` (nonlinear) and the linear coefficients of ``basis`` against y(sigma).

    See :class:`Refinement` for the arguments; ``global_grid`` (name -> values) runs a coarse grid
    search on those parameters first.
    """
    ref = Refinement(
        basis,
        params,
        y,
        sigma,
        linear_names,
        nonneg,
        sigma_source=sigma_source,
        mask=mask,
        callback=callback,
        cancel=cancel,
    )
    if global_grid:
        ref.global_start(global_grid)
    return ref.run(max_nfev=max_nfev)
