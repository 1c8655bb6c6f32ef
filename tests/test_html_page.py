"""Trace.to_html: one self-contained page to step through a pass, loaded in a real headless Chromium.

The browser tests (marked ``browser``) drive Debian's ``chromium`` through Playwright; they skip where
either is missing, and under CI such a skip fails (tests/conftest.py)."""

import importlib.util
import io
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import minnet
from minnet.derivation import build_network, make_data, trace
from minnet.inspect.html import FULL_LIMIT, HEAT_CELLS, page

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 900}
ACTIVE_RGB = (255, 213, 79)  # the highlighted node's fill, #ffd54f


def derivation_trace():
    X, Y = make_data()
    model = build_network(0)
    return model, trace(model, minnet.MSELoss(), X, Y), X


def wide_model_trace():
    """A Residual and a Concat, and arrays too large to show in full (heat maps)."""
    model = minnet.Sequential(
        minnet.Linear(3, 4, rng=0),
        minnet.Residual(minnet.Sequential(minnet.Linear(4, 4, rng=1), minnet.Tanh())),
        minnet.Concat(minnet.Linear(4, 2, rng=2), minnet.Sequential(minnet.Linear(4, 30, rng=3), minnet.ReLU())),
        minnet.Linear(32, 1, rng=4),
    )
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((40, 3)), rng.standard_normal((40, 1))
    return model, minnet.explain(model, minnet.MSELoss(), X, Y), X


def embedded(text):
    return json.loads(re.search(r'<script type="application/json" id="data">(.*?)</script>', text, re.S)[1])


# -- the file itself -----------------------------------------------------------------------------------


def test_the_page_is_one_file_that_fetches_nothing(tmp_path):
    _, steps, _ = derivation_trace()
    path = steps.to_html(tmp_path / "pass.html")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    # no external script, style, image or font: the only URL is the SVG namespace
    assert re.findall(r"https?://[^\s\"')]+", text) == ["http://www.w3.org/2000/svg"] * text.count(
        "http://www.w3.org/2000/svg"
    )
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", text)
    assert "@import" not in text
    data = embedded(text)
    assert len(data["steps"]) == 4 + 1 + 5  # four layers forward, the loss, five chain-rule steps back
    assert data["loss"] == f"{steps.loss:.4g}"
    assert text.count('class="node layer"') == 4


def test_the_page_draws_the_models_containers_given_the_model(tmp_path):
    model, steps, _ = wide_model_trace()
    with_model, without = page(steps, model), page(steps)
    assert with_model.count('class="node join"') == 2  # the Residual's + and the Concat's join
    assert without.count('class="node join"') == 0  # the trace alone: the layers in forward order
    for text in (with_model, without):
        assert text.count('class="node layer"') == 7
        assert 'class="container" data-path="1.block"' in text


def test_to_html_refuses_another_suffix(tmp_path):
    _, steps, _ = derivation_trace()
    with pytest.raises(ValueError, match=r"to_html: path must end in \.html"):
        steps.to_html(tmp_path / "pass.svg")


def test_large_arrays_become_heat_maps_and_small_ones_are_shown_in_full():
    _, steps, _ = wide_model_trace()
    arrays = [a for step in embedded(page(steps))["steps"] for a in step["arrays"] + step["params"]]
    full = [a for a in arrays if "cells" in a]
    heat = [a for a in arrays if "heat" in a]
    assert full
    assert heat
    assert all(sum(len(row) for row in a["cells"]) <= FULL_LIMIT for a in full)
    assert all(len(a["heat"]) <= HEAT_CELLS and len(a["heat"][0]) <= HEAT_CELLS for a in heat)
    # the block means keep the sign and scale: the heat map's extremes are the array's
    row = next(row for row in steps if row.name == "2.1.1")  # the ReLU passes on a (40, 30) gradient
    big = next(a for a in heat if a["label"] == "∂L/∂input" and a["shape"] == "(40, 30)")
    assert big["low"] == pytest.approx(row.grad_input.min())
    assert big["high"] == pytest.approx(row.grad_input.max())


