"""Tests of companion.symbolic: each derived expression is evaluated numerically and compared
with a route that does not use its algebra (quadrature of the unnormalised posterior,
simulation, finite differences, or a numerical solution of the model's equations)."""

import numpy as np
import pytest
import sympy as sp
from scipy import integrate, optimize, stats

from companion import symbolic

RNG_SEED = 20260301


@pytest.fixture(scope="module")
def single():
    return symbolic.normal_normal_posterior()


@pytest.fixture(scope="module")
def group_mean():
    return symbolic.normal_normal_posterior(data="group_mean")


def quadrature_moments(log_density, center: float, scale: float) -> tuple[float, float]:
    """Mean and variance of the density proportional to exp(log_density) by quadrature."""
    lower, upper = center - 40 * scale, center + 40 * scale
    peak = log_density(center)
    kernel = [
        integrate.quad(lambda u, k=k: u**k * np.exp(log_density(u) - peak), lower, upper,
                       points=[center], limit=200)[0]
        for k in range(3)
    ]  # fmt: skip
    mean = kernel[1] / kernel[0]
    return mean, kernel[2] / kernel[0] - mean**2


# --------------------------------------------------------------------------- Normal-Normal


@pytest.mark.parametrize(
    ("mu_0", "sigma_0", "sigma", "y"),
    [(0.0, 1.0, 1.0, 2.0), (20.0, 5.0, 3.0, 31.0), (-4.0, 0.3, 7.0, 10.0), (1.5, 9.0, 0.2, -3.0)],
)
def test_single_observation_posterior_matches_quadrature(single, mu_0, sigma_0, sigma, y):
    """Posterior mean and variance of u agree with quadrature of prior x likelihood."""

    def log_density(u):
        return stats.norm.logpdf(u, mu_0, sigma_0) + stats.norm.logpdf(y, u, sigma)

    scale = min(sigma_0, sigma)
    mean, variance = quadrature_moments(log_density, y if sigma < sigma_0 else mu_0, scale)
    values = dict(mu_0=mu_0, sigma_0=sigma_0, sigma=sigma, y=y)
    assert single.function("mean")(**values) == pytest.approx(mean, rel=1e-8, abs=1e-8)
    variance_values = dict(sigma_0=sigma_0, sigma=sigma)
    assert single.function("variance")(**variance_values) == pytest.approx(variance, rel=1e-7)
    assert 1 / single.function("precision")(**variance_values) == pytest.approx(variance, rel=1e-7)


def test_single_observation_posterior_matches_simulation(single):
    """Regressing simulated u on y recovers slope 1 - t, intercept t mu_0, residual variance.

    For jointly Normal (u, y), E[u | y] is linear in y and Var(u | y) is constant, so least
    squares on 200,000 simulated pairs estimates them; tolerances are 5 standard errors.
    """
    mu_0, sigma_0, sigma = 20.0, 5.0, 3.0
    rng = np.random.default_rng(RNG_SEED)
    u = rng.normal(mu_0, sigma_0, 200_000)
    y = rng.normal(u, sigma)
    slope, intercept = np.polyfit(y, u, 1)
    residual_var = np.var(u - (intercept + slope * y), ddof=2)
    t = float(single.function("prior_weight")(sigma_0=sigma_0, sigma=sigma))
    variance = float(single.function("variance")(sigma_0=sigma_0, sigma=sigma))
    slope_se = np.sqrt(variance / (u.size * np.var(y)))
    assert slope == pytest.approx(1 - t, abs=5 * slope_se)
    assert intercept == pytest.approx(t * mu_0, abs=5 * slope_se * np.sqrt(np.mean(y**2)))
    assert residual_var == pytest.approx(variance, rel=5 * np.sqrt(2 / u.size))


def test_prior_weight_in_terms_of_rho(single):
    """The displayed t = 1/(1 + rho^2) with rho = sigma_0/sigma equals the prior weight."""
    last = single.steps[-1]
    weight = single["prior_weight"]
    rho = single.symbols["rho"]
    as_rho = last.expression.subs(rho, single.symbols["sigma_0"] / single.symbols["sigma"])
    for sigma_0, sigma in [(1.0, 1.0), (5.0, 3.0), (0.1, 8.0)]:
        values = {single.symbols["sigma_0"]: sigma_0, single.symbols["sigma"]: sigma}
        expected = 1 / (1 + (sigma_0 / sigma) ** 2)
        assert float(weight.subs(values)) == pytest.approx(expected, rel=1e-14)
        assert float(as_rho.subs(values)) == pytest.approx(expected, rel=1e-14)


