"""Property tests of companion.mixed: closed forms at extreme scales, bad input by name.

For a balanced one-way layout (J groups of n, N = J n) with MSB = n sum_j (ybar_j -
ybar)^2 / (J - 1), MSW = sum_ij (y_ij - ybar_j)^2 / (J (n - 1)) and SS the total sum of
squares about ybar, the estimates are (Searle, Casella & McCulloch 1992, *Variance
Components*, Sections 3.7-3.8):

- REML: sigma^2 = MSW, tau^2 = (MSB - MSW) / n when MSB > MSW; otherwise tau^2 = 0 and
  sigma^2 = SS / (N - 1);
- ML: sigma^2 = MSW, tau^2 = ((J - 1) / J MSB - MSW) / n when that is positive; otherwise
  tau^2 = 0 and sigma^2 = SS / N;
- mu = ybar in every case, and the BLUP of group j is mu + (1 - B) (ybar_j - mu) with
  B = (sigma^2 / n) / (sigma^2 / n + tau^2) (Gelman & Hill 2007, Section 12.2).

These are computed here from the data and compared with :func:`fit_random_intercept` for
responses scaled by 1e-3 to 1e6 and shifted by up to 1e6. Cases within 10% of the boundary
(where the fit's threshold on tau / sigma decides) are skipped.
"""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats

from companion import mixed

COVERED = {
    "mixed.PoolingEstimates",
    "mixed.RandomInterceptFit",
    "mixed.fit_random_intercept",
    "mixed.pooling_estimates",
    "mixed.profiled_deviance",
}

FAST = settings(max_examples=40, deadline=None, derandomize=True)
ERRORS = (ValueError, TypeError)
FRAME = pd.DataFrame({"y": [1.0, 2.0, 3.0, 7.0, 8.0, 10.0], "g": list("aaabbb")})


def balanced(seed: int, n_groups: int, per_group: int, spread: float, scale: float, shift: float):
    """A balanced layout: shift + scale * (group effect * spread + unit noise)."""
    rng = np.random.default_rng(seed)
    effects = np.repeat(rng.normal(0.0, spread, n_groups), per_group)
    values = shift + scale * (effects + rng.normal(0.0, 1.0, n_groups * per_group))
    labels = np.repeat([f"g{j:02d}" for j in range(n_groups)], per_group)
    return pd.DataFrame({"y": values, "g": labels})


