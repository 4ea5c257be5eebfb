"""Execute chapter notebooks with overridden parameters and report each one's wall time.

Every chapter asserts its claim for SEED 0, 1 and 2; this is how a maintainer checks the
other seeds:

    python tools/run_notebook.py notebooks/01_gaussian_mixtures_em.ipynb --seed 0 1 2
    python tools/run_notebook.py notebooks/*.ipynb -p EPOCHS=50

The parameters cell (tag ``parameters``) is edited in memory: each ``NAME = value`` line
whose NAME is overridden gets the new value. Exits non-zero if any run raises.
"""

from __future__ import annotations

import argparse
import pathlib
import re
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def override(nb: nbformat.NotebookNode, params: dict[str, str]) -> None:
    """Replace ``NAME = ...`` assignments in the cell tagged ``parameters``."""
    cells = [
        c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])
    ]
    if not cells:
        raise SystemExit("no cell tagged 'parameters'")
    src = cells[0].source
    for name, value in params.items():
        pattern = re.compile(rf"^({re.escape(name)}\s*=\s*)(.*?)(\s*#.*)?$", re.M)
        if not pattern.search(src):
            raise SystemExit(f"parameter {name} is not assigned in the parameters cell")
        src = pattern.sub(
            lambda m: m.group(1) + value + (m.group(3) or ""), src, count=1
        )
    cells[0].source = src


def run(path: pathlib.Path, params: dict[str, str], timeout: int) -> float:
    nb = nbformat.read(path, as_version=4)
    override(nb, params)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("notebooks", nargs="+", type=pathlib.Path)
    parser.add_argument(
        "--seed",
        nargs="*",
        type=int,
        default=[],
        help="run once per seed (overrides SEED)",
    )
    parser.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        help="NAME=VALUE override (a Python literal)",
    )
    parser.add_argument(
        "--timeout", type=int, default=600, help="per-cell timeout in seconds"
    )
    args = parser.parse_args(argv)
    base = dict(p.split("=", 1) for p in args.param)
    seeds = args.seed or [None]
    failed = 0
    for path in args.notebooks:
        for seed in seeds:
            params = dict(base, **({"SEED": str(seed)} if seed is not None else {}))
            label = f"{path.name} " + " ".join(f"{k}={v}" for k, v in params.items())
            try:
                seconds = run(path, params, args.timeout)
                print(f"ok    {seconds:7.1f} s  {label}", flush=True)
            except CellExecutionError as exc:
                failed += 1
                print(f"FAIL            {label}\n{exc}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