def test_group_mean_posterior_depends_on_the_data_only_through_their_mean(group_mean):
    """Two samples with the same mean and different spread have the posterior of the formula.

    The reference multiplies the Normal likelihood of each observation (not of the mean)
    with the prior and integrates by quadrature.
    """
    mu, tau, sigma = 70.0, 6.0, 12.0
    rng = np.random.default_rng(RNG_SEED)
    narrow = 62.0 + rng.normal(0, 1, 5)
    wide = 62.0 + rng.normal(0, 30, 5)
    samples = [sample - sample.mean() + 62.0 for sample in (narrow, wide)]
    for sample in samples:

        def log_density(theta, sample=sample):
            return stats.norm.logpdf(theta, mu, tau) + stats.norm.logpdf(sample, theta, sigma).sum()

        mean, variance = quadrature_moments(log_density, 62.0, 3.0)
        values = dict(mu=mu, tau=tau, sigma=sigma, n=5, ybar=62.0)
        assert group_mean.function("mean")(**values) == pytest.approx(mean, rel=1e-9)
        variance_values = dict(tau=tau, sigma=sigma, n=5)
        assert group_mean.function("variance")(**variance_values) == pytest.approx(
            variance, rel=1e-7
        )


def test_shrinkage_factor_is_the_weight_of_mu(group_mean):
    """B = (sigma^2/n) / (sigma^2/n + tau^2), and the mean is B mu + (1 - B) ybar."""
    rng = np.random.default_rng(RNG_SEED)
    for _ in range(5):
        mu, ybar = rng.normal(0, 10, 2)
        tau, sigma = rng.uniform(0.1, 10, 2)
        n = int(rng.integers(1, 50))
        standard_error2 = sigma**2 / n
        expected_b = standard_error2 / (standard_error2 + tau**2)
        b = group_mean.function("shrinkage")(tau=tau, sigma=sigma, n=n)
        assert b == pytest.approx(expected_b, rel=1e-12)
        mean = group_mean.function("mean")(mu=mu, tau=tau, sigma=sigma, n=n, ybar=ybar)
        assert mean == pytest.approx(expected_b * mu + (1 - expected_b) * ybar, rel=1e-10)


def test_shrinkage_limits(group_mean):
    """B -> 1 as tau -> 0, B -> 0 as tau -> oo or n -> oo, in the steps and numerically."""
    limits = [step.expression for step in group_mean.steps if step.description == "limit"]
    assert limits == [1, 0, 0]
    b = group_mean.function("shrinkage")
    assert b(tau=1e-8, sigma=1.0, n=10) == pytest.approx(1.0, abs=1e-14)
    assert b(tau=1e8, sigma=1.0, n=10) < 1e-16
    assert b(tau=1.0, sigma=1.0, n=1e12) < 1e-11


def test_normal_normal_posterior_rejects_unknown_data():
    """An unknown ``data`` option raises a ValueError naming it."""
    with pytest.raises(ValueError, match="data"):
        symbolic.normal_normal_posterior(data="many")


# --------------------------------------------------------------------------- pooling weight


def simulated_weight(n: int, sigma: float, tau: float, grand_mean_var: float, size: int, rng):
    """The w minimising the empirical squared error of w ybar + (1 - w) m on simulated groups.

    theta ~ N(mu, tau), ybar ~ N(theta, sigma/sqrt(n)), m ~ N(mu, sqrt(grand_mean_var))
    independent; the empirical risk is a quadratic in w whose minimiser is
    mean((theta - m)(ybar - m)) / mean((ybar - m)^2).
    """
    mu = 3.0
    theta = rng.normal(mu, tau, size)
    ybar = rng.normal(theta, sigma / np.sqrt(n))
    m = rng.normal(mu, np.sqrt(grand_mean_var), size) if grand_mean_var > 0 else np.full(size, mu)
    return np.mean((theta - m) * (ybar - m)) / np.mean((ybar - m) ** 2)


