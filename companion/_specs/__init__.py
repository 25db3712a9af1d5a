"""One spec per model family: its priors, their defaults and its data checks.

The PyMC builder (:mod:`companion.models`) and the exact posterior
(:mod:`companion.exact`) of a family both read its module here, so the sampled model and
its exact reference cannot disagree about a default or a check:

- :mod:`companion._specs.normal`: the Normal hierarchy with known standard errors, and
  the Normal population with a HalfNormal tau shared by the link-scale families;
- :mod:`companion._specs.poisson`: the hierarchical Poisson model;
- :mod:`companion._specs.binomial`: the hierarchical Binomial model;
- :mod:`companion._specs.dirichlet`: the hierarchical Dirichlet-Multinomial model.

NumPy/SciPy only (SciPy loaded on first use); package-internal.
"""
