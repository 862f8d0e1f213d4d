"""The statistics of a log-normal size population as the paper's Table 2 prints them.

Number-based and volume-weighted means and relative dispersions (nm): for prisms D_ab, L_c,
the aspect ratio L_c/D_ab and the equal-volume sphere diameter D_eq; for spheres and cuboids D.
"""

from __future__ import annotations

from nanotwin_core.model import PopulationSpec
from nanotwin_core.population.distributions import BivariateLogNormal, LogNormal
from nanotwin_core.population.statistics import prism_statistics, sphere_statistics

WEIGHTINGS = ("number", "volume")


def population_statistics(spec: PopulationSpec) -> dict[str, dict[str, float]]:
    """{"number": {...}, "volume": {...}} for a validated spec (prisms: d_ab, s_ab, l_c, s_c,
    aspect, d_eq, s_eq, ...; spheres and cuboids: mean, rel_sigma, mean_vol)."""
    spec.validate("prism" if spec.bivariate else "sphere")
    if spec.bivariate:
        dist = BivariateLogNormal(spec.Dab, spec.sab, spec.Lc, spec.sc, spec.correlation)
        return {w: prism_statistics(dist, w).as_dict() for w in WEIGHTINGS}
    out = {}
    for w in WEIGHTINGS:
        st = sphere_statistics(LogNormal(spec.D, spec.sD), w)
        out[w] = {"mean": st.mean, "rel_sigma": st.rel_sigma, "mean_vol": st.mean_vol}
    return out


def format_population_table(spec: PopulationSpec, stats: dict[str, dict[str, float]]) -> str:
    """The Table-2 text: one row per quantity, number-based and volume-weighted columns."""
    n, v = stats["number"], stats["volume"]
    if spec.bivariate:
        def row(label: str, mean: str, rel: str | None) -> str:
            cells = [f"{w[mean]:9.2f}" + (f", {w[rel]:.2f}" if rel else "      ") for w in (n, v)]
            return f"{label:34s}{cells[0]}{cells[1]:>17s}"

        lines = [
            f"{'':34s}{'number-based':>16s}{'volume-weighted':>18s}",
            row("<D_ab> (nm), sigma_ab/<D_ab>", "d_ab", "s_ab"),
            row("<L_c> (nm), sigma_c/<L_c>", "l_c", "s_c"),
            row("aspect ratio <L_c>/<D_ab>", "aspect", None),
            row("<D_eq> (nm), sigma/<D_eq>", "d_eq", "s_eq"),
        ]
    else:
        lines = [
            f"{'':26s}{'number-based':>16s}{'volume-weighted':>18s}",
            f"{'<D> (nm), sigma/<D>':26s}{n['mean']:9.2f}, {n['rel_sigma']:.2f}"
            f"{v['mean']:11.2f}, {v['rel_sigma']:.2f}",
        ]
    return "\n".join(lines)


def population_header(spec: PopulationSpec) -> str:
    """One line of number-based sizes (nm) for file headers."""
    st = population_statistics(spec)["number"]
    if spec.bivariate:
        return (f"Dab={spec.Dab:.4g}, sab={spec.sab:.4g}, Lc={spec.Lc:.4g}, sc={spec.sc:.4g}, "
                f"D_eq_nm={st['d_eq']:.4g}")
    return f"D={spec.D:.4g}, sD={spec.sD:.4g}"
