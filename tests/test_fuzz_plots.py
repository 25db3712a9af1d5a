"""Property and fuzz tests (hypothesis) of every public function of companion.plots (Agg).

Good input, however extreme, must be drawn where it says (read back from the artists);
bad input (mismatched lengths, NaN, empty frames, wrong column names, bare strings for
label lists, strings for numbers) must raise ValueError or TypeError naming the argument.
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from scipy import stats  # noqa: E402

from companion import plots  # noqa: E402

COVERED = {
    "plots.POOLING_LABELS",
    "plots.chain_traces",
    "plots.dirichlet_simplex",
    "plots.elpd_by_group",
    "plots.forest",
    "plots.funnel_scatter",
    "plots.interval_comparison",
    "plots.loo_comparison",
    "plots.plate_diagrams",
    "plots.pooling_comparison",
    "plots.shrinkage_arrows",
    "plots.tau_vs_exact",
}

SOME = settings(max_examples=12, deadline=None, derandomize=True)
FEW = settings(max_examples=6, deadline=None, derandomize=True)
seeds = st.integers(0, 2**32 - 1)
finite = st.floats(-1e6, 1e6)
not_numbers = st.sampled_from(["1.0", None, [1.0], True, {"a": 1}])


@pytest.fixture(autouse=True)
def close_figures():
    """Close every figure after each test."""
    yield
    plt.close("all")


def intervals(seed: int, groups: int, *, poolings=None) -> pd.DataFrame:
    """Random valid intervals: lower <= mean <= upper for each group (and pooling)."""
    rng = np.random.default_rng(seed)
    rows = []
    for pooling in poolings or [None]:
        mean = rng.normal(0, 100, groups)
        lower, upper = mean - rng.exponential(5, groups), mean + rng.exponential(5, groups)
        frame = pd.DataFrame(
            {"group": [f"g{j}" for j in range(groups)], "mean": mean, "lower": lower}
        ).assign(upper=upper)
        rows.append(frame if pooling is None else frame.assign(pooling=pooling))
    return pd.concat(rows, ignore_index=True)


def spoiled(frame: pd.DataFrame, how: str) -> pd.DataFrame:
    """A copy of a valid interval table broken in one way."""
    frame = frame.copy()
    if how == "nan":
        frame.loc[0, "mean"] = np.nan
    elif how == "inf":
        frame.loc[0, "upper"] = np.inf
    elif how == "empty":
        frame = frame.iloc[:0]
    elif how == "column":
        frame = frame.rename(columns={"lower": "low"})
    elif how == "order":
        frame.loc[0, "lower"] = frame.loc[0, "upper"] + 1
    elif how == "text":
        frame["mean"] = frame["mean"].astype(object)
        frame.loc[0, "mean"] = "high"
    elif how == "duplicate":
        frame = pd.concat([frame, frame.iloc[:1]], ignore_index=True)
    return frame


spoils = st.sampled_from(["nan", "inf", "empty", "column", "order", "text", "duplicate"])


# ------------------------------------------------------------------ interval plots


@FEW
@given(seed=seeds, groups=st.integers(1, 8))
def test_pooling_comparison_draws_every_interval(seed, groups):
    """Each of the three panels, titled by POOLING_LABELS, draws one point per group at its
    mean with bars to its lower and upper ends."""
    table = intervals(seed, groups, poolings=["complete", "none", "partial"])
    axes = plots.pooling_comparison(table)
    assert [ax.get_title() for ax in axes] == list(plots.POOLING_LABELS.values())
    for ax, pooling in zip(axes, plots.POOLING_LABELS, strict=True):
        rows = table[table["pooling"] == pooling]
        line, _, (bars,) = ax.containers[0].lines
        np.testing.assert_allclose(np.asarray(line.get_ydata(), dtype=float), rows["mean"])
        segments = np.array(bars.get_segments())
        np.testing.assert_allclose(segments[:, :, 1], rows[["lower", "upper"]].to_numpy())


@SOME
@given(seed=seeds, how=spoils)
def test_pooling_comparison_refuses_broken_tables(seed, how):
    """NaN, infinite or non-numeric values, no rows, a missing column, lower above upper
    and a repeated (group, pooling) raise ValueError or TypeError naming intervals."""
    table = spoiled(intervals(seed, 3, poolings=["complete", "none", "partial"]), how)
    with pytest.raises((ValueError, TypeError), match="^intervals"):
        plots.pooling_comparison(table)


@SOME
@given(
    case=st.sampled_from(["obs column", "obs nan", "obs group", "truth text", "truth nan"]),
)
def test_pooling_comparison_refuses_bad_extras(case):
    """Observations without a value column, with NaN values or unknown groups, and truths
    that are not finite numbers raise ValueError or TypeError naming the argument."""
    table = intervals(1, 2, poolings=["complete", "none", "partial"])
    kwargs, match = {
        "obs column": ({"observations": pd.DataFrame({"group": ["g0"], "y": [1.0]})}, "obs"),
        "obs nan": ({"observations": pd.DataFrame({"group": ["g0"], "value": [np.nan]})}, "obs"),
        "obs group": ({"observations": pd.DataFrame({"group": ["zz"], "value": [1.0]})}, "obs"),
        "truth text": ({"truth": {"g0": "high"}}, "truth"),
        "truth nan": ({"truth": {"g0": np.nan}}, "truth"),
    }[case]
    with pytest.raises((ValueError, TypeError), match=match):
        plots.pooling_comparison(table, **kwargs)


@SOME
@given(seed=seeds, groups=st.integers(1, 8), prob=st.floats(0.01, 0.99))
def test_forest_draws_intervals_and_raw_normal_intervals(seed, groups, prob):
    """The posterior bars span lower..upper at each group's row (first group on top), and
    the raw bars have half-width z sigma, z the Normal quantile of (1 + prob) / 2."""
    table = intervals(seed, groups)
    rng = np.random.default_rng(seed)
    raw = pd.DataFrame(
        {"y": rng.normal(0, 10, groups), "sigma": rng.uniform(0.1, 20, groups)},
        index=table["group"],
    )
    ax = plots.forest(table, raw=raw, prob=prob, reference=float(table["mean"].mean()))
    posterior_bars, raw_bars = ax.containers
    ends = np.array([p.vertices[:, 0] for p in posterior_bars.lines[2][0].get_paths()])
    np.testing.assert_allclose(ends, table[["lower", "upper"]].to_numpy())
    np.testing.assert_array_equal(posterior_bars.lines[0].get_ydata(), np.arange(groups)[::-1])
    half = np.array([np.ptp(p.vertices[:, 0]) / 2 for p in raw_bars.lines[2][0].get_paths()])
    np.testing.assert_allclose(half, stats.norm.ppf((1 + prob) / 2) * raw["sigma"], rtol=1e-9)


@SOME
@given(seed=seeds, how=spoils)
def test_forest_refuses_broken_tables(seed, how):
    """The same broken interval tables raise ValueError or TypeError naming intervals."""
    with pytest.raises((ValueError, TypeError), match="^intervals"):
        plots.forest(spoiled(intervals(seed, 3), how))


@SOME
@given(
    argument=st.sampled_from(["prob", "reference", "raw"]),
    value=st.one_of(not_numbers, st.sampled_from([np.nan, 0.0, 1.0, np.inf])),
)
def test_forest_refuses_bad_options(argument, value):
    """A probability not in (0, 1), a reference that is not a finite number and a raw
    table that is not a DataFrame raise ValueError or TypeError naming the argument."""
    if argument in ("reference", "raw") and (value is None or value in (0.0, 1.0)):
        value = np.nan  # None means "not given"; 0 and 1 are fine references
    with pytest.raises((ValueError, TypeError), match=f"^{argument}"):
        plots.forest(intervals(0, 3), **{argument: value})


@SOME
@given(case=st.sampled_from(["nan y", "zero sigma", "duplicate", "missing"]))
def test_forest_refuses_bad_raw_tables(case):
    """Raw estimates with NaN y, non-positive sigma, repeated or missing groups raise
    ValueError naming raw."""
    table = intervals(0, 3)
    raw = pd.DataFrame({"y": [1.0, 2.0, 3.0], "sigma": [1.0, 1.0, 1.0]}, index=table["group"])
    if case == "nan y":
        raw.iloc[1, 0] = np.nan
    elif case == "zero sigma":
        raw.iloc[2, 1] = 0.0
    elif case == "duplicate":
        raw = pd.concat([raw, raw.iloc[:1]])
    else:
        raw = raw.iloc[1:]
    with pytest.raises(ValueError, match="^raw"):
        plots.forest(table, raw=raw)


@FEW
@given(seed=seeds, groups=st.integers(1, 6), series=st.integers(1, 4))
def test_interval_comparison_draws_every_series(seed, groups, series):
    """One error-bar series per posterior, each with the means and interval ends of its
    table reordered to the first table's groups."""
    tables = {f"s{k}": intervals(seed + k, groups).iloc[::-1] for k in range(series)}
    ax = plots.interval_comparison(tables, truth={f"g{j}": float(j) for j in range(groups)})
    order = list(tables["s0"]["group"])
    for container, table in zip(ax.containers, tables.values(), strict=True):
        expected = table.set_index("group").loc[order]
        np.testing.assert_allclose(container.lines[0].get_ydata(), expected["mean"])
        segments = np.array(container.lines[2][0].get_segments())
        np.testing.assert_allclose(segments[:, :, 1], expected[["lower", "upper"]].to_numpy())


