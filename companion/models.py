"""PyMC model builders: complete, no and partial pooling, returned unsampled.

Every builder returns a :class:`pymc.Model` with named ``coords``/``dims``; sample it
with :func:`companion.sampling.sample`. Variable names are shared by all builders:
``mu`` (population mean), ``tau`` (population sd), ``theta`` (group means, dim
``group`` unless renamed), ``theta_offset`` (non-centred standardised group effects),
``sigma`` (residual sd, individual data only) and the observed ``y``.
The chapter "The pooling problem" introduces them; "Eight Schools" adds ``beta`` (the
effect of a group-level predictor) and "Neal's funnel" the funnel's ``v``, ``x`` and
``x_offset``. "Dirichlet-Multinomial" adds ``alpha`` (concentration), ``pi0`` (common
proportions) and ``pi`` (group proportions); "Same pattern, other likelihoods" keeps
``mu``, ``tau`` and ``theta`` on the log or logit scale and adds ``rate`` and ``p``.
"""

from collections.abc import Iterable, Sequence
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd
import pymc as pm
from numpy.typing import ArrayLike

from companion._checks import (
    as_count_array,
    as_finite_array,
    as_positive_array,
    positive_integer,
    positive_scalar,
    same_length,
)
from companion._specs import binomial, poisson
from companion._specs import normal as normal_spec
from companion._specs.binomial import BINOMIAL
from companion._specs.dirichlet import PI0_CONCENTRATION
from companion._specs.dirichlet import alpha_prior as dirichlet_alpha_prior
from companion._specs.normal import NORMAL, NormalPopulation
from companion._specs.poisson import POISSON

__all__ = [
    "Parameterization",
    "Pooling",
    "dirichlet_multinomial",
    "eight_schools",
    "funnel",
    "group_summaries",
    "grouped_observations",
    "hierarchical_binomial",
    "hierarchical_poisson",
    "hierarchical_with_covariate",
]

Pooling = Literal["complete", "none", "partial"]
Parameterization = Literal["centered", "non_centered"]


# ArviZ keeps these dimension names for its own use (sampling.sample's results carry them).
_RESERVED_DIMS = ("chain", "draw", "__sample__")
# PyMC stores integer observations as int32 (pymc.pytensorf.smarttypeX), which wraps a count
# of 2**31 or more to a negative one; whole floats are stored exactly up to 2**53.
_MAX_COUNT = 2**53


