"""Frequentist random-intercept fits (statsmodels ``MixedLM``) and their BLUPs.

The BLUP of each group mean is the partial-pooling estimate with the REML (or ML)
estimates of tau and sigma plugged in; the chapter "The pooling problem" uses it as
the frequentist counterpart of the Bayesian hierarchical model, and the chapter "Mixed
models: the frequentist view" derives it.

The model y_ij = mu + b_j + e_ij has one free variance ratio once mu and sigma are
profiled out: theta = tau / sigma. Its profiled (restricted) deviance is a closed-form
function of theta and the groups' sizes, means and within-group sum of squares
(:func:`profiled_deviance`), so the fit first finds its minimum on a grid refined by
Brent's method, boundary theta = 0 included, and then starts ``MixedLM`` there:
statsmodels' own gradient optimisers, started from its default point, stop short of the
optimum on small data sets (the chapter "Mixed models: the frequentist view" shows one).
"""

import warnings
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import optimize

from companion import exact
from companion._checks import as_finite_array

__all__ = [
    "SINGULAR_TOLERANCE",
    "PoolingEstimates",
    "RandomInterceptFit",
    "fit_random_intercept",
    "pooling_estimates",
    "profiled_deviance",
]

SINGULAR_TOLERANCE = 1e-4
"""A fit whose theta = tau / sigma is below this is a boundary fit (lme4's ``isSingular``)."""

# The optimum of theta is bracketed on this grid (0 and a log-spaced range) and refined.
_THETA_GRID = np.concatenate([[0.0], np.geomspace(1e-4, 1e6, 121)])
# MixedLM is started no lower than this: its score is singular at theta = 0.
_MIXEDLM_START_FLOOR = 1e-3


@dataclass(frozen=True)
class RandomInterceptFit:
    """A fitted random-intercept model y_ij = mu + b_j + e_ij.

    Attributes
    ----------
    intercept, intercept_se : float
        Estimate of mu and its standard error.
    group_sd, residual_sd : float
        Estimated between-group sd (tau) and residual sd (sigma).
    blups : pandas.Series
        BLUPs mu + b_j of each group mean, indexed by group label (sorted).
    boundary : bool
        True when the between-group variance was estimated at (or numerically at)
        zero: every BLUP then equals the intercept (complete pooling).
    result : statsmodels MixedLMResults
        The underlying fit, for anything else.
    """

    intercept: float
    intercept_se: float
    group_sd: float
    residual_sd: float
    blups: pd.Series
    boundary: bool
    result: Any


def _prepare(df: pd.DataFrame, response: str, group: str) -> tuple[np.ndarray, np.ndarray]:
    """Checked response values (real numbers, not booleans) and string group labels."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    for argument, column in (("response", response), ("group", group)):
        if not isinstance(column, Hashable):
            raise TypeError(f"{argument} must be a column name, got {column!r}")
        if column not in df.columns:
            raise ValueError(f"{argument} {column!r} is not a column of df")
    if response == group:
        raise ValueError(f"response and group must be two different columns, got {group!r} twice")
    values = as_finite_array(df[response], f"df[{response!r}]", allow_bool=False)
    if df[group].isna().any():
        raise ValueError(f"group column {group!r} has missing labels (None or NaN)")
    return values, df[group].astype(str).to_numpy()


def _check_flag(value: Any, name: str) -> bool:
    """``value`` if it is True or False (a truthy string such as "no" is refused)."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _group_statistics(
    values: np.ndarray, labels: np.ndarray, response: str
) -> tuple[np.ndarray, ...]:
    """Sizes n_j, means ybar_j and the pooled within-group sum of squares of ``df[response]``."""
    codes, uniques = pd.factorize(labels, sort=True)
    if uniques.size < 2:
        raise ValueError(f"group must have at least two distinct labels, got {uniques.size}")
    sizes = np.bincount(codes).astype(float)
    means = np.bincount(codes, weights=values) / sizes
    within = float(np.sum((values - means[codes]) ** 2))
    if within <= 0:
        raise ValueError(
            f"df[{response!r}] shows no variation within the groups (every group has one "
            "value, or identical values): the residual sd cannot be estimated"
        )
    return sizes, means, np.array(within)


