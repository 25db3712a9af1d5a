"""Answers as data: what leaves a student's process and how the hidden tests get it back.

:func:`encode` turns an answer into a JSON tree; :func:`decode` rebuilds it from that
tree alone. Nothing the student's process wrote is unpickled or evaluated:

- ``None``, booleans, integers, strings and floats are JSON values (``nan`` and
  ``inf`` tagged); lists, tuples and dicts are rebuilt element by element;
- NumPy arrays travel as ``.npy`` bytes (base64) read with ``allow_pickle=False``,
  numeric, boolean and fixed-width string dtypes only;
- pandas Series, DataFrames and Indexes, xarray DataArrays, Datasets and DataTrees
  travel as those arrays plus their labels and JSON-scalar attributes;
- sympy expressions travel as a tree of class names rebuilt only from
  :data:`SYMPY_CLASSES`; ArviZ ELPD results as a namespace of their fields;
- a function travels as its name: the decoder asks ``call(name)`` for a stand-in that
  sends each call's arguments to the student's process and gets the result back as data.

Values of any other type are refused with a reason the student can read. Whatever the
student's objects claim (a float subclass whose ``==`` is always true), only their data
arrive: the hidden tests compare plain floats, strings and arrays.
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "AnswerError",
    "SYMPY_CLASSES",
    "decode",
    "encode",
    "export_question",
    "read_question",
    "respond",
]

TAG = "$"
MAX_DEPTH = 64
ARRAY_KINDS = "biufcU"
"""Array dtype kinds that may travel: bool, int, uint, float, complex, str."""
SYMPY_CLASSES = frozenset(
    "Add Mul Pow exp log sqrt sin cos tan Abs sign Min Max Piecewise ExprCondPair "
    "Eq Ne Lt Le Gt Ge And Or Not Derivative Integral Sum Product Tuple Matrix "
    "factorial gamma erf Heaviside".split()
)
"""The sympy classes an expression may be rebuilt from (besides symbols and numbers)."""
SYMPY_CONSTANTS = frozenset({"pi", "E", "I", "oo", "zoo", "nan", "true", "false"})
ELPD_FIELDS = ("elpd", "se", "p", "n_samples", "n_data_points", "scale", "warning", "kind")
ELPD_ARRAYS = ("elpd_i", "pareto_k")


class AnswerError(ValueError):
    """An answer that cannot travel as data, or a tree that is not a valid answer."""


# ---------------------------------------------------------------------------- encoding


def _npy(array) -> dict:
    import numpy as np

    array = np.asarray(array)
    if array.dtype.kind == "O":
        if all(item is None or isinstance(item, str) for item in array.flat):
            array = np.vectorize(lambda item: item or "", otypes=[str])(array)
        else:
            raise AnswerError("an array of Python objects cannot be exported: use numbers")
    if array.dtype.kind not in ARRAY_KINDS:
        raise AnswerError(f"arrays of dtype {array.dtype} cannot be exported")
    buffer = io.BytesIO()
    np.save(buffer, np.require(array, requirements="C"), allow_pickle=False)
    return {TAG: "ndarray", "npy": base64.b64encode(buffer.getvalue()).decode("ascii")}


def _float(value: float) -> Any:
    value = float.__float__(value)
    return value if math.isfinite(value) else {TAG: "float", "repr": repr(value)}


def _attrs(attrs: Mapping) -> dict:
    """The attributes that are scalars or lists of scalars; others are dropped."""
    scalar = bool | int | float | str
    kept = {}
    for key, value in attrs.items():
        if isinstance(value, scalar):
            kept[str(key)] = encode(value)
        elif isinstance(value, list | tuple) and all(isinstance(v, scalar) for v in value):
            kept[str(key)] = [encode(v) for v in value]
    return kept


def _dataset(dataset) -> dict:
    """Variables and coordinates as arrays; variables of Python objects (a sampler's
    divergence positions, say) are left out, as no test reads them."""
    data_vars = {}
    for name, var in dataset.data_vars.items():
        try:
            data_vars[str(name)] = _dataarray(var)
        except AnswerError:
            continue
    return {
        "vars": data_vars,
        "coords": {str(name): _dataarray(var) for name, var in dataset.coords.items()},
        "attrs": _attrs(dataset.attrs),
    }


def _dataarray(array) -> dict:
    return {
        "dims": [str(dim) for dim in array.dims],
        "data": _npy(array.values),
        "attrs": _attrs(array.attrs),
    }


def _sympy(expr) -> list:
    import sympy

    if isinstance(expr, sympy.Symbol):
        assumptions = {k: v for k, v in expr.assumptions0.items() if isinstance(v, bool)}
        return ["Symbol", str.__str__(expr.name), assumptions]
    if isinstance(expr, sympy.Integer):
        return ["Integer", str(int(expr))]
    if isinstance(expr, sympy.Rational):
        return ["Rational", str(int(expr.p)), str(int(expr.q))]
    if isinstance(expr, sympy.Float):
        return ["Float", str(expr), int(expr._prec)]
    for name in SYMPY_CONSTANTS:
        if expr == getattr(sympy, name) and type(expr) is type(getattr(sympy, name)):
            return ["Constant", name]
    if isinstance(expr, sympy.MatrixBase):
        return ["Matrix", [[_sympy(item) for item in row] for row in expr.tolist()]]
    name = type(expr).__name__
    if name not in SYMPY_CLASSES:
        raise AnswerError(f"sympy {name} cannot be exported")
    return [name, [_sympy(arg) for arg in expr.args]]


def _elpd(value) -> dict:
    import numpy as np

    fields = {}
    for name in ELPD_FIELDS:
        item = getattr(value, name, None)
        if item is None or isinstance(item, bool | int | float | str | np.generic):
            fields[name] = encode(item)
    for name in ELPD_ARRAYS:
        item = getattr(value, name, None)
        if item is not None:
            fields[name] = _npy(getattr(item, "values", item))
    return {TAG: "elpd", "fields": fields}


def encode(value: Any, *, depth: int = 0, on_callable: Callable[[Any], str] | None = None):
    """A JSON tree holding ``value``'s data; :class:`AnswerError` when it cannot travel.

    ``on_callable(function) -> name`` registers a function answer (see :func:`export_question`).
    """
    if depth > MAX_DEPTH:
        raise AnswerError("the answer is nested too deeply")
    import numpy as np

    if value is None or type(value) is bool:
        return value
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return _float(float(value))
    if isinstance(value, complex | np.complexfloating):
        return _npy(np.asarray(complex(value)))
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, np.ndarray):
        return _npy(value)

    def inner(item):
        return encode(item, depth=depth + 1, on_callable=on_callable)

    if isinstance(value, list | tuple):
        return {
            TAG: type(value).__name__ if type(value) in (list, tuple) else "list",
            "items": [inner(item) for item in value],
        }
    if isinstance(value, dict):
        return {TAG: "dict", "items": [[inner(k), inner(v)] for k, v in value.items()]}
    module = type(value).__module__.split(".")[0]
    if module == "pandas":
        import pandas as pd

        if isinstance(value, pd.Series):
            return {
                TAG: "series",
                "index": _index(value.index),
                "values": _npy(value.to_numpy()),
                "name": _label(value.name),
            }
        if isinstance(value, pd.DataFrame):
            return {
                TAG: "frame",
                "index": _index(value.index),
                "columns": [[_label(c), _npy(value[c].to_numpy())] for c in value.columns],
            }
        if isinstance(value, pd.Index):
            return _index(value)
    if module == "xarray":
        import xarray as xr

        if isinstance(value, xr.DataTree):
            groups = {node.path: _dataset(node.to_dataset(inherit=False)) for node in value.subtree}
            return {TAG: "datatree", "groups": groups}
        if isinstance(value, xr.Dataset):
            return {TAG: "dataset", **_dataset(value)}
        if isinstance(value, xr.DataArray):
            coords = {str(n): _dataarray(c) for n, c in value.coords.items()}
            return {
                TAG: "dataarray",
                **_dataarray(value),
                "coords": coords,
                "name": _label(value.name),
            }
    if module == "sympy":
        import sympy

        if isinstance(value, sympy.Basic | sympy.MatrixBase):
            return {TAG: "sympy", "tree": _sympy(value)}
    if module == "arviz_stats" and type(value).__name__.startswith("ELPDData"):
        return _elpd(value)
    if (
        callable(value)
        and on_callable is not None
        and isinstance(
            value, types.FunctionType | types.BuiltinFunctionType | types.MethodType | np.ufunc
        )
    ):
        return {TAG: "callable", "name": on_callable(value)}
    raise AnswerError(f"a {type(value).__name__} cannot be exported for grading")


def _label(label) -> Any:
    import numpy as np

    if label is None or isinstance(label, bool | int | float | str | np.generic):
        return encode(label)
    return str(label)


def _index(index) -> dict:
    return {TAG: "index", "values": _npy(index.to_numpy()), "name": _label(index.name)}


# ---------------------------------------------------------------------------- decoding


def _array(node: Mapping):
    import numpy as np

    if not isinstance(node, Mapping) or node.get(TAG) != "ndarray":
        raise AnswerError("expected an array")
    raw = base64.b64decode(str(node["npy"]), validate=True)
    array = np.load(io.BytesIO(raw), allow_pickle=False)
    if array.dtype.kind not in ARRAY_KINDS:
        raise AnswerError(f"arrays of dtype {array.dtype} are not accepted")
    return array


def _scalar_attrs(attrs) -> dict:
    if not isinstance(attrs, Mapping):
        raise AnswerError("attributes must be a mapping")
    return {str(k): decode(v) for k, v in attrs.items()}


def _variable(node: Mapping):
    import xarray as xr

    attrs = _scalar_attrs(node.get("attrs", {}))
    return xr.Variable([str(dim) for dim in node["dims"]], _array(node["data"]), attrs=attrs)


def _decode_dataset(node: Mapping):
    import xarray as xr

    coords = {str(n): _variable(c) for n, c in node["coords"].items()}
    data_vars = {str(n): _variable(v) for n, v in node["vars"].items()}
    return xr.Dataset(data_vars, coords=coords, attrs=_scalar_attrs(node.get("attrs", {})))


def _decode_sympy(tree):
    import sympy

    if not isinstance(tree, list) or not tree or not isinstance(tree[0], str):
        raise AnswerError("malformed sympy tree")
    kind, *rest = tree
    if kind == "Symbol":
        name, assumptions = rest
        flags = {str(k): bool(v) for k, v in dict(assumptions).items() if isinstance(v, bool)}
        return sympy.Symbol(str(name), **flags)
    if kind == "Integer":
        return sympy.Integer(int(str(rest[0])))
    if kind == "Rational":
        return sympy.Rational(int(str(rest[0])), int(str(rest[1])))
    if kind == "Float":
        return sympy.Float(str(rest[0]), precision=int(rest[1]))
    if kind == "Constant" and rest[0] in SYMPY_CONSTANTS:
        return getattr(sympy, rest[0])
    if kind not in SYMPY_CLASSES:
        raise AnswerError(f"sympy {kind!r} is not accepted")
    if kind == "Matrix":
        return sympy.Matrix([[_decode_sympy(item) for item in row] for row in rest[0]])
    return getattr(sympy, kind)(*(_decode_sympy(arg) for arg in rest[0]))


def decode(node: Any, *, call: Callable[[str], Callable] | None = None, depth: int = 0) -> Any:
    """Rebuild an answer from :func:`encode`'s tree (``call(name)`` stands in for functions)."""
    if depth > MAX_DEPTH:
        raise AnswerError("the answer is nested too deeply")
    if node is None or isinstance(node, bool | int | str):
        return node
    if isinstance(node, float):
        return node
    if isinstance(node, list):  # attribute lists
        return [decode(item, depth=depth + 1) for item in node]
    if not isinstance(node, Mapping) or not isinstance(node.get(TAG), str):
        raise AnswerError("malformed answer")

    def inner(item):
        return decode(item, call=call, depth=depth + 1)

    kind = node[TAG]
    if kind == "float":
        text = str(node["repr"])
        if text not in ("nan", "inf", "-inf"):
            raise AnswerError("malformed float")
        return float(text)
    if kind == "ndarray":
        return _array(node)
    if kind in ("list", "tuple"):
        items = [inner(item) for item in node["items"]]
        return items if kind == "list" else tuple(items)
    if kind == "dict":
        return {inner(key): inner(value) for key, value in node["items"]}
    if kind in ("series", "frame", "index"):
        import pandas as pd

        if kind == "index":
            return pd.Index(_array(node["values"]), name=inner(node["name"]))
        index = inner(node["index"])
        if kind == "series":
            return pd.Series(_array(node["values"]), index=index, name=inner(node["name"]))
        return pd.DataFrame({inner(c): _array(v) for c, v in node["columns"]}, index=index)
    if kind in ("datatree", "dataset", "dataarray"):
        import xarray as xr

        if kind == "dataset":
            return _decode_dataset(node)
        if kind == "dataarray":
            coords = {str(n): _variable(c) for n, c in node["coords"].items()}
            return xr.DataArray(_variable(node), coords=coords, name=inner(node["name"]))
        groups = {str(path): _decode_dataset(group) for path, group in node["groups"].items()}
        return xr.DataTree.from_dict(groups)
    if kind == "sympy":
        return _decode_sympy(node["tree"])
    if kind == "elpd":
        fields = {}
        for name, item in node["fields"].items():
            if name in ELPD_ARRAYS:
                fields[name] = _array(item)
            elif name in ELPD_FIELDS:
                fields[name] = inner(item)
        return types.SimpleNamespace(**fields)
    if kind == "callable":
        if call is None:
            raise AnswerError("a function answer cannot be called here")
        return call(str(node["name"]))
    raise AnswerError(f"unknown answer type {kind!r}")


