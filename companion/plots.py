"""Figures that would otherwise fill chapters with plotting code.

Every function takes ``ax=None`` (or ``axes=None``), draws on what it is given or on a
new figure, returns what it drew, and never calls ``plt.show()``, seeds, or changes
global state.
"""

from collections.abc import Iterable, Mapping, Sequence

import matplotlib.pyplot as plt
import matplotlib.ticker as ticker
import matplotlib.tri as tri
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import is_color_like
from numpy.typing import ArrayLike
from scipy import stats

from companion._checks import (
    as_finite_array,
    as_positive_array,
    finite_scalar,
    positive_integer,
    same_length,
)

__all__ = [
    "POOLING_LABELS",
    "chain_traces",
    "dirichlet_simplex",
    "elpd_by_group",
    "forest",
    "funnel_scatter",
    "interval_comparison",
    "loo_comparison",
    "plate_diagrams",
    "pooling_comparison",
    "shrinkage_arrows",
    "tau_vs_exact",
]

POOLING_LABELS = {
    "complete": "Complete pooling",
    "none": "No pooling",
    "partial": "Partial pooling",
}


def _interval_table(frame: pd.DataFrame, argument: str, *, keys: Sequence[str]) -> pd.DataFrame:
    """Check a table of intervals: the columns ``keys``, ``mean``, ``lower`` and ``upper``,
    at least one row, finite numbers with lower <= mean <= upper, one row per key."""
    columns = [*keys, "mean", "lower", "upper"]
    if not isinstance(frame, pd.DataFrame) or not set(columns) <= set(frame.columns):
        raise ValueError(f"{argument} must be a DataFrame with columns {', '.join(columns)}")
    if frame.empty:
        raise ValueError(f"{argument} must have at least one row")
    try:
        numbers = frame[["mean", "lower", "upper"]].to_numpy(dtype=float)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{argument} columns mean, lower, upper must hold numbers") from error
    if not np.all(np.isfinite(numbers)):
        raise ValueError(f"{argument} columns mean, lower, upper must be finite (no NaN or inf)")
    if np.any(numbers[:, 1] > numbers[:, 0]) or np.any(numbers[:, 0] > numbers[:, 2]):
        raise ValueError(f"{argument} must have lower <= mean <= upper in every row")
    if frame.duplicated(subset=list(keys)).any():
        raise ValueError(f"{argument} must have one row per {' and '.join(keys)}")
    return frame


def _interval_bars(
    ax: Axes,
    position: ArrayLike,
    mean: ArrayLike,
    lower: ArrayLike,
    upper: ArrayLike,
    *,
    horizontal: bool = False,
    **style,
):
    """Draw each mean as a point with a bar from ``lower`` to ``upper``, at ``position`` on
    the other axis (x for vertical bars, y for horizontal ones); return the errorbar
    container. ``style`` goes to :meth:`matplotlib.axes.Axes.errorbar`."""
    mean = np.asarray(mean, dtype=float)
    extent = [mean - np.asarray(lower, dtype=float), np.asarray(upper, dtype=float) - mean]
    if horizontal:
        return ax.errorbar(mean, position, xerr=extent, fmt="o", **style)
    return ax.errorbar(position, mean, yerr=extent, fmt="o", **style)


def _number_series(values, argument: str) -> pd.Series:
    """A mapping or Series of finite numbers as a float Series."""
    if not isinstance(values, Mapping | pd.Series):
        raise TypeError(f"{argument} must be a mapping or Series of numbers, got {values!r}")
    try:
        series = pd.Series(values, dtype=float)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{argument} must map labels to numbers") from error
    if not np.all(np.isfinite(series.to_numpy())):
        raise ValueError(f"{argument} must hold finite numbers (no NaN or inf)")
    return series


