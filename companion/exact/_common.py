"""What several exact families share: the result interface, memoization, quadrature sums.

Package-internal: :mod:`companion.exact` re-exports the public names of its family modules
and the interface :class:`ExactPosterior` (with :class:`HasQuantiles`, :class:`HasDraws`
and :class:`HasExpectations`); the helpers below it are not part of the course's API.
"""

import functools
from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike
from scipy import special


@runtime_checkable
class ExactPosterior(Protocol):
    """What every exact posterior of :mod:`companion.exact` offers: ``mean`` and ``sd``.

    Both are read-only mappings from a parameter's name (``"mu"``, ``"tau"``, ``"theta"``,
    ``"pi"``, ...) to its marginal posterior mean or standard deviation: a Python
    ``float`` for a scalar parameter, a read-only float array of the parameter's shape
    (groups, or groups x categories) otherwise. A moment that does not exist is ``inf``.
    :func:`companion.diagnostics.compare_to_exact` reads ``mean``.

    The families add what they can compute exactly, with the same signatures and return
    conventions everywhere: :class:`HasQuantiles` (``quantile``), :class:`HasDraws`
    (``sample``) and :class:`HasExpectations` (``expect``).

    ============================  ==========  ========  ======
    class                         quantile    sample    expect
    ============================  ==========  ========  ======
    NormalHierarchyPosterior      yes         yes       yes
    ConjugatePosterior (and its   yes         yes       no
    Dirichlet and Gamma kinds)
    LinkNormalHierarchyPosterior  no          no        yes
    DirichletHierarchyPosterior   no          no        yes
    ============================  ==========  ========  ======
    """

    @property
    def mean(self) -> Mapping[str, float | np.ndarray]: ...

    @property
    def sd(self) -> Mapping[str, float | np.ndarray]: ...


@runtime_checkable
class HasQuantiles(ExactPosterior, Protocol):
    """An exact posterior with marginal quantiles.

    ``quantile(q)`` takes probabilities in [0, 1] and returns a read-only mapping with the
    keys of ``mean``: for a scalar ``q`` each entry has the shape of ``mean``'s (a float
    for a scalar parameter); for a 1-D ``q`` it gains a leading axis, ``(len(q), *shape)``.
    """

    def quantile(self, q: float | ArrayLike) -> Mapping[str, float | np.ndarray]: ...


@runtime_checkable
class HasDraws(ExactPosterior, Protocol):
    """An exact posterior that gives independent draws from the joint posterior.

    ``sample(n, rng=...)`` takes a number of draws and a :class:`numpy.random.Generator`
    or a seed, and returns a new ``dict`` from parameter names to arrays of shape
    ``(n, *shape)``.
    """

    def sample(self, n: int, *, rng: np.random.Generator | int) -> dict[str, np.ndarray]: ...


@runtime_checkable
class HasExpectations(ExactPosterior, Protocol):
    """An exact posterior that integrates functions of its hyperparameters.

    ``expect(function)`` returns E[f(hyperparameters) | y], with ``function`` evaluated on
    arrays of quadrature points (the family documents its arguments, e.g. ``(mu, tau)``
    or ``(alpha, pi0)``): a ``float`` when the function gives one number per point, an
    array of the remaining shape when it gives more (for instance one per category).
    """

    def expect(self, function: Callable[..., ArrayLike]) -> float | np.ndarray: ...


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


def expectation(weights: np.ndarray, values: ArrayLike) -> float | np.ndarray:
    """Sum of ``weights * values`` over the quadrature points, the axes of ``weights``.

    ``values`` holds a function's values at the points, shaped like ``weights`` (or
    broadcasting to it) for a scalar function, which gives a ``float``; or with the
    points' axes first and more after them, which gives an array of those trailing axes.
    """
    try:
        values = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as error:
        raise TypeError("function must return numbers") from error
    if values.ndim <= weights.ndim:
        return float(np.sum(weights * values))
    if values.shape[: weights.ndim] != weights.shape:
        raise ValueError(
            f"function must return one value (or one array) per quadrature point: expected "
            f"a leading shape {weights.shape}, got {values.shape}"
        )
    return np.tensordot(weights, values, axes=weights.ndim)
