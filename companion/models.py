"""PyMC model builders: complete, no and partial pooling, returned unsampled.

Every builder returns a :class:`pymc.Model` with named ``coords``/``dims``; sample it
with :func:`companion.sampling.sample`. Variable names are shared by all builders:
``mu`` (population mean), ``tau`` (population sd), ``theta`` (group means, dim
``group`` unless renamed), ``theta_offset`` (non-centred standardised group effects),
``sigma`` (residual sd, individual data only) and the observed ``y``.
The chapter "The pooling problem" introduces them.
"""

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
import pymc as pm
from numpy.typing import ArrayLike

from companion._checks import as_finite_array, as_positive_array, positive_scalar, same_length

__all__ = ["Parameterization", "Pooling", "group_summaries", "grouped_observations"]

Pooling = Literal["complete", "none", "partial"]
Parameterization = Literal["centered", "non_centered"]


def _check_choice(value: str, name: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")


def _group_means(
    *,
    pooling: Pooling,
    parameterization: Parameterization,
    dim: str,
    mu_prior_mean: float,
    mu_prior_sd: float,
    tau_prior_sd: float,
):
    """Add the group means ``theta`` (and their hyperparameters) to the model in context."""
    if pooling == "none":
        return pm.Normal("theta", mu=mu_prior_mean, sigma=mu_prior_sd, dims=dim)
    mu = pm.Normal("mu", mu=mu_prior_mean, sigma=mu_prior_sd)
    if pooling == "complete":
        n_groups = len(pm.modelcontext(None).coords[dim])
        return pm.Deterministic("theta", mu * np.ones(n_groups), dims=dim)
    tau = pm.HalfNormal("tau", sigma=tau_prior_sd)
    if parameterization == "centered":
        return pm.Normal("theta", mu=mu, sigma=tau, dims=dim)
    theta_offset = pm.Normal("theta_offset", mu=0.0, sigma=1.0, dims=dim)
    return pm.Deterministic("theta", mu + tau * theta_offset, dims=dim)


def group_summaries(
    y: ArrayLike,
    sigma: ArrayLike,
    *,
    pooling: Pooling = "partial",
    parameterization: Parameterization = "non_centered",
    groups: Sequence[str] | None = None,
    dim: str = "group",
    mu_prior_mean: float = 0.0,
    mu_prior_sd: float = 20.0,
    tau_prior_sd: float = 10.0,
) -> pm.Model:
    """Model group estimates ``y`` with known standard errors ``sigma`` (Eight Schools).

    - ``"complete"``: y_j ~ Normal(mu, sigma_j), one mean for all groups.
    - ``"none"``: y_j ~ Normal(theta_j, sigma_j), theta_j ~ Normal(mu_prior_mean, mu_prior_sd)
      independently.
    - ``"partial"``: theta_j ~ Normal(mu, tau), tau ~ HalfNormal(tau_prior_sd); written
      either directly (``"centered"``) or as theta_j = mu + tau * theta_offset_j with
      theta_offset_j ~ Normal(0, 1) (``"non_centered"``).

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
        Name of the group dimension (e.g. ``"school"``).
    mu_prior_mean, mu_prior_sd, tau_prior_sd : float
        Hyperprior settings.

    Returns
    -------
    pymc.Model
        The unsampled model.

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
    y = as_finite_array(y, "y")
    sigma = as_positive_array(sigma, "sigma")
    same_length([y, sigma], ["y", "sigma"])
    _check_choice(pooling, "pooling", ["complete", "none", "partial"])
    _check_choice(parameterization, "parameterization", ["centered", "non_centered"])
    labels = [str(i) for i in range(len(y))] if groups is None else [str(g) for g in groups]
    if len(labels) != len(y):
        raise ValueError(f"groups must have one label per entry of y ({len(y)}), got {len(labels)}")
    with pm.Model(coords={dim: labels}) as model:
        theta = _group_means(
            pooling=pooling,
            parameterization=parameterization,
            dim=dim,
            mu_prior_mean=mu_prior_mean,
            mu_prior_sd=positive_scalar(mu_prior_sd, "mu_prior_sd"),
            tau_prior_sd=positive_scalar(tau_prior_sd, "tau_prior_sd"),
        )
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
    tau_prior_sd: float = 10.0,
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
        As in :func:`group_summaries`.
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
    values = as_finite_array(values, "values")
    labels = np.asarray(groups)
    if labels.ndim != 1 or len(labels) != len(values):
        raise ValueError(
            f"groups must give one label per value ({len(values)}), got shape {labels.shape}"
        )
    _check_choice(pooling, "pooling", ["complete", "none", "partial"])
    _check_choice(parameterization, "parameterization", ["centered", "non_centered"])
    codes, uniques = pd.factorize(labels, sort=True)
    coords = {dim: [str(u) for u in uniques], "obs_id": np.arange(len(values))}
    with pm.Model(coords=coords) as model:
        theta = _group_means(
            pooling=pooling,
            parameterization=parameterization,
            dim=dim,
            mu_prior_mean=mu_prior_mean,
            mu_prior_sd=positive_scalar(mu_prior_sd, "mu_prior_sd"),
            tau_prior_sd=positive_scalar(tau_prior_sd, "tau_prior_sd"),
        )
        sigma = pm.HalfNormal("sigma", sigma=positive_scalar(sigma_prior_sd, "sigma_prior_sd"))
        pm.Normal("y", mu=theta[codes], sigma=sigma, observed=values, dims="obs_id")
    return model
