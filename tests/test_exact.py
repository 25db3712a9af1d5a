"""Tests of companion.exact against routes that do not share its algebra.

The main reference is a brute-force 2-D quadrature over (mu, tau) of the unnormalised joint
posterior p(mu) p(tau) prod_j Normal(y_j | mu, sqrt(sigma_j**2 + tau**2)), written here from
the model's definition (theta integrated out only, mu and tau on a dense grid, Simpson's rule
in both directions). Doubling the range and the resolution of each grid below changes the
brute-force moments by less than 1e-6 relative (checked when the grids were chosen), so
comparisons at a relative tolerance of 1e-5 leave a tenfold margin and still check the
module's 1e-4 accuracy requirement. The other references are closed forms: conjugate Normal
algebra, generic multivariate-Normal conditioning, and the prior itself when the data say
nothing about tau.
"""

from dataclasses import dataclass

import numpy as np
import pytest
from scipy import integrate, interpolate, special, stats

from companion import data
from companion.exact import NormalHierarchyPosterior, normal_hierarchy

RTOL = 1e-5  # brute-force error < 1e-6 relative; see the module docstring
# The brute-force CDF of theta_j is less accurate: as tau -> 0, theta_j | mu, tau is a point
# mass at mu, so its CDF is a step in mu that Simpson's rule on the mu grid (step 0.2)
# resolves only to O(step); refining that grid 16-fold moves it by up to 3e-5.
THETA_CDF_ATOL = 1e-4


@pytest.fixture(scope="module")
def schools() -> tuple[np.ndarray, np.ndarray]:
    frame = data.load_eight_schools()
    return frame["y"].to_numpy(), frame["sigma"].to_numpy()


@dataclass
class BruteForce:
    """Posterior on a dense (tau, mu) grid, normalised with Simpson's rule."""

    tau: np.ndarray
    mu: np.ndarray
    joint: np.ndarray  # normalised density on the grid, shape (len(tau), len(mu))
    y: np.ndarray
    sigma: np.ndarray

    def integrate(self, values: np.ndarray) -> float:
        inner = integrate.simpson(values * self.joint, x=self.mu, axis=1)
        return float(integrate.simpson(inner, x=self.tau))

    def mean_sd(self, values: np.ndarray) -> tuple[float, float]:
        mean = self.integrate(values)
        return mean, float(np.sqrt(self.integrate((values - mean) ** 2)))

    def theta_conditional(self, j: int) -> tuple[np.ndarray, np.ndarray]:
        """E and sd of theta_j given (mu, tau, y): BDA3 eq. 5.17 written without 1/tau."""
        tau2 = self.tau[:, None] ** 2
        s2 = self.sigma[j] ** 2
        mean = (tau2 * self.y[j] + s2 * self.mu[None, :]) / (s2 + tau2)
        sd = np.sqrt(s2 * tau2 / (s2 + tau2)) + 0 * self.mu[None, :]
        return mean, sd

    def tau_marginal(self) -> np.ndarray:
        return integrate.simpson(self.joint, x=self.mu, axis=1)

    def cdf_spline(self, parameter: str) -> interpolate.CubicSpline:
        """Marginal CDF of tau or mu: cumulative Simpson, then a cubic spline."""
        if parameter == "tau":
            grid, density = self.tau, self.tau_marginal()
        else:
            grid, density = self.mu, integrate.simpson(self.joint, x=self.tau, axis=0)
        cdf = integrate.cumulative_simpson(density, x=grid, initial=0.0)
        return interpolate.CubicSpline(grid, cdf / cdf[-1])

    def theta_cdf(self, j: int, x: float) -> float:
        mean, sd = self.theta_conditional(j)
        with np.errstate(divide="ignore", invalid="ignore"):
            # At tau = 0 theta_j = mu exactly: a step function instead of 0 / 0.
            cdf = np.where(sd > 0, special.ndtr((x - mean) / sd), 1.0 * (x >= mean))
        return self.integrate(cdf)


