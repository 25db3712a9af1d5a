"""Regression test of companion.diagnostics.convergence_report's table for variables that
share a dimension but list it in different orders (pi0 over category before pi over region
x category, as in the Dirichlet-Multinomial model).

ArviZ 1.3's multi-variable summary stacks such variables in the dataset's dim order but
labels them in each variable's own order, so rows get other quantities' numbers. The
expected numbers here come from ``arviz.ess`` on each variable alone, and from the
construction of the draws (each entry's sd is known).
"""

import arviz as az
import numpy as np
import xarray as xr

from companion.diagnostics import convergence_report


def test_table_rows_carry_their_own_quantities():
    """Each row of the table, pi[region, category], has that entry's ESS and an MCSE that
    matches its own sd: entries scaled by 100 have MCSEs about 100 times larger."""
    rng = np.random.default_rng(1)
    regions, categories = ["R1", "R2"], ["zz", "aa", "mm"]
    scale = np.array([[1.0, 100.0, 1.0], [1.0, 1.0, 100.0]])
    pi = rng.normal(size=(2, 400, 2, 3)) * scale
    posterior = xr.Dataset(
        {
            "pi0": (("chain", "draw", "category"), rng.normal(size=(2, 400, 3))),
            "pi": (("chain", "draw", "region", "category"), pi),
        },
        coords={"region": regions, "category": categories},
    )
    stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros((2, 400), dtype=bool))})
    idata = xr.DataTree.from_dict({"posterior": posterior, "sample_stats": stats})
    table = convergence_report(idata).table
    ess = az.ess(idata, var_names=["pi"])["pi"]
    for r, region in enumerate(regions):
        for c, category in enumerate(categories):
            row = table.loc[f"pi[{region}, {category}]"]
            assert row["ess_bulk"] == float(ess.sel(region=region, category=category))
            big = scale[r, c] > 1
            assert (row["mcse_mean"] > 1.0) == big, (region, category)


def test_table_is_arviz_summary_of_each_variable():
    """The table holds what ``az.summary(kind="diagnostics")`` gives for each variable
    alone, tail ESS apart: same labels, same numbers (to rounding: the companion computes
    all quantities at once), for a scalar, a vector and a matrix variable. Tail ESS is
    ``az.ess(method="tail")`` at the 5% and 95% quantiles, which ArviZ's summary does not
    use (its ``ci_prob`` p becomes the p and 1 - p quantiles)."""
    rng = np.random.default_rng(7)
    posterior = xr.Dataset(
        {
            "mu": (("chain", "draw"), rng.normal(size=(4, 300))),
            "theta": (("chain", "draw", "school"), rng.standard_t(3, size=(4, 300, 3))),
            "pi": (("chain", "draw", "region", "k"), rng.normal(size=(4, 300, 2, 2))),
        },
        coords={"school": ["A", "B", "C"], "region": ["N", "S"], "k": [0, 1]},
    )
    posterior["pi"][1] += 0.3  # one chain off: R-hat above 1
    stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros((4, 300), dtype=bool))})
    idata = xr.DataTree.from_dict({"posterior": posterior, "sample_stats": stats})
    table = convergence_report(idata).table
    for name in ("mu", "theta", "pi"):
        expected = az.summary(idata, var_names=[name], kind="diagnostics", round_to="none")
        tail = az.ess(posterior[[name]], method="tail", prob=(0.05, 0.95))[name]
        expected["ess_tail"] = np.ravel(tail.values)
        rows = table.loc[list(expected.index), list(table.columns)]
        np.testing.assert_allclose(
            rows.to_numpy(float), expected[table.columns].to_numpy(float), rtol=1e-9
        )
    assert len(table) == 1 + 3 + 4
