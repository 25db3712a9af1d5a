"""Tests of the builders of the chapter "Beyond one intercept" (companion.models).

Each log density is checked against the model written out by hand with scipy.stats at one
point: the priors scaled to the data as the builders document them (rstanarm's defaults)
and the Normal likelihood. No MCMC here.
"""

import numpy as np
import pytest
from scipy import stats

from companion import models

Y = np.array([1.0, 2.5, 0.5, 3.0, 1.5, 2.0, 0.2, 1.1])
X = np.array([0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0])
GROUPS = np.array(["b", "b", "a", "a", "c", "c", "c", "a"])
U = np.array([0.3, 0.3, -0.2, -0.2, 0.9, 0.9, 0.9, -0.2])  # one value per group
CODES = np.array([1, 1, 0, 0, 2, 2, 2, 0])  # sorted labels a, b, c


def test_varying_intercepts_structure():
    """Variables, dims and coords follow the docstring; groups are sorted labels."""
    model = models.varying_intercepts(Y, X, GROUPS, group_predictor=U, dim="county")
    assert sorted(model.named_vars) == [
        "alpha", "alpha_offset", "beta", "gamma", "mu", "sigma", "tau", "y",
    ]  # fmt: skip
    assert list(model.coords["county"]) == ["a", "b", "c"]
    assert model.named_vars_to_dims["alpha"] == ("county",)
    assert model.named_vars_to_dims["y"] == ("obs_id",)


def test_varying_intercepts_logp_matches_hand_formula():
    """The joint log density at one point equals the hand-written model."""
    model = models.varying_intercepts(Y, X, GROUPS, group_predictor=U)
    mu, beta, gamma, tau, sigma = 1.2, -0.4, 0.7, 0.5, 0.8
    offset = np.array([0.3, -1.1, 0.6])
    point = {
        "mu": mu, "beta": beta, "gamma": gamma, "tau_log__": np.log(tau),
        "alpha_offset": offset, "sigma_log__": np.log(sigma),
    }  # fmt: skip
    s_y, s_x, s_u = Y.std(), X.std(), np.array([-0.2, 0.3, 0.9]).std()
    u_group = np.array([-0.2, 0.3, 0.9])
    alpha = mu + gamma * u_group + tau * offset
    expected = (
        stats.norm.logpdf(mu, Y.mean(), 2.5 * s_y)
        + stats.norm.logpdf(beta, 0, 2.5 * s_y / s_x)
        + stats.norm.logpdf(gamma, 0, 2.5 * s_y / s_u)
        + stats.halfnorm.logpdf(tau, scale=s_y)
        + stats.norm.logpdf(offset).sum()
        + stats.halfnorm.logpdf(sigma, scale=s_y)
        + stats.norm.logpdf(Y, alpha[CODES] + beta * X, sigma).sum()
    )
    actual = model.compile_logp(jacobian=False)(point)
    assert actual == pytest.approx(expected, rel=1e-10)


def test_varying_intercepts_rejects_bad_input():
    """A group predictor that varies within a group, or mismatched lengths, are refused
    with the argument's name."""
    varying = U.copy()
    varying[0] = 5.0
    with pytest.raises(ValueError, match="group_predictor"):
        models.varying_intercepts(Y, X, GROUPS, group_predictor=varying)
    with pytest.raises(ValueError, match="x must"):
        models.varying_intercepts(Y, X[:-1], GROUPS)
    with pytest.raises(ValueError, match="x is constant"):
        models.varying_intercepts(Y, np.ones_like(X), GROUPS)


def test_varying_slopes_structure():
    """Group effects have dims (group, coef); sds and the correlation are named."""
    model = models.varying_slopes(Y, X, GROUPS, dim="subject")
    assert model.named_vars_to_dims["b"] == ("subject", "coef")
    assert model.named_vars_to_dims["sds"] == ("coef",)
    assert list(model.coords["coef"]) == ["intercept", "slope"]
    assert {"beta", "chol", "correlation", "z", "sigma", "y"} <= set(model.named_vars)


def test_varying_slopes_logp_at_zero_effects():
    """With z = 0 the group effects vanish: the likelihood, beta's and z's priors match
    the hand-written Normal densities (the LKJ factor does not enter these terms)."""
    model = models.varying_slopes(Y, X, GROUPS)
    beta, sigma = np.array([1.5, 0.4]), 0.9
    point = model.initial_point()
    point.update({"beta": beta, "z": np.zeros((3, 2)), "sigma_log__": np.log(sigma)})
    s_y, s_x = Y.std(), X.std()
    expected = (
        stats.norm.logpdf(beta, [Y.mean(), 0], [2.5 * s_y, 2.5 * s_y / s_x]).sum()
        + stats.norm.logpdf(np.zeros(6)).sum()
        + stats.halfnorm.logpdf(sigma, scale=s_y)
        + stats.norm.logpdf(Y, beta[0] + beta[1] * X, sigma).sum()
    )
    terms = [model["beta"], model["z"], model["sigma"], model["y"]]
    actual = model.compile_logp(vars=terms, jacobian=False)(point)
    assert actual == pytest.approx(expected, rel=1e-10)


def test_varying_slopes_rejects_bad_eta():
    """eta must be positive; the error names it."""
    with pytest.raises(ValueError, match="eta"):
        models.varying_slopes(Y, X, GROUPS, eta=0.0)


def test_variance_components_logp_matches_hand_formula():
    """Two crossed components: the joint log density equals the hand-written model."""
    rows = np.array(list("aabbaabb"))
    columns = np.array(list("cdcdcdcd"))
    model = models.variance_components(Y, {"row": rows, "column": columns})
    assert model.named_vars_to_dims["row_effect"] == ("row",)
    mu, tau_r, tau_c, sigma = 1.4, 0.6, 0.3, 0.7
    z_r, z_c = np.array([0.5, -0.2]), np.array([1.0, -0.7])
    point = {
        "mu": mu, "tau_row_log__": np.log(tau_r), "row_offset": z_r,
        "tau_column_log__": np.log(tau_c), "column_offset": z_c,
        "sigma_log__": np.log(sigma),
    }  # fmt: skip
    s_y = Y.std()
    r_code = (rows == "b").astype(int)
    c_code = (columns == "d").astype(int)
    mean = mu + tau_r * z_r[r_code] + tau_c * z_c[c_code]
    expected = (
        stats.norm.logpdf(mu, Y.mean(), 2.5 * s_y)
        + stats.halfnorm.logpdf([tau_r, tau_c, sigma], scale=s_y).sum()
        + stats.norm.logpdf(np.r_[z_r, z_c]).sum()
        + stats.norm.logpdf(Y, mean, sigma).sum()
    )
    actual = model.compile_logp(jacobian=False)(point)
    assert actual == pytest.approx(expected, rel=1e-10)


def test_variance_components_rejects_bad_components():
    """Non-identifier names, one-level components and a non-dict are refused."""
    with pytest.raises(ValueError, match="identifiers"):
        models.variance_components(Y, {"batch:cask": GROUPS})
    with pytest.raises(ValueError, match="at least 2 levels"):
        models.variance_components(Y, {"one": ["a"] * Y.size})
    with pytest.raises(TypeError, match="components"):
        models.variance_components(Y, [GROUPS])
