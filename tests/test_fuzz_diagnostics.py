"""Property and fuzz tests (hypothesis) of every public function of companion.diagnostics.

Bad input must raise ValueError or TypeError whose message names the argument; good but
extreme input must give the answer of an independent route written here: iid draws mix
(R-hat < 1.01) while a chain offset by several sds does not; for iid draws the error in
MCSE is a standard normal z-score; interval ends are numpy quantiles; PSIS-LOO with a
flat importance ratio is the plain importance-sampling estimate; group log-likelihoods are
numpy sums and scipy multivariate-normal log densities.
"""

from types import SimpleNamespace

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.special import logsumexp

from companion import diagnostics
from companion.diagnostics import (
    MIN_DRAWS,
    ConvergenceReport,
    compare_to_exact,
    compute_loo,
    convergence_report,
    count_divergences,
    datatree_from_draws,
    elpd_differences,
    group_log_likelihood,
    loo_table,
    marginal_group_log_likelihood,
    posterior_intervals,
)

COVERED = {
    "diagnostics.ConvergenceReport",
    "diagnostics.compare_to_exact",
    "diagnostics.compute_loo",
    "diagnostics.convergence_report",
    "diagnostics.count_divergences",
    "diagnostics.datatree_from_draws",
    "diagnostics.elpd_differences",
    "diagnostics.group_log_likelihood",
    "diagnostics.loo_table",
    "diagnostics.marginal_group_log_likelihood",
    "diagnostics.posterior_intervals",
}

FEW = settings(max_examples=5, deadline=None, derandomize=True)
SOME = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
seeds = st.integers(0, 2**32 - 1)
locations = st.floats(-1e3, 1e3)
scales = st.floats(1e-3, 1e3)
# Not valid thresholds: strings, booleans, None, containers, NaN and infinity.
not_numbers = st.sampled_from(["1.01", "100", True, None, [1.05], {"x": 1}, b"4"])


def make_idata(posterior: dict, *, diverging=None, coords=None) -> xr.DataTree:
    """A DataTree with these posterior variables and a ``diverging`` sample stat."""
    shape = next(iter(posterior.values()))[1].shape[:2]
    diverging = np.zeros(shape, dtype=bool) if diverging is None else diverging
    return xr.DataTree.from_dict(
        {
            "posterior": xr.Dataset(posterior, coords=coords),
            "sample_stats": xr.Dataset({"diverging": (("chain", "draw"), diverging)}),
        }
    )


def iid(seed: int, chains: int, draws: int, loc: float = 0.0, scale: float = 1.0):
    """iid Normal(loc, scale) draws of a scalar ``mu`` and a three-entry ``theta``."""
    rng = np.random.default_rng(seed)
    return make_idata(
        {
            "mu": (("chain", "draw"), rng.normal(loc, scale, (chains, draws))),
            "theta": (("chain", "draw", "school"), rng.normal(loc, scale, (chains, draws, 3))),
        },
        coords={"school": ["a", "b", "c"]},
    )


def reason_lines(report: ConvergenceReport) -> list[str]:
    return report.text.splitlines()[1:]


# ------------------------------------------------------------------ convergence_report


@FEW
@given(seed=seeds, loc=locations, scale=scales)
def test_iid_four_chains_of_1000_pass(seed, loc, scale):
    """Four chains of 1000 iid Normal draws, at any location and scale, pass with no reason;
    the text is then a single line starting with 'converged'."""
    report = convergence_report(iid(seed, 4, 1000, loc, scale))
    assert report.passed, report.text
    assert report.reasons == ()
    assert report.text.startswith("converged") and len(report.text.splitlines()) == 1
    assert report.chains == 4 and report.draws == 1000
    assert report.max_rhat < 1.01


@FEW
@given(seed=seeds, offset=st.floats(3.0, 50.0), chain=st.integers(0, 3))
def test_one_chain_offset_by_several_sds_fails_on_rhat(seed, offset, chain):
    """One chain shifted by 3 to 50 sds from three others has not mixed: the report fails
    with a reason naming R-hat, one line per reason in the text."""
    rng = np.random.default_rng(seed)
    draws = rng.normal(size=(4, 1000))
    draws[chain] += offset
    report = convergence_report(make_idata({"mu": (("chain", "draw"), draws)}))
    assert not report.passed
    assert any(reason.startswith("R-hat") for reason in report.reasons)
    assert report.text.startswith("NOT converged")
    assert reason_lines(report) == [f"- {reason}" for reason in report.reasons]


