"""Mutation catalogue of 08-mixed-models (see ``coursetools.grading.mutations``).

Reference answers come from an independent route: the REML estimates of the balanced
Dyestuff layout from its ANOVA mean squares, the BLUPs from the precision-weighted
form of the shrinkage formula, and the Dyestuff2 Bayesian fit from exact posterior draws
of ``models.grouped_observations``: (tau, sigma) drawn from their marginal posterior on a
fine grid (theta_j and mu integrated out analytically; jittered within a cell), then mu
and theta_j from their conjugate Normal conditionals.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from companion import data
from coursetools.grading.mutations import Catalogue, Mutant, fit_from_draws

CHAINS, DRAWS = 4, 2000  # the notebook's fit: 4 chains x 2000 draws
SEEDS = (0, 1, 2, 3, 4)
MU_PRIOR_SD, TAU_PRIOR_SD, SIGMA_PRIOR_SD = 20.0, 5.0, 10.0


def _anova(frame):
    groups = frame.groupby("batch")["yield"]
    n_groups, n = groups.ngroups, int(groups.size().iloc[0])
    msw = float(((frame["yield"] - groups.transform("mean")) ** 2).sum()) / (n_groups * (n - 1))
    msb = n * float(((groups.mean() - frame["yield"].mean()) ** 2).sum()) / (n_groups - 1)
    return float(frame["yield"].mean()), msb, msw, n, n_groups


def _set(**values):
    """Set answers; a callable value is computed from (answers, seed), except a function
    answer (``shrinkage_blups``), which is set as it is."""

    def change(answers, seed):
        return {
            **answers,
            **{
                k: (v(answers, seed) if callable(v) and k != "shrinkage_blups" else v)
                for k, v in values.items()
            },
        }

    return change


# ------------------------------------------------------------------------------ q1


def q1_reference(seed):
    mu, msb, msw, n, _ = _anova(data.load_dyestuff())
    return {
        "mu_hat": mu,
        "tau_hat": float(np.sqrt((msb - msw) / n)),
        "sigma_hat": float(np.sqrt(msw)),
    }


def _ml_estimates(answers, seed):
    """Maximum likelihood: tau^2 = ((J - 1) MSB / J - MSW) / n."""
    mu, msb, msw, n, j = _anova(data.load_dyestuff())
    return {**answers, "tau_hat": float(np.sqrt(((j - 1) * msb / j - msw) / n))}


Q1 = Catalogue(
    reference=q1_reference,
    mistakes=(
        Mutant(
            "tau and sigma swapped",
            _set(tau_hat=lambda a, s: a["sigma_hat"], sigma_hat=lambda a, s: a["tau_hat"]),
            frozenset({"test_q1_matches_anova"}),
        ),
        Mutant(
            "variances for standard deviations",
            _set(
                tau_hat=lambda a, s: a["tau_hat"] ** 2, sigma_hat=lambda a, s: a["sigma_hat"] ** 2
            ),
            frozenset({"test_q1_matches_anova"}),
        ),
        Mutant(
            "ML instead of REML (tau too small)",
            _ml_estimates,
            frozenset({"test_q1_matches_anova"}),
        ),
        Mutant(
            "tau = sd of the batch means (within-batch noise not removed)",
            _set(tau_hat=float(data.load_dyestuff().groupby("batch")["yield"].mean().std())),
            frozenset({"test_q1_matches_anova"}),
        ),
        Mutant(
            "sigma = sd of all the yields",
            _set(sigma_hat=float(data.load_dyestuff()["yield"].std())),
            frozenset({"test_q1_matches_anova"}),
        ),
    ),
    alternatives=(
        Mutant("NumPy scalars", lambda a, s: {k: np.float64(v) for k, v in a.items()}),
        Mutant("statsmodels' MixedLM (REML) read directly", lambda a, s: _statsmodels_reml()),
    ),
)


@functools.cache
def _statsmodels_reml():
    import statsmodels.formula.api as smf

    frame = data.load_dyestuff()
    result = smf.mixedlm("Q('yield') ~ 1", frame, groups=frame["batch"]).fit(reml=True)
    return {
        "mu_hat": float(result.fe_params.iloc[0]),
        "tau_hat": float(np.sqrt(result.cov_re.iloc[0, 0])),
        "sigma_hat": float(np.sqrt(result.scale)),
    }


# ------------------------------------------------------------------------------ q2


def _precision_weighted(group_means, sizes, mu, tau, sigma):
    ybar = np.asarray(group_means, dtype=float)
    n = np.asarray(sizes, dtype=float)
    if tau == 0:
        return np.full(ybar.shape, float(mu))
    return (n / sigma**2 * ybar + mu / tau**2) / (n / sigma**2 + 1 / tau**2)


def _dyestuff_blups(function, estimates=None):
    frame = data.load_dyestuff()
    by_batch = frame.groupby("batch")["yield"].agg(["size", "mean"])
    est = estimates or q1_reference(0)
    return function(
        by_batch["mean"].to_numpy(),
        by_batch["size"].to_numpy(),
        est["mu_hat"],
        est["tau_hat"],
        est["sigma_hat"],
    )


def q2_reference(seed):
    return {
        "shrinkage_blups": _precision_weighted,
        "dyestuff_blups": _dyestuff_blups(_precision_weighted),
    }


def _formula(shrink):
    """A BLUP function mu + (1 - B) (ybar - mu) with B = shrink(sigma^2, n, tau)."""

    def blups(group_means, sizes, mu, tau, sigma):
        ybar = np.asarray(group_means, dtype=float)
        b = shrink(sigma, np.asarray(sizes, dtype=float), tau)
        return mu + (1 - b) * (ybar - mu)

    return blups


def _wrong(function):
    return _set(shrinkage_blups=function, dyestuff_blups=_dyestuff_blups(function))


_RIGHT = _formula(lambda s, n, t: (s**2 / n) / (s**2 / n + t**2))
_WRONG_WAY = lambda g, n, mu, t, s: (lambda b: mu + b * (np.asarray(g, float) - mu))(  # noqa: E731
    (s**2 / np.asarray(n, float)) / (s**2 / np.asarray(n, float) + t**2)
)


def _globals_blups(group_means, sizes, mu, tau, sigma):
    """Uses the notebook's REML estimates instead of its arguments."""
    est = q1_reference(0)
    return _RIGHT(group_means, sizes, est["mu_hat"], est["tau_hat"], est["sigma_hat"])


