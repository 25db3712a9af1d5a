"""Model comparison by PSIS-LOO, and the leave-one-group-out variants.

Expected log predictive densities follow Vehtari, Gelman & Gabry (2017), "Practical Bayesian
model evaluation using leave-one-out cross-validation and WAIC": :func:`compute_loo` and
:func:`loo_table` compare fits, :func:`elpd_differences` shows where they differ,
:func:`group_log_likelihood` and :func:`marginal_group_log_likelihood` prepare
leave-one-group-out, and :func:`datatree_from_draws` turns independent exact draws
(:func:`companion.exact.pooling_draws`) into fits ready for LOO. The chapter "Comparing
pooling strategies with LOO" uses them all.
"""

import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from companion._checks import as_finite_array, as_positive_array, finite_scalar
from companion._datatree import SAMPLE_DIMS, require_group, sampled_group, variable_name

__all__ = [
    "compute_loo",
    "datatree_from_draws",
    "elpd_differences",
    "group_log_likelihood",
    "loo_table",
    "marginal_group_log_likelihood",
]

# arviz.loo fits a generalised Pareto tail to the largest ceil(min(0.2 S, 3 sqrt(S))) of the
# S draws and needs at least 5 of them: S >= 25.
_LOO_MIN_DRAWS = 25
_LOO_METHODS = ("stacking", "bb-pseudo-bma", "pseudo-bma")


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
        var_name = variable_name(var_name, "var_name")
    loos = {}
    for name, fit in fits.items():
        argument = f"fits[{name!r}]"
        log_likelihood = sampled_group(fit, "log_likelihood", argument)
        require_group(fit, "posterior", argument)
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
        if set(array.dims) != set(SAMPLE_DIMS):
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
    if value in SAMPLE_DIMS:
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
    log_likelihood = sampled_group(idata, "log_likelihood")
    var_name = variable_name(var_name, "var_name")
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
    posterior = sampled_group(idata, "posterior")
    var_name = variable_name(var_name, "var_name")
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
        variable_name(name, "draws keys")
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
