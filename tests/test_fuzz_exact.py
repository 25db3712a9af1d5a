"""Property and fuzz tests of companion.exact: bad input is refused naming the argument,
and good but extreme input gives the answer of an independent brute-force route."""

import math
import re
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import special, stats

from companion import exact

COVERED = {
    "exact.ConjugatePosterior",
    "exact.DirichletHierarchyPosterior",
    "exact.DirichletPosterior",
    "exact.GammaPosterior",
    "exact.LinkNormalHierarchyPosterior",
    "exact.NormalHierarchyPosterior",
    "exact.NormalHierarchyPosterior.cdf",
    "exact.NormalHierarchyPosterior.conditional",
    "exact.NormalHierarchyPosterior.quantile",
    "exact.NormalHierarchyPosterior.sample",
    "exact.NormalHierarchyPosterior.tau_density",
    "exact.dirichlet_multinomial_hierarchy",
    "exact.dirichlet_no_pooling",
    "exact.funnel_draws",
    "exact.gamma_poisson_no_pooling",
    "exact.hierarchical_binomial",
    "exact.hierarchical_poisson",
    "exact.loo_log_predictive",
    "exact.normal_hierarchy",
    "exact.pooling_draws",
}

FAST = settings(max_examples=30, deadline=None, derandomize=True)
SLOW = settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)

# ---------------------------------------------------------------------- bad input

POISON = [math.nan, math.inf, -math.inf, "1.0", True, 1 + 2j, None]


@st.composite
def bad_vector(draw, length, *, positive=False):
    """A 1-D argument that must be refused: a poisoned entry or a wrong structure."""
    kind = draw(st.sampled_from(["poison", "empty", "ragged", "matrix", "sign"]))
    if kind == "sign" and not positive:
        kind = "poison"
    good = [1.0] * length
    if kind == "poison":
        good[draw(st.integers(0, length - 1))] = draw(st.sampled_from(POISON))
        return good
    if kind == "empty":
        return []
    if kind == "ragged":
        return [[1.0], [1.0, 2.0]]
    if kind == "matrix":
        return [good, good]
    good[draw(st.integers(0, length - 1))] = draw(st.sampled_from([0.0, -1e-300, -3.0]))
    return good


def named(argument):
    """A regular expression that matches an error message naming ``argument``."""
    return rf"\b{re.escape(argument)}\b"


BAD_SCALARS = [math.nan, math.inf, "2", True, 1j, None, [1.0, 2.0], -1.0, 0.0]


def _normal_call(**changes):
    arguments = {"y": [1.0, 2.0, 4.0], "sigma": [1.0, 1.0, 2.0]} | changes
    return exact.normal_hierarchy(arguments.pop("y"), arguments.pop("sigma"), **arguments)


@FAST
@given(st.data())
def test_normal_hierarchy_refuses_bad_data_naming_it(data):
    """normal_hierarchy refuses NaN/inf, strings, bools, complex, ragged, empty, 2-D data
    and non-positive sigma with a ValueError/TypeError naming y or sigma."""
    argument = data.draw(st.sampled_from(["y", "sigma"]))
    bad = data.draw(bad_vector(3, positive=argument == "sigma"))
    with pytest.raises((ValueError, TypeError), match=named(argument)):
        _normal_call(**{argument: bad})


@FAST
@given(st.integers(2, 6), st.integers(2, 6))
def test_normal_hierarchy_refuses_mismatched_lengths(n_y, n_sigma):
    """y and sigma of different lengths (neither of length 1) are refused naming both."""
    if n_y == n_sigma:
        return
    with pytest.raises(ValueError, match="y and sigma"):
        exact.normal_hierarchy(np.arange(n_y, dtype=float), np.ones(n_sigma))


@FAST
@given(st.sampled_from(BAD_SCALARS))
def test_normal_hierarchy_refuses_bad_prior_settings(value):
    """Bad mu_prior_mean / mu_prior_sd values raise errors naming the argument."""
    if not (isinstance(value, float) and value in (-1.0, 0.0)):
        with pytest.raises((ValueError, TypeError), match="mu_prior_mean"):
            _normal_call(mu_prior_mean=value)
    if value is not None:  # None is the flat prior
        with pytest.raises((ValueError, TypeError), match="mu_prior_sd"):
            _normal_call(mu_prior_sd=value)


