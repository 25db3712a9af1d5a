"""Mutation catalogue of 04-funnel: typical mistakes lose points, alternatives keep them.

References come from closed forms (tau^8, the standard Normal log density, Phi(-1),
exp(6)), from exact funnel draws (``companion.exact.funnel_draws`` with another seed) and,
for the fits of question 5, from exact posterior draws of the Eight Schools model
(``companion.exact.normal_hierarchy``) shaped like ``sampling.sample``'s DataTree; the
centred fit is imitated by exact draws with the funnel's neck thinned out and divergences
flagged there. The solution notebook is never run.
"""

from __future__ import annotations

import arviz as az
import numpy as np
import sympy as sp
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

CHAINS, DRAWS = 4, 1000
SCHOOLS = data.load_eight_schools()
Y = SCHOOLS["y"].to_numpy()
SIGMA = SCHOOLS["sigma"].to_numpy()
LABELS = SCHOOLS["school"].tolist()
POSTERIOR = exact.normal_hierarchy(
    Y, SIGMA, mu_prior_mean=0.0, mu_prior_sd=20.0, tau_prior=stats.halfnorm(scale=10.0)
)


# ---------------------------------------------------------------------------- q1

MU = sp.Symbol("mu", real=True)
TAU = sp.Symbol("tau", positive=True)
Z = sp.symbols("z_1:9", real=True)
Q1_D = {"test_q1_determinant"}


def _det(rows):
    return sp.simplify(sp.Matrix(rows).jacobian([MU, TAU, *Z]).det())


Q1 = Catalogue(
    reference=lambda seed: {"jacobian_det": TAU**8, "tau": TAU},
    mistakes=(
        mistake("tau (one group's Jacobian)", Q1_D, jacobian_det=TAU),
        mistake("tau**9 (the tau row counted too)", Q1_D, jacobian_det=TAU**9),
        mistake("the inverse map's determinant tau**-8", Q1_D, jacobian_det=TAU**-8),
        mistake("1 (the map taken as a shift)", Q1_D, jacobian_det=sp.Integer(1)),
        mistake("8 tau (a sum, not a product, of the diagonal)", Q1_D, jacobian_det=8 * TAU),
        mistake(
            "the map theta = mu + z / tau",
            Q1_D,
            jacobian_det=_det([MU, TAU, *[MU + z_j / TAU for z_j in Z]]),
        ),
    ),
    alternatives=(
        alternative(
            "unsimplified det()",
            jacobian_det=sp.Matrix([MU, TAU, *[MU + TAU * z_j for z_j in Z]])
            .jacobian([MU, TAU, *Z])
            .det(),
        ),
        alternative(
            "a product tau**4 * tau**4", jacobian_det=sp.Mul(TAU**4, TAU**4, evaluate=False)
        ),
        alternative("Abs(tau)**8", jacobian_det=sp.Abs(TAU) ** 8),
        alternative(
            "a student's own tau symbol without assumptions",
            jacobian_det=sp.Symbol("tau") ** 8,
            tau=sp.Symbol("tau"),
        ),
    ),
)

# ---------------------------------------------------------------------------- q2


def offset_log_density(z_value, mu_value, tau_value):
    theta = mu_value + tau_value * np.asarray(z_value, dtype=float)
    return stats.norm.logpdf(theta, mu_value, tau_value) + np.log(tau_value)


Q2_T = {"test_q2_is_standard_normal"}
Q2 = Catalogue(
    reference=lambda seed: {"offset_log_density": offset_log_density},
    mistakes=(
        mistake(
            "no Jacobian term",
            Q2_T,
            offset_log_density=lambda z, m, t: stats.norm.logpdf(m + t * np.asarray(z), m, t),
        ),
        mistake(
            "minus log tau",
            Q2_T,
            offset_log_density=lambda z, m, t: (
                stats.norm.logpdf(m + t * np.asarray(z), m, t) - np.log(t)
            ),
        ),
        mistake(
            "z plugged in for theta",
            Q2_T,
            offset_log_density=lambda z, m, t: stats.norm.logpdf(np.asarray(z), m, t) + np.log(t),
        ),
        mistake(
            "the density, not its log",
            Q2_T,
            offset_log_density=lambda z, m, t: stats.norm.pdf(m + t * np.asarray(z), m, t) * t,
        ),
        mistake(
            "log tau^2 (variance) for the Jacobian",
            Q2_T,
            offset_log_density=lambda z, m, t: (
                stats.norm.logpdf(m + t * np.asarray(z), m, t) + np.log(t**2)
            ),
        ),
    ),
    alternatives=(
        alternative(
            "the closed form -z^2/2 - log(2 pi)/2",
            offset_log_density=lambda z, m, t: (
                -0.5 * np.asarray(z, dtype=float) ** 2 - 0.5 * np.log(2 * np.pi)
            ),
        ),
        alternative(
            "loc/scale keywords and a list back",
            offset_log_density=lambda z, m, t: list(
                stats.norm.logpdf(m + t * np.asarray(z), loc=m, scale=t) + np.log(t)
            ),
        ),
        alternative(
            "logpdf of (theta - mu) / tau minus log tau plus log tau",
            offset_log_density=lambda z, m, t: stats.norm.logpdf(((m + t * np.asarray(z)) - m) / t),
        ),
    ),
)

