"""Closed forms of pooling and shrinkage for the Normal-Normal model with known sigma_j.

The model is theta_j ~ Normal(mu, tau), y_j | theta_j ~ Normal(theta_j, sigma_j); the
chapter "The pooling problem" explains each formula, and BDA3 Section 5.4 derives them.
"""

import numpy as np
from numpy.typing import ArrayLike

from companion._checks import (
    as_finite_array,
    as_positive_array,
    finite_scalar,
    positive_scalar,
    same_length,
)

__all__ = ["partial_pooling", "pooled_mean", "shrinkage_factor"]


def pooled_mean(y: ArrayLike, sigma: ArrayLike) -> tuple[float, float]:
    """Complete pooling: the precision-weighted mean of the group estimates.

    Parameters
    ----------
    y : array_like
        Group estimates y_j.
    sigma : array_like
        Their known standard errors sigma_j (> 0).

    Returns
    -------
    estimate, standard_error : float
        sum(w_j y_j) / sum(w_j) with w_j = 1 / sigma_j**2, and 1 / sqrt(sum(w_j)).

    References
    ----------
    Gelman et al. (2013), *Bayesian Data Analysis*, 3rd ed., eq. 5.13 (tau = 0).

    Examples
    --------
    >>> pooled_mean([0.0, 10.0], [1.0, 1.0])
    (5.0, 0.7071067811865475)
    """
    y = as_finite_array(y, "y")
    sigma = as_positive_array(sigma, "sigma")
    same_length([y, sigma], ["y", "sigma"])
    y, sigma = np.broadcast_arrays(y, sigma)
    weights = 1.0 / sigma**2
    return float(np.sum(weights * y) / np.sum(weights)), float(1.0 / np.sqrt(np.sum(weights)))


def shrinkage_factor(sigma: ArrayLike, tau: float) -> np.ndarray:
    """The fraction B_j = sigma_j**2 / (sigma_j**2 + tau**2) of the way to the mean.

    B_j = 1 is complete pooling (tau = 0); B_j -> 0 is no pooling (tau -> inf).

    Parameters
    ----------
    sigma : array_like
        Standard errors sigma_j (> 0).
    tau : float
        Between-group standard deviation (>= 0).

    Returns
    -------
    numpy.ndarray
        B_j for each group.

    References
    ----------
    Gelman et al. (2013), *Bayesian Data Analysis*, 3rd ed., Section 5.5.

    Examples
    --------
    >>> shrinkage_factor([1.0, 3.0], 1.0).tolist()
    [0.5, 0.9]
    """
    sigma = as_positive_array(sigma, "sigma")
    tau = positive_scalar(tau, "tau", allow_zero=True)
    return sigma**2 / (sigma**2 + tau**2)


def partial_pooling(
    y: ArrayLike, sigma: ArrayLike, mu: float, tau: float
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mean and sd of each theta_j given mu and tau (partial pooling).

    theta_j | y, mu, tau ~ Normal(B_j mu + (1 - B_j) y_j, sqrt((1 - B_j) sigma_j**2)),
    with B_j from :func:`shrinkage_factor`.

    Parameters
    ----------
    y : array_like
        Group estimates y_j.
    sigma : array_like
        Their standard errors sigma_j (> 0), same length as ``y``.
    mu : float
        Population mean.
    tau : float
        Population standard deviation (>= 0; 0 gives complete pooling at ``mu``).

    Returns
    -------
    means, sds : numpy.ndarray
        Conditional posterior means and standard deviations of theta_j.

    References
    ----------
    Gelman et al. (2013), *Bayesian Data Analysis*, 3rd ed., eq. 5.17.

    Examples
    --------
    >>> means, sds = partial_pooling([10.0], [1.0], mu=0.0, tau=1.0)
    >>> float(means[0]), round(float(sds[0]) ** 2, 12)
    (5.0, 0.5)
    """
    y = as_finite_array(y, "y")
    sigma = as_positive_array(sigma, "sigma")
    same_length([y, sigma], ["y", "sigma"])
    mu = finite_scalar(mu, "mu")
    factor = shrinkage_factor(sigma, tau)
    keep = float(tau) ** 2 / (sigma**2 + float(tau) ** 2)  # 1 - B_j, no cancellation
    means = factor * mu + keep * y
    sds = np.sqrt(keep) * sigma
    return means, np.broadcast_to(sds, means.shape).copy()
