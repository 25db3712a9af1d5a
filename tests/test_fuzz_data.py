"""Property and fuzz tests of companion.data: the simulators refuse bad settings naming
the argument, and valid settings give tables of the promised shape, reproducibly."""

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from companion import data

COVERED = {
    "data.SURVEY_CATEGORIES",
    "data.FreeThrowStudy",
    "data.GroupedStudy",
    "data.HospitalStudy",
    "data.InstructorStudy",
    "data.PrivateSchoolStudy",
    "data.Survey",
    "data.load_dyestuff",
    "data.load_dyestuff2",
    "data.load_efron_morris",
    "data.load_eight_schools",
    "data.simulate_free_throws",
    "data.simulate_grouped",
    "data.simulate_hospitals",
    "data.simulate_instructors",
    "data.simulate_private_schools",
    "data.simulate_survey",
}

FAST = settings(max_examples=40, deadline=None, derandomize=True)


def named(argument):
    """A regular expression that matches an error message naming ``argument``."""
    return rf"\b{re.escape(argument)}\b"


BAD_SEEDS = [None, 1.5, -1, "seed", True, [1, -2], np.float64(2.0)]
BAD_SIZES = [[], [0, 2], [-1], [1.5, 2], [True, 2], ["3"], [math.nan], [2**63], [[1], [1, 2]]]
BAD_REALS = [math.nan, math.inf, "1", True, 1j, None, [1.0]]
BAD_SPREADS = [*BAD_REALS, -1.0]

# For each simulator: its sizes-like argument, its real-valued arguments (with those
# that must be > 0 or >= 0), and a valid call.
SIMULATORS = {
    "simulate_instructors": (
        "section_sizes",
        ["grand_mean"],
        ["tau", "sigma"],
    ),
    "simulate_survey": ("region_sizes", [], ["concentration"]),
    "simulate_hospitals": ("exposure", ["mu_log"], ["sigma_log"]),
    "simulate_free_throws": ("attempts", ["mu_logit"], ["sigma_logit"]),
    "simulate_grouped": ("sizes", ["grand_mean"], ["tau", "sigma"]),
    "simulate_private_schools": (None, ["mu", "beta"], ["tau"]),
}


def _call(name, **changes):
    arguments = {"seed": 1} | ({"n_groups": 2} if name == "simulate_grouped" else {})
    if name == "simulate_grouped":
        arguments["sizes"] = [2, 3]
    return getattr(data, name)(**(arguments | changes))


@FAST
@given(st.sampled_from(sorted(SIMULATORS)), st.data())
def test_simulators_refuse_bad_settings_naming_them(name, draw):
    """Bad seeds, group sizes (empty, zero, negative, fractional, boolean, strings, NaN,
    >= 2**63, ragged) and bad real settings are refused with the argument's name."""
    sizes, reals, spreads = SIMULATORS[name]
    choices = ["seed", *reals, *spreads] + ([sizes] if sizes else [])
    argument = draw.draw(st.sampled_from(choices))
    if argument == "seed":
        bad = draw.draw(st.sampled_from(BAD_SEEDS))
    elif argument == sizes:
        bad = draw.draw(st.sampled_from(BAD_SIZES))
        if argument == "exposure":  # real exposures: fractions are fine, zero is not
            bad = draw.draw(
                st.sampled_from(
                    [[], [0.0, 2.0], [-1.0], [True, 2.0], ["3"], [math.nan], [[1.0], [1.0, 2.0]]]
                )
            )
    elif argument in reals:
        bad = draw.draw(st.sampled_from(BAD_REALS))
    else:
        bad = draw.draw(st.sampled_from(BAD_SPREADS))
    with pytest.raises((ValueError, TypeError), match=named(argument)):
        _call(name, **{argument: bad})


@pytest.mark.parametrize(
    ("changes", "argument"),
    [
        ({"national": (0.5, 0.6)}, "national"),  # off the simplex
        ({"national": (1.0,)}, "national"),
        ({"national": (0.5, 0.5, 0.0)}, "national"),
        ({"national": (0.5, math.nan)}, "national"),
        ({"categories": "abcd"}, "categories"),  # a bare string
        ({"categories": 4}, "categories"),
        ({"categories": ("a", "a", "b", "c")}, "categories"),
        ({"categories": ("a", "b")}, "categories"),
    ],
)
def test_simulate_survey_refuses_proportions_off_the_simplex(changes, argument):
    """national must be >= 2 positive proportions summing to 1; categories distinct
    names, one per proportion."""
    with pytest.raises((ValueError, TypeError), match=named(argument)):
        data.simulate_survey(seed=1, **changes)


