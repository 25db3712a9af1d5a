"""Mutation catalogue of 05-dirichlet-multinomial (see ``coursetools.grading.mutations``).

Reference answers come from an independent route: the no-pooling widths from the Beta
marginals of Dirichlet(1 + y_r) (scipy), the MCMC fit from exact posterior draws of
(alpha, pi0) (sampling-importance-resampling from a Student-t approximation of the
posterior in u = (log alpha, log(pi0_k / pi0_K)), with the model's density written out
here), the recovered region proportions from conjugate Dirichlet draws given them.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from companion import data
from coursetools.grading.mutations import Catalogue, Mutant, fit_from_draws

RANDOM_SEED = 505
SMALL, LARGE = "R1", "R5"
CHAINS, DRAWS = 4, 1000
SEEDS = (0, 1, 2, 3, 4)


@functools.cache
def _counts() -> pd.DataFrame:
    survey = data.simulate_survey(seed=RANDOM_SEED, region_sizes=(10, 120, 60, 80, 500, 95))
    return survey.counts


def _unpack(u):
    logits = np.concatenate([u[:, 1:], np.zeros((u.shape[0], 1))], axis=1)
    return np.exp(u[:, 0]), special.softmax(logits, axis=1)


def _log_density(u, y):
    """log p(u | y): alpha ~ Exponential(1), pi0 ~ Dirichlet(1), Dirichlet-Multinomial rows."""
    alpha, pi0 = _unpack(np.atleast_2d(u))
    a = alpha[:, None, None] * pi0[:, None, :]
    n = y.sum(axis=1)
    log_lik = (
        special.gammaln(alpha)[:, None]
        - special.gammaln(n[None] + alpha[:, None])
        + (special.gammaln(y[None] + a) - special.gammaln(a)).sum(-1)
    ).sum(1)
    return -alpha + np.log(alpha) + np.log(pi0).sum(1) + log_lik


@functools.cache
def _proposal():
    y = _counts().to_numpy().astype(float)
    found = optimize.minimize(lambda u: -_log_density(u, y)[0], np.zeros(y.shape[1]), method="BFGS")
    mode, size, step = found.x, found.x.size, 1e-4
    hessian = np.empty((size, size))
    for i in range(size):  # central differences
        for j in range(size):
            e_i, e_j = np.eye(size)[i] * step, np.eye(size)[j] * step
            hessian[i, j] = (
                _log_density(mode + e_i + e_j, y)
                - _log_density(mode + e_i - e_j, y)
                - _log_density(mode - e_i + e_j, y)
                + _log_density(mode - e_i - e_j, y)
            )[0] / (4 * step**2)
    return mode, np.linalg.inv(-hessian) * 1.5**2


@functools.cache
def _exact_draws(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(alpha, pi0) draws of shape (chain, draw) and (chain, draw, category)."""
    y = _counts().to_numpy().astype(float)
    mode, covariance = _proposal()
    rng = np.random.default_rng(seed)
    proposal = stats.multivariate_t(mode, covariance, df=5, seed=rng)
    u = proposal.rvs(200_000)
    log_w = _log_density(u, y) - proposal.logpdf(u)
    w = np.exp(log_w - log_w.max())
    picked = rng.choice(len(u), size=CHAINS * DRAWS, p=w / w.sum())  # with replacement: unbiased
    alpha, pi0 = _unpack(u[picked])
    return alpha.reshape(CHAINS, DRAWS), pi0.reshape(CHAINS, DRAWS, -1)


