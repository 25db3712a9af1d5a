"""Data sets shipped with the package and seeded simulators for the course's examples."""

from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd
from scipy import special

from companion._checks import (
    as_count_array,
    as_positive_array,
    finite_scalar,
    positive_integer,
    positive_scalar,
    random_generator,
)

__all__ = [
    "SURVEY_CATEGORIES",
    "FreeThrowStudy",
    "GroupedStudy",
    "HospitalStudy",
    "InstructorStudy",
    "PrivateSchoolStudy",
    "Survey",
    "load_dyestuff",
    "load_dyestuff2",
    "load_efron_morris",
    "load_eight_schools",
    "load_pastes",
    "load_penicillin",
    "load_radon",
    "load_sleepstudy",
    "simulate_free_throws",
    "simulate_grouped",
    "simulate_hospitals",
    "simulate_instructors",
    "simulate_private_schools",
    "simulate_survey",
]


# numpy's Poisson sampler refuses means above about 9.2e18.
_MAX_POISSON_MEAN = 1e18


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


def load_efron_morris() -> pd.DataFrame:
    """Load Efron & Morris's (1975) batting averages of 18 players in the 1970 season.

    Each player's hits in his first 45 at-bats of 1970, and his batting average over the
    rest of the season, the "truth" that estimates from the first 45 at-bats are scored
    against.

    Returns
    -------
    pandas.DataFrame
        One row per player, in the order of the published table, with columns
        ``player`` (name), ``hits`` and ``at_bats`` (the first 45 at-bats),
        ``average`` (hits / at_bats, the early batting average), ``remaining_at_bats``
        and ``remaining_average`` (the rest of the season, as published: three decimals).

    References
    ----------
    Efron, B. and Morris, C. (1975). Data analysis using Stein's estimator and its
    generalizations. *Journal of the American Statistical Association* 70(350),
    311-319, Table 1. Sources and checks: ``companion/datasets/README.md``.

    Examples
    --------
    >>> players = load_efron_morris()
    >>> players.shape
    (18, 6)
    >>> first = players.iloc[0]
    >>> first["player"], int(first["hits"]), float(first["remaining_average"])
    ('Roberto Clemente', 18, 0.346)
    """
    frame = _read_dataset("efron_morris.csv").astype(
        {"player": str, "hits": int, "at_bats": int, "remaining_at_bats": int}
    )
    frame.insert(3, "average", frame["hits"] / frame["at_bats"])
    return frame


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
    sizes = _group_sizes(section_sizes, "section_sizes")
    grand_mean = finite_scalar(grand_mean, "grand_mean")
    tau = positive_scalar(tau, "tau", allow_zero=True)
    sigma = positive_scalar(sigma, "sigma")
    rng = random_generator(seed, "seed")
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


SURVEY_CATEGORIES = ("strongly agree", "agree", "disagree", "strongly disagree")
"""The answer categories of the simulated survey, in the order of its columns."""


@dataclass(frozen=True)
class Survey:
    """A simulated survey: answer counts per region and the truth that generated them.

    Attributes
    ----------
    counts : pandas.DataFrame
        Number of respondents giving each answer: one row per region (index ``region``,
        labels "R1", "R2", ...), one column per answer category (columns ``category``).
    true_proportions : pandas.DataFrame
        Each region's true answer proportions, laid out like ``counts``.
    national : pandas.Series
        The national pattern pi0 the regions' proportions were drawn around.
    concentration : float
        The concentration alpha: pi_r ~ Dirichlet(alpha * pi0).
    """

    counts: pd.DataFrame
    true_proportions: pd.DataFrame
    national: pd.Series
    concentration: float


