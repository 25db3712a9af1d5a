"""Property and fuzz tests (hypothesis) of every public function of companion.loo.

Bad input must raise ValueError or TypeError whose message names the argument; good but
extreme input must give the answer of an independent route written here: PSIS-LOO with a
flat importance ratio is the plain importance-sampling estimate; group log-likelihoods are
numpy sums and scipy multivariate-normal log densities; the log-likelihood of exact draws
is scipy's Normal log density.
"""

import numpy as np
import pytest
import xarray as xr
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from scipy.special import logsumexp
from test_fuzz_diagnostics import SOME, iid, make_idata, seeds

from companion import loo
from companion.loo import (
    compute_loo,
    datatree_from_draws,
    elpd_differences,
    group_log_likelihood,
    loo_table,
    marginal_group_log_likelihood,
)

COVERED = {
    "loo.compute_loo",
    "loo.datatree_from_draws",
    "loo.elpd_differences",
    "loo.group_log_likelihood",
    "loo.loo_table",
    "loo.marginal_group_log_likelihood",
}


def loo_tree(log_lik: np.ndarray, name: str = "y", extra: dict | None = None) -> xr.DataTree:
    """A fit with a posterior and the given (chain, draw, obs) log-likelihood."""
    chains, draws = log_lik.shape[:2]
    variables = {name: (("chain", "draw", "obs"), log_lik)} | (extra or {})
    return xr.DataTree.from_dict(
        {
            "posterior": xr.Dataset({"mu": (("chain", "draw"), np.zeros((chains, draws)))}),
            "log_likelihood": xr.Dataset(variables),
        }
    )


@pytest.mark.filterwarnings("ignore:The point-wise LOO is the same")
@SOME
@given(seed=seeds, n=st.integers(1, 12), spread=st.floats(1e-4, 0.05))
def test_loo_matches_plain_importance_sampling_and_differences_add_up(seed, n, spread):
    """With nearly constant log-likelihoods (weights near 1, Pareto k low) PSIS-LOO equals
    the plain importance-sampling estimate elpd_i = -log mean exp(-log p_i) to 1e-3; the
    pointwise differences of elpd_differences sum to the difference of the totals, and
    loo_table ranks the better model first with elpd_diff the same difference."""
    rng = np.random.default_rng(seed)
    base = rng.normal(-2.0, 1.0, n)
    fits = {
        "a": loo_tree(base + spread * rng.normal(size=(2, 200, n))),
        "b": loo_tree(base - 1.0 + spread * rng.normal(size=(2, 200, n))),
    }
    loos = compute_loo(fits)
    for name, fit in fits.items():
        log_lik = fit.log_likelihood["y"].values.reshape(-1, n)
        plain = -(logsumexp(-log_lik, axis=0) - np.log(log_lik.shape[0]))
        np.testing.assert_allclose(np.asarray(loos[name].elpd_i), plain, atol=1e-3)
    differences = elpd_differences(loos, reference="a")
    total_a, total_b = (float(np.sum(loos[m].elpd_i)) for m in "ab")
    assert differences["b"].sum() == pytest.approx(total_b - total_a)
    table = loo_table(loos)
    assert list(table.index) == ["a", "b"]
    assert table.loc["b", "elpd_diff"] == pytest.approx(total_b - total_a)
    grouped = elpd_differences(loos, reference="a", groups=np.arange(n) % 2)
    assert grouped["n"].sum() == n
    assert grouped["b"].sum() == pytest.approx(total_b - total_a)