@SOME
@given(
    seed=seeds,
    bad=st.sampled_from([np.nan, np.inf, -np.inf]),
    where=st.tuples(st.integers(0, 3), st.integers(0, 199), st.integers(0, 2)),
    everywhere=st.booleans(),
)
def test_non_finite_draws_fail_with_their_reason(seed, bad, where, everywhere):
    """A NaN or infinite draw (one, or all of them) fails the report with a reason naming
    the quantity, even where ArviZ's own R-hat and ESS look fine."""
    rng = np.random.default_rng(seed)
    theta = rng.normal(size=(4, 200, 3))
    if everywhere:
        theta[..., where[2]] = bad
    else:
        theta[where] = bad
    idata = make_idata(
        {
            "mu": (("chain", "draw"), rng.normal(size=(4, 200))),
            "theta": (("chain", "draw", "school"), theta),
        },
        coords={"school": ["a", "b", "c"]},
    )
    report = convergence_report(idata)
    assert not report.passed
    label = f"theta[{'abc'[where[2]]}]"
    assert any(r.startswith("NaN or infinite draws") and label in r for r in report.reasons)


@SOME
@given(seed=seeds, value=locations, stuck_only=st.booleans(), chain=st.integers(0, 3))
def test_constant_draws_or_a_stuck_chain_fail(seed, value, stuck_only, chain):
    """A quantity with one value in every draw fails ('the same value in every draw');
    one whose chain never moves fails as a stuck chain."""
    rng = np.random.default_rng(seed)
    sigma = rng.normal(size=(4, 200))
    if stuck_only:
        sigma[chain] = value
    else:
        sigma[:] = value
    idata = make_idata(
        {"mu": (("chain", "draw"), rng.normal(size=(4, 200))), "sigma": (("chain", "draw"), sigma)}
    )
    report = convergence_report(idata)
    assert not report.passed
    start = "a chain stuck" if stuck_only else "the same value in every draw"
    assert any(r.startswith(start) and "sigma" in r for r in report.reasons), report.reasons


@SOME
@given(seed=seeds, chains=st.integers(1, 3), min_chains=st.integers(2, 8))
def test_too_few_chains_fail_with_the_required_number(seed, chains, min_chains):
    """Fewer chains than min_chains fail with a reason giving both numbers; with at least
    min_chains iid chains of 1000 draws the chain count is no reason."""
    report = convergence_report(iid(seed, chains, 1000), min_chains=min_chains)
    chain_reasons = [r for r in report.reasons if "chain" in r and r.startswith("only")]
    if chains < min_chains:
        assert not report.passed
        assert chain_reasons == [
            f"only {chains} chain{'s' if chains > 1 else ''}: need at least {min_chains} "
            "chains to judge convergence by R-hat"
        ]
    else:
        assert chain_reasons == []


@SOME
@given(seed=seeds, draws=st.integers(1, MIN_DRAWS - 1))
def test_too_few_draws_fail_with_the_reason(seed, draws):
    """Fewer than MIN_DRAWS (50) draws per chain fail with that reason, whatever ArviZ
    returns (NaN for very short chains)."""
    report = convergence_report(iid(seed, 4, draws))
    assert not report.passed
    assert f"only {draws} draws per chain: need at least {MIN_DRAWS}" in report.text


@SOME
@given(seed=seeds, data=st.data())
def test_divergences_are_counted_and_fail(seed, data):
    """count_divergences is the number of True flags (numpy's count), and any divergence
    fails an otherwise perfect fit with a reason giving the number."""
    rng = np.random.default_rng(seed)
    diverging = rng.random((4, 1000)) < data.draw(st.sampled_from([0.0, 1e-3, 0.1, 1.0]))
    idata = make_idata({"mu": (("chain", "draw"), rng.normal(size=(4, 1000)))}, diverging=diverging)
    expected = int(np.count_nonzero(diverging))
    assert count_divergences(idata) == expected
    report = convergence_report(idata)
    assert report.passed == (expected == 0)
    if expected:
        assert any(r.startswith(f"{expected} divergent transition") for r in report.reasons)