@pytest.mark.parametrize(("n", "sigma", "tau"), [(1, 2.0, 1.0), (4, 12.0, 6.0), (20, 3.0, 0.5)])
def test_approximate_weight_minimises_simulated_error_with_known_mean(n, sigma, tau):
    """With mu known, the simulated optimal weight matches n tau^2 / (n tau^2 + sigma^2)."""
    weight = symbolic.optimal_pooling_weight(exact=False).function("weight")
    rng = np.random.default_rng([RNG_SEED, n])
    simulated = simulated_weight(n, sigma, tau, 0.0, 400_000, rng)
    assert simulated == pytest.approx(float(weight(n=n, sigma=sigma, tau=tau)), abs=0.006)


@pytest.mark.parametrize(("n", "sigma", "tau"), [(1, 2.0, 1.0), (4, 12.0, 6.0), (20, 3.0, 0.5)])
def test_exact_weight_minimises_simulated_error_with_estimated_mean(n, sigma, tau):
    """With m ~ N(mu, tau^2/n), the simulated optimum matches 1/(1 + sigma^2/((n+1) tau^2))."""
    weight = symbolic.optimal_pooling_weight(exact=True).function("weight")
    expected = 1 / (1 + sigma**2 / ((n + 1) * tau**2))
    assert float(weight(n=n, sigma=sigma, tau=tau)) == pytest.approx(expected, rel=1e-12)
    rng = np.random.default_rng([RNG_SEED, n, 1])
    simulated = simulated_weight(n, sigma, tau, tau**2 / n, 400_000, rng)
    assert simulated == pytest.approx(expected, abs=0.006)


def test_risk_expressions_match_simulation_and_are_minimised_by_the_weights():
    """R(w) equals the simulated mean squared error, and its numerical minimiser is w*."""
    n, sigma, tau = 3, 4.0, 2.0
    rng = np.random.default_rng(RNG_SEED)
    size = 400_000
    theta = rng.normal(0.0, tau, size)
    ybar = rng.normal(theta, sigma / np.sqrt(n))
    m = rng.normal(0.0, tau / np.sqrt(n), size)
    for exact, grand_mean in [(False, 0.0), (True, m)]:
        derivation = symbolic.optimal_pooling_weight(exact=exact)
        risk = derivation.function("risk")
        for w in (0.1, 0.5, 0.9):
            losses = (theta - (w * ybar + (1 - w) * grand_mean)) ** 2
            standard_error = losses.std() / np.sqrt(size)
            assert float(risk(w=w, n=n, sigma=sigma, tau=tau)) == pytest.approx(
                losses.mean(), abs=4 * standard_error
            )
        best = optimize.minimize_scalar(
            lambda w, risk=risk: float(risk(w=w, n=n, sigma=sigma, tau=tau)),
            bounds=(0, 1),
            method="bounded",
            options={"xatol": 1e-12},
        )
        weight = derivation.function("weight")(n=n, sigma=sigma, tau=tau)
        assert best.x == pytest.approx(float(weight), abs=1e-8)


def test_general_weight_reduces_to_both_special_cases():
    """(tau^2 + V)/(tau^2 + V + sigma^2/n) gives the textbook weight at V = 0, n+1 at tau^2/n."""
    exact = symbolic.optimal_pooling_weight(exact=True)
    general = exact.function("weight_general")
    approximate = symbolic.optimal_pooling_weight(exact=False).function("weight")
    for n, sigma, tau in [(1, 1.0, 1.0), (7, 10.0, 3.0), (50, 0.5, 2.0)]:
        assert general(V=0.0, n=n, sigma=sigma, tau=tau) == pytest.approx(
            approximate(n=n, sigma=sigma, tau=tau), rel=1e-12
        )
        assert general(V=tau**2 / n, n=n, sigma=sigma, tau=tau) == pytest.approx(
            (n + 1) * tau**2 / ((n + 1) * tau**2 + sigma**2), rel=1e-12
        )


def test_optimal_pooling_weight_needs_a_boolean():
    """exact must be a bool: anything else raises a TypeError naming it."""
    with pytest.raises(TypeError, match="exact"):
        symbolic.optimal_pooling_weight(exact="yes")


