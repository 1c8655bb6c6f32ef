"""minnet.plot.graph: the layer graph (nodes and edges for each kind of container), its numbers against
minnet.explain's, the SVG and PNG Graphviz writes, and the errors when Graphviz is missing."""

import importlib.util
import re
import shutil
import sys

import numpy as np
import pytest

import minnet
import minnet.derivation
import minnet.plot
from minnet._install import install_hint
from minnet.inspect.graph import graph, network

needs_dot = pytest.mark.skipif(
    importlib.util.find_spec("graphviz") is None or shutil.which("dot") is None,
    reason="needs the graphviz package (the graph extra) and Graphviz's dot (apt-get install graphviz)",
)


class Gated(minnet.Layer):
    """A container of the user's: y = value(x) ⊙ gate(x)."""

    def __init__(self, n_in, n_out, *, rng=None):
        rng = np.random.default_rng(rng)
        self.value = minnet.Linear(n_in, n_out, rng=rng)
        self.gate = minnet.Sequential(minnet.Linear(n_in, n_out, rng=rng), minnet.Sigmoid())
        self.v = self.s = None

    def forward(self, x):
        self.v, self.s = self.value(x), self.gate(x)
        return self.v * self.s

    def backward(self, grad_output):
        return self.gate.backward(grad_output * self.v) + self.value.backward(grad_output * self.s)


def mixed_model():
    return minnet.Sequential(
        minnet.Linear(3, 4, rng=0),
        minnet.Residual(minnet.Sequential(minnet.Linear(4, 4, rng=1), minnet.Tanh())),
        minnet.Concat(minnet.Linear(4, 2, rng=2), minnet.Sequential(minnet.Linear(4, 3, rng=3), minnet.ReLU())),
        Gated(5, 2, rng=4),
        minnet.Linear(2, 1, rng=5),
    )


def data(n=6):
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, 3)), rng.standard_normal((n, 1))


def edges_by_path(net):
    """The edges as (tail, head) pairs named by path ("input", "loss", "1:+" for a join node)."""

    def name(node_id):
        node = net.node(node_id)
        return {"input": "input", "loss": "loss"}.get(node.kind, node.path + (":join" if node.kind == "join" else ""))

    return [(name(e.tail), name(e.head), e.guessed) for e in net.edges]


def test_sequential_is_a_chain_from_the_input_to_the_loss():
    X, Y = minnet.derivation.make_data()
    net = network(minnet.derivation.build_network(0), X, Y, minnet.MSELoss())
    assert [n.kind for n in net.nodes] == ["input", "layer", "layer", "layer", "layer", "loss"]
    assert [n.path for n in net.layers()] == ["0", "1", "2", "3"]
    assert edges_by_path(net) == [
        ("input", "0", False),
        ("0", "1", False),
        ("1", "2", False),
        ("2", "3", False),
        ("3", "loss", False),
    ]


def test_residual_concat_and_a_users_container_have_their_joins():
    X, _ = data()
    net = network(mixed_model(), X)
    edges = edges_by_path(net)
    # Residual: the block, then + fed by the block and by the skip (dashed) from the layer before
    assert ("1.block.1", "1:join", False) in edges
    assert ("0", "1:join", True) in edges
    assert ("1:join", "1.block.0", False) not in edges
    # Concat: every branch reads the Residual's output; a concat node joins them
    assert ("1:join", "2.0", False) in edges
    assert ("1:join", "2.1.0", False) in edges
    assert ("2.0", "2:join", False) in edges
    assert ("2.1.1", "2:join", False) in edges
    # the user's Gated: both children read its input (the concat), its own node joins their outputs
    assert ("2:join", "3.value", False) in edges
    assert ("2:join", "3.gate.0", False) in edges
    assert ("3.value", "3:join", False) in edges
    assert ("3.gate.1", "3:join", False) in edges
    assert ("3:join", "4", False) in edges
    assert len(edges) == 16
    assert net.node(net.output).path == "4"
    assert {n.title for n in net.nodes if n.kind == "join"} == {"+", "concat (axis=-1)", "Gated"}
    # each container a frame, inside its parent
    assert net.containers["1.block"] == ("1.block: Sequential()", "1")
    assert net.containers["3.gate"][1] == "3"
    assert {n.path: n.container for n in net.layers()}["3.gate.0"] == "3.gate"


def test_without_data_a_users_container_is_chained_in_walk_order_dashed():
    net = network(minnet.Sequential(Gated(3, 2, rng=0), minnet.Linear(2, 1, rng=1)))
    assert edges_by_path(net) == [
        ("input", "0.value", True),
        ("0.value", "0.gate.0", True),
        ("0.gate.0", "0.gate.1", False),
        ("0.gate.1", "1", False),
    ]
    assert all(not n.lines for n in net.nodes)


