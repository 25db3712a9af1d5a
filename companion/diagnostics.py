"""Convergence checks for MCMC fits, their comparison with exact posteriors, and LOO.

Thresholds follow Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021), "Rank-normalization,
folding, and localization: an improved R-hat": at least four chains, R-hat below 1.01 and a
bulk and tail ESS of at least 100 per chain; and any divergent transition is a failure
(Betancourt 2017). Model comparison by PSIS-LOO follows Vehtari, Gelman & Gabry (2017), with
the leave-one-group-out variants of the chapter "Comparing pooling strategies with LOO".
"""

import textwrap
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from companion._checks import (
    as_finite_array,
    as_positive_array,
    finite_scalar,
    positive_integer,
    positive_scalar,
)

__all__ = [
    "MIN_DRAWS",
    "ConvergenceReport",
    "compare_to_exact",
    "compute_loo",
    "convergence_report",
    "count_divergences",
    "datatree_from_draws",
    "elpd_differences",
    "group_log_likelihood",
    "loo_table",
    "marginal_group_log_likelihood",
    "posterior_intervals",
]

MIN_DRAWS = 50
"""Fewest draws per chain for which :func:`convergence_report` can pass (see its Notes)."""

_SAMPLE_DIMS = ("chain", "draw")
# arviz.loo fits a generalised Pareto tail to the largest ceil(min(0.2 S, 3 sqrt(S))) of the
# S draws and needs at least 5 of them: S >= 25.
_LOO_MIN_DRAWS = 25
_LOO_METHODS = ("stacking", "bb-pseudo-bma", "pseudo-bma")


def _require_group(idata: xr.DataTree, group: str, argument: str = "idata") -> xr.Dataset:
    if not isinstance(idata, xr.DataTree) or group not in idata.children:
        raise ValueError(f"{argument} must be an ArviZ DataTree with a {group!r} group")
    return idata[group].to_dataset()


def _sampled_group(idata: xr.DataTree, group: str, argument: str = "idata") -> xr.Dataset:
    """The group as a Dataset whose variables all have non-empty chain and draw dims."""
    dataset = _require_group(idata, group, argument)
    if not dataset.data_vars:
        raise ValueError(f"{argument}.{group} has no variables")
    for name, array in dataset.data_vars.items():
        if not set(_SAMPLE_DIMS) <= set(array.dims):
            raise ValueError(
                f"{argument}.{group}[{name!r}] must have 'chain' and 'draw' dimensions, "
                f"got {array.dims}"
            )
        if array.size == 0:
            raise ValueError(f"{argument}.{group}[{name!r}] is empty (a dimension of length 0)")
        if not np.issubdtype(array.dtype, np.number) and array.dtype != bool:
            raise TypeError(f"{argument}.{group}[{name!r}] must hold numbers, got {array.dtype}")
    return dataset


