"""Every public function and method of vbgui.core and vbgui.app has numpydoc Parameters and Returns sections.

Public: a name not starting with "_", defined in the module under test (not imported into it), and for a
class, defined in the class itself (not inherited). Properties are exempt. A callable with parameters other
than self/cls must document each in "Parameters" under the same name, and document no parameter it does not
take; a callable that returns something (annotation other than None, or, without an annotation, a
``return value`` or ``yield`` in its body) must have a "Returns" or "Yields" section. Numba-compiled
functions are checked through their Python function.
"""
from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import sys
import textwrap
import types
import warnings

import pytest
from numpydoc.docscrape import NumpyDocString

import vbgui.app
import vbgui.core

PACKAGES = (vbgui.core, vbgui.app)


def module_names() -> list[str]:
    """Return the dotted names of every module in the packages under test, packages included."""
    names = []
    for package in PACKAGES:
        names.append(package.__name__)
        for info in pkgutil.walk_packages(package.__path__, prefix=package.__name__ + "."):
            names.append(info.name)
    return sorted(names)


def python_function(obj: object) -> types.FunctionType | None:
    """Return the plain Python function behind obj (a function, a numba dispatcher, a static or class method,
    a functools wrapper such as lru_cache), or None when obj is not a function (a property, a constant)."""
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    obj = getattr(obj, "py_func", obj)  # numba's CPUDispatcher keeps the Python function here
    if hasattr(obj, "__wrapped__"):
        obj = inspect.unwrap(obj)
    return obj if isinstance(obj, types.FunctionType) else None


def public_callables(module: types.ModuleType) -> list[tuple[str, types.FunctionType]]:
    """Return (qualified name, function) for the public functions and own public methods of public classes."""
    found = []
    for name, obj in vars(module).items():
        if name.startswith("_"):
            continue
        if inspect.isclass(obj):
            if obj.__module__ != module.__name__:
                continue
            for method_name, member in vars(obj).items():
                function = python_function(member)
                if method_name.startswith("_") or function is None:
                    continue
                found.append((f"{name}.{method_name}", function))
            continue
        function = python_function(obj)
        if function is not None and function.__module__ == module.__name__:
            found.append((name, function))
    return found


def body_returns_value(function: types.FunctionType) -> bool:
    """Whether the function's own body (not nested functions) has ``return <value>``, ``yield`` or ``yield from``."""
    try:
        source = textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError):
        return False
    tree = ast.parse(source)
    definition = tree.body[0]
    pending = list(ast.iter_child_nodes(definition))
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        if isinstance(node, ast.Return) and node.value is not None:
            return True
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            return True
        pending.extend(ast.iter_child_nodes(node))
    return False


def returns_something(function: types.FunctionType) -> bool:
    """Whether the function returns a value: by its return annotation, or by its body when it has none."""
    annotation = inspect.signature(function).return_annotation
    if annotation is inspect.Signature.empty:
        return body_returns_value(function)
    return annotation not in (None, "None", type(None))


def documented_parameter_names(doc: NumpyDocString) -> set[str]:
    """Return the names in the Parameters (and Other Parameters) sections, "a, b" split and stars removed."""
    names = set()
    for section in ("Parameters", "Other Parameters"):
        for entry in doc[section]:
            for name in entry.name.split(","):
                names.add(name.strip().lstrip("*"))
    return names