def _ml_dyestuff(answers, seed):
    estimates = {**q1_reference(0), **_ml_estimates({}, seed)}
    return {**answers, "dyestuff_blups": _dyestuff_blups(_RIGHT, estimates)}


Q2 = Catalogue(
    reference=q2_reference,
    mistakes=(
        Mutant(
            "shrinking the wrong way: mu + B (ybar - mu)",
            _wrong(_WRONG_WAY),
            frozenset(
                {
                    "test_q2_formula_on_random_inputs",
                    "test_q2_dyestuff_blups_match_mixed_model_software",
                }
            ),
        ),
        Mutant(
            "sigma^2 for sigma^2 / n_j (sizes forgotten)",
            _wrong(_formula(lambda s, n, t: s**2 / (s**2 + t**2))),
            frozenset(
                {
                    "test_q2_formula_on_random_inputs",
                    "test_q2_dyestuff_blups_match_mixed_model_software",
                }
            ),
        ),
        Mutant(
            "tau for tau^2 (missing square)",
            _wrong(_formula(lambda s, n, t: (s**2 / n) / (s**2 / n + t))),
            frozenset(
                {
                    "test_q2_formula_on_random_inputs",
                    "test_q2_dyestuff_blups_match_mixed_model_software",
                }
            ),
        ),
        Mutant(
            "sigma for sigma^2 (missing square)",
            _wrong(_formula(lambda s, n, t: (s / n) / (s / n + t**2))),
            frozenset(
                {
                    "test_q2_formula_on_random_inputs",
                    "test_q2_dyestuff_blups_match_mixed_model_software",
                }
            ),
        ),
        Mutant(
            "sigma / n_j for sigma^2 / n_j",
            _wrong(_formula(lambda s, n, t: (s**2 / n**2) / (s**2 / n**2 + t**2))),
            frozenset(
                {
                    "test_q2_formula_on_random_inputs",
                    "test_q2_dyestuff_blups_match_mixed_model_software",
                }
            ),
        ),
        Mutant(
            "a function that reads the notebook's estimates, not its arguments",
            _set(shrinkage_blups=_globals_blups),
            frozenset({"test_q2_formula_on_random_inputs"}),
        ),
        Mutant(
            "dyestuff_blups = the raw batch means (no shrinkage)",
            _set(dyestuff_blups=data.load_dyestuff().groupby("batch")["yield"].mean().to_numpy()),
            frozenset({"test_q2_dyestuff_blups_match_mixed_model_software"}),
        ),
        Mutant(
            "dyestuff_blups with the ML estimates",
            _ml_dyestuff,
            frozenset({"test_q2_dyestuff_blups_match_mixed_model_software"}),
        ),
    ),
    alternatives=(
        Mutant("the formula as written in the question", _set(shrinkage_blups=_RIGHT)),
        Mutant(
            "a function returning a list",
            _set(shrinkage_blups=lambda g, n, mu, t, s: _RIGHT(g, n, mu, t, s).tolist()),
        ),
        Mutant(
            "dyestuff_blups as a pandas Series by batch",
            _set(dyestuff_blups=lambda a, s: pd.Series(a["dyestuff_blups"], index=list("ABCDEF"))),
        ),
        Mutant(
            "dyestuff_blups as a list", _set(dyestuff_blups=lambda a, s: list(a["dyestuff_blups"]))
        ),
    ),
)


