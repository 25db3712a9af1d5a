"""Tests of companion.mixed's random slopes and variance components.

Published answers (each read where the constant is defined below):

- lme4 itself (GitHub ``lme4/lme4`` at commit 32b5bfd): its tests (``tests/lmer-1.R``,
  ``tests/REMLdev.R``), its help pages (``man/utilities.Rd``) and the printed examples of
  its documentation site (``docs/reference/lmer.html``, ``Penicillin.html``,
  ``Pastes.html``, ``ranef.html``, ``Dyestuff.html``, built with lme4 1.1-37);
- MixedModels.jl, D. Bates' Julia successor to lme4 (``JuliaStats/MixedModels.jl``,
  ``test/pls.jl`` for ML fits, ``test/plstwoscalar.jl`` for the Penicillin REML fit);
- lme4's ``summary()`` of the Pastes fit as printed in ``x4g4p3x/lme-rs``,
  ``comparisons/COMPARISONS.md`` (the only place found with its standard error).

Independent answers computed here, sharing nothing with the code under test:

- the restricted likelihood with explicit n x n covariance matrices, V = sigma^2 I + Z Psi
  Z', maximised with scipy over the relative covariance factor (random slopes);
- the balanced-ANOVA closed forms, which are the REML estimates when positive (variance
  components), and the same dense likelihood evaluated there;
- the posterior of (beta, b) given the variance parameters and a flat prior on beta, by
  dense Gaussian algebra: the BLUPs must be its means and the standard errors its sds.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import linalg, optimize
from threadpoolctl import threadpool_limits

from companion import data, mixed

# ---- sleepstudy, lmer(Reaction ~ Days + (Days | Subject), sleepstudy), REML
# fixef: lme4 tests/lmer-1.R (checked there to 1e-13).
LME4_FIXEF = [251.405104848485, 10.467285959595]
# Std. Error: summary(fm1) in lme4's docs/reference/lmer.html.
LME4_SE = [6.825, 1.546]
# VarCorr(fm1): lme4 man/utilities.Rd, "Subject (Intercept) 24.740 / Days 5.922 0.066 /
# Residual 25.592". (lme4 1.1-37's documentation site prints 24.741 and a variance of 612.10:
# its default optimizer stops a little short of the optimum, whose sd is 24.7404; the older
# printouts, e.g. 612.09 and 24.740, and the ML/REML values below agree with the optimum.)
LME4_SDS = {"intercept": 24.740, "slope": 5.922, "correlation": 0.066, "residual": 25.592}
# REML criterion: lme4 tests/REMLdev.R, "REMLcrit(fm1) ## 1743.628", and the value of lme4.0
# it is checked against, 1743.6282722424.
LME4_REML = 1743.628
LME40_REML = 1743.6282722424
# ranef(fm1) for subjects 308 and 309 in lme4's docs/reference/ranef.html (lme4 1.1-37).
LME4_RANEF = {"308": (2.2585509, 9.1989758), "309": (-40.3987381, -8.6196806)}
# ML fit, MixedModels.jl test/pls.jl ("sleep"), with the tolerances of that test.
JULIA_ML = {
    "objective": 1751.9393444647046,
    "fixef": [251.40510484848477, 10.4672859595959],
    "se": [6.632257721914501, 1.5022354739749826],  # atol 1e-4
    "sds": [23.780468100188497, 5.716827903196682],  # atol 1e-2
}

# ---- Penicillin, lmer(diameter ~ (1|plate) + (1|sample), Penicillin), REML:
# lme4's docs/reference/Penicillin.html (criterion and sds) and ranef.html (ranef, 5 digits).
PENICILLIN = {"criterion": 330.8606, "plate": 0.8467, "sample": 1.9316, "residual": 0.5499}
PENICILLIN_RANEF = {
    "plate": [0.80455, 0.80455, 0.18167, 0.33739, 0.02595, -0.44120, -1.37552, 0.80455,
              -0.75264, -0.75264, 0.96027, 0.49311, 1.42742, 0.49311, 0.96027, 0.02595,
              -0.28548, -0.28548, -1.37552, 0.96027, -0.90836, -0.28548, -0.59692, -1.21980],
    "sample": [2.18706, -1.01048, 1.93790, -0.09689, -0.01384, -3.00374],
}  # fmt: skip
# The intercept and its standard error, REML: MixedModels.jl test/plstwoscalar.jl
# (22.972222222221742, 0.8086051290955466), printed by lme4 as 22.9722 and 0.8086.
PENICILLIN_INTERCEPT = (22.9722, 0.8086)
JULIA_PENICILLIN_ML = {  # test/pls.jl ("penicillin"), with its tolerances
    "objective": 332.18834867227616,  # atol 1e-3
    "se": 0.7445960346851368,  # atol 1e-4
    "sds": [0.8455645948223015, 1.770647779277388],  # atol 1e-4
    "residual_var": 0.3024263987592062,  # atol 1e-4
}

# ---- Pastes, lmer(strength ~ (1|batch/cask), Pastes), REML: lme4's Pastes.html
# (criterion, sds, and ranef of the casks of batches E and J, 7 digits); the intercept
# and standard error from summary() as printed in lme-rs's COMPARISONS.md.
PASTES = {"criterion": 246.9907, "batch": 1.2874, "batch:cask": 2.9041, "residual": 0.8234}
PASTES_RANEF = {"E:b": -3.9424485, "E:a": -3.3175663, "E:c": -0.3854267,
                "J:c": -1.7031213, "J:a": -0.6936962, "J:b": -0.3091533}  # fmt: skip
PASTES_INTERCEPT = (60.0533, 0.6769)
JULIA_PASTES_ML = {  # test/pls.jl ("pastes"): sample, batch and residual sds
    "objective": 247.99446586289676,  # atol 1e-3
    "se": 0.6421359883527029,  # atol 1e-4
    "sds": {"batch:cask": 2.904069002535747, "batch": 1.095070371687089},  # atol 1e-3, 1e-4
    "residual": 0.8234088395243269,  # atol 1e-4
}

# ---- Dyestuff and Dyestuff2 as one-component fits: lme4's docs/reference/Dyestuff.html.
DYESTUFF_CRITERIA = {"dyestuff": 319.6543, "dyestuff2": 161.8283}


def decimals(value: float) -> int:
    """Number of decimals printed in a published number such as 0.8467."""
    text = repr(value)
    return len(text.split(".")[1]) if "." in text else 0


def assert_printed(actual: float, published: float) -> None:
    """``actual`` rounds to ``published`` at the digits printed (half a unit of the last)."""
    tolerance = 0.5 * 10.0 ** -decimals(published)
    assert abs(actual - published) <= tolerance + 1e-12, (actual, published)


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    """The dense checks multiply 180 x 180 matrices: on a busy 2-core machine one BLAS
    thread is about 100 times faster than two contending ones."""
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def sleep():
    return data.load_sleepstudy()


@pytest.fixture(scope="module")
def sleep_fit(sleep):
    return mixed.fit_random_slopes(sleep, response="reaction", predictor="days", group="subject")


@pytest.fixture(scope="module")
def penicillin_fit():
    return mixed.fit_variance_components(
        data.load_penicillin(), response="diameter", groups=["plate", "sample"]
    )


@pytest.fixture(scope="module")
def pastes_fit():
    return mixed.fit_variance_components(
        data.load_pastes(), response="strength", groups=["batch", "cask"], structure="nested"
    )


# --------------------------------------------------------------------------- published fits


def test_sleepstudy_reml_reproduces_lme4(sleep_fit):
    """lme4's fit of Reaction ~ Days + (Days | Subject) (sources at LME4_*): fixed effects to
    1e-10, standard errors, the two sds, their correlation and sigma to their printed digits,
    the REML criterion to its printed 1743.628 and no worse than lme4.0's 1743.6282722424."""
    fit = sleep_fit
    assert fit.fixed_effects.index.tolist() == ["intercept", "days"]
    np.testing.assert_allclose(fit.fixed_effects, LME4_FIXEF, rtol=1e-10)
    for actual, published in zip(fit.fixed_effects_se, LME4_SE, strict=True):
        assert_printed(actual, published)
    assert_printed(fit.intercept_sd, LME4_SDS["intercept"])
    assert_printed(fit.slope_sd, LME4_SDS["slope"])
    assert_printed(fit.correlation, LME4_SDS["correlation"])
    assert_printed(fit.residual_sd, LME4_SDS["residual"])
    assert_printed(fit.criterion, LME4_REML)
    assert LME40_REML - 1e-5 < fit.criterion <= LME40_REML
    assert not fit.singular and fit.reml


