"""The hierarchical Binomial family, in one place.

theta_j = logit(p_j) ~ Normal(mu, tau), mu ~ Normal(0, 1.5), tau ~ HalfNormal(1) by
default, and y_j ~ Binomial(n_j, p_j). Read by
:func:`companion.models.hierarchical_binomial` (PyMC) and
:func:`companion.exact.hierarchical_binomial` (quadrature): the defaults :data:`BINOMIAL`
and the data check :func:`check_data`.

NumPy only; package-internal.
"""

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from companion._checks import as_count_array, trials_for
from companion._specs.normal import NormalPopulation

__all__ = ["BINOMIAL", "check_data"]

BINOMIAL = NormalPopulation(mu_prior_mean=0.0, mu_prior_sd=1.5, tau_prior_sd=1.0)
"""Default hyperpriors, on the logit scale: mu ~ Normal(0, 1.5), nearly flat on the
probability scale, and tau ~ HalfNormal(1)."""


def check_data(
    successes: ArrayLike,
    trials: ArrayLike,
    *,
    as_counts: Callable[..., np.ndarray] = as_count_array,
) -> tuple[np.ndarray, np.ndarray]:
    """Checked successes y_j (whole numbers >= 0, one-dimensional) and trials n_j (whole
    numbers >= max(1, y_j), one per group), both as floats.

    ``as_counts(value, name, ndim=1)`` checks each array of counts: by default
    :func:`companion._checks.as_count_array`; the PyMC builder passes one that also
    refuses counts PyMC cannot store exactly.

    >>> check_data([2, 8], [4, 10])[1]
    array([ 4., 10.])
    """
    successes = as_counts(successes, "successes", ndim=1).astype(float)
    trials = as_counts(trials, "trials", ndim=1).astype(float)
    trials_for(successes, trials)
    return successes, trials