@SOME
@given(case=st.integers(0, 7))
def test_compute_loo_refuses_unusable_fits(case):
    """Missing log_likelihood or posterior groups, several log-likelihoods without a
    var_name, an unknown var_name, too few draws for PSIS, NaN values and an empty mapping
    raise ValueError or TypeError naming fits or var_name."""
    rng = np.random.default_rng(case)
    ok = rng.normal(-1, 0.1, (2, 50, 3))
    two = {"z": (("chain", "draw", "obs"), ok)}
    posterior_only = xr.DataTree.from_dict({"posterior": loo_tree(ok).posterior.to_dataset()})
    no_posterior = xr.DataTree.from_dict({"log_likelihood": loo_tree(ok).log_likelihood})
    nan = ok.copy()
    nan[0, 0, 0] = np.nan
    fits, kwargs, match = {
        0: ({"m": posterior_only}, {}, "fits"),
        1: ({"m": no_posterior}, {}, "fits"),
        2: ({"m": loo_tree(ok, extra=two)}, {}, "var_name"),
        3: ({"m": loo_tree(ok)}, {"var_name": "q"}, "var_name"),
        4: ({"m": loo_tree(ok[:1, :10])}, {}, "fits"),
        5: ({"m": loo_tree(nan)}, {}, "fits"),
        6: ({}, {}, "fits"),
        7: ({"m": loo_tree(ok)}, {"var_name": 3}, "var_name"),
    }[case]
    with pytest.raises((ValueError, TypeError), match=match):
        compute_loo(fits, **kwargs)


def test_compute_loo_names_the_fit_psis_cannot_handle():
    """A log-likelihood that is the same in every draw (a constant tail that PSIS cannot
    fit) raises ValueError naming that fit, not ArviZ's bare message."""
    with pytest.raises(ValueError, match=r"fits\['flat'\]"):
        compute_loo({"flat": loo_tree(np.full((2, 100, 3), -1.0))})


@SOME
@given(
    case=st.sampled_from(["method", "one", "sizes", "not pointwise", "reference", "groups"]),
)
def test_loo_comparisons_refuse_bad_input(case):
    """loo_table refuses unknown methods, a single model, models fitted to different data
    and non-LOO values; elpd_differences refuses unknown references, a non-mapping and
    group labels that are missing or of the wrong length, each naming the argument."""
    rng = np.random.default_rng(7)
    loos = compute_loo(
        {
            "a": loo_tree(rng.normal(-1, 0.1, (1, 60, 4))),
            "b": loo_tree(rng.normal(-1, 0.1, (1, 60, 4))),
            "c": loo_tree(rng.normal(-1, 0.1, (1, 60, 5))),
        }
    )
    same = {"a": loos["a"], "b": loos["b"]}
    if case == "method":
        with pytest.raises(ValueError, match="method"):
            loo_table(same, method="bma")
    elif case == "one":
        with pytest.raises(TypeError, match="loos"):
            loo_table({"a": loos["a"]})
    elif case == "sizes":
        with pytest.raises(ValueError, match="loos"):
            loo_table(loos)
        with pytest.raises(ValueError, match="loos"):
            elpd_differences(loos, reference="a")
    elif case == "not pointwise":
        with pytest.raises(ValueError, match="loos"):
            loo_table({"a": loos["a"], "b": 1.0})
    elif case == "reference":
        with pytest.raises(ValueError, match="reference"):
            elpd_differences(same, reference="z")
        with pytest.raises(TypeError, match="loos"):
            elpd_differences([loos["a"]], reference="a")
        with pytest.raises(ValueError, match="loos"):
            elpd_differences({"a": loos["a"]}, reference="a")
    else:
        for groups, error in [
            (["x", "y", "x"], ValueError),
            (["x", None, "y", "x"], ValueError),
            ([1.0, np.nan, 2.0, 1.0], ValueError),
            ("xyxy", TypeError),
        ]:
            with pytest.raises(error, match="groups"):
                elpd_differences(same, reference="a", groups=groups)


@SOME
@given(seed=seeds, n=st.integers(1, 15), k=st.integers(1, 4))
def test_group_log_likelihood_sums_within_groups(seed, n, k):
    """Each group's log-likelihood is numpy's sum of its observations' values, per draw,
    groups sorted, and the posterior is carried over."""
    rng = np.random.default_rng(seed)
    log_lik = rng.normal(-1, 1, (2, 30, n))
    labels = rng.choice([f"g{j}" for j in range(k)], size=n)
    result = group_log_likelihood(loo_tree(log_lik), labels)
    summed = result.log_likelihood["y"]
    for label in np.unique(labels):
        np.testing.assert_allclose(
            summed.sel(group=label).values, log_lik[..., labels == label].sum(axis=-1)
        )
    assert list(summed["group"].values) == sorted(set(labels))
    assert "posterior" in result.children