def anova_estimates(frame: pd.DataFrame, reml: bool) -> dict:
    """The closed-form (RE)ML estimates of a balanced layout (module docstring)."""
    groups = frame.groupby("g")["y"]
    means = groups.mean().to_numpy()
    n_groups, per_group = means.size, int(groups.size().iloc[0])
    y = frame["y"].to_numpy()
    grand = y.mean()
    msb = per_group * np.sum((means - grand) ** 2) / (n_groups - 1)
    msw = np.sum((y - groups.transform("mean").to_numpy()) ** 2) / (n_groups * (per_group - 1))
    between = msb if reml else (n_groups - 1) / n_groups * msb
    return {
        "grand": grand,
        "means": means,
        "per_group": per_group,
        "ratio": between / msw,
        "tau2": max(0.0, (between - msw) / per_group),
        "sigma2": msw if between > msw else np.sum((y - grand) ** 2) / (y.size - reml),
    }


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_groups=st.integers(2, 10),
    per_group=st.integers(2, 6),
    spread=st.sampled_from([0.0, 0.3, 1.0, 3.0, 30.0, 300.0]),
    scale=st.floats(-3, 6).map(lambda e: 10.0**e),
    shift=st.sampled_from([0.0, 1.0, -1e3, 1e6, -1e6]),
    reml=st.booleans(),
)
def test_fit_matches_balanced_anova_closed_forms(
    seed, n_groups, per_group, spread, scale, shift, reml
):
    """At any scale (1e-3 to 1e6) and shift (up to 1e6), the fit's sigma, tau, mu and BLUPs
    are the balanced ANOVA closed forms; the boundary flag is set exactly when tau^2 = 0,
    and a boundary fit pools every group to the grand mean."""
    frame = balanced(seed, n_groups, per_group, spread, scale, shift)
    expected = anova_estimates(frame, reml)
    assume(not 1.0 < expected["ratio"] < 1.1)
    fit = mixed.fit_random_intercept(frame, response="y", group="g", reml=reml)
    assert isinstance(fit, mixed.RandomInterceptFit)
    assert fit.boundary == (expected["tau2"] == 0.0)
    assert fit.residual_sd**2 == pytest.approx(expected["sigma2"], rel=1e-5)
    tau2, sigma2 = expected["tau2"], expected["sigma2"]
    assert fit.group_sd**2 == pytest.approx(tau2, rel=1e-5, abs=1e-8 * sigma2)
    # mu to within float64 rounding of the shifted data and a millionth of its standard error
    se = math.sqrt((tau2 + sigma2 / per_group) / n_groups)
    tolerance = 1e-9 * np.abs(frame["y"]).max() + 1e-6 * se
    assert fit.intercept == pytest.approx(expected["grand"], abs=tolerance)
    shrink = (sigma2 / per_group) / (sigma2 / per_group + tau2)
    blups = expected["grand"] + (1 - shrink) * (expected["means"] - expected["grand"])
    assert fit.blups.index.tolist() == sorted(frame["g"].unique())
    np.testing.assert_allclose(fit.blups.to_numpy(), blups, rtol=0, atol=tolerance + 1e-5 * se)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 2**32 - 1),
    scale=st.floats(-3, 6).map(lambda e: 10.0**e),
    shift=st.floats(-1e6, 1e6),
    theta=st.lists(st.floats(0, 1e3), min_size=1, max_size=5),
    reml=st.booleans(),
)
def test_profiled_deviance_under_scaling(seed, scale, shift, theta, reml):
    """tau / sigma is scale free, so rescaling the data by c multiplies the profiled
    residual sum of squares by c^2: deviance(c y + d) = deviance(y) + m log(c^2), with
    m = N - 1 (REML) or N (ML), at every theta."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, 6, size=4)  # unbalanced
    labels = np.repeat(["a", "b", "c", "d"], sizes)
    base = pd.DataFrame(
        {"y": rng.normal(size=labels.size) + np.repeat(rng.normal(size=4), sizes), "g": labels}
    )
    moved = base.assign(y=shift + scale * base["y"])
    dof = labels.size - 1 if reml else labels.size
    original = mixed.profiled_deviance(base, response="y", group="g", theta=theta, reml=reml)
    rescaled = mixed.profiled_deviance(moved, response="y", group="g", theta=theta, reml=reml)
    np.testing.assert_allclose(rescaled, original + dof * np.log(scale**2), rtol=1e-8, atol=1e-5)


@settings(max_examples=5, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**32 - 1), n_groups=st.integers(2, 6))
def test_pooling_estimates_table_is_built_from_the_data(seed, n_groups):
    """The table has one row per group (sorted labels) and the four columns; the no-pooling
    column is each group's mean, complete pooling the overall mean, the standard errors the
    pooled within-group sd over sqrt(n_j), computed here with pandas."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, 5, size=n_groups)
    labels = np.repeat([f"h{j}" for j in range(n_groups)], sizes)
    frame = pd.DataFrame({"y": rng.normal(50, 10, labels.size), "g": labels})
    estimates = mixed.pooling_estimates(frame, response="y", group="g")
    assert isinstance(estimates, mixed.PoolingEstimates)
    table = estimates.table
    assert table.columns.tolist() == ["no pooling", "complete pooling", "REML mixed model", "Bayes"]
    means = frame.groupby("g")["y"].mean()
    assert table.index.tolist() == means.index.tolist()
    np.testing.assert_allclose(table["no pooling"], means, rtol=1e-12)
    np.testing.assert_allclose(table["complete pooling"], frame["y"].mean(), rtol=1e-12)
    within = frame.groupby("g")["y"].var(ddof=1) * (frame.groupby("g").size() - 1)
    pooled_sd = math.sqrt(within.sum() / (labels.size - n_groups))
    np.testing.assert_allclose(
        estimates.standard_errors, pooled_sd / np.sqrt(frame.groupby("g").size()), rtol=1e-10
    )
    assert np.all(np.isfinite(table.to_numpy()))


# ------------------------------------------------------------------ bad input

FUNCTIONS = {
    "fit_random_intercept": lambda df, **kw: mixed.fit_random_intercept(df, **kw),
    "profiled_deviance": lambda df, **kw: mixed.profiled_deviance(df, theta=[0.5], **kw),
    "pooling_estimates": lambda df, **kw: mixed.pooling_estimates(df, **kw),
}


@FAST
@given(
    function=st.sampled_from(sorted(FUNCTIONS)),
    df=st.one_of(
        st.none(), st.just({"y": [1.0], "g": ["a"]}), st.just(FRAME.to_numpy()), st.text()
    ),
)
def test_df_must_be_a_dataframe(function, df):
    """Anything but a DataFrame raises TypeError naming ``df``."""
    with pytest.raises(TypeError, match=r"^df\b"):
        FUNCTIONS[function](df, response="y", group="g")