def _labels(labels: Sequence[str], argument: str, size: int) -> list[str]:
    """``size`` labels from a sequence (a bare string is refused, not split into letters)."""
    if isinstance(labels, str | bytes | Mapping) or not isinstance(labels, Iterable):
        raise TypeError(f"{argument} must be a sequence of {size} labels, got {labels!r}")
    labels = [str(label) for label in labels]
    if len(labels) != size:
        raise ValueError(f"{argument} must have {size} entries, got {len(labels)}")
    return labels


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
    intervals = _interval_table(intervals, "intervals", keys=["group", "pooling"])
    unknown = set(intervals["pooling"]) - set(POOLING_LABELS)
    if unknown:
        raise ValueError(f"intervals['pooling'] has unknown values {sorted(map(str, unknown))}")
    groups = list(dict.fromkeys(intervals["group"]))
    if observations is not None:
        columns = {"group", "value"}
        if not isinstance(observations, pd.DataFrame) or not columns <= set(observations.columns):
            raise ValueError("observations must be a DataFrame with columns group and value")
        if len(observations):
            as_finite_array(observations["value"], "observations['value']")
        strays = sorted(map(str, set(observations["group"]) - set(groups)))
        if strays:
            raise ValueError(f"observations has groups not in intervals: {strays}")
    if truth is not None:
        true = _number_series(truth, "truth")
    if axes is None:
        _, axes = plt.subplots(1, 3, figsize=(11, 3.8), sharey=True, layout="constrained")
    axes = np.asarray(axes).ravel()
    if axes.size != 3:
        raise ValueError(f"axes must hold three Axes, got {axes.size}")
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
        _interval_bars(
            ax,
            x,
            rows["mean"],
            rows["lower"],
            rows["upper"],
            color="C0",
            capsize=3,
            label="posterior mean and interval",
        )
        if truth is not None:
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
    y, sigma, shrunk = np.broadcast_arrays(y, sigma, shrunk)  # a length-1 entry is shared
    if labels is not None:
        labels = _labels(labels, "labels", len(y))
    if pooled is not None:
        pooled = finite_scalar(pooled, "pooled")
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


def forest(
    intervals: pd.DataFrame,
    *,
    raw: pd.DataFrame | None = None,
    reference: float | None = None,
    prob: float = 0.9,
    ax: Axes | None = None,
) -> Axes:
    """Forest plot: one row per group, posterior interval and mean, raw estimate beside it.

    Parameters
    ----------
    intervals : pandas.DataFrame
        Columns ``group``, ``mean``, ``lower``, ``upper`` (e.g. from
        :func:`companion.diagnostics.posterior_intervals`); the first group is drawn at
        the top.
    raw : pandas.DataFrame, optional
        Raw estimates indexed by group label, with columns ``y`` and ``sigma`` (e.g.
        ``schools.set_index("school")``): drawn as open circles with their central
        ``prob`` Normal interval y +/- z sigma, just below each posterior row.
    reference : float, optional
        A value to mark with a dashed vertical line (e.g. the posterior mean of mu).
    prob : float
        Probability of the raw intervals; match it to that of ``intervals``.
    ax : matplotlib Axes, optional
        Where to draw; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    intervals = _interval_table(intervals, "intervals", keys=["group"])
    prob = finite_scalar(prob, "prob")
    if not 0 < prob < 1:
        raise ValueError(f"prob must be in (0, 1), got {prob!r}")
    if reference is not None:
        reference = finite_scalar(reference, "reference")
    groups = [str(g) for g in intervals["group"]]
    if len(set(groups)) != len(groups):
        raise ValueError("intervals must have one row per group")
    if raw is not None:
        if not isinstance(raw, pd.DataFrame) or not {"y", "sigma"} <= set(raw.columns):
            raise ValueError("raw must be a DataFrame with columns y and sigma, indexed by group")
        index = [str(g) for g in raw.index]
        if len(set(index)) != len(index):
            raise ValueError("raw must have one row per group (its index has duplicates)")
        missing = sorted(set(groups) - set(index))
        if missing:
            raise ValueError(f"raw has no row for the groups {missing}")
        table = raw.set_axis(index).loc[groups]
        as_finite_array(table["y"], "raw['y']")
        as_positive_array(table["sigma"], "raw['sigma']")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.45 * len(groups) + 1.2), layout="constrained")
    rows = np.arange(len(groups))[::-1].astype(float)
    _interval_bars(
        ax,
        rows,
        intervals["mean"],
        intervals["lower"],
        intervals["upper"],
        horizontal=True,
        color="C0",
        elinewidth=2.5,
        capsize=0,
        label=f"posterior mean and {prob:.0%} interval",
    )
    if raw is not None:
        z = stats.norm.ppf(0.5 + prob / 2)
        ax.errorbar(
            table["y"].to_numpy(dtype=float),
            rows - 0.25,
            xerr=z * table["sigma"].to_numpy(dtype=float),
            fmt="o",
            mfc="white",
            color="C1",
            elinewidth=1,
            capsize=2,
            label=f"raw estimate and {prob:.0%} interval",
        )
    if reference is not None:
        ax.axvline(reference, color="0.4", linestyle="--", linewidth=1, label="population mean")
    ax.set_yticks(rows, groups)
    ax.legend(loc="best", fontsize="small")
    return ax


def tau_vs_exact(
    tau_draws: ArrayLike,
    posterior,
    *,
    log_scale: bool = False,
    bins: int = 50,
    label: str = "MCMC draws",
    ax: Axes | None = None,
) -> Axes:
    """Histogram of MCMC draws of tau with the exact posterior density drawn over it.

    Parameters
    ----------
    tau_draws : array_like
        Draws of tau (> 0), e.g. ``idata.posterior["tau"].values.ravel()``.
    posterior : NormalHierarchyPosterior
        The exact posterior (:func:`companion.exact.normal_hierarchy`).
    log_scale : bool
        Plot log(tau) and its density tau * p(tau | y) instead: this shows the region
        of small tau, where a centred sampler falls short.
    bins : int
        Number of histogram bins.
    label : str
        Legend label of the histogram.
    ax : matplotlib Axes, optional
        Where to draw; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    tau = as_positive_array(tau_draws, "tau_draws")
    if not all(callable(getattr(posterior, m, None)) for m in ("tau_density", "quantile")):
        raise TypeError(
            "posterior must be an exact posterior with tau_density and quantile methods"
        )
    bins = positive_integer(bins, "bins")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.8), layout="constrained")
    high = max(float(posterior.quantile(0.999)["tau"]), float(tau.max()))
    if log_scale:
        low = min(float(posterior.quantile(0.001)["tau"]), float(tau.min()))
        grid = np.exp(np.linspace(np.log(low), np.log(high), 400))
        ax.hist(np.log(tau), bins=bins, density=True, color="C0", alpha=0.5, label=label)
        ax.plot(np.log(grid), grid * posterior.tau_density(grid), color="k", label="exact")
        ax.set_xlabel(r"$\log\tau$")
    else:
        grid = np.linspace(0.0, high, 400)
        ax.hist(tau, bins=bins, range=(0.0, high), density=True, color="C0", alpha=0.5, label=label)
        ax.plot(grid, posterior.tau_density(grid), color="k", label="exact")
        ax.set_xlabel(r"$\tau$")
    ax.set_ylabel("density")
    ax.legend(loc="best", fontsize="small")
    return ax


