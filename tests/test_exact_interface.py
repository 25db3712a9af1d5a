"""The common result interface of companion.exact, checked class by class on tiny cases.

Every exact posterior satisfies ``ExactPosterior`` (read-only ``mean`` and ``sd`` mappings:
a float per scalar parameter, a read-only array per array parameter) and, where its family
computes them, ``HasQuantiles``, ``HasDraws`` and ``HasExpectations`` with one signature
and one return convention. Expected values come from routes that share none of the
module's algebra: the Dirichlet and Gamma formulas, and brute-force quadrature of prior x
likelihood written here from each model's definition (Gauss-Legendre product rules on
boxes that hold all but a negligible part of the mass, each checked converged by doubling
its nodes when it was chosen).
"""

import inspect
from collections.abc import Callable

import numpy as np
import pytest
from scipy import special, stats

from companion import exact
from companion.exact import ExactPosterior, HasDraws, HasExpectations, HasQuantiles

CAPABILITIES = (HasQuantiles, HasDraws, HasExpectations)


def check_interface(posterior, *, scalars: dict[str, None], arrays: dict[str, tuple]) -> None:
    """``mean`` and ``sd`` are read-only mappings with a float per scalar parameter and a
    read-only float array of the stated shape per array parameter."""
    assert isinstance(posterior, ExactPosterior)
    for moments in (posterior.mean, posterior.sd):
        assert set(moments) == set(scalars) | set(arrays)
        with pytest.raises(TypeError):
            moments["new"] = 1.0  # a read-only mapping
        for name in scalars:
            assert type(moments[name]) is float, name
        for name, shape in arrays.items():
            value = moments[name]
            assert isinstance(value, np.ndarray) and value.dtype == float, name
            assert value.shape == shape and not value.flags.writeable, name


def check_capabilities(posterior, expected: set) -> None:
    """The class offers exactly the capabilities its family has, with the shared signatures."""
    offered = {protocol for protocol in CAPABILITIES if isinstance(posterior, protocol)}
    assert offered == expected
    for protocol in offered:
        for name in ("quantile", "sample", "expect"):
            if hasattr(protocol, name):
                ours = inspect.signature(getattr(type(posterior), name))
                shared = inspect.signature(getattr(protocol, name))
                assert list(ours.parameters) == list(shared.parameters), name
                kinds = [p.kind for p in ours.parameters.values()]
                assert kinds == [p.kind for p in shared.parameters.values()], name


def check_quantiles(posterior, *, scalars, arrays) -> None:
    """Scalar q keeps each parameter's shape (a float for a scalar parameter); a 1-D q adds
    a leading axis of length len(q)."""
    single = posterior.quantile(0.5)
    several = posterior.quantile([0.1, 0.5, 0.9])
    assert set(single) == set(several) == set(scalars) | set(arrays)
    for name in scalars:
        assert isinstance(single[name], float)
        assert several[name].shape == (3,)
    for name, shape in arrays.items():
        assert np.shape(single[name]) == shape
        assert several[name].shape == (3, *shape)
        np.testing.assert_allclose(several[name][1], single[name], rtol=1e-12)
    for name in several:
        assert np.all(np.diff(several[name], axis=0) > 0)


def check_draws(posterior, *, scalars, arrays) -> None:
    """sample(n, rng=...) gives a new dict of arrays (n, *shape); a seed and a Generator
    seeded alike give the same draws."""
    draws = posterior.sample(7, rng=3)
    again = posterior.sample(7, rng=np.random.default_rng(3))
    assert isinstance(draws, dict) and set(draws) == set(scalars) | set(arrays)
    for name in scalars:
        assert draws[name].shape == (7,)
    for name, shape in arrays.items():
        assert draws[name].shape == (7, *shape)
    for name in draws:
        np.testing.assert_array_equal(draws[name], again[name])


def check_expectations(posterior, hyperparameters: Callable, n_values: int) -> None:
    """expect(f) is a float for a scalar f and an array of the trailing shape otherwise; a
    constant integrates to 1."""
    one = posterior.expect(lambda *args: np.ones_like(args[0]))
    assert type(one) is float and one == pytest.approx(1.0, abs=1e-12)
    several = posterior.expect(hyperparameters)
    assert isinstance(several, np.ndarray) and several.shape == (n_values,)


