"""Mutation catalogue of 03-eight-schools: typical mistakes lose points, alternatives keep them.

The fits are made of exact posterior draws shaped like ``sampling.sample``'s DataTree:
the Eight Schools model from ``companion.exact.normal_hierarchy``, the covariate model
from its own exact sampler below (tau by inverting its marginal posterior on a fine grid,
then (mu, beta) | tau and theta | mu, beta, tau from their Normal conditionals). The
solution notebook is never run.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from companion import data, exact
from coursetools.grading.mutations import (
    Catalogue,
    From,
    Mutant,
    alternative,
    fit_from_draws,
    mistake,
    wrong_options,
)

RANDOM_SEED = 2303
CHAINS = 4
SCHOOLS = data.load_eight_schools()
Y = SCHOOLS["y"].to_numpy()
SIGMA = SCHOOLS["sigma"].to_numpy()
LABELS = SCHOOLS["school"].tolist()
POSTERIOR = exact.normal_hierarchy(
    Y, SIGMA, mu_prior_mean=0.0, mu_prior_sd=20.0, tau_prior=stats.halfnorm(scale=10.0)
)


def _repeated(draws, repeat, per_chain):
    """Each draw repeated ``repeat`` times in a row, cut to (CHAINS, per_chain, ...)."""
    out = {}
    for name, value in draws.items():
        value = np.repeat(value, repeat, axis=0)
        out[name] = value.reshape(CHAINS, -1, *value.shape[1:])[:, :per_chain]
    return out


def _shaped(draws):
    return {k: v.reshape(CHAINS, -1, *v.shape[1:]) for k, v in draws.items()}


def _fit(draws, labels, *, extra=False):
    """A non-centred fit (mu, tau, theta, theta_offset and beta if drawn) from shaped draws."""
    mean = draws["mu"][..., None]
    if "beta" in draws:
        mean = mean + draws["beta"][..., None] * X
    posterior = dict(draws)
    posterior["theta_offset"] = (draws["theta"] - mean) / draws["tau"][..., None]
    dims = {"theta": ["school"], "theta_offset": ["school"]}
    fit = fit_from_draws(posterior, coords={"school": labels}, dims=dims)
    if extra:
        shape = draws["mu"].shape
        rng = np.random.default_rng(7)
        sample_stats = fit["sample_stats"].to_dataset()
        sample_stats["energy"] = (("chain", "draw"), rng.normal(40.0, 4.0, shape))
        sample_stats["step_size"] = (("chain", "draw"), np.full(shape, 0.2))
        sample_stats["tree_depth"] = (("chain", "draw"), rng.integers(3, 6, shape))
        fit["sample_stats"] = sample_stats
    return fit


# ---------------------------------------------------------------------------- q1, q2


def _eight_draws(seed, n=CHAINS * 1000):
    return POSTERIOR.sample(n, rng=seed)


def _eight_fit(seed, *, repeat=1, extra=False):
    if repeat == 1:
        draws = _shaped(_eight_draws(seed))
    else:
        draws = _repeated(_eight_draws(seed + 1000, CHAINS * -(-1000 // repeat)), repeat, 1000)
    return _fit(draws, LABELS, extra=extra)


def _new_school(fit, seed, *, mu=None, tau=None):
    mu_draws = fit["posterior"]["mu"].values.ravel() if mu is None else mu
    tau_draws = fit["posterior"]["tau"].values.ravel() if tau is None else tau
    size = fit["posterior"]["mu"].size
    return np.random.default_rng([seed, 3]).normal(mu_draws, tau_draws, size=size)


def _q1_answers(fit, theta_new):
    return {
        "idata": fit,
        "theta_new": theta_new,
        "new_school_mean": float(np.mean(theta_new)),
        "new_school_sd": float(np.std(theta_new)),
    }


def q1_reference(seed):
    fit = _eight_fit(seed)
    return _q1_answers(fit, _new_school(fit, seed))


def _q1_from(make_theta, fit_of_seed=_eight_fit, **overrides):
    def change(answers, seed):
        fit = fit_of_seed(seed)
        changed = _q1_answers(fit, make_theta(fit, seed))
        for name, compute in overrides.items():
            changed[name] = compute(changed, fit)
        return changed

    return change


def _low_ess(seed):
    return _eight_fit(seed, repeat=3)


def _posterior_means(fit, seed):
    post = fit["posterior"]
    return _new_school(fit, seed, mu=float(post["mu"].mean()), tau=float(post["tau"].mean()))


Q1_POP = "test_q1_draws_are_from_the_population"
Q1_MEAN = "test_q1_mean_matches_exact"
Q1_SD = "test_q1_sd_matches_exact"


def _divergent(seed):
    fit = _eight_fit(seed)
    stats_group = fit["sample_stats"].to_dataset()
    diverging = stats_group["diverging"].values.copy()
    diverging[2, ::150] = True
    stats_group["diverging"] = (("chain", "draw"), diverging)
    fit["sample_stats"] = stats_group
    return fit


def _short(seed):
    """4 chains x 80 draws: R-hat may pass, but far too few effective draws."""
    return _fit(_shaped(_eight_draws(seed, CHAINS * 80)), LABELS)


Q1 = Catalogue(
    reference=q1_reference,
    mistakes=(
        Mutant(
            "theta_new drawn around the posterior means of mu and tau",
            _q1_from(_posterior_means),
            frozenset({Q1_POP, Q1_SD}),
        ),
        Mutant(
            "theta_new = the mu draws (forgot tau)",
            _q1_from(lambda f, s: f["posterior"]["mu"].values.ravel().copy()),
            frozenset({Q1_POP, Q1_SD}),
        ),
        Mutant(
            "theta_new with tau^2 as the sd",
            _q1_from(lambda f, s: _new_school(f, s, tau=f["posterior"]["tau"].values.ravel() ** 2)),
            frozenset({Q1_POP, Q1_SD}),
        ),
        Mutant(
            "theta_new ~ Normal(mu draws, tau fixed at its mean)",
            _q1_from(lambda f, s: _new_school(f, s, tau=float(f["posterior"]["tau"].mean()))),
            frozenset({Q1_POP, Q1_SD}),
        ),
        Mutant(
            "theta_new in a shuffled order (az.extract-like)",
            _q1_from(lambda f, s: np.random.default_rng(s).permutation(_new_school(f, s))),
            frozenset({Q1_POP}),
        ),
        Mutant(
            "theta_new = the posterior draws of school A's theta",
            _q1_from(lambda f, s: f["posterior"]["theta"].values[..., 0].ravel().copy()),
            frozenset({Q1_POP}),
        ),
        Mutant(
            "new_school_sd = the variance of theta_new",
            _q1_from(_new_school, new_school_sd=lambda a, f: float(np.var(a["theta_new"]))),
            frozenset({Q1_SD}),
        ),
        Mutant(
            "new_school_sd = the posterior mean of tau",
            _q1_from(_new_school, new_school_sd=lambda a, f: float(f["posterior"]["tau"].mean())),
            frozenset({Q1_SD}),
        ),
        Mutant(
            "new_school_mean = the mean of y",
            _q1_from(_new_school, new_school_mean=lambda a, f: float(Y.mean())),
            frozenset({Q1_MEAN}),
        ),
        Mutant(
            "a fit with divergences",
            _q1_from(_new_school, _divergent),
            frozenset({"test_q1_converged"}),
        ),
        Mutant(
            "too few draws (4 x 80)",
            _q1_from(_new_school, _short),
            frozenset({"test_q1_converged"}),
        ),
        Mutant(
            "theta_new around the posterior means, low-ESS fit",
            _q1_from(_posterior_means, _low_ess),
            frozenset({Q1_POP, Q1_SD}),
        ),
        Mutant(
            "new_school_mean = the mean of y, low-ESS fit",
            _q1_from(_new_school, _low_ess, new_school_mean=lambda a, f: float(Y.mean())),
            frozenset({Q1_MEAN}),
        ),
    ),
    alternatives=(
        Mutant("another seed's fit", _q1_from(_new_school, lambda s: _eight_fit(s + 100))),
        Mutant(
            "low-ESS but healthy fit (each draw repeated 3 times)", _q1_from(_new_school, _low_ess)
        ),
        Mutant(
            "pm.sample-like structure", _q1_from(_new_school, lambda s: _eight_fit(s, extra=True))
        ),
        alternative("theta_new as a list", theta_new=From(lambda a: list(a["theta_new"]))),
        alternative(
            "theta_new shaped (chain, draw)",
            theta_new=From(lambda a: a["theta_new"].reshape(CHAINS, -1)),
        ),
        alternative(
            "0-d arrays for the mean and sd",
            new_school_mean=From(
                lambda a: np.mean(np.asarray(a["theta_new"]), keepdims=False) + np.zeros(())
            ),
            new_school_sd=From(lambda a: np.asarray(np.std(a["theta_new"]))),
        ),
        alternative(
            "sd with ddof=1", new_school_sd=From(lambda a: float(np.std(a["theta_new"], ddof=1)))
        ),
        Mutant(
            "theta_new as mu + tau * z with z standard Normal",
            _q1_from(
                lambda f, s: (
                    f["posterior"]["mu"].values.ravel()
                    + f["posterior"]["tau"].values.ravel()
                    * np.random.default_rng([s, 9]).standard_normal(f["posterior"]["mu"].size)
                )
            ),
        ),
    ),
    seeds=(0, 1, 2, 3, 4),
)


def _q2_answers(fit):
    return {
        "idata": fit,
        "theta_E_sd": float(fit["posterior"]["theta"].sel(school="E").std()),
        "q2_answer": "b",
    }


def _q2_from(fit_of_seed, theta_E_sd=None):
    def change(answers, seed):
        changed = _q2_answers(fit_of_seed(seed))
        if theta_E_sd is not None:
            changed["theta_E_sd"] = theta_E_sd(changed["idata"])
        return changed

    return change


Q2_SD = {"test_q2_theta_E_sd"}
Q2 = Catalogue(
    reference=lambda seed: _q2_answers(_eight_fit(seed)),
    mistakes=(
        *wrong_options("q2_answer", "b", "test_q2_answer"),
        Mutant(
            "the posterior variance of theta_E",
            _q2_from(_eight_fit, lambda f: float(f["posterior"]["theta"].sel(school="E").var())),
            frozenset(Q2_SD),
        ),
        Mutant(
            "the posterior mean of theta_E",
            _q2_from(_eight_fit, lambda f: float(f["posterior"]["theta"].sel(school="E").mean())),
            frozenset(Q2_SD),
        ),
        mistake("sigma_E, the standard error of y_E", Q2_SD, theta_E_sd=9.0),
        Mutant(
            "the sd of theta_offset for school E",
            _q2_from(
                _eight_fit, lambda f: float(f["posterior"]["theta_offset"].sel(school="E").std())
            ),
            frozenset(Q2_SD),
        ),
        Mutant(
            "the first school (isel(school=0)), not E",
            _q2_from(_eight_fit, lambda f: float(f["posterior"]["theta"].isel(school=0).std())),
            frozenset(Q2_SD),
        ),
        Mutant(
            "the sd of all theta draws",
            _q2_from(_eight_fit, lambda f: float(f["posterior"]["theta"].std())),
            frozenset(Q2_SD),
        ),
        Mutant(
            "the posterior mean of theta_E, low-ESS fit",
            _q2_from(_low_ess, lambda f: float(f["posterior"]["theta"].sel(school="E").mean())),
            frozenset(Q2_SD),
        ),
    ),
    alternatives=(
        Mutant("another seed's fit", _q2_from(lambda s: _eight_fit(s + 100))),
        Mutant("low-ESS but healthy fit", _q2_from(_low_ess)),
        Mutant(
            "ddof=1 with numpy",
            _q2_from(
                _eight_fit,
                lambda f: float(np.std(f["posterior"]["theta"].sel(school="E").values, ddof=1)),
            ),
        ),
        Mutant(
            "a 0-d array from xarray (.std().values)",
            _q2_from(_eight_fit, lambda f: f["posterior"]["theta"].sel(school="E").std().values),
        ),
        Mutant(
            "numpy float64 via .values",
            _q2_from(
                _eight_fit, lambda f: np.float64(f["posterior"]["theta"].values[..., 4].std())
            ),
        ),
    ),
    seeds=(0, 1, 2, 3, 4),
)

# ---------------------------------------------------------------------------- q3

Q3 = Catalogue(
    reference=lambda seed: {"q3_answer": "b"},
    mistakes=wrong_options("q3_answer", "b", "test_q3_answer"),
    alternatives=(alternative("numpy str_", q3_answer=np.str_("b")),),
)

# ---------------------------------------------------------------------------- q4

STUDY = data.simulate_private_schools(seed=RANDOM_SEED)
TYPED = STUDY.schools
TY = TYPED["y"].to_numpy()
TSIGMA = TYPED["sigma"].to_numpy()
X = TYPED["private"].to_numpy(dtype=float)
TLABELS = TYPED["school"].tolist()
DESIGN = np.column_stack([np.ones_like(TY), X])
PRIOR_PRECISION = np.diag([20.0**-2, 10.0**-2])


def _conditional(tau):
    """Mean and covariance of (mu, beta) given tau, and log p(tau | y) up to a constant."""
    variance = TSIGMA**2 + np.asarray(tau)[..., None] ** 2
    precision = np.einsum("...i,ij,ik->...jk", 1 / variance, DESIGN, DESIGN) + PRIOR_PRECISION
    rhs = np.einsum("...i,ij->...j", TY / variance, DESIGN)
    covariance = np.linalg.inv(precision)
    mean = np.einsum("...jk,...k->...j", covariance, rhs)
    log_density = (
        stats.halfnorm.logpdf(tau, scale=10.0)
        - 0.5 * np.log(variance).sum(axis=-1)
        - 0.5 * np.linalg.slogdet(precision)[1]
        - 0.5 * ((TY**2 / variance).sum(axis=-1) - np.einsum("...j,...j->...", rhs, mean))
    )
    return mean, covariance, log_density


GRID = np.linspace(0.0, 60.0, 60001)
_, _, _LOG = _conditional(GRID)
_DENSITY = np.exp(_LOG - _LOG.max())
_CDF = np.concatenate([[0.0], np.cumsum((_DENSITY[1:] + _DENSITY[:-1]) / 2 * np.diff(GRID))])
_CDF /= _CDF[-1]


def _covariate_draws(seed, n):
    rng = np.random.default_rng([seed, 4])
    tau = np.interp(rng.random(n), _CDF, GRID)
    mean, covariance, _ = _conditional(tau)
    chol = np.linalg.cholesky(covariance)
    mu_beta = mean + np.einsum("njk,nk->nj", chol, rng.normal(size=(n, 2)))
    mu, beta = mu_beta[:, 0], mu_beta[:, 1]
    precision = 1 / TSIGMA**2 + 1 / tau[:, None] ** 2
    centre = (TY / TSIGMA**2 + (mu[:, None] + beta[:, None] * X) / tau[:, None] ** 2) / precision
    theta = rng.normal(centre, 1 / np.sqrt(precision))
    return {"mu": mu, "beta": beta, "tau": tau, "theta": theta}


def _covariate_fit(seed, *, draws=2000, repeat=1, extra=False):
    if repeat == 1:
        shaped = _shaped(_covariate_draws(seed, CHAINS * draws))
    else:
        unique = _covariate_draws(seed + 1000, CHAINS * -(-draws // repeat))
        shaped = _repeated(unique, repeat, draws)
    return _fit(shaped, TLABELS, extra=extra)


def _q4_answers(fit, *, beta_mean=None, p=None):
    beta = fit["posterior"]["beta"].values.ravel()
    return {
        "covariate_idata": fit,
        "beta_mean": float(beta.mean()) if beta_mean is None else beta_mean(fit),
        "p_private_better": float(np.mean(beta > 0)) if p is None else p(fit),
        "RANDOM_SEED": RANDOM_SEED,
    }


def _q4_from(fit_of_seed=_covariate_fit, **overrides):
    def change(answers, seed):
        return _q4_answers(fit_of_seed(seed), **overrides)

    return change


def _beta(fit):
    return fit["posterior"]["beta"].values.ravel()


def _q4_low_ess(seed):
    return _covariate_fit(seed, repeat=6)


Q4_MEAN = "test_q4_beta_mean"
Q4_P = "test_q4_probability"
NO_POOLING_DIFFERENCE = float(TY[X == 1].mean() - TY[X == 0].mean())

Q4 = Catalogue(
    reference=lambda seed: _q4_answers(_covariate_fit(seed)),
    mistakes=(
        Mutant(
            "beta_mean = the posterior mean of mu",
            _q4_from(beta_mean=lambda f: float(f["posterior"]["mu"].mean())),
            frozenset({Q4_MEAN}),
        ),
        Mutant(
            "beta_mean = the simulation's true beta",
            _q4_from(beta_mean=lambda f: float(STUDY.beta)),
            frozenset({Q4_MEAN}),
        ),
        Mutant(
            "beta_mean = the posterior median of beta",
            _q4_from(beta_mean=lambda f: float(np.median(_beta(f)))),
            frozenset({Q4_MEAN}),
        ),
        Mutant(
            "beta_mean = difference of the two groups' average y (no pooling)",
            _q4_from(beta_mean=lambda f: NO_POOLING_DIFFERENCE),
            frozenset({Q4_MEAN}),
        ),
        Mutant(
            "P(beta < 0) for P(beta > 0)",
            _q4_from(p=lambda f: float(np.mean(_beta(f) < 0))),
            frozenset({Q4_P}),
        ),
        Mutant(
            "P(beta > beta_mean)",
            _q4_from(p=lambda f: float(np.mean(_beta(f) > _beta(f).mean()))),
            frozenset({Q4_P}),
        ),
        Mutant(
            "share of private schools whose theta exceeds mu",
            _q4_from(
                p=lambda f: float(
                    (
                        f["posterior"]["theta"].values[..., X == 1]
                        > f["posterior"]["mu"].values[..., None]
                    ).mean()
                )
            ),
            frozenset({Q4_P}),
        ),
        Mutant(
            "a percentage, not a probability",
            _q4_from(p=lambda f: float(100 * np.mean(_beta(f) > 0))),
            frozenset({Q4_P}),
        ),
        Mutant(
            "a fit with 4 x 100 draws",
            _q4_from(lambda s: _covariate_fit(s, draws=100)),
            frozenset({"test_q4_converged"}),
        ),
        Mutant(
            "beta_mean = the posterior mean of mu, low-ESS fit",
            _q4_from(_q4_low_ess, beta_mean=lambda f: float(f["posterior"]["mu"].mean())),
            frozenset({Q4_MEAN}),
        ),
        Mutant(
            "beta_mean = the simulation's true beta, low-ESS fit",
            _q4_from(_q4_low_ess, beta_mean=lambda f: float(STUDY.beta)),
            frozenset({Q4_MEAN}),
        ),
    ),
    alternatives=(
        Mutant("another seed's fit", _q4_from(lambda s: _covariate_fit(s + 100))),
        Mutant("low-ESS but healthy fit (each draw repeated 6 times)", _q4_from(_q4_low_ess)),
        Mutant("pm.sample-like structure", _q4_from(lambda s: _covariate_fit(s, extra=True))),
        Mutant(
            "numpy scalars from xarray",
            _q4_from(
                beta_mean=lambda f: f["posterior"]["beta"].mean().values.item(),
                p=lambda f: np.float64((f["posterior"]["beta"] > 0).mean().values),
            ),
        ),
        Mutant(
            "0-d arrays from xarray (.mean().values)",
            _q4_from(
                beta_mean=lambda f: f["posterior"]["beta"].mean().values,
                p=lambda f: (f["posterior"]["beta"] > 0).mean().values,
            ),
        ),
        Mutant(
            "RANDOM_SEED as numpy int",
            lambda a, s: {**_q4_answers(_covariate_fit(s)), "RANDOM_SEED": np.int64(RANDOM_SEED)},
        ),
    ),
    seeds=(0, 1, 2, 3, 4),
)

CATALOGUE = {"q1": Q1, "q2": Q2, "q3": Q3, "q4": Q4}
