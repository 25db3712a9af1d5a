"""Exact posteriors, by quadrature or conjugacy (the module moved to companion/exact/normal.py,
and is split into one module per family in the next commit)."""

from companion.exact.normal import *  # noqa: F403
from companion.exact.normal import __all__  # noqa: F401
