"""Tests of companion.plots with the Agg backend: what is drawn, where, and on what.

Expected artists are counted from the inputs (one arrow per group, one errorbar container
per panel, ...), and their coordinates are compared with the numbers passed in.
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.container import ErrorbarContainer  # noqa: E402
from matplotlib.text import Annotation  # noqa: E402

from companion.plots import POOLING_LABELS, pooling_comparison, shrinkage_arrows  # noqa: E402

Y = np.array([28.0, 8.0, -3.0, 7.0, -1.0])
SIGMA = np.array([15.0, 10.0, 16.0, 11.0, 9.0])
SHRUNK = np.array([11.0, 7.5, 5.0, 7.2, 5.5])
LABELS = ["A", "B", "C", "D", "E"]


@pytest.fixture(autouse=True)
def no_show_no_global_state(monkeypatch):
    """Fail any test whose code calls plt.show() or changes rcParams; close every figure
    afterwards."""

    def forbidden(*args, **kwargs):
        raise AssertionError("plt.show() must not be called by companion.plots")

    monkeypatch.setattr(plt, "show", forbidden)
    before = dict(matplotlib.rcParams)
    yield
    plt.close("all")
    assert dict(matplotlib.rcParams) == before


def make_intervals() -> pd.DataFrame:
    rows = []
    for k, pooling in enumerate(["complete", "none", "partial"]):
        for j, group in enumerate(["g1", "g2", "g3", "g4"]):
            mean = 10.0 * j + k
            rows.append(
                {
                    "group": group,
                    "pooling": pooling,
                    "mean": mean,
                    "lower": mean - 1.0 - j,
                    "upper": mean + 2.0 + k,
                }
            )
    return pd.DataFrame(rows)


def arrows(ax) -> list[Annotation]:
    return [a for a in ax.texts if isinstance(a, Annotation) and a.arrow_patch is not None]


# ------------------------------------------------------------------ shrinkage arrows


def test_shrinkage_arrows_one_arrow_per_group_from_raw_to_shrunk():
    """One arrow per group, from (0, y_j) to (1, shrunk_j); the axes are returned."""
    ax = shrinkage_arrows(Y, SIGMA, SHRUNK)
    drawn = arrows(ax)
    assert len(drawn) == len(Y)
    starts = sorted(a.xyann for a in drawn)
    ends = sorted(a.xy for a in drawn)
    assert starts == sorted((0, y) for y in Y)
    assert ends == sorted((1, s) for s in SHRUNK)


def test_shrinkage_arrows_marker_area_grows_with_standard_error():
    """The raw-estimate markers sit at (0, y_j) with area proportional to sigma_j**2, the
    largest being 400 points^2; the pooled estimates sit at (1, shrunk_j)."""
    ax = shrinkage_arrows(Y, SIGMA, SHRUNK)
    raw, pooled = ax.collections
    np.testing.assert_allclose(raw.get_offsets(), np.column_stack([np.zeros(5), Y]))
    np.testing.assert_allclose(raw.get_sizes(), 400 * (SIGMA / SIGMA.max()) ** 2)
    np.testing.assert_allclose(pooled.get_offsets(), np.column_stack([np.ones(5), SHRUNK]))


def test_shrinkage_arrows_labels_and_pooled_line_on_given_ax():
    """On a given ax: the same ax comes back, each label is written at its raw estimate,
    and the complete-pooling estimate is one horizontal line at its value."""
    fig, ax = plt.subplots()
    returned = shrinkage_arrows(Y, SIGMA, SHRUNK, labels=LABELS, pooled=7.7, ax=ax)
    assert returned is ax
    assert plt.gcf() is fig and len(plt.get_fignums()) == 1  # no extra figure
    texts = [a for a in ax.texts if a.arrow_patch is None]
    assert sorted((t.get_text(), t.xy) for t in texts) == sorted(
        (label, (0, y)) for label, y in zip(LABELS, Y, strict=True)
    )
    assert len(arrows(ax)) == len(Y)
    assert len(ax.lines) == 1
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [7.7, 7.7])


@pytest.mark.parametrize(
    ("args", "kwargs", "argument"),
    [
        ((Y, SIGMA[:4], SHRUNK), {}, "sigma"),
        ((Y, SIGMA, SHRUNK[:3]), {}, "shrunk"),
        ((Y, np.where(SIGMA == 9.0, 0.0, SIGMA), SHRUNK), {}, "^sigma"),
        ((Y, -SIGMA, SHRUNK), {}, "^sigma"),
        ((np.where(Y == 8.0, np.nan, Y), SIGMA, SHRUNK), {}, "^y"),
        ((Y, SIGMA, SHRUNK), {"labels": LABELS[:3]}, "^labels"),
    ],
)
def test_shrinkage_arrows_rejects_bad_input(args, kwargs, argument):
    """Mismatched lengths, non-positive or NaN values and the wrong number of labels raise
    ValueError naming the argument, before anything is drawn."""
    with pytest.raises(ValueError, match=argument):
        shrinkage_arrows(*args, **kwargs)


# ------------------------------------------------------------------ pooling comparison


def test_pooling_comparison_three_titled_panels_with_errorbars():
    """Three panels titled complete / no / partial pooling, each with exactly one errorbar
    container whose points and bars are that pooling's means and intervals."""
    intervals = make_intervals()
    axes = pooling_comparison(intervals)
    assert len(axes) == 3
    assert [ax.get_title() for ax in axes] == [
        POOLING_LABELS["complete"],
        POOLING_LABELS["none"],
        POOLING_LABELS["partial"],
    ]
    assert [ax.get_title() for ax in axes] == [
        "Complete pooling",
        "No pooling",
        "Partial pooling",
    ]
    for ax, pooling in zip(axes, ["complete", "none", "partial"], strict=True):
        containers = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
        assert len(containers) == 1
        rows = intervals[intervals["pooling"] == pooling]
        data_line, _, bar_collections = containers[0].lines
        np.testing.assert_allclose(data_line.get_ydata().astype(float), rows["mean"])
        segments = np.array(bar_collections[0].get_segments())
        np.testing.assert_allclose(segments[:, 0, 1], rows["lower"])
        np.testing.assert_allclose(segments[:, 1, 1], rows["upper"])
        assert [t.get_text() for t in ax.get_xticklabels()] == ["g1", "g2", "g3", "g4"]


