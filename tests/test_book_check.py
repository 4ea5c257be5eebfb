"""statlearn.book.check: one claim of a chapter's Check section, glued and asserted."""

from __future__ import annotations

import ast
import math

import numpy as np
import pytest
import torch

from statlearn.book import _GLUE_PREFIX, check


@pytest.fixture
def glued(monkeypatch):
    """The glue records a check writes, as {name: value}."""
    records: dict[str, str] = {}

    def fake_display(data, raw=False, metadata=None):
        name = metadata["scrapbook"]["name"]
        assert name not in records, f"{name} glued twice"
        # as the book reads it: {glue:text} literal-evaluates text/plain ('nan' stays)
        text = data[_GLUE_PREFIX + "text/plain"]
        try:
            records[name] = ast.literal_eval(text)
        except ValueError:
            records[name] = text

    import IPython.display

    monkeypatch.setattr(IPython.display, "display", fake_display)
    return records


@pytest.mark.parametrize(
    ("value", "condition", "text"),
    [
        (0.2, {"above": 0.1}, "> 0.1"),
        (0.1, {"at_least": 0.1}, "≥ 0.1"),
        (-1e-12, {"at_least": -1e-10}, "≥ −1e−10"),
        (1e-9, {"below": 1e-8}, "< 1e−8"),
        (0.05, {"at_most": 0.05}, "≤ 0.05"),
        (3, {"equals": 3}, "= 3"),
        (3.0, {"above": 2.6, "at_most": 3.05}, "> 2.6 and ≤ 3.05"),
    ],
)
def test_a_claim_that_holds_glues_value_and_condition(glued, value, condition, text):
    check("ch00-x", value, **condition)
    assert float(glued["ch00-x"]) == value
    assert glued["ch00-x-assert"] == text
    if len(condition) == 1:
        assert float(glued["ch00-x-threshold"]) == next(iter(condition.values()))
    else:
        assert float(glued["ch00-x-lower"]) == 2.6
        assert float(glued["ch00-x-upper"]) == 3.05


@pytest.mark.parametrize(
    ("value", "condition"),
    [
        (0.1, {"above": 0.1}),  # strict: equal is not above
        (0.0999, {"at_least": 0.1}),
        (1e-8, {"below": 1e-8}),
        (0.0501, {"at_most": 0.05}),
        (4, {"equals": 3}),
        (2.6, {"above": 2.6, "at_most": 3.05}),
        (3.06, {"above": 2.6, "at_most": 3.05}),
        (math.nan, {"below": 1.0}),
        (math.nan, {"at_least": 0.0}),
    ],
)
def test_a_claim_that_fails_raises_with_claim_value_and_threshold(
    glued, value, condition
):
    with pytest.raises(AssertionError) as info:
        check("ch00-x", value, **condition, claim="the bound holds")
    message = str(info.value)
    assert message.startswith("the bound holds: ch00-x = ")
    assert repr(value) in message
    assert glued["ch00-x-assert"] in message
    # the value is glued even when the claim fails, for the reader to see
    assert "ch00-x" in glued


def test_the_message_names_the_key_without_a_claim(glued):
    with pytest.raises(AssertionError, match=r"^ch00-y: ch00-y = 0\.5, expected > 1$"):
        check("ch00-y", 0.5, above=1)


@pytest.mark.parametrize(
    "value",
    [torch.tensor(0.25), np.float32(0.25), np.float64(0.25), torch.tensor([0.25])],
)
def test_tensors_and_numpy_scalars_are_plain_numbers(glued, value):
    check("ch00-x", value, below=0.5)
    assert float(glued["ch00-x"]) == 0.25
    with pytest.raises(AssertionError):
        check("ch00-z", value, above=0.5)


def test_booleans_are_claims_too(glued):
    check("ch00-flag", True, equals=True)
    assert glued["ch00-flag-assert"] == "= True"
    with pytest.raises(AssertionError):
        check("ch00-other", False, equals=True)


@pytest.mark.parametrize(
    "condition",
    [
        {},
        {"above": 0.0, "at_least": 0.0},
        {"below": 1.0, "at_most": 1.0},
        {"equals": 1, "below": 2},
    ],
)
def test_a_malformed_condition_is_a_value_error(glued, condition):
    with pytest.raises(ValueError, match="ch00-x"):
        check("ch00-x", 0.5, **condition)
    assert not glued, "nothing is glued for a malformed check"


def test_bad_key_or_value_is_a_value_error(glued):
    with pytest.raises(ValueError, match="name must be"):
        check("bad key", 0.5, below=1)
    with pytest.raises(ValueError, match="compares numbers"):
        check("ch00-x", "0.5", below=1)
    with pytest.raises(ValueError, match="tensor of shape"):
        check("ch00-x", torch.zeros(2), below=1)


@pytest.mark.parametrize(
    ("bound", "text"),
    [
        (1e-5, "< 1e−5"),
        (1000.0, "< 1000"),
        (1e7, "< 1e7"),
        (-0.4, "< −0.4"),
        (2, "< 2"),
        (0.5 / np.log(2), "< 0.7213"),
        (1 + 1e-4, "< 1.0001"),
        (3.0 - 0.4, "< 2.6"),
    ],
)
def test_thresholds_are_written_as_the_page_writes_them(glued, bound, text):
    check("ch00-x", -1.0, below=bound)
    assert glued["ch00-x-assert"] == text


def test_the_book_pastes_the_condition_as_written(monkeypatch):
    """{glue:text}`...::key-assert:s` shows the condition without quotes."""
    variables = pytest.importorskip("myst_nb.core.variables")
    raw = {}

    def fake_display(data, raw_=False, metadata=None, **kwargs):
        raw[metadata["scrapbook"]["name"]] = data[_GLUE_PREFIX + "text/plain"]

    import IPython.display

    monkeypatch.setattr(IPython.display, "display", fake_display)
    check("ch00-x", 1e-12, at_least=-1e-10)
    shown = variables.format_plain_text(raw["ch00-x-assert"], "s")
    assert shown == "≥ −1e−10"
    assert variables.format_plain_text(raw["ch00-x"], ".1e") == "1.0e-12"
