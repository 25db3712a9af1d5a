"""Tests of the Eight Schools figures in companion.plots: forest and tau_vs_exact (Agg backend).

Expected positions are computed from the inputs (a row per group, raw intervals
y +/- z sigma with z the Normal quantile of the requested probability), and the exact
density curve is compared with exact.normal_hierarchy's own density at the plotted points
and with the integral of that curve (1 on the plotted range, up to the tail beyond it).
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.container import ErrorbarContainer  # noqa: E402
from scipy import integrate, stats  # noqa: E402

from companion import data, exact, plots  # noqa: E402

INTERVALS = pd.DataFrame(
    {
        "group": ["A", "B", "C"],
        "mean": [10.0, 7.5, 6.0],
        "lower": [-1.0, -2.0, -5.0],
        "upper": [22.0, 17.0, 16.0],
    }
)
RAW = pd.DataFrame({"y": [28.0, 8.0, -3.0], "sigma": [15.0, 10.0, 16.0]}, index=["A", "B", "C"])


@pytest.fixture(autouse=True)
def close_figures(monkeypatch):
    """Fail on plt.show(); close every figure after each test."""

    def forbidden(*args, **kwargs):
        raise AssertionError("plt.show() must not be called by companion.plots")

    monkeypatch.setattr(plt, "show", forbidden)
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def posterior():
    schools = data.load_eight_schools()
    return exact.normal_hierarchy(schools["y"], schools["sigma"])


def test_forest_rows_intervals_and_raw_estimates():
    """The first group is the top row; posterior means and interval ends are drawn where
    given; raw estimates sit just below their rows with half-widths z * sigma, z the
    Normal quantile for ``prob``; the reference is a vertical line; tick labels name the
    groups."""
    _, ax = plt.subplots()
    returned = plots.forest(INTERVALS, raw=RAW.iloc[::-1], reference=7.0, prob=0.8, ax=ax)
    assert returned is ax
    posterior_bars, raw_bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    line, _, (segments,) = posterior_bars.lines
    np.testing.assert_array_equal(line.get_xdata(), INTERVALS["mean"])
    np.testing.assert_array_equal(line.get_ydata(), [2.0, 1.0, 0.0])
    ends = np.array([path.vertices[:, 0] for path in segments.get_paths()])
    np.testing.assert_allclose(ends, INTERVALS[["lower", "upper"]].to_numpy())
    raw_line, _, (raw_segments,) = raw_bars.lines
    np.testing.assert_array_equal(raw_line.get_xdata(), RAW["y"])  # reordered to match rows
    np.testing.assert_array_equal(raw_line.get_ydata(), [1.75, 0.75, -0.25])
    half_widths = np.array([np.ptp(path.vertices[:, 0]) / 2 for path in raw_segments.get_paths()])
    np.testing.assert_allclose(half_widths, stats.norm.ppf(0.9) * RAW["sigma"].to_numpy())
    labels = [label.get_text() for label in ax.get_yticklabels()]
    ticks = dict(zip(ax.get_yticks(), labels, strict=True))
    assert ticks == {2.0: "A", 1.0: "B", 0.0: "C"}
    assert any(np.allclose(line.get_xdata(), 7.0) for line in ax.get_lines())


def test_forest_without_raw_draws_one_set_of_bars():
    """Without ``raw`` only the posterior intervals are drawn, on a new figure if no axes
    are given."""
    ax = plots.forest(INTERVALS)
    assert len([c for c in ax.containers if isinstance(c, ErrorbarContainer)]) == 1


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"intervals": INTERVALS.drop(columns="upper")}, r"^intervals\b"),
        ({"raw": RAW.drop(columns="sigma")}, r"^raw\b"),
        ({"raw": RAW.drop(index="B")}, r"^raw\b"),
        ({"prob": 1.0}, r"^prob\b"),
    ],
)
def test_forest_rejects_bad_input(kwargs, argument):
    """Missing columns, a raw table lacking a group, and a probability outside (0, 1) raise
    ValueError naming the argument."""
    arguments = {"intervals": INTERVALS} | kwargs
    with pytest.raises(ValueError, match=argument):
        plots.forest(arguments.pop("intervals"), **arguments)


@pytest.mark.parametrize("log_scale", [False, True])
def test_tau_vs_exact_draws_histogram_and_exact_density(posterior, log_scale):
    """The histogram holds every draw (its bar areas sum to 1); the curve is the exact
    density of tau (or of log tau: tau * p(tau)) at its points and integrates to about 1
    over the plotted range."""
    draws = posterior.sample(3000, rng=5)["tau"]
    ax = plots.tau_vs_exact(draws, posterior, log_scale=log_scale, bins=30)
    areas = [patch.get_width() * patch.get_height() for patch in ax.patches]
    assert sum(areas) == pytest.approx(1.0)
    (curve,) = ax.get_lines()
    grid, density = curve.get_xdata(), curve.get_ydata()
    tau = np.exp(grid) if log_scale else grid
    expected = posterior.tau_density(tau) * (tau if log_scale else 1.0)
    np.testing.assert_allclose(density, expected)
    assert integrate.trapezoid(density, grid) == pytest.approx(1.0, abs=2e-3)


def test_tau_vs_exact_rejects_bad_input(posterior):
    """Non-positive draws raise ValueError naming tau_draws; an object without a
    tau_density method raises TypeError naming posterior."""
    with pytest.raises(ValueError, match=r"^tau_draws\b"):
        plots.tau_vs_exact([1.0, -2.0], posterior)
    with pytest.raises(TypeError, match=r"^posterior\b"):
        plots.tau_vs_exact([1.0, 2.0], {"tau": 1.0})
