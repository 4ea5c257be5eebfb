"""Add the notebooks nbval executed (tools/nbval_record.py) to the book's cache.

    python tools/cache_executed.py EXECUTED_DIR [--cache DIR] [--source notebooks]

Each ``EXECUTED_DIR/<name>.ipynb`` is cached as the execution of
``notebooks/<name>.ipynb``, but only when its code cells are exactly those of the
notebook in the repository (the cache keys on them, so a notebook edited after the test
run is executed again by the book build). The book build (``execute_notebooks: cache``)
then takes its outputs from the cache instead of running the notebook a second time.
Each cached notebook's file is touched, so that Sphinx reads it again (its doctree from
an earlier build would otherwise stand).
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import nbformat


def _code(nb: nbformat.NotebookNode) -> list[str]:
    return [cell.source for cell in nb.cells if cell.cell_type == "code"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("executed", type=pathlib.Path)
    parser.add_argument(
        "--cache", type=pathlib.Path, default=pathlib.Path("_build/.jupyter_cache")
    )
    parser.add_argument(
        "--source", type=pathlib.Path, default=pathlib.Path("notebooks")
    )
    args = parser.parse_args(argv)

    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(str(args.cache))
    cached, stale = [], []
    for executed_path in sorted(args.executed.glob("*.ipynb")):
        source_path = args.source / executed_path.name
        if not source_path.exists():
            stale.append(executed_path.name)
            continue
        executed = nbformat.read(executed_path, as_version=4)
        if _code(executed) != _code(nbformat.read(source_path, as_version=4)):
            stale.append(executed_path.name)
            continue
        seconds = executed.metadata.pop("statlearn_execution_seconds", None)
        record = cache.add_nb_to_project(str(source_path))
        cache.cache_notebook_bundle(
            CacheBundleIn(executed, record.uri, data={"execution_seconds": seconds}),
            check_validity=False,
            overwrite=True,
        )
        source_path.touch()  # newer than its doctree: Sphinx reads it again
        cached.append(executed_path.name)
    print(
        f"cache_executed: {len(cached)} notebooks cached from {args.executed}", end=""
    )
    print(f"; changed since they ran, left to the book build: {stale}" if stale else "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
