"""Data sets shipped with the package and seeded simulators for the course's examples."""

from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd

from companion._checks import as_positive_array, finite_scalar, positive_scalar

__all__ = ["InstructorStudy", "load_eight_schools", "simulate_instructors"]


def _read_dataset(filename: str) -> pd.DataFrame:
    with resources.files("companion.datasets").joinpath(filename).open() as handle:
        return pd.read_csv(handle)


def load_eight_schools() -> pd.DataFrame:
    """Load the Eight Schools coaching experiment (Rubin 1981).

    Returns
    -------
    pandas.DataFrame
        One row per school with columns ``school`` ("A".."H"), ``y`` (estimated
        coaching effect on the SAT-V, in points) and ``sigma`` (its standard error).

    References
    ----------
    Rubin, D. B. (1981). Estimation in parallel randomized experiments.
    *Journal of Educational Statistics*, 6(4), 377-401. Gelman et al. (2013),
    *Bayesian Data Analysis*, 3rd ed., Section 5.5.

    Examples
    --------
    >>> schools = load_eight_schools()
    >>> schools.shape
    (8, 3)
    >>> schools["school"].tolist()[:3], schools["y"].tolist()[:3]
    (['A', 'B', 'C'], [28.0, 8.0, -3.0])
    """
    frame = _read_dataset("eight_schools.csv")
    return frame.astype({"school": str, "y": float, "sigma": float})


@dataclass(frozen=True)
class InstructorStudy:
    """A simulated exam study: the students' scores and the truth that generated them.

    Attributes
    ----------
    scores : pandas.DataFrame
        One row per student: ``instructor`` (a label), ``student`` (index within
        the section) and ``score``.
    true_means : pandas.Series
        Each instructor's true mean score, indexed by instructor label.
    grand_mean, tau, sigma : float
        The population mean and between-instructor sd the means were drawn from,
        and the within-section sd of the scores.
    """

    scores: pd.DataFrame
    true_means: pd.Series
    grand_mean: float
    tau: float
    sigma: float


def simulate_instructors(
    *,
    seed: int | Sequence[int],
    section_sizes: tuple[int, ...] = (5, 9, 14, 22, 40),
    grand_mean: float = 70.0,
    tau: float = 6.0,
    sigma: float = 12.0,
) -> InstructorStudy:
    """Simulate final-exam scores for instructors whose sections differ in size.

    Each instructor's true mean is drawn from Normal(``grand_mean``, ``tau``); each
    student's score from Normal(true mean, ``sigma``). Sections are labelled
    "I1", "I2", ... in the order of ``section_sizes``.

    Parameters
    ----------
    seed : int or sequence of int
        Seed for :func:`numpy.random.default_rng`; the same seed gives the same study.
    section_sizes : tuple of int
        Number of students per instructor (each at least 1).
    grand_mean, tau, sigma : float
        Population mean and sd of the instructor means, and the sd of scores
        within a section (``tau`` may be 0: identical instructors).

    Returns
    -------
    InstructorStudy
        The tidy scores table and the true means.

    Examples
    --------
    >>> study = simulate_instructors(seed=1)
    >>> study.scores.groupby("instructor").size().tolist()
    [5, 9, 14, 22, 40]
    """
    sizes = as_positive_array(section_sizes, "section_sizes")
    if not np.all(sizes == np.round(sizes)):
        raise ValueError(f"section_sizes must be whole numbers, got {section_sizes!r}")
    sizes = sizes.astype(int)
    grand_mean = finite_scalar(grand_mean, "grand_mean")
    tau = positive_scalar(tau, "tau", allow_zero=True)
    sigma = positive_scalar(sigma, "sigma")
    expected = "seed must be a non-negative integer or a sequence of them"
    if seed is None or isinstance(seed, bool):  # None would silently give a new study each call
        raise TypeError(f"{expected}, got {seed!r}")
    try:
        rng = np.random.default_rng(seed)
    except (TypeError, ValueError) as error:
        raise type(error)(f"{expected}, got {seed!r}") from error
    labels = [f"I{i + 1}" for i in range(len(sizes))]
    true_means = rng.normal(grand_mean, tau, size=len(sizes))
    instructor = np.repeat(labels, sizes)
    scores = rng.normal(np.repeat(true_means, sizes), sigma)
    student = np.concatenate([np.arange(n) for n in sizes])
    frame = pd.DataFrame({"instructor": instructor, "student": student, "score": scores})
    return InstructorStudy(
        scores=frame,
        true_means=pd.Series(true_means, index=pd.Index(labels, name="instructor"), name="mean"),
        grand_mean=float(grand_mean),
        tau=tau,
        sigma=sigma,
    )