def simulate_survey(
    *,
    seed: int | Sequence[int],
    region_sizes: tuple[int, ...] = (45, 120, 60, 80, 35, 95),
    national: tuple[float, ...] = (0.25, 0.35, 0.25, 0.15),
    concentration: float = 8.0,
    categories: Sequence[str] = SURVEY_CATEGORIES,
) -> Survey:
    """Simulate a survey of regions that share a national pattern of answers.

    Each region's answer proportions are drawn as pi_r ~ Dirichlet(``concentration`` *
    ``national``), and its respondents' answers as counts_r ~ Multinomial(n_r, pi_r):
    the generative story of the hierarchical Dirichlet-Multinomial model. Regions are
    labelled "R1", "R2", ... in the order of ``region_sizes``.

    Parameters
    ----------
    seed : int or sequence of int
        Seed for :func:`numpy.random.default_rng`; the same seed gives the same survey.
    region_sizes : tuple of int
        Number of respondents per region (each at least 1).
    national : tuple of float
        The national proportions pi0: positive and summing to 1, one per category.
    concentration : float
        alpha > 0: large values make every region answer like the nation, small values
        let the regions differ.
    categories : sequence of str
        Names of the answer categories, one per entry of ``national``.

    Returns
    -------
    Survey
        The counts table and the true proportions.

    References
    ----------
    Gelman et al. (2013), *Bayesian Data Analysis*, 3rd ed., Section 23.2 (the Dirichlet
    distribution); the chapter "Dirichlet-Multinomial".

    Examples
    --------
    >>> survey = simulate_survey(seed=1)
    >>> survey.counts.shape, survey.counts.sum(axis=1).tolist()
    ((6, 4), [45, 120, 60, 80, 35, 95])
    """
    sizes = _group_sizes(region_sizes, "region_sizes")
    national = as_positive_array(national, "national", allow_bool=False)
    if national.size < 2 or abs(national.sum() - 1.0) > 1e-9:
        raise ValueError(
            f"national must hold two or more proportions summing to 1, got {national.tolist()}"
        )
    concentration = positive_scalar(concentration, "concentration")
    if isinstance(categories, str | bytes) or not isinstance(categories, Sequence | np.ndarray):
        raise TypeError(f"categories must be a sequence of names, got {categories!r}")
    labels = [str(c) for c in categories]
    if len(set(labels)) != len(labels):
        raise ValueError(f"categories must be distinct names, got {labels!r}")
    if len(labels) != national.size:
        raise ValueError(
            f"categories must name each of the {national.size} categories, got {len(labels)}"
        )
    rng = random_generator(seed, "seed")
    proportions = rng.dirichlet(concentration * national, size=sizes.size)
    counts = np.array([rng.multinomial(n, p) for n, p in zip(sizes, proportions, strict=True)])
    index = pd.Index([f"R{r + 1}" for r in range(sizes.size)], name="region")
    columns = pd.Index(labels, name="category")
    return Survey(
        counts=pd.DataFrame(counts, index=index, columns=columns),
        true_proportions=pd.DataFrame(proportions, index=index, columns=columns),
        national=pd.Series(national, index=columns, name="national"),
        concentration=concentration,
    )


@dataclass(frozen=True)
class HospitalStudy:
    """Simulated adverse-event counts of hospitals with different patient volumes.

    Attributes
    ----------
    events : pandas.DataFrame
        One row per hospital: ``hospital`` ("H1", "H2", ...), ``exposure`` (thousands
        of patient-days) and ``events`` (the number of adverse events).
    true_rates : pandas.Series
        Each hospital's true rate (events per 1000 patient-days), indexed by hospital.
    mu_log, sigma_log : float
        Mean and sd of the log rates' Normal population.
    """

    events: pd.DataFrame
    true_rates: pd.Series
    mu_log: float
    sigma_log: float