def brute_force(
    y: np.ndarray,
    sigma: np.ndarray,
    tau_prior,
    mu_prior_sd: float | None,
    *,
    tau_max: float,
    mu_limits: tuple[float, float],
    n_tau: int,
    n_mu: int,
) -> BruteForce:
    tau = np.linspace(tau_prior.support()[0], tau_max, n_tau)
    mu = np.linspace(*mu_limits, n_mu)
    log_joint = np.repeat(tau_prior.logpdf(tau)[:, None], n_mu, axis=1)
    if mu_prior_sd is not None:
        log_joint += stats.norm.logpdf(mu, 0.0, mu_prior_sd)[None, :]
    for y_j, sigma_j in zip(y, sigma, strict=True):
        variance = sigma_j**2 + tau[:, None] ** 2
        log_joint += -0.5 * np.log(2 * np.pi * variance) - 0.5 * (y_j - mu[None, :]) ** 2 / variance
    joint = np.exp(log_joint - log_joint.max())
    result = BruteForce(tau=tau, mu=mu, joint=joint, y=y, sigma=sigma)
    result.joint = joint / result.integrate(np.ones_like(joint))
    return result


# Grids chosen so that doubling range and resolution moves the moments by < 1e-6 relative.
# The half-Cauchy tails decay like tau**-10 (Normal prior on mu) or tau**-9 (flat prior),
# so truncating tau at 300 loses less than 1e-8 of the mass.
CASES = {
    "halfnormal": dict(
        tau_prior=stats.halfnorm(scale=10), mu_prior_sd=20.0, tau_max=100.0,
        mu_limits=(-60.0, 80.0), n_tau=1001, n_mu=701,
    ),
    "halfcauchy": dict(
        tau_prior=stats.halfcauchy(scale=25), mu_prior_sd=20.0, tau_max=300.0,
        mu_limits=(-80.0, 100.0), n_tau=1501, n_mu=901,
    ),
    "uniform": dict(
        tau_prior=stats.uniform(0, 100), mu_prior_sd=20.0, tau_max=100.0,
        mu_limits=(-80.0, 100.0), n_tau=1001, n_mu=901,
    ),
    "flat_mu_halfcauchy": dict(
        tau_prior=stats.halfcauchy(scale=25), mu_prior_sd=None, tau_max=300.0,
        mu_limits=(-150.0, 170.0), n_tau=1501, n_mu=1601,
    ),
}  # fmt: skip


@pytest.fixture(scope="module", params=list(CASES))
def case(request, schools) -> tuple[NormalHierarchyPosterior, BruteForce]:
    y, sigma = schools
    settings = dict(CASES[request.param])
    prior, mu_prior_sd = settings.pop("tau_prior"), settings.pop("mu_prior_sd")
    posterior = normal_hierarchy(y, sigma, tau_prior=prior, mu_prior_sd=mu_prior_sd)
    return posterior, brute_force(y, sigma, prior, mu_prior_sd, **settings)


@pytest.fixture(scope="module")
def halfnormal_case(schools) -> tuple[NormalHierarchyPosterior, BruteForce]:
    y, sigma = schools
    settings = dict(CASES["halfnormal"])
    prior, mu_prior_sd = settings.pop("tau_prior"), settings.pop("mu_prior_sd")
    posterior = normal_hierarchy(y, sigma, tau_prior=prior, mu_prior_sd=mu_prior_sd)
    return posterior, brute_force(y, sigma, prior, mu_prior_sd, **settings)


# --------------------------------------------------------------------------- moments


