"""Tests of the Dirichlet-Multinomial pieces: data.simulate_survey,
exact.dirichlet_no_pooling and models.dirichlet_multinomial (fast; no MCMC).

Expected values come from routes that do not share the code under test: the conjugate
closed forms written out here ((a + y) / (a0 + n), the Beta marginals' variances), a
brute-force integration of prior x likelihood over the 3-category simplex, Monte Carlo
moments of the exact draws, and log densities assembled from ``scipy.stats`` (Exponential,
Dirichlet, Multinomial and Dirichlet-Multinomial) rather than read back from PyMC.
"""

import numpy as np
import pandas as pd
import pymc as pm
import pytest
from pymc.model.transform.conditioning import remove_value_transforms
from scipy import integrate, stats

from companion import data, exact, models

COUNTS = np.array([[3, 1, 0], [10, 20, 30], [0, 0, 5]])


# ------------------------------------------------------------------ data.simulate_survey


def test_simulate_survey_shapes_labels_and_totals():
    """Rows are regions R1.. with the requested numbers of respondents, columns the
    category names; true proportions lie on the simplex."""
    survey = data.simulate_survey(
        seed=3, region_sizes=(10, 500, 7), categories=("x", "y", "z", "w")
    )
    assert list(survey.counts.index) == ["R1", "R2", "R3"]
    assert list(survey.counts.columns) == ["x", "y", "z", "w"]
    assert survey.counts.sum(axis=1).tolist() == [10, 500, 7]
    assert survey.counts.to_numpy().dtype.kind == "i"
    assert np.allclose(survey.true_proportions.sum(axis=1), 1.0)
    assert (survey.true_proportions.to_numpy() >= 0).all()
    assert list(survey.national.index) == ["x", "y", "z", "w"]


def test_simulate_survey_is_reproducible_and_seed_dependent():
    """The same seed gives the same survey; another seed another one."""
    first, again, other = (data.simulate_survey(seed=s) for s in (7, 7, 8))
    pd.testing.assert_frame_equal(first.counts, again.counts)
    assert not first.counts.equals(other.counts)


def test_simulate_survey_proportions_scatter_as_dirichlet():
    """Over many regions, the simulated proportions have the Dirichlet mean pi0 and the
    variance pi0 (1 - pi0) / (alpha + 1) of eq. (dm-dirichlet-variance); tolerances are
    5 standard errors of the Monte Carlo mean and variance over 4000 regions."""
    national = np.array([0.5, 0.3, 0.2])
    alpha = 6.0
    survey = data.simulate_survey(
        seed=11, region_sizes=(1,) * 4000, national=tuple(national), concentration=alpha,
        categories=("a", "b", "c"),
    )  # fmt: skip
    draws = survey.true_proportions.to_numpy()
    variance = national * (1 - national) / (alpha + 1)
    assert np.all(np.abs(draws.mean(axis=0) - national) < 5 * np.sqrt(variance / 4000))
    fourth = 3 * variance**2  # a generous bound on the fourth central moment
    assert np.all(np.abs(draws.var(axis=0) - variance) < 5 * np.sqrt(fourth / 4000))


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        (dict(region_sizes=(5, 0)), ValueError, "region_sizes"),
        (dict(region_sizes=(5, 2.5)), ValueError, "region_sizes"),
        (dict(region_sizes=(5, -1)), ValueError, "region_sizes"),
        (dict(region_sizes=()), ValueError, "region_sizes"),
        (dict(region_sizes=("a",)), TypeError, "region_sizes"),
        (dict(national=(0.5, 0.6)), ValueError, "national"),
        (dict(national=(1.0,)), ValueError, "national"),
        (dict(national=(0.5, 0.5, 0.0)), ValueError, "national"),
        (dict(concentration=0.0), ValueError, "concentration"),
        (dict(categories=("a", "b")), ValueError, "categories"),
        (dict(seed=None), TypeError, "seed"),
        (dict(seed=-2), ValueError, "seed"),
    ],
)
def test_simulate_survey_rejects_bad_input(kwargs, error, name):
    """Invalid sizes, proportions, concentrations, labels and seeds raise an error naming
    the argument."""
    arguments = {"seed": 1, **kwargs}
    with pytest.raises(error, match=name):
        data.simulate_survey(**arguments)