# ------------------------------------------------------------------------------ q3


@functools.cache
def _dyestuff2_grid():
    frame = data.load_dyestuff2()
    groups = frame.groupby("batch")["yield"]
    ybar, n = groups.mean().to_numpy(), groups.size().to_numpy().astype(float)
    within = float(((frame["yield"] - groups.transform("mean")) ** 2).sum())
    tau = np.linspace(0.0, 20.0, 2001)
    sigma = np.linspace(0.5, 12.0, 1151)
    v = tau[:, None, None] ** 2 + sigma[None, :, None] ** 2 / n
    precision = (1 / v).sum(-1) + 1 / MU_PRIOR_SD**2
    # log N_J(ybar | 0, diag(v) + s0^2 11') up to a constant, by the matrix determinant lemma
    log_post = -0.5 * (
        np.log(v).sum(-1)
        + np.log(precision)
        + (ybar**2 / v).sum(-1)
        - (ybar / v).sum(-1) ** 2 / precision
    )
    log_post += -(len(frame) - len(n)) * np.log(sigma)[None] - within / (2 * sigma[None] ** 2)
    log_post += -(tau[:, None] ** 2) / (2 * TAU_PRIOR_SD**2)
    log_post += -(sigma[None] ** 2) / (2 * SIGMA_PRIOR_SD**2)
    return tau, sigma, log_post, ybar, n


@functools.cache
def _exact_draws(seed, prior=False):
    rng = np.random.default_rng(seed)
    size = CHAINS * DRAWS
    tau_grid, sigma_grid, log_post, ybar, n = _dyestuff2_grid()
    if prior:
        tau = np.abs(rng.normal(0, TAU_PRIOR_SD, size))
        sigma = np.abs(rng.normal(0, SIGMA_PRIOR_SD, size))
        mu = rng.normal(0, MU_PRIOR_SD, size)
        theta = rng.normal(mu[:, None], tau[:, None], (size, len(n)))
    else:
        weights = np.exp(log_post - log_post.max()).ravel()
        cell = rng.choice(weights.size, size=size, p=weights / weights.sum())
        i, j = np.unravel_index(cell, log_post.shape)
        d_tau, d_sigma = tau_grid[1] - tau_grid[0], sigma_grid[1] - sigma_grid[0]
        tau = np.abs(tau_grid[i] + rng.uniform(-0.5, 0.5, size) * d_tau)
        sigma = sigma_grid[j] + rng.uniform(-0.5, 0.5, size) * d_sigma
        v = tau[:, None] ** 2 + sigma[:, None] ** 2 / n
        precision = (1 / v).sum(1) + 1 / MU_PRIOR_SD**2
        mu = rng.normal((ybar / v).sum(1) / precision, 1 / np.sqrt(precision))
        theta_precision = n / sigma[:, None] ** 2 + 1 / tau[:, None] ** 2
        theta_mean = n * ybar / sigma[:, None] ** 2 + mu[:, None] / tau[:, None] ** 2
        theta = rng.normal(theta_mean / theta_precision, 1 / np.sqrt(theta_precision))
    return {
        "mu": mu,
        "tau": tau,
        "sigma": sigma,
        "theta": theta,
        "theta_offset": (theta - mu[:, None]) / tau[:, None],
    }