def test_sleepstudy_blups_match_lme4_ranef(sleep_fit):
    """The BLUPs of subjects 308 and 309 are lme4's ranef(fm1) to 5e-4 (lme4 1.1-37 stops
    its optimiser a little short of the optimum, which moves its printed BLUPs in the
    fourth decimal), and each subject's line is fixed effects + BLUPs (lme4's coef)."""
    fit = sleep_fit
    assert fit.random_effects.index.tolist()[:2] == ["308", "309"]
    assert fit.random_effects.columns.tolist() == ["intercept", "slope"]
    for subject, published in LME4_RANEF.items():
        np.testing.assert_allclose(fit.random_effects.loc[subject], published, atol=5e-4)
    np.testing.assert_allclose(fit.blups, fit.random_effects + LME4_FIXEF, rtol=0, atol=1e-9)


def test_sleepstudy_ml_reproduces_mixedmodels_jl(sleep):
    """The ML fit reproduces MixedModels.jl's tested values within that test's tolerances,
    and its deviance is no worse than theirs."""
    fit = mixed.fit_random_slopes(
        sleep, response="reaction", predictor="days", group="subject", reml=False
    )
    assert not fit.reml
    assert fit.criterion <= JULIA_ML["objective"] + 1e-8
    assert fit.criterion == pytest.approx(JULIA_ML["objective"], abs=1e-6)
    np.testing.assert_allclose(fit.fixed_effects, JULIA_ML["fixef"], rtol=1e-10)
    np.testing.assert_allclose(fit.fixed_effects_se, JULIA_ML["se"], atol=1e-4)
    np.testing.assert_allclose([fit.intercept_sd, fit.slope_sd], JULIA_ML["sds"], atol=1e-2)