def legendre_rule(low: float, high: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [low, high]."""
    nodes, weights = np.polynomial.legendre.leggauss(n)
    return 0.5 * (high - low) * nodes + 0.5 * (high + low), 0.5 * (high - low) * weights


class Grid:
    """A normalised posterior on a product Gauss-Legendre grid over two parameters."""

    def __init__(self, first, second, density: Callable) -> None:
        (a, wa), (b, wb) = first, second
        self.a, self.b = np.meshgrid(a, b, indexing="ij")
        mass = wa[:, None] * wb[None, :] * density(self.a, self.b)
        self.evidence = float(mass.sum())
        self.weights = mass / self.evidence

    def mean(self, values: np.ndarray) -> float:
        return float(np.sum(self.weights * values))

    def sd(self, values: np.ndarray) -> float:
        return float(np.sqrt(self.mean((values - self.mean(values)) ** 2)))


# ------------------------------------------------------------------ Normal hierarchy

NORMAL_Y = np.array([1.0, 4.0, -2.0])
NORMAL_SIGMA = np.array([1.0, 2.0, 1.5])
MU_PRIOR_SD = 5.0
TAU_PRIOR = stats.halfnorm(scale=3.0)
# mu in [-40, 40] and tau in [0, 30] leave out less than 1e-14 of the mass; 200 x 120
# nodes agree with 400 x 240 to 1e-14 relative.
MU_RULE, TAU_RULE = legendre_rule(-40.0, 40.0, 200), legendre_rule(0.0, 30.0, 120)


def normal_joint(mu: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """p(mu) p(tau) prod_j Normal(y_j | mu, sqrt(sigma_j**2 + tau**2)): theta integrated."""
    spread = np.sqrt(NORMAL_SIGMA**2 + tau[..., None] ** 2)
    likelihood = np.prod(stats.norm.pdf(NORMAL_Y, mu[..., None], spread), axis=-1)
    return stats.norm.pdf(mu, 0.0, MU_PRIOR_SD) * TAU_PRIOR.pdf(tau) * likelihood


@pytest.fixture(scope="module")
def normal_posterior():
    return exact.normal_hierarchy(
        NORMAL_Y, NORMAL_SIGMA, mu_prior_sd=MU_PRIOR_SD, tau_prior=TAU_PRIOR
    )


def test_normal_hierarchy_interface(normal_posterior):
    """NormalHierarchyPosterior: floats for mu and tau, read-only (J,) arrays for theta;
    quantile, sample and expect with the shared conventions."""
    scalars, arrays = dict.fromkeys(["mu", "tau"]), {"theta": (3,)}
    check_interface(normal_posterior, scalars=scalars, arrays=arrays)
    check_capabilities(normal_posterior, set(CAPABILITIES))
    check_quantiles(normal_posterior, scalars=scalars, arrays=arrays)
    check_draws(normal_posterior, scalars=scalars, arrays=arrays)
    check_expectations(normal_posterior, lambda mu, tau: np.stack([mu, tau], axis=-1), 2)


def test_normal_hierarchy_values_match_brute_force_quadrature(normal_posterior):
    """mean, sd and expect agree with a Gauss-Legendre grid over (mu, tau) of the model's
    joint density to 1e-9 relative, and the median of tau has posterior CDF 1/2."""
    grid = Grid(MU_RULE, TAU_RULE, normal_joint)
    mu, tau, rtol = grid.a, grid.b, 1e-9
    assert normal_posterior.mean["mu"] == pytest.approx(grid.mean(mu), rel=rtol)
    assert normal_posterior.sd["mu"] == pytest.approx(grid.sd(mu), rel=rtol)
    assert normal_posterior.mean["tau"] == pytest.approx(grid.mean(tau), rel=rtol)
    assert normal_posterior.sd["tau"] == pytest.approx(grid.sd(tau), rel=rtol)
    # theta_1 | mu, tau, y is Normal with this mean (one observation, conjugate)
    s2 = NORMAL_SIGMA[0] ** 2
    theta = (tau**2 * NORMAL_Y[0] + s2 * mu) / (s2 + tau**2)
    assert normal_posterior.mean["theta"][0] == pytest.approx(grid.mean(theta), rel=rtol)
    assert normal_posterior.expect(lambda mu, tau: mu) == pytest.approx(grid.mean(mu), rel=rtol)
    squares = normal_posterior.expect(lambda mu, tau: np.stack([mu**2, tau**2], axis=-1))
    np.testing.assert_allclose(squares, [grid.mean(mu**2), grid.mean(tau**2)], rtol=rtol)
    median = normal_posterior.quantile(0.5)["tau"]
    below = Grid(MU_RULE, legendre_rule(0.0, median, 120), normal_joint)
    assert below.evidence / grid.evidence == pytest.approx(0.5, abs=1e-9)


# ------------------------------------------------------------------ conjugate


def test_dirichlet_posterior_interface_and_closed_forms():
    """DirichletPosterior: read-only (groups, categories) arrays equal to the Dirichlet
    formulas a_k / a_0 and sqrt(a_k (a_0 - a_k) / (a_0**2 (a_0 + 1))); quantiles and draws;
    no expect."""
    counts = np.array([[3, 1, 0], [2, 2, 5]])
    posterior = exact.dirichlet_no_pooling(counts, prior=1.0)
    arrays = {"pi": (2, 3)}
    check_interface(posterior, scalars={}, arrays=arrays)
    check_capabilities(posterior, {HasQuantiles, HasDraws})
    check_quantiles(posterior, scalars={}, arrays=arrays)
    check_draws(posterior, scalars={}, arrays=arrays)
    a = counts + 1.0
    a0 = a.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(posterior.mean["pi"], a / a0, rtol=1e-14)
    np.testing.assert_allclose(
        posterior.sd["pi"], np.sqrt(a * (a0 - a) / (a0**2 * (a0 + 1))), rtol=1e-13
    )
    # The median of pi_rk is where the regularised incomplete Beta function is 1/2.
    median = posterior.quantile(0.5)["pi"]
    np.testing.assert_allclose(special.betainc(a, a0 - a, median), 0.5, atol=1e-12)
    assert np.allclose(posterior.sample(5, rng=0)["pi"].sum(axis=-1), 1.0)


def test_gamma_posterior_interface_and_closed_forms():
    """GammaPosterior: read-only (groups,) arrays equal to (alpha + y) / (beta + e) and
    sqrt(alpha + y) / (beta + e); quantiles and draws; no expect."""
    counts, exposure = np.array([3, 0, 12]), np.array([2.0, 1.0, 4.0])
    posterior = exact.gamma_poisson_no_pooling(counts, exposure, alpha=2.0, beta=0.5)
    arrays = {"rate": (3,)}
    check_interface(posterior, scalars={}, arrays=arrays)
    check_capabilities(posterior, {HasQuantiles, HasDraws})
    check_quantiles(posterior, scalars={}, arrays=arrays)
    check_draws(posterior, scalars={}, arrays=arrays)
    np.testing.assert_allclose(posterior.mean["rate"], (2.0 + counts) / (0.5 + exposure))
    np.testing.assert_allclose(posterior.sd["rate"], np.sqrt(2.0 + counts) / (0.5 + exposure))
    median = posterior.quantile(0.5)["rate"]
    np.testing.assert_allclose(
        special.gammainc(2.0 + counts, (0.5 + exposure) * median), 0.5, atol=1e-12
    )


# ------------------------------------------------------------------ GLM hierarchy

POISSON_COUNTS = np.array([3.0, 7.0])
POISSON_EXPOSURE = np.array([1.0, 2.0])
# mu in [-6, 6], tau in [0, 5.5] and the standardised group effect z in [-9, 9] leave out
# less than 1e-8 of the mass; 60 x 60 Gauss-Legendre nodes and 401 trapezoid points in z
# agree with 120 x 120 and 1201 to 4e-8 relative.
Z = np.linspace(-9.0, 9.0, 401)
Z_WEIGHTS = np.full(Z.size, Z[1] - Z[0]) * stats.norm.pdf(Z)
Z_WEIGHTS[[0, -1]] /= 2


def poisson_joint(mu: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """p(mu) p(tau) prod_j integral of Poisson(y_j | e_j exp(theta)) Normal(theta | mu, tau)
    over theta = mu + tau z (trapezoid rule in z), with mu ~ Normal(0, 1) and
    tau ~ HalfNormal(1), the defaults."""
    theta = mu[..., None, None] + tau[..., None, None] * Z[:, None]
    rate = POISSON_EXPOSURE * np.exp(theta)
    log_poisson = POISSON_COUNTS * np.log(rate) - rate - special.gammaln(POISSON_COUNTS + 1)
    marginal = np.sum(np.exp(log_poisson) * Z_WEIGHTS[:, None], axis=-2)
    return stats.norm.pdf(mu) * stats.halfnorm.pdf(tau) * np.prod(marginal, axis=-1)


def test_link_normal_hierarchy_interface_and_values():
    """LinkNormalHierarchyPosterior: floats for mu and tau, read-only (J,) arrays for
    theta and rate; expect only; mean, sd and expect of mu and tau agree with brute-force
    quadrature over (mu, tau, theta) to 1e-6 relative."""
    posterior = exact.hierarchical_poisson(POISSON_COUNTS, POISSON_EXPOSURE)
    check_interface(
        posterior, scalars=dict.fromkeys(["mu", "tau"]), arrays={"theta": (2,), "rate": (2,)}
    )
    check_capabilities(posterior, {HasExpectations})
    check_expectations(posterior, lambda mu, tau: np.stack([mu, tau], axis=-1), 2)
    grid = Grid(legendre_rule(-6.0, 6.0, 60), legendre_rule(0.0, 5.5, 60), poisson_joint)
    mu, tau = grid.a, grid.b
    assert posterior.mean["mu"] == pytest.approx(grid.mean(mu), rel=1e-6)
    assert posterior.mean["tau"] == pytest.approx(grid.mean(tau), rel=1e-6)
    assert posterior.sd["mu"] == pytest.approx(grid.sd(mu), rel=1e-6)
    assert posterior.sd["tau"] == pytest.approx(grid.sd(tau), rel=1e-6)
    both = posterior.expect(lambda mu, tau: np.stack([mu, tau], axis=-1))
    np.testing.assert_allclose(both, [grid.mean(mu), grid.mean(tau)], rtol=1e-6)


# ------------------------------------------------------------------ Dirichlet hierarchy

DM_COUNTS = np.array([[3, 5], [6, 2]])


def dm_joint(log_alpha: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Exponential(1) on alpha (with the Jacobian alpha of log alpha), Uniform on pi0_1,
    and a Beta-Binomial likelihood for each group's first category."""
    alpha = np.exp(log_alpha)[..., None]
    a, b = alpha * p[..., None], alpha * (1.0 - p[..., None])
    n, k = DM_COUNTS.sum(axis=1), DM_COUNTS[:, 0]
    log_likelihood = (
        special.gammaln(n + 1)
        - special.gammaln(k + 1)
        - special.gammaln(n - k + 1)
        + special.betaln(k + a, n - k + b)
        - special.betaln(a, b)
    ).sum(axis=-1)
    return np.exp(log_likelihood - alpha[..., 0] + log_alpha)


def test_dirichlet_hierarchy_interface_and_values():
    """DirichletHierarchyPosterior: a float for alpha, read-only arrays for pi0 and pi;
    expect only, a float for a scalar function (it was a 0-d array); E[alpha], E[pi0_1]
    and E[pi_11] agree with brute-force quadrature over (log alpha, pi0_1) to 1e-5."""
    posterior = exact.dirichlet_multinomial_hierarchy(DM_COUNTS)
    check_interface(posterior, scalars=dict.fromkeys(["alpha"]), arrays={"pi0": (2,), "pi": (2, 2)})
    check_capabilities(posterior, {HasExpectations})
    check_expectations(posterior, lambda alpha, pi0: pi0, 2)
    # log alpha in [-15, 8] and pi0_1 in [0, 1]; 100 x 60 nodes agree with 400 x 240 to 1e-9.
    grid = Grid(legendre_rule(-15.0, 8.0, 100), legendre_rule(0.0, 1.0, 60), dm_joint)
    alpha, p = np.exp(grid.a), grid.b
    # pi_11 | alpha, pi0, y ~ Beta: mean (alpha pi0_1 + y_11) / (alpha + n_1)
    pi = (alpha * p + DM_COUNTS[0, 0]) / (alpha + DM_COUNTS[0].sum())
    assert posterior.mean["alpha"] == pytest.approx(grid.mean(alpha), rel=1e-5)
    assert posterior.mean["pi0"][0] == pytest.approx(grid.mean(p), rel=1e-5)
    assert posterior.mean["pi"][0, 0] == pytest.approx(grid.mean(pi), rel=1e-5)
    expected_alpha = posterior.expect(lambda alpha, pi0: alpha)
    assert type(expected_alpha) is float
    assert expected_alpha == pytest.approx(grid.mean(alpha), rel=1e-5)