def _bayes_fit(draws, *, repeat=1, extra_stats=False):
    return fit_from_draws(
        {name: values.reshape(CHAINS, DRAWS, *values.shape[1:]) for name, values in draws.items()},
        coords={"batch": list("ABCDEF")},
        dims={"theta": ["batch"], "theta_offset": ["batch"]},
        repeat=repeat,
        sample_stats={"step_size": 0.05, "n_steps": 63} if extra_stats else None,
    )


def _q3_answers(fit):
    tau = fit["posterior"]["tau"].values.ravel()
    return {
        "bayes_idata": fit,
        "posterior_tau_mean": float(tau.mean()),
        "prob_tau_above_1": float((tau > 1).mean()),
    }


def q3_reference(seed):
    return {"reml_tau": 0.0, "q3_answer": "b", **_q3_answers(_bayes_fit(_exact_draws(seed)))}


def _from_tau(function, name):
    def change(answers, seed):
        tau = answers["bayes_idata"]["posterior"]["tau"].values.ravel()
        return {**answers, name: function(tau)}

    return change


# Each draw repeated 4 times: bulk ESS of tau about 2000, R-hat still below 1.01.
LOW_ESS_REPEAT = 4

Q3 = Catalogue(
    reference=q3_reference,
    mistakes=(
        *(
            Mutant(f"option {letter}", _set(q3_answer=letter), frozenset({"test_q3_answer"}))
            for letter in "acd"
        ),
        Mutant(
            "reml_tau of Dyestuff, not Dyestuff2",
            _set(reml_tau=42.0006),
            frozenset({"test_q3_reml_boundary"}),
        ),
        Mutant(
            "reml_tau = the sd of the batch means",
            _set(reml_tau=float(data.load_dyestuff2().groupby("batch")["yield"].mean().std())),
            frozenset({"test_q3_reml_boundary"}),
        ),
        Mutant(
            "reml_tau = the posterior mean of tau",
            _set(reml_tau=lambda a, s: a["posterior_tau_mean"]),
            frozenset({"test_q3_reml_boundary"}),
        ),
        Mutant(
            "posterior median of tau for its mean",
            _from_tau(lambda t: float(np.median(t)), "posterior_tau_mean"),
            frozenset({"test_q3_posterior_matches_quadrature"}),
        ),
        Mutant(
            "P(tau < 1) for P(tau > 1)",
            _from_tau(lambda t: float((t < 1).mean()), "prob_tau_above_1"),
            frozenset({"test_q3_posterior_matches_quadrature"}),
        ),
        Mutant(
            "mean of sigma for the mean of tau",
            lambda a, s: {
                **a,
                "posterior_tau_mean": float(a["bayes_idata"]["posterior"]["sigma"].mean()),
            },
            frozenset({"test_q3_posterior_matches_quadrature"}),
        ),
        Mutant(
            "prior draws for posterior draws (data left out of the fit)",
            lambda a, s: {**a, **_q3_answers(_bayes_fit(_exact_draws(s, prior=True)))},
            frozenset({"test_q3_posterior_matches_quadrature"}),
        ),
    ),
    alternatives=(
        Mutant("reml_tau from an optimizer that stops 7e-5 from the boundary", _set(reml_tau=7e-5)),
        Mutant(
            "numbers as NumPy scalars",
            _set(
                reml_tau=np.float64(0.0),
                posterior_tau_mean=lambda a, s: np.float64(a["posterior_tau_mean"]),
                prob_tau_above_1=lambda a, s: np.float64(a["prob_tau_above_1"]),
            ),
        ),
        Mutant(
            "a fit with pm.sample's extra sample_stats",
            lambda a, s: {**a, **_q3_answers(_bayes_fit(_exact_draws(s), extra_stats=True))},
        ),
        Mutant(
            f"a healthy low-ESS fit (each draw repeated {LOW_ESS_REPEAT} times)",
            lambda a, s: {**a, **_q3_answers(_bayes_fit(_exact_draws(s), repeat=LOW_ESS_REPEAT))},
        ),
    ),
    seeds=SEEDS,
)

CATALOGUE = {"q1": Q1, "q2": Q2, "q3": Q3}
