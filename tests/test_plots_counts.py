"""Tests of the plot helpers of the count chapters: companion.plots.dirichlet_simplex and
companion.plots.interval_comparison.

What is drawn is read back from the returned Axes (artists, their data and labels) and
compared with values computed here from the inputs: the position of the Dirichlet mean on
the triangle from its barycentric coordinates, the error-bar ends from the intervals.
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from companion import plots  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_dirichlet_simplex_draws_density_mean_and_labels():
    """A filled contour of the density, the mean a / sum(a) at the barycentric point
    m1 (0, 0) + m2 (1, 0) + m3 (1/2, sqrt(3)/2), the triangle, the three corner labels and
    the concentration in the title; the axes drawn on are returned."""
    fig, ax = plt.subplots()
    returned = plots.dirichlet_simplex([2.0, 5.0, 10.0], labels=["x", "y", "z"], ax=ax)
    assert returned is ax
    assert ax.collections, "no filled contours were drawn"
    m = np.array([2.0, 5.0, 10.0]) / 17.0
    expected = (m[1] + 0.5 * m[2], np.sqrt(3) / 2 * m[2])
    mean_marker = [line for line in ax.lines if line.get_marker() == "x"]
    assert len(mean_marker) == 1
    assert np.allclose(mean_marker[0].get_xydata()[0], expected)
    assert sorted(t.get_text() for t in ax.texts) == ["x", "y", "z"]
    assert ax.get_title() == "a = (2, 5, 10)"


def test_dirichlet_simplex_handles_densities_unbounded_at_the_edges():
    """Concentrations below one (infinite density at the edges) still draw finite
    contours, on a new figure when no axes are given."""
    ax = plots.dirichlet_simplex([0.3, 0.5, 0.5])
    levels = np.asarray(ax.collections[0].get_array(), dtype=float)
    assert np.all(np.isfinite(levels))


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        (dict(concentration=[1.0, 2.0]), ValueError, "concentration"),
        (dict(concentration=[1.0, 0.0, 2.0]), ValueError, "concentration"),
        (dict(concentration=[1.0, np.nan, 2.0]), ValueError, "concentration"),
        (dict(concentration=[1.0, 1.0, 1.0], labels=["a", "b"]), ValueError, "labels"),
        (dict(concentration=[1.0, 1.0, 1.0], resolution=5), ValueError, "resolution"),
        (dict(concentration=[1.0, 1.0, 1.0], resolution=50.0), ValueError, "resolution"),
    ],
)
def test_dirichlet_simplex_rejects_bad_input(kwargs, error, name):
    """Wrong numbers of concentrations or labels, non-positive values and bad
    resolutions raise an error naming the argument."""
    with pytest.raises(error, match=name):
        plots.dirichlet_simplex(**kwargs)


def _intervals(means, half_width, groups=("a", "b", "c")):
    means = np.asarray(means, dtype=float)
    return pd.DataFrame(
        {
            "group": list(groups),
            "mean": means,
            "lower": means - half_width,
            "upper": means + half_width,
        }
    )


def test_interval_comparison_draws_each_posterior_beside_the_other():
    """Each posterior is one error-bar series, offset left and right of the group's tick,
    with its means and interval ends; groups follow the first table's order even when the
    second lists them differently; the truth is drawn as crosses and the legend names all."""
    first = _intervals([1.0, 2.0, 3.0], 0.5)
    second = _intervals([3.5, 1.5, 2.5], 0.25, groups=("c", "a", "b"))
    ax = plots.interval_comparison(
        {"no pooling": first, "partial pooling": second}, truth={"a": 1.2, "b": 2.1, "c": 2.9}
    )
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    containers = ax.containers
    assert len(containers) == 2
    x_first, y_first = containers[0].lines[0].get_data()
    x_second, y_second = containers[1].lines[0].get_data()
    assert np.all(np.asarray(x_first) < np.arange(3)) and np.all(
        np.asarray(x_second) > np.arange(3)
    )
    assert np.allclose(y_first, [1.0, 2.0, 3.0]) and np.allclose(y_second, [1.5, 2.5, 3.5])
    segments = containers[1].lines[2][0].get_segments()
    assert np.allclose([s[:, 1] for s in segments], [[1.25, 1.75], [2.25, 2.75], [3.25, 3.75]])
    crosses = ax.collections[-1].get_offsets()
    assert np.allclose(crosses, [[0, 1.2], [1, 2.1], [2, 2.9]])
    labels = ax.get_legend_handles_labels()[1]
    assert set(labels) == {"no pooling", "partial pooling", "true value"}


@pytest.mark.parametrize(
    ("intervals", "name"),
    [
        ({}, "intervals"),
        ({"x": pd.DataFrame({"group": ["a"], "mean": [1.0]})}, "intervals"),
        ({"x": _intervals([1, 2, 3], 0.1), "y": _intervals([1, 2], 0.1, groups=("a", "b"))}, "y"),
    ],
)
def test_interval_comparison_rejects_bad_tables(intervals, name):
    """An empty mapping, a table without the interval columns, or tables with different
    groups raise ValueError naming the offending entry."""
    with pytest.raises(ValueError, match=name):
        plots.interval_comparison(intervals)