def simulate_hospitals(
    *,
    seed: int | Sequence[int],
    exposure: tuple[float, ...] = (2.1, 5.0, 1.3, 8.2, 0.7, 3.5, 6.1, 4.0),
    mu_log: float = 0.5,
    sigma_log: float = 0.6,
) -> HospitalStudy:
    """Simulate adverse events in hospitals whose rates come from a log-normal population.

    Each hospital's rate is drawn as lambda_j ~ LogNormal(``mu_log``, ``sigma_log``) and
    its count of events as y_j ~ Poisson(lambda_j e_j), with e_j its ``exposure``.

    Parameters
    ----------
    seed : int or sequence of int
        Seed for :func:`numpy.random.default_rng`; the same seed gives the same study.
    exposure : tuple of float
        Patient-days of each hospital, in thousands (> 0); the default is that of
        exercise 5.8.3 of the course's source text.
    mu_log, sigma_log : float
        Mean and sd (>= 0) of log lambda_j.

    Returns
    -------
    HospitalStudy
        The events table and the true rates.

    References
    ----------
    Gelman et al. (2013), *Bayesian Data Analysis*, 3rd ed., Section 2.6 (Poisson rates
    with exposure); the chapter "Same pattern, other likelihoods".

    Examples
    --------
    >>> study = simulate_hospitals(seed=1)
    >>> study.events.columns.tolist(), len(study.events)
    (['hospital', 'exposure', 'events'], 8)
    """
    exposure = as_positive_array(exposure, "exposure", allow_bool=False)
    mu_log = finite_scalar(mu_log, "mu_log")
    sigma_log = positive_scalar(sigma_log, "sigma_log", allow_zero=True)
    rng = random_generator(seed, "seed")
    labels = [f"H{j + 1}" for j in range(exposure.size)]
    rates = rng.lognormal(mu_log, sigma_log, size=exposure.size)
    if not np.all(rates * exposure < _MAX_POISSON_MEAN):
        raise ValueError(
            f"mu_log, sigma_log and exposure give expected counts too large to simulate "
            f"(above {_MAX_POISSON_MEAN:.0e}): mu_log={mu_log!r}, sigma_log={sigma_log!r}"
        )
    events = rng.poisson(rates * exposure)
    frame = pd.DataFrame({"hospital": labels, "exposure": exposure, "events": events})
    return HospitalStudy(
        events=frame,
        true_rates=pd.Series(rates, index=pd.Index(labels, name="hospital"), name="rate"),
        mu_log=mu_log,
        sigma_log=sigma_log,
    )


@dataclass(frozen=True)
class FreeThrowStudy:
    """Simulated free throws of players who took very different numbers of shots.

    Attributes
    ----------
    shots : pandas.DataFrame
        One row per player: ``player`` ("P1", "P2", ...), ``attempts`` and ``made``.
    true_rates : pandas.Series
        Each player's true success probability, indexed by player.
    mu_logit, sigma_logit : float
        Mean and sd of the logit success probabilities' Normal population.
    """

    shots: pd.DataFrame
    true_rates: pd.Series
    mu_logit: float
    sigma_logit: float


def simulate_free_throws(
    *,
    seed: int | Sequence[int],
    attempts: tuple[int, ...] = (4, 10, 25, 60, 150, 400),
    mu_logit: float = 1.1,
    sigma_logit: float = 0.4,
) -> FreeThrowStudy:
    """Simulate free throws of players whose success rates come from a logit-normal population.

    Each player's success probability is p_j = logistic(eta_j) with
    eta_j ~ Normal(``mu_logit``, ``sigma_logit``), and the shots they make
    y_j ~ Binomial(``attempts``_j, p_j). The default population is centred on a 75%
    success rate, with most players between 60% and 85%.

    Parameters
    ----------
    seed : int or sequence of int
        Seed for :func:`numpy.random.default_rng`; the same seed gives the same study.
    attempts : tuple of int
        Number of shots per player (each at least 1).
    mu_logit, sigma_logit : float
        Mean and sd (>= 0) of the logit success probabilities.

    Returns
    -------
    FreeThrowStudy
        The shots table and the true success probabilities.

    References
    ----------
    Gelman & Hill (2007), *Data Analysis Using Regression and Multilevel/Hierarchical
    Models*, Chapter 14 (multilevel logistic regression); the chapter "Same pattern,
    other likelihoods".

    Examples
    --------
    >>> study = simulate_free_throws(seed=1)
    >>> study.shots["attempts"].tolist()
    [4, 10, 25, 60, 150, 400]
    """
    attempts = _group_sizes(attempts, "attempts")
    mu_logit = finite_scalar(mu_logit, "mu_logit")
    sigma_logit = positive_scalar(sigma_logit, "sigma_logit", allow_zero=True)
    rng = random_generator(seed, "seed")
    labels = [f"P{j + 1}" for j in range(attempts.size)]
    rates = special.expit(rng.normal(mu_logit, sigma_logit, size=attempts.size))
    made = rng.binomial(attempts, rates)
    frame = pd.DataFrame({"player": labels, "attempts": attempts, "made": made})
    return FreeThrowStudy(
        shots=frame,
        true_rates=pd.Series(rates, index=pd.Index(labels, name="player"), name="p"),
        mu_logit=mu_logit,
        sigma_logit=sigma_logit,
    )