# ---------------------------------------------------------------------------- q3


def _funnel(seed):
    return exact.funnel_draws(20000, dims=9, rng=np.random.default_rng([seed, 3]))


Q3_N = {"test_q3_neck"}
Q3_S = {"test_q3_scale_ratio"}
Q3 = Catalogue(
    reference=lambda seed: {
        "neck_fraction": float(np.mean(_funnel(seed)["v"] < -3)),
        "scale_ratio": float(np.exp(6)),
    },
    mistakes=(
        Mutant(
            "share with v < 3",
            lambda a, s: {**a, "neck_fraction": float(np.mean(_funnel(s)["v"] < 3))},
            frozenset(Q3_N),
        ),
        Mutant(
            "share with v > -3",
            lambda a, s: {**a, "neck_fraction": float(np.mean(_funnel(s)["v"] > -3))},
            frozenset(Q3_N),
        ),
        Mutant(
            "share with |v| > 3 (both tails)",
            lambda a, s: {**a, "neck_fraction": float(np.mean(np.abs(_funnel(s)["v"]) > 3))},
            frozenset(Q3_N),
        ),
        Mutant(
            "share of x values below -3",
            lambda a, s: {**a, "neck_fraction": float(np.mean(_funnel(s)["x"] < -3))},
            frozenset(Q3_N),
        ),
        mistake(
            "v's sd 3 taken as a variance: Phi(-1/sqrt(3))",
            Q3_N,
            neck_fraction=float(stats.norm.cdf(-1 / np.sqrt(3))),
        ),
        mistake("a percentage", Q3_N, neck_fraction=From(lambda a: 100 * a["neck_fraction"])),
        mistake("exp(3): one side only", Q3_S, scale_ratio=float(np.exp(3))),
        mistake("exp(12): the ratio of variances", Q3_S, scale_ratio=float(np.exp(12))),
        mistake("6 / -6 in absolute value", Q3_S, scale_ratio=1.0),
        mistake("the inverse ratio", Q3_S, scale_ratio=float(np.exp(-6))),
    ),
    alternatives=(
        alternative("the exact Phi(-1)", neck_fraction=float(stats.norm.cdf(-1.0))),
        alternative(
            "numpy float64",
            neck_fraction=From(lambda a: np.float64(a["neck_fraction"])),
            scale_ratio=np.exp(np.float64(6.0)),
        ),
        alternative(
            "scale_ratio from the draws' definition: np.exp(6/2) / np.exp(-6/2)",
            scale_ratio=float(np.exp(6 / 2) / np.exp(-6 / 2)),
        ),
        alternative("scale_ratio rounded to 4 decimals", scale_ratio=403.4288),
    ),
    seeds=(0, 1, 2),
)

# ---------------------------------------------------------------------------- q4, q6

Q4 = Catalogue(
    reference=lambda seed: {"q4_answer": "b"},
    mistakes=wrong_options("q4_answer", "b", "test_q4_answer"),
    alternatives=(alternative("numpy str_", q4_answer=np.str_("b")),),
)
Q6 = Catalogue(
    reference=lambda seed: {"q6_answer": "a"},
    mistakes=wrong_options("q6_answer", "a", "test_q6_answer"),
    alternatives=(alternative("numpy str_", q6_answer=np.str_("a")),),
)

# ---------------------------------------------------------------------------- q5


def _shaped(draws, chains=CHAINS):
    return {k: v.reshape(chains, -1, *v.shape[1:]) for k, v in draws.items()}


def _fit(draws, *, centred=False, diverging=None):
    posterior = {"mu": draws["mu"], "tau": draws["tau"], "theta": draws["theta"]}
    dims = {"theta": ["school"]}
    if not centred:
        posterior["theta_offset"] = (draws["theta"] - draws["mu"][..., None]) / draws["tau"][
            ..., None
        ]
        dims["theta_offset"] = ["school"]
    fit = fit_from_draws(posterior, coords={"school": LABELS}, dims=dims)
    if diverging is not None:
        sample_stats = fit["sample_stats"].to_dataset()
        sample_stats["diverging"] = (("chain", "draw"), diverging)
        fit["sample_stats"] = sample_stats
    return fit


