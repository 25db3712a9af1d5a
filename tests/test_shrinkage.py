"""Property tests of companion.shrinkage against formulas written independently here.

The expected values come from the Normal-Normal conjugate update (precisions add, the mean
is the precision-weighted average: BDA3 Section 2.5) and from weighted least squares solved
with numpy.linalg.lstsq, never from the module itself.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from companion.shrinkage import partial_pooling, pooled_mean, shrinkage_factor

# Ranges wide enough to mix tiny and huge standard errors, narrow enough that the
# comparisons below stay inside double precision.
estimates = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False)
standard_errors = st.floats(min_value=1e-2, max_value=1e2)
taus = st.floats(min_value=0.0, max_value=1e3)
positive_taus = st.floats(min_value=1e-2, max_value=1e3)


@st.composite
def groups(draw, min_size: int = 1, max_size: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (y, sigma) of the same length."""
    n = draw(st.integers(min_value=min_size, max_value=max_size))
    y = draw(st.lists(estimates, min_size=n, max_size=n))
    sigma = draw(st.lists(standard_errors, min_size=n, max_size=n))
    return np.array(y), np.array(sigma)


# --------------------------------------------------------------------------- shrinkage_factor


@given(st.lists(standard_errors, min_size=1, max_size=12), taus)
def test_shrinkage_factor_is_a_fraction(sigma, tau):
    """B_j lies in [0, 1] for every sigma_j > 0 and tau >= 0."""
    factor = shrinkage_factor(sigma, tau)
    assert factor.shape == (len(sigma),)
    assert np.all((factor >= 0) & (factor <= 1))


@given(st.lists(standard_errors, min_size=1, max_size=12), taus, taus)
def test_shrinkage_factor_decreases_with_tau(sigma, tau_a, tau_b):
    """More between-group spread means less shrinkage: B_j is non-increasing in tau."""
    low, high = sorted([tau_a, tau_b])
    assert np.all(shrinkage_factor(sigma, high) <= shrinkage_factor(sigma, low))


@given(standard_errors, standard_errors, taus)
def test_shrinkage_factor_increases_with_sigma(sigma_a, sigma_b, tau):
    """Noisier groups are shrunk more: B_j is non-decreasing in sigma_j."""
    low, high = sorted([sigma_a, sigma_b])
    factor = shrinkage_factor([low, high], tau)
    assert factor[0] <= factor[1]


@given(standard_errors, positive_taus)
def test_shrinkage_factor_closed_form(sigma, tau):
    """B = (1 / tau^2) / (1 / sigma^2 + 1 / tau^2): the prior's share of the precision."""
    prior_share = (1 / tau**2) / (1 / sigma**2 + 1 / tau**2)
    assert shrinkage_factor([sigma], tau)[0] == pytest.approx(prior_share, rel=1e-12)


def test_shrinkage_factor_limits():
    """tau = 0 gives B = 1 (complete pooling); a huge tau gives B -> 0 (no pooling)."""
    np.testing.assert_array_equal(shrinkage_factor([1.0, 5.0], 0.0), [1.0, 1.0])
    assert np.all(shrinkage_factor([1.0, 5.0], 1e8) < 1e-14)


# --------------------------------------------------------------------------- partial_pooling


@given(groups(), estimates)
def test_tau_zero_pools_completely_at_mu(data, mu):
    """With tau = 0 every theta_j equals mu exactly, with zero conditional sd."""
    y, sigma = data
    means, sds = partial_pooling(y, sigma, mu, 0.0)
    np.testing.assert_array_equal(means, np.full(y.shape, mu))
    np.testing.assert_array_equal(sds, np.zeros(y.shape))


@given(groups(), estimates)
def test_huge_tau_leaves_the_estimates(data, mu):
    """With tau = 1e7 (>> sigma) each theta_j keeps y_j and sd sigma_j: no pooling."""
    y, sigma = data
    means, sds = partial_pooling(y, sigma, mu, 1e7)
    # B_j <= 1e4 / 1e14 = 1e-10, so means move by at most 1e-10 * |mu - y_j| <= 2e-7.
    np.testing.assert_allclose(means, y, rtol=0, atol=1e-6)
    np.testing.assert_allclose(sds, sigma, rtol=1e-9)