def _group_sizes(value: Sequence[int], name: str) -> np.ndarray:
    """Checked group sizes: a non-empty 1-D array of whole numbers, each at least 1."""
    sizes = as_count_array(value, name, ndim=1)
    if np.any(sizes < 1):
        raise ValueError(f"{name} must be at least 1 for every group, got {list(value)!r}")
    return sizes


@dataclass(frozen=True)
class PrivateSchoolStudy:
    """Simulated coaching effects in public and private schools, and the truth behind them.

    Attributes
    ----------
    schools : pandas.DataFrame
        One row per school: ``school`` (a label, "pub1", ... then "priv1", ...),
        ``private`` (bool), ``y`` (estimated effect) and ``sigma`` (its standard error).
    true_effects : pandas.Series
        Each school's true effect theta_j, indexed by school label.
    mu, beta, tau : float
        The public schools' mean effect, the private schools' systematic difference and
        the spread of the effects around mu + beta * private.
    """

    schools: pd.DataFrame
    true_effects: pd.Series
    mu: float
    beta: float
    tau: float


def simulate_private_schools(
    *,
    seed: int | Sequence[int],
    n_public: int = 20,
    n_private: int = 20,
    mu: float = 8.0,
    beta: float = 5.0,
    tau: float = 4.0,
    sigma_range: tuple[float, float] = (4.0, 12.0),
) -> PrivateSchoolStudy:
    """Simulate an Eight-Schools-like study in which private schools differ systematically.

    theta_j = mu + beta * private_j + eta_j with eta_j ~ Normal(0, tau); each school's
    standard error sigma_j ~ Uniform(``sigma_range``) and its estimate
    y_j ~ Normal(theta_j, sigma_j). The schools are exchangeable only *given* the
    indicator ``private``: the example of a group-level predictor in the chapter
    "Eight Schools", fitted with :func:`companion.models.hierarchical_with_covariate`.

    Parameters
    ----------
    seed : int or sequence of int
        Seed for :func:`numpy.random.default_rng`; the same seed gives the same study.
    n_public, n_private : int
        Number of schools of each kind (each >= 1).
    mu, beta : float
        Mean effect in public schools, and the private schools' extra effect.
    tau : float
        Spread (>= 0) of the effects around their type's mean.
    sigma_range : tuple of two floats
        Bounds 0 < low <= high of the standard errors.

    Returns
    -------
    PrivateSchoolStudy
        The table of estimates and the true effects.

    Examples
    --------
    >>> study = simulate_private_schools(seed=1, n_public=3, n_private=2)
    >>> study.schools["school"].tolist(), study.schools["private"].tolist()
    (['pub1', 'pub2', 'pub3', 'priv1', 'priv2'], [False, False, False, True, True])
    """
    n_public = positive_integer(n_public, "n_public")
    n_private = positive_integer(n_private, "n_private")
    mu = finite_scalar(mu, "mu")
    beta = finite_scalar(beta, "beta")
    tau = positive_scalar(tau, "tau", allow_zero=True)
    if isinstance(sigma_range, str | bytes) or np.ndim(sigma_range) != 1 or len(sigma_range) != 2:
        raise ValueError(f"sigma_range must be (low, high), got {sigma_range!r}")
    low, high = (positive_scalar(bound, "sigma_range") for bound in sigma_range)
    if low > high:
        raise ValueError(f"sigma_range must have low <= high, got {sigma_range!r}")
    rng = random_generator(seed, "seed")
    labels = [f"pub{i + 1}" for i in range(n_public)] + [f"priv{i + 1}" for i in range(n_private)]
    private = np.repeat([False, True], [n_public, n_private])
    theta = mu + beta * private + rng.normal(0.0, tau, size=private.size)
    sigma = rng.uniform(low, high, size=private.size)
    y = rng.normal(theta, sigma)
    frame = pd.DataFrame({"school": labels, "private": private, "y": y, "sigma": sigma})
    return PrivateSchoolStudy(
        schools=frame,
        true_effects=pd.Series(theta, index=pd.Index(labels, name="school"), name="theta"),
        mu=mu,
        beta=beta,
        tau=tau,
    )


def _load_batches(filename: str) -> pd.DataFrame:
    return _read_dataset(filename).astype({"batch": str, "yield": float})


