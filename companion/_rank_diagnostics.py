"""Rank-normalised R-hat, bulk and tail ESS and the MCSE of the mean, for many quantities at once.

The formulas of Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021), computed as ArviZ's
``arviz_stats.base.array_stats`` computes them (split chains; ranks back-transformed with
Blom's offset 3/8; FFT autocovariances; Geyer's initial positive and monotone sequences),
but over an array of quantities at once: ArviZ loops over quantities one by one, which
made a fit with a hundred quantities cost most of a second to check. Only the truncation
of each quantity's autocorrelation sum stays a loop. NumPy/SciPy only; package-internal.
"""

import numpy as np
from scipy import fft, stats

__all__ = ["diagnostics"]

_BLOM = 3 / 8


def _split(draws: np.ndarray) -> np.ndarray:
    """(quantity, chain, draw) -> (quantity, 2 chain, draw // 2): first halves, then second
    halves (the middle draw of an odd-length chain is dropped)."""
    half = draws.shape[2] // 2
    return np.concatenate((draws[:, :, :half], draws[:, :, -half:]), axis=1)


def _z_scale(draws: np.ndarray) -> np.ndarray:
    """Each quantity's draws replaced by the normal scores of their pooled ranks."""
    flat = draws.reshape(draws.shape[0], -1)
    ranks = stats.rankdata(flat, method="average", axis=1)
    size = flat.shape[1]
    return stats.norm.ppf((ranks - _BLOM) / (size - 2 * _BLOM + 1)).reshape(draws.shape)


def _rhat(draws: np.ndarray) -> np.ndarray:
    """Potential scale reduction of each quantity's (chain, draw) array."""
    n = draws.shape[2]
    between = n * np.var(draws.mean(axis=2), axis=1, ddof=1)
    within = np.var(draws, axis=2, ddof=1).mean(axis=1)
    return np.sqrt((between / within + n - 1) / n)


def _tau_hat(rho: np.ndarray) -> float:
    """Integrated autocorrelation time from one quantity's autocorrelations (lag 0 first),
    truncated by Geyer's initial positive sequence and made monotone."""
    n = rho.size
    kept = np.zeros(n)
    kept[:2] = rho[:2]
    even, odd = rho[0], rho[1]
    t = 1
    while t < n - 3 and even + odd > 0.0:
        even, odd = rho[t + 1], rho[t + 2]
        if even + odd >= 0:
            kept[t + 1], kept[t + 2] = even, odd
        t += 2
    last = t - 2
    if even > 0:
        kept[last + 1] = even
    t = 1
    while t <= last - 2:
        if kept[t + 1] + kept[t + 2] > kept[t - 1] + kept[t]:
            kept[t + 1] = kept[t + 2] = (kept[t - 1] + kept[t]) / 2.0
        t += 2
    tau = -1.0 + 2.0 * np.sum(kept[: last + 1]) + np.sum(kept[last + 1 : last + 2])
    return float(np.nan) if np.isnan(kept).any() else tau


def _ess(draws: np.ndarray) -> np.ndarray:
    """Effective sample size of each quantity's (chain, draw) array."""
    draws = np.asarray(draws, dtype=float)
    _, chains, n = draws.shape
    size = chains * n
    centred = draws - draws.mean(axis=2, keepdims=True)
    length = fft.next_fast_len(2 * n)
    spectrum = np.fft.rfft(centred, n=length, axis=2)
    spectrum *= np.conjugate(spectrum)
    acov = np.fft.irfft(spectrum, n=length, axis=2)[:, :, :n] / n
    mean_var = acov[:, :, 0].mean(axis=1) * n / (n - 1.0)
    var_plus = mean_var * (n - 1.0) / n
    if chains > 1:
        var_plus = var_plus + np.var(draws.mean(axis=2), axis=1, ddof=1)
    rho = 1.0 - (mean_var[:, None] - acov.mean(axis=1)) / var_plus[:, None]
    rho[:, 0] = 1.0
    result = np.empty(draws.shape[0])
    spread = draws.max(axis=(1, 2)) - draws.min(axis=(1, 2))
    for index, row in enumerate(rho):
        if spread[index] < np.finfo(float).resolution:
            result[index] = size
            continue
        tau = _tau_hat(row)
        result[index] = size / max(tau, 1 / np.log10(size)) if np.isfinite(tau) else np.nan
    return result


def diagnostics(draws: np.ndarray, tail_prob: float) -> dict[str, np.ndarray]:
    """``ess_bulk``, ``ess_tail`` (the smaller ESS of the ``(1 - tail_prob) / 2`` and
    ``(1 + tail_prob) / 2`` quantile indicators), rank-normalised ``r_hat`` and
    ``mcse_mean`` of (quantity, chain, draw) draws.

    As in ArviZ, every column is NaN for fewer than 4 draws, and ``r_hat`` for fewer than
    2 chains; a quantity with a NaN or infinite draw gets NaN everywhere.
    """
    draws = np.asarray(draws, dtype=float)
    quantities, chains, n = draws.shape
    names = ("ess_bulk", "ess_tail", "r_hat", "mcse_mean")
    columns = {name: np.full(quantities, np.nan) for name in names}
    finite = np.isfinite(draws).all(axis=(1, 2))
    if n < 4 or not finite.any():
        return columns
    with np.errstate(divide="ignore", invalid="ignore"):  # constant draws: NaN, as in ArviZ
        _fill(columns, draws[finite], finite, chains, tail_prob)
    return columns


def _fill(columns: dict, good: np.ndarray, finite: np.ndarray, chains: int, tail_prob: float):
    """Write the four columns of the finite quantities ``good`` into ``columns``."""
    split = _split(good)
    flat = good.reshape(good.shape[0], -1)
    tails = []
    for prob in sorted(((1 - tail_prob) / 2, (1 + tail_prob) / 2)):
        below = good <= np.quantile(flat, prob, axis=1)[:, None, None]
        tails.append(_ess(_split(below)))
    columns["ess_bulk"][finite] = _ess(_z_scale(split))
    columns["ess_tail"][finite] = np.minimum(*tails)
    columns["mcse_mean"][finite] = np.std(flat, axis=1, ddof=1) / np.sqrt(_ess(split))
    if chains >= 2:
        median = np.median(split.reshape(split.shape[0], -1), axis=1)[:, None, None]
        bulk, tail = _rhat(_z_scale(split)), _rhat(_z_scale(np.abs(split - median)))
        columns["r_hat"][finite] = np.maximum(bulk, tail)
