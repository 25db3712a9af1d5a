"""Property tests of companion.models: bad input is refused by name, extreme input builds.

Bad input (NaN, infinite, zero, negative, string, boolean or complex settings, unknown
option strings, unusable dimension names or labels, invalid tau priors) must raise a
ValueError or TypeError whose message starts with the argument's name. Good but extreme
input (scales from 1e-6 to 1e6, one group or many, counts up to 2**53) must build a model
whose coordinates match the data and whose log density at the initial point is finite.
No model is sampled: building and compiling the log density is all that is checked.
"""

import math
from typing import get_args

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from scipy import stats

from companion import models

COVERED = {
    "models.Parameterization",
    "models.Pooling",
    "models.dirichlet_multinomial",
    "models.eight_schools",
    "models.funnel",
    "models.group_summaries",
    "models.grouped_observations",
    "models.hierarchical_binomial",
    "models.hierarchical_poisson",
    "models.hierarchical_with_covariate",
}

FAST = settings(max_examples=40, deadline=None, derandomize=True)
# Good-input tests compile a log density (about half a second each even in PyTensor's
# FAST_COMPILE mode), so they try few examples and do not shrink a failure.
COMPILING = settings(
    max_examples=3,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)
ERRORS = (ValueError, TypeError)

SCHOOLS = pd.DataFrame(
    {"school": ["A", "B", "C"], "y": [28.0, 8.0, -3.0], "sigma": [15.0, 10.0, 16.0]}
)
# One valid call per builder: (function, positional data, keyword options).
CALLS = {
    "group_summaries": (models.group_summaries, ([1.0, 2.0, 3.0], [1.0, 2.0, 1.0]), {}),
    "grouped_observations": (
        models.grouped_observations,
        ([1.0, 2.0, 3.0, 4.0], ["a", "b", "a", "b"]),
        {},
    ),
    "eight_schools": (models.eight_schools, (SCHOOLS,), {}),
    "funnel": (models.funnel, (), {}),
    "hierarchical_with_covariate": (
        models.hierarchical_with_covariate,
        ([1.0, 2.0, 3.0], [1.0, 1.0, 1.0], [0.0, 1.0, 1.0]),
        {},
    ),
    "dirichlet_multinomial": (models.dirichlet_multinomial, ([[1, 2], [3, 4]],), {}),
    "hierarchical_poisson": (models.hierarchical_poisson, ([1, 5], [1.0, 2.0]), {}),
    "hierarchical_binomial": (models.hierarchical_binomial, ([1, 5], [3, 9]), {}),
}

SCALE_ARGUMENTS = [
    ("group_summaries", "mu_prior_sd"),
    ("group_summaries", "tau_prior_sd"),
    ("grouped_observations", "mu_prior_sd"),
    ("grouped_observations", "tau_prior_sd"),
    ("grouped_observations", "sigma_prior_sd"),
    ("eight_schools", "mu_prior_sd"),
    ("hierarchical_with_covariate", "mu_prior_sd"),
    ("hierarchical_with_covariate", "beta_prior_sd"),
    ("hierarchical_poisson", "mu_prior_sd"),
    ("hierarchical_poisson", "tau_prior_sd"),
    ("hierarchical_binomial", "mu_prior_sd"),
    ("hierarchical_binomial", "tau_prior_sd"),
]
MEAN_ARGUMENTS = [
    ("group_summaries", "mu_prior_mean"),
    ("grouped_observations", "mu_prior_mean"),
    ("hierarchical_poisson", "mu_prior_mean"),
    ("hierarchical_binomial", "mu_prior_mean"),
]
TAU_PRIOR_BUILDERS = ["group_summaries", "eight_schools", "hierarchical_with_covariate"]
PARAMETERIZATION_BUILDERS = [name for name in CALLS if name != "dirichlet_multinomial"]
DIM_BUILDERS = {
    "group_summaries": ("mu", "tau", "theta", "theta_offset", "y"),
    "grouped_observations": ("mu", "tau", "theta", "theta_offset", "y", "sigma", "obs_id"),
    "hierarchical_with_covariate": ("mu", "beta", "tau", "theta", "theta_offset", "y"),
    "hierarchical_poisson": ("mu", "tau", "theta", "theta_offset", "rate", "y"),
    "hierarchical_binomial": ("mu", "tau", "theta", "theta_offset", "p", "y"),
}
LABELLED = {  # builders whose group labels are a ``groups`` sequence, and their group count
    "group_summaries": 3,
    "hierarchical_with_covariate": 3,
    "hierarchical_poisson": 2,
    "hierarchical_binomial": 2,
    "dirichlet_multinomial": 2,
}

