"""Two helpers that chapters use to talk to the built book: claims and static widgets.

``glue(name, value)`` records a measured value in the notebook's output so that the
book's claims page (``book/claims.md``) can show it, with no value typed by hand. It
writes the same output as MyST-NB's ``myst_nb.glue`` (which Colab does not have), so the
book reads it with ``{glue:text}`path/to/chapter.ipynb::name:.3f```.

``frames(draw, values)`` is a slider that works without a kernel: each value's figure is
drawn once, kept as a PNG, and the slider switches between them in the browser (an
ipywidgets ``Stack`` whose ``selected_index`` is linked to the slider with ``jslink``).
It behaves the same on Colab, in Jupyter and on the static pages of the book.

Chapters 1 to 20 use ``glue``; the chapters with sliders use ``frames``.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

__all__ = ["glue", "frames"]

# MyST-NB reads glued values from display outputs whose mime types carry this prefix
# (myst_nb.ext.glue.GLUE_PREFIX); with it, the notebook itself shows nothing.
_GLUE_PREFIX = "application/papermill.record/"


def _plain(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(
                "glue takes a number or a string; "
                f"got a tensor of shape {tuple(value.shape)}"
            )
        return value.item()
    if isinstance(value, np.generic):
        return value.item()
    return value


def glue(name: str, value: float | int | bool | str, *, display: bool = False) -> None:
    """Record ``value`` under ``name`` for the book's claims page.

    Parameters
    ----------
    name : str
        The key, unique in the book; by convention ``chNN-what`` (``ch07-beta-c``).
    value : float, int, bool, str, or a one-element tensor or NumPy scalar
        The measured value. Numbers are stored with full precision; the page that shows
        them chooses the format (``{glue:text}`...::ch07-beta-c:.3f```).
    display : bool, default False
        Also show the value in the notebook.
    """
    from IPython.display import display as ipy_display

    if (
        not isinstance(name, str)
        or not name
        or any(c.isspace() or c == ":" for c in name)
    ):
        raise ValueError(
            f"name must be a non-empty string without spaces or ':'; got {name!r}"
        )
    value = _plain(value)
    if not isinstance(value, (bool, int, float, str)):
        raise ValueError(f"glue takes a number or a string; got {type(value).__name__}")
    text = repr(value)
    prefix = "" if display else _GLUE_PREFIX
    ipy_display(
        {prefix + "text/plain": text},
        raw=True,
        metadata={"scrapbook": {"name": name, "mime_prefix": prefix}},
    )


def frames(
    draw: Callable[[Any], Any],
    values: Sequence[Any],
    *,
    description: str = "value",
    value: Any = None,
    labels: Sequence[str] | None = None,
    dpi: int = 80,
) -> Any:
    """A slider over precomputed figures that needs no kernel to move.

    Parameters
    ----------
    draw : callable
        ``draw(v)`` draws the figure for one value ``v`` and returns the matplotlib
        ``Figure``; the figure is saved as a PNG and closed.
    values : sequence
        The values the slider offers, in order (at least two).
    description : str, default "value"
        The slider's label, e.g. ``"K"`` or ``"β"``.
    value : optional
        The value shown first; by default the first of ``values``.
    labels : sequence of str, optional
        How each value is written next to the slider; by default ``str(v)``.
    dpi : int, default 80
        Resolution of the stored PNGs (lower keeps the notebook small).

    Returns
    -------
    ipywidgets.VBox
        The slider above the picture of the selected value.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    values = list(values)
    if len(values) < 2:
        raise ValueError(f"frames needs at least two values; got {len(values)}")
    labels = [str(v) for v in values] if labels is None else list(labels)
    if len(labels) != len(values):
        raise ValueError(
            f"labels must have one entry per value ({len(values)}); got {len(labels)}"
        )
    start = 0 if value is None else values.index(value)

    images = []
    for v in values:
        fig = draw(v)
        if fig is None or not hasattr(fig, "savefig"):
            raise ValueError(
                "draw must return a matplotlib Figure; "
                f"got {type(fig).__name__} for {v!r}"
            )
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
        plt.close(fig)
        images.append(
            widgets.Image(
                value=buf.getvalue(),
                format="png",
                layout=widgets.Layout(max_width="100%"),
            )
        )

    slider = widgets.SelectionSlider(
        options=[(label, i) for i, label in enumerate(labels)],
        value=start,
        description=description,
        continuous_update=True,
    )
    stack = widgets.Stack(images, selected_index=start)
    widgets.jslink((slider, "index"), (stack, "selected_index"))
    return widgets.VBox([slider, stack])
