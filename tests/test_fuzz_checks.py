"""Fuzz tests of the shared validators in companion._checks: every refusal names the
argument, and valid input comes back as the promised float or int64 array."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from companion import _checks

# companion._checks is private: it declares no public names for the coverage test,
# and lists the helpers it exercises separately.
COVERED = set()
HELPERS = {
    "_checks.as_real_array",
    "_checks.as_finite_array",
    "_checks.as_positive_array",
    "_checks.positive_scalar",
    "_checks.finite_scalar",
    "_checks.positive_integer",
    "_checks.same_length",
    "_checks.probabilities",
    "_checks.as_count_array",
    "_checks.random_generator",
    "_checks.normal_hyperpriors",
    "_checks.frozen_continuous",
    "_checks.exposure_per_count",
    "_checks.trials_for",
    "_checks.estimates_with_errors",
}

FAST = settings(max_examples=60, deadline=None, derandomize=True)
NOT_NUMBERS = ["1.0", b"1", True, np.True_, 1 + 2j, None, object()]


@FAST
@given(hnp.arrays(np.float64, st.integers(1, 20), elements=st.floats(-1e300, 1e300)))
def test_finite_arrays_round_trip(values):
    """Finite 1-D float arrays come back equal, as float arrays."""
    np.testing.assert_array_equal(_checks.as_finite_array(values, "x"), values)
    np.testing.assert_array_equal(_checks.as_finite_array(list(values), "x"), values)


@FAST
@given(st.lists(st.floats(-10, 10), min_size=1, max_size=5), st.data())
def test_poisoned_arrays_are_refused_naming_the_argument(values, data):
    """One NaN, inf, string, bool, complex or None entry anywhere is refused."""
    position = data.draw(st.integers(0, len(values) - 1))
    values[position] = data.draw(st.sampled_from([math.nan, math.inf, -math.inf, *NOT_NUMBERS]))
    with pytest.raises((ValueError, TypeError), match="my_arg"):
        _checks.as_finite_array(values, "my_arg", allow_bool=False)


@pytest.mark.parametrize(
    "value", [[], [[1.0], [1.0, 2.0]], [[1.0, 2.0]] * 2, np.zeros((2, 2)), "abc", [10**400]]
)
def test_bad_shapes_are_refused(value):
    """Empty, ragged, 2-D, string and overflowing input is refused naming the argument."""
    with pytest.raises((ValueError, TypeError), match="my_arg"):
        _checks.as_finite_array(value, "my_arg")


def test_booleans_are_allowed_only_on_request():
    """Indicator covariates may be booleans (the default, kept for models); the
    numerical arguments of the core modules pass allow_bool=False."""
    np.testing.assert_array_equal(_checks.as_finite_array([True, False], "x"), [1.0, 0.0])
    with pytest.raises(TypeError, match="x"):
        _checks.as_finite_array([True, 2.0], "x", allow_bool=False)


@FAST
@given(st.one_of(st.floats(allow_nan=True), st.sampled_from(NOT_NUMBERS), st.integers()))
def test_scalars(value):
    """positive_scalar and finite_scalar accept exactly the finite real numbers (> 0 for
    positive_scalar) and name the argument otherwise."""
    real = isinstance(value, int | float) and not isinstance(value, bool)
    if real and math.isfinite(value):
        assert _checks.finite_scalar(value, "s") == float(value)
    else:
        with pytest.raises((ValueError, TypeError), match="s must be"):
            _checks.finite_scalar(value, "s")
    if real and math.isfinite(value) and value > 0:
        assert _checks.positive_scalar(value, "s") == float(value)
    else:
        with pytest.raises((ValueError, TypeError), match="s must be"):
            _checks.positive_scalar(value, "s")


@FAST
@given(st.one_of(st.integers(-5, 2**64), st.floats(), st.sampled_from(NOT_NUMBERS)))
def test_positive_integer(value):
    """Integers in [1, 2**63) are accepted; anything else is refused by name."""
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value < 2**63:
        assert _checks.positive_integer(value, "n") == value
    else:
        with pytest.raises((ValueError, TypeError), match="n must be"):
            _checks.positive_integer(value, "n")


@FAST
@given(st.lists(st.integers(0, 2**64), min_size=1, max_size=5))
def test_counts_never_wrap(values):
    """Counts below 2**63 come back exactly as int64; larger ones are refused by name
    (they used to wrap around to negative numbers)."""
    if max(values) < 2**63:
        assert _checks.as_count_array(values, "counts", ndim=1).tolist() == values
    else:
        with pytest.raises(ValueError, match="counts must be counts below 2"):
            _checks.as_count_array(values, "counts", ndim=1)


@pytest.mark.parametrize(
    "value", [[-1], [1.5], [True, 2], [1j], ["1"], [math.nan], [[1], [1, 2]], [], [[1]], [2.0**63]]
)
def test_bad_counts_are_refused(value):
    """Negative, fractional, boolean, complex, string, NaN, ragged, empty, 2-D counts
    and float counts of 2**63 are refused by name."""
    with pytest.raises((ValueError, TypeError), match="counts"):
        _checks.as_count_array(value, "counts", ndim=1)


@FAST
@given(st.lists(st.floats(-1, 2), min_size=1, max_size=5))
def test_probabilities(values):
    """Entries in [0, 1] pass; any other entry is refused naming the argument."""
    if all(0 <= v <= 1 for v in values):
        np.testing.assert_array_equal(_checks.probabilities(values, "q"), values)
    else:
        with pytest.raises(ValueError, match="q must contain probabilities"):
            _checks.probabilities(values, "q")


@FAST
@given(st.integers(1, 5), st.integers(1, 5))
def test_same_length(n_a, n_b):
    """Lengths must agree unless one of them is 1 (it broadcasts)."""
    a, b = np.ones(n_a), np.ones(n_b)
    if n_a == n_b or 1 in (n_a, n_b):
        _checks.same_length([a, b], ["a", "b"])
    else:
        with pytest.raises(ValueError, match="a and b must have the same length"):
            _checks.same_length([a, b], ["a", "b"])


@pytest.mark.parametrize("ndim", [1, 2])
def test_as_real_array_dimensions(ndim):
    """as_real_array checks ndim when asked and names the argument."""
    good = np.ones((2,) * ndim)
    np.testing.assert_array_equal(_checks.as_real_array(good, "m", ndim=ndim), good)
    with pytest.raises(ValueError, match="m must be"):
        _checks.as_real_array(np.ones((2,) * (3 - ndim)), "m", ndim=ndim)


@FAST
@given(
    st.one_of(
        st.integers(0, 2**70),
        st.lists(st.integers(0, 2**40), max_size=4),
        st.tuples(st.integers(0, 9), st.integers(0, 9)),
    )
)
def test_random_generator_seeds_like_default_rng(seed):
    """An int seed >= 0 or a sequence of them gives the stream of numpy's default_rng for
    that seed; a Generator comes back as it is."""
    expected = np.random.default_rng(seed).random(3)
    np.testing.assert_array_equal(_checks.random_generator(seed, "rng").random(3), expected)
    generator = np.random.default_rng(1)
    assert _checks.random_generator(generator, "rng") is generator


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (None, TypeError),
        (True, TypeError),
        (1.0, TypeError),
        (np.float64(2.0), TypeError),
        ("1", TypeError),
        ([1, "2"], TypeError),
        ([[1]], TypeError),
        (np.random.RandomState(1), TypeError),
        (-1, ValueError),
        ([1, -2], ValueError),
    ],
)
def test_random_generator_refuses_what_is_not_a_seed(value, error):
    """None (fresh entropy every call), booleans, floats, strings, nested sequences, legacy
    RandomState and negative seeds are refused, naming the argument."""
    with pytest.raises(error, match=r"^seed must be a numpy.random.Generator"):
        _checks.random_generator(value, "seed")


@FAST
@given(
    st.sampled_from(["mu_prior_mean", "mu_prior_sd", "tau_prior_sd"]),
    st.sampled_from([math.nan, math.inf, "1", None, True, -1.0, 0.0]),
)
def test_normal_hyperpriors_name_the_bad_setting(name, value):
    """The mean must be finite and the two sds finite and > 0; the error names the setting
    (a negative or zero mean is fine)."""
    settings_ = {"mu_prior_mean": 0.0, "mu_prior_sd": 1.0, "tau_prior_sd": 2.0}
    if name == "mu_prior_mean" and value in (-1.0, 0.0):
        assert _checks.normal_hyperpriors(**(settings_ | {name: value}))[0] == value
        return
    with pytest.raises((TypeError, ValueError), match=rf"^{name}\b"):
        _checks.normal_hyperpriors(**(settings_ | {name: value}))


def test_frozen_continuous_accepts_only_frozen_continuous_laws():
    """A frozen continuous scipy law is returned; the family itself, a discrete law or a
    number are refused, naming the argument."""
    from scipy import stats

    prior = stats.halfnorm(scale=3.0)
    assert _checks.frozen_continuous(prior, "tau_prior") is prior
    for bad in (stats.halfnorm, stats.poisson(2.0), 3.0, None):
        with pytest.raises(TypeError, match=r"^tau_prior must be a frozen scipy.stats"):
            _checks.frozen_continuous(bad, "tau_prior")


def test_exposures_and_trials():
    """Exposures are positive and one per count (a single value is not broadcast); trials
    are one per group, at least 1 and at least the successes."""
    np.testing.assert_array_equal(_checks.exposure_per_count([1.0, 2.5], 2), [1.0, 2.5])
    for bad, match in (([1.0], "one entry per count"), ([1.0, 0.0], "strictly positive")):
        with pytest.raises(ValueError, match=rf"^exposure .*{match}"):
            _checks.exposure_per_count(bad, 2)
    _checks.trials_for(np.array([0, 3]), np.array([1, 3]))
    for successes, trials, first in (
        ([1, 2], [4], "trials"),
        ([0, 1], [0, 2], "trials"),
        ([5, 1], [4, 2], "successes"),
    ):
        with pytest.raises(ValueError, match=rf"^{first}\b"):
            _checks.trials_for(np.array(successes), np.array(trials))


@FAST
@given(st.integers(1, 6), st.integers(1, 6))
def test_estimates_with_errors_broadcast_a_single_value(n_y, n_errors):
    """Estimates and errors of one length, or one of either, come back as float arrays of
    the common length; other lengths, booleans, NaN and non-positive errors are refused,
    naming the argument."""
    y, errors = np.arange(float(n_y)), np.full(n_errors, 2.0)
    if n_y == n_errors or 1 in (n_y, n_errors):
        checked_y, checked_errors = _checks.estimates_with_errors(y, errors)
        length = max(n_y, n_errors)
        np.testing.assert_array_equal(checked_y, np.broadcast_to(y, length))
        np.testing.assert_array_equal(checked_errors, np.full(length, 2.0))
    else:
        with pytest.raises(ValueError, match="y and sigma must have the same length"):
            _checks.estimates_with_errors(y, errors)
    for bad_y, bad_errors, name in (
        ([True, 1.0], [1.0], "y"),
        ([np.nan], [1.0], "y"),
        ([1.0], [0.0], "s2"),
        ([1.0], [-1.0], "s2"),
    ):
        with pytest.raises((TypeError, ValueError), match=rf"^{name}\b"):
            _checks.estimates_with_errors(bad_y, bad_errors, names=("y", "s2"))