@pytest.mark.parametrize(
    "changes",
    [
        {"n_public": 0},
        {"n_private": 2.0},
        {"n_public": True},
        {"sigma_range": 5.0},
        {"sigma_range": (1.0,)},
        {"sigma_range": (3.0, 1.0)},
        {"sigma_range": (0.0, 1.0)},
        {"sigma_range": "ab"},
        {"n_groups": 0},
    ],
)
def test_other_bad_arguments_are_named(changes):
    """Counts of schools and groups, and the range of standard errors, are checked."""
    (argument,) = changes
    name = "simulate_grouped" if argument == "n_groups" else "simulate_private_schools"
    with pytest.raises((ValueError, TypeError), match=named(argument)):
        _call(name, **changes)


def test_simulate_hospitals_refuses_rates_too_large_to_simulate():
    """A log rate of 100 (rate e**100) cannot be simulated: the error names mu_log."""
    with pytest.raises(ValueError, match="mu_log"):
        data.simulate_hospitals(seed=1, mu_log=100.0)


@FAST
@given(
    st.integers(0, 2**63),
    st.lists(st.integers(1, 50), min_size=1, max_size=6),
    st.floats(-1e6, 1e6),
    st.floats(0.0, 1e3),
    st.floats(1e-6, 1e3),
)
def test_grouped_simulators_give_promised_tables(seed, sizes, mean, tau, sigma):
    """Any valid settings give one row per individual with the promised labels, group
    means drawn around the grand mean, and the same data for the same seed."""
    study = data.simulate_grouped(
        seed=seed, n_groups=len(sizes), sizes=sizes, grand_mean=mean, tau=tau, sigma=sigma
    )
    assert isinstance(study, data.GroupedStudy)
    assert study.data.groupby("group").size().tolist() == sizes
    if tau == 0.0:
        assert np.all(study.true_means == mean)
    again = data.simulate_grouped(
        seed=seed, n_groups=len(sizes), sizes=sizes, grand_mean=mean, tau=tau, sigma=sigma
    )
    assert again.data.equals(study.data)
    instructors = data.simulate_instructors(
        seed=seed, section_sizes=tuple(sizes), grand_mean=mean, tau=tau, sigma=sigma
    )
    assert isinstance(instructors, data.InstructorStudy)
    assert instructors.scores.groupby("instructor").size().tolist() == sizes


@FAST
@given(
    st.integers(0, 2**32),
    st.lists(st.integers(1, 10**6), min_size=1, max_size=5),
    st.floats(-8.0, 8.0),
    st.floats(0.0, 3.0),
)
def test_count_simulators_give_valid_counts(seed, sizes, location, spread):
    """Survey rows sum to their sizes over SURVEY_CATEGORIES; hospital counts and made
    free throws are whole numbers in range, even at extreme logit or log rates."""
    survey = data.simulate_survey(seed=seed, region_sizes=tuple(sizes))
    assert isinstance(survey, data.Survey)
    assert tuple(survey.counts.columns) == data.SURVEY_CATEGORIES
    assert survey.counts.sum(axis=1).tolist() == sizes
    hospitals = data.simulate_hospitals(
        seed=seed, exposure=tuple(float(s) for s in sizes), mu_log=location, sigma_log=spread
    )
    assert isinstance(hospitals, data.HospitalStudy)
    assert (hospitals.events["events"] >= 0).all()
    shots = data.simulate_free_throws(
        seed=seed, attempts=tuple(sizes), mu_logit=location * 100, sigma_logit=spread
    )
    assert isinstance(shots, data.FreeThrowStudy)
    assert ((shots.shots["made"] >= 0) & (shots.shots["made"] <= shots.shots["attempts"])).all()
    assert np.all((shots.true_rates >= 0) & (shots.true_rates <= 1))


@FAST
@given(st.integers(0, 2**32), st.integers(1, 30), st.integers(1, 30), st.floats(0.1, 1e3))
def test_private_schools_layout(seed, n_public, n_private, low):
    """n_public public then n_private private schools, sigma within sigma_range."""
    study = data.simulate_private_schools(
        seed=seed, n_public=n_public, n_private=n_private, sigma_range=(low, 2 * low)
    )
    assert isinstance(study, data.PrivateSchoolStudy)
    assert study.schools["private"].tolist() == [False] * n_public + [True] * n_private
    assert study.schools["sigma"].between(low, 2 * low).all()


def test_loaders_match_published_tables():
    """The shipped data sets hold the published values (Rubin 1981 Table 2, Efron &
    Morris 1975 Table 1, Davies 1972 via lme4), with no missing entries."""
    schools = data.load_eight_schools()
    assert schools["y"].tolist() == [28, 8, -3, 7, -1, 1, 18, 12]
    assert schools["sigma"].tolist() == [15, 10, 16, 11, 9, 11, 10, 18]
    players = data.load_efron_morris()
    assert len(players) == 18 and (players["at_bats"] == 45).all()
    assert players["average"].tolist() == (players["hits"] / 45).tolist()
    for frame in (data.load_dyestuff(), data.load_dyestuff2()):
        assert frame.shape == (30, 2) and not frame.isna().any().any()
        assert frame.groupby("batch").size().tolist() == [5] * 6
    assert data.load_dyestuff()["yield"].mean() == pytest.approx(1527.5)
