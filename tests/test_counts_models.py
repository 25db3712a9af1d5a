"""Tests of the count models of "Same pattern, other likelihoods" (fast; no MCMC):
data.simulate_hospitals and data.simulate_free_throws, exact.gamma_poisson_no_pooling,
exact.hierarchical_poisson / hierarchical_binomial, and the model builders
models.hierarchical_poisson / hierarchical_binomial.

Expected values come from independent routes: the Gamma-Poisson closed forms written out
here and a brute-force grid integration of prior x likelihood; for the hierarchical
posteriors, a plain Simpson integration over (mu, tau) of the group effects integrated on
a fixed grid in z = (theta - mu) / tau (no mode search, no Gauss-Hermite nodes), and the
complete-pooling limit; for the builders, log densities assembled from ``scipy.stats``.
"""

import numpy as np
import pytest
from scipy import integrate, special, stats
from test_dirichlet_multinomial import constrained_logp

from companion import data, exact, models

EVENTS = np.array([2, 14, 0, 8])
EXPOSURE = np.array([2.1, 5.0, 1.3, 8.2])
MADE = np.array([2, 5, 22])
ATTEMPTS = np.array([4, 10, 25])


# ------------------------------------------------------------------ simulators


def test_simulate_hospitals_table_and_truth():
    """One row per hospital (H1..), the given exposures, whole non-negative event counts and
    positive true rates; the same seed repeats the study."""
    study = data.simulate_hospitals(seed=4, exposure=(1.0, 2.5, 10.0))
    assert study.events.columns.tolist() == ["hospital", "exposure", "events"]
    assert study.events["hospital"].tolist() == ["H1", "H2", "H3"]
    assert study.events["exposure"].tolist() == [1.0, 2.5, 10.0]
    assert study.events["events"].dtype.kind == "i" and (study.events["events"] >= 0).all()
    assert (study.true_rates > 0).all() and list(study.true_rates.index) == ["H1", "H2", "H3"]
    again = data.simulate_hospitals(seed=4, exposure=(1.0, 2.5, 10.0))
    assert study.events.equals(again.events)


def test_simulate_hospitals_counts_follow_poisson_with_exposure():
    """With sigma_log = 0 every rate is exp(mu_log); over many hospitals of exposure 2 the
    counts then have the Poisson mean and variance 2 exp(mu_log) (within 5 standard errors)."""
    study = data.simulate_hospitals(seed=9, exposure=(2.0,) * 5000, mu_log=0.3, sigma_log=0.0)
    mean = 2.0 * np.exp(0.3)
    counts = study.events["events"].to_numpy()
    assert np.allclose(study.true_rates, np.exp(0.3))
    assert abs(counts.mean() - mean) < 5 * np.sqrt(mean / 5000)
    assert abs(counts.var() - mean) < 5 * mean * np.sqrt(2 / 5000 + 1 / (mean * 5000))


def test_simulate_free_throws_table_and_truth():
    """One row per player, made <= attempts, true probabilities in (0, 1); with
    sigma_logit = 0 every probability is logistic(mu_logit)."""
    study = data.simulate_free_throws(seed=2, attempts=(3, 30, 300), mu_logit=0.4, sigma_logit=0.0)
    shots = study.shots
    assert shots.columns.tolist() == ["player", "attempts", "made"]
    assert shots["player"].tolist() == ["P1", "P2", "P3"]
    assert (shots["made"] <= shots["attempts"]).all() and (shots["made"] >= 0).all()
    assert np.allclose(study.true_rates, 1 / (1 + np.exp(-0.4)))


@pytest.mark.parametrize(
    ("function", "kwargs", "error", "name"),
    [
        (data.simulate_hospitals, dict(exposure=(1.0, 0.0)), ValueError, "exposure"),
        (data.simulate_hospitals, dict(exposure=(1.0, np.nan)), ValueError, "exposure"),
        (data.simulate_hospitals, dict(sigma_log=-1.0), ValueError, "sigma_log"),
        (data.simulate_hospitals, dict(mu_log=np.inf), ValueError, "mu_log"),
        (data.simulate_hospitals, dict(seed=None), TypeError, "seed"),
        (data.simulate_free_throws, dict(attempts=(4, 0)), ValueError, "attempts"),
        (data.simulate_free_throws, dict(attempts=(4, 2.5)), ValueError, "attempts"),
        (data.simulate_free_throws, dict(sigma_logit=-0.1), ValueError, "sigma_logit"),
        (data.simulate_free_throws, dict(seed=1.5), TypeError, "seed"),
    ],
)
def test_simulators_reject_bad_input(function, kwargs, error, name):
    """Invalid exposures, attempts, population settings and seeds raise an error naming the
    argument."""
    with pytest.raises(error, match=name):
        function(**{"seed": 1, **kwargs})


