"""MCMC fits of the hierarchical Dirichlet-Multinomial model (slow).

The full model (region proportions sampled) and the marginal model (integrated out) have
the same posterior of alpha and pi0, so two independent fits must agree within Monte Carlo
error, and both must agree with the exact posterior (quadrature over alpha and pi0).
Given alpha and pi0, each region's proportions are Dirichlet(alpha pi0 + y_r), so
E[pi_r | y] = E[(alpha pi0 + y_r) / (alpha + n_r) | y]: an estimate from the marginal fit
that the full fit's means of pi_r must match. Every comparison allows 4 Monte Carlo
standard errors (two-sided, about 6e-5 false alarms per quantity), raised for tests of many
quantities so that each test's false-alarm rate stays below 1e-3 (``mcse_threshold``). The
sampler seeds come from the ``mcmc_seed`` fixture, so a seed sweep reruns every fit.
"""

import arviz as az
import numpy as np
import pytest
import xarray as xr
from conftest import assert_converged, mcse_threshold

from companion import data, exact, models, sampling

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("no_fast_mode")]

SEEDS = (1, 2, 3)
"""Survey seeds; the full model is fitted to the first, the marginal model to all."""


def _fit(counts, *, marginal: bool, seed: int) -> xr.DataTree:
    model = models.dirichlet_multinomial(counts, marginal=marginal, dims=("region", "category"))
    return sampling.sample(model, random_seed=seed, target_accept=0.95, log_likelihood=False)


@pytest.fixture(scope="module")
def surveys():
    return {seed: data.simulate_survey(seed=seed) for seed in SEEDS}


@pytest.fixture(scope="module")
def full_fit(surveys, mcmc_seed):
    return _fit(surveys[SEEDS[0]].counts, marginal=False, seed=mcmc_seed)


@pytest.fixture(scope="module")
def marginal_fits(surveys, mcmc_seed):
    return {
        seed: _fit(surveys[seed].counts, marginal=True, seed=mcmc_seed + seed) for seed in SEEDS
    }


def _conditional_means(idata: xr.DataTree, counts) -> xr.DataArray:
    """Per draw, E[pi_r | alpha, pi0, y] = (alpha pi0 + y_r) / (alpha + n_r)."""
    posterior = idata.posterior
    y = xr.DataArray(counts.to_numpy(), dims=("region", "category"))
    n = y.sum("category")
    means = (posterior["alpha"] * posterior["pi0"] + y) / (posterior["alpha"] + n)
    return means.transpose("chain", "draw", "region", "category")


