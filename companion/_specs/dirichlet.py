"""The priors of the hierarchical Dirichlet-Multinomial family, in one place.

:func:`companion.models.dirichlet_multinomial` (PyMC) and
:func:`companion.exact.dirichlet_multinomial_hierarchy` (quadrature) both read them, so
the sampled model and the exact reference cannot disagree about a prior:

- the common pattern pi0 ~ Dirichlet(PI0_CONCENTRATION, ..., PI0_CONCENTRATION);
- the concentration alpha ~ ``alpha_prior``, a frozen ``scipy.stats`` law on
  (0, inf), Exponential(1) unless the caller gives another. :func:`alpha_prior` checks
  it and names its PyMC counterpart.

NumPy/SciPy only; package-internal.
"""

from typing import Any, NamedTuple

import numpy as np

from companion._checks import frozen_continuous

__all__ = ["PI0_CONCENTRATION", "AlphaPrior", "alpha_prior", "default_alpha_prior"]

PI0_CONCENTRATION = 1.0
"""pi0 ~ Dirichlet(1, ..., 1): uniform on the simplex."""

_SUPPORTED = (
    "scipy.stats expon(scale=s), lognorm(s, scale=m), gamma(a, scale=s), "
    "halfnorm(scale=s) or halfcauchy(scale=s), starting at 0"
)


class AlphaPrior(NamedTuple):
    """A checked prior of the concentration alpha.

    ``law`` is the frozen ``scipy.stats`` distribution (its ``logpdf`` is what the exact
    posterior integrates); ``pymc`` names the same distribution in PyMC and
    ``parameters`` holds its arguments, e.g. ``("LogNormal", {"mu": 3.0, "sigma": 1.5})``.
    """

    law: Any
    pymc: str
    parameters: dict[str, float]

    def logpdf(self, alpha: np.ndarray) -> np.ndarray:
        """Log density of the prior at ``alpha`` > 0, written out in NumPy for speed (the
        exact posterior calls it hundreds of times while it looks for the mode);
        ``law.logpdf`` gives the same values, more slowly."""
        from scipy import special

        alpha = np.asarray(alpha, dtype=float)
        p = self.parameters
        if self.pymc == "Exponential":
            return np.log(p["lam"]) - p["lam"] * alpha
        if self.pymc == "LogNormal":
            z = (np.log(alpha) - p["mu"]) / p["sigma"]
            return -np.log(alpha * p["sigma"]) - 0.5 * np.log(2 * np.pi) - 0.5 * z**2
        if self.pymc == "Gamma":
            a, b = p["alpha"], p["beta"]
            return a * np.log(b) - special.gammaln(a) + (a - 1) * np.log(alpha) - b * alpha
        if self.pymc == "HalfNormal":
            z = alpha / p["sigma"]
            return 0.5 * np.log(2 / np.pi) - np.log(p["sigma"]) - 0.5 * z**2
        z = alpha / p["beta"]  # HalfCauchy
        return np.log(2 / (np.pi * p["beta"])) - np.log1p(z**2)

    def dlogpdf(self, alpha: np.ndarray) -> np.ndarray:
        """Derivative of :meth:`logpdf` with respect to ``alpha``, for the mode search."""
        alpha = np.asarray(alpha, dtype=float)
        p = self.parameters
        if self.pymc == "Exponential":
            return np.full_like(alpha, -p["lam"])
        if self.pymc == "LogNormal":
            return -(1 + (np.log(alpha) - p["mu"]) / p["sigma"] ** 2) / alpha
        if self.pymc == "Gamma":
            return (p["alpha"] - 1) / alpha - p["beta"]
        if self.pymc == "HalfNormal":
            return -alpha / p["sigma"] ** 2
        return -2 * alpha / (p["beta"] ** 2 + alpha**2)  # HalfCauchy


def default_alpha_prior() -> Any:
    """alpha ~ Exponential(1), the default of the family's builders (a new frozen law)."""
    from scipy import stats  # here, so that importing this module stays light

    return stats.expon(scale=1.0)


def alpha_prior(value: Any = None) -> AlphaPrior:
    """Check a prior of the concentration alpha and translate it for PyMC.

    Parameters
    ----------
    value : frozen scipy.stats continuous distribution or None
        None (Exponential(1)), or one of ``expon(scale=s)``, ``lognorm(s, scale=m)``
        (log alpha ~ Normal(log m, s)), ``gamma(a, scale=s)``, ``halfnorm(scale=s)`` or
        ``halfcauchy(scale=s)``, with ``loc`` 0 and finite positive parameters.

    Returns
    -------
    AlphaPrior
        The law and its PyMC name and parameters.

    Raises
    ------
    TypeError
        If ``value`` is not a frozen scipy.stats continuous distribution.
    ValueError
        If it is another family, or does not live on (0, inf).

    Examples
    --------
    >>> from scipy import stats
    >>> prior = alpha_prior(stats.lognorm(1.5, scale=20.0))
    >>> prior.pymc, round(prior.parameters["sigma"], 6)
    ('LogNormal', 1.5)
    >>> alpha_prior().pymc, alpha_prior().parameters
    ('Exponential', {'lam': 1.0})
    """
    from scipy import stats

    law = default_alpha_prior() if value is None else value
    frozen_continuous(law, "alpha_prior")
    name = law.dist.name
    try:
        with np.errstate(all="ignore"):  # NaN or infinite parameters are reported below
            lower, upper = (float(bound) for bound in law.support())
            median = float(law.median())
            if name == "expon":
                parameters = {"lam": 1.0 / float(law.mean())}
                pymc = "Exponential"
            elif name == "lognorm":
                mu = float(np.log(median))
                sigma = float(np.log(law.ppf(stats.norm.cdf(1.0)))) - mu
                parameters, pymc = {"mu": mu, "sigma": sigma}, "LogNormal"
            elif name == "gamma":
                mean, var = float(law.mean()), float(law.var())
                parameters = {"alpha": mean**2 / var, "beta": mean / var}
                pymc = "Gamma"
            elif name in ("halfnorm", "halfcauchy"):
                scale = median / float(law.dist.median())
                key = "sigma" if name == "halfnorm" else "beta"
                parameters = {key: scale}
                pymc = "HalfNormal" if name == "halfnorm" else "HalfCauchy"
            else:
                raise ValueError(f"alpha_prior must be {_SUPPORTED}; got {name}")
    except (TypeError, ValueError) as error:  # parameters that are strings or arrays
        if isinstance(error, ValueError) and str(error).startswith("alpha_prior"):
            raise
        raise TypeError(
            f"alpha_prior must have one real number per parameter, got {law!r}"
        ) from error
    values = np.array(list(parameters.values()))
    if lower != 0 or upper != np.inf or not np.all(np.isfinite(values) & (values > 0)):
        raise ValueError(
            f"alpha_prior must be {_SUPPORTED}, with finite positive parameters; got "
            f"{name} on ({lower:g}, {upper:g}) with {parameters}"
        )
    return AlphaPrior(law, pymc, parameters)