def funnel_scatter(
    x: ArrayLike,
    y: ArrayLike,
    *,
    diverging: ArrayLike | None = None,
    color: str = "C0",
    label: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Scatter of draws, with divergent transitions marked in red on top.

    Used with a group effect on the x axis and the log of its scale on the y axis
    (x_1 against v for Neal's funnel, theta_1 against log tau for a hierarchical
    model), where a centred sampler's divergences gather at the funnel's neck.

    Parameters
    ----------
    x, y : array_like
        Coordinates of the draws (same length).
    diverging : array_like of bool, optional
        Whether each draw ended a divergent transition (e.g.
        ``idata.sample_stats["diverging"].values.ravel()``).
    color : str
        Colour of the ordinary draws.
    label : str, optional
        Legend label of the ordinary draws.
    ax : matplotlib Axes, optional
        Where to draw; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    x = as_finite_array(x, "x")
    y = as_finite_array(y, "y")
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    if not is_color_like(color):
        raise ValueError(f"color must be a matplotlib colour, got {color!r}")
    if diverging is not None:
        flags = np.asarray(diverging)
        if flags.dtype != bool or flags.shape != x.shape:
            raise ValueError(f"diverging must be {len(x)} booleans, one per draw")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4), layout="constrained")
    ax.scatter(x, y, s=4, alpha=0.3, color=color, label=label, rasterized=True)
    if diverging is not None:
        count = int(flags.sum())
        ax.scatter(x[flags], y[flags], s=12, color="C3", label=f"divergent ({count})", zorder=3)
    if label is not None or diverging is not None:
        ax.legend(loc="best", fontsize="small", markerscale=2)
    return ax


