"""Tests of companion.sampling.CompiledModel: one compilation, many fits, same draws as sample().

The reference for the draws is companion.sampling.sample itself run through PyMC's own
route to nutpie (pm.sample), which compiles the model afresh: the two routes share nutpie
but not the code that seeds it, so equal draws show that CompiledModel seeds, configures
and labels the fit as pm.sample does.
"""

import numpy as np
import pytest
import xarray as xr

from companion import models, sampling

Y = np.array([1.0, 2.0, 3.0])
SIGMA = np.array([1.0, 1.0, 2.0])


@pytest.fixture(scope="module")
def model():
    return models.group_summaries(Y, SIGMA, groups=["a", "b", "c"], dim="school")


@pytest.fixture(scope="module")
def compiled(model):
    return sampling.CompiledModel(model)


def test_same_draws_as_sample(monkeypatch, model, compiled):
    """For the same seed, draws, tuning and target_accept, the compiled model's posterior
    equals the one sampling.sample(..., sampler="nutpie") returns, with the same groups,
    coordinates and tuning record."""
    monkeypatch.delenv(sampling.FAST_MODE_VARIABLE, raising=False)
    options = {"random_seed": 12, "draws": 80, "tune": 60, "target_accept": 0.85}
    reference = sampling.sample(model, sampler="nutpie", **options)
    fit = compiled.sample(**options)
    assert isinstance(fit, xr.DataTree)
    assert sorted(fit.children) == sorted(reference.children)
    for name in ("mu", "tau", "theta", "theta_offset"):
        np.testing.assert_array_equal(fit.posterior[name].values, reference.posterior[name].values)
    assert list(fit.posterior["theta"]["school"].values) == ["a", "b", "c"]
    assert fit.posterior.attrs["tuning_steps"] == 60
    np.testing.assert_array_equal(
        fit.log_likelihood["y"].values, reference.log_likelihood["y"].values
    )


def test_repeated_fits_differ_by_seed_and_setting(monkeypatch, compiled):
    """Reusing the compiled model: another seed gives other draws, the same seed the same
    ones; target_accept reaches the sampler (a higher target gives a smaller step size)."""
    monkeypatch.delenv(sampling.FAST_MODE_VARIABLE, raising=False)
    first = compiled.sample(random_seed=1, draws=50, tune=200, log_likelihood=False)
    again = compiled.sample(random_seed=1, draws=50, tune=200, log_likelihood=False)
    other = compiled.sample(random_seed=2, draws=50, tune=200, log_likelihood=False)
    np.testing.assert_array_equal(first.posterior["mu"].values, again.posterior["mu"].values)
    assert not np.array_equal(first.posterior["mu"].values, other.posterior["mu"].values)
    assert "log_likelihood" not in first.children
    careful = compiled.sample(
        random_seed=1, draws=50, tune=200, target_accept=0.99, log_likelihood=False
    )
    step = float(first.sample_stats["step_size"].mean())
    assert float(careful.sample_stats["step_size"].mean()) < step


def test_fast_mode_caps_draws_and_tune(monkeypatch, compiled):
    """With COMPANION_FAST=1, 400 draws and 350 tuning steps become 300 of each."""
    monkeypatch.setenv(sampling.FAST_MODE_VARIABLE, "1")
    fit = compiled.sample(random_seed=3, draws=400, tune=350, chains=1, log_likelihood=False)
    assert fit.posterior.sizes["draw"] == 300
    assert fit.posterior.attrs["tuning_steps"] == 300


def test_rejects_a_non_model():
    """Anything but a pymc.Model raises TypeError naming the argument."""
    with pytest.raises(TypeError, match=r"^model\b"):
        sampling.CompiledModel("model")
