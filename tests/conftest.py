"""Shared pytest configuration.

The ``gpu`` marker skips without CUDA, and pins TF32 off while a ``gpu`` test runs
(:func:`exact_float32`): the A100, L4 and H100 default their convolutions to TF32,
whose 10-bit mantissa breaks the CPU agreement those tests assert. Figures render
off-screen in the tests' own process (``matplotlib.use``, not ``MPLBACKEND``, which the
notebooks' kernels would inherit: nbval must run a chapter's figures as a reader's
Jupyter does, inline, so that the executions it keeps for the book hold them).
"""

from __future__ import annotations

import contextlib
import os
import pathlib
from collections.abc import Iterator

import matplotlib
import pytest
import torch

matplotlib.use("Agg")


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@contextlib.contextmanager
def exact_float32() -> Iterator[None]:
    """Full float32 matmuls and convolutions on CUDA (no TF32), restored after."""
    saved = (
        torch.backends.cuda.matmul.allow_tf32,
        torch.backends.cudnn.allow_tf32,
        torch.get_float32_matmul_precision(),
    )
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = saved[0]
        torch.backends.cudnn.allow_tf32 = saved[1]
        torch.set_float32_matmul_precision(saved[2])


@pytest.fixture(autouse=True)
def _no_tf32_on_gpu(request: pytest.FixtureRequest) -> Iterator[None]:
    if request.node.get_closest_marker("gpu") is None:
        yield
        return
    with exact_float32():
        yield


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


@pytest.fixture(scope="session")
def built_book() -> pathlib.Path:
    """The executed book in ``_build/html`` (or ``$STATLEARN_BOOK_HTML``).

    Without it the test skips, saying why; in CI (``CI=true``), where ``make test``
    builds the book first, it fails instead.
    """
    root = pathlib.Path(__file__).resolve().parents[1]
    site = pathlib.Path(os.environ.get("STATLEARN_BOOK_HTML", root / "_build" / "html"))
    if not (site / "search.html").exists():
        reason = f"no built book at {site}: run make book (make test does)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return site
