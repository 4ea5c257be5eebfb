"""statlearn's conventions, held over the whole public API (CONTRIBUTING.md, "Library
conventions"): one randomness argument, one unit rule, one ``sample`` signature, the
shared helpers in one place, and Part III independent of Parts I and II.

Each test walks every public callable (tests/api.py), so a new public name is held to
the rules the day it lands.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import subprocess
import sys

import pytest
import torch

from api import ROOT, module_names, public_callables, public_classes, source_files

# names that are the randomness rule itself, not routines that draw
SEEDING = {
    "statlearn.seed_everything": "seeds the global generators: its argument is the seed"
}

# a draw from a random-number generator, written directly in a function's source
_DRAW = re.compile(
    r"torch\.(randn|rand|randint|randperm|multinomial|bernoulli|normal|poisson)\("
    r"|\b(randn_like|rand_like|randint_like)\("
    r"|\.(normal_|uniform_|bernoulli_|exponential_|random_)\("
    r"|\bas_generator\("
)


def _source(fn) -> str:
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        return ""


def _drawing_private_names(module) -> set[str]:
    """Private functions and methods of ``module`` that draw random numbers, directly
    or through another private one of the same module."""
    private: dict[str, str] = {}
    for name, obj in vars(module).items():
        if getattr(obj, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(obj) and name.startswith("_"):
            private[name] = _source(obj)
        elif inspect.isclass(obj):
            for meth, fn in vars(obj).items():
                if (
                    inspect.isfunction(fn)
                    and meth.startswith("_")
                    and not (meth.startswith("__") and meth != "__call__")
                ):
                    private[meth] = _source(fn)
    drawing = {n for n, src in private.items() if _DRAW.search(src)}
    changed = True
    while changed:
        changed = False
        for name, src in private.items():
            if name not in drawing and any(
                re.search(rf"\b{re.escape(d)}\(", src) for d in drawing
            ):
                drawing.add(name)
                changed = True
    return drawing


def _draws(fn, drawing: set[str]) -> bool:
    src = _source(fn)
    body = src.split('"""', 2)[-1] if src.count('"""') >= 2 else src  # skip the doc
    return bool(_DRAW.search(body)) or any(
        re.search(rf"\b{re.escape(d)}\(", body) for d in drawing
    )


def _params(fn) -> list[str]:
    return list(inspect.signature(fn).parameters)


def test_no_parameter_is_named_seed_or_generator():
    """One randomness argument: a parameter named ``seed`` or ``generator`` anywhere in
    the public API fails (``random_state`` takes an int, a NumPy or torch generator)."""
    bad = {
        qual: [p for p in _params(fn) if p in ("seed", "generator")]
        for qual, fn, _ in public_callables()
        if qual not in SEEDING
    }
    bad = {q: p for q, p in bad.items() if p}
    assert not bad, f"parameters named seed/generator: {bad}"


def test_every_routine_that_draws_takes_random_state():
    """A public routine whose code draws random numbers (directly or through a
    private helper of its module) takes ``random_state``, or belongs to an estimator
    whose constructor does (scikit-learn's contract)."""
    missing = []
    cache: dict[str, set[str]] = {}
    for qual, fn, owner in public_callables():
        if qual in SEEDING:
            continue
        module = sys.modules[fn.__module__]
        drawing = cache.setdefault(module.__name__, _drawing_private_names(module))
        if not _draws(fn, drawing):
            continue
        if "random_state" in _params(fn):
            continue
        init = getattr(owner, "__init__", None) if inspect.isclass(owner) else None
        if init is not None and "random_state" in _params(init):
            continue
        missing.append(qual)
    assert not missing, f"routines that draw without a random_state: {missing}"


def test_the_random_routine_detector_can_fail():
    import types

    module = types.ModuleType("fake")

    def _noise(n):
        return torch.randn(n)

    def public(n):
        return _noise(n) + 1

    _noise.__module__ = public.__module__ = "fake"
    module._noise, module.public = _noise, public
    drawing = _drawing_private_names(module)
    assert drawing == {"_noise"} and _draws(public, drawing)


def test_sample_has_one_signature():
    """``sample(n_samples=1, *, random_state=None, ...)`` on every model."""
    bad = {}
    for qual, cls in public_classes():
        fn = vars(cls).get("sample")
        if not inspect.isfunction(fn):
            continue
        params = list(inspect.signature(fn).parameters.values())[1:]
        ok = (
            params
            and params[0].name == "n_samples"
            and params[0].default == 1
            and any(
                p.name == "random_state"
                and p.default is None
                and p.kind == p.KEYWORD_ONLY
                for p in params
            )
        )
        if not ok:
            bad[qual] = str(inspect.signature(fn))
    assert not bad, f"sample signatures that differ: {bad}"


def test_every_loss_declares_its_unit():
    """Losses are NamedTuples with ``total`` first and a ``units`` class attribute
    ("bits", "nats", or "squared error" for a mean squared error); the information
    modules of Part II report bits."""
    bad = {}
    for qual, cls in public_classes():
        fields = getattr(cls, "_fields", None)
        if not (issubclass(cls, tuple) and fields and fields[0] == "total"):
            continue
        units = getattr(cls, "units", None)
        if units not in ("bits", "nats", "squared error"):
            bad[qual] = f"units = {units!r}"
        elif qual.startswith("statlearn.info.") and units != "bits":
            bad[qual] = f"information in {units}, not bits"
    assert not bad, bad


def test_objectives_return_named_terms():
    """Every objective (a public ``*_loss`` function taking the model first, or a
    model's ``loss`` method) is annotated to return a NamedTuple of terms (``total``
    first), never a bare tensor. Per-example losses of attacks (``margin_loss(logits,
    y)``) are not objectives."""
    bad = []
    for qual, fn, _ in public_callables():
        name = qual.rsplit(".", 1)[-1]
        params = list(inspect.signature(fn).parameters)
        objective = (name.endswith("_loss") and params[:1] == ["model"]) or (
            name == "loss" and params[:1] == ["self"]
        )
        if not objective:
            continue
        ann = inspect.signature(fn).return_annotation
        if isinstance(ann, str):
            ann = eval(ann, vars(sys.modules[fn.__module__]))  # noqa: S307
        fields = getattr(ann, "_fields", None)
        if not fields or fields[0] != "total":
            bad.append(f"{qual} -> {ann}")
    assert not bad, bad


def test_fit_records_the_unit_and_repeats_for_a_random_state():
    from statlearn.info import VIB, vib_loss
    from statlearn.training import fit

    x = torch.rand(64, 6)
    y = torch.randint(0, 3, (64,), generator=torch.Generator().manual_seed(0))

    def run():
        torch.manual_seed(5)
        model = VIB(6, 3, latent_dim=2, hidden=(8,))
        torch.manual_seed(123)  # a different global state each run must not matter
        hist = fit(
            model,
            (x, y),
            objective=lambda m, a, b: vib_loss(m, a, b, beta=1e-2),
            epochs=2,
            batch_size=16,
            quiet=True,
            random_state=7,
        )
        return model, hist

    (m1, h1), (m2, h2) = run(), run()
    assert h1.units == "bits" and h1["loss"] == h2["loss"]
    for p, q in zip(m1.parameters(), m2.parameters()):
        assert torch.equal(p, q)


# --- shared helpers in one place -------------------------------------------------

# what the shared modules own, and the spelling that would betray a second copy
_ONE_COPY = {
    "was_training": "statlearn.nets.eval_mode",
    "def log_mean_softmax": "statlearn.functional.log_mean_softmax",
    "def gaussian_kl": "statlearn.functional.gaussian_kl",
    "def _rows_norm": "statlearn.functional.rows_norm",
    "_LOG_2PI": "statlearn.functional.gaussian_log_prob",
    "def _log_softmax_at": "statlearn.functional.log_softmax_at",
    "class _EvalMode": "statlearn.nets.eval_mode",
}


def test_shared_helpers_are_written_once():
    found = []
    for path in source_files():
        rel = path.relative_to(ROOT.parent).as_posix()
        if rel in ("statlearn/functional.py", "statlearn/nets.py"):
            continue
        text = path.read_text()
        for needle, owner in _ONE_COPY.items():
            if needle in text:
                found.append(f"{rel}: {needle!r} (use {owner})")
    assert not found, found


def test_no_module_imports_a_private_name_of_another():
    """Private modules (``statlearn._checks``) may be imported; private names
    (``_as_float``, ``_log_softmax_at``) may not cross a module boundary."""
    bad = []
    for path in source_files():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "statlearn"
            ):
                for alias in node.names:
                    if not alias.name.startswith("_"):
                        continue
                    try:
                        importlib.import_module(f"{node.module}.{alias.name}")
                    except ImportError:
                        bad.append(
                            f"{path.name}: from {node.module} import {alias.name}"
                        )
            elif (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in ("_checks", "_lazy", "_arrays")
                and node.attr.startswith("_")
            ):
                bad.append(f"{path.name}: {node.value.id}.{node.attr}")
    assert not bad, bad


