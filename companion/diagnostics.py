"""Convergence checks for MCMC fits, their comparison with exact posteriors, and LOO.

Thresholds follow Vehtari et al. (2021), "Rank-normalization, folding, and
localization: an improved R-hat": R-hat below 1.01 and a bulk and tail ESS of at
least 100 per chain; and any divergent transition is a failure (Betancourt 2017).
Model comparison by PSIS-LOO follows Vehtari, Gelman & Gabry (2017), with the
leave-one-group-out variants of the chapter "Comparing pooling strategies with LOO".
"""

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

__all__ = [
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
    # One summary per variable: ArviZ 1.3 mislabels the rows of a multi-variable summary
    # when variables list shared dims in different orders (pi0 over category, then pi over
    # region x category): it stacks the values in the dataset's dim order but writes each
    # variable's labels in its own order.
    table = pd.concat(
        [
            pd.DataFrame(az.summary(idata, var_names=[name], kind="diagnostics", round_to="none"))
            for name in names
        ]
    )[["ess_bulk", "ess_tail", "r_hat", "mcse_mean"]]
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
    for name, fit in fits.items():
        _require_group(fit, "log_likelihood", f"fits[{name!r}]")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Estimated shape parameter of Pareto")
        return {name: az.loo(fit, pointwise=True, var_name=var_name) for name, fit in fits.items()}


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
    for name, loo in loos.items():
        if getattr(loo, "pareto_k", None) is None or getattr(loo, "elpd_i", None) is None:
            raise ValueError(f"loos[{name!r}] must be a pointwise LOO result (compute_loo)")
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
    if not isinstance(loos, Mapping) or reference not in loos:
        raise ValueError(f"reference {reference!r} must be one of the models in loos")
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
    labels = np.asarray(groups)
    if labels.ndim != 1 or labels.size != base.size:
        raise ValueError(
            f"groups must give one label per observation ({base.size}), got shape {labels.shape}"
        )
    frame.insert(0, "n", 1)
    summed = frame.groupby(labels, sort=True).sum()
    summed.index.name = "group"
    return summed


def _draws_or_constant(posterior: xr.Dataset, value: str | float, argument: str) -> xr.DataArray:
    if isinstance(value, str):
        if value not in posterior:
            raise ValueError(f"{argument} {value!r} is not a posterior variable")
        return posterior[value]
    return xr.DataArray(float(value))


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
    log_likelihood = _require_group(idata, "log_likelihood")
    if var_name not in log_likelihood:
        raise ValueError(f"var_name {var_name!r} is not in idata.log_likelihood")
    pointwise = log_likelihood[var_name]
    dims = _obs_dims(pointwise)
    if len(dims) != 1:
        raise ValueError(f"idata.log_likelihood[{var_name!r}] must have one observation dim")
    labels = np.asarray(groups)
    if labels.ndim != 1 or labels.size != pointwise.sizes[dims[0]]:
        raise ValueError(
            f"groups must give one label per observation ({pointwise.sizes[dims[0]]}), "
            f"got shape {labels.shape}"
        )
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
    posterior = _require_group(idata, "posterior")
    y = np.asarray(values, dtype=float)
    labels = np.asarray(groups)
    if y.ndim != 1 or labels.shape != y.shape or y.size == 0:
        raise ValueError(
            f"values and groups must be 1-D of the same length, got {y.shape} and {labels.shape}"
        )
    if not np.all(np.isfinite(y)):
        raise ValueError("values must contain only finite numbers (no NaN or inf)")
    codes, uniques = pd.factorize(labels, sort=True)
    sizes = np.bincount(codes).astype(float)
    group_means = np.bincount(codes, weights=y) / sizes
    within = np.bincount(codes, weights=(y - group_means[codes]) ** 2)
    coords = {group_dim: [str(u) for u in uniques]}
    n = xr.DataArray(sizes, dims=group_dim, coords=coords)
    ybar = xr.DataArray(group_means, dims=group_dim, coords=coords)
    w = xr.DataArray(within, dims=group_dim, coords=coords)
    m = _draws_or_constant(posterior, mean, "mean")
    t = _draws_or_constant(posterior, between_sd, "between_sd")
    s = _draws_or_constant(posterior, residual_sd, "residual_sd")
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
    theta = np.asarray(draws["theta"], dtype=float)
    y = np.asarray(y, dtype=float)
    sigma = np.asarray(sigma, dtype=float)
    if theta.ndim != 2 or y.shape != (theta.shape[1],) or sigma.shape != y.shape:
        raise ValueError(
            f"draws['theta'] must have shape (n, J) with J = len(y) = len(sigma); got "
            f"{theta.shape}, {y.shape} and {sigma.shape}"
        )
    if np.any(sigma <= 0):
        raise ValueError("sigma must be strictly positive")
    labels = [str(j) for j in range(y.size)] if groups is None else [str(g) for g in groups]
    if len(labels) != y.size:
        raise ValueError(f"groups must have one label per group ({y.size}), got {len(labels)}")
    coords = {"chain": [0], "draw": np.arange(theta.shape[0]), dim: labels}
    posterior = {}
    for name, values in draws.items():
        values = np.asarray(values, dtype=float)
        extra = [dim] if values.ndim == 2 else []
        posterior[name] = (["chain", "draw", *extra], values[None])
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
