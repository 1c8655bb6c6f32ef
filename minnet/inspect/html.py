"""A page to step through one pass in the browser: :meth:`minnet.inspect.Trace.to_html`.

One self-contained HTML file (inline CSS, script and SVG, the data embedded as JSON; nothing is
fetched, no server is needed): the network drawn as SVG, and a control (buttons, the arrow keys) that
steps forward through the layers, then backward through the chain rule, one row of the trace at a
time. Each step highlights its layer and shows the local derivative (the trace's text for that row),
the gradients that arrived and were passed on, and the parameter gradients: small arrays in full,
larger ones as their shape, norm and a heat map. Given the model and the input the trace was made
with, the forward steps show each layer's input and output as well.
"""

from __future__ import annotations

import html
import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..nn.module import Module
from ..nn.snapshot import preserved
from .common import named_leaves
from .graph import Edge, Network, Node, network
from .trace import Trace, TraceRow

#: Arrays with at most this many numbers are shown in full; larger ones as a heat map.
FULL_LIMIT = 64
#: The heat map's largest grid: a larger array is averaged over blocks down to it.
HEAT_CELLS = 24

_NODE_H, _JOIN_H, _GAP, _LABEL, _CLOSE, _TOP, _LEFT, _INSET = 40, 28, 24, 18, 6, 20, 24, 14


def _number(value: float) -> str:
    return f"{value:.4g}"


def _matrix(array: NDArray[Any]) -> NDArray[np.float64]:
    """The array as a matrix: a row for a vector or a number, (first axis, the rest) otherwise."""
    values = np.asarray(array, dtype=np.float64)
    return values.reshape(1, -1) if values.ndim < 2 else values.reshape(values.shape[0], -1)


def _heat(matrix: NDArray[np.float64]) -> list[list[float | None]]:
    """The matrix averaged over blocks to at most HEAT_CELLS × HEAT_CELLS cells."""
    rows = np.array_split(np.arange(matrix.shape[0]), min(matrix.shape[0], HEAT_CELLS))
    cols = np.array_split(np.arange(matrix.shape[1]), min(matrix.shape[1], HEAT_CELLS))
    return [[(float(v) if np.isfinite(v) else None) for v in (matrix[np.ix_(r, c)].mean() for c in cols)] for r in rows]


def _array(label: str, role: str, array: Any) -> dict[str, Any]:
    """An array as the page shows it: its label, shape and norm, all its numbers when it is small,
    else a heat map."""
    values = np.asarray(array, dtype=np.float64)
    shown: dict[str, Any] = {"label": label, "role": role, "shape": str(tuple(values.shape))}
    shown["norm"] = _number(float(np.sqrt(np.sum(values * values)))) if values.size else "0"
    matrix = _matrix(values)
    if values.size <= FULL_LIMIT:
        shown["cells"] = [[_number(v) for v in row] for row in matrix]
    else:
        finite = matrix[np.isfinite(matrix)]
        shown["heat"] = _heat(matrix)
        shown["low"] = float(finite.min()) if finite.size else 0.0
        shown["high"] = float(finite.max()) if finite.size else 0.0
    return shown


def _named(name: str | None, what: str) -> str:
    return f"∂L/∂{name}" if name else what


def _backward_arrays(row: TraceRow) -> list[dict[str, Any]]:
    arrays = []
    for value in row.grad_outputs:
        if value.grad is not None:
            arrays.append(_array(_named(value.name, "∂L/∂output"), "arrived", value.grad))
    for value in row.grad_inputs:
        if value.grad is not None:
            arrays.append(_array(_named(value.name, "∂L/∂input"), "passed", value.grad))
    return arrays


def _values(values: list[Any], fallback: str) -> str:
    return ", ".join(f"{value.name or fallback} {value.value_shape or value.shape}" for value in values)


def _gradients(values: list[Any]) -> str:
    return ", ".join(value.describe() + ("" if value.grad is not None else " none") for value in values)


