"""Mutation catalogue of 09-beyond-one-intercept (see ``coursetools.grading.mutations``).

Reference answers come from an independent route, never from ``companion.mixed``:

- q1: each subject's line by ``numpy.linalg.lstsq`` on that subject's rows;
- q2: the REML fit of ``Reaction ~ Days + (Days | Subject)`` computed here from the
  restricted likelihood written out here (V = sigma^2 (I + Z (I kron Lambda Lambda') Z'),
  factored block by block; beta and sigma^2 profiled out; Lambda minimised over by
  scipy), and checked against lme4's published fit (Bates et al. 2015);
- q3: the posterior mean by generalised least squares on the marginal model (the
  question asks for Henderson's form; the hidden tests also use GLS, so the solution's
  own form appears as an alternative), at the q2 reference's variance parameters;
- q4: lme4's printed REML standard deviations (Penicillin, Pastes), which the hidden
  tests compare with the balanced ANOVA closed forms;
- q5: the radon fit of ``models.varying_intercepts`` as exact posterior draws: (tau,
  sigma) from their marginal posterior on a fine grid (alpha integrated out county by
  county, mu and beta analytically; jittered within a cell), then (mu, beta) from their
  bivariate Normal conditional and each alpha_j from its Normal conditional; five seeds.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
from scipy import optimize

from companion import data
from coursetools.grading.mutations import (
    Catalogue,
    From,
    Mutant,
    alternative,
    fit_from_draws,
    mistake,
    wrong_options,
)

# lme4's published REML fit of sleepstudy (Bates et al. 2015, JSS 67(1); fixed effects to
# 1e-13 in lme4's tests/lmer-1.R; VarCorr as lme4's man/utilities.Rd prints it).
LME4_FIXEF = (251.405104848485, 10.467285959595)
LME4_VARCORR = {"sd_intercept": 24.740, "sd_slope": 5.922, "rho_hat": 0.066, "sigma_hat": 25.592}
# lme4's printed REML standard deviations (docs/reference/Penicillin.html, Pastes.html).
LME4_PENICILLIN = (0.8467, 1.9316, 0.5499)  # plate, sample, residual
LME4_PASTES = (1.2874, 2.9041, 0.8234)  # batch, cask within batch, residual


@functools.cache
def _sleep():
    sleep = data.load_sleepstudy()
    codes = pd.Categorical(sleep["subject"]).codes
    days = sleep["days"].to_numpy(float)
    y = sleep["reaction"].to_numpy(float)
    n = y.size
    X = np.column_stack([np.ones(n), days])
    Z = np.zeros((n, 36))
    Z[np.arange(n), 2 * codes] = 1.0
    Z[np.arange(n), 2 * codes + 1] = days
    return sleep, codes, days, y, X, Z


# ------------------------------------------------------------------------------ q1


def _lines(fit_one):
    sleep = data.load_sleepstudy()
    return np.array(
        [
            fit_one(rows["days"].to_numpy(float), rows["reaction"].to_numpy(float))
            for _, rows in sleep.groupby("subject", observed=True)
        ]
    )


def _lstsq(x, y):
    return np.linalg.lstsq(np.column_stack([np.ones_like(x), x]), y, rcond=None)[0]


@functools.cache
def _own_lines():
    return _lines(_lstsq)


def q1_reference(seed):
    return {"own_lines": _own_lines()}


def _statsmodels_lines():
    import statsmodels.api as sm

    return _lines(lambda x, y: np.asarray(sm.OLS(y, sm.add_constant(x)).fit().params))


def _pooled_line():
    sleep = data.load_sleepstudy()
    line = _lstsq(sleep["days"].to_numpy(float), sleep["reaction"].to_numpy(float))
    return np.tile(line, (18, 1))


Q1 = Catalogue(
    reference=q1_reference,
    mistakes=(
        mistake(
            "np.polyfit's order kept: (slope, intercept)",
            {"test_q1_own_lines"},
            own_lines=_lines(lambda x, y: np.polyfit(x, y, 1)),
        ),
        mistake(
            "one pooled line repeated for every subject",
            {"test_q1_own_lines"},
            own_lines=_pooled_line(),
        ),
        mistake(
            "days regressed on reaction (x and y swapped)",
            {"test_q1_own_lines"},
            own_lines=_lines(lambda x, y: _lstsq(y, x)),
        ),
        mistake(
            "intercepts at the mean day (days centred), not at day 0",
            {"test_q1_own_lines"},
            own_lines=_lines(lambda x, y: _lstsq(x - x.mean(), y)),
        ),
    ),
    alternatives=(
        alternative(
            "a DataFrame indexed by subject",
            own_lines=From(
                lambda a: pd.DataFrame(
                    a["own_lines"],
                    index=data.load_sleepstudy()["subject"].cat.categories,
                    columns=["intercept", "slope"],
                )
            ),
        ),
        alternative("a list of lists", own_lines=From(lambda a: a["own_lines"].tolist())),
        alternative("statsmodels OLS per subject", own_lines=_statsmodels_lines()),
        alternative(
            "np.polyfit, reversed",
            own_lines=_lines(lambda x, y: np.polyfit(x, y, 1)[::-1]),
        ),
    ),
)


# ------------------------------------------------------------------------------ q2


def _restricted_deviance(theta):
    """-2 REML log likelihood (up to a constant), beta and sigma^2 profiled out, at the
    relative covariance factor Lambda = [[t0, 0], [t1, t2]] (Psi = sigma^2 Lambda Lambda').

    V / sigma^2 = I + Z (I kron Lambda Lambda') Z' is block diagonal, one block per subject
    (its rows: I + Z_j Lambda Lambda' Z_j'), so the blocks are factored as a stack.
    """
    _, codes, _, y, X, _ = _sleep()
    order = np.argsort(codes, kind="stable")
    n_groups = codes.max() + 1
    x_blocks = X[order].reshape(n_groups, -1, 2)  # every subject has 10 rows
    y_blocks = y[order].reshape(n_groups, -1)
    lam = np.array([[theta[0], 0.0], [theta[1], theta[2]]])
    # for this model Z_j = X_j (a random intercept and a random slope of days)
    v0 = np.eye(x_blocks.shape[1]) + x_blocks @ (lam @ lam.T) @ x_blocks.transpose(0, 2, 1)
    chol = np.linalg.cholesky(v0)
    wx = np.linalg.solve(chol, x_blocks).reshape(-1, 2)
    wy = np.linalg.solve(chol, y_blocks[..., None]).reshape(-1)
    beta = np.linalg.lstsq(wx, wy, rcond=None)[0]
    dof = y.size - X.shape[1]
    sigma2 = float(((wy - wx @ beta) ** 2).sum()) / dof
    logdet_v0 = 2 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum()
    logdet_xvx = np.linalg.slogdet(wx.T @ wx)[1]
    return logdet_v0 + logdet_xvx + dof * np.log(sigma2), beta, sigma2


@functools.cache
def _dense_reml():
    """The REML estimates, from the dense restricted likelihood above."""
    result = optimize.minimize(
        lambda t: _restricted_deviance(t)[0],
        x0=np.array([1.0, 0.0, 0.2]),
        method="Nelder-Mead",
        options={"xatol": 1e-9, "fatol": 1e-11, "maxiter": 20000, "maxfev": 20000},
    )
    theta = result.x
    _, beta, sigma2 = _restricted_deviance(theta)
    lam = np.array([[theta[0], 0.0], [theta[1], theta[2]]])
    psi = sigma2 * lam @ lam.T
    sds = np.sqrt(np.diag(psi))
    estimates = {
        "beta_hat": beta,
        "sd_intercept": float(sds[0]),
        "sd_slope": float(sds[1]),
        "rho_hat": float(psi[0, 1] / (sds[0] * sds[1])),
        "sigma_hat": float(np.sqrt(sigma2)),
    }
    # the independent computation must agree with lme4's published fit
    assert np.allclose(beta, LME4_FIXEF, rtol=1e-9)
    for name, published in LME4_VARCORR.items():
        assert abs(estimates[name] - published) <= 5e-4, (name, estimates[name])
    return estimates


def q2_reference(seed):
    return {**_dense_reml(), "q2_answer": "b"}


@functools.cache
def _ml_fit():
    from companion import mixed

    fit = mixed.fit_random_slopes(
        data.load_sleepstudy(), response="reaction", predictor="days", group="subject", reml=False
    )
    return {
        "beta_hat": fit.fixed_effects.to_numpy(),
        "sd_intercept": fit.intercept_sd,
        "sd_slope": fit.slope_sd,
        "rho_hat": fit.correlation,
        "sigma_hat": fit.residual_sd,
    }


@functools.cache
def _statsmodels_reml():
    import warnings

    import statsmodels.formula.api as smf

    sleep = data.load_sleepstudy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = smf.mixedlm(
            "reaction ~ days", sleep, groups=sleep["subject"].astype(str), re_formula="~days"
        ).fit(reml=True)
    cov = result.cov_re.to_numpy()
    sds = np.sqrt(np.diag(cov))
    return {
        "beta_hat": result.fe_params.to_numpy(),
        "sd_intercept": float(sds[0]),
        "sd_slope": float(sds[1]),
        "rho_hat": float(cov[0, 1] / (sds[0] * sds[1])),
        "sigma_hat": float(np.sqrt(result.scale)),
    }


_Q2_TEST = {"test_q2_matches_lme4"}

Q2 = Catalogue(
    reference=q2_reference,
    mistakes=(
        Mutant(
            "ML instead of REML",
            lambda a, s: {**a, **_ml_fit()},
            frozenset(_Q2_TEST),
        ),
        mistake(
            "variances for standard deviations",
            _Q2_TEST,
            sd_intercept=From(lambda a: a["sd_intercept"] ** 2),
            sd_slope=From(lambda a: a["sd_slope"] ** 2),
            sigma_hat=From(lambda a: a["sigma_hat"] ** 2),
        ),
        mistake(
            "the covariance for the correlation",
            _Q2_TEST,
            rho_hat=From(lambda a: a["rho_hat"] * a["sd_intercept"] * a["sd_slope"]),
        ),
        mistake(
            "the spread of the subjects' own lines for the sds and correlation",
            _Q2_TEST,
            sd_intercept=float(_own_lines()[:, 0].std(ddof=1)),
            sd_slope=float(_own_lines()[:, 1].std(ddof=1)),
            rho_hat=float(np.corrcoef(_own_lines().T)[0, 1]),
        ),
        mistake(
            "intercept and slope sds swapped",
            _Q2_TEST,
            sd_intercept=From(lambda a: a["sd_slope"]),
            sd_slope=From(lambda a: a["sd_intercept"]),
        ),
        mistake(
            "the fixed effects' standard errors for the fixed effects",
            _Q2_TEST,
            beta_hat=np.array([6.825, 1.546]),
        ),
        *wrong_options("q2_answer", "b", "test_q2_answer"),
    ),
    alternatives=(
        alternative(
            "NumPy scalars, beta_hat as a pandas Series",
            beta_hat=From(lambda a: pd.Series(a["beta_hat"], index=["intercept", "days"])),
            sd_intercept=From(lambda a: np.float64(a["sd_intercept"])),
            sd_slope=From(lambda a: np.float64(a["sd_slope"])),
            rho_hat=From(lambda a: np.float64(a["rho_hat"])),
            sigma_hat=From(lambda a: np.float64(a["sigma_hat"])),
        ),
        alternative("beta_hat as a list", beta_hat=From(lambda a: list(a["beta_hat"]))),
        Mutant(
            "statsmodels' MixedLM (REML) read directly",
            lambda a, s: {**a, **_statsmodels_reml()},
        ),
        alternative(
            "beta_hat as the average of the own lines (equal: every subject has days 0-9)",
            beta_hat=_own_lines().mean(axis=0),
        ),
        alternative(
            "lme4 1.1-37's printed VarCorr (24.741, 5.922, 0.066, 25.592)",
            sd_intercept=24.741,
            sd_slope=5.922,
            rho_hat=0.066,
            sigma_hat=25.592,
        ),
    ),
)


# ------------------------------------------------------------------------------ q3


def _gls_mean(y, X, Z, G, sigma):
    """Posterior mean of (beta, b) from the marginal model, by generalised least squares."""
    y, X, Z, G = (np.asarray(a, dtype=float) for a in (y, X, Z, G))
    V = Z @ G @ Z.T + sigma**2 * np.eye(y.size)
    beta = np.linalg.solve(X.T @ np.linalg.solve(V, X), X.T @ np.linalg.solve(V, y))
    b = G @ Z.T @ np.linalg.solve(V, y - X @ beta)
    return np.concatenate([beta, b])


def _henderson(prior_beta=0.0, sigma_power=2, scale_rhs=True, invert_g=True):
    """Henderson's form, with knobs for the typical mistakes (defaults: right)."""

    def mean(y, X, Z, G, sigma):
        y, X, Z, G = (np.asarray(a, dtype=float) for a in (y, X, Z, G))
        C = np.hstack([X, Z])
        p = X.shape[1]
        prior = np.zeros((C.shape[1],) * 2)
        prior[:p, :p] = prior_beta * np.eye(p)
        prior[p:, p:] = np.linalg.inv(G) if invert_g else G
        precision = C.T @ C / sigma**sigma_power + prior
        rhs = C.T @ y / sigma**sigma_power if scale_rhs else C.T @ y
        return np.linalg.solve(precision, rhs)

    return mean


def _ols_then_blup(y, X, Z, G, sigma):
    """b from the residuals of the ordinary least-squares beta (not the GLS one)."""
    y, X, Z, G = (np.asarray(a, dtype=float) for a in (y, X, Z, G))
    V = Z @ G @ Z.T + sigma**2 * np.eye(y.size)
    beta = np.linalg.lstsq(X, y, rcond=None)[0]
    return np.concatenate([beta, G @ Z.T @ np.linalg.solve(V, y - X @ beta)])


def _psi(sd0, sd1, rho):
    cov = rho * sd0 * sd1
    return np.array([[sd0**2, cov], [cov, sd1**2]])


def _sleep_effects(function, estimates=None, psi=None):
    est = estimates or _dense_reml()
    _, _, _, y, X, Z = _sleep()
    if psi is None:
        psi = _psi(est["sd_intercept"], est["sd_slope"], est["rho_hat"])
    G = np.kron(np.eye(18), psi)
    return np.asarray(function(y, X, Z, G, est["sigma_hat"]), dtype=float)[2:].reshape(-1, 2)


def q3_reference(seed):
    return {"posterior_mean": _gls_mean, "sleep_random_effects": _sleep_effects(_gls_mean)}


_Q3_BOTH = {"test_q3_posterior_mean_on_random_inputs", "test_q3_sleep_random_effects"}


def _wrong_function(description, function, fails=frozenset(_Q3_BOTH)):
    return mistake(
        description,
        fails,
        posterior_mean=function,
        sleep_random_effects=_sleep_effects(function),
    )


def _companion_blups():
    from companion import mixed

    fit = mixed.fit_random_slopes(
        data.load_sleepstudy(), response="reaction", predictor="days", group="subject"
    )
    return fit.random_effects


Q3 = Catalogue(
    reference=q3_reference,
    mistakes=(
        _wrong_function("G for G^-1 as the prior precision of b", _henderson(invert_g=False)),
        _wrong_function("sigma for sigma^2", _henderson(sigma_power=1)),
        _wrong_function("C'y not divided by sigma^2", _henderson(scale_rhs=False)),
        _wrong_function("a unit prior precision on beta (not flat)", _henderson(prior_beta=1.0)),
        # with every subject on days 0-9 the GLS and OLS betas coincide, so only the
        # random inputs catch it
        _wrong_function(
            "b from the residuals of the least-squares beta, not the GLS one",
            _ols_then_blup,
            fails=frozenset({"test_q3_posterior_mean_on_random_inputs"}),
        ),
        mistake(
            "each subject's line (beta + b_j), not its deviation b_j",
            {"test_q3_sleep_random_effects"},
            sleep_random_effects=From(
                lambda a: a["sleep_random_effects"] + _dense_reml()["beta_hat"]
            ),
        ),
        mistake(
            "the correlation for the covariance in Psi",
            {"test_q3_sleep_random_effects"},
            sleep_random_effects=_sleep_effects(
                _gls_mean,
                psi=np.array(
                    [
                        [_dense_reml()["sd_intercept"] ** 2, _dense_reml()["rho_hat"]],
                        [_dense_reml()["rho_hat"], _dense_reml()["sd_slope"] ** 2],
                    ]
                ),
            ),
        ),
        mistake(
            "sds for variances on the diagonal of Psi",
            {"test_q3_sleep_random_effects"},
            sleep_random_effects=_sleep_effects(
                _gls_mean,
                psi=_psi(
                    np.sqrt(_dense_reml()["sd_intercept"]),
                    np.sqrt(_dense_reml()["sd_slope"]),
                    _dense_reml()["rho_hat"],
                ),
            ),
        ),
        Mutant(
            "Psi and sigma from the ML fit",
            lambda a, s: {**a, "sleep_random_effects": _sleep_effects(_gls_mean, _ml_fit())},
            frozenset({"test_q3_sleep_random_effects"}),
        ),
        mistake(
            "no pooling: the own lines minus the fixed effects",
            {"test_q3_sleep_random_effects"},
            sleep_random_effects=_own_lines() - np.array(LME4_FIXEF),
        ),
        mistake(
            "columns swapped: (slope, intercept)",
            {"test_q3_sleep_random_effects"},
            sleep_random_effects=From(lambda a: a["sleep_random_effects"][:, ::-1]),
        ),
    ),
    alternatives=(
        alternative(
            "Henderson's equations, as the chapter writes them", posterior_mean=_henderson()
        ),
        alternative(
            "a function returning a list",
            posterior_mean=lambda y, X, Z, G, sigma: _gls_mean(y, X, Z, G, sigma).tolist(),
        ),
        alternative(
            "sleep_random_effects read from the REML fit (a DataFrame by subject)",
            sleep_random_effects=_companion_blups(),
        ),
        alternative(
            "sleep_random_effects as a list of lists",
            sleep_random_effects=From(lambda a: a["sleep_random_effects"].tolist()),
        ),
    ),
)


# ------------------------------------------------------------------------------ q4


def q4_reference(seed):
    return {"penicillin_sds": np.array(LME4_PENICILLIN), "pastes_sds": np.array(LME4_PASTES)}


@functools.cache
def _fit(frame, response, groups, structure="crossed", reml=True):
    from companion import mixed

    loaded = {"penicillin": data.load_penicillin, "pastes": data.load_pastes}[frame]()
    fit = mixed.fit_variance_components(
        loaded, response=response, groups=list(groups), structure=structure, reml=reml
    )
    return np.array([*fit.component_sds, fit.residual_sd])


@functools.cache
def _statsmodels_components():
    import warnings

    import statsmodels.formula.api as smf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pen = data.load_penicillin().assign(one=1)
        fit = smf.mixedlm(
            "diameter ~ 1",
            pen,
            groups="one",
            vc_formula={"plate": "0 + C(plate)", "sample": "0 + C(sample)"},
        ).fit(reml=True)
        penicillin = np.array([*np.sqrt(fit.vcomp), np.sqrt(fit.scale)])
        pastes = data.load_pastes()
        fit = smf.mixedlm(
            "strength ~ 1",
            pastes,
            groups="batch",
            re_formula="1",
            vc_formula={"cask": "0 + C(cask)"},
        ).fit(reml=True)
        pastes_sds = np.array(
            [np.sqrt(fit.cov_re.iloc[0, 0]), *np.sqrt(fit.vcomp), np.sqrt(fit.scale)]
        )
    return {"penicillin_sds": penicillin, "pastes_sds": pastes_sds}


def _pastes_anova():
    frame = data.load_pastes()
    y = frame["strength"].to_numpy(float)
    cask = frame.groupby("sample", observed=True)["strength"].transform("mean")
    batch = frame.groupby("batch", observed=True)["strength"].transform("mean")
    ms_within = float(((y - cask) ** 2).sum()) / 30
    ms_cask = float(((cask - batch) ** 2).sum()) / 20
    ms_batch = float(((batch - y.mean()) ** 2).sum()) / 9
    return np.sqrt([(ms_batch - ms_cask) / 6, (ms_cask - ms_within) / 2, ms_within])


_PEN, _PASTES = {"test_q4_penicillin_matches_anova"}, {"test_q4_pastes_matches_anova"}

Q4 = Catalogue(
    reference=q4_reference,
    mistakes=(
        mistake(
            "variances for standard deviations",
            _PEN | _PASTES,
            penicillin_sds=From(lambda a: a["penicillin_sds"] ** 2),
            pastes_sds=From(lambda a: a["pastes_sds"] ** 2),
        ),
        mistake(
            "plate and sample sds swapped",
            _PEN,
            penicillin_sds=From(lambda a: a["penicillin_sds"][[1, 0, 2]]),
        ),
        mistake(
            "ML instead of REML",
            _PEN | _PASTES,
            penicillin_sds=_fit("penicillin", "diameter", ("plate", "sample"), reml=False),
            pastes_sds=_fit("pastes", "strength", ("batch", "cask"), "nested", reml=False),
        ),
        mistake(
            "casks crossed with batches by their letters (cask 'a' of every batch one cask)",
            _PASTES,
            pastes_sds=_fit("pastes", "strength", ("batch", "cask")),
        ),
        mistake(
            "the batch grouping left out (casks only)",
            _PASTES,
            pastes_sds=np.array([0.0, *_fit("pastes", "strength", ("sample",))]),
        ),
        mistake(
            "the residual sd as the sd of all the observations",
            _PEN,
            penicillin_sds=From(
                lambda a: np.array(
                    [*a["penicillin_sds"][:2], data.load_penicillin()["diameter"].std()]
                )
            ),
        ),
    ),
    alternatives=(
        alternative(
            "lists",
            penicillin_sds=From(lambda a: a["penicillin_sds"].tolist()),
            pastes_sds=From(lambda a: a["pastes_sds"].tolist()),
        ),
        alternative(
            "companion's REML fits",
            penicillin_sds=_fit("penicillin", "diameter", ("plate", "sample")),
            pastes_sds=_fit("pastes", "strength", ("batch", "cask"), "nested"),
        ),
        alternative(
            "Pastes as batch crossed with the unique cask labels (lme4's equivalent model)",
            pastes_sds=_fit("pastes", "strength", ("batch", "sample")),
        ),
        Mutant(
            "statsmodels' MixedLM with variance components, from its own start",
            lambda a, s: {**a, **_statsmodels_components()},
        ),
        alternative("Pastes by the nested ANOVA mean squares", pastes_sds=_pastes_anova()),
    ),
)

# ------------------------------------------------------------------------------ q5

CHAINS, DRAWS = 4, 1000  # the notebook's fit: sampling.sample's defaults
SEEDS = (0, 1, 2, 3, 4)


@functools.cache
def _radon():
    frame = data.load_radon()
    y = frame["log_radon"].to_numpy(float)
    x = frame["floor"].to_numpy(float)
    codes, labels = pd.factorize(frame["county"].astype(str), sort=True)
    return frame, y, x, codes, list(labels)


def _radon_priors(y, x):
    """models.varying_intercepts' priors: scaled by the (ddof 0) sds of y and x."""
    s_y = y.std()
    return {"m0": y.mean(), "s_mu": 2.5 * s_y, "s_beta": 2.5 * s_y / x.std(), "s_y": s_y}


def _given_scales(tau, sigma):
    """For each (tau, sigma): the bivariate Normal posterior of (mu, beta) with alpha
    integrated out, and its log normalising constant (the marginal log posterior)."""
    _, y, x, codes, _ = _radon()
    prior = _radon_priors(y, x)
    n = np.bincount(codes).astype(float)
    sy, sx = np.bincount(codes, weights=y), np.bincount(codes, weights=x)
    sxx, sxy = np.bincount(codes, weights=x * x), np.bincount(codes, weights=x * y)
    syy = np.bincount(codes, weights=y * y)
    tau, sigma = np.broadcast_arrays(np.asarray(tau, float), np.asarray(sigma, float))
    t2, s2 = tau[..., None] ** 2, sigma[..., None] ** 2
    w = t2 / (s2 + n * t2)
    precision = np.empty(tau.shape + (2, 2))
    precision[..., 0, 0] = ((n - w * n * n) / s2).sum(-1) + 1 / prior["s_mu"] ** 2
    precision[..., 0, 1] = precision[..., 1, 0] = ((sx - w * n * sx) / s2).sum(-1)
    precision[..., 1, 1] = ((sxx - w * sx * sx) / s2).sum(-1) + 1 / prior["s_beta"] ** 2
    shift = np.stack(
        [
            ((sy - w * n * sy) / s2).sum(-1) + prior["m0"] / prior["s_mu"] ** 2,
            ((sxy - w * sx * sy) / s2).sum(-1),
        ],
        axis=-1,
    )
    constant = ((syy - w * sy * sy) / s2).sum(-1) + prior["m0"] ** 2 / prior["s_mu"] ** 2
    mean = np.linalg.solve(precision, shift[..., None])[..., 0]
    log_post = -0.5 * (
        ((n - 1) * np.log(s2) + np.log(s2 + n * t2)).sum(-1)
        + np.linalg.slogdet(precision)[1]
        + constant
        - (shift * mean).sum(-1)
    )
    log_post -= 0.5 * (tau**2 + sigma**2) / prior["s_y"] ** 2
    return mean, precision, log_post


@functools.cache
def _radon_grid():
    tau = np.linspace(0.0, 1.5, 601)[1:]
    sigma = np.linspace(0.55, 1.05, 501)
    _, _, log_post = _given_scales(tau[:, None], sigma[None, :])
    return tau, sigma, log_post


@functools.cache
def _radon_draws(seed, prior=False):
    rng = np.random.default_rng(seed)
    size = CHAINS * DRAWS
    _, y, x, codes, labels = _radon()
    n = np.bincount(codes).astype(float)
    sy, sx = np.bincount(codes, weights=y), np.bincount(codes, weights=x)
    if prior:
        p = _radon_priors(y, x)
        tau = np.abs(rng.normal(0, p["s_y"], size))
        sigma = np.abs(rng.normal(0, p["s_y"], size))
        mu = rng.normal(p["m0"], p["s_mu"], size)
        beta = rng.normal(0, p["s_beta"], size)
        alpha = rng.normal(mu[:, None], tau[:, None], (size, n.size))
    else:
        tau_grid, sigma_grid, log_post = _radon_grid()
        weights = np.exp(log_post - log_post.max()).ravel()
        cell = rng.choice(weights.size, size=size, p=weights / weights.sum())
        i, j = np.unravel_index(cell, log_post.shape)
        d_tau, d_sigma = tau_grid[1] - tau_grid[0], sigma_grid[1] - sigma_grid[0]
        tau = np.abs(tau_grid[i] + rng.uniform(-0.5, 0.5, size) * d_tau)
        sigma = sigma_grid[j] + rng.uniform(-0.5, 0.5, size) * d_sigma
        mean, precision, _ = _given_scales(tau, sigma)
        chol = np.linalg.cholesky(np.linalg.inv(precision))
        mu, beta = (mean + (chol @ rng.normal(size=(size, 2, 1)))[..., 0]).T
        alpha_precision = n / sigma[:, None] ** 2 + 1 / tau[:, None] ** 2
        alpha_mean = (sy - beta[:, None] * sx) / sigma[:, None] ** 2 + mu[:, None] / tau[
            :, None
        ] ** 2
        alpha = rng.normal(alpha_mean / alpha_precision, 1 / np.sqrt(alpha_precision))
    return {
        "mu": mu,
        "beta": beta,
        "tau": tau,
        "sigma": sigma,
        "alpha_offset": (alpha - mu[:, None]) / tau[:, None],
        "alpha": alpha,
    }


def _radon_fit(draws, *, repeat=1, extra_stats=False):
    return fit_from_draws(
        {name: values.reshape(CHAINS, DRAWS, *values.shape[1:]) for name, values in draws.items()},
        coords={"county": _radon()[4]},
        dims={"alpha": ["county"], "alpha_offset": ["county"]},
        repeat=repeat,
        sample_stats={"step_size": 0.3, "n_steps": 15} if extra_stats else None,
    )


def _q5_answers(fit):
    alpha = fit["posterior"]["alpha"]
    return {"radon_idata": fit, "alpha_means": alpha.mean(("chain", "draw")).to_numpy()}


def q5_reference(seed):
    return {"q5_answer": "b", **_q5_answers(_radon_fit(_radon_draws(seed)))}


def _no_pooling_means():
    frame, y, x, codes, _ = _radon()
    onehot = np.eye(codes.max() + 1)[codes]
    coef = np.linalg.lstsq(np.column_stack([onehot, x]), y, rcond=None)[0]
    return coef[:-1]


@functools.cache
def _no_pooling_draws(seed):
    """The reference draws with each alpha_j replaced by Normal(no-pooling estimate,
    sigma / sqrt(n_j)) draws: a healthy-looking fit of the wrong model."""
    draws = dict(_radon_draws(seed))
    _, _, _, codes, _ = _radon()
    n = np.bincount(codes).astype(float)
    rng = np.random.default_rng([seed, 9])
    scale = draws["sigma"][:, None] / np.sqrt(n)
    draws["alpha"] = _no_pooling_means() + scale * rng.normal(size=scale.shape)
    draws["alpha_offset"] = (draws["alpha"] - draws["mu"][:, None]) / draws["tau"][:, None]
    return draws


_Q5_TEST = {"test_q5_alpha_means_match_exact"}

# Each draw repeated twice: bulk ESS of the alphas about 2000, R-hat still below 1.01.
LOW_ESS_REPEAT = 2

Q5 = Catalogue(
    reference=q5_reference,
    mistakes=(
        *wrong_options("q5_answer", "b", "test_q5_answer"),
        Mutant(
            "prior draws for posterior draws (data left out of the fit)",
            lambda a, s: {**a, **_q5_answers(_radon_fit(_radon_draws(s, prior=True)))},
            frozenset(_Q5_TEST),
        ),
        mistake(
            "alpha_means = the no-pooling county intercepts",
            _Q5_TEST,
            alpha_means=_no_pooling_means(),
        ),
        Mutant(
            "a no-pooling fit: each alpha_j drawn around its own county's estimate",
            lambda a, s: {**a, **_q5_answers(_radon_fit(_no_pooling_draws(s)))},
            frozenset(_Q5_TEST),
        ),
        mistake(
            "alpha_means = the county means of log radon (floor ignored)",
            _Q5_TEST,
            alpha_means=data.load_radon()
            .groupby("county", observed=True)["log_radon"]
            .mean()
            .to_numpy(),
        ),
        mistake(
            "alpha_means = the posterior means of alpha_offset",
            _Q5_TEST,
            alpha_means=From(
                lambda a: (
                    a["radon_idata"]["posterior"]["alpha_offset"].mean(("chain", "draw")).to_numpy()
                )
            ),
        ),
        mistake(
            "alpha_means from the first chain only",
            _Q5_TEST,
            alpha_means=From(
                lambda a: (
                    a["radon_idata"]["posterior"]["alpha"].isel(chain=0).mean("draw").to_numpy()
                )
            ),
        ),
    ),
    alternatives=(
        alternative(
            "alpha_means as a list",
            alpha_means=From(lambda a: a["alpha_means"].tolist()),
        ),
        alternative(
            "alpha_means as a pandas Series by county",
            alpha_means=From(lambda a: pd.Series(a["alpha_means"], index=_radon()[4])),
        ),
        Mutant(
            "a fit with pm.sample's extra sample_stats",
            lambda a, s: {**a, **_q5_answers(_radon_fit(_radon_draws(s), extra_stats=True))},
        ),
        Mutant(
            f"a healthy low-ESS fit (each draw repeated {LOW_ESS_REPEAT} times)",
            lambda a, s: {
                **a,
                **_q5_answers(_radon_fit(_radon_draws(s), repeat=LOW_ESS_REPEAT)),
            },
        ),
    ),
    seeds=SEEDS,
)

CATALOGUE = {"q1": Q1, "q2": Q2, "q3": Q3, "q4": Q4, "q5": Q5}