def test_moments_match_brute_force_quadrature(case):
    """Means and sds of mu and tau, and the theta means, equal the 2-D brute force."""
    posterior, brute = case
    mu_grid = np.broadcast_to(brute.mu[None, :], brute.joint.shape)
    tau_grid = np.broadcast_to(brute.tau[:, None], brute.joint.shape)
    mu_mean, mu_sd = brute.mean_sd(mu_grid)
    tau_mean, tau_sd = brute.mean_sd(tau_grid)
    theta_means = [brute.integrate(brute.theta_conditional(j)[0]) for j in range(8)]
    assert posterior.mean["mu"] == pytest.approx(mu_mean, rel=RTOL)
    assert posterior.sd["mu"] == pytest.approx(mu_sd, rel=RTOL)
    assert posterior.mean["tau"] == pytest.approx(tau_mean, rel=RTOL)
    assert posterior.sd["tau"] == pytest.approx(tau_sd, rel=RTOL)
    np.testing.assert_allclose(posterior.mean["theta"], theta_means, rtol=RTOL)


def test_theta_sd_matches_brute_force(halfnormal_case):
    """theta sds follow the law of total variance: brute force over (mu, tau) agrees."""
    posterior, brute = halfnormal_case
    sds = []
    for j in range(8):
        mean, sd = brute.theta_conditional(j)
        total_mean = brute.integrate(mean)
        sds.append(np.sqrt(brute.integrate(sd**2 + (mean - total_mean) ** 2)))
    np.testing.assert_allclose(posterior.sd["theta"], sds, rtol=RTOL)


def test_eight_schools_tau_mean_is_about_4_81(halfnormal_case):
    """The published-in-the-brief sanity value: E[tau | y] is about 4.81 (brute force too)."""
    posterior, brute = halfnormal_case
    tau_grid = np.broadcast_to(brute.tau[:, None], brute.joint.shape)
    assert brute.integrate(tau_grid) == pytest.approx(4.81, abs=0.005)
    assert posterior.mean["tau"] == pytest.approx(4.81, abs=0.005)


def test_default_prior_is_halfnormal_10_and_normal_0_20(schools):
    """Without options the priors are mu ~ Normal(0, 20) and tau ~ HalfNormal(10)."""
    y, sigma = schools
    default = normal_hierarchy(y, sigma)
    explicit = normal_hierarchy(
        y, sigma, mu_prior_mean=0.0, mu_prior_sd=20.0, tau_prior=stats.halfnorm(scale=10)
    )
    assert default.mean["tau"] == explicit.mean["tau"]
    assert default.y.tolist() == y.tolist() and default.sigma.tolist() == sigma.tolist()


# --------------------------------------------------------------------------- limits


def test_tau_near_zero_gives_complete_pooling(schools):
    """A prior with tau ~ 1e-6 pools completely: every theta_j has the conjugate mu posterior."""
    y, sigma = schools
    posterior = normal_hierarchy(
        y, sigma, mu_prior_mean=3.0, mu_prior_sd=20.0, tau_prior=stats.halfnorm(scale=1e-6)
    )
    precision = np.sum(1 / sigma**2) + 1 / 20.0**2
    pooled = (np.sum(y / sigma**2) + 3.0 / 20.0**2) / precision
    np.testing.assert_allclose(posterior.mean["theta"], pooled, rtol=1e-9)
    np.testing.assert_allclose(posterior.sd["theta"], precision**-0.5, rtol=1e-9)
    assert posterior.mean["mu"] == pytest.approx(pooled, rel=1e-12)
    assert posterior.sd["mu"] == pytest.approx(precision**-0.5, rel=1e-12)


def test_huge_tau_with_flat_mu_prior_gives_no_pooling(schools):
    """tau near 1e5 and a flat prior on mu leave each theta_j at y_j with sd sigma_j."""
    y, sigma = schools
    posterior = normal_hierarchy(
        y, sigma, mu_prior_sd=None, tau_prior=stats.uniform(loc=1e5, scale=1)
    )
    # B_j = sigma_j^2 / 1e10 < 4e-8, so the means move by less than 4e-8 * |y_j - mu| < 2e-6.
    np.testing.assert_allclose(posterior.mean["theta"], y, atol=2e-6)
    np.testing.assert_allclose(posterior.sd["theta"], sigma, rtol=1e-6)
    assert posterior.mean["tau"] == pytest.approx(1e5 + 0.5, abs=1e-4)