def chain_traces(
    draws: Mapping[str, ArrayLike],
    *,
    bins: int = 20,
    band: float = 0.99,
    ylabel: str = "draw",
    axes: np.ndarray | None = None,
) -> np.ndarray:
    """Trace and rank histogram of every chain, one column per fit (the chapter "Neal's funnel").

    The top row traces each chain's draws of one quantity, on a y axis shared across fits.
    The bottom row is a rank plot (Vehtari et al. 2021): all draws of a fit are ranked
    together and each chain's ranks are counted in ``bins`` equal bins. Chains that sample
    the same distribution spread their ranks evenly, around the dotted line; the grey band
    is the range holding a share ``band`` of the counts if the draws were independent
    (Binomial quantiles; autocorrelated chains stray outside it more often).

    Parameters
    ----------
    draws : mapping of str to array_like
        Title of each fit -> its draws of one scalar quantity as a (chain, draw) array of
        finite numbers, e.g. ``np.log(idata.posterior["tau"].values)``.
    bins : int
        Number of rank bins, from 1 to the number of draws in a chain.
    band : float
        Probability in (0, 1) of the grey band.
    ylabel : str
        Label of the traces' y axis.
    axes : array of matplotlib Axes, optional
        A 2 x ``len(draws)`` array to draw on; default a new figure.

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes
        The 2 x ``len(draws)`` axes: traces on top, rank histograms (one ``stairs`` per
        chain) below.

    References
    ----------
    Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021), "Rank-normalization, folding, and
    localization: an improved R-hat", *Bayesian Analysis* 16(2).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> chain_traces({"one fit": rng.normal(size=(4, 200))}).shape
    (2, 1)
    """
    if not isinstance(draws, Mapping) or not draws:
        raise ValueError("draws must be a non-empty mapping of title -> (chain, draw) array")
    arrays = {}
    for title, values in draws.items():
        if not isinstance(title, str):
            raise TypeError(f"draws must have str titles, got {title!r}")
        if isinstance(values, str | bytes):
            raise TypeError(f"draws[{title!r}] must be an array of numbers, got a string")
        try:
            array = np.asarray(values, dtype=float)
        except (TypeError, ValueError) as error:
            raise TypeError(f"draws[{title!r}] must be an array of numbers: {error}") from None
        if array.ndim != 2 or array.shape[0] < 1 or array.shape[1] < 2:
            raise ValueError(
                f"draws[{title!r}] must be a (chain, draw) array with at least 2 draws, "
                f"got shape {array.shape}"
            )
        if not np.isfinite(array).all():
            raise ValueError(f"draws[{title!r}] has NaN or infinite values")
        arrays[title] = array
    bins = positive_integer(bins, "bins")
    fewest = min(array.shape[1] for array in arrays.values())
    if bins > fewest:
        raise ValueError(f"bins must be at most the draws per chain ({fewest}), got {bins}")
    band = finite_scalar(band, "band")
    if not 0 < band < 1:
        raise ValueError(f"band must be in (0, 1), got {band!r}")
    if not isinstance(ylabel, str):
        raise TypeError(f"ylabel must be a string, got {ylabel!r}")
    if axes is None:
        _, axes = plt.subplots(
            2,
            len(arrays),
            figsize=(6 * len(arrays), 6),
            sharey="row",
            layout="constrained",
            squeeze=False,
        )
    axes = np.asarray(axes, dtype=object)
    if axes.shape != (2, len(arrays)):
        raise ValueError(f"axes must be a 2 x {len(arrays)} array of Axes, got {axes.shape}")
    for column, (title, array) in enumerate(arrays.items()):
        chains, n_draws = array.shape
        ranks = stats.rankdata(array, axis=None).reshape(array.shape)
        edges = np.linspace(0.5, array.size + 0.5, bins + 1)
        for chain in range(chains):
            color = f"C{chain % 10}"
            axes[0, column].plot(array[chain], linewidth=0.5, color=color)
            counts, _ = np.histogram(ranks[chain], bins=edges)
            axes[1, column].stairs(counts, edges, color=color)
        low, high = stats.binom.ppf([(1 - band) / 2, (1 + band) / 2], n_draws, 1 / bins)
        axes[1, column].axhspan(low, high, color="0.85", zorder=0)
        axes[1, column].axhline(n_draws / bins, color="k", linestyle=":")
        axes[0, column].set_title(f"{title}: trace per chain")
        axes[1, column].set_title(f"{title}: ranks per chain")
        axes[0, column].set_xlabel("draw")
        axes[1, column].set_xlabel("rank among all draws of the fit")
    axes[0, 0].set_ylabel(ylabel)
    axes[1, 0].set_ylabel("draws per bin")
    return axes


