"""Property and fuzz tests of companion.shrinkage: bad input is refused naming the
argument; extreme but valid input matches closed forms written out here."""

import math
import re
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from companion import shrinkage

COVERED = {
    "shrinkage.JamesStein",
    "shrinkage.empirical_bayes_tau",
    "shrinkage.james_stein",
    "shrinkage.partial_pooling",
    "shrinkage.pooled_mean",
    "shrinkage.shrinkage_factor",
}

FAST = settings(max_examples=40, deadline=None, derandomize=True)
POISON = [math.nan, math.inf, -math.inf, "1.0", True, 1 + 2j, None]
BAD_STRUCTURES = [[], [[1.0], [1.0, 2.0]], [[1.0, 2.0, 3.0]] * 2]


def named(argument):
    """A regular expression that matches an error message naming ``argument``."""
    return rf"\b{re.escape(argument)}\b"


@st.composite
def bad_vector(draw, length, *, positive):
    """A 1-D argument that must be refused."""
    good = [1.0] * length
    kind = draw(
        st.sampled_from(["poison", "structure", "sign"] if positive else ["poison", "structure"])
    )
    if kind == "structure":
        return draw(st.sampled_from(BAD_STRUCTURES))
    good[draw(st.integers(0, length - 1))] = draw(
        st.sampled_from(POISON if kind == "poison" else [0.0, -1.0, -1e-300])
    )
    return good


def _call(function, argument, bad):
    y, sigma = [1.0, 2.0, 4.0, 0.0], [1.0, 1.0, 2.0, 1.0]
    values = {"y": y, "sigma": sigma, "sigma2": sigma, "mu": 0.0, "tau": 1.0} | {argument: bad}
    if function == "pooled_mean":
        return shrinkage.pooled_mean(values["y"], values["sigma"])
    if function == "shrinkage_factor":
        return shrinkage.shrinkage_factor(values["sigma"], values["tau"])
    if function == "partial_pooling":
        return shrinkage.partial_pooling(values["y"], values["sigma"], values["mu"], values["tau"])
    if function == "james_stein":
        return shrinkage.james_stein(values["y"], values["sigma2"])
    return shrinkage.empirical_bayes_tau(values["y"], values["sigma"], method=function)


ARGUMENTS = {
    "pooled_mean": ["y", "sigma"],
    "shrinkage_factor": ["sigma", "tau"],
    "partial_pooling": ["y", "sigma", "mu", "tau"],
    "james_stein": ["y", "sigma2"],
    "mle": ["y", "sigma"],
    "moments": ["y", "sigma"],
}


@FAST
@given(st.data())
def test_every_function_refuses_bad_input_naming_it(data):
    """NaN/inf, strings, booleans, complex numbers, None, ragged, empty or 2-D arrays,
    non-positive standard errors and bad scalars raise errors naming the argument."""
    function = data.draw(st.sampled_from(sorted(ARGUMENTS)))
    argument = data.draw(st.sampled_from(ARGUMENTS[function]))
    if argument in ("mu", "tau"):
        choices = [math.nan, math.inf, "1", True, 1j, None, [1.0]]
        bad = data.draw(st.sampled_from(choices + ([-1.0] if argument == "tau" else [])))
    else:
        bad = data.draw(bad_vector(4, positive=argument.startswith("sigma")))
    with pytest.raises((ValueError, TypeError), match=named(argument)):
        _call(function, argument, bad)


@FAST
@given(st.sampled_from(sorted(ARGUMENTS)), st.integers(2, 6), st.integers(2, 6))
def test_mismatched_lengths_are_refused(function, n_y, n_sigma):
    """y and sigma of different lengths (neither 1) are refused naming both."""
    if n_y == n_sigma or function == "shrinkage_factor":
        return
    second = "sigma2" if function == "james_stein" else "sigma"
    with pytest.raises(ValueError, match=rf"y and {second}"):
        _call(function, second, np.ones(n_sigma)) if n_y == 4 else _call(
            function, "y", np.arange(n_y, dtype=float)
        )


@FAST
@given(st.sampled_from(["MLE", "moment", "reml", "", 3, None]))
def test_empirical_bayes_refuses_unknown_methods_listing_options(method):
    """An unknown method is refused with a message listing 'mle' and 'moments'."""
    with pytest.raises(ValueError, match="method must be 'mle' or 'moments'"):
        shrinkage.empirical_bayes_tau([1.0, 2.0, 3.0], 1.0, method=method)


