"""Helpers shared by the benchmark scripts.

Each script runs as ``python benchmarks/bench_<area>.py``.
"""

from __future__ import annotations

import contextlib
import os
import platform
import statistics
import subprocess
import sys
import time
from typing import Iterator


def cpu_name() -> str:
    """The CPU's model name, for the machine line of a benchmark's report."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


# --------------------------------------------------------------------------------------
# Other work on the machine, started by a benchmark itself (bounded in time)
# --------------------------------------------------------------------------------------

# Pure-Python busy loop: holds one core, touches little memory.
_SPIN = "import time\nend = time.time() + {limit}\nwhile time.time() < end:\n    pass\n"
# One PyTorch process multiplying 300 x 300 matrices on 2 threads.
_MATMUL = (
    "import time, torch\ntorch.set_num_threads(2)\na = torch.rand(300, 300)\n"
    "end = time.time() + {limit}\nwhile time.time() < end:\n    a = torch.tanh(a @ a)\n"
)

LOADS = {
    "quiet": "nothing else started",
    "spin": "two pure-Python busy loops, one per core",
    "matmul": "one PyTorch process multiplying 300 x 300 matrices on 2 threads",
}


@contextlib.contextmanager
def load(kind: str, limit: float = 600.0) -> Iterator[None]:
    """Run the block while other processes keep the machine busy.

    ``kind`` is a key of :data:`LOADS`. The processes stop by themselves after
    ``limit`` seconds and are killed when the block ends.
    """
    if kind == "quiet":
        yield
        return
    if kind == "spin":
        scripts = [_SPIN] * (os.cpu_count() or 2)
    elif kind == "matmul":
        scripts = [_MATMUL]
    else:
        raise ValueError(f"kind must be one of {sorted(LOADS)}; got {kind!r}")
    env = dict(os.environ, OMP_NUM_THREADS="2", MKL_NUM_THREADS="2")
    procs = [
        subprocess.Popen([sys.executable, "-c", s.format(limit=limit)], env=env)
        for s in scripts
    ]
    try:
        time.sleep(1.0)  # let them start (and import torch)
        yield
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()


def interleaved(fns: dict, repeats: int, clock=time.perf_counter) -> dict:
    """Median time of each function; they take turns, so load hits all alike."""
    times: dict = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = clock()
            fn()
            times[name].append(clock() - t0)
    return {name: statistics.median(t) for name, t in times.items()}


def parse_loads(text: str) -> list[str]:
    """``"quiet,spin,matmul"`` -> those loads, each checked against :data:`LOADS`."""
    loads = [k.strip() for k in text.split(",") if k.strip()]
    unknown = [k for k in loads if k not in LOADS]
    if unknown:
        raise SystemExit(f"unknown load(s) {unknown}; choose from {sorted(LOADS)}")
    return loads


def describe_loads(loads: list[str]) -> str:
    """One line saying what each load was."""
    return "loads: " + "; ".join(f"{k}: {LOADS[k]}" for k in loads)


def report_loads(
    results: dict, ours: str, anchor: str, unit: float = 1.0, label: str = "s"
) -> None:
    """Print one line per load: medians, ``ratio = anchor / ours``, and under a load
    each library's slowdown (loaded / quiet) with ``ours slowdown / anchor slowdown``
    (target <= 1.25). ``results[kind][name]`` holds median seconds."""
    quiet = results.get("quiet")
    for kind, times in results.items():
        line = f"  {kind:7s}" + "".join(
            f" {name} {t * unit:8.3f} {label}" for name, t in times.items()
        )
        if anchor not in times:  # the anchor library is not installed
            print(line, flush=True)
            continue
        line += f" | ratio = {anchor} / {ours} = {times[anchor] / times[ours]:.2f}"
        if kind != "quiet" and quiet is not None:
            slow = {name: times[name] / quiet[name] for name in times}
            line += " | slowdown " + ", ".join(
                f"{name} {v:.2f}x" for name, v in slow.items()
            )
            line += (
                f" | {ours} slowdown / {anchor} slowdown = "
                f"{slow[ours] / slow[anchor]:.2f} (target <= 1.25)"
            )
        print(line, flush=True)