@given(groups(), estimates, taus)
def test_partial_pooling_means_lie_between_mu_and_y(data, mu, tau):
    """Each conditional mean is a convex combination of mu and y_j."""
    y, sigma = data
    means, _ = partial_pooling(y, sigma, mu, tau)
    slack = 1e-9 * (1 + np.abs(y) + abs(mu))
    assert np.all(means >= np.minimum(mu, y) - slack)
    assert np.all(means <= np.maximum(mu, y) + slack)


@given(groups(), estimates, positive_taus)
def test_partial_pooling_is_the_conjugate_normal_update(data, mu, tau):
    """Precision 1/sigma^2 + 1/tau^2 and the precision-weighted mean (Normal-Normal conjugacy)."""
    y, sigma = data
    means, sds = partial_pooling(y, sigma, mu, tau)
    precision = 1 / sigma**2 + 1 / tau**2
    expected_mean = (y / sigma**2 + mu / tau**2) / precision
    np.testing.assert_allclose(1 / sds**2, precision, rtol=1e-10)
    np.testing.assert_allclose(means, expected_mean, rtol=1e-9, atol=1e-9 * (1 + abs(mu)))


def test_partial_pooling_worked_example():
    """y = 10, sigma = 1, mu = 0, tau = 2: B = 1/5, mean 8, variance 4/5 (by hand)."""
    means, sds = partial_pooling([10.0], [1.0], mu=0.0, tau=2.0)
    assert means[0] == pytest.approx(8.0)
    assert sds[0] ** 2 == pytest.approx(0.8)


def test_partial_pooling_broadcasts_a_common_sigma():
    """A length-1 sigma is shared by all groups, as if repeated."""
    common = partial_pooling([1.0, 2.0, 3.0], [2.0], 0.5, 1.5)
    repeated = partial_pooling([1.0, 2.0, 3.0], [2.0, 2.0, 2.0], 0.5, 1.5)
    for a, b in zip(common, repeated, strict=True):
        np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------- pooled_mean


@given(groups())
def test_pooled_mean_is_weighted_least_squares(data):
    """The pooled mean and its se equal WLS of y on a constant with weights 1/sigma^2."""
    y, sigma = data
    design = (1 / sigma)[:, None]  # sqrt-weighted column of ones
    coefficient = np.linalg.lstsq(design, y / sigma, rcond=None)[0][0]
    standard_error = np.sqrt(np.linalg.inv(design.T @ design)[0, 0])
    estimate, se = pooled_mean(y, sigma)
    assert estimate == pytest.approx(coefficient, rel=1e-9, abs=1e-9)
    assert se == pytest.approx(standard_error, rel=1e-10)


@given(groups(min_size=2), st.randoms(use_true_random=False))
def test_pooled_mean_ignores_the_order_of_groups(data, random):
    """Permuting the groups (with their sigmas) leaves the pooled mean unchanged."""
    y, sigma = data
    order = list(range(len(y)))
    random.shuffle(order)
    estimate, se = pooled_mean(y, sigma)
    shuffled_estimate, shuffled_se = pooled_mean(y[order], sigma[order])
    assert shuffled_estimate == pytest.approx(estimate, rel=1e-12, abs=1e-10)
    assert shuffled_se == pytest.approx(se, rel=1e-12)


@given(groups(), st.floats(min_value=1e-3, max_value=1e3), estimates)
def test_pooled_mean_is_scale_and_shift_equivariant(data, scale, shift):
    """Measuring in other units: pooled_mean(a y + b, a sigma) = (a m + b, a se)."""
    y, sigma = data
    estimate, se = pooled_mean(y, sigma)
    moved_estimate, moved_se = pooled_mean(scale * y + shift, scale * sigma)
    tolerance = 1e-9 * (scale * np.max(np.abs(y)) + abs(shift) + 1)
    assert moved_estimate == pytest.approx(scale * estimate + shift, abs=tolerance)
    assert moved_se == pytest.approx(scale * se, rel=1e-12)


def test_pooled_mean_of_eight_schools():
    """Eight Schools: the complete-pooling estimate is 7.69 with se 4.07 (BDA3 Section 5.5)."""
    y = [28, 8, -3, 7, -1, 1, 18, 12]
    sigma = [15, 10, 16, 11, 9, 11, 10, 18]
    estimate, se = pooled_mean(y, sigma)
    assert estimate == pytest.approx(7.69, abs=0.005)
    assert se == pytest.approx(4.07, abs=0.005)