# ------------------------------------------------------------------ exact.dirichlet_no_pooling


def test_no_pooling_means_and_sds_are_the_conjugate_closed_forms():
    """With prior a, E[pi_rk] = (a_k + y_rk) / (a0 + n_r) and
    Var = m (1 - m) / (a0 + n_r + 1), written here from the Dirichlet(a + y) posterior."""
    prior = np.array([0.5, 1.0, 2.0])
    posterior = exact.dirichlet_no_pooling(COUNTS, prior=prior)
    total = prior.sum() + COUNTS.sum(axis=1, keepdims=True)
    mean = (prior + COUNTS) / total
    assert np.allclose(posterior.mean["pi"], mean, rtol=1e-12)
    assert np.allclose(posterior.sd["pi"], np.sqrt(mean * (1 - mean) / (total + 1)), rtol=1e-12)
    assert np.allclose(posterior.concentration, prior + COUNTS)
    assert posterior.shape == COUNTS.shape


def test_no_pooling_posterior_is_prior_times_likelihood_on_the_simplex():
    """Brute force: the unnormalised product Dirichlet(1, 1, 1) x Multinomial(y) on a fine
    grid of the 3-simplex, integrated with Simpson's rule, gives P(pi_1 <= x | y); at x the
    exact 0.3 quantile and 0.8 quantile of pi_1 it must equal 0.3 and 0.8 (to 1e-6)."""
    y = np.array([3, 1, 2])
    posterior = exact.dirichlet_no_pooling(y[None, :], prior=1.0)
    grid = np.linspace(0.0, 1.0, 4001)

    def mass_below(x):
        # Integrate over pi_1 in [0, x] and pi_2 in [0, 1 - pi_1]; pi_3 = 1 - pi_1 - pi_2.
        def inner(p1):
            p2 = grid * (1 - p1)
            density = p1 ** y[0] * p2 ** y[1] * np.clip(1 - p1 - p2, 0, None) ** y[2]
            return integrate.simpson(density, x=p2)

        p1 = np.linspace(0.0, x, 801)
        return integrate.simpson([inner(p) for p in p1], x=p1)

    total = mass_below(1.0)
    for q in (0.3, 0.8):
        x = float(posterior.quantile(q)["pi"][0, 0])
        assert mass_below(x) / total == pytest.approx(q, abs=1e-6)


def test_no_pooling_with_two_categories_is_the_beta_binomial_posterior():
    """K = 2: pi_1 | y ~ Beta(1 + y, 1 + n - y), the textbook Beta-Binomial posterior; its
    quantiles are compared with scipy's Beta distribution."""
    made, attempts = np.array([2, 8, 19]), np.array([4, 10, 25])
    posterior = exact.dirichlet_no_pooling(np.column_stack([made, attempts - made]))
    q = np.array([0.05, 0.5, 0.95])
    expected = stats.beta(1 + made, 1 + attempts - made).ppf(q[:, None])
    assert np.allclose(posterior.quantile(q)["pi"][:, :, 0], expected, rtol=1e-10)
    assert posterior.quantile(0.5)["pi"].shape == (3, 2)


