"""Property and fuzz tests (hypothesis) of every public function of companion.diagnostics.

Bad input must raise ValueError or TypeError whose message names the argument; good but
extreme input must give the answer of an independent route written here: iid draws mix
(R-hat < 1.01) while a chain offset by several sds does not; for iid draws the error in
MCSE is a standard normal z-score; interval ends are numpy quantiles. The LOO helpers,
which moved to companion.loo, are fuzzed in test_fuzz_loo.py.
"""

from types import SimpleNamespace

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from companion import diagnostics
from companion.diagnostics import (
    MIN_DRAWS,
    ConvergenceReport,
    compare_to_exact,
    convergence_report,
    count_divergences,
    posterior_intervals,
)
from companion.loo import marginal_group_log_likelihood

COVERED = {
    "diagnostics.ConvergenceReport",
    "diagnostics.compare_to_exact",
    "diagnostics.convergence_report",
    "diagnostics.count_divergences",
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
@given(seed=seeds, case=st.sampled_from(["constant", "one draw", "three draws", "nan"]))
def test_compare_to_exact_refuses_unusable_draws(seed, case):
    """Constant draws (MCSE 0), fewer than four draws and NaN draws raise ValueError naming
    idata or var_names, never a division by zero."""
    rng = np.random.default_rng(seed)
    shape = {"one draw": (1, 1), "three draws": (1, 3)}.get(case, (2, 100))
    mu = np.ones(shape) if case == "constant" else rng.normal(size=shape)
    if case == "nan":
        mu[0, 0] = np.nan
    idata = make_idata({"mu": (("chain", "draw"), mu)})
    with pytest.raises(ValueError, match="idata|var_names"):
        compare_to_exact(idata, SimpleNamespace(mean={"mu": 1.0}), var_names="mu")
    with pytest.raises(TypeError, match="exact"):
        compare_to_exact(idata, {"mu": 1.0}, var_names="mu")


@SOME
@given(seed=seeds, rows=st.integers(1, 4), columns=st.integers(1, 4), scalar=st.booleans())
def test_compare_to_exact_gives_one_row_per_entry_of_a_matrix(seed, rows, columns, scalar):
    """A variable with two non-sample dims gives one row per entry, labelled name[r, c] with
    the last dim varying fastest, holding numbers (not arrays): the numpy mean of that
    entry's draws and the matching entry of the exact mean (or the one number given)."""
    rng = np.random.default_rng(seed)
    pi = rng.normal(size=(2, 100, rows, columns))
    regions, categories = [f"r{i}" for i in range(rows)], [f"c{k}" for k in range(columns)]
    idata = make_idata(
        {"pi": (("chain", "draw", "region", "category"), pi)},
        coords={"region": regions, "category": categories},
    )
    truth = 0.5 if scalar else rng.normal(size=(rows, columns))
    table = compare_to_exact(idata, SimpleNamespace(mean={"pi": truth}), var_names="pi")
    assert list(table.index) == [f"pi[{r}, {c}]" for r in regions for c in categories]
    assert table.to_numpy(dtype=float).shape == (rows * columns, 4)
    np.testing.assert_allclose(table["mcmc_mean"], pi.mean(axis=(0, 1)).ravel(), rtol=1e-12)
    np.testing.assert_array_equal(
        table["exact_mean"], np.broadcast_to(truth, (rows, columns)).ravel()
    )
    with pytest.raises(ValueError, match="exact"):
        compare_to_exact(
            idata, SimpleNamespace(mean={"pi": np.zeros((columns, rows + 1))}), var_names="pi"
        )


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


def test_every_public_callable_is_covered():
    """COVERED lists every public callable of companion.diagnostics."""
    public = {
        f"diagnostics.{name}"
        for name in diagnostics.__all__
        if callable(getattr(diagnostics, name))
    }
    assert public <= COVERED
