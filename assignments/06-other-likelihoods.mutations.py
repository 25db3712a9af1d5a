"""Mutation catalogue of 06-other-likelihoods (see ``coursetools.grading.mutations``).

Reference answers come from an independent route: the no-pooling interval from the
conjugate Gamma posterior (scipy), the MCMC fit from exact posterior draws of the
hierarchical Poisson model: (mu, log tau) drawn from the quadrature grid of
``companion.exact.hierarchical_poisson`` (jittered uniformly within a grid cell), then each
log rate theta_j from its one-dimensional conditional posterior
p(theta_j | mu, tau, y_j) ~ Poisson(y_j | e_j exp(theta_j)) Normal(theta_j | mu, tau) by
inverting its CDF on a fine grid around its mode. 4 chains x 2000 draws, as the notebook.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
from scipy import stats

from companion import data, exact
from coursetools.grading.mutations import Catalogue, Mutant, fit_from_draws, set_answers

RANDOM_SEED = 583
CHAINS, DRAWS = 4, 2000
SEEDS = (0, 1, 2, 3, 4)


@functools.cache
def _events() -> pd.DataFrame:
    return data.simulate_hospitals(seed=RANDOM_SEED).events


def _smallest() -> str:
    events = _events()
    return str(events.loc[events["exposure"].idxmin(), "hospital"])


@functools.cache
def _posterior():
    events = _events()
    return exact.hierarchical_poisson(events["events"], events["exposure"])


@functools.cache
def _exact_draws(seed: int, prior: bool = False) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    size = CHAINS * DRAWS
    events = _events()
    y = events["events"].to_numpy(dtype=float)
    e = events["exposure"].to_numpy(dtype=float)
    if prior:
        mu, tau = rng.normal(0, 1, size), np.abs(rng.normal(0, 1, size))
        theta = rng.normal(mu[:, None], tau[:, None], (size, y.size))
    else:
        posterior = _posterior()
        grid = posterior.quadrature()
        grid_mu, grid_tau, weights = grid["mu"], grid["tau"], grid["weight"]
        cell = rng.choice(weights.size, size=size, p=weights.ravel() / weights.sum())
        i, j = np.unravel_index(cell, weights.shape)
        mu_axis, log_tau_axis = grid_mu[:, 0], np.log(grid_tau[0])
        mu = mu_axis[i] + rng.uniform(-0.5, 0.5, size) * (mu_axis[1] - mu_axis[0])
        log_step = log_tau_axis[1] - log_tau_axis[0]
        log_tau = log_tau_axis[j] + rng.uniform(-0.5, 0.5, size) * log_step
        tau = np.exp(log_tau)
        theta = _conditional_theta(mu, tau, y, e, rng)
    offset = (theta - mu[:, None]) / tau[:, None]
    return {"mu": mu, "tau": tau, "theta_offset": offset, "theta": theta, "rate": np.exp(theta)}


def _conditional_theta(mu, tau, y, e, rng):
    """One draw of each theta_j | mu, tau, y_j per (mu, tau), by the inverse CDF on a grid."""
    mu, tau = mu[:, None], tau[:, None]
    theta = np.log((y + 0.5) / e) * np.ones_like(mu)
    for _ in range(50):  # Newton steps to the conditional mode
        gradient = y - e * np.exp(theta) - (theta - mu) / tau**2
        curvature = -e * np.exp(theta) - 1 / tau**2
        theta = theta - np.clip(gradient / curvature, -1, 1)
    scale = 1 / np.sqrt(e * np.exp(theta) + 1 / tau**2)
    z = np.linspace(-9, 9, 361)
    points = theta[..., None] + scale[..., None] * z
    log_density = (
        y[:, None] * points
        - e[:, None] * np.exp(points)
        - (points - mu[..., None]) ** 2 / (2 * tau[..., None] ** 2)
    )
    density = np.exp(log_density - log_density.max(-1, keepdims=True))
    cdf = np.concatenate(
        [
            np.zeros(density.shape[:-1] + (1,)),
            np.cumsum((density[..., 1:] + density[..., :-1]) / 2, -1),
        ],
        -1,
    )
    cdf /= cdf[..., -1:]
    u = rng.uniform(size=cdf.shape[:-1] + (1,))
    index = np.clip((cdf < u).sum(-1, keepdims=True), 1, z.size - 1)
    low, high = np.take_along_axis(cdf, index - 1, -1), np.take_along_axis(cdf, index, -1)
    fraction = (u - low) / np.maximum(high - low, 1e-300)
    z_draw = z[index - 1] + fraction * (z[1] - z[0])
    return (theta[..., None] + scale[..., None] * z_draw)[..., 0]


def _fit(draws, *, repeat=1, extra_stats=False, diverging=False):
    keep = -(-DRAWS // repeat)

    def shaped(values):
        values = values.reshape(CHAINS, DRAWS, *values.shape[1:])
        return np.repeat(values[:, :keep], repeat, axis=1)[:, :DRAWS]

    events = _events()
    posterior = {name: shaped(values) for name, values in draws.items()}
    rate = posterior["rate"]
    exposure, counts = events["exposure"].to_numpy(), events["events"].to_numpy()
    log_lik = stats.poisson(rate * exposure).logpmf(counts)
    fit = fit_from_draws(
        posterior,
        coords={"hospital": list(events["hospital"])},
        dims={name: ["hospital"] for name in ("theta_offset", "theta", "rate", "y")},
        log_likelihood={"y": log_lik},
        observed_data={"y": events["events"].to_numpy()},
    )
    if extra_stats or diverging:
        group = fit["sample_stats"].to_dataset()
        shape = (CHAINS, DRAWS)
        if extra_stats:
            group["step_size"] = (("chain", "draw"), np.full(shape, 0.2))
            group["tree_depth"] = (("chain", "draw"), np.full(shape, 4))
            group["energy"] = (("chain", "draw"), np.random.default_rng(1).normal(size=shape))
        if diverging:
            flags = np.zeros(shape, dtype=bool)
            flags[3, ::400] = True
            group["diverging"] = (("chain", "draw"), flags)
        fit["sample_stats"] = group
    return fit


@functools.cache
def _reference_fit(seed, repeat=1):
    return _fit(_exact_draws(seed), repeat=repeat)


def _rate_means(fit):
    return fit["posterior"]["rate"].mean(("chain", "draw")).to_series()


# ------------------------------------------------------------------------------ q1


Q1 = Catalogue(
    reference=lambda seed: {"q1_answer": "a"},
    mistakes=tuple(
        Mutant(f"option {letter}", set_answers(q1_answer=letter), frozenset({"test_q1_answer"}))
        for letter in "bcd"
    ),
)


# ------------------------------------------------------------------------------ q2


def q2_reference(seed):
    fit = _reference_fit(seed)
    return {"poisson_idata": fit, "rate_means": _rate_means(fit), "RANDOM_SEED": RANDOM_SEED}


def _rates_from(function):
    def change(answers, seed):
        fit = answers["poisson_idata"]
        return {**answers, "rate_means": function(fit)}

    return change


def _new_fit(prior=False, **options):
    def change(answers, seed):
        fit = _fit(_exact_draws(seed, prior=prior), **options)
        return {**answers, "poisson_idata": fit, "rate_means": _rate_means(fit)}

    return change


def _raw_rates(fit):
    events = _events()
    return pd.Series((events["events"] / events["exposure"]).to_numpy(), index=events["hospital"])


# Each draw repeated 4 times: bulk ESS of the rates about 2000, R-hat still below 1.01.
LOW_ESS_REPEAT = 4

Q2 = Catalogue(
    reference=q2_reference,
    mistakes=(
        Mutant(
            "exp of the posterior mean of theta (the rate at the mean log rate)",
            _rates_from(
                lambda f: np.exp(f["posterior"]["theta"].mean(("chain", "draw"))).to_series()
            ),
            frozenset({"test_q2_means_from_draws", "test_q2_means_match_exact"}),
        ),
        Mutant(
            "posterior medians of the rates",
            _rates_from(lambda f: f["posterior"]["rate"].median(("chain", "draw")).to_series()),
            frozenset({"test_q2_means_from_draws"}),
        ),
        Mutant(
            "means of theta (log scale) for means of the rates",
            _rates_from(lambda f: f["posterior"]["theta"].mean(("chain", "draw")).to_series()),
            frozenset({"test_q2_means_from_draws", "test_q2_means_match_exact"}),
        ),
        Mutant(
            "raw rates y / exposure (no pooling, no model)",
            _rates_from(_raw_rates),
            frozenset({"test_q2_means_from_draws", "test_q2_means_match_exact"}),
        ),
        Mutant(
            "prior draws for posterior draws (data left out of the fit)",
            _new_fit(prior=True),
            frozenset({"test_q2_means_match_exact"}),
        ),
        Mutant(
            "a fit with divergent transitions",
            _new_fit(diverging=True),
            frozenset({"test_q2_converged"}),
        ),
    ),
    alternatives=(
        Mutant(
            "rate_means in another order (labels kept)",
            lambda a, s: {**a, "rate_means": a["rate_means"].iloc[::-1]},
        ),
        Mutant(
            "rate_means built from NumPy means",
            lambda a, s: {
                **a,
                "rate_means": pd.Series(
                    a["poisson_idata"]["posterior"]["rate"].values.reshape(-1, 8).mean(0),
                    index=list(_events()["hospital"]),
                ),
            },
        ),
        Mutant("a fit with pm.sample's extra sample_stats", _new_fit(extra_stats=True)),
        Mutant(
            f"a healthy low-ESS fit (each draw repeated {LOW_ESS_REPEAT} times)",
            _new_fit(repeat=LOW_ESS_REPEAT),
        ),
    ),
    seeds=SEEDS,
)


# ------------------------------------------------------------------------------ q3


def _gamma_interval(shape, rate, q=(0.05, 0.95)):
    return stats.gamma(shape, scale=1 / rate).ppf(list(q))


def _no_pool(q=(0.05, 0.95), prior=(1.0, 0.5), scale_confused=False):
    row = _events().set_index("hospital").loc[_smallest()]
    shape, rate = prior[0] + row["events"], prior[1] + row["exposure"]
    if scale_confused:
        return stats.gamma(shape, scale=rate).ppf(list(q))
    return _gamma_interval(shape, rate, q)


def _q3_answers(fit, no_pool=None, q=(0.05, 0.95)):
    no_pool = _no_pool() if no_pool is None else no_pool
    draws = fit["posterior"]["rate"].sel(hospital=_smallest()).values.ravel()
    hier = np.quantile(draws, list(q))
    return {
        "no_pool_interval": no_pool,
        "hier_interval": hier,
        "narrowing": float(1 - (hier[1] - hier[0]) / (no_pool[1] - no_pool[0])),
    }


def q3_reference(seed):
    fit = _reference_fit(seed)
    return {"events": _events(), "SMALLEST": _smallest(), "poisson_idata": fit, **_q3_answers(fit)}


def _q3(**options):
    def change(answers, seed):
        return {**answers, **_q3_answers(answers["poisson_idata"], **options)}

    return change


def _other_hospital(answers, seed):
    draws = answers["poisson_idata"]["posterior"]["rate"].sel(hospital="H1").values.ravel()
    hier = np.quantile(draws, [0.05, 0.95])
    no_pool = answers["no_pool_interval"]
    return {
        **answers,
        "hier_interval": hier,
        "narrowing": float(1 - (hier[1] - hier[0]) / (no_pool[1] - no_pool[0])),
    }


Q3 = Catalogue(
    reference=q3_reference,
    mistakes=(
        Mutant(
            "scipy's scale taken as the rate (scale = 0.5 + e)",
            _q3(no_pool=_no_pool(scale_confused=True)),
            frozenset({"test_q3_no_pooling_interval"}),
        ),
        Mutant(
            "Gamma(y, e): the prior forgotten",
            _q3(no_pool=_no_pool(prior=(0.0, 0.0))),
            frozenset({"test_q3_no_pooling_interval"}),
        ),
        Mutant(
            "95% no-pooling interval (2.5% to 97.5%)",
            _q3(no_pool=_no_pool(q=(0.025, 0.975))),
            frozenset({"test_q3_no_pooling_interval"}),
        ),
        Mutant(
            "95% partial-pooling interval (2.5% to 97.5%)",
            _q3(q=(0.025, 0.975)),
            frozenset({"test_q3_hierarchical_interval_from_draws"}),
        ),
        Mutant(
            "the partial-pooling interval of another hospital",
            _other_hospital,
            frozenset({"test_q3_hierarchical_interval_from_draws"}),
        ),
        Mutant(
            "narrowing = the width ratio (not 1 - ratio)",
            set_answers(narrowing=lambda a, s: 1 - a["narrowing"]),
            frozenset({"test_q3_narrowing"}),
        ),
        Mutant(
            "narrowing relative to the partial-pooling width",
            set_answers(
                narrowing=lambda a, s: float(
                    (np.diff(a["no_pool_interval"]) / np.diff(a["hier_interval"]))[0] - 1
                )
            ),
            frozenset({"test_q3_narrowing"}),
        ),
    ),
    alternatives=(
        Mutant(
            "intervals as lists",
            set_answers(
                no_pool_interval=lambda a, s: list(a["no_pool_interval"]),
                hier_interval=lambda a, s: list(a["hier_interval"]),
            ),
        ),
        Mutant(
            "no-pooling interval from exact.gamma_poisson_no_pooling",
            set_answers(
                no_pool_interval=lambda a, s: np.asarray(
                    exact.gamma_poisson_no_pooling(
                        [_events().set_index("hospital").loc[_smallest(), "events"]],
                        [_events().set_index("hospital").loc[_smallest(), "exposure"]],
                        alpha=1.0,
                        beta=0.5,
                    ).quantile([0.05, 0.95])["rate"][:, 0]
                )
            ),
        ),
        Mutant(
            "narrowing as a NumPy scalar",
            set_answers(narrowing=lambda a, s: np.float64(a["narrowing"])),
        ),
    ),
    seeds=SEEDS[:2],
)


# ------------------------------------------------------------------------------ q4


def _new_rates(fit, seed, how="normal"):
    rng = np.random.default_rng(seed)
    mu = fit["posterior"]["mu"].values.ravel()
    tau = fit["posterior"]["tau"].values.ravel()
    if how == "normal":
        return np.exp(rng.normal(mu, tau))
    if how == "lognormal":
        return rng.lognormal(mu, tau)
    if how == "standard":
        return np.exp(mu + tau * rng.standard_normal(mu.size))
    if how == "no_tau":
        return np.exp(mu)
    if how == "variance":
        return np.exp(rng.normal(mu, tau**2))
    if how == "plug_in":
        return np.exp(rng.normal(mu.mean(), tau.mean(), mu.size))
    if how == "draw_major":
        return np.exp(
            rng.normal(
                fit["posterior"]["mu"].values.T.ravel(), fit["posterior"]["tau"].values.T.ravel()
            )
        )
    raise ValueError(how)


def _q4_answers(fit, seed, how="normal"):
    draws = _new_rates(fit, seed, how)
    return {"new_rate_draws": draws, "new_rate_median": float(np.median(draws))}


def q4_reference(seed):
    fit = _reference_fit(seed)
    return {"poisson_idata": fit, "RANDOM_SEED": RANDOM_SEED, **_q4_answers(fit, seed)}


def _q4(how):
    def change(answers, seed):
        return {**answers, **_q4_answers(answers["poisson_idata"], seed, how)}

    return change


def _q4_low_ess(answers, seed):
    fit = _reference_fit(seed, LOW_ESS_REPEAT)
    return {**answers, "poisson_idata": fit, **_q4_answers(fit, seed)}


Q4 = Catalogue(
    reference=q4_reference,
    mistakes=(
        Mutant(
            "exp(mu): the population spread tau left out",
            _q4("no_tau"),
            frozenset({"test_q4_draws_from_the_population"}),
        ),
        Mutant(
            "tau^2 for tau (variance for sd)",
            _q4("variance"),
            frozenset({"test_q4_draws_from_the_population"}),
        ),
        Mutant(
            "plug-in: Normal(mean mu, mean tau) for every draw",
            _q4("plug_in"),
            frozenset({"test_q4_draws_from_the_population"}),
        ),
        Mutant(
            "draws in another order than the posterior draws",
            _q4("draw_major"),
            frozenset({"test_q4_draws_from_the_population"}),
        ),
        Mutant(
            "the mean of the draws for their median",
            set_answers(new_rate_median=lambda a, s: float(np.mean(a["new_rate_draws"]))),
            frozenset({"test_q4_draws_from_the_population", "test_q4_median_matches_exact"}),
        ),
        Mutant(
            "exp of the posterior mean of mu for the median",
            set_answers(
                new_rate_median=lambda a, s: float(
                    np.exp(a["poisson_idata"]["posterior"]["mu"].mean())
                )
            ),
            frozenset({"test_q4_draws_from_the_population"}),
        ),
        Mutant(
            "the smallest hospital's rate draws for a new hospital's",
            lambda a, s: {
                **a,
                "new_rate_draws": (
                    d := a["poisson_idata"]["posterior"]["rate"]
                    .sel(hospital=_smallest())
                    .values.ravel()
                ),
                "new_rate_median": float(np.median(d)),
            },
            frozenset({"test_q4_draws_from_the_population"}),
        ),
    ),
    alternatives=(
        Mutant("rng.lognormal(mu, tau)", _q4("lognormal")),
        Mutant("exp(mu + tau z) with standard Normal z", _q4("standard")),
        Mutant(
            "another generator seed",
            lambda a, s: {**a, **_q4_answers(a["poisson_idata"], s + 1000)},
        ),
        Mutant(
            "the draws as a list, the median as a NumPy scalar",
            lambda a, s: {
                **a,
                "new_rate_draws": list(a["new_rate_draws"]),
                "new_rate_median": np.float64(a["new_rate_median"]),
            },
        ),
        Mutant(f"a healthy low-ESS fit (each draw repeated {LOW_ESS_REPEAT} times)", _q4_low_ess),
    ),
    seeds=SEEDS,
)

CATALOGUE = {"q1": Q1, "q2": Q2, "q3": Q3, "q4": Q4}