# ---------------------------------------------------------------------------- the kernel side

_FUNCTIONS: dict[str, Callable] = {}
"""Function answers, by ``"<question>/<name>"``, kept as they were at the check cell."""


def export_question(
    question: str, names: list[str], namespace: Mapping[str, Any], directory: str | Path
) -> None:
    """Write ``<directory>/<question>.json``: the named answers as data, or why each is not.

    Runs in the student's kernel right after the question's check cell.
    """
    answers, problems = {}, {}
    for name in names:
        if name not in namespace:
            problems[name] = f"`{name}` is not defined"
            continue
        if namespace[name] is Ellipsis:
            problems[name] = f"`{name}` is not answered (still `...`)"
            continue

        def register(function, name=name) -> str:
            _FUNCTIONS[f"{question}/{name}"] = function
            return f"{question}/{name}"

        try:
            answers[name] = encode(namespace[name], on_callable=register)
        except AnswerError as error:
            problems[name] = f"`{name}`: {error}"
        except Exception as error:  # the student's object raised while being read
            problems[name] = f"`{name}` could not be read ({type(error).__name__}: {error})"[:300]
    target = Path(directory) / f"{question}.json"
    partial = target.with_suffix(".part")
    partial.write_text(json.dumps({"answers": answers, "problems": problems}), encoding="utf-8")
    os.replace(partial, target)


