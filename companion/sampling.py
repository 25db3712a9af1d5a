"""One ``sample()`` with the course's defaults, and a fast mode for tests and checks."""

import os
import time
from typing import Literal

import numpy as np
import pymc as pm
import xarray as xr

from companion._checks import positive_integer

__all__ = ["FAST_MODE_VARIABLE", "CompiledModel", "fast_mode", "sample"]

FAST_MODE_VARIABLE = "COMPANION_FAST"
"""Set this environment variable to ``1`` to cap draws and tuning steps at 300 per chain."""

_FAST_CAP = 300


def fast_mode() -> bool:
    """Whether the fast mode is switched on by the environment variable ``COMPANION_FAST``."""
    return os.environ.get(FAST_MODE_VARIABLE, "").strip().lower() in {"1", "true", "yes"}


def _checked_options(
    random_seed: int,
    draws: int,
    tune: int,
    chains: int,
    target_accept: float,
    log_likelihood: bool,
) -> dict[str, int]:
    """Check the sampler options (errors name the argument); apply the fast mode's cap.

    Returns the run's ``draws``, ``tune``, ``chains`` and ``cores`` (one per chain, at most
    the machine's), keyword arguments that pm.sample and nutpie.sample share."""
    if not isinstance(log_likelihood, bool):
        raise TypeError(f"log_likelihood must be True or False, got {log_likelihood!r}")
    if isinstance(random_seed, bool) or not isinstance(random_seed, int | np.integer):
        raise TypeError(f"random_seed must be an integer, got {random_seed!r}")
    if random_seed < 0:
        raise ValueError(f"random_seed must be >= 0, got {random_seed!r}")
    draws, chains = positive_integer(draws, "draws"), positive_integer(chains, "chains")
    if isinstance(tune, bool) or not isinstance(tune, int | np.integer) or tune < 0:
        raise ValueError(f"tune must be an integer >= 0, got {tune!r}")
    if isinstance(target_accept, bool | str | complex | np.complexfloating) or not np.isscalar(
        target_accept
    ):
        raise TypeError(f"target_accept must be a number in (0, 1), got {target_accept!r}")
    if not 0 < float(target_accept) < 1:
        raise ValueError(f"target_accept must be in (0, 1), got {target_accept!r}")
    if fast_mode():
        draws, tune = min(draws, _FAST_CAP), min(tune, _FAST_CAP)
    cores = min(chains, os.cpu_count() or 1)
    return {"draws": draws, "tune": int(tune), "chains": chains, "cores": cores}


def _nutpie_installed() -> bool:
    try:
        import nutpie  # noqa: F401
    except ImportError:
        return False
    return True


def sample(
    model: pm.Model,
    *,
    random_seed: int,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    target_accept: float = 0.9,
    sampler: Literal["auto", "nutpie", "pymc"] = "auto",
    log_likelihood: bool = True,
) -> xr.DataTree:
    """Draw posterior samples with NUTS and return them as an ArviZ ``DataTree``.

    Parameters
    ----------
    model : pymc.Model
        The model to sample (e.g. from :mod:`companion.models`).
    random_seed : int
        Seed for the sampler; required, so every fit in the course is reproducible.
    draws, tune, chains : int
        Kept draws and tuning steps per chain, and the number of chains. Four chains
        by default: R-hat < 1.01 means little with fewer (Vehtari, Gelman, Simpson,
        Carpenter & Bürkner 2021). With ``COMPANION_FAST=1`` draws and tune are capped
        at 300.
    target_accept : float
        NUTS target acceptance rate; raise it to shorten steps (at a cost).
    sampler : {"auto", "nutpie", "pymc"}
        ``"auto"`` uses nutpie when it is installed, else PyMC's own NUTS.
    log_likelihood : bool
        Add the pointwise log-likelihood group that LOO needs.

    Returns
    -------
    xarray.DataTree
        Groups ``posterior``, ``sample_stats``, ``observed_data`` and, with
        ``log_likelihood=True``, ``log_likelihood``.

    Examples
    --------
    >>> from companion import models
    >>> idata = sample(models.group_summaries([1.0, 2.0], [1.0, 1.0]), random_seed=1, draws=50,
    ...                tune=50)  # doctest: +SKIP
    """
    if not isinstance(sampler, str) or sampler not in ("auto", "nutpie", "pymc"):
        raise ValueError(f"sampler must be 'auto', 'nutpie' or 'pymc'; got {sampler!r}")
    if not isinstance(model, pm.Model):
        raise TypeError(f"model must be a pymc.Model, got {type(model).__name__}")
    run = _checked_options(random_seed, draws, tune, chains, target_accept, log_likelihood)
    if sampler == "auto":
        sampler = "nutpie" if _nutpie_installed() else "pymc"
    idata = pm.sample(
        **run,
        random_seed=random_seed,
        nuts_sampler=sampler,
        nuts={"target_accept": target_accept},
        progressbar=False,
        quiet=True,
        compute_convergence_checks=False,
        model=model,
    )
    if log_likelihood:
        pm.compute_log_likelihood(idata, model=model, progressbar=False)
    return idata


class CompiledModel:
    """A model compiled once by nutpie and then sampled as often as needed.

    :func:`sample` compiles the model on every call, which costs seconds while the
    sampling itself of a small model takes a fraction of one. For a sweep over seeds
    or ``target_accept`` values, compile once and call :meth:`sample` repeatedly: the
    draws are the same as :func:`sample` with ``sampler="nutpie"`` and the same
    settings would give.

    Parameters
    ----------
    model : pymc.Model
        The model to compile (with nutpie's numba backend).

    Examples
    --------
    >>> from companion import models
    >>> compiled = CompiledModel(models.funnel(dims=2))  # doctest: +SKIP
    >>> fits = [compiled.sample(random_seed=seed, log_likelihood=False) for seed in range(3)]
    ... # doctest: +SKIP
    """

    def __init__(self, model: pm.Model) -> None:
        if not isinstance(model, pm.Model):
            raise TypeError(f"model must be a pymc.Model, got {type(model).__name__}")
        import nutpie

        self.model = model
        self._compiled = nutpie.compile_pymc_model(model, backend="numba")

    def sample(
        self,
        *,
        random_seed: int,
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 4,
        target_accept: float = 0.9,
        log_likelihood: bool = True,
    ) -> xr.DataTree:
        """Draw posterior samples with nutpie's NUTS; the options are those of :func:`sample`.

        Returns
        -------
        xarray.DataTree
            Groups ``posterior``, ``sample_stats``, ``observed_data`` and, with
            ``log_likelihood=True``, ``log_likelihood``.
        """
        import nutpie
        from pymc.backends.arviz import patch_nutpie_idata

        run = _checked_options(random_seed, draws, tune, chains, target_accept, log_likelihood)
        # The seed pm.sample hands to nutpie, so that both routes give the same draws.
        seed = int(np.random.default_rng(random_seed).spawn(run["chains"])[0].integers(2**30))
        start = time.time()
        idata = nutpie.sample(
            self._compiled,
            **run,
            seed=seed,
            save_warmup=False,
            progress_bar=False,
            target_accept=target_accept,
        )
        patch_nutpie_idata(idata, self.model, sampling_time=time.time() - start)
        if log_likelihood:
            pm.compute_log_likelihood(idata, model=self.model, progressbar=False)
        return idata