def load_dyestuff() -> pd.DataFrame:
    """Load the Dyestuff data: yield of dyestuff from five preparations of six batches.

    Returns
    -------
    pandas.DataFrame
        30 rows with columns ``batch`` ("A".."F", the batch of the intermediate product
        H-acid) and ``yield`` (grams of standard colour of Naphthalene Black 12B).

    References
    ----------
    Davies, O. L. and Goldsmith, P. L. (eds) (1972). *Statistical Methods in Research and
    Production*, 4th ed., Oliver and Boyd, Section 6.4; distributed with the R package
    lme4 as ``Dyestuff`` (Bates et al. 2015). Sources and checks:
    ``companion/datasets/README.md``; the chapter "Mixed models: the frequentist view".

    Examples
    --------
    >>> dyestuff = load_dyestuff()
    >>> dyestuff.shape, dyestuff["yield"].tolist()[:5]
    ((30, 2), [1545.0, 1440.0, 1440.0, 1520.0, 1580.0])
    """
    return _load_batches("dyestuff.csv")


def load_dyestuff2() -> pd.DataFrame:
    """Load the Dyestuff2 data: constructed yields whose batch means vary less than chance.

    Box and Tiao built these data, in the layout of :func:`load_dyestuff`, so that the
    between-batch mean square is smaller than the within-batch one: the (RE)ML estimate
    of the between-batch variance is then zero.

    Returns
    -------
    pandas.DataFrame
        30 rows with columns ``batch`` ("A".."F") and ``yield`` (dimensionless).

    References
    ----------
    Box, G. E. P. and Tiao, G. C. (1973). *Bayesian Inference in Statistical Analysis*,
    Addison-Wesley, Section 5.1.2; distributed with the R package lme4 as ``Dyestuff2``.
    Sources and checks: ``companion/datasets/README.md``.

    Examples
    --------
    >>> dyestuff2 = load_dyestuff2()
    >>> dyestuff2.shape, round(float(dyestuff2["yield"].mean()), 4)
    ((30, 2), 5.6656)
    """
    return _load_batches("dyestuff2.csv")


@dataclass(frozen=True)
class GroupedStudy:
    """A simulated study of individuals in groups: the data and the truth behind them.

    Attributes
    ----------
    data : pandas.DataFrame
        One row per individual: ``group`` (labels "G01", "G02", ..., zero-padded so that
        sorting them keeps the order of ``sizes``) and ``value``.
    true_means : pandas.Series
        Each group's true mean, indexed by group label.
    grand_mean, tau, sigma : float
        The population the group means were drawn from, Normal(``grand_mean``, ``tau``),
        and the sd of individuals around their group's mean.
    """

    data: pd.DataFrame
    true_means: pd.Series
    grand_mean: float
    tau: float
    sigma: float


def simulate_grouped(
    *,
    seed: int | Sequence[int],
    n_groups: int,
    sizes: int | Sequence[int],
    grand_mean: float = 70.0,
    tau: float = 6.0,
    sigma: float = 12.0,
) -> GroupedStudy:
    """Simulate individual-level data in groups of given sizes (the random-intercept model).

    Each group's true mean is drawn as theta_j ~ Normal(``grand_mean``, ``tau``), and each
    individual's value as y_ij ~ Normal(theta_j, ``sigma``). The defaults put the values on
    the scale of the instructors' exam scores of the chapter "The pooling problem".

    Parameters
    ----------
    seed : int or sequence of int
        Seed for :func:`numpy.random.default_rng`; the same seed gives the same study.
    n_groups : int
        Number of groups J (at least 1).
    sizes : int or sequence of int
        Individuals per group: one number for equal groups, or ``n_groups`` numbers
        (each at least 1), in the order of the group labels.
    grand_mean, tau, sigma : float
        Population mean and sd (>= 0; 0 makes all groups alike) of the group means, and
        the sd (> 0) of individuals within a group.

    Returns
    -------
    GroupedStudy
        The tidy data and the true group means.

    References
    ----------
    Gelman & Hill (2007), *Data Analysis Using Regression and Multilevel/Hierarchical
    Models*, Section 12.2; the chapters "Comparing pooling strategies with LOO" and
    "Mixed models: the frequentist view".

    Examples
    --------
    >>> study = simulate_grouped(seed=1, n_groups=3, sizes=[2, 5, 1])
    >>> study.data.groupby("group").size().to_dict()
    {'G1': 2, 'G2': 5, 'G3': 1}
    >>> simulate_grouped(seed=1, n_groups=12, sizes=4).true_means.index[:2].tolist()
    ['G01', 'G02']
    """
    n_groups = positive_integer(n_groups, "n_groups")
    one_size = isinstance(sizes, int | float | np.number | bool | np.bool_) or (
        isinstance(sizes, np.ndarray) and sizes.ndim == 0
    )
    per_group = np.full(n_groups, sizes) if one_size else sizes
    counts = _group_sizes(per_group, "sizes")
    if counts.size != n_groups:
        raise ValueError(f"sizes must give one size per group ({n_groups}), got {counts.size}")
    grand_mean = finite_scalar(grand_mean, "grand_mean")
    tau = positive_scalar(tau, "tau", allow_zero=True)
    sigma = positive_scalar(sigma, "sigma")
    rng = random_generator(seed, "seed")
    width = len(str(n_groups))
    labels = [f"G{j + 1:0{width}d}" for j in range(n_groups)]
    true_means = rng.normal(grand_mean, tau, size=n_groups)
    values = rng.normal(np.repeat(true_means, counts), sigma)
    frame = pd.DataFrame({"group": np.repeat(labels, counts), "value": values})
    return GroupedStudy(
        data=frame,
        true_means=pd.Series(true_means, index=pd.Index(labels, name="group"), name="mean"),
        grand_mean=grand_mean,
        tau=tau,
        sigma=sigma,
    )


