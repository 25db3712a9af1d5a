"""Tests of leave-one-out: exact LOO of the Normal models, PSIS against it, the LOO helpers.

Independent routes: exact leave-one-out predictive densities are checked against ratios of
marginal likelihoods p(y) / p(y_-j) computed here by brute-force quadrature (scipy's quad in
one dimension, Simpson's rule on a (mu, tau) grid in two); exact draws against conjugate
closed forms; PSIS-LOO of exact draws against the exact leave-one-out where the Pareto k is
low; the group log-likelihoods against numpy sums and scipy's multivariate Normal; and the
comparison table against ArviZ's own ``compare``. The simulated-study test fits three MCMC
models per seed and is marked slow.
"""

import matplotlib

matplotlib.use("Agg")

import arviz as az  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402
from conftest import assert_converged  # noqa: E402
from scipy import integrate, stats  # noqa: E402

from companion import data, exact, loo, models, plots, sampling  # noqa: E402

TAU_PRIOR = stats.halfnorm(scale=10.0)
MU_PRIOR_SD = 20.0


@pytest.fixture(scope="module")
def schools() -> tuple[np.ndarray, np.ndarray]:
    frame = data.load_eight_schools()
    return frame["y"].to_numpy(), frame["sigma"].to_numpy()


@pytest.fixture(scope="module")
def school_loos(schools) -> dict:
    """PSIS-LOO of 4000 exact draws of each Eight Schools model."""
    y, sigma = schools
    fits = {}
    for k, pooling in enumerate(["complete", "none", "partial"]):
        draws = exact.pooling_draws(
            y, sigma, pooling=pooling, n=4000, rng=np.random.default_rng([7, k]),
            tau_prior=TAU_PRIOR,
        )  # fmt: skip
        fits[pooling] = loo.datatree_from_draws(draws, y=y, sigma=sigma, dim="school")
    return loo.compute_loo(fits)


# --------------------------------------------------------------------------- exact LOO


def log_evidence_partial(y: np.ndarray, sigma: np.ndarray) -> float:
    """log p(y) of the hierarchical model by Simpson's rule on a (mu, tau) grid, theta
    integrated out: y_j | mu, tau ~ Normal(mu, sqrt(sigma_j^2 + tau^2)). A grid four times
    finer in each direction changes the result by less than 1e-8 (checked when chosen)."""
    tau = np.linspace(0.0, 80.0, 401)
    mu = np.linspace(-80.0, 90.0, 681)
    sd = np.sqrt(sigma[None, None, :] ** 2 + tau[:, None, None] ** 2)
    log_like = stats.norm.logpdf(y[None, None, :], mu[None, :, None], sd).sum(axis=2)
    log_joint = (
        log_like + stats.norm.logpdf(mu, 0.0, MU_PRIOR_SD)[None, :] + TAU_PRIOR.logpdf(tau)[:, None]
    )
    peak = log_joint.max()
    inner = integrate.simpson(np.exp(log_joint - peak), x=mu, axis=1)
    return float(np.log(integrate.simpson(inner, x=tau)) + peak)


def test_exact_loo_partial_matches_ratio_of_brute_force_evidences(schools):
    """For the hierarchical model, log p(y_j | y_-j) = log p(y) - log p(y_-j), each evidence
    computed by 2-D quadrature over (mu, tau): agreement to 1e-5 for every school."""
    y, sigma = schools
    exact_loo = exact.loo_log_predictive(y, sigma, pooling="partial", tau_prior=TAU_PRIOR)
    full = log_evidence_partial(y, sigma)
    for j in range(y.size):
        rest = np.arange(y.size) != j
        expected = full - log_evidence_partial(y[rest], sigma[rest])
        assert exact_loo[j] == pytest.approx(expected, abs=1e-5)


