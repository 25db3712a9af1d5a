"""Property tests of the multilevel additions: random slopes, variance components, data.

- Balanced crossed and nested layouts at any scale: the variance-components fit equals the
  ANOVA closed forms, which are the REML estimates when positive (Searle, Casella &
  McCulloch 1992, *Variance Components*).
- Random slopes are equivariant: rescaling the response by c and the predictor by a
  multiplies the intercept sd and sigma by |c|, the slope sd by |c / a|, the correlation
  by sign(c a), and adds (N - p) log c^2 (+ 2 log |a| for REML) to the criterion.
- Bad values in the columns are refused naming the column, whatever they are.
"""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from companion import data, mixed

COVERED = {
    "data.load_pastes",
    "data.load_penicillin",
    "data.load_radon",
    "data.load_sleepstudy",
    "mixed.RandomSlopesFit",
    "mixed.VarianceComponentsFit",
    "mixed.fit_random_slopes",
    "mixed.fit_variance_components",
}

SCALES = st.floats(-3, 6).map(lambda e: 10.0**e)


def crossed_layout(seed, n_rows, n_cols, spreads, scale, shift):
    """One observation per cell of an n_rows x n_cols table with row and column effects."""
    rng = np.random.default_rng(seed)
    rows = rng.normal(0, spreads[0], n_rows)[:, None]
    cols = rng.normal(0, spreads[1], n_cols)[None, :]
    table = shift + scale * (rows + cols + rng.normal(0, 1, (n_rows, n_cols)))
    frame = pd.DataFrame(
        {
            "r": np.repeat([f"r{i:02d}" for i in range(n_rows)], n_cols),
            "c": np.tile([f"c{j:02d}" for j in range(n_cols)], n_rows),
            "y": table.ravel(),
        }
    )
    return frame, table


@settings(max_examples=12, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_rows=st.integers(3, 8),
    n_cols=st.integers(3, 6),
    spreads=st.tuples(st.sampled_from([0.5, 1.0, 3.0]), st.sampled_from([0.5, 1.0, 3.0])),
    scale=SCALES,
    shift=st.sampled_from([0.0, -1e3, 1e6]),
)
def test_crossed_fit_is_the_balanced_anova(seed, n_rows, n_cols, spreads, scale, shift):
    """For a balanced crossed layout with positive ANOVA estimates, at any scale and shift,
    the REML fit's sds are the ANOVA ones (MS_rows - MSE) / n_cols, (MS_cols - MSE) / n_rows,
    MSE, and the intercept the grand mean."""
    frame, table = crossed_layout(seed, n_rows, n_cols, spreads, scale, shift)
    grand = table.mean()
    ms_rows = n_cols * np.sum((table.mean(1) - grand) ** 2) / (n_rows - 1)
    ms_cols = n_rows * np.sum((table.mean(0) - grand) ** 2) / (n_cols - 1)
    resid = table - table.mean(1, keepdims=True) - table.mean(0, keepdims=True) + grand
    mse = np.sum(resid**2) / ((n_rows - 1) * (n_cols - 1))
    assume(ms_rows > 1.2 * mse and ms_cols > 1.2 * mse)
    fit = mixed.fit_variance_components(frame, response="y", groups=["r", "c"])
    assert isinstance(fit, mixed.VarianceComponentsFit)
    expected = np.sqrt([(ms_rows - mse) / n_cols, (ms_cols - mse) / n_rows])
    np.testing.assert_allclose(fit.component_sds, expected, rtol=1e-4)
    assert fit.residual_sd == pytest.approx(math.sqrt(mse), rel=1e-5)
    se = math.sqrt((ms_rows + ms_cols - mse) / table.size)
    assert fit.intercept == pytest.approx(grand, abs=1e-9 * abs(shift) + 1e-6 * se)
    assert fit.intercept_se == pytest.approx(se, rel=1e-4)
    assert not fit.boundary


@settings(max_examples=10, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_outer=st.integers(3, 8),
    n_inner=st.integers(2, 4),
    replicates=st.integers(2, 3),
    scale=SCALES,
)
def test_nested_fit_is_the_balanced_anova(seed, n_outer, n_inner, replicates, scale):
    """For a balanced nested layout (inner labels reused in every outer group), the REML
    fit is the nested ANOVA when positive: outer (MS_outer - MS_inner) / (inner x reps),
    inner (MS_inner - MSE) / reps, residual MSE."""
    rng = np.random.default_rng(seed)
    outer = rng.normal(0, 2, n_outer)[:, None, None]
    inner = rng.normal(0, 1.5, (n_outer, n_inner))[..., None]
    values = scale * (outer + inner + rng.normal(0, 1, (n_outer, n_inner, replicates)))
    grand, o_mean, i_mean = values.mean(), values.mean((1, 2)), values.mean(2)
    ms_outer = n_inner * replicates * np.sum((o_mean - grand) ** 2) / (n_outer - 1)
    ms_inner = replicates * np.sum((i_mean - o_mean[:, None]) ** 2) / (n_outer * (n_inner - 1))
    mse = np.sum((values - i_mean[..., None]) ** 2) / (n_outer * n_inner * (replicates - 1))
    assume(ms_outer > 1.2 * ms_inner and ms_inner > 1.2 * mse)
    index = np.indices(values.shape).reshape(3, -1)
    frame = pd.DataFrame(
        {"o": [f"o{i}" for i in index[0]], "i": [f"i{j}" for j in index[1]], "y": values.ravel()}
    )
    fit = mixed.fit_variance_components(frame, response="y", groups=["o", "i"], structure="nested")
    expected = np.sqrt(
        [(ms_outer - ms_inner) / (n_inner * replicates), (ms_inner - mse) / replicates]
    )
    assert fit.component_sds.index.tolist() == ["o", "o:i"]
    np.testing.assert_allclose(fit.component_sds, expected, rtol=1e-4)
    assert fit.residual_sd == pytest.approx(math.sqrt(mse), rel=1e-5)
    assert fit.random_effects["o:i"].size == n_outer * n_inner


