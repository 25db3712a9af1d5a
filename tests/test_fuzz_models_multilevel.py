"""Property tests of the builders of "Beyond one intercept" (companion.models).

- Data of any scale and layout give a model whose log density at its initial point is
  finite (the priors scale with the data).
- A NaN or infinity in any observation is refused, naming the argument.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from companion import models

COVERED = {
    "models.variance_components",
    "models.varying_intercepts",
    "models.varying_slopes",
}

SCALES = st.floats(-3, 4).map(lambda e: 10.0**e)


def layout(seed, n_groups, per_group, scale):
    """Grouped data with a predictor: y, x, group labels and a group-level value."""
    rng = np.random.default_rng(seed)
    groups = np.repeat([f"g{j}" for j in range(n_groups)], per_group)
    x = rng.normal(size=groups.size) * scale
    u = np.repeat(rng.normal(size=n_groups), per_group)
    y = scale * (rng.normal(size=groups.size) + u) + x
    return y, x, groups, u


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 6), st.integers(2, 5), SCALES)
def test_builders_have_finite_initial_log_density(seed, n_groups, per_group, scale):
    """Whatever the scale of the data, each builder's initial point has a finite logp."""
    y, x, groups, u = layout(seed, n_groups, per_group, scale)
    built = [
        models.varying_intercepts(y, x, groups, group_predictor=u),
        models.varying_slopes(y, x, groups),
        models.variance_components(y, {"g": groups}),
    ]
    for model in built:
        # FAST_COMPILE: no C code to compile for each example (as in test_fuzz_models)
        assert np.isfinite(model.compile_logp(mode="FAST_COMPILE")(model.initial_point()))


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 7), st.sampled_from([np.nan, np.inf, -np.inf]))
def test_bad_observations_are_refused_by_name(position, bad):
    """A NaN or infinite response value is refused, and the error names ``y``."""
    y, x, groups, _ = layout(1, 2, 4, 1.0)
    y[position] = bad
    for build in (
        lambda: models.varying_intercepts(y, x, groups),
        lambda: models.varying_slopes(y, x, groups),
        lambda: models.variance_components(y, {"g": groups}),
    ):
        with pytest.raises(ValueError, match="y"):
            build()
