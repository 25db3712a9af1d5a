"""Tests of companion.models: structure of the built models and their log densities.

Expected log densities are written here from the model definitions with ``scipy.stats``
(Normal and HalfNormal log pdfs), never read back from PyMC. Densities are compared in the
constrained space (``jacobian=False``), i.e. as densities of (mu, tau, theta, ...) themselves,
so the log transform PyMC applies to tau and sigma plays no part.

PyTensor turns a Python float hyperparameter such as ``mu_prior_sd=20.0`` into a float32
constant when float32 holds it exactly, and folds ``log(20)`` in float32; that shifts a log
density by about 3e-8 per such constant. Comparisons with scipy therefore use an absolute
tolerance of 1e-6, which is still far below any modelling error (a wrong variance or a
misassigned group changes a log density by orders of magnitude more).
"""

import numpy as np
import pymc as pm
import pytest
from scipy import stats

from companion.models import group_summaries, grouped_observations

Y = np.array([28.0, 8.0, -3.0, 7.0])
SIGMA = np.array([15.0, 10.0, 16.0, 11.0])
LABELS = ["A", "B", "C", "D"]
# Default hyperpriors of both builders, restated from their documented signatures.
SUMMARY_PRIORS = {"mu_mean": 0.0, "mu_sd": 20.0, "tau_sd": 10.0}
OBS_PRIORS = {"mu_mean": 50.0, "mu_sd": 25.0, "tau_sd": 10.0, "sigma_sd": 15.0}
BOTH_Y_AND_SIGMA = r"(?=.*\by\b)(?=.*\bsigma\b)"  # the message names both arguments
SCIPY_ATOL = 1e-6  # float32 constant folding inside PyTensor; see the module docstring


_COMPILED: dict = {}


def logp_at(model: pm.Model, values: dict[str, np.ndarray | float], *, vars=None) -> float:
    """Log density of ``model`` at constrained ``values`` (keyed by variable name).

    Positive variables (tau, sigma) are sampled on the log scale, so their values are
    passed as logs, and ``jacobian=False`` makes the result the density of the constrained
    values. Compiled functions are cached per model (and kept alive with it).
    """
    point = {}
    for name, value in values.items():
        rv = model[name]
        array = np.asarray(value, dtype=float)
        transform = model.rvs_to_transforms[rv]
        if transform is not None:
            assert type(transform).__name__ == "LogTransform"
            array = np.log(array)
        point[model.rvs_to_values[rv].name] = array
    key = (id(model), None if vars is None else tuple(v.name for v in vars))
    if key not in _COMPILED:
        _COMPILED[key] = (model, model.compile_logp(vars=vars, jacobian=False))
    return float(_COMPILED[key][1](point))


# ------------------------------------------------------------------ structure


@pytest.mark.parametrize(
    ("pooling", "parameterization", "free", "deterministic"),
    [
        ("complete", "centered", {"mu"}, {"theta"}),
        ("complete", "non_centered", {"mu"}, {"theta"}),
        ("none", "centered", {"theta"}, set()),
        ("none", "non_centered", {"theta"}, set()),
        ("partial", "centered", {"mu", "tau", "theta"}, set()),
        ("partial", "non_centered", {"mu", "tau", "theta_offset"}, {"theta"}),
    ],
)
def test_group_summaries_variables_coords_and_dims(pooling, parameterization, free, deterministic):
    """Each pooling creates the documented free and deterministic variables (the
    parameterisation matters only for partial pooling), observed y, one coordinate named
    ``dim`` holding the group labels in the given order, and every group-level variable
    carries that dim."""
    model = group_summaries(
        Y, SIGMA, pooling=pooling, parameterization=parameterization, groups=LABELS, dim="school"
    )
    assert {rv.name for rv in model.free_RVs} == free
    assert {d.name for d in model.deterministics} == deterministic
    assert [rv.name for rv in model.observed_RVs] == ["y"]
    assert set(model.coords) == {"school"}
    assert list(model.coords["school"]) == LABELS
    expected_dims = {name: ("school",) for name in (free | deterministic) - {"mu", "tau"}}
    expected_dims["y"] = ("school",)
    assert dict(model.named_vars_to_dims) == expected_dims
    for scalar in {"mu", "tau"} & free:
        assert model[scalar].ndim == 0


