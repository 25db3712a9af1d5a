"""Tests of companion.plots.chain_traces: traces and rank histograms per chain (Agg).

Expected counts come from ranks computed another way (a double argsort, which gives the
same ordinal ranks as average ranks when no two draws tie), never from the plotted code.
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import StepPatch  # noqa: E402

from companion.plots import chain_traces  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    """Close every figure after each test."""
    yield
    plt.close("all")


def _stairs(ax) -> list[StepPatch]:
    return [patch for patch in ax.patches if isinstance(patch, StepPatch)]


def test_one_trace_and_one_rank_histogram_per_chain():
    """Each fit gets a column: its top axes trace every chain's draws (in order, unchanged),
    its bottom axes count every chain's ranks among all the fit's draws, bin by bin."""
    rng = np.random.default_rng(1)
    fits = {"a": rng.normal(size=(4, 300)), "b": rng.normal(2.0, 3.0, size=(3, 300))}
    axes = chain_traces(fits, bins=10)
    assert axes.shape == (2, 2)
    for column, draws in enumerate(fits.values()):
        lines = axes[0, column].get_lines()
        assert len(lines) == draws.shape[0]
        for line, chain in zip(lines, draws, strict=True):
            np.testing.assert_array_equal(line.get_ydata(), chain)
        ranks = np.argsort(np.argsort(draws, axis=None)).reshape(draws.shape) + 1
        stairs = _stairs(axes[1, column])
        assert len(stairs) == draws.shape[0]
        for patch, chain_ranks in zip(stairs, ranks, strict=True):
            values, edges, _ = patch.get_data()
            expected, _ = np.histogram(chain_ranks, bins=edges)
            np.testing.assert_array_equal(values, expected)
            assert values.sum() == draws.shape[1]
            assert len(values) == 10


def test_a_chain_stuck_apart_piles_up_its_ranks():
    """A chain shifted far above the others holds all the top ranks: its histogram is empty
    in the lower bins and full in the upper ones, while a well-mixed fit's are spread."""
    rng = np.random.default_rng(2)
    draws = rng.normal(size=(4, 200))
    draws[0] += 100.0
    axes = chain_traces({"shifted": draws}, bins=4)
    values, _, _ = _stairs(axes[1, 0])[0].get_data()
    np.testing.assert_array_equal(values, [0, 0, 0, 200])


def test_band_holds_about_its_share_of_counts_for_independent_draws():
    """For independent draws, the grey band holds at least its share of the counts up to
    sampling error (99% band, 40 chains x 20 bins: fewer than 97% inside would happen by
    chance with probability below 1e-4)."""
    rng = np.random.default_rng(3)
    axes = chain_traces({"iid": rng.normal(size=(40, 400))}, bins=20, band=0.99)
    (band,) = [p for p in axes[1, 0].patches if not isinstance(p, StepPatch)]
    y_low, y_high = band.get_y(), band.get_y() + band.get_height()
    counts = np.concatenate([patch.get_data()[0] for patch in _stairs(axes[1, 0])])
    inside = np.mean((counts >= y_low - 1e-9) & (counts <= y_high + 1e-9))
    assert inside >= 0.97
    assert y_low < 400 / 20 < y_high


def test_draws_on_given_axes():
    """Given a 2 x n array of Axes, it draws there and returns them."""
    fig, given = plt.subplots(2, 1, squeeze=False)
    axes = chain_traces({"a": np.arange(20.0).reshape(2, 10)}, bins=5, axes=given)
    assert axes[0, 0] is given[0, 0] and axes[1, 0] is given[1, 0]


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "argument"),
    [
        ({}, {}, ValueError, "draws"),
        ([[1.0, 2.0]], {}, ValueError, "draws"),
        ({"a": np.ones(5)}, {}, ValueError, "draws"),
        ({"a": np.ones((2, 1))}, {}, ValueError, "draws"),
        ({"a": np.array([[1.0, np.nan], [0.0, 1.0]])}, {}, ValueError, "draws"),
        ({"a": "12"}, {}, TypeError, "draws"),
        ({1: np.ones((2, 5))}, {}, TypeError, "draws"),
        ({"a": np.ones((2, 5))}, {"bins": 0}, ValueError, "bins"),
        ({"a": np.ones((2, 5))}, {"bins": 6}, ValueError, "bins"),
        ({"a": np.ones((2, 5))}, {"bins": 2.0}, TypeError, "bins"),
        ({"a": np.ones((2, 5))}, {"bins": 2, "band": 1.0}, ValueError, "band"),
        ({"a": np.ones((2, 5))}, {"bins": 2, "band": "0.9"}, TypeError, "band"),
        ({"a": np.ones((2, 5))}, {"bins": 2, "ylabel": 3}, TypeError, "ylabel"),
    ],
)
def test_rejects_bad_input(args, kwargs, error, argument):
    """Bad draws, bins, band or ylabel raise an error naming the argument."""
    with pytest.raises(error, match=argument):
        chain_traces(args, **kwargs)


def test_rejects_axes_of_the_wrong_shape():
    """Axes that are not 2 x (number of fits) are refused, naming axes."""
    _, given = plt.subplots(1, 2)
    with pytest.raises(ValueError, match="axes"):
        chain_traces({"a": np.ones((2, 5))}, bins=2, axes=given)
