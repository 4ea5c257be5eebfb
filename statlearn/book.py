"""Two helpers that chapters use to talk to the built book: claims and static widgets.

``glue(name, value)`` records a measured value in the notebook's output so that the
book's claims page (``book/claims.md``) can show it, with no value typed by hand. It
writes the same output as MyST-NB's ``myst_nb.glue`` (which Colab does not have), so the
book reads it with ``{glue:text}`path/to/chapter.ipynb::name:.3f```.

``check(key, value, above=..., below=..., ...)`` is one claim of a chapter's Check
section: it glues the value and the condition it is held to, then asserts it, so that
the claims page states each threshold from the run that tested it.

``frames(draw, values)`` is a slider over pictures: each value's figure is drawn once
and kept as a PNG (at twice its display size, with alt text naming the value). With
ipywidgets 8 the slider switches between them in the browser (a ``Stack`` whose
``selected_index`` is linked to the slider with ``jslink``), so it moves on the book's
static pages without a kernel; with ipywidgets 7 (Colab's) it swaps the picture through
the kernel. The output also carries a PNG of the first frame for the PDF and for viewers
without widgets.

Chapters 1 to 20 use ``glue`` and ``check``; the chapters with sliders use ``frames``.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

__all__ = ["check", "glue", "frames"]

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


# The symbols a claim's condition is written with on the claims page.
_RELATIONS = {
    "above": ">",
    "at_least": "≥",
    "below": "<",
    "at_most": "≤",
    "equals": "=",
}


def _number_text(x: float | int | bool) -> str:
    """``x`` as the claims page prints a threshold: ``0.05``, ``1e−10``, ``3``."""
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        text = str(x)
    else:
        text = f"{x:.6g}"
        if float(text) != x:  # 0.5 / log(2) -> 0.7213, but 1 + 1e-4 -> 1.0001
            text = f"{x:.4g}"
        mantissa, e, exponent = text.partition("e")
        if e:  # 1e-05 -> 1e-5, 1e+03 -> 1e3
            sign = "-" if exponent.startswith("-") else ""
            text = f"{mantissa}e{sign}{exponent.lstrip('+-').lstrip('0') or '0'}"
    return text.replace("-", "\N{MINUS SIGN}")


def check(
    key: str,
    value: float | int | bool,
    *,
    above: float | None = None,
    at_least: float | None = None,
    below: float | None = None,
    at_most: float | None = None,
    equals: float | int | bool | None = None,
    claim: str | None = None,
) -> None:
    """Assert one of the chapter's claims and glue its value and threshold.

    A chapter's Check section is a list of calls such as
    ``check("ch01-loglik-gain", gain, above=0.1, claim="EM raises the likelihood")``.
    Each call glues the measured value, glues the condition it was held to, and
    asserts the condition, so that the book's claims page shows the value and the
    threshold from the same run that tested them.

    Parameters
    ----------
    key : str
        The glue key of the measured value, by convention ``chNN-what``.
    value : float, int, bool, or a one-element tensor or NumPy scalar
        The measured value.
    above, at_least : float, optional
        A lower bound: ``value > above`` or ``value >= at_least`` (give at most one).
    below, at_most : float, optional
        An upper bound: ``value < below`` or ``value <= at_most`` (give at most one).
    equals : float, int or bool, optional
        The exact value required (an integer such as a selected number of
        components, or a flag); not combined with a bound.
    claim : str, optional
        The claim in words, for the error message; by default ``key``.

    Raises
    ------
    AssertionError
        If the value misses its condition (NaN misses every condition). The
        message states the claim, the value and the condition.
    ValueError
        If no condition, or two lower or two upper bounds, or ``equals`` with a
        bound, are given; or if ``key`` or ``value`` is not something ``glue``
        accepts.

    Notes
    -----
    The glue keys written:

    - ``key``: the value, as ``glue(key, value)`` writes it;
    - ``key + "-assert"``: the condition as text, e.g. ``"> 0.1"``, ``"≥ −1e−10"``,
      ``"= 3"`` or ``"> 2.6 and ≤ 3.05"``; the claims page shows it with
      ``{glue:text}`../notebooks/NN_x.ipynb::key-assert:s``` (the ``:s`` ends the
      key; without it the role would read ``:key-assert`` as a format);
    - the threshold as a number: ``key + "-threshold"`` for a single bound or
      ``equals``; ``key + "-lower"`` and ``key + "-upper"`` for two bounds.

    Examples
    --------
    In a chapter's Check cell (outside a notebook the glue has nowhere to go):

    >>> check("ch01-bic-k", K_bic, equals=3)  # doctest: +SKIP
    >>> check("ch02-brute-gap", gap, below=1e-9, claim="forward")  # doctest: +SKIP
    """
    given = {
        name: bound
        for name, bound in (
            ("above", above),
            ("at_least", at_least),
            ("below", below),
            ("at_most", at_most),
            ("equals", equals),
        )
        if bound is not None
    }
    lower = [n for n in given if n in ("above", "at_least")]
    upper = [n for n in given if n in ("below", "at_most")]
    if not given:
        raise ValueError(
            f"check {key!r} needs a condition: "
            "above, at_least, below, at_most or equals"
        )
    if len(lower) > 1 or len(upper) > 1:
        raise ValueError(
            f"check {key!r} takes at most one lower and one upper bound; got {given}"
        )
    if "equals" in given and len(given) > 1:
        raise ValueError(f"check {key!r}: equals is not combined with a bound")
    value = _plain(value)
    if isinstance(value, str):
        raise ValueError(f"check {key!r} compares numbers; got the string {value!r}")
    bounds = {name: _plain(bound) for name, bound in given.items()}

    glue(key, value)
    condition = " and ".join(
        f"{_RELATIONS[name]} {_number_text(bound)}" for name, bound in bounds.items()
    )
    glue(f"{key}-assert", condition)
    if len(bounds) == 1:
        glue(f"{key}-threshold", next(iter(bounds.values())))
    else:
        glue(f"{key}-lower", bounds[lower[0]])
        glue(f"{key}-upper", bounds[upper[0]])

    holds = {
        "above": lambda b: value > b,
        "at_least": lambda b: value >= b,
        "below": lambda b: value < b,
        "at_most": lambda b: value <= b,
        "equals": lambda b: value == b,
    }
    if not all(holds[name](bound) for name, bound in bounds.items()):
        raise AssertionError(f"{claim or key}: {key} = {value!r}, expected {condition}")


def _png_width(png: bytes) -> int:
    """The width in pixels of a PNG, read from its IHDR chunk."""
    return int.from_bytes(png[16:20], "big")


def _frame_html(png: bytes, alt: str, scale: int) -> str:
    """One frame as an ``<img>`` with alt text, shown at ``1/scale`` of its pixels."""
    import base64
    import html

    width = _png_width(png) // scale
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<img alt="{html.escape(alt, quote=True)}" width="{width}" '
        f'style="max-width: 100%; height: auto" src="data:image/png;base64,{data}">'
    )


class _FramesDisplay:
    """Mixin for the returned ``VBox``: its display carries a static PNG as well.

    The output's mime bundle holds the widget view (for Jupyter, Colab and the book's
    HTML pages, which embed the widget state) and ``image/png`` of the frame shown
    first, which outputs without a widget manager (the PDF, GitHub) show instead.
    """

    _frames_png: bytes = b""
    _frames_width: int = 0  # CSS pixels: the PNG is stored at twice this
    _frames_text: str = ""

    def _ipython_display_(self, **kwargs: Any) -> None:
        import base64

        from IPython.display import display

        display(
            {
                "application/vnd.jupyter.widget-view+json": {
                    "version_major": 2,
                    "version_minor": 0,
                    "model_id": self.model_id,
                },
                "image/png": base64.b64encode(self._frames_png).decode("ascii"),
                "text/plain": self._frames_text,
            },
            raw=True,
            metadata={"image/png": {"width": self._frames_width}},
        )


@functools.cache
def _frames_box() -> type:
    """``VBox`` with :class:`_FramesDisplay`'s display, made on first use."""
    import ipywidgets as widgets

    return type("FramesBox", (_FramesDisplay, widgets.VBox), {})


