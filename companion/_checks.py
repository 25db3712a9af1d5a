"""Input validation shared by the public functions: every error names the argument."""

import numbers
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

# Counts are stored as int64: larger whole numbers would wrap around to negative ones.
_MAX_COUNT = 2**63 - 1


def _as_array(value: ArrayLike, name: str) -> np.ndarray:
    """``value`` as an array, or an error naming ``name`` if it is ragged."""
    try:
        return np.asarray(value)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"{name} must be a rectangular array of numbers (no ragged nesting), got {value!r}"
        ) from error


def _holds_bool(value: ArrayLike, array: np.ndarray) -> bool:
    """Whether a list or tuple read by numpy as numbers had booleans among its entries
    (numpy reads [True, 2.0] as [1.0, 2.0])."""
    if not isinstance(value, list | tuple) or array.dtype.kind not in "iuf":
        return False
    return any(isinstance(v, bool | np.bool_) for v in np.asarray(value, dtype=object).flat)


def as_real_array(
    value: ArrayLike, name: str, *, ndim: int | None = None, allow_bool: bool = False
) -> np.ndarray:
    """Return ``value`` as a non-empty float array of finite real numbers.

    Strings, complex numbers, ``None`` and ragged nesting are refused, booleans too
    unless ``allow_bool`` (an indicator covariate); ``ndim``, if given, is the required
    number of dimensions (0-d input is never promoted here).
    """
    array = _as_array(value, name)
    kinds = "iuf" + ("b" if allow_bool else "")
    if not allow_bool and _holds_bool(value, array):
        raise TypeError(f"{name} must hold real numbers (not booleans), got {value!r}")
    if array.dtype == object:
        flat = array.ravel()
        real = all(isinstance(v, numbers.Real) and not isinstance(v, bool | np.bool_) for v in flat)
        if not real:
            raise TypeError(f"{name} must hold real numbers, got {value!r}")
        try:
            array = array.astype(float)
        except OverflowError as error:
            raise ValueError(f"{name} must contain only finite numbers, got {value!r}") from error
    elif array.dtype.kind not in kinds:
        what = "real numbers" if allow_bool else "real numbers (not booleans)"
        raise TypeError(f"{name} must hold {what}, got dtype {array.dtype}: {value!r}")
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {array.shape}")
    array = array.astype(float)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must contain only finite numbers (no NaN or inf)")
    return array


def as_finite_array(value: ArrayLike, name: str, *, allow_bool: bool = True) -> np.ndarray:
    """Return ``value`` as a non-empty 1-D float array with no NaN or infinity.

    Strings, complex numbers and ragged nesting are refused; booleans are read as 0 and
    1 unless ``allow_bool=False`` (the default keeps indicator covariates working).
    """
    array = as_real_array(value, name, allow_bool=allow_bool)
    if array.ndim == 0:
        array = array[None]
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    return array


def as_positive_array(value: ArrayLike, name: str, *, allow_bool: bool = True) -> np.ndarray:
    """Like :func:`as_finite_array`, and every entry must be strictly positive."""
    array = as_finite_array(value, name, allow_bool=allow_bool)
    if np.any(array <= 0):
        raise ValueError(f"{name} must be strictly positive, got minimum {array.min()!r}")
    return array


def _real_scalar(value: float, name: str) -> float:
    """``value`` as a float: a real number or a 0-d array of one, not bool/str/complex."""
    if (
        isinstance(value, bool | np.bool_ | str | bytes)
        or np.ndim(value) != 0
        or np.iscomplexobj(value)
        or getattr(value, "dtype", np.dtype(float)).kind not in "iuf"
    ):
        raise TypeError(f"{name} must be a number, got {value!r}")
    try:
        return float(value)
    except OverflowError as error:
        raise ValueError(f"{name} must be a finite number, got {value!r}") from error
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be a number, got {value!r}") from error


def positive_scalar(value: float, name: str, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a finite float that is > 0 (or >= 0 with ``allow_zero``)."""
    number = _real_scalar(value, name)
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


def estimates_with_errors(
    y: ArrayLike, errors: ArrayLike, *, names: tuple[str, str] = ("y", "sigma")
) -> tuple[np.ndarray, np.ndarray]:
    """Group estimates (finite real numbers, not booleans) and their standard errors or
    variances (> 0): one per estimate, or one of either shared by all, broadcast to a
    common length (read-only views). ``names`` name the two arguments in errors."""
    y = as_finite_array(y, names[0], allow_bool=False)
    errors = as_positive_array(errors, names[1], allow_bool=False)
    same_length([y, errors], list(names))
    y, errors = np.broadcast_arrays(y, errors)
    return y, errors


def finite_scalar(value: float, name: str) -> float:
    """Return ``value`` as a finite float (any sign): a number or a 0-d array, not a string."""
    number = _real_scalar(value, name)
    if not np.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return number


def positive_integer(value: int, name: str) -> int:
    """Return ``value`` as an int in [1, 2**63) (integral floats such as 3.0 are refused too)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value!r}")
    if value > _MAX_COUNT:
        raise ValueError(f"{name} must be below 2**63, got {value!r}")
    return int(value)