def test_group_summaries_default_labels_and_dim():
    """Without ``groups`` the coordinate is "0", "1", ... under the default dim ``group``."""
    model = group_summaries(Y, SIGMA)
    assert dict(model.coords) == {"group": ("0", "1", "2", "3")}


@pytest.mark.parametrize(
    ("pooling", "free"),
    [
        ("complete", {"mu", "sigma"}),
        ("none", {"theta", "sigma"}),
        ("partial", {"mu", "tau", "theta_offset", "sigma"}),
    ],
)
def test_grouped_observations_variables_coords_and_dims(pooling, free):
    """Individual-data models add the residual sd ``sigma``; the group coordinate lists the
    labels sorted, ``obs_id`` numbers the observations, and y is indexed by ``obs_id``."""
    values = [61.0, 70.0, 75.0, 58.0, 66.0]
    model = grouped_observations(values, ["b", "c", "a", "b", "c"], pooling=pooling)
    assert {rv.name for rv in model.free_RVs} == free
    assert list(model.coords["group"]) == ["a", "b", "c"]
    assert list(model.coords["obs_id"]) == [0, 1, 2, 3, 4]
    assert model.named_vars_to_dims["y"] == ("obs_id",)
    assert model.named_vars_to_dims["theta"] == ("group",)
    assert model["sigma"].ndim == 0


# ------------------------------------------------------------------ densities


def centred_logp_scipy(mu: float, tau: float, theta: np.ndarray) -> float:
    """log p(mu) + log p(tau) + sum_j log N(theta_j | mu, tau) + sum_j log N(y_j | theta_j, s_j)."""
    return float(
        stats.norm.logpdf(mu, SUMMARY_PRIORS["mu_mean"], SUMMARY_PRIORS["mu_sd"])
        + stats.halfnorm.logpdf(tau, scale=SUMMARY_PRIORS["tau_sd"])
        + stats.norm.logpdf(theta, mu, tau).sum()
        + stats.norm.logpdf(Y, theta, SIGMA).sum()
    )


def test_centred_and_non_centred_define_the_same_joint_density():
    """The two parameterisations are one model for (mu, tau, theta).

    With theta = mu + tau * z, the change of variables z -> theta has Jacobian
    |d theta / d z| = tau**J (J groups), and Normal(theta_j | mu, tau) = Normal(z_j | 0, 1) / tau.
    Hence, for z = (theta - mu) / tau,

        logp_centered(mu, tau, theta) = logp_noncentered(mu, tau, z) - J * log(tau).

    Checked at random points; the centred density is also checked against scipy.
    """
    centred = group_summaries(Y, SIGMA, parameterization="centered")
    non_centred = group_summaries(Y, SIGMA, parameterization="non_centered")
    rng = np.random.default_rng(20240611)
    n_groups = len(Y)
    for _ in range(5):
        mu = rng.normal(5, 10)
        tau = rng.gamma(2.0, 4.0)
        theta = rng.normal(mu, tau + 1.0, size=n_groups)
        z = (theta - mu) / tau
        lp_c = logp_at(centred, {"mu": mu, "tau": tau, "theta": theta})
        lp_nc = logp_at(non_centred, {"mu": mu, "tau": tau, "theta_offset": z})
        assert lp_c == pytest.approx(lp_nc - n_groups * np.log(tau), rel=1e-10, abs=1e-9)
        assert lp_c == pytest.approx(centred_logp_scipy(mu, tau, theta), abs=SCIPY_ATOL)


def test_complete_pooling_likelihood_is_sum_of_normal_log_densities():
    """Complete pooling: log p(y | mu) = sum_j log Normal(y_j | mu, sigma_j), and the joint
    adds the Normal(0, 20) prior of mu; checked against scipy at several mu."""
    model = group_summaries(Y, SIGMA, pooling="complete")
    for mu in (-12.0, 0.0, 7.69, 30.0):
        expected_likelihood = stats.norm.logpdf(Y, mu, SIGMA).sum()
        likelihood = logp_at(model, {"mu": mu}, vars=[model["y"]])
        assert likelihood == pytest.approx(expected_likelihood, abs=SCIPY_ATOL)
        expected_joint = expected_likelihood + stats.norm.logpdf(mu, 0.0, 20.0)
        assert logp_at(model, {"mu": mu}) == pytest.approx(expected_joint, abs=SCIPY_ATOL)