def frames(
    draw: Callable[[Any], Any],
    values: Sequence[Any],
    *,
    description: str = "value",
    value: Any = None,
    labels: Sequence[str] | None = None,
    alt: str | Callable[[Any], str] | None = None,
    dpi: int = 100,
) -> Any:
    """A slider over precomputed figures, one picture per value.

    Each value's figure is drawn once and kept as a PNG. With ipywidgets 8 the slider
    switches between the pictures in the browser (a ``Stack`` whose ``selected_index``
    is ``jslink``-ed to the slider), so it moves on the book's static pages too. With
    ipywidgets 7 (Colab), which has no ``Stack``, the slider swaps the picture through
    the kernel. Either way the output also carries a plain PNG of the first frame for
    outputs that cannot show widgets.

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
    alt : str or callable, optional
        What the figure shows, for readers who cannot see it: a string, or
        ``alt(v)`` returning one per value. Each picture's alt text reads
        ``"{description} = {label}: {alt}"`` (without ``alt``:
        ``"{description} = {label}"``).
    dpi : int, default 100
        Display resolution in pixels per inch of figure size; the PNGs are stored at
        twice this and shown at this size, so they stay sharp on high-density screens.

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
    if not isinstance(description, str):
        raise TypeError(f"description must be a str; got {type(description).__name__}")
    if alt is not None and not (isinstance(alt, str) or callable(alt)):
        raise TypeError(
            f"alt must be a str or a callable of the value; got {type(alt).__name__}"
        )
    if isinstance(dpi, bool) or not isinstance(dpi, int) or dpi <= 0:
        raise ValueError(f"dpi must be a positive int; got {dpi!r}")
    if value is None:
        start = 0
    elif value in values:
        start = values.index(value)
    else:
        raise ValueError(f"value must be one of values {values!r}; got {value!r}")

    scale = 2
    pngs, pages = [], []
    for v, label in zip(values, labels):
        fig = draw(v)
        if fig is None or not hasattr(fig, "savefig"):
            raise ValueError(
                "draw must return a matplotlib Figure; "
                f"got {type(fig).__name__} for {v!r}"
            )
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=scale * dpi, bbox_inches="tight")
        plt.close(fig)
        what = alt(v) if callable(alt) else alt
        if what is not None and not isinstance(what, str):
            raise TypeError(f"alt({v!r}) must return a str; got {type(what).__name__}")
        text = f"{description} = {label}" + (f": {what}" if what else "")
        pngs.append(buf.getvalue())
        pages.append(_frame_html(buf.getvalue(), text, scale))

    slider = widgets.SelectionSlider(
        options=[(label, i) for i, label in enumerate(labels)],
        value=start,
        description=description,
        continuous_update=True,
    )
    if hasattr(widgets, "Stack"):  # ipywidgets 8: switched in the browser
        stack = widgets.Stack(
            [widgets.HTML(page) for page in pages], selected_index=start
        )
        widgets.jslink((slider, "index"), (stack, "selected_index"))
        picture = stack
    else:  # ipywidgets 7 (Colab): one picture, swapped by the kernel
        picture = widgets.HTML(pages[start])

        def show(change: dict) -> None:
            picture.value = pages[change["new"]]

        slider.observe(show, names="index")

    box = _frames_box()([slider, picture])
    box._frames_png = pngs[start]
    box._frames_width = _png_width(pngs[start]) // scale
    box._frames_text = f"frames: {description} = {labels[start]} of {labels}"
    return box
