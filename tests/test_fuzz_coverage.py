"""The fuzz suite covers the whole public API of companion.

Each ``tests/test_fuzz_<module>.py`` declares the public names it exercises in a
module-level ``COVERED`` set ("module.name"); this test reads those sets (without
importing the files) and fails, naming what is missing, if any public function or class
of a companion module is exercised by none of them.
"""

import ast
import importlib
import inspect
from pathlib import Path

import companion

TESTS = Path(__file__).parent
MODULES = companion.__all__


def _declared_coverage() -> set[str]:
    covered: set[str] = set()
    for path in sorted(TESTS.glob("test_fuzz_*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Assign) and any(
                isinstance(target, ast.Name) and target.id == "COVERED" for target in node.targets
            ):
                covered |= set(ast.literal_eval(node.value))
    return covered


def _public_callables() -> set[str]:
    names = set()
    for module_name in MODULES:
        module = importlib.import_module(f"companion.{module_name}")
        for name in module.__all__:
            value = getattr(module, name)
            if inspect.isfunction(value) or inspect.isclass(value):
                names.add(f"{module_name}.{name}")
    return names


def test_every_public_function_and_class_is_fuzzed():
    """Every function and class in the __all__ of every companion module appears in the
    COVERED set of some fuzz file (constants and type aliases are exempt)."""
    public = _public_callables()
    assert len(public) > 50, "the public API was not found"
    missing = sorted(public - _declared_coverage())
    assert not missing, f"not covered by any tests/test_fuzz_*.py: {missing}"


def test_declared_names_exist():
    """Every name a fuzz file declares as covered is a real public name (no stale entries)."""
    public = set()
    for module_name in MODULES:
        module = importlib.import_module(f"companion.{module_name}")
        public |= {f"{module_name}.{name}" for name in module.__all__}
    stale = sorted(
        name for name in _declared_coverage() if name.rsplit(".", 1)[0] not in public
        and name not in public
    )  # fmt: skip
    assert not stale, f"declared but not public: {stale}"
