"""Independent exact draws from Neal's funnel (the chapter "Neal's funnel")."""

import numpy as np

from companion._checks import positive_integer, random_generator

__all__ = ["funnel_draws"]


def funnel_draws(n: int, *, dims: int = 9, rng: np.random.Generator | int) -> dict[str, np.ndarray]:
    """Independent exact draws from Neal's funnel.

    v ~ Normal(0, 3) and, given v, x_1, ..., x_dims independent Normal(0, exp(v / 2)):
    drawn in that order, so the draws are iid from the joint distribution, the
    reference against which a sampler's exploration of the funnel is judged.

    Parameters
    ----------
    n : int
        Number of draws (>= 1).
    dims : int
        Number of x coordinates (>= 1); Neal used 9.
    rng : numpy.random.Generator or int
        Random number generator, or a seed for :func:`numpy.random.default_rng`.

    Returns
    -------
    dict
        ``{"v": (n,), "x": (n, dims)}``.

    References
    ----------
    Neal, R. M. (2003). Slice sampling. *Annals of Statistics* 31(3), 705-767, Section 8;
    the chapter "Neal's funnel". The model: :func:`companion.models.funnel`.

    Examples
    --------
    >>> draws = funnel_draws(1000, dims=9, rng=1)
    >>> draws["v"].shape, draws["x"].shape
    ((1000,), (1000, 9))
    """
    n = positive_integer(n, "n")
    dims = positive_integer(dims, "dims")
    rng = random_generator(rng, "rng")
    v = rng.normal(0.0, 3.0, size=n)
    x = rng.normal(0.0, 1.0, size=(n, dims)) * np.exp(v / 2)[:, None]
    return {"v": v, "x": x}
