"""The answer codec: answers leave a student's process as data and come back as data only."""

import base64
import io
import json
import pickle

import numpy as np
import pandas as pd
import pytest
import sympy as sp
import xarray as xr

from coursetools.grading.answers import AnswerError, decode, encode, export_question, respond


def _travel(value, **options):
    return decode(json.loads(json.dumps(encode(value))), **options)


class AlwaysEqualFloat(float):
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


class AlwaysEqualStr(str):
    def __eq__(self, other):
        return True

    __hash__ = str.__hash__


@pytest.mark.parametrize(
    "value",
    [None, True, 3, -2.5, "B", [1, 2.0, "x"], (1, 2), {"a": 1, 2: "b"}, float("inf")],
)
def test_plain_values_come_back_equal_and_of_plain_types(value):
    back = _travel(value)
    assert back == value and type(back) is type(value)


def test_nan_comes_back_as_nan():
    assert np.isnan(_travel(float("nan")))


def test_subclasses_with_forged_equality_arrive_as_plain_values():
    """A float or str subclass whose == is always true arrives as a plain float or str."""
    number, text = _travel(AlwaysEqualFloat(1.5)), _travel(AlwaysEqualStr("zzz"))
    assert type(number) is float and number != 2.0
    assert type(text) is str and text != "a"


@pytest.mark.parametrize(
    "array",
    [np.arange(6.0).reshape(2, 3), np.array(3.5), np.array([True, False]),
     np.array(["A", "B"]), np.array([1 + 2j])],
)  # fmt: skip
def test_arrays_keep_dtype_shape_and_values(array):
    back = _travel(array)
    assert back.shape == array.shape and back.dtype == array.dtype
    assert np.array_equal(back, array)


def test_object_arrays_of_strings_become_string_arrays_and_others_are_refused():
    assert _travel(np.array(["a", None], dtype=object)).tolist() == ["a", ""]
    with pytest.raises(AnswerError, match="Python objects"):
        encode(np.array([{"x": 1}], dtype=object))


def test_pandas_objects_keep_labels():
    series = pd.Series([1.0, 2.0], index=["I1", "I2"], name="means")
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}, index=[10, 20])
    assert _travel(series).equals(series)
    back = _travel(frame)
    assert back["a"].tolist() == [1, 2] and back["b"].tolist() == ["x", "y"]
    assert back.index.tolist() == [10, 20]


def test_datatree_keeps_groups_dims_coords_and_drops_object_variables():
    posterior = xr.Dataset(
        {"theta": (("chain", "draw", "school"), np.ones((2, 3, 2)))},
        coords={"school": ["A", "B"]},
        attrs={"sample_dims": ["chain", "draw"], "note": "x"},
    )
    positions = np.empty((2, 3), dtype=object)
    positions[0, 1] = np.zeros(2)  # where a divergence started, as nutpie records it
    stats = xr.Dataset(
        {
            "diverging": (("chain", "draw"), np.zeros((2, 3), bool)),
            "divergence_start": (("chain", "draw"), positions),
        }
    )
    tree = xr.DataTree.from_dict({"/posterior": posterior, "/sample_stats": stats})
    back = _travel(tree)
    assert back["posterior"]["theta"].dims == ("chain", "draw", "school")
    assert back["posterior"]["school"].values.tolist() == ["A", "B"]
    assert back["posterior"].attrs["sample_dims"] == ["chain", "draw"]
    assert "diverging" in back["sample_stats"] and "divergence_start" not in back["sample_stats"]


def test_sympy_expressions_rebuild_from_allowed_classes_only():
    tau = sp.Symbol("tau", positive=True)
    expression = tau**8 + sp.exp(tau) / 2 + sp.pi
    assert sp.simplify(_travel(expression) - expression) == 0
    forged = {"$": "sympy", "tree": ["Function", [["Symbol", "os.system", {}]]]}
    with pytest.raises(AnswerError, match="not accepted"):
        decode(forged)


def test_pickled_arrays_are_refused():
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    node = {"$": "ndarray", "npy": base64.b64encode(buffer.getvalue()).decode()}
    with pytest.raises(ValueError):
        decode(node)
    with pytest.raises(AnswerError):
        decode({"$": "pickle", "data": base64.b64encode(pickle.dumps(1)).decode()})


def test_unknown_types_are_refused_with_the_type_named():
    class Opaque:
        pass

    with pytest.raises(AnswerError, match="Opaque cannot be exported"):
        encode(Opaque())


def test_functions_travel_as_calls_with_data_in_and_out(tmp_path):
    """A function answer is kept in the exporting process and called with decoded data."""

    def shrink(y, factor):
        return np.asarray(y) * factor

    answers = {"shrink": shrink, "blank": ...}
    export_question("q3", ["shrink", "missing", "blank"], answers, tmp_path)
    record = json.loads((tmp_path / "q3.json").read_text())
    assert record["answers"]["shrink"] == {"$": "callable", "name": "q3/shrink"}
    assert "not defined" in record["problems"]["missing"]
    assert "not answered" in record["problems"]["blank"]
    request = {"function": "q3/shrink", "args": encode([[1.0, 2.0], 0.5]), "kwargs": encode({})}
    reply = json.loads(respond(json.dumps(request)))
    assert decode(reply["result"]).tolist() == [0.5, 1.0]
    assert "KeyError" in json.loads(respond(json.dumps({**request, "function": "q9/x"})))["error"]