def test_exact_loo_complete_and_none_match_one_dimensional_quadrature(schools):
    """Complete pooling: log p(y) - log p(y_-j) with the evidence integrated over mu by quad;
    no pooling: log of the integral over theta_j of Normal(y_j | theta_j, sigma_j) times its
    Normal(0, 20) prior."""
    y, sigma = schools

    def log_evidence_complete(values, sds):
        def integrand(mu):
            return np.exp(
                stats.norm.logpdf(values, mu, sds).sum() + stats.norm.logpdf(mu, 0, MU_PRIOR_SD)
                + 30.0
            )  # fmt: skip

        return float(np.log(integrate.quad(integrand, -150, 150, epsabs=0, epsrel=1e-12)[0]) - 30)

    complete = exact.loo_log_predictive(y, sigma, pooling="complete")
    none = exact.loo_log_predictive(y, sigma, pooling="none")
    full = log_evidence_complete(y, sigma)
    for j in range(y.size):
        rest = np.arange(y.size) != j
        assert complete[j] == pytest.approx(
            full - log_evidence_complete(y[rest], sigma[rest]), abs=1e-8
        )
        density = integrate.quad(
            lambda t, j=j: stats.norm.pdf(y[j], t, sigma[j]) * stats.norm.pdf(t, 0, MU_PRIOR_SD),
            -200, 200, epsabs=0, epsrel=1e-12,
        )[0]  # fmt: skip
        assert none[j] == pytest.approx(np.log(density), abs=1e-8)


def test_exact_loo_bad_input():
    """Unknown pooling, a single group, and a flat prior for no pooling raise ValueError."""
    with pytest.raises(ValueError, match="pooling"):
        exact.loo_log_predictive([1.0, 2.0], [1.0, 1.0], pooling="some")
    with pytest.raises(ValueError, match="two groups"):
        exact.loo_log_predictive([1.0], [1.0])
    with pytest.raises(ValueError, match="mu_prior_sd"):
        exact.loo_log_predictive([1.0, 2.0], [1.0, 1.0], pooling="none", mu_prior_sd=None)


# --------------------------------------------------------------------------- exact draws


def test_pooling_draws_match_conjugate_moments(schools):
    """Complete pooling draws of mu and no-pooling draws of each theta_j have the conjugate
    Normal posterior means and sds (within 4 Monte Carlo standard errors); complete pooling
    repeats mu in every column of theta."""
    y, sigma = schools
    n = 20000
    complete = exact.pooling_draws(y, sigma, pooling="complete", n=n, rng=1)
    precision = np.sum(sigma**-2.0) + MU_PRIOR_SD**-2.0
    mean, sd = np.sum(y * sigma**-2.0) / precision, precision**-0.5
    assert abs(complete["mu"].mean() - mean) < 4 * sd / np.sqrt(n)
    assert complete["mu"].std() == pytest.approx(sd, rel=4 * np.sqrt(0.5 / n))
    np.testing.assert_array_equal(complete["theta"], np.repeat(complete["mu"][:, None], 8, axis=1))
    none = exact.pooling_draws(y, sigma, pooling="none", n=n, rng=2)
    shrink = MU_PRIOR_SD**2 / (MU_PRIOR_SD**2 + sigma**2)
    sds = np.sqrt(shrink) * sigma
    assert np.all(np.abs(none["theta"].mean(axis=0) - shrink * y) < 4 * sds / np.sqrt(n))


def test_pooling_draws_partial_match_exact_posterior_means(schools):
    """Partial pooling draws have the exact posterior means of mu, tau and theta (quadrature
    moments of normal_hierarchy, themselves checked against brute force in test_exact.py)
    within 4 Monte Carlo standard errors."""
    y, sigma = schools
    n = 20000
    draws = exact.pooling_draws(y, sigma, pooling="partial", n=n, rng=3, tau_prior=TAU_PRIOR)
    posterior = exact.normal_hierarchy(y, sigma, tau_prior=TAU_PRIOR)
    for name in ("mu", "tau", "theta"):
        error = draws[name].mean(axis=0) - posterior.mean[name]
        assert np.all(np.abs(error) < 4 * np.asarray(posterior.sd[name]) / np.sqrt(n)), name


# --------------------------------------------------------------------------- PSIS against exact