# --------------------------------------------------------------------------- Jacobian


@pytest.mark.parametrize("J", [1, 3, 8])
def test_noncentered_jacobian_matches_finite_differences(J):
    """The symbolic determinant equals that of a central-difference Jacobian of the map."""
    derivation = symbolic.noncentered_jacobian(J)
    rng = np.random.default_rng([RNG_SEED, J])
    mu, tau = rng.normal(), rng.uniform(0.2, 3.0)
    z = rng.normal(size=J)

    def transform(point):
        return np.concatenate([point[:2], point[0] + point[1] * point[2:]])

    point = np.concatenate([[mu, tau], z])
    step = 1e-6
    numeric = np.column_stack(
        [
            (transform(point + step * e) - transform(point - step * e)) / (2 * step)
            for e in np.eye(J + 2)
        ]
    )
    determinant = float(derivation["determinant"].subs(derivation.symbols["tau"], tau))
    assert determinant == pytest.approx(np.linalg.det(numeric), rel=1e-8)
    assert determinant == pytest.approx(tau**J, rel=1e-12)
    assert derivation["jacobian"].shape == (J + 2, J + 2)


def test_transformed_density_is_standard_normal():
    """log p(theta | mu, tau) at mu + tau z, plus log tau, is the standard Normal log density."""
    derivation = symbolic.noncentered_jacobian(2)
    log_density = derivation.function("transformed_log_density")
    z = np.linspace(-4, 4, 9)
    np.testing.assert_allclose(log_density(z=z), stats.norm.logpdf(z), rtol=1e-13)
    # Directly from the centred density, for some mu and tau:
    mu, tau = 1.3, 0.4
    centred = stats.norm.logpdf(mu + tau * z, mu, tau) + np.log(tau)
    np.testing.assert_allclose(log_density(z=z), centred, rtol=1e-12)


@pytest.mark.parametrize(("J", "error"), [(0, ValueError), (-2, ValueError), (2.0, TypeError)])
def test_noncentered_jacobian_rejects_bad_J(J, error):
    """J must be a positive integer; the error names J."""
    with pytest.raises(error, match="J"):
        symbolic.noncentered_jacobian(J)


# --------------------------------------------------------------------------- random intercept


def penalised_least_squares(y, x, group, sigma_y, sigma_alpha):
    """Maximise the joint log density of (y, alpha) over (alpha, beta, mu_alpha) numerically.

    Written as one weighted least-squares problem: rows y_ij ~ alpha_j + beta x_ij with
    weight 1/sigma_y, and rows 0 ~ alpha_j - mu_alpha with weight 1/sigma_alpha.
    """
    groups = np.unique(group)
    n_obs, n_groups = y.size, groups.size
    design = np.zeros((n_obs + n_groups, n_groups + 2))
    target = np.zeros(n_obs + n_groups)
    for k, g in enumerate(groups):
        design[:n_obs, k] = (group == g) / sigma_y
        design[n_obs + k, k] = 1 / sigma_alpha
        design[n_obs + k, -1] = -1 / sigma_alpha
    design[:n_obs, n_groups] = x / sigma_y
    target[:n_obs] = y / sigma_y
    solution = np.linalg.lstsq(design, target, rcond=None)[0]
    return solution[:n_groups], solution[n_groups], solution[-1]


def test_random_intercept_estimates_solve_the_joint_mode():
    """alpha_j, beta and mu_alpha from the formulas equal a numerical joint-mode solution."""
    derivation = symbolic.random_intercept_estimates()
    rng = np.random.default_rng(RNG_SEED)
    sizes = np.array([2, 5, 9, 30])
    group = np.repeat(np.arange(sizes.size), sizes)
    x = rng.normal(1.0, 2.0, group.size)
    alpha_true = rng.normal(5.0, 1.5, sizes.size)
    y = alpha_true[group] + 0.7 * x + rng.normal(0, 2.0, group.size)
    sigma_y, sigma_alpha = 2.0, 1.5
    alpha, beta, mu_alpha = penalised_least_squares(y, x, group, sigma_y, sigma_alpha)

    alpha_formula = derivation.function("alpha")
    for j, n in enumerate(sizes):
        in_group = group == j
        value = alpha_formula(
            n=n,
            ybar=y[in_group].mean(),
            xbar=x[in_group].mean(),
            beta=beta,
            mu_alpha=mu_alpha,
            sigma_y=sigma_y,
            sigma_alpha=sigma_alpha,
        )
        assert value == pytest.approx(alpha[j], rel=1e-9)

    # beta and mu_alpha: expand the derived sums over these groups and substitute the data.
    values = {"alpha": alpha, "y": y, "x": x}
    for name, expected in [("beta", beta), ("mu_alpha", mu_alpha)]:
        value = evaluate_sums(derivation[name], sizes, group, values)
        assert value == pytest.approx(expected, rel=1e-9)


