"""Companion library for the course *Bayesian hierarchical models and partial pooling*.

The modules form layers; lower layers never import upper ones, and ``import companion``
stays light (no PyMC, no ArviZ) because submodules are loaded on first use:

1. NumPy/SciPy core: :mod:`companion.data`, :mod:`companion.shrinkage`, :mod:`companion.exact`;
   sympy: :mod:`companion.symbolic`.
2. PyMC: :mod:`companion.models`, :mod:`companion.sampling`.
3. ArviZ / matplotlib / statsmodels: :mod:`companion.diagnostics`, :mod:`companion.loo`,
   :mod:`companion.plots`, :mod:`companion.mixed`.

>>> from companion import data, shrinkage
>>> schools = data.load_eight_schools()
>>> round(shrinkage.pooled_mean(schools["y"], schools["sigma"])[0], 2)
7.69
"""

import importlib

__version__ = "0.1.0"
__all__ = [
    "data",
    "diagnostics",
    "exact",
    "loo",
    "mixed",
    "models",
    "plots",
    "sampling",
    "shrinkage",
    "symbolic",
]


def __getattr__(name: str):
    if name in __all__:
        return importlib.import_module(f"companion.{name}")
    raise AttributeError(f"module 'companion' has no attribute {name!r}")
