"""Tests of the multilevel data sets in companion.data against published summaries.

Every expected value comes from outside the loader: lme4's own tests and documentation
(GitHub ``lme4/lme4``), Bates' lme4 book, Gelman & Hill's book and published tables of the
Minnesota radon survey; where a published value is a model fit, the model is computed here
in closed form or by statsmodels, not by ``companion.mixed``. Where each table was copied
from and what it was checked against: ``companion/datasets/README.md``.
"""

import numpy as np
import pandas as pd
import pytest

from companion import data

# lme4, tests/testthat/test-lmList.R: each subject's least-squares line
# lmList(Reaction ~ Days | Subject, sleepstudy), subjects 308..372 in order (8 digits).
LMLIST_INTERCEPTS = [
    244.19267, 205.05495, 203.48423, 289.68509, 285.73897, 264.25161, 275.01911, 240.16291,
    263.03469, 290.10413, 215.11177, 225.8346, 261.14701, 276.37207, 254.96815, 210.44909,
    253.63604, 267.0448,
]  # fmt: skip
LMLIST_SLOPES = [
    21.764702, 2.2617855, 6.1148988, 3.0080727, 5.2660188, 9.5667679, 9.1420455, 12.253141,
    -2.8810339, 19.025974, 13.493933, 19.504017, 6.4334976, 13.566549, 11.348109, 18.056151,
    9.1884448, 11.298073,
]  # fmt: skip
LMLIST_RSE = 25.5918156267  # the same file: summary(lmList(...))$RSE, the pooled residual sd
# lme4, tests/lmer-1.R: fixef(lmer(Reaction ~ Days + (Days | Subject), sleepstudy)); the
# design is balanced, so these are also the least-squares coefficients.
LME4_FIXEF = [251.405104848485, 10.467285959595]

# lme4's printed REML fits (docs/reference/Penicillin.html and Pastes.html of lme4/lme4 at
# 32b5bfd, the package's documentation site): Std.Dev. of each term and the residual.
PENICILLIN_SDS = {"plate": 0.8467, "sample": 1.9316, "residual": 0.5499}
PASTES_SDS = {"batch": 1.2874, "cask": 2.9041, "residual": 0.8234}

# The county sizes of the Minnesota screening survey, http://eetd.lbl.gov/IEP/high-radon/
# data/minn-tbl.html (Price, Nero & Gelman 1996): the first 38 counties of its table.
LBL_COUNTY_SIZES = {
    "AITKIN": 4, "ANOKA": 52, "BECKER": 3, "BELTRAMI": 7, "BENTON": 4, "BIG STONE": 3,
    "BLUE EARTH": 14, "BROWN": 4, "CARLTON": 10, "CARVER": 6, "CASS": 5, "CHIPPEWA": 4,
    "CHISAGO": 6, "CLAY": 14, "CLEARWATER": 4, "COOK": 2, "COTTONWOOD": 4, "CROW WING": 12,
    "DAKOTA": 63, "DODGE": 3, "DOUGLAS": 9, "FARIBAULT": 6, "FILLMORE": 2, "FREEBORN": 9,
    "GOODHUE": 14, "HENNEPIN": 105, "HOUSTON": 6, "HUBBARD": 5, "ISANTI": 3, "ITASCA": 11,
    "JACKSON": 5, "KANABEC": 4, "KANDIYOHI": 4, "KITTSON": 3, "KOOCHICHING": 7,
    "LAC QUI PARLE": 2, "LAKE": 9, "LAKE OF THE WOODS": 4,
}  # fmt: skip


def decimals(value: float) -> int:
    """Number of decimals printed in a published number such as 0.8467."""
    text = repr(value)
    return len(text.split(".")[1]) if "." in text else 0


def assert_printed(actual: float, published: float) -> None:
    """``actual`` rounds to ``published`` at the digits printed (half a unit of the last)."""
    assert abs(actual - published) <= 0.5 * 10.0 ** -decimals(published) + 1e-12, (
        actual,
        published,
    )


# --------------------------------------------------------------------------- sleepstudy