def _flat(value: Any) -> list[Any]:
    if isinstance(value, (tuple, list)):
        return [array for part in value for array in _flat(part)]
    return [] if value is None else [value]


def _forward_values(model: Module, X: ArrayLike, count: int) -> tuple[list[tuple[tuple[Any, ...], Any]], Any]:
    """Each call of a layer without children, ``(inputs, output)`` in call order, from one forward pass
    that leaves no trace. It runs in the model's mode with its random generators as they are (see
    :func:`~minnet.nn.snapshot.preserved`), so for the model :func:`~minnet.explain` traced, unchanged
    since, it is the forward of that pass; ``count`` calls are expected (one per row). Returns the calls and
    the model's output."""
    calls: list[tuple[tuple[Any, ...], Any]] = []

    def record(layer: Module, inputs: tuple[Any, ...], output: Any) -> None:
        calls.append((inputs, output))

    handles = [layer.register_forward_hook(record) for _, layer in named_leaves(model)]
    try:
        with preserved(model):
            prediction = model(X)
    finally:
        for handle in handles:
            handle.remove()
    if len(calls) != count:
        raise ValueError(
            f"Trace.to_html: the model made {len(calls)} layer calls on X, the trace holds {count}; "
            "give the model and the X that explain traced"
        )
    return calls, prediction


def _forward_arrays(row: TraceRow, call: tuple[tuple[Any, ...], Any] | None) -> list[dict[str, Any]]:
    if call is None:
        return []
    inputs, output = call
    arrays = [
        _array(value.name or "input", "input", array)
        for value, array in zip(row.grad_inputs, _flat(inputs), strict=False)
        if isinstance(array, np.ndarray)
    ]
    return arrays + [
        _array(value.name or "output", "output", array)
        for value, array in zip(row.grad_outputs, _flat(output), strict=False)
        if isinstance(array, np.ndarray)
    ]


def _steps(
    trace: Trace,
    paths: dict[str, str],
    loss_node: str,
    forward_values: tuple[list[tuple[tuple[Any, ...], Any]], Any] | None,
) -> list[dict[str, Any]]:
    calls, prediction = forward_values if forward_values is not None else (None, None)
    layers = [row for row in trace.rows if row.name != "loss"]
    forward: list[dict[str, Any]] = []
    for i, row in enumerate(reversed(layers)):
        forward.append(
            {
                "phase": "forward",
                "node": paths.get(row.name),
                "heading": f"Forward {i + 1} of {len(layers)}: {row.name}: {row.layer}",
                "flow": f"{_values(row.grad_inputs, 'input')} → {_values(row.grad_outputs, 'output')}",
                "formula": row.formula,
                "arrays": _forward_arrays(row, calls[i] if calls is not None else None),
                "empty": "the values: give to_html the model and X",
                "params": [],
            }
        )
    loss_row = trace.rows[0]
    forward.append(
        {
            "phase": "forward",
            "node": loss_node,
            "heading": f"Forward: the loss {loss_row.layer}",
            "flow": f"{_values(loss_row.grad_inputs, 'prediction')} → L = {_number(trace.loss)}",
            "formula": loss_row.formula,
            "arrays": []
            if calls is None
            else [_array(loss_row.grad_inputs[0].name or "prediction", "input", _flat(prediction)[0])],
            "empty": "the prediction: give to_html the model and X",
            "params": [],
        }
    )
    backward = [
        {
            "phase": "backward",
            "node": loss_node if row.name == "loss" else paths.get(row.name),
            "heading": f"Backward {row.step} of {len(trace.rows)}: "
            + (row.layer if row.name == "loss" else f"{row.name}: {row.layer}"),
            "flow": ("the gradient joins another path here (+ other paths); " if row.joined else "")
            + f"{_gradients(row.grad_outputs)} → {_gradients(row.grad_inputs)}",
            "formula": row.formula,
            "arrays": _backward_arrays(row),
            "empty": "none",
            "params": [_array(f"∂L/∂{p.symbol or p.name}", "param", p.grad) for p in row.params],
        }
        for row in trace.rows
    ]
    return forward + backward