def test_psis_matches_exact_loo_where_k_is_low(schools, school_loos):
    """With independent exact draws, PSIS-LOO's pointwise values agree with the exact
    leave-one-out to 0.05 wherever Pareto k is below 0.5, and the totals of the two pooled
    models to 0.15."""
    y, sigma = schools
    for pooling, result in school_loos.items():
        truth = exact.loo_log_predictive(y, sigma, pooling=pooling, tau_prior=TAU_PRIOR)
        low = result.pareto_k.values < 0.5
        np.testing.assert_allclose(result.elpd_i.values[low], truth[low], atol=0.05)
        if pooling != "none":
            assert result.elpd == pytest.approx(truth.sum(), abs=0.15)


def test_no_pooling_has_the_high_pareto_k(school_loos):
    """Leaving a school out of the no-pooling model sends its theta back to the prior: its
    largest Pareto k exceeds both pooled models' largest k."""
    largest = {name: float(result.pareto_k.max()) for name, result in school_loos.items()}
    assert largest["none"] > max(largest["complete"], largest["partial"])


def test_loo_table_agrees_with_arviz_compare(school_loos):
    """The tidy table is ArviZ's comparison (same order, ELPDs, differences, standard errors
    and weights), with diff_in_se = elpd_diff / dse (NaN for the best) and n_high_k the count
    of Pareto k above good_k."""
    table = loo.loo_table(school_loos)
    compared = az.compare(school_loos, round_to="none")
    assert table.index.tolist() == compared.index.tolist()
    for mine, theirs in [("elpd", "elpd"), ("se", "se"), ("p_loo", "p"), ("elpd_diff", "elpd_diff"),
                         ("dse", "dse"), ("weight", "weight")]:  # fmt: skip
        np.testing.assert_allclose(table[mine], compared[theirs].astype(float), rtol=1e-12)
    assert np.isnan(table["diff_in_se"].iloc[0])
    np.testing.assert_allclose(
        table["diff_in_se"].iloc[1:], (table["elpd_diff"] / table["dse"]).iloc[1:], rtol=1e-12
    )
    for name, result in school_loos.items():
        assert table.loc[name, "n_high_k"] == int(np.sum(result.pareto_k.values > result.good_k))
        assert table.loc[name, "max_k"] == pytest.approx(float(result.pareto_k.values.max()))
    assert table["weight"].sum() == pytest.approx(1.0)


def test_elpd_differences_sum_to_compare_differences(school_loos):
    """Per-observation differences against a reference sum to the elpd_diff ArviZ reports with
    that reference; summed by group they add up to the same totals."""
    compared = az.compare(school_loos, round_to="none", reference="partial")
    pointwise = loo.elpd_differences(school_loos, reference="partial")
    assert set(pointwise.columns) == {"complete", "none"}
    for name in pointwise.columns:
        assert pointwise[name].sum() == pytest.approx(float(compared.loc[name, "elpd_diff"]))
    grouped = loo.elpd_differences(
        school_loos, reference="partial", groups=["a", "a", "b", "b", "b", "c", "c", "c"]
    )
    assert grouped["n"].tolist() == [2, 3, 3]
    np.testing.assert_allclose(grouped[["complete", "none"]].sum(), pointwise.sum())


def test_loo_helpers_reject_bad_input(school_loos):
    """A reference not among the models, labels of the wrong length, fewer than two models
    and a fit without a log-likelihood raise errors naming the argument."""
    with pytest.raises(ValueError, match="reference"):
        loo.elpd_differences(school_loos, reference="nope")
    with pytest.raises(ValueError, match="groups"):
        loo.elpd_differences(school_loos, reference="partial", groups=["a"])
    with pytest.raises(TypeError, match="loos"):
        loo.loo_table({"partial": school_loos["partial"]})
    empty = xr.DataTree.from_dict({"posterior": xr.Dataset({"mu": (("chain", "draw"), [[0.0]])})})
    with pytest.raises(ValueError, match="log_likelihood"):
        loo.compute_loo({"bad": empty})