@functools.cache
def _prior_draws(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Draws of the prior, alpha ~ Exponential(1), pi0 ~ Dirichlet(1, 1, 1, 1)."""
    rng = np.random.default_rng(seed)
    alpha = rng.exponential(1.0, size=(CHAINS, DRAWS))
    pi0 = rng.dirichlet(np.ones(_counts().shape[1]), size=(CHAINS, DRAWS))
    return alpha, pi0


def _fit(alpha, pi0, *, extra_stats=False):
    counts = _counts()
    fit = fit_from_draws(
        {"alpha": alpha, "pi0": pi0},
        coords={"region": list(counts.index), "category": list(counts.columns)},
        dims={"pi0": ["category"]},
        observed_data={"y": counts.to_numpy()},
    )
    if extra_stats:  # what pm.sample adds besides "diverging"
        stats_group = fit["sample_stats"].to_dataset()
        shape = alpha.shape
        stats_group["step_size"] = (("chain", "draw"), np.full(shape, 0.4))
        stats_group["tree_depth"] = (("chain", "draw"), np.full(shape, 3))
        stats_group["energy"] = (("chain", "draw"), np.random.default_rng(0).normal(size=shape))
        fit["sample_stats"] = stats_group
    return fit


def _recover(alpha, pi0, region, seed):
    rng = np.random.default_rng(seed)
    concentration = alpha.reshape(-1)[:, None] * pi0.reshape(-1, pi0.shape[-1])
    gammas = rng.standard_gamma(concentration + _counts().loc[region].to_numpy())
    return gammas / gammas.sum(axis=1, keepdims=True)


def _weights(alpha):
    sizes = _counts().sum(axis=1)
    return pd.Series({r: float(np.mean(alpha / (alpha + sizes[r]))) for r in (SMALL, LARGE)})


def _q3_answers(alpha, pi0, seed):
    counts = _counts()
    return {
        "small_mean": pd.Series(_recover(alpha, pi0, SMALL, seed).mean(0), index=counts.columns),
        "shrinkage_weight": _weights(alpha.ravel()),
    }


def _common():
    return {"counts": _counts(), "SMALL": SMALL, "LARGE": LARGE}


# ------------------------------------------------------------------------------ q1


def _beta_widths(first, second, low=0.05, high=0.95):
    posterior = stats.beta(first, second)
    return posterior.ppf(high) - posterior.ppf(low)


def q1_reference(seed):
    counts = _counts()
    y = counts.to_numpy()
    n = y.sum(axis=1, keepdims=True)
    widths = _beta_widths(1 + y, 3 + n - y)
    return {
        **_common(),
        "no_pooling_width": pd.DataFrame(widths, index=counts.index, columns=counts.columns),
    }


def _q1_with(values):
    def change(answers, seed):
        counts = _counts()
        y = counts.to_numpy()
        n = y.sum(axis=1, keepdims=True)
        frame = pd.DataFrame(values(y, n), index=counts.index, columns=counts.columns)
        return {**answers, "no_pooling_width": frame}

    return change


def _q1_reordered(answers, seed):
    width = answers["no_pooling_width"]
    return {**answers, "no_pooling_width": width.iloc[::-1, ::-1]}


def _q1_from_dict(answers, seed):
    width = answers["no_pooling_width"]
    frame = pd.DataFrame({c: width[c].to_numpy() for c in width.columns}, index=width.index)
    return {**answers, "no_pooling_width": frame}


Q1 = Catalogue(
    reference=q1_reference,
    mistakes=(
        Mutant(
            "95% intervals (2.5% to 97.5%) instead of 90%",
            _q1_with(lambda y, n: _beta_widths(1 + y, 3 + n - y, 0.025, 0.975)),
            frozenset({"test_q1_widths"}),
        ),
        Mutant(
            "Beta(1 + y, 1 + n - y): the other categories' prior counts forgotten",
            _q1_with(lambda y, n: _beta_widths(1 + y, 1 + n - y)),
            frozenset({"test_q1_widths"}),
        ),
        Mutant(
            "posterior sd reported instead of the interval width",
            _q1_with(lambda y, n: stats.beta(1 + y, 3 + n - y).std()),
            frozenset({"test_q1_widths"}),
        ),
        Mutant(
            "the 95% quantile alone (upper end, not the width)",
            _q1_with(lambda y, n: stats.beta(1 + y, 3 + n - y).ppf(0.95)),
            frozenset({"test_q1_widths"}),
        ),
        Mutant(
            "Normal approximation around the raw proportions (Wald), no prior",
            _q1_with(lambda y, n: 2 * 1.645 * np.sqrt((y / n) * (1 - y / n) / n)),
            frozenset({"test_q1_widths"}),
        ),
        Mutant(
            "the prior's Dirichlet(1, 1, 1, 1) widths (data forgotten)",
            _q1_with(lambda y, n: _beta_widths(1 + 0 * y, 3 + 0 * y)),
            frozenset({"test_q1_widths", "test_q1_small_region_is_uncertain"}),
        ),
    ),
    alternatives=(
        Mutant("rows and columns in another order (labels kept)", _q1_reordered),
        Mutant("DataFrame built from a dict of columns", _q1_from_dict),
    ),
)


# ------------------------------------------------------------------------------ q2


def q2_reference(seed):
    alpha, pi0 = _exact_draws(seed)
    return {
        "counts": _counts(),
        "marginal_idata": _fit(alpha, pi0),
        "alpha_mean": float(alpha.mean()),
    }


def _q2_alpha(function):
    def change(answers, seed):
        alpha, pi0 = _exact_draws(seed)
        return {**answers, "alpha_mean": function(alpha, pi0)}

    return change


def _q2_stuck_chain(answers, seed):
    alpha, pi0 = _exact_draws(seed)
    alpha = alpha.copy()
    alpha[0] = np.sort(alpha[0])[::-1] * 1.0  # a chain that drifts: sorted, not mixed
    fit = _fit(alpha, pi0)
    return {**answers, "marginal_idata": fit, "alpha_mean": float(alpha.mean())}


def _q2_divergent(answers, seed):
    alpha, pi0 = _exact_draws(seed)
    fit = _fit(alpha, pi0)
    diverging = np.zeros(alpha.shape, dtype=bool)
    diverging[1, ::97] = True
    stats_group = fit["sample_stats"].to_dataset()
    stats_group["diverging"] = (("chain", "draw"), diverging)
    fit["sample_stats"] = stats_group
    return {**answers, "marginal_idata": fit}


def _q2_other_fit(answers, seed):
    """alpha_mean from another seed's fit: within MC error, but not the submitted draws."""
    alpha, _ = _exact_draws(seed + 100)
    return {**answers, "alpha_mean": float(alpha.mean())}


def _q2_numpy_scalar(answers, seed):
    return {**answers, "alpha_mean": np.float64(answers["alpha_mean"])}


def _q2_extra_stats(answers, seed):
    alpha, pi0 = _exact_draws(seed)
    return {**answers, "marginal_idata": _fit(alpha, pi0, extra_stats=True)}


# Each draw repeated 3 times: bulk ESS of alpha about 1300 (of pi0 down to about 930), the
# lowest at which R-hat stays below 1.01 (4 repeats: R-hat up to 1.012 among seeds 0-4).
LOW_ESS_REPEAT = 3


def _low_ess_draws(seed):
    alpha, pi0 = _exact_draws(seed)
    keep = -(-DRAWS // LOW_ESS_REPEAT)
    alpha = np.repeat(alpha[:, :keep], LOW_ESS_REPEAT, axis=1)[:, :DRAWS]
    pi0 = np.repeat(pi0[:, :keep], LOW_ESS_REPEAT, axis=1)[:, :DRAWS]
    return alpha, pi0


def _q2_low_ess(answers, seed):
    alpha, pi0 = _low_ess_draws(seed)
    return {**answers, "marginal_idata": _fit(alpha, pi0), "alpha_mean": float(alpha.mean())}


def _q2_prior_fit(answers, seed):
    alpha, pi0 = _prior_draws(seed)
    return {**answers, "marginal_idata": _fit(alpha, pi0), "alpha_mean": float(alpha.mean())}


Q2 = Catalogue(
    reference=q2_reference,
    mistakes=(
        Mutant(
            "posterior median of alpha instead of its mean",
            _q2_alpha(lambda a, p: float(np.median(a))),
            frozenset({"test_q2_alpha_mean_from_draws"}),
        ),
        Mutant(
            "the prior mean of alpha (Exponential(1): 1)",
            _q2_alpha(lambda a, p: 1.0),
            frozenset({"test_q2_alpha_mean_from_draws", "test_q2_alpha_mean_matches_exact"}),
        ),
        Mutant(
            "mean of log alpha",
            _q2_alpha(lambda a, p: float(np.log(a).mean())),
            frozenset({"test_q2_alpha_mean_from_draws", "test_q2_alpha_mean_matches_exact"}),
        ),
        Mutant(
            "exp of the mean of log alpha (geometric mean)",
            _q2_alpha(lambda a, p: float(np.exp(np.log(a).mean()))),
            frozenset({"test_q2_alpha_mean_from_draws", "test_q2_alpha_mean_matches_exact"}),
        ),
        Mutant(
            "mean of the first chain only",
            _q2_alpha(lambda a, p: float(a[0].mean())),
            frozenset({"test_q2_alpha_mean_from_draws"}),
        ),
        Mutant(
            "alpha_mean from another run than the fit submitted",
            _q2_other_fit,
            frozenset({"test_q2_alpha_mean_from_draws"}),
        ),
        Mutant(
            "prior draws for posterior draws (data left out of the fit)",
            _q2_prior_fit,
            frozenset({"test_q2_alpha_mean_matches_exact"}),
        ),
        Mutant(
            "a chain that has not mixed (R-hat above 1.01)",
            _q2_stuck_chain,
            frozenset({"test_q2_converged"}),
        ),
        Mutant("a fit with divergent transitions", _q2_divergent, frozenset({"test_q2_converged"})),
    ),
    alternatives=(
        Mutant("alpha_mean as a NumPy scalar", _q2_numpy_scalar),
        Mutant("a fit with pm.sample's extra sample_stats", _q2_extra_stats),
        Mutant(f"a healthy low-ESS fit (each draw repeated {LOW_ESS_REPEAT} times)", _q2_low_ess),
    ),
    seeds=SEEDS,
)


# ------------------------------------------------------------------------------ q3


def q3_reference(seed):
    alpha, pi0 = _exact_draws(seed)
    return {**_common(), "marginal_idata": _fit(alpha, pi0), **_q3_answers(alpha, pi0, seed)}


def _q3_weight(function):
    def change(answers, seed):
        alpha, _ = _exact_draws(seed)
        sizes = _counts().sum(axis=1)
        weight = pd.Series({r: function(alpha.ravel(), sizes[r]) for r in (SMALL, LARGE)})
        return {**answers, "shrinkage_weight": weight}

    return change


def _q3_small(function):
    def change(answers, seed):
        alpha, pi0 = _exact_draws(seed)
        counts = _counts()
        values = function(alpha, pi0, counts, seed)
        return {**answers, "small_mean": pd.Series(values, index=counts.columns)}

    return change


def _q3_rao_blackwell(alpha, pi0, counts, seed):
    a, p = alpha.reshape(-1, 1), pi0.reshape(-1, pi0.shape[-1])
    y = counts.loc[SMALL].to_numpy()
    return ((a * p + y) / (a + y.sum())).mean(0)


def _q3_low_ess(answers, seed):
    alpha, pi0 = _low_ess_draws(seed)
    return {**answers, "marginal_idata": _fit(alpha, pi0), **_q3_answers(alpha, pi0, seed)}


def _q3_numpy_weights(answers, seed):
    weight = answers["shrinkage_weight"]
    return {
        **answers,
        "shrinkage_weight": pd.Series(weight.to_numpy(dtype=np.float64), index=[SMALL, LARGE]),
    }


def _q3_prior_fit(answers, seed):
    alpha, pi0 = _prior_draws(seed)
    return {**answers, "marginal_idata": _fit(alpha, pi0), **_q3_answers(alpha, pi0, seed)}


Q3 = Catalogue(
    reference=q3_reference,
    mistakes=(
        Mutant(
            "weight on the region's own data, n / (alpha + n), for alpha / (alpha + n)",
            _q3_weight(lambda a, n: float(np.mean(n / (a + n)))),
            frozenset({"test_q3_weights_from_draws", "test_q3_weight_matches_exact"}),
        ),
        Mutant(
            "plug-in weight at the posterior mean of alpha",
            _q3_weight(lambda a, n: float(a.mean() / (a.mean() + n))),
            frozenset({"test_q3_weights_from_draws", "test_q3_weight_matches_exact"}),
        ),
        Mutant(
            "weight 1 / (alpha + n) (missing alpha in the numerator)",
            _q3_weight(lambda a, n: float(np.mean(1 / (a + n)))),
            frozenset({"test_q3_weights_from_draws", "test_q3_weight_matches_exact"}),
        ),
        Mutant(
            "weight alpha / n (n_r without alpha in the denominator)",
            _q3_weight(lambda a, n: float(np.mean(a / n))),
            frozenset({"test_q3_weights_from_draws", "test_q3_weight_matches_exact"}),
        ),
        Mutant(
            "prior draws for posterior draws (data left out of the fit)",
            _q3_prior_fit,
            frozenset({"test_q3_weight_matches_exact", "test_q3_small_mean_matches_exact"}),
        ),
        Mutant(
            "small_mean: posterior medians instead of means",
            _q3_small(lambda a, p, c, s: np.median(_recover(a, p, SMALL, s), axis=0)),
            frozenset({"test_q3_small_mean_matches_exact"}),
        ),
        Mutant(
            "small_mean = the raw proportions y_r / n_r (no pooling)",
            _q3_small(lambda a, p, c, s: (c.loc[SMALL] / c.loc[SMALL].sum()).to_numpy()),
            frozenset({"test_q3_small_mean_matches_exact"}),
        ),
        Mutant(
            "small_mean = the national pattern pi0 (pooled all the way)",
            _q3_small(lambda a, p, c, s: p.reshape(-1, p.shape[-1]).mean(0)),
            frozenset({"test_q3_small_mean_matches_exact"}),
        ),
        Mutant(
            "small_mean from the large region's draws",
            _q3_small(lambda a, p, c, s: _recover(a, p, LARGE, s).mean(0)),
            frozenset({"test_q3_small_mean_matches_exact"}),
        ),
        Mutant(
            "Dirichlet(alpha pi0) draws: the region's counts forgotten",
            _q3_small(
                lambda a, p, c, s: (lambda g: (g / g.sum(1, keepdims=True)).mean(0))(
                    np.random.default_rng(s).standard_gamma(
                        a.reshape(-1, 1) * p.reshape(-1, p.shape[-1])
                    )
                )
            ),
            frozenset({"test_q3_small_mean_matches_exact"}),
        ),
    ),
    alternatives=(
        Mutant(
            "small_mean by the conditional means (alpha pi0 + y) / (alpha + n)",
            _q3_small(_q3_rao_blackwell),
        ),
        Mutant(
            "recovered draws with another generator seed",
            _q3_small(lambda a, p, c, s: _recover(a, p, SMALL, s + 1000).mean(0)),
        ),
        Mutant("weights as NumPy float64 in a new Series", _q3_numpy_weights),
        Mutant(f"a healthy low-ESS fit (each draw repeated {LOW_ESS_REPEAT} times)", _q3_low_ess),
    ),
    seeds=SEEDS,
)


# ------------------------------------------------------------------------------ q4


def q4_reference(seed):
    return {**_common(), "q4_answer": "a"}


Q4 = Catalogue(
    reference=q4_reference,
    mistakes=tuple(
        Mutant(
            f"option {letter}",
            lambda answers, seed, letter=letter: {**answers, "q4_answer": letter},
            frozenset({"test_q4_answer"}),
        )
        for letter in "bcd"
    ),
)

CATALOGUE = {"q1": Q1, "q2": Q2, "q3": Q3, "q4": Q4}
