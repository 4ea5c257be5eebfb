"""How many threads torch's CPU kernels use, chosen per task and restored after.

Not part of what any chapter teaches. PyTorch runs each CPU kernel on its intra-op
thread pool, and every parallel kernel ends at a barrier that waits for all of the
pool's threads. A long chain of small kernels, such as the time steps of an HMM's
forward-backward recursion, gains nothing from a second thread but pays for the
barriers; when another process holds a core, each barrier can wait for a descheduled
thread, and such chains slow down many times more than single-threaded code does.
:func:`limit_threads` runs a block of such kernels on fewer threads and gives the
caller's setting back afterwards: statlearn never changes torch's global thread count
behind its user's back.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch

__all__ = ["limit_threads"]


@contextlib.contextmanager
def limit_threads(n: int, device: torch.device | None = None) -> Iterator[None]:
    """Run the block with at most ``n`` torch CPU threads, then restore the setting.

    Parameters
    ----------
    n : int
        Largest number of intra-op threads for the block, >= 1. A caller who asked for
        fewer (``torch.set_num_threads``) keeps their lower number.
    device : torch.device, optional
        The device the block computes on; for any device other than the CPU the
        setting is left alone (its kernels do not run on torch's CPU pool).

    Examples
    --------
    >>> import torch
    >>> before = torch.get_num_threads()
    >>> with limit_threads(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    if n < 1:
        raise ValueError(f"n must be >= 1; got {n}")
    if device is not None and device.type != "cpu":
        yield
        return
    before = torch.get_num_threads()
    if before <= n:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