# Values that are not numbers at all, or not real numbers.
not_numbers = st.one_of(
    st.text(max_size=5),
    st.booleans(),
    st.none(),
    st.complex_numbers(allow_nan=False, allow_infinity=False).filter(lambda z: z.imag != 0),
    st.lists(st.floats(0.5, 2.0), min_size=2, max_size=3),
    st.just(np.array([1.0, 2.0])),
    st.just(np.complex128(1 + 1j)),
)
non_finite = st.sampled_from([math.nan, math.inf, -math.inf, np.float64("nan")])
bad_scales = st.one_of(
    not_numbers, non_finite, st.just(0.0), st.just(-0.0), st.floats(max_value=-1e-300)
)
bad_means = st.one_of(not_numbers, non_finite)


def call(name: str, **options):
    """Call builder ``name`` on its valid data with ``options`` replacing its defaults."""
    function, args, kwargs = CALLS[name]
    return function(*args, **{**kwargs, **options})


def initial_logp(model) -> float:
    """The model's joint log density at its initial point (compiled without C code: the
    value is the same, the compilation much quicker)."""
    return float(model.compile_logp(mode="FAST_COMPILE")(model.initial_point()))


# ------------------------------------------------------------------ bad settings


@FAST
@given(case=st.sampled_from(SCALE_ARGUMENTS), value=bad_scales)
def test_bad_scales_are_refused_by_name(case, value):
    """Every prior standard deviation refuses NaN, infinity, zero, negatives, strings,
    booleans, complex numbers, None and arrays with an error naming it."""
    builder, argument = case
    # None means "not given" for group_summaries' tau_prior_sd (tau_prior or HalfNormal(10))
    assume(not ((builder, argument) == ("group_summaries", "tau_prior_sd") and value is None))
    with pytest.raises(ERRORS, match=rf"^{argument}\b"):
        call(builder, **{argument: value})


@FAST
@given(case=st.sampled_from(MEAN_ARGUMENTS), value=bad_means)
def test_bad_prior_means_are_refused_by_name(case, value):
    """``mu_prior_mean`` refuses NaN and infinity (a NaN log density), arrays such as
    [1., 2.] (a mu of the wrong shape), strings, booleans and complex numbers."""
    builder, argument = case
    # None means "not given" for group_summaries' tau_prior_sd (tau_prior or HalfNormal(10))
    assume(not ((builder, argument) == ("group_summaries", "tau_prior_sd") and value is None))
    with pytest.raises(ERRORS, match=rf"^{argument}\b"):
        call(builder, **{argument: value})


bad_scipy_scales = st.one_of(non_finite, st.just(0.0), st.floats(max_value=-1e-9), st.just("2"))
bad_tau_priors = st.one_of(
    bad_scipy_scales.map(lambda s: stats.halfnorm(scale=s)),
    bad_scipy_scales.map(lambda s: stats.halfcauchy(scale=s)),
    st.floats(1e-3, 10).map(lambda loc: stats.halfnorm(loc=loc)),
    st.floats(-10, -1e-3).map(lambda a: stats.uniform(a, 1.0)),
    st.sampled_from([math.nan, math.inf, -1.0, 0.0]).map(lambda w: stats.uniform(0.0, w)),
    st.just(stats.halfnorm(scale=[1.0, 2.0])),
    st.just(stats.gamma(2.0)),
    st.just(stats.norm()),
    st.just(stats.halfnorm),  # the distribution, not frozen
    st.just(stats.poisson(3.0)),  # discrete
    not_numbers.filter(lambda value: value is not None),  # None is the default prior
    st.floats(0.1, 10),  # a number, not a distribution
)


