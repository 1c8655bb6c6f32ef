"""The layer graph of a model: its layers as nodes, the arrays between them as edges, and with data each
value's shape and norm and each gradient's norm; drawn by Graphviz (``minnet.plot.graph``).

:func:`network` builds the drawing as plain data from the one walk of the tree
(:meth:`~minnet.nn.module.Module.named_layers`); :func:`graph` hands it to Graphviz. A :class:`Sequential`
chains its layers, a :class:`Residual` adds a ``+`` node fed by its block and by a dashed skip edge, a
:class:`Concat` joins its branches in a ``concat`` node. A container of your own is drawn by the arrays
that pass between its children when ``X`` is given (a child fed an array the container computed itself
gets a dashed edge from the child before it, and a node named after the container joins the children's
outputs when it returns an array of its own); without ``X``, its children are chained in walk order,
dashed. Each container is a box around its children.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from .._install import install_hint
from ..nn.container import Concat, Residual, Sequential
from ..nn.loss import Loss
from ..nn.module import HookHandle, Module
from ..nn.snapshot import preserved
from .common import short_repr
from .tables import _norm
from .trace import Trace, TraceRow, explain

if TYPE_CHECKING:  # pragma: no cover
    import graphviz

__all__ = ["Edge", "Network", "Node", "graph", "network"]

_GRAPHVIZ_MISSING = (
    "minnet.plot.graph needs the graphviz Python package: {hint} "
    "(it also needs Graphviz's dot program: apt-get install graphviz, brew install graphviz or "
    "https://graphviz.org/download/)"
)
_DOT_MISSING = (
    "minnet.plot.graph: writing {path} needs Graphviz's dot program, which was not found on PATH; "
    "install Graphviz (apt-get install graphviz, brew install graphviz or https://graphviz.org/download/)"
)


@dataclass
class Node:
    """One node of the drawing.

    Attributes:
        id: the node's name in the drawing (``"input"``, ``"loss"``, ``"n3"``).
        kind: ``"input"``, ``"layer"`` (a layer without children), ``"join"`` (where a container
            combines arrays: a Residual's ``+``, a Concat's ``concat``) or ``"loss"``.
        path: the layer's dotted path in the model (``"0"`` for a model that is one layer); for a join
            node, its container's; ``""`` for the input and the loss.
        title: the first line of the label: ``"0: Linear(in_features=3, ...)"``.
        lines: what the data adds: the output's shape and norm, ∂L/∂output's norm, each parameter
            gradient's shape and norm.
        container: the path of the container the node is drawn in (``None``: at the top).
    """

    id: str
    kind: str
    path: str
    title: str
    lines: list[str] = field(default_factory=list)
    container: str | None = None

    @property
    def label(self) -> str:
        return "\n".join([self.title, *self.lines])


@dataclass
class Edge:
    """An array passed from ``tail`` to ``head``; ``lines`` give its shape and norm and the norm of
    the gradient that flows back along it; ``guessed`` (drawn dashed) when the array is not one the
    tail returned (a skip connection, or an order read from the walk)."""

    tail: str
    head: str
    lines: list[str] = field(default_factory=list)
    guessed: bool = False


@dataclass
class Network:
    """The drawing as data: nodes in forward order, edges, and the containers (path → title, parent)."""

    nodes: list[Node]
    edges: list[Edge]
    containers: dict[str, tuple[str, str | None]]
    trace: Trace | None = None
    output: str = ""  # the node of the model's output

    def node(self, id: str) -> Node:
        return next(node for node in self.nodes if node.id == id)

    def layers(self) -> list[Node]:
        """The nodes of the layers without children, in forward order."""
        return [node for node in self.nodes if node.kind == "layer"]


def _shape(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(_shape(part) for part in value) + ")"
    return str(tuple(np.shape(value)))


def _arrays(value: Any) -> Iterator[Any]:
    if isinstance(value, (tuple, list)):
        for part in value:
            yield from _arrays(part)
    elif value is not None:
        yield value


def _total(value: Any) -> float:
    """The norm of all the arrays of a value together, √(Σ ‖a_i‖²)."""
    norms = [_norm(np.asarray(a, dtype=np.float64)) for a in _arrays(value)]
    return float(np.sqrt(sum(n * n for n in norms))) if norms else float("nan")


def _child(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _first(value: Any) -> Any:
    return _first(value[0]) if isinstance(value, (tuple, list)) and value else value


class _Pass:
    """What one pass recorded for every module: its first call's inputs and output, and the gradients its
    first backward got and returned."""

    def __init__(self) -> None:
        self.calls: dict[int, tuple[int, tuple[Any, ...], Any]] = {}  # id(module) -> (order, inputs, output)
        self.grads: dict[int, tuple[Any, Any]] = {}  # id(module) -> (grad_output, grad_input)

    def forward(self, module: Module, inputs: tuple[Any, ...], output: Any) -> None:
        self.calls.setdefault(id(module), (len(self.calls), inputs, output))

    def backward(self, module: Module, grad_output: Any, grad_input: Any) -> None:
        self.grads.setdefault(id(module), (grad_output, grad_input))


class _Builder:
    def __init__(self, model: Module, record: _Pass | None, trace: Trace | None) -> None:
        self.record = record
        self.rows: dict[str, TraceRow] = {}
        for row in trace or []:  # backward order: the last row of a layer is its first call's
            self.rows[row.name] = row
        self.nodes: list[Node] = []
        self.edges: list[Edge] = []
        self.containers: dict[str, tuple[str, str | None]] = {}
        self.module_of: dict[str, Module] = {}  # node id -> the module whose output it is
        self.model = model

    def add(self, kind: str, path: str, title: str, container: str | None, module: Module | None) -> str:
        node = Node(f"n{len(self.nodes)}", kind, path, title, container=container)
        self.nodes.append(node)
        if module is not None:
            self.module_of[node.id] = module
        return node.id

    def connect(self, tail: str, head: str, guessed: bool = False) -> None:
        self.edges.append(Edge(tail, head, guessed=guessed))

    def wire(self, module: Module, path: str, feeds: list[str], container: str | None) -> str:
        """Draw ``module`` fed by the nodes ``feeds``; return the node of its output."""
        children = list(module.named_children())
        if not children:
            title = f"{path or '0'}: {short_repr(module)}"
            node = self.add("layer", path or "0", title, container, module)
            for feed in feeds:
                self.connect(feed, node)
            return node
        self.containers[path] = (f"{path}: {short_repr(module)}" if path else short_repr(module), container)
        inside = path
        if isinstance(module, Sequential):
            for name, child in children:
                feeds = [self.wire(child, _child(path, name), feeds, inside)]
            return feeds[0]
        if isinstance(module, Residual):
            block = self.wire(module.block, _child(path, "block"), feeds, inside)
            plus = self.add("join", path, "+", inside, module)
            self.connect(block, plus)
            for feed in feeds:
                self.connect(feed, plus, guessed=True)  # the skip connection
            return plus
        if isinstance(module, Concat):
            outs = [self.wire(child, _child(path, name), feeds, inside) for name, child in children]
            concat = self.add("join", path, f"concat (axis={module.axis})", inside, module)
            for out in outs:
                self.connect(out, concat)
            return concat
        return self.wire_own(module, path, children, feeds, inside)

    def wire_own(
        self, module: Module, path: str, children: list[tuple[str, Module]], feeds: list[str], inside: str
    ) -> str:
        """A container of the user's: by the arrays its children passed each other (with a recorded pass),
        or chained in walk order (dashed) without one."""
        calls = self.record.calls if self.record is not None else {}
        ran = sorted((child for child in children if id(child[1]) in calls), key=lambda c: calls[id(c[1])][0])
        if not ran:
            for name, child in children:
                start, before = len(self.edges), feeds
                feeds = [self.wire(child, _child(path, name), feeds, inside)]
                for edge in self.edges[start:]:
                    edge.guessed = edge.guessed or edge.tail in before  # the order of the walk, not of the data
            return feeds[0]
        own_inputs = {id(value) for value in calls[id(module)][1]} if id(module) in calls else set()
        made: dict[int, str] = {}  # id(array) -> the node that returned it
        consumed: set[str] = set()
        previous = feeds
        outs: list[str] = []
        for name, child in ran:
            inputs = calls[id(child)][1]
            first = inputs[0] if inputs else None
            if id(first) in made:
                sources, guessed = [made[id(first)]], False
            elif id(first) in own_inputs:
                sources, guessed = feeds, False
            else:
                sources, guessed = previous, True  # an array the container computed: drawn from the child before
            start = len(self.edges)
            out = self.wire(child, _child(path, name), sources, inside)
            for edge in self.edges[start:]:
                if edge.tail in sources and guessed:
                    edge.guessed = True
            consumed.update(sources)
            if not list(child.named_children()):  # a layer's further inputs that a sibling returned (a state)
                for later in inputs[1:]:
                    if id(later) in made and made[id(later)] not in sources:
                        self.connect(made[id(later)], out)
                        consumed.add(made[id(later)])
            made[id(_first(calls[id(child)][2]))] = out
            outs.append(out)
            previous = [out]
        result = calls[id(module)][2] if id(module) in calls else None
        if result is not None and id(_first(result)) in made:
            return made[id(_first(result))]
        combine = self.add("join", path, type(module).__name__, inside, module)
        for out in outs:
            if out not in consumed:
                self.connect(out, combine)
        return combine


def network(
    model: Module,
    X: ArrayLike | None = None,
    Y: ArrayLike | None = None,
    loss_fn: Loss | None = None,
) -> Network:
    """The drawing of ``model`` as data (:class:`Network`), with the numbers of one pass when ``X`` is given
    (and of its backward, through :func:`~minnet.explain`, when ``Y`` and ``loss_fn`` are given too).

    The pass leaves no trace (see :func:`~minnet.nn.snapshot.preserved`).
    """
    if (Y is None) != (loss_fn is None):
        raise ValueError("graph: give Y and loss_fn together (the gradients need both), or neither")
    if loss_fn is not None and X is None:
        raise ValueError("graph: the gradients need X as well as Y and loss_fn")
    record: _Pass | None = None
    trace: Trace | None = None
    if X is not None:
        record = _Pass()
        modules = [module for _, module in model.named_layers()]
        handles: list[HookHandle] = []
        for module in modules:
            handles.append(module.register_forward_hook(record.forward))
            handles.append(module.register_backward_hook(record.backward))
        try:
            if loss_fn is not None:
                trace = explain(model, loss_fn, X, Y)  # type: ignore[arg-type]
            else:
                with preserved(model):
                    model(X)
        finally:
            for handle in handles:
                handle.remove()
    builder = _Builder(model, record, trace)
    source = builder.add("input", "", "input" if X is None else f"X {_shape(np.asarray(X))}", None, None)
    out = builder.wire(model, "", [source], None)
    if loss_fn is not None:
        loss = builder.add("loss", "", short_repr(loss_fn) + (f"\nL = {trace.loss:.4g}" if trace else ""), None, None)
        builder.connect(out, loss)
    net = Network(builder.nodes, builder.edges, builder.containers, trace, out)
    if record is not None:
        _label(net, builder, record, X)
    return net


def _label(net: Network, builder: _Builder, record: _Pass, X: Any) -> None:
    """Write the recorded numbers into the labels."""
    rows = builder.rows
    loss_row = net.trace[0] if net.trace is not None else None
    for node in net.nodes:
        module = builder.module_of.get(node.id)
        if module is None or id(module) not in record.calls:
            continue
        output = record.calls[id(module)][2]
        node.lines.append(f"y {_shape(output)} ‖y‖={_total(output):.4g}")
        row = rows.get(node.path) if node.kind == "layer" else None
        if row is not None:
            node.lines.append(f"∂L/∂y ‖·‖={row.grad_output_norm:.4g}")
            for param in row.params:
                node.lines.append(f"∂L/∂{param.name.rsplit('.', 1)[-1]} {param.shape} ‖·‖={param.norm:.4g}")
    for edge in net.edges:
        tail, head = net.node(edge.tail), net.node(edge.head)
        module = builder.module_of.get(edge.tail)
        value = record.calls[id(module)][2] if module is not None and id(module) in record.calls else None
        if tail.kind == "input":
            value = np.asarray(X)
        if value is not None and np.asarray(_first(value)).dtype.kind in "iub":  # indices: a norm says nothing
            edge.lines.append(f"{_shape(value)} indices")
        elif value is not None:
            edge.lines.append(f"{_shape(value)} ‖·‖={_total(value):.4g}")
        grad = _edge_gradient(tail, head, builder, record, loss_row)
        if grad is not None:
            edge.lines.append(f"∂L ‖·‖={grad:.4g}")


def _edge_gradient(tail: Node, head: Node, builder: _Builder, record: _Pass, loss_row: TraceRow | None) -> float | None:
    """The norm of the gradient that flows back along an edge: what the head passed back to this input."""
    if loss_row is None:
        return None
    if head.kind == "loss":
        return loss_row.grad_input_norm
    if head.kind == "layer":
        row = builder.rows.get(head.path)
        if row is None:
            return None
        passed = [value for value in row.grad_inputs if value.grad is not None]
        return passed[0].norm if passed else None
    container = builder.module_of[head.id]
    if isinstance(container, Residual):  # y = x + block(x): both inputs of the + get ∂L/∂y
        grads = record.grads.get(id(container))
        return None if grads is None else _total(grads[0])
    producer = builder.module_of.get(tail.id)  # a concat or a join of the user's: the part its input got
    if producer is None:
        return None
    if tail.kind == "layer" and tail.path in builder.rows:
        return builder.rows[tail.path].grad_output_norm
    grads = record.grads.get(id(producer))
    return None if grads is None else _total(grads[0])


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def to_digraph(net: Network) -> graphviz.Digraph:
    """The :class:`Network` as a ``graphviz.Digraph``."""
    try:
        import graphviz
    except ImportError as error:
        raise ImportError(_GRAPHVIZ_MISSING.format(hint=install_hint("graph"))) from error
    dot = graphviz.Digraph(
        "minnet",
        graph_attr={"rankdir": "TB", "fontname": "Helvetica", "fontsize": "10", "nodesep": "0.3"},
        node_attr={"fontname": "Helvetica", "fontsize": "10", "shape": "box", "style": "rounded,filled"},
        edge_attr={"fontname": "Helvetica", "fontsize": "9"},
    )
    fills = {"input": "#e8f5e9", "layer": "#e8eaf6", "join": "#fff8e1", "loss": "#fce4ec"}
    shapes = {"join": "ellipse"}

    def add_nodes(into: Any, container: str | None) -> None:
        for node in net.nodes:
            if node.container == container:
                into.node(
                    node.id,
                    _dot_text(node.label),
                    fillcolor=fills[node.kind],
                    shape=shapes.get(node.kind, "box"),
                    tooltip=_dot_text(node.path or node.kind),
                )
        for index, (path, (title, parent)) in enumerate(net.containers.items()):
            if parent == container and path:  # the model itself gets no box: it is the whole picture
                with into.subgraph(name=f"cluster_{index}") as box:
                    box.attr(label=_dot_text(title), style="rounded,dashed", color="#9e9e9e", fontsize="9")
                    add_nodes(box, path)

    add_nodes(dot, None)
    add_nodes(dot, "")
    for edge in net.edges:
        dot.edge(edge.tail, edge.head, _dot_text("\n".join(edge.lines)), style="dashed" if edge.guessed else "solid")
    return dot


def graph(
    model: Module,
    X: ArrayLike | None = None,
    Y: ArrayLike | None = None,
    loss_fn: Loss | None = None,
    path: str | Path | None = None,
) -> graphviz.Digraph:
    """Draw the layer graph of ``model`` with Graphviz (needs the ``graph`` extra and Graphviz's ``dot``).

    Each layer without children is a box, each container a dashed frame around its children; a Residual
    adds a ``+`` node fed by its block and by a dashed skip edge, a Concat a ``concat`` node (see
    :mod:`minnet.inspect.graph` for containers of your own). Given ``X``, one pass (which leaves no trace)
    labels each layer with its output's shape and norm ``‖y‖`` and each edge with the array's shape and
    norm; given ``Y`` and ``loss_fn`` too, the pass is :func:`minnet.explain`'s, and each layer also shows
    ``‖∂L/∂y‖`` and its parameter gradients' shapes and norms, each edge ``∂L ‖·‖``, the norm of the
    gradient that flowed back along it (what the layer it leads to passed back), and a loss node shows L.

    Args:
        model: the network.
        X: an input batch (optional).
        Y: the target (optional, with ``loss_fn``).
        loss_fn: the loss (optional, with ``Y``).
        path: where to write the picture: a ``.svg`` or ``.png`` file (needs ``dot``).

    Returns:
        a ``graphviz.Digraph``: shown inline in Jupyter, ``.source`` its DOT text, ``.pipe(format="svg")``
        the SVG.

    Example:
        >>> net = network(Sequential(Linear(3, 4, rng=0), Sigmoid()), np.ones((2, 3)))  # what graph draws
        >>> [node.title for node in net.layers()]
        ['0: Linear(in_features=3, out_features=4, bias=True)', '1: Sigmoid()']
        >>> net.layers()[0].lines
        ['y (2, 4) ‖y‖=2.275']
    """
    dot = to_digraph(network(model, X, Y, loss_fn))
    if path is not None:
        _write(dot, Path(path))
    return dot


def _write(dot: graphviz.Digraph, path: Path) -> None:
    import graphviz

    suffix = path.suffix.lower().lstrip(".")
    if suffix not in ("svg", "png"):
        raise ValueError(f"graph: path must end in .svg or .png, got {str(path)!r}")
    try:
        data = dot.pipe(format=suffix)
    except graphviz.ExecutableNotFound as error:
        raise RuntimeError(_DOT_MISSING.format(path=str(path))) from error
    path.write_bytes(data)