@pytest.mark.parametrize("n_groups", [1, 8])
def test_fixed_tau_matches_multivariate_normal_conditioning(schools, n_groups):
    """With tau pinned at 5, (mu, theta) | y is the Gaussian conditional of a linear model."""
    y, sigma = schools[0][:n_groups], schools[1][:n_groups]
    tau, m0, s0 = 5.0, 2.0, 20.0
    posterior = normal_hierarchy(
        y, sigma, mu_prior_mean=m0, mu_prior_sd=s0, tau_prior=stats.uniform(tau, 1e-9)
    )
    # Prior of x = (mu, theta_1..theta_J): theta = mu + eta with eta ~ N(0, tau^2 I).
    ones = np.ones(n_groups)
    prior_mean = np.concatenate([[m0], m0 * ones])
    prior_cov = np.zeros((n_groups + 1, n_groups + 1))
    prior_cov[0, 0] = s0**2
    prior_cov[0, 1:] = prior_cov[1:, 0] = s0**2
    prior_cov[1:, 1:] = s0**2 + tau**2 * np.eye(n_groups)
    observe = np.hstack([np.zeros((n_groups, 1)), np.eye(n_groups)])
    gain = (
        prior_cov @ observe.T @ np.linalg.inv(observe @ prior_cov @ observe.T + np.diag(sigma**2))
    )
    post_mean = prior_mean + gain @ (y - observe @ prior_mean)
    post_sd = np.sqrt(np.diag(prior_cov - gain @ observe @ prior_cov))
    assert posterior.mean["mu"] == pytest.approx(post_mean[0], rel=1e-8)
    assert posterior.sd["mu"] == pytest.approx(post_sd[0], rel=1e-8)
    np.testing.assert_allclose(posterior.mean["theta"], post_mean[1:], rtol=1e-8)
    np.testing.assert_allclose(posterior.sd["theta"], post_sd[1:], rtol=1e-8)
    cond_mean, cond_sd = posterior.conditional(tau)
    assert cond_mean["mu"] == pytest.approx(post_mean[0], rel=1e-12)
    np.testing.assert_allclose(cond_mean["theta"], post_mean[1:], rtol=1e-12)
    np.testing.assert_allclose(cond_sd["theta"], post_sd[1:], rtol=1e-12)


def test_conditional_on_tau_zero_is_the_precision_weighted_mean(schools):
    """conditional(0): every theta_j equals mu, whose posterior is the conjugate one."""
    y, sigma = schools
    posterior = normal_hierarchy(y, sigma, mu_prior_sd=None)
    mean, sd = posterior.conditional(0.0)
    weights = 1 / sigma**2
    assert mean["mu"] == pytest.approx(np.sum(weights * y) / np.sum(weights), rel=1e-12)
    np.testing.assert_allclose(mean["theta"], mean["mu"], rtol=1e-12)
    np.testing.assert_allclose(sd["theta"], np.sum(weights) ** -0.5, rtol=1e-12)


def test_one_group_with_flat_mu_prior_leaves_tau_at_its_prior():
    """With J = 1 and a flat prior on mu, p(y | tau) is constant, so p(tau | y) = p(tau)."""
    prior = stats.halfnorm(scale=10)
    posterior = normal_hierarchy([28.0], [15.0], mu_prior_sd=None, tau_prior=prior)
    values = np.linspace(0, 40, 81)
    np.testing.assert_allclose(posterior.tau_density(values), prior.pdf(values), rtol=1e-10)
    assert posterior.mean["tau"] == pytest.approx(10 * np.sqrt(2 / np.pi), rel=1e-10)
    assert posterior.sd["tau"] == pytest.approx(10 * np.sqrt(1 - 2 / np.pi), rel=1e-10)
    q = np.array([0.01, 0.3, 0.5, 0.9, 0.999])
    np.testing.assert_allclose(posterior.quantile(q)["tau"], prior.ppf(q), rtol=1e-9)