# --------------------------------------------------------------------------- multilevel data


def _load_grouped_table(
    filename: str, *, rows: int, columns: dict[str, type], groups: tuple[str, ...]
) -> pd.DataFrame:
    """A shipped table checked for its columns, size and completeness, with ``columns``'
    types and each of ``groups`` as a categorical whose categories are the sorted labels."""
    frame = _read_dataset(filename)
    if list(frame.columns) != list(columns) or len(frame) != rows or frame.isna().any(axis=None):
        raise ValueError(
            f"companion/datasets/{filename} is damaged: expected {rows} complete rows with "
            f"columns {list(columns)}, got {len(frame)} rows with columns {list(frame.columns)}"
        )
    frame = frame.astype(columns)
    for column in groups:
        frame[column] = pd.Categorical(frame[column], categories=sorted(frame[column].unique()))
    return frame


def load_sleepstudy() -> pd.DataFrame:
    """Load the sleep-deprivation study: reaction times of 18 subjects over 10 days.

    Belenky et al. (2003) restricted their subjects to 3 hours of sleep a night from day 1
    on (day 0 is the baseline after normal sleep) and recorded each subject's average
    reaction time in a psychomotor vigilance test every day: the example of correlated
    random intercepts and slopes in lme4 (``Reaction ~ Days + (Days | Subject)``).

    Returns
    -------
    pandas.DataFrame
        180 rows (18 subjects x days 0..9) with columns ``subject`` (categorical, the
        subject numbers "308".."372"), ``days`` (int, days of sleep deprivation) and
        ``reaction`` (average reaction time, ms).

    References
    ----------
    Belenky, G. et al. (2003). Patterns of performance degradation and restoration during
    sleep restriction and subsequent recovery: a sleep dose-response study. *Journal of
    Sleep Research* 12, 1-12; distributed with the R package lme4 as ``sleepstudy`` (Bates
    et al. 2015, *Journal of Statistical Software* 67(1), Section 1.1). Sources and checks:
    ``companion/datasets/README.md``; the chapter "Beyond one intercept".

    Examples
    --------
    >>> sleep = load_sleepstudy()
    >>> sleep.shape, sleep["subject"].nunique(), int(sleep["days"].max())
    ((180, 3), 18, 9)
    """
    return _load_grouped_table(
        "sleepstudy.csv",
        rows=180,
        columns={"subject": str, "days": int, "reaction": float},
        groups=("subject",),
    )