@FAST
@given(builder=st.sampled_from(TAU_PRIOR_BUILDERS), prior=bad_tau_priors)
def test_bad_tau_priors_are_refused_by_name(builder, prior):
    """A tau prior that is not a frozen scipy distribution, another family, a half-Normal
    or half-Cauchy not from 0 or with a NaN, infinite, zero, negative or string scale, a
    uniform below 0 or of unusable width, or with vector parameters, raises naming
    ``tau_prior``."""
    with pytest.raises(ERRORS, match=r"^tau_prior\b"):
        call(builder, tau_prior=prior)


@FAST
@given(value=st.one_of(bad_scales, st.floats(0.1, 100)).filter(lambda v: v is not None))
def test_group_summaries_refuses_tau_prior_sd_with_tau_prior(value):
    """``tau_prior_sd`` and ``tau_prior`` both set tau's prior: giving both, with a good or a
    bad scale (None means not given), is refused naming both (one used to win silently)."""
    with pytest.raises(ValueError, match=r"^tau_prior_sd and tau_prior\b"):
        call("group_summaries", tau_prior=stats.halfnorm(scale=1.0), tau_prior_sd=value)


# ------------------------------------------------------------------ options and names


def option_values(allowed):
    """Strings outside ``allowed`` and non-strings (including the allowed ones in a list)."""
    return st.one_of(
        st.text(max_size=15).filter(lambda text: text not in allowed),
        st.sampled_from(allowed).map(str.upper),
        st.none(),
        st.integers(),
        st.sampled_from(allowed).map(lambda text: [text]),
        st.sampled_from(allowed).map(lambda text: np.array([text])),
    )


@FAST
@given(
    builder=st.sampled_from(["group_summaries", "grouped_observations"]),
    value=option_values(get_args(models.Pooling)),
)
def test_bad_pooling_is_refused_listing_the_choices(builder, value):
    """An unknown ``pooling`` raises naming the argument and listing every value of the
    ``Pooling`` alias, so the reader sees what to write instead."""
    with pytest.raises(ERRORS, match=r"^pooling\b") as error:
        call(builder, pooling=value)
    for allowed in get_args(models.Pooling):
        assert repr(allowed) in str(error.value)


@FAST
@given(
    builder=st.sampled_from(PARAMETERIZATION_BUILDERS),
    value=option_values(get_args(models.Parameterization)),
)
def test_bad_parameterization_is_refused_listing_the_choices(builder, value):
    """An unknown ``parameterization`` raises naming the argument and listing every value
    of the ``Parameterization`` alias, in every builder that takes it."""
    with pytest.raises(ERRORS, match=r"^parameterization\b") as error:
        call(builder, parameterization=value)
    for allowed in get_args(models.Parameterization):
        assert repr(allowed) in str(error.value)


@FAST
@given(
    builder=st.sampled_from(["group_summaries", "grouped_observations", "funnel"]),
    data=st.data(),
)
def test_every_value_of_the_option_aliases_builds(builder, data):
    """Each value of ``Pooling`` and ``Parameterization`` is accepted (the aliases and the
    checks agree)."""
    options = {"parameterization": data.draw(st.sampled_from(get_args(models.Parameterization)))}
    if builder != "funnel":
        options["pooling"] = data.draw(st.sampled_from(get_args(models.Pooling)))
    assert call(builder, **options).named_vars


@FAST
@given(
    builder=st.sampled_from(sorted(DIM_BUILDERS)),
    data=st.data(),
)
def test_bad_dim_names_are_refused(builder, data):
    """``dim`` must be a non-empty string that names neither a variable of the model (nor
    ``obs_id``, the observations' dim, where every observation would get its own theta)
    nor ArviZ's ``chain``/``draw``: anything else raises naming ``dim``."""
    value = data.draw(
        st.one_of(
            st.sampled_from(["", " ", "\t"]),
            st.sampled_from(DIM_BUILDERS[builder] + ("chain", "draw")),
            st.integers(),
            st.none(),
            st.just(("group",)),
        )
    )
    with pytest.raises(ERRORS, match=r"^dim\b"):
        call(builder, dim=value)