# ------------------------------------------------------------------ exact.gamma_poisson_no_pooling


def test_gamma_posterior_moments_are_the_conjugate_closed_forms():
    """Gamma(alpha + y, beta + e): mean (alpha + y) / (beta + e) and sd sqrt(alpha + y) /
    (beta + e), written here from the posterior's parameters."""
    posterior = exact.gamma_poisson_no_pooling(EVENTS, EXPOSURE, alpha=1.0, beta=0.5)
    assert np.allclose(posterior.mean["rate"], (1 + EVENTS) / (0.5 + EXPOSURE), rtol=1e-12)
    assert np.allclose(posterior.sd["rate"], np.sqrt(1 + EVENTS) / (0.5 + EXPOSURE), rtol=1e-12)
    assert np.allclose(posterior.alpha, 1 + EVENTS) and np.allclose(posterior.beta, 0.5 + EXPOSURE)


def test_gamma_posterior_is_prior_times_likelihood():
    """Brute force: Gamma(2, 0.5) prior x Poisson(y | rate e) on a fine grid, normalised with
    Simpson's rule; its CDF at the exact 5%, 50% and 95% quantiles equals 0.05, 0.5, 0.95."""
    y, e = 3, 1.7
    posterior = exact.gamma_poisson_no_pooling([y], [e], alpha=2.0, beta=0.5)
    rate = np.linspace(0.0, 30.0, 30001)
    density = stats.gamma(2.0, scale=2.0).pdf(rate) * stats.poisson(rate * e).pmf(y)
    cdf = integrate.cumulative_simpson(density, x=rate, initial=0.0)
    cdf /= cdf[-1]
    for q in (0.05, 0.5, 0.95):
        x = float(posterior.quantile(q)["rate"][0])
        assert np.interp(x, rate, cdf) == pytest.approx(q, abs=1e-6)


def test_gamma_posterior_draws_and_large_exposures():
    """Draws have the closed-form mean within 5 Monte Carlo standard errors and repeat with
    the seed; with exposures 1e6 times larger (and counts to match) the posterior mean
    approaches the raw rate y / e."""
    posterior = exact.gamma_poisson_no_pooling(EVENTS, EXPOSURE, alpha=1.0, beta=0.5)
    draws = posterior.sample(20000, rng=np.random.default_rng(3))["rate"]
    assert draws.shape == (20000, 4)
    mean, sd = posterior.mean["rate"], posterior.sd["rate"]
    assert np.all(np.abs(draws.mean(axis=0) - mean) < 5 * sd / np.sqrt(20000))
    assert np.array_equal(posterior.sample(5, rng=1)["rate"], posterior.sample(5, rng=1)["rate"])
    big = exact.gamma_poisson_no_pooling(EVENTS * 10**6, EXPOSURE * 1e6, alpha=1.0, beta=0.5)
    assert np.allclose(big.mean["rate"], EVENTS / EXPOSURE, atol=1e-5)


@pytest.mark.parametrize(
    ("counts", "exposure", "kwargs", "error", "name"),
    [
        ([1, -1], [1.0, 1.0], {}, ValueError, "counts"),
        ([1, 1.5], [1.0, 1.0], {}, ValueError, "counts"),
        ([1, np.nan], [1.0, 1.0], {}, ValueError, "counts"),
        ([[1, 2]], [1.0, 1.0], {}, ValueError, "counts"),
        ([1, 2], [1.0, 0.0], {}, ValueError, "exposure"),
        ([1, 2], [1.0, -3.0], {}, ValueError, "exposure"),
        ([1, 2, 3], [1.0, 2.0], {}, ValueError, "counts and exposure"),
        ([1, 2], [1.0, 2.0], {"alpha": 0.0}, ValueError, "alpha"),
        ([1, 2], [1.0, 2.0], {"beta": -1.0}, ValueError, "beta"),
    ],
)
def test_gamma_posterior_rejects_bad_input(counts, exposure, kwargs, error, name):
    """Bad counts, non-positive exposures, mismatched lengths and invalid priors raise an
    error naming the argument."""
    with pytest.raises(error, match=name):
        exact.gamma_poisson_no_pooling(counts, exposure, **{"alpha": 1.0, "beta": 0.5, **kwargs})


