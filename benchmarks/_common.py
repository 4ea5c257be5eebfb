"""Helpers shared by the benchmark scripts.

Each script runs as ``python benchmarks/bench_<area>.py``.
"""

from __future__ import annotations

import platform


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