@pytest.mark.parametrize(
    "prior",
    [
        stats.norm,  # not frozen
        stats.norm(0, 1),  # support below 0
        stats.halfnorm(scale=-1.0),  # invalid parameters
        stats.poisson(3.0),  # discrete
        stats.dirichlet([1.0, 1.0]),  # multivariate
        "halfnorm",
        10.0,
    ],
)
def test_normal_hierarchy_refuses_invalid_scipy_priors(prior):
    """tau_prior must be a valid frozen continuous scipy distribution on [0, inf)."""
    with pytest.raises((ValueError, TypeError), match="tau_prior"):
        _normal_call(tau_prior=prior)


@FAST
@given(
    st.sampled_from(["quantile", "cdf_value", "cdf_parameter", "tau", "density", "n", "rng"]),
    st.data(),
)
def test_posterior_methods_refuse_bad_arguments(method, data):
    """The methods of NormalHierarchyPosterior name their bad argument: q off [0, 1],
    an unknown parameter (the message lists the options), tau < 0, n not a positive
    integer, rng not a Generator or a seed >= 0."""
    posterior = _normal_call()
    if method == "quantile":
        bad = data.draw(st.sampled_from([-0.1, 1.5, math.nan, "0.5", [[0.5], [0.1, 0.2]], []]))
        with pytest.raises((ValueError, TypeError), match=named("q")):
            posterior.quantile(bad)
    elif method == "cdf_value":
        bad = data.draw(bad_vector(2))
        with pytest.raises((ValueError, TypeError), match=named("values")):
            posterior.cdf(bad, parameter="mu")
    elif method == "cdf_parameter":
        bad = data.draw(st.sampled_from(["sigma", "MU", "", 3]))
        with pytest.raises(ValueError, match="parameter must be 'mu', 'tau' or 'theta'"):
            posterior.cdf([0.0], parameter=bad)
    elif method == "tau":
        bad = data.draw(st.sampled_from([-1.0, math.nan, math.inf, "1", True, 1j]))
        with pytest.raises((ValueError, TypeError), match=named("tau")):
            posterior.conditional(bad)
    elif method == "density":
        bad = data.draw(bad_vector(2))
        with pytest.raises((ValueError, TypeError), match="tau_values"):
            posterior.tau_density(bad)
    elif method == "n":
        bad = data.draw(st.sampled_from([0, -3, 2.0, "5", True, 2**64]))
        with pytest.raises((ValueError, TypeError), match=named("n")):
            posterior.sample(bad, rng=1)
    else:
        bad = data.draw(st.sampled_from([-1, 1.5, "seed", None, True, np.random.RandomState(1)]))
        with pytest.raises((ValueError, TypeError), match=named("rng")):
            posterior.sample(3, rng=bad)


# ---------------------------------------------------------------------- reference route


