"""Tests of companion.shrinkage.james_stein and empirical_bayes_tau.

References: hand-computed closed forms, the shrinkage Efron & Morris published for their
baseball data, the exact risk of the James-Stein estimator (a one-dimensional integral over
the noncentral chi-square distribution), simulation, and brute-force maximisation of the
marginal likelihood over (mu, tau).
"""

import numpy as np
import pytest
from scipy import integrate, optimize, stats

from companion import data
from companion.shrinkage import JamesStein, empirical_bayes_tau, james_stein

SEED = 19750601

# --------------------------------------------------------------------------- James-Stein


def test_james_stein_toward_a_target_by_hand():
    """y = (1, 2, 6), sigma2 = 1, target 0: S = 41, c = (3 - 2)/41, estimates (1 - c) y."""
    result = james_stein([1.0, 2.0, 6.0], 1.0, target=0.0)
    assert isinstance(result, JamesStein)
    assert result.shrinkage == pytest.approx(1 / 41, rel=1e-14)
    assert result.target == 0.0
    np.testing.assert_allclose(result.estimates, np.array([1, 2, 6]) * 40 / 41, rtol=1e-14)


def test_james_stein_toward_the_grand_mean_by_hand():
    """y = (0, 2, 4, 10), sigma2 = 2: mean 4, S = 56/2 = 28, c = (4 - 3)/28."""
    result = james_stein([0.0, 2.0, 4.0, 10.0], 2.0)
    assert result.target == pytest.approx(4.0)
    assert result.shrinkage == pytest.approx(1 / 28, rel=1e-14)
    expected = 4.0 + (27 / 28) * np.array([-4.0, -2.0, 0.0, 6.0])
    np.testing.assert_allclose(result.estimates, expected, rtol=1e-14)


def test_three_groups_and_the_grand_mean_leave_y_unchanged():
    """With J = 3 and the grand mean estimated, the constant J - 3 is 0: no shrinkage."""
    y = np.array([0.3, -1.0, 2.5])
    result = james_stein(y, 0.5)
    assert result.shrinkage == 0.0
    np.testing.assert_array_equal(result.estimates, y)


def test_positive_part_stops_at_the_target():
    """When S < J - 2 the plain estimator overshoots the target; the positive part stops at it."""
    y = np.array([0.1, -0.2, 0.3, 0.05])  # S = 0.1425 < 2
    plain = james_stein(y, 1.0, target=0.0, positive_part=False)
    capped = james_stein(y, 1.0, target=0.0)
    assert plain.shrinkage == pytest.approx(2 / 0.1425)
    np.testing.assert_allclose(plain.estimates, (1 - 2 / 0.1425) * y)
    assert np.all(np.sign(plain.estimates) == -np.sign(y))
    assert capped.shrinkage == 1.0
    np.testing.assert_array_equal(capped.estimates, np.zeros(4))


def test_all_estimates_at_the_target():
    """If every y_j equals the target there is nothing to shrink (and no division by 0)."""
    result = james_stein([2.0, 2.0, 2.0, 2.0], [1.0, 2.0, 3.0, 4.0])
    assert result.shrinkage == 0.0
    np.testing.assert_array_equal(result.estimates, [2.0, 2.0, 2.0, 2.0])


def test_unequal_variances_shrink_on_the_standardised_scale():
    """Equal variances given per group or as one number give the same result; with unequal
    variances the target is the precision-weighted mean and S is standardised."""
    y = np.array([3.0, -1.0, 4.0, 0.5, 2.0])
    shared = james_stein(y, 2.5)
    repeated = james_stein(y, np.full(5, 2.5))
    np.testing.assert_array_equal(shared.estimates, repeated.estimates)
    sigma2 = np.array([1.0, 4.0, 0.5, 2.0, 9.0])
    weighted = james_stein(y, sigma2)
    center = np.sum(y / sigma2) / np.sum(1 / sigma2)
    spread = np.sum((y - center) ** 2 / sigma2)
    assert weighted.target == pytest.approx(center, rel=1e-14)
    assert weighted.shrinkage == pytest.approx(2 / spread, rel=1e-14)


def test_efron_morris_published_shrinkage():
    """Baseball, raw scale: shrinking toward the mean .265 keeps c = .212 of each deviation.

    Efron & Morris (1977, Scientific American) estimate the sampling variance by
    ybar (1 - ybar) / 45 and report the estimate .265 + .212 (y_j - .265).
    """
    players = data.load_efron_morris()
    y = players["average"].to_numpy()
    ybar = y.mean()
    result = james_stein(y, ybar * (1 - ybar) / 45)
    assert round(result.target, 3) == 0.265
    assert round(1 - result.shrinkage, 3) == 0.212
    np.testing.assert_allclose(result.estimates, ybar + (1 - result.shrinkage) * (y - ybar))


