"""Tests of companion.sampling.sample: fast mode, sizes, groups, seeding and bad input.

All fits are of a three-group model and are tiny (at most a few hundred draws), since only
the bookkeeping is under test here; whether the draws are right is checked against the exact
posterior in tests/test_exact_vs_mcmc.py. Sizes are read from the returned posterior and
from the sampler's own record of its tuning steps (``posterior.attrs["tuning_steps"]``).
"""

import numpy as np
import pymc as pm
import pytest
import xarray as xr
from scipy import stats

from companion.models import group_summaries
from companion.sampling import FAST_MODE_VARIABLE, fast_mode, sample

Y = np.array([1.0, 2.0, 3.0])
SIGMA = np.array([1.0, 1.0, 2.0])


@pytest.fixture
def tiny_model() -> pm.Model:
    return group_summaries(Y, SIGMA, groups=["a", "b", "c"], dim="school")


@pytest.fixture(scope="module")
def default_fit() -> xr.DataTree:
    """A small fit with fast mode off and the default sampler, shared by several tests."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(FAST_MODE_VARIABLE, raising=False)
        model = group_summaries(Y, SIGMA, groups=["a", "b", "c"], dim="school")
        return sample(model, random_seed=11, draws=60, tune=60, chains=2)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", True), ("true", True), ("YES", True), (" 1 ", True), ("0", False), ("", False)],
)
def test_fast_mode_reads_environment_variable(monkeypatch, value, expected):
    """COMPANION_FAST=1/true/yes (any case, surrounding blanks ignored) switches fast mode
    on; 0 or empty leaves it off."""
    monkeypatch.setenv(FAST_MODE_VARIABLE, value)
    assert fast_mode() is expected


def test_fast_mode_off_when_variable_unset(monkeypatch):
    """Without the environment variable, fast mode is off."""
    monkeypatch.delenv(FAST_MODE_VARIABLE, raising=False)
    assert fast_mode() is False


def test_fast_mode_caps_draws_and_tune_at_300(monkeypatch, tiny_model):
    """With COMPANION_FAST=1, asking for 400 draws and 350 tuning steps gives 300 of each
    per chain; the number of chains is untouched."""
    monkeypatch.setenv(FAST_MODE_VARIABLE, "1")
    idata = sample(tiny_model, random_seed=3, draws=400, tune=350, chains=1)
    assert idata.posterior.sizes["draw"] == 300
    assert idata.posterior.sizes["chain"] == 1
    assert idata.posterior.attrs["tuning_steps"] == 300


def test_draws_tune_and_chains_honoured_without_fast_mode(monkeypatch, tiny_model):
    """With fast mode off, draws above the fast-mode cap, tune and chains are used as
    given, and the posterior carries the model's coordinate."""
    monkeypatch.delenv(FAST_MODE_VARIABLE, raising=False)
    idata = sample(tiny_model, random_seed=4, draws=320, tune=40, chains=3)
    assert dict(idata.posterior.sizes) == {"chain": 3, "draw": 320, "school": 3}
    assert idata.posterior.attrs["tuning_steps"] == 40
    assert list(idata.posterior["school"].values) == ["a", "b", "c"]


def test_default_fit_groups_and_sizes(default_fit):
    """The default fit has posterior, sample_stats (with divergences recorded),
    observed_data and log_likelihood groups, and the requested sizes."""
    assert {"posterior", "sample_stats", "observed_data", "log_likelihood"} <= set(
        default_fit.children
    )
    assert dict(default_fit.posterior.sizes) == {"chain": 2, "draw": 60, "school": 3}
    assert {"mu", "tau", "theta_offset", "theta"} <= set(default_fit.posterior.data_vars)
    assert "diverging" in default_fit.sample_stats
    np.testing.assert_array_equal(default_fit.observed_data["y"].values, Y)


def test_log_likelihood_is_pointwise_normal_density(default_fit):
    """The log_likelihood group holds log Normal(y_j | theta_j, sigma_j) for every draw and
    group, i.e. the pointwise values LOO needs (computed here with scipy from theta)."""
    log_lik = default_fit.log_likelihood["y"]
    theta = default_fit.posterior["theta"]
    assert log_lik.dims == ("chain", "draw", "school")
    expected = stats.norm.logpdf(Y, theta.transpose("chain", "draw", "school").values, SIGMA)
    np.testing.assert_allclose(log_lik.values, expected, rtol=1e-10, atol=1e-10)


def test_same_seed_same_draws_other_seed_other_draws(monkeypatch, default_fit):
    """Sampling the same model with the same seed reproduces every draw exactly; another
    seed gives different draws. log_likelihood=False leaves out the log_likelihood group."""
    monkeypatch.delenv(FAST_MODE_VARIABLE, raising=False)
    model = group_summaries(Y, SIGMA, groups=["a", "b", "c"], dim="school")
    again = sample(model, random_seed=11, draws=60, tune=60, chains=2)
    for name in ("mu", "tau", "theta"):
        np.testing.assert_array_equal(again.posterior[name].values, default_fit.posterior[name])

    other = sample(model, random_seed=12, draws=60, tune=60, chains=2, log_likelihood=False)
    assert not np.array_equal(other.posterior["mu"].values, default_fit.posterior["mu"].values)
    assert "log_likelihood" not in other.children
    assert "posterior" in other.children


def test_pymc_sampler_is_reproducible(monkeypatch, tiny_model):
    """sampler="pymc" uses PyMC's own NUTS (recorded as the inference library), honours the
    sizes, and the same seed reproduces its draws too."""
    monkeypatch.delenv(FAST_MODE_VARIABLE, raising=False)
    first = sample(tiny_model, random_seed=5, draws=50, tune=50, chains=2, sampler="pymc")
    second = sample(tiny_model, random_seed=5, draws=50, tune=50, chains=2, sampler="pymc")
    assert first.posterior.attrs["inference_library"] == "pymc"
    assert dict(first.posterior.sizes) == {"chain": 2, "draw": 50, "school": 3}
    np.testing.assert_array_equal(first.posterior["mu"].values, second.posterior["mu"].values)


def test_invalid_sampler_raises(tiny_model):
    """An unknown sampler name raises ValueError naming ``sampler``."""
    with pytest.raises(ValueError, match="^sampler"):
        sample(tiny_model, random_seed=1, sampler="stan")


@pytest.mark.parametrize("not_a_model", [None, "model", {"mu": 0.0}])
def test_non_model_raises(not_a_model):
    """Anything but a pymc.Model raises TypeError naming ``model``."""
    with pytest.raises(TypeError, match="^model"):
        sample(not_a_model, random_seed=1)