@SOME
@given(
    argument=st.sampled_from(["rhat_threshold", "ess_per_chain", "min_chains"]),
    value=st.one_of(not_numbers, st.sampled_from([np.nan, np.inf, -1.0, 0.5, 1.0, 2.5, 1])),
)
def test_bad_thresholds_name_their_argument(argument, value):
    """Strings, booleans, containers, NaN, R-hat thresholds <= 1, negative ESS and
    non-integer or < 2 chain counts raise ValueError or TypeError naming the argument;
    valid values are accepted."""
    idata = iid(1, 4, 60)
    valid = {
        "rhat_threshold": lambda v: isinstance(v, float) and np.isfinite(v) and v > 1,
        "ess_per_chain": lambda v: (
            isinstance(v, float | int) and not isinstance(v, bool) and np.isfinite(v) and v >= 0
        ),
        "min_chains": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 2,
    }[argument]
    if valid(value):
        convergence_report(idata, **{argument: value})
    else:
        with pytest.raises((ValueError, TypeError), match=argument):
            convergence_report(idata, **{argument: value})


@SOME
@given(name=st.sampled_from(["mu", "theta"]))
def test_a_bare_string_var_names_is_one_name(name):
    """var_names="mu" checks the variable mu, exactly as var_names=["mu"] (not "m", "u")."""
    idata = iid(2, 4, 100)
    assert convergence_report(idata, var_names=name).table.equals(
        convergence_report(idata, var_names=[name]).table
    )


@SOME
@given(
    var_names=st.one_of(
        st.just([]),
        st.lists(st.sampled_from(["sigma", "m", "u", "posterior"]), min_size=1),
        st.lists(st.sampled_from([1, None, 2.5, b"mu"]), min_size=1),
        st.sampled_from([3, 1.5, b"mu", {"mu": 1}]),
    )
)
def test_bad_var_names_are_named(var_names):
    """Empty lists, unknown names, non-string entries and non-sequences raise ValueError or
    TypeError naming var_names, in convergence_report and compare_to_exact alike."""
    idata = iid(3, 4, 60)
    exact = SimpleNamespace(mean={"mu": 0.0, "theta": 0.0})
    with pytest.raises((ValueError, TypeError), match="var_names"):
        convergence_report(idata, var_names=var_names)
    with pytest.raises((ValueError, TypeError), match="var_names"):
        compare_to_exact(idata, exact, var_names=var_names)


def _broken_trees():
    """Things that are not usable fits, each with a short description."""
    good = iid(4, 2, 60)
    posterior = good.posterior.to_dataset()
    stats_ = good.sample_stats.to_dataset()
    return [
        None,
        {"posterior": posterior},
        posterior,
        xr.DataTree(),
        xr.DataTree.from_dict({"sample_stats": stats_}),
        xr.DataTree.from_dict({"Posterior": posterior, "sample_stats": stats_}),
        xr.DataTree.from_dict({"posterior": xr.Dataset(), "sample_stats": stats_}),
        xr.DataTree.from_dict(
            {"posterior": xr.Dataset({"mu": ("draw", np.zeros(60))}), "sample_stats": stats_}
        ),
        xr.DataTree.from_dict(
            {"posterior": xr.Dataset({"mu": (("chain", "draw"), np.zeros((0, 0)))})}
        ),
        xr.DataTree.from_dict(
            {"posterior": xr.Dataset({"mu": (("chain", "draw"), np.full((2, 60), "a"))})}
        ),
    ]


@SOME
@given(index=st.integers(0, len(_broken_trees()) - 1))
def test_broken_idata_is_named(index):
    """Non-DataTrees, missing or misnamed posterior groups, empty posteriors, variables
    without chain/draw dims, empty or non-numeric draws raise ValueError or TypeError
    naming idata in every function that reads a posterior."""
    tree = _broken_trees()[index]
    exact = SimpleNamespace(mean={"mu": 0.0})
    calls = [
        lambda: convergence_report(tree),
        lambda: compare_to_exact(tree, exact, var_names="mu"),
        lambda: posterior_intervals(tree, var_name="mu"),
        lambda: marginal_group_log_likelihood(tree, [1.0, 2.0], ["a", "b"], mean="mu"),
    ]
    for call in calls:
        with pytest.raises((ValueError, TypeError), match="idata"):
            call()