@SOME
@given(
    case=st.sampled_from(["short", "nan", "string", "dim", "var", "missing", "name"]),
)
def test_group_log_likelihood_refuses_bad_input(case):
    """Group labels of the wrong length, with missing values or given as one string, a
    sample dimension as group_dim, an unknown or non-string var_name and a fit without a
    log_likelihood raise ValueError or TypeError naming the argument."""
    tree = loo_tree(np.zeros((2, 30, 3)))
    call, match = {
        "short": (lambda: group_log_likelihood(tree, ["a", "b"]), "groups"),
        "nan": (lambda: group_log_likelihood(tree, ["a", np.nan, "b"]), "groups"),
        "string": (lambda: group_log_likelihood(tree, "abc"), "groups"),
        "dim": (lambda: group_log_likelihood(tree, "abc", group_dim="draw"), "group_dim"),
        "var": (lambda: group_log_likelihood(tree, ["a"] * 3, var_name="z"), "var_name"),
        "missing": (lambda: group_log_likelihood(iid(1, 2, 50), ["a"] * 3), "idata"),
        "name": (lambda: group_log_likelihood(tree, ["a"] * 3, var_name=["y"]), "var_name"),
    }[case]
    with pytest.raises((ValueError, TypeError), match=match):
        call()


@SOME
@given(
    seed=seeds,
    n=st.integers(1, 8),
    t=st.floats(0.0, 5.0),
    s=st.floats(0.1, 5.0),
    m=st.floats(-5, 5),
)
def test_marginal_group_log_likelihood_is_the_multivariate_normal_density(seed, n, t, s, m):
    """Each group's value equals scipy's multivariate-normal log density of its data with
    mean m and covariance s^2 I + t^2 1 1^T (one mean drawn per draw, t and s fixed)."""
    rng = np.random.default_rng(seed)
    values = rng.normal(m, s + t, n)
    labels = rng.choice(["a", "b"], size=n)
    mu = m + rng.normal(size=(1, 5))
    idata = make_idata({"mu": (("chain", "draw"), mu)})
    result = marginal_group_log_likelihood(
        idata, values, labels, mean="mu", between_sd=t, residual_sd=s
    )
    for label in np.unique(labels):
        y = values[labels == label]
        cov = s**2 * np.eye(y.size) + t**2
        expected = [
            stats.multivariate_normal(np.full(y.size, mean), cov).logpdf(y) for mean in mu[0]
        ]
        np.testing.assert_allclose(
            result.log_likelihood["y"].sel(group=label).values[0], expected, rtol=1e-9
        )


@SOME
@given(
    argument=st.sampled_from(["mean", "between_sd", "residual_sd"]),
    value=st.sampled_from([np.nan, np.inf, -1.0, "tau2", "theta", True, None, [1.0]]),
)
def test_marginal_group_log_likelihood_bad_parameters_are_named(argument, value):
    """Non-finite numbers, negative scales, names of absent or non-scalar variables and
    non-numbers raise ValueError or TypeError naming the parameter (a negative mean is
    fine)."""
    rng = np.random.default_rng(1)
    idata = make_idata(
        {
            "mu": (("chain", "draw"), rng.normal(size=(2, 30))),
            "theta": (("chain", "draw", "g"), rng.normal(size=(2, 30, 2))),
            "s": (("chain", "draw"), rng.uniform(0.5, 2.0, size=(2, 30))),
        }
    )
    kwargs = {"mean": "mu", "between_sd": 1.0, "residual_sd": "s"} | {argument: value}
    if argument == "mean" and value == -1.0:
        marginal_group_log_likelihood(idata, [1.0, 2.0], ["a", "b"], **kwargs)
        return
    with pytest.raises((ValueError, TypeError), match=argument):
        marginal_group_log_likelihood(idata, [1.0, 2.0], ["a", "b"], **kwargs)


