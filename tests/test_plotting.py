import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest
import torch

from statlearn import data, plotting


def test_image_grid_variants():
    s = data.digits()
    ax = plotting.image_grid(
        s.x_train[:12], nrow=6, titles=[str(int(v)) for v in s.y_train[:12]]
    )
    img = ax.get_images()[0].get_array()
    assert img.shape == (2 * 8 + 1, 6 * 8 + 5)
    plotting.image_grid(s.x_train[:3].reshape(3, 1, 8, 8))
    plotting.image_grid(torch.rand(2, 3, 4, 4))
    with pytest.raises(ValueError, match="square"):
        plotting.image_grid(torch.rand(2, 10))
    with pytest.raises(ValueError, match="empty"):
        plotting.image_grid(torch.rand(0, 4))


def test_density_and_regions():
    ax = plotting.density_2d(
        lambda p: -(p**2).sum(1), xlim=(-2, 2), ylim=(-2, 2), resolution=30
    )
    assert ax.get_xlabel() == "$x_1$"
    x, y = data.two_moons(50, random_state=0)
    ax = plotting.decision_regions(
        lambda p: (p[:, 1] > 0).long(),
        xlim=(-1.5, 2.5),
        ylim=(-1, 1.5),
        X=x,
        y=y,
        resolution=30,
    )
    assert len(ax.collections) == 2  # the regions and the points
    plotting.decision_regions(
        lambda p: torch.where(p[:, 0] > 0, 1, -1),
        xlim=(-1, 1),
        ylim=(-1, 1),
        resolution=10,
    )


def test_gaussian_ellipses():
    _, ax = plt.subplots()
    plotting.gaussian_ellipses(
        torch.zeros(2, 2),
        torch.stack([torch.eye(2), 4 * torch.eye(2)]),
        ax=ax,
        n_std=1.0,
    )
    widths = sorted(p.width for p in ax.patches)
    assert widths == pytest.approx([2.0, 4.0])
    with pytest.raises(ValueError):
        plotting.gaussian_ellipses(torch.zeros(2, 3), torch.zeros(2, 3, 3), ax=ax)


def test_training_curves():
    ax = plotting.training_curves({"loss": [3, 2, 1], "rate": [1, 1, 1]}, keys=["loss"])
    assert len(ax.lines) == 1
    with pytest.raises(ValueError, match="history has no"):
        plotting.training_curves({"loss": [1]}, keys=["val_loss"])


def test_decision_regions_feeds_a_module_at_its_dtype():
    """Issue 15's boundary rule: a float64 classifier gets the (float32) grid cast to
    float64.
    """
    model = torch.nn.Linear(2, 3).double()
    ax = plotting.decision_regions(model, xlim=(-1, 1), ylim=(-1, 1), resolution=10)
    assert ax.collections


def test_diagram_box_and_arrow_draw_on_the_axes():
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    fig, ax = plt.subplots()
    assert plotting.diagram_box(ax, 1.0, 2.0, 0.8, 0.4, "$x$", "#dce9f5") is ax
    assert plotting.diagram_arrow(ax, 0.0, 0.0, 1.0, 1.0, color="C3") is ax
    box, arrow = ax.patches
    assert isinstance(box, FancyBboxPatch) and isinstance(arrow, FancyArrowPatch)
    assert (box.get_x(), box.get_y()) == pytest.approx((0.6, 1.8))
    assert (box.get_width(), box.get_height()) == pytest.approx((0.8, 0.4))
    assert ax.texts[0].get_text() == "$x$" and ax.texts[0].get_position() == (1.0, 2.0)
    plt.close(fig)


def test_use_book_style_sets_sizes_and_resolution():
    import matplotlib

    with matplotlib.rc_context():
        plotting.use_book_style()
        rc = matplotlib.rcParams
        assert rc["figure.dpi"] == plotting.FIGURE_DPI
        assert rc["savefig.dpi"] == plotting.FIGURE_DPI * plotting.RETINA_SCALE
        for key in plotting.BOOK_RC:
            if key.endswith("size") and key != "figure.figsize":
                assert float(rc[key]) >= plotting.SMALLEST_FONT_PT, key
        fig, ax = plt.subplots()
        ax.plot([0, 1], label="a line")
        ax.set(xlabel="x", ylabel="y", title="t")
        ax.legend()
        assert plotting.smallest_font_pt(fig) >= plotting.SMALLEST_FONT_PT
        plt.close(fig)
    assert plotting.SMALLEST_FONT_PX == pytest.approx(
        plotting.SMALLEST_FONT_PT * plotting.FIGURE_DPI / 72
    )
    assert plotting.SMALLEST_FONT_PX >= 9
    with pytest.raises(ValueError, match="inline_format"):
        plotting.use_book_style(inline_format="jpeg")