@SOME
@given(seed=seeds, how=spoils)
def test_interval_comparison_refuses_broken_tables(seed, how):
    """A broken second table raises ValueError or TypeError naming its entry."""
    tables = {"first": intervals(seed, 3), "second": spoiled(intervals(seed, 3), how)}
    with pytest.raises((ValueError, TypeError), match="second"):
        plots.interval_comparison(tables)


# ------------------------------------------------------------------ arrays


@SOME
@given(seed=seeds, n=st.integers(1, 12), common_sigma=st.booleans())
def test_shrinkage_arrows_one_arrow_per_group(seed, n, common_sigma):
    """One arrow per group from (0, y_j) to (1, shrunk_j), also with one sigma shared by
    all groups; markers' areas are proportional to sigma squared."""
    rng = np.random.default_rng(seed)
    y, shrunk = rng.normal(0, 1e3, n), rng.normal(0, 1e3, n)
    sigma = rng.uniform(1e-3, 1e3, 1 if common_sigma else n)
    ax = plots.shrinkage_arrows(y, sigma, shrunk, labels=[f"g{j}" for j in range(n)])
    arrows = [a for a in ax.texts if a.arrow_patch is not None]
    assert sorted((a.xyann, a.xy) for a in arrows) == sorted(
        ((0, a), (1, b)) for a, b in zip(y, shrunk, strict=True)
    )
    raw = ax.collections[0]
    np.testing.assert_allclose(
        raw.get_sizes(), 400 * (np.broadcast_to(sigma, n) / sigma.max()) ** 2
    )


