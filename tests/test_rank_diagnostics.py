"""companion._rank_diagnostics against ArviZ's own per-quantity functions.

ArviZ (``arviz_stats.base.array_stats``) computes rank-normalised R-hat, bulk and tail ESS
and the MCSE of the mean one quantity at a time; the companion computes them for all
quantities at once. Both must agree to rounding on draws of every kind a fit produces:
independent, strongly autocorrelated, discrete with ties, constant, a stuck chain, chains
of odd length, two chains, non-finite draws. Tail ESS is compared at the 5% and 95%
quantiles, given to ArviZ explicitly.
"""

import numpy as np
import pytest
from arviz_stats.base import array_stats

from companion._rank_diagnostics import diagnostics


def _ar1(rng, chains, draws, phi, quantities):
    x = np.zeros((quantities, chains, draws))
    x[:, :, 0] = rng.normal(size=(quantities, chains))
    for t in range(1, draws):
        x[:, :, t] = phi * x[:, :, t - 1] + rng.normal(size=(quantities, chains))
    return x


def _cases():
    rng = np.random.default_rng(20261203)
    iid = rng.normal(size=(3, 4, 1000))
    sticky = _ar1(rng, 4, 1000, 0.97, 3)
    ties = rng.poisson(2.0, size=(3, 4, 500)).astype(float)
    constant = np.full((1, 4, 200), 2.5)
    stuck = rng.normal(size=(2, 4, 300))
    stuck[:, 1] = 0.7
    shifted = rng.normal(size=(2, 4, 400)) + np.arange(4)[None, :, None]
    odd = _ar1(rng, 4, 301, 0.5, 2)
    two_chains = rng.normal(size=(2, 2, 250))
    return {
        "iid": iid, "autocorrelated": sticky, "ties": ties, "constant": constant,
        "stuck chain": stuck, "chains disagree": shifted, "odd length": odd,
        "two chains": two_chains,
    }  # fmt: skip


@pytest.mark.parametrize(("case", "draws"), list(_cases().items()), ids=list(_cases()))
def test_every_column_equals_arviz(case, draws):
    mine = diagnostics(draws, tail_prob=0.9)
    with np.errstate(all="ignore"):
        expected = {
            "ess_bulk": array_stats.ess(draws, method="bulk"),
            "ess_tail": array_stats.ess(draws, method="tail", prob=(0.05, 0.95)),
            "r_hat": array_stats.rhat(draws, method="rank"),
            "mcse_mean": array_stats.mcse(draws, method="mean"),
        }
    for column, values in expected.items():
        np.testing.assert_allclose(mine[column], values, rtol=1e-9, err_msg=f"{case}: {column}")


def test_arviz_reads_a_single_tail_probability_as_one_quantile():
    """Why the tail quantiles are given to ArviZ as a pair: a single p means the p and
    1 - p quantiles, so 0.9 would be the 10% and 90% ones, not the 5% and 95%."""
    draws = _cases()["autocorrelated"]
    pair = array_stats.ess(draws, method="tail", prob=(0.1, 0.9))
    np.testing.assert_allclose(array_stats.ess(draws, method="tail", prob=0.9), pair)
    assert not np.allclose(diagnostics(draws, tail_prob=0.9)["ess_tail"], pair)


def test_non_finite_draws_short_chains_and_one_chain_give_nan():
    rng = np.random.default_rng(7)
    draws = rng.normal(size=(3, 4, 100))
    draws[1, 2, 5] = np.nan
    draws[2, 0, 0] = np.inf
    result = diagnostics(draws, tail_prob=0.9)
    for column in result.values():
        assert np.isfinite(column[0]) and np.isnan(column[1:]).all()
    assert all(np.isnan(c).all() for c in diagnostics(draws[:, :, :3], tail_prob=0.9).values())
    one_chain = diagnostics(rng.normal(size=(2, 1, 100)), tail_prob=0.9)
    assert np.isnan(one_chain["r_hat"]).all() and np.isfinite(one_chain["ess_bulk"]).all()
