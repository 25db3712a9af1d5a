"""Frequentist mixed-model fits (statsmodels ``MixedLM``) and their BLUPs.

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

Correlated random intercepts and slopes (:func:`fit_random_slopes`, lme4's ``y ~ x + (x |
g)``) and crossed or nested variance components (:func:`fit_variance_components`, ``y ~ 1 +
(1|g1) + (1|g2)`` or ``(1|g1/g2)``) are fitted the same way, with more parameters: their
profiled deviance is minimised over lme4's relative covariance factor (Bates et al. 2015,
Section 3), and ``MixedLM`` is started at the optimum and kept only if it ends no worse.
The chapter "Beyond one intercept" checks both against lme4's published fits.
"""

import warnings
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import optimize
from statsmodels.regression.mixed_linear_model import MixedLMParams, VCSpec

from companion import exact
from companion._checks import as_finite_array

__all__ = [
    "SINGULAR_TOLERANCE",
    "PoolingEstimates",
    "RandomInterceptFit",
    "RandomSlopesFit",
    "VarianceComponentsFit",
    "fit_random_intercept",
    "fit_random_slopes",
    "fit_variance_components",
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


# --------------------------------------------------------------------------- general LMMs
#
# Random slopes and variance components share one profiled (restricted) likelihood: the
# model y = X beta + Z b + e with b ~ Normal(0, sigma^2 Lambda Lambda') and e ~ Normal(0,
# sigma^2 I), written as in lme4 (Bates et al. 2015, Section 3) with the relative covariance
# factor Lambda = Lambda(theta). With M = Lambda' Z' Z Lambda + I and V = I + Z Lambda
# Lambda' Z' (the covariance of y over sigma^2), V^-1 = I - Z Lambda M^-1 Lambda' Z' and
# |V| = |M|, so everything below is a q x q computation (q = number of random effects).


class _ProfiledModel:
    """The profiled deviance of y = X beta + Z b + e as a function of Lambda.

    ``y`` should be centred and scaled, and the columns of ``X`` and ``Z`` of order one, so
    that the cross-products below lose no digits; the fit functions map back.
    """

    def __init__(self, y: np.ndarray, x: np.ndarray, z: np.ndarray, reml: bool):
        self.n_obs, self.n_fixed = x.shape
        self.reml = reml
        self.dof = self.n_obs - self.n_fixed if reml else self.n_obs
        self.ztz, self.ztx, self.zty = z.T @ z, z.T @ x, z.T @ y
        self.xtx, self.xty, self.yty = x.T @ x, x.T @ y, float(y @ y)

    def _solve(self, lam: np.ndarray) -> dict:
        m = lam.T @ self.ztz @ lam + np.eye(lam.shape[1])
        chol = np.linalg.cholesky(m)
        # c = L^-1 Lambda' Z' [X y], so that [X y]' V^-1 [X y] = [X y]'[X y] - c' c
        c_x = np.linalg.solve(chol, lam.T @ self.ztx)
        c_y = np.linalg.solve(chol, lam.T @ self.zty)
        xvx = self.xtx - c_x.T @ c_x
        xvy = self.xty - c_x.T @ c_y
        beta = np.linalg.solve(xvx, xvy)
        squares = max(self.yty - float(c_y @ c_y) - float(beta @ xvy), 1e-300)
        return {"chol": chol, "c_x": c_x, "c_y": c_y, "xvx": xvx, "beta": beta, "rss": squares}

    def deviance(self, lam: np.ndarray) -> float:
        """-2 log (restricted) likelihood with beta and sigma profiled out (lme4's criterion)."""
        try:
            s = self._solve(lam)
        except np.linalg.LinAlgError:
            return np.inf
        logdet = 2.0 * np.sum(np.log(np.diag(s["chol"])))
        value = logdet + self.dof * (1.0 + np.log(2.0 * np.pi * s["rss"] / self.dof))
        if self.reml:
            value += np.linalg.slogdet(s["xvx"])[1]
        return float(value)

    def estimates(self, lam: np.ndarray) -> dict:
        """beta, sigma^2, Cov(beta) = sigma^2 (X' V^-1 X)^-1 and the conditional modes of b,
        Lambda M^-1 Lambda' Z' (y - X beta) (Henderson's BLUPs), at ``lam``."""
        s = self._solve(lam)
        sigma2 = s["rss"] / self.dof
        u = np.linalg.solve(s["chol"].T, s["c_y"] - s["c_x"] @ s["beta"])
        return {
            "beta": s["beta"],
            "sigma2": sigma2,
            "cov_beta": sigma2 * np.linalg.inv(s["xvx"]),
            "modes": lam @ u,
        }


def _minimise(deviance, starts: list[np.ndarray]) -> np.ndarray:
    """The best of quasi-Newton (BFGS) runs from ``starts``, polished by Nelder-Mead."""
    best = None
    for start in starts:
        run = optimize.minimize(deviance, start, method="BFGS")
        if best is None or run.fun < best.fun:
            best = run
    polish = optimize.minimize(
        deviance,
        best.x,
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 4000 * best.x.size},
    )
    return polish.x if polish.fun <= best.fun else best.x