def _deviance(theta: np.ndarray, sizes, means, within, reml: bool) -> np.ndarray:
    """-2 log (restricted) likelihood at theta = tau / sigma, profiled over mu and sigma."""
    theta = np.atleast_1d(np.asarray(theta, dtype=float))[:, None]
    inflation = 1.0 + sizes * theta**2  # d_j = 1 + n_j theta^2 = n_j Var(ybar_j) / sigma^2
    weights = sizes / inflation  # GLS weights of the group means (times sigma^2)
    total = weights.sum(axis=1)
    mu = (weights * means).sum(axis=1) / total
    squares = within + (weights * (means - mu[:, None]) ** 2).sum(axis=1)
    dof = sizes.sum() - 1 if reml else sizes.sum()
    deviance = dof * (np.log(2 * np.pi * squares / dof) + 1) + np.log(inflation).sum(axis=1)
    return deviance + np.log(total) if reml else deviance


def _optimal_theta(sizes, means, within, reml: bool) -> float:
    """The minimiser of :func:`_deviance` over theta >= 0; 0 for a boundary fit."""
    values = _deviance(_THETA_GRID, sizes, means, within, reml)
    best = int(np.argmin(values))
    low, high = _THETA_GRID[max(best - 1, 0)], _THETA_GRID[min(best + 1, _THETA_GRID.size - 1)]
    refined = optimize.minimize_scalar(
        lambda theta: _deviance(theta, sizes, means, within, reml)[0],
        bounds=(low, high),
        method="bounded",
        options={"xatol": 1e-10 * max(high, 1.0)},
    )
    theta = float(refined.x) if refined.fun < values[best] else float(_THETA_GRID[best])
    return 0.0 if theta < SINGULAR_TOLERANCE else theta


def profiled_deviance(
    df: pd.DataFrame, *, response: str, group: str, theta, reml: bool = True
) -> np.ndarray:
    """The (restricted) deviance of the random-intercept model as a function of tau / sigma.

    With theta = tau / sigma and d_j = 1 + n_j theta^2, the GLS mean is
    mu(theta) = sum_j (n_j / d_j) ybar_j / sum_j (n_j / d_j), the profiled residual variance
    sigma^2(theta) = S(theta) / m with S(theta) = W + sum_j (n_j / d_j) (ybar_j - mu)^2 (W the
    within-group sum of squares) and m = N - 1 (REML) or N (ML), and

        deviance(theta) = m (log(2 pi S / m) + 1) + sum_j log d_j [+ log sum_j n_j / d_j],

    the last term for REML only. Its minimum is lme4's "REML criterion" (or ML deviance).

    Parameters
    ----------
    df : pandas.DataFrame
        One row per observation.
    response, group : str
        Column names of the observations and of their group labels.
    theta : float or array_like
        Values of tau / sigma (>= 0) at which to evaluate.
    reml : bool
        Restricted (default) or plain likelihood.

    Returns
    -------
    numpy.ndarray
        The deviance at each theta.

    References
    ----------
    Bates, Mächler, Bolker & Walker (2015), "Fitting linear mixed-effects models using
    lme4", *Journal of Statistical Software* 67(1), Section 3 (the profiled deviance); the
    chapter "Mixed models: the frequentist view".

    Examples
    --------
    >>> from companion import data
    >>> dyestuff = data.load_dyestuff()
    >>> profiled_deviance(dyestuff, response="yield", group="batch", theta=[0.0, 0.85]).round(2)
    array([326.02, 319.65])
    """
    values, labels = _prepare(df, response, group)
    theta = as_finite_array(theta, "theta", allow_bool=False)
    if np.any(theta < 0):
        raise ValueError(f"theta must be >= 0, got minimum {theta.min()!r}")
    reml = _check_flag(reml, "reml")
    return _deviance(theta, *_group_statistics(values, labels, response), reml)