def test_labels_hold_the_shapes_and_norms_explain_computes():
    X, Y = data()
    model, loss_fn = mixed_model(), minnet.MSELoss()
    net = network(model, X, Y, loss_fn)
    trace = minnet.explain(model, loss_fn, X, Y)
    rows = {row.name: row for row in trace}
    for node in net.layers():
        row = rows[node.path]
        assert f"∂L/∂y ‖·‖={row.grad_output_norm:.4g}" in node.lines
        for param in row.params:
            assert f"∂L/∂{param.name.rsplit('.', 1)[1]} {param.shape} ‖·‖={param.norm:.4g}" in node.lines
        incoming = [e for e in net.edges if e.head == node.id]
        assert incoming[0].lines[-1] == f"∂L ‖·‖={row.grad_inputs[0].norm:.4g}"
        assert len(row.params) == len(node.lines) - 2
    # the forward values: the first layer's output and the model's, computed here directly
    first = net.layers()[0]
    y0 = X @ model[0].weight.data + model[0].bias.data
    assert first.lines[0] == f"y (6, 4) ‖y‖={np.linalg.norm(y0):.4g}"
    pred = model(X)
    assert net.node(net.output).lines[0] == f"y (6, 1) ‖y‖={np.linalg.norm(pred):.4g}"
    assert net.nodes[-1].title.endswith(f"L = {trace.loss:.4g}")
    into_loss = next(e for e in net.edges if e.head == net.nodes[-1].id)
    assert into_loss.lines == [f"(6, 1) ‖·‖={np.linalg.norm(pred):.4g}", f"∂L ‖·‖={trace[0].grad_input_norm:.4g}"]
    # the skip edge carries ∂L/∂(Residual's output), what the + node passes back to both its inputs
    skip = next(e for e in net.edges if e.guessed)
    plus_out = [e for e in net.edges if e.tail == skip.head]
    concat_rows = [rows["2.0"], rows["2.1.0"]]
    g_norm = np.linalg.norm(sum(r.grad_inputs[0].grad for r in concat_rows))
    assert skip.lines[-1] == f"∂L ‖·‖={g_norm:.4g}"
    assert len(plus_out) == 2


def test_the_pass_leaves_the_model_as_it_was():
    X, Y = data()
    model = mixed_model()
    before = {name: p.data.copy() for name, p in model.named_parameters()}
    network(model, X, Y, minnet.MSELoss())
    for name, p in model.named_parameters():
        np.testing.assert_array_equal(p.data, before[name])
        assert not p.grad.any()


def test_bad_arguments_are_named():
    X, Y = data()
    with pytest.raises(ValueError, match="give Y and loss_fn together"):
        network(mixed_model(), X, Y)
    with pytest.raises(ValueError, match="need X"):
        network(mixed_model(), None, Y, minnet.MSELoss())


def test_without_the_graphviz_package_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)  # import graphviz raises ImportError
    with pytest.raises(ImportError, match=re.escape(install_hint("graph"))):
        graph(mixed_model())


@pytest.mark.graphviz
@needs_dot
def test_svg_and_png_are_written(tmp_path):
    X, Y = data()
    model = mixed_model()
    dot = minnet.plot.graph(model, X, Y, minnet.MSELoss(), path=tmp_path / "net.svg")
    svg = (tmp_path / "net.svg").read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<?xml")
    assert "<svg" in svg
    net = network(model, X, Y, minnet.MSELoss())
    assert svg.count('class="node"') == len(net.nodes) == 15
    assert svg.count('class="edge"') == len(net.edges) == 17
    assert svg.count('class="cluster"') == len(net.containers) - 1  # the model itself gets no frame
    assert "1.block.0: Linear(in_features=4, out_features=4, bias=True)" in svg
    assert f"∂L/∂y ‖·‖={net.layers()[0].lines[1].split('=')[-1]}" in svg
    minnet.plot.graph(model, path=tmp_path / "net.PNG")
    png = (tmp_path / "net.PNG").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert 200 < width < height  # the layers run top to bottom
    assert "digraph" in dot.source
    with pytest.raises(ValueError, match=r"must end in \.svg or \.png"):
        minnet.plot.graph(model, path=tmp_path / "net.pdf")


@pytest.mark.graphviz
@pytest.mark.skipif(importlib.util.find_spec("graphviz") is None, reason="needs the graphviz package")
def test_without_dot_the_error_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot here
    dot = graph(mixed_model())  # building the graph needs no dot
    assert "Gated" in dot.source
    with pytest.raises(RuntimeError, match=r"needs Graphviz's dot program.*apt-get install graphviz"):
        graph(mixed_model(), path=tmp_path / "net.svg")
    assert not (tmp_path / "net.svg").exists()


def test_a_model_of_one_layer_and_integer_indices():
    X, Y = data()
    net = network(minnet.Linear(3, 1, rng=0), X, Y, minnet.MSELoss())
    assert [n.path for n in net.layers()] == ["0"]  # named as explain names it
    assert len(net.layers()[0].lines) == 4  # y, ∂L/∂y, weight and bias
    model = minnet.Sequential(minnet.Embedding(10, 4, rng=0), minnet.Flatten(), minnet.Linear(8, 3, rng=1))
    net = network(model, np.array([[1, 2], [3, 4]]), np.array([0, 2]), minnet.CrossEntropyLoss())
    assert net.edges[0].lines == ["(2, 2) indices"]  # no norm, and no gradient flows back into indices