def reference_posterior(y, sigma, *, mu_prior_mean=0.0, mu_prior_sd=20.0, tau_prior=None):
    """Brute-force posterior on a fine grid in log tau, with mu integrated analytically.

    Given tau, y_j ~ Normal(mu, v_j) with v_j = sigma_j**2 + tau**2 and the prior on mu
    counts as one more observation; integrating mu out leaves
    log p(y | tau) = -(sum log v_j + log P + Q) / 2 up to a constant, with P the total
    precision and Q the weighted squares about the posterior mean of mu. The grid is
    zoomed in until at least 1000 of its 4001 points carry mass above exp(-45) of the
    peak, then the integrals are sums over 100,001 points (trapezoid rule).
    """
    y = np.asarray(y, float)
    sigma = np.asarray(sigma, float) * np.ones_like(y)
    prior = stats.halfnorm(scale=10.0) if tau_prior is None else tau_prior

    def curves(log_tau):
        tau = np.exp(log_tau)[:, None]
        v = sigma**2 + tau**2
        precision = (1.0 / v).sum(1)
        weighted = (y / v).sum(1)
        if mu_prior_sd is not None:
            precision = precision + mu_prior_sd**-2
            weighted = weighted + mu_prior_mean * mu_prior_sd**-2
        mu_hat = weighted / precision
        squares = ((y - mu_hat[:, None]) ** 2 / v).sum(1)
        if mu_prior_sd is not None:
            squares = squares + (mu_prior_mean - mu_hat) ** 2 / mu_prior_sd**2
        with np.errstate(divide="ignore"):
            log_p = prior.logpdf(tau[:, 0]) + log_tau
        log_p = log_p - 0.5 * (np.log(v).sum(1) + np.log(precision) + squares)
        return log_p, mu_hat, 1.0 / precision, v

    scale = max(np.ptp(y), sigma.max())
    low = np.log(min(sigma.min(), scale)) - 40.0
    high = np.log(max(scale, prior.ppf(1 - 1e-15))) + 10.0
    for _ in range(200):
        grid = np.linspace(low, high, 4001)
        log_p = curves(grid)[0]
        second = log_p + 2 * grid
        keep = np.flatnonzero((log_p > log_p.max() - 45) | (second > second.max() - 45))
        low, high = grid[max(keep[0] - 1, 0)], grid[min(keep[-1] + 1, grid.size - 1)]
        if keep.size > 1000:
            break
    upper = prior.support()[1]
    if np.isfinite(upper):
        high = min(high, np.nextafter(np.log(upper), -np.inf))
    grid = np.linspace(low, high, 100_001)
    log_p, mu_hat, mu_var, v = curves(grid)
    w = np.exp(log_p - log_p.max())
    w[[0, -1]] *= 0.5
    w /= w.sum()
    tau = np.exp(grid)
    mean_tau = w @ tau
    mean_mu = w @ mu_hat
    keep_share = tau[:, None] ** 2 / v
    theta_hat = (1 - keep_share) * mu_hat[:, None] + keep_share * y
    cdf = np.cumsum(w) - 0.5 * w
    return {
        "tau_mean": mean_tau,
        "tau_sd": np.sqrt(w @ (tau - mean_tau) ** 2),
        "mu_mean": mean_mu,
        "mu_sd": np.sqrt(w @ (mu_var + (mu_hat - mean_mu) ** 2)),
        "theta_mean": w @ theta_hat,
        "tau_quantile": lambda q: np.exp(np.interp(q, cdf, grid)),
        "weights": w,
        "tau": tau,
        "mu_hat": mu_hat,
        "mu_var": mu_var,
    }


def assert_matches_reference(posterior, reference, *, rtol=1e-6):
    """Posterior summaries agree with the brute-force reference."""
    assert posterior.mean["tau"] == pytest.approx(reference["tau_mean"], rel=rtol)
    assert posterior.sd["tau"] == pytest.approx(reference["tau_sd"], rel=10 * rtol)
    assert posterior.mean["mu"] == pytest.approx(
        reference["mu_mean"], abs=rtol * reference["mu_sd"]
    )
    assert posterior.sd["mu"] == pytest.approx(reference["mu_sd"], rel=rtol)
    spread = reference["mu_sd"] + reference["tau_mean"]
    np.testing.assert_allclose(
        posterior.mean["theta"], reference["theta_mean"], atol=rtol * spread, rtol=0
    )
    q = np.array([0.01, 0.05, 0.5, 0.95, 0.99])
    np.testing.assert_allclose(
        posterior.quantile(q)["tau"], reference["tau_quantile"](q), rtol=10 * rtol
    )


def test_far_in_the_prior_tail_regression():
    """The data of issue 10: E[tau | y] is 575.5 (it was 585), and at the 1e5 scale
    sd(tau | y) is about 5 (it was 1e-20): the posterior is a narrow spike far in the
    HalfNormal(10) prior's tail."""
    pattern = np.array([1.0, -1.0, 3.0, 0.0])
    posterior = exact.normal_hierarchy(1e4 * pattern, np.ones(4))
    assert posterior.mean["tau"] == pytest.approx(575.5094, abs=1e-3)
    for scale in (1e4, 1e5, 1e6):
        posterior = exact.normal_hierarchy(scale * pattern, np.ones(4))
        assert_matches_reference(posterior, reference_posterior(scale * pattern, np.ones(4)))
        assert 4.0 < posterior.sd["tau"] < 6.0