def _from_trace(trace: Trace) -> Network:
    """The drawing without the model: the layers in forward order, chained, framed by the containers
    their dotted paths name."""
    nodes = [Node("input", "input", "", "input")]
    containers: dict[str, tuple[str, str | None]] = {}
    seen: set[str] = set()
    for row in reversed(trace.rows):
        if row.name == "loss" or row.name in seen:
            continue
        seen.add(row.name)
        parts = row.name.split(".")
        parents = [".".join(parts[:i]) for i in range(1, len(parts))]
        for i, prefix in enumerate(parents):
            containers.setdefault(prefix, (prefix, parents[i - 1] if i else ""))
        nodes.append(
            Node(f"n{len(nodes)}", "layer", row.name, f"{row.name}: {row.layer}", [], parents[-1] if parents else "")
        )
    nodes.append(Node("loss", "loss", "", trace.rows[0].layer))
    edges = [Edge(a.id, b.id) for a, b in itertools.pairwise(nodes)]
    return Network(nodes, edges, {"": ("model", None), **containers})


def _depth(net: Network, container: str | None) -> int:
    depth = 0
    while container:
        container = net.containers.get(container, ("", None))[1]
        depth += 1
    return depth


def _svg(net: Network) -> str:
    """The network as an SVG: the nodes in one column in forward order, each container a dashed frame,
    an edge between neighbours a straight arrow, any other edge an arc on the right."""
    place = {node.id: i for i, node in enumerate(net.nodes)}
    depths = {path: _depth(net, path) for path in net.containers if path}
    deepest = max(depths.values(), default=0)
    width = max(len(node.title) for node in net.nodes if node.kind != "join") * 7 + 24
    left = _LEFT + deepest * _INSET
    frames = {}  # container -> (first node, last node)
    for path in depths:
        inside = [i for i, n in enumerate(net.nodes) if n.container and (n.container + ".").startswith(path + ".")]
        if inside:
            frames[path] = (min(inside), max(inside))
    tops, y = [], float(_TOP)
    for i, node in enumerate(net.nodes):  # room above a node for each frame that opens there, below for each closing
        y += _LABEL * sum(1 for first, _ in frames.values() if first == i)
        tops.append(y)
        y += (
            (_JOIN_H if node.kind == "join" else _NODE_H) + _GAP + _CLOSE * sum(1 for _, e in frames.values() if e == i)
        )
    arcs = sum(1 for edge in net.edges if place[edge.head] - place[edge.tail] != 1)
    total_width = left + width + deepest * _INSET + 30 + 22 * arcs
    total_height = int(y + _TOP)

    def height(node: Node) -> int:
        return _JOIN_H if node.kind == "join" else _NODE_H

    def half(node: Node) -> float:  # half the width of a node
        return max(40.0, len(node.title) * 3.6 + 14) if node.kind == "join" else width / 2

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="graph" width="{total_width}" height="{total_height}" '
        f'viewBox="0 0 {total_width} {total_height}" role="img" aria-label="the layer graph">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" fill="#555"/></marker></defs>',
    ]
    for path, (first, last) in frames.items():
        depth = depths[path]
        opening = sorted((p for p, f in frames.items() if f[0] == first), key=depths.__getitem__)  # outer first
        closing = sorted((p for p, f in frames.items() if f[1] == last), key=depths.__getitem__, reverse=True)
        x = left - (deepest - depth + 1) * _INSET + _INSET // 2
        w = width + 2 * (deepest - depth + 1) * _INSET - _INSET
        y0 = tops[first] - _LABEL * (len(opening) - opening.index(path)) + 2
        y1 = tops[last] + height(net.nodes[last]) + 4 + _CLOSE * closing.index(path)
        parts.append(
            f'<g class="container" data-path="{html.escape(path)}"><rect x="{x}" y="{y0}" width="{w}" '
            f'height="{y1 - y0}" rx="8"/><text x="{x + 6}" y="{y0 + 12}">{html.escape(net.containers[path][0])}'
            "</text></g>"
        )
    arc = 0
    for edge in net.edges:
        a, b = place[edge.tail], place[edge.head]
        tail, head = net.nodes[a], net.nodes[b]
        dash = ' stroke-dasharray="5 4"' if edge.guessed else ""
        centre = left + width / 2
        if b - a == 1:
            d = f"M{centre} {tops[a] + height(tail)} L{centre} {tops[b]}"
        else:
            arc += 1
            far = left + width + deepest * _INSET + 10 + 22 * arc
            y0, y1 = tops[a] + height(tail) / 2, tops[b] + height(head) / 2
            d = f"M{centre + half(tail)} {y0} C{far} {y0} {far} {y1} {centre + half(head)} {y1}"
        parts.append(f'<path class="edge" d="{d}"{dash} marker-end="url(#arrow)"/>')
    for i, node in enumerate(net.nodes):
        y = tops[i]
        attrs = f'class="node {node.kind}" data-id="{node.id}" data-path="{html.escape(node.path)}"'
        label = html.escape(node.title.split("\n")[0])
        if node.kind == "join":
            cx = left + width / 2
            shape = f'<ellipse cx="{cx}" cy="{y + _JOIN_H / 2}" rx="{half(node)}" ry="{_JOIN_H / 2}"/>'
            text = f'<text x="{cx}" y="{y + _JOIN_H / 2 + 4}">{label}</text>'
        else:
            shape = f'<rect x="{left}" y="{y}" width="{width}" height="{_NODE_H}" rx="6"/>'
            text = f'<text x="{left + width / 2}" y="{y + _NODE_H / 2 + 4}">{label}</text>'
        parts.append(f"<g {attrs}>{shape}{text}</g>")
    parts.append("</svg>")
    return "\n".join(parts)