def test_missing_sample_stats_is_named():
    """A posterior without a sample_stats group (or without its diverging flags, or with
    non-boolean flags) cannot be checked: the error names idata."""
    posterior = iid(5, 4, 60).posterior.to_dataset()
    for stats_ in (None, xr.Dataset({"energy": (("chain", "draw"), np.ones((4, 60)))})):
        groups = {"posterior": posterior} | ({} if stats_ is None else {"sample_stats": stats_})
        with pytest.raises(ValueError, match="idata"):
            convergence_report(xr.DataTree.from_dict(groups))
    flags = xr.Dataset({"diverging": (("chain", "draw"), np.ones((4, 60)))})
    with pytest.raises(TypeError, match="idata"):
        count_divergences(xr.DataTree.from_dict({"posterior": posterior, "sample_stats": flags}))


@SOME
@given(
    seed=seeds,
    chains=st.integers(1, 6),
    draws=st.integers(1, 300),
    divergent=st.integers(0, 3),
    nan=st.booleans(),
)
def test_report_text_has_one_line_per_reason(seed, chains, draws, divergent, nan):
    """For any fit, passed is True exactly when reasons is empty, the text's first line
    gives the verdict and every further line is one reason, and str(report) is the text."""
    rng = np.random.default_rng(seed)
    mu = rng.normal(size=(chains, draws))
    if nan:
        mu[0, 0] = np.nan
    diverging = np.zeros((chains, draws), dtype=bool)
    diverging.flat[:divergent] = True
    report = convergence_report(make_idata({"mu": (("chain", "draw"), mu)}, diverging=diverging))
    assert isinstance(report, ConvergenceReport)
    assert report.passed == (not report.reasons)
    assert str(report) == report.text
    first, *rest = report.text.splitlines()
    assert first.startswith("converged" if report.passed else "NOT converged")
    assert rest == [f"- {reason}" for reason in report.reasons]
    assert all("\n" not in reason for reason in report.reasons)
    if chains < 4 or draws < MIN_DRAWS or divergent or nan:
        assert not report.passed


# ------------------------------------------------------------------ compare_to_exact


@FEW
@given(seed=seeds, chains=st.integers(1, 4), draws=st.integers(200, 500))
def test_compare_to_exact_errors_are_z_scores_for_iid_draws(seed, chains, draws):
    """For iid Normal(m_k, s_k) draws, (mean - m_k) / mcse over 300 columns has the moments
    of a standard normal (mean within 0.25 of 0, mean square in [0.7, 1.3]); mcmc_mean is
    the plain average and exact_mean the truth given."""
    rng = np.random.default_rng(seed)
    k = 300
    means = rng.normal(0, 100, k)
    sds = 10.0 ** rng.uniform(-3, 3, k)
    theta = rng.normal(means, sds, size=(chains, draws, k))
    idata = make_idata(
        {"theta": (("chain", "draw", "group"), theta)}, coords={"group": np.arange(k)}
    )
    table = compare_to_exact(idata, SimpleNamespace(mean={"theta": means}), var_names="theta")
    errors = table["error_in_mcse"].to_numpy()
    assert abs(errors.mean()) < 0.25
    assert 0.7 < np.mean(errors**2) < 1.3
    np.testing.assert_allclose(table["mcmc_mean"], theta.mean(axis=(0, 1)), rtol=1e-10)
    np.testing.assert_array_equal(table["exact_mean"], means)


@SOME
@given(
    seed=seeds,
    truth=st.one_of(
        st.lists(st.floats(-10, 10), min_size=0, max_size=5).filter(lambda v: len(v) not in (1, 3)),
        st.just([[0.0, 1.0, 2.0]]),
        st.just([0.0, np.nan, 1.0]),
        st.just(["a", "b", "c"]),
        st.just(np.inf),
    ),
)
def test_compare_to_exact_refuses_mismatched_exact_means(seed, truth):
    """An exact mean of the wrong length (neither one number nor one per entry) or shape,
    non-finite or non-numeric raises ValueError or TypeError naming exact."""
    idata = iid(seed, 2, 100)
    with pytest.raises((ValueError, TypeError), match="exact"):
        compare_to_exact(idata, SimpleNamespace(mean={"theta": truth}), var_names=["theta"])