def test_no_pooling_draws_have_the_posterior_moments():
    """Exact draws lie on the simplex and their means and covariances match the Dirichlet
    closed forms (Cov(pi_j, pi_k) = -m_j m_k / (a0 + 1)) within 5 Monte Carlo standard
    errors; the same rng seed repeats the draws."""
    posterior = exact.dirichlet_no_pooling([[4, 7, 1]], prior=1.0)
    n = 20000
    draws = posterior.sample(n, rng=5)["pi"]
    assert draws.shape == (n, 1, 3)
    assert np.allclose(draws.sum(axis=-1), 1.0)
    a = np.array([5.0, 8.0, 2.0])
    m = a / a.sum()
    covariance = (np.diag(m) - np.outer(m, m)) / (a.sum() + 1)
    sample = draws[:, 0, :]
    assert np.all(np.abs(sample.mean(axis=0) - m) < 5 * np.sqrt(np.diag(covariance) / n))
    assert np.allclose(np.cov(sample.T), covariance, atol=5 * covariance.max() * np.sqrt(2 / n))
    assert np.array_equal(draws, posterior.sample(n, rng=5)["pi"])


def test_no_pooling_accepts_a_dataframe_and_keeps_its_shape():
    """A DataFrame of counts works like its array."""
    frame = pd.DataFrame(COUNTS, index=["a", "b", "c"], columns=["x", "y", "z"])
    assert np.allclose(
        exact.dirichlet_no_pooling(frame).mean["pi"], exact.dirichlet_no_pooling(COUNTS).mean["pi"]
    )


@pytest.mark.parametrize(
    ("counts", "error"),
    [
        ([[1, -1, 2]], ValueError),
        ([[1, 0.5, 2]], ValueError),
        ([[1, np.nan, 2]], ValueError),
        ([[1, np.inf, 2]], ValueError),
        ([1, 2, 3], ValueError),
        ([[[1, 2]]], ValueError),
        ([[5], [3]], ValueError),
        (np.zeros((0, 3)), ValueError),
        ([["a", "b"]], TypeError),
        ([[True, False]], TypeError),
    ],
)
def test_no_pooling_rejects_bad_counts(counts, error):
    """Negative, fractional, NaN, infinite, boolean or text counts, and arrays that are not
    groups x (two or more) categories, raise an error naming ``counts``."""
    with pytest.raises(error, match="counts"):
        exact.dirichlet_no_pooling(counts)


@pytest.mark.parametrize("prior", [0.0, -1.0, np.nan, [1.0, 2.0], [[1.0, 1.0, 1.0]] * 2])
def test_no_pooling_rejects_bad_priors(prior):
    """A prior that is not positive or does not broadcast to the counts raises ValueError."""
    with pytest.raises(ValueError, match="prior"):
        exact.dirichlet_no_pooling(COUNTS, prior=prior)


# ------------------------------------------------------------------ models.dirichlet_multinomial


def constrained_logp(model: pm.Model, values: dict) -> float:
    """Log density of ``model`` at constrained values (simplex, positive reals), with the
    model's value transforms removed so that no Jacobian enters."""
    untransformed = remove_value_transforms(model)
    point = {
        untransformed.rvs_to_values[untransformed[name]].name: np.asarray(value, dtype=float)
        for name, value in values.items()
    }
    return float(untransformed.compile_logp()(point))


@pytest.fixture
def survey_counts() -> pd.DataFrame:
    return pd.DataFrame(
        [[3, 5, 2, 1], [10, 12, 9, 4], [1, 0, 2, 0]],
        index=pd.Index(["R1", "R2", "R3"], name="region"),
        columns=["sa", "a", "d", "sd"],
    )


def test_full_model_variables_coords_and_dims(survey_counts):
    """The full model has alpha, pi0 (dim category), pi (region x category) and the observed
    y; DataFrame labels become the coordinates."""
    model = models.dirichlet_multinomial(survey_counts, dims=("region", "category"))
    assert {rv.name for rv in model.free_RVs} == {"alpha", "pi0", "pi"}
    assert [rv.name for rv in model.observed_RVs] == ["y"]
    assert list(model.coords["region"]) == ["R1", "R2", "R3"]
    assert list(model.coords["category"]) == ["sa", "a", "d", "sd"]
    assert model.named_vars_to_dims["pi"] == ("region", "category")
    assert model.named_vars_to_dims["pi0"] == ("category",)
    assert model.named_vars_to_dims["y"] == ("region", "category")