def _name_values(net: Network, trace: Trace) -> None:
    """Add to each node what the trace knows of its value: the input's name and shape, each layer's output
    (of its first call), the loss's value."""
    first_calls = {row.name: row for row in trace.rows}  # backward order: the last row of a layer is its first call
    for node in net.nodes:
        row = first_calls.get(node.path) if node.kind == "layer" else None
        if node.kind == "input":
            node.title = f"input {_values(trace.rows[-1].grad_inputs, 'x')}"
        elif node.kind == "loss":
            node.title = f"{trace.rows[0].layer}: L = {_number(trace.loss)}"
        elif row is not None:
            node.title = f"{node.title} → {_values(row.grad_outputs, 'y')}"


def page(
    trace: Trace,
    model: Module | None = None,
    X: ArrayLike | None = None,
    title: str = "minnet: one pass, step by step",
) -> str:
    """The HTML of the step-through page (see :meth:`~minnet.inspect.Trace.to_html`)."""
    if X is not None and model is None:
        raise ValueError("Trace.to_html: X needs the model too (the forward values come from running it)")
    layer_rows = sum(1 for row in trace.rows if row.name != "loss")
    values = _forward_values(model, X, layer_rows) if model is not None and X is not None else None
    net = network(model) if model is not None else _from_trace(trace)
    if model is not None:  # the drawing of the model, and the loss below it
        loss = Node(f"n{len(net.nodes)}", "loss", "", trace.rows[0].layer)
        net.edges.append(Edge(net.output, loss.id))
        net.nodes.append(loss)
    _name_values(net, trace)
    by_path = {node.path: node.id for node in net.nodes if node.kind == "layer"}
    loss_node = next(node.id for node in net.nodes if node.kind == "loss")
    data = {"title": title, "loss": _number(trace.loss), "steps": _steps(trace, by_path, loss_node, values)}
    embedded = json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")  # no </script> or <!-- in the data
    return _TEMPLATE.format(title=html.escape(title), svg=_svg(net), data=embedded, css=_CSS, script=_SCRIPT)


