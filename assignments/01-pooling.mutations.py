"""Mutation catalogue of 01-pooling: typical mistakes lose points, alternatives keep them.

References come from closed forms recomputed from ``companion.data`` and, for the
fit of question 4, from exact posterior draws (``companion.exact.normal_hierarchy``)
shaped like ``sampling.sample``'s DataTree; the solution notebook is never run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
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

RANDOM_SEED = 1981
SCHOOLS = data.load_eight_schools()
Y = SCHOOLS["y"].to_numpy()
SIGMA = SCHOOLS["sigma"].to_numpy()
LABELS = SCHOOLS["school"].tolist()
CHAINS, DRAWS = 4, 1000


# ---------------------------------------------------------------------------- q1

PRECISION = SIGMA**-2.0


def q1_reference(seed):
    return {
        "pooled_estimate": float(np.dot(PRECISION, Y) / PRECISION.sum()),
        "pooled_se": float(PRECISION.sum() ** -0.5),
    }


Q1 = Catalogue(
    reference=q1_reference,
    mistakes=(
        mistake("unweighted mean of y", {"test_q1_estimate"}, pooled_estimate=float(Y.mean())),
        mistake(
            "weights 1/sigma instead of 1/sigma^2",
            {"test_q1_estimate"},
            pooled_estimate=float(np.dot(1 / SIGMA, Y) / np.sum(1 / SIGMA)),
        ),
        mistake(
            "weights sigma^2 (variance for precision)",
            {"test_q1_estimate"},
            pooled_estimate=float(np.dot(SIGMA**2, Y) / np.sum(SIGMA**2)),
        ),
        mistake(
            "variance 1/sum(w) for the standard error",
            {"test_q1_standard_error"},
            pooled_se=float(1 / PRECISION.sum()),
        ),
        mistake(
            "sd of y / sqrt(J) for the standard error",
            {"test_q1_standard_error"},
            pooled_se=float(Y.std(ddof=1) / np.sqrt(Y.size)),
        ),
        mistake(
            "1 / sum(1/sigma) (missing square)",
            {"test_q1_standard_error"},
            pooled_se=float(1 / np.sum(1 / SIGMA)),
        ),
    ),
    alternatives=(
        alternative(
            "numpy float64 scalars",
            pooled_estimate=From(lambda a: np.float64(a["pooled_estimate"])),
            pooled_se=From(lambda a: np.float64(a["pooled_se"])),
        ),
        alternative(
            "0-d arrays",
            pooled_estimate=From(lambda a: np.array(a["pooled_estimate"])),
            pooled_se=From(lambda a: np.array(a["pooled_se"])),
        ),
        alternative(
            "np.average with weights, sqrt(1/sum)",
            pooled_estimate=float(np.average(Y, weights=PRECISION)),
            pooled_se=float(np.sqrt(1 / np.sum(1 / SIGMA**2))),
        ),
        alternative(
            "pandas route",
            pooled_estimate=float(
                (SCHOOLS["y"] / SCHOOLS["sigma"] ** 2).sum() / (1 / SCHOOLS["sigma"] ** 2).sum()
            ),
        ),
    ),
)

# ---------------------------------------------------------------------------- q2

STUDY = data.simulate_instructors(seed=RANDOM_SEED)


def q2_reference(seed):
    by = STUDY.scores.groupby("instructor")["score"]
    return {
        "section_means": by.mean(),
        "section_se": STUDY.sigma / np.sqrt(by.size()),
        "RANDOM_SEED": RANDOM_SEED,
    }


def _by():
    return STUDY.scores.groupby("instructor")["score"]


Q2 = Catalogue(
    reference=q2_reference,
    mistakes=(
        mistake(
            "the grand mean for every section",
            {"test_q2_means"},
            section_means=From(lambda a: a["section_means"] * 0 + STUDY.scores["score"].mean()),
        ),
        mistake("section medians", {"test_q2_means"}, section_means=From(lambda a: _by().median())),
        mistake(
            "the simulation's true means (not the data)",
            {"test_q2_means"},
            section_means=From(lambda a: STUDY.true_means.rename(None)),
        ),
        mistake(
            "sigma / n (missing square root)",
            {"test_q2_standard_errors"},
            section_se=From(lambda a: STUDY.sigma / _by().size()),
        ),
        mistake(
            "sample sd / sqrt(n) instead of the known sigma",
            {"test_q2_standard_errors"},
            section_se=From(lambda a: _by().std() / np.sqrt(_by().size())),
        ),
        mistake(
            "sigma / sqrt(total number of students)",
            {"test_q2_standard_errors"},
            section_se=From(
                lambda a: a["section_se"] * 0 + STUDY.sigma / np.sqrt(len(STUDY.scores))
            ),
        ),
        mistake(
            "sigma^2 / n (variance for the standard error)",
            {"test_q2_standard_errors"},
            section_se=From(lambda a: STUDY.sigma**2 / _by().size()),
        ),
    ),
    alternatives=(
        alternative(
            "dicts instead of Series",
            section_means=From(lambda a: {k: float(v) for k, v in a["section_means"].items()}),
            section_se=From(lambda a: {k: float(v) for k, v in a["section_se"].items()}),
        ),
        alternative(
            "Series in reverse order, named",
            section_means=From(lambda a: a["section_means"][::-1].rename("mean")),
            section_se=From(lambda a: a["section_se"][::-1].rename("se")),
        ),
        alternative(
            "pivot-table route",
            section_means=From(
                lambda a: STUDY.scores.pivot_table(
                    index="instructor", values="score", aggfunc="mean"
                )["score"]
            ),
        ),
    ),
)

# ---------------------------------------------------------------------------- q3


def partial_pooling_means(y, sigma, mu, tau):
    y = np.asarray(y, dtype=float)
    sigma = np.asarray(sigma, dtype=float)
    shrinkage = sigma**2 / (sigma**2 + tau**2)
    return shrinkage * mu + (1 - shrinkage) * y


def _function(formula):
    def means(y, sigma, mu, tau):
        return formula(np.asarray(y, dtype=float), np.asarray(sigma, dtype=float), mu, tau)

    return means


def _precision_weighted(y, sigma, mu, tau):
    y, sigma = np.asarray(y, dtype=float), np.asarray(sigma, dtype=float)
    if tau == 0:
        return np.full_like(y, mu)
    return (y / sigma**2 + mu / tau**2) / (1 / sigma**2 + 1 / tau**2)


Q3_ALL = {"test_q3_random_inputs", "test_q3_lists_and_one_group"}

Q3 = Catalogue(
    reference=lambda seed: {"partial_pooling_means": partial_pooling_means},
    mistakes=(
        mistake(
            "B = sigma / (sigma + tau) (missing squares)",
            Q3_ALL,
            partial_pooling_means=_function(
                lambda y, s, mu, tau: s / (s + tau) * mu + tau / (s + tau) * y
            ),
        ),
        mistake(
            "shrinking the wrong way: B y + (1 - B) mu",
            Q3_ALL | {"test_q3_limits"},
            partial_pooling_means=_function(
                lambda y, s, mu, tau: s**2 / (s**2 + tau**2) * y + tau**2 / (s**2 + tau**2) * mu
            ),
        ),
        mistake(
            "B = tau^2 / (sigma^2 + tau^2) (factors swapped)",
            Q3_ALL | {"test_q3_limits"},
            partial_pooling_means=_function(
                lambda y, s, mu, tau: tau**2 / (s**2 + tau**2) * mu + s**2 / (s**2 + tau**2) * y
            ),
        ),
        mistake(
            "B = sigma^2 / (sigma^2 + tau) (tau not squared)",
            Q3_ALL,
            partial_pooling_means=_function(
                lambda y, s, mu, tau: s**2 / (s**2 + tau) * mu + tau / (s**2 + tau) * y
            ),
        ),
        mistake(
            "B = sigma / (sigma^2 + tau^2) (sigma not squared on top)",
            Q3_ALL,
            partial_pooling_means=_function(
                lambda y, s, mu, tau: s / (s**2 + tau**2) * mu + (1 - s / (s**2 + tau**2)) * y
            ),
        ),
        mistake(
            "forgetting to shrink: returns y",
            Q3_ALL | {"test_q3_limits"},
            partial_pooling_means=_function(lambda y, s, mu, tau: y),
        ),
    ),
    alternatives=(
        alternative(
            "rearranged: mu + (y - mu) tau^2 / (tau^2 + sigma^2)",
            partial_pooling_means=_function(
                lambda y, s, mu, tau: mu + (y - mu) * tau**2 / (tau**2 + s**2)
            ),
        ),
        alternative(
            "precision-weighted average, tau = 0 as a special case",
            partial_pooling_means=_precision_weighted,
        ),
        alternative(
            "returns a list",
            partial_pooling_means=lambda y, s, mu, tau: list(partial_pooling_means(y, s, mu, tau)),
        ),
        alternative(
            "pandas Series inside",
            partial_pooling_means=lambda y, s, mu, tau: (
                lambda b: (b * mu + (1 - b) * pd.Series(y, dtype=float)).to_numpy()
            )(pd.Series(s, dtype=float) ** 2 / (pd.Series(s, dtype=float) ** 2 + tau**2)),
        ),
    ),
)

# ---------------------------------------------------------------------------- q4

POSTERIOR = exact.normal_hierarchy(
    Y, SIGMA, mu_prior_mean=0.0, mu_prior_sd=20.0, tau_prior=stats.halfnorm(scale=10.0)
)


def _fit(draws, *, extra=False):
    """A non-centred ``group_summaries`` fit made of (chain, draw)-shaped exact draws."""
    mu, tau, theta = draws["mu"], draws["tau"], draws["theta"]
    posterior = {
        "mu": mu,
        "tau": tau,
        "theta": theta,
        "theta_offset": (theta - mu[..., None]) / tau[..., None],
    }
    coords = {"school": LABELS}
    dims = {"theta": ["school"], "theta_offset": ["school"]}
    if not extra:
        return fit_from_draws(posterior, coords=coords, dims=dims)
    shape = mu.shape
    rng = np.random.default_rng(99)
    fit = fit_from_draws(
        posterior,
        coords=coords,
        dims={**dims, "y": ["school"]},
        log_likelihood={"y": stats.norm.logpdf(Y, theta, SIGMA)},
        observed_data={"y": Y},
    )
    stats_group = fit["sample_stats"].to_dataset()
    stats_group["energy"] = (("chain", "draw"), rng.normal(30.0, 3.0, shape))
    stats_group["step_size"] = (("chain", "draw"), np.full(shape, 0.3))
    stats_group["tree_depth"] = (("chain", "draw"), rng.integers(2, 5, shape))
    stats_group["lp"] = (("chain", "draw"), rng.normal(-40.0, 2.0, shape))
    fit["sample_stats"] = stats_group
    return fit


def _exact_draws(seed, n=CHAINS * DRAWS):
    draws = POSTERIOR.sample(n, rng=seed)
    return {"mu": draws["mu"], "tau": draws["tau"], "theta": draws["theta"]}


def _shaped(draws, chains=CHAINS):
    return {k: v.reshape(chains, -1, *v.shape[1:]) for k, v in draws.items()}


def q4_reference(seed):
    fit = _fit(_shaped(_exact_draws(seed)))
    return {"non_centered_idata": fit, "tau_mean": float(fit["posterior"]["tau"].mean())}


REPEAT = 3
"""Each exact draw repeated 3 times in a row: a bulk ESS of tau of 1190-1420 (8 seeds), just
above the test's floor of 1000 (4 repeats give 850-1050 and R-hat up to 1.0105)."""


