"""Input validation shared by the public functions: every error names the argument."""

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike


def as_finite_array(value: ArrayLike, name: str) -> np.ndarray:
    """Return ``value`` as a non-empty 1-D float array with no NaN or infinity."""
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be an array of numbers, got {value!r}") from error
    if array.ndim == 0:
        array = array[None]
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} must not be empty")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must contain only finite numbers (no NaN or inf)")
    return array


def as_positive_array(value: ArrayLike, name: str) -> np.ndarray:
    """Like :func:`as_finite_array`, and every entry must be strictly positive."""
    array = as_finite_array(value, name)
    if np.any(array <= 0):
        raise ValueError(f"{name} must be strictly positive, got minimum {array.min()!r}")
    return array


def positive_scalar(value: float, name: str, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a finite float that is > 0 (or >= 0 with ``allow_zero``)."""
    if isinstance(value, bool | str | bytes) or not np.isscalar(value):
        raise TypeError(f"{name} must be a number, got {value!r}")
    number = float(value)
    if not np.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return number


def same_length(arrays: Sequence[np.ndarray], names: Sequence[str]) -> None:
    """Raise if the arrays do not share one length (length-1 arrays broadcast)."""
    lengths = {len(a) for a in arrays if len(a) != 1}
    if len(lengths) > 1:
        described = ", ".join(f"{n} has {len(a)}" for n, a in zip(names, arrays, strict=True))
        raise ValueError(f"{' and '.join(names)} must have the same length ({described})")


def finite_scalar(value: float, name: str) -> float:
    """Return ``value`` as a finite float (any sign): a number or a 0-d array, not a string."""
    if isinstance(value, bool | str | bytes) or np.ndim(value) != 0:
        raise TypeError(f"{name} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be a number, got {value!r}") from error
    if not np.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return number


def positive_integer(value: int, name: str) -> int:
    """Return ``value`` as an int >= 1 (integral floats such as 3.0 are refused too)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value!r}")
    return int(value)


def probabilities(value: ArrayLike, name: str) -> np.ndarray:
    """Return ``value`` as a non-empty 1-D float array with every entry in [0, 1]."""
    array = as_finite_array(value, name)
    if np.any((array < 0) | (array > 1)):
        raise ValueError(f"{name} must contain probabilities in [0, 1], got {value!r}")
    return array


def as_count_array(value: ArrayLike, name: str, *, ndim: int) -> np.ndarray:
    """Return ``value`` as a non-empty integer array of counts with ``ndim`` dimensions.

    Counts are whole numbers >= 0: NaN, infinity, negative or fractional entries, booleans,
    strings and arrays of another shape are refused with an error naming ``name``.
    """
    array = np.asarray(value)
    if array.dtype == bool or not (
        np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
    ):
        raise TypeError(f"{name} must be an array of whole numbers, got {value!r}")
    shape_names = {1: "one-dimensional", 2: "two-dimensional (groups x categories)"}
    if array.ndim != ndim:
        expected = shape_names.get(ndim, f"{ndim}-dimensional")
        raise ValueError(f"{name} must be {expected}, got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must contain only finite numbers (no NaN or inf)")
    if np.any(array < 0):
        raise ValueError(f"{name} must be counts >= 0, got minimum {array.min()!r}")
    fractional = array[array != np.round(array)]
    if fractional.size:
        raise ValueError(f"{name} must be whole numbers, got {fractional[0]!r}")
    return array.astype(np.int64)
