"""The PyMC builder and the exact posterior of each family share their default priors
(companion._specs): read from the built model and from the exact object independently,
the defaults agree, so changing one side's default alone fails here."""

import numpy as np
import pytest

from companion import exact, models


def _pymc_parameters(model, name):
    """The numeric parameters of the PyMC random variable ``name`` (after rng and size)."""
    return [float(np.asarray(p.eval())) for p in model[name].owner.inputs[2:]]


@pytest.mark.parametrize(
    ("builder", "reference", "data"),
    [
        (models.hierarchical_poisson, exact.hierarchical_poisson, ([2, 14, 3], [2.1, 5.0, 1.3])),
        (models.hierarchical_binomial, exact.hierarchical_binomial, ([2, 8, 19], [4, 10, 25])),
    ],
)
def test_link_scale_builders_and_exact_routes_share_default_priors(builder, reference, data):
    model = builder(*data)
    posterior = reference(*data)
    assert model["tau"].owner.op.name == "halfnormal"
    _, tau_scale = _pymc_parameters(model, "tau")  # HalfNormal's (loc, sigma)
    assert posterior._tau_prior.dist.name == "halfnorm"
    assert tau_scale == posterior._tau_prior.kwds["scale"]
    assert _pymc_parameters(model, "mu") == [
        posterior._mu_prior.mean(),
        posterior._mu_prior.std(),
    ]


def test_normal_hierarchy_builder_and_exact_route_share_default_priors():
    y, sigma = [28.0, 8.0, -3.0], [15.0, 10.0, 16.0]
    model = models.group_summaries(y, sigma)
    posterior = exact.normal_hierarchy(y, sigma)
    _, tau_scale = _pymc_parameters(model, "tau")
    assert posterior.tau_prior.dist.name == "halfnorm"
    assert tau_scale == posterior.tau_prior.kwds["scale"]
    assert _pymc_parameters(model, "mu") == [posterior.mu_prior_mean, posterior.mu_prior_sd]