def _mean_and_mcse(draws: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    other_dims = [d for d in draws.dims if d not in ("chain", "draw")]
    mcse = az.mcse(xr.Dataset({"x": draws}))["x"].transpose(*other_dims)
    return draws.mean(("chain", "draw")).values, np.asarray(mcse.values)


@pytest.mark.mcmc
def test_fits_converge(full_fit, marginal_fits):
    """Every fit (4 chains x 1000 draws) passes the course's convergence checks (no
    divergences, R-hat < 1.01, bulk and tail ESS >= 100 per chain)."""
    for idata in [full_fit, *marginal_fits.values()]:
        assert_converged(idata)


@pytest.mark.mcmc(quantities=4, within=4)
@pytest.mark.parametrize("name", ["alpha", "pi0"])
def test_marginal_and_full_models_agree_on_hyperparameters(full_fit, marginal_fits, name):
    """The posterior means of alpha and of each pi0_k from the full and the marginal model
    differ by less than 4 combined Monte Carlo standard errors."""
    full_mean, full_mcse = _mean_and_mcse(full_fit.posterior[name])
    marginal_mean, marginal_mcse = _mean_and_mcse(marginal_fits[SEEDS[0]].posterior[name])
    tolerance = 4 * np.sqrt(full_mcse**2 + marginal_mcse**2)
    assert np.all(np.abs(full_mean - marginal_mean) < tolerance)


@pytest.mark.mcmc(quantities=24, within=mcse_threshold(24))
def test_full_model_proportions_match_their_conjugate_recovery(surveys, full_fit, marginal_fits):
    """The full fit's posterior means of pi_r equal E[(alpha pi0 + y_r) / (alpha + n_r)]
    estimated from the marginal fit, within mcse_threshold(24) (4.1) combined Monte Carlo
    standard errors."""
    counts = surveys[SEEDS[0]].counts
    full_mean, full_mcse = _mean_and_mcse(full_fit.posterior["pi"])
    recovered, recovered_mcse = _mean_and_mcse(_conditional_means(marginal_fits[SEEDS[0]], counts))
    tolerance = mcse_threshold(24) * np.sqrt(full_mcse**2 + recovered_mcse**2)
    assert np.all(np.abs(full_mean - recovered) < tolerance)


def _assert_between(posterior_mean, mcse, raw, pi0_mean):
    """Each posterior mean lies between the raw proportion and pi0's posterior mean, up to
    4 MCSE; entries where the two ends are within 0.01 are skipped (there the covariance of
    the weight alpha / (alpha + n) with pi0, at most about 0.002, could decide the order)."""
    clear = np.abs(raw - pi0_mean) > 0.01
    low, high = np.minimum(raw, pi0_mean), np.maximum(raw, pi0_mean)
    slack = 4 * mcse
    inside = (posterior_mean >= low - slack) & (posterior_mean <= high + slack)
    assert clear.sum() >= posterior_mean.size // 2, "too few entries to test"
    assert np.all(inside[clear]), np.argwhere(clear & ~inside)


@pytest.mark.mcmc(quantities=24, within=4)
@pytest.mark.parametrize("seed", SEEDS)
def test_group_means_lie_between_raw_proportions_and_pi0(surveys, marginal_fits, seed):
    """For every survey, each region's posterior mean proportion (from the marginal fit and
    the conjugate recovery) lies between its raw proportion and the posterior mean of pi0:
    partial pooling on the simplex."""
    counts = surveys[seed].counts
    idata = marginal_fits[seed]
    means, mcse = _mean_and_mcse(_conditional_means(idata, counts))
    raw = (counts / counts.sum(axis=1).to_numpy()[:, None]).to_numpy()
    pi0_mean = idata.posterior["pi0"].mean(("chain", "draw")).values
    _assert_between(means, mcse, raw, pi0_mean)


@pytest.mark.mcmc(quantities=24, within=4)
def test_full_model_group_means_lie_between_raw_proportions_and_pi0(surveys, full_fit):
    """The same property for the full model's sampled pi_r."""
    counts = surveys[SEEDS[0]].counts
    means, mcse = _mean_and_mcse(full_fit.posterior["pi"])
    raw = (counts / counts.sum(axis=1).to_numpy()[:, None]).to_numpy()
    pi0_mean = full_fit.posterior["pi0"].mean(("chain", "draw")).values
    _assert_between(means, mcse, raw, pi0_mean)


@pytest.mark.mcmc(quantities=58, within=mcse_threshold(58))
def test_both_fits_match_the_exact_posterior(surveys, full_fit, marginal_fits):
    """The posterior means of alpha, pi0 and pi from the full fit, and of alpha, pi0 and
    the recovered E[pi_r] from the marginal fit, are within mcse_threshold(58) (4.3) MCSE
    of the exact ones (exact.dirichlet_multinomial_hierarchy, accurate to about 1e-6)."""
    counts = surveys[SEEDS[0]].counts
    posterior = exact.dirichlet_multinomial_hierarchy(counts)
    marginal = marginal_fits[SEEDS[0]]
    estimates = {
        ("full", "alpha"): full_fit.posterior["alpha"],
        ("full", "pi0"): full_fit.posterior["pi0"],
        ("full", "pi"): full_fit.posterior["pi"],
        ("marginal", "alpha"): marginal.posterior["alpha"],
        ("marginal", "pi0"): marginal.posterior["pi0"],
        ("marginal", "pi"): _conditional_means(marginal, counts),
    }
    for (fit, name), draws in estimates.items():
        mean, mcse = _mean_and_mcse(draws)
        error = np.abs(mean - posterior.mean[name]) / mcse
        assert np.all(error < mcse_threshold(58)), (fit, name, error.max())
