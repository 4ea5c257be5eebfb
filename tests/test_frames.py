"""statlearn.book.frames: a slider over precomputed pictures.

Under ipywidgets 8 (the book's build) the slider is jslinked to a ``Stack``; under
ipywidgets 7 (Colab's 7.7.1) it swaps one picture through the kernel. This file runs
under both: in the main environment, where the ipywidgets 7 path is also forced by
hiding ``Stack``, and in Colab's versions (``make test-colab`` runs it in .venv-colab).
"""

from __future__ import annotations

import base64
import html
import re

import matplotlib

matplotlib.use("Agg")

import ipywidgets as widgets  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from statlearn.book import frames  # noqa: E402

IMG = re.compile(
    r'<img alt="([^"]*)" width="(\d+)" [^>]*src="data:image/png;base64,([^"]+)"'
)


def draw(v):
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [0, v])
    ax.set_title(f"slope {v}")
    return fig


def picture(box):
    """The HTML widget on show and the Stack (None under ipywidgets 7)."""
    shown = box.children[1]
    if isinstance(shown, widgets.HTML):
        return shown, None
    return shown.children[shown.selected_index], shown


def parse(html_widget):
    match = IMG.search(html_widget.value)
    assert match, html_widget.value[:200]
    alt, width, data = match.groups()
    return html.unescape(alt), int(width), base64.b64decode(data)


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def test_starts_at_value_and_names_it_in_alt_text():
    box = frames(draw, [1, 2, 3], description="slope", value=2)
    slider = box.children[0]
    assert isinstance(slider, widgets.SelectionSlider)
    assert slider.index == 1 and slider.label == "2"
    shown, _ = picture(box)
    alt, _, _ = parse(shown)
    assert alt == "slope = 2"


def test_alt_text_from_a_string_or_a_callable_is_escaped():
    box = frames(draw, [1, 2], description="β", alt=lambda v: f'a "line" of slope {v}')
    shown, _ = picture(box)
    alt, _, _ = parse(shown)
    assert alt == 'β = 1: a "line" of slope 1'
    box = frames(draw, [1, 2], labels=["one", "two"], alt="a line")
    alt, _, _ = parse(picture(box)[0])
    assert alt == "value = one: a line"


def test_frames_are_stored_at_twice_their_display_width():
    box = frames(draw, [1, 2], dpi=100)
    _, width, png = parse(picture(box)[0])
    pixels, _ = png_size(png)
    assert width == pixels // 2
    # a 3-inch-wide figure at 100 dpi is at most 300 px wide on the page (tight bbox)
    assert 200 < width <= 300


def test_every_value_has_its_own_picture():
    values = [1, 2, 3, 4]
    box = frames(draw, values, description="slope")
    slider = box.children[0]
    seen = []
    for i, v in enumerate(values):
        if hasattr(widgets, "Stack"):
            stack = box.children[1]
            assert len(stack.children) == len(values)
            shown = stack.children[i]
        else:
            slider.index = i  # the kernel-side observer swaps the picture
            shown = box.children[1]
        alt, _, png = parse(shown)
        assert alt == f"slope = {v}"
        seen.append(png)
    assert len(set(seen)) == len(values)


def test_ipywidgets_8_links_the_slider_to_a_stack_in_the_browser(monkeypatch):
    if not hasattr(widgets, "Stack"):
        pytest.skip(f"ipywidgets {widgets.__version__} has no Stack")
    links = []
    jslink = widgets.jslink
    monkeypatch.setattr(widgets, "jslink", lambda *a: links.append(a) or jslink(*a))
    box = frames(draw, [1, 2, 3], value=3)
    slider, stack = box.children
    assert isinstance(stack, widgets.Stack) and stack.selected_index == 2
    assert links == [((slider, "index"), (stack, "selected_index"))], (
        "the slider is not jslinked to the Stack"
    )


def test_without_stack_the_kernel_swaps_the_picture(monkeypatch):
    # ipywidgets 7 has no Stack; the same code path is forced here under ipywidgets 8
    monkeypatch.delattr(widgets, "Stack", raising=False)
    box = frames(draw, [1, 2, 3], description="slope")
    slider, shown = box.children
    assert isinstance(shown, widgets.HTML)
    assert parse(shown)[0] == "slope = 1"
    slider.value = 2  # the option's value is the frame's index
    assert parse(shown)[0] == "slope = 3"
    slider.index = 1
    assert parse(shown)[0] == "slope = 2"


def test_display_carries_the_widget_view_and_a_static_png(monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(
        IPython.display, "display", lambda *a, **k: shown.append((a, k))
    )
    box = frames(draw, [1, 2, 3], value=2)
    box._ipython_display_()
    (bundle,), kwargs = shown[0]
    assert kwargs["raw"] is True
    view = bundle["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == box.model_id and view["version_major"] == 2
    _, _, first = parse(picture(box)[0])
    assert base64.b64decode(bundle["image/png"]) == first
    # shown at its display size, half its pixels, as the slider's pictures are
    assert kwargs["metadata"] == {"image/png": {"width": png_size(first)[0] // 2}}
    assert "text/plain" in bundle


@pytest.mark.parametrize(
    "kwargs, error",
    [
        (dict(values=[1]), ValueError),
        (dict(values=[1, 2], labels=["a"]), ValueError),
        (dict(values=[1, 2], value=5), ValueError),
        (dict(values=[1, 2], dpi=0), ValueError),
        (dict(values=[1, 2], dpi=72.5), ValueError),
        (dict(values=[1, 2], alt=3), TypeError),
        (dict(values=[1, 2], alt=lambda v: 3), TypeError),
        (dict(values=[1, 2], description=None), TypeError),
    ],
)
def test_bad_input(kwargs, error):
    with pytest.raises(error):
        frames(draw, **kwargs)
    plt.close("all")


def test_draw_must_return_a_figure():
    with pytest.raises(ValueError, match="matplotlib Figure"):
        frames(lambda v: None, [1, 2])