@pytest.fixture(scope="module")
def sleep_base():
    sleep = data.load_sleepstudy()
    fits = {
        reml: mixed.fit_random_slopes(
            sleep, response="reaction", predictor="days", group="subject", reml=reml
        )
        for reml in (True, False)
    }
    return sleep, fits


@settings(max_examples=8, deadline=None, derandomize=True)
@given(
    c=st.sampled_from([1e-3, 0.5, 7.0, 1e4, -2.0]),
    a=st.sampled_from([1e-3, 0.25, 24.0, 1e3, -1.0]),
    shift=st.sampled_from([0.0, 1e5]),
    reml=st.booleans(),
)
def test_random_slopes_are_equivariant(sleep_base, c, a, shift, reml):
    """Fitting c * reaction + shift against a * days rescales every estimate as the model
    says (module docstring); statsmodels' optimiser alone does not manage this at the
    extreme scales, the profiled optimum does."""
    sleep, fits = sleep_base
    base = fits[reml]
    frame = sleep.assign(reaction=c * sleep["reaction"] + shift, days=a * sleep["days"])
    fit = mixed.fit_random_slopes(
        frame, response="reaction", predictor="days", group="subject", reml=reml
    )
    assert isinstance(fit, mixed.RandomSlopesFit)
    assert fit.residual_sd == pytest.approx(abs(c) * base.residual_sd, rel=1e-5)
    assert fit.intercept_sd == pytest.approx(abs(c) * base.intercept_sd, rel=1e-4)
    assert fit.slope_sd == pytest.approx(abs(c / a) * base.slope_sd, rel=1e-4)
    assert fit.correlation == pytest.approx(np.sign(c * a) * base.correlation, abs=1e-4)
    assert fit.fixed_effects["days"] == pytest.approx(c / a * base.fixed_effects["days"], rel=1e-7)
    offset = (180 - 2 * reml) * math.log(c**2) + (2 * math.log(abs(a)) if reml else 0.0)
    assert fit.criterion == pytest.approx(base.criterion + offset, abs=1e-5)
    np.testing.assert_allclose(
        fit.random_effects["slope"], c / a * base.random_effects["slope"],
        atol=1e-4 * abs(c / a) * base.slope_sd,
    )  # fmt: skip


BAD_VALUES = st.sampled_from([np.nan, np.inf, -np.inf, "12", None])


@settings(max_examples=20, deadline=None, derandomize=True)
@given(position=st.integers(0, 179), value=BAD_VALUES, column=st.sampled_from(["reaction", "days"]))
def test_random_slopes_refuse_bad_values(sleep_base, position, value, column):
    """One NaN, infinity, string or None anywhere in the response or predictor is refused
    with an error naming that column."""
    sleep, _ = sleep_base
    frame = sleep.astype({column: object})
    frame.loc[position, column] = value
    with pytest.raises((ValueError, TypeError), match=rf"df\['{column}'\]"):
        mixed.fit_random_slopes(frame, response="reaction", predictor="days", group="subject")


@settings(max_examples=20, deadline=None, derandomize=True)
@given(position=st.integers(0, 143), value=BAD_VALUES)
def test_variance_components_refuse_bad_values(position, value):
    """The same for the response of a variance-components fit."""
    frame = data.load_penicillin().astype({"diameter": object})
    frame.loc[position, "diameter"] = value
    with pytest.raises((ValueError, TypeError), match=r"df\['diameter'\]"):
        mixed.fit_variance_components(frame, response="diameter", groups=["plate", "sample"])


@pytest.mark.parametrize(
    "loader", [data.load_sleepstudy, data.load_penicillin, data.load_pastes, data.load_radon]
)
def test_loaders_are_deterministic_and_complete(loader):
    """Every load gives the same complete table, with categorical groups."""
    first, second = loader(), loader()
    pd.testing.assert_frame_equal(first, second)
    assert not first.isna().any(axis=None)
    assert any(isinstance(dtype, pd.CategoricalDtype) for dtype in first.dtypes)
