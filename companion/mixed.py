"""Frequentist random-intercept fits (statsmodels ``MixedLM``) and their BLUPs.

The BLUP of each group mean is the partial-pooling estimate with the REML (or ML)
estimates of tau and sigma plugged in; the chapter "The pooling problem" uses it as
the frequentist counterpart of the Bayesian hierarchical model.
"""

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

from companion._checks import as_finite_array

__all__ = ["RandomInterceptFit", "fit_random_intercept"]


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


def fit_random_intercept(
    df: pd.DataFrame, *, response: str, group: str, reml: bool = True
) -> RandomInterceptFit:
    """Fit y_ij = mu + b_j + e_ij, b_j ~ Normal(0, tau), e_ij ~ Normal(0, sigma).

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
    Gelman & Hill (2007), Section 12.3; statsmodels ``MixedLM``.

    Examples
    --------
    >>> frame = pd.DataFrame({"y": [1.0, 2.0, 3.0, 7.0, 8.0, 9.0], "g": list("aaabbb")})
    >>> fit_random_intercept(frame, response="y", group="g").blups.index.tolist()
    ['a', 'b']
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    for argument, column in (("response", response), ("group", group)):
        if column not in df.columns:
            raise ValueError(f"{argument} {column!r} is not a column of df")
    values = as_finite_array(df[response], f"df[{response!r}]")
    labels = df[group].astype(str).to_numpy()
    frame = pd.DataFrame({"y": values, "group": labels})
    with warnings.catch_warnings():
        # statsmodels warns about boundary and convergence; the boundary flag reports it.
        warnings.simplefilter("ignore")
        result = smf.mixedlm("y ~ 1", frame, groups=frame["group"]).fit(reml=reml)
    intercept = float(result.fe_params["Intercept"])
    tau_squared = float(np.asarray(result.cov_re)[0, 0])
    residual_sd = float(np.sqrt(result.scale))
    boundary = tau_squared <= 1e-8 * residual_sd**2
    names = sorted(set(labels))
    if boundary:
        offsets = pd.Series(0.0, index=names)
    else:
        offsets = pd.Series({k: float(v.iloc[0]) for k, v in result.random_effects.items()})
    return RandomInterceptFit(
        intercept=intercept,
        intercept_se=float(result.bse_fe["Intercept"]),
        group_sd=float(np.sqrt(max(tau_squared, 0.0))),
        residual_sd=residual_sd,
        blups=(intercept + offsets.reindex(names)).rename("blup"),
        boundary=bool(boundary),
        result=result,
    )
