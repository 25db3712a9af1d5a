"""Convergence checks for MCMC fits, and their comparison with exact posteriors.

Thresholds follow Vehtari et al. (2021), "Rank-normalization, folding, and
localization: an improved R-hat": R-hat below 1.01 and a bulk and tail ESS of at
least 100 per chain; and any divergent transition is a failure (Betancourt 2017).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

__all__ = [
    "ConvergenceReport",
    "compare_to_exact",
    "convergence_report",
    "count_divergences",
    "posterior_intervals",
]


def _require_group(idata: xr.DataTree, group: str, argument: str = "idata") -> xr.Dataset:
    if not isinstance(idata, xr.DataTree) or group not in idata.children:
        raise ValueError(f"{argument} must be an ArviZ DataTree with a {group!r} group")
    return idata[group].to_dataset()


def count_divergences(idata: xr.DataTree) -> int:
    """Number of divergent transitions after tuning, summed over chains.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> stats = xr.Dataset({"diverging": (("chain", "draw"), np.array([[True, False]]))})
    >>> count_divergences(xr.DataTree.from_dict({"sample_stats": stats}))
    1
    """
    stats = _require_group(idata, "sample_stats")
    if "diverging" not in stats:
        raise ValueError("idata.sample_stats has no 'diverging' variable (was it sampled by NUTS?)")
    return int(stats["diverging"].sum())


@dataclass(frozen=True)
class ConvergenceReport:
    """The outcome of :func:`convergence_report`; ``str(report)`` is a readable summary."""

    table: pd.DataFrame
    divergences: int
    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    rhat_threshold: float
    ess_threshold: float

    @property
    def passed(self) -> bool:
        """True when there are no divergences, R-hat is low and both ESS are high enough."""
        return (
            self.divergences == 0
            and self.max_rhat < self.rhat_threshold
            and min(self.min_ess_bulk, self.min_ess_tail) >= self.ess_threshold
        )

    @property
    def text(self) -> str:
        """One-paragraph verdict naming each check and its value."""
        verdict = "converged" if self.passed else "NOT converged"
        return (
            f"{verdict}: {self.divergences} divergences; "
            f"max R-hat {self.max_rhat:.3f} (need < {self.rhat_threshold}); "
            f"min bulk ESS {self.min_ess_bulk:.0f}, min tail ESS {self.min_ess_tail:.0f} "
            f"(need >= {self.ess_threshold:.0f})"
        )

    def __str__(self) -> str:
        return self.text


def convergence_report(
    idata: xr.DataTree,
    *,
    var_names: Sequence[str] | None = None,
    rhat_threshold: float = 1.01,
    ess_per_chain: float = 100.0,
) -> ConvergenceReport:
    """Check an MCMC fit: divergences, rank-normalised R-hat, bulk and tail ESS.

    Parameters
    ----------
    idata : xarray.DataTree
        A fit with ``posterior`` and ``sample_stats`` groups.
    var_names : sequence of str, optional
        Variables to check; default all posterior variables.
    rhat_threshold : float
        R-hat must be below this for every scalar quantity.
    ess_per_chain : float
        Bulk and tail ESS must reach this times the number of chains.

    Returns
    -------
    ConvergenceReport
        Per-quantity table (``ess_bulk``, ``ess_tail``, ``r_hat``, ``mcse_mean``) and the
        worst values; ``.passed`` and ``.text`` give the verdict.

    References
    ----------
    Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021), *Bayesian Analysis* 16(2).

    Examples
    --------
    >>> report = convergence_report(idata)  # doctest: +SKIP
    >>> print(report)  # doctest: +SKIP
    converged: 0 divergences; max R-hat 1.002 (need < 1.01); ...
    """
    posterior = _require_group(idata, "posterior")
    names = list(posterior.data_vars) if var_names is None else list(var_names)
    missing = [name for name in names if name not in posterior]
    if missing:
        raise ValueError(f"var_names has names not in the posterior: {missing}")
    table = az.summary(idata, var_names=names, kind="diagnostics", round_to="none")
    table = pd.DataFrame(table)[["ess_bulk", "ess_tail", "r_hat", "mcse_mean"]]
    return ConvergenceReport(
        table=table,
        divergences=count_divergences(idata),
        max_rhat=float(table["r_hat"].max()),
        min_ess_bulk=float(table["ess_bulk"].min()),
        min_ess_tail=float(table["ess_tail"].min()),
        rhat_threshold=rhat_threshold,
        ess_threshold=ess_per_chain * posterior.sizes["chain"],
    )


def compare_to_exact(
    idata: xr.DataTree,
    exact,
    *,
    var_names: Sequence[str] = ("mu", "tau", "theta"),
) -> pd.DataFrame:
    """Each posterior mean's error against an exact posterior, in Monte Carlo standard errors.

    Parameters
    ----------
    idata : xarray.DataTree
        An MCMC fit.
    exact : object
        Anything with a ``mean`` mapping keyed by the names in ``var_names`` (e.g.
        :func:`companion.exact.normal_hierarchy`); array entries follow the variable's
        non-sample dimension.
    var_names : sequence of str
        Quantities to compare.

    Returns
    -------
    pandas.DataFrame
        One row per scalar quantity: ``mcmc_mean``, ``exact_mean``, ``mcse`` and
        ``error_in_mcse`` = (mcmc_mean - exact_mean) / mcse. Values within a few units
        of 0 mean the sampler agrees with the exact answer.

    Examples
    --------
    >>> compare_to_exact(idata, exact.normal_hierarchy(y, sigma))  # doctest: +SKIP
    """
    posterior = _require_group(idata, "posterior")
    exact_means: Mapping = getattr(exact, "mean", None)
    if not isinstance(exact_means, Mapping):
        raise TypeError("exact must have a 'mean' mapping (e.g. from exact.normal_hierarchy)")
    mcse = az.mcse(idata, var_names=list(var_names)).to_dataset()
    rows = []
    for name in var_names:
        if name not in posterior or name not in exact_means:
            raise ValueError(f"var_names entry {name!r} is missing from idata or exact")
        draws = posterior[name]
        other_dims = [d for d in draws.dims if d not in ("chain", "draw")]
        means = np.atleast_1d(draws.mean(("chain", "draw")).values)
        errors = np.atleast_1d(mcse[name].values)
        truth = np.broadcast_to(np.asarray(exact_means[name], dtype=float), means.shape)
        labels = draws[other_dims[0]].values if other_dims else [None]
        for label, m, t, e in zip(labels, means, truth, errors, strict=True):
            rows.append(
                {
                    "quantity": name if label is None else f"{name}[{label}]",
                    "mcmc_mean": m,
                    "exact_mean": t,
                    "mcse": e,
                    "error_in_mcse": (m - t) / e,
                }
            )
    return pd.DataFrame(rows).set_index("quantity")


def posterior_intervals(
    idata: xr.DataTree, *, var_name: str = "theta", prob: float = 0.9
) -> pd.DataFrame:
    """Posterior mean and central interval of each entry of a one-dimensional variable.

    Parameters
    ----------
    idata : xarray.DataTree
        An MCMC fit.
    var_name : str
        A posterior variable with at most one non-sample dimension.
    prob : float
        Probability mass of the equal-tailed interval, in (0, 1).

    Returns
    -------
    pandas.DataFrame
        Columns ``group`` (the coordinate labels), ``mean``, ``lower``, ``upper``.

    Examples
    --------
    >>> posterior_intervals(idata, var_name="theta", prob=0.9)  # doctest: +SKIP
    """
    posterior = _require_group(idata, "posterior")
    if var_name not in posterior:
        raise ValueError(f"var_name {var_name!r} is not a posterior variable")
    if not 0 < prob < 1:
        raise ValueError(f"prob must be in (0, 1), got {prob!r}")
    draws = posterior[var_name]
    other_dims = [d for d in draws.dims if d not in ("chain", "draw")]
    if len(other_dims) > 1:
        raise ValueError(f"var_name {var_name!r} must have at most one non-sample dimension")
    quantiles = draws.quantile([(1 - prob) / 2, (1 + prob) / 2], dim=("chain", "draw"))
    labels = draws[other_dims[0]].values if other_dims else [var_name]
    return pd.DataFrame(
        {
            "group": [str(label) for label in labels],
            "mean": np.atleast_1d(draws.mean(("chain", "draw")).values),
            "lower": np.atleast_1d(quantiles.isel(quantile=0).values),
            "upper": np.atleast_1d(quantiles.isel(quantile=1).values),
        }
    )
