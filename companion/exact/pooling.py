"""Exact references for the three pooling models of group estimates: LOO and draws.

:func:`loo_log_predictive` gives the exact leave-one-out predictive densities that PSIS-LOO
estimates, :func:`pooling_draws` iid posterior draws of complete, no and partial pooling
(the chapter "Comparing pooling strategies with LOO").
"""

from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import special, stats

from companion._checks import (
    estimates_with_errors,
    finite_scalar,
    positive_integer,
    positive_scalar,
    random_generator,
)
from companion.exact.normal import NormalHierarchyPosterior
from companion.shrinkage import _precision_weighted_mean

__all__ = ["loo_log_predictive", "pooling_draws"]


def _common_mean_posterior(
    y: np.ndarray, sigma: np.ndarray, prior_mean: float, prior_sd: float | None
) -> tuple[float, float]:
    """Mean and variance of mu | y when y_j ~ Normal(mu, sigma_j), mu ~ Normal(m0, s0) or flat."""
    mean, precision = _precision_weighted_mean(
        y, sigma**2, prior_mean=prior_mean, prior_variance=None if prior_sd is None else prior_sd**2
    )
    return float(mean), float(1.0 / precision)


def loo_log_predictive(
    y: ArrayLike,
    sigma: ArrayLike,
    *,
    pooling: Literal["complete", "none", "partial"] = "partial",
    mu_prior_mean: float = 0.0,
    mu_prior_sd: float | None = 20.0,
    tau_prior: Any = None,
) -> np.ndarray:
    """Exact leave-one-out predictive log densities log p(y_j | y_-j) of the Normal models.

    The three models of :func:`companion.models.group_summaries`, each fitted without
    group j and asked to predict y_j ~ Normal(theta_j, sigma_j):

    - ``"partial"``: theta_j is a new draw from the population, Normal(mu, tau), so
      y_j | mu, tau ~ Normal(mu, sqrt(tau**2 + sigma_j**2)); averaging over the exact
      posterior of :func:`normal_hierarchy` given y_-j makes the predictive a mixture of
      Normals over the quadrature nodes of tau, each with mean E[mu | tau, y_-j] and
      variance Var(mu | tau, y_-j) + tau**2 + sigma_j**2;
    - ``"complete"``: theta_j = mu, whose posterior given y_-j is conjugate Normal, so the
      predictive is Normal(E[mu | y_-j], sqrt(Var(mu | y_-j) + sigma_j**2));
    - ``"none"``: theta_j ~ Normal(``mu_prior_mean``, ``mu_prior_sd``) learns nothing from
      the other groups: the predictive is Normal(mu_prior_mean, sqrt(mu_prior_sd**2 +
      sigma_j**2)).

    Their sum over j is the exact expected log predictive density elpd_loo that PSIS-LOO
    estimates from MCMC draws.

    Parameters
    ----------
    y : array_like
        Group estimates y_j (at least two).
    sigma : array_like
        Their known standard errors sigma_j (> 0), same length as ``y``.
    pooling : {"complete", "none", "partial"}
        The model.
    mu_prior_mean, mu_prior_sd : float
        The Normal prior of mu (of each theta_j for ``"none"``); ``mu_prior_sd=None``
        (flat) is allowed for ``"complete"`` and ``"partial"`` only.
    tau_prior : frozen scipy.stats distribution, optional
        Prior of tau for ``"partial"``; default HalfNormal(10).

    Returns
    -------
    numpy.ndarray
        log p(y_j | y_-j) for each j.

    References
    ----------
    Vehtari, Gelman & Gabry (2017), "Practical Bayesian model evaluation using
    leave-one-out cross-validation and WAIC", *Statistics and Computing* 27(5), eq. 4;
    Gelman et al. (2013), *Bayesian Data Analysis*, 3rd ed., Section 5.4; the chapter
    "Comparing pooling strategies with LOO".

    Examples
    --------
    >>> y, sigma = [28, 8, -3, 7, -1, 1, 18, 12], [15, 10, 16, 11, 9, 11, 10, 18]
    >>> round(float(loo_log_predictive(y, sigma, pooling="none").sum()), 2)
    -33.83
    """
    y, sigma = estimates_with_errors(y, sigma)
    if y.size < 2:
        raise ValueError(f"y must hold at least two groups to leave one out, got {y.size}")
    if pooling not in ("complete", "none", "partial"):
        raise ValueError(f"pooling must be 'complete', 'none' or 'partial'; got {pooling!r}")
    mu_prior_mean = finite_scalar(mu_prior_mean, "mu_prior_mean")
    if mu_prior_sd is not None:
        mu_prior_sd = positive_scalar(mu_prior_sd, "mu_prior_sd")
    if pooling == "none":
        if mu_prior_sd is None:
            raise ValueError(
                "mu_prior_sd must be a number for pooling='none' (a flat prior "
                "on each theta_j gives no predictive distribution)"
            )
        return stats.norm.logpdf(y, mu_prior_mean, np.sqrt(mu_prior_sd**2 + sigma**2))
    result = np.empty(y.size)
    for j in range(y.size):
        rest = np.arange(y.size) != j
        if pooling == "complete":
            mean, variance = _common_mean_posterior(
                y[rest], sigma[rest], mu_prior_mean, mu_prior_sd
            )
            result[j] = stats.norm.logpdf(y[j], mean, np.sqrt(variance + sigma[j] ** 2))
            continue
        posterior = NormalHierarchyPosterior(
            y[rest],
            sigma[rest],
            mu_prior_mean=mu_prior_mean,
            mu_prior_sd=mu_prior_sd,
            tau_prior=tau_prior,
        )
        nodes = posterior.quadrature()
        scale = np.sqrt(nodes["mu_var"] + nodes["tau"] ** 2 + sigma[j] ** 2)
        log_densities = stats.norm.logpdf(y[j], nodes["mu_mean"], scale)
        result[j] = special.logsumexp(log_densities, b=nodes["weight"])
    return result


