"""Tests of companion.data.simulate_private_schools against its generative definition.

theta_j = mu + beta * private_j + Normal(0, tau), sigma_j ~ Uniform(low, high),
y_j ~ Normal(theta_j, sigma_j): the expected values below are the moments of that
definition (E[sigma^2] = (low^2 + low high + high^2) / 3 for a uniform), checked on large
simulated studies within 4 standard errors, and its degenerate cases (tau = 0 and tiny
standard errors) checked exactly.
"""

import numpy as np
import pytest
from scipy import stats

from companion.data import PrivateSchoolStudy, simulate_private_schools


def test_table_labels_and_reproducibility():
    """Public schools first (pub1..), then private (priv1..); columns school, private, y,
    sigma; the same seed gives the same study, another seed another one."""
    study = simulate_private_schools(seed=3, n_public=2, n_private=3)
    assert isinstance(study, PrivateSchoolStudy)
    frame = study.schools
    assert list(frame.columns) == ["school", "private", "y", "sigma"]
    assert frame["school"].tolist() == ["pub1", "pub2", "priv1", "priv2", "priv3"]
    assert frame["private"].tolist() == [False, False, True, True, True]
    assert study.true_effects.index.tolist() == frame["school"].tolist()
    again = simulate_private_schools(seed=3, n_public=2, n_private=3)
    np.testing.assert_array_equal(frame["y"], again.schools["y"])
    other = simulate_private_schools(seed=4, n_public=2, n_private=3)
    assert not np.array_equal(frame["y"], other.schools["y"])


def test_degenerate_case_is_the_mean_structure():
    """With tau = 0 and standard errors of 1e-9, every estimate equals mu + beta * private."""
    study = simulate_private_schools(
        seed=1, n_public=3, n_private=4, mu=2.0, beta=-7.0, tau=0.0, sigma_range=(1e-9, 1e-9)
    )
    expected = 2.0 - 7.0 * study.schools["private"].to_numpy()
    np.testing.assert_allclose(study.schools["y"], expected, atol=1e-7)
    np.testing.assert_allclose(study.true_effects, expected)


def test_moments_of_a_large_study():
    """On 20000 schools of each kind: the true effects' type means differ by beta and
    scatter with sd tau around them; standard errors stay in their range with the uniform's
    mean; standardised errors (y - theta) / sigma are standard Normal; the difference of
    the estimates' type means is beta within 4 standard errors, whose variance per school
    is tau^2 + E[sigma^2]."""
    n, low, high, tau, beta = 20_000, 4.0, 12.0, 4.0, 5.0
    study = simulate_private_schools(
        seed=11, n_public=n, n_private=n, beta=beta, tau=tau, sigma_range=(low, high)
    )
    frame = study.schools
    private = frame["private"].to_numpy()
    theta = study.true_effects.to_numpy()
    residual = theta - study.mu - beta * private
    assert abs(residual.mean()) < 4 * tau / np.sqrt(2 * n)
    assert abs(residual.std() - tau) < 4 * tau / np.sqrt(4 * n)
    sigma = frame["sigma"].to_numpy()
    assert low <= sigma.min() and sigma.max() <= high
    assert abs(sigma.mean() - (low + high) / 2) < 4 * (high - low) / np.sqrt(12 * 2 * n)
    errors = (frame["y"].to_numpy() - theta) / sigma
    assert stats.kstest(errors, "norm").pvalue > 1e-3
    variance = tau**2 + (low**2 + low * high + high**2) / 3
    y = frame["y"].to_numpy()
    difference = y[private].mean() - y[~private].mean()
    assert abs(difference - beta) < 4 * np.sqrt(2 * variance / n)


@pytest.mark.parametrize(
    ("kwargs", "error", "argument"),
    [
        ({"seed": None}, TypeError, r"^seed\b"),
        ({"n_public": 0}, ValueError, r"^n_public\b"),
        ({"n_private": 1.5}, TypeError, r"^n_private\b"),
        ({"tau": -1.0}, ValueError, r"^tau\b"),
        ({"beta": np.nan}, ValueError, r"^beta\b"),
        ({"sigma_range": (0.0, 2.0)}, ValueError, r"^sigma_range\b"),
        ({"sigma_range": (5.0, 2.0)}, ValueError, r"^sigma_range\b"),
        ({"sigma_range": (1.0, 2.0, 3.0)}, ValueError, r"^sigma_range\b"),
    ],
)
def test_rejects_bad_input(kwargs, error, argument):
    """No seed, group counts that are not positive integers, a negative tau, a NaN beta and
    a standard-error range that is not 0 < low <= high raise errors naming the argument."""
    arguments = {"seed": 1} | kwargs
    with pytest.raises(error, match=argument):
        simulate_private_schools(**arguments)