def test_sleepstudy_layout():
    """180 rows: 18 subjects, each observed once on each of days 0..9; subject is a
    categorical with lme4's levels "308".."372" in order."""
    sleep = data.load_sleepstudy()
    assert sleep.shape == (180, 3)
    assert list(sleep.columns) == ["subject", "days", "reaction"]
    assert isinstance(sleep["subject"].dtype, pd.CategoricalDtype)
    assert list(sleep["subject"].cat.categories)[:3] == ["308", "309", "310"]
    assert sleep["subject"].nunique() == 18
    assert sleep["days"].dtype.kind == "i" and sleep["reaction"].dtype == float
    table = pd.crosstab(sleep["subject"], sleep["days"])
    assert table.shape == (18, 10) and (table.to_numpy() == 1).all()
    assert list(table.columns) == list(range(10))


def test_sleepstudy_subject_lines_match_lme4_lmlist():
    """Each subject's least-squares line (numpy) equals lme4's lmList coefficients, and the
    pooled residual sd its summary: every one of the 180 reaction times enters these."""
    sleep = data.load_sleepstudy()
    lines, squares = [], 0.0
    for _, rows in sleep.groupby("subject", observed=True):
        design = np.column_stack([np.ones(len(rows)), rows["days"]])
        coef, rss, *_ = np.linalg.lstsq(design, rows["reaction"].to_numpy(), rcond=None)
        lines.append(coef)
        squares += float(rss[0])
    lines = np.array(lines)
    np.testing.assert_allclose(lines[:, 0], LMLIST_INTERCEPTS, rtol=2e-7)
    np.testing.assert_allclose(lines[:, 1], LMLIST_SLOPES, rtol=2e-7, atol=1e-6)
    assert np.sqrt(squares / (180 - 2 * 18)) == pytest.approx(LMLIST_RSE, rel=1e-10)


def test_sleepstudy_least_squares_line_is_lme4_fixed_effects():
    """With every subject seen on the same days, the GLS fixed effects of lme4's random-slopes
    fit are the pooled least-squares line: numpy's lstsq reproduces them to 1e-12."""
    sleep = data.load_sleepstudy()
    design = np.column_stack([np.ones(180), sleep["days"]])
    coef = np.linalg.lstsq(design, sleep["reaction"].to_numpy(), rcond=None)[0]
    np.testing.assert_allclose(coef, LME4_FIXEF, rtol=1e-12)


def test_sleepstudy_daily_means_follow_the_average_subject_line():
    """With every subject seen on days 0..9, the least-squares line through the 10 daily
    means is the average of the subjects' own lines (lme4's lmList coefficients averaged):
    mean reaction time rises by about 10.5 ms a day of sleep deprivation."""
    sleep = data.load_sleepstudy()
    daily = sleep.groupby("days")["reaction"].mean()
    assert daily.index.tolist() == list(range(10))
    slope, intercept = np.polyfit(np.arange(10), daily.to_numpy(), 1)
    assert intercept == pytest.approx(np.mean(LMLIST_INTERCEPTS), rel=1e-7)
    assert slope == pytest.approx(np.mean(LMLIST_SLOPES), rel=1e-6)


# --------------------------------------------------------------------------- Penicillin


def anova_two_way(frame: pd.DataFrame, rows: str, columns: str, response: str) -> dict:
    """Mean squares of a balanced two-way layout with one observation per cell."""
    table = frame.pivot(index=rows, columns=columns, values=response).to_numpy()
    n_rows, n_cols = table.shape
    grand = table.mean()
    residual = table - table.mean(1, keepdims=True) - table.mean(0, keepdims=True) + grand
    return {
        "rows": n_cols * np.sum((table.mean(1) - grand) ** 2) / (n_rows - 1),
        "columns": n_rows * np.sum((table.mean(0) - grand) ** 2) / (n_cols - 1),
        "residual": np.sum(residual**2) / ((n_rows - 1) * (n_cols - 1)),
        "shape": (n_rows, n_cols),
    }


def test_penicillin_layout():
    """144 rows: 24 plates x 6 samples, every sample once on every plate (crossed)."""
    penicillin = data.load_penicillin()
    assert penicillin.shape == (144, 3)
    assert list(penicillin.columns) == ["plate", "sample", "diameter"]
    for column, levels in (("plate", "abcdefghijklmnopqrstuvwx"), ("sample", "ABCDEF")):
        assert isinstance(penicillin[column].dtype, pd.CategoricalDtype)
        assert list(penicillin[column].cat.categories) == list(levels)
    assert (pd.crosstab(penicillin["plate"], penicillin["sample"]).to_numpy() == 1).all()
    # str(Penicillin) in lme4's documentation: diameter 27 23 26 23 23 21 27 23 26 23 ...
    assert penicillin["diameter"].iloc[:10].tolist() == [27, 23, 26, 23, 23, 21, 27, 23, 26, 23]
    # MixedModels.jl test/pls.jl: the intercept 22.97222222222222 is the mean (balanced).
    assert penicillin["diameter"].mean() == pytest.approx(22.97222222222222, rel=1e-14)


