"""Tests of companion.mixed.fit_random_intercept against closed forms.

For a balanced one-way layout (J groups of n) with mean squares MSB = n sum_j (ybar_j -
ybar)^2 / (J - 1) and MSW = sum_ij (y_ij - ybar_j)^2 / (J (n - 1)), the REML estimates are
the ANOVA (method-of-moments) ones whenever these are positive: sigma^2 = MSW,
tau^2 = (MSB - MSW) / n, mu = ybar; the ML ones are sigma^2 = MSW and
tau^2 = ((J - 1) / J MSB - MSW) / n (Searle, Casella & McCulloch 1992, *Variance
Components*, Sections 3.7-3.8). When MSB <= MSW both are tau^2 = 0, where the model is iid
Normal: sigma^2 = SS / (N - 1) (REML) or SS / N (ML).

Given tau and sigma, the BLUP of group j's mean is the partial-pooling estimate
mu + (1 - B_j) (ybar_j - mu), B_j = (sigma^2 / n_j) / (sigma^2 / n_j + tau^2), with mu the
GLS mean sum_j w_j ybar_j / sum_j w_j, w_j = 1 / (tau^2 + sigma^2 / n_j) (Gelman & Hill
2007, Section 12.2); the chapter "The pooling problem" relies on this relation.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

from companion.mixed import fit_random_intercept


def balanced_scores(seed: int, *, n_groups: int = 6, per_group: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    labels = np.repeat([f"s{j}" for j in range(n_groups)], per_group)
    effects = np.repeat(rng.normal(0.0, 3.0, n_groups), per_group)
    values = 50.0 + effects + rng.normal(0.0, 2.0, n_groups * per_group)
    return pd.DataFrame({"score": values, "school": labels})


def anova(frame: pd.DataFrame) -> dict[str, float]:
    """Grand mean and the between/within mean squares of a balanced layout."""
    y = frame["score"].to_numpy()
    group_means = frame.groupby("school")["score"].transform("mean").to_numpy()
    n_groups = frame["school"].nunique()
    per_group = len(y) // n_groups
    grand = y.mean()
    ss_between = ((group_means - grand) ** 2).sum()  # = n sum_j (ybar_j - ybar)^2
    ss_within = ((y - group_means) ** 2).sum()
    return {
        "grand": grand,
        "J": n_groups,
        "n": per_group,
        "msb": ss_between / (n_groups - 1),
        "msw": ss_within / (n_groups * (per_group - 1)),
    }


def test_reml_matches_anova_estimates_on_balanced_data():
    """Balanced data with clear between-group variation: REML gives mu = grand mean,
    sigma^2 = MSW, tau^2 = (MSB - MSW) / n and se(mu)^2 = MSB / (n J), not on the boundary."""
    frame = balanced_scores(1)
    a = anova(frame)
    assert a["msb"] > 2 * a["msw"]  # the closed form applies (positive tau^2)
    fit = fit_random_intercept(frame, response="score", group="school")
    assert not fit.boundary
    assert fit.intercept == pytest.approx(a["grand"], rel=1e-10)
    assert fit.residual_sd**2 == pytest.approx(a["msw"], rel=1e-4)
    assert fit.group_sd**2 == pytest.approx((a["msb"] - a["msw"]) / a["n"], rel=1e-4)
    assert fit.intercept_se**2 == pytest.approx(a["msb"] / (a["n"] * a["J"]), rel=1e-4)


def test_ml_matches_closed_form_on_balanced_data():
    """With reml=False: sigma^2 = MSW and tau^2 = ((J - 1) / J MSB - MSW) / n, smaller than
    the REML tau^2."""
    frame = balanced_scores(1)
    a = anova(frame)
    fit = fit_random_intercept(frame, response="score", group="school", reml=False)
    expected_tau2 = ((a["J"] - 1) / a["J"] * a["msb"] - a["msw"]) / a["n"]
    assert expected_tau2 > 0
    assert fit.residual_sd**2 == pytest.approx(a["msw"], rel=1e-3)
    assert fit.group_sd**2 == pytest.approx(expected_tau2, rel=1e-3)
    assert fit.group_sd < fit_random_intercept(frame, response="score", group="school").group_sd


@pytest.mark.parametrize("balanced", [True, False])
def test_blups_are_the_shrinkage_formula(balanced):
    """Each BLUP equals mu + (1 - B_j)(ybar_j - mu) with B_j = (sigma^2/n_j) / (sigma^2/n_j +
    tau^2) at the fitted tau and sigma, and mu is the GLS mean with weights
    1 / (tau^2 + sigma^2/n_j); groups with fewer observations shrink more. The BLUPs are
    indexed by the sorted labels even when the rows arrive unsorted."""
    frame = balanced_scores(2, n_groups=5, per_group=8)
    if not balanced:
        sizes = {"s0": 2, "s1": 8, "s2": 3, "s3": 6, "s4": 1}
        frame = frame.groupby("school").head(8)
        frame = pd.concat([frame[frame["school"] == g].head(k) for g, k in sizes.items()])
    frame = frame.sample(frac=1.0, random_state=3)  # shuffle the rows
    fit = fit_random_intercept(frame, response="score", group="school")
    assert not fit.boundary

    stats = frame.groupby("school")["score"].agg(["mean", "size"])
    tau2, sigma2 = fit.group_sd**2, fit.residual_sd**2
    weights = 1.0 / (tau2 + sigma2 / stats["size"])
    gls_mean = (weights * stats["mean"]).sum() / weights.sum()
    shrink = (sigma2 / stats["size"]) / (sigma2 / stats["size"] + tau2)
    expected = fit.intercept + (1 - shrink) * (stats["mean"] - fit.intercept)

    assert fit.blups.index.tolist() == ["s0", "s1", "s2", "s3", "s4"]
    assert fit.intercept == pytest.approx(gls_mean, rel=1e-6)
    np.testing.assert_allclose(fit.blups.to_numpy(), expected.loc[fit.blups.index], rtol=1e-8)
    if not balanced:
        assert shrink["s4"] > shrink["s0"] > shrink["s3"] > shrink["s1"]


@pytest.mark.parametrize(("reml", "dof_lost"), [(True, 1), (False, 0)])
def test_identical_group_means_give_boundary_fit(reml, dof_lost):
    """Groups whose means are identical by construction (each group is a permutation of the
    same five scores) have MSB = 0 < MSW, so tau^2 = 0: the fit reports boundary=True and
    tau = 0, every BLUP equals the intercept (the common mean 50), sigma^2 is the iid
    estimate SS / (N - 1) (REML) or SS / N (ML), and no exception or warning escapes."""
    rng = np.random.default_rng(4)
    deviations = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    values = 50.0 + np.concatenate([rng.permutation(deviations) for _ in range(6)])
    frame = pd.DataFrame({"score": values, "school": np.repeat(list("abcdef"), 5)})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = fit_random_intercept(frame, response="score", group="school", reml=reml)
    assert fit.boundary
    assert fit.group_sd == 0.0
    assert fit.intercept == pytest.approx(50.0, rel=1e-12)
    np.testing.assert_allclose(fit.blups.to_numpy(), fit.intercept, rtol=1e-12)
    assert fit.blups.index.tolist() == list("abcdef")
    ss = ((values - 50.0) ** 2).sum()
    assert fit.residual_sd**2 == pytest.approx(ss / (len(values) - dof_lost), rel=1e-6)


def test_bad_input_raises():
    """A non-DataFrame raises TypeError; a missing column, NaN responses and missing group
    labels (which must not become a group called 'nan' or 'None') raise ValueError naming
    the argument or column."""
    frame = balanced_scores(5)
    with pytest.raises(TypeError, match="^df"):
        fit_random_intercept(frame.to_numpy(), response="score", group="school")
    with pytest.raises(ValueError, match="^response"):
        fit_random_intercept(frame, response="points", group="school")
    with pytest.raises(ValueError, match="^group"):
        fit_random_intercept(frame, response="score", group="class")
    with_nan = frame.assign(score=frame["score"].where(frame.index != 3))
    with pytest.raises(ValueError, match="score"):
        fit_random_intercept(with_nan, response="score", group="school")
    for missing in (None, np.nan):
        unlabelled = frame.astype({"school": object})
        unlabelled.loc[3, "school"] = missing
        with pytest.raises(ValueError, match="^group"):
            fit_random_intercept(unlabelled, response="score", group="school")
