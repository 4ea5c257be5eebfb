import subprocess
import sys

import numpy as np
import pytest
import torch

import statlearn
from api import module_names


def test_version():
    assert statlearn.__version__ == "0.1.0"


def test_import_is_light():
    code = (
        "import sys, statlearn, statlearn.latent, statlearn.info, statlearn.robust; "
        "heavy = [m for m in ('sklearn', 'matplotlib', 'torchvision', 'scipy') if m in "
        "sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""


def test_device_default_is_available(monkeypatch):
    monkeypatch.delenv("STATLEARN_DEVICE", raising=False)
    dev = statlearn.device()
    # MPS only when asked for: it has no float64
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert dev.type == expected
    torch.zeros(1, device=dev)


def test_device_override(monkeypatch):
    monkeypatch.setenv("STATLEARN_DEVICE", "cpu")
    assert statlearn.device() == torch.device("cpu")
    assert statlearn.device("cpu") == torch.device("cpu")


def test_device_bad_values(monkeypatch):
    monkeypatch.setenv("STATLEARN_DEVICE", "not-a-device")
    with pytest.raises(ValueError, match="STATLEARN_DEVICE"):
        statlearn.device()
    monkeypatch.delenv("STATLEARN_DEVICE")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            statlearn.device("cuda")


def test_seed_everything_repeats():
    statlearn.seed_everything(123)
    a = (torch.randn(3), np.random.rand(3), __import__("random").random())
    statlearn.seed_everything(123)
    b = (torch.randn(3), np.random.rand(3), __import__("random").random())
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]


@pytest.mark.parametrize("bad", [-1, 2**32])
def test_seed_everything_range(bad):
    with pytest.raises(ValueError):
        statlearn.seed_everything(bad)


def test_seed_everything_type():
    with pytest.raises(TypeError):
        statlearn.seed_everything(1.5)


def test_lazy_exports_resolve():
    import importlib

    for pkg in ("statlearn.latent", "statlearn.info", "statlearn.robust"):
        module = importlib.import_module(pkg)
        assert set(module.__all__) <= set(dir(module))
        with pytest.raises(AttributeError):
            module.no_such_name


# --------------------------------------------------------------------------------------
# issue 15: packaging (lazy subpackages, every public name exported, docstrings that
# read in help())

import importlib  # noqa: E402
import inspect  # noqa: E402
import pkgutil  # noqa: E402
import re  # noqa: E402

SUBPACKAGES = ("statlearn.latent", "statlearn.info", "statlearn.robust")

# the modules whose docstrings this file holds to help()'s standard (the classical
# estimators' modules, mixture and hmm, have their own tests)
# every module of the package, the private helpers _checks and _lazy included
DOC_MODULES = tuple(module_names(include_private=True))


def test_subpackages_are_lazy_attributes_of_statlearn(tmp_path):
    """Defect: `import statlearn; statlearn.latent` was an AttributeError."""
    code = (
        "import sys, statlearn\n"
        "assert {'latent', 'info', 'robust'} <= set(dir(statlearn))\n"
        "mods = [statlearn.latent, statlearn.info, statlearn.robust, "
        "statlearn.training, statlearn.data]\n"
        "assert [m.__name__ for m in mods][:3] == ['statlearn.latent', "
        "'statlearn.info', 'statlearn.robust']\n"
        "print(','.join(m for m in ('sklearn', 'matplotlib', 'torchvision', 'scipy') "
        "if m in sys.modules))"
    )
    # run outside the checkout, so that the installed statlearn is the one imported
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        statlearn.nope


def _modules(package: str):
    pkg = importlib.import_module(package)
    for info in pkgutil.iter_modules(pkg.__path__):
        if not info.name.startswith("_"):
            yield pkg, importlib.import_module(f"{package}.{info.name}")


@pytest.mark.parametrize("package", SUBPACKAGES)
def test_every_public_name_is_exported_by_its_package(package):
    """Defect: 11 names in a module's __all__ (lower_confidence_bound, ViterbiResult,
    DDPMLoss, ConvergenceWarning, ...) were not exported by its package."""
    for pkg, module in _modules(package):
        missing = [name for name in module.__all__ if name not in pkg.__all__]
        assert not missing, (
            f"{module.__name__}.__all__ names {missing}, which {package} does not "
            "export"
        )
        for name in module.__all__:
            assert getattr(pkg, name) is getattr(module, name)
    pkg = importlib.import_module(package)
    assert pkg.__all__ == sorted(set(pkg.__all__))