@SLOW
@given(
    st.integers(2, 8),
    st.floats(-6, 6),
    st.floats(-6, 6),
    st.sampled_from([20.0, None, 1e3]),
    st.integers(0, 2**32 - 1),
)
def test_normal_hierarchy_matches_brute_force_across_scales(
    n_groups, log_y_scale, log_sigma_scale, mu_prior_sd, seed
):
    """For data and standard errors on any scale from 1e-6 to 1e6 (so the posterior may
    sit far in the prior's tail, or far below its scale), the means, sds and quantiles
    agree with brute-force quadrature to about 1e-6."""
    rng = np.random.default_rng(seed)
    y = rng.normal(size=n_groups) * 10.0**log_y_scale
    sigma = rng.uniform(0.5, 2.0, n_groups) * 10.0**log_sigma_scale
    posterior = exact.normal_hierarchy(y, sigma, mu_prior_sd=mu_prior_sd)
    reference = reference_posterior(y, sigma, mu_prior_sd=mu_prior_sd)
    assert_matches_reference(posterior, reference)


@SLOW
@given(
    st.sampled_from(
        [
            stats.halfcauchy(scale=5.0),
            stats.uniform(0.0, 100.0),
            stats.halfnorm(scale=1e-3),
            stats.expon(scale=1e4),
            stats.lognorm(1.0, scale=3.0),
        ]
    ),
    st.integers(3, 8),
    st.floats(-4, 4),
    st.integers(0, 2**32 - 1),
)
def test_normal_hierarchy_matches_brute_force_for_other_priors(prior, n_groups, log_scale, seed):
    """Heavy-tailed, bounded, tiny-scale and shifted tau priors agree with brute force."""
    rng = np.random.default_rng(seed)
    y = rng.normal(size=n_groups) * 10.0**log_scale
    sigma = rng.uniform(0.5, 2.0, n_groups) * 10.0**log_scale
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        posterior = exact.normal_hierarchy(y, sigma, tau_prior=prior)
    assert_matches_reference(posterior, reference_posterior(y, sigma, tau_prior=prior))


@SLOW
@given(st.floats(-5, 5), st.floats(0.0, 1e3), st.integers(0, 2**32 - 1))
def test_conditional_and_density_follow_closed_forms(log_scale, tau, seed):
    """conditional(tau) gives BDA3's Normal conditionals, written out here, and
    tau_density integrates to one and is zero below the support."""
    rng = np.random.default_rng(seed)
    scale = 10.0**log_scale
    y, sigma = rng.normal(size=4) * scale, rng.uniform(0.5, 2.0, 4) * scale
    tau = tau * scale
    posterior = exact.normal_hierarchy(y, sigma, mu_prior_sd=None)
    mean, sd = posterior.conditional(tau)
    weights = 1.0 / (sigma**2 + tau**2)
    mu_hat = np.sum(weights * y) / np.sum(weights)
    assert mean["mu"] == pytest.approx(mu_hat, abs=1e-12 * scale)
    assert sd["mu"] == pytest.approx(np.sum(weights) ** -0.5, rel=1e-10)
    shrink = sigma**2 * weights
    expected_theta = shrink * mu_hat + (1 - shrink) * y
    np.testing.assert_allclose(mean["theta"], expected_theta, atol=1e-10 * scale)
    reference = reference_posterior(y, sigma, mu_prior_sd=None)
    tau_grid = reference["tau"]
    density = posterior.tau_density(tau_grid)
    # the density in tau times tau is the density of log tau, integrated on its grid
    step = np.log(tau_grid[1] / tau_grid[0])
    assert np.sum(density * tau_grid) * step == pytest.approx(1.0, abs=1e-6)
    assert posterior.tau_density([-1.0])[0] == 0.0


@FAST
@given(st.lists(st.floats(0.001, 0.999), min_size=1, max_size=5), st.floats(-5, 5))
def test_cdf_inverts_quantile(q, log_scale):
    """cdf(quantile(q)) returns q for mu, tau and every theta_j."""
    scale = 10.0**log_scale
    posterior = exact.normal_hierarchy(
        scale * np.array([3.0, -1.0, 2.0]), scale * np.array([1.0, 2.0, 1.0]), mu_prior_sd=None
    )
    q = np.array(q)
    quantiles = posterior.quantile(q)
    for parameter in ("mu", "tau"):
        back = posterior.cdf(quantiles[parameter], parameter=parameter)
        np.testing.assert_allclose(back, q, atol=1e-8)
    for j in range(3):
        back = posterior.cdf(quantiles["theta"][:, j], parameter="theta")[:, j]
        np.testing.assert_allclose(back, q, atol=1e-8)


