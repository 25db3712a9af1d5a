"""Conjugate count models, exact in closed form.

Each group's proportions analysed alone, Dirichlet(prior + counts)
(:func:`dirichlet_no_pooling`), and each group's Poisson rate, Gamma(alpha + counts,
beta + exposure) (:func:`gamma_poisson_no_pooling`).
"""

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from companion._checks import (
    as_count_array,
    as_positive_array,
    as_real_array,
    positive_integer,
    positive_scalar,
    probabilities,
    random_generator,
    same_length,
)
from companion.exact._common import (
    read_only,
)

__all__ = [
    "ConjugatePosterior",
    "DirichletPosterior",
    "GammaPosterior",
    "dirichlet_no_pooling",
    "gamma_poisson_no_pooling",
]


class ConjugatePosterior:
    """Independent closed-form posteriors of the entries of one array-valued parameter.

    The common base of :class:`DirichletPosterior` and :class:`GammaPosterior`. It
    satisfies :class:`companion.exact.ExactPosterior` as every exact posterior does:
    ``mean`` and ``sd`` are mappings keyed by the parameter's name, ``quantile(q)`` gives
    marginal quantiles (:class:`~companion.exact.HasQuantiles`) and ``sample(n, rng=...)``
    iid draws from the joint posterior (:class:`~companion.exact.HasDraws`); it has no
    hyperparameters, hence no ``expect``.

    Parameters
    ----------
    parameter : str
        The parameter's name, the key of every mapping returned (``"pi"``, ``"rate"``).
    marginal : frozen scipy.stats distribution
        The marginal posterior of every entry, with array-valued parameters.

    Attributes
    ----------
    parameter : str
    mean, sd : Mapping
        ``{parameter: array}``: marginal posterior means and standard deviations.
    """

    def __init__(self, parameter: str, marginal: Any) -> None:
        self.parameter = parameter
        self._marginal = marginal
        self.mean: Mapping[str, np.ndarray] = MappingProxyType(
            {parameter: read_only(marginal.mean())}
        )
        self.sd: Mapping[str, np.ndarray] = MappingProxyType({parameter: read_only(marginal.std())})

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the parameter (one entry per group, or groups x categories)."""
        return self.mean[self.parameter].shape

    def quantile(self, q: float | ArrayLike) -> Mapping[str, np.ndarray]:
        """Marginal posterior quantiles of every entry.

        Parameters
        ----------
        q : float or array_like
            Probabilities in [0, 1].

        Returns
        -------
        Mapping
            ``{parameter: array}`` of shape :attr:`shape` for scalar ``q``, else
            ``(len(q), *shape)``.
        """
        scalar = np.ndim(q) == 0
        q = probabilities(q, "q")
        values = self._marginal.ppf(q.reshape((-1,) + (1,) * len(self.shape)))
        return MappingProxyType({self.parameter: values[0] if scalar else values})

    def sample(self, n: int, *, rng: np.random.Generator | int) -> dict[str, np.ndarray]:
        """Independent exact draws from the joint posterior.

        Parameters
        ----------
        n : int
            Number of draws (>= 1).
        rng : numpy.random.Generator or int
            Random number generator, or a seed for :func:`numpy.random.default_rng`.

        Returns
        -------
        dict
            ``{parameter: array of shape (n, *shape)}``.
        """
        return {self.parameter: self._draw(positive_integer(n, "n"), random_generator(rng, "rng"))}

    def _draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError


class DirichletPosterior(ConjugatePosterior):
    """Independent Dirichlet posteriors of the category proportions of several groups.

    Usually created by :func:`dirichlet_no_pooling`. Group r's proportions pi_r follow
    Dirichlet(``concentration[r]``); each proportion pi_rk alone follows
    Beta(a_rk, a_r0 - a_rk) with a_r0 the row total, which gives the quantiles.

    Parameters
    ----------
    concentration : array_like
        Posterior concentrations, shape (groups, categories), every entry > 0.

    Attributes
    ----------
    concentration : numpy.ndarray
        The posterior concentrations.
    mean, sd : Mapping
        ``{"pi": array (groups, categories)}``.
    """

    def __init__(self, concentration: ArrayLike) -> None:
        concentration = as_real_array(concentration, "concentration")
        if concentration.ndim != 2 or concentration.shape[1] < 2:
            raise ValueError(
                "concentration must have shape (groups, categories) with two or more "
                f"categories, got shape {concentration.shape}"
            )
        if not np.all(concentration > 0):
            raise ValueError("concentration must be strictly positive")
        self.concentration = read_only(concentration)
        total = concentration.sum(axis=1, keepdims=True)
        super().__init__("pi", stats.beta(concentration, total - concentration))

    def _draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return np.stack([rng.dirichlet(row, size=n) for row in self.concentration], axis=1)

    def __repr__(self) -> str:
        groups, categories = self.concentration.shape
        return f"DirichletPosterior(groups={groups}, categories={categories})"


class GammaPosterior(ConjugatePosterior):
    """Independent Gamma posteriors of the Poisson rates of several groups.

    Usually created by :func:`gamma_poisson_no_pooling`. Group j's rate follows
    Gamma(``alpha[j]``, ``beta[j]``) with shape alpha and rate beta (mean alpha / beta).

    Parameters
    ----------
    alpha, beta : array_like
        Posterior shapes and rates (> 0), one per group.

    Attributes
    ----------
    alpha, beta : numpy.ndarray
        The posterior parameters.
    mean, sd : Mapping
        ``{"rate": array (groups,)}``.
    """

    def __init__(self, alpha: ArrayLike, beta: ArrayLike) -> None:
        alpha = as_positive_array(alpha, "alpha", allow_bool=False)
        beta = as_positive_array(beta, "beta", allow_bool=False)
        same_length([alpha, beta], ["alpha", "beta"])
        alpha, beta = np.broadcast_arrays(alpha, beta)
        self.alpha = read_only(alpha.copy())
        self.beta = read_only(beta.copy())
        super().__init__("rate", stats.gamma(self.alpha, scale=1.0 / self.beta))

    def _draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.gamma(self.alpha, 1.0 / self.beta, size=(n, self.alpha.size))

    def __repr__(self) -> str:
        return f"GammaPosterior(groups={self.alpha.size})"


def dirichlet_no_pooling(
    counts: ArrayLike, *, prior: float | ArrayLike = 1.0
) -> DirichletPosterior:
    """Posterior of each group's category proportions analysed alone (no pooling).

    With counts y_r ~ Multinomial(n_r, pi_r) and the prior pi_r ~ Dirichlet(a), the
    posterior is pi_r | y_r ~ Dirichlet(a + y_r), independently for every group: the
    Dirichlet is conjugate to the Multinomial. Each pi_rk alone is
    Beta(a_k + y_rk, sum(a) + n_r - a_k - y_rk), with mean (a_k + y_rk) / (sum(a) + n_r).
    With two categories this is the Beta-Binomial model.

    Parameters
    ----------
    counts : array_like
        Counts of shape (groups, categories): whole numbers >= 0 (a DataFrame is fine).
    prior : float or array_like, default 1.0
        The prior concentration a: a number (the same for every category; 1 is the
        uniform distribution on the simplex), one per category, or one per group and
        category. Every entry > 0.

    Returns
    -------
    DirichletPosterior
        ``.mean["pi"]`` and ``.sd["pi"]`` of shape (groups, categories),
        ``.quantile(q)["pi"]`` (marginal Beta quantiles), ``.sample(n, rng=...)["pi"]`` of
        shape (n, groups, categories) and the posterior ``.concentration``.

    Raises
    ------
    ValueError
        If ``counts`` is not two-dimensional, has fewer than two categories, or holds
        negative, fractional, NaN or infinite entries; or ``prior`` is not positive or
        does not broadcast to the shape of ``counts``.
    TypeError
        If ``counts`` does not hold numbers.

    References
    ----------
    Gelman et al. (2013), *Bayesian Data Analysis*, 3rd ed., Section 3.4 (the multinomial
    model); the chapter "Dirichlet-Multinomial".

    Examples
    --------
    >>> posterior = dirichlet_no_pooling([[3, 1, 0], [10, 20, 30]])
    >>> posterior.mean["pi"].round(3).tolist()
    [[0.571, 0.286, 0.143], [0.175, 0.333, 0.492]]
    >>> posterior.quantile([0.05, 0.95])["pi"].shape
    (2, 2, 3)
    >>> posterior.sample(1000, rng=1)["pi"].shape
    (1000, 2, 3)
    """
    counts = as_count_array(counts, "counts", ndim=2)
    if counts.shape[1] < 2:
        raise ValueError(f"counts must have two or more categories (columns), got {counts.shape}")
    prior_array = as_real_array(prior, "prior")
    if not np.all(prior_array > 0):
        raise ValueError(f"prior must be finite and strictly positive, got {prior!r}")
    try:
        prior_array = np.broadcast_to(prior_array, counts.shape)
    except ValueError as error:
        raise ValueError(
            f"prior must be a number, one per category or one per group and category "
            f"(counts has shape {counts.shape}), got shape {prior_array.shape}"
        ) from error
    return DirichletPosterior(prior_array + counts)


def gamma_poisson_no_pooling(
    counts: ArrayLike, exposure: ArrayLike, *, alpha: float, beta: float
) -> GammaPosterior:
    """Posterior of each group's Poisson rate analysed alone (no pooling).

    With counts y_j ~ Poisson(lambda_j e_j) for exposures e_j and the prior
    lambda_j ~ Gamma(alpha, beta) (shape alpha, rate beta), the posterior is
    lambda_j | y_j ~ Gamma(alpha + y_j, beta + e_j), independently for every group: the
    Gamma is conjugate to the Poisson. Its mean (alpha + y_j) / (beta + e_j) tends to the
    raw rate y_j / e_j as the exposure grows.

    Parameters
    ----------
    counts : array_like
        Event counts y_j, whole numbers >= 0, one per group.
    exposure : array_like
        Exposures e_j > 0 (same length as ``counts``, or a single value for all).
    alpha, beta : float
        Shape and rate (> 0) of the Gamma prior on every rate.

    Returns
    -------
    GammaPosterior
        ``.mean["rate"]``, ``.sd["rate"]``, ``.quantile(q)["rate"]``,
        ``.sample(n, rng=...)["rate"]`` and the posterior parameters ``.alpha``, ``.beta``.

    Raises
    ------
    ValueError
        If ``counts`` is not one-dimensional or holds negative, fractional, NaN or
        infinite entries, an exposure is not positive, the lengths differ, or
        ``alpha`` or ``beta`` is not positive.
    TypeError
        If an argument does not hold numbers.

    References
    ----------
    Gelman et al. (2013), *Bayesian Data Analysis*, 3rd ed., Section 2.6 (Poisson model
    with exposure); the chapter "Same pattern, other likelihoods".

    Examples
    --------
    >>> posterior = gamma_poisson_no_pooling([3, 10], [2.0, 5.0], alpha=1.0, beta=0.5)
    >>> posterior.mean["rate"].round(3).tolist()
    [1.6, 2.0]
    >>> posterior.alpha.tolist(), posterior.beta.tolist()
    ([4.0, 11.0], [2.5, 5.5])
    """
    counts = as_count_array(counts, "counts", ndim=1)
    exposure = as_positive_array(exposure, "exposure", allow_bool=False)
    same_length([counts, exposure], ["counts", "exposure"])
    alpha = positive_scalar(alpha, "alpha")
    beta = positive_scalar(beta, "beta")
    return GammaPosterior(alpha + counts, beta + exposure)