def test_single_sigma_is_shared_by_all_groups():
    """A single standard error applies to every group: the complete-pooling likelihood is
    sum_j log Normal(y_j | mu, s), and there is still one coordinate entry per y."""
    model = group_summaries(Y, [10.0], pooling="complete")
    assert len(model.coords["group"]) == len(Y)
    expected = stats.norm.logpdf(Y, 4.0, 10.0).sum()
    likelihood = logp_at(model, {"mu": 4.0}, vars=[model["y"]])
    assert likelihood == pytest.approx(expected, abs=SCIPY_ATOL)


def test_no_pooling_density_is_independent_normals():
    """No pooling: theta_j ~ Normal(prior mean, prior sd) independently, y_j ~ Normal(theta_j,
    sigma_j); the prior settings passed in are used."""
    model = group_summaries(Y, SIGMA, pooling="none", mu_prior_mean=3.0, mu_prior_sd=7.0)
    theta = np.array([10.0, -4.0, 2.5, 0.0])
    expected = stats.norm.logpdf(theta, 3.0, 7.0).sum() + stats.norm.logpdf(Y, theta, SIGMA).sum()
    assert logp_at(model, {"theta": theta}) == pytest.approx(expected, abs=SCIPY_ATOL)


def grouped_logp_scipy(values, labels, theta_by_label, mu, tau, sigma, z_by_label):
    """Joint log density of the non-centred individual-data model, from its definition."""
    theta_i = np.array([theta_by_label[g] for g in labels])
    z = np.array(list(z_by_label.values()))
    return float(
        stats.norm.logpdf(mu, OBS_PRIORS["mu_mean"], OBS_PRIORS["mu_sd"])
        + stats.halfnorm.logpdf(tau, scale=OBS_PRIORS["tau_sd"])
        + stats.norm.logpdf(z).sum()
        + stats.halfnorm.logpdf(sigma, scale=OBS_PRIORS["sigma_sd"])
        + stats.norm.logpdf(values, theta_i, sigma).sum()
    )


def test_grouped_observations_maps_labels_to_sorted_coordinate():
    """Observation i is tied to theta[label_i], where theta follows the sorted coordinate:
    the log density equals the one written from a label -> theta dictionary, and is
    unchanged when the rows (values together with their labels) are shuffled."""
    rng = np.random.default_rng(7)
    labels = np.array(["north", "east", "west", "east", "north", "south", "west", "north"] * 2)
    values = rng.normal(60, 10, size=len(labels))
    mu, tau, sigma = 58.0, 6.0, 9.0
    z_by_label = {"east": -1.2, "north": 0.4, "south": 2.0, "west": -0.3}  # sorted order
    theta_by_label = {g: mu + tau * z for g, z in z_by_label.items()}
    point = {"mu": mu, "tau": tau, "sigma": sigma, "theta_offset": list(z_by_label.values())}
    expected = grouped_logp_scipy(values, labels, theta_by_label, mu, tau, sigma, z_by_label)

    model = grouped_observations(values, labels)
    assert list(model.coords["group"]) == list(z_by_label)
    assert logp_at(model, point) == pytest.approx(expected, abs=SCIPY_ATOL)

    order = rng.permutation(len(labels))
    shuffled = grouped_observations(values[order], labels[order])
    assert list(shuffled.coords["group"]) == list(z_by_label)
    assert logp_at(shuffled, point) == pytest.approx(expected, abs=SCIPY_ATOL)

    # A wrong mapping would change the density: swapping two groups' offsets must.
    swapped = dict(point, theta_offset=[0.4, -1.2, 2.0, -0.3])
    assert logp_at(shuffled, swapped) != pytest.approx(expected, abs=1e-3)


