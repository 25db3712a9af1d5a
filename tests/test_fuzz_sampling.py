"""Property tests of the input checks of companion.sampling (nothing is sampled).

``pymc.sample`` and ``nutpie.sample`` are replaced by a stub that raises
:class:`ReachedSampler`: a bad argument must be refused, with a ValueError or TypeError
naming it, before any sampler is started.
"""

import os
from unittest import mock

import numpy as np
import pymc as pm
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from companion import models, sampling

COVERED = {"sampling.CompiledModel", "sampling.fast_mode", "sampling.sample"}

FAST = settings(max_examples=30, deadline=None, derandomize=True)
ERRORS = (ValueError, TypeError)
MODEL = models.group_summaries([1.0, 2.0], [1.0, 1.0])


class ReachedSampler(Exception):
    """Raised by the stub sampler: the bad input got through to sampling."""


def stub(*args, **kwargs):
    raise ReachedSampler


not_models = st.one_of(
    st.none(), st.integers(), st.text(max_size=3), st.just(MODEL.named_vars), st.just(pm)
)


@FAST
@given(model=not_models)
def test_sample_refuses_a_non_model(model):
    """sample() refuses anything but a pymc.Model with TypeError naming ``model``."""
    with mock.patch.object(pm, "sample", stub), pytest.raises(TypeError, match=r"^model\b"):
        sampling.sample(model, random_seed=1)


@FAST
@given(model=not_models)
def test_compiled_model_refuses_a_non_model(model):
    """CompiledModel() refuses anything but a pymc.Model with TypeError naming ``model``,
    before compiling anything."""
    with pytest.raises(TypeError, match=r"^model\b"):
        sampling.CompiledModel(model)


@FAST
@given(
    sampler=st.one_of(
        st.text(max_size=8).filter(lambda s: s not in ("auto", "nutpie", "pymc")),
        st.sampled_from(["AUTO", "Nutpie", " pymc"]),
        st.none(),
        st.integers(),
        st.just(["auto"]),
    )
)
def test_sample_refuses_unknown_samplers(sampler):
    """An unknown ``sampler`` raises ValueError naming it and listing the choices."""
    with (
        mock.patch.object(pm, "sample", stub),
        pytest.raises(ValueError, match=r"^sampler\b") as error,
    ):
        sampling.sample(MODEL, random_seed=1, sampler=sampler)
    for allowed in ("auto", "nutpie", "pymc"):
        assert allowed in str(error.value)


bad_counts = st.one_of(
    st.integers(max_value=0), st.floats(), st.text(max_size=3), st.booleans(), st.none()
)
BAD_OPTIONS = st.one_of(
    st.tuples(st.just("draws"), bad_counts),
    st.tuples(st.just("chains"), bad_counts),
    st.tuples(
        st.just("tune"),
        st.one_of(st.integers(max_value=-1), st.floats(), st.text(max_size=3), st.booleans()),
    ),
    st.tuples(
        st.just("target_accept"),
        st.one_of(
            st.floats().filter(lambda a: not 0 < a < 1),
            st.text(max_size=3),
            st.booleans(),
            st.none(),
            st.just([0.9]),
        ),
    ),
    st.tuples(
        st.just("random_seed"),
        st.one_of(
            st.floats(), st.text(max_size=3), st.booleans(), st.none(), st.integers(max_value=-1)
        ),
    ),
)


@FAST
@given(option=BAD_OPTIONS)
def test_sample_refuses_bad_numeric_options(option):
    """draws and chains (integers >= 1), tune (an integer >= 0), target_accept (a number in
    (0, 1)) and random_seed (an integer >= 0) are refused with an error naming them before
    pymc.sample is reached."""
    name, value = option
    with mock.patch.object(pm, "sample", stub), pytest.raises(ERRORS, match=rf"^{name}\b"):
        sampling.sample(MODEL, **{"random_seed": 1, name: value})


@FAST
@given(option=BAD_OPTIONS)
def test_compiled_model_sample_refuses_bad_numeric_options(option):
    """CompiledModel.sample refuses the same bad options by name before nutpie runs (its
    compilation is skipped here: the object is built without __init__)."""
    name, value = option
    compiled = object.__new__(sampling.CompiledModel)
    compiled.model, compiled._compiled = MODEL, None
    nutpie = pytest.importorskip("nutpie")
    with mock.patch.object(nutpie, "sample", stub), pytest.raises(ERRORS, match=rf"^{name}\b"):
        compiled.sample(**{"random_seed": 1, name: value})


@FAST
@given(value=st.one_of(st.text(max_size=3), st.none(), st.integers(2)))
def test_sample_refuses_a_non_bool_log_likelihood(value):
    """``log_likelihood`` must be True or False (the string "no" is truthy)."""
    with (
        mock.patch.object(pm, "sample", stub),
        pytest.raises(TypeError, match=r"^log_likelihood\b"),
    ):
        sampling.sample(MODEL, random_seed=1, log_likelihood=value)


@FAST
@given(
    option=st.sampled_from(
        [
            ("target_accept", 0.9 + 0.1j),
            ("target_accept", np.complex128(0.9)),
            ("sampler", np.array(["auto"])),
        ]
    )
)
def test_sample_refuses_complex_target_accept_and_array_sampler(option):
    """A complex target_accept (float() raises a bare TypeError) and an array sampler
    (ambiguous truth value) are refused with errors naming the argument."""
    name, value = option
    with mock.patch.object(pm, "sample", stub), pytest.raises(ERRORS, match=rf"^{name}\b"):
        sampling.sample(MODEL, **{"random_seed": 1, name: value})


@FAST
@given(
    word=st.sampled_from(["1", "true", "yes"]),
    upper=st.lists(st.booleans(), min_size=4, max_size=4),
    padding=st.sampled_from(["", " ", "\t", " \n"]),
)
def test_fast_mode_is_on_for_the_documented_words(word, upper, padding):
    """COMPANION_FAST=1, true or yes, in any case and with surrounding blanks, switches the
    fast mode on."""
    cased = "".join(c.upper() if u else c for c, u in zip(word, upper, strict=False))
    with mock.patch.dict(os.environ, {sampling.FAST_MODE_VARIABLE: padding + cased + padding}):
        assert sampling.fast_mode() is True


@FAST
@given(value=st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=6))
def test_fast_mode_is_off_for_anything_else(value):
    """Any other value of COMPANION_FAST (0, false, no, empty, words) and an unset variable
    leave the fast mode off."""
    if value.strip().lower() in {"1", "true", "yes"}:
        value = "0"
    with mock.patch.dict(os.environ, {sampling.FAST_MODE_VARIABLE: value}):
        assert sampling.fast_mode() is False
    with mock.patch.dict(os.environ, clear=False):
        os.environ.pop(sampling.FAST_MODE_VARIABLE, None)
        assert sampling.fast_mode() is False