def test_sample_agrees_with_reference_within_monte_carlo_error():
    """Exact draws (far in the prior's tail) have means within 5 Monte Carlo standard
    errors of the brute-force posterior means (false alarm rate about 1e-6 per check)."""
    y, sigma = 1e4 * np.array([1.0, -1.0, 3.0, 0.0]), np.ones(4)
    reference = reference_posterior(y, sigma)
    draws = exact.normal_hierarchy(y, sigma).sample(20_000, rng=np.random.default_rng(7))
    for name, mean, sd in (
        ("tau", reference["tau_mean"], reference["tau_sd"]),
        ("mu", reference["mu_mean"], reference["mu_sd"]),
    ):
        assert abs(draws[name].mean() - mean) < 5 * sd / np.sqrt(20_000)


# ---------------------------------------------------------------------- conjugate models


@FAST
@given(
    st.lists(st.integers(0, 2**62), min_size=1, max_size=6),
    st.floats(1e-6, 1e6),
    st.floats(1e-6, 1e6),
    st.floats(1e-6, 1e9),
)
def test_gamma_poisson_matches_closed_form_for_huge_counts(counts, alpha, beta, exposure):
    """Posterior Gamma(alpha + y, beta + e): means, sds and medians equal the closed
    form from scipy, for counts up to 2**62."""
    posterior = exact.gamma_poisson_no_pooling(counts, exposure, alpha=alpha, beta=beta)
    shape = alpha + np.array(counts, dtype=float)
    rate = beta + exposure
    np.testing.assert_allclose(posterior.mean["rate"], shape / rate, rtol=1e-12)
    np.testing.assert_allclose(posterior.sd["rate"], np.sqrt(shape) / rate, rtol=1e-12)
    median = stats.gamma.ppf(0.5, shape, scale=1 / rate)
    np.testing.assert_allclose(posterior.quantile(0.5)["rate"], median, rtol=1e-10)


@FAST
@given(st.data())
def test_gamma_poisson_refuses_bad_input_naming_it(data):
    """Counts that are negative, fractional, >= 2**63, boolean, complex, strings, NaN,
    ragged or empty; bad exposures; and bad alpha or beta are refused by name."""
    argument = data.draw(st.sampled_from(["counts", "exposure", "alpha", "beta"]))
    arguments = {"counts": [3, 4], "exposure": [1.0, 2.0], "alpha": 1.0, "beta": 1.0}
    if argument == "counts":
        bad = data.draw(
            st.sampled_from(
                [
                    [-1, 2],
                    [1.5, 2],
                    [2**63, 1],
                    [2**64, 1],
                    [2.0**63, 1.0],
                    [True, False],
                    [1j, 2],
                    ["3", "4"],
                    [math.nan, 1],
                    [[1], [1, 2]],
                    [],
                    [[1, 2]],
                ]
            )
        )
    elif argument == "exposure":
        bad = data.draw(bad_vector(2, positive=True))
    else:
        bad = data.draw(st.sampled_from(BAD_SCALARS))
    arguments[argument] = bad
    with pytest.raises((ValueError, TypeError), match=named(argument)):
        exact.gamma_poisson_no_pooling(
            arguments["counts"],
            arguments["exposure"],
            alpha=arguments["alpha"],
            beta=arguments["beta"],
        )