@FAST
@given(
    dims=st.one_of(
        st.text(min_size=2, max_size=2),
        st.none(),
        st.integers(),
        st.tuples(st.text(min_size=1, max_size=5)).map(tuple),
        st.text(min_size=1, max_size=5).map(lambda d: (d, d)),
        st.tuples(
            st.sampled_from(["", " ", "alpha", "pi", "pi0", "y", "chain", 3, None]),
            st.just("category"),
        ),
        st.tuples(st.just("group"), st.sampled_from(["", "alpha", "pi0", "draw", 1.5])),
        st.lists(st.sampled_from(["a", "b", "c"]), min_size=3, max_size=4, unique=True),
    )
)
def test_bad_dirichlet_dims_are_refused(dims):
    """``dims`` must be two different, non-empty dimension names that are not variable
    names (alpha, pi0, pi, y) or ArviZ's: a plain string, one name, a repeated name, a
    non-string or a clash raises naming ``dims``."""
    with pytest.raises(ERRORS, match=r"^dims\b"):
        call("dirichlet_multinomial", dims=dims)


@FAST
@given(data=st.data(), builder=st.sampled_from(sorted(LABELLED)))
def test_bad_group_labels_are_refused(data, builder):
    """``groups`` must hold one distinct, non-missing scalar label per group: a wrong
    length, a repeated label (also one printing alike, 1 and "1"), a missing label, a
    plain string or a non-sequence raises naming ``groups``."""
    n = LABELLED[builder]
    labels = [f"g{i}" for i in range(n)]
    value = data.draw(
        st.one_of(
            st.integers(0, 6).filter(lambda k: k != n).map(lambda k: [f"g{i}" for i in range(k)]),
            st.just([labels[0]] * n),
            st.just([1, "1"] + labels[2:]),
            st.sampled_from([None, math.nan]).map(lambda missing: [missing] + labels[1:]),
            st.just("".join(f"{i}" for i in range(n))),
            st.integers(),
            st.just([["a", "b"]] + labels[1:]),
        )
    )
    with pytest.raises(ERRORS, match=r"^groups\b"):
        call(builder, groups=value)


@FAST
@given(
    groups=st.one_of(
        st.lists(st.sampled_from(["a", "b"]), min_size=1, max_size=6).filter(lambda g: len(g) != 4),
        st.just(["a", None, "b", "a"]),
        st.just(pd.Series([1, "1", 1, "1"], dtype=object)),
        st.just([{}, {}, {}, {}]),
        st.just([["a", "b"], ["a"], ["a"], ["b"]]),
        st.just("abab"),
    )
)
def test_grouped_observations_refuses_bad_labels(groups):
    """The observations' ``groups`` must give one hashable, sortable, non-missing label per
    value, and labels that print alike must not be two groups; else an error names it."""
    with pytest.raises(ERRORS, match=r"^groups\b"):
        models.grouped_observations([1.0, 2.0, 3.0, 4.0], groups)


# ------------------------------------------------------------------ bad data

bad_real_arrays = st.one_of(
    st.just([1.0, math.nan, 2.0]),
    st.just([1.0, math.inf, 2.0]),
    st.just(["1.0", "2.0", "3.0"]),
    st.just([1 + 1j, 2.0, 3.0]),
    st.just(np.array([1 + 1j, 2.0, 3.0])),
    st.just([True, False, True]),
    st.just([[1.0, 2.0], [3.0]]),
    st.just([]),
    st.just([1.0, None, 2.0]),
)


@FAST
@given(
    argument=st.sampled_from(["y", "sigma"]),
    builder=st.sampled_from(["group_summaries", "hierarchical_with_covariate"]),
    value=bad_real_arrays,
)
def test_bad_estimates_and_standard_errors_are_refused(argument, builder, value):
    """y and sigma refuse NaN, infinity, strings, complex numbers, booleans, ragged
    nesting, None and emptiness with an error naming them."""
    function, (y, sigma, *rest), _ = CALLS[builder]
    args = {"y": y, "sigma": sigma, argument: value}
    with pytest.raises(ERRORS, match=rf"^{argument}\b"):
        function(args["y"], args["sigma"], *rest)