# ------------------------------------------------------------------ exact hierarchical posteriors


def _brute_force(log_likelihood, response, n_groups, *, mu_limits, tau_max, mu_sd, tau_sd):
    """Posterior means and sds of mu, tau and each group's response, by plain quadrature.

    mu and tau on uniform grids (Simpson's rule), and for each (mu, tau) each group effect
    theta = mu + tau z integrated over a fixed grid of z in [-9, 9] (Simpson's rule, in
    log space so that no likelihood underflows). The grids were chosen so that doubling
    their resolution and widening their ranges changes the results by less than 2e-6
    (checked when they were chosen).
    """
    mu = np.linspace(*mu_limits, 161)
    tau = np.linspace(0.0, tau_max, 121)
    z = np.linspace(-9.0, 9.0, 401)
    theta = mu[:, None, None] + tau[None, :, None] * z
    log_post = stats.norm.logpdf(mu, 0.0, mu_sd)[:, None] + stats.halfnorm.logpdf(tau, scale=tau_sd)
    first, second = [], []
    for j in range(n_groups):
        log_f = log_likelihood(j, theta) - 0.5 * z**2
        peak = log_f.max(axis=-1, keepdims=True)
        f = np.exp(log_f - peak)
        marginal = integrate.simpson(f, x=z, axis=-1)
        log_post = log_post + np.log(marginal) + peak[..., 0]
        first.append(integrate.simpson(f * response(theta), x=z, axis=-1) / marginal)
        second.append(integrate.simpson(f * response(theta) ** 2, x=z, axis=-1) / marginal)
    weights = np.exp(log_post - log_post.max())

    def expect(values):
        inner = integrate.simpson(values * weights, x=tau, axis=-1)
        return integrate.simpson(inner, x=mu, axis=-1)

    norm = expect(np.ones_like(weights))
    grid_mu, grid_tau = np.meshgrid(mu, tau, indexing="ij")
    means = {
        "mu": expect(grid_mu) / norm,
        "tau": expect(grid_tau) / norm,
        "response": expect(np.array(first)) / norm,
    }
    sds = {
        "mu": np.sqrt(expect((grid_mu - means["mu"]) ** 2) / norm),
        "tau": np.sqrt(expect((grid_tau - means["tau"]) ** 2) / norm),
        "response": np.sqrt(expect(np.array(second)) / norm - means["response"] ** 2),
    }
    return means, sds


def _poisson_log_likelihood(j, theta):
    """log Poisson(y_j | e_j exp(theta)), written out."""
    y, e = EVENTS[j], EXPOSURE[j]
    return y * (np.log(e) + theta) - e * np.exp(theta) - special.gammaln(y + 1)


def _binomial_log_likelihood(j, theta):
    """log Binomial(y_j | n_j, logistic(theta)), written out."""
    y, n = MADE[j], ATTEMPTS[j]
    log_choose = special.gammaln(n + 1) - special.gammaln(y + 1) - special.gammaln(n - y + 1)
    return log_choose + y * theta - n * np.logaddexp(0.0, theta)


BRUTE_FORCE_CASES = {
    "poisson": dict(
        posterior=lambda: exact.hierarchical_poisson(EVENTS, EXPOSURE, tau_prior_sd=1.0),
        log_likelihood=_poisson_log_likelihood, response=np.exp, name="rate",
        n_groups=len(EVENTS), mu_limits=(-4.0, 4.0), mu_sd=1.0,
    ),
    "binomial": dict(
        posterior=lambda: exact.hierarchical_binomial(MADE, ATTEMPTS, mu_prior_sd=1.5),
        log_likelihood=_binomial_log_likelihood, response=special.expit, name="p",
        n_groups=len(MADE), mu_limits=(-6.0, 7.0), mu_sd=1.5,
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BRUTE_FORCE_CASES))
def test_exact_hierarchies_match_brute_force_quadrature(case):
    """Means and sds of mu, tau and every group's rate (Poisson) or probability (Binomial)
    agree with the brute-force integration to 2e-5 relative or 5e-6 absolute (its own
    error is below 2e-6); tau ~ HalfNormal(1) in both."""
    settings = BRUTE_FORCE_CASES[case]
    posterior = settings["posterior"]()
    means, sds = _brute_force(
        settings["log_likelihood"],
        settings["response"],
        settings["n_groups"],
        mu_limits=settings["mu_limits"],
        tau_max=5.0,
        mu_sd=settings["mu_sd"],
        tau_sd=1.0,
    )
    for name, key in [("mu", "mu"), ("tau", "tau"), (settings["name"], "response")]:
        assert np.allclose(posterior.mean[name], means[key], rtol=2e-5, atol=5e-6), name
        assert np.allclose(posterior.sd[name], sds[key], rtol=2e-5, atol=5e-6), name