def test_heavy_tailed_posterior_reports_infinite_moments(schools):
    """Flat mu, half-Cauchy tau: p(tau | y) ~ tau**-(J+1), so moments of order >= J are inf."""
    y, sigma = schools
    prior = stats.halfcauchy(scale=25)
    one = normal_hierarchy(y[:1], sigma[:1], mu_prior_sd=None, tau_prior=prior)
    assert one.mean["tau"] == np.inf and one.sd["tau"] == np.inf and one.sd["mu"] == np.inf
    assert one.mean["mu"] == pytest.approx(y[0])
    assert one.sd["theta"][0] == pytest.approx(sigma[0], rel=1e-9)  # Var(theta|tau) = sigma^2
    two = normal_hierarchy(y[:2], sigma[:2], mu_prior_sd=None, tau_prior=prior)
    assert np.isfinite(two.mean["tau"]) and two.sd["tau"] == np.inf
    assert np.all(np.isfinite(two.sd["theta"]))


# --------------------------------------------------------------------------- density


def test_tau_density_matches_brute_force_marginal(case):
    """p(tau | y) equals the brute-force marginal (the joint integrated over mu)."""
    posterior, brute = case
    marginal = brute.tau_marginal()
    keep = marginal > 1e-6 * marginal.max()
    np.testing.assert_allclose(posterior.tau_density(brute.tau[keep]), marginal[keep], rtol=RTOL)


@pytest.mark.parametrize(
    "prior", [stats.halfnorm(scale=10), stats.halfcauchy(scale=25), stats.uniform(0, 100)]
)
def test_tau_density_integrates_to_one_and_vanishes_outside_support(schools, prior):
    """scipy's adaptive quad of p(tau | y) over the support gives 1; outside it is 0."""
    y, sigma = schools
    posterior = normal_hierarchy(y, sigma, tau_prior=prior)
    lower, upper = prior.support()
    pieces = [(lower, 10.0), (10.0, 100.0)] + ([(100.0, np.inf)] if upper > 100 else [])
    total = sum(
        integrate.quad(lambda t: posterior.tau_density(t)[0], a, b, epsabs=1e-12)[0]
        for a, b in pieces
    )
    assert total == pytest.approx(1.0, abs=1e-8)
    assert posterior.tau_density([-1.0, -1e-9]).tolist() == [0.0, 0.0]
    if np.isfinite(upper):
        assert posterior.tau_density([upper + 1e-6])[0] == 0.0
        assert posterior.tau_density([upper])[0] > 0.0


# --------------------------------------------------------------------------- quantiles


def test_quantiles_match_brute_force_cdf(case):
    """The brute-force CDF at the 5%, 50% and 95% quantiles of mu, tau and theta_j is q."""
    posterior, brute = case
    q = np.array([0.05, 0.5, 0.95])
    quantiles = posterior.quantile(q)
    for parameter in ("mu", "tau"):
        np.testing.assert_allclose(brute.cdf_spline(parameter)(quantiles[parameter]), q, atol=RTOL)
    for j in (0, 2, 7):
        cdf = [brute.theta_cdf(j, x) for x in quantiles["theta"][:, j]]
        np.testing.assert_allclose(cdf, q, atol=THETA_CDF_ATOL)


def test_cdf_matches_brute_force(halfnormal_case):
    """The public CDF of mu, tau and theta_A equals the brute-force CDF at a few points."""
    posterior, brute = halfnormal_case
    for parameter, points in (("mu", [-2.0, 7.0, 15.0]), ("tau", [0.5, 4.0, 12.0])):
        np.testing.assert_allclose(
            posterior.cdf(points, parameter=parameter),
            brute.cdf_spline(parameter)(points),
            atol=RTOL,
        )
    points = [0.0, 10.0, 25.0]
    expected = [brute.theta_cdf(0, x) for x in points]
    np.testing.assert_allclose(
        posterior.cdf(points, parameter="theta")[:, 0], expected, atol=THETA_CDF_ATOL
    )