def plate_diagrams(
    models: Mapping[str, object], *, dpi: int = 150, axes: Sequence[Axes] | None = None
) -> np.ndarray:
    """Plate diagrams of PyMC models side by side, one titled panel per model.

    Each panel is ``pm.model_to_graphviz(model)`` rendered by Graphviz (its ``dot``
    program is installed by the course's set-up). Panels are sized in proportion to
    their diagrams, so that the text has the same size in every panel.

    Parameters
    ----------
    models : mapping of str to pymc.Model
        Panel title -> model, in the order to draw them.
    dpi : int
        Resolution at which Graphviz renders the diagrams.
    axes : sequence of matplotlib Axes, optional
        Where to draw, one per model; default a new figure whose panels are sized in
        proportion to the diagrams.

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes
        One axes per model, in the order given, each showing its diagram as an image.

    Examples
    --------
    >>> from companion import models
    >>> axes = plate_diagrams({"Eight Schools": models.eight_schools(schools)})  # doctest: +SKIP
    """
    import io

    if not isinstance(models, Mapping) or not models:
        raise ValueError("models must be a non-empty mapping of title -> pymc.Model")
    dpi = positive_integer(dpi, "dpi")

    import pymc as pm

    images = []
    for title, model in models.items():
        if not isinstance(model, pm.Model):
            raise TypeError(f"models[{title!r}] must be a pymc.Model, got {type(model).__name__}")
        png = pm.model_to_graphviz(model, dpi=dpi).pipe(format="png")
        images.append(plt.imread(io.BytesIO(png)))
    if axes is None:
        width = sum(image.shape[1] for image in images) / dpi
        height = max(image.shape[0] for image in images) / dpi + 0.4  # room for the titles
        _, axes = plt.subplots(
            1,
            len(images),
            figsize=(width, height),
            width_ratios=[image.shape[1] for image in images],
            layout="constrained",
            squeeze=False,
        )
    axes = np.ravel(axes)
    if len(axes) != len(images):
        raise ValueError(f"axes must hold {len(images)} Axes (one per model), got {len(axes)}")
    for ax, title, image in zip(axes, models, images, strict=True):
        ax.imshow(image)
        ax.set_anchor("N")  # diagrams of different heights hang from one line
        ax.set_title(title)
        ax.set_axis_off()
    return axes


def dirichlet_simplex(
    concentration: ArrayLike,
    *,
    labels: Sequence[str] = ("1", "2", "3"),
    resolution: int = 120,
    ax: Axes | None = None,
) -> Axes:
    """Density of a three-category Dirichlet distribution drawn on its triangle.

    Every point of the equilateral triangle is a probability vector (pi_1, pi_2, pi_3):
    the corners are the vectors that put everything on one category, the centre is
    (1/3, 1/3, 1/3). Colours show the density; a cross marks the mean a / sum(a).
    Densities that grow without bound at an edge (a concentration below 1) are
    coloured up to their 98th percentile on the grid, so the interior stays visible.

    Parameters
    ----------
    concentration : array_like
        The three concentrations a_1, a_2, a_3 (> 0).
    labels : sequence of three str
        Category names written at the corners.
    resolution : int
        Number of grid steps along each edge (>= 10).
    ax : matplotlib Axes, optional
        Where to draw; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on (axis lines hidden, equal aspect).
    """
    a = as_positive_array(concentration, "concentration")
    if a.size != 3:
        raise ValueError(f"concentration must have three entries, got {a.size}")
    labels = _labels(labels, "labels", 3)
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 10:
        raise ValueError(f"resolution must be an integer >= 10, got {resolution!r}")
    if ax is None:
        _, ax = plt.subplots(figsize=(3.6, 3.3), layout="constrained")
    corners = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, np.sqrt(3) / 2]])
    steps = np.arange(resolution + 1)
    i, j = (grid.ravel() for grid in np.meshgrid(steps, steps, indexing="ij"))
    inside = i + j <= resolution
    # Grid points a little inside the triangle, where every density is finite.
    margin = 1e-3
    weights = np.column_stack([i[inside], j[inside], resolution - i[inside] - j[inside]])
    weights = margin + (1 - 3 * margin) * weights / resolution
    points = weights @ corners
    density = stats.dirichlet(a).pdf(weights.T)
    ceiling = np.quantile(density, 0.98)
    triangulation = tri.Triangulation(points[:, 0], points[:, 1])
    ax.tricontourf(triangulation, np.minimum(density, ceiling), levels=14, cmap="viridis")
    mean = (a / a.sum()) @ corners
    ax.plot(*mean, marker="x", color="white", markersize=8, markeredgewidth=2)
    ax.plot(*np.vstack([corners, corners[:1]]).T, color="0.2", linewidth=1)
    offsets = [(-0.04, -0.05, "right"), (1.04, -0.05, "left"), (0.5, 0.9, "center")]
    for (x, y, align), label in zip(offsets, labels, strict=True):
        ax.text(x, y, str(label), ha=align, va="center")
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(f"a = ({', '.join(f'{value:g}' for value in a)})")
    return ax