def test_marginal_model_has_no_group_proportions(survey_counts):
    """With marginal=True only alpha and pi0 are free."""
    model = models.dirichlet_multinomial(survey_counts, marginal=True)
    assert {rv.name for rv in model.free_RVs} == {"alpha", "pi0"}
    assert list(model.coords["group"]) == ["R1", "R2", "R3"]


def test_full_model_log_density_matches_scipy(survey_counts):
    """log p = Exponential(1) at alpha + Dirichlet(1,...,1) at pi0 + sum_r Dirichlet(alpha pi0)
    at pi_r + sum_r Multinomial(n_r, pi_r) at y_r, each from scipy.stats."""
    model = models.dirichlet_multinomial(survey_counts)
    rng = np.random.default_rng(0)
    alpha, pi0 = 3.7, np.array([0.1, 0.4, 0.3, 0.2])
    pi = rng.dirichlet(alpha * pi0 + 1.0, size=3)
    y = survey_counts.to_numpy()
    expected = (
        stats.expon.logpdf(alpha)
        + stats.dirichlet.logpdf(pi0, np.ones(4))
        + sum(stats.dirichlet.logpdf(p, alpha * pi0) for p in pi)
        + sum(stats.multinomial.logpmf(row, row.sum(), p) for row, p in zip(y, pi, strict=True))
    )
    got = constrained_logp(model, {"alpha": alpha, "pi0": pi0, "pi": pi})
    assert got == pytest.approx(expected, abs=1e-6)


def test_marginal_model_log_density_matches_scipy(survey_counts):
    """log p = Exponential(1) at alpha + Dirichlet(1,...,1) at pi0 + sum_r
    DirichletMultinomial(n_r, alpha pi0) at y_r (scipy.stats.dirichlet_multinomial)."""
    model = models.dirichlet_multinomial(survey_counts, marginal=True)
    alpha, pi0 = 5.2, np.array([0.25, 0.35, 0.25, 0.15])
    y = survey_counts.to_numpy()
    expected = (
        stats.expon.logpdf(alpha)
        + stats.dirichlet.logpdf(pi0, np.ones(4))
        + sum(stats.dirichlet_multinomial.logpmf(row, alpha * pi0, row.sum()) for row in y)
    )
    assert constrained_logp(model, {"alpha": alpha, "pi0": pi0}) == pytest.approx(
        expected, abs=1e-6
    )


def test_labels_can_be_given_for_arrays():
    """For a plain array, groups and categories label the coordinates; default "0", "1"..."""
    model = models.dirichlet_multinomial(
        [[1, 2], [3, 4]], groups=["north", "south"], categories=["yes", "no"]
    )
    assert list(model.coords["group"]) == ["north", "south"]
    assert list(model.coords["category"]) == ["yes", "no"]
    default = models.dirichlet_multinomial([[1, 2], [3, 4]])
    assert list(default.coords["category"]) == ["0", "1"]


@pytest.mark.parametrize(
    ("counts", "kwargs", "error", "name"),
    [
        ([[1, -2, 3]], {}, ValueError, "counts"),
        ([[1, 2.5, 3]], {}, ValueError, "counts"),
        ([[1, np.nan, 3]], {}, ValueError, "counts"),
        ([1, 2, 3], {}, ValueError, "counts"),
        ([[4], [5]], {}, ValueError, "counts"),
        ([[0, 0, 0], [1, 2, 3]], {}, ValueError, "counts"),
        ([["a", "b"]], {}, TypeError, "counts"),
        ([[1, 2], [3, 4]], {"groups": ["only one"]}, ValueError, "groups"),
        ([[1, 2], [3, 4]], {"categories": ["a", "b", "c"]}, ValueError, "categories"),
        ([[1, 2], [3, 4]], {"dims": ("same", "same")}, ValueError, "dims"),
    ],
)
def test_dirichlet_multinomial_rejects_bad_input(counts, kwargs, error, name):
    """Bad counts (negative, fractional, NaN, wrong shape, an empty group, text) and labels
    that do not fit raise an error naming the argument."""
    with pytest.raises(error, match=name):
        models.dirichlet_multinomial(counts, **kwargs)