# -- in the browser ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if importlib.util.find_spec("playwright") is None:
        pytest.skip("needs Playwright: pip install playwright (the test extra); no `playwright install` needed")
    if not Path(CHROMIUM).exists():
        pytest.skip("needs Chromium: apt-get install chromium (Debian) or set it on PATH")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),  # a fresh user-data-dir
            executable_path=CHROMIUM,
            args=ARGS,
            headless=True,
            viewport=VIEWPORT,
        )
        yield context
        context.close()


class Loaded:
    """A page opened in the browser, with what it logged and what it requested."""

    def __init__(self, context, path):
        self.errors, self.requests = [], []
        self.page = context.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("requestfailed", lambda r: self.errors.append(f"failed: {r.url}"))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(path.as_uri())

    def text(self, selector):
        return self.page.locator(selector).inner_text()

    def all_text(self, selector):
        return self.page.locator(selector).all_inner_texts()

    def active(self):
        return self.page.locator("#graph .node.active")

    def screenshot(self):
        from matplotlib.image import imread

        return (imread(io.BytesIO(self.page.screenshot()), format="png")[..., :3] * 255).round().astype(int)


def open_page(browser, tmp_path, model_trace_x):
    model, steps, X = model_trace_x
    path = steps.to_html(tmp_path / "pass.html", model=model, X=X)
    return Loaded(browser, path), steps


@pytest.mark.browser
def test_the_page_loads_with_no_console_error_and_no_network_request(browser, tmp_path):
    loaded, _ = open_page(browser, tmp_path, wide_model_trace())
    for _ in range(20):  # every step, heat maps included
        loaded.page.keyboard.press("ArrowRight")
    assert loaded.errors == []
    assert loaded.requests == [(tmp_path / "pass.html").as_uri()]  # the file itself, nothing else
    loaded.page.close()


def check_backward_step(loaded, row):
    """The step's text and numbers are the trace row's."""
    assert loaded.text("#formula") == row.formula.replace(";  ", "\n")
    assert all(f"→ {v.describe()}" in loaded.text("#flow") for v in row.grad_inputs[:1])
    arrived = [v for v in row.grad_outputs if v.grad is not None]
    passed = [v for v in row.grad_inputs if v.grad is not None]
    assert loaded.all_text("#arrays .array[data-role=arrived] .norm") == [f"{v.norm:.4g}" for v in arrived]
    assert loaded.all_text("#arrays .array[data-role=passed] .norm") == [f"{v.norm:.4g}" for v in passed]
    assert loaded.all_text("#params .array .norm") == [f"{p.norm:.4g}" for p in row.params]
    assert loaded.all_text("#params .array .label") == [f"∂L/∂{p.symbol or p.name}" for p in row.params]
    grads = [v.grad for v in arrived] + [v.grad for v in passed] + [p.grad for p in row.params]
    check_arrays(loaded, "#arrays .array, #params .array", grads)