def pooling_draws(
    y: ArrayLike,
    sigma: ArrayLike,
    *,
    pooling: Literal["complete", "none", "partial"],
    n: int,
    rng: np.random.Generator | int,
    mu_prior_mean: float = 0.0,
    mu_prior_sd: float = 20.0,
    tau_prior: Any = None,
) -> dict[str, np.ndarray]:
    """Independent exact posterior draws of the three models of group estimates.

    The models of :func:`companion.models.group_summaries` with their default priors:
    complete pooling (theta_j = mu, mu ~ Normal(``mu_prior_mean``, ``mu_prior_sd``): the
    posterior of mu is conjugate Normal), no pooling (each theta_j ~ Normal(mu_prior_mean,
    mu_prior_sd) independently: conjugate Normal per group) and partial pooling (the exact
    posterior of :func:`normal_hierarchy`, drawn by its ``sample``). Draws like these need
    no convergence check, which makes them the reference for PSIS-LOO.

    Parameters
    ----------
    y : array_like
        Group estimates y_j.
    sigma : array_like
        Their known standard errors sigma_j (> 0), same length as ``y``.
    pooling : {"complete", "none", "partial"}
        The model.
    n : int
        Number of draws.
    rng : numpy.random.Generator or int
        Random number generator, or a seed.
    mu_prior_mean, mu_prior_sd : float
        Normal prior of mu (of each theta_j for ``"none"``).
    tau_prior : frozen scipy.stats distribution, optional
        Prior of tau for ``"partial"``; default HalfNormal(10).

    Returns
    -------
    dict
        ``"theta"`` of shape (n, J) for every model, plus ``"mu"`` (n,) for complete and
        partial pooling and ``"tau"`` (n,) for partial pooling.

    References
    ----------
    Gelman et al. (2013), *Bayesian Data Analysis*, 3rd ed., Sections 2.5 (Normal mean
    with known variance) and 5.4; the chapter "Comparing pooling strategies with LOO".

    Examples
    --------
    >>> draws = pooling_draws([28.0, 8.0], [15.0, 10.0], pooling="complete", n=5, rng=1)
    >>> draws["theta"].shape, bool((draws["theta"][:, 0] == draws["mu"]).all())
    ((5, 2), True)
    """
    y, sigma = estimates_with_errors(y, sigma)
    n = positive_integer(n, "n")
    generator = random_generator(rng, "rng")
    mu_prior_mean = finite_scalar(mu_prior_mean, "mu_prior_mean")
    mu_prior_sd = positive_scalar(mu_prior_sd, "mu_prior_sd")
    if pooling == "partial":
        posterior = NormalHierarchyPosterior(
            y, sigma, mu_prior_mean=mu_prior_mean, mu_prior_sd=mu_prior_sd, tau_prior=tau_prior
        )
        return posterior.sample(n, rng=generator)
    if pooling == "complete":
        mean, variance = _common_mean_posterior(y, sigma, mu_prior_mean, mu_prior_sd)
        mu = generator.normal(mean, np.sqrt(variance), size=n)
        return {"mu": mu, "theta": np.repeat(mu[:, None], y.size, axis=1)}
    if pooling == "none":  # each theta_j alone: its own y_j and the prior
        mean, precision = _precision_weighted_mean(
            y[:, None], sigma[:, None] ** 2, prior_mean=mu_prior_mean, prior_variance=mu_prior_sd**2
        )
        return {"theta": generator.normal(mean, 1.0 / np.sqrt(precision), size=(n, y.size))}
    raise ValueError(f"pooling must be 'complete', 'none' or 'partial'; got {pooling!r}")
