"""What several exact families share: memoization, Normal mixtures, a monotone solver.

Package-internal (:mod:`companion.exact` re-exports the public names of its family
modules); nothing here is part of the course's public API.
"""

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import special

LOG_CUTOFF = 40.0
"""Integrands below exp(-LOG_CUTOFF) times their peak are dropped."""

_MEMO_SIZE = 32


def fingerprint(value: Any) -> Any:
    """A hashable stand-in for an argument, or ``TypeError`` when there is none."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, tuple | list):
        return (type(value).__name__, tuple(fingerprint(item) for item in value))
    if hasattr(value, "dist") and hasattr(value, "args") and hasattr(value, "kwds"):
        kwds = tuple(sorted((k, fingerprint(v)) for k, v in value.kwds.items()))
        return ("frozen", value.dist.name, fingerprint(tuple(value.args)), kwds)
    if type(value).__module__.startswith("pandas"):
        labels = [getattr(value, name, None) for name in ("index", "columns", "name")]
        return ("pandas", fingerprint(value.to_numpy()), repr(labels))
    if isinstance(value, np.ndarray | np.generic):
        array = np.asarray(value)
        if array.dtype.kind == "O":
            raise TypeError("object arrays have no fingerprint")
        return ("array", array.dtype.str, array.shape, array.tobytes())
    raise TypeError(f"no fingerprint for {type(value).__name__}")


def memoized(function: Callable) -> Callable:
    """Remember the last results of an exact computation for the same arguments.

    The result objects are shared between callers: treat them as read-only.
    """
    results: dict[Any, Any] = {}

    @functools.wraps(function)
    def remembering(*args, **kwargs):
        try:
            key = fingerprint((args, tuple(sorted(kwargs.items()))))
        except TypeError:
            return function(*args, **kwargs)
        if key not in results:
            if len(results) >= _MEMO_SIZE:
                results.pop(next(iter(results)))
            results[key] = function(*args, **kwargs)
        return results[key]

    return remembering


def random_generator(rng: np.random.Generator | int) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, bool) or not isinstance(rng, int | np.integer):
        raise TypeError(f"rng must be a numpy.random.Generator or an int seed, got {rng!r}")
    if rng < 0:
        raise ValueError(f"rng must be a numpy.random.Generator or an int seed >= 0, got {rng!r}")
    return np.random.default_rng(int(rng))


def normal_mixture_cdf(
    x: np.ndarray, means: np.ndarray, sds: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """CDF and density at x[i] of the mixture sum_k weights[k] Normal(means[i, k], sds[i, k])."""
    z = (x - means) / sds
    return special.ndtr(z) @ weights, (np.exp(-0.5 * z**2) / sds) @ weights / np.sqrt(2 * np.pi)


def normal_mixture_quantile(
    q: np.ndarray, means: np.ndarray, sds: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """Quantiles q[i] of the Normal mixtures with component means[i] and sds[i] (rows broadcast).

    The quantile lies between the smallest and largest component quantiles, which
    bracket the safeguarded Newton search.
    """
    means = np.broadcast_to(means, (q.size, weights.size))
    sds = np.broadcast_to(sds, (q.size, weights.size))
    result = np.where(q <= 0, -np.inf, np.inf)
    interior = np.flatnonzero((q > 0) & (q < 1))
    if interior.size:
        z = special.ndtri(q[interior])[:, None]
        component = means[interior] + sds[interior] * z
        low, high = component.min(axis=1), component.max(axis=1)
        start = (component * weights).sum(axis=1)
        result[interior] = solve_increasing(
            lambda x, index: normal_mixture_cdf(
                x[:, None], means[interior[index]], sds[interior[index]], weights
            ),
            q[interior],
            low,
            high,
            np.clip(start, low, high),
        )
    return result


def solve_increasing(
    function: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
    target: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    start: np.ndarray,
    *,
    max_iterations: int = 200,
) -> np.ndarray:
    """Solve function(x) = target elementwise for an increasing function on a bracket.

    ``function(x, index)`` returns the values and slopes at ``x`` for the problems
    ``index``. Newton steps that leave the current bracket are replaced by bisection.
    """
    x = start.astype(float).copy()
    low, high = lower.astype(float).copy(), upper.astype(float).copy()
    tolerance = 1e-14 * np.minimum(target, 1.0 - target) + 1e-300
    active = np.arange(x.size)
    for _ in range(max_iterations):
        if active.size == 0:
            break
        value, slope = function(x[active], active)
        residual = value - target[active]
        below = residual < 0
        low[active] = np.where(below, x[active], low[active])
        high[active] = np.where(below, high[active], x[active])
        with np.errstate(divide="ignore", invalid="ignore"):
            step = x[active] - residual / slope
        outside = ~np.isfinite(step) | (step <= low[active]) | (step >= high[active])
        step = np.where(outside, 0.5 * (low[active] + high[active]), step)
        width = high[active] - low[active]
        scale = np.maximum(np.abs(low[active]), np.abs(high[active]))
        done = (np.abs(residual) <= tolerance[active]) | (width <= 4e-16 * scale + 1e-300)
        x[active] = np.where(done, x[active], step)
        active = active[~done]
    return x


def read_only(array: np.ndarray) -> np.ndarray:
    array = np.asarray(array, dtype=float)
    array.setflags(write=False)
    return array
