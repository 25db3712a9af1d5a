"""Property and fuzz tests of companion.symbolic: the derivations evaluate to the
textbook formulas (written out here numerically) at random and extreme values, and bad
arguments are refused naming them."""

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from companion import symbolic

COVERED = {
    "symbolic.Derivation",
    "symbolic.Derivation.function",
    "symbolic.Step",
    "symbolic.noncentered_jacobian",
    "symbolic.normal_normal_posterior",
    "symbolic.optimal_pooling_weight",
    "symbolic.random_intercept_estimates",
}

FAST = settings(max_examples=30, deadline=None, derandomize=True)
positive = st.floats(-6, 6).map(lambda e: 10.0**e)


@FAST
@given(positive, positive, positive, st.floats(-1e6, 1e6), st.floats(-1e6, 1e6))
def test_posteriors_match_the_textbook_formulas(sigma_0, sigma, tau, y, mu_0):
    """BDA3 eqs 2.11-2.12 and the group-mean shrinkage factor, at scales 1e-6 to 1e6."""
    mean = _function("single", "mean")(mu_0=mu_0, sigma_0=sigma_0, sigma=sigma, y=y)
    expected = (mu_0 / sigma_0**2 + y / sigma**2) / (1 / sigma_0**2 + 1 / sigma**2)
    assert float(mean) == pytest.approx(expected, rel=1e-9, abs=1e-9 * (abs(y) + abs(mu_0)))
    shrink = _function("group", "shrinkage")(n=7, sigma=sigma, tau=tau)
    assert float(shrink) == pytest.approx(1 / (1 + 7 * tau**2 / sigma**2), rel=1e-9)


@FAST
@given(positive, positive, st.integers(1, 1000))
def test_optimal_weights_minimise_the_risk(sigma, tau, n):
    """The optimal weight beats its neighbours on the risk curve, and equals
    1 / (1 + sigma**2 / (n tau**2)) or 1 / (1 + sigma**2 / ((n + 1) tau**2))."""
    for key, k in (("approximate", n), ("exact", n + 1)):
        weight = float(_function(key, "weight")(n=n, sigma=sigma, tau=tau))
        assert weight == pytest.approx(1 / (1 + sigma**2 / (k * tau**2)), rel=1e-9)
        risk = _function(key, "risk")
        at = float(risk(w=weight, n=n, sigma=sigma, tau=tau))
        for other in (weight * 0.9, min(weight * 1.1, 1.0)):
            assert at <= float(risk(w=other, n=n, sigma=sigma, tau=tau)) * (1 + 1e-9)


@settings(max_examples=8, deadline=None, derandomize=True)
@given(st.integers(1, 12), st.floats(1e-3, 1e3))
def test_noncentered_jacobian_determinant_is_tau_to_the_j(J, tau):
    """The Jacobian matrix evaluated numerically has determinant tau**J (numpy)."""
    derivation = symbolic.noncentered_jacobian(J)
    matrix = derivation["jacobian"]
    values = {s: 0.3 for s in matrix.free_symbols} | {derivation.symbols["tau"]: tau}
    numeric = np.array(matrix.subs(values).evalf(), dtype=float)
    assert np.linalg.det(numeric) == pytest.approx(tau**J, rel=1e-9)


@pytest.mark.parametrize("J", [0, -1, 2.0, "3", True, None, 2**63])
def test_noncentered_jacobian_refuses_bad_j(J):
    """J must be a positive integer below 2**63."""
    with pytest.raises((ValueError, TypeError), match=r"\bJ\b"):
        symbolic.noncentered_jacobian(J)


@pytest.mark.parametrize("option", ["Single", "group", "", 1, None])
def test_bad_options_are_refused(option):
    """An unknown data option lists the allowed ones; exact must be a bool."""
    with pytest.raises(ValueError, match="data must be 'single' or 'group_mean'"):
        symbolic.normal_normal_posterior(data=option)
    with pytest.raises(TypeError, match="exact"):
        symbolic.optimal_pooling_weight(exact=option)


@FAST
@given(
    st.sampled_from(["n", "sigma", "tau"]),
    st.sampled_from([math.nan, math.inf, "2", True, 1j, None, [], [[1.0], [1.0, 2.0]]]),
)
def test_function_arguments_are_checked(argument, bad):
    """The NumPy function of a result refuses non-finite, non-real or ragged arguments
    naming them, and unknown result names with the list of results."""
    weight = _function("approximate", "weight")
    values = {"n": 4, "sigma": 2.0, "tau": 1.0} | {argument: bad}
    with pytest.raises((ValueError, TypeError), match=rf"\b{argument}\b"):
        weight(**values)
    with pytest.raises(ValueError, match=r"name must be one of the results"):
        _derivations()["approximate"].function("mean")


def test_random_intercept_weight_matches_gelman_hill():
    """w_j = n sigma_alpha**2 / (n sigma_alpha**2 + sigma_y**2) (Gelman & Hill 12.16)."""
    weight = _derivations()["intercept"].function("weight")
    for n, sa, sy in ((1, 1e-3, 1e3), (50, 2.0, 3.0), (10**6, 1e3, 1e-3)):
        expected = n * sa**2 / (n * sa**2 + sy**2)
        assert float(weight(n=n, sigma_alpha=sa, sigma_y=sy)) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("kind", "arguments", "argument"),
    [
        ("step", {"description": 3, "expression": sp.Integer(1)}, "description"),
        ("step", {"description": "x", "expression": "x + 1"}, "expression"),
        ("step", {"description": "x", "expression": sp.Integer(1), "lhs": 2}, "lhs"),
        ("derivation", {"results": {"a": 1.0}, "steps": (), "symbols": {}}, "results"),
        ("derivation", {"results": {}, "steps": ["s"], "symbols": {}}, "steps"),
        ("derivation", {"results": {}, "steps": (), "symbols": {"x": 1}}, "symbols"),
    ],
)
def test_dataclasses_refuse_bad_fields(kind, arguments, argument):
    """Step and Derivation check the types of their fields, naming the field."""
    cls = symbolic.Step if kind == "step" else symbolic.Derivation
    with pytest.raises(TypeError, match=argument):
        cls(**arguments)


def test_dataclasses_accept_good_fields():
    """A hand-built Step and Derivation render as LaTeX and evaluate."""
    x = sp.Symbol("x", positive=True)
    step = symbolic.Step("square", x**2, "f")
    derivation = symbolic.Derivation(results={"f": x**2}, steps=(step,), symbols={"x": x})
    assert "f = x^{2}" in derivation.latex()
    assert float(derivation.function("f")(x=3.0)) == 9.0


_CACHE = {}


def _derivations():
    """The derivations, computed once per session (hypothesis cannot use fixtures)."""
    if not _CACHE:
        _CACHE.update(
            single=symbolic.normal_normal_posterior(data="single"),
            group=symbolic.normal_normal_posterior(data="group_mean"),
            approximate=symbolic.optimal_pooling_weight(exact=False),
            exact=symbolic.optimal_pooling_weight(exact=True),
            intercept=symbolic.random_intercept_estimates(),
        )
    return _CACHE


_FUNCTIONS = {}


def _function(key, name):
    """The NumPy function of one result, compiled once."""
    if (key, name) not in _FUNCTIONS:
        _FUNCTIONS[key, name] = _derivations()[key].function(name)
    return _FUNCTIONS[key, name]