# raw Sphinx/LaTeX markup that help() would show as it is; cross-reference roles
# (:func:`fit`) read well enough and stay for an API reference
_MARKUP = re.compile(r"\{cite\}|:cite:|:math:|\{eq\}|\\[A-Za-z]+")


def _outside_math_blocks(doc: str) -> str:
    """The docstring without its ``.. math::`` blocks.

    A display formula in a ``.. math::`` block (numpydoc's and NumPy's own way) is set
    apart and indented, so help() shows it as a readable block of LaTeX, and the API
    reference typesets it; LaTeX anywhere else in running text is raw markup.
    """
    kept, in_block = [], False
    for line in doc.splitlines():
        if line.strip() == ".. math::":
            in_block = True
            continue
        if in_block and (not line.strip() or line.startswith((" ", "\t"))):
            continue
        in_block = False
        kept.append(line)
    return "\n".join(kept)


def _public_objects():
    for name in DOC_MODULES:
        module = importlib.import_module(name)
        yield name, module
        for attr in getattr(module, "__all__", []):
            obj = getattr(module, attr)
            if (
                not (inspect.isfunction(obj) or inspect.isclass(obj))
                or obj.__module__ != name
            ):
                continue
            yield f"{name}.{attr}", obj
            if inspect.isclass(obj):
                for meth, fn in vars(obj).items():
                    if inspect.isfunction(fn) and (
                        not meth.startswith("_") or meth == "__call__"
                    ):
                        yield f"{name}.{attr}.{meth}", fn


def test_docstrings_have_no_raw_markup():
    """Defect: help() showed raw {cite}, :math: and LaTeX (\\N, \\beta) markup."""
    bad = {}
    for qualname, obj in _public_objects():
        doc = _outside_math_blocks(inspect.getdoc(obj) or "")
        hits = sorted(set(_MARKUP.findall(doc)))
        if hits:
            bad[qualname] = hits
    assert not bad, f"raw markup in docstrings: {bad}"


def _documented_parameters(doc: str) -> set[str]:
    """Names in a numpydoc 'Parameters' section (``a, b : type`` and ``*args``)."""
    lines = doc.splitlines()
    names: set[str] = set()
    for i, line in enumerate(lines[:-1]):
        if line.strip() not in ("Parameters", "Other Parameters") or set(
            lines[i + 1].strip()
        ) != {"-"}:
            continue
        for j in range(i + 2, len(lines)):
            text = lines[j]
            if (
                j + 1 < len(lines)
                and text.strip()
                and set(lines[j + 1].strip()) == {"-"}
            ):
                break  # the next section's title
            if text and not text.startswith(" "):
                head = text.split(" : ")[0]
                names.update(part.strip().lstrip("*") for part in head.split(","))
    return names


def _public_callables():
    for name in DOC_MODULES:
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", []):
            obj = getattr(module, attr)
            if getattr(obj, "__module__", None) != name:
                continue
            if inspect.isfunction(obj):
                yield f"{name}.{attr}", obj, obj
            elif inspect.isclass(obj) and not issubclass(obj, (tuple, BaseException)):
                if "__init__" in vars(obj):
                    yield (
                        f"{name}.{attr}",
                        obj.__init__,
                        obj,
                    )  # documented in the class docstring
                for meth, fn in vars(obj).items():
                    if inspect.isfunction(fn) and (
                        not meth.startswith("_") or meth == "__call__"
                    ):
                        yield f"{name}.{attr}.{meth}", fn, fn


def test_every_parameter_is_documented():
    """Defect: 17 public callables left parameters undocumented (numpydoc 'Parameters'
    section).
    """
    undocumented = {}
    for qualname, fn, doc_owner in _public_callables():
        params = [
            p for p in inspect.signature(fn).parameters if p not in ("self", "cls")
        ]
        missing = [
            p
            for p in params
            if p not in _documented_parameters(inspect.getdoc(doc_owner) or "")
        ]
        if missing:
            undocumented[qualname] = missing
    assert not undocumented, f"parameters missing from the docstrings: {undocumented}"


def test_the_documentation_checks_can_fail():
    def f(a, b):
        """Add.

        Parameters
        ----------
        a : int
            First, :math:`\\alpha`.
        """

    assert _documented_parameters(inspect.getdoc(f)) == {"a"}
    assert _MARKUP.findall(inspect.getdoc(f)) == [":math:", "\\alpha"]


def test_help_reads_well():
    import pydoc

    text = pydoc.render_doc(statlearn.info.vib.VIB, renderer=pydoc.plaintext)
    assert (
        "(Alemi et al., 2017)" in text and "{cite}" not in text and "\\log" not in text
    )
