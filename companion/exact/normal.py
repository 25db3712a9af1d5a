"""Exact posterior of the Normal-Normal hierarchical model with known standard errors.

The model is

    mu ~ Normal(mu_prior_mean, mu_prior_sd)    (or a flat prior on mu),
    tau ~ tau_prior,
    theta_j | mu, tau ~ Normal(mu, tau),
    y_j | theta_j ~ Normal(theta_j, sigma_j),    sigma_j known.

Given tau everything is conjugate: y_j | mu, tau ~ Normal(mu, sqrt(sigma_j**2 + tau**2)), so
mu | tau, y and theta_j | mu, tau, y are Normal (BDA3 Section 5.4, eqs 5.17-5.21). Only the
one-dimensional posterior of tau needs quadrature; the marginal posteriors of mu and theta_j
are then mixtures of Normals over tau. This gives reference means, quantiles and iid draws in
milliseconds, against which MCMC output is checked.
"""

import warnings
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
from numpy.polynomial import legendre
from numpy.typing import ArrayLike
from scipy import optimize, special

from companion._checks import (
    as_finite_array,
    estimates_with_errors,
    finite_scalar,
    positive_integer,
    positive_scalar,
    probabilities,
    random_generator,
)
from companion._specs.normal import NORMAL, describe
from companion._specs.normal import tau_prior as _tau_prior
from companion.exact._common import (
    LOG_CUTOFF,
    expectation,
    memoized,
    normal_mixture_cdf,
    normal_mixture_quantile,
    solve_increasing,
)
from companion.shrinkage import _precision_weighted_mean, partial_pooling

__all__ = ["NormalHierarchyPosterior", "normal_hierarchy"]

# Quadrature in s = log(tau - lower): composite Gauss-Legendre on panels at most
# _PANEL_WIDTH wide, bisected where the log integrand varies by more than
# _PANEL_VARIATION across a panel (a posterior far in the prior's tail can be a spike
# much narrower than one panel).
_NODES_PER_PANEL = 16
_PANEL_WIDTH = 0.5
_PANEL_VARIATION = 8.0
_MAX_BISECTIONS = 64
# The range of s is found on a scan with this step; integrands below exp(-LOG_CUTOFF)
# times their peak are dropped (relative truncation error about 1e-17 per moment).
_SCAN_STEP = 0.25
_SCAN_EXTENSION = 20.0
# tau**2 must stay finite in double precision.
_MAX_LOG_TAU = float(np.log(1e150))
# Mixture components with a smaller weight are ignored by the CDF and quantile searches.
_MIN_WEIGHT = 1e-18
# Gauss-Hermite rule (weight exp(-z**2 / 2), normalised) for mu | tau, y in expect().
_MU_NODES, _MU_WEIGHTS = np.polynomial.hermite_e.hermegauss(24)
_MU_WEIGHTS = _MU_WEIGHTS / np.sqrt(2 * np.pi)

Parameter = Literal["mu", "tau", "theta"]