def _model_label(name: str) -> str:
    return POOLING_LABELS.get(name, str(name))


def loo_comparison(table: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Each model's ELPD difference from the best model, with one and two standard errors.

    The companion's version of ``arviz.plot_compare``: models top to bottom from best to
    worst, each drawn at ``elpd_diff`` with a thick bar of +-1 ``dse`` and a thin one of
    +-2 ``dse``, labelled with its stacking weight. A model whose thin bar reaches 0 is
    within two standard errors of the best.

    Parameters
    ----------
    table : pandas.DataFrame
        A comparison from :func:`companion.loo.loo_table` (columns ``elpd_diff``,
        ``dse`` and ``weight``, best model first); index labels ``"complete"``, ``"none"``
        and ``"partial"`` are written out in full.
    ax : matplotlib Axes, optional
        Where to draw; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    required = ["elpd_diff", "dse", "weight"]
    if not isinstance(table, pd.DataFrame) or not set(required) <= set(table.columns):
        raise ValueError(f"table must be a DataFrame with columns {required}")
    if table.empty:
        raise ValueError("table must have at least one row")
    try:
        numbers = table[required].to_numpy(dtype=float)
    except (TypeError, ValueError) as error:
        raise TypeError(f"table columns {required} must hold numbers") from error
    if not np.all(np.isfinite(numbers)):
        raise ValueError(f"table columns {required} must be finite (no NaN or inf)")
    if np.any(numbers[:, 1] < 0) or np.any((numbers[:, 2] < 0) | (numbers[:, 2] > 1)):
        raise ValueError("table must have dse >= 0 and weights in [0, 1]")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.7 * len(table) + 1.2), layout="constrained")
    positions = np.arange(len(table))[::-1]
    diff = table["elpd_diff"].to_numpy(dtype=float)
    dse = table["dse"].to_numpy(dtype=float)
    ax.hlines(positions, diff - 2 * dse, diff + 2 * dse, color="C0", linewidth=1)
    ax.hlines(positions, diff - dse, diff + dse, color="C0", linewidth=4)
    ax.plot(diff, positions, "o", color="C0", markerfacecolor="white", zorder=3)
    ax.axvline(0.0, color="0.4", linestyle="--", linewidth=1)
    labels = [
        f"{_model_label(name)}\n(weight {weight:.2f})"
        for name, weight in zip(table.index, table["weight"], strict=True)
    ]
    ax.set_yticks(positions, labels)
    ax.set_ylim(-0.6, len(table) - 0.4)
    ax.set_xlabel("ELPD difference from the best model")
    return ax


