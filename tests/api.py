"""The public API of statlearn, walked: every module, every public callable.

Shared by the tests that hold conventions over the whole package (test_conventions.py,
test_core.py). A public callable is a function or class named in a public module's
``__all__`` and defined there, plus the public methods a public class defines itself.
"""

from __future__ import annotations

import importlib
import inspect
import pathlib
import pkgutil
from collections.abc import Callable, Iterator

import statlearn

ROOT = pathlib.Path(statlearn.__file__).resolve().parent


def module_names(include_private: bool = False) -> list[str]:
    """Every module of the package, ``statlearn`` first; private ones (a leading
    underscore anywhere in the dotted name) only if asked."""
    names = ["statlearn"]
    for info in pkgutil.walk_packages(statlearn.__path__, "statlearn."):
        if include_private or not any(p.startswith("_") for p in info.name.split(".")):
            names.append(info.name)
    return names


def public_callables() -> Iterator[tuple[str, Callable, object]]:
    """``(qualified name, function, owner)`` for every public callable; for a class,
    its ``__init__`` (named as the class) and each public method it defines."""
    seen: set[int] = set()
    for name in module_names():
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", []):
            obj = getattr(module, attr)
            if getattr(obj, "__module__", None) != name or id(obj) in seen:
                continue
            seen.add(id(obj))
            if inspect.isfunction(obj):
                yield f"{name}.{attr}", obj, obj
            elif inspect.isclass(obj) and not issubclass(obj, BaseException):
                if "__init__" in vars(obj) and inspect.isfunction(obj.__init__):
                    yield f"{name}.{attr}", obj.__init__, obj
                for meth, fn in vars(obj).items():
                    if isinstance(fn, (staticmethod, classmethod)):
                        fn = fn.__func__
                    if inspect.isfunction(fn) and (
                        not meth.startswith("_") or meth == "__call__"
                    ):
                        yield f"{name}.{attr}.{meth}", fn, obj


def public_classes() -> Iterator[tuple[str, type]]:
    """``(qualified name, class)`` for every public class."""
    seen: set[int] = set()
    for name in module_names():
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", []):
            obj = getattr(module, attr)
            if (
                inspect.isclass(obj)
                and getattr(obj, "__module__", None) == name
                and id(obj) not in seen
            ):
                seen.add(id(obj))
                yield f"{name}.{attr}", obj


def source_files() -> list[pathlib.Path]:
    """Every ``.py`` file of the package."""
    return sorted(ROOT.rglob("*.py"))


def documented_parameters(fn: Callable) -> dict[str, str]:
    """``{name: "type text. description"}`` from the numpydoc "Parameters" section of
    ``fn``'s docstring (a class's own docstring for its ``__init__``), lower-cased;
    ``"a, b : type"`` documents both names."""
    doc = inspect.getdoc(fn) or ""
    if fn.__name__ == "__init__" and "Parameters\n---" not in doc:
        owner = inspect.getmodule(fn)
        cls = getattr(owner, fn.__qualname__.split(".")[0], None)
        doc = inspect.getdoc(cls) or ""
    out: dict[str, str] = {}
    lines = doc.splitlines()
    try:
        start = lines.index("Parameters") + 2
    except ValueError:
        return out
    current: list[str] = []
    for line in lines[start:]:
        if line and not line.startswith(" "):
            if " : " not in line and line.strip() and not line.startswith("*"):
                break  # the next section
            names, _, kind = line.partition(" : ")
            current = [n.strip(" *") for n in names.split(",")]
            for n in current:
                out[n] = kind.lower()
        elif line.strip() and current:
            for n in current:
                out[n] += " " + line.strip().lower()
    return out