def test_penicillin_reml_reproduces_lme4(penicillin_fit):
    """Crossed plate and sample: lme4's criterion 330.8606, sds 0.8467, 1.9316 and 0.5499,
    intercept 22.9722 with standard error 0.8086, and all 30 printed BLUPs (5 decimals)."""
    fit = penicillin_fit
    assert fit.component_sds.index.tolist() == ["plate", "sample"]
    assert_printed(fit.criterion, PENICILLIN["criterion"])
    for name in ("plate", "sample"):
        assert_printed(fit.component_sds[name], PENICILLIN[name])
        ranef = fit.random_effects[name]
        assert ranef.index.tolist() == sorted(ranef.index)
        for actual, published in zip(ranef, PENICILLIN_RANEF[name], strict=True):
            assert_printed(actual, published)
    assert_printed(fit.residual_sd, PENICILLIN["residual"])
    assert_printed(fit.intercept, PENICILLIN_INTERCEPT[0])
    assert_printed(fit.intercept_se, PENICILLIN_INTERCEPT[1])
    assert not fit.boundary


def test_pastes_nested_reml_reproduces_lme4(pastes_fit):
    """Casks nested in batches: lme4's criterion 246.9907, sds 1.2874 (batch), 2.9041
    (cask within batch) and 0.8234, intercept 60.0533 with standard error 0.6769, and
    the six printed cask BLUPs of batches E and J (7 decimals)."""
    fit = pastes_fit
    assert fit.component_sds.index.tolist() == ["batch", "batch:cask"]
    assert_printed(fit.criterion, PASTES["criterion"])
    for name in ("batch", "batch:cask"):
        assert_printed(fit.component_sds[name], PASTES[name])
    assert_printed(fit.residual_sd, PASTES["residual"])
    assert_printed(fit.intercept, PASTES_INTERCEPT[0])
    assert_printed(fit.intercept_se, PASTES_INTERCEPT[1])
    casks = fit.random_effects["batch:cask"]
    assert casks.size == 30 and fit.random_effects["batch"].size == 10
    for level, published in PASTES_RANEF.items():
        assert_printed(casks[level], published)


