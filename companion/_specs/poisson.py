"""The hierarchical Poisson family, in one place.

theta_j = log(rate_j) ~ Normal(mu, tau), mu ~ Normal(0, 1), tau ~ HalfNormal(1) by
default, and y_j ~ Poisson(rate_j e_j). Read by :func:`companion.models.hierarchical_poisson`
(PyMC) and :func:`companion.exact.hierarchical_poisson` (quadrature): the defaults
:data:`POISSON` and the data check :func:`check_data`.

NumPy only; package-internal.
"""

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from companion._checks import as_count_array, exposure_per_count
from companion._specs.normal import NormalPopulation

__all__ = ["POISSON", "check_data"]

POISSON = NormalPopulation(mu_prior_mean=0.0, mu_prior_sd=1.0, tau_prior_sd=1.0)
"""Default hyperpriors, on the log scale: mu ~ Normal(0, 1), tau ~ HalfNormal(1)."""


def check_data(
    counts: ArrayLike,
    exposure: ArrayLike,
    *,
    as_counts: Callable[..., np.ndarray] = as_count_array,
) -> tuple[np.ndarray, np.ndarray]:
    """Checked counts y_j (whole numbers >= 0, one-dimensional; as floats) and exposures
    e_j > 0, exactly one per count.

    ``as_counts(value, name, ndim=1)`` checks the counts: by default
    :func:`companion._checks.as_count_array`; the PyMC builder passes one that also
    refuses counts PyMC cannot store exactly.

    >>> check_data([2, 0, 3], [1.0, 2.0, 0.5])[0]
    array([2., 0., 3.])
    """
    counts = as_counts(counts, "counts", ndim=1).astype(float)
    return counts, exposure_per_count(exposure, counts.size)