@FAST
@given(
    st.lists(st.lists(st.integers(0, 10**12), min_size=3, max_size=3), min_size=1, max_size=4),
    st.floats(1e-3, 1e3),
)
def test_dirichlet_no_pooling_matches_closed_form(counts, prior):
    """pi_r | y ~ Dirichlet(a + y_r): each pi_rk is Beta(a + y_rk, 3a + n_r - a - y_rk),
    whose mean and sd are written out here."""
    posterior = exact.dirichlet_no_pooling(counts, prior=prior)
    a = prior + np.array(counts, dtype=float)
    total = a.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(posterior.mean["pi"], a / total, rtol=1e-12)
    variance = a * (total - a) / (total**2 * (total + 1))
    np.testing.assert_allclose(posterior.sd["pi"], np.sqrt(variance), rtol=1e-9)
    assert isinstance(posterior, exact.ConjugatePosterior)
    assert posterior.shape == a.shape
    draws = posterior.sample(2, rng=0)["pi"]
    np.testing.assert_allclose(draws.sum(axis=-1), 1.0, rtol=1e-12)


@FAST
@given(st.data())
def test_conjugate_constructors_and_prior_refuse_bad_input(data):
    """DirichletPosterior(concentration), GammaPosterior(alpha, beta) and the prior of
    dirichlet_no_pooling name their bad argument."""
    which = data.draw(st.sampled_from(["concentration", "alpha", "beta", "prior"]))
    bad_matrix = data.draw(
        st.sampled_from(
            [
                [[1.0, 0.0]],
                [[1.0, -2.0]],
                [[1.0, math.nan]],
                [["1", "2"]],
                [[1.0, 2.0], [1.0]],
                [[True, True]],
                [[1j, 1.0]],
                [1.0, 2.0],
                [[1.0]],
            ]
        )
    )
    if which == "concentration":
        with pytest.raises((ValueError, TypeError), match="concentration"):
            exact.DirichletPosterior(bad_matrix)
    elif which == "prior":
        if bad_matrix in ([1.0, 2.0], [[1.0]]):  # these broadcast: one per category, one
            bad_matrix = [1.0, 2.0, 3.0]  # for all; three do not fit two categories
        with pytest.raises((ValueError, TypeError), match="prior"):
            exact.dirichlet_no_pooling([[1, 2], [3, 4]], prior=bad_matrix)
    else:
        bad = data.draw(bad_vector(2, positive=True))
        arguments = {"alpha": [1.0, 2.0], "beta": [1.0, 2.0], which: bad}
        with pytest.raises((ValueError, TypeError), match=named(which)):
            exact.GammaPosterior(arguments["alpha"], arguments["beta"])


# ---------------------------------------------------------------------- GLM hierarchies


@SLOW
@given(st.data())
def test_glm_hierarchies_refuse_bad_input_naming_it(data):
    """hierarchical_poisson and hierarchical_binomial name their bad argument."""
    model = data.draw(st.sampled_from(["poisson", "binomial"]))
    if model == "poisson":
        function, names = exact.hierarchical_poisson, ("counts", "exposure")
        good = {"counts": [2, 5], "exposure": [1.0, 2.0]}
    else:
        function, names = exact.hierarchical_binomial, ("successes", "trials")
        good = {"successes": [2, 5], "trials": [4, 9]}
    argument = data.draw(st.sampled_from([*names, "mu_prior_mean", "mu_prior_sd", "tau_prior_sd"]))
    if argument in ("counts", "successes", "trials"):
        bad = data.draw(
            st.sampled_from([[-1, 2], [1.5, 2], [2**63, 1], [True, False], ["1", "2"], [], [1]])
        )
    elif argument == "exposure":
        bad = data.draw(bad_vector(2, positive=True) | st.just([1.0]))
    else:
        bad = data.draw(st.sampled_from(BAD_SCALARS))
        if argument == "mu_prior_mean" and bad in (-1.0, 0.0):
            bad = math.nan
    arguments = good | {argument: bad}
    positional = [arguments.pop(name) for name in names]
    with pytest.raises((ValueError, TypeError), match=named(argument)):
        function(*positional, **arguments)


def test_glm_hierarchies_with_extreme_counts_approach_the_raw_rates():
    """With enormous counts and exposures the data swamp the prior: the posterior mean
    rate (probability) is the raw rate y/e (y/n) to 1e-6 even far in the prior's tail."""
    counts = np.array([0, 3, 10**6, 10**15])
    exposure = np.array([1.0, 2.0, 1e5, 1.0])
    poisson = exact.hierarchical_poisson(counts, exposure)
    np.testing.assert_allclose(poisson.mean["rate"][2:], counts[2:] / exposure[2:], rtol=1e-5)
    assert isinstance(poisson, exact.LinkNormalHierarchyPosterior)
    successes, trials = np.array([0, 3, 10**6]), np.array([1, 20, 2 * 10**6])
    binomial = exact.hierarchical_binomial(successes, trials)
    assert binomial.mean["p"][2] == pytest.approx(0.5, abs=1e-5)
    assert np.all((binomial.mean["p"] > 0) & (binomial.mean["p"] < 1))