def elpd_by_group(
    differences: pd.DataFrame,
    *,
    sizes: pd.Series | Mapping[str, float] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Each group's summed ELPD difference against a reference model, by group size.

    Parameters
    ----------
    differences : pandas.DataFrame
        Per-group differences from :func:`companion.loo.elpd_differences` with
        ``groups``: one row per group, a column ``n`` and one column per model.
    sizes : pandas.Series or mapping, optional
        Group sizes for the x axis; default the column ``n``.
    ax : matplotlib Axes, optional
        Where to draw; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on: one set of points per model, x on a log scale, a dashed line
        at 0 (the reference model); below it, the model predicted that group worse.
    """
    if not isinstance(differences, pd.DataFrame) or "n" not in differences.columns:
        raise ValueError("differences must be a DataFrame with a column 'n' (per-group sums)")
    models = [column for column in differences.columns if column != "n"]
    if not models:
        raise ValueError("differences must have at least one model column besides 'n'")
    if differences.empty:
        raise ValueError("differences must have at least one row")
    try:
        values = differences[models].to_numpy(dtype=float)
    except (TypeError, ValueError) as error:
        raise TypeError("differences must hold numbers in its model columns") from error
    if not np.all(np.isfinite(values)):
        raise ValueError("differences must be finite (no NaN or inf)")
    if sizes is None:
        x = pd.Series(as_positive_array(differences["n"], "differences['n']"))
    else:
        x = _number_series(sizes, "sizes").reindex(differences.index)
        if x.isna().any():
            raise ValueError("sizes must give a size for every group in differences")
        as_positive_array(x, "sizes")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
    markers = ["o", "s", "^", "D"]
    for k, model in enumerate(models):
        ax.scatter(
            x.to_numpy(),
            differences[model].to_numpy(dtype=float),
            s=22,
            marker=markers[k % len(markers)],
            color=f"C{k + 1}",
            alpha=0.8,
            label=_model_label(model),
        )
    ax.axhline(0.0, color="0.4", linestyle="--", linewidth=1)
    ax.set_xscale("log")
    decades = 10.0 ** np.arange(np.floor(np.log10(x.min())), np.ceil(np.log10(x.max())) + 1)
    ticks = [t for t in np.outer(decades, [1, 2, 5]).ravel() if x.min() <= t <= x.max()]
    ticks = ticks if len(ticks) >= 2 else sorted({float(x.min()), float(x.max())})
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    ax.set_xlabel("observations in the group")
    ax.set_ylabel("summed ELPD difference from the reference")
    ax.legend(loc="best", fontsize="small")
    return ax


def interval_comparison(
    intervals: Mapping[str, pd.DataFrame],
    *,
    truth: Mapping[str, float] | pd.Series | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Several posteriors' means and intervals side by side for every group.

    Parameters
    ----------
    intervals : mapping of str to pandas.DataFrame
        One entry per posterior (e.g. ``{"no pooling": ..., "partial pooling": ...}``),
        in the order they are drawn from left to right within a group; each a
        DataFrame with columns ``group``, ``mean``, ``lower`` and ``upper``, such as
        :func:`companion.diagnostics.posterior_intervals` returns. The groups of the
        first one set the order along the x axis; the others must have the same groups.
    truth : mapping or pandas.Series, optional
        True group values (simulations), drawn as crosses.
    ax : matplotlib Axes, optional
        Where to draw; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    if not isinstance(intervals, Mapping) or not intervals:
        raise ValueError("intervals must be a non-empty mapping of labels to DataFrames")
    frames = list(intervals.values())
    for label, frame in intervals.items():
        argument = f"intervals[{label!r}]"
        _interval_table(frame, argument, keys=["group"])
        if frame["group"].astype(str).duplicated().any():
            raise ValueError(f"{argument} must have one row per group")
    groups = [str(g) for g in frames[0]["group"]]
    for label, frame in intervals.items():
        if sorted(str(g) for g in frame["group"]) != sorted(groups):
            raise ValueError(f"intervals[{label!r}] must have the groups {groups}")
    if truth is not None:
        true = _number_series(truth, "truth")
        true.index = true.index.astype(str)
    if ax is None:
        _, ax = plt.subplots(figsize=(max(5.0, 0.8 * len(groups) + 2), 3.8), layout="constrained")
    width = 0.5 / len(frames)
    for index, (label, frame) in enumerate(intervals.items()):
        table = frame.assign(group=frame["group"].astype(str)).set_index("group").loc[groups]
        x = np.arange(len(groups)) + (index - (len(frames) - 1) / 2) * width
        _interval_bars(
            ax,
            x,
            table["mean"],
            table["lower"],
            table["upper"],
            color=f"C{index}",
            capsize=3,
            label=str(label),
        )
    if truth is not None:
        ax.scatter(
            np.arange(len(groups)),
            true.reindex(groups),
            marker="x",
            color="C3",
            zorder=3,
            label="true value",
        )
    ax.set_xticks(range(len(groups)), groups)
    ax.legend(loc="best", fontsize="small")
    return ax