@SOME
@given(
    values=st.sampled_from([[], [1.0, np.nan], [[1.0, 2.0]], ["a", "b"]]),
)
def test_marginal_group_log_likelihood_bad_values_are_named(values):
    """Empty, NaN, two-dimensional or non-numeric values raise ValueError or TypeError
    naming values; groups of another length name groups."""
    idata = make_idata({"mu": (("chain", "draw"), np.zeros((2, 30)))})
    with pytest.raises((ValueError, TypeError), match="values"):
        marginal_group_log_likelihood(idata, values, ["a", "b"])
    with pytest.raises(ValueError, match="groups"):
        marginal_group_log_likelihood(idata, [1.0, 2.0, 3.0], ["a", "b"])


# ------------------------------------------------------------------ datatree_from_draws


@SOME
@given(seed=seeds, n=st.integers(1, 50), j=st.integers(1, 6))
def test_datatree_from_draws_log_likelihood_is_the_normal_density(seed, n, j):
    """The log-likelihood of draw s at group j is scipy's Normal(theta_sj, sigma_j) log
    density at y_j; the posterior is one chain of the n draws, scalars included."""
    rng = np.random.default_rng(seed)
    theta = rng.normal(0, 10, (n, j))
    y, sigma = rng.normal(0, 10, j), rng.uniform(0.1, 20, j)
    tree = datatree_from_draws({"theta": theta, "mu": theta.mean(axis=1)}, y=y, sigma=sigma)
    np.testing.assert_allclose(
        tree.log_likelihood["y"].values[0], stats.norm(theta, sigma).logpdf(y), rtol=1e-10
    )
    np.testing.assert_array_equal(tree.posterior["mu"].values[0], theta.mean(axis=1))
    assert dict(tree.posterior["theta"].sizes) == {"chain": 1, "draw": n, "group": j}


@SOME
@given(
    case=st.sampled_from(
        ["nan theta", "sigma 0", "sigma nan", "y short", "mu long", "3d", "dup", "dim", "str"]
    )
)
def test_datatree_from_draws_refuses_bad_input(case):
    """NaN draws, non-positive or NaN sigma, a y of the wrong length, other draws of the
    wrong shape, duplicate or single-string group labels and a sample dim as dim raise
    ValueError or TypeError naming the argument."""
    theta = np.zeros((10, 3))
    kwargs = {"draws": {"theta": theta}, "y": [1.0, 2.0, 3.0], "sigma": [1.0, 1.0, 1.0]}
    change, match = {
        "nan theta": ({"draws": {"theta": np.full((10, 3), np.nan)}}, "draws"),
        "sigma 0": ({"sigma": [1.0, 0.0, 1.0]}, "sigma"),
        "sigma nan": ({"sigma": [1.0, np.nan, 1.0]}, "sigma"),
        "y short": ({"y": [1.0, 2.0], "sigma": [1.0, 1.0]}, "y"),
        "mu long": ({"draws": {"theta": theta, "mu": np.zeros(11)}}, "draws"),
        "3d": ({"draws": {"theta": theta, "mu": np.zeros((10, 3, 2))}}, "draws"),
        "dup": ({"groups": ["a", "a", "b"]}, "groups"),
        "dim": ({"dim": "chain"}, "dim"),
        "str": ({"groups": "abc"}, "groups"),
    }[case]
    with pytest.raises((ValueError, TypeError), match=match):
        datatree_from_draws(**(kwargs | change))


def test_every_public_callable_is_covered():
    """COVERED lists every public callable of companion.loo."""
    public = {f"loo.{name}" for name in loo.__all__ if callable(getattr(loo, name))}
    assert public <= COVERED


def test_diagnostics_still_offers_the_names_graded_notebooks_use():
    """diagnostics.compute_loo and diagnostics.loo_table, which the graded notebook on LOO
    calls, are the functions of companion.loo."""
    from companion import diagnostics

    assert diagnostics.compute_loo is compute_loo
    assert diagnostics.loo_table is loo_table