# --------------------------------------------------------------------------- group log-likelihoods


def fake_fit(rng: np.random.Generator, n_draws: int = 50) -> xr.DataTree:
    """Draws of mu, tau, sigma and a pointwise log-likelihood for 7 observations in 3 groups."""
    posterior = xr.Dataset(
        {
            "mu": (("chain", "draw"), rng.normal(10, 1, (2, n_draws))),
            "tau": (("chain", "draw"), rng.gamma(4, 0.5, (2, n_draws))),
            "sigma": (("chain", "draw"), rng.gamma(9, 0.3, (2, n_draws))),
        }
    )
    log_likelihood = xr.Dataset(
        {"y": (("chain", "draw", "obs_id"), rng.normal(-2, 1, (2, n_draws, 7)))}
    )
    return xr.DataTree.from_dict({"posterior": posterior, "log_likelihood": log_likelihood})


GROUPS = np.array(["b", "a", "b", "c", "a", "b", "c"])
VALUES = np.array([9.0, 12.5, 8.1, 11.0, 10.2, 7.7, 13.4])


def test_group_log_likelihood_sums_within_groups():
    """Each group's value is the sum of its observations' pointwise log-likelihoods, draw by
    draw; groups come out sorted."""
    fit = fake_fit(np.random.default_rng(1))
    tree = loo.group_log_likelihood(fit, GROUPS)
    summed = tree.log_likelihood["y"]
    assert summed.dims == ("chain", "draw", "group")
    assert summed["group"].values.tolist() == ["a", "b", "c"]
    pointwise = fit.log_likelihood["y"].values
    for label in ("a", "b", "c"):
        np.testing.assert_allclose(
            summed.sel(group=label).values, pointwise[:, :, GROUPS == label].sum(axis=2)
        )
    assert "posterior" in tree.children


def test_marginal_group_log_likelihood_is_multivariate_normal():
    """Per draw and group, the value is the log density of the group's data under
    MultivariateNormal(mu 1, sigma^2 I + tau^2 1 1'), as computed by scipy; fixed numbers may
    replace posterior variables (tau = 0 gives independent Normals)."""
    fit = fake_fit(np.random.default_rng(2), n_draws=5)
    tree = loo.marginal_group_log_likelihood(fit, VALUES, GROUPS)
    post = fit.posterior
    for chain in range(2):
        for draw in range(5):
            mu, tau, sigma = (float(post[v][chain, draw]) for v in ("mu", "tau", "sigma"))
            for label in ("a", "b", "c"):
                values = VALUES[GROUPS == label]
                cov = sigma**2 * np.eye(values.size) + tau**2
                expected = stats.multivariate_normal(np.full(values.size, mu), cov).logpdf(values)
                got = float(tree.log_likelihood["y"].sel(group=label)[chain, draw])
                assert got == pytest.approx(expected, rel=1e-10)
    fixed = loo.marginal_group_log_likelihood(
        fit, VALUES, GROUPS, mean=10.0, between_sd=0.0
    ).log_likelihood["y"]
    sigma = fit.posterior["sigma"].values
    expected_a = stats.norm.logpdf(VALUES[GROUPS == "a"][None, None, :], 10.0, sigma[..., None])
    np.testing.assert_allclose(fixed.sel(group="a").values, expected_a.sum(axis=2), rtol=1e-10)


def test_marginal_group_log_likelihood_bad_input():
    """Unknown variable names, mismatched lengths and all-constant inputs raise ValueError."""
    fit = fake_fit(np.random.default_rng(3))
    with pytest.raises(ValueError, match="mean"):
        loo.marginal_group_log_likelihood(fit, VALUES, GROUPS, mean="alpha")
    with pytest.raises(ValueError, match=r"^groups must give one label per observation"):
        loo.marginal_group_log_likelihood(fit, VALUES[:3], GROUPS)
    with pytest.raises(ValueError, match="posterior variable"):
        loo.marginal_group_log_likelihood(
            fit, VALUES, GROUPS, mean=1.0, between_sd=1.0, residual_sd=1.0
        )


