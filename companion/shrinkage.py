"""Closed forms of pooling and shrinkage for the Normal-Normal model with known sigma_j.

The model is theta_j ~ Normal(mu, tau), y_j | theta_j ~ Normal(theta_j, sigma_j); the
chapter "The pooling problem" explains each formula, and BDA3 Section 5.4 derives them.
"""

from typing import Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize

from companion._checks import (
    as_positive_array,
    estimates_with_errors,
    finite_scalar,
    positive_scalar,
)

__all__ = [
    "JamesStein",
    "empirical_bayes_tau",
    "james_stein",
    "partial_pooling",
    "pooled_mean",
    "shrinkage_factor",
]


def _precision_weighted_mean(
    values: np.ndarray,
    variances: np.ndarray,
    *,
    prior_mean: float | None = None,
    prior_variance: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The precision-weighted mean along the last axis, and the total precision.

    sum(w_j y_j) / sum(w_j) with w_j = 1 / variances_j: the posterior mean of a common mean
    mu of observations y_j ~ Normal(mu, sqrt(variances_j)) under a flat prior, or, with
    ``prior_mean`` and ``prior_variance``, under the prior Normal(m0, sqrt(v0)), which counts
    as one more observation (BDA3 eq. 2.12 and 5.20). The total precision is 1 / Var(mu | y).
    The one place where the course computes it: :func:`pooled_mean`, :func:`james_stein`,
    :func:`empirical_bayes_tau` and :mod:`companion.exact` call it, unchecked (callers check
    their input).
    """
    precision = 1.0 / variances
    total = np.sum(precision, axis=-1)
    weighted = np.sum(precision * values, axis=-1)
    if prior_variance is not None:
        prior_precision = 1.0 / prior_variance
        total = total + prior_precision
        weighted = weighted + prior_precision * prior_mean
    return weighted / total, total


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
    y, sigma = estimates_with_errors(y, sigma)
    mean, precision = _precision_weighted_mean(y, sigma**2)
    return float(mean), float(1.0 / np.sqrt(precision))


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
    sigma = as_positive_array(sigma, "sigma", allow_bool=False)
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
    y, sigma = estimates_with_errors(y, sigma)
    mu = finite_scalar(mu, "mu")
    factor = shrinkage_factor(sigma, tau)
    keep = float(tau) ** 2 / (sigma**2 + float(tau) ** 2)  # 1 - B_j, no cancellation
    means = factor * mu + keep * y
    sds = np.sqrt(keep) * sigma
    return means, np.broadcast_to(sds, means.shape).copy()


class JamesStein(NamedTuple):
    """Result of :func:`james_stein`.

    Attributes
    ----------
    estimates : numpy.ndarray
        The shrunk estimates, one per group.
    shrinkage : float
        The fraction of the way from each y_j to the target that every estimate moves
        (between 0 and 1 with the positive part; above 1 means past the target).
    target : float
        The point shrunk toward: the given target, or the (precision-weighted) grand mean.
    """

    estimates: np.ndarray
    shrinkage: float
    target: float


def james_stein(
    y: ArrayLike,
    sigma2: ArrayLike,
    *,
    target: float | None = None,
    positive_part: bool = True,
) -> JamesStein:
    """James-Stein shrinkage of J >= 3 Normal estimates toward a target or their grand mean.

    With y_j ~ Normal(theta_j, sqrt(sigma2_j)) independent, every estimate moves the same
    fraction c of the way to the target m, c = k / S with S = sum((y_j - m)**2 / sigma2_j):

    - ``target`` given: m = target and k = J - 2; the estimator has lower total squared
      error than y itself for every theta when J >= 3 (Stein's paradox);
    - ``target=None``: m = the precision-weighted mean of y (the plain mean when the
      sigma2_j are equal) and k = J - 3, one less because m is estimated; with J = 3 it
      leaves y unchanged.

    With unequal sigma2_j the shrinkage is done on the standardised scale y_j / sigma_j,
    where it dominates y under the loss sum((estimate_j - theta_j)**2 / sigma2_j). The
    positive part caps c at 1, so that no estimate passes the target (it dominates the
    plain estimator too).

    Parameters
    ----------
    y : array_like
        Estimates y_j of at least 3 groups.
    sigma2 : array_like
        Their sampling variances (> 0): one shared value or one per group.
    target : float, optional
        The point to shrink toward; default the grand mean of ``y``.
    positive_part : bool, default True
        Cap the shrinkage at 1 (the positive-part estimator).

    Returns
    -------
    JamesStein
        ``estimates``, ``shrinkage`` (c) and ``target`` (m).

    Raises
    ------
    ValueError
        With fewer than 3 groups, non-positive or non-finite variances, NaN, or
        mismatched lengths.

    References
    ----------
    James, W. and Stein, C. (1961). Estimation with quadratic loss. *Proceedings of the
    Fourth Berkeley Symposium* 1, 361-379. Efron, B. and Morris, C. (1975). Data
    analysis using Stein's estimator and its generalizations. *JASA* 70(350), 311-319,
    eq. 2.3. The chapter "Shrinkage, derived", section "Stein's paradox on real data".

    Examples
    --------
    >>> result = james_stein([1.0, 2.0, 6.0], 1.0, target=0.0)
    >>> round(result.shrinkage, 4), result.estimates.round(3).tolist()
    (0.0244, [0.976, 1.951, 5.854])
    """
    y, sigma2 = estimates_with_errors(y, sigma2, names=("y", "sigma2"))
    if y.size < 3:
        raise ValueError(f"James-Stein shrinkage needs at least 3 groups; y has {y.size}")
    if not isinstance(positive_part, bool):
        raise TypeError(f"positive_part must be True or False, got {positive_part!r}")
    if target is None:
        center = float(_precision_weighted_mean(y, sigma2)[0])
        constant = y.size - 3
    else:
        center = finite_scalar(target, "target")
        constant = y.size - 2
    spread = float(np.sum((y - center) ** 2 / sigma2))
    if spread == 0.0:  # every y_j is at the target already
        return JamesStein(estimates=y.copy(), shrinkage=0.0, target=center)
    shrinkage = constant / spread
    if positive_part:
        shrinkage = min(shrinkage, 1.0)
    estimates = center + (1.0 - shrinkage) * (y - center)
    return JamesStein(estimates=estimates, shrinkage=float(shrinkage), target=center)


def empirical_bayes_tau(
    y: ArrayLike, sigma: ArrayLike, *, method: Literal["mle", "moments"] = "mle"
) -> float:
    """Estimate the between-group sd tau from the data (empirical Bayes), possibly 0.

    In the model y_j ~ Normal(mu, sqrt(sigma_j**2 + tau**2)) (theta_j integrated out,
    mu unknown):

    - ``"mle"``: marginal maximum likelihood, maximising over tau >= 0 the likelihood
      with mu at its weighted mean sum(w_j y_j) / sum(w_j), w_j = 1 / (sigma_j**2 + tau**2)
      (a search on a grid over [0, max(y) - min(y)], which contains the maximum, refined
      by Brent's method);
    - ``"moments"``: the method of moments of DerSimonian & Laird,
      tau**2 = (Q - (J - 1)) / (sum(v_j) - sum(v_j**2) / sum(v_j)) with v_j = 1 / sigma_j**2
      and Q = sum(v_j (y_j - ybar_v)**2); with equal sigma_j this is the sample variance
      of y minus sigma**2.

    Both are truncated at 0: when the y_j scatter no more than their standard errors
    imply, the estimate is tau = 0 and plugging it in pools completely.

    Parameters
    ----------
    y : array_like
        Group estimates y_j (at least 2).
    sigma : array_like
        Their standard errors sigma_j (> 0): one shared value or one per group.
    method : {"mle", "moments"}
        Marginal maximum likelihood (default) or the method of moments.

    Returns
    -------
    float
        The estimate of tau (>= 0).

    References
    ----------
    Gelman et al. (2013), *Bayesian Data Analysis*, 3rd ed., Section 5.4 (the marginal
    likelihood p(y | mu, tau)); DerSimonian, R. and Laird, N. (1986). Meta-analysis in
    clinical trials. *Controlled Clinical Trials* 7(3), 177-188; the chapter
    "Shrinkage, derived", section "Empirical Bayes".

    Examples
    --------
    >>> y = [0.0, 2.0, 4.0, 6.0]
    >>> round(empirical_bayes_tau(y, 1.0, method="moments") ** 2, 6)  # var(y) - 1
    5.666667
    >>> round(empirical_bayes_tau(y, 1.0, method="mle") ** 2, 6)  # mean square dev. - 1
    4.0
    """
    y, sigma = estimates_with_errors(y, sigma)
    if y.size < 2:
        raise ValueError(f"estimating tau needs at least 2 groups; y has {y.size}")
    if method == "moments":
        center, total = _precision_weighted_mean(y, sigma**2)
        precision = 1.0 / sigma**2
        q = np.sum(precision * (y - center) ** 2)
        # sum(v) - sum(v**2) / sum(v) = sum_j v_j (sum of the other v_i) / sum(v): the
        # sums of the others come from prefix and suffix sums, never from total - v_j,
        # which cancels to 0 when one sigma_j is much smaller than the rest.
        before = np.concatenate([[0.0], np.cumsum(precision)[:-1]])
        after = np.concatenate([np.cumsum(precision[::-1])[-2::-1], [0.0]])
        scale = np.sum(precision * (before + after)) / total
        return float(np.sqrt(max((q - (y.size - 1)) / scale, 0.0)))
    if method == "mle":
        return _marginal_mle_tau(y, sigma)
    raise ValueError(f"method must be 'mle' or 'moments', got {method!r}")


def _profile_log_likelihood(variance: np.ndarray, y: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """log p(y | mu_hat, tau) up to a constant at each tau**2 (mu at its weighted mean)."""
    total = sigma**2 + np.asarray(variance, dtype=float)[..., None]
    weights = 1.0 / total
    center = _precision_weighted_mean(y, total)[0]
    squares = np.sum(weights * (y - center[..., None]) ** 2, axis=-1)
    return -0.5 * (np.sum(np.log(total), axis=-1) + squares)


def _profile_score(variance: np.ndarray, y: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Derivative of the profile log-likelihood in tau**2.

    By the envelope theorem (mu_hat maximises the likelihood given tau), it is
    sum_j w_j**2 ((y_j - mu_hat)**2 - 1 / w_j) / 2 with w_j = 1 / (sigma_j**2 + tau**2).
    """
    total = sigma**2 + np.asarray(variance, dtype=float)[..., None]
    weights = 1.0 / total
    center = _precision_weighted_mean(y, total)[0]
    return 0.5 * np.sum(weights**2 * ((y - center[..., None]) ** 2 - total), axis=-1)


def _marginal_mle_tau(y: np.ndarray, sigma: np.ndarray) -> float:
    """Maximise the profile likelihood over tau**2 >= 0 among its stationary points and 0.

    The score in tau**2 is negative once tau**2 exceeds every (y_j - mu_hat)**2, so the
    maximum lies in [0, ptp(y)**2]. The boundary tau = 0 is a local maximum exactly when
    the score there is <= 0 (with equal sigma_j = s: when sum((y_j - ybar)**2) / J <= s**2);
    interior maxima are the roots where the score changes sign from + to -, found by
    Brent's method on a grid dense near 0.
    """
    upper = float(np.ptp(y)) ** 2
    if upper == 0.0:
        return 0.0
    grid = upper * np.linspace(0.0, 1.0, 513) ** 2
    score = _profile_score(grid, y, sigma)
    candidates = [0.0] if score[0] <= 0.0 else []
    for k in np.flatnonzero((score[:-1] > 0.0) & (score[1:] <= 0.0)):
        if score[k + 1] == 0.0:
            candidates.append(float(grid[k + 1]))
            continue
        candidates.append(
            optimize.brentq(
                lambda t: float(_profile_score(np.array(t), y, sigma)),
                grid[k],
                grid[k + 1],
                xtol=1e-300,
                rtol=4 * np.finfo(float).eps,
            )
        )
    values = _profile_log_likelihood(np.array(candidates), y, sigma)
    return float(np.sqrt(candidates[int(np.argmax(values))]))
