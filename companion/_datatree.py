"""Checks of ArviZ DataTree input shared by :mod:`companion.diagnostics` and
:mod:`companion.loo`: every error names the argument."""

import numpy as np
import xarray as xr

SAMPLE_DIMS = ("chain", "draw")
"""The dimensions of an MCMC draw in an ArviZ DataTree."""


def require_group(idata: xr.DataTree, group: str, argument: str = "idata") -> xr.Dataset:
    """The group of ``idata`` as a Dataset, or a ValueError naming ``argument``."""
    if not isinstance(idata, xr.DataTree) or group not in idata.children:
        raise ValueError(f"{argument} must be an ArviZ DataTree with a {group!r} group")
    return idata[group].to_dataset()


def sampled_group(idata: xr.DataTree, group: str, argument: str = "idata") -> xr.Dataset:
    """The group as a Dataset whose variables all have non-empty chain and draw dims."""
    dataset = require_group(idata, group, argument)
    if not dataset.data_vars:
        raise ValueError(f"{argument}.{group} has no variables")
    for name, array in dataset.data_vars.items():
        if not set(SAMPLE_DIMS) <= set(array.dims):
            raise ValueError(
                f"{argument}.{group}[{name!r}] must have 'chain' and 'draw' dimensions, "
                f"got {array.dims}"
            )
        if array.size == 0:
            raise ValueError(f"{argument}.{group}[{name!r}] is empty (a dimension of length 0)")
        if not np.issubdtype(array.dtype, np.number) and array.dtype != bool:
            raise TypeError(f"{argument}.{group}[{name!r}] must hold numbers, got {array.dtype}")
    return dataset


def variable_name(value: str, argument: str) -> str:
    """``value`` if it is a str (a variable name), else a TypeError naming ``argument``."""
    if not isinstance(value, str):
        raise TypeError(f"{argument} must be a variable name (str), got {value!r}")
    return value