@FAST
@given(values=bad_real_arrays)
def test_bad_observations_are_refused(values):
    """grouped_observations' ``values`` refuse the same bad entries, naming ``values``."""
    with pytest.raises(ERRORS, match=r"^values\b"):
        models.grouped_observations(values, ["a", "b", "c"])


@FAST
@given(
    column=st.sampled_from(["y", "sigma", "school"]),
    value=st.one_of(
        st.just([1.0, math.nan, 2.0]),
        st.just(["1", "2", "3"]),
        st.just([1 + 1j, 2.0, 3.0]),
        st.just([True, False, True]),
    ),
)
def test_eight_schools_refuses_bad_columns(column, value):
    """A bad y or sigma column, and missing or repeated school labels, raise naming
    ``data``."""
    frame = SCHOOLS.copy()
    if column == "school":
        frame["school"] = ["A", None, "B"] if value[0] == 1.0 else ["A", "A", "B"]
    else:
        frame[column] = pd.Series(value, dtype=object)
    with pytest.raises(ERRORS, match=r"^data\b"):
        models.eight_schools(frame)


@FAST
@given(x=st.one_of(bad_real_arrays, st.just([0.0, 1.0])))
def test_covariate_refuses_bad_predictor(x):
    """The predictor ``x`` refuses NaN, strings, complex numbers, ragged nesting and a
    length other than the number of groups (booleans are an accepted indicator)."""
    if isinstance(x, list) and x == [True, False, True]:
        assert models.hierarchical_with_covariate([1.0, 2.0, 3.0], [1.0] * 3, x).named_vars
        return
    with pytest.raises(ERRORS, match=r"^x\b"):
        models.hierarchical_with_covariate([1.0, 2.0, 3.0], [1.0] * 3, x)


bad_counts_1d = st.one_of(
    st.just([1, -1]),
    st.just([1, 2.5]),
    st.just([1, math.nan]),
    st.just([1, math.inf]),
    st.just(["1", "2"]),
    st.just([1 + 1j, 2]),
    st.just([True, False]),
    st.just([[1, 2], [3]]),
    st.just([[1, 2]]),
    st.just([2**53 + 2, 1]),
    st.just([1e300, 1.0]),
    st.just([10**30, 1]),
)


@FAST
@given(
    case=st.sampled_from(
        [
            ("hierarchical_poisson", "counts"),
            ("hierarchical_binomial", "successes"),
            ("hierarchical_binomial", "trials"),
        ]
    ),
    value=bad_counts_1d,
)
def test_bad_counts_are_refused_by_name(case, value):
    """Counts refuse negatives, fractions, NaN, infinity, strings, complex numbers,
    booleans, ragged or 2-D nesting, and counts beyond 2**53 (which PyMC would wrap or
    round), naming the argument."""
    builder, argument = case
    function, (first, second), _ = CALLS[builder]
    args = dict(zip(("first", "second"), (first, second), strict=True))
    args["first" if argument in ("counts", "successes") else "second"] = value
    if argument == "trials" and value == [1, 2.5]:
        args["first"] = [1, 2]
    with pytest.raises(ERRORS, match=rf"^{argument}\b"):
        function(args["first"], args["second"])


@FAST
@given(
    counts=st.one_of(
        st.just([[1, 2], [3]]),
        st.just([[1, -2], [3, 4]]),
        st.just([[1, 2.5], [3, 4]]),
        st.just([["1", "2"], ["3", "4"]]),
        st.just([[1 + 1j, 2], [3, 4]]),
        st.just([1, 2, 3]),
        st.just([[1], [2]]),
        st.just([[0, 0], [1, 2]]),
        st.just([[2**60, 1], [1, 1]]),
    )
)
def test_bad_category_tables_are_refused(counts):
    """The Dirichlet-Multinomial ``counts`` refuse ragged, negative, fractional, string or
    complex entries, a 1-D table, one category, an empty group and counts beyond 2**53."""
    with pytest.raises(ERRORS, match=r"^counts\b"):
        models.dirichlet_multinomial(counts)