@SOME
@given(seed=seeds, case=st.sampled_from(["constant", "one draw", "three draws", "nan", "2d"]))
def test_compare_to_exact_refuses_unusable_draws(seed, case):
    """Constant draws (MCSE 0), fewer than four draws, NaN draws and a variable with two
    non-sample dims raise ValueError naming idata or var_names, never a division by zero."""
    rng = np.random.default_rng(seed)
    shape = {"one draw": (1, 1), "three draws": (1, 3)}.get(case, (2, 100))
    mu = np.ones(shape) if case == "constant" else rng.normal(size=shape)
    if case == "nan":
        mu[0, 0] = np.nan
    dims = ("chain", "draw")
    if case == "2d":
        mu, dims = rng.normal(size=(*shape, 2, 2)), (*dims, "i", "j")
    idata = make_idata({"mu": (dims, mu)})
    with pytest.raises(ValueError, match="idata|var_names"):
        compare_to_exact(idata, SimpleNamespace(mean={"mu": 1.0}), var_names="mu")
    with pytest.raises(TypeError, match="exact"):
        compare_to_exact(idata, {"mu": 1.0}, var_names="mu")


# ------------------------------------------------------------------ posterior_intervals


@SOME
@given(
    seed=seeds,
    chains=st.integers(1, 4),
    draws=st.integers(1, 200),
    groups=st.integers(0, 4),
    prob=st.floats(1e-6, 1 - 1e-6),
    scale=scales,
)
def test_posterior_intervals_are_numpy_quantiles(seed, chains, draws, groups, prob, scale):
    """For any number of chains, draws (even one) and groups, the mean and interval ends
    are numpy's mean and linear quantiles of the pooled draws, lower <= mean <= upper."""
    rng = np.random.default_rng(seed)
    shape = (chains, draws) + ((groups,) if groups else ())
    values = rng.standard_t(3, size=shape) * scale
    dims = ("chain", "draw") + (("g",) if groups else ())
    idata = make_idata({"x": (dims, values)})
    table = posterior_intervals(idata, var_name="x", prob=prob)
    pooled = values.reshape(chains * draws, -1)
    np.testing.assert_allclose(table["mean"], pooled.mean(axis=0), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(table["lower"], np.quantile(pooled, (1 - prob) / 2, axis=0))
    np.testing.assert_allclose(table["upper"], np.quantile(pooled, (1 + prob) / 2, axis=0))
    assert table["group"].tolist() == ([str(g) for g in range(groups)] if groups else ["x"])


@SOME
@given(
    argument=st.sampled_from(["var_name", "prob"]),
    value=st.sampled_from(["0.9", None, 3, 0.0, 1.0, np.nan, ["mu"], "sigma", True]),
)
def test_posterior_intervals_bad_options_are_named(argument, value):
    """A probability that is not a number in (0, 1), and a var_name that is not the name
    of a posterior variable, raise ValueError or TypeError naming the argument."""
    idata = iid(6, 2, 50)
    kwargs = {"var_name": "mu", "prob": 0.9} | {argument: value}
    with pytest.raises((ValueError, TypeError), match=argument):
        posterior_intervals(idata, **kwargs)


def test_posterior_intervals_refuses_nan_draws():
    """NaN draws raise ValueError naming idata instead of NaN intervals."""
    mu = np.zeros((2, 50))
    mu[1, 3] = np.nan
    with pytest.raises(ValueError, match="idata"):
        posterior_intervals(make_idata({"mu": (("chain", "draw"), mu)}), var_name="mu")


# ------------------------------------------------------------------ LOO


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
    """COVERED lists every public callable of companion.diagnostics."""
    public = {
        f"diagnostics.{name}"
        for name in diagnostics.__all__
        if callable(getattr(diagnostics, name))
    }
    assert public <= COVERED
