"""Tests of companion.diagnostics on hand-built DataTrees whose right answers are known.

Draws are made here with a seeded NumPy generator, so the truth is known by construction:
iid Normal chains converge; chains with different means do not mix (R-hat fails); an AR(1)
chain with coefficient phi has effective sample size about n (1 - phi) / (1 + phi); for iid
draws the Monte Carlo standard error of the mean is sd / sqrt(n), so (mean - truth) / mcse
is close to standard normal; quantiles are those of numpy.
"""

from types import SimpleNamespace

import numpy as np
import pytest
import xarray as xr

from companion.diagnostics import (
    compare_to_exact,
    convergence_report,
    count_divergences,
    posterior_intervals,
)

CHAINS, DRAWS = 4, 1000
SCHOOLS = ["a", "b", "c"]


def make_idata(posterior: dict, *, diverging: np.ndarray | None = None, coords=None):
    """A DataTree with the given posterior variables and a ``diverging`` sample stat."""
    first = next(iter(posterior.values()))[1]
    shape = first.shape[:2]
    diverging = np.zeros(shape, dtype=bool) if diverging is None else diverging
    return xr.DataTree.from_dict(
        {
            "posterior": xr.Dataset(posterior, coords=coords),
            "sample_stats": xr.Dataset({"diverging": (("chain", "draw"), diverging)}),
        }
    )


def iid_idata(rng: np.random.Generator, *, chains: int = CHAINS, draws: int = DRAWS):
    return make_idata(
        {
            "mu": (("chain", "draw"), rng.normal(1.0, 2.0, size=(chains, draws))),
            "theta": (
                ("chain", "draw", "school"),
                rng.normal([0.0, 5.0, -3.0], [1.0, 3.0, 0.5], size=(chains, draws, 3)),
            ),
        },
        coords={"school": SCHOOLS},
    )


def ar1_chains(rng: np.random.Generator, phi: float, chains: int, draws: int) -> np.ndarray:
    """Stationary AR(1) chains x_t = phi x_{t-1} + e_t with unit marginal variance."""
    x = np.empty((chains, draws))
    x[:, 0] = rng.normal(size=chains)
    innovations = rng.normal(scale=np.sqrt(1 - phi**2), size=(chains, draws))
    for t in range(1, draws):
        x[:, t] = phi * x[:, t - 1] + innovations[:, t]
    return x


# ------------------------------------------------------------------ divergences and report


def test_count_divergences_counts_every_chain():
    """count_divergences sums the divergent transitions over all chains."""
    diverging = np.zeros((CHAINS, DRAWS), dtype=bool)
    diverging[0, [3, 500]] = True
    diverging[3, 999] = True
    idata = make_idata({"mu": (("chain", "draw"), np.zeros((CHAINS, DRAWS)))}, diverging=diverging)
    assert count_divergences(idata) == 3


def test_iid_normal_chains_pass():
    """Four chains of 1000 iid Normal draws: no divergences, R-hat < 1.01, and bulk ESS
    close to the number of draws (4000), so the report passes and says so."""
    report = convergence_report(iid_idata(np.random.default_rng(1)))
    assert report.passed
    assert report.divergences == 0
    assert report.max_rhat < 1.01
    assert report.ess_threshold == 100 * CHAINS
    assert set(report.table.index) == {"mu", "theta[a]", "theta[b]", "theta[c]"}
    np.testing.assert_allclose(report.table["ess_bulk"], CHAINS * DRAWS, rtol=0.2)
    assert report.text.startswith("converged")


def test_chains_with_shifted_means_fail_rhat():
    """Chains centred at 0, 0.5, 1 and 1.5 (unit sd) have not mixed: R-hat is well above
    1.01 and the report fails, although there are no divergences."""
    rng = np.random.default_rng(2)
    shifts = 0.5 * np.arange(CHAINS)[:, None]
    idata = make_idata({"mu": (("chain", "draw"), rng.normal(size=(CHAINS, DRAWS)) + shifts)})
    report = convergence_report(idata)
    assert report.max_rhat > 1.1
    assert report.divergences == 0
    assert not report.passed
    assert report.text.startswith("NOT converged")


def test_autocorrelated_chains_fail_ess():
    """Stationary AR(1) chains with phi = 0.95 have ESS about N (1 - phi) / (1 + phi)
    = 4000 * 0.05 / 1.95 ~ 103, far below the 100-per-chain requirement (400): the report
    fails on ESS, and the estimate is within a factor of two of the theoretical value."""
    phi = 0.95
    rng = np.random.default_rng(3)
    idata = make_idata({"mu": (("chain", "draw"), ar1_chains(rng, phi, CHAINS, DRAWS))})
    report = convergence_report(idata)
    theory = CHAINS * DRAWS * (1 - phi) / (1 + phi)
    assert report.min_ess_bulk < report.ess_threshold
    assert theory / 2 < report.min_ess_bulk < 2 * theory
    assert not report.passed