def test_grouped_observations_complete_pooling_density():
    """Complete pooling with individual data: y_i ~ Normal(mu, sigma) for every i."""
    values = np.array([61.0, 70.0, 75.0, 58.0])
    model = grouped_observations(values, ["b", "a", "b", "c"], pooling="complete")
    mu, sigma = 64.0, 8.0
    expected = stats.norm.logpdf(values, mu, sigma).sum()
    likelihood = logp_at(model, {"mu": mu, "sigma": sigma}, vars=[model["y"]])
    assert likelihood == pytest.approx(expected, abs=SCIPY_ATOL)


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"y": [1.0, 2.0, 3.0], "sigma": [1.0, 2.0]}, BOTH_Y_AND_SIGMA),
        ({"y": [1.0], "sigma": [1.0, 2.0, 3.0]}, BOTH_Y_AND_SIGMA),
        ({"y": [1.0, np.nan], "sigma": [1.0, 2.0]}, r"^y\b"),
        ({"y": [1.0, 2.0], "sigma": [1.0, np.nan]}, r"^sigma\b"),
        ({"y": [1.0, 2.0], "sigma": [1.0, 0.0]}, r"^sigma\b"),
        ({"y": [1.0, 2.0], "sigma": [1.0, -2.0]}, r"^sigma\b"),
        ({"y": [1.0, 2.0], "sigma": [1.0, 2.0], "pooling": "partly"}, r"^pooling\b"),
        (
            {"y": [1.0, 2.0], "sigma": [1.0, 2.0], "parameterization": "noncentered"},
            r"^parameterization\b",
        ),
        ({"y": [1.0, 2.0], "sigma": [1.0, 2.0], "groups": ["a", "b", "c"]}, r"^groups\b"),
        ({"y": [1.0, 2.0], "sigma": [1.0, 2.0], "groups": ["a"]}, r"^groups\b"),
        ({"y": [1.0, 2.0], "sigma": [1.0, 2.0], "tau_prior_sd": 0.0}, r"^tau_prior_sd\b"),
        ({"y": [1.0, 2.0], "sigma": [1.0, 2.0], "mu_prior_sd": -1.0}, r"^mu_prior_sd\b"),
    ],
)
def test_group_summaries_rejects_bad_input(kwargs, argument):
    """Mismatched lengths, NaN, non-positive sd, unknown option strings and a wrong number
    of labels raise ValueError whose message names the offending argument."""
    kwargs = dict(kwargs)
    y, sigma = kwargs.pop("y"), kwargs.pop("sigma")
    with pytest.raises(ValueError, match=argument):
        group_summaries(y, sigma, **kwargs)


@pytest.mark.parametrize(
    ("values", "groups", "kwargs", "argument"),
    [
        ([1.0, 2.0, 3.0], ["a", "b"], {}, r"^groups\b"),
        ([1.0, 2.0], ["a", "b", "c"], {}, r"^groups\b"),
        ([1.0, 2.0, 3.0], [["a", "b", "c"]], {}, r"^groups\b"),
        ([1.0, np.nan, 3.0], ["a", "b", "c"], {}, r"^values\b"),
        ([1.0, 2.0, 3.0], ["a", None, "b"], {}, r"^groups\b"),
        ([1.0, 2.0, 3.0], [1.0, np.nan, 2.0], {}, r"^groups\b"),
        ([1.0, 2.0, 3.0], ["a", "b", "c"], {"pooling": "full"}, r"^pooling\b"),
        ([1.0, 2.0, 3.0], ["a", "b", "c"], {"parameterization": "nc"}, r"^parameterization\b"),
        ([1.0, 2.0, 3.0], ["a", "b", "c"], {"sigma_prior_sd": 0.0}, r"^sigma_prior_sd\b"),
    ],
)
def test_grouped_observations_rejects_bad_input(values, groups, kwargs, argument):
    """Wrong number or shape of labels, missing labels (None/NaN, which must not be silently
    attached to some group), NaN values, unknown options and non-positive prior scales raise
    ValueError naming the argument."""
    with pytest.raises(ValueError, match=argument):
        grouped_observations(values, groups, **kwargs)