def check_arrays(loaded, selector, arrays):
    """The boxes show these arrays: shape and norm, and every number (row by row) or a heat map."""
    boxes = loaded.page.locator(selector)
    assert boxes.count() == len(arrays)
    for i, array in enumerate(arrays):
        box = boxes.nth(i)
        assert box.locator(".shape").inner_text() == str(tuple(np.shape(array)))
        assert box.locator(".norm").inner_text() == f"{np.linalg.norm(np.ravel(array)):.4g}"
        if np.size(array) <= FULL_LIMIT:
            cells = box.locator("td").all_inner_texts()
            assert cells == [f"{v:.4g}" for v in np.ravel(array)]
        else:
            rows = min(np.shape(array)[0], HEAT_CELLS)
            assert box.locator("svg.heat rect").count() == rows * min(np.size(array) // np.shape(array)[0], HEAT_CELLS)


def record_forward(model, X):
    """Each layer's (inputs, output) in a plain forward pass, computed here apart from the page's."""
    calls = []
    handles = [
        layer.register_forward_hook(lambda _, inputs, output: calls.append((inputs, output)))
        for _, layer in model.named_layers()
        if not list(layer.children())
    ]
    model(X)
    for handle in handles:
        handle.remove()
    return calls


@pytest.mark.browser
@pytest.mark.parametrize("which", ["derivation", "residual and concat"])
def test_stepping_through_every_step_shows_the_numbers_explain_computes(browser, tmp_path, which):
    model, steps, X = derivation_trace() if which == "derivation" else wide_model_trace()
    loaded, _ = open_page(browser, tmp_path, (model, steps, X))
    forward_values = record_forward(model, X)
    layers = [row for row in reversed(steps.rows) if row.name != "loss"]
    total = len(layers) + 1 + len(steps)
    active_paths = []
    for i in range(total):
        if i:
            # the keys and the button both step forward
            (loaded.page.keyboard.press if i % 2 else lambda _: loaded.page.click("#next"))("ArrowRight")
        assert loaded.text("#counter") == f"step {i + 1} of {total}"
        assert loaded.active().count() == 1
        active_paths.append(loaded.active().get_attribute("data-path"))
        if i < len(layers):  # forward through the layers
            row = layers[i]
            assert loaded.text("#phase") == "FORWARD PASS"
            assert row.layer in loaded.text("#heading")
            assert active_paths[-1] == row.name
            inputs, output = forward_values[i]  # the layer's input and output, in full or as heat map
            check_arrays(loaded, "#arrays .array", [inputs[0], output])
            names = [v.name or "input" for v in row.grad_inputs[:1]] + [v.name or "output" for v in row.grad_outputs]
            assert loaded.all_text("#arrays .array .label") == names
        elif i == len(layers):  # the loss
            assert f"L = {steps.loss:.4g}" in loaded.text("#flow")
            check_arrays(loaded, "#arrays .array", [model(X)])
            assert "loss" in loaded.active().get_attribute("class")
        else:  # backward through the chain rule, the trace's rows in order
            row = steps[i - len(layers) - 1]
            assert loaded.text("#phase") == "BACKWARD PASS (CHAIN RULE)"
            assert loaded.text("#heading").startswith(f"Backward {row.step} of {len(steps)}")
            assert active_paths[-1] == ("" if row.name == "loss" else row.name)
            check_backward_step(loaded, row)
    assert loaded.page.locator("#next").is_disabled()
    loaded.page.keyboard.press("ArrowLeft")
    assert loaded.text("#counter") == f"step {total - 1} of {total}"
    loaded.page.keyboard.press("Home")
    assert loaded.text("#counter") == f"step 1 of {total}"
    assert loaded.page.locator("#prev").is_disabled()
    assert loaded.errors == []
    loaded.page.close()


def highlight_centre(image):
    """The centre (row, column) of the highlighted node's fill in a screenshot; None when there is none."""
    mask = np.all(np.abs(image - np.array(ACTIVE_RGB)) <= 2, axis=-1)
    if mask.sum() < 200:
        return None
    rows, cols = np.nonzero(mask)
    return rows.mean(), cols.mean()


@pytest.mark.browser
def test_the_screenshot_shows_the_graph_and_the_highlight_moves_as_you_step(browser, tmp_path):
    loaded, _ = open_page(browser, tmp_path, derivation_trace())
    svg = loaded.page.locator("#graph")
    assert svg.locator(".node.layer").count() == 4  # one node per layer, plus the input and the loss
    assert svg.locator(".node").count() == 6
    first = loaded.screenshot()
    assert first.shape == (VIEWPORT["height"], VIEWPORT["width"], 3)
    box = svg.bounding_box()
    drawing = first[int(box["y"]) : int(box["y"] + box["height"]), int(box["x"]) : int(box["x"] + box["width"])]
    assert (drawing.sum(axis=-1) < 600).mean() > 0.01  # not blank: edges and text
    assert len(np.unique(drawing.reshape(-1, 3), axis=0)) > 20
    details = loaded.page.locator("#details").bounding_box()
    assert details["x"] > box["x"] + box["width"] - 1  # the details beside the drawing
    centres = [highlight_centre(first)]
    for _ in range(4 + 1 + 5 - 1):
        loaded.page.keyboard.press("ArrowRight")
        centres.append(highlight_centre(loaded.screenshot()))
    assert all(c is not None for c in centres)
    heights = [round(c[0]) for c in centres]
    # forward: down the column, layer by layer to the loss; backward: from the loss back up to the first layer
    assert heights[:5] == sorted(heights[:5])
    assert len(set(heights[:5])) == 5
    assert heights[5:] == sorted(heights[5:], reverse=True)
    assert heights[5] == heights[4]  # the backward pass starts at the loss
    assert heights[-1] == heights[0]  # and ends at the first layer
    loaded.page.close()


@pytest.mark.browser
def test_the_docs_page_of_the_derivation_steps_through_with_the_derivations_names(browser, tmp_path):
    """docs/hooks/derivation_page.py writes it into the site; it opens and reads W1, W2 and ∂L/∂X."""
    spec = importlib.util.spec_from_file_location("derivation_page", ROOT / "docs" / "hooks" / "derivation_page.py")
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    path = tmp_path / hook.PAGE
    path.write_text(hook.derivation_page(), encoding="utf-8")
    loaded = Loaded(browser, path)
    assert loaded.page.title() == hook.TITLE
    loaded.page.keyboard.press("End")
    assert loaded.text("#counter") == "step 10 of 10"
    assert loaded.all_text("#params .array .label") == ["∂L/∂W1"]
    assert loaded.all_text("#arrays .array .label") == ["∂L/∂H", "∂L/∂X"]
    assert loaded.text("#formula") == "∂L/∂X = ∂L/∂H W1ᵀ\n∂L/∂W1 = Xᵀ ∂L/∂H"
    assert loaded.errors == []
    loaded.page.close()


def test_text_in_the_data_cannot_end_the_script(tmp_path):
    """A layer's repr or a title holding </script> stays data."""
    _, steps, _ = derivation_trace()
    text = page(steps, title="</script><script>alert(1)</script>")
    assert text.count("</script>") == 2  # the data's and the page's own
    assert embedded(text)["title"] == "</script><script>alert(1)</script>"


def test_the_forward_values_are_those_of_the_traced_pass_even_with_dropout():
    """to_html's forward pass replays explain's: the same random generators, so the same units dropped."""
    model = minnet.Sequential(minnet.Linear(3, 5, rng=0), minnet.Dropout(0.5, rng=1))
    X, Y = np.random.default_rng(2).standard_normal((4, 3)), np.zeros((4, 5))
    steps = minnet.explain(model, minnet.MSELoss(), X, Y)
    text = page(steps, model, X)
    assert page(steps, model, X) == text  # the pass left the generators as they were
    dropout_forward = embedded(text)["steps"][1]
    output = next(a for a in dropout_forward["arrays"] if a["role"] == "output")
    dropped = np.array([[float(cell) == 0 for cell in row] for row in output["cells"]])
    assert dropped.any()
    assert not dropped.all()
    np.testing.assert_array_equal(dropped, steps[1].grad_input == 0)  # no gradient through a dropped unit


def test_x_without_the_model_or_for_another_model_is_refused():
    model, steps, X = derivation_trace()
    with pytest.raises(ValueError, match="X needs the model too"):
        page(steps, X=X)
    with pytest.raises(ValueError, match="the model made 2 layer calls on X, the trace holds 4"):
        page(steps, minnet.Sequential(model[0], model[1]), X)