def test_quantile_shapes_and_edges(halfnormal_case):
    """Scalar q gives floats and a (J,) theta; array q gives (n,) and (n, J); q=0,1 the ends."""
    posterior, _ = halfnormal_case
    scalar = posterior.quantile(0.5)
    assert isinstance(scalar["mu"], float) and isinstance(scalar["tau"], float)
    assert scalar["theta"].shape == (8,)
    several = posterior.quantile([0.0, 0.2, 0.8, 1.0])
    assert several["mu"].shape == (4,) and several["theta"].shape == (4, 8)
    assert several["tau"][0] == 0.0 and several["tau"][-1] == np.inf
    assert several["mu"][0] == -np.inf and several["mu"][-1] == np.inf
    assert np.all(np.diff(several["theta"], axis=0) > 0)
    uniform = normal_hierarchy(posterior.y, posterior.sigma, tau_prior=stats.uniform(0, 100))
    assert uniform.quantile(1.0)["tau"] == 100.0


# --------------------------------------------------------------------------- sampling


def test_draws_of_tau_and_mu_follow_the_brute_force_cdf(halfnormal_case):
    """KS test of 20,000 draws against the brute-force CDF: p > 1e-3 (fixed seed).

    Under the null hypothesis that the draws are iid from the exact posterior the p-value is
    uniform, so a correct sampler fails with probability 1e-3 for a random seed; with the
    seed fixed the test is deterministic. The brute-force CDF error (< 1e-5) is far below
    the KS resolution at this size (about 1 / sqrt(20000) = 0.007).
    """
    posterior, brute = halfnormal_case
    draws = posterior.sample(20_000, rng=np.random.default_rng(20240601))
    for parameter in ("tau", "mu"):
        spline = brute.cdf_spline(parameter)
        result = stats.kstest(draws[parameter], lambda x, s=spline: np.clip(s(x), 0.0, 1.0))
        assert result.pvalue > 1e-3, parameter


def test_draws_of_tau_follow_a_heavy_tailed_and_a_bounded_posterior(schools):
    """KS tests for half-Cauchy and Uniform(0, 100) priors, against brute-force CDFs of tau."""
    y, sigma = schools
    for name in ("halfcauchy", "uniform"):
        settings = dict(CASES[name])
        prior, mu_prior_sd = settings.pop("tau_prior"), settings.pop("mu_prior_sd")
        brute = brute_force(y, sigma, prior, mu_prior_sd, **settings)
        posterior = normal_hierarchy(y, sigma, tau_prior=prior, mu_prior_sd=mu_prior_sd)
        draws = posterior.sample(20_000, rng=np.random.default_rng(7))["tau"]
        spline = brute.cdf_spline("tau")
        assert draws.max() <= prior.support()[1]
        assert stats.kstest(draws, lambda x, s=spline: np.clip(s(x), 0, 1)).pvalue > 1e-3


def test_sample_moments_within_four_monte_carlo_standard_errors(halfnormal_case):
    """Means of 20,000 iid draws are within 4 MCSE (sd / sqrt(n)) of the exact means."""
    posterior, _ = halfnormal_case
    n = 20_000
    draws = posterior.sample(n, rng=np.random.default_rng(11))
    for name in ("mu", "tau", "theta"):
        mcse = np.asarray(posterior.sd[name]) / np.sqrt(n)
        error = np.abs(draws[name].mean(axis=0) - posterior.mean[name])
        assert np.all(error < 4 * mcse), name
    # Sample sds: the sd of a sample sd is sd * sqrt((kurtosis - 1) / (4 n)), which is
    # sd / sqrt(2 n) for Normal draws; these mixtures of Normals have kurtosis below 4,
    # so 5 / sqrt(2 n) is still more than 4 standard errors.
    for name in ("mu", "theta"):
        np.testing.assert_allclose(
            draws[name].std(axis=0), posterior.sd[name], rtol=5 / np.sqrt(2 * n)
        )