def test_pastes_nested_equals_crossed_with_sample_labels(pastes_fit):
    """lme4's four equivalent Pastes models: (1|batch/cask) and (1|batch) + (1|sample), with
    sample the unique cask labels, are the same model (criterion, sds and BLUPs)."""
    crossed = mixed.fit_variance_components(
        data.load_pastes(), response="strength", groups=["batch", "sample"]
    )
    assert crossed.criterion == pytest.approx(pastes_fit.criterion, abs=1e-8)
    np.testing.assert_allclose(crossed.component_sds, pastes_fit.component_sds, rtol=1e-5)
    np.testing.assert_allclose(
        crossed.random_effects["sample"], pastes_fit.random_effects["batch:cask"], atol=1e-5
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("penicillin", JULIA_PENICILLIN_ML),
        ("pastes", JULIA_PASTES_ML),
    ],
)
def test_variance_components_ml_reproduce_mixedmodels_jl(name, expected):
    """ML fits within the tolerances of MixedModels.jl's tests, deviance no worse than theirs."""
    if name == "penicillin":
        frame = data.load_penicillin()
        kwargs = {"response": "diameter", "groups": ["plate", "sample"]}
    else:
        frame = data.load_pastes()
        kwargs = {"response": "strength", "groups": ["batch", "cask"], "structure": "nested"}
    fit = mixed.fit_variance_components(frame, reml=False, **kwargs)
    assert fit.criterion <= expected["objective"] + 1e-8
    assert fit.criterion == pytest.approx(expected["objective"], abs=1e-3)
    assert fit.intercept_se == pytest.approx(expected["se"], abs=1e-4)
    if name == "penicillin":
        np.testing.assert_allclose(fit.component_sds, expected["sds"], atol=1e-4)
        assert fit.residual_sd**2 == pytest.approx(expected["residual_var"], abs=1e-4)
    else:
        for component, value in expected["sds"].items():
            assert fit.component_sds[component] == pytest.approx(value, abs=1e-4)
        assert fit.residual_sd == pytest.approx(expected["residual"], abs=1e-4)


def test_one_component_fits_match_lme4_dyestuff():
    """With one grouping the variance-components fit is the random-intercept model: lme4's
    criteria for Dyestuff (319.6543) and for Dyestuff2 (161.8283, a boundary fit with batch
    sd exactly 0), and the same estimates as fit_random_intercept."""
    for name, loader in (("dyestuff", data.load_dyestuff), ("dyestuff2", data.load_dyestuff2)):
        frame = loader()
        fit = mixed.fit_variance_components(frame, response="yield", groups=["batch"])
        assert_printed(fit.criterion, DYESTUFF_CRITERIA[name])
        intercept = mixed.fit_random_intercept(frame, response="yield", group="batch")
        assert fit.boundary == intercept.boundary == (name == "dyestuff2")
        assert fit.component_sds["batch"] == pytest.approx(intercept.group_sd, rel=1e-5)
        assert fit.residual_sd == pytest.approx(intercept.residual_sd, rel=1e-7)
        assert fit.intercept_se == pytest.approx(intercept.intercept_se, rel=1e-6)