def probabilities(value: ArrayLike, name: str) -> np.ndarray:
    """Return ``value`` as a non-empty 1-D float array with every entry in [0, 1]."""
    array = as_finite_array(value, name, allow_bool=False)
    if np.any((array < 0) | (array > 1)):
        raise ValueError(f"{name} must contain probabilities in [0, 1], got {value!r}")
    return array


def as_count_array(value: ArrayLike, name: str, *, ndim: int) -> np.ndarray:
    """Return ``value`` as a non-empty integer array of counts with ``ndim`` dimensions.

    Counts are whole numbers in [0, 2**63): NaN, infinity, negative, fractional or
    larger entries (which int64 cannot hold), booleans, strings, complex numbers, ragged
    nesting and arrays of another shape are refused with an error naming ``name``.
    """
    array = _as_array(value, name)
    whole = array.dtype == object and all(
        isinstance(v, int) and not isinstance(v, bool) for v in array.flat
    )
    if whole and any(v > _MAX_COUNT for v in array.flat):
        raise ValueError(f"{name} must be counts below 2**63 (int64), got {value!r}")
    if (
        array.dtype == bool
        or _holds_bool(value, array)
        or not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating))
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
    # Compare in the array's own type: a float 2**63 - 1 rounds up to 2**63.
    too_large = array > _MAX_COUNT if array.dtype.kind in "iu" else array >= 2.0**63
    if np.any(too_large):
        raise ValueError(f"{name} must be counts below 2**63 (int64), got maximum {array.max()!r}")
    return array.astype(np.int64)


def random_generator(value: object, name: str) -> np.random.Generator:
    """Return a :class:`numpy.random.Generator` for ``value``: a Generator, returned as it
    is, or a seed for :func:`numpy.random.default_rng`: an int >= 0, a sequence of them, a
    :class:`numpy.random.SeedSequence` or a bit generator.

    None is refused (fresh entropy on every call would make a result irreproducible), and so
    are booleans, floats (even whole ones), strings, legacy ``RandomState`` objects and
    nested sequences, each with an error naming ``name``.
    """
    if isinstance(value, np.random.Generator):
        return value
    if isinstance(value, np.random.SeedSequence | np.random.BitGenerator):
        return np.random.default_rng(value)
    expected = f"{name} must be a numpy.random.Generator, an int seed >= 0 or a sequence of them"
    seed = value.tolist() if isinstance(value, np.ndarray) else value
    entries = list(seed) if isinstance(seed, list | tuple) else [seed]
    for entry in entries:
        if isinstance(entry, bool | np.bool_) or not isinstance(entry, int | np.integer):
            raise TypeError(f"{expected}, got {value!r}")
        if entry < 0:
            raise ValueError(f"{expected}, got {value!r}")
    if isinstance(seed, list | tuple):
        return np.random.default_rng([int(entry) for entry in entries])
    return np.random.default_rng(int(seed))


# ---------------------------------------------------------------------- model settings
# Shared by the PyMC builders (companion.models) and the exact posteriors (companion.exact),
# so that both refuse the same input with the same message.


def normal_hyperpriors(
    mu_prior_mean: float, mu_prior_sd: float, tau_prior_sd: float
) -> tuple[float, float, float]:
    """The settings of mu ~ Normal(mu_prior_mean, mu_prior_sd) and tau ~
    HalfNormal(tau_prior_sd), checked: a finite mean and two finite sds > 0."""
    return (
        finite_scalar(mu_prior_mean, "mu_prior_mean"),
        positive_scalar(mu_prior_sd, "mu_prior_sd"),
        positive_scalar(tau_prior_sd, "tau_prior_sd"),
    )


def frozen_continuous(value: object, name: str) -> object:
    """Return ``value`` if it is a frozen scipy.stats continuous distribution (a prior such
    as ``scipy.stats.halfnorm(scale=10)``), else raise a TypeError naming ``name``."""
    from scipy import stats  # here, so that importing the NumPy-only modules stays light

    if not isinstance(getattr(value, "dist", None), stats.rv_continuous):
        raise TypeError(
            f"{name} must be a frozen scipy.stats continuous distribution, such as "
            f"scipy.stats.halfnorm(scale=10), got {value!r}"
        )
    return value


def exposure_per_count(exposure: ArrayLike, n_counts: int) -> np.ndarray:
    """Exposures e_j > 0, exactly one per count (no broadcasting of a single value)."""
    exposure = as_positive_array(exposure, "exposure", allow_bool=False)
    if exposure.size != n_counts:
        raise ValueError(
            f"exposure must have one entry per count ({n_counts}), got {exposure.size}"
        )
    return exposure


def trials_for(successes: np.ndarray, trials: np.ndarray) -> None:
    """Raise unless ``trials`` (checked counts) has one entry per entry of ``successes``,
    every entry at least 1 and at least the successes of its group."""
    if trials.size != successes.size:
        raise ValueError(
            f"trials must have one entry per entry of successes ({successes.size}), "
            f"got {trials.size}"
        )
    if np.any(trials < 1):
        raise ValueError("trials must be at least 1 for every group")
    if np.any(successes > trials):
        raise ValueError("successes must not exceed trials in any group")