def respond(request: str) -> str:
    """Answer one call request (JSON) with the function kept for it; the reply is JSON."""
    try:
        message = json.loads(request)
        function = _FUNCTIONS[str(message["function"])]
        args = decode(message["args"])
        kwargs = decode(message["kwargs"])
        return json.dumps({"result": encode(function(*args, **kwargs))})
    except Exception as error:
        return json.dumps({"error": f"{type(error).__name__}: {error}"[:500]})


# ---------------------------------------------------------------------------- the test side


def read_question(
    path: Path, *, max_bytes: int, call: Callable[[str], Callable] | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """The answers and the problems recorded for one question, read as data only."""
    if path.is_symlink() or not path.is_file():
        raise AnswerError("no answers were exported for this question")
    if path.stat().st_size > max_bytes:
        raise AnswerError(f"the exported answers exceed {max_bytes // 2**20} MiB")
    record = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(record, dict):
        raise AnswerError("malformed answers file")
    answers, problems = {}, {str(k): str(v)[:300] for k, v in dict(record["problems"]).items()}
    for name, node in dict(record["answers"]).items():
        try:
            answers[str(name)] = decode(node, call=call)
        except Exception as error:
            problems[str(name)] = f"`{name}` could not be read back ({error})"[:300]
    return answers, problems
