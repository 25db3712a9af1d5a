"""One-way hierarchical GLMs (Poisson, Binomial) with a Normal population, integrated.

Each group effect is integrated by adaptive Gauss-Hermite quadrature given the
hyperparameters (mu, tau), and the hyperparameters on a grid (:func:`hierarchical_poisson`,
:func:`hierarchical_binomial`).
"""

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import special, stats

from companion._specs import binomial, poisson
from companion._specs.binomial import BINOMIAL
from companion._specs.normal import NormalPopulation, halfnormal_prior
from companion._specs.poisson import POISSON
from companion.exact._common import (
    LOG_CUTOFF,
    expectation,
    memoized,
    read_only,
)

__all__ = ["LinkNormalHierarchyPosterior", "hierarchical_binomial", "hierarchical_poisson"]

# Nodes of Gauss-Hermite quadrature (weight exp(-u**2 / 2)) for the group effects.
_HERMITE_NODES, _HERMITE_WEIGHTS = np.polynomial.hermite_e.hermegauss(24)
_COARSE_GRID = (81, 61)  # (mu, log tau) points of the scan that locates the posterior
_FINE_GRID = (161, 121)  # points of the quadrature grid on the located box
_LOG_TAU_FLOOR = -20.0


class LinkNormalHierarchyPosterior:
    """Exact posterior moments of a one-way hierarchical GLM with a Normal population.

    The model is mu ~ Normal(m0, s0), tau ~ HalfNormal(t0), theta_j | mu, tau ~
    Normal(mu, tau) on the link scale, and y_j | theta_j from a Poisson (log link) or
    Binomial (logit link) likelihood. Usually created by :func:`hierarchical_poisson` or
    :func:`hierarchical_binomial`, which document the method.

    Parameters
    ----------
    log_likelihood : callable
        ``log_likelihood(theta)``, for theta of shape (..., groups, m), returns log
        p(y_j | theta) and its first and second derivatives in theta, each of that shape.
    inverse_link : callable
        Maps theta to the response (``numpy.exp``, ``scipy.special.expit``).
    estimate : tuple of two arrays
        A rough estimate of each theta_j from its own data and its variance, where
        the search for each integrand's mode starts.
    response : str
        Name of the response, a key of ``mean`` and ``sd``.
    n_groups : int
        Number of groups.
    mu_prior_mean, mu_prior_sd, tau_prior_sd : float
        The hyperpriors Normal(mu_prior_mean, mu_prior_sd) and HalfNormal(tau_prior_sd).

    Attributes
    ----------
    response : str
        Name of the group parameter on the data scale: ``"rate"`` or ``"p"``.
    mean, sd : Mapping
        Posterior means and standard deviations of ``"mu"``, ``"tau"`` (floats),
        ``"theta"`` and the response (arrays over groups).

    Notes
    -----
    Satisfies :class:`companion.exact.ExactPosterior` with ``expect``
    (:class:`~companion.exact.HasExpectations`); no quantiles or draws.
    """

    def __init__(
        self,
        log_likelihood: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]],
        inverse_link: Callable[[np.ndarray], np.ndarray],
        estimate: tuple[np.ndarray, np.ndarray],
        *,
        response: str,
        n_groups: int,
        mu_prior_mean: float,
        mu_prior_sd: float,
        tau_prior_sd: float,
    ) -> None:
        self.response = response
        self._log_likelihood = log_likelihood
        self._inverse_link = inverse_link
        self._estimate = estimate
        self._n_groups = n_groups
        self._mu_prior = stats.norm(mu_prior_mean, mu_prior_sd)
        self._tau_prior = halfnormal_prior(tau_prior_sd)
        # Scan a wide box, then integrate on a fine grid over the part that matters.
        mu_box = (mu_prior_mean - 10 * mu_prior_sd, mu_prior_mean + 10 * mu_prior_sd)
        log_tau_box = (_LOG_TAU_FLOOR, float(np.log(tau_prior_sd)) + 3.0)
        mu, log_tau, log_post, _ = self._grid(mu_box, log_tau_box, _COARSE_GRID)
        keep = log_post > log_post.max() - LOG_CUTOFF
        mu_step, log_tau_step = mu[1] - mu[0], log_tau[1] - log_tau[0]
        rows, columns = np.nonzero(keep)
        mu_box = (mu[rows.min()] - 2 * mu_step, mu[rows.max()] + 2 * mu_step)
        log_tau_box = (
            max(log_tau[columns.min()] - 2 * log_tau_step, _LOG_TAU_FLOOR),
            log_tau[columns.max()] + 2 * log_tau_step,
        )
        mu, log_tau, log_post, moments = self._grid(mu_box, log_tau_box, _FINE_GRID)
        weights = np.exp(log_post - log_post.max())
        # Trapezoid weights on the grid (the integrand is negligible at the box's edges).
        weights[[0, -1], :] *= 0.5
        weights[:, [0, -1]] *= 0.5
        self._weights = weights / weights.sum()
        self._mu, self._tau = np.meshgrid(mu, np.exp(log_tau), indexing="ij")
        self._set_moments(moments)

    def _grid(
        self, mu_box: tuple[float, float], log_tau_box: tuple[float, float], size: tuple[int, int]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """Log posterior of (mu, log tau) on a grid, and the groups' conditional moments."""
        mu = np.linspace(*mu_box, size[0])
        log_tau = np.linspace(*log_tau_box, size[1])
        m, s = np.meshgrid(mu, log_tau, indexing="ij")
        log_marginal, moments = self._integrate_groups(m[..., None], np.exp(s)[..., None])
        log_post = (
            self._mu_prior.logpdf(m)
            + self._tau_prior.logpdf(np.exp(s))
            + s  # Jacobian of tau = exp(s)
            + log_marginal.sum(axis=-1)
        )
        return mu, log_tau, log_post, moments

    def _integrate_groups(
        self, mu: np.ndarray, tau: np.ndarray
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """log p(y_j | mu, tau) and E[theta_j^k], E[response_j^k | mu, tau, y_j], k = 1, 2.

        With theta = mu + tau z, z ~ Normal(0, 1), the integrand exp(g(z)), with
        g(z) = log p(y_j | theta) - z**2 / 2, is log-concave: Newton's method (in theta)
        finds its mode z*, and Gauss-Hermite nodes are placed around it, scaled by the
        curvature there (adaptive Gauss-Hermite quadrature).
        """
        # The mode in theta, from the Normal approximation theta_j | y_j ~ Normal(estimate,
        # variance) combined with Normal(mu, tau); Newton steps are capped at 1 on the
        # link scale, where the likelihood's curvature changes fastest.
        estimate, variance = self._estimate
        theta = (estimate * tau**2 + mu * variance) / (tau**2 + variance)
        for _ in range(100):
            _, slope, curvature = self._at(theta)
            gradient = slope - (theta - mu) / tau**2
            step = np.clip(gradient / (curvature - 1.0 / tau**2), -1.0, 1.0)
            theta = theta - step
            if np.max(np.abs(step)) < 1e-9:
                break
        z = (theta - mu) / tau
        curvature = self._at(theta)[2]
        scale = 1.0 / np.sqrt(1.0 - tau**2 * curvature)
        u = z[..., None] + scale[..., None] * _HERMITE_NODES
        theta = mu[..., None] + tau[..., None] * u
        log_terms = (
            np.log(_HERMITE_WEIGHTS)
            + self._log_likelihood(theta)[0]
            - 0.5 * u**2
            + 0.5 * _HERMITE_NODES**2
        )
        log_norm = special.logsumexp(log_terms, axis=-1)
        weights = np.exp(log_terms - log_norm[..., None])
        log_marginal = log_norm + np.log(scale) - 0.5 * np.log(2 * np.pi)
        response = self._inverse_link(theta)
        moments = {
            "theta": (weights * theta).sum(-1),
            "theta2": (weights * theta**2).sum(-1),
            self.response: (weights * response).sum(-1),
            f"{self.response}2": (weights * response**2).sum(-1),
        }
        return log_marginal, moments

    def _at(self, theta: np.ndarray) -> tuple[np.ndarray, ...]:
        """Log likelihood and its first two derivatives at one theta per group."""
        return tuple(part[..., 0] for part in self._log_likelihood(theta[..., None]))

    def _set_moments(self, moments: dict[str, np.ndarray]) -> None:
        mean: dict[str, Any] = {
            "mu": self.expect(lambda mu, tau: mu),
            "tau": self.expect(lambda mu, tau: tau),
        }
        sd: dict[str, Any] = {
            "mu": float(np.sqrt(self.expect(lambda mu, tau: (mu - mean["mu"]) ** 2))),
            "tau": float(np.sqrt(self.expect(lambda mu, tau: (tau - mean["tau"]) ** 2))),
        }
        w = self._weights[..., None]
        for name in ("theta", self.response):
            first = (w * moments[name]).sum(axis=(0, 1))
            second = (w * moments[f"{name}2"]).sum(axis=(0, 1))
            mean[name] = read_only(first)
            sd[name] = read_only(np.sqrt(np.maximum(second - first**2, 0.0)))
        self.mean: Mapping[str, Any] = MappingProxyType(mean)
        self.sd: Mapping[str, Any] = MappingProxyType(sd)

    def quadrature(self) -> Mapping[str, np.ndarray]:
        """The (mu, tau) grid of the quadrature and the posterior weight of each point.

        Returns
        -------
        Mapping
            Read-only arrays of one shape (mu along the first axis, tau along the second,
            log-spaced): ``"mu"``, ``"tau"`` and ``"weight"`` (the weights sum to 1).

        Examples
        --------
        >>> posterior = hierarchical_poisson([3, 7, 12], [1.0, 2.0, 3.0])
        >>> grid = posterior.quadrature()
        >>> bool(abs(grid["weight"].sum() - 1) < 1e-12), grid["mu"].shape == grid["tau"].shape
        (True, True)
        """
        views = {"mu": self._mu.view(), "tau": self._tau.view(), "weight": self._weights.view()}
        for view in views.values():
            view.setflags(write=False)
        return MappingProxyType(views)

    def expect(self, function: Callable[[np.ndarray, np.ndarray], ArrayLike]) -> float | np.ndarray:
        """Posterior expectation of a function of the hyperparameters, E[f(mu, tau) | y].

        Parameters
        ----------
        function : callable
            ``function(mu, tau)``, evaluated on two arrays of the grid's points (same
            shape): elementwise for a scalar function; a function with several values
            per point puts them on extra trailing axes.

        Returns
        -------
        float or numpy.ndarray
            The expectation: a float for a scalar function (for instance
            ``lambda mu, tau: np.exp(mu + tau**2 / 2)``, the posterior mean of a new
            group's rate in the Poisson model), else an array of the trailing shape
            (:class:`companion.exact.HasExpectations`).
        """
        return expectation(self._weights, function(self._mu, self._tau))

    def __repr__(self) -> str:
        return (
            f"LinkNormalHierarchyPosterior(response={self.response!r}, "
            f"groups={self._n_groups}, mean mu={self.mean['mu']:.4g}, "
            f"mean tau={self.mean['tau']:.4g})"
        )


@memoized
def hierarchical_poisson(
    counts: ArrayLike,
    exposure: ArrayLike,
    *,
    mu_prior_mean: float = POISSON.mu_prior_mean,
    mu_prior_sd: float = POISSON.mu_prior_sd,
    tau_prior_sd: float = POISSON.tau_prior_sd,
) -> LinkNormalHierarchyPosterior:
    """Exact posterior moments of the hierarchical Poisson model with a log-normal population.

    The model of :func:`companion.models.hierarchical_poisson`: mu ~ Normal(m0, s0),
    tau ~ HalfNormal(t0), theta_j ~ Normal(mu, tau), rate_j = exp(theta_j) and
    y_j ~ Poisson(rate_j e_j). Given (mu, tau) the groups are independent, so each
    theta_j is integrated out on its own by adaptive Gauss-Hermite quadrature (24 nodes
    centred on the mode of the integrand and scaled by its curvature); the posterior of
    (mu, log tau) is then integrated on a grid (trapezoid rule on a 161 x 121 grid over
    the region where the density exceeds exp(-40) of its peak, located by a coarser
    scan). Moments of theta_j and rate_j follow by the laws of total expectation and
    variance. Accurate to about 1e-6 relative on the course's examples, far below any
    Monte Carlo error.

    Parameters
    ----------
    counts : array_like
        Event counts y_j, whole numbers >= 0, one per group.
    exposure : array_like
        Exposures e_j > 0, one per group.
    mu_prior_mean, mu_prior_sd, tau_prior_sd : float
        Hyperprior settings, on the log scale (defaults those of the model builder).

    Returns
    -------
    LinkNormalHierarchyPosterior
        ``.mean`` and ``.sd`` over ``"mu"``, ``"tau"``, ``"theta"`` (log rates) and
        ``"rate"``, and ``.expect(f)`` for functions of (mu, tau).

    References
    ----------
    Gelman et al. (2013), *Bayesian Data Analysis*, 3rd ed., Sections 5.3 and 13.3
    (integrating out the group parameters); Liu & Pierce (1994), A note on
    Gauss-Hermite quadrature, *Biometrika* 81(3), 624-629 (the adaptive rule); the
    chapter "Same pattern, other likelihoods".

    Examples
    --------
    >>> posterior = hierarchical_poisson([2, 14, 3, 8], [2.1, 5.0, 1.3, 8.2])
    >>> posterior.mean["rate"].shape
    (4,)
    >>> round(posterior.expect(lambda mu, tau: np.exp(mu)), 2) > 0
    True
    """
    counts, exposure = poisson.check_data(counts, exposure)
    priors = NormalPopulation(mu_prior_mean, mu_prior_sd, tau_prior_sd).checked()
    constant = counts * np.log(exposure) - special.gammaln(counts + 1)

    y, e, c = (a[:, None] for a in (counts, exposure, constant))

    def log_likelihood(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        mean = e * np.exp(theta)
        return y * theta - mean + c, y - mean, -mean

    return LinkNormalHierarchyPosterior(
        log_likelihood,
        np.exp,
        (np.log((counts + 0.5) / exposure), 1.0 / (counts + 0.5)),
        response="rate",
        n_groups=counts.size,
        **priors._asdict(),
    )


@memoized
def hierarchical_binomial(
    successes: ArrayLike,
    trials: ArrayLike,
    *,
    mu_prior_mean: float = BINOMIAL.mu_prior_mean,
    mu_prior_sd: float = BINOMIAL.mu_prior_sd,
    tau_prior_sd: float = BINOMIAL.tau_prior_sd,
) -> LinkNormalHierarchyPosterior:
    """Exact posterior moments of the hierarchical Binomial model with a logit-normal population.

    The model of :func:`companion.models.hierarchical_binomial`: mu ~ Normal(m0, s0),
    tau ~ HalfNormal(t0), theta_j ~ Normal(mu, tau), p_j = logistic(theta_j) and
    y_j ~ Binomial(n_j, p_j), integrated as in :func:`hierarchical_poisson`.

    Parameters
    ----------
    successes : array_like
        Successes y_j, whole numbers >= 0, one per group.
    trials : array_like
        Trials n_j >= max(1, y_j), one per group.
    mu_prior_mean, mu_prior_sd, tau_prior_sd : float
        Hyperprior settings, on the logit scale (defaults those of the model builder).

    Returns
    -------
    LinkNormalHierarchyPosterior
        ``.mean`` and ``.sd`` over ``"mu"``, ``"tau"``, ``"theta"`` (logits) and ``"p"``,
        and ``.expect(f)`` for functions of (mu, tau).

    References
    ----------
    As :func:`hierarchical_poisson`; Gelman & Hill (2007), Chapter 14.

    Examples
    --------
    >>> posterior = hierarchical_binomial([2, 8, 19], [4, 10, 25])
    >>> bool(0 < posterior.mean["p"][0] < 1)
    True
    """
    successes, trials = binomial.check_data(successes, trials)
    priors = NormalPopulation(mu_prior_mean, mu_prior_sd, tau_prior_sd).checked()
    constant = (
        special.gammaln(trials + 1)
        - special.gammaln(successes + 1)
        - special.gammaln(trials - successes + 1)
    )

    y, n, c = (a[:, None] for a in (successes, trials, constant))

    def log_likelihood(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        p = special.expit(theta)
        log_value = y * theta - n * np.logaddexp(0.0, theta) + c
        return log_value, y - n * p, -n * p * (1.0 - p)

    return LinkNormalHierarchyPosterior(
        log_likelihood,
        special.expit,
        (
            special.logit((successes + 0.5) / (trials + 1.0)),
            (trials + 1.0) / ((successes + 0.5) * (trials - successes + 0.5)),
        ),
        response="p",
        n_groups=successes.size,
        **priors._asdict(),
    )