@SOME
@given(
    case=st.sampled_from(
        ["y nan", "sigma short", "shrunk long", "sigma text", "labels str", "labels few", "pooled"]
    )
)
def test_shrinkage_arrows_refuses_bad_input(case):
    """NaN values, mismatched lengths, text for numbers, one string as labels, too few
    labels and a non-numeric pooled value raise ValueError or TypeError naming it."""
    y, sigma, shrunk = [1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [1.5, 2.0, 2.5]
    args, kwargs, match = {
        "y nan": (([1.0, np.nan, 3.0], sigma, shrunk), {}, "^y"),
        "sigma short": ((y, [1.0, 2.0], shrunk), {}, "sigma"),
        "shrunk long": ((y, sigma, [1.0] * 4), {}, "shrunk"),
        "sigma text": ((y, ["a", "b", "c"], shrunk), {}, "^sigma"),
        "labels str": ((y, sigma, shrunk), {"labels": "abc"}, "^labels"),
        "labels few": ((y, sigma, shrunk), {"labels": ["a"]}, "^labels"),
        "pooled": ((y, sigma, shrunk), {"pooled": "2.0"}, "^pooled"),
    }[case]
    with pytest.raises((ValueError, TypeError), match=match):
        plots.shrinkage_arrows(*args, **kwargs)


@SOME
@given(seed=seeds, n=st.integers(1, 200), rate=st.sampled_from([0.0, 0.1, 1.0]))
def test_funnel_scatter_marks_exactly_the_divergent_draws(seed, n, rate):
    """All draws are scattered, and the divergent ones are drawn again, on top, in a
    second collection whose label counts them."""
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=n), rng.normal(size=n)
    diverging = rng.random(n) < rate
    ax = plots.funnel_scatter(x, y, diverging=diverging)
    everything, divergent = ax.collections
    np.testing.assert_array_equal(everything.get_offsets(), np.column_stack([x, y]))
    np.testing.assert_array_equal(
        divergent.get_offsets().reshape(-1, 2), np.column_stack([x, y])[diverging]
    )
    assert divergent.get_label() == f"divergent ({diverging.sum()})"