def test_smallest_font_pt_finds_small_text():
    fig, ax = plt.subplots()
    ax.text(0.5, 0.5, "tiny", fontsize=6)
    ax.text(0.2, 0.2, "", fontsize=2)  # empty text does not count
    assert plotting.smallest_font_pt(fig) == 6
    plt.close(fig)
    fig = plt.figure()
    assert plotting.smallest_font_pt(fig) == float("inf")
    plt.close(fig)


def test_figure_png_is_retina_with_its_css_size():
    import io

    from PIL import Image

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [0, 1])
    png, width, height = plotting.figure_png(fig)
    with Image.open(io.BytesIO(png)) as img:
        natural = img.size
    assert natural[0] // plotting.RETINA_SCALE == width
    assert natural[1] // plotting.RETINA_SCALE == height
    # cropped to its contents, at about FIGURE_DPI CSS pixels per inch
    assert 0.7 * 3 * plotting.FIGURE_DPI < width <= 3 * plotting.FIGURE_DPI + 2
    _, width1, _ = plotting.figure_png(fig, scale=1)
    assert abs(width1 - width) <= 1
    with pytest.raises(ValueError, match="scale"):
        plotting.figure_png(fig, scale=0)
    plt.close(fig)


def test_image_grid_row_labels():
    images = torch.rand(6, 4, 4)
    ax = plotting.image_grid(images, nrow=3, row_labels=["clean", "attacked"])
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["clean", "attacked"]
    ticks = ax.get_yticks()
    assert ticks[1] - ticks[0] == pytest.approx(4 + 1)  # one row of images and pad
    with pytest.raises(ValueError, match="one entry per row"):
        plotting.image_grid(images, nrow=3, row_labels=["only one"])


def _chapter_code():
    import json
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[1] / "notebooks"
    for path in sorted(root.glob("[0-9][0-9]_*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
        yield path.name, code


def test_every_chapter_uses_the_book_style():
    chapters = list(_chapter_code())
    assert chapters
    for name, code in chapters:
        calls = [c for c in code if "use_book_style()" in c]
        assert calls, f"{name} never calls statlearn.plotting.use_book_style()"


def test_no_chapter_sets_text_below_the_smallest_size():
    import re

    number = re.compile(r"\b(?:fontsize|labelsize)\s*=\s*([0-9.]+)")
    relative = re.compile(r"\b(?:fontsize|labelsize)\s*=\s*[\"'](?:xx-|x-)?small[\"']")
    for name, code in _chapter_code():
        for cell in code:
            for match in number.finditer(cell):
                assert float(match.group(1)) >= plotting.SMALLEST_FONT_PT, (
                    f"{name}: {match.group(0)}"
                )
            assert not relative.search(cell), f"{name}: a relative font size"


def test_use_book_style_shows_retina_pngs_at_their_1x_width_in_ipython():
    import base64
    import struct

    import matplotlib
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        with matplotlib.rc_context():
            plotting.use_book_style()
            fig, ax = plt.subplots(figsize=(4, 3))
            ax.plot([0, 1], [1, 0])
            data, metadata = shell.display_formatter.format(fig)
            plt.close(fig)
        png = base64.b64decode(data["image/png"])
        natural_width = struct.unpack(">I", png[16:20])[0]
        # the book's <img> gets this width and no fixed height (no squashing on phones)
        assert metadata["image/png"] == {
            "width": natural_width // plotting.RETINA_SCALE
        }
        assert 0.7 * 4 * plotting.FIGURE_DPI < metadata["image/png"]["width"] <= 402
        assert "image/svg+xml" not in data
    finally:
        InteractiveShell.clear_instance()


def test_figure_png_palette_is_smaller_and_looks_the_same():
    import io

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.scatter(*rng.normal(size=(2, 2000)), c=rng.integers(0, 2, 2000), alpha=0.6, s=4)
    small, w, h = plotting.figure_png(fig)
    full, w_full, h_full = plotting.figure_png(fig, palette=False)
    plt.close(fig)
    assert (w, h) == (w_full, h_full)
    assert len(small) < len(full) / 2
    with Image.open(io.BytesIO(small)) as a, Image.open(io.BytesIO(full)) as b:
        pa = np.asarray(a.convert("RGBA").convert("RGB"), dtype=float)
        pb = np.asarray(b.convert("RGBA").convert("RGB"), dtype=float)
    assert np.abs(pa - pb).mean() < 2.0  # of 255
    # a smooth colour map keeps its steps small (no visible banding)
    fig, ax = plt.subplots(figsize=(4, 1))
    ax.imshow(np.linspace(0, 1, 400)[None].repeat(20, 0), aspect="auto")
    small, _, _ = plotting.figure_png(fig)
    full, _, _ = plotting.figure_png(fig, palette=False)
    plt.close(fig)
    with Image.open(io.BytesIO(small)) as a, Image.open(io.BytesIO(full)) as b:
        pa = np.asarray(a.convert("RGBA").convert("RGB"), dtype=float)
        pb = np.asarray(b.convert("RGBA").convert("RGB"), dtype=float)
    assert np.abs(pa - pb).max() <= 8