def test_datatree_from_draws_log_likelihood():
    """The log-likelihood of draw s at group j is log Normal(y_j | theta_sj, sigma_j), the
    posterior has one chain, and observed_data holds y."""
    y, sigma = np.array([1.0, -2.0, 4.0]), np.array([1.0, 2.0, 0.5])
    draws = {"theta": np.random.default_rng(4).normal(0, 2, (30, 3)), "mu": np.zeros(30)}
    tree = loo.datatree_from_draws(draws, y=y, sigma=sigma, groups=["a", "b", "c"])
    expected = stats.norm.logpdf(y, draws["theta"], sigma)
    np.testing.assert_allclose(tree.log_likelihood["y"].values[0], expected, rtol=1e-12)
    assert tree.posterior.sizes["chain"] == 1 and tree.posterior["mu"].dims == ("chain", "draw")
    np.testing.assert_array_equal(tree.observed_data["y"].values, y)
    with pytest.raises(ValueError, match="theta"):
        loo.datatree_from_draws({"mu": np.zeros(3)}, y=y, sigma=sigma)


# --------------------------------------------------------------------------- the simulator


def test_simulate_grouped_sizes_labels_and_reproducibility():
    """Group sizes are as asked (one number or one per group), labels are zero-padded so that
    sorting keeps their order, and the same seed gives the same study."""
    study = data.simulate_grouped(seed=5, n_groups=12, sizes=list(range(1, 13)), tau=2.0)
    counts = study.data.groupby("group").size()
    assert counts.index.tolist() == [f"G{j:02d}" for j in range(1, 13)]
    assert counts.tolist() == list(range(1, 13))
    assert study.true_means.index.tolist() == counts.index.tolist()
    again = data.simulate_grouped(seed=5, n_groups=12, sizes=list(range(1, 13)), tau=2.0)
    pd.testing.assert_frame_equal(study.data, again.data)
    equal = data.simulate_grouped(seed=5, n_groups=3, sizes=4)
    assert equal.data.groupby("group").size().tolist() == [4, 4, 4]


def test_simulate_grouped_moments():
    """Group means scatter around grand_mean with sd tau and values around their group's
    mean with sd sigma (checked on a large study at 5 standard errors)."""
    study = data.simulate_grouped(
        seed=6, n_groups=400, sizes=50, grand_mean=10.0, tau=3.0, sigma=2.0
    )
    means = study.true_means.to_numpy()
    assert abs(means.mean() - 10.0) < 5 * 3.0 / np.sqrt(400)
    assert means.std(ddof=1) == pytest.approx(3.0, rel=5 / np.sqrt(2 * 399))
    residuals = (
        study.data["value"].to_numpy() - study.true_means.loc[study.data["group"]].to_numpy()
    )
    assert residuals.std(ddof=1) == pytest.approx(2.0, rel=5 / np.sqrt(2 * 20000))


def test_simulate_grouped_bad_input():
    """Sizes of the wrong length or below 1, a bad n_groups and a negative tau are refused."""
    with pytest.raises(ValueError, match="sizes"):
        data.simulate_grouped(seed=1, n_groups=3, sizes=[2, 2])
    with pytest.raises(ValueError, match="sizes"):
        data.simulate_grouped(seed=1, n_groups=2, sizes=[2, 0])
    with pytest.raises(TypeError, match="n_groups"):
        data.simulate_grouped(seed=1, n_groups=2.0, sizes=3)
    with pytest.raises(ValueError, match="n_groups"):
        data.simulate_grouped(seed=1, n_groups=0, sizes=3)
    with pytest.raises(ValueError, match="tau"):
        data.simulate_grouped(seed=1, n_groups=2, sizes=3, tau=-1.0)
    with pytest.raises(TypeError, match="seed"):
        data.simulate_grouped(seed=None, n_groups=2, sizes=3)


# --------------------------------------------------------------------------- plots