@SOME
@given(
    seed=seeds,
    chains=st.integers(1, 5),
    draws=st.integers(2, 60),
    scale=st.sampled_from([1e-6, 1.0, 1e6]),
    ties=st.booleans(),
    data=st.data(),
)
def test_chain_traces_counts_every_draw_once(seed, chains, draws, scale, ties, data):
    """Any finite (chain, draw) array, tiny or huge, with or without tied draws: every
    chain is traced unchanged and its rank histogram counts each of its draws once."""
    rng = np.random.default_rng(seed)
    values = scale * rng.normal(size=(chains, draws))
    if ties:
        values = np.round(values / scale) * scale
    bins = data.draw(st.integers(1, draws))
    axes = plots.chain_traces({"fit": values}, bins=bins)
    lines = axes[0, 0].get_lines()
    assert len(lines) == chains
    for line, chain in zip(lines, values, strict=True):
        np.testing.assert_array_equal(line.get_ydata(), chain)
    stairs = [p for p in axes[1, 0].patches if type(p).__name__ == "StepPatch"]
    assert [int(p.get_data()[0].sum()) for p in stairs] == [draws] * chains


@SOME
@given(
    case=st.sampled_from(["length", "nan", "flags int", "flags short", "color", "empty"]),
)
def test_funnel_scatter_refuses_bad_input(case):
    """Mismatched lengths, NaN, non-boolean or short divergence flags, an unknown colour
    and empty draws raise ValueError naming the argument, before drawing."""
    x = [0.0, 1.0, 2.0]
    args, kwargs, match = {
        "length": ((x, [1.0, 2.0]), {}, "x and y"),
        "nan": ((x, [1.0, np.nan, 2.0]), {}, "^y"),
        "flags int": ((x, x), {"diverging": [0, 1, 0]}, "^diverging"),
        "flags short": ((x, x), {"diverging": [True]}, "^diverging"),
        "color": ((x, x), {"color": "not-a-colour"}, "^color"),
        "empty": (([], []), {}, "^x"),
    }[case]
    with pytest.raises(ValueError, match=match):
        plots.funnel_scatter(*args, **kwargs)
    assert plt.get_fignums() == []


class HalfNormal:
    """A stand-in exact posterior of tau: half-normal with scale 5."""

    def tau_density(self, tau):
        return stats.halfnorm(scale=5.0).pdf(tau)

    def quantile(self, q):
        return {"tau": stats.halfnorm(scale=5.0).ppf(q)}


@FEW
@given(seed=seeds, n=st.integers(1, 500), bins=st.integers(1, 80), log_scale=st.booleans())
def test_tau_vs_exact_histogram_holds_every_draw_and_curve_is_the_density(seed, n, bins, log_scale):
    """The histogram's bar areas sum to 1 (every draw is inside the range) and the curve is
    the given density (times tau on the log scale) at its points."""
    tau = np.abs(np.random.default_rng(seed).normal(0, 5, n)) + 1e-9
    ax = plots.tau_vs_exact(tau, HalfNormal(), bins=bins, log_scale=log_scale)
    areas = [patch.get_width() * patch.get_height() for patch in ax.patches]
    assert sum(areas) == pytest.approx(1.0)
    (curve,) = ax.get_lines()
    grid = np.exp(curve.get_xdata()) if log_scale else curve.get_xdata()
    expected = HalfNormal().tau_density(grid) * (grid if log_scale else 1.0)
    np.testing.assert_allclose(curve.get_ydata(), expected)


