"""Tests of companion.data: the shipped data against the published table, and the simulator."""

import numpy as np
import pandas as pd
import pytest

from companion.data import (
    InstructorStudy,
    load_efron_morris,
    load_eight_schools,
    simulate_instructors,
)

# Gelman et al. (2013), Bayesian Data Analysis, 3rd ed., Table 5.2 (Rubin 1981):
# school, estimated treatment effect y_j, standard error sigma_j.
BDA3_TABLE_5_2 = [
    ("A", 28, 15),
    ("B", 8, 10),
    ("C", -3, 16),
    ("D", 7, 11),
    ("E", -1, 9),
    ("F", 1, 11),
    ("G", 18, 10),
    ("H", 12, 18),
]


# --------------------------------------------------------------------------- Eight Schools


def test_eight_schools_matches_bda3_table_5_2():
    """The shipped data equal BDA3 Table 5.2 school by school, in order."""
    schools = load_eight_schools()
    expected = pd.DataFrame(BDA3_TABLE_5_2, columns=["school", "y", "sigma"])
    assert list(schools.columns) == ["school", "y", "sigma"]
    assert schools["school"].tolist() == expected["school"].tolist()
    np.testing.assert_array_equal(schools["y"].to_numpy(), expected["y"].to_numpy())
    np.testing.assert_array_equal(schools["sigma"].to_numpy(), expected["sigma"].to_numpy())


def test_eight_schools_types_and_fresh_copies():
    """y and sigma are floats, and each call returns an independent frame."""
    first = load_eight_schools()
    assert first["y"].dtype == float and first["sigma"].dtype == float
    first.loc[0, "y"] = -999.0
    assert load_eight_schools().loc[0, "y"] == 28.0


# --------------------------------------------------------------------------- simulator


def test_same_seed_reproduces_the_study():
    """Two calls with the same seed give identical scores and true means."""
    first = simulate_instructors(seed=123)
    second = simulate_instructors(seed=123)
    pd.testing.assert_frame_equal(first.scores, second.scores)
    pd.testing.assert_series_equal(first.true_means, second.true_means)


def test_a_sequence_seed_is_reproducible_too():
    """A list of ints (e.g. [chapter seed, replicate]) seeds reproducibly and distinctly."""
    first = simulate_instructors(seed=[2024, 1])
    again = simulate_instructors(seed=[2024, 1])
    other = simulate_instructors(seed=[2024, 2])
    pd.testing.assert_frame_equal(first.scores, again.scores)
    assert not np.allclose(first.true_means, other.true_means)


def test_different_seed_gives_a_different_study():
    """Another seed gives other true means and other scores."""
    first = simulate_instructors(seed=1)
    second = simulate_instructors(seed=2)
    assert not np.allclose(first.true_means, second.true_means)
    assert not np.allclose(first.scores["score"], second.scores["score"])


def test_section_sizes_and_labels_are_respected():
    """Each instructor I1, I2, ... has as many rows as its section size, students 0..n-1."""
    sizes = (3, 1, 7, 12)
    study = simulate_instructors(seed=5, section_sizes=sizes)
    assert isinstance(study, InstructorStudy)
    assert list(study.scores.columns) == ["instructor", "student", "score"]
    counts = study.scores.groupby("instructor", sort=False).size()
    assert counts.index.tolist() == ["I1", "I2", "I3", "I4"]
    assert counts.tolist() == list(sizes)
    for label, size in zip(counts.index, sizes, strict=True):
        students = study.scores.loc[study.scores["instructor"] == label, "student"]
        assert students.tolist() == list(range(size))


def test_true_means_are_indexed_by_the_instructor_labels():
    """true_means has one entry per instructor, indexed by the labels used in scores."""
    study = simulate_instructors(seed=9, section_sizes=(4, 4, 4))
    assert study.true_means.index.name == "instructor"
    assert study.true_means.index.tolist() == sorted(set(study.scores["instructor"]))
    assert study.true_means.index.tolist() == ["I1", "I2", "I3"]


def test_settings_are_recorded():
    """The study records the grand mean, tau and sigma it was simulated with."""
    study = simulate_instructors(seed=0, grand_mean=50.0, tau=3.0, sigma=8.0)
    assert (study.grand_mean, study.tau, study.sigma) == (50.0, 3.0, 8.0)


def test_tau_zero_gives_identical_instructors():
    """With tau = 0 every instructor's true mean is the grand mean."""
    study = simulate_instructors(seed=4, tau=0.0, grand_mean=61.5)
    np.testing.assert_array_equal(study.true_means.to_numpy(), 61.5)


def test_section_means_estimate_the_true_means():
    """With 20,000 students a section's mean is within 4.5 standard errors of its true mean.

    Each section mean is Normal(true mean, sigma / sqrt(n)) given the true means, so a
    correct simulator breaks this bound for one of 6 sections with probability about
    6 * 7e-6 (the seed is fixed, so the test is deterministic).
    """
    n, sigma = 20_000, 12.0
    study = simulate_instructors(seed=2024, section_sizes=(n,) * 6, sigma=sigma)
    section_means = study.scores.groupby("instructor")["score"].mean()
    errors = section_means - study.true_means.loc[section_means.index]
    assert np.all(np.abs(errors) < 4.5 * sigma / np.sqrt(n))
    within_sd = study.scores.groupby("instructor")["score"].std()
    # The sd of a sample sd of n Normal draws is about sigma / sqrt(2 n).
    assert np.all(np.abs(within_sd - sigma) < 4.5 * sigma / np.sqrt(2 * n))


