"""Figure helpers shared by the chapters, and the book's figure style (matplotlib is
imported when a helper is first called).

:func:`use_book_style` is called once by every chapter (in its imports cell). It sets
the font sizes and the resolution of every figure in one place:

- a figure of width ``w`` inches is displayed ``w * FIGURE_DPI`` CSS pixels wide (the
  text column is about 700 px, so the chapters' figures are at most 7 inches wide);
- text is set at ``SMALLEST_FONT_PT`` points or more, i.e. at least
  ``SMALLEST_FONT_PX = SMALLEST_FONT_PT * FIGURE_DPI / 72`` CSS pixels when the figure
  is shown at its own width;
- inline output is a PNG with ``RETINA_SCALE`` image pixels per CSS pixel and a
  palette of 256 colours (:func:`figure_png`), whose output metadata carries its 1x
  width and no height: the book's ``<img>`` gets that width (and scales down with its
  aspect ratio in a narrower column), so the figure stays sharp on high-density
  screens.

A page shows a figure's smallest text at ``SMALLEST_FONT_PX * shown / (natural /
RETINA_SCALE)`` pixels, where ``shown`` is the ``<img>``'s displayed width and
``natural`` its PNG width. :func:`figure_png` is also how places that store PNGs
themselves (a slider's frames) render a figure.

Each drawing helper draws one idea on one Axes and returns it, so a chapter can label
and combine them. Every chapter uses the style; the drawing helpers are used by
chapters 1, 3, 4, 8, 9, 10, 12, 13, 14, 15, 17 and 19.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from statlearn._checks import check_device

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = [
    "FIGURE_DPI",
    "RETINA_SCALE",
    "SMALLEST_FONT_PT",
    "SMALLEST_FONT_PX",
    "BOOK_RC",
    "use_book_style",
    "figure_png",
    "smallest_font_pt",
    "image_grid",
    "density_2d",
    "decision_regions",
    "gaussian_ellipses",
    "training_curves",
    "diagram_box",
    "diagram_arrow",
]


#: CSS pixels per inch of figure: a figure ``w`` inches wide is shown ``w * FIGURE_DPI``
#: pixels wide on the page (before the column scales it down, if it is wider).
FIGURE_DPI = 100
#: Image pixels per CSS pixel in the PNGs the book stores (IPython's "retina" output).
RETINA_SCALE = 2
#: The smallest font size, in points, of any text in a figure.
SMALLEST_FONT_PT = 9.0
#: ``SMALLEST_FONT_PT`` in CSS pixels at a figure's own display width (12.5 px).
SMALLEST_FONT_PX = SMALLEST_FONT_PT * FIGURE_DPI / 72

#: The rcParams that :func:`use_book_style` sets. Sizes are absolute (a relative size
#: such as ``"small"`` would fall under ``SMALLEST_FONT_PT``).
BOOK_RC: dict[str, Any] = {
    "figure.dpi": FIGURE_DPI,
    "savefig.dpi": FIGURE_DPI * RETINA_SCALE,
    "font.size": 10.0,
    "axes.titlesize": 10.0,
    "axes.labelsize": 10.0,
    "xtick.labelsize": SMALLEST_FONT_PT,
    "ytick.labelsize": SMALLEST_FONT_PT,
    "legend.fontsize": SMALLEST_FONT_PT,
    "legend.title_fontsize": SMALLEST_FONT_PT,
    "figure.titlesize": 11.0,
    "figure.labelsize": 10.0,
}


def use_book_style(*, inline_format: str = "retina") -> None:
    """Set the book's figure style: font sizes, resolution and inline format.

    Every chapter calls this once, after importing matplotlib. Outside IPython only the
    rcParams are set.

    Parameters
    ----------
    inline_format : {"retina", "png", "svg"}, default "retina"
        How IPython shows figures inline. ``"retina"``: a PNG at ``RETINA_SCALE`` times
        ``FIGURE_DPI`` (:func:`figure_png`) whose output metadata carries its 1x width
        (and no height, so that a narrower column scales it without distortion).
    """
    if inline_format not in ("retina", "png", "svg"):
        raise ValueError(
            f"inline_format must be 'retina', 'png' or 'svg'; got {inline_format!r}"
        )
    import matplotlib

    matplotlib.rcParams.update(BOOK_RC)
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with Jupyter
        return
    shell = get_ipython()
    if shell is None:
        return
    from matplotlib.figure import Figure
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    if inline_format != "retina":
        set_matplotlib_formats(inline_format)
        return
    # IPython's own "retina" writes the width *and* the height into the output's
    # metadata, which the book turns into a fixed CSS height: a figure narrowed by the
    # column (on a phone) would be squashed. Only the width keeps the aspect ratio.
    set_matplotlib_formats("png")  # drops the other formats' printers
    shell.display_formatter.formatters["image/png"].for_type(Figure, _retina_output)


def _retina_output(fig: Any) -> tuple[str, dict[str, int]] | None:
    """IPython's ``image/png`` printer for a Figure: a retina PNG and its 1x width."""
    import base64

    if not fig.axes and not fig.lines:  # as IPython: an empty figure shows nothing
        return None
    png, width, _ = figure_png(fig)
    return base64.b64encode(png).decode("ascii"), {"width": width}