def test_injected_divergences_fail():
    """Otherwise perfect iid draws with two divergent transitions fail the report."""
    diverging = np.zeros((CHAINS, DRAWS), dtype=bool)
    diverging[1, [10, 20]] = True
    clean = iid_idata(np.random.default_rng(4))
    idata = make_idata(
        {name: (var.dims, var.values) for name, var in clean.posterior.data_vars.items()},
        diverging=diverging,
        coords={"school": SCHOOLS},
    )
    report = convergence_report(idata)
    assert report.divergences == 2
    assert report.max_rhat < 1.01
    assert not report.passed


def test_var_names_restricts_the_report():
    """var_names limits the table to those variables: a non-mixing variable left out does
    not fail the report."""
    rng = np.random.default_rng(5)
    stuck = rng.normal(size=(CHAINS, DRAWS)) + 3.0 * np.arange(CHAINS)[:, None]
    idata = make_idata(
        {
            "mu": (("chain", "draw"), rng.normal(size=(CHAINS, DRAWS))),
            "stuck": (("chain", "draw"), stuck),
        }
    )
    assert not convergence_report(idata).passed
    report = convergence_report(idata, var_names=["mu"])
    assert list(report.table.index) == ["mu"]
    assert report.passed


# ------------------------------------------------------------------ comparison with exact


def test_compare_to_exact_errors_are_standard_normal_for_iid_draws():
    """For iid draws from Normal(m_k, s_k), (mean - m_k) / mcse is approximately standard
    normal: over 400 columns its mean is near 0 and its mean square near 1; each mcse is
    close to s_k / sqrt(n), and mcmc_mean is the plain average of the draws."""
    rng = np.random.default_rng(6)
    n_cols, chains, draws = 400, 4, 500
    means = rng.normal(0, 10, size=n_cols)
    sds = rng.uniform(0.5, 5.0, size=n_cols)
    theta = rng.normal(means, sds, size=(chains, draws, n_cols))
    mu = rng.normal(2.0, 1.5, size=(chains, draws))
    idata = make_idata(
        {"mu": (("chain", "draw"), mu), "theta": (("chain", "draw", "group"), theta)},
        coords={"group": [f"g{k}" for k in range(n_cols)]},
    )
    exact = SimpleNamespace(mean={"mu": 2.0, "theta": means})
    table = compare_to_exact(idata, exact, var_names=("mu", "theta"))

    assert list(table.index) == ["mu"] + [f"theta[g{k}]" for k in range(n_cols)]
    errors = table["error_in_mcse"].to_numpy()
    # Mean of 401 standard normals has sd 0.05; their mean square has sd about 0.07.
    assert abs(errors.mean()) < 0.2
    assert 0.75 < np.mean(errors**2) < 1.25
    n = chains * draws
    np.testing.assert_allclose(table["mcse"].iloc[1:], sds / np.sqrt(n), rtol=0.15)
    np.testing.assert_allclose(table["mcmc_mean"].iloc[1:], theta.mean(axis=(0, 1)), rtol=1e-12)
    np.testing.assert_allclose(table["exact_mean"].iloc[1:], means)


def test_compare_to_exact_flags_a_shifted_mean():
    """When the exact means sit 0.2 sd above the means the draws come from, the errors are
    about -0.2 sd / (sd / sqrt(2000)) ~ -9 Monte Carlo standard errors, far outside +-4."""
    rng = np.random.default_rng(7)
    idata = iid_idata(rng, chains=2, draws=DRAWS)  # mu ~ N(1, 2), theta ~ N([0, 5, -3], [1, 3, .5])
    truth = SimpleNamespace(mean={"mu": 1.0 + 0.2 * 2.0, "theta": [0.2, 5.6, -2.9]})
    table = compare_to_exact(idata, truth, var_names=("mu", "theta"))
    # Each error is Normal(-8.9, 1) up to the MCSE's own noise: allow four units.
    np.testing.assert_allclose(table["error_in_mcse"], -0.2 * np.sqrt(2000), atol=4)
    assert (table["error_in_mcse"] < -4).all()