# ------------------------------------------------------ exact.dirichlet_multinomial_hierarchy

P0_GRID = np.linspace(1e-9, 1 - 1e-9, 801)
"""The p0 axis of the brute-force grids of the two-category hierarchy."""


def _grid_expectation(counts, x, grid_alpha, grid_p0, log_prior):
    """Posterior expectation on a brute-force grid for K = 2 categories: the first axis is
    ``x`` (alpha or log alpha, with ``log_prior`` the prior's log density in that
    coordinate), the second :data:`P0_GRID`; the likelihood is scipy's betabinom, and
    both axes are integrated with Simpson's rule."""
    log_density = log_prior
    for y in counts:
        log_density = log_density + stats.betabinom.logpmf(
            y[0], y.sum(), grid_alpha * grid_p0, grid_alpha * (1 - grid_p0)
        )
    weights = np.exp(log_density - log_density.max())

    def integral(values):
        return integrate.simpson(integrate.simpson(values * weights, x=P0_GRID, axis=1), x=x)

    norm = integral(np.ones_like(weights))
    return lambda values: integral(values) / norm


def test_hierarchy_with_two_categories_matches_brute_force():
    """K = 2 is the Beta-Binomial hierarchy: alpha ~ Exponential(1), p0 ~ Uniform(0, 1) and
    y_r ~ BetaBinomial(n_r, alpha p0, alpha (1 - p0)) (scipy.stats.betabinom). Integrated
    on a 2001 x 801 grid in (alpha, p0) with Simpson's rule (doubling both changes nothing
    at 1e-9), the posterior means of alpha, p0 and E[pi_r] = E[(alpha p0 + y_r) /
    (alpha + n_r)] agree to 1e-5 relative, and the sd of alpha to 2e-4."""
    counts = np.array([[3, 9], [10, 12], [1, 7], [20, 15]])
    posterior = exact.dirichlet_multinomial_hierarchy(counts)
    alpha = np.linspace(1e-9, 60.0, 2001)
    grid_alpha, grid_p0 = np.meshgrid(alpha, P0_GRID, indexing="ij")
    expect = _grid_expectation(counts, alpha, grid_alpha, grid_p0, stats.expon.logpdf(grid_alpha))
    mean_alpha = expect(grid_alpha)
    assert posterior.mean["alpha"] == pytest.approx(mean_alpha, rel=1e-5)
    assert posterior.sd["alpha"] == pytest.approx(
        np.sqrt(expect((grid_alpha - mean_alpha) ** 2)), rel=2e-4
    )
    assert posterior.mean["pi0"][0] == pytest.approx(expect(grid_p0), rel=1e-5)
    for r, y in enumerate(counts):
        conditional = (grid_alpha * grid_p0 + y[0]) / (grid_alpha + y.sum())
        assert posterior.mean["pi"][r, 0] == pytest.approx(expect(conditional), rel=1e-5)
    assert np.allclose(posterior.mean["pi"].sum(axis=1), 1.0)


def test_hierarchy_is_equivariant_under_relabelling_categories():
    """The model treats the categories symmetrically, so permuting the columns of the counts
    permutes pi0 and pi, and leaves alpha unchanged (to the quadrature's accuracy, 1e-5:
    the rule's coordinates single out the last category, so the two computations use
    different nodes)."""
    counts = np.array([[3, 5, 2, 1], [10, 12, 9, 4], [1, 0, 2, 0]])
    order = [2, 0, 3, 1]
    posterior = exact.dirichlet_multinomial_hierarchy(counts)
    permuted = exact.dirichlet_multinomial_hierarchy(counts[:, order])
    assert permuted.mean["alpha"] == pytest.approx(posterior.mean["alpha"], rel=1e-5)
    assert np.allclose(permuted.mean["pi0"], posterior.mean["pi0"][order], rtol=1e-5)
    assert np.allclose(permuted.mean["pi"], posterior.mean["pi"][:, order], rtol=1e-5)