def _low_ess_fit(seed):
    unique = _exact_draws(seed + 1000, CHAINS * -(-DRAWS // REPEAT))
    repeated = {k: np.repeat(v, REPEAT, axis=0) for k, v in unique.items()}
    per_chain = {k: v.reshape(CHAINS, -1, *v.shape[1:])[:, :DRAWS] for k, v in repeated.items()}
    return _fit(per_chain)


def _with_fit(fit_of_seed, tau_mean=lambda fit: float(fit["posterior"]["tau"].mean())):
    def change(answers, seed):
        fit = fit_of_seed(seed)
        return {**answers, "non_centered_idata": fit, "tau_mean": tau_mean(fit)}

    return change


def _centred(seed):
    fit = q4_reference(seed)["non_centered_idata"]
    posterior = fit["posterior"].to_dataset().drop_vars("theta_offset")
    fit["posterior"] = posterior
    return fit


def _divergent(seed):
    fit = q4_reference(seed)["non_centered_idata"]
    stats_group = fit["sample_stats"].to_dataset()
    diverging = stats_group["diverging"].values.copy()
    diverging[1, ::97] = True
    stats_group["diverging"] = (("chain", "draw"), diverging)
    fit["sample_stats"] = stats_group
    return fit


def _stuck_chain(seed):
    """One chain stuck near tau = 0 (the funnel's neck): R-hat far above 1.01."""
    draws = _shaped(_exact_draws(seed))
    small = POSTERIOR.sample(20 * DRAWS, rng=seed + 5000)
    keep = np.argsort(small["tau"])[:DRAWS]
    rng = np.random.default_rng(seed)
    keep = rng.permutation(keep)
    for name in ("mu", "tau", "theta"):
        draws[name][0] = small[name][keep]
    return _fit(draws)


def _tau(fit):
    return fit["posterior"]["tau"].values.ravel()


Q4_EXACT = {"test_q4_tau_mean_matches_exact"}
Q4_OWN = {"test_q4_tau_mean_from_draws"}

Q4 = Catalogue(
    reference=q4_reference,
    mistakes=(
        Mutant(
            "tau_mean = posterior median of tau",
            _with_fit(
                lambda s: q4_reference(s)["non_centered_idata"], lambda f: float(np.median(_tau(f)))
            ),
            frozenset(Q4_EXACT | Q4_OWN),
        ),
        Mutant(
            "tau_mean = posterior sd of tau",
            _with_fit(
                lambda s: q4_reference(s)["non_centered_idata"], lambda f: float(_tau(f).std())
            ),
            frozenset(Q4_EXACT | Q4_OWN),
        ),
        Mutant(
            "tau_mean = posterior mean of mu",
            _with_fit(
                lambda s: q4_reference(s)["non_centered_idata"],
                lambda f: float(f["posterior"]["mu"].mean()),
            ),
            frozenset(Q4_EXACT | Q4_OWN),
        ),
        mistake(
            "tau_mean = prior mean of tau, 10 sqrt(2 / pi)",
            Q4_EXACT | Q4_OWN,
            tau_mean=float(10 * np.sqrt(2 / np.pi)),
        ),
        mistake("tau_mean typed in rounded to 4.8", Q4_OWN, tau_mean=4.8),
        Mutant(
            "the mean of the first chain only",
            _with_fit(
                lambda s: q4_reference(s)["non_centered_idata"],
                lambda f: float(f["posterior"]["tau"].values[0].mean()),
            ),
            frozenset(Q4_OWN),
        ),
        Mutant(
            "the centred model (no theta_offset)",
            _with_fit(_centred),
            frozenset({"test_q4_converged"}),
        ),
        Mutant(
            "a fit with divergent transitions",
            _with_fit(_divergent),
            frozenset({"test_q4_converged"}),
        ),
        Mutant(
            "a chain stuck in the neck (R-hat > 1.01)",
            _with_fit(_stuck_chain),
            frozenset({"test_q4_converged", "test_q4_tau_mean_matches_exact"}),
        ),
        Mutant(
            "too few draws (4 chains x 200)",
            _with_fit(lambda s: _fit(_shaped(_exact_draws(s, CHAINS * 200)))),
            frozenset(Q4_EXACT),
        ),
        Mutant(
            "tau_mean = median of tau, low-ESS fit",
            _with_fit(_low_ess_fit, lambda f: float(np.median(_tau(f)))),
            frozenset(Q4_EXACT | Q4_OWN),
        ),
        Mutant(
            "tau_mean = sd of tau, low-ESS fit",
            _with_fit(_low_ess_fit, lambda f: float(_tau(f).std())),
            frozenset(Q4_EXACT | Q4_OWN),
        ),
    ),
    alternatives=(
        Mutant(
            "another seed's fit", _with_fit(lambda s: q4_reference(s + 100)["non_centered_idata"])
        ),
        Mutant("low-ESS but healthy fit (each draw repeated)", _with_fit(_low_ess_fit)),
        Mutant(
            "pm.sample-like structure (sample_stats, log_likelihood, observed_data)",
            _with_fit(lambda s: _fit(_shaped(_exact_draws(s)), extra=True)),
        ),
        Mutant(
            "tau_mean as a numpy float64",
            _with_fit(
                lambda s: q4_reference(s)["non_centered_idata"],
                lambda f: np.float64(np.mean(_tau(f))),
            ),
        ),
        Mutant(
            "tau_mean from az.summary-like xarray mean over chain and draw",
            _with_fit(
                lambda s: q4_reference(s)["non_centered_idata"],
                lambda f: f["posterior"]["tau"].mean(dim=["chain", "draw"]).values,
            ),
        ),
        Mutant(
            "tau_mean with np.mean over the raw (chain, draw) array",
            _with_fit(
                lambda s: q4_reference(s)["non_centered_idata"],
                lambda f: np.mean(f["posterior"]["tau"].values),
            ),
        ),
    ),
    seeds=(0, 1, 2, 3, 4),
)

# ---------------------------------------------------------------------------- q5

Q5 = Catalogue(
    reference=lambda seed: {"q5_answer": "a"},
    mistakes=wrong_options("q5_answer", "a", "test_q5_answer"),
    alternatives=(alternative("a numpy str_", q5_answer=np.str_("a")),),
)

CATALOGUE = {"q1": Q1, "q2": Q2, "q3": Q3, "q4": Q4, "q5": Q5}
