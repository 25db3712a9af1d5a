"""The Normal hierarchy with known standard errors, in one place.

mu ~ Normal(mu_prior_mean, mu_prior_sd), tau ~ ``tau_prior`` (HalfNormal(10) unless the
caller gives another), theta_j ~ Normal(mu, tau), y_j ~ Normal(theta_j, sigma_j). Read by
the PyMC builders :func:`companion.models.group_summaries`,
:func:`~companion.models.eight_schools`, :func:`~companion.models.hierarchical_with_covariate`
and :func:`~companion.models.grouped_observations` (which translate the checked
``tau_prior`` for PyMC) and by :func:`companion.exact.normal_hierarchy` (which integrates
over it). :class:`NormalPopulation` also holds the hyperprior defaults of the link-scale
families (:mod:`companion._specs.poisson`, :mod:`companion._specs.binomial`).

NumPy/SciPy only; package-internal.
"""

from typing import Any, NamedTuple

import numpy as np

from companion._checks import frozen_continuous, normal_hyperpriors

__all__ = ["NORMAL", "NormalPopulation", "TauPrior", "halfnormal_prior", "describe", "tau_prior"]


class NormalPopulation(NamedTuple):
    """Settings of mu ~ Normal(mu_prior_mean, mu_prior_sd) and tau ~ HalfNormal(tau_prior_sd)."""

    mu_prior_mean: float
    mu_prior_sd: float
    tau_prior_sd: float

    def checked(self) -> "NormalPopulation":
        """The same settings, checked: a finite mean and two finite sds > 0, each error
        naming its argument (:func:`companion._checks.normal_hyperpriors`)."""
        return NormalPopulation(*normal_hyperpriors(*self))


NORMAL = NormalPopulation(mu_prior_mean=0.0, mu_prior_sd=20.0, tau_prior_sd=10.0)
"""The defaults of the family: mu ~ Normal(0, 20) and tau ~ HalfNormal(10)."""


class TauPrior(NamedTuple):
    """A checked prior of tau: the frozen law and the ends of its support."""

    law: Any
    lower: float
    upper: float


def halfnormal_prior(scale: float = NORMAL.tau_prior_sd) -> Any:
    """tau ~ HalfNormal(``scale``) as a new frozen scipy.stats law; by default the family's
    HalfNormal(10), what ``tau_prior=None`` means."""
    from scipy import stats  # here, so that importing this module stays light

    return stats.halfnorm(scale=scale)


def tau_prior(value: Any = None) -> TauPrior:
    """Check a prior of tau: any frozen scipy.stats continuous law on [0, inf).

    Parameters
    ----------
    value : frozen scipy.stats continuous distribution or None
        None is :func:`halfnormal_prior`, HalfNormal(10). The builders of :mod:`companion.models`
        accept only the laws they can translate for PyMC, on top of this check.

    Returns
    -------
    TauPrior
        The law and the ends of its support.

    Raises
    ------
    TypeError
        If ``value`` is not a frozen scipy.stats continuous distribution, or a parameter
        is not one real number.
    ValueError
        If its parameters are invalid (no support) or its support reaches below 0.

    Examples
    --------
    >>> from scipy import stats
    >>> tau_prior(stats.uniform(0, 100))[1:]
    (0.0, 100.0)
    >>> describe(tau_prior().law)
    'halfnorm(scale=10.0)'
    """
    law = halfnormal_prior() if value is None else frozen_continuous(value, "tau_prior")
    try:
        with np.errstate(all="ignore"):  # NaN or infinite parameters are reported below
            lower, upper = (float(bound) for bound in law.support())
    except (TypeError, ValueError) as error:  # parameters that are strings or arrays
        raise TypeError(
            f"tau_prior must have one real number per parameter, got {describe(law)}"
        ) from error
    if np.isnan(lower) or np.isnan(upper) or not lower < upper:
        raise ValueError(f"tau_prior has invalid parameters: its support is ({lower}, {upper})")
    if lower < 0:
        raise ValueError(
            f"tau_prior must have support in [0, inf) since tau is a standard deviation; "
            f"{describe(law)} has support ({lower:g}, {upper:g})"
        )
    return TauPrior(law, lower, upper)


def describe(distribution: Any) -> str:
    """A frozen scipy.stats law as it was written, e.g. ``halfnorm(scale=10)``."""
    arguments = [repr(a) for a in distribution.args]
    arguments += [f"{k}={v!r}" for k, v in distribution.kwds.items()]
    return f"{distribution.dist.name}({', '.join(arguments)})"
