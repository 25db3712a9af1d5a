"""Figures that would otherwise fill chapters with plotting code.

Every function takes ``ax=None`` (or ``axes=None``), draws on what it is given or on a
new figure, returns what it drew, and never calls ``plt.show()``, seeds, or changes
global state.
"""

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from numpy.typing import ArrayLike

from companion._checks import as_finite_array, as_positive_array, same_length

__all__ = ["POOLING_LABELS", "pooling_comparison", "shrinkage_arrows"]

POOLING_LABELS = {
    "complete": "Complete pooling",
    "none": "No pooling",
    "partial": "Partial pooling",
}
_COLUMNS = {"group", "pooling", "mean", "lower", "upper"}


def pooling_comparison(
    intervals: pd.DataFrame,
    *,
    observations: pd.DataFrame | None = None,
    truth: Mapping[str, float] | pd.Series | None = None,
    axes: Sequence[Axes] | None = None,
) -> np.ndarray:
    """Three panels, one per pooling strategy, of each group's estimate and interval.

    Parameters
    ----------
    intervals : pandas.DataFrame
        Columns ``group``, ``pooling`` (``"complete"``, ``"none"``, ``"partial"``),
        ``mean``, ``lower``, ``upper``: e.g. stacked outputs of
        :func:`companion.diagnostics.posterior_intervals`.
    observations : pandas.DataFrame, optional
        Raw data with columns ``group`` and ``value``, drawn as faint dots.
    truth : mapping or pandas.Series, optional
        True group means (simulations), drawn as crosses.
    axes : sequence of three matplotlib Axes, optional
        Where to draw; default a new 1 x 3 figure with a shared y axis.

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes
        The three panels, in the order complete, none, partial.
    """
    if not isinstance(intervals, pd.DataFrame) or not _COLUMNS <= set(intervals.columns):
        raise ValueError(f"intervals must be a DataFrame with columns {sorted(_COLUMNS)}")
    unknown = set(intervals["pooling"]) - set(POOLING_LABELS)
    if unknown:
        raise ValueError(f"intervals['pooling'] has unknown values {sorted(unknown)}")
    if axes is None:
        _, axes = plt.subplots(1, 3, figsize=(11, 3.8), sharey=True, layout="constrained")
    axes = np.asarray(axes).ravel()
    if axes.size != 3:
        raise ValueError(f"axes must hold three Axes, got {axes.size}")
    groups = list(dict.fromkeys(intervals["group"]))
    position = {g: i for i, g in enumerate(groups)}
    for ax, pooling in zip(axes, POOLING_LABELS, strict=True):
        if observations is not None:
            for group, values in observations.groupby("group", sort=False)["value"]:
                spread = np.linspace(-0.08, 0.08, len(values))
                ax.scatter(
                    position[group] + 0.2 + spread,
                    values,
                    s=6,
                    color="0.6",
                    alpha=0.6,
                    label="observations" if group == groups[0] else None,
                )
        rows = intervals[intervals["pooling"] == pooling]
        x = rows["group"].map(position).to_numpy(dtype=float) - 0.1
        ax.errorbar(
            x,
            rows["mean"],
            yerr=[rows["mean"] - rows["lower"], rows["upper"] - rows["mean"]],
            fmt="o",
            color="C0",
            capsize=3,
            label="posterior mean and interval",
        )
        if truth is not None:
            true = pd.Series(truth)
            ax.scatter(
                [position[g] - 0.1 for g in groups],
                true.reindex(groups),
                marker="x",
                color="C3",
                zorder=3,
                label="true mean",
            )
        ax.set_title(POOLING_LABELS[pooling])
        ax.set_xticks(range(len(groups)), groups)
        ax.set_xlabel("group")
    axes[0].legend(loc="best", fontsize="small")
    return axes


def shrinkage_arrows(
    y: ArrayLike,
    sigma: ArrayLike,
    shrunk: ArrayLike,
    *,
    labels: Sequence[str] | None = None,
    pooled: float | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Arrows from each group's raw estimate to its partially pooled estimate.

    Raw estimates sit on the left (no pooling), pooled ones on the right; each
    marker's area grows with the group's standard error, so the longest arrows
    should start from the largest markers.

    Parameters
    ----------
    y : array_like
        Raw (no-pooling) estimates.
    sigma : array_like
        Their standard errors (> 0), setting the marker sizes.
    shrunk : array_like
        Partially pooled estimates (e.g. posterior means of theta).
    labels : sequence of str, optional
        Group names written beside the raw estimates.
    pooled : float, optional
        The complete-pooling estimate, drawn as a dashed line.
    ax : matplotlib Axes, optional
        Where to draw; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    y = as_finite_array(y, "y")
    sigma = as_positive_array(sigma, "sigma")
    shrunk = as_finite_array(shrunk, "shrunk")
    same_length([y, sigma, shrunk], ["y", "sigma", "shrunk"])
    if labels is not None and len(labels) != len(y):
        raise ValueError(f"labels must have one entry per group ({len(y)}), got {len(labels)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4.5), layout="constrained")
    sizes = 400 * (sigma / sigma.max()) ** 2
    for j in range(len(y)):
        ax.annotate(
            "",
            xy=(1, shrunk[j]),
            xytext=(0, y[j]),
            arrowprops={"arrowstyle": "->", "color": "C0", "alpha": 0.7},
        )
    ax.scatter(np.zeros_like(y), y, s=sizes, color="C1", alpha=0.6, label="raw estimate (size: se)")
    ax.scatter(np.ones_like(shrunk), shrunk, s=25, color="C0", label="partially pooled")
    if labels is not None:
        for label, value in zip(labels, y, strict=True):
            ax.annotate(
                str(label),
                (0, value),
                xytext=(-14, 0),
                textcoords="offset points",
                ha="right",
                va="center",
            )
    if pooled is not None:
        ax.axhline(pooled, color="0.3", linestyle="--", linewidth=1, label="complete pooling")
    ax.set_xticks([0, 1], ["no pooling", "partial pooling"])
    ax.set_xlim(-0.5, 1.3)
    ax.legend(loc="best", fontsize="small")
    return ax