@FAST
@given(st.data())
def test_james_stein_refuses_bad_options(data):
    """target must be a finite number, positive_part a bool, and J >= 3."""
    choice = data.draw(st.sampled_from(["target", "positive_part", "y"]))
    if choice == "target":
        with pytest.raises((ValueError, TypeError), match="target"):
            shrinkage.james_stein(
                [1.0, 2.0, 3.0],
                1.0,
                target=data.draw(st.sampled_from([math.nan, math.inf, "0", True, 1j, [0.0]])),
            )
    elif choice == "positive_part":
        with pytest.raises(TypeError, match="positive_part"):
            shrinkage.james_stein(
                [1.0, 2.0, 3.0], 1.0, positive_part=data.draw(st.sampled_from([1, 0, "yes", None]))
            )
    else:
        with pytest.raises(ValueError, match=named("y")):
            shrinkage.james_stein([1.0, 2.0], 1.0)


scales = st.floats(-6, 6).map(lambda e: 10.0**e)


@FAST
@given(st.integers(2, 12), scales, scales, st.integers(0, 2**32 - 1))
def test_empirical_bayes_equal_sigma_closed_forms(n_groups, y_scale, s, seed):
    """Equal sigma_j = s, S = sum((y - ybar)**2): the marginal MLE of tau**2 is
    max(0, S/J - s**2) (mu profiled out at ybar), the DerSimonian-Laird estimate
    max(0, S/(J-1) - s**2); each is exactly 0.0 iff its bracket is <= 0, and the
    moments estimate collapsing implies the MLE does."""
    rng = np.random.default_rng(seed)
    y = rng.normal(size=n_groups) * y_scale
    spread = float(np.sum((y - y.mean()) ** 2))
    mle = shrinkage.empirical_bayes_tau(y, s, method="mle")
    moments = shrinkage.empirical_bayes_tau(y, s, method="moments")
    mle_square = spread / n_groups - s**2
    moments_square = spread / (n_groups - 1) - s**2
    tolerance = 1e-9 * max(spread / n_groups, s**2)
    if mle_square < -tolerance:
        assert mle == 0.0
    elif mle_square > tolerance:
        assert mle > 0.0
    assert mle**2 == pytest.approx(max(mle_square, 0.0), abs=tolerance)
    assert moments**2 == pytest.approx(max(moments_square, 0.0), abs=tolerance)
    if moments == 0.0:
        assert mle == 0.0 or mle_square > -tolerance


def test_empirical_bayes_mle_boundary_is_exactly_zero():
    """The case that returned 1.3e-8: S/J <= sigma**2, so the MLE is exactly 0.0."""
    y = np.array([-0.92234357, 1.02926757, -1.11085663, -1.30447159, 0.23360391])
    assert np.sum((y - y.mean()) ** 2) / 5 <= 1.0
    assert shrinkage.empirical_bayes_tau(y, 1.0, method="mle") == 0.0


def _profile_log_likelihood(tau, y, sigma):
    """log p(y | mu_hat(tau), tau) with mu at its weighted mean, written out here."""
    v = sigma**2 + tau[:, None] ** 2
    mu = np.sum(y / v, axis=1) / np.sum(1 / v, axis=1)
    return -0.5 * np.sum(np.log(v) + (y - mu[:, None]) ** 2 / v, axis=1)


@FAST
@given(st.integers(2, 10), scales, st.integers(0, 2**32 - 1))
def test_empirical_bayes_mle_beats_a_dense_grid(n_groups, scale, seed):
    """With unequal sigma the MLE's profile likelihood is at least that of every tau on
    a dense grid over [0, 2 ptp(y)] (up to rounding)."""
    rng = np.random.default_rng(seed)
    y = rng.normal(size=n_groups) * scale * rng.uniform(0.2, 3.0)
    sigma = scale * 10.0 ** rng.uniform(-1, 1, n_groups)
    tau = shrinkage.empirical_bayes_tau(y, sigma, method="mle")
    grid = np.ptp(y) * np.linspace(0.0, 2.0, 20_001)
    best = _profile_log_likelihood(np.array([tau]), y, sigma)[0]
    assert best >= _profile_log_likelihood(grid, y, sigma).max() - 1e-9 * abs(best) - 1e-9