def test_loo_comparison_plot_draws_each_model_at_its_difference(school_loos):
    """One point per model at (elpd_diff, row), best on top, bars of 1 and 2 dse, tick labels
    naming the models with their weights; nothing is shown."""
    table = loo.loo_table(school_loos)
    ax = plots.loo_comparison(table)
    points = ax.lines[0].get_xydata()
    np.testing.assert_allclose(points[:, 0], table["elpd_diff"])
    assert points[0, 1] > points[-1, 1]
    thin, thick = (collection.get_segments() for collection in ax.collections[:2])
    np.testing.assert_allclose([s[1, 0] - s[0, 0] for s in thin], 4 * table["dse"])
    np.testing.assert_allclose([s[1, 0] - s[0, 0] for s in thick], 2 * table["dse"])
    labels = dict(zip(ax.get_yticks(), (t.get_text() for t in ax.get_yticklabels()), strict=True))
    assert labels[max(labels)].startswith(plots.POOLING_LABELS[table.index[0]])
    assert f"weight {table['weight'].iloc[0]:.2f}" in labels[max(labels)]
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="table"):
        plots.loo_comparison(table.drop(columns="dse"))


def test_elpd_by_group_plot_one_series_per_model(school_loos):
    """One scatter per model column, at (n, difference), and a log x axis."""
    differences = loo.elpd_differences(school_loos, reference="partial", groups=list("aabbbccc"))
    ax = plots.elpd_by_group(differences)
    assert len(ax.collections) == 2
    for collection, model in zip(ax.collections, ["complete", "none"], strict=True):
        np.testing.assert_allclose(collection.get_offsets()[:, 1], differences[model])
        np.testing.assert_allclose(collection.get_offsets()[:, 0], differences["n"])
    assert ax.get_xscale() == "log"
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="'n'"):
        plots.elpd_by_group(differences.drop(columns="n"))


# --------------------------------------------------------------------------- the large study


@pytest.mark.slow
@pytest.mark.mcmc
def test_partial_pooling_ranks_first_on_the_large_study_for_most_seeds(mcmc_seed, no_fast_mode):
    """On the chapter's design (80 groups of 2 to 40, tau = 5, sigma = 12), for each of three
    simulated studies the three models are fitted (centred partial pooling, target_accept
    0.95 and 4 chains x 1000 draws, as in the chapter), every fit converges, and they are
    compared by PSIS-LOO: partial pooling must rank first for at least two studies, and
    complete pooling must be behind it by more than two standard errors for at least two."""
    sizes = np.round(np.geomspace(2, 40, 80)).astype(int)
    first, decisive = 0, 0
    for data_seed in (101, 202, 303):
        study = data.simulate_grouped(seed=data_seed, n_groups=80, sizes=sizes, tau=5.0, sigma=12.0)
        fits = {}
        for pooling in ("complete", "none", "partial"):
            model = models.grouped_observations(
                study.data["value"], study.data["group"], pooling=pooling,
                parameterization="centered",
            )  # fmt: skip
            # 500 draws were too few: R-hat, the largest over about 160 quantities, reached
            # 1.010-1.015 in 7 of the first sweep's 20 seeds with every ESS above 1000.
            fits[pooling] = sampling.sample(
                model, random_seed=mcmc_seed + data_seed, target_accept=0.95
            )
            assert_converged(fits[pooling])
        table = loo.loo_table(loo.compute_loo(fits))
        first += table.index[0] == "partial"
        complete = table.loc["complete"]
        decisive += bool(
            table.index[0] == "partial" and complete["elpd_diff"] < -2 * complete["dse"]
        )
    assert first >= 2 and decisive >= 2


def test_exact_loo_is_finite_for_an_outlier():
    """A school far outside the others (1000 standard errors) gets a finite, very negative
    leave-one-out log density rather than an underflow to -inf."""
    y = np.array([0.0, 1.0, -1.0, 1000.0])
    values = exact.loo_log_predictive(y, np.ones(4), pooling="partial", tau_prior=TAU_PRIOR)
    assert np.all(np.isfinite(values)) and values[-1] < values[:3].min() - 100