def test_theta_draws_cover_the_exact_quantiles(halfnormal_case):
    """The fraction of theta_j draws below the q-quantile is q within 4 binomial sds."""
    posterior, _ = halfnormal_case
    n = 20_000
    theta = posterior.sample(n, rng=np.random.default_rng(3))["theta"]
    q = np.array([0.05, 0.5, 0.95])
    quantiles = posterior.quantile(q)["theta"]
    below = (theta[None, :, :] <= quantiles[:, None, :]).mean(axis=1)
    assert np.all(np.abs(below - q[:, None]) < 4 * np.sqrt(q * (1 - q) / n)[:, None])


def test_sample_shapes_and_reproducibility(halfnormal_case):
    """Draws have shapes (n,), (n,), (n, J); the same seed gives the same draws."""
    posterior, _ = halfnormal_case
    first = posterior.sample(5, rng=42)
    again = posterior.sample(5, rng=np.random.default_rng(42))
    other = posterior.sample(5, rng=43)
    assert first["mu"].shape == (5,) and first["tau"].shape == (5,)
    assert first["theta"].shape == (5, 8)
    for name in first:
        np.testing.assert_array_equal(first[name], again[name])
    assert not np.array_equal(first["tau"], other["tau"])
    assert np.all(first["tau"] >= 0)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(sigma=[15, 0, 16]), ValueError, "sigma"),
        (dict(sigma=[15, -1, 16]), ValueError, "sigma"),
        (dict(sigma=[15, np.inf, 16]), ValueError, "sigma"),
        (dict(y=[28, np.nan, -3]), ValueError, "y"),
        (dict(y=[28, 8]), ValueError, "y and sigma"),
        (dict(y=[], sigma=[]), ValueError, "y must not be empty"),
        (dict(y=["a", "b", "c"]), TypeError, "y"),
        (dict(mu_prior_sd=0.0), ValueError, "mu_prior_sd"),
        (dict(mu_prior_sd=-2.0), ValueError, "mu_prior_sd"),
        (dict(mu_prior_mean=np.nan), ValueError, "mu_prior_mean"),
        (dict(tau_prior=stats.halfnorm), TypeError, "tau_prior"),
        (dict(tau_prior="halfnormal"), TypeError, "tau_prior"),
        (dict(tau_prior=stats.poisson(3)), TypeError, "tau_prior"),
        (dict(tau_prior=stats.norm(0, 10)), ValueError, "tau_prior"),
        (dict(tau_prior=stats.uniform(-1, 5)), ValueError, "tau_prior"),
    ],
)
def test_bad_input_names_the_argument(kwargs, error, match):
    """Invalid data or priors raise ValueError/TypeError whose message names the argument."""
    arguments = dict(y=[28.0, 8.0, -3.0], sigma=[15.0, 10.0, 16.0]) | kwargs
    with pytest.raises(error, match=match):
        normal_hierarchy(**arguments)


def test_bad_method_arguments_name_the_argument(halfnormal_case):
    """quantile, sample, conditional and tau_density reject bad values by name."""
    posterior, _ = halfnormal_case
    with pytest.raises(ValueError, match="q"):
        posterior.quantile([0.5, 1.5])
    with pytest.raises(ValueError, match="n"):
        posterior.sample(0, rng=1)
    with pytest.raises(TypeError, match="rng"):
        posterior.sample(10, rng="seed")
    with pytest.raises(ValueError, match="tau"):
        posterior.conditional(-1.0)
    with pytest.raises(ValueError, match="tau_values"):
        posterior.tau_density([np.nan])
    with pytest.raises(ValueError, match="parameter"):
        posterior.cdf([0.0], parameter="sigma")