@SLOW
@given(st.lists(st.lists(st.integers(0, 50), min_size=2, max_size=3), min_size=2, max_size=4))
def test_dirichlet_multinomial_hierarchy_properties(rows):
    """Rows of equal width: the posterior means of every pi_r lie on the simplex, the
    population pi0 too, and alpha is positive; an empty group is refused by name."""
    width = len(rows[0])
    counts = np.array([row[:width] + [1] * (width - len(row)) for row in rows])
    if np.any(counts.sum(axis=1) == 0):
        with pytest.raises(ValueError, match="counts"):
            exact.dirichlet_multinomial_hierarchy(counts)
        return
    posterior = exact.dirichlet_multinomial_hierarchy(counts)
    assert isinstance(posterior, exact.DirichletHierarchyPosterior)
    np.testing.assert_allclose(posterior.mean["pi"].sum(axis=1), 1.0, rtol=1e-9)
    assert posterior.mean["pi0"].sum() == pytest.approx(1.0)
    assert posterior.mean["alpha"] > 0


@pytest.mark.parametrize(
    "counts",
    [
        [[1, 2, 3]],
        [[1], [2]],
        [[1, 2], [3]],
        [[1, -2], [3, 4]],
        [[1.5, 2], [3, 4]],
        [[2**63, 1], [1, 1]],
        [["1", "2"], ["3", "4"]],
        [1, 2, 3],
        [[1, 2, 3, 4, 5, 6, 7]] * 2,
    ],
)
def test_dirichlet_multinomial_hierarchy_refuses_bad_counts(counts):
    """Counts that are not groups x (2..6) categories of whole numbers are refused."""
    if counts == [[1, 2, 3]]:
        counts = [[0, 0, 0], [1, 2, 3]]
    with pytest.raises((ValueError, TypeError), match="counts"):
        exact.dirichlet_multinomial_hierarchy(counts)


# ---------------------------------------------------------------------- draws and LOO


@FAST
@given(st.data())
def test_funnel_draws_refuse_bad_arguments(data):
    """n and dims must be positive integers below 2**63; rng a Generator or a seed >= 0."""
    argument = data.draw(st.sampled_from(["n", "dims", "rng"]))
    arguments = {"n": 3, "dims": 2, "rng": 0}
    if argument == "rng":
        arguments["rng"] = data.draw(st.sampled_from([-1, 1.5, "a", None, True]))
    else:
        arguments[argument] = data.draw(st.sampled_from([0, -1, 2.5, "3", True, 2**63]))
    with pytest.raises((ValueError, TypeError), match=named(argument)):
        exact.funnel_draws(arguments["n"], dims=arguments["dims"], rng=arguments["rng"])


def test_funnel_draws_follow_neals_funnel():
    """v ~ Normal(0, 3) and x / exp(v / 2) ~ Normal(0, 1): both pass a Kolmogorov-Smirnov
    test at level 1e-6."""
    draws = exact.funnel_draws(20_000, dims=3, rng=np.random.default_rng(11))
    assert stats.kstest(draws["v"], stats.norm(0, 3).cdf).pvalue > 1e-6
    standard = (draws["x"] / np.exp(draws["v"] / 2)[:, None]).ravel()
    assert stats.kstest(standard, stats.norm().cdf).pvalue > 1e-6


