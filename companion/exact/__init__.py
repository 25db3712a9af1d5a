"""Exact posteriors, by quadrature or conjugacy, against which MCMC output is checked.

One module per model family; this package re-exports their public names, so
``from companion import exact`` and ``from companion.exact import normal_hierarchy`` work
as they always have.

- :mod:`companion.exact.normal`: the Normal-Normal hierarchical model with known
  standard errors (:func:`normal_hierarchy`): given tau everything is conjugate (BDA3
  Section 5.4, eqs 5.17-5.21), so only the one-dimensional posterior of tau needs
  quadrature, and reference means, quantiles and iid draws take milliseconds.
- :mod:`companion.exact.funnel`: iid draws from Neal's funnel (:func:`funnel_draws`).
- :mod:`companion.exact.conjugate`: the conjugate count models, each group's proportions
  analysed alone, Dirichlet(prior + counts) (:func:`dirichlet_no_pooling`), and each
  group's Poisson rate, Gamma(alpha + counts, beta + exposure)
  (:func:`gamma_poisson_no_pooling`).
- :mod:`companion.exact.pooling`: exact leave-one-out predictive densities and iid draws
  of complete, no and partial pooling (:func:`loo_log_predictive`, :func:`pooling_draws`).
- :mod:`companion.exact.glm`: the hierarchical Poisson and Binomial models with a Normal
  population on the log or logit scale (:func:`hierarchical_poisson`,
  :func:`hierarchical_binomial`): each group effect by adaptive Gauss-Hermite quadrature
  given the hyperparameters, and the hyperparameters on a grid.
- :mod:`companion.exact.dirichlet_hierarchy`: the hierarchical Dirichlet-Multinomial
  model, whose hyperparameters are integrated by a Gauss-Hermite rule around the posterior
  mode once the group proportions are integrated out
  (:func:`dirichlet_multinomial_hierarchy`).

Every result shares one interface, :class:`ExactPosterior`: read-only ``mean`` and ``sd``
mappings (a float per scalar parameter, a read-only array per array parameter), and,
where the family computes them exactly, ``quantile(q)`` (:class:`HasQuantiles`),
``sample(n, rng=...)`` (:class:`HasDraws`) and ``expect(function)``
(:class:`HasExpectations`), with the same signatures and return shapes everywhere. These
protocols are importable from here for type hints and ``isinstance`` checks.
"""

from companion.exact._common import ExactPosterior as ExactPosterior
from companion.exact._common import HasDraws as HasDraws
from companion.exact._common import HasExpectations as HasExpectations
from companion.exact._common import HasQuantiles as HasQuantiles
from companion.exact.conjugate import (
    ConjugatePosterior,
    DirichletPosterior,
    GammaPosterior,
    dirichlet_no_pooling,
    gamma_poisson_no_pooling,
)
from companion.exact.dirichlet_hierarchy import (
    DirichletHierarchyPosterior,
    dirichlet_multinomial_hierarchy,
)
from companion.exact.funnel import funnel_draws
from companion.exact.glm import (
    LinkNormalHierarchyPosterior,
    hierarchical_binomial,
    hierarchical_poisson,
)
from companion.exact.normal import NormalHierarchyPosterior, normal_hierarchy
from companion.exact.pooling import loo_log_predictive, pooling_draws

__all__ = [
    "ConjugatePosterior",
    "DirichletHierarchyPosterior",
    "DirichletPosterior",
    "GammaPosterior",
    "LinkNormalHierarchyPosterior",
    "NormalHierarchyPosterior",
    "dirichlet_multinomial_hierarchy",
    "dirichlet_no_pooling",
    "funnel_draws",
    "gamma_poisson_no_pooling",
    "hierarchical_binomial",
    "hierarchical_poisson",
    "loo_log_predictive",
    "normal_hierarchy",
    "pooling_draws",
]