def fit_random_intercept(
    df: pd.DataFrame, *, response: str, group: str, reml: bool = True
) -> RandomInterceptFit:
    """Fit y_ij = mu + b_j + e_ij, b_j ~ Normal(0, tau), e_ij ~ Normal(0, sigma).

    The variance ratio theta = tau / sigma is found by minimising
    :func:`profiled_deviance`; statsmodels ``MixedLM`` is then started from it and
    provides the estimates and the BLUPs. The standard error of mu is the GLS one,
    (sum_j 1 / (tau^2 + sigma^2 / n_j))^(-1/2) at the estimates, as lme4 reports it.
    When theta is below :data:`SINGULAR_TOLERANCE` the fit is on the boundary tau = 0,
    where the model is iid Normal: mu is the overall mean, sigma^2 the sum of squares over
    N - 1 (REML) or N (ML), and every BLUP is mu.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per observation.
    response, group : str
        Column names of the observations and of their group labels.
    reml : bool
        Restricted maximum likelihood (default) or plain maximum likelihood.

    Returns
    -------
    RandomInterceptFit
        Estimates, BLUPs and a boundary flag; a boundary estimate tau = 0 is reported
        in ``boundary``, not raised and not left as a warning.

    References
    ----------
    Gelman & Hill (2007), Section 12.3; Bates et al. (2015), *Journal of Statistical
    Software* 67(1); statsmodels ``MixedLM``. The chapter "Mixed models: the frequentist
    view" checks the fit against lme4's published Dyestuff figures.

    Examples
    --------
    >>> frame = pd.DataFrame({"y": [1.0, 2.0, 3.0, 7.0, 8.0, 9.0], "g": list("aaabbb")})
    >>> fit_random_intercept(frame, response="y", group="g").blups.index.tolist()
    ['a', 'b']
    """
    values, labels = _prepare(df, response, group)
    reml = _check_flag(reml, "reml")
    sizes, means, within = _group_statistics(values, labels, response)
    theta = _optimal_theta(sizes, means, within, reml)
    model = sm.MixedLM(values, pd.DataFrame({"Intercept": np.ones(values.size)}), groups=labels)
    with warnings.catch_warnings():
        # statsmodels warns about boundary and convergence; the boundary flag reports it.
        warnings.simplefilter("ignore")
        result = model.fit(
            reml=reml, start_params=np.array([max(theta, _MIXEDLM_START_FLOOR)]), method="bfgs"
        )
    names = sorted(set(labels))
    boundary = theta == 0.0
    if boundary:
        intercept = float(values.mean())
        residual_sd = float(np.sqrt(np.sum((values - intercept) ** 2) / (values.size - reml)))
        intercept_se = residual_sd / np.sqrt(values.size)
        group_sd = 0.0
        blups = pd.Series(intercept, index=names)
    else:
        intercept = float(result.fe_params["Intercept"])
        residual_sd = float(np.sqrt(result.scale))
        group_sd = float(np.sqrt(np.asarray(result.cov_re)[0, 0]))
        # GLS: Var(mu) = 1 / sum_j w_j with w_j = 1 / (tau^2 + sigma^2 / n_j), as lme4 reports
        # it. (statsmodels' bse_fe inverts the Hessian of all parameters, which differs for
        # unbalanced groups.)
        intercept_se = 1.0 / np.sqrt(np.sum(1.0 / (group_sd**2 + residual_sd**2 / sizes)))
        offsets = pd.Series({k: float(v.iloc[0]) for k, v in result.random_effects.items()})
        blups = intercept + offsets.reindex(names)
    return RandomInterceptFit(
        intercept=intercept,
        intercept_se=float(intercept_se),
        group_sd=group_sd,
        residual_sd=residual_sd,
        blups=blups.rename("blup"),
        boundary=boundary,
        result=result,
    )