@SOME
@given(
    argument=st.sampled_from(["tau_draws", "bins", "posterior"]),
    value=st.sampled_from([[], [1.0, -1.0], [np.nan], 0, -2, 2.5, "ten", {"tau": 1}]),
)
def test_tau_vs_exact_refuses_bad_input(argument, value):
    """Empty, NaN or non-positive draws, a bin count that is not an integer >= 1 and a
    posterior without density and quantile methods raise ValueError or TypeError naming
    the argument."""
    if argument == "tau_draws" and value == 2.5:
        value = -2.5  # one positive draw is valid
    kwargs = {"tau_draws": [1.0, 2.0], "posterior": HalfNormal(), "bins": 10} | {argument: value}
    with pytest.raises((ValueError, TypeError), match=f"^{argument}"):
        plots.tau_vs_exact(**kwargs)


# ------------------------------------------------------------------ LOO plots


def loo_frame(seed: int, models: int) -> pd.DataFrame:
    """A loo_table-like frame: best first, elpd_diff <= 0, dse >= 0, weights summing to 1."""
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.ones(models))
    diff = np.concatenate([[0.0], -np.sort(rng.exponential(10, models - 1))])
    dse = np.concatenate([[0.0], rng.exponential(3, models - 1)])
    return pd.DataFrame(
        {"elpd_diff": diff, "dse": dse, "weight": weights},
        index=["partial", *[f"m{k}" for k in range(models - 1)]],
    )


@SOME
@given(seed=seeds, models=st.integers(1, 6))
def test_loo_comparison_draws_each_model_with_two_se_bars(seed, models):
    """Models run top to bottom from best; each point sits at elpd_diff, with a thick bar
    of +-1 dse and a thin one of +-2 dse; labels carry the weight."""
    table = loo_frame(seed, models)
    ax = plots.loo_comparison(table)
    thin, thick = ax.collections[:2]
    diff, dse = table["elpd_diff"].to_numpy(), table["dse"].to_numpy()
    for collection, k in ((thin, 2), (thick, 1)):
        segments = np.array(collection.get_segments())
        np.testing.assert_allclose(
            segments[:, :, 0], np.column_stack([diff - k * dse, diff + k * dse])
        )
        np.testing.assert_allclose(segments[:, 0, 1], np.arange(models)[::-1])
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0].startswith("Partial pooling")
    assert all(f"{w:.2f}" in label for w, label in zip(table["weight"], labels, strict=True))


@SOME
@given(seed=seeds, how=st.sampled_from(["nan", "empty", "column", "text", "negative", "weight"]))
def test_loo_comparison_refuses_broken_tables(seed, how):
    """NaN, empty, missing-column, non-numeric, negative-dse and out-of-range-weight tables
    raise ValueError or TypeError naming table."""
    table = loo_frame(seed, 3)
    if how == "nan":
        table.iloc[1, 0] = np.nan
    elif how == "empty":
        table = table.iloc[:0]
    elif how == "column":
        table = table.drop(columns="dse")
    elif how == "text":
        table["weight"] = ["a", "b", "c"]
    elif how == "negative":
        table.iloc[1, 1] = -1.0
    else:
        table.iloc[0, 2] = 1.5
    with pytest.raises((ValueError, TypeError), match="^table"):
        plots.loo_comparison(table)


@FEW
@given(seed=seeds, groups=st.integers(1, 10), models=st.integers(1, 3))
def test_elpd_by_group_draws_one_point_per_group_and_model(seed, groups, models):
    """One scatter per model with a point (n, difference) per group, on a log x axis."""
    rng = np.random.default_rng(seed)
    n = rng.integers(1, 10_000, groups)
    frame = pd.DataFrame({"n": n} | {f"m{k}": rng.normal(0, 5, groups) for k in range(models)})
    ax = plots.elpd_by_group(frame)
    assert ax.get_xscale() == "log"
    for k in range(models):
        offsets = ax.collections[k].get_offsets()
        np.testing.assert_allclose(offsets, np.column_stack([n, frame[f"m{k}"]]))


