"""Mutation catalogue of 02-shrinkage: typical mistakes lose points, alternatives keep them.

References come from closed forms recomputed from ``companion.data`` (shrinkage factors,
shrunk estimates), from sympy expressions typed here (the risk and its minimiser), from
the conditional-mode formula of the random-intercept model, and from a simulation of
Stein's example with its own seed; the solution notebook is never run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import sympy as sp

from companion import data
from coursetools.grading.mutations import (
    Catalogue,
    From,
    Mutant,
    alternative,
    mistake,
    wrong_options,
)

SCHOOLS = data.load_eight_schools()
Y = SCHOOLS["y"].to_numpy()
SIGMA = SCHOOLS["sigma"].to_numpy()
MU, TAU = 8.0, 6.0

# ---------------------------------------------------------------------------- q1

B = SIGMA**2 / (SIGMA**2 + TAU**2)

Q1_F = {"test_q1_factors"}
Q1_X = {"test_q1_extremes"}
Q1 = Catalogue(
    reference=lambda seed: {"B": B.copy(), "most_shrunk": "H", "least_shrunk": "E"},
    mistakes=(
        mistake("1 - B: tau^2 / (sigma^2 + tau^2)", Q1_F, B=TAU**2 / (SIGMA**2 + TAU**2)),
        mistake("missing squares: sigma / (sigma + tau)", Q1_F, B=SIGMA / (SIGMA + TAU)),
        mistake("tau not squared: sigma^2 / (sigma^2 + tau)", Q1_F, B=SIGMA**2 / (SIGMA**2 + TAU)),
        mistake("sorted B (school order lost)", Q1_F, B=np.sort(B)),
        mistake("most and least swapped", Q1_X, most_shrunk="E", least_shrunk="H"),
        mistake(
            "the schools with the largest and smallest y", Q1_X, most_shrunk="A", least_shrunk="C"
        ),
        mistake("indices instead of letters", Q1_X, most_shrunk=7, least_shrunk=4),
    ),
    alternatives=(
        alternative("a list", B=From(lambda a: list(a["B"]))),
        alternative(
            "a pandas Series indexed by school",
            B=From(lambda a: pd.Series(a["B"], index=SCHOOLS["school"])),
        ),
        alternative("1 / (1 + tau^2 / sigma^2)", B=1 / (1 + TAU**2 / SIGMA**2)),
        alternative("numpy str_ letters", most_shrunk=np.str_("H"), least_shrunk=np.str_("E")),
    ),
)

# ---------------------------------------------------------------------------- q2

THETA = (1 - B) * Y + B * MU

Q2_E = {"test_q2_estimates"}
Q2 = Catalogue(
    reference=lambda seed: {"theta_shrunk": THETA.copy(), "q2_reason": "a"},
    mistakes=(
        mistake(
            "shrinking the wrong way: B y + (1 - B) mu", Q2_E, theta_shrunk=B * Y + (1 - B) * MU
        ),
        mistake("forgetting to shrink: y", Q2_E, theta_shrunk=Y.copy()),
        mistake("shrinking toward 0: (1 - B) y", Q2_E, theta_shrunk=(1 - B) * Y),
        mistake(
            "B with missing squares",
            Q2_E,
            theta_shrunk=(TAU / (SIGMA + TAU)) * Y + SIGMA / (SIGMA + TAU) * MU,
        ),
        *wrong_options("q2_reason", "a", "test_q2_reason"),
    ),
    alternatives=(
        alternative(
            "mu + (y - mu) tau^2 / (tau^2 + sigma^2)",
            theta_shrunk=MU + (Y - MU) * TAU**2 / (TAU**2 + SIGMA**2),
        ),
        alternative("a list", theta_shrunk=From(lambda a: list(a["theta_shrunk"]))),
        alternative("a pandas Series", theta_shrunk=From(lambda a: pd.Series(a["theta_shrunk"]))),
    ),
)

# ---------------------------------------------------------------------------- q3

REDUCTION = float(100 * (Y[0] - THETA[0]) / Y[0])
Q3_V = {"test_q3_value"}
Q3 = Catalogue(
    reference=lambda seed: {"reduction_A": REDUCTION},
    mistakes=(
        mistake("a fraction, not a percentage", Q3_V, reduction_A=REDUCTION / 100),
        mistake("100 B_A (the share of the distance to mu)", Q3_V, reduction_A=float(100 * B[0])),
        mistake(
            "relative to the shrunk estimate",
            Q3_V,
            reduction_A=float(100 * (Y[0] - THETA[0]) / THETA[0]),
        ),
        mistake("with 1 - B_A", Q3_V, reduction_A=float(100 * (1 - B[0]) * (Y[0] - MU) / Y[0])),
        mistake("the percentage kept, not removed", Q3_V, reduction_A=float(100 * THETA[0] / Y[0])),
        mistake("rounded to one decimal", Q3_V, reduction_A=round(REDUCTION, 1)),
    ),
    alternatives=(
        alternative("numpy float64", reduction_A=np.float64(REDUCTION)),
        alternative("as 100 (1 - theta_A / y_A)", reduction_A=float(100 * (1 - THETA[0] / Y[0]))),
    ),
)

# ---------------------------------------------------------------------------- q4

Q4_V = {"test_q4_value"}
Q4 = Catalogue(
    reference=lambda seed: {"B_I": 25 / 61},
    mistakes=(
        mistake("missing squares: 5 / (5 + 6)", Q4_V, B_I=5 / 11),
        mistake("tau not squared: 25 / (25 + 6)", Q4_V, B_I=25 / 31),
        mistake("1 - B: 36 / 61", Q4_V, B_I=36 / 61),
        mistake("tau = 6 for sigma: 25 / (25 + 25)", Q4_V, B_I=0.5),
        mistake("rounded to 0.41", Q4_V, B_I=0.41),
    ),
    alternatives=(
        alternative("numpy float64", B_I=np.float64(25.0) / np.float64(61.0)),
        alternative(
            "a 1-element computation from arrays",
            B_I=float((np.array([5.0]) ** 2 / (np.array([5.0]) ** 2 + TAU**2))[0]),
        ),
    ),
)

# ---------------------------------------------------------------------------- q5

w, n, sigma_s, tau_s, V = sp.symbols("w n sigma tau V", positive=True)
RISK = (1 - w) ** 2 * tau_s**2 + w**2 * sigma_s**2 / n + (1 - w) ** 2 * V
W_STAR = (tau_s**2 + V) / (tau_s**2 + V + sigma_s**2 / n)

Q5_R = {"test_q5_risk"}
Q5_W = {"test_q5_weight"}
Q5 = Catalogue(
    reference=lambda seed: {"risk": RISK, "w_star": W_STAR},
    mistakes=(
        mistake(
            "risk without the error of m (V term)",
            Q5_R,
            risk=(1 - w) ** 2 * tau_s**2 + w**2 * sigma_s**2 / n,
        ),
        mistake(
            "risk with sigma^2 instead of sigma^2 / n",
            Q5_R,
            risk=(1 - w) ** 2 * tau_s**2 + w**2 * sigma_s**2 + (1 - w) ** 2 * V,
        ),
        mistake(
            "risk with the (1 - w) not squared",
            Q5_R,
            risk=(1 - w) * tau_s**2 + w**2 * sigma_s**2 / n + (1 - w) * V,
        ),
        mistake(
            "risk with a cross term 2 w (1 - w) tau^2", Q5_R, risk=RISK + 2 * w * (1 - w) * tau_s**2
        ),
        mistake(
            "w_star ignoring V: n tau^2 / (n tau^2 + sigma^2)",
            Q5_W,
            w_star=n * tau_s**2 / (n * tau_s**2 + sigma_s**2),
        ),
        mistake(
            "w_star with V subtracted",
            Q5_W,
            w_star=(tau_s**2 - V) / (tau_s**2 - V + sigma_s**2 / n),
        ),
        mistake("w_star = 1 - (the right weight)", Q5_W, w_star=1 - W_STAR),
        mistake(
            "w_star with sigma^2 instead of sigma^2 / n",
            Q5_W,
            w_star=(tau_s**2 + V) / (tau_s**2 + V + sigma_s**2),
        ),
    ),
    alternatives=(
        alternative("risk expanded", risk=sp.expand(RISK)),
        alternative(
            "w_star as solve() returns it, unsimplified", w_star=sp.solve(sp.diff(RISK, w), w)[0]
        ),
        alternative(
            "w_star multiplied through by n",
            w_star=n * (tau_s**2 + V) / (n * (tau_s**2 + V) + sigma_s**2),
        ),
        alternative(
            "symbols without assumptions",
            risk=RISK.subs({s: sp.Symbol(str(s)) for s in (w, n, sigma_s, tau_s, V)}),
            w_star=W_STAR.subs({s: sp.Symbol(str(s)) for s in (n, sigma_s, tau_s, V)}),
        ),
    ),
)

# ---------------------------------------------------------------------------- q6


def alpha_hat(ybar, xbar, n, beta, mu_alpha, sigma_y, sigma_alpha):
    weight = n * sigma_alpha**2 / (n * sigma_alpha**2 + sigma_y**2)
    return weight * (ybar - beta * xbar) + (1 - weight) * mu_alpha


def _posted(ybar, xbar, n, beta, mu_alpha, sigma_y, sigma_alpha):
    total = n * sigma_y**2 + sigma_alpha**2
    return sigma_alpha**2 / total * ybar + n * sigma_y**2 / total * mu_alpha


def _no_covariate(ybar, xbar, n, beta, mu_alpha, sigma_y, sigma_alpha):
    return alpha_hat(ybar, 0 * xbar, n, beta, mu_alpha, sigma_y, sigma_alpha)


def _no_squares(ybar, xbar, n, beta, mu_alpha, sigma_y, sigma_alpha):
    weight = n * sigma_alpha / (n * sigma_alpha + sigma_y)
    return weight * (ybar - beta * xbar) + (1 - weight) * mu_alpha


def _n_outside(ybar, xbar, n, beta, mu_alpha, sigma_y, sigma_alpha):
    weight = sigma_alpha**2 / (sigma_alpha**2 + sigma_y**2)
    return weight * (ybar - beta * xbar) + (1 - weight) * mu_alpha


def _no_pooling(ybar, xbar, n, beta, mu_alpha, sigma_y, sigma_alpha):
    return ybar - beta * xbar


def _precision_form(ybar, xbar, n, beta, mu_alpha, sigma_y, sigma_alpha):
    ybar, xbar, n = (np.asarray(v, dtype=float) for v in (ybar, xbar, n))
    data_precision = n / sigma_y**2
    prior_precision = 1 / sigma_alpha**2
    return (data_precision * (ybar - beta * xbar) + prior_precision * mu_alpha) / (
        data_precision + prior_precision
    )


def _lists(ybar, xbar, n, beta, mu_alpha, sigma_y, sigma_alpha):
    return [
        float(v)
        for v in np.atleast_1d(_precision_form(ybar, xbar, n, beta, mu_alpha, sigma_y, sigma_alpha))
    ]


Q6_B = {"test_q6_matches_mixed_model_blups"}
Q6 = Catalogue(
    reference=lambda seed: {"q6_error": "a", "alpha_hat": alpha_hat},
    mistakes=(
        *wrong_options("q6_error", "a", "test_q6_error"),
        mistake("the posted formula", Q6_B, alpha_hat=_posted),
        mistake(
            "forgetting the covariate (ybar, not ybar - beta xbar)", Q6_B, alpha_hat=_no_covariate
        ),
        mistake("standard deviations for variances", Q6_B, alpha_hat=_no_squares),
        mistake("forgetting n in the weight", Q6_B, alpha_hat=_n_outside),
        mistake("no pooling: ybar - beta xbar", Q6_B, alpha_hat=_no_pooling),
    ),
    alternatives=(
        alternative("precision-weighted form", alpha_hat=_precision_form),
        alternative("returns a list", alpha_hat=_lists),
    ),
)

# ---------------------------------------------------------------------------- q7

THETA7 = np.linspace(-1.5, 1.5, 10)
REPLICATES = 20_000


def _simulate(seed, replicates=REPLICATES, factor=8.0, positive_part=False):
    rng = np.random.default_rng([seed, 7])
    draws = rng.normal(THETA7, 1.0, size=(replicates, THETA7.size))
    shrink = 1 - factor / np.sum(draws**2, axis=1)
    if positive_part:
        shrink = np.maximum(shrink, 0.0)
    losses_mle = np.sum((draws - THETA7) ** 2, axis=1)
    losses_js = np.sum((shrink[:, None] * draws - THETA7) ** 2, axis=1)
    return {
        "losses_mle": losses_mle,
        "losses_js": losses_js,
        "js_wins": bool(losses_js.mean() < losses_mle.mean()),
    }


def _simulated(**options):
    def change(answers, seed):
        return _simulate(seed, **options)

    return change


Q7_M = {"test_q7_mle_risk"}
Q7_J = {"test_q7_js_risk"}
Q7_C = {"test_q7_conclusion"}
Q7 = Catalogue(
    reference=_simulate,
    mistakes=(
        Mutant("J for J - 2 in the shrinkage factor", _simulated(factor=10.0), frozenset(Q7_J)),
        Mutant("the positive-part estimate", _simulated(positive_part=True), frozenset(Q7_J)),
        Mutant(
            "too few replicates for the required precision (4000)",
            _simulated(replicates=4000),
            frozenset(Q7_J),
        ),
        mistake(
            "losses per coordinate (divided by J)",
            Q7_M | Q7_J,
            losses_mle=From(lambda a: a["losses_mle"] / 10),
            losses_js=From(lambda a: a["losses_js"] / 10),
        ),
        mistake(
            "Euclidean distance (missing square)",
            Q7_M | Q7_J,
            losses_mle=From(lambda a: np.sqrt(a["losses_mle"])),
            losses_js=From(lambda a: np.sqrt(a["losses_js"])),
        ),
        mistake(
            "the MLE's losses for both",
            Q7_J | Q7_C,
            losses_js=From(lambda a: a["losses_mle"].copy()),
        ),
        mistake("js_wins the wrong way round", Q7_C, js_wins=False),
    ),
    alternatives=(
        alternative(
            "lists of floats",
            losses_mle=From(lambda a: a["losses_mle"].tolist()),
            losses_js=From(lambda a: a["losses_js"].tolist()),
        ),
        alternative("numpy bool", js_wins=From(lambda a: np.bool_(a["js_wins"]))),
        Mutant("50000 replicates", _simulated(replicates=50_000)),
        Mutant("another seed", lambda answers, seed: _simulate(seed + 100)),
        alternative(
            "pandas Series",
            losses_mle=From(lambda a: pd.Series(a["losses_mle"])),
            losses_js=From(lambda a: pd.Series(a["losses_js"])),
        ),
    ),
    seeds=(0, 1, 2, 3, 4),
)

CATALOGUE = {"q1": Q1, "q2": Q2, "q3": Q3, "q4": Q4, "q5": Q5, "q6": Q6, "q7": Q7}