def _name(value: str, argument: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{argument} must be a variable name (str), got {value!r}")
    return value


def _names(value: str | Iterable[str], argument: str, available: Iterable[str]) -> list[str]:
    """Variable names from one name or an iterable of names, all in ``available``."""
    if isinstance(value, str):
        names = [value]
    elif isinstance(value, Iterable) and not isinstance(value, bytes | Mapping):
        names = list(value)
    else:
        raise TypeError(f"{argument} must be a variable name or a sequence of names, got {value!r}")
    if not names:
        raise ValueError(f"{argument} must name at least one variable")
    for name in names:
        _name(name, argument)
    missing = [name for name in names if name not in available]
    if missing:
        raise ValueError(f"{argument} has names not in the posterior: {missing}")
    return list(dict.fromkeys(names))


def count_divergences(idata: xr.DataTree) -> int:
    """Number of divergent transitions after tuning, summed over chains.

    Parameters
    ----------
    idata : xarray.DataTree
        A fit with a ``sample_stats`` group holding the boolean ``diverging``.

    Returns
    -------
    int
        The number of draws flagged as divergent.

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
    diverging = stats["diverging"]
    if diverging.dtype != bool:
        raise TypeError(f"idata.sample_stats['diverging'] must be boolean, got {diverging.dtype}")
    return int(diverging.sum())


@dataclass(frozen=True)
class ConvergenceReport:
    """The outcome of :func:`convergence_report`; ``str(report)`` is a readable summary.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per scalar quantity: ``ess_bulk``, ``ess_tail``, ``r_hat``, ``mcse_mean``.
    divergences : int
        Divergent transitions.
    max_rhat, min_ess_bulk, min_ess_tail : float
        The worst values in ``table`` (NaN when any quantity's value is NaN).
    rhat_threshold, ess_threshold : float
        R-hat must be below the first; both ESS must reach the second.
    chains, draws : int
        Number of chains and of draws per chain.
    reasons : tuple of str
        One sentence per failed check; empty when the fit passed.
    """

    table: pd.DataFrame
    divergences: int
    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    rhat_threshold: float
    ess_threshold: float
    chains: int
    draws: int
    reasons: tuple[str, ...]

    @property
    def passed(self) -> bool:
        """True when no check failed (``reasons`` is empty)."""
        return not self.reasons

    @property
    def text(self) -> str:
        """The verdict and each check's value on one line, then one line per failure reason."""
        verdict = "converged" if self.passed else "NOT converged"
        summary = (
            f"{verdict}: {self.chains} chains x {self.draws} draws; "
            f"{self.divergences} divergences; "
            f"max R-hat {self.max_rhat:.3f} (need < {self.rhat_threshold}); "
            f"min bulk ESS {self.min_ess_bulk:.0f}, min tail ESS {self.min_ess_tail:.0f} "
            f"(need >= {self.ess_threshold:.0f})"
        )
        return "\n".join([summary, *(f"- {reason}" for reason in self.reasons)])

    def __str__(self) -> str:
        return self.text

    def wrapped(self, width: int = 76) -> str:
        """:attr:`text` in lines of at most ``width`` characters (where possible), its
        first line broken after semicolons: for printing in a narrow page (the book).

        Examples
        --------
        >>> report = convergence_report(idata)  # doctest: +SKIP
        >>> print(report.wrapped())  # doctest: +SKIP
        converged: 4 chains x 1000 draws; 0 divergences;
          max R-hat 1.002 (need < 1.01);
          min bulk ESS 1876, min tail ESS 2012 (need >= 400)
        """
        summary, *reasons = self.text.splitlines()
        lines = [""]
        for part in summary.split("; "):
            joined = f"{lines[-1]}; {part}" if lines[-1] else part
            if len(joined) <= width or not lines[-1]:
                lines[-1] = joined
            else:
                lines[-1] += ";"
                lines.append(f"  {part}")
        lines += [textwrap.fill(r, width=width, subsequent_indent="  ") for r in reasons]
        return "\n".join(lines)


def _quantities(labels: Sequence[str], mask: np.ndarray) -> str:
    """The labels where ``mask`` holds, at most five of them, as readable text."""
    chosen = [label for label, flag in zip(labels, mask, strict=True) if flag]
    shown = ", ".join(chosen[:5])
    return shown + (f" and {len(chosen) - 5} more" if len(chosen) > 5 else "")


def convergence_report(
    idata: xr.DataTree,
    *,
    var_names: str | Sequence[str] | None = None,
    rhat_threshold: float = 1.01,
    ess_per_chain: float = 100.0,
    min_chains: int = 4,
) -> ConvergenceReport:
    """Check an MCMC fit: chains, draws, divergences, rank-normalised R-hat, bulk and tail ESS.

    Parameters
    ----------
    idata : xarray.DataTree
        A fit with ``posterior`` and ``sample_stats`` groups.
    var_names : str or sequence of str, optional
        Variable (or variables) to check; default all posterior variables.
    rhat_threshold : float
        R-hat must be below this (> 1) for every scalar quantity.
    ess_per_chain : float
        Bulk and tail ESS must reach this (>= 0) times the number of chains.
    min_chains : int
        Fewest chains (>= 2) for which the fit can pass.

    Returns
    -------
    ConvergenceReport
        Per-quantity table (``ess_bulk``, ``ess_tail``, ``r_hat``, ``mcse_mean``), the
        worst values and ``reasons``, one sentence per failed check; ``.passed`` is True
        when there is none, and ``.text`` gives the verdict with one line per reason.

    Notes
    -----
    The fit fails, with one reason each, when

    - it has fewer than ``min_chains`` chains: R-hat compares chains, and Vehtari et al.
      (2021) ask for at least four before R-hat < 1.01 means much;
    - it has fewer than :data:`MIN_DRAWS` (50) draws per chain: split R-hat cuts each chain
      in halves, and the tail ESS and R-hat look at the 5% and 95% quantiles, which in a
      half of fewer than 25 draws rest on one draw or none;
    - a quantity has a NaN or infinite draw, or the same value in every draw (R-hat and ESS
      are then undefined), or the same value throughout one chain (a stuck chain);
    - there is any divergent transition;
    - a quantity's R-hat is not below ``rhat_threshold`` (or cannot be computed);
    - a quantity's bulk or tail ESS is below ``ess_per_chain`` times the number of chains.

    References
    ----------
    Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021), *Bayesian Analysis* 16(2);
    Betancourt (2017), "A conceptual introduction to Hamiltonian Monte Carlo"; the chapter
    "Eight Schools".

    Examples
    --------
    >>> report = convergence_report(idata)  # doctest: +SKIP
    >>> print(report)  # doctest: +SKIP
    converged: 4 chains x 1000 draws; 0 divergences; max R-hat 1.002 (need < 1.01); ...
    """
    posterior = _sampled_group(idata, "posterior")
    names = list(posterior.data_vars) if var_names is None else var_names
    names = _names(names, "var_names", posterior.data_vars)
    rhat_threshold = finite_scalar(rhat_threshold, "rhat_threshold")
    if rhat_threshold <= 1:
        raise ValueError(f"rhat_threshold must be above 1, got {rhat_threshold!r}")
    ess_per_chain = positive_scalar(ess_per_chain, "ess_per_chain", allow_zero=True)
    min_chains = positive_integer(min_chains, "min_chains")
    if min_chains < 2:
        raise ValueError(f"min_chains must be at least 2 (R-hat compares chains), got {min_chains}")
    divergences = count_divergences(idata)
    chains, draws = posterior.sizes["chain"], posterior.sizes["draw"]
    ess_threshold = ess_per_chain * chains

    # One summary per variable: ArviZ 1.3 mislabels the rows of a multi-variable summary
    # when variables list shared dims in different orders (pi0 over category, then pi over
    # region x category): it stacks the values in the dataset's dim order but writes each
    # variable's labels in its own order. A variable's own rows follow its dims in C order.
    tables, flags = [], {"nonfinite": [], "constant": [], "stuck": []}
    for name in names:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            summary = az.summary(idata, var_names=[name], kind="diagnostics", round_to="none")
        tables.append(pd.DataFrame(summary))
        values = posterior[name].astype(float)
        other = [dim for dim in values.dims if dim not in _SAMPLE_DIMS]
        entries = values.transpose(*_SAMPLE_DIMS, *other).values.reshape(chains, draws, -1)
        finite = np.isfinite(entries).all(axis=(0, 1))
        with np.errstate(all="ignore"):
            constant = finite & (np.ptp(entries, axis=(0, 1)) == 0)
            stuck = finite & (np.ptp(entries, axis=1) == 0).any(axis=0) & ~constant
        flags["nonfinite"].append(~finite)
        flags["constant"].append(constant)
        flags["stuck"].append(stuck)
    table = pd.concat(tables)[["ess_bulk", "ess_tail", "r_hat", "mcse_mean"]]
    labels = [str(label) for label in table.index]
    nonfinite, constant, stuck = (np.concatenate(flags[key]) for key in flags)

    reasons = []
    if chains < min_chains:
        reasons.append(
            f"only {chains} chain{'s' if chains > 1 else ''}: need at least {min_chains} "
            "chains to judge convergence by R-hat"
        )
    if draws < MIN_DRAWS:
        reasons.append(
            f"only {draws} draws per chain: need at least {MIN_DRAWS} for a meaningful "
            "rank-normalised split R-hat and ESS"
        )
    if nonfinite.any():
        reasons.append(f"NaN or infinite draws in {_quantities(labels, nonfinite)}")
    if constant.any():
        reasons.append(
            f"the same value in every draw of {_quantities(labels, constant)}: "
            "R-hat and ESS are undefined"
        )
    if stuck.any():
        reasons.append(f"a chain stuck at one value in {_quantities(labels, stuck)}")
    if divergences:
        reasons.append(f"{divergences} divergent transition{'s' if divergences > 1 else ''}")
    # Quantities whose draws are unusable, or fits too small to judge, already have a reason.
    checkable = ~(nonfinite | constant | stuck) & (chains >= 2) & (draws >= MIN_DRAWS)
    rhat = table["r_hat"].to_numpy(dtype=float)
    high = checkable & (rhat >= rhat_threshold)
    if high.any():
        worst = int(np.nanargmax(np.where(high, rhat, np.nan)))
        reasons.append(
            f"R-hat {rhat[worst]:.3f} of {labels[worst]} is not below {rhat_threshold} "
            f"(failing: {_quantities(labels, high)})"
        )
    undefined = checkable & np.isnan(rhat)
    if undefined.any():
        reasons.append(f"R-hat could not be computed for {_quantities(labels, undefined)}")
    for kind in ("bulk", "tail"):
        ess = table[f"ess_{kind}"].to_numpy(dtype=float)
        low = checkable & ((ess < ess_threshold) | np.isnan(ess))
        if low.any():
            worst = int(np.argmin(np.where(low, np.nan_to_num(ess, nan=-np.inf), np.inf)))
            reasons.append(
                f"{kind} ESS {ess[worst]:.0f} of {labels[worst]} is below {ess_threshold:.0f} "
                f"({ess_per_chain:g} per chain; failing: {_quantities(labels, low)})"
            )
    return ConvergenceReport(
        table=table,
        divergences=divergences,
        max_rhat=float(np.max(rhat)),
        min_ess_bulk=float(np.min(table["ess_bulk"].to_numpy(dtype=float))),
        min_ess_tail=float(np.min(table["ess_tail"].to_numpy(dtype=float))),
        rhat_threshold=rhat_threshold,
        ess_threshold=ess_threshold,
        chains=chains,
        draws=draws,
        reasons=tuple(reasons),
    )


def _one_dim_draws(posterior: xr.Dataset, name: str, argument: str) -> xr.DataArray:
    """A posterior variable with at most one non-sample dimension and only finite draws."""
    draws = posterior[name]
    if len(draws.dims) > 3:
        raise ValueError(f"{argument} {name!r} must have at most one non-sample dimension")
    if not np.all(np.isfinite(draws.values)):
        raise ValueError(f"idata.posterior[{name!r}] has NaN or infinite draws")
    return draws


def compare_to_exact(
    idata: xr.DataTree,
    exact,
    *,
    var_names: str | Sequence[str] = ("mu", "tau", "theta"),
) -> pd.DataFrame:
    """Each posterior mean's error against an exact posterior, in Monte Carlo standard errors.

    Parameters
    ----------
    idata : xarray.DataTree
        An MCMC fit, with finite draws and at least four draws in all.
    exact : object
        Anything with a ``mean`` mapping keyed by the names in ``var_names`` (e.g.
        :func:`companion.exact.normal_hierarchy`); array entries follow the variable's
        non-sample dimension (a scalar entry applies to all of them).
    var_names : str or sequence of str
        Quantity (or quantities) to compare, each with at most one non-sample dimension.

    Returns
    -------
    pandas.DataFrame
        One row per scalar quantity: ``mcmc_mean``, ``exact_mean``, ``mcse`` and
        ``error_in_mcse`` = (mcmc_mean - exact_mean) / mcse. Values within a few units
        of 0 mean the sampler agrees with the exact answer.

    References
    ----------
    Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021), Section 4 (MCSE of the mean);
    the chapter "Eight Schools".

    Examples
    --------
    >>> compare_to_exact(idata, exact.normal_hierarchy(y, sigma))  # doctest: +SKIP
    """
    posterior = _sampled_group(idata, "posterior")
    exact_means = getattr(exact, "mean", None)
    if not isinstance(exact_means, Mapping):
        raise TypeError("exact must have a 'mean' mapping (e.g. from exact.normal_hierarchy)")
    names = _names(var_names, "var_names", posterior.data_vars)
    absent = [name for name in names if name not in exact_means]
    if absent:
        raise ValueError(f"var_names entries {absent} are missing from exact.mean")
    if posterior.sizes["chain"] * posterior.sizes["draw"] < 4:
        raise ValueError("idata.posterior needs at least 4 draws to estimate an MCSE")
    rows = []
    for name in names:
        draws = _one_dim_draws(posterior, name, "var_names entry")
        with np.errstate(all="ignore"):
            mcse = az.mcse(idata, var_names=[name])[name].values
        other_dims = [d for d in draws.dims if d not in _SAMPLE_DIMS]
        means = np.atleast_1d(draws.mean(_SAMPLE_DIMS).values)
        errors = np.atleast_1d(mcse)
        if not np.all(np.isfinite(errors) & (errors > 0)):
            raise ValueError(
                f"idata.posterior[{name!r}] has a zero or undefined Monte Carlo standard error "
                "(constant draws, or too few of them)"
            )
        try:
            truth = np.asarray(exact_means[name], dtype=float)
        except (TypeError, ValueError) as error:
            raise TypeError(f"exact.mean[{name!r}] must be numbers") from error
        if truth.ndim > 1 or truth.size not in (1, means.size):
            raise ValueError(
                f"exact.mean[{name!r}] must be a number or have one entry per "
                f"{name} ({means.size}), got shape {truth.shape}"
            )
        if not np.all(np.isfinite(truth)):
            raise ValueError(f"exact.mean[{name!r}] must be finite")
        truth = np.broadcast_to(truth.ravel(), means.shape)
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
        An MCMC fit (finite draws).
    var_name : str
        A posterior variable with at most one non-sample dimension.
    prob : float
        Probability mass of the equal-tailed interval, in (0, 1).

    Returns
    -------
    pandas.DataFrame
        Columns ``group`` (the coordinate labels), ``mean``, ``lower``, ``upper``; the
        interval ends are the (1 - prob) / 2 and (1 + prob) / 2 quantiles of the draws of
        all chains (linear interpolation, as ``numpy.quantile``).

    Examples
    --------
    >>> posterior_intervals(idata, var_name="theta", prob=0.9)  # doctest: +SKIP
    """
    posterior = _sampled_group(idata, "posterior")
    var_name = _name(var_name, "var_name")
    if var_name not in posterior:
        raise ValueError(f"var_name {var_name!r} is not a posterior variable")
    prob = finite_scalar(prob, "prob")
    if not 0 < prob < 1:
        raise ValueError(f"prob must be in (0, 1), got {prob!r}")
    draws = _one_dim_draws(posterior, var_name, "var_name")
    other_dims = [d for d in draws.dims if d not in _SAMPLE_DIMS]
    quantiles = draws.quantile([(1 - prob) / 2, (1 + prob) / 2], dim=_SAMPLE_DIMS)
    labels = draws[other_dims[0]].values if other_dims else [var_name]
    return pd.DataFrame(
        {
            "group": [str(label) for label in labels],
            "mean": np.atleast_1d(draws.mean(_SAMPLE_DIMS).values),
            "lower": np.atleast_1d(quantiles.isel(quantile=0).values),
            "upper": np.atleast_1d(quantiles.isel(quantile=1).values),
        }
    )


# --------------------------------------------------------------------------- LOO comparison


def _obs_dims(array: xr.DataArray) -> list[str]:
    return [dim for dim in array.dims if dim not in ("chain", "draw")]


def compute_loo(
    fits: Mapping[str, xr.DataTree], *, var_name: str | None = None
) -> dict[str, az.ELPDData]:
    """PSIS-LOO of each fit, with the pointwise values and Pareto k kept.

    Parameters
    ----------
    fits : mapping of str to xarray.DataTree
        Model name to fit; each needs ``posterior`` and ``log_likelihood`` groups (e.g.
        from :func:`companion.sampling.sample`, or :func:`group_log_likelihood`).
    var_name : str, optional
        The log-likelihood variable, if a fit has several.

    Returns
    -------
    dict of str to ELPDData
        ``arviz.loo(fit, pointwise=True)`` for each model, in the order given. ArviZ's
        warning about Pareto k values above its threshold is not repeated: every result
        carries its ``pareto_k`` and ``good_k``, and :func:`loo_table` counts them.

    References
    ----------
    Vehtari, Gelman & Gabry (2017), *Statistics and Computing* 27(5); the chapter
    "Comparing pooling strategies with LOO".

    Examples
    --------
    >>> loos = compute_loo({"partial": partial_idata, "none": none_idata})  # doctest: +SKIP
    >>> loos["partial"].pareto_k.max()  # doctest: +SKIP
    """
    if not isinstance(fits, Mapping) or not fits:
        raise TypeError("fits must be a non-empty mapping of model names to DataTrees")
    if var_name is not None:
        var_name = _name(var_name, "var_name")
    loos = {}
    for name, fit in fits.items():
        argument = f"fits[{name!r}]"
        log_likelihood = _sampled_group(fit, "log_likelihood", argument)
        _require_group(fit, "posterior", argument)
        if var_name is None and len(log_likelihood.data_vars) > 1:
            raise ValueError(
                f"var_name must say which log-likelihood to use: {argument} has "
                f"{sorted(log_likelihood.data_vars)}"
            )
        if var_name is not None and var_name not in log_likelihood:
            raise ValueError(f"var_name {var_name!r} is not in {argument}.log_likelihood")
        values = log_likelihood[var_name or next(iter(log_likelihood.data_vars))]
        if values.sizes["chain"] * values.sizes["draw"] < _LOO_MIN_DRAWS:
            raise ValueError(
                f"{argument} needs at least {_LOO_MIN_DRAWS} draws in all for PSIS-LOO"
            )
        if not np.all(np.isfinite(values.values)):
            raise ValueError(f"{argument}.log_likelihood has NaN or infinite values")
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Estimated shape parameter of Pareto")
            try:
                loos[name] = az.loo(fit, pointwise=True, var_name=var_name)
            except ValueError as error:  # e.g. a log-likelihood with a constant tail
                raise ValueError(f"{argument}: PSIS-LOO failed: {error}") from error
    return loos


def loo_table(
    loos: Mapping[str, az.ELPDData],
    *,
    method: Literal["stacking", "bb-pseudo-bma", "pseudo-bma"] = "stacking",
) -> pd.DataFrame:
    """A tidy model comparison: ELPD, differences, their standard errors, weights, Pareto k.

    Parameters
    ----------
    loos : mapping of str to ELPDData
        Pointwise LOO results (:func:`compute_loo`) of models fitted to the same data.
    method : {"stacking", "bb-pseudo-bma", "pseudo-bma"}
        How ``arviz.compare`` computes the model weights.

    Returns
    -------
    pandas.DataFrame
        One row per model, best first (index: model name), with columns ``rank``,
        ``elpd`` and ``se`` (its standard error), ``p_loo`` (effective number of
        parameters), ``elpd_diff`` (this model minus the best), ``dse`` (standard error of
        that difference), ``diff_in_se`` (``elpd_diff / dse``; NaN for the best model),
        ``weight``, ``max_k`` (largest Pareto k) and ``n_high_k`` (observations with k
        above the reliability threshold ``good_k``, about 0.7).

    References
    ----------
    Vehtari, Gelman & Gabry (2017); Yao, Vehtari, Simpson & Gelman (2018), "Using stacking
    to average Bayesian predictive distributions", *Bayesian Analysis* 13(3); the chapter
    "Comparing pooling strategies with LOO".

    Examples
    --------
    >>> loo_table(compute_loo(fits))[["elpd_diff", "dse", "weight"]]  # doctest: +SKIP
    """
    if not isinstance(loos, Mapping) or len(loos) < 2:
        raise TypeError("loos must be a mapping of at least two model names to LOO results")
    if method not in _LOO_METHODS:
        raise ValueError(f"method must be one of {_LOO_METHODS}, got {method!r}")
    for name, loo in loos.items():
        if getattr(loo, "pareto_k", None) is None or getattr(loo, "elpd_i", None) is None:
            raise ValueError(f"loos[{name!r}] must be a pointwise LOO result (compute_loo)")
    sizes = {name: np.size(loo.elpd_i) for name, loo in loos.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"loos must be fitted to the same data, got sizes {sizes}")
    compared = az.compare(dict(loos), method=method, round_to="none")
    table = pd.DataFrame(
        {
            "rank": compared["rank"].astype(int),
            "elpd": compared["elpd"].astype(float),
            "se": compared["se"].astype(float),
            "p_loo": compared["p"].astype(float),
            "elpd_diff": compared["elpd_diff"].astype(float),
            "dse": compared["dse"].astype(float),
            "weight": compared["weight"].astype(float),
        }
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = table["elpd_diff"] / table["dse"]
    table["diff_in_se"] = ratio.where(table["rank"] > 0)
    table["max_k"] = [float(loos[name].pareto_k.max()) for name in table.index]
    table["n_high_k"] = [
        int((loos[name].pareto_k > loos[name].good_k).sum()) for name in table.index
    ]
    table.index.name = "model"
    return table[
        [
            "rank",
            "elpd",
            "se",
            "p_loo",
            "elpd_diff",
            "dse",
            "diff_in_se",
            "weight",
            "max_k",
            "n_high_k",
        ]
    ]


def elpd_differences(
    loos: Mapping[str, az.ELPDData],
    *,
    reference: str,
    groups: Sequence | np.ndarray | pd.Series | None = None,
) -> pd.DataFrame:
    """Pointwise ELPD of each model minus that of a reference model, per observation or group.

    Parameters
    ----------
    loos : mapping of str to ELPDData
        Pointwise LOO results (:func:`compute_loo`) of models fitted to the same data.
    reference : str
        The model subtracted (a key of ``loos``); it gets no column.
    groups : sequence, optional
        A group label per observation (in the order of the log-likelihood): the
        differences are then summed within each group.

    Returns
    -------
    pandas.DataFrame
        Without ``groups``: one row per observation, one column per other model, holding
        elpd_i(model) - elpd_i(reference); positive means the model predicted that
        observation better. With ``groups``: one row per group (sorted labels), a column
        ``n`` (observations in the group) and the summed differences. Either way the
        columns sum to the ``elpd_diff`` of ``arviz.compare`` with this reference.

    References
    ----------
    Vehtari, Gelman & Gabry (2017), Section 5.2 (pointwise comparison); the chapter
    "Comparing pooling strategies with LOO".

    Examples
    --------
    >>> elpd_differences(loos, reference="partial", groups=labels)  # doctest: +SKIP
    """
    if not isinstance(loos, Mapping):
        raise TypeError(f"loos must be a mapping of model names to LOO results, got {loos!r}")
    if reference not in loos:
        raise ValueError(f"reference {reference!r} must be one of the models in loos")
    if len(loos) < 2:
        raise ValueError("loos must hold at least one model besides the reference")
    pointwise = {}
    for name, loo in loos.items():
        if getattr(loo, "elpd_i", None) is None:
            raise ValueError(f"loos[{name!r}] must be a pointwise LOO result (compute_loo)")
        pointwise[name] = np.asarray(loo.elpd_i).ravel()
    sizes = {values.size for values in pointwise.values()}
    if len(sizes) != 1:
        raise ValueError(f"the models in loos were fitted to different data sizes: {sizes}")
    base = pointwise.pop(reference)
    frame = pd.DataFrame({name: values - base for name, values in pointwise.items()})
    frame.index.name = "observation"
    if groups is None:
        return frame
    labels = _group_labels(groups, base.size)
    frame.insert(0, "n", 1)
    summed = frame.groupby(labels, sort=True).sum()
    summed.index.name = "group"
    return summed


def _draws_or_constant(
    posterior: xr.Dataset,
    value: str | float,
    argument: str,
    *,
    lower: float | None = None,
    strict: bool = False,
) -> xr.DataArray:
    """A scalar posterior variable named by ``value``, or ``value`` as a constant.

    Draws and constants must be finite and, with ``lower``, above it (``strict``) or at
    least it.
    """
    if isinstance(value, str):
        if value not in posterior:
            raise ValueError(f"{argument} {value!r} is not a posterior variable")
        array = posterior[value]
        if set(array.dims) != set(_SAMPLE_DIMS):
            raise ValueError(f"{argument} {value!r} must be a scalar variable (chain, draw)")
        array = array.astype(float)
    else:
        array = xr.DataArray(finite_scalar(value, argument))
    numbers = array.values
    below = False if lower is None else np.any(numbers <= lower if strict else numbers < lower)
    if not np.all(np.isfinite(numbers)) or below:
        bound = "" if lower is None else f" {'>' if strict else '>='} {lower:g}"
        raise ValueError(f"{argument} must be finite{bound}, got {value!r}")
    return array


def _group_labels(groups: Sequence | np.ndarray | pd.Series, size: int) -> np.ndarray:
    """One label per observation, none of them missing."""
    if isinstance(groups, str | bytes) or not isinstance(groups, Iterable):
        raise TypeError(f"groups must be a sequence of labels, got {groups!r}")
    items = groups if isinstance(groups, np.ndarray) else list(groups)
    labels = np.asarray(items)
    if labels.ndim != 1 or labels.size != size:
        raise ValueError(
            f"groups must give one label per observation ({size}), got shape {labels.shape}"
        )
    if pd.isna(pd.Series(items, dtype=object)).any():  # before NumPy turns NaN into "nan"
        raise ValueError("groups must not contain missing labels (NaN or None)")
    return labels


def _new_dim(value: str, argument: str) -> str:
    """A dimension name for a new dimension: a string other than chain and draw."""
    if not isinstance(value, str) or not value:
        raise TypeError(f"{argument} must be a non-empty str, got {value!r}")
    if value in _SAMPLE_DIMS:
        raise ValueError(f"{argument} must not be {value!r} (a sample dimension)")
    return value


def _log_likelihood_tree(idata: xr.DataTree, values: xr.DataArray, name: str) -> xr.DataTree:
    """A DataTree with idata's posterior and sample stats and a new log-likelihood group."""
    groups = {"log_likelihood": xr.Dataset({name: values})}
    for group in ("posterior", "sample_stats"):
        if group in idata.children:
            groups[group] = idata[group].to_dataset()
    return xr.DataTree.from_dict(groups)


def group_log_likelihood(
    idata: xr.DataTree,
    groups: Sequence | np.ndarray | pd.Series,
    *,
    var_name: str = "y",
    group_dim: str = "group",
) -> xr.DataTree:
    """Pointwise log-likelihoods summed within groups: the input of leave-one-group-out.

    ``arviz.loo`` on the result estimates, by Pareto-smoothed importance sampling,
    log p(y_j | y_-j) for each group's whole data y_j *conditional* on the fitted draws of
    that group's own parameters. For models with group-specific parameters these are
    informed mostly by y_j itself, so leaving y_j out moves them far and the Pareto k
    diagnostics are high; :func:`marginal_group_log_likelihood` integrates them out.

    Parameters
    ----------
    idata : xarray.DataTree
        A fit with ``posterior`` and ``log_likelihood`` groups.
    groups : sequence
        The group label of each observation, in the order of the log-likelihood.
    var_name : str
        The log-likelihood variable.
    group_dim : str
        Name of the new group dimension.

    Returns
    -------
    xarray.DataTree
        ``posterior`` (and ``sample_stats``) of ``idata`` and a ``log_likelihood`` group
        whose ``var_name`` has dimensions (chain, draw, ``group_dim``), groups sorted.

    References
    ----------
    Vehtari, Gelman & Gabry (2017), Section 4 (leave-one-group-out); the chapter
    "Comparing pooling strategies with LOO".

    Examples
    --------
    >>> logo = az.loo(group_log_likelihood(idata, labels))  # doctest: +SKIP
    """
    log_likelihood = _sampled_group(idata, "log_likelihood")
    var_name = _name(var_name, "var_name")
    group_dim = _new_dim(group_dim, "group_dim")
    if var_name not in log_likelihood:
        raise ValueError(f"var_name {var_name!r} is not in idata.log_likelihood")
    pointwise = log_likelihood[var_name]
    dims = _obs_dims(pointwise)
    if len(dims) != 1:
        raise ValueError(f"idata.log_likelihood[{var_name!r}] must have one observation dim")
    labels = _group_labels(groups, pointwise.sizes[dims[0]])
    codes, uniques = pd.factorize(labels, sort=True)
    summed = (
        pointwise.drop_vars(dims[0], errors="ignore")
        .assign_coords({group_dim: (dims[0], codes)})
        .groupby(group_dim)
        .sum()
    )
    summed = summed.assign_coords({group_dim: [str(u) for u in uniques]})
    return _log_likelihood_tree(idata, summed.transpose("chain", "draw", group_dim), var_name)


def marginal_group_log_likelihood(
    idata: xr.DataTree,
    values: Sequence | np.ndarray | pd.Series,
    groups: Sequence | np.ndarray | pd.Series,
    *,
    mean: str | float = "mu",
    between_sd: str | float = "tau",
    residual_sd: str | float = "sigma",
    var_name: str = "y",
    group_dim: str = "group",
) -> xr.DataTree:
    """Each group's data log-likelihood with its own mean integrated out, per draw.

    For y_ij = theta_j + e_ij with theta_j ~ Normal(m, t) and e_ij ~ Normal(0, s), the
    n_j values of group j are jointly Normal with mean m and covariance
    s^2 I + t^2 1 1^T, whose log density, with d_j = 1 + n_j t^2 / s^2, ybar_j the group
    mean and W_j its within-group sum of squares, is

        -1/2 [n_j log(2 pi s^2) + log d_j + (W_j + n_j (ybar_j - m)^2 / d_j) / s^2].

    This is the likelihood of a *new* group: ``arviz.loo`` on the result estimates
    leave-one-group-out, log p(y_j | y_-j), from draws of the population parameters only,
    which leaving one group out moves little (low Pareto k).

    Parameters
    ----------
    idata : xarray.DataTree
        A fit with a ``posterior`` group.
    values, groups : sequence
        The observations and their group labels (same length).
    mean, between_sd, residual_sd : str or float
        m, t and s: the name of a posterior variable, or a fixed number. Partial pooling:
        ``"mu"``, ``"tau"``, ``"sigma"``; no pooling: the prior of each theta_j (e.g.
        ``mean=50.0, between_sd=25.0``); complete pooling: ``between_sd=0.0``.
    var_name : str
        Name of the log-likelihood variable in the result.
    group_dim : str
        Name of the group dimension.

    Returns
    -------
    xarray.DataTree
        ``posterior`` (and ``sample_stats``) of ``idata`` and a ``log_likelihood`` group
        with ``var_name`` of dimensions (chain, draw, ``group_dim``), groups sorted.

    References
    ----------
    Gelman & Hill (2007), Section 12.2 (the random-intercept model as correlated errors);
    Merkle, Furr & Rabe-Hesketh (2019), "Bayesian comparison of latent variable models:
    conditional versus marginal likelihoods", *Psychometrika* 84(3); the chapter
    "Comparing pooling strategies with LOO".

    Examples
    --------
    >>> logo = az.loo(marginal_group_log_likelihood(idata, values, labels))  # doctest: +SKIP
    """
    posterior = _sampled_group(idata, "posterior")
    var_name = _name(var_name, "var_name")
    group_dim = _new_dim(group_dim, "group_dim")
    y = as_finite_array(values, "values")
    labels = _group_labels(groups, y.size)
    m = _draws_or_constant(posterior, mean, "mean")
    t = _draws_or_constant(posterior, between_sd, "between_sd", lower=0.0)
    s = _draws_or_constant(posterior, residual_sd, "residual_sd", lower=0.0, strict=True)
    codes, uniques = pd.factorize(labels, sort=True)
    sizes = np.bincount(codes).astype(float)
    group_means = np.bincount(codes, weights=y) / sizes
    within = np.bincount(codes, weights=(y - group_means[codes]) ** 2)
    coords = {group_dim: [str(u) for u in uniques]}
    n = xr.DataArray(sizes, dims=group_dim, coords=coords)
    ybar = xr.DataArray(group_means, dims=group_dim, coords=coords)
    w = xr.DataArray(within, dims=group_dim, coords=coords)
    inflation = 1.0 + n * t**2 / s**2
    log_density = -0.5 * (
        n * np.log(2 * np.pi * s**2)
        + np.log(inflation)
        + (w + n * (ybar - m) ** 2 / inflation) / s**2
    )
    sample_dims = [dim for dim in ("chain", "draw") if dim in log_density.dims]
    if not sample_dims:
        raise ValueError(
            "at least one of mean, between_sd, residual_sd must name a posterior variable"
        )
    return _log_likelihood_tree(idata, log_density.transpose(*sample_dims, group_dim), var_name)


def datatree_from_draws(
    draws: Mapping[str, np.ndarray],
    *,
    y: Sequence[float] | np.ndarray,
    sigma: Sequence[float] | np.ndarray,
    groups: Sequence[str] | None = None,
    dim: str = "group",
) -> xr.DataTree:
    """Independent draws of a model of group estimates as a DataTree ready for LOO.

    Parameters
    ----------
    draws : mapping of str to numpy.ndarray
        Posterior draws, each of shape (n,) or (n, J), e.g. from
        :func:`companion.exact.pooling_draws`; it must contain ``"theta"`` (n, J).
    y, sigma : sequence of float
        The group estimates and their known standard errors: the log-likelihood of draw s
        at group j is log Normal(y_j | theta_sj, sigma_j).
    groups : sequence of str, optional
        Labels of the ``dim`` coordinate; default "0", "1", ...
    dim : str
        Name of the group dimension.

    Returns
    -------
    xarray.DataTree
        ``posterior`` (one chain of n draws, so that ``arviz.loo`` treats them as
        independent), ``log_likelihood`` and ``observed_data``, both with variable ``y``.

    Examples
    --------
    >>> from companion import exact
    >>> y, sigma = [28.0, 8.0, -3.0], [15.0, 10.0, 16.0]
    >>> draws = exact.pooling_draws(y, sigma, pooling="none", n=100, rng=1)
    >>> tree = datatree_from_draws(draws, y=y, sigma=sigma, dim="school")
    >>> dict(tree.log_likelihood["y"].sizes)
    {'chain': 1, 'draw': 100, 'school': 3}
    """
    if not isinstance(draws, Mapping) or "theta" not in draws:
        raise ValueError("draws must be a mapping with a 'theta' entry of shape (n, J)")
    dim = _new_dim(dim, "dim")
    y = as_finite_array(y, "y")
    sigma = as_positive_array(sigma, "sigma")
    arrays = {}
    for name, values in draws.items():
        _name(name, "draws keys")
        try:
            arrays[name] = np.asarray(values, dtype=float)
        except (TypeError, ValueError) as error:
            raise TypeError(f"draws[{name!r}] must be an array of numbers") from error
        if not np.all(np.isfinite(arrays[name])):
            raise ValueError(f"draws[{name!r}] must contain only finite numbers (no NaN or inf)")
    theta = arrays["theta"]
    if theta.ndim != 2 or theta.shape[0] == 0 or sigma.shape != y.shape:
        raise ValueError(
            f"draws['theta'] must have shape (n, J) with n >= 1 and J = len(y) = len(sigma); "
            f"got {theta.shape}, {y.shape} and {sigma.shape}"
        )
    if y.shape != (theta.shape[1],):
        raise ValueError(f"y must have one entry per column of draws['theta'] ({theta.shape[1]})")
    for name, values in arrays.items():
        if values.shape not in ((theta.shape[0],), theta.shape):
            raise ValueError(
                f"draws[{name!r}] must have shape ({theta.shape[0]},) or {theta.shape}, "
                f"got {values.shape}"
            )
    if groups is None:
        labels = [str(j) for j in range(y.size)]
    elif isinstance(groups, str | bytes) or not isinstance(groups, Iterable):
        raise TypeError(f"groups must be a sequence of labels, got {groups!r}")
    else:
        labels = [str(g) for g in groups]
    if len(labels) != y.size:
        raise ValueError(f"groups must have one label per group ({y.size}), got {len(labels)}")
    if len(set(labels)) != len(labels):
        raise ValueError(f"groups must be distinct labels, got {labels}")
    coords = {"chain": [0], "draw": np.arange(theta.shape[0]), dim: labels}
    posterior = {
        name: (["chain", "draw", *([dim] if values.ndim == 2 else [])], values[None])
        for name, values in arrays.items()
    }
    log_likelihood = -0.5 * (np.log(2 * np.pi * sigma**2) + ((y - theta) / sigma) ** 2)
    return xr.DataTree.from_dict(
        {
            "posterior": xr.Dataset(posterior, coords=coords),
            "log_likelihood": xr.Dataset(
                {"y": (["chain", "draw", dim], log_likelihood[None])}, coords=coords
            ),
            "observed_data": xr.Dataset({"y": ([dim], y)}, coords={dim: labels}),
        }
    )