@FAST
@given(value=st.one_of(st.text(max_size=3), st.none(), st.integers(), st.floats()))
def test_marginal_must_be_a_bool(value):
    """``marginal`` must be True or False: the string "no" is truthy and must not switch
    the marginal model on."""
    with pytest.raises(TypeError, match=r"^marginal\b"):
        models.dirichlet_multinomial([[1, 2], [3, 4]], marginal=value)


@FAST
@given(
    value=st.one_of(
        st.integers(max_value=0),
        st.floats(),
        st.text(max_size=2),
        st.booleans(),
        st.none(),
        st.just(2**64),
    )
)
def test_funnel_dims_must_be_a_positive_integer(value):
    """``funnel(dims=...)`` refuses zero, negatives, floats (even 2.0), strings, booleans
    and integers too large to index, naming ``dims``."""
    with pytest.raises(ERRORS, match=r"^dims\b"):
        models.funnel(dims=value)


# ------------------------------------------------------------------ extreme but valid

scales = st.floats(1e-6, 1e6)
means = st.floats(-1e6, 1e6)


@pytest.mark.parametrize("n_groups", [1, 200])
@COMPILING
@given(
    data=st.data(),
    pooling=st.sampled_from(get_args(models.Pooling)),
    parameterization=st.sampled_from(get_args(models.Parameterization)),
    use_tau_prior=st.booleans(),
)
def test_group_summaries_extreme_settings_build_finite_models(
    data, n_groups, pooling, parameterization, use_tau_prior
):
    """Estimates within +-1e6, standard errors and prior scales from 1e-6 to 1e6, one group
    or hundreds: the model has one coordinate entry per group, theta and y carry the dim,
    and the log density at the initial point is finite."""
    y = data.draw(st.lists(means, min_size=n_groups, max_size=n_groups))
    sigma = data.draw(st.lists(scales, min_size=1, max_size=1) | st.just([1.0] * n_groups))
    scale = data.draw(scales)
    tau_prior = (
        data.draw(
            st.sampled_from(
                [
                    stats.halfnorm(scale=scale),
                    stats.halfcauchy(scale=scale),
                    stats.uniform(0, scale),
                ]
            )
        )
        if use_tau_prior
        else None
    )
    model = models.group_summaries(
        y,
        sigma,
        pooling=pooling,
        parameterization=parameterization,
        dim="school",
        mu_prior_mean=data.draw(means),
        mu_prior_sd=data.draw(scales),
        tau_prior_sd=None if use_tau_prior else data.draw(scales),
        tau_prior=tau_prior,
    )
    assert len(model.coords["school"]) == n_groups
    assert model.named_vars_to_dims["theta"] == ("school",)
    assert model.named_vars_to_dims["y"] == ("school",)
    if pooling != "none":
        assert model["mu"].ndim == 0
    assert np.isfinite(initial_logp(model))


@pytest.mark.parametrize("n_groups", [1, 60])
@COMPILING
@given(
    data=st.data(),
    pooling=st.sampled_from(get_args(models.Pooling)),
)
def test_grouped_observations_extreme_settings_build_finite_models(data, n_groups, pooling):
    """Observations within +-1e6 in one to many groups, prior scales from 1e-6 to 1e6: one
    coordinate entry per distinct label, one obs_id per value, finite initial log density."""
    per_group = data.draw(st.integers(1, 3))
    labels = np.repeat([f"g{j}" for j in range(n_groups)], per_group)
    values = data.draw(st.lists(means, min_size=labels.size, max_size=labels.size))
    model = models.grouped_observations(
        values,
        labels,
        pooling=pooling,
        mu_prior_mean=data.draw(means),
        mu_prior_sd=data.draw(scales),
        tau_prior_sd=data.draw(scales),
        sigma_prior_sd=data.draw(scales),
    )
    assert len(model.coords["group"]) == n_groups
    assert len(model.coords["obs_id"]) == labels.size
    assert model.named_vars_to_dims["y"] == ("obs_id",)
    assert np.isfinite(initial_logp(model))