def test_pooled_mean_broadcasts_length_one_arguments():
    """Length-1 sigma (or y) is repeated across groups, as the length check promises."""
    assert pooled_mean([1.0, 2.0, 6.0], [2.0]) == pytest.approx((3.0, 2.0 / np.sqrt(3)))
    assert pooled_mean([5.0], [1.0, 1.0, 1.0]) == pytest.approx((5.0, 1 / np.sqrt(3)))


# --------------------------------------------------------------------------- bad input

BAD_ARRAYS = [
    (dict(sigma=[1.0, 0.0, 2.0]), ValueError, "sigma"),
    (dict(sigma=[1.0, -1.0, 2.0]), ValueError, "sigma"),
    (dict(sigma=[1.0, np.nan, 2.0]), ValueError, "sigma"),
    (dict(y=[1.0, np.nan, 2.0]), ValueError, "y"),
    (dict(y=[1.0, np.inf, 2.0]), ValueError, "y"),
    (dict(y=[1.0, 2.0]), ValueError, "y and sigma"),
    (dict(y=[], sigma=[]), ValueError, "y must not be empty"),
    (dict(sigma=[]), ValueError, "sigma must not be empty"),
    (dict(y=["a", "b", "c"]), TypeError, "y"),
    (dict(sigma="abc"), TypeError, "sigma"),
    (dict(y=[[1.0, 2.0, 3.0]]), ValueError, "y must be one-dimensional"),
]


@pytest.mark.parametrize(("kwargs", "error", "match"), BAD_ARRAYS)
def test_pooled_mean_rejects_bad_input_by_name(kwargs, error, match):
    """pooled_mean raises ValueError/TypeError naming y or sigma."""
    arguments = dict(y=[1.0, 2.0, 3.0], sigma=[1.0, 1.0, 1.0]) | kwargs
    with pytest.raises(error, match=match):
        pooled_mean(**arguments)


@pytest.mark.parametrize(("kwargs", "error", "match"), BAD_ARRAYS)
def test_partial_pooling_rejects_bad_arrays_by_name(kwargs, error, match):
    """partial_pooling raises ValueError/TypeError naming y or sigma."""
    arguments = dict(y=[1.0, 2.0, 3.0], sigma=[1.0, 1.0, 1.0], mu=0.0, tau=1.0) | kwargs
    with pytest.raises(error, match=match):
        partial_pooling(**arguments)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(tau=-1.0), ValueError, "tau"),
        (dict(tau=np.nan), ValueError, "tau"),
        (dict(tau=np.inf), ValueError, "tau"),
        (dict(tau="large"), TypeError, "tau"),
        (dict(tau=[1.0, 2.0]), TypeError, "tau"),
        (dict(mu=np.nan), ValueError, "mu"),
        (dict(mu="zero"), TypeError, "mu"),
        (dict(mu=[0.0, 1.0]), TypeError, "mu"),
    ],
)
def test_partial_pooling_rejects_bad_mu_and_tau_by_name(kwargs, error, match):
    """partial_pooling names mu or tau when they are not finite numbers (tau >= 0)."""
    arguments = dict(y=[1.0, 2.0, 3.0], sigma=[1.0, 1.0, 1.0], mu=0.0, tau=1.0) | kwargs
    with pytest.raises(error, match=match):
        partial_pooling(**arguments)


@pytest.mark.parametrize(
    ("sigma", "tau", "error", "match"),
    [
        ([0.0], 1.0, ValueError, "sigma"),
        ([-2.0], 1.0, ValueError, "sigma"),
        ([], 1.0, ValueError, "sigma"),
        ([1.0], -0.5, ValueError, "tau"),
        ([1.0], "1", TypeError, "tau"),
        ([1.0], None, TypeError, "tau"),
    ],
)
def test_shrinkage_factor_rejects_bad_input_by_name(sigma, tau, error, match):
    """shrinkage_factor names sigma or tau in its error."""
    with pytest.raises(error, match=match):
        shrinkage_factor(sigma, tau)