def evaluate_sums(expression, sizes, group, values):
    """Evaluate sums over groups j = 1..J and observations i = 1..n_j on concrete data."""
    symbols = {str(s): s for s in expression.free_symbols}
    n = sp.IndexedBase("n")
    bounds = {symbols["J"]: len(sizes)} | {n[j + 1]: int(size) for j, size in enumerate(sizes)}

    def explicit(summand, limits):
        if not limits:
            return summand
        *inner, (index, lower, upper) = limits  # the outermost sum is listed last
        total = sp.Integer(0)
        for k in range(int(lower.subs(bounds)), int(upper.subs(bounds)) + 1):
            narrowed = [(i, a.subs(index, k), b.subs(index, k)) for i, a, b in inner]
            total += explicit(summand.subs(index, k), narrowed)
        return total

    expanded = expression.replace(
        lambda e: isinstance(e, sp.Sum), lambda e: explicit(e.function, list(e.limits))
    ).subs(bounds)
    position = np.concatenate([np.arange(size) for size in sizes])
    substitutions = {}
    for indexed in expanded.atoms(sp.Indexed):
        name, indices = str(indexed.base), [int(k) for k in indexed.indices]
        if name == "alpha":
            substitutions[indexed] = values["alpha"][indices[0] - 1]
        else:  # y[i, j] or x[i, j]: observation i of group j
            row = np.flatnonzero((group == indices[1] - 1) & (position == indices[0] - 1))[0]
            substitutions[indexed] = values[name][row]
    return float(expanded.subs(substitutions))


def test_random_intercept_weight_grows_with_data():
    """w_j = n sigma_alpha^2 / (n sigma_alpha^2 + sigma_y^2): 0 with no data, 1 as n -> oo."""
    weight = symbolic.random_intercept_estimates().function("weight")
    assert weight(n=0, sigma_alpha=1.0, sigma_y=3.0) == 0
    assert weight(n=9, sigma_alpha=1.0, sigma_y=3.0) == pytest.approx(0.5)
    assert weight(n=1e12, sigma_alpha=1.0, sigma_y=3.0) == pytest.approx(1.0, abs=1e-11)


# --------------------------------------------------------------------------- Derivation API


def test_derivation_displays_its_steps_as_latex(single):
    """latex() is an aligned block with one line per step; _repr_latex_ wraps it in $...$."""
    latex = single.latex()
    assert latex.startswith("\\begin{aligned}") and latex.endswith("\\end{aligned}")
    assert latex.count("\\\\\n") == len(single.steps) - 1
    assert single._repr_latex_().startswith("$\\displaystyle \\begin{aligned}")


def test_derivation_function_checks_its_arguments(single):
    """function() names the missing and unexpected keyword arguments, and unknown results."""
    mean = single.function("mean")
    with pytest.raises(TypeError, match="missing \\['y'\\]"):
        mean(mu_0=0.0, sigma_0=1.0, sigma=1.0)
    with pytest.raises(TypeError, match="unexpected \\['tau'\\]"):
        mean(mu_0=0.0, sigma_0=1.0, sigma=1.0, y=0.0, tau=1.0)
    with pytest.raises(ValueError, match="name must be one of the results .*'median'"):
        single.function("median")
    with pytest.raises(KeyError, match="no result 'median'"):
        single["median"]
    with pytest.raises(ValueError, match="not a scalar expression"):
        symbolic.random_intercept_estimates().function("beta")