@FAST
@given(
    function=st.sampled_from(sorted(FUNCTIONS)),
    argument=st.sampled_from(["response", "group"]),
    value=st.one_of(
        st.text(max_size=4).filter(lambda t: t not in ("y", "g")),
        st.integers(),
        st.none(),
        st.just(["y"]),
        st.just({"g": 1}),
    ),
)
def test_columns_must_exist(function, argument, value):
    """A response or group that is not a column name of df (or not hashable at all) raises
    naming the argument."""
    kwargs = {"response": "y", "group": "g", argument: value}
    with pytest.raises(ERRORS, match=rf"^{argument}\b"):
        FUNCTIONS[function](FRAME, **kwargs)


@FAST
@given(function=st.sampled_from(sorted(FUNCTIONS)), column=st.sampled_from(["y", "g"]))
def test_response_and_group_must_differ(function, column):
    """Fitting a column against itself raises naming response and group."""
    with pytest.raises(ValueError, match=r"^response and group\b"):
        FUNCTIONS[function](FRAME, response=column, group=column)


@FAST
@given(
    function=st.sampled_from(sorted(FUNCTIONS)),
    values=st.sampled_from(
        [
            [1.0, math.nan, 3.0, 7.0, 8.0, 10.0],
            [1.0, math.inf, 3.0, 7.0, 8.0, 10.0],
            ["1", "2", "3", "7", "8", "10"],
            [1 + 1j, 2, 3, 7, 8, 10],
            [True, False, True, False, True, True],
            [1.0, None, 3.0, 7.0, 8.0, 10.0],
        ]
    ),
)
def test_response_must_hold_finite_real_numbers(function, values):
    """Responses with NaN, infinity, strings, complex numbers, booleans or None raise
    naming the column df['y']."""
    frame = FRAME.assign(y=pd.Series(values, dtype=object))
    with pytest.raises(ERRORS, match=r"^df\['y'\]"):
        FUNCTIONS[function](frame, response="y", group="g")


@FAST
@given(
    function=st.sampled_from(["fit_random_intercept", "profiled_deviance"]),
    value=st.one_of(st.text(max_size=3), st.integers(), st.none(), st.floats()),
)
def test_reml_must_be_a_bool(function, value):
    """``reml`` must be True or False: reml="no" used to fit REML silently."""
    with pytest.raises(TypeError, match=r"^reml\b"):
        FUNCTIONS[function](FRAME, response="y", group="g", reml=value)


@FAST
@given(
    theta=st.one_of(
        st.floats(max_value=-1e-12).map(lambda t: [0.5, t]),
        st.sampled_from(
            [[math.nan], [math.inf], ["0.5"], [1 + 1j], [True], [], [[0.5], [1.0, 2.0]]]
        ),
        st.text(max_size=3),
        st.none(),
    )
)
def test_theta_must_be_nonnegative_real_numbers(theta):
    """``theta`` refuses negatives, NaN, infinity, strings, complex numbers, booleans,
    emptiness and ragged nesting, naming ``theta``."""
    with pytest.raises(ERRORS, match=r"^theta\b"):
        mixed.profiled_deviance(FRAME, response="y", group="g", theta=theta)


@FAST
@given(
    data=st.sampled_from(
        [
            FRAME.assign(g="a"),  # one group
            FRAME.assign(y=[1.0, 1.0, 1.0, 2.0, 2.0, 2.0]),  # no variation within groups
            FRAME.assign(g=list("abcdef")),  # one value per group
            FRAME.assign(g=["a", None, "a", "b", "b", "b"]),
            FRAME.assign(g=["a", math.nan, "a", "b", "b", "b"]),
        ]
    ),
    function=st.sampled_from(sorted(FUNCTIONS)),
)
def test_unusable_groupings_are_refused(data, function):
    """One group, no within-group variation (or one value per group) and missing labels
    raise ValueError naming ``group`` or the response column."""
    with pytest.raises(ValueError, match=r"^(group|df\['y'\])"):
        FUNCTIONS[function](data, response="y", group="g")


@FAST
@given(
    argument=st.sampled_from(["mu_prior_mean", "mu_prior_sd", "tau_prior"]),
    value=st.one_of(
        st.sampled_from([math.nan, math.inf, "1", 1 + 1j, [1.0, 2.0]]),
        st.floats(max_value=0.0),
    ),
)
def test_pooling_estimates_refuses_bad_priors(argument, value):
    """Bad Bayesian prior settings of pooling_estimates raise naming the argument (a
    negative mean is fine; a non-distribution tau prior is not)."""
    if argument == "mu_prior_mean" and isinstance(value, float) and math.isfinite(value):
        value = math.nan
    if argument == "tau_prior" and isinstance(value, float):
        value = stats.halfnorm(scale=value) if value < 0 else value
    with pytest.raises(ERRORS, match=rf"^{argument}\b"):
        mixed.pooling_estimates(FRAME, response="y", group="g", **{argument: value})