def figure_png(
    fig: Any, *, scale: int = RETINA_SCALE, palette: bool = True
) -> tuple[bytes, int, int]:
    """Render a figure as the book's inline output does: a PNG at ``scale`` times
    ``FIGURE_DPI``, cropped to its contents.

    Parameters
    ----------
    fig : matplotlib Figure
    scale : int, default ``RETINA_SCALE``
        Image pixels per CSS pixel.
    palette : bool, default True
        Store the PNG with a palette of 256 colours (as pngquant does): 3 to 5 times
        smaller than full colour for a figure (dense scatter plots most), with no
        difference one can see (a colour moves by a few levels of 255 at most).

    Returns
    -------
    png : bytes
    width, height : int
        The size to display it at, in CSS pixels (the PNG's size divided by
        ``scale``); give the ``<img>`` (or ``ipywidgets.Image``) this width.
    """
    import io
    import struct

    if int(scale) != scale or scale < 1:
        raise ValueError(f"scale must be a positive integer; got {scale!r}")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=FIGURE_DPI * scale, bbox_inches="tight")
    png = buf.getvalue()
    if palette:
        from PIL import Image

        method = getattr(Image, "Quantize", Image)  # an enum since Pillow 9.1
        with Image.open(io.BytesIO(png)) as img:
            rgba = img.convert("RGBA")
        if rgba.getextrema()[3][0] == 255:  # opaque: the closer RGB palette
            quantized = rgba.convert("RGB").quantize(256, method=method.MAXCOVERAGE)
        else:
            quantized = rgba.quantize(256, method=method.FASTOCTREE)
        buf = io.BytesIO()
        quantized.save(buf, format="PNG")
        png = buf.getvalue()
    w, h = struct.unpack(">II", png[16:24])  # the IHDR chunk: width, height
    return png, w // int(scale), h // int(scale)


def smallest_font_pt(fig: Any) -> float:
    """The smallest font size, in points, of the visible non-empty text in a figure.

    Parameters
    ----------
    fig : matplotlib Figure

    Returns
    -------
    float
        ``inf`` when the figure has no text.
    """
    from matplotlib.text import Text

    fig.draw_without_rendering()  # creates the tick labels
    sizes = [
        t.get_fontsize()
        for t in fig.findobj(Text)
        if t.get_visible() and t.get_text().strip()
    ]
    return min(sizes, default=float("inf"))


def _axes(ax: "Axes | None", figsize: tuple[float, float] = (5, 4)) -> "Axes":
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax


def _numpy(a: Any) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        return a.detach().cpu().numpy()
    return np.asarray(a)


