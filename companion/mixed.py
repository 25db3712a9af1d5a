"""Frequentist random-intercept fits (statsmodels ``MixedLM``) and their BLUPs.

The BLUP of each group mean is the partial-pooling estimate with the REML (or ML)
estimates of tau and sigma plugged in; the chapter "The pooling problem" uses it as
the frequentist counterpart of the Bayesian hierarchical model.
"""

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from numpy.typing import ArrayLike

from companion._checks import as_finite_array

__all__ = ["RandomInterceptFit", "random_intercept"]


@dataclass(frozen=True)
class RandomInterceptFit:
    """A fitted random-intercept model y_ij = mu + b_i + e_ij.

    Attributes
    ----------
    intercept : float
        Estimate of mu.
    tau, sigma : float
        Estimated between-group and residual standard deviations.
    group_means : pandas.Series
        BLUPs mu + b_i of each group mean, indexed by group label.
    boundary : bool
        True when the between-group variance was estimated at (or numerically at)
        zero: every BLUP then equals the intercept (complete pooling).
    """

    intercept: float
    tau: float
    sigma: float
    group_means: pd.Series
    boundary: bool


def random_intercept(
    values: ArrayLike, groups: ArrayLike, *, reml: bool = True
) -> RandomInterceptFit:
    """Fit y_ij = mu + b_i + e_ij, b_i ~ Normal(0, tau), e_ij ~ Normal(0, sigma).

    Parameters
    ----------
    values : array_like
        One observation per individual.
    groups : array_like
        Group label of each observation (same length as ``values``).
    reml : bool
        Restricted maximum likelihood (default) or plain maximum likelihood.

    Returns
    -------
    RandomInterceptFit
        Estimates, BLUPs (sorted by group label) and a boundary flag; a boundary
        estimate tau = 0 is reported, not raised.

    References
    ----------
    Gelman & Hill (2007), Section 12.3; statsmodels ``MixedLM``.

    Examples
    --------
    >>> fit = random_intercept([1.0, 2.0, 3.0, 7.0, 8.0, 9.0], ["a"] * 3 + ["b"] * 3)
    >>> fit.group_means.index.tolist()
    ['a', 'b']
    """
    values = as_finite_array(values, "values")
    labels = np.asarray(groups).astype(str)
    if labels.shape != values.shape:
        raise ValueError(f"groups must give one label per value ({len(values)}), got {labels.shape}")
    frame = pd.DataFrame({"y": values, "group": labels})
    with warnings.catch_warnings():
        # statsmodels warns about boundary and convergence; the boundary flag reports it.
        warnings.simplefilter("ignore")
        result = smf.mixedlm("y ~ 1", frame, groups=frame["group"]).fit(reml=reml)
    intercept = float(result.fe_params["Intercept"])
    tau_squared = float(np.asarray(result.cov_re)[0, 0])
    sigma = float(np.sqrt(result.scale))
    boundary = tau_squared <= 1e-8 * sigma**2
    names = sorted(set(labels))
    if boundary:
        offsets = pd.Series(0.0, index=names)
    else:
        offsets = pd.Series({k: float(v.iloc[0]) for k, v in result.random_effects.items()})
    return RandomInterceptFit(
        intercept=intercept,
        tau=float(np.sqrt(max(tau_squared, 0.0))),
        sigma=sigma,
        group_means=(intercept + offsets.reindex(names)).rename("blup"),
        boundary=bool(boundary),
    )