def test_statsmodels_result_is_at_the_reported_optimum(sleep_fit, pastes_fit):
    """The statsmodels fit kept in ``result`` sits at the reported optimum (its REML
    log-likelihood is -criterion / 2: statsmodels and lme4 use the same constant), and
    statsmodels left to its default start is never better (on Pastes it stops short)."""
    assert -2 * sleep_fit.result.llf == pytest.approx(sleep_fit.criterion, abs=1e-6)
    assert -2 * pastes_fit.result.llf == pytest.approx(pastes_fit.criterion, abs=1e-6)
    import statsmodels.api as sm

    pastes = data.load_pastes()
    model = sm.MixedLM.from_formula(
        "strength ~ 1", pastes, groups=np.ones(60), re_formula="0",
        vc_formula={"batch": "0 + C(batch)", "sample": "0 + C(sample)"},
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        default = model.fit(reml=True)
    assert pastes_fit.criterion <= -2 * default.llf + 1e-9


# --------------------------------------------------------------------------- dense REML


def dense_reml(theta, y, x, z_blocks):
    """-2 log restricted likelihood profiled over beta and sigma, from the definitions:
    V = I + sum_g Z_g L L' Z_g' (times sigma^2) with L = [[t0, 0], [t1, t2]]; sigma^2 =
    r' V^-1 r / (n - p); the REML criterion is (n - p)(1 + log(2 pi sigma^2)) + log|V| +
    log|X' V^-1 X|. Returns the criterion and the estimates."""
    n, p = x.shape
    factor = np.array([[theta[0], 0.0], [theta[1], theta[2]]])
    psi = factor @ factor.T
    z = np.hstack(z_blocks)
    v = np.eye(n) + z @ np.kron(np.eye(len(z_blocks)), psi) @ z.T
    chol = linalg.cho_factor(v)
    v_inv_x, v_inv_y = linalg.cho_solve(chol, x), linalg.cho_solve(chol, y)
    xvx = x.T @ v_inv_x
    beta = np.linalg.solve(xvx, x.T @ v_inv_y)
    r = y - x @ beta
    sigma2 = float(r @ linalg.cho_solve(chol, r)) / (n - p)
    log_det_v = 2 * np.sum(np.log(np.diag(chol[0])))
    value = (n - p) * (1 + np.log(2 * np.pi * sigma2)) + log_det_v + np.linalg.slogdet(xvx)[1]
    return float(value), {"beta": beta, "sigma2": sigma2, "psi": sigma2 * psi,
                          "cov_beta": sigma2 * np.linalg.inv(xvx)}  # fmt: skip


def slopes_design(frame):
    """y, X = [1, days] and each subject's n x 2 block of Z (zero outside the subject)."""
    y = frame["reaction"].to_numpy(float)
    x = np.column_stack([np.ones(len(frame)), frame["days"].to_numpy(float)])
    codes = frame["subject"].cat.codes.to_numpy()
    blocks = [x * (codes == j)[:, None] for j in range(codes.max() + 1)]
    return y, x, blocks


def test_random_slopes_agree_with_dense_reml(sleep, sleep_fit):
    """Maximising the dense restricted likelihood over the relative covariance factor with
    scipy gives the same optimum: criterion to 1e-6, fixed effects, their standard errors,
    the sds, the correlation and sigma to 1e-4 relative (the optimum is flat)."""
    y, x, blocks = slopes_design(sleep)
    found = optimize.minimize(
        lambda t: dense_reml(t, y, x, blocks)[0],
        x0=[1.0, 0.0, 0.3],
        method="Nelder-Mead",
        options={"xatol": 1e-7, "fatol": 1e-9, "maxiter": 2000},
    )
    criterion, est = dense_reml(found.x, y, x, blocks)
    fit = sleep_fit
    assert fit.criterion == pytest.approx(criterion, abs=1e-6)
    assert fit.criterion <= criterion + 1e-8  # the module's optimum is no worse
    np.testing.assert_allclose(fit.fixed_effects, est["beta"], rtol=1e-8)
    np.testing.assert_allclose(fit.fixed_effects_se, np.sqrt(np.diag(est["cov_beta"])), rtol=1e-4)
    sds = np.sqrt(np.diag(est["psi"]))
    np.testing.assert_allclose([fit.intercept_sd, fit.slope_sd], sds, rtol=1e-4)
    assert fit.correlation == pytest.approx(est["psi"][0, 1] / sds.prod(), abs=1e-4)
    assert fit.residual_sd == pytest.approx(np.sqrt(est["sigma2"]), rel=1e-4)
    # And the dense criterion evaluated at the module's own estimates is its criterion.
    theta = np.linalg.cholesky(
        np.array([[fit.intercept_sd**2, fit.correlation * fit.intercept_sd * fit.slope_sd],
                  [fit.correlation * fit.intercept_sd * fit.slope_sd, fit.slope_sd**2]])
        / fit.residual_sd**2
    )  # fmt: skip
    at_fit = dense_reml([theta[0, 0], theta[1, 0], theta[1, 1]], y, x, blocks)[0]
    assert at_fit == pytest.approx(fit.criterion, abs=1e-7)


def dense_components_reml(sds, residual_sd, y, indicators):
    """The REML criterion at given sds, with V = sigma^2 I + sum_k tau_k^2 Z_k Z_k'."""
    n = y.size
    v = residual_sd**2 * np.eye(n)
    for sd, z in zip(sds, indicators, strict=True):
        v += sd**2 * z @ z.T
    v_inv = np.linalg.inv(v)
    one = np.ones(n)
    xvx = one @ v_inv @ one
    r = y - one * (one @ v_inv @ y) / xvx
    return float((n - 1) * np.log(2 * np.pi) + np.linalg.slogdet(v)[1] + np.log(xvx)
                 + r @ v_inv @ r)  # fmt: skip


def test_variance_components_are_the_balanced_anova_optimum(penicillin_fit, pastes_fit):
    """Both designs are balanced, so the REML estimates are the ANOVA ones (all positive
    here): the fits agree with them to 1e-5 relative, the intercept standard errors with
    the closed forms sqrt((MS_rows + MS_columns - MSE) / N) (crossed) and sqrt(MS_batch / N)
    (nested), and the criteria with the dense restricted likelihood there to 1e-7."""
    penicillin = data.load_penicillin()
    table = penicillin.pivot(index="plate", columns="sample", values="diameter").to_numpy()
    rows, cols = table.shape
    grand = table.mean()
    ms_plate = cols * np.sum((table.mean(1) - grand) ** 2) / (rows - 1)
    ms_sample = rows * np.sum((table.mean(0) - grand) ** 2) / (cols - 1)
    resid = table - table.mean(1, keepdims=True) - table.mean(0, keepdims=True) + grand
    mse = np.sum(resid**2) / ((rows - 1) * (cols - 1))
    sds = np.sqrt([(ms_plate - mse) / cols, (ms_sample - mse) / rows])
    np.testing.assert_allclose(penicillin_fit.component_sds, sds, rtol=1e-5)
    assert penicillin_fit.residual_sd == pytest.approx(np.sqrt(mse), rel=1e-6)
    se = np.sqrt((ms_plate + ms_sample - mse) / (rows * cols))
    assert penicillin_fit.intercept_se == pytest.approx(se, rel=1e-6)
    assert penicillin_fit.intercept == pytest.approx(grand, rel=1e-12)
    indicators = [pd.get_dummies(penicillin[c]).to_numpy(float) for c in ("plate", "sample")]
    y = penicillin["diameter"].to_numpy(float)
    criterion = dense_components_reml(sds, np.sqrt(mse), y, indicators)
    assert penicillin_fit.criterion == pytest.approx(criterion, abs=1e-7)

    pastes = data.load_pastes()
    strength = pastes["strength"].to_numpy().reshape(10, 3, 2)
    grand, batch, cask = strength.mean(), strength.mean((1, 2)), strength.mean(2)
    ms_batch = 6 * np.sum((batch - grand) ** 2) / 9
    ms_cask = 2 * np.sum((cask - batch[:, None]) ** 2) / 20
    mse = np.sum((strength - cask[..., None]) ** 2) / 30
    sds = np.sqrt([(ms_batch - ms_cask) / 6, (ms_cask - mse) / 2])
    np.testing.assert_allclose(pastes_fit.component_sds, sds, rtol=1e-5)
    assert pastes_fit.residual_sd == pytest.approx(np.sqrt(mse), rel=1e-6)
    assert pastes_fit.intercept_se == pytest.approx(np.sqrt(ms_batch / 60), rel=1e-6)
    indicators = [pd.get_dummies(pastes[c]).to_numpy(float) for c in ("batch", "sample")]
    y = pastes["strength"].to_numpy(float)
    criterion = dense_components_reml(sds, np.sqrt(mse), y, indicators)
    assert pastes_fit.criterion == pytest.approx(criterion, abs=1e-7)


# --------------------------------------------------------------------------- BLUP = posterior mean


def flat_prior_posterior(y, x, z, prior_cov, sigma2):
    """Posterior mean and covariance of (beta, b) given y ~ Normal(X beta + Z b, sigma^2 I),
    b ~ Normal(0, prior_cov) and a flat prior on beta: the Gaussian with precision
    [[X'X, X'Z], [Z'X, Z'Z + sigma^2 prior_cov^-1]] / sigma^2 and mean precision^-1 [X'y;
    Z'y] / sigma^2 (the joint density, completed square)."""
    w = np.hstack([x, z])
    precision = w.T @ w / sigma2
    p = x.shape[1]
    precision[p:, p:] += np.linalg.inv(prior_cov)
    cov = np.linalg.inv(precision)
    return cov @ (w.T @ y) / sigma2, cov


def test_slopes_blups_are_flat_prior_posterior_means(sleep, sleep_fit):
    """Conditional on the fitted Psi and sigma, the BLUPs are the posterior means of the
    random effects under a flat prior on the fixed effects, the fixed effects are the
    posterior means of beta, and their standard errors its posterior sds (exact)."""
    fit = sleep_fit
    y, x, blocks = slopes_design(sleep)
    z = np.hstack(blocks)  # subject j's (intercept, slope) in columns 2j, 2j + 1
    sd_i, sd_s, rho = fit.intercept_sd, fit.slope_sd, fit.correlation
    psi = np.array([[sd_i**2, rho * sd_i * sd_s], [rho * sd_i * sd_s, sd_s**2]])
    mean, cov = flat_prior_posterior(y, x, z, np.kron(np.eye(18), psi), fit.residual_sd**2)
    np.testing.assert_allclose(fit.fixed_effects, mean[:2], rtol=1e-9)
    np.testing.assert_allclose(fit.fixed_effects_se, np.sqrt(np.diag(cov)[:2]), rtol=1e-7)
    np.testing.assert_allclose(fit.random_effects.to_numpy(), mean[2:].reshape(18, 2), atol=1e-6)
    # statsmodels' own conditional means agree too (its result sits at the same point).
    statsmodels_blups = np.array([v.to_numpy() for v in fit.result.random_effects.values()])
    np.testing.assert_allclose(statsmodels_blups, mean[2:].reshape(18, 2), atol=1e-4)


def test_components_blups_are_flat_prior_posterior_means(pastes_fit):
    """The same exact check for the nested variance components of Pastes."""
    fit = pastes_fit
    pastes = data.load_pastes()
    z_batch = pd.get_dummies(pastes["batch"]).to_numpy(float)
    z_cask = pd.get_dummies(pastes["sample"]).to_numpy(float)
    prior = np.diag(np.repeat(fit.component_sds.to_numpy() ** 2, [10, 30]))
    y = pastes["strength"].to_numpy(float)
    mean, cov = flat_prior_posterior(
        y, np.ones((60, 1)), np.hstack([z_batch, z_cask]), prior, fit.residual_sd**2
    )
    assert fit.intercept == pytest.approx(mean[0], rel=1e-12)
    assert fit.intercept_se == pytest.approx(np.sqrt(cov[0, 0]), rel=1e-8)
    np.testing.assert_allclose(fit.random_effects["batch"], mean[1:11], atol=1e-9)
    np.testing.assert_allclose(fit.random_effects["batch:cask"], mean[11:], atol=1e-9)


# --------------------------------------------------------------------------- boundary


def test_identical_subject_slopes_give_a_singular_fit():
    """When every group's own least-squares slope is the same, the REML slope variance is 0:
    the fit is flagged singular with slope sd exactly 0, correlation NaN, zero slope BLUPs,
    and its criterion is the dense one at the reported estimates."""
    rng = np.random.default_rng(20261203)
    days = np.arange(8.0)
    design = np.column_stack([np.ones(8), days])
    rows = []
    for j, level in enumerate(rng.normal(50.0, 5.0, 6)):
        noise = rng.normal(0.0, 1.0, 8)
        noise -= design @ np.linalg.lstsq(design, noise, rcond=None)[0]  # keeps slope 10
        rows += [(f"g{j}", d, level + 10.0 * d + e) for d, e in zip(days, noise, strict=True)]
    frame = pd.DataFrame(rows, columns=["subject", "days", "reaction"])
    fit = mixed.fit_random_slopes(frame, response="reaction", predictor="days", group="subject")
    assert fit.singular
    assert fit.slope_sd == 0.0 and np.isnan(fit.correlation)
    assert fit.intercept_sd > 0
    assert (fit.random_effects["slope"] == 0.0).all()
    assert fit.fixed_effects["days"] == pytest.approx(10.0, rel=1e-10)
    frame["subject"] = frame["subject"].astype("category")
    y, x, blocks = slopes_design(frame)
    theta = [fit.intercept_sd / fit.residual_sd, 0.0, 0.0]
    assert dense_reml(theta, y, x, blocks)[0] == pytest.approx(fit.criterion, abs=1e-7)


# --------------------------------------------------------------------------- bad input


SLEEP_ARGS = {"response": "reaction", "predictor": "days", "group": "subject"}


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"predictor": "dayz"}, ValueError, "predictor 'dayz' is not a column"),
        ({"response": "days"}, ValueError, "predictor and response must be different"),
        ({"group": "reaction"}, ValueError, "group and response must be different"),
        ({"reml": "yes"}, TypeError, "reml must be True or False"),
        ({"group": ["subject"]}, TypeError, "group must be a column name"),
    ],
)
def test_random_slopes_bad_arguments(sleep, change, error, message):
    """Wrong column names, repeated columns and non-boolean reml are refused by name."""
    with pytest.raises(error, match=message):
        mixed.fit_random_slopes(sleep, **{**SLEEP_ARGS, **change})