def test_penicillin_anova_estimates_are_lme4_reml_sds():
    """For balanced data the REML estimates are the ANOVA ones when these are positive
    (Searle, Casella & McCulloch 1992, *Variance Components*): sigma^2 = MSE, plate
    variance (MS_plate - MSE) / 6, sample variance (MS_sample - MSE) / 24; their roots
    round to lme4's printed sds."""
    ms = anova_two_way(data.load_penicillin(), "plate", "sample", "diameter")
    n_plates, n_samples = ms["shape"]
    assert_printed(np.sqrt((ms["rows"] - ms["residual"]) / n_samples), PENICILLIN_SDS["plate"])
    assert_printed(np.sqrt((ms["columns"] - ms["residual"]) / n_plates), PENICILLIN_SDS["sample"])
    assert_printed(np.sqrt(ms["residual"]), PENICILLIN_SDS["residual"])


# --------------------------------------------------------------------------- Pastes


def test_pastes_layout():
    """60 rows: 10 batches x 3 casks = 30 samples, each assayed twice; sample is batch:cask,
    so the casks are nested in the batches."""
    pastes = data.load_pastes()
    assert pastes.shape == (60, 4)
    assert list(pastes.columns) == ["batch", "cask", "sample", "strength"]
    assert list(pastes["batch"].cat.categories) == list("ABCDEFGHIJ")
    assert list(pastes["cask"].cat.categories) == list("abc")
    assert pastes["sample"].nunique() == 30
    assert (pastes["sample"].astype(str) == pastes["batch"].astype(str) + ":"
            + pastes["cask"].astype(str)).all()  # fmt: skip
    assert (pastes.groupby("sample", observed=True).size() == 2).all()
    assert (pastes.groupby("batch", observed=True)["sample"].nunique() == 3).all()
    # str(Pastes) in lme4's documentation: strength 62.8 62.6 60.1 62.3 62.7 63.1 60 61.4 ...
    first = [62.8, 62.6, 60.1, 62.3, 62.7, 63.1, 60, 61.4, 57.5, 56.9]
    assert pastes["strength"].iloc[:10].tolist() == first
    # MixedModels.jl test/pls.jl: the intercept 60.05333333333329 is the mean (balanced).
    assert pastes["strength"].mean() == pytest.approx(60.05333333333329, rel=1e-13)


def test_pastes_anova_estimates_are_lme4_reml_sds():
    """Balanced nested ANOVA (Searle, Casella & McCulloch 1992), equal to REML here as all
    three estimates are positive: sigma^2 = MSE
    (between assays of a cask), cask variance (MS_cask - MSE) / 2, batch variance (MS_batch
    - MS_cask) / 6; their roots round to lme4's printed REML sds."""
    strength = data.load_pastes()["strength"].to_numpy().reshape(10, 3, 2)
    grand, batch, cask = strength.mean(), strength.mean((1, 2)), strength.mean(2)
    ms_batch = 6 * np.sum((batch - grand) ** 2) / 9
    ms_cask = 2 * np.sum((cask - batch[:, None]) ** 2) / 20
    ms_error = np.sum((strength - cask[..., None]) ** 2) / 30
    assert_printed(np.sqrt((ms_batch - ms_cask) / 6), PASTES_SDS["batch"])
    assert_printed(np.sqrt((ms_cask - ms_error) / 2), PASTES_SDS["cask"])
    assert_printed(np.sqrt(ms_error), PASTES_SDS["residual"])


# --------------------------------------------------------------------------- radon


