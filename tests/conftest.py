"""Shared fixtures: MCMC seeds (one by default, many in a seed sweep) and convergence checks.

Every MCMC test takes its sampler seed from the ``mcmc_seed`` fixture, so a seed sweep
(``make seed-sweep``, :mod:`coursetools.seed_sweep`) can rerun it over fresh seeds: set
``COMPANION_SEED_SWEEP=N`` (and optionally ``COMPANION_SEED_BASE``) and every test that
uses ``mcmc_seed`` runs once per seed. With ``COMPANION_SWEEP_RECORD=path`` each outcome
is appended to ``path`` as a JSON line, classified as a convergence failure (the fit itself
failed :func:`assert_converged`) or a comparison failure (any other assertion).

Tests mark themselves ``@pytest.mark.mcmc(quantities=k, within=c)`` when they compare k
quantities with an exact answer within c Monte Carlo standard errors: the sweep then states
the false-alarm rate that the threshold implies, 1 - (1 - 2 Phi(-c))^k per seed.
"""

import json
import os
import re

import pytest
from scipy import stats

from companion import diagnostics, sampling
from coursetools.seed_sweep import (
    BASE_VARIABLE,
    RECORD_VARIABLE,
    SWEEP_VARIABLE,
    ReusingSampler,
    seed_list,
)

DEFAULT_SEED = 20261203
"""The seed of an ordinary test run; every assertion must hold for any other seed too."""


FALSE_ALARM_RATE = 1e-3
"""The chance per seed that a correct MCMC test fails anyway, which thresholds are set to."""


def mcse_threshold(quantities: int) -> float:
    """How many MCSE k two-sided comparisons may allow, at most FALSE_ALARM_RATE in all.

    Bonferroni: each comparison gets FALSE_ALARM_RATE / k, so the threshold is
    Phi^-1(1 - FALSE_ALARM_RATE / (2 k)), but never below the course's usual 4 MCSE
    (4 alone keeps up to 15 quantities within the rate). The MCSE are estimated from the
    draws, so the real rate is somewhat higher; the seed sweep measures it.
    """
    return max(4.0, float(stats.norm.isf(FALSE_ALARM_RATE / (2 * quantities))))


class ConvergenceFailure(AssertionError):
    """A fit that a test expected to converge failed the course's convergence checks."""


def sweep_seeds() -> list[int]:
    """The seeds the ``mcmc_seed`` fixture takes: one normally, N fresh ones in a sweep."""
    count = int(os.environ.get(SWEEP_VARIABLE, "0") or 0)
    if count <= 0:
        return [DEFAULT_SEED]
    return seed_list(count, int(os.environ.get(BASE_VARIABLE, "0") or 0))


def pytest_generate_tests(metafunc):
    if "mcmc_seed" in metafunc.fixturenames:
        seeds = sweep_seeds()
        metafunc.parametrize("mcmc_seed", seeds, ids=[f"seed{s}" for s in seeds], scope="module")


def assert_converged(idata, **options) -> diagnostics.ConvergenceReport:
    """Raise :class:`ConvergenceFailure` unless the fit passes the convergence report."""
    report = diagnostics.convergence_report(idata, **options)
    if not report.passed:
        raise ConvergenceFailure(report.text)
    return report


_REUSING_SAMPLER = ReusingSampler() if os.environ.get(SWEEP_VARIABLE) else None
"""In a seed sweep, every test's fits compile their models on the first seed only."""


@pytest.fixture(scope="session", autouse=True)
def _compile_once_in_a_sweep():
    if _REUSING_SAMPLER is None:
        yield
        return
    original, sampling.sample = sampling.sample, _REUSING_SAMPLER
    yield
    sampling.sample = original


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    if _REUSING_SAMPLER is not None:
        # The run is the test and its other parameters, without the sweep's seed.
        _REUSING_SAMPLER.start(re.sub(r"seed\d+-?", "", item.nodeid))


@pytest.fixture
def no_fast_mode(monkeypatch):
    """Full-length sampling even when ``COMPANION_FAST`` is set in the environment."""
    monkeypatch.delenv(sampling.FAST_MODE_VARIABLE, raising=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    path = os.environ.get(RECORD_VARIABLE)
    if path and (report.when == "call" or report.failed):
        _record(path, item, call.excinfo if report.failed else None)
    return report


def _record(path: str, item, failure) -> None:
    """Append one test outcome of a seed sweep to ``path`` as a JSON line."""
    if failure is None:
        outcome = "passed"
    elif failure.errisinstance(ConvergenceFailure):
        outcome = "convergence"
    elif failure.errisinstance(AssertionError):
        outcome = "comparison"
    else:
        outcome = "error"
    params = getattr(item, "callspec", None)
    params = dict(params.params) if params else {}
    seed = params.pop("mcmc_seed", None)
    marker = item.get_closest_marker("mcmc")
    line = {
        "test": item.nodeid.split("[")[0].removeprefix("tests/"),
        "case": "-".join(str(getattr(v, "__name__", v)) for v in params.values()),
        "seed": seed,
        "outcome": outcome,
        "message": str(failure.value).splitlines()[0][:200] if failure else "",
        "quantities": marker.kwargs.get("quantities", 0) if marker else 0,
        "within": marker.kwargs.get("within", 4.0) if marker else 4.0,
    }
    with open(path, "a", encoding="utf-8") as stream:
        stream.write(json.dumps(line) + "\n")