@FAST
@given(st.integers(2, 8), st.floats(-10, -3), st.integers(0, 2**32 - 1))
def test_moments_with_one_tiny_sigma_matches_exact_arithmetic(n_groups, log_tiny, seed):
    """One sigma_j as small as 1e-10 (it returned inf): the DerSimonian-Laird estimate
    equals the formula evaluated in exact rational arithmetic."""
    rng = np.random.default_rng(seed)
    y = rng.normal(size=n_groups)
    sigma = rng.uniform(0.5, 2.0, n_groups)
    sigma[0] = 10.0**log_tiny
    v = [1 / Fraction(float(s)) ** 2 for s in sigma]
    ys = [Fraction(float(value)) for value in y]
    total = sum(v)
    center = sum(w * value for w, value in zip(v, ys, strict=True)) / total
    q = sum(w * (value - center) ** 2 for w, value in zip(v, ys, strict=True))
    scale = total - sum(w * w for w in v) / total
    expected = math.sqrt(max(float((q - (n_groups - 1)) / scale), 0.0))
    got = shrinkage.empirical_bayes_tau(y, sigma, method="moments")
    assert math.isfinite(got)
    assert got == pytest.approx(expected, rel=1e-7, abs=1e-12)


@FAST
@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=8), scales, st.integers(0, 2**32 - 1))
def test_pooled_mean_is_the_precision_weighted_average(y, scale, seed):
    """pooled_mean equals numpy's weighted average with weights 1/sigma**2 and its
    standard error sum(w)**-0.5, at any scale of sigma."""
    rng = np.random.default_rng(seed)
    sigma = scale * rng.uniform(0.1, 10.0, len(y))
    estimate, error = shrinkage.pooled_mean(y, sigma)
    assert estimate == pytest.approx(np.average(y, weights=sigma**-2.0), rel=1e-9, abs=1e-6)
    assert error == pytest.approx(np.sum(sigma**-2.0) ** -0.5, rel=1e-12)


@FAST
@given(
    st.lists(scales, min_size=1, max_size=6),
    st.one_of(st.just(0.0), st.floats(1e-100, 1e12)),
    scales,
)
def test_partial_pooling_and_shrinkage_factor_closed_forms(sigma, tau, mu):
    """B_j = 1 / (1 + tau**2/sigma_j**2) in [0, 1]; the conditional mean lies between mu
    and y_j and the conditional variance is tau**2 sigma_j**2 / (tau**2 + sigma_j**2)."""
    sigma = np.array(sigma)
    factor = shrinkage.shrinkage_factor(sigma, tau)
    np.testing.assert_allclose(factor, 1.0 / (1.0 + (tau / sigma) ** 2), rtol=1e-12)
    assert np.all((factor >= 0) & (factor <= 1))
    y = -2.0 * sigma
    means, sds = shrinkage.partial_pooling(y, sigma, mu, tau)
    low, high = np.minimum(y, mu), np.maximum(y, mu)
    assert np.all(means >= low - 1e-12 * np.abs(low))
    assert np.all(means <= high + 1e-12 * np.abs(high))
    harmonic = (tau * sigma / np.hypot(tau, sigma)) ** 2 if tau > 0 else 0 * sigma
    np.testing.assert_allclose(sds**2, harmonic, rtol=1e-10)


@FAST
@given(
    st.lists(st.floats(-1e6, 1e6), min_size=3, max_size=10),
    st.one_of(st.none(), st.floats(-1e6, 1e6)),
    st.booleans(),
    scales,
)
def test_james_stein_matches_efron_morris(y, target, positive_part, variance):
    """c = (J - 2)/S with a given target, (J - 3)/S with the grand mean, S the
    standardised sum of squares; estimates m + (1 - c)(y - m); c capped at 1 if
    positive_part. The result is a JamesStein named tuple."""
    y = np.array(y)
    result = shrinkage.james_stein(y, variance, target=target, positive_part=positive_part)
    assert isinstance(result, shrinkage.JamesStein)
    center = y.mean() if target is None else target
    spread = np.sum((y - center) ** 2) / variance
    assert result.target == pytest.approx(center, rel=1e-9, abs=1e-6)
    if spread == 0.0:
        assert result.shrinkage == 0.0
        return
    constant = y.size - (3 if target is None else 2)
    c = constant / np.sum((y - result.target) ** 2 / variance)
    if positive_part:
        c = min(c, 1.0)
    assert result.shrinkage == pytest.approx(c, rel=1e-9)
    expected = result.target + (1 - c) * (y - result.target)
    np.testing.assert_allclose(result.estimates, expected, rtol=1e-9, atol=1e-6)