def test_hierarchical_poisson_complete_pooling_limit():
    """With tau's prior squeezed to HalfNormal(1e-4), every rate is exp(mu), and mu's
    posterior is that of the complete-pooling model, Normal(0, 1) x prod Poisson(y_j |
    e_j exp(mu)), integrated here on a 1-D grid."""
    posterior = exact.hierarchical_poisson(EVENTS, EXPOSURE, tau_prior_sd=1e-4)
    mu = np.linspace(-3.0, 3.0, 6001)
    log_density = stats.norm.logpdf(mu) + sum(
        stats.poisson.logpmf(y, e * np.exp(mu)) for y, e in zip(EVENTS, EXPOSURE, strict=True)
    )
    density = np.exp(log_density - log_density.max())
    norm = integrate.simpson(density, x=mu)
    expected_mu = integrate.simpson(mu * density, x=mu) / norm
    expected_rate = integrate.simpson(np.exp(mu) * density, x=mu) / norm
    assert posterior.mean["mu"] == pytest.approx(expected_mu, abs=1e-4)
    assert np.allclose(posterior.mean["rate"], expected_rate, rtol=1e-3)


def test_expect_integrates_functions_of_the_hyperparameters():
    """expect(1) is 1 and expect(mu) is the posterior mean of mu."""
    posterior = exact.hierarchical_poisson(EVENTS, EXPOSURE)
    assert posterior.expect(lambda mu, tau: np.ones_like(mu)) == pytest.approx(1.0)
    assert posterior.expect(lambda mu, tau: mu) == pytest.approx(posterior.mean["mu"])


@pytest.mark.parametrize(
    ("function", "args", "error", "name"),
    [
        (exact.hierarchical_poisson, ([1, -1], [1.0, 1.0]), ValueError, "counts"),
        (exact.hierarchical_poisson, ([1, 2], [1.0, 0.0]), ValueError, "exposure"),
        (exact.hierarchical_poisson, ([1, 2], [1.0]), ValueError, "exposure"),
        (exact.hierarchical_binomial, ([1, 5], [4, 4]), ValueError, "trials"),
        (exact.hierarchical_binomial, ([1, 0.5], [4, 4]), ValueError, "successes"),
        (exact.hierarchical_binomial, ([1, 2], [4, 4, 4]), ValueError, "trials"),
    ],
)
def test_exact_hierarchies_reject_bad_input(function, args, error, name):
    """Bad counts, exposures or trials raise an error naming the argument."""
    with pytest.raises(error, match=name):
        function(*args)


# ------------------------------------------------------------------ model builders


@pytest.mark.parametrize(
    ("builder", "args", "response", "dim"),
    [
        (models.hierarchical_poisson, (EVENTS, EXPOSURE), "rate", "hospital"),
        (models.hierarchical_binomial, (MADE, ATTEMPTS), "p", "player"),
    ],
)
@pytest.mark.parametrize(
    ("parameterization", "free"),
    [("non_centered", {"mu", "tau", "theta_offset"}), ("centered", {"mu", "tau", "theta"})],
)
def test_builders_variables_and_dims(builder, args, response, dim, parameterization, free):
    """Both builders create mu, tau, the link-scale theta (via theta_offset when
    non-centred), the response on the data scale and the observed y, all over ``dim``."""
    labels = [f"g{i}" for i in range(len(args[0]))]
    model = builder(*args, parameterization=parameterization, groups=labels, dim=dim)
    assert {rv.name for rv in model.free_RVs} == free
    assert response in {d.name for d in model.deterministics}
    assert [rv.name for rv in model.observed_RVs] == ["y"]
    assert list(model.coords[dim]) == labels
    for name in (free - {"mu", "tau"}) | {response, "y"}:
        assert model.named_vars_to_dims[name] == (dim,)