def exact_james_stein_risk(J: int, distance: float) -> float:
    """Risk of (1 - (J-2)/|y|^2) y for y ~ N(theta, I_J), |theta| = distance.

    E|estimate - theta|^2 = J - (J-2)^2 E[1/|y|^2], with |y|^2 noncentral chi-square
    (J degrees of freedom, noncentrality distance^2); the expectation by quadrature.
    """
    chi2 = stats.ncx2(J, distance**2) if distance > 0 else stats.chi2(J)
    inverse_mean = integrate.quad(lambda x: chi2.pdf(x) / x, 0, np.inf, limit=200)[0]
    return J - (J - 2) ** 2 * inverse_mean


@pytest.mark.parametrize(("J", "distance"), [(3, 0.0), (3, 2.0), (5, 1.0), (10, 3.0), (10, 10.0)])
def test_james_stein_risk_matches_the_exact_risk(J, distance):
    """The simulated total squared error of the plain estimator toward 0 equals the exact
    risk within 4 Monte Carlo standard errors, and is below J (the risk of y itself)."""
    rng = np.random.default_rng([SEED, J, int(10 * distance)])
    theta = np.zeros(J)
    theta[0] = distance
    draws = rng.normal(theta, 1.0, size=(20_000, J))
    losses = np.array(
        [
            np.sum((james_stein(y, 1.0, target=0.0, positive_part=False).estimates - theta) ** 2)
            for y in draws
        ]
    )
    expected = exact_james_stein_risk(J, distance)
    assert losses.mean() == pytest.approx(expected, abs=4 * losses.std() / np.sqrt(losses.size))
    assert expected < J


def test_james_stein_dominates_with_unequal_variances():
    """With unequal sigma2_j, the weighted loss sum((est - theta)^2 / sigma2) averages below J
    (the risk of y) for the grand-mean version, by more than 4 Monte Carlo standard errors."""
    rng = np.random.default_rng(SEED)
    sigma2 = np.array([0.5, 1.0, 2.0, 4.0, 8.0, 1.5, 3.0])
    theta = np.array([1.0, -2.0, 0.5, 3.0, 0.0, -1.0, 2.0])
    draws = rng.normal(theta, np.sqrt(sigma2), size=(20_000, sigma2.size))
    losses = np.array(
        [np.sum((james_stein(y, sigma2).estimates - theta) ** 2 / sigma2) for y in draws]
    )
    assert losses.mean() + 4 * losses.std() / np.sqrt(losses.size) < sigma2.size


BAD_JAMES_STEIN = [
    (dict(y=[1.0, 2.0]), ValueError, "at least 3 groups"),
    (dict(y=[1.0]), ValueError, "at least 3 groups"),
    (dict(sigma2=[1.0, -1.0, 1.0]), ValueError, "sigma2"),
    (dict(sigma2=0.0), ValueError, "sigma2"),
    (dict(sigma2=[1.0, np.nan, 1.0]), ValueError, "sigma2"),
    (dict(y=[1.0, np.inf, 2.0]), ValueError, "y"),
    (dict(sigma2=[1.0, 2.0]), ValueError, "y and sigma2"),
    (dict(target=np.nan), ValueError, "target"),
    (dict(target="zero"), TypeError, "target"),
    (dict(positive_part="yes"), TypeError, "positive_part"),
]


@pytest.mark.parametrize(("kwargs", "error", "match"), BAD_JAMES_STEIN)
def test_james_stein_rejects_bad_input(kwargs, error, match):
    """Fewer than 3 groups, bad variances, NaN, mismatched lengths or a bad target raise."""
    arguments = dict(y=[1.0, 2.0, 3.0], sigma2=1.0) | kwargs
    with pytest.raises(error, match=match):
        james_stein(**arguments)


# --------------------------------------------------------------------------- empirical Bayes


def brute_force_mle(y: np.ndarray, sigma: np.ndarray) -> float:
    """Maximise the full marginal likelihood over (mu, log tau) from many starting points,
    and compare with tau = 0 (mu then at its precision-weighted mean)."""

    def negative_log_likelihood(mu, tau):
        return -np.sum(stats.norm.logpdf(y, mu, np.sqrt(sigma**2 + tau**2)))

    best_tau = 0.0
    best_value = negative_log_likelihood(np.sum(y / sigma**2) / np.sum(1 / sigma**2), 0.0)
    for mu_start in np.linspace(y.min(), y.max(), 5):
        for log_tau_start in np.linspace(np.log(0.01 * np.ptp(y)), np.log(np.ptp(y)), 5):
            fit = optimize.minimize(
                lambda p: negative_log_likelihood(p[0], np.exp(p[1])),
                [mu_start, log_tau_start],
                method="Nelder-Mead",
                options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 20_000},
            )
            if fit.fun < best_value - 1e-12:
                best_tau, best_value = float(np.exp(fit.x[1])), fit.fun
    return best_tau


