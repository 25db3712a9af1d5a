"""Tests of the Dyestuff data and of companion.mixed against published and independent answers.

Published answers: lme4's printed fits of Dyestuff and Dyestuff2 (REML summaries, conditional
modes) and the values tested by the Julia package MixedModels.jl (ML deviances and standard
errors); ``companion/datasets/README.md`` says where each number was read. The independent
route is the restricted (or ordinary) likelihood written here with dense matrices,

    REML: -2 l = (N - p) log(2 pi) + log|V| + log|X' V^-1 X| + r' V^-1 r,
    ML:   -2 l = N log(2 pi) + log|V| + r' V^-1 r,

with V = sigma^2 I + tau^2 Z Z', r = y - X beta_GLS, and maximised with scipy over
(tau, sigma); it shares nothing with the profiled one-dimensional criterion the companion
uses. The BLUPs are checked against Henderson's form b = tau^2 Z' V^-1 r.
"""

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from companion import data, mixed

# Davies & Goldsmith (1972), as distributed with lme4 (Dyestuff) and Box & Tiao (1973)
# (Dyestuff2): five yields for each of the batches A to F, in order.
DYESTUFF = [
    1545, 1440, 1440, 1520, 1580, 1540, 1555, 1490, 1560, 1495,
    1595, 1550, 1605, 1510, 1560, 1445, 1440, 1595, 1465, 1545,
    1595, 1630, 1515, 1635, 1625, 1520, 1455, 1450, 1480, 1445,
]  # fmt: skip
DYESTUFF2 = [
    7.298, 3.846, 2.434, 9.566, 7.990, 5.220, 6.556, 0.608, 11.788, -0.892,
    0.110, 10.386, 13.434, 5.510, 8.166, 2.212, 4.852, 7.092, 9.288, 4.980,
    0.282, 9.014, 4.458, 9.446, 7.198, 1.722, 4.782, 8.106, 0.758, 3.758,
]  # fmt: skip
BATCHES = [batch for batch in "ABCDEF" for _ in range(5)]

# lme4, summary(lmer(Yield ~ 1 + (1 | Batch), Dyestuff)) and ranef(): printed digits.
LME4_REML = {"intercept": 1527.50, "intercept_se": 19.38, "group_sd": 42.00, "residual_sd": 49.51}
LME4_REML_CRITERION = 319.7
LME4_MODES = [-17.6068514, 0.3912634, 28.5622256, -23.0845385, 56.7331877, -44.9952868]
# lme4 with REML = FALSE (printed in the MixedModels.jl README) and MixedModels.jl's tests.
LME4_ML = {"intercept": 1527.50, "intercept_se": 17.69, "group_sd": 37.26, "residual_sd": 49.51}
JULIA_ML_DEVIANCE = 327.3270598811428
JULIA_ML_SE = 17.69455188898009
# Dyestuff2: lme4's REML summary (a singular fit) and MixedModels.jl's ML test values.
LME4_REML_2 = {"intercept": 5.6656, "intercept_se": 0.6784, "group_sd": 0.0, "residual_sd": 3.716}
LME4_REML_CRITERION_2 = 161.8
JULIA_ML_2 = {"deviance": 162.87303665382575, "residual_sd": 3.653231351374652,
              "intercept_se": 0.6669857396443261}  # fmt: skip


def decimals(value: float) -> int:
    """Number of decimals printed in a published number such as 19.38 or 3.716."""
    text = repr(value)
    return len(text.split(".")[1]) if "." in text else 0


# --------------------------------------------------------------------------- dense-matrix REML