def test_poisson_builder_log_density_matches_scipy():
    """Centred: log p = Normal(0, 1) at mu + HalfNormal(1) at tau + sum Normal(mu, tau) at
    theta_j + sum Poisson(e_j exp(theta_j)) at y_j; non-centred, theta = mu + tau z with
    Normal(0, 1) at z."""
    mu, tau = 0.3, 0.7
    theta = np.array([0.1, 0.9, -0.4, 0.2])
    base = (
        stats.norm.logpdf(mu, 0, 1)
        + stats.halfnorm.logpdf(tau, scale=1)
        + stats.poisson.logpmf(EVENTS, EXPOSURE * np.exp(theta)).sum()
    )
    centered = models.hierarchical_poisson(EVENTS, EXPOSURE, parameterization="centered")
    expected = base + stats.norm.logpdf(theta, mu, tau).sum()
    assert constrained_logp(centered, {"mu": mu, "tau": tau, "theta": theta}) == pytest.approx(
        expected, abs=1e-6
    )
    non_centered = models.hierarchical_poisson(EVENTS, EXPOSURE)
    z = (theta - mu) / tau
    expected = base + stats.norm.logpdf(z).sum()
    assert constrained_logp(
        non_centered, {"mu": mu, "tau": tau, "theta_offset": z}
    ) == pytest.approx(expected, abs=1e-6)


def test_binomial_builder_log_density_matches_scipy():
    """Centred: log p = Normal(0, 1.5) at mu + HalfNormal(1) at tau + sum Normal(mu, tau) at
    theta_j + sum Binomial(n_j, logistic(theta_j)) at y_j."""
    mu, tau = 1.1, 0.4
    theta = np.array([0.2, 1.5, 2.0])
    model = models.hierarchical_binomial(MADE, ATTEMPTS, parameterization="centered")
    expected = (
        stats.norm.logpdf(mu, 0, 1.5)
        + stats.halfnorm.logpdf(tau, scale=1)
        + stats.norm.logpdf(theta, mu, tau).sum()
        + stats.binom.logpmf(MADE, ATTEMPTS, special.expit(theta)).sum()
    )
    got = constrained_logp(model, {"mu": mu, "tau": tau, "theta": theta})
    assert got == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    ("builder", "args", "kwargs", "error", "name"),
    [
        (models.hierarchical_poisson, ([1, -2], [1.0, 1.0]), {}, ValueError, "counts"),
        (models.hierarchical_poisson, ([1, 2.5], [1.0, 1.0]), {}, ValueError, "counts"),
        (models.hierarchical_poisson, ([1, np.nan], [1.0, 1.0]), {}, ValueError, "counts"),
        (models.hierarchical_poisson, ([[1, 2]], [1.0, 1.0]), {}, ValueError, "counts"),
        (models.hierarchical_poisson, ([1, 2], [1.0, 0.0]), {}, ValueError, "exposure"),
        (models.hierarchical_poisson, ([1, 2], [1.0, 1.0, 1.0]), {}, ValueError, "exposure"),
        (
            models.hierarchical_poisson,
            ([1, 2], [1.0, 1.0]),
            {"groups": ["a"]},
            ValueError,
            "groups",
        ),
        (
            models.hierarchical_poisson,
            ([1, 2], [1.0, 1.0]),
            {"parameterization": "sideways"},
            ValueError,
            "parameterization",
        ),
        (models.hierarchical_poisson, ([1, 2], [1.0, 1.0]), {"tau_prior_sd": 0}, ValueError, "tau"),
        (models.hierarchical_binomial, ([3, 5], [4, 4]), {}, ValueError, "successes"),
        (models.hierarchical_binomial, ([0, 1], [0, 4]), {}, ValueError, "trials"),
        (models.hierarchical_binomial, ([1, -1], [4, 4]), {}, ValueError, "successes"),
        (models.hierarchical_binomial, ([1, 2], [4.5, 4]), {}, ValueError, "trials"),
        (models.hierarchical_binomial, ([1, 2], [4]), {}, ValueError, "trials"),
    ],
)
def test_builders_reject_bad_input(builder, args, kwargs, error, name):
    """Bad counts, exposures, trials, labels and options raise an error naming the argument."""
    with pytest.raises(error, match=name):
        builder(*args, **kwargs)