def test_mle_with_equal_sigma_is_the_closed_form():
    """Equal sigma: tau^2 = max(0, mean((y - ybar)^2) - sigma^2) maximises the likelihood."""
    rng = np.random.default_rng(SEED)
    for _ in range(5):
        y = rng.normal(0, 3.0, 12)
        expected = np.sqrt(max(np.mean((y - y.mean()) ** 2) - 4.0, 0.0))
        assert empirical_bayes_tau(y, 2.0, method="mle") == pytest.approx(expected, rel=1e-7)


def test_mle_with_unequal_sigma_matches_brute_force():
    """Unequal sigma: the estimate equals a multi-start 2-D maximisation over (mu, tau)."""
    rng = np.random.default_rng([SEED, 1])
    for _ in range(3):
        sigma = rng.uniform(0.5, 3.0, 10)
        y = rng.normal(rng.normal(5.0, 2.0, 10), sigma)
        expected = brute_force_mle(y, sigma)
        got = empirical_bayes_tau(y, sigma, method="mle")
        assert expected > 0
        assert got == pytest.approx(expected, rel=1e-5)


def test_eight_schools_collapse_to_zero():
    """The Eight Schools scatter less than their standard errors imply: both estimates are 0,
    and brute-force maximisation agrees that tau = 0 maximises the likelihood."""
    schools = data.load_eight_schools()
    y, sigma = schools["y"].to_numpy(), schools["sigma"].to_numpy()
    assert empirical_bayes_tau(y, sigma, method="mle") == 0.0
    assert empirical_bayes_tau(y, sigma, method="moments") == 0.0
    assert brute_force_mle(y, sigma) < 1e-3


def test_moments_with_equal_sigma_is_sample_variance_minus_sigma2():
    """Equal sigma: the DerSimonian-Laird estimate is var(y, ddof=1) - sigma^2, truncated."""
    y = np.array([1.0, 4.0, -2.0, 7.0, 0.0])
    assert empirical_bayes_tau(y, 1.5, method="moments") ** 2 == pytest.approx(
        np.var(y, ddof=1) - 2.25, rel=1e-12
    )
    assert empirical_bayes_tau(y, 100.0, method="moments") == 0.0


def test_moments_estimator_is_unbiased_for_tau_squared():
    """With unequal sigma and tau large enough that truncation never happens, the average of
    tau_hat^2 over 4000 simulated studies is within 4 standard errors of tau^2."""
    rng = np.random.default_rng([SEED, 2])
    sigma = np.array([0.5, 1.0, 1.5, 2.0, 3.0, 1.0, 0.8, 2.5])
    # Truncation needs Q < J - 1; as Q >= min(v) * sum((y - ybar)^2), which is stochastically
    # larger than min(v) tau^2 chi2(J - 1), that has probability below 1e-6 per study.
    tau = 30.0
    estimates = np.array(
        [
            empirical_bayes_tau(rng.normal(rng.normal(1.0, tau, 8), sigma), sigma, method="moments")
            ** 2
            for _ in range(4000)
        ]
    )
    assert np.all(estimates > 0)
    standard_error = estimates.std() / np.sqrt(estimates.size)
    assert estimates.mean() == pytest.approx(tau**2, abs=4 * standard_error)


def test_identical_estimates_give_zero():
    """No scatter at all: tau = 0 for both methods."""
    for method in ("mle", "moments"):
        assert empirical_bayes_tau([3.0, 3.0, 3.0], [1.0, 2.0, 3.0], method=method) == 0.0


BAD_EMPIRICAL_BAYES = [
    (dict(y=[1.0]), ValueError, "at least 2 groups"),
    (dict(sigma=[1.0, 0.0, 1.0]), ValueError, "sigma"),
    (dict(sigma=-1.0), ValueError, "sigma"),
    (dict(y=[1.0, np.nan, 2.0]), ValueError, "y"),
    (dict(sigma=[1.0, 2.0]), ValueError, "y and sigma"),
    (dict(method="reml"), ValueError, "method"),
]


@pytest.mark.parametrize(("kwargs", "error", "match"), BAD_EMPIRICAL_BAYES)
def test_empirical_bayes_tau_rejects_bad_input(kwargs, error, match):
    """Too few groups, non-positive sigma, NaN, mismatched lengths or an unknown method raise."""
    arguments = dict(y=[1.0, 2.0, 3.0], sigma=1.0) | kwargs
    with pytest.raises(error, match=match):
        empirical_bayes_tau(**arguments)