def load_penicillin() -> pd.DataFrame:
    """Load the penicillin assay: inhibition zones of 6 samples on each of 24 plates.

    Every plate carries all six samples, so plate and sample are *crossed* groupings: lme4's
    ``diameter ~ 1 + (1|plate) + (1|sample)``.

    Returns
    -------
    pandas.DataFrame
        144 rows with columns ``plate`` (categorical, "a".."x"), ``sample`` (categorical,
        "A".."F") and ``diameter`` (float, mm, of the zone of inhibition of growth).

    References
    ----------
    Davies, O. L. and Goldsmith, P. L. (eds) (1972). *Statistical Methods in Research and
    Production*, 4th ed., Oliver and Boyd, Section 6.6; distributed with lme4 as
    ``Penicillin``; Bates (2010), *lme4: Mixed-effects modeling with R*, Section 2.1.
    Sources and checks: ``companion/datasets/README.md``.

    Examples
    --------
    >>> penicillin = load_penicillin()
    >>> penicillin.shape, penicillin["plate"].nunique(), penicillin["sample"].nunique()
    ((144, 3), 24, 6)
    """
    return _load_grouped_table(
        "penicillin.csv",
        rows=144,
        columns={"plate": str, "sample": str, "diameter": float},
        groups=("plate", "sample"),
    )


def load_pastes() -> pd.DataFrame:
    """Load the paste-strength data: two assays of each of 3 casks from each of 10 batches.

    Casks are *nested* in batches: cask "a" of batch "A" and cask "a" of batch "B" are
    different casks, which the column ``sample`` ("A:a", ...) names; lme4's
    ``strength ~ 1 + (1|batch/cask)``.

    Returns
    -------
    pandas.DataFrame
        60 rows with columns ``batch`` (categorical, "A".."J"), ``cask`` (categorical,
        "a".."c", the cask within its batch), ``sample`` (categorical, "A:a".."J:c", the
        30 casks) and ``strength`` (float, paste strength).

    References
    ----------
    Davies, O. L. and Goldsmith, P. L. (eds) (1972). *Statistical Methods in Research and
    Production*, 4th ed., Oliver and Boyd, Section 6.5; distributed with lme4 as
    ``Pastes``; Bates (2010), *lme4: Mixed-effects modeling with R*, Section 2.2.
    Sources and checks: ``companion/datasets/README.md``.

    Examples
    --------
    >>> pastes = load_pastes()
    >>> pastes.shape, pastes["batch"].nunique(), pastes["sample"].nunique()
    ((60, 4), 10, 30)
    """
    return _load_grouped_table(
        "pastes.csv",
        rows=60,
        columns={"batch": str, "cask": str, "sample": str, "strength": float},
        groups=("batch", "cask", "sample"),
    )


def load_radon() -> pd.DataFrame:
    """Load Gelman & Hill's Minnesota radon data: 919 houses in 85 counties.

    The radon survey's measurements in Minnesota with the county's soil uranium, the
    running example of Gelman & Hill (2007), Chapters 12-13: no, complete and partial
    pooling by county, a house-level predictor (the floor measured) and a county-level one
    (uranium).

    Returns
    -------
    pandas.DataFrame
        919 rows with columns ``county`` (categorical: the 85 county names in capitals, in
        alphabetical order, which is Gelman & Hill's county index 1..85), ``floor`` (int:
        0 when measured in the basement, 1 on the first floor), ``log_radon`` (float: log
        of the radon level in pCi/L, a level of 0 entered as 0.1 as in Gelman & Hill) and
        ``log_uranium`` (float: log of the county's soil uranium in ppm, the same for every
        house of a county).

    References
    ----------
    Gelman, A. and Hill, J. (2007). *Data Analysis Using Regression and
    Multilevel/Hierarchical Models*, Cambridge University Press, Sections 12.2-12.6; Price,
    P. N., Nero, A. V. and Gelman, A. (1996). Bayesian prediction of mean indoor radon
    concentrations for Minnesota counties. *Health Physics* 71(6), 922-936; as distributed
    with the R package HLMdiag (``radon``). Sources and checks:
    ``companion/datasets/README.md``; the chapter "Beyond one intercept".

    Examples
    --------
    >>> radon = load_radon()
    >>> radon.shape, radon["county"].nunique()
    ((919, 4), 85)
    >>> int(radon["county"].value_counts()["ST LOUIS"])
    116
    """
    return _load_grouped_table(
        "radon.csv",
        rows=919,
        columns={"county": str, "floor": int, "log_radon": float, "log_uranium": float},
        groups=("county",),
    )