def write(
    trace: Trace,
    path: str | Path,
    model: Module | None = None,
    X: ArrayLike | None = None,
    title: str | None = None,
) -> Path:
    """Write :func:`page` to ``path`` (UTF-8) and return the path."""
    target = Path(path)
    if target.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"Trace.to_html: path must end in .html, got {str(path)!r}")
    text = page(trace, model, X) if title is None else page(trace, model, X, title)
    target.write_text(text, encoding="utf-8")
    return target


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
<header><h1>{title}</h1>
<nav id="controls"><button id="first" type="button" title="first step (Home)">« first</button>
<button id="prev" type="button" title="previous step (←)">◀ back</button>
<span id="counter"></span>
<button id="next" type="button" title="next step (→)">next ▶</button>
<button id="last" type="button" title="last step (End)">last »</button>
<span class="hint">← → arrow keys step, Home and End jump</span></nav></header>
<main>
<section id="drawing">{svg}</section>
<section id="details">
<p id="phase"></p>
<h2 id="heading"></h2>
<p id="flow"></p>
<h3>Local derivative</h3>
<pre id="formula"></pre>
<div id="arrays"></div>
<h3>Parameter gradients</h3>
<div id="params"></div>
</section>
</main>
<script type="application/json" id="data">{data}</script>
<script>{script}</script>
</body>
</html>
"""

_CSS = """
body { font-family: system-ui, sans-serif; margin: 0; color: #222; background: #fafafa; }
header { padding: 8px 16px; background: #3f51b5; color: white; }
header h1 { font-size: 18px; margin: 4px 0; }
nav button { font-size: 14px; margin-right: 4px; }
nav .hint { font-size: 12px; opacity: 0.8; margin-left: 12px; }
#counter { display: inline-block; min-width: 110px; text-align: center; }
main { display: flex; gap: 16px; padding: 12px 16px; align-items: flex-start; }
#drawing { flex: none; background: white; border: 1px solid #ddd; }
#details { flex: 1; min-width: 320px; }
#phase { text-transform: uppercase; font-size: 12px; letter-spacing: 1px; color: #666; margin: 0; }
#phase.backward { color: #c62828; }
h2 { font-size: 16px; margin: 4px 0; }
h3 { font-size: 13px; margin: 12px 0 4px; color: #555; }
pre#formula { background: #f0f0f0; padding: 6px; white-space: pre-wrap; }
svg text { font: 12px monospace; text-anchor: middle; fill: #222; }
.container rect { fill: none; stroke: #9e9e9e; stroke-dasharray: 4 3; }
.container text { text-anchor: start; font-size: 10px; fill: #757575; }
.node rect, .node ellipse { fill: #e8eaf6; stroke: #5c6bc0; stroke-width: 1; }
.node.input rect { fill: #e8f5e9; stroke: #43a047; }
.node.loss rect { fill: #fce4ec; stroke: #d81b60; }
.node.join ellipse { fill: #fff8e1; stroke: #ffa000; }
.node.active rect, .node.active ellipse { fill: #ffd54f; stroke: #e65100; stroke-width: 3; }
.edge { fill: none; stroke: #555; stroke-width: 1.2; }
.array { display: inline-block; vertical-align: top; margin: 0 12px 12px 0; padding: 6px;
         background: white; border: 1px solid #ddd; }
.array .caption { font-size: 13px; margin-bottom: 4px; }
.array .role { color: #777; font-size: 11px; }
.array table { border-collapse: collapse; font: 11px monospace; }
.array td { border: 1px solid #eee; padding: 1px 4px; text-align: right; }
.none { color: #888; font-style: italic; }
"""

_SCRIPT = r"""
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("data").textContent);
  const steps = data.steps;
  let current = 0;
  const byId = (id) => document.getElementById(id);
  const SVG = "http://www.w3.org/2000/svg";
  const ROLES = { input: "in:", output: "out:", arrived: "arrived:", passed: "passed on:", param: "added to .grad:" };

  function colour(value, low, high) {
    if (value === null) return "#000";
    const bound = Math.max(Math.abs(low), Math.abs(high)) || 1;
    const t = Math.max(-1, Math.min(1, value / bound));
    const fade = Math.round(255 * (1 - Math.abs(t)));
    return t >= 0 ? `rgb(255,${fade},${fade})` : `rgb(${fade},${fade},255)`;
  }

  function heatmap(array) {
    const rows = array.heat.length, cols = array.heat[0].length;
    const size = Math.max(4, Math.floor(192 / Math.max(rows, cols)));
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "heat");
    svg.setAttribute("width", cols * size);
    svg.setAttribute("height", rows * size);
    array.heat.forEach((row, i) => row.forEach((value, j) => {
      const cell = document.createElementNS(SVG, "rect");
      cell.setAttribute("x", j * size); cell.setAttribute("y", i * size);
      cell.setAttribute("width", size); cell.setAttribute("height", size);
      cell.setAttribute("fill", colour(value, array.low, array.high));
      svg.appendChild(cell);
    }));
    return svg;
  }

  function arrayBox(array) {
    const box = document.createElement("div");
    box.className = "array";
    box.dataset.role = array.role;
    const caption = document.createElement("div");
    caption.className = "caption";
    caption.innerHTML = "<span class=\"role\"></span> <b class=\"label\"></b> <span class=\"shape\"></span> " +
      "‖·‖=<span class=\"norm\"></span>";
    caption.querySelector(".role").textContent = ROLES[array.role];
    caption.querySelector(".label").textContent = array.label;
    caption.querySelector(".shape").textContent = array.shape;
    caption.querySelector(".norm").textContent = array.norm;
    box.appendChild(caption);
    if (array.cells) {
      const table = document.createElement("table");
      array.cells.forEach((row) => {
        const tr = table.insertRow();
        row.forEach((text) => { tr.insertCell().textContent = text; });
      });
      box.appendChild(table);
    } else {
      box.appendChild(heatmap(array));
      const range = document.createElement("div");
      range.className = "range";
      range.textContent = `heat map (block means), blue ${array.low.toPrecision(3)} … red ${array.high.toPrecision(3)}`;
      box.appendChild(range);
    }
    return box;
  }

  function fill(container, arrays, empty) {
    container.replaceChildren();
    if (!arrays.length) {
      const none = document.createElement("p");
      none.className = "none";
      none.textContent = empty;
      container.appendChild(none);
    }
    arrays.forEach((array) => container.appendChild(arrayBox(array)));
  }

  function show(index) {
    current = Math.max(0, Math.min(steps.length - 1, index));
    const step = steps[current];
    byId("counter").textContent = `step ${current + 1} of ${steps.length}`;
    byId("phase").textContent = step.phase === "forward" ? "forward pass" : "backward pass (chain rule)";
    byId("phase").className = step.phase;
    byId("heading").textContent = step.heading;
    byId("flow").textContent = step.flow;
    byId("formula").textContent = step.formula.split(";  ").join("\n");
    fill(byId("arrays"), step.arrays, step.empty);
    fill(byId("params"), step.params, "none in this step");
    document.querySelectorAll("#graph .node").forEach((node) => {
      node.classList.toggle("active", node.dataset.id === step.node);
    });
    byId("prev").disabled = current === 0;
    byId("first").disabled = current === 0;
    byId("next").disabled = current === steps.length - 1;
    byId("last").disabled = current === steps.length - 1;
    document.body.dataset.step = String(current);
  }

  byId("first").addEventListener("click", () => show(0));
  byId("prev").addEventListener("click", () => show(current - 1));
  byId("next").addEventListener("click", () => show(current + 1));
  byId("last").addEventListener("click", () => show(steps.length - 1));
  document.addEventListener("keydown", (event) => {
    const moves = { ArrowRight: current + 1, ArrowDown: current + 1, ArrowLeft: current - 1, ArrowUp: current - 1,
                    Home: 0, End: steps.length - 1 };
    if (event.key in moves) { event.preventDefault(); show(moves[event.key]); }
  });
  show(0);
})();
"""