def test_hierarchy_expect_gives_shrinkage_weights():
    """expect(1) = 1, and expect of the weight alpha / (alpha + n) lies in (0, 1) and
    decreases with n."""
    posterior = exact.dirichlet_multinomial_hierarchy([[3, 5, 2], [10, 12, 9], [1, 6, 2]])
    assert float(posterior.expect(lambda a, p: np.ones_like(a))) == pytest.approx(1.0)
    small, large = (float(posterior.expect(lambda a, p, n=n: a / (a + n))) for n in (10, 500))
    assert 0 < large < small < 1


@pytest.mark.parametrize(
    "counts", [[[1, 2, 3, 4, 5, 6, 7]], [[0, 0], [1, 2]], [[1, -1]], [1, 2, 3]]
)
def test_hierarchy_rejects_bad_counts(counts):
    """More than six categories, an empty group, negative counts or a 1-D array raise
    ValueError naming ``counts``."""
    with pytest.raises(ValueError, match="counts"):
        exact.dirichlet_multinomial_hierarchy(counts)


# ------------------------------------------------------------ the prior of alpha (alpha_prior)

WEAK_PRIOR = stats.lognorm(1.5, scale=20.0)  # log alpha ~ Normal(log 20, 1.5), the chapter's


@pytest.mark.parametrize(
    ("law", "pymc_name", "parameters"),
    [
        (stats.expon(scale=2.0), "Exponential", {"lam": 0.5}),
        (stats.lognorm(1.5, scale=20.0), "LogNormal", {"mu": np.log(20.0), "sigma": 1.5}),
        (stats.gamma(2.0, scale=5.0), "Gamma", {"alpha": 2.0, "beta": 0.2}),
        (stats.halfnorm(scale=30.0), "HalfNormal", {"sigma": 30.0}),
        (stats.halfcauchy(scale=10.0), "HalfCauchy", {"beta": 10.0}),
    ],
)
def test_alpha_prior_translates_scipy_laws_and_their_log_densities(law, pymc_name, parameters):
    """Each supported scipy law becomes the PyMC distribution of the same parameters
    (written out here from the laws' definitions), and the spec's fast log density and its
    derivative equal scipy's logpdf and its central differences over six orders of
    magnitude of alpha."""
    from companion._specs.dirichlet import alpha_prior

    prior = alpha_prior(law)
    assert prior.pymc == pymc_name
    assert prior.parameters == pytest.approx(parameters, rel=1e-9)
    alpha = np.geomspace(1e-3, 1e3, 25)
    assert np.allclose(prior.logpdf(alpha), law.logpdf(alpha), rtol=1e-10, atol=1e-10)
    # its derivative, against central differences of scipy's logpdf
    step = 1e-6 * alpha
    numerical = (law.logpdf(alpha + step) - law.logpdf(alpha - step)) / (2 * step)
    assert np.allclose(prior.dlogpdf(alpha), numerical, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("law", "error"),
    [
        (stats.norm(0, 1), ValueError),  # not on (0, inf)
        (stats.expon(loc=1.0), ValueError),  # shifted
        (stats.uniform(0, 10), ValueError),  # another family
        (stats.halfnorm(scale=np.inf), ValueError),
        (1.0, TypeError),
        ("lognormal", TypeError),
    ],
)
def test_alpha_prior_refuses_other_laws_naming_it(law, error):
    """A law off (0, inf), of another family, with an infinite parameter, or no law at all,
    raises an error naming alpha_prior, in the builder and in the exact posterior."""
    with pytest.raises(error, match="alpha_prior"):
        models.dirichlet_multinomial([[1, 2], [3, 4]], alpha_prior=law)
    with pytest.raises(error, match="alpha_prior"):
        exact.dirichlet_multinomial_hierarchy([[1, 2], [3, 4]], alpha_prior=law)