class NormalHierarchyPosterior:
    """Exact posterior of the Normal-Normal hierarchical model with known sigma_j.

    Usually created by :func:`normal_hierarchy`, which documents the model and the method.

    Parameters
    ----------
    y : array_like
        Group estimates y_j.
    sigma : array_like
        Their known standard errors sigma_j (> 0), same length as ``y``.
    mu_prior_mean : float
        Mean of the Normal prior on mu.
    mu_prior_sd : float or None
        Its standard deviation (> 0); None gives a flat prior on mu.
    tau_prior : frozen scipy.stats continuous distribution or None
        Prior of tau with support inside [0, inf); None means ``scipy.stats.halfnorm(scale=10)``.

    Attributes
    ----------
    y, sigma : numpy.ndarray
        The data.
    mu_prior_mean : float
    mu_prior_sd : float or None
    tau_prior : scipy.stats frozen distribution
    mean, sd : Mapping
        Posterior means and standard deviations: ``"mu"`` and ``"tau"`` (floats) and
        ``"theta"`` (an array over groups). A moment that does not exist (a very
        heavy-tailed posterior) is ``inf``.

    Notes
    -----
    Satisfies :class:`companion.exact.ExactPosterior` with ``quantile``, ``sample`` and
    ``expect`` (:class:`~companion.exact.HasQuantiles`, :class:`~companion.exact.HasDraws`,
    :class:`~companion.exact.HasExpectations`).
    """

    def __init__(
        self,
        y: ArrayLike,
        sigma: ArrayLike,
        *,
        mu_prior_mean: float = NORMAL.mu_prior_mean,
        mu_prior_sd: float | None = NORMAL.mu_prior_sd,
        tau_prior: Any = None,
    ) -> None:
        y, sigma = (array.copy() for array in estimates_with_errors(y, sigma))
        y.setflags(write=False)
        sigma.setflags(write=False)
        self.y: np.ndarray = y
        self.sigma: np.ndarray = sigma
        self.mu_prior_mean: float = finite_scalar(mu_prior_mean, "mu_prior_mean")
        self.mu_prior_sd: float | None = (
            None if mu_prior_sd is None else positive_scalar(mu_prior_sd, "mu_prior_sd")
        )
        self.tau_prior, self._lower, self._upper = _tau_prior(tau_prior)

        s_start, s_stop, s_mode, finite_order = self._integration_range()
        self._build_quadrature(s_start, s_stop, s_mode)
        self._set_moments(finite_order)

    # ------------------------------------------------------------------ model pieces

    def _conditionals(self, tau: np.ndarray) -> dict[str, np.ndarray]:
        """Log marginal likelihood and conditional moments of mu and theta at each tau."""
        tau = np.asarray(tau, dtype=float)[:, None]
        variance = self.sigma**2 + tau**2  # Var(y_j | mu, tau)
        precision = 1.0 / variance
        log_det = np.log(variance).sum(axis=1)
        prior_variance = None
        if self.mu_prior_sd is not None:
            # The Normal prior on mu acts as one more observation m0 with variance s0**2.
            prior_variance = self.mu_prior_sd**2
            log_det = log_det + 2.0 * np.log(self.mu_prior_sd)
        mu_mean, total_precision = _precision_weighted_mean(  # BDA3 eq. 5.20
            self.y, variance, prior_mean=self.mu_prior_mean, prior_variance=prior_variance
        )
        mu_var = 1.0 / total_precision
        squares = (precision * (self.y - mu_mean[:, None]) ** 2).sum(axis=1)
        if self.mu_prior_sd is not None:
            squares = squares + (self.mu_prior_mean - mu_mean) ** 2 / self.mu_prior_sd**2
        # log p(y | tau) up to a constant (BDA3 eq. 5.21, with the prior on mu integrated).
        log_likelihood = -0.5 * (squares + log_det + np.log(total_precision))
        shrink = self.sigma**2 * precision  # B_j = sigma_j^2 / (sigma_j^2 + tau^2)
        keep = tau**2 * precision  # 1 - B_j, computed without cancellation
        theta_mean = shrink * mu_mean[:, None] + keep * self.y  # BDA3 eq. 5.17 averaged over mu
        theta_var = keep * self.sigma**2 + shrink**2 * mu_var[:, None]
        return {
            "log_likelihood": log_likelihood,
            "mu_mean": mu_mean,
            "mu_var": mu_var,
            "theta_mean": theta_mean,
            "theta_var": theta_var,
        }

    def _log_integrand(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Unnormalised log posterior density of s = log(tau - lower), and tau."""
        tau = self._lower + np.exp(s)
        with np.errstate(divide="ignore"):
            log_prior = self.tau_prior.logpdf(tau)
        log_density = log_prior + self._conditionals(tau)["log_likelihood"] + s
        return np.where(np.isnan(log_density), -np.inf, log_density), tau

    # ------------------------------------------------------------------ quadrature

    def _integration_range(self) -> tuple[float, float, float, int]:
        """Choose [s_start, s_stop] so that the dropped tails are negligible.

        Returns the range, the mode of the integrand in s (located on the scan and
        refined by Brent's method, since a posterior far in the prior's tail can be
        narrower than the scan's step) and the highest order (0, 1 or 2) of the moments
        of tau that are finite; a moment whose integrand has not decayed by
        tau = 1e150 counts as infinite.
        """
        lower, upper = self._lower, self._upper
        prior_points = self.tau_prior.ppf([1e-12, 0.5, 1.0 - 1e-12]) - lower
        data_scales = [self.sigma.min(), self.sigma.max(), np.ptp(self.y)]
        if self.mu_prior_sd is not None:
            data_scales.append(self.mu_prior_sd)
        scales = np.concatenate([prior_points, data_scales])
        scales = scales[np.isfinite(scales) & (scales > 0)]
        floor = float(np.log(max(lower * 1e-15, 1e-290)))
        ceiling = float(np.log(upper - lower)) if np.isfinite(upper) else _MAX_LOG_TAU
        start = max(float(np.log(scales.min())) - 5.0, floor)
        stop = min(float(np.log(scales.max())) + 5.0, ceiling)
        start = min(start, stop - 1.0)

        while True:
            grid = np.append(np.arange(start, stop, _SCAN_STEP), stop)
            log_mass, tau = self._log_integrand(grid)
            peak = log_mass.max()
            if not np.isfinite(peak):
                raise ValueError(
                    "the posterior of tau is zero everywhere on the support of tau_prior; "
                    "check tau_prior"
                )
            log_tau = np.log(tau)
            orders = [log_mass, log_mass + log_tau, log_mass + 2.0 * log_tau]
            low_open = start > floor and log_mass[0] > peak - LOG_CUTOFF
            high_open = stop < ceiling and any(
                curve[-1] > curve.max() - LOG_CUTOFF for curve in orders
            )
            if not (low_open or high_open):
                break
            if low_open:
                start = max(start - _SCAN_EXTENSION, floor)
            if high_open:
                stop = min(stop + _SCAN_EXTENSION, ceiling)

        finite_order = 2
        if not np.isfinite(upper):
            for order in (2, 1, 0):
                curve = orders[order]
                if curve[-1] > curve.max() - LOG_CUTOFF:
                    finite_order = order - 1
        if finite_order < 0:
            warnings.warn(
                "the posterior of tau has not decayed by tau = 1e150; its tail beyond "
                "that point is ignored",
                RuntimeWarning,
                stacklevel=3,
            )
        best = int(np.argmax(log_mass))
        s_mode, log_peak = self._refine_mode(grid, log_mass, best)
        significant = np.zeros(grid.shape, dtype=bool)
        significant[max(best - 1, 0) : best + 2] = True  # the bracket of the mode
        for order, curve in enumerate(orders[: max(finite_order, 0) + 1]):
            top = max(curve.max(), log_peak + order * np.log(self._lower + np.exp(s_mode)))
            significant |= curve > top - LOG_CUTOFF
        inside = np.flatnonzero(significant)
        first = max(inside[0] - 1, 0)
        last = min(inside[-1] + 1, grid.size - 1)
        return float(grid[first]), float(grid[last]), s_mode, finite_order

    def _refine_mode(
        self, grid: np.ndarray, log_mass: np.ndarray, best: int
    ) -> tuple[float, float]:
        """The mode of the log integrand in s between the scan's neighbours of ``best``."""
        low, high = grid[max(best - 1, 0)], grid[min(best + 1, grid.size - 1)]
        if high <= low:
            return float(grid[best]), float(log_mass[best])

        def negative(s: float) -> float:
            value = self._log_integrand(np.array([s]))[0][0]
            return -value if np.isfinite(value) else np.inf

        refined = optimize.minimize_scalar(
            negative, bounds=(low, high), method="bounded", options={"xatol": 1e-13}
        )
        if np.isfinite(refined.fun) and -refined.fun > log_mass[best]:
            return float(refined.x), float(-refined.fun)
        return float(grid[best]), float(log_mass[best])

    def _panel_edges_for(self, s_start: float, s_stop: float, s_mode: float) -> np.ndarray:
        """Panel edges: at most _PANEL_WIDTH apart, one at the mode, bisected until the
        log integrand varies by at most _PANEL_VARIATION across every panel that matters."""
        n_panels = max(int(np.ceil((s_stop - s_start) / _PANEL_WIDTH)), 1)
        edges = np.linspace(s_start, s_stop, n_panels + 1)
        if s_start < s_mode < s_stop:
            edges = np.unique(np.append(edges, s_mode))
        unit_nodes = legendre.leggauss(_NODES_PER_PANEL)[0]
        for _ in range(_MAX_BISECTIONS):
            half = 0.5 * np.diff(edges)
            centre = 0.5 * (edges[1:] + edges[:-1])
            s = centre[:, None] + half[:, None] * unit_nodes
            values = np.concatenate(
                [
                    self._log_integrand(s.ravel())[0].reshape(s.shape),
                    self._log_integrand(edges[:-1])[0][:, None],
                    self._log_integrand(edges[1:])[0][:, None],
                ],
                axis=1,
            )
            finite = np.isfinite(values)
            highest = np.where(finite, values, -np.inf).max(axis=1)
            lowest = np.where(finite, values, np.inf).min(axis=1)
            peak = highest.max()
            split = (highest > peak - LOG_CUTOFF) & (highest - lowest > _PANEL_VARIATION)
            split &= half > 1e-15 * np.maximum(np.abs(centre), 1.0)
            if not np.any(split):
                break
            edges = np.sort(np.concatenate([edges, centre[split]]))
        return edges

    def _build_quadrature(self, s_start: float, s_stop: float, s_mode: float) -> None:
        """Composite Gauss-Legendre nodes, normalised weights and CDF polynomials."""
        edges = self._panel_edges_for(s_start, s_stop, s_mode)
        unit_nodes, unit_weights = legendre.leggauss(_NODES_PER_PANEL)
        half = 0.5 * np.diff(edges)
        centre = 0.5 * (edges[1:] + edges[:-1])
        s = centre[:, None] + half[:, None] * unit_nodes  # (panels, nodes)
        log_density, tau = self._log_integrand(s.ravel())
        log_weights = log_density + np.log((half[:, None] * unit_weights).ravel())
        log_norm = special.logsumexp(log_weights)
        self._log_norm = float(log_norm)  # log of the integral of prior x likelihood
        self._tau_nodes = tau
        self._weights = np.exp(log_weights - log_norm)  # posterior mass of each node
        # Density of s at the nodes, expanded in Legendre polynomials on each panel
        # (the discrete transform is exact for the interpolating polynomial).
        density = np.exp(log_density - log_norm).reshape(s.shape)
        degree = np.arange(_NODES_PER_PANEL)
        transform = legendre.legvander(unit_nodes, _NODES_PER_PANEL - 1)
        transform = transform * unit_weights[:, None] * (degree + 0.5)
        self._panel_coefficients = density @ transform
        self._panel_edges = edges
        self._panel_half = half
        panel_mass = 2.0 * half * self._panel_coefficients[:, 0]
        cumulative = np.concatenate([[0.0], np.cumsum(panel_mass)])
        self._panel_cdf = cumulative / cumulative[-1]
        self._node_moments = self._conditionals(tau)

    def _set_moments(self, finite_order: int) -> None:
        """Laws of total expectation and variance over the posterior of tau."""
        w = self._weights
        tau = self._tau_nodes
        c = self._node_moments
        tau_mean = float(w @ tau) if finite_order >= 1 else np.inf
        tau_sd = float(np.sqrt(w @ (tau - tau_mean) ** 2)) if finite_order >= 2 else np.inf
        mu_mean = float(w @ c["mu_mean"])
        mu_var = float(w @ (c["mu_var"] + (c["mu_mean"] - mu_mean) ** 2))
        if self.mu_prior_sd is None and finite_order < 2:
            mu_var = np.inf  # Var(mu | tau, y) grows like tau**2 / J under a flat prior
        theta_mean = w @ c["theta_mean"]
        theta_var = w @ (c["theta_var"] + (c["theta_mean"] - theta_mean) ** 2)
        theta_mean.setflags(write=False)
        theta_sd = np.sqrt(theta_var)
        theta_sd.setflags(write=False)
        self.mean: Mapping[str, Any] = MappingProxyType(
            {"mu": mu_mean, "tau": tau_mean, "theta": theta_mean}
        )
        self.sd: Mapping[str, Any] = MappingProxyType(
            {"mu": float(np.sqrt(mu_var)), "tau": tau_sd, "theta": theta_sd}
        )
        significant = w > _MIN_WEIGHT
        self._mixture = {
            "weight": w[significant],
            "mu_mean": c["mu_mean"][significant],
            "mu_sd": np.sqrt(c["mu_var"][significant]),
            "theta_mean": c["theta_mean"][significant],
            "theta_sd": np.sqrt(c["theta_var"][significant]),
        }

    # ------------------------------------------------------------------ tau CDF

    def _tau_cdf_panel(self, panel: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """CDF of tau and its derivative in t at local coordinates t in [-1, 1] of panels."""
        values = legendre.legvander(t, _NODES_PER_PANEL)  # P_0 .. P_m at t
        degree = np.arange(1, _NODES_PER_PANEL)
        antiderivative = np.empty((t.size, _NODES_PER_PANEL))
        antiderivative[:, 0] = t + 1.0
        antiderivative[:, 1:] = (values[:, 2:] - values[:, :-2]) / (2 * degree + 1)
        coefficients = self._panel_coefficients[panel] * self._panel_half[panel, None]
        cdf = self._panel_cdf[panel] + np.sum(coefficients * antiderivative, axis=1)
        slope = np.sum(coefficients * values[:, :-1], axis=1)
        return cdf, slope

    def _tau_cdf(self, tau: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            s = np.log(tau - self._lower)
        edges = self._panel_edges
        result = np.where(s >= edges[-1], 1.0, 0.0)
        inside = (s > edges[0]) & (s < edges[-1])
        panel = np.clip(np.searchsorted(edges, s[inside], side="right") - 1, 0, edges.size - 2)
        t = (s[inside] - 0.5 * (edges[panel] + edges[panel + 1])) / self._panel_half[panel]
        result[inside] = np.clip(self._tau_cdf_panel(panel, t)[0], 0.0, 1.0)
        return result

    def _tau_quantile(self, q: np.ndarray) -> np.ndarray:
        panel = np.clip(
            np.searchsorted(self._panel_cdf, q, side="right") - 1, 0, self._panel_half.size - 1
        )
        low_cdf, high_cdf = self._panel_cdf[panel], self._panel_cdf[panel + 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            start = np.where(high_cdf > low_cdf, (q - low_cdf) / (high_cdf - low_cdf), 0.5)
        t = solve_increasing(
            lambda x, index: self._tau_cdf_panel(panel[index], x),
            q,
            np.full(q.shape, -1.0),
            np.full(q.shape, 1.0),
            np.clip(2.0 * start - 1.0, -1.0, 1.0),
        )
        s = 0.5 * (self._panel_edges[panel] + self._panel_edges[panel + 1])
        tau = self._lower + np.exp(s + self._panel_half[panel] * t)
        tau = np.minimum(tau, self._upper)
        tau[q <= 0] = self._lower
        tau[q >= 1] = self._upper
        return tau

    # ------------------------------------------------------------------ public API

    def quadrature(self) -> Mapping[str, np.ndarray]:
        """The quadrature nodes of tau, their posterior weights and the conditionals there.

        Every marginal of this posterior is a mixture over these nodes: for instance the
        posterior predictive of a new group's estimate with standard error s is the
        mixture of Normal(``mu_mean``, sqrt(``mu_var`` + ``tau``**2 + s**2)) with weights
        ``weight`` (used by :func:`companion.exact.loo_log_predictive`).

        Returns
        -------
        Mapping
            Read-only arrays: ``"tau"`` and ``"weight"`` of shape (m,) (the weights sum to
            1), ``"mu_mean"`` and ``"mu_var"`` (m,), the moments of mu | tau, y at each
            node, and ``"theta_mean"`` and ``"theta_var"`` (m, J), those of theta_j | tau, y.

        Examples
        --------
        >>> posterior = normal_hierarchy([28.0, 8.0, -3.0], [15.0, 10.0, 16.0])
        >>> nodes = posterior.quadrature()
        >>> bool(abs(nodes["weight"].sum() - 1) < 1e-12), nodes["theta_mean"].shape[1]
        (True, 3)
        """
        arrays = {"tau": self._tau_nodes, "weight": self._weights, **self._node_moments}
        arrays.pop("log_likelihood")
        views = {name: array.view() for name, array in arrays.items()}
        for view in views.values():
            view.setflags(write=False)
        return MappingProxyType(views)

    def tau_density(self, tau_values: ArrayLike) -> np.ndarray:
        """Normalised posterior density p(tau | y), zero outside the prior's support.

        Parameters
        ----------
        tau_values : array_like
            Values of tau (a scalar or a 1-D array).

        Returns
        -------
        numpy.ndarray
            The density at each value (shape of ``tau_values`` as a 1-D array).
        """
        tau = as_finite_array(tau_values, "tau_values", allow_bool=False)
        density = np.zeros(tau.shape)
        inside = (tau >= self._lower) & (tau <= self._upper)
        if np.any(inside):
            with np.errstate(divide="ignore"):
                log_prior = self.tau_prior.logpdf(tau[inside])
            log_density = log_prior + self._conditionals(tau[inside])["log_likelihood"]
            density[inside] = np.exp(log_density - self._log_norm)
        return density

    def conditional(self, tau: float) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
        """Posterior means and sds of mu and theta given tau (mu integrated out for theta).

        mu | tau, y ~ Normal(mu_hat, V_mu) (BDA3 eqs 5.20) and
        theta_j | tau, y has mean B_j mu_hat + (1 - B_j) y_j and variance
        (1 - B_j) sigma_j**2 + B_j**2 V_mu with B_j = sigma_j**2 / (sigma_j**2 + tau**2).

        Parameters
        ----------
        tau : float
            A value of the population standard deviation (>= 0).

        Returns
        -------
        mean, sd : Mapping
            Each with keys ``"mu"`` (float) and ``"theta"`` (array over groups).
        """
        tau = positive_scalar(tau, "tau", allow_zero=True)
        c = self._conditionals(np.array([tau]))
        mu_mean, mu_var = float(c["mu_mean"][0]), float(c["mu_var"][0])
        theta_mean, theta_sd_given_mu = partial_pooling(self.y, self.sigma, mu_mean, tau)
        shrink = self.sigma**2 / (self.sigma**2 + tau**2)
        theta_sd = np.sqrt(theta_sd_given_mu**2 + shrink**2 * mu_var)
        mean = MappingProxyType({"mu": mu_mean, "theta": theta_mean})
        sd = MappingProxyType({"mu": float(np.sqrt(mu_var)), "theta": theta_sd})
        return mean, sd

    def cdf(self, values: ArrayLike, *, parameter: Parameter) -> np.ndarray:
        """Marginal posterior CDF of mu, tau or each theta_j at the given values.

        Parameters
        ----------
        values : array_like
            Points at which to evaluate the CDF (scalar or 1-D).
        parameter : {"mu", "tau", "theta"}
            Which marginal.

        Returns
        -------
        numpy.ndarray
            Shape ``(len(values),)``; for ``"theta"``, ``(len(values), J)`` with
            column j the CDF of theta_j.
        """
        x = as_finite_array(values, "values", allow_bool=False)
        if parameter == "tau":
            return self._tau_cdf(x)
        m = self._mixture
        if parameter == "mu":
            return normal_mixture_cdf(x[:, None], m["mu_mean"], m["mu_sd"], m["weight"])[0]
        if parameter == "theta":
            z = (x[:, None, None] - m["theta_mean"].T) / m["theta_sd"].T
            return special.ndtr(z) @ m["weight"]
        raise ValueError(f"parameter must be 'mu', 'tau' or 'theta', got {parameter!r}")

    def quantile(self, q: float | ArrayLike) -> Mapping[str, Any]:
        """Marginal posterior quantiles of mu, tau and each theta_j.

        tau is inverted from its quadrature CDF; mu and theta_j, whose marginals are
        mixtures of Normals over tau, by a safeguarded Newton search on the mixture CDF.

        Parameters
        ----------
        q : float or array_like
            Probabilities in [0, 1].

        Returns
        -------
        Mapping
            ``"mu"`` and ``"tau"``: a float for scalar ``q``, else shape ``(len(q),)``;
            ``"theta"``: shape ``(J,)`` for scalar ``q``, else ``(len(q), J)``.
        """
        scalar = np.ndim(q) == 0
        q = probabilities(q, "q")
        tau = self._tau_quantile(q)
        m = self._mixture
        mu = normal_mixture_quantile(q, m["mu_mean"][None], m["mu_sd"][None], m["weight"])
        n_groups = self.y.size
        theta = normal_mixture_quantile(
            np.repeat(q, n_groups),
            np.tile(m["theta_mean"].T, (q.size, 1)),
            np.tile(m["theta_sd"].T, (q.size, 1)),
            m["weight"],
        ).reshape(q.size, n_groups)
        if scalar:
            return MappingProxyType({"mu": float(mu[0]), "tau": float(tau[0]), "theta": theta[0]})
        return MappingProxyType({"mu": mu, "tau": tau, "theta": theta})

    def sample(self, n: int, *, rng: np.random.Generator | int) -> dict[str, np.ndarray]:
        """Independent exact draws from the joint posterior.

        tau is drawn by inverting its CDF (the quadrature's interpolating polynomial on
        each panel), then mu | tau, y and theta | mu, tau, y from their Normal conditionals.

        Parameters
        ----------
        n : int
            Number of draws (>= 1).
        rng : numpy.random.Generator or int
            Random number generator, or a seed for :func:`numpy.random.default_rng`.

        Returns
        -------
        dict
            ``{"mu": (n,), "tau": (n,), "theta": (n, J)}``.
        """
        n = positive_integer(n, "n")
        key = (n, _seed_key(rng))
        rng = random_generator(rng, "rng")
        remembered = self.__dict__.setdefault("_seeded_draws", {})
        seeded = key[1] is not None
        if key not in remembered:
            tau = self._tau_quantile(rng.random(n))
            c = self._conditionals(tau)
            mu = rng.normal(c["mu_mean"], np.sqrt(c["mu_var"]))
            variance = self.sigma**2 + tau[:, None] ** 2
            shrink = self.sigma**2 / variance
            keep = tau[:, None] ** 2 / variance
            theta = rng.normal(shrink * mu[:, None] + keep * self.y, np.sqrt(keep) * self.sigma)
            draws = {"mu": mu, "tau": tau, "theta": theta}
            if not seeded:
                return draws
            if len(remembered) >= 4:  # draws for a seed are remembered (a few, for speed)
                remembered.pop(next(iter(remembered)))
            remembered[key] = draws
        return {name: values.copy() for name, values in remembered[key].items()}

    def expect(self, function: Callable[[np.ndarray, np.ndarray], ArrayLike]) -> float | np.ndarray:
        """Posterior expectation of a function of the hyperparameters, E[f(mu, tau) | y].

        Over the quadrature nodes of tau, and at each node by a 24-point Gauss-Hermite
        rule over mu | tau, y, which is Normal (exact for polynomials in mu of degree up
        to 47). The nodes cover tau only where its posterior is not negligible, so an
        expectation that does not exist (E[tau] under a half-Cauchy prior with little
        data) comes out finite: check ``mean``, which says ``inf``.

        Parameters
        ----------
        function : callable
            ``function(mu, tau)``, evaluated on two arrays of quadrature points (same
            shape): elementwise for a scalar function; a function with several values
            per point puts them on extra trailing axes.

        Returns
        -------
        float or numpy.ndarray
            The expectation: a float for a scalar function, else an array of the
            trailing shape (:class:`companion.exact.HasExpectations`).

        Examples
        --------
        >>> posterior = normal_hierarchy([28.0, 8.0, -3.0], [15.0, 10.0, 16.0])
        >>> probability = posterior.expect(lambda mu, tau: tau > 10)  # P(tau > 10 | y)
        >>> type(probability).__name__, bool(0 < probability < 1)
        ('float', True)
        """
        c = self._node_moments
        mu = c["mu_mean"][:, None] + np.sqrt(c["mu_var"])[:, None] * _MU_NODES
        tau = np.broadcast_to(self._tau_nodes[:, None], mu.shape)
        weights = self._weights[:, None] * _MU_WEIGHTS
        return expectation(weights, function(mu, tau))

    def __repr__(self) -> str:
        prior_mu = (
            "flat"
            if self.mu_prior_sd is None
            else f"Normal({self.mu_prior_mean:g}, {self.mu_prior_sd:g})"
        )
        return (
            f"NormalHierarchyPosterior(J={self.y.size}, mu ~ {prior_mu}, "
            f"tau ~ {describe(self.tau_prior)}, mean mu={self.mean['mu']:.4g}, "
            f"mean tau={self.mean['tau']:.4g})"
        )


@memoized
def normal_hierarchy(
    y: ArrayLike,
    sigma: ArrayLike,
    *,
    mu_prior_mean: float = NORMAL.mu_prior_mean,
    mu_prior_sd: float | None = NORMAL.mu_prior_sd,
    tau_prior: Any = None,
) -> NormalHierarchyPosterior:
    """Exact posterior of the Normal-Normal hierarchical model with known sigma_j.

    The model is mu ~ Normal(``mu_prior_mean``, ``mu_prior_sd``) (flat if ``mu_prior_sd``
    is None), tau ~ ``tau_prior``, theta_j ~ Normal(mu, tau) and
    y_j ~ Normal(theta_j, sigma_j). theta and mu are integrated out analytically: given
    tau, y_j ~ Normal(mu, sqrt(sigma_j**2 + tau**2)), the Normal prior on mu counts as
    one more observation, mu | tau, y is Normal and theta_j | mu, tau, y is Normal with
    shrinkage factor B_j = sigma_j**2 / (sigma_j**2 + tau**2). The posterior of tau is
    integrated numerically: composite Gauss-Legendre quadrature in log(tau - a), where a
    is the lower end of the prior's support, over a range chosen by scanning the
    integrand so that the neglected tails (including the polynomial tail left by a
    half-Cauchy prior) are below 1e-17 of the peak, and never past the prior's support.
    Marginal moments follow from the laws of total expectation and variance over tau.

    Parameters
    ----------
    y : array_like
        Group estimates y_j (finite).
    sigma : array_like
        Their known standard errors sigma_j (> 0), same length as ``y``.
    mu_prior_mean : float, default 0.0
        Mean of the Normal prior on mu (ignored when the prior is flat).
    mu_prior_sd : float or None, default 20.0
        Standard deviation (> 0) of the Normal prior on mu; None gives a flat prior.
    tau_prior : frozen scipy.stats continuous distribution, optional
        Prior of tau; its support must lie in [0, inf). Default
        ``scipy.stats.halfnorm(scale=10)``. Heavy tails (``halfcauchy``) and bounded
        supports (``uniform(0, 100)``) are both handled.

    Returns
    -------
    NormalHierarchyPosterior
        With ``.mean`` and ``.sd`` (mappings over ``"mu"``, ``"tau"``, ``"theta"``),
        ``.quantile(q)``, ``.cdf(values, parameter=...)``, ``.tau_density(values)``,
        ``.conditional(tau)``, ``.sample(n, rng=...)`` (iid exact draws),
        ``.expect(f)`` for functions of (mu, tau) and ``.quadrature()`` (the nodes).

    Raises
    ------
    ValueError
        If ``sigma`` is not positive, data are NaN/inf, empty or of different lengths,
        ``mu_prior_sd`` <= 0, or the support of ``tau_prior`` extends below zero.
    TypeError
        If ``tau_prior`` is not a frozen scipy.stats continuous distribution.

    References
    ----------
    Gelman, A., Carlin, J. B., Stern, H. S., Dunson, D. B., Vehtari, A. and Rubin, D. B.
    (2013). *Bayesian Data Analysis*, 3rd ed., Section 5.4 (eqs 5.17-5.21).
    Rubin, D. B. (1981). Estimation in parallel randomized experiments. *Journal of
    Educational Statistics*, 6(4), 377-401.

    Examples
    --------
    >>> from scipy import stats
    >>> posterior = normal_hierarchy(
    ...     [28, 8, -3, 7, -1, 1, 18, 12],
    ...     [15, 10, 16, 11, 9, 11, 10, 18],
    ...     tau_prior=stats.halfnorm(scale=10),
    ... )
    >>> round(posterior.mean["tau"], 2), round(posterior.mean["mu"], 2)
    (4.81, 7.45)
    >>> posterior.quantile([0.05, 0.95])["theta"].shape
    (2, 8)
    >>> draws = posterior.sample(1000, rng=1)
    >>> draws["theta"].shape
    (1000, 8)
    """
    return NormalHierarchyPosterior(
        y, sigma, mu_prior_mean=mu_prior_mean, mu_prior_sd=mu_prior_sd, tau_prior=tau_prior
    )


def _seed_key(seed: Any) -> int | tuple[int, ...] | None:
    """A hashable stand-in for an int seed or a sequence of them, else None (a generator,
    or anything :func:`companion._checks.random_generator` refuses)."""
    seed = seed.tolist() if isinstance(seed, np.ndarray) else seed
    entries = seed if isinstance(seed, list | tuple) else [seed]
    if not all(isinstance(s, int | np.integer) and not isinstance(s, bool) for s in entries):
        return None
    return tuple(int(s) for s in entries) if isinstance(seed, list | tuple) else int(seed)