def dense_deviance(y, labels, tau, sigma, *, reml):
    """-2 log (restricted) likelihood with explicit covariance matrices; and the GLS pieces."""
    y = np.asarray(y, dtype=float)
    codes, _ = pd.factorize(np.asarray(labels), sort=True)
    z = np.eye(codes.max() + 1)[codes]
    x = np.ones((y.size, 1))
    v = sigma**2 * np.eye(y.size) + tau**2 * z @ z.T
    v_inv = np.linalg.inv(v)
    xtvx = x.T @ v_inv @ x
    beta = np.linalg.solve(xtvx, x.T @ v_inv @ y)
    r = y - x @ beta
    deviance = np.linalg.slogdet(v)[1] + r @ v_inv @ r
    if reml:
        deviance += np.linalg.slogdet(xtvx)[1] + (y.size - 1) * np.log(2 * np.pi)
    else:
        deviance += y.size * np.log(2 * np.pi)
    return {
        "deviance": float(deviance),
        "beta": float(beta[0]),
        "se": float(np.sqrt(np.linalg.inv(xtvx)[0, 0])),
        "modes": tau**2 * z.T @ v_inv @ r,
    }


def dense_fit(y, labels, *, reml):
    """Maximise the dense likelihood over tau >= 0 and sigma > 0 from several starts."""
    scale = float(np.std(y))

    def objective(params):
        return dense_deviance(y, labels, params[0] * scale, np.exp(params[1]) * scale, reml=reml)[
            "deviance"
        ]

    best = None
    for start in ([0.05, -0.5], [0.5, -0.5], [2.0, 0.0]):
        found = optimize.minimize(
            objective,
            start,
            method="L-BFGS-B",
            bounds=[(0.0, 50.0), (-10.0, 5.0)],
            options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 2000},
        )
        if best is None or found.fun < best.fun:
            best = found
    tau, sigma = best.x[0] * scale, np.exp(best.x[1]) * scale
    return {"tau": tau, "sigma": sigma, **dense_deviance(y, labels, tau, sigma, reml=reml)}


# --------------------------------------------------------------------------- the data


def test_dyestuff_values_match_the_published_table():
    """load_dyestuff gives the 30 published yields with their batches, in order, as floats."""
    frame = data.load_dyestuff()
    assert list(frame.columns) == ["batch", "yield"]
    assert frame["batch"].tolist() == BATCHES
    np.testing.assert_array_equal(frame["yield"].to_numpy(), np.array(DYESTUFF, dtype=float))
    assert frame["yield"].dtype == float


def test_dyestuff2_values_match_the_published_table():
    """load_dyestuff2 gives Box & Tiao's 30 constructed yields with their batches, in order."""
    frame = data.load_dyestuff2()
    assert frame["batch"].tolist() == BATCHES
    np.testing.assert_allclose(frame["yield"].to_numpy(), DYESTUFF2, rtol=0, atol=1e-12)


def test_dyestuff_loaders_return_fresh_frames():
    """Changing a returned frame does not change what the next call returns."""
    first = data.load_dyestuff()
    first.loc[0, "yield"] = -1.0
    assert data.load_dyestuff().loc[0, "yield"] == 1545.0


# --------------------------------------------------------------------------- lme4's fits


def test_dyestuff_reml_matches_lme4_to_printed_digits():
    """REML on Dyestuff reproduces lme4's printed intercept, its standard error, the batch and
    residual sds and the REML criterion, each rounded to the digits lme4 prints."""
    fit = mixed.fit_random_intercept(data.load_dyestuff(), response="yield", group="batch")
    assert not fit.boundary
    for quantity, published in LME4_REML.items():
        assert round(getattr(fit, quantity), decimals(published)) == published, quantity
    assert round(-2 * fit.result.llf, 1) == LME4_REML_CRITERION


def test_dyestuff_blups_match_lme4_conditional_modes():
    """The BLUPs minus the intercept are lme4's conditional modes of the batch effects (printed
    to seven decimals; lme4's own optimiser stops within about 1e-6 of the optimum)."""
    fit = mixed.fit_random_intercept(data.load_dyestuff(), response="yield", group="batch")
    np.testing.assert_allclose(fit.blups.to_numpy() - fit.intercept, LME4_MODES, atol=1e-6)


def test_dyestuff_ml_matches_lme4_and_mixedmodels_jl():
    """ML on Dyestuff reproduces lme4's printed ML fit and MixedModels.jl's tested deviance and
    standard error of the intercept."""
    fit = mixed.fit_random_intercept(
        data.load_dyestuff(), response="yield", group="batch", reml=False
    )
    for quantity, published in LME4_ML.items():
        assert round(getattr(fit, quantity), decimals(published)) == published, quantity
    assert -2 * fit.result.llf == pytest.approx(JULIA_ML_DEVIANCE, abs=1e-6)
    assert fit.intercept_se == pytest.approx(JULIA_ML_SE, rel=1e-6)