def _non_centred(seed, *, repeat=1):
    if repeat == 1:
        return _fit(_shaped(POSTERIOR.sample(CHAINS * DRAWS, rng=seed)))
    unique = POSTERIOR.sample(CHAINS * -(-DRAWS // repeat), rng=seed + 1000)
    draws = {}
    for name, value in unique.items():
        value = np.repeat(value, repeat, axis=0)
        draws[name] = value.reshape(CHAINS, -1, *value.shape[1:])[:, :DRAWS]
    return _fit(draws)


def _centred(seed):
    """Exact draws with most of the neck (tau < 1) removed and divergences flagged there."""
    rng = np.random.default_rng([seed, 11])
    draws = POSTERIOR.sample(3 * CHAINS * DRAWS, rng=seed + 2000)
    keep = (draws["tau"] > 1.0) | (rng.random(draws["tau"].size) < 0.3)
    chosen = np.flatnonzero(keep)[: CHAINS * DRAWS]
    kept = {k: v[chosen] for k, v in draws.items()}
    diverging = (kept["tau"] < 1.2) & (rng.random(chosen.size) < 0.1)
    return _fit(_shaped(kept), centred=True, diverging=diverging.reshape(CHAINS, DRAWS))


def _q5_answers(centred, non_centred, q=0.05, ess_method="bulk"):
    answers = {"centered_idata": centred, "non_centered_idata": non_centred}
    for prefix, fit in [("centered", centred), ("non_centered", non_centred)]:
        answers[f"{prefix}_divergences"] = int(fit["sample_stats"]["diverging"].sum())
        answers[f"{prefix}_tau_ess"] = float(
            az.ess(fit, var_names=["tau"], method=ess_method)["tau"]
        )
        answers[f"{prefix}_tau_q05"] = float(np.quantile(fit["posterior"]["tau"].values, q))
    return answers


def q5_reference(seed):
    return _q5_answers(_centred(seed), _non_centred(seed))


def _q5_from(non_centred=_non_centred, **options):
    def change(answers, seed):
        return _q5_answers(_centred(seed), non_centred(seed), **options)

    return change


def _low_ess(seed):
    return _non_centred(seed, repeat=3)


def _override(fit_of_seed=_non_centred, **values):
    """The reference answers (with the given non-centred fit) and some numbers replaced."""

    def change(answers, seed):
        changed = _q5_answers(_centred(seed), fit_of_seed(seed))
        for name, compute in values.items():
            changed[name] = compute(changed)
        return changed

    return change


Q5_CONV = "test_q5_non_centered_converged"
Q5_OWN = "test_q5_reported_numbers"
Q5_EXACT = "test_q5_non_centered_quantile_matches_exact"


def _tau(fit):
    return fit["posterior"]["tau"].values


Q5 = Catalogue(
    reference=q5_reference,
    mistakes=(
        Mutant(
            "the 2.5% quantile for the 5% quantile",
            _q5_from(q=0.025),
            frozenset({Q5_OWN, Q5_EXACT}),
        ),
        Mutant(
            "the 10% quantile for the 5% quantile", _q5_from(q=0.10), frozenset({Q5_OWN, Q5_EXACT})
        ),
        Mutant(
            "the 95% quantile (the other tail)", _q5_from(q=0.95), frozenset({Q5_OWN, Q5_EXACT})
        ),
        Mutant("the tail ESS for the bulk ESS", _q5_from(ess_method="tail"), frozenset({Q5_OWN})),
        Mutant(
            "the number of draws for the ESS",
            _override(centered_tau_ess=lambda a: 4000.0, non_centered_tau_ess=lambda a: 4000.0),
            frozenset({Q5_OWN}),
        ),
        Mutant(
            "the fits swapped",
            lambda a, s: {**_q5_answers(_non_centred(s), _centred(s))},
            frozenset({Q5_CONV, Q5_OWN}),
        ),
        Mutant(
            "the non-centred quantile taken from the centred fit",
            _override(non_centered_tau_q05=lambda a: a["centered_tau_q05"]),
            frozenset({Q5_OWN, Q5_EXACT}),
        ),
        Mutant(
            "the exact quantile typed in for the non-centred fit",
            _override(non_centered_tau_q05=lambda a: float(POSTERIOR.quantile(0.05)["tau"])),
            frozenset({Q5_OWN}),
        ),
        Mutant(
            "divergences as a share of the draws",
            _override(centered_divergences=lambda a: a["centered_divergences"] / 4000),
            frozenset({Q5_OWN}),
        ),
        Mutant(
            "the 2.5% quantile for the 5%, low-ESS fit",
            _q5_from(_low_ess, q=0.025),
            frozenset({Q5_OWN, Q5_EXACT}),
        ),
        Mutant(
            "the 10% quantile for the 5%, low-ESS fit",
            _q5_from(_low_ess, q=0.10),
            frozenset({Q5_OWN, Q5_EXACT}),
        ),
    ),
    alternatives=(
        Mutant("another seed's fits", lambda a, s: q5_reference(s + 100)),
        Mutant(
            "low-ESS but healthy non-centred fit (each draw repeated 3 times)", _q5_from(_low_ess)
        ),
        Mutant(
            "quantile with xarray, ESS as a 0-d array, divergences as numpy int",
            _override(
                non_centered_tau_q05=lambda a: (
                    a["non_centered_idata"]["posterior"]["tau"].quantile(0.05).values
                ),
                centered_tau_ess=lambda a: np.asarray(a["centered_tau_ess"]),
                centered_divergences=lambda a: np.int64(a["centered_divergences"]),
            ),
        ),
        Mutant(
            "divergences as a float",
            _override(non_centered_divergences=lambda a: float(a["non_centered_divergences"])),
        ),
    ),
    seeds=(0, 1, 2, 3, 4),
)

CATALOGUE = {"q1": Q1, "q2": Q2, "q3": Q3, "q4": Q4, "q5": Q5, "q6": Q6}
