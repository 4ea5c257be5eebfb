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