def test_dyestuff2_is_a_boundary_fit_as_in_lme4():
    """REML on Dyestuff2 is singular: boundary=True, tau exactly 0, every BLUP at the
    intercept, and lme4's printed intercept, standard error, residual sd and criterion."""
    fit = mixed.fit_random_intercept(data.load_dyestuff2(), response="yield", group="batch")
    assert fit.boundary and fit.group_sd == 0.0
    np.testing.assert_array_equal(fit.blups.to_numpy(), fit.intercept)
    for quantity, published in LME4_REML_2.items():
        assert round(getattr(fit, quantity), decimals(published)) == published, quantity
    criterion = mixed.profiled_deviance(
        data.load_dyestuff2(), response="yield", group="batch", theta=0.0
    )[0]
    assert round(criterion, 1) == LME4_REML_CRITERION_2


def test_dyestuff2_ml_matches_mixedmodels_jl():
    """ML on Dyestuff2 is singular too, with MixedModels.jl's deviance, residual sd and
    standard error of the intercept."""
    frame = data.load_dyestuff2()
    fit = mixed.fit_random_intercept(frame, response="yield", group="batch", reml=False)
    assert fit.boundary
    assert fit.residual_sd == pytest.approx(JULIA_ML_2["residual_sd"], rel=1e-9)
    assert fit.intercept_se == pytest.approx(JULIA_ML_2["intercept_se"], rel=1e-9)
    deviance = mixed.profiled_deviance(
        frame, response="yield", group="batch", theta=0.0, reml=False
    )
    assert deviance[0] == pytest.approx(JULIA_ML_2["deviance"], abs=1e-9)


# --------------------------------------------------------------------------- independent REML


def unbalanced_study() -> pd.DataFrame:
    return data.simulate_grouped(seed=11, n_groups=7, sizes=[2, 9, 3, 15, 1, 6, 4], tau=4.0).data


def stubborn_study() -> pd.DataFrame:
    """Five groups of ten on which statsmodels' default MixedLM fit stops short (see the
    chapter "Mixed models: the frequentist view")."""
    return data.simulate_grouped(seed=[20261207, 1], n_groups=5, sizes=10, tau=3.0).data


CASES = {
    "dyestuff": (data.load_dyestuff, "yield", "batch"),
    "dyestuff2": (data.load_dyestuff2, "yield", "batch"),
    "unbalanced": (unbalanced_study, "value", "group"),
    "stubborn": (stubborn_study, "value", "group"),
}


@pytest.mark.parametrize("reml", [True, False], ids=["REML", "ML"])
@pytest.mark.parametrize("case", list(CASES))
def test_fit_matches_dense_likelihood_maximised_with_scipy(case, reml):
    """tau, sigma, the intercept, its standard error and the minimised deviance agree with a
    direct maximisation of the dense-matrix (restricted) likelihood; the BLUPs agree with
    Henderson's tau^2 Z' V^-1 (y - X beta)."""
    load, response, group = CASES[case]
    frame = load()
    fit = mixed.fit_random_intercept(frame, response=response, group=group, reml=reml)
    reference = dense_fit(frame[response].to_numpy(), frame[group].to_numpy(), reml=reml)
    scale = reference["sigma"]
    assert fit.group_sd == pytest.approx(reference["tau"], abs=2e-3 * scale)
    assert fit.residual_sd == pytest.approx(reference["sigma"], rel=1e-4)
    assert fit.intercept == pytest.approx(reference["beta"], abs=1e-4 * scale)
    assert fit.intercept_se == pytest.approx(reference["se"], rel=1e-3)
    assert -2 * fit.result.llf == pytest.approx(reference["deviance"], abs=1e-6)
    np.testing.assert_allclose(
        fit.blups.to_numpy() - fit.intercept, reference["modes"], atol=1e-3 * scale
    )