def test_radon_layout():
    """919 houses in 85 counties; county sizes range from 1 (three counties) to 116 (St
    Louis); the uranium measure is one value per county; floor is 0/1."""
    radon = data.load_radon()
    assert radon.shape == (919, 4)
    assert list(radon.columns) == ["county", "floor", "log_radon", "log_uranium"]
    assert isinstance(radon["county"].dtype, pd.CategoricalDtype)
    sizes = radon["county"].value_counts()
    assert sizes.size == 85 and sizes.sum() == 919
    assert sizes.min() == 1 and sizes.max() == 116 and sizes.idxmax() == "ST LOUIS"
    assert sorted(sizes[sizes == 1].index) == ["MAHNOMEN", "MURRAY", "WILKIN"]
    per_county = radon.groupby("county", observed=True)["log_uranium"].nunique()
    assert (per_county == 1).all()
    assert set(radon["floor"].unique()) == {0, 1}
    assert list(radon["county"].cat.categories) == sorted(radon["county"].cat.categories)


def test_radon_county_sizes_match_the_lbl_table():
    """The number of houses in each county equals the Minnesota table of the LBL
    high-radon project (Price, Nero & Gelman 1996) for the 38 counties listed there."""
    sizes = data.load_radon()["county"].value_counts()
    assert {county: int(sizes[county]) for county in LBL_COUNTY_SIZES} == LBL_COUNTY_SIZES


def test_radon_matches_the_raw_data_summary():
    """Back-transformed, the data match the summary of Gelman & Hill's raw files printed at
    http://www.stats.ox.ac.uk/~laws/LMs/Radon.html: uranium from 0.414 to 1.696 ppm with
    house-weighted mean 0.934, first-floor share 0.166, maximum radon 48.2 pCi/L, and the
    first and last houses (2.2 pCi/L on the first floor in Aitkin, 0.502 ppm; 2.9 pCi/L in
    the basement in Yellow Medicine, 1.427 ppm)."""
    radon = data.load_radon()
    uranium = np.exp(radon["log_uranium"])
    assert round(uranium.min(), 3) == 0.414 and round(uranium.max(), 3) == 1.696
    assert round(uranium.mean(), 3) == 0.934
    assert round(radon["floor"].mean(), 3) == 0.166
    assert round(np.exp(radon["log_radon"]).max(), 1) == 48.2
    first, last = radon.iloc[0], radon.iloc[-1]
    assert (first["county"], first["floor"]) == ("AITKIN", 1)
    assert round(np.exp(first["log_radon"]), 1) == 2.2
    assert round(np.exp(first["log_uranium"]), 3) == 0.502
    assert (last["county"], last["floor"]) == ("YELLOW MEDICINE", 0)
    assert round(np.exp(last["log_radon"]), 1) == 2.9
    assert round(np.exp(last["log_uranium"]), 3) == 1.427


def test_radon_varying_intercept_fits_match_gelman_hill():
    """statsmodels' REML fits (Powell's method: the default BFGS stops short on the second
    model) of Gelman & Hill's two varying-intercept models round to the hyperparameters they
    print (Section 12.3, p. 258: mu_alpha = 1.46, beta = -0.69,
    sigma_y = 0.76, sigma_alpha = 0.33; Section 12.6, with the county uranium: 1.47, -0.67,
    gamma = 0.72, sigma_y = 0.76, sigma_alpha = 0.16)."""
    import statsmodels.formula.api as smf

    radon = data.load_radon()
    published = [
        ("log_radon ~ floor", [1.46, -0.69], 0.33, 0.76),
        ("log_radon ~ floor + log_uranium", [1.47, -0.67, 0.72], 0.16, 0.76),
    ]
    for formula, coefficients, county_sd, residual_sd in published:
        model = smf.mixedlm(formula, radon, groups=radon["county"].astype(str))
        fit = model.fit(reml=True, method="powell")  # statsmodels' default BFGS stalls on one
        assert fit.converged
        for estimate, value in zip(fit.fe_params, coefficients, strict=True):
            assert_printed(estimate, value)
        assert_printed(float(np.sqrt(fit.cov_re.iloc[0, 0])), county_sd)
        assert_printed(float(np.sqrt(fit.scale)), residual_sd)


def test_loaders_return_fresh_copies():
    """Changing a loaded table does not change the next load."""
    for loader in (data.load_sleepstudy, data.load_penicillin, data.load_pastes, data.load_radon):
        first = loader()
        column = first.columns[-1]
        original = first[column].iloc[0]
        first.loc[0, column] = -999.0
        assert loader()[column].iloc[0] == original