@SOME
@given(case=st.sampled_from(["no n", "only n", "zero n", "nan", "empty", "sizes", "text"]))
def test_elpd_by_group_refuses_bad_input(case):
    """A frame without 'n' or model columns, with non-positive sizes, NaN or text, no rows
    and sizes missing a group raise ValueError or TypeError naming the argument."""
    frame = pd.DataFrame({"n": [1, 5, 9], "none": [0.5, -1.0, 2.0]}, index=["a", "b", "c"])
    kwargs, match = {"differences": frame}, "^differences"
    if case == "no n":
        kwargs["differences"] = frame.drop(columns="n")
    elif case == "only n":
        kwargs["differences"] = frame[["n"]]
    elif case == "zero n":
        kwargs["differences"] = frame.assign(n=[0, 1, 2])
    elif case == "nan":
        kwargs["differences"] = frame.assign(none=[np.nan, 1.0, 2.0])
    elif case == "empty":
        kwargs["differences"] = frame.iloc[:0]
    elif case == "text":
        kwargs["differences"] = frame.assign(none=["x", "y", "z"])
    else:
        kwargs["sizes"], match = {"a": 3, "b": 4}, "^sizes"
    with pytest.raises((ValueError, TypeError), match=match):
        plots.elpd_by_group(**kwargs)


# ------------------------------------------------------------------ other figures


@settings(max_examples=10, deadline=None, derandomize=True)
@given(
    a=st.lists(st.floats(0.05, 200.0), min_size=3, max_size=3),
    resolution=st.integers(10, 40),
)
def test_dirichlet_simplex_marks_the_mean_for_extreme_concentrations(a, resolution):
    """For concentrations from 0.05 to 200 the density contours are finite and the mean
    a / sum(a) is marked at its barycentric point on the triangle."""
    ax = plots.dirichlet_simplex(a, resolution=resolution)
    m = np.asarray(a) / np.sum(a)
    (marker,) = [line for line in ax.lines if line.get_marker() == "x"]
    np.testing.assert_allclose(marker.get_xydata()[0], (m[1] + m[2] / 2, np.sqrt(3) / 2 * m[2]))
    assert np.all(np.isfinite(np.asarray(ax.collections[0].get_array(), dtype=float)))


@SOME
@given(
    argument=st.sampled_from(["concentration", "labels", "resolution"]),
    value=st.sampled_from(["abc", [1.0, 2.0], [1.0, np.nan, 1.0], 9, 12.0, None, ["a"]]),
)
def test_dirichlet_simplex_refuses_bad_input(argument, value):
    """Concentrations that are not three positive numbers, labels that are not three names
    (a bare string included) and resolutions that are not integers >= 10 raise ValueError
    or TypeError naming the argument."""
    kwargs = {"concentration": [1.0, 2.0, 3.0]} | {argument: value}
    if argument == "concentration" and value in (9, 12.0):
        kwargs["concentration"] = [value] * 2
    if argument == "labels" and value == [1.0, np.nan, 1.0]:
        kwargs["labels"] = ["a", "b", "c", "d"]
    with pytest.raises((ValueError, TypeError), match=f"^{argument}"):
        plots.dirichlet_simplex(**kwargs)


@settings(max_examples=10, deadline=None, derandomize=True)
@given(
    argument=st.sampled_from(["models", "dpi"]),
    value=st.sampled_from([{}, [], "model", 0, -3, 2.5, "150", None]),
)
def test_plate_diagrams_refuses_bad_input_before_rendering(argument, value):
    """An empty or non-mapping models argument and a dpi that is not an integer >= 1 raise
    ValueError or TypeError naming the argument; nothing is drawn."""
    kwargs = {"models": {"one": object()}, "dpi": 100} | {argument: value}
    with pytest.raises((ValueError, TypeError), match=f"^{argument}"):
        plots.plate_diagrams(**kwargs)
    assert plt.get_fignums() == []


def test_plate_diagrams_names_a_value_that_is_not_a_model():
    """A value that is not a PyMC model raises TypeError naming its key."""
    with pytest.raises(TypeError, match=r"models\['x'\]"):
        plots.plate_diagrams({"x": "not a model"})


def test_every_public_name_is_covered():
    """COVERED lists every public name of companion.plots."""
    assert {f"plots.{name}" for name in plots.__all__} <= COVERED