def test_part_three_imports_neither_part_one_nor_part_two():
    code = (
        "import sys, statlearn.robust as r\n"
        "for name in r.__all__: getattr(r, name)\n"
        "import statlearn.robust.attacks, statlearn.robust.defenses, "
        "statlearn.robust.smoothing, statlearn.robust.features, "
        "statlearn.robust.theory\n"
        "print(','.join(sorted(m for m in sys.modules if m.startswith("
        "('statlearn.info', 'statlearn.latent')))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""


def test_every_module_names_the_chapters_it_serves():
    bad = []
    for name in module_names(include_private=False):
        if name in (
            "statlearn",
            "statlearn.latent",
            "statlearn.info",
            "statlearn.robust",
        ) or name.endswith(".__init__"):
            continue
        module = importlib.import_module(name)
        if not module.__file__.endswith("__init__.py") and not re.search(
            r"\b[Cc]hapters? \d", module.__doc__ or ""
        ):
            bad.append(name)
    assert not bad, f"module docstrings that name no chapter: {bad}"


@pytest.mark.parametrize(
    "routine",
    ["info.information_bottleneck", "latent.VAE.sample", "robust.pgd"],
)
def test_the_rule_covers_the_routines_that_had_other_names(routine):
    import statlearn

    obj = statlearn
    for part in routine.split("."):
        obj = getattr(obj, part)
    assert "random_state" in inspect.signature(obj).parameters