@pytest.mark.parametrize("marginal", [False, True])
def test_weak_prior_log_density_matches_scipy(survey_counts, marginal):
    """With alpha_prior = lognorm(1.5, scale=20) the model's log density is scipy's
    lognorm logpdf at alpha plus the same Dirichlet, Multinomial (or Dirichlet-Multinomial)
    terms as with the default prior."""
    model = models.dirichlet_multinomial(survey_counts, marginal=marginal, alpha_prior=WEAK_PRIOR)
    rng = np.random.default_rng(3)
    alpha, pi0 = 17.0, np.array([0.1, 0.4, 0.3, 0.2])
    y = survey_counts.to_numpy()
    expected = WEAK_PRIOR.logpdf(alpha) + stats.dirichlet.logpdf(pi0, np.ones(4))
    values = {"alpha": alpha, "pi0": pi0}
    if marginal:
        expected += sum(
            stats.dirichlet_multinomial.logpmf(row, alpha * pi0, row.sum()) for row in y
        )
    else:
        pi = rng.dirichlet(alpha * pi0 + 1.0, size=3)
        values["pi"] = pi
        expected += sum(stats.dirichlet.logpdf(p, alpha * pi0) for p in pi) + sum(
            stats.multinomial.logpmf(row, row.sum(), p) for row, p in zip(y, pi, strict=True)
        )
    assert constrained_logp(model, values) == pytest.approx(expected, abs=1e-6)


def test_hierarchy_with_weak_prior_matches_brute_force():
    """K = 2 with alpha ~ LogNormal(log 20, 1.5): the Beta-Binomial hierarchy integrated by
    brute force on a grid in (log alpha, p0) (Simpson's rule, 1601 x 801 nodes on
    [-6, 12] x (0, 1), which holds all but a negligible part of the mass), written from
    scipy's lognorm and betabinom. The quadrature's posterior means of alpha, p0 and pi_r
    agree to 1e-5 relative, and those of the cheaper 10-node rule to 1e-3 (alpha's
    posterior is wide and skewed here, its mean near 60)."""
    counts = np.array([[3, 9], [10, 12], [1, 7], [20, 15], [8, 8]])
    log_alpha = np.linspace(-6.0, 12.0, 1601)
    grid_log_alpha, grid_p0 = np.meshgrid(log_alpha, P0_GRID, indexing="ij")
    grid_alpha = np.exp(grid_log_alpha)
    # prior density in (log alpha, p0): prior(alpha) * alpha (the Jacobian)
    log_prior = WEAK_PRIOR.logpdf(grid_alpha) + grid_log_alpha
    expect = _grid_expectation(counts, log_alpha, grid_alpha, grid_p0, log_prior)
    for nodes, rel in [(None, 1e-5), (10, 1e-3)]:
        posterior = exact.dirichlet_multinomial_hierarchy(
            counts, alpha_prior=WEAK_PRIOR, nodes=nodes
        )
        assert posterior.mean["alpha"] == pytest.approx(expect(grid_alpha), rel=rel)
        assert posterior.mean["pi0"][0] == pytest.approx(expect(grid_p0), rel=rel)
        for r, y in enumerate(counts):
            conditional = (grid_alpha * grid_p0 + y[0]) / (grid_alpha + y.sum())
            assert posterior.mean["pi"][r, 0] == pytest.approx(expect(conditional), rel=rel)


@pytest.mark.parametrize(("nodes", "error"), [(1, ValueError), (21, ValueError), (8.0, TypeError)])
def test_hierarchy_refuses_bad_nodes(nodes, error):
    """nodes must be a whole number from 2 to 20."""
    with pytest.raises(error, match="nodes"):
        exact.dirichlet_multinomial_hierarchy([[1, 2], [3, 4]], nodes=nodes)