def image_grid(
    images: Any,
    *,
    nrow: int = 10,
    titles: Sequence[str] | None = None,
    row_labels: Sequence[str] | None = None,
    ax: "Axes | None" = None,
    cmap: str = "gray_r",
    pad: int = 1,
) -> "Axes":
    """Tile images into one grid and show it.

    Parameters
    ----------
    images : (N, D) with D a square number, (N, H, W), (N, 1, H, W) or (N, 3, H, W)
        Pixels in [0, 1].
    nrow : int
        Images per row.
    titles : sequence of str, optional
        One short label per image, written above it.
    row_labels : sequence of str, optional
        One label per row of the grid, written to its left (what the row shows).
    ax : Axes, optional
    cmap : str
        Colour map for grey images (``"gray_r"``: ink is dark).
    pad : int
        Pixels between images.

    Returns
    -------
    Axes
    """
    arr = _numpy(images).astype(np.float64)
    if arr.ndim == 2:
        side = int(round(np.sqrt(arr.shape[1])))
        if side * side != arr.shape[1]:
            raise ValueError(
                f"flat images must have a square number of pixels; got {arr.shape[1]}"
            )
        arr = arr.reshape(-1, side, side)
    elif arr.ndim == 4:
        arr = arr[:, 0] if arr.shape[1] == 1 else arr.transpose(0, 2, 3, 1)
    elif arr.ndim != 3:
        raise ValueError(
            f"images must be (N, D), (N, H, W) or (N, C, H, W); got shape {arr.shape}"
        )
    n = arr.shape[0]
    if n == 0:
        raise ValueError("images must not be empty")
    nrow = max(1, min(int(nrow), n))
    ncol_rows = int(np.ceil(n / nrow))
    if row_labels is not None:
        row_labels = [str(label) for label in row_labels]
        if len(row_labels) != ncol_rows:
            raise ValueError(
                f"row_labels must have one entry per row ({ncol_rows}); "
                f"got {len(row_labels)}"
            )
    h, w = arr.shape[1:3]
    colour = arr.ndim == 4
    canvas = np.full(
        (ncol_rows * (h + pad) - pad, nrow * (w + pad) - pad)
        + ((3,) if colour else ()),
        np.nan,
    )
    for i in range(n):
        r, c = divmod(i, nrow)
        canvas[r * (h + pad) : r * (h + pad) + h, c * (w + pad) : c * (w + pad) + w] = (
            arr[i]
        )
    ax = _axes(ax, figsize=(min(0.7 * nrow, 7), min(0.7 * ncol_rows, 9) + 0.3))
    if colour:
        ax.imshow(np.nan_to_num(np.clip(canvas, 0, 1), nan=1.0))
    else:
        ax.imshow(canvas, cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    if titles is not None:
        for i, title in enumerate(list(titles)[:n]):
            r, c = divmod(i, nrow)
            ax.text(
                c * (w + pad) + w / 2,
                r * (h + pad) - 0.6,
                str(title),
                ha="center",
                va="bottom",
                fontsize=SMALLEST_FONT_PT,
            )
    ax.set_xticks([])
    if row_labels is None:
        ax.set_yticks([])
    else:
        ax.set_yticks([r * (h + pad) + (h - 1) / 2 for r in range(ncol_rows)])
        ax.set_yticklabels(row_labels)
        ax.tick_params(axis="y", length=0)
    return ax


def _grid(
    xlim: Sequence[float], ylim: Sequence[float], resolution: int
) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
    xs = np.linspace(xlim[0], xlim[1], resolution)
    ys = np.linspace(ylim[0], ylim[1], resolution)
    gx, gy = np.meshgrid(xs, ys)
    pts = torch.as_tensor(
        np.stack([gx.ravel(), gy.ravel()], axis=1), dtype=torch.float32
    )
    return gx, gy, pts


def density_2d(
    log_prob_fn: Callable[[torch.Tensor], torch.Tensor],
    *,
    xlim: Sequence[float],
    ylim: Sequence[float],
    resolution: int = 200,
    ax: "Axes | None" = None,
    levels: int = 20,
    cmap: str = "viridis",
    device: torch.device | str | None = None,
) -> "Axes":
    """Filled contours of a 2-D density given its log-density.

    Parameters
    ----------
    log_prob_fn : callable
        Maps an ``(M, 2)`` float32 tensor of points (on ``device``) to their ``(M,)``
        log-densities (on any device).
    xlim, ylim : (low, high)
    resolution : int
        Grid points per axis.
    ax : Axes, optional
    levels : int
        Number of contour levels of the density (not the log-density).
    cmap : str
    device : torch.device or str, optional
        Where the grid of points goes (the device of the model behind
        ``log_prob_fn``); default: the CPU.

    Returns
    -------
    Axes
    """
    gx, gy, pts = _grid(xlim, ylim, resolution)
    if device is not None:
        pts = pts.to(check_device(device))
    with torch.no_grad():
        logp = _numpy(log_prob_fn(pts)).reshape(gx.shape)
    ax = _axes(ax)
    ax.contourf(gx, gy, np.exp(logp - logp.max()), levels=levels, cmap=cmap)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_aspect("equal")
    return ax


def decision_regions(
    predict_fn: Callable[[torch.Tensor], torch.Tensor],
    *,
    xlim: Sequence[float],
    ylim: Sequence[float],
    resolution: int = 200,
    ax: "Axes | None" = None,
    X: Any = None,
    y: Any = None,
    cmap: str = "tab10",
    alpha: float = 0.25,
) -> "Axes":
    """Colour the plane by a classifier's predicted class, optionally with labelled
    points on top.

    Parameters
    ----------
    predict_fn : callable or nn.Module
        Maps an ``(M, 2)`` float32 tensor to ``(M,)`` integer labels (or ``(M, C)``
        scores, arg-maxed). Negative labels (e.g. an abstention) are drawn white. A
        module (a classifier returning logits) gets the grid in its dtype and on its
        device, wherever it lives.
    xlim, ylim : (low, high)
    resolution : int
    ax : Axes, optional
    X : (N, 2) array-like, optional
    y : (N,) array-like, optional
    cmap : str
    alpha : float
        Opacity of the regions.

    Returns
    -------
    Axes
    """
    import matplotlib.pyplot as plt

    gx, gy, pts = _grid(xlim, ylim, resolution)
    if isinstance(predict_fn, torch.nn.Module):
        from statlearn._checks import to_model

        pts = to_model(pts, predict_fn, name="the grid")
    with torch.no_grad():
        out = predict_fn(pts)
    out = _numpy(out)
    labels = out.argmax(axis=1) if out.ndim == 2 else out
    labels = labels.reshape(gx.shape).astype(float)
    labels[labels < 0] = np.nan
    ax = _axes(ax)
    colours = plt.get_cmap(cmap)
    ax.pcolormesh(
        gx,
        gy,
        labels,
        cmap=colours,
        vmin=0,
        vmax=colours.N - 1,
        alpha=alpha,
        shading="auto",
    )
    if X is not None:
        Xn = _numpy(X)
        c = None if y is None else _numpy(y)
        ax.scatter(
            Xn[:, 0],
            Xn[:, 1],
            c=c,
            cmap=colours,
            vmin=0,
            vmax=colours.N - 1,
            s=10,
            edgecolors="k",
            linewidths=0.3,
        )
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    return ax


def gaussian_ellipses(
    means: Any,
    covariances: Any,
    *,
    ax: "Axes",
    n_std: float = 2.0,
    **kwargs: Any,
) -> "Axes":
    """Draw the ``n_std``-standard-deviation ellipse of each 2-D Gaussian.

    Parameters
    ----------
    means : (K, 2) array-like
    covariances : (K, 2, 2) array-like
    ax : Axes
    n_std : float
        Mahalanobis radius of the ellipse.
    **kwargs
        Passed to ``matplotlib.patches.Ellipse`` (default: no fill, black edge).

    Returns
    -------
    Axes
    """
    from matplotlib.patches import Ellipse

    mu = _numpy(means)
    cov = _numpy(covariances)
    if mu.ndim != 2 or mu.shape[1] != 2 or cov.shape != (mu.shape[0], 2, 2):
        raise ValueError(
            f"means must be (K, 2) and covariances (K, 2, 2); got {mu.shape} and "
            f"{cov.shape}"
        )
    style = {"fill": False, "edgecolor": "k", "linewidth": 1.5}
    style.update(kwargs)
    for m, c in zip(mu, cov):
        vals, vecs = np.linalg.eigh(c)
        angle = np.degrees(np.arctan2(vecs[1, 1], vecs[0, 1]))
        width, height = 2 * n_std * np.sqrt(np.clip(vals[::-1], 0, None))
        ax.add_patch(Ellipse(xy=m, width=width, height=height, angle=angle, **style))
    return ax


def training_curves(
    history: dict[str, Sequence[float]],
    keys: Sequence[str] | None = None,
    ax: "Axes | None" = None,
) -> "Axes":
    """Plot per-epoch curves from a :class:`statlearn.training.History`.

    The objective's terms are labelled with their unit (``history.units``, "bits" or
    "nats"); accuracies and the learning rate have none.

    Parameters
    ----------
    history : dict of str to sequence of float
        A ``History`` (or any dict; a ``units`` attribute is used when present).
    keys : sequence of str, optional
        Which curves (default: all).
    ax : Axes, optional

    Returns
    -------
    Axes
    """
    keys = list(history) if keys is None else list(keys)
    missing = [k for k in keys if k not in history]
    if missing:
        raise ValueError(f"history has no {missing}; it has {sorted(history)}")
    units = getattr(history, "units", None)
    unitless = {"accuracy", "lr"}
    ax = _axes(ax)
    for key in keys:
        values = list(history[key])
        plain = key.removeprefix("val_") in unitless or units is None
        label = key if plain else f"{key} ({units})"
        ax.plot(range(1, len(values) + 1), values, label=label)
    ax.set_xlabel("epoch")
    measured = [k for k in keys if k.removeprefix("val_") not in unitless]
    if units is not None and measured and len(measured) == len(keys):
        ax.set_ylabel(units)
    else:
        ax.set_ylabel("value")
    ax.legend()
    return ax


def diagram_box(
    ax: "Axes",
    x: float,
    y: float,
    w: float,
    h: float,
    text: str,
    color: str = "white",
    *,
    fontsize: float = 9,
) -> "Axes":
    """A rounded box with centred text, for the architecture diagrams of the chapters.

    Parameters
    ----------
    ax : Axes
        The axes to draw on (data coordinates, usually with the axis turned off).
    x, y : float
        The box's centre.
    w, h : float
        Its width and height.
    text : str
        The label (matplotlib mathtext allowed).
    color : str
        The fill colour.
    fontsize : float
        The label's font size.

    Returns
    -------
    Axes
        ``ax``.
    """
    from matplotlib.patches import FancyBboxPatch

    patch = FancyBboxPatch(
        (x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.05", fc=color, ec="k", lw=1
    )
    ax.add_patch(patch)
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)
    return ax


def diagram_arrow(
    ax: "Axes", x0: float, y0: float, x1: float, y1: float, **kwargs: Any
) -> "Axes":
    """An arrow from ``(x0, y0)`` to ``(x1, y1)`` between the boxes of a diagram.

    Parameters
    ----------
    ax : Axes
        The axes to draw on.
    x0, y0, x1, y1 : float
        Tail and head, in data coordinates.
    **kwargs
        Passed to ``matplotlib.patches.FancyArrowPatch`` (e.g. ``color``, ``ls``;
        default: black, 1 pt).

    Returns
    -------
    Axes
        ``ax``.
    """
    from matplotlib.patches import FancyArrowPatch

    style = {"color": "k", "linewidth": 1.0}
    style.update(kwargs)
    ax.add_patch(
        FancyArrowPatch(
            (x0, y0), (x1, y1), arrowstyle="-|>", mutation_scale=10, **style
        )
    )
    return ax