def test_pooling_comparison_observations_and_truth():
    """Observations add one faint scatter per group and truth one cross per group in each
    panel, the crosses at the true values."""
    intervals = make_intervals()
    observations = pd.DataFrame(
        {"group": ["g1", "g1", "g2", "g3", "g3", "g3", "g4"], "value": np.arange(7.0)}
    )
    truth = {"g1": 0.5, "g2": 9.0, "g3": 21.0, "g4": 30.0}
    axes = pooling_comparison(intervals, observations=observations, truth=truth)
    for ax in axes:
        # 4 observation scatters + 1 truth scatter (errorbar draws lines, not collections of
        # PathCollection type).
        scatters = [c for c in ax.collections if type(c).__name__ == "PathCollection"]
        assert len(scatters) == 5
        np.testing.assert_allclose(scatters[-1].get_offsets()[:, 1], list(truth.values()))
        np.testing.assert_allclose(
            np.sort(np.concatenate([s.get_offsets()[:, 1] for s in scatters[:4]])), np.arange(7.0)
        )


def test_pooling_comparison_draws_on_given_axes():
    """Given three axes, it draws on them (in order) and returns them, adding no figure."""
    fig, given = plt.subplots(1, 3)
    axes = pooling_comparison(make_intervals(), axes=given)
    assert list(axes) == list(given)
    assert len(plt.get_fignums()) == 1
    assert all(len(ax.containers) == 1 for ax in given)
    assert given[2].get_title() == "Partial pooling"


def test_pooling_comparison_rejects_bad_input():
    """Missing columns, unknown pooling names, a non-DataFrame and the wrong number of axes
    raise ValueError naming the argument."""
    intervals = make_intervals()
    with pytest.raises(ValueError, match="^intervals"):
        pooling_comparison(intervals.drop(columns="upper"))
    with pytest.raises(ValueError, match="^intervals"):
        pooling_comparison(intervals.to_dict())
    with pytest.raises(ValueError, match="^intervals"):
        pooling_comparison(intervals.replace({"pooling": {"none": "no"}}))
    _, two = plt.subplots(1, 2)
    with pytest.raises(ValueError, match="^axes"):
        pooling_comparison(intervals, axes=two)


def test_plate_diagrams_one_titled_panel_per_model_scaled_to_its_diagram():
    """plate_diagrams draws each model's rendered diagram in a panel titled by its key;
    the partial-pooling model (mu, tau, theta, sigma, y) gets a wider panel than the
    complete-pooling one (mu, sigma, y), since panels keep the diagrams' scale."""
    from companion import models
    from companion.plots import plate_diagrams

    values, groups = [61.0, 70.0, 75.0, 64.0], ["a", "b", "b", "c"]
    built = {
        title: models.grouped_observations(values, groups, pooling=pooling)
        for title, pooling in [("complete", "complete"), ("partial", "partial")]
    }
    axes = plate_diagrams(built)
    assert [ax.get_title() for ax in axes] == ["complete", "partial"]
    images = [ax.get_images() for ax in axes]
    assert all(len(image) == 1 for image in images)
    arrays = [image[0].get_array() for image in images]
    assert all(array.min() < 0.5 for array in arrays)  # dark text and edges were drawn
    assert arrays[1].shape[1] > arrays[0].shape[1]
    assert axes[1].get_position().width > axes[0].get_position().width


def test_plate_diagrams_rejects_bad_input():
    """An empty mapping, a value that is not a PyMC model (named by its key) or a wrong
    number of axes is refused."""
    from companion import models
    from companion.plots import plate_diagrams

    with pytest.raises(ValueError, match="models"):
        plate_diagrams({})
    with pytest.raises(TypeError, match="'x'"):
        plate_diagrams({"x": object()})
    _, given = plt.subplots(1, 3)
    with pytest.raises(ValueError, match="axes"):
        plate_diagrams({"one": models.grouped_observations([1.0, 2.0], ["a", "b"])}, axes=given)