def test_profiled_deviance_equals_dense_deviance_at_its_sigma():
    """At every theta the profiled deviance equals the dense deviance at tau = theta sigma with
    sigma at its profiled optimum, which is the minimum over sigma of the dense deviance."""
    frame = unbalanced_study()
    y, labels = frame["value"].to_numpy(), frame["group"].to_numpy()
    for reml in (True, False):
        for theta in (0.0, 0.3, 1.7):
            profiled = mixed.profiled_deviance(
                frame, response="value", group="group", theta=theta, reml=reml
            )[0]
            best = optimize.minimize_scalar(
                lambda log_sigma, t=theta, r=reml: dense_deviance(
                    y, labels, t * np.exp(log_sigma), np.exp(log_sigma), reml=r
                )["deviance"],
                bounds=(-5.0, 8.0),
                method="bounded",
                options={"xatol": 1e-10},
            )
            assert profiled == pytest.approx(best.fun, abs=1e-7)


def test_profiled_deviance_bad_input():
    """Negative theta, a single group or no variation within groups raise ValueError."""
    frame = data.load_dyestuff()
    with pytest.raises(ValueError, match="theta"):
        mixed.profiled_deviance(frame, response="yield", group="batch", theta=[0.5, -0.1])
    one_group = frame.assign(batch="A")
    with pytest.raises(ValueError, match="two distinct"):
        mixed.fit_random_intercept(one_group, response="yield", group="batch")
    singletons = frame.groupby("batch").head(1)
    with pytest.raises(ValueError, match="within"):
        mixed.fit_random_intercept(singletons, response="yield", group="batch")


# --------------------------------------------------------------------------- pooling_estimates


def test_pooling_estimates_columns_are_the_four_estimators():
    """No pooling is each group's mean, complete pooling the overall mean, the REML column the
    fit's BLUPs; standard errors are the pooled within-group sd over sqrt(n_j)."""
    frame = unbalanced_study()
    estimates = mixed.pooling_estimates(frame, response="value", group="group")
    table = estimates.table
    assert table.columns.tolist() == ["no pooling", "complete pooling", "REML mixed model", "Bayes"]
    groups = frame.groupby("group")["value"]
    np.testing.assert_allclose(table["no pooling"], groups.mean().loc[table.index], rtol=1e-12)
    np.testing.assert_allclose(table["complete pooling"], frame["value"].mean(), rtol=1e-12)
    fit = mixed.fit_random_intercept(frame, response="value", group="group")
    np.testing.assert_allclose(table["REML mixed model"], fit.blups.loc[table.index], rtol=1e-12)
    within = groups.var(ddof=1).fillna(0.0) * (groups.size() - 1)
    pooled_sd = np.sqrt(within.sum() / (len(frame) - groups.ngroups))
    np.testing.assert_allclose(
        estimates.standard_errors, pooled_sd / np.sqrt(groups.size().loc[table.index]), rtol=1e-12
    )


def test_pooling_estimates_bayes_limits():
    """With a prior pinning tau near 0 the Bayes column is the precision-weighted mean of the
    group means (complete pooling with known s_j, under the Normal prior on mu); with a very
    wide prior on tau and on mu it approaches each group's own mean."""
    frame = data.load_dyestuff()
    means = frame.groupby("batch")["yield"].mean().to_numpy()
    tight = mixed.pooling_estimates(
        frame, response="yield", group="batch", mu_prior_mean=1500.0, mu_prior_sd=100.0,
        tau_prior=stats.halfnorm(scale=1e-4),
    )  # fmt: skip
    s = tight.standard_errors.to_numpy()
    precision = np.sum(s**-2.0) + 100.0**-2.0
    pooled = (np.sum(means * s**-2.0) + 1500.0 * 100.0**-2.0) / precision
    np.testing.assert_allclose(tight.table["Bayes"], pooled, atol=1e-3)
    wide = mixed.pooling_estimates(
        frame, response="yield", group="batch", mu_prior_mean=1500.0, mu_prior_sd=1e5,
        tau_prior=stats.uniform(1e4, 1e5),
    )  # fmt: skip
    np.testing.assert_allclose(wide.table["Bayes"], means, atol=0.05)