def docstring_problems(qualified_name: str, function: types.FunctionType) -> list[str]:
    """Return one sentence per way the function's docstring falls short; an empty list if it is complete."""
    parameter_names = [name for name in inspect.signature(function).parameters if name not in ("self", "cls")]
    returns = returns_something(function)
    if not parameter_names and not returns:
        return []
    text = inspect.getdoc(function)
    if not text:
        return [f"{qualified_name}: no docstring"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpydoc warns on sections it does not know; they do not matter here
        try:
            doc = NumpyDocString(text)
        except ValueError as error:
            return [f"{qualified_name}: numpydoc cannot parse the docstring ({error})"]
    problems = []
    documented = documented_parameter_names(doc)
    missing = [name for name in parameter_names if name not in documented]
    extra = sorted(documented - set(parameter_names))
    if missing:
        problems.append(f"{qualified_name}: Parameters lacks {', '.join(missing)}")
    if extra:
        problems.append(f"{qualified_name}: Parameters names {', '.join(extra)}, which it does not take")
    if returns and not (doc["Returns"] or doc["Yields"]):
        problems.append(f"{qualified_name}: returns a value but has no Returns (or Yields) section")
    return problems


def module_problems(module: types.ModuleType) -> list[str]:
    """Return the docstring problems of every public callable of the module."""
    problems = []
    for qualified_name, function in public_callables(module):
        problems.extend(docstring_problems(f"{module.__name__}.{qualified_name}", function))
    return problems


@pytest.mark.parametrize("module_name", module_names())
def test_public_callables_document_parameters_and_returns(module_name: str) -> None:
    module = importlib.import_module(module_name)
    problems = module_problems(module)
    assert not problems, "\n".join(problems)


def test_module_walk_finds_both_packages() -> None:
    names = module_names()
    assert "vbgui.core.elbo" in names and "vbgui.app.fit" in names and "vbgui.core.lds.model" in names


UNDOCUMENTED_SOURCE = '''
import functools
from typing import Iterator
import numba


class Imported:
    pass


def undocumented(rate: float, count: int) -> float:
    """Only a summary line."""
    return rate * count


def wrong_name(rate: float) -> None:
    """Summary.

    Parameters
    ----------
    rat : float
        A misspelt name.
    """


def unannotated(value):
    """Summary.

    Parameters
    ----------
    value : float
        A value.
    """
    return value


def generator(n: int) -> Iterator[int]:
    """Summary.

    Parameters
    ----------
    n : int
        How many.
    """
    yield from range(n)


@numba.njit(cache=False)
def compiled(x):
    """Summary."""
    return x + 1.0


@functools.lru_cache(maxsize=1)
def cached(size: int) -> int:
    """Summary."""
    return size


def documented(rate: float, *args: float, **options: float) -> float:
    """Summary.

    Parameters
    ----------
    rate : float
        Events per second.
    *args : float
        Ignored.
    **options : float
        Ignored.

    Returns
    -------
    float
        The rate.
    """
    return rate


def no_arguments() -> None:
    """Nothing to document."""


class Thing:
    def method(self, size: int) -> int:
        """Summary."""
        return size

    @property
    def area(self) -> float:
        """Exempt."""
        return 1.0

    @staticmethod
    def helper(width: float) -> None:
        """Summary."""

    def _private(self, x: int) -> int:
        return x


class Child(Thing):
    pass
'''


def test_checker_reports_each_kind_of_gap(tmp_path, monkeypatch) -> None:
    (tmp_path / "vbgui_docstring_probe.py").write_text(UNDOCUMENTED_SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("vbgui_docstring_probe")
    try:
        problems = module_problems(module)
        found_names = {name for name, _ in public_callables(module)}
    finally:
        sys.modules.pop("vbgui_docstring_probe", None)
    prefix = "vbgui_docstring_probe."
    assert found_names == {"undocumented", "wrong_name", "unannotated", "generator", "compiled", "cached", "documented",
                           "no_arguments", "Thing.method", "Thing.helper"}
    assert sorted(problems) == sorted([
        prefix + "undocumented: Parameters lacks rate, count",
        prefix + "undocumented: returns a value but has no Returns (or Yields) section",
        prefix + "wrong_name: Parameters lacks rate",
        prefix + "wrong_name: Parameters names rat, which it does not take",
        prefix + "unannotated: returns a value but has no Returns (or Yields) section",
        prefix + "generator: returns a value but has no Returns (or Yields) section",
        prefix + "compiled: Parameters lacks x",
        prefix + "compiled: returns a value but has no Returns (or Yields) section",
        prefix + "cached: Parameters lacks size",
        prefix + "cached: returns a value but has no Returns (or Yields) section",
        prefix + "Thing.method: Parameters lacks size",
        prefix + "Thing.method: returns a value but has no Returns (or Yields) section",
        prefix + "Thing.helper: Parameters lacks width",
    ])