def test_true_means_scatter_around_the_grand_mean_with_sd_tau():
    """Over 4,000 instructors the true means have mean grand_mean and sd tau (4.5 SE)."""
    k, grand_mean, tau = 4000, 70.0, 6.0
    study = simulate_instructors(seed=77, section_sizes=(1,) * k, grand_mean=grand_mean, tau=tau)
    means = study.true_means.to_numpy()
    assert abs(means.mean() - grand_mean) < 4.5 * tau / np.sqrt(k)
    assert abs(means.std(ddof=1) - tau) < 4.5 * tau / np.sqrt(2 * k)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(section_sizes=(5, 0, 3)), ValueError, "section_sizes"),
        (dict(section_sizes=(5, -2)), ValueError, "section_sizes"),
        (dict(section_sizes=(5, 2.5)), ValueError, "section_sizes"),
        (dict(section_sizes=()), ValueError, "section_sizes"),
        (dict(section_sizes=(5, np.nan)), ValueError, "section_sizes"),
        (dict(section_sizes=("a", "b")), TypeError, "section_sizes"),
        (dict(sigma=0.0), ValueError, "sigma"),
        (dict(sigma=-1.0), ValueError, "sigma"),
        (dict(tau=-1.0), ValueError, "tau"),
        (dict(tau=np.nan), ValueError, "tau"),
        (dict(grand_mean=np.nan), ValueError, "grand_mean"),
        (dict(grand_mean="seventy"), TypeError, "grand_mean"),
        (dict(seed=None), TypeError, "seed"),
        (dict(seed=-1), ValueError, "seed"),
        (dict(seed=1.5), TypeError, "seed"),
        (dict(seed=True), TypeError, "seed"),
        (dict(seed=[1, -2]), ValueError, "seed"),
    ],
)
def test_bad_input_names_the_argument(kwargs, error, match):
    """Bad sizes, scales, grand mean or seed raise an error that names the argument."""
    arguments = dict(seed=1) | kwargs
    with pytest.raises(error, match=match):
        simulate_instructors(**arguments)


# --------------------------------------------------------------------------- Efron-Morris

# Efron & Morris (1975), JASA 70(350), 311-319, Table 1: player, batting average in the
# first 45 at-bats, at-bats and batting average over the rest of the 1970 season.
EFRON_MORRIS_TABLE_1 = [
    ("Clemente", 0.400, 367, 0.346),
    ("Robinson", 0.378, 426, 0.298),
    ("Howard", 0.356, 521, 0.276),
    ("Johnstone", 0.333, 275, 0.222),
    ("Berry", 0.311, 418, 0.273),
    ("Spencer", 0.311, 466, 0.270),
    ("Kessinger", 0.289, 586, 0.263),
    ("Alvarado", 0.267, 138, 0.210),
    ("Santo", 0.244, 510, 0.269),
    ("Swoboda", 0.244, 200, 0.230),
    ("Unser", 0.222, 277, 0.264),
    ("Williams", 0.222, 270, 0.256),
    ("Scott", 0.222, 435, 0.303),
    ("Petrocelli", 0.222, 538, 0.264),
    ("Rodriguez", 0.222, 186, 0.226),
    ("Campaneris", 0.200, 558, 0.285),
    ("Munson", 0.178, 408, 0.316),
    ("Alvis", 0.156, 70, 0.200),
]


def test_efron_morris_matches_table_1():
    """Players in order; hits / 45 rounds to the published early average; the rest-of-season
    at-bats and averages equal the published ones."""
    players = load_efron_morris()
    assert list(players.columns) == [
        "player",
        "hits",
        "at_bats",
        "average",
        "remaining_at_bats",
        "remaining_average",
    ]
    names, early, remaining_at_bats, remaining = zip(*EFRON_MORRIS_TABLE_1, strict=True)
    assert [name.split()[-1] for name in players["player"]] == list(names)
    assert (players["at_bats"] == 45).all()
    np.testing.assert_array_equal(players["average"].round(3), early)
    np.testing.assert_array_equal(players["remaining_at_bats"], remaining_at_bats)
    np.testing.assert_array_equal(players["remaining_average"], remaining)


def test_efron_morris_early_average_is_hits_over_at_bats():
    """average = hits / at_bats exactly, with integer counts; 215 hits in 810 at-bats."""
    players = load_efron_morris()
    assert players["hits"].dtype.kind == "i" and players["at_bats"].dtype.kind == "i"
    np.testing.assert_array_equal(players["average"], players["hits"] / players["at_bats"])
    assert players["hits"].sum() == 215


def test_efron_morris_returns_fresh_copies():
    """Each call returns an independent frame."""
    first = load_efron_morris()
    first.loc[0, "hits"] = 0
    assert load_efron_morris().loc[0, "hits"] == 18