@pytest.mark.parametrize("n_groups", [1, 50])
@COMPILING
@given(data=st.data())
def test_covariate_and_eight_schools_extreme_settings(data, n_groups):
    """The covariate model and eight_schools build finite models with scales from 1e-6 to
    1e6 and one to many groups, one coordinate entry per group."""
    y = data.draw(st.lists(means, min_size=n_groups, max_size=n_groups))
    sigma = data.draw(st.lists(scales, min_size=n_groups, max_size=n_groups))
    x = data.draw(
        st.lists(st.floats(-1e3, 1e3) | st.booleans(), min_size=n_groups, max_size=n_groups)
    )
    tau_prior = stats.halfcauchy(scale=data.draw(scales))
    covariate = models.hierarchical_with_covariate(
        y,
        sigma,
        x,
        mu_prior_sd=data.draw(scales),
        beta_prior_sd=data.draw(scales),
        tau_prior=tau_prior,
    )
    assert len(covariate.coords["group"]) == n_groups
    assert np.isfinite(initial_logp(covariate))
    frame = pd.DataFrame({"school": [f"s{j}" for j in range(n_groups)], "y": y, "sigma": sigma})
    schools = models.eight_schools(frame, mu_prior_sd=data.draw(scales), tau_prior=tau_prior)
    assert list(schools.coords["school"]) == frame["school"].tolist()
    assert np.isfinite(initial_logp(schools))


@pytest.mark.parametrize("dims", [1, 500])
@settings(max_examples=2, deadline=None, derandomize=True)
@given(
    parameterization=st.sampled_from(get_args(models.Parameterization)),
)
def test_funnel_builds_for_any_size(dims, parameterization):
    """funnel(dims=k) has k components labelled 1..k and a finite initial log density."""
    model = models.funnel(dims=dims, parameterization=parameterization)
    assert list(model.coords["component"]) == list(range(1, dims + 1))
    assert np.isfinite(initial_logp(model))


huge_counts = st.integers(0, 2**53)


@pytest.mark.parametrize("n_groups", [1, 40])
@COMPILING
@given(data=st.data())
def test_count_models_with_huge_counts_are_finite(data, n_groups):
    """Counts up to 2**53 (past PyMC's int32 storage of integer observations, which used to
    wrap 2**31 to a negative count and give a log density of -inf), exposures from 1e-6 to
    1e6 and hyperprior scales from 1e-6 to 1e6 build Poisson and Binomial models whose
    stored observations equal the counts and whose initial log density is finite."""
    counts = data.draw(st.lists(huge_counts, min_size=n_groups, max_size=n_groups))
    exposure = data.draw(st.lists(scales, min_size=n_groups, max_size=n_groups))
    hyper = {
        "mu_prior_mean": data.draw(st.floats(-50, 50)),
        "mu_prior_sd": data.draw(scales),
        "tau_prior_sd": data.draw(scales),
    }
    poisson = models.hierarchical_poisson(counts, exposure, **hyper)
    assert len(poisson.coords["group"]) == n_groups
    assert poisson.rvs_to_values[poisson["y"]].data.tolist() == counts
    assert np.isfinite(initial_logp(poisson))
    trials = [max(1, min(c + data.draw(st.integers(0, 10**6)), 2**53)) for c in counts]
    binomial = models.hierarchical_binomial(counts, trials, **hyper)
    assert binomial.rvs_to_values[binomial["y"]].data.tolist() == counts
    assert np.isfinite(initial_logp(binomial))


@pytest.mark.parametrize("shape", [(1, 2), (30, 3)])
@COMPILING
@given(data=st.data(), marginal=st.booleans())
def test_dirichlet_multinomial_with_huge_counts_is_finite(data, shape, marginal):
    """Tables of counts up to 2**40 per cell, one or many groups: coordinates match the
    table's shape, the stored observations equal the counts, the initial log density is
    finite."""
    n_groups, n_categories = shape
    rows = data.draw(
        st.lists(
            st.lists(st.integers(0, 2**40), min_size=n_categories, max_size=n_categories).filter(
                any
            ),
            min_size=n_groups,
            max_size=n_groups,
        )
    )
    model = models.dirichlet_multinomial(rows, marginal=marginal, dims=("region", "answer"))
    assert len(model.coords["region"]) == n_groups
    assert len(model.coords["answer"]) == n_categories
    assert model.rvs_to_values[model["y"]].data.tolist() == rows
    assert np.isfinite(initial_logp(model))