def test_compare_to_exact_flattens_two_dimensional_variables():
    """Exact Dirichlet draws (iid, in 4 chains) of pi over (region, category) give one row
    per entry, pi[region, category] with category fastest, whose exact_mean is that entry
    of the closed-form mean (a + y) / sum(a + y) and whose error is within 4.5 MCSE (for
    6 entries, a false alarm rate below 1e-4)."""
    counts = np.array([[3, 1, 6], [10, 20, 30]])
    concentration = counts + 1.0
    rng = np.random.default_rng(11)
    pi = np.stack([rng.dirichlet(row, size=(CHAINS, DRAWS)) for row in concentration], axis=2)
    regions, categories = ["North", "South"], ["yes", "no", "maybe"]
    idata = make_idata(
        {"pi": (("chain", "draw", "region", "category"), pi)},
        coords={"region": regions, "category": categories},
    )
    closed_form = concentration / concentration.sum(axis=1, keepdims=True)
    table = compare_to_exact(idata, SimpleNamespace(mean={"pi": closed_form}), var_names="pi")
    assert list(table.index) == [f"pi[{r}, {c}]" for r in regions for c in categories]
    assert all(isinstance(value, float) for value in table.to_numpy().ravel())
    np.testing.assert_array_equal(table["exact_mean"], closed_form.ravel())
    np.testing.assert_allclose(table["mcmc_mean"], pi.mean(axis=(0, 1)).ravel(), rtol=1e-12)
    assert (table["error_in_mcse"].abs() < 4.5).all()


# ------------------------------------------------------------------ intervals


@pytest.mark.parametrize("prob", [0.5, 0.9])
def test_posterior_intervals_match_numpy_quantiles(prob):
    """Each group's mean and equal-tailed interval equal numpy's mean and (linear) quantiles
    of the pooled draws of all chains."""
    rng = np.random.default_rng(8)
    idata = iid_idata(rng)
    table = posterior_intervals(idata, var_name="theta", prob=prob)
    draws = idata.posterior["theta"].values.reshape(-1, 3)
    assert list(table.columns) == ["group", "mean", "lower", "upper"]
    assert table["group"].tolist() == SCHOOLS
    np.testing.assert_allclose(table["mean"], draws.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(table["lower"], np.quantile(draws, (1 - prob) / 2, axis=0))
    np.testing.assert_allclose(table["upper"], np.quantile(draws, (1 + prob) / 2, axis=0))


def test_posterior_intervals_of_a_scalar():
    """A scalar variable gives one row labelled with its name."""
    idata = iid_idata(np.random.default_rng(9))
    table = posterior_intervals(idata, var_name="mu", prob=0.8)
    draws = idata.posterior["mu"].values.ravel()
    assert table["group"].tolist() == ["mu"]
    np.testing.assert_allclose(table[["lower", "upper"]].values[0], np.quantile(draws, [0.1, 0.9]))


# ------------------------------------------------------------------ bad input


def test_bad_idata_raises():
    """Something that is not a DataTree, or lacks the needed group or variable, raises
    ValueError naming idata."""
    posterior_only = xr.DataTree.from_dict(
        {"posterior": xr.Dataset({"mu": (("chain", "draw"), np.zeros((2, 10)))})}
    )
    no_diverging = xr.DataTree.from_dict(
        {
            "posterior": xr.Dataset({"mu": (("chain", "draw"), np.zeros((2, 10)))}),
            "sample_stats": xr.Dataset({"energy": (("chain", "draw"), np.zeros((2, 10)))}),
        }
    )
    with pytest.raises(ValueError, match="idata"):
        count_divergences({"sample_stats": None})
    with pytest.raises(ValueError, match="idata"):
        count_divergences(posterior_only)
    with pytest.raises(ValueError, match="diverging"):
        count_divergences(no_diverging)
    with pytest.raises(ValueError, match="idata"):
        convergence_report(xr.Dataset())
    with pytest.raises(ValueError, match="idata"):
        posterior_intervals(no_diverging.sample_stats)


def test_bad_options_raise():
    """Unknown variable names, probabilities outside (0, 1), a variable with two
    non-sample dimensions and an exact answer without means raise, naming the argument."""
    rng = np.random.default_rng(10)
    idata = make_idata(
        {
            "mu": (("chain", "draw"), rng.normal(size=(CHAINS, DRAWS))),
            "matrix": (("chain", "draw", "i", "j"), rng.normal(size=(CHAINS, DRAWS, 2, 2))),
        }
    )
    exact = SimpleNamespace(mean={"mu": 1.0})
    with pytest.raises(ValueError, match="var_names"):
        convergence_report(idata, var_names=["mu", "sigma"])
    with pytest.raises(ValueError, match="var_name"):
        posterior_intervals(idata, var_name="sigma")
    with pytest.raises(ValueError, match="var_name"):
        posterior_intervals(idata, var_name="matrix")
    for prob in (0.0, 1.0, 1.5, -0.1):
        with pytest.raises(ValueError, match="prob"):
            posterior_intervals(idata, var_name="mu", prob=prob)
    with pytest.raises(ValueError, match="var_names"):
        compare_to_exact(idata, exact, var_names=("mu", "matrix"))
    with pytest.raises(TypeError, match="exact"):
        compare_to_exact(idata, SimpleNamespace(means={"mu": 1.0}), var_names=("mu",))