def _check_choice(value: Any, name: str, allowed: Sequence[str]) -> str:
    """Return ``value`` if it is one of the strings ``allowed``; the error lists them."""
    if not isinstance(value, str) or value not in allowed:
        error = ValueError if isinstance(value, str) else TypeError
        raise error(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")
    return value


def _check_dim(value: Any, name: str, *, taken: Sequence[str]) -> str:
    """Return ``value`` as a dimension name: a non-empty string that is neither one of
    ArviZ's reserved names nor one of the names ``taken`` by the model's variables."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string naming a dimension, got {value!r}")
    if not value.strip():
        raise ValueError(f"{name} must be a non-empty dimension name, got {value!r}")
    if value in _RESERVED_DIMS or value in taken:
        clashes = ", ".join(map(repr, [*_RESERVED_DIMS, *taken]))
        raise ValueError(f"{name} must not be any of {clashes} (names already used); got {value!r}")
    return value


def _counts(value: ArrayLike, name: str, *, ndim: int) -> np.ndarray:
    """Checked counts (:func:`companion._checks.as_count_array`, at most 2**53), as floats
    that PyMC takes as observations without the int32 wrap-around."""
    counts = as_count_array(value, name, ndim=ndim)
    if np.any(counts > _MAX_COUNT):
        raise ValueError(f"{name} must be counts no larger than 2**53, got {counts.max()!r}")
    return counts.astype(float)


def _tau_prior(tau_prior: Any) -> tuple[type, dict[str, float]]:
    """Check ``tau_prior`` (a frozen scipy.stats law, None for the family's default) and
    return its PyMC counterpart.

    The family's check (:func:`companion._specs.normal.tau_prior`: a law on [0, inf))
    comes first; of those laws, ``halfnorm(scale=s)``, ``halfcauchy(scale=s)`` and
    ``uniform(a, b - a)`` become HalfNormal(s), HalfCauchy(s) and Uniform(a, b): the same
    prior that :func:`companion.exact.normal_hierarchy` integrates over. Returned as the
    PyMC distribution and its parameters, for :func:`_tau` to add to a model.
    """
    accepted = (
        "scipy.stats halfnorm(scale=s) or halfcauchy(scale=s) with a finite s > 0 (starting "
        "at 0) or uniform(a, b - a) with 0 <= a < b < inf"
    )
    try:
        tau_prior, lower, upper = normal_spec.tau_prior(tau_prior)
    except ValueError as error:
        raise ValueError(f"{error}; the PyMC builders take {accepted}") from None
    name = tau_prior.dist.name
    with np.errstate(all="ignore"):  # infinite parameters are reported below
        # halfnorm(scale=s) and halfcauchy(scale=s) have s times their standard median
        scale = (
            float(tau_prior.median() / tau_prior.dist.median())
            if name in ("halfnorm", "halfcauchy")
            else np.nan
        )
    if name == "uniform" and 0 <= lower < upper < np.inf:
        return pm.Uniform, {"lower": lower, "upper": upper}
    if name == "halfnorm" and lower == 0 and 0 < scale < np.inf:
        return pm.HalfNormal, {"sigma": scale}
    if name == "halfcauchy" and lower == 0 and 0 < scale < np.inf:
        return pm.HalfCauchy, {"beta": scale}
    raise ValueError(f"tau_prior must be {accepted}; got {name} on ({lower:g}, {upper:g})")


def _tau(prior: tuple[type, dict[str, float]]):
    """Add ``tau`` to the model in context, with a prior checked by :func:`_tau_prior`."""
    distribution, parameters = prior
    return distribution("tau", **parameters)


def _normal_effects(name: str, *, mean: Any, sd: Any, parameterization: Parameterization, dim: str):
    """Add ``name`` ~ Normal(mean, sd) over ``dim`` to the model in context.

    Centred: sampled as it is. Non-centred: ``name`` = mean + sd * ``name``_offset with
    ``name``_offset ~ Normal(0, 1), the same distribution written so that the sampled
    variables do not shrink with ``sd`` (the chapter "Neal's funnel").
    """
    if parameterization == "centered":
        return pm.Normal(name, mu=mean, sigma=sd, dims=dim)
    offset = pm.Normal(f"{name}_offset", mu=0.0, sigma=1.0, dims=dim)
    return pm.Deterministic(name, mean + sd * offset, dims=dim)


# Names of the variables (and other dims) of each model family, which a dim must not reuse.
_NORMAL_NAMES = ("mu", "tau", "theta", "theta_offset", "y")
_OBSERVATION_NAMES = (*_NORMAL_NAMES, "sigma", "obs_id")
_COVARIATE_NAMES = (*_NORMAL_NAMES, "beta")
_DIRICHLET_NAMES = ("alpha", "pi0", "pi", "y")
_POOLINGS = get_args(Pooling)
_PARAMETERIZATIONS = get_args(Parameterization)


def _hyperpriors(
    *, mu_prior_mean: Any, mu_prior_sd: Any, tau_prior_sd: Any, tau_prior: Any = None
) -> dict[str, Any]:
    """Checked hyperprior settings, as :func:`_group_means` takes them (``tau_prior``, when
    given, replaces the HalfNormal(``tau_prior_sd``) prior)."""
    checked = NormalPopulation(mu_prior_mean, mu_prior_sd, tau_prior_sd).checked()
    return {
        "mu_prior_mean": checked.mu_prior_mean,
        "mu_prior_sd": checked.mu_prior_sd,
        "tau_prior": _tau_prior(
            normal_spec.halfnormal_prior(checked.tau_prior_sd) if tau_prior is None else tau_prior
        ),
    }


def _group_means(
    *,
    pooling: Pooling,
    parameterization: Parameterization,
    dim: str,
    mu_prior_mean: float,
    mu_prior_sd: float,
    tau_prior: tuple[type, dict[str, float]],
):
    """Add the group means ``theta`` (and their hyperparameters, checked by
    :func:`_hyperpriors`) to the model in context."""
    if pooling == "none":
        return pm.Normal("theta", mu=mu_prior_mean, sigma=mu_prior_sd, dims=dim)
    mu = pm.Normal("mu", mu=mu_prior_mean, sigma=mu_prior_sd)
    if pooling == "complete":
        n_groups = len(pm.modelcontext(None).coords[dim])
        return pm.Deterministic("theta", mu * np.ones(n_groups), dims=dim)
    tau = _tau(tau_prior)
    return _normal_effects("theta", mean=mu, sd=tau, parameterization=parameterization, dim=dim)


def _estimates_with_errors(
    y: ArrayLike, sigma: ArrayLike, groups: Sequence[str] | None
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Checked group estimates, their standard errors and the group labels."""
    y = as_finite_array(y, "y", allow_bool=False)
    sigma = as_positive_array(sigma, "sigma", allow_bool=False)
    same_length([y, sigma], ["y", "sigma"])
    if len(sigma) not in (1, len(y)):
        raise ValueError(
            f"sigma must have one entry per entry of y ({len(y)}) or a single entry, "
            f"got {len(sigma)}"
        )
    return y, sigma, _group_labels(groups, len(y), "entry of y")


def group_summaries(
    y: ArrayLike,
    sigma: ArrayLike,
    *,
    pooling: Pooling = "partial",
    parameterization: Parameterization = "non_centered",
    groups: Sequence[str] | None = None,
    dim: str = "group",
    mu_prior_mean: float = NORMAL.mu_prior_mean,
    mu_prior_sd: float = NORMAL.mu_prior_sd,
    tau_prior_sd: float | None = None,
    tau_prior: Any = None,
) -> pm.Model:
    """Model group estimates ``y`` with known standard errors ``sigma`` (Eight Schools).

    - ``"complete"``: y_j ~ Normal(mu, sigma_j), one mean for all groups.
    - ``"none"``: y_j ~ Normal(theta_j, sigma_j), theta_j ~ Normal(mu_prior_mean, mu_prior_sd)
      independently.
    - ``"partial"``: theta_j ~ Normal(mu, tau), tau ~ HalfNormal(tau_prior_sd) (default
      10) or ``tau_prior``; written either directly (``"centered"``) or as
      theta_j = mu + tau * theta_offset_j with theta_offset_j ~ Normal(0, 1)
      (``"non_centered"``).

    Parameters
    ----------
    y : array_like
        Group estimates.
    sigma : array_like
        Their known standard errors (> 0), same length as ``y``.
    pooling : {"complete", "none", "partial"}
        How much the groups share.
    parameterization : {"centered", "non_centered"}
        How the partial-pooling model writes theta (ignored for the other poolings).
    groups : sequence of str, optional
        Group labels for the ``dim`` coordinate; default "0", "1", ...
    dim : str
        Name of the group dimension (e.g. ``"school"``): a non-empty string that is not
        the name of one of the model's variables nor ArviZ's ``"chain"`` or ``"draw"``.
    mu_prior_mean, mu_prior_sd, tau_prior_sd : float
        Hyperprior settings: a finite mean, standard deviations > 0 (``tau_prior_sd``
        defaults to 10 and is shorthand for ``tau_prior=stats.halfnorm(scale=...)``).
    tau_prior : frozen scipy.stats distribution, optional
        Another prior for tau: ``stats.halfnorm(scale=s)``, ``stats.halfcauchy(scale=s)``
        or ``stats.uniform(a, b - a)`` with a >= 0, i.e. the object that
        :func:`companion.exact.normal_hierarchy` takes, so that MCMC and the exact
        posterior share one model. Give ``tau_prior_sd`` or ``tau_prior``, not both.

    Returns
    -------
    pymc.Model
        The unsampled model.

    Raises
    ------
    TypeError
        If ``tau_prior`` is not a frozen scipy.stats distribution, an option is not a
        string, or an argument holds something other than real numbers (or labels).
    ValueError
        If ``tau_prior`` is another distribution or has invalid parameters, both
        ``tau_prior`` and ``tau_prior_sd`` are given, an option is not one of its values,
        labels repeat, or any of the checks named above fails.

    References
    ----------
    Gelman et al. (2013), *Bayesian Data Analysis*, 3rd ed., Section 5.5;
    Betancourt & Girolami (2015) on the two parameterisations.

    Examples
    --------
    >>> model = group_summaries([28.0, 8.0, -3.0], [15.0, 10.0, 16.0], groups=["A", "B", "C"])
    >>> sorted(model.named_vars)
    ['mu', 'tau', 'theta', 'theta_offset', 'y']
    """
    y, sigma, labels = _estimates_with_errors(y, sigma, groups)
    pooling = _check_choice(pooling, "pooling", _POOLINGS)
    parameterization = _check_choice(parameterization, "parameterization", _PARAMETERIZATIONS)
    dim = _check_dim(dim, "dim", taken=_NORMAL_NAMES)
    if tau_prior_sd is not None and tau_prior is not None:
        raise ValueError(
            "tau_prior_sd and tau_prior both give tau's prior: pass one of them "
            "(tau_prior_sd=s is tau_prior=stats.halfnorm(scale=s))"
        )
    priors = _hyperpriors(
        mu_prior_mean=mu_prior_mean,
        mu_prior_sd=mu_prior_sd,
        tau_prior_sd=NORMAL.tau_prior_sd if tau_prior_sd is None else tau_prior_sd,
        tau_prior=tau_prior,
    )
    with pm.Model(coords={dim: labels}) as model:
        theta = _group_means(pooling=pooling, parameterization=parameterization, dim=dim, **priors)
        pm.Normal("y", mu=theta, sigma=sigma, observed=y, dims=dim)
    return model


def grouped_observations(
    values: ArrayLike,
    groups: ArrayLike,
    *,
    pooling: Pooling = "partial",
    parameterization: Parameterization = "non_centered",
    dim: str = "group",
    mu_prior_mean: float = 50.0,
    mu_prior_sd: float = 25.0,
    tau_prior_sd: float = NORMAL.tau_prior_sd,
    sigma_prior_sd: float = 15.0,
) -> pm.Model:
    """Model individual observations labelled by group (the instructors' exam scores).

    y_i ~ Normal(theta[group_i], sigma) with sigma ~ HalfNormal(``sigma_prior_sd``) shared
    by all groups, and theta pooled as in :func:`group_summaries`, so the three poolings
    differ only in how the group means are tied together.

    Parameters
    ----------
    values : array_like
        One observation per individual.
    groups : array_like
        The group label of each observation (same length as ``values``); the ``dim``
        coordinate lists the labels in sorted order.
    pooling, parameterization, dim, mu_prior_mean, mu_prior_sd, tau_prior_sd
        As in :func:`group_summaries`; ``dim`` must not be ``"obs_id"`` either, the
        dimension of the observations.
    sigma_prior_sd : float
        Scale of the HalfNormal prior on the residual sd.

    Returns
    -------
    pymc.Model
        The unsampled model, with coords ``dim`` and ``obs_id``.

    References
    ----------
    Gelman & Hill (2007), *Data Analysis Using Regression and Multilevel/Hierarchical
    Models*, Chapter 12.

    Examples
    --------
    >>> model = grouped_observations([61.0, 70.0, 75.0], ["b", "a", "b"], pooling="none")
    >>> model.coords["group"]
    ('a', 'b')
    """
    values = as_finite_array(values, "values", allow_bool=False)
    codes, coordinate = _observation_groups(groups, len(values))
    pooling = _check_choice(pooling, "pooling", _POOLINGS)
    parameterization = _check_choice(parameterization, "parameterization", _PARAMETERIZATIONS)
    # "obs_id" is taken: dim="obs_id" would give every observation its own theta.
    dim = _check_dim(dim, "dim", taken=_OBSERVATION_NAMES)
    priors = _hyperpriors(
        mu_prior_mean=mu_prior_mean, mu_prior_sd=mu_prior_sd, tau_prior_sd=tau_prior_sd
    )
    sigma_prior_sd = positive_scalar(sigma_prior_sd, "sigma_prior_sd")
    coords = {dim: coordinate, "obs_id": np.arange(len(values))}
    with pm.Model(coords=coords) as model:
        theta = _group_means(pooling=pooling, parameterization=parameterization, dim=dim, **priors)
        sigma = pm.HalfNormal("sigma", sigma=sigma_prior_sd)
        pm.Normal("y", mu=theta[codes], sigma=sigma, observed=values, dims="obs_id")
    return model


def _observation_groups(groups: ArrayLike, n_values: int) -> tuple[np.ndarray, list[str]]:
    """Each observation's group index and the sorted group labels, as strings."""
    try:
        labels = np.asarray(groups)
    except ValueError as error:  # a ragged nested sequence
        raise ValueError(f"groups must be a flat sequence of labels, got {groups!r}") from error
    if labels.ndim != 1 or len(labels) != n_values:
        raise ValueError(
            f"groups must give one label per value ({n_values}), got shape {labels.shape}"
        )
    try:
        codes, uniques = pd.factorize(labels, sort=True)
    except TypeError as error:  # unhashable labels, or labels of types that do not sort
        raise TypeError(
            f"groups must hold hashable labels of one sortable kind, got {groups!r}"
        ) from error
    if np.any(codes < 0):
        # factorize codes a missing label as -1, which theta[codes] would read as the last group
        raise ValueError("groups must not contain missing labels (None or NaN)")
    coordinate = [str(u) for u in uniques]
    if len(set(coordinate)) != len(coordinate):
        raise ValueError(
            f"groups must not hold distinct labels that print alike (such as 1 and '1'), "
            f"got {coordinate}"
        )
    return codes, coordinate


def eight_schools(
    data: pd.DataFrame,
    *,
    parameterization: Parameterization = "non_centered",
    mu_prior_sd: float = NORMAL.mu_prior_sd,
    tau_prior: Any = None,
) -> pm.Model:
    """The hierarchical model of the Eight Schools coaching experiment.

    mu ~ Normal(0, ``mu_prior_sd``), tau ~ ``tau_prior``, theta_j ~ Normal(mu, tau) and
    y_j ~ Normal(theta_j, sigma_j) with the standard errors sigma_j known: the partial
    pooling model of :func:`group_summaries` with one coordinate ``school``.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per school with columns ``school`` (unique labels), ``y`` (estimated
        effect) and ``sigma`` (its standard error), as from
        :func:`companion.data.load_eight_schools`.
    parameterization : {"centered", "non_centered"}
        Sample theta directly, or theta_offset with theta = mu + tau * theta_offset.
    mu_prior_sd : float
        Standard deviation of the Normal(0, .) prior on mu.
    tau_prior : frozen scipy.stats distribution, optional
        ``stats.halfnorm(scale=s)``, ``stats.halfcauchy(scale=s)`` or
        ``stats.uniform(a, b - a)``; default ``stats.halfnorm(scale=10)``. Pass the same
        object to :func:`companion.exact.normal_hierarchy` for the exact posterior of
        this very model.

    Returns
    -------
    pymc.Model
        The unsampled model: ``mu``, ``tau``, ``theta`` (dim ``school``), ``theta_offset``
        when non-centred, and the observed ``y``.

    Raises
    ------
    TypeError
        If ``data`` is not a DataFrame or ``tau_prior`` not a frozen scipy distribution.
    ValueError
        If a column is missing, labels repeat, or a value is invalid.

    References
    ----------
    Rubin (1981); Gelman et al. (2013), *Bayesian Data Analysis*, 3rd ed., Section 5.5;
    the chapter "Eight Schools".

    Examples
    --------
    >>> from scipy import stats
    >>> from companion import data
    >>> model = eight_schools(data.load_eight_schools(), tau_prior=stats.halfcauchy(scale=25))
    >>> model["tau"].owner.op.name, list(model.coords["school"])[:3]
    ('halfcauchy', ['A', 'B', 'C'])
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    missing = sorted({"school", "y", "sigma"} - set(data.columns))
    if missing:
        raise ValueError(f"data must have the columns school, y and sigma; missing {missing}")
    y = as_finite_array(data["y"], "data['y']", allow_bool=False)
    sigma = as_positive_array(data["sigma"], "data['sigma']", allow_bool=False)
    schools = _group_labels(data["school"], len(data), "row of data", name="data['school']")
    return group_summaries(
        y,
        sigma,
        parameterization=parameterization,
        groups=schools,
        dim="school",
        mu_prior_sd=mu_prior_sd,
        tau_prior=tau_prior,
    )


def funnel(*, dims: int = 9, parameterization: Parameterization = "non_centered") -> pm.Model:
    """Neal's funnel: v ~ Normal(0, 3) and x_k | v ~ Normal(0, exp(v / 2)), k = 1..``dims``.

    The scale of every x_k is exp(v / 2): a wide mouth for large v and a narrow neck
    for small v, the geometry of a hierarchical model's group effects against log tau.
    Non-centred, x = exp(v / 2) * x_offset with x_offset ~ Normal(0, 1).

    Parameters
    ----------
    dims : int
        Number of x coordinates (>= 1); Neal used 9, for 10 dimensions in all.
    parameterization : {"centered", "non_centered"}
        Sample x directly, or x_offset.

    Returns
    -------
    pymc.Model
        The unsampled model (no data): ``v``, ``x`` (dim ``component``, labelled
        1..``dims``) and ``x_offset`` when non-centred.

    References
    ----------
    Neal, R. M. (2003). Slice sampling. *Annals of Statistics* 31(3), 705-767, Section 8;
    the chapter "Neal's funnel". Exact draws: :func:`companion.exact.funnel_draws`.

    Examples
    --------
    >>> model = funnel(dims=2, parameterization="centered")
    >>> sorted(model.named_vars), list(model.coords["component"])
    (['v', 'x'], [1, 2])
    """
    dims = positive_integer(dims, "dims")
    parameterization = _check_choice(parameterization, "parameterization", _PARAMETERIZATIONS)
    with pm.Model(coords={"component": list(range(1, dims + 1))}) as model:
        v = pm.Normal("v", mu=0.0, sigma=3.0)
        _normal_effects(
            "x", mean=0.0, sd=pm.math.exp(v / 2), parameterization=parameterization, dim="component"
        )
    return model


def hierarchical_with_covariate(
    y: ArrayLike,
    sigma: ArrayLike,
    x: ArrayLike,
    *,
    groups: Sequence[str] | None = None,
    dim: str = "group",
    parameterization: Parameterization = "non_centered",
    mu_prior_sd: float = NORMAL.mu_prior_sd,
    beta_prior_sd: float = 10.0,
    tau_prior: Any = None,
) -> pm.Model:
    """Group estimates with a group-level predictor: groups exchangeable given ``x``.

    theta_j = mu + beta x_j + eta_j with eta_j ~ Normal(0, tau), y_j ~ Normal(theta_j,
    sigma_j) with sigma_j known; mu ~ Normal(0, ``mu_prior_sd``), beta ~ Normal(0,
    ``beta_prior_sd``). With x_j = 1 for private and 0 for public schools, beta is the
    private schools' systematic difference and tau the spread left unexplained.

    Parameters
    ----------
    y : array_like
        Group estimates.
    sigma : array_like
        Their known standard errors (> 0).
    x : array_like
        The group-level predictor, one number (or bool) per group.
    groups : sequence of str, optional
        Group labels for the ``dim`` coordinate; default "0", "1", ...
    dim : str
        Name of the group dimension.
    parameterization : {"centered", "non_centered"}
        Sample theta directly, or theta_offset = eta / tau.
    mu_prior_sd, beta_prior_sd : float
        Standard deviations of the Normal(0, .) priors on mu and beta.
    tau_prior : frozen scipy.stats distribution, optional
        As in :func:`eight_schools`; default ``stats.halfnorm(scale=10)``.

    Returns
    -------
    pymc.Model
        The unsampled model: ``mu``, ``beta``, ``tau``, ``theta`` (dim ``dim``),
        ``theta_offset`` when non-centred, and the observed ``y``.

    References
    ----------
    Gelman & Hill (2007), Chapter 12 (group-level predictors); the chapter
    "Eight Schools".

    Examples
    --------
    >>> model = hierarchical_with_covariate([3.0, 9.0, 12.0], [5.0, 6.0, 5.0], [0, 1, 1])
    >>> sorted(model.named_vars)
    ['beta', 'mu', 'tau', 'theta', 'theta_offset', 'y']
    """
    y, sigma, labels = _estimates_with_errors(y, sigma, groups)
    x = as_finite_array(x, "x")
    if len(x) != len(y):
        raise ValueError(f"x must have one entry per entry of y ({len(y)}), got {len(x)}")
    parameterization = _check_choice(parameterization, "parameterization", _PARAMETERIZATIONS)
    dim = _check_dim(dim, "dim", taken=_COVARIATE_NAMES)
    mu_prior_sd = positive_scalar(mu_prior_sd, "mu_prior_sd")
    beta_prior_sd = positive_scalar(beta_prior_sd, "beta_prior_sd")
    tau_prior = _tau_prior(tau_prior)
    with pm.Model(coords={dim: labels}) as model:
        mu = pm.Normal("mu", mu=NORMAL.mu_prior_mean, sigma=mu_prior_sd)
        beta = pm.Normal("beta", mu=0.0, sigma=beta_prior_sd)
        tau = _tau(tau_prior)
        theta = _normal_effects(
            "theta", mean=mu + beta * x, sd=tau, parameterization=parameterization, dim=dim
        )
        pm.Normal("y", mu=theta, sigma=sigma, observed=y, dims=dim)
    return model


def _group_labels(
    groups: Iterable | None, n_groups: int, what: str, *, name: str = "groups"
) -> list[str]:
    """The labels of ``n_groups`` groups: ``groups`` as distinct strings, or "0", "1", ...

    ``name`` is the argument that holds them. A plain string (whose characters would
    become labels), a label that is itself a sequence, a missing label (None or NaN) and
    two labels that print alike are refused.
    """
    if groups is None:
        return [str(i) for i in range(n_groups)]
    if isinstance(groups, str | bytes) or not isinstance(groups, Iterable):
        raise TypeError(f"{name} must be a sequence of labels, got {groups!r}")
    labels = list(groups)
    if len(labels) != n_groups:
        raise ValueError(f"{name} must have one label per {what} ({n_groups}), got {len(labels)}")
    for label in labels:
        if np.ndim(label) != 0:
            raise TypeError(f"{name} must hold one label per {what}, got the sequence {label!r}")
        if pd.isna(label):
            raise ValueError(f"{name} must not contain missing labels (None or NaN)")
    strings = [str(label) for label in labels]
    repeated = sorted({label for label in strings if strings.count(label) > 1})
    if repeated:
        raise ValueError(f"{name} must not repeat a label, got {repeated[0]!r} more than once")
    return strings


def dirichlet_multinomial(
    counts: ArrayLike,
    *,
    marginal: bool = False,
    groups: Sequence[str] | None = None,
    categories: Sequence[str] | None = None,
    dims: tuple[str, str] = ("group", "category"),
    alpha_prior: Any = None,
) -> pm.Model:
    """Category counts of several groups whose proportions vary around a common pattern.

    alpha ~ ``alpha_prior`` (Exponential(1) by default), pi0 ~ Dirichlet(1, ..., 1),
    pi_r ~ Dirichlet(alpha * pi0)
    and y_r ~ Multinomial(n_r, pi_r), with n_r the total of row r. pi0 is the common
    pattern (the mean of every pi_r) and alpha the concentration: the larger alpha, the
    closer every group's proportions stay to pi0. Given alpha and pi0, the posterior of
    pi_r is Dirichlet(alpha * pi0 + y_r), a compromise between pi0 and the group's own
    proportions y_r / n_r with weight alpha / (alpha + n_r) on pi0.

    With ``marginal=True`` the pi_r are integrated out: y_r ~ DirichletMultinomial(n_r,
    alpha * pi0). The posterior of (alpha, pi0) is the same; the model has fewer
    parameters and no ``pi``, which can be recovered afterwards by drawing
    pi_r ~ Dirichlet(alpha * pi0 + y_r) for each posterior draw of alpha and pi0.

    Parameters
    ----------
    counts : array_like
        Counts of shape (groups, categories): whole numbers >= 0, every group with at
        least one observation. The index and columns of a DataFrame become the labels.
    marginal : bool
        Integrate the group proportions out (``True``) or sample them (``False``).
    groups, categories : sequence of str, optional
        Labels of the rows and columns; default those of a DataFrame, else "0", "1", ...
    dims : tuple of two str
        Names of the group and category dimensions, e.g. ``("region", "category")``.
    alpha_prior : frozen scipy.stats continuous distribution, optional
        The prior of the concentration alpha: ``expon(scale=s)``, ``lognorm(s, scale=m)``
        (log alpha ~ Normal(log m, s)), ``gamma(a, scale=s)``, ``halfnorm(scale=s)`` or
        ``halfcauchy(scale=s)``, becoming the PyMC distribution of the same name; None is
        Exponential(1). :func:`companion.exact.dirichlet_multinomial_hierarchy` takes the
        same argument and integrates over the same prior.

    Returns
    -------
    pymc.Model
        The unsampled model: ``alpha``, ``pi0`` (dim category), ``pi`` (dims ``dims``;
        only when ``marginal`` is False) and the observed ``y`` (dims ``dims``).

    Raises
    ------
    ValueError
        If ``counts`` is not two-dimensional, has fewer than two categories, holds
        negative, fractional or missing entries, or a group has no observation; or the
        labels do not match its shape; or ``alpha_prior`` is another family or does not
        live on (0, inf).
    TypeError
        If ``counts`` does not hold numbers, or ``alpha_prior`` is not a frozen
        scipy.stats distribution.

    References
    ----------
    Gelman et al. (2013), *Bayesian Data Analysis*, 3rd ed., Sections 3.4 and 23.2;
    the chapter "Dirichlet-Multinomial".

    Examples
    --------
    >>> model = dirichlet_multinomial([[3, 5, 2], [10, 12, 9]], dims=("region", "category"))
    >>> sorted(model.named_vars), model.named_vars_to_dims["pi"]
    (['alpha', 'pi', 'pi0', 'y'], ('region', 'category'))
    >>> sorted(dirichlet_multinomial([[3, 5, 2], [10, 12, 9]], marginal=True).named_vars)
    ['alpha', 'pi0', 'y']
    >>> from scipy import stats
    >>> weak = dirichlet_multinomial(
    ...     [[3, 5, 2], [10, 12, 9]], alpha_prior=stats.lognorm(1.5, scale=20.0)
    ... )
    >>> type(weak["alpha"].owner.op).__name__
    'LogNormalRV'
    """
    table = _counts(counts, "counts", ndim=2)
    if not isinstance(marginal, bool | np.bool_):
        raise TypeError(f"marginal must be True or False, got {marginal!r}")
    prior = dirichlet_alpha_prior(alpha_prior)
    n_groups, n_categories = table.shape
    if n_categories < 2:
        raise ValueError(f"counts must have two or more categories (columns), got {table.shape}")
    totals = table.sum(axis=1)
    if np.any(totals == 0):
        raise ValueError(
            f"counts must have at least one observation in every group; row "
            f"{int(np.flatnonzero(totals == 0)[0])} is all zeros"
        )
    if isinstance(counts, pd.DataFrame):
        groups = counts.index if groups is None else groups
        categories = counts.columns if categories is None else categories
    group_labels = _group_labels(groups, n_groups, "row of counts")
    category_labels = _group_labels(categories, n_categories, "column of counts", name="categories")
    if isinstance(dims, str) or not isinstance(dims, Sequence):
        raise TypeError(f"dims must be a pair of dimension names, got {dims!r}")
    if len(dims) != 2 or dims[0] == dims[1]:
        raise ValueError(f"dims must name two different dimensions, got {dims!r}")
    group_dim = _check_dim(dims[0], "dims[0]", taken=_DIRICHLET_NAMES)
    category_dim = _check_dim(dims[1], "dims[1]", taken=_DIRICHLET_NAMES)
    dims = (group_dim, category_dim)
    coords = {group_dim: group_labels, category_dim: category_labels}
    with pm.Model(coords=coords) as model:
        alpha = getattr(pm, prior.pymc)("alpha", **prior.parameters)
        pi0 = pm.Dirichlet("pi0", a=np.full(n_categories, PI0_CONCENTRATION), dims=category_dim)
        if marginal:
            pm.DirichletMultinomial("y", n=totals, a=alpha * pi0, observed=table, dims=dims)
        else:
            pi = pm.Dirichlet("pi", a=alpha * pi0, dims=dims)
            pm.Multinomial("y", n=totals, p=pi, observed=table, dims=dims)
    return model


def _link_scale_model(
    labels: list[str],
    population: NormalPopulation,
    *,
    parameterization: Any,
    dim: Any,
    response: str,
) -> tuple[pm.Model, Any]:
    """A model holding theta_j ~ Normal(mu, tau) on the link scale, and theta itself;
    ``population`` holds the (unchecked) hyperprior settings and ``response`` names the
    deterministic the caller adds on the data scale."""
    parameterization = _check_choice(parameterization, "parameterization", _PARAMETERIZATIONS)
    dim = _check_dim(dim, "dim", taken=(*_NORMAL_NAMES, response))
    priors = _hyperpriors(**population._asdict())
    with pm.Model(coords={dim: labels}) as model:
        theta = _group_means(
            pooling="partial", parameterization=parameterization, dim=dim, **priors
        )
    return model, theta


def hierarchical_poisson(
    counts: ArrayLike,
    exposure: ArrayLike,
    *,
    parameterization: Parameterization = "non_centered",
    groups: Sequence[str] | None = None,
    dim: str = "group",
    mu_prior_mean: float = POISSON.mu_prior_mean,
    mu_prior_sd: float = POISSON.mu_prior_sd,
    tau_prior_sd: float = POISSON.tau_prior_sd,
) -> pm.Model:
    """Event counts with exposures, the groups' rates drawn from a log-normal population.

    theta_j = log(rate_j) ~ Normal(mu, tau), mu ~ Normal(``mu_prior_mean``,
    ``mu_prior_sd``), tau ~ HalfNormal(``tau_prior_sd``) and
    y_j ~ Poisson(rate_j * exposure_j): the partial-pooling model of
    :func:`group_summaries` on the log scale, with a Poisson likelihood. Non-centred,
    theta_j = mu + tau * theta_offset_j.

    Parameters
    ----------
    counts : array_like
        Event counts y_j: whole numbers >= 0, one per group.
    exposure : array_like
        Exposures e_j > 0 (patient-days, person-years, ...), one per group.
    parameterization : {"centered", "non_centered"}
        Sample theta directly, or theta_offset.
    groups : sequence of str, optional
        Group labels for the ``dim`` coordinate; default "0", "1", ...
    dim : str
        Name of the group dimension (e.g. ``"hospital"``).
    mu_prior_mean, mu_prior_sd, tau_prior_sd : float
        Hyperprior settings, on the log scale.

    Returns
    -------
    pymc.Model
        The unsampled model: ``mu``, ``tau``, ``theta`` (log rates), ``theta_offset``
        when non-centred, ``rate`` (= exp(theta)) and the observed ``y``, all group
        quantities with dim ``dim``.

    Raises
    ------
    ValueError
        If ``counts`` holds negative, fractional or missing entries or is not
        one-dimensional, an exposure is not positive, lengths differ, or a prior setting
        is invalid.

    References
    ----------
    Gelman et al. (2013), *Bayesian Data Analysis*, 3rd ed., Sections 2.6 and 16.1;
    the chapter "Same pattern, other likelihoods".

    Examples
    --------
    >>> model = hierarchical_poisson([2, 14, 3], [2.1, 5.0, 1.3], dim="hospital")
    >>> sorted(model.named_vars)
    ['mu', 'rate', 'tau', 'theta', 'theta_offset', 'y']
    """
    counts, exposure = poisson.check_data(counts, exposure, as_counts=_counts)
    labels = _group_labels(groups, counts.size, "count")
    population = NormalPopulation(mu_prior_mean, mu_prior_sd, tau_prior_sd)
    model, theta = _link_scale_model(
        labels, population, parameterization=parameterization, dim=dim, response="rate"
    )
    with model:
        rate = pm.Deterministic("rate", pm.math.exp(theta), dims=dim)
        pm.Poisson("y", mu=rate * exposure, observed=counts, dims=dim)
    return model


def hierarchical_binomial(
    successes: ArrayLike,
    trials: ArrayLike,
    *,
    parameterization: Parameterization = "non_centered",
    groups: Sequence[str] | None = None,
    dim: str = "group",
    mu_prior_mean: float = BINOMIAL.mu_prior_mean,
    mu_prior_sd: float = BINOMIAL.mu_prior_sd,
    tau_prior_sd: float = BINOMIAL.tau_prior_sd,
) -> pm.Model:
    """Successes out of trials, the groups' probabilities drawn from a logit-normal population.

    theta_j = logit(p_j) ~ Normal(mu, tau), mu ~ Normal(``mu_prior_mean``,
    ``mu_prior_sd``), tau ~ HalfNormal(``tau_prior_sd``) and y_j ~ Binomial(n_j, p_j):
    the partial-pooling model of :func:`group_summaries` on the logit scale, with a
    Binomial likelihood. Non-centred, theta_j = mu + tau * theta_offset_j.

    Parameters
    ----------
    successes : array_like
        Successes y_j: whole numbers >= 0, one per group.
    trials : array_like
        Trials n_j: whole numbers >= 1 and >= y_j, one per group.
    parameterization : {"centered", "non_centered"}
        Sample theta directly, or theta_offset.
    groups : sequence of str, optional
        Group labels for the ``dim`` coordinate; default "0", "1", ...
    dim : str
        Name of the group dimension (e.g. ``"player"``).
    mu_prior_mean, mu_prior_sd, tau_prior_sd : float
        Hyperprior settings, on the logit scale; the default Normal(0, 1.5) on mu is
        nearly flat on the probability scale.

    Returns
    -------
    pymc.Model
        The unsampled model: ``mu``, ``tau``, ``theta`` (logits), ``theta_offset`` when
        non-centred, ``p`` (= logistic(theta)) and the observed ``y``, all group
        quantities with dim ``dim``.

    Raises
    ------
    ValueError
        If a count is negative, fractional or missing, a group has no trials or more
        successes than trials, lengths differ, or a prior setting is invalid.

    References
    ----------
    Gelman & Hill (2007), *Data Analysis Using Regression and Multilevel/Hierarchical
    Models*, Chapter 14; the chapter "Same pattern, other likelihoods".

    Examples
    --------
    >>> model = hierarchical_binomial([2, 8, 19], [4, 10, 25], dim="player")
    >>> sorted(model.named_vars)
    ['mu', 'p', 'tau', 'theta', 'theta_offset', 'y']
    """
    successes, trials = binomial.check_data(successes, trials, as_counts=_counts)
    labels = _group_labels(groups, successes.size, "group")
    population = NormalPopulation(mu_prior_mean, mu_prior_sd, tau_prior_sd)
    model, theta = _link_scale_model(
        labels, population, parameterization=parameterization, dim=dim, response="p"
    )
    with model:
        pm.Deterministic("p", pm.math.invlogit(theta), dims=dim)
        pm.Binomial("y", n=trials, logit_p=theta, observed=successes, dims=dim)
    return model


# --------------------------------------------------------------------------- beyond one intercept
# Builders of the chapter "Beyond one intercept": varying intercepts with a house- and a
# group-level predictor, correlated varying intercepts and slopes, crossed or nested
# variance components. Their priors are weakly informative and scaled to the data, as
# rstanarm's defaults are: coefficients Normal(0, 2.5 sd(y) / sd(x)), the intercept
# Normal(mean(y), 2.5 sd(y)), every sd HalfNormal(sd(y)) (Gabry & Goodrich 2020).


def _scale(values: np.ndarray, name: str) -> float:
    """The standard deviation of ``values``, refused when it is zero."""
    scale = float(np.std(values))
    if not scale > 0:
        raise ValueError(f"{name} is constant: its coefficient cannot be estimated")
    return scale


def _per_group(values: np.ndarray, codes: np.ndarray, n_groups: int, name: str) -> np.ndarray:
    """One value per group from a per-observation column that is constant within groups."""
    first = np.full(n_groups, np.nan)
    first[codes[::-1]] = values[::-1]
    if not np.allclose(first[codes], values):
        raise ValueError(f"{name} must take one value per group (it varies within a group)")
    return first


def varying_intercepts(
    y: ArrayLike,
    x: ArrayLike,
    groups: ArrayLike,
    *,
    group_predictor: ArrayLike | None = None,
    dim: str = "group",
) -> pm.Model:
    """Varying intercepts with an observation-level predictor (Gelman & Hill's radon model).

    y_i ~ Normal(alpha[j[i]] + beta x_i, sigma), alpha_j = mu + gamma u_j + tau z_j,
    z_j ~ Normal(0, 1) (non-centred); without ``group_predictor`` the gamma u_j term is
    absent. Priors as described at the top of this section.

    Parameters
    ----------
    y, x : array_like
        Response and observation-level predictor, one value per observation.
    groups : array_like
        Each observation's group label.
    group_predictor : array_like, optional
        A group-level predictor u, given per observation (constant within each group).
    dim : str
        Name of the group dimension (``"county"``).

    Returns
    -------
    pymc.Model
        Variables ``mu``, ``beta``, ``gamma`` (with ``group_predictor``), ``tau``,
        ``alpha_offset``, ``alpha`` (dim ``dim``), ``sigma`` and the observed ``y``
        (dim ``obs_id``).

    References
    ----------
    Gelman & Hill (2007), Sections 12.2-12.6; the chapter "Beyond one intercept".

    Examples
    --------
    >>> model = varying_intercepts([1.0, 2.0, 0.5, 3.0], [0, 1, 0, 1], ["a", "a", "b", "b"])
    >>> sorted(model.named_vars)
    ['alpha', 'alpha_offset', 'beta', 'mu', 'sigma', 'tau', 'y']
    """
    y = as_finite_array(y, "y", allow_bool=False)
    x = as_finite_array(x, "x")
    same_length([y, x], ["y", "x"])
    if x.size != y.size:
        raise ValueError(f"x must have one value per observation ({y.size}), got {x.size}")
    codes, labels = _observation_groups(groups, y.size)
    dim = _check_dim(dim, "dim", taken=("obs_id",))
    s_y, s_x = _scale(y, "y"), _scale(x, "x")
    if group_predictor is not None:
        u = as_finite_array(group_predictor, "group_predictor")
        if u.size != y.size:
            raise ValueError(
                f"group_predictor must have one value per observation ({y.size}), got {u.size}"
            )
        u = _per_group(u, codes, len(labels), "group_predictor")
        s_u = _scale(u, "group_predictor")
    coords = {dim: labels, "obs_id": np.arange(y.size)}
    with pm.Model(coords=coords) as model:
        mu = pm.Normal("mu", mu=y.mean(), sigma=2.5 * s_y)
        beta = pm.Normal("beta", mu=0.0, sigma=2.5 * s_y / s_x)
        centre = mu
        if group_predictor is not None:
            gamma = pm.Normal("gamma", mu=0.0, sigma=2.5 * s_y / s_u)
            centre = mu + gamma * u
        tau = pm.HalfNormal("tau", sigma=s_y)
        offset = pm.Normal("alpha_offset", 0.0, 1.0, dims=dim)
        alpha = pm.Deterministic("alpha", centre + tau * offset, dims=dim)
        sigma = pm.HalfNormal("sigma", sigma=s_y)
        mean = alpha[codes] + beta * x
        pm.Normal("y", mu=mean, sigma=sigma, observed=y, dims="obs_id")
    return model


def varying_slopes(
    y: ArrayLike,
    x: ArrayLike,
    groups: ArrayLike,
    *,
    dim: str = "group",
    eta: float = 2.0,
) -> pm.Model:
    """Correlated varying intercepts and slopes, non-centred through a Cholesky factor.

    y_i ~ Normal(beta_0 + b_0[j] + (beta_1 + b_1[j]) x_i, sigma), (b_0j, b_1j)' = L z_j with
    z_j ~ Normal(0, I) and L the Cholesky factor of the covariance of the group effects:
    its sds have HalfNormal(sd(y)) and HalfNormal(sd(y) / sd(x)) priors, its correlation
    matrix an LKJ(eta) prior (Lewandowski, Kurowicka & Joe 2009).

    Parameters
    ----------
    y, x : array_like
        Response and predictor, one value per observation.
    groups : array_like
        Each observation's group label.
    dim : str
        Name of the group dimension (``"subject"``).
    eta : float
        LKJ shape, > 0; 1 is uniform over correlations, larger values favour 0.

    Returns
    -------
    pymc.Model
        Variables ``beta`` (dim ``coef``: intercept, slope), ``chol`` (the factor in
        scaled units), ``sds`` (dim ``coef``) and ``correlation`` of the group effects,
        ``z`` (dims ``dim``, ``coef``), ``b`` (the group effects), ``sigma`` and the
        observed ``y`` (dim ``obs_id``).

    References
    ----------
    Gelman & Hill (2007), Section 13.1; Bates et al. (2015), *Journal of Statistical
    Software* 67(1), Section 1.1; the chapter "Beyond one intercept".

    Examples
    --------
    >>> model = varying_slopes(
    ...     [1.0, 2.0, 0.5, 3.0, 1.0, 1.5], [0, 1, 0, 1, 0, 1], list("aabbcc")
    ... )
    >>> model.named_vars_to_dims["b"]
    ('group', 'coef')
    """
    y = as_finite_array(y, "y", allow_bool=False)
    x = as_finite_array(x, "x")
    if x.size != y.size:
        raise ValueError(f"x must have one value per observation ({y.size}), got {x.size}")
    codes, labels = _observation_groups(groups, y.size)
    dim = _check_dim(dim, "dim", taken=("obs_id", "coef"))
    eta = positive_scalar(eta, "eta")
    s_y, s_x = _scale(y, "y"), _scale(x, "x")
    coords = {
        dim: labels, "coef": ["intercept", "slope"], "obs_id": np.arange(y.size)
    }  # fmt: skip
    with pm.Model(coords=coords) as model:
        beta = pm.Normal(
            "beta",
            mu=[y.mean(), 0.0],
            sigma=[2.5 * s_y, 2.5 * s_y / s_x],
            dims="coef",
        )
        # The factor in units of (sd(y), sd(y) / sd(x)): HalfNormal(1) sds
        # there are the HalfNormal priors above (nutpie cannot start from an
        # sd_dist with per-coefficient scales); scaling the rows of the
        # factor keeps the correlation matrix.
        chol, corr, stds = pm.LKJCholeskyCov(
            "chol", n=2, eta=eta, sd_dist=pm.HalfNormal.dist(1.0, shape=2)
        )
        scale = np.array([s_y, s_y / s_x])
        pm.Deterministic("sds", stds * scale, dims="coef")
        pm.Deterministic("correlation", corr[0, 1])
        z = pm.Normal("z", 0.0, 1.0, dims=(dim, "coef"))
        b = pm.Deterministic("b", (z @ chol.T) * scale, dims=(dim, "coef"))
        sigma = pm.HalfNormal("sigma", sigma=s_y)
        group_line = (beta + b)[codes]  # each observation's (intercept, slope)
        mean = group_line[:, 0] + group_line[:, 1] * x
        pm.Normal("y", mu=mean, sigma=sigma, observed=y, dims="obs_id")
    return model


def variance_components(
    y: ArrayLike, components: dict[str, ArrayLike], *, centered: str | None = None
) -> pm.Model:
    """An intercept plus one random intercept per grouping: crossed or nested groups.

    y_i ~ Normal(mu + sum_k b_k[j_k[i]], sigma), b_k = tau_k z_k, z_k ~ Normal(0, I). The
    structure lives in the labels: crossed groupings (plates and samples) are passed as
    they are; for a nested grouping pass labels that are unique across the outer groups
    (cask ``"a"`` of batch ``"A"`` as ``"A:a"``), so that equal inner labels in two outer
    groups are two groups. Priors as described at the top of this section.

    With ``centered="name"`` that component is written centred on mu instead,
    ``<name>_mean ~ Normal(mu, tau_name)`` per level: when its levels are well
    determined by the data (many observations each) this removes the ridge between mu
    and the effects along which a non-centred sampler mixes slowly.

    Parameters
    ----------
    y : array_like
        The observations.
    components : dict of str to array_like
        Component name (a Python identifier, used as its dimension) to each
        observation's label in it.
    centered : str, optional
        The name of one component to centre on mu (the others stay non-centred).

    Returns
    -------
    pymc.Model
        Variables ``mu``, ``sigma``, the observed ``y`` and, per component ``name``,
        ``tau_<name>``, ``<name>_offset`` and ``<name>_effect`` (dim ``name``).

    References
    ----------
    Bates (2010), *lme4: Mixed-effects modeling with R*, Chapter 2; Gelman & Hill (2007),
    Section 13.5; the chapter "Beyond one intercept".

    Examples
    --------
    >>> model = variance_components(
    ...     [1.0, 2.0, 0.5, 3.0], {"row": list("aabb"), "column": list("cdcd")}
    ... )
    >>> sorted(model.coords)
    ['column', 'obs_id', 'row']
    """
    y = as_finite_array(y, "y", allow_bool=False)
    if not isinstance(components, dict) or not components:
        raise TypeError(
            "components must be a non-empty dict of name -> labels, "
            f"got {type(components).__name__}"
        )
    indexed = {}
    for name, labels in components.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"components: names must be identifiers, got {name!r}")
        _check_dim(name, "components", taken=("obs_id", "mu", "sigma", "y"))
        codes, levels = _observation_groups(labels, y.size)
        if len(levels) < 2:
            raise ValueError(f"components[{name!r}] must have at least 2 levels")
        indexed[name] = (codes, levels)
    if centered is not None and centered not in indexed:
        raise ValueError(f"centered must name one of the components, got {centered!r}")
    s_y = _scale(y, "y")
    coords = {name: levels for name, (_, levels) in indexed.items()}
    coords["obs_id"] = np.arange(y.size)
    with pm.Model(coords=coords) as model:
        mu = pm.Normal("mu", mu=y.mean(), sigma=2.5 * s_y)
        mean = mu
        for name, (codes, _) in indexed.items():
            tau = pm.HalfNormal(f"tau_{name}", sigma=s_y)
            if name == centered:
                level_mean = pm.Normal(f"{name}_mean", mu, tau, dims=name)
                shift = level_mean - mu
                effect = pm.Deterministic(f"{name}_effect", shift, dims=name)
                mean = mean - mu + level_mean[codes]
                continue
            offset = pm.Normal(f"{name}_offset", 0.0, 1.0, dims=name)
            effect = pm.Deterministic(f"{name}_effect", tau * offset, dims=name)
            mean = mean + effect[codes]
        sigma = pm.HalfNormal("sigma", sigma=s_y)
        pm.Normal("y", mu=mean, sigma=sigma, observed=y, dims="obs_id")
    return model


__all__ += ["variance_components", "varying_intercepts", "varying_slopes"]