def test_random_slopes_bad_data(sleep):
    """Bad data in the columns: non-numeric, NaN, missing labels, too few groups or rows,
    a constant predictor; each error names the argument or column."""
    frame = sleep.copy()
    cases = []
    text = frame.assign(reaction=frame["reaction"].astype(str))
    cases.append((text, TypeError, r"df\['reaction'\] must hold real numbers"))
    cases.append((frame.assign(days=frame["days"].astype(float).where(frame.index != 3)),
                  ValueError, r"df\['days'\] must contain only finite"))  # fmt: skip
    missing = frame.assign(subject=frame["subject"].astype(object).where(frame.index != 5))
    cases.append((missing, ValueError, "group column 'subject' has missing labels"))
    two = frame[frame["subject"].isin(["308", "309"])]
    cases.append((two, ValueError, "group must have at least 3 distinct labels"))
    few = frame.groupby("subject", observed=True).head(1)
    cases.append((few, ValueError, "rows for 18 groups"))
    cases.append((frame.assign(days=1), ValueError, r"predictor df\['days'\] is constant"))
    cases.append((frame.to_numpy(), TypeError, "df must be a pandas DataFrame"))
    for bad, error, message in cases:
        with pytest.raises(error, match=message):
            mixed.fit_random_slopes(bad, **SLEEP_ARGS)


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"groups": "plate"}, TypeError, "groups must be a list of column names"),
        ({"groups": []}, ValueError, "groups must name at least one"),
        ({"groups": ["plate", "plates"]}, ValueError, r"groups\[1\] 'plates' is not a column"),
        ({"groups": ["plate", "plate"]}, ValueError, "must be different columns"),
        ({"groups": ["plate", "diameter"]}, ValueError, "must be different columns"),
        ({"structure": "partial"}, ValueError, "structure must be 'crossed' or 'nested'"),
        ({"reml": 1}, TypeError, "reml must be True or False"),
        ({"response": "weight"}, ValueError, "response 'weight' is not a column"),
    ],
)
def test_variance_components_bad_arguments(change, error, message):
    """Grouping columns that are not a list, missing, repeated or the response, an unknown
    structure or a non-boolean reml are refused by name."""
    arguments = {"response": "diameter", "groups": ["plate", "sample"], **change}
    with pytest.raises(error, match=message):
        mixed.fit_variance_components(data.load_penicillin(), **arguments)


def test_variance_components_bad_data():
    """A grouping with one level, or a level per observation, and missing labels are refused."""
    penicillin = data.load_penicillin().assign(row=np.arange(144).astype(str), one="x")
    for groups, message in ((["plate", "one"], "'one' has 1 level"),
                            (["plate", "row"], "'row' has a level per observation")):  # fmt: skip
        with pytest.raises(ValueError, match=message):
            mixed.fit_variance_components(penicillin, response="diameter", groups=groups)
    gap = penicillin.assign(plate=penicillin["plate"].astype(object).where(penicillin.index != 0))
    with pytest.raises(ValueError, match="groups column 'plate' has missing labels"):
        mixed.fit_variance_components(gap, response="diameter", groups=["plate", "sample"])