def _columns(df: pd.DataFrame, **columns: Any) -> None:
    """Check that ``df`` is a DataFrame holding each named column, all of them different."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    seen: dict[Hashable, str] = {}
    for argument, column in columns.items():
        if not isinstance(column, Hashable) or isinstance(column, tuple):
            raise TypeError(f"{argument} must be a column name, got {column!r}")
        if column not in df.columns:
            raise ValueError(f"{argument} {column!r} is not a column of df")
        if column in seen:
            raise ValueError(
                f"{argument} and {seen[column]} must be different columns, got {column!r} twice"
            )
        seen[column] = argument


def _labels(df: pd.DataFrame, column: str, argument: str) -> np.ndarray:
    """The labels of ``df[column]`` as strings; missing labels are refused."""
    if df[column].isna().any():
        raise ValueError(f"{argument} column {column!r} has missing labels (None or NaN)")
    return df[column].astype(str).to_numpy()


def _standardised(values: np.ndarray) -> tuple[np.ndarray, float, float]:
    """(values - centre) / scale with the mean and sd; scale 1 for constant values."""
    centre = float(values.mean())
    scale = float(values.std())
    return (values - centre) / (scale if scale > 0 else 1.0), centre, scale


# --------------------------------------------------------------------------- random slopes


@dataclass(frozen=True)
class RandomSlopesFit:
    """A fitted model with correlated random intercepts and slopes (lme4's ``y ~ x + (x | g)``).

    y_ij = (beta_0 + b_0j) + (beta_1 + b_1j) x_ij + e_ij, with (b_0j, b_1j) ~ Normal(0, Psi)
    and e_ij ~ Normal(0, sigma^2).

    Attributes
    ----------
    fixed_effects, fixed_effects_se : pandas.Series
        beta_0 and beta_1 (index ``"intercept"`` and the predictor's name) and their
        standard errors, sigma^2 (X' V^-1 X)^-1 at the estimates, as lme4 reports them.
    intercept_sd, slope_sd, correlation : float
        The square roots of the diagonal of Psi and its correlation (NaN when an sd is 0).
    residual_sd : float
        sigma.
    random_effects : pandas.DataFrame
        The BLUPs (b_0j, b_1j), lme4's ``ranef``: one row per group (sorted labels),
        columns ``"intercept"`` and ``"slope"``.
    blups : pandas.DataFrame
        Each group's own line, beta + b_j (lme4's ``coef``), laid out as ``random_effects``.
    criterion : float
        lme4's "REML criterion at convergence" (``reml=True``) or the deviance (-2 log
        likelihood, ``reml=False``) at the estimates.
    singular : bool
        True when Psi is estimated on the boundary (lme4's ``isSingular``): an sd
        numerically 0 (below :data:`SINGULAR_TOLERANCE` times the other, relative to sigma
        in standardised units; it is then reported as exactly 0, with a NaN correlation),
        or a correlation numerically +-1.
    reml : bool
        Whether the fit is REML (True) or ML.
    result : statsmodels MixedLMResults
        The underlying statsmodels fit, for anything else (on a singular fit its own fixed
        effects and scale may be off: the attributes above come from the profiled
        likelihood at its variance parameters).
    """

    fixed_effects: pd.Series
    fixed_effects_se: pd.Series
    intercept_sd: float
    slope_sd: float
    correlation: float
    residual_sd: float
    random_effects: pd.DataFrame
    blups: pd.DataFrame
    criterion: float
    singular: bool
    reml: bool
    result: Any


def _cholesky_2x2(cov: np.ndarray) -> np.ndarray:
    """The lower Cholesky factor of a 2 x 2 positive semi-definite matrix (also if singular)."""
    a = np.sqrt(max(cov[0, 0], 0.0))
    b = cov[1, 0] / a if a > 0 else 0.0
    return np.array([[a, 0.0], [b, np.sqrt(max(cov[1, 1] - b * b, 0.0))]])


def _mixedlm_polish(model, start, reml: bool, deviance) -> Any:
    """statsmodels' fit started at our optimum; if it ends anywhere worse (by the exact
    criterion ``deviance`` of its result), its evaluation at our optimum instead."""
    frozen = MixedLMParams.from_components(
        fe_params=np.zeros_like(start.fe_params),
        cov_re=np.zeros_like(start.cov_re),
        vcomp=np.zeros_like(start.vcomp),
    )
    with warnings.catch_warnings():
        # statsmodels warns about boundaries and convergence; the fit's own flags report them.
        warnings.simplefilter("ignore")
        try:
            result = model.fit(reml=reml, start_params=start, method="bfgs")
            if deviance(result) <= deviance(None) + 1e-9 * max(1.0, abs(deviance(None))):
                return result
        except (np.linalg.LinAlgError, ValueError):
            pass
        return model.fit(reml=reml, start_params=start, method="bfgs", free=frozen)


def fit_random_slopes(
    df: pd.DataFrame, *, response: str, predictor: str, group: str, reml: bool = True
) -> RandomSlopesFit:
    """Fit correlated random intercepts and slopes: lme4's ``y ~ x + (x | group)``.

    y_ij = beta_0 + beta_1 x_ij + b_0j + b_1j x_ij + e_ij with (b_0j, b_1j) ~ Normal(0, Psi)
    (an unstructured 2 x 2 covariance) and e_ij ~ Normal(0, sigma^2). The relative covariance
    factor Lambda (Psi = sigma^2 Lambda Lambda', Lambda lower triangular) is found by
    minimising the profiled (restricted) deviance with beta and sigma profiled out, as lme4
    does (Bates et al. 2015, Section 3), in standardised units; statsmodels ``MixedLM``
    (``re_formula="~predictor"``) is then started there and kept if it does not end
    anywhere worse, since its own optimiser, started from its default point, can stop short
    of the optimum. Standard errors of beta are sigma^2 (X' V^-1 X)^-1 at the estimates, the
    BLUPs Henderson's conditional modes, as lme4 reports them.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per observation.
    response, predictor, group : str
        Column names of the observations y, of the predictor x whose slope varies, and of
        the group labels (at least three groups).
    reml : bool
        Restricted maximum likelihood (default) or plain maximum likelihood.

    Returns
    -------
    RandomSlopesFit
        Fixed effects and standard errors, the two sds and their correlation, sigma, the
        BLUPs and the criterion; a boundary (singular) estimate is flagged, not raised.

    References
    ----------
    Bates, Mächler, Bolker & Walker (2015), "Fitting linear mixed-effects models using
    lme4", *Journal of Statistical Software* 67(1), Sections 1.1 and 3; Gelman & Hill (2007),
    Section 13.1. The chapter "Beyond one intercept" compares the fit with lme4's published
    ``sleepstudy`` figures.

    Examples
    --------
    >>> from companion import data
    >>> sleep = data.load_sleepstudy()
    >>> fit = fit_random_slopes(sleep, response="reaction", predictor="days", group="subject")
    >>> fit.fixed_effects.round(3).tolist(), round(fit.residual_sd, 3)
    ([251.405, 10.467], 25.592)
    """
    _columns(df, response=response, predictor=predictor, group=group)
    reml = _check_flag(reml, "reml")
    y = as_finite_array(df[response], f"df[{response!r}]", allow_bool=False)
    x = as_finite_array(df[predictor], f"df[{predictor!r}]")
    labels = _labels(df, group, "group")
    codes, names = pd.factorize(labels, sort=True)
    if names.size < 3:
        raise ValueError(
            f"group must have at least 3 distinct labels to estimate a 2 x 2 covariance, "
            f"got {names.size}"
        )
    if y.size <= 2 * names.size + 1:
        raise ValueError(
            f"df has {y.size} rows for {names.size} groups: at least {2 * names.size + 2} are "
            "needed to separate the random intercepts and slopes from the residual"
        )
    y_std, y_centre, y_scale = _standardised(y)
    x_std, x_centre, x_scale = _standardised(x)
    if x_scale == 0:
        raise ValueError(f"predictor df[{predictor!r}] is constant: its slope cannot be estimated")
    if y_scale == 0:
        raise ValueError(f"df[{response!r}] is constant: there is nothing to fit")
    design = np.column_stack([np.ones_like(x_std), x_std])
    z = np.zeros((y.size, 2 * names.size))
    z[np.arange(y.size), 2 * codes] = 1.0
    z[np.arange(y.size), 2 * codes + 1] = x_std
    model = _ProfiledModel(y_std, design, z, reml)

    def factor(theta: np.ndarray) -> np.ndarray:
        return np.kron(np.eye(names.size), np.array([[theta[0], 0.0], [theta[1], theta[2]]]))

    def deviance_std(theta: np.ndarray) -> float:
        return model.deviance(factor(theta))

    starts = [np.array([1.0, 0.0, 1.0]), np.array([0.2, 0.0, 0.2])]
    theta = _minimise(deviance_std, starts)
    relative_std = factor(theta)[:2, :2] @ factor(theta)[:2, :2].T
    # Back to the original units: (1, x) = (1, x_std) R, so coefficients b = R^-1 b_std.
    r_inv = np.array([[1.0, -x_centre / x_scale], [0.0, 1.0 / x_scale]])
    relative = r_inv @ relative_std @ r_inv.T  # Psi / sigma^2 in original units
    est = model.estimates(factor(theta))
    beta = r_inv @ (y_scale * est["beta"] + np.array([y_centre, 0.0]))
    offset = model.dof * np.log(y_scale**2) + (2 * np.log(x_scale) if reml else 0.0)

    def criterion(result) -> float:
        if result is None:
            return deviance_std(theta) + offset
        back = np.linalg.inv(r_inv)
        lam = _cholesky_2x2(back @ (np.asarray(result.cov_re) / result.scale) @ back.T)
        return deviance_std(np.array([lam[0, 0], lam[1, 0], lam[1, 1]])) + offset

    exog = np.column_stack([np.ones_like(x), x])
    sm_model = sm.MixedLM(y, exog, groups=labels, exog_re=exog)
    start = MixedLMParams.from_components(fe_params=beta, cov_re=relative)
    result = _mixedlm_polish(sm_model, start, reml, criterion)

    # Report at the final point: sds and correlation from statsmodels' Psi and sigma^2, the
    # standard errors, BLUPs and criterion from the profiled model there.
    back = np.linalg.inv(r_inv)
    lam_std = _cholesky_2x2(back @ (np.asarray(result.cov_re) / result.scale) @ back.T)
    theta = np.array([lam_std[0, 0], lam_std[1, 0], lam_std[1, 1]])
    # Boundary: an sd (in standardised units) numerically 0 is set to 0 (correlation
    # undefined); a numerically 0 theta[2] with both sds positive is a correlation of +-1.
    std_sds = np.array([abs(theta[0]), np.hypot(theta[1], theta[2])])
    tiny = SINGULAR_TOLERANCE * max(std_sds.max(), 1.0)
    singular = bool(std_sds.min() < tiny or abs(theta[2]) < tiny)
    if std_sds[0] < tiny:
        theta = np.array([0.0, theta[1], theta[2]]) if std_sds[1] >= tiny else np.zeros(3)
    elif std_sds[1] < tiny:
        theta = np.array([theta[0], 0.0, 0.0])
    lam_std = np.array([[theta[0], 0.0], [theta[1], theta[2]]])
    est = model.estimates(factor(theta))
    beta = r_inv @ (y_scale * est["beta"] + np.array([y_centre, 0.0]))
    cov_beta = y_scale**2 * r_inv @ est["cov_beta"] @ r_inv.T
    sigma2 = y_scale**2 * est["sigma2"]
    psi = sigma2 * r_inv @ (lam_std @ lam_std.T) @ r_inv.T
    sds = np.sqrt(np.maximum(np.diag(psi), 0.0))
    correlation = float(np.clip(psi[0, 1] / (sds[0] * sds[1]), -1, 1)) if sds.all() else np.nan
    modes = y_scale * est["modes"].reshape(names.size, 2) @ r_inv.T
    index = pd.Index(names, name=group)
    columns = ["intercept", "slope"]
    random_effects = pd.DataFrame(modes, index=index, columns=columns)
    return RandomSlopesFit(
        fixed_effects=pd.Series(beta, index=["intercept", predictor], name="estimate"),
        fixed_effects_se=pd.Series(
            np.sqrt(np.diag(cov_beta)), index=["intercept", predictor], name="se"
        ),
        intercept_sd=float(sds[0]),
        slope_sd=float(sds[1]),
        correlation=float(correlation),
        residual_sd=float(np.sqrt(sigma2)),
        random_effects=random_effects,
        blups=random_effects + beta,
        criterion=float(deviance_std(theta) + offset),
        singular=singular,
        reml=reml,
        result=result,
    )


# --------------------------------------------------------------------------- variance components


@dataclass(frozen=True)
class VarianceComponentsFit:
    """A fitted variance-components model: y = mu + sum_k b_k[level] + e, b_k ~ Normal(0, tau_k).

    Attributes
    ----------
    intercept, intercept_se : float
        mu and its standard error, sigma^2 (1' V^-1 1)^-1 at the estimates (as lme4).
    component_sds : pandas.Series
        tau_k for each component, indexed by its name: a grouping column (``"plate"``) or,
        for nested groups, the columns joined by ":" (``"batch:cask"``).
    residual_sd : float
        sigma.
    random_effects : dict of str to pandas.Series
        The BLUPs (lme4's ``ranef``) of each component, indexed by level (sorted labels;
        nested levels joined by ":", as ``"A:a"``).
    criterion : float
        lme4's "REML criterion at convergence" (``reml=True``) or the deviance (``reml=False``).
    boundary : bool
        True when some tau_k is estimated at (numerically) zero.
    reml : bool
        Whether the fit is REML (True) or ML.
    result : statsmodels MixedLMResults
        The underlying statsmodels fit (one group holding every observation, one variance
        component per term).
    """

    intercept: float
    intercept_se: float
    component_sds: pd.Series
    residual_sd: float
    random_effects: dict
    criterion: float
    boundary: bool
    reml: bool
    result: Any


def _components(
    df: pd.DataFrame, groups: Any, structure: str, response: str
) -> dict[str, np.ndarray]:
    """Component name -> labels of each observation, for crossed or nested grouping columns."""
    if isinstance(groups, str | bytes) or not isinstance(groups, list | tuple | pd.Index):
        raise TypeError(
            f"groups must be a list of column names, e.g. ['plate', 'sample'], got {groups!r}"
        )
    if len(groups) == 0:
        raise ValueError("groups must name at least one grouping column, got none")
    if structure not in ("crossed", "nested"):
        raise ValueError(f"structure must be 'crossed' or 'nested', got {structure!r}")
    _columns(df, response=response, **{f"groups[{i}]": column for i, column in enumerate(groups)})
    labels = [_labels(df, column, "groups") for column in groups]
    if structure == "crossed":
        return {str(column): label for column, label in zip(groups, labels, strict=True)}
    components, joined = {}, labels[0]
    for depth in range(len(groups)):
        if depth:
            joined = np.char.add(np.char.add(joined, ":"), labels[depth])
        components[":".join(str(c) for c in groups[: depth + 1])] = joined
    return components


def fit_variance_components(
    df: pd.DataFrame,
    *,
    response: str,
    groups: list[str],
    structure: Literal["crossed", "nested"] = "crossed",
    reml: bool = True,
) -> VarianceComponentsFit:
    """Fit an intercept plus one random intercept per grouping, crossed or nested, by (RE)ML.

    ``structure="crossed"`` gives lme4's ``y ~ 1 + (1|g1) + (1|g2) + ...`` (every pair of
    groupings may cross, as plates and penicillin samples do); ``structure="nested"`` gives
    ``y ~ 1 + (1|g1/g2/...)``, i.e. ``(1|g1) + (1|g1:g2) + ...``, for groupings listed from
    the outermost in (casks within batches: the same cask label in two batches is two
    casks). The relative sds theta_k = tau_k / sigma minimise the profiled (restricted)
    deviance (Bates et al. 2015, Section 3), boundary theta_k = 0 included; statsmodels
    ``MixedLM`` (one group holding every observation, one variance component per term, as
    its ``vc_formula``) is then started there and kept if it does not end anywhere worse:
    from its default start it stops short of the optimum on such data.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per observation.
    response : str
        Column name of the observations.
    groups : list of str
        Column names of the groupings (for ``"nested"``, outermost first).
    structure : {"crossed", "nested"}
        How the groupings relate.
    reml : bool
        Restricted maximum likelihood (default) or plain maximum likelihood.

    Returns
    -------
    VarianceComponentsFit
        The intercept and its standard error, an sd per component, sigma, the BLUPs and the
        criterion; a component estimated at zero is flagged in ``boundary``.

    References
    ----------
    Bates (2010), *lme4: Mixed-effects modeling with R*, Chapter 2 (Penicillin, Pastes);
    Bates et al. (2015), *Journal of Statistical Software* 67(1); the chapter "Beyond one
    intercept".

    Examples
    --------
    >>> from companion import data
    >>> fit = fit_variance_components(
    ...     data.load_penicillin(), response="diameter", groups=["plate", "sample"]
    ... )
    >>> fit.component_sds.round(4).to_dict(), round(fit.residual_sd, 4)
    ({'plate': 0.8467, 'sample': 1.9316}, 0.5499)
    """
    reml = _check_flag(reml, "reml")
    components = _components(df, groups, structure, response)
    y = as_finite_array(df[response], f"df[{response!r}]", allow_bool=False)
    codes, levels = {}, {}
    for name, labels in components.items():
        codes[name], levels[name] = pd.factorize(labels, sort=True)
        if levels[name].size < 2:
            raise ValueError(
                f"groups: component {name!r} has {levels[name].size} level; 2 or more are needed"
            )
        if levels[name].size >= y.size:
            raise ValueError(
                f"groups: component {name!r} has a level per observation ({y.size}): its "
                "variance cannot be told apart from the residual variance"
            )
    y_std, y_centre, y_scale = _standardised(y)
    if y_scale == 0:
        raise ValueError(f"df[{response!r}] is constant: there is nothing to fit")
    names = list(components)
    blocks = [np.eye(levels[name].size)[codes[name]] for name in names]
    sizes = [block.shape[1] for block in blocks]
    model = _ProfiledModel(y_std, np.ones((y.size, 1)), np.hstack(blocks), reml)

    def factor(theta: np.ndarray) -> np.ndarray:
        return np.diag(np.repeat(theta, sizes))

    def deviance_std(theta: np.ndarray) -> float:
        return model.deviance(factor(theta))

    starts = [np.full(len(names), value) for value in (1.0, 0.2)]
    theta = np.abs(_minimise(deviance_std, starts))
    # The boundary: a component at zero when that is no worse than the interior optimum.
    for k in np.argsort(theta):
        if theta[k] < SINGULAR_TOLERANCE * max(1.0, theta.max()):
            trial = theta.copy()
            trial[k] = 0.0
            if deviance_std(trial) <= deviance_std(theta) + 1e-10:
                theta = trial
    offset = model.dof * np.log(y_scale**2)

    def criterion(result) -> float:
        if result is None:
            return deviance_std(theta) + offset
        return deviance_std(np.sqrt(np.maximum(result.vcomp / result.scale, 0.0))) + offset

    vc = VCSpec(
        names,
        [[[f"{name}[{level}]" for level in levels[name]]] for name in names],
        [[block] for block in blocks],
    )
    sm_model = sm.MixedLM(y, np.ones((y.size, 1)), groups=np.zeros(y.size), exog_vc=vc)
    est = model.estimates(factor(theta))
    start = MixedLMParams.from_components(
        fe_params=np.array([y_scale * est["beta"][0] + y_centre]),
        vcomp=np.maximum(theta**2, _MIXEDLM_START_FLOOR**2),
    )
    result = _mixedlm_polish(sm_model, start, reml, criterion)
    theta = np.sqrt(np.maximum(np.asarray(result.vcomp) / result.scale, 0.0))
    theta[theta < SINGULAR_TOLERANCE * max(1.0, theta.max())] = 0.0
    est = model.estimates(factor(theta))
    sigma = y_scale * np.sqrt(est["sigma2"])
    modes = np.split(y_scale * est["modes"], np.cumsum(sizes)[:-1])
    return VarianceComponentsFit(
        intercept=float(y_scale * est["beta"][0] + y_centre),
        intercept_se=float(y_scale * np.sqrt(est["cov_beta"][0, 0])),
        component_sds=pd.Series(sigma * theta, index=names, name="sd"),
        residual_sd=float(sigma),
        random_effects={
            name: pd.Series(mode, index=pd.Index(levels[name], name=name), name=name)
            for name, mode in zip(names, modes, strict=True)
        },
        criterion=float(deviance_std(theta) + offset),
        boundary=bool(np.any(theta == 0.0)),
        reml=reml,
        result=result,
    )