@dataclass(frozen=True)
class PoolingEstimates:
    """Four estimates of every group's mean from one data set (:func:`pooling_estimates`).

    Attributes
    ----------
    table : pandas.DataFrame
        One row per group (sorted labels), one column per method: ``"no pooling"``,
        ``"complete pooling"``, ``"REML mixed model"`` and ``"Bayes"``.
    standard_errors : pandas.Series
        The standard error s_j = s_w / sqrt(n_j) of each group's mean that the Bayesian
        estimate treats as known, with s_w the pooled within-group sd.
    reml : RandomInterceptFit
        The REML fit behind the mixed-model column.
    bayes : companion.exact.NormalHierarchyPosterior
        The exact posterior behind the Bayes column.
    """

    table: pd.DataFrame
    standard_errors: pd.Series
    reml: RandomInterceptFit
    bayes: exact.NormalHierarchyPosterior


def pooling_estimates(
    df: pd.DataFrame,
    *,
    response: str,
    group: str,
    mu_prior_mean: float = 50.0,
    mu_prior_sd: float = 25.0,
    tau_prior: Any = None,
) -> PoolingEstimates:
    """Estimate every group's mean four ways: no, complete, REML and Bayesian partial pooling.

    - no pooling: each group's own mean ybar_j;
    - complete pooling: the mean of all observations;
    - REML mixed model: the BLUPs of :func:`fit_random_intercept`;
    - Bayes: the exact posterior means (:func:`companion.exact.normal_hierarchy`) of the
      hierarchical model theta_j ~ Normal(mu, tau), mu ~ Normal(``mu_prior_mean``,
      ``mu_prior_sd``), tau ~ ``tau_prior``, given the group means with standard errors
      s_w / sqrt(n_j), the pooled within-group sd s_w plugged in for sigma. It is computed
      by quadrature, so hundreds of simulated studies take seconds.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per observation.
    response, group : str
        Column names of the observations and of their group labels.
    mu_prior_mean, mu_prior_sd : float
        Normal prior of the population mean (the defaults are those of
        :func:`companion.models.grouped_observations`).
    tau_prior : frozen scipy.stats distribution, optional
        Prior of tau; default HalfNormal(10).

    Returns
    -------
    PoolingEstimates
        The table of estimates and the fits behind it.

    References
    ----------
    Gelman & Hill (2007), Section 12.2; the chapters "The pooling problem" and "Mixed
    models: the frequentist view" compare the four on held-out data.

    Examples
    --------
    >>> frame = pd.DataFrame({"y": [1.0, 2.0, 3.0, 7.0, 8.0, 10.0], "g": list("aaabbb")})
    >>> estimates = pooling_estimates(frame, response="y", group="g", mu_prior_mean=5.0)
    >>> estimates.table.columns.tolist()
    ['no pooling', 'complete pooling', 'REML mixed model', 'Bayes']
    >>> estimates.table["no pooling"].round(2).tolist()
    [2.0, 8.33]
    """
    reml = fit_random_intercept(df, response=response, group=group)
    values, labels = _prepare(df, response, group)
    sizes, means, within = _group_statistics(values, labels, response)
    names = pd.Index(sorted(set(labels)), name=group)
    within_sd = np.sqrt(within / (sizes.sum() - sizes.size))
    standard_errors = pd.Series(within_sd / np.sqrt(sizes), index=names, name="se")
    bayes = exact.normal_hierarchy(
        means,
        standard_errors.to_numpy(),
        mu_prior_mean=mu_prior_mean,
        mu_prior_sd=mu_prior_sd,
        tau_prior=tau_prior,
    )
    table = pd.DataFrame(
        {
            "no pooling": means,
            "complete pooling": float(values.mean()),
            "REML mixed model": reml.blups.to_numpy(),
            "Bayes": bayes.mean["theta"],
        },
        index=names,
    )
    return PoolingEstimates(table=table, standard_errors=standard_errors, reml=reml, bayes=bayes)
