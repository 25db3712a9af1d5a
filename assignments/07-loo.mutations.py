"""Mutation catalogue of 07-loo (see ``coursetools.grading.mutations``).

Reference fits are made of exact posterior draws of the three Eight Schools models
(``companion.exact.pooling_draws``: conjugate Normal for complete and no pooling, the
quadrature posterior's iid draws for partial pooling), 4 chains x 1000 draws, with the
variables and dims of ``models.group_summaries`` and the pointwise log-likelihood
``y`` (chain, draw, school) computed here from Normal(y_j | theta_j, sigma_j). LOO
results are ArviZ's on those fits.
"""

from __future__ import annotations

import functools
import warnings

import arviz as az
import numpy as np
from scipy import stats

from companion import data, exact
from coursetools.grading.mutations import Catalogue, Mutant, fit_from_draws, set_answers

CHAINS, DRAWS = 4, 1000
SEEDS = (0, 1, 2, 3, 4)
POOLINGS = ("complete", "none", "partial")
SCHOOLS = list("ABCDEFGH")


@functools.cache
def _schools():
    schools = data.load_eight_schools()
    return schools["y"].to_numpy(), schools["sigma"].to_numpy()


def _fit(pooling, seed, *, repeat=1, prior=False, extra_stats=False, diverging=False):
    y, sigma = _schools()
    if prior:  # draws of the prior: the data left out
        rng = np.random.default_rng(seed)
        mu, tau = rng.normal(0, 20, CHAINS * DRAWS), np.abs(rng.normal(0, 10, CHAINS * DRAWS))
        draws = {"mu": mu, "tau": tau, "theta": rng.normal(mu[:, None], tau[:, None], (mu.size, 8))}
    else:
        draws = exact.pooling_draws(
            y,
            sigma,
            pooling=pooling,
            n=CHAINS * DRAWS,
            rng=seed,
            tau_prior=stats.halfnorm(scale=10.0),
        )
    keep = -(-DRAWS // repeat)

    def shaped(values):
        values = values.reshape(CHAINS, DRAWS, *values.shape[1:])
        return np.repeat(values[:, :keep], repeat, axis=1)[:, :DRAWS]

    theta = shaped(draws["theta"])
    posterior = {"theta": theta}
    if pooling != "none":
        posterior["mu"] = shaped(draws["mu"])
    if pooling == "partial":
        posterior["tau"] = shaped(draws["tau"])
        offset = (theta - posterior["mu"][..., None]) / posterior["tau"][..., None]
        posterior["theta_offset"] = offset
    fit = fit_from_draws(
        posterior,
        coords={"school": SCHOOLS},
        dims={"theta": ["school"], "theta_offset": ["school"], "y": ["school"]},
        log_likelihood={"y": stats.norm(theta, sigma).logpdf(y)},
        observed_data={"y": y},
    )
    if extra_stats or diverging:
        group = fit["sample_stats"].to_dataset()
        shape = (CHAINS, DRAWS)
        if extra_stats:  # what pm.sample adds besides "diverging"
            group["step_size"] = (("chain", "draw"), np.full(shape, 0.3))
            group["tree_depth"] = (("chain", "draw"), np.full(shape, 4))
            group["lp"] = (("chain", "draw"), np.random.default_rng(seed).normal(size=shape))
        if diverging:
            flags = np.zeros(shape, dtype=bool)
            flags[2, ::50] = True
            group["diverging"] = (("chain", "draw"), flags)
        fit["sample_stats"] = group
    return fit


@functools.cache
def _fits(seed, repeat=1):
    return {pooling: _fit(pooling, seed, repeat=repeat) for pooling in POOLINGS}


def _loo(fit):
    with warnings.catch_warnings():  # Pareto k above 0.7 is expected under no pooling
        warnings.simplefilter("ignore", UserWarning)
        return az.loo(fit, pointwise=True)


def _loos(fits):
    return {name: _loo(fit) for name, fit in fits.items()}


def _comparison(loos):
    return az.compare(dict(loos), round_to="none")


def _q2_answers(fits):
    loos = _loos(fits)
    table = _comparison(loos)
    return {
        "fits": fits,
        "loos": loos,
        "best_model": str(table.index[0]),
        "second_model": str(table.index[1]),
        "elpd_diff_second": float(table["elpd_diff"].iloc[1]),
        "dse_second": float(table["dse"].iloc[1]),
    }


# ------------------------------------------------------------------------------ q1


def q1_reference(seed):
    return {"fits": dict(_fits(seed))}


def _replace_fit(name, **options):
    def change(answers, seed):
        fits = dict(answers["fits"])
        fits[name] = _fit(name, seed, **options)
        return {**answers, "fits": fits}

    return change


def _swap(first, second):
    def change(answers, seed):
        fits = dict(answers["fits"])
        fits[first], fits[second] = fits[second], fits[first]
        return {**answers, "fits": fits}

    return change


# Each draw repeated 3 times: bulk ESS of mu about 1300, R-hat still below 1.01.
LOW_ESS_REPEAT = 3

Q1 = Catalogue(
    reference=q1_reference,
    mistakes=(
        Mutant(
            'the "none" and "partial" fits under each other\'s keys',
            _swap("none", "partial"),
            frozenset({"test_q1_right_models", "test_q1_partial_matches_exact"}),
        ),
        Mutant(
            'the "complete" and "partial" fits under each other\'s keys',
            _swap("complete", "partial"),
            frozenset({"test_q1_right_models"}),
        ),
        Mutant(
            "a partial-pooling fit with divergent transitions",
            _replace_fit("partial", diverging=True),
            frozenset({"test_q1_converged"}),
        ),
        Mutant(
            "prior draws for the partial-pooling posterior (data left out)",
            _replace_fit("partial", prior=True),
            frozenset({"test_q1_partial_matches_exact"}),
        ),
    ),
    alternatives=(
        Mutant(
            "fits with pm.sample's extra sample_stats",
            lambda a, s: {"fits": {p: _fit(p, s, extra_stats=True) for p in POOLINGS}},
        ),
        Mutant(
            f"healthy low-ESS fits (each draw repeated {LOW_ESS_REPEAT} times)",
            lambda a, s: {"fits": dict(_fits(s, LOW_ESS_REPEAT))},
        ),
        Mutant(
            "the dictionary in another order",
            lambda a, s: {"fits": {p: a["fits"][p] for p in reversed(POOLINGS)}},
        ),
    ),
    seeds=SEEDS,
)


# ------------------------------------------------------------------------------ q2


def q2_reference(seed):
    return _q2_answers(dict(_fits(seed)))


def _q2_swapped_loos(first, second):
    def change(answers, seed):
        loos = dict(answers["loos"])
        loos[first], loos[second] = loos[second], loos[first]
        return {**answers, "loos": loos}

    return change


def _third(column):
    def value(answers, seed):
        return float(_comparison(answers["loos"])[column].iloc[2])

    return value


def _other_seed(answers, seed):
    other = _q2_answers(dict(_fits(seed + 100)))
    return {**answers, **{k: other[k] for k in ("elpd_diff_second", "dse_second")}}


Q2 = Catalogue(
    reference=q2_reference,
    mistakes=(
        Mutant(
            "best and second model swapped",
            set_answers(
                best_model=lambda a, s: a["second_model"], second_model=lambda a, s: a["best_model"]
            ),
            frozenset({"test_q2_ranking_from_own_fits"}),
        ),
        Mutant(
            "the third model's difference and standard error",
            set_answers(elpd_diff_second=_third("elpd_diff"), dse_second=_third("dse")),
            frozenset({"test_q2_ranking_from_own_fits"}),
        ),
        Mutant(
            "dse_second = the second model's own ELPD standard error (se, not dse)",
            set_answers(dse_second=lambda a, s: float(_comparison(a["loos"])["se"].iloc[1])),
            frozenset({"test_q2_ranking_from_own_fits"}),
        ),
        Mutant(
            "elpd_diff_second = the second model's ELPD itself",
            set_answers(
                elpd_diff_second=lambda a, s: float(_comparison(a["loos"])["elpd"].iloc[1])
            ),
            frozenset({"test_q2_ranking_from_own_fits"}),
        ),
        Mutant(
            "the difference with its sign flipped",
            set_answers(elpd_diff_second=lambda a, s: -a["elpd_diff_second"]),
            frozenset({"test_q2_ranking_from_own_fits"}),
        ),
        Mutant(
            "numbers from another run than the fits submitted",
            _other_seed,
            frozenset({"test_q2_ranking_from_own_fits"}),
        ),
        Mutant(
            'loos of "complete" and "partial" under each other\'s keys',
            _q2_swapped_loos("complete", "partial"),
            frozenset({"test_q2_elpd_close_to_exact_loo"}),
        ),
        Mutant(
            'loos of "complete" and "none" under each other\'s keys',
            _q2_swapped_loos("complete", "none"),
            frozenset({"test_q2_elpd_close_to_exact_loo"}),
        ),
        Mutant(
            "loos of the prior draws for the partial model (data left out of the fit)",
            lambda a, s: {
                **a,
                "loos": {**a["loos"], "partial": _loo(_fit("partial", s, prior=True))},
            },
            frozenset({"test_q2_elpd_close_to_exact_loo"}),
        ),
    ),
    alternatives=(
        Mutant(
            "numbers as NumPy scalars",
            set_answers(
                elpd_diff_second=lambda a, s: np.float64(a["elpd_diff_second"]),
                dse_second=lambda a, s: np.float64(a["dse_second"]),
            ),
        ),
        Mutant(
            "model names as NumPy strings",
            set_answers(
                best_model=lambda a, s: np.str_(a["best_model"]),
                second_model=lambda a, s: np.str_(a["second_model"]),
            ),
        ),
        Mutant(
            f"healthy low-ESS fits (each draw repeated {LOW_ESS_REPEAT} times)",
            lambda a, s: _q2_answers(dict(_fits(s, LOW_ESS_REPEAT))),
        ),
    ),
    seeds=SEEDS,
)


# ------------------------------------------------------------------------------ q3


Q3 = Catalogue(
    reference=lambda seed: {"q3_answer": "b"},
    mistakes=tuple(
        Mutant(f"option {letter}", set_answers(q3_answer=letter), frozenset({"test_q3_answer"}))
        for letter in "acd"
    ),
)


# ------------------------------------------------------------------------------ q4


def _high_k(loo, threshold=None):
    threshold = loo.good_k if threshold is None else threshold
    return [s for s, k in zip(SCHOOLS, loo.pareto_k.values, strict=True) if k > threshold]


def q4_reference(seed):
    fits = dict(_fits(seed))
    return {"fits": fits, "high_k_schools": _high_k(_loo(fits["none"])), "q4_answer": "b"}


def _q4_list(function):
    def change(answers, seed):
        return {**answers, "high_k_schools": function(answers["fits"], seed)}

    return change


Q4 = Catalogue(
    reference=q4_reference,
    mistakes=(
        *(
            Mutant(f"option {letter}", set_answers(q4_answer=letter), frozenset({"test_q4_answer"}))
            for letter in "acd"
        ),
        Mutant(
            "the high-k schools of the partial-pooling fit",
            _q4_list(lambda f, s: _high_k(_loo(f["partial"]))),
            frozenset({"test_q4_high_k_from_own_fit"}),
        ),
        Mutant(
            "the old threshold 0.5 instead of good_k",
            _q4_list(lambda f, s: _high_k(_loo(f["none"]), 0.5)),
            frozenset({"test_q4_high_k_from_own_fit"}),
        ),
        Mutant(
            "the schools whose k is below the threshold",
            _q4_list(lambda f, s: sorted(set(SCHOOLS) - set(_high_k(_loo(f["none"]))))),
            frozenset({"test_q4_high_k_from_own_fit"}),
        ),
        Mutant(
            "every school",
            _q4_list(lambda f, s: list(SCHOOLS)),
            frozenset({"test_q4_high_k_from_own_fit"}),
        ),
    ),
    alternatives=(
        Mutant(
            "the list in reverse order",
            lambda a, s: {**a, "high_k_schools": a["high_k_schools"][::-1]},
        ),
        Mutant(
            "NumPy strings in the list",
            lambda a, s: {**a, "high_k_schools": [np.str_(x) for x in a["high_k_schools"]]},
        ),
    ),
    seeds=SEEDS,
)

CATALOGUE = {"q1": Q1, "q2": Q2, "q3": Q3, "q4": Q4}