@FAST
@given(st.floats(-5, 5), st.integers(0, 2**32 - 1))
def test_loo_log_predictive_matches_closed_forms(log_scale, seed):
    """Complete and no pooling: the Normal predictive densities written out here."""
    rng = np.random.default_rng(seed)
    scale = 10.0**log_scale
    y, sigma = rng.normal(size=5) * scale, rng.uniform(0.5, 2.0, 5) * scale
    none = exact.loo_log_predictive(y, sigma, pooling="none", mu_prior_sd=20.0 * scale)
    expected = stats.norm.logpdf(y, 0.0, np.sqrt((20.0 * scale) ** 2 + sigma**2))
    np.testing.assert_allclose(none, expected, rtol=1e-12)
    complete = exact.loo_log_predictive(y, sigma, pooling="complete", mu_prior_sd=None)
    for j in range(5):
        rest = np.arange(5) != j
        w = sigma[rest] ** -2
        mean, variance = np.sum(w * y[rest]) / w.sum(), 1.0 / w.sum()
        density = stats.norm.logpdf(y[j], mean, np.sqrt(variance + sigma[j] ** 2))
        assert complete[j] == pytest.approx(density, rel=1e-10, abs=1e-10)


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e4])
def test_loo_partial_matches_brute_force(scale):
    """Partial pooling: log p(y_j | y_-j) = log of the brute-force average over tau of
    Normal(y_j; E[mu | tau, y_-j], Var(mu | tau, y_-j) + tau**2 + sigma_j**2)."""
    y = scale * np.array([1.0, -1.0, 3.0, 0.0, 2.0])
    sigma = scale * np.array([1.0, 0.5, 1.0, 2.0, 1.0])
    result = exact.loo_log_predictive(y, sigma, pooling="partial")
    for j in range(y.size):
        rest = np.arange(y.size) != j
        ref = reference_posterior(y[rest], sigma[rest])
        log_density = stats.norm.logpdf(
            y[j], ref["mu_hat"], np.sqrt(ref["mu_var"] + ref["tau"] ** 2 + sigma[j] ** 2)
        )
        assert result[j] == pytest.approx(
            special.logsumexp(log_density, b=ref["weights"]), abs=1e-6
        )


@FAST
@given(st.data())
def test_loo_and_pooling_draws_refuse_bad_options(data):
    """An unknown pooling is refused with the allowed options listed; the other
    arguments name themselves."""
    function = data.draw(st.sampled_from(["loo", "draws"]))
    bad = data.draw(st.sampled_from(["partial ", "Partial", "hierarchical", "", 3]))

    def call(**changes):
        arguments = {"pooling": "partial"} | changes
        if function == "loo":
            return exact.loo_log_predictive([1.0, 2.0, 3.0], [1.0, 1.0, 1.0], **arguments)
        return exact.pooling_draws([1.0, 2.0, 3.0], [1.0, 1.0, 1.0], n=2, rng=0, **arguments)

    with pytest.raises(ValueError, match="pooling must be 'complete', 'none' or 'partial'"):
        call(pooling=bad)
    with pytest.raises((ValueError, TypeError), match="mu_prior_sd"):
        call(mu_prior_sd=data.draw(st.sampled_from([-1.0, 0.0, math.nan, "2"])))
    if function == "loo":
        with pytest.raises(ValueError, match=named("y")):
            exact.loo_log_predictive([1.0], [1.0])
    else:
        with pytest.raises((ValueError, TypeError), match=named("rng")):
            call(rng=-5)


@pytest.mark.parametrize("pooling", ["complete", "none"])
def test_pooling_draws_match_conjugate_means(pooling):
    """Draws of the conjugate models have means within 5 Monte Carlo standard errors
    of the closed-form posterior means (precision-weighted averages)."""
    y, sigma = np.array([1e5, 2e5, -1e5]), np.array([1e4, 2e4, 1e4])
    prior_sd = 1e6
    draws = exact.pooling_draws(
        y, sigma, pooling=pooling, n=40_000, rng=np.random.default_rng(3), mu_prior_sd=prior_sd
    )
    if pooling == "complete":
        precision = np.sum(sigma**-2) + prior_sd**-2
        mean, sd = np.sum(y * sigma**-2) / precision, precision**-0.5
        assert abs(draws["mu"].mean() - mean) < 5 * sd / np.sqrt(40_000)
    else:
        precision = sigma**-2 + prior_sd**-2
        mean, sd = y * sigma**-2 / precision, precision**-0.5
        assert np.all(np.abs(draws["theta"].mean(axis=0) - mean) < 5 * sd / np.sqrt(40_000))
