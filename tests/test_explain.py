"""Seeing backprop: summary, the trace of the chain rule, Jacobians, health, caches."""

import re

import numpy as np
import pytest

import minnet
from minnet import Layer, Linear, MSELoss, Parameter, Sequential, Sigmoid, explain, jacobian
from minnet.derivation import build_network, make_data, trace
from minnet.inspect import health, summarize


class Exp(Layer):
    """A user's layer without a local_derivative text."""

    def __init__(self):
        self.y = None

    def forward(self, x):
        self.y = np.exp(x)
        return self.y

    def backward(self, grad_output):
        return grad_output * self.y


MODELS = {
    "derivation": lambda: build_network(0),
    "biases": lambda: Sequential(Linear(3, 5, rng=0), Sigmoid(), Linear(5, 2, rng=1)),
    "nested": lambda: Sequential(Sequential(Linear(3, 4, rng=0), Sigmoid()), Linear(4, 2, rng=1), Exp()),
    "one layer": lambda: Linear(3, 2, rng=0),
}


@pytest.mark.parametrize("name", MODELS)
def test_summary_counts_every_parameter_once(name):
    model = MODELS[name]()
    summary = summarize(model, (6, 3))
    expected = sum(p.data.size for p in model.parameters())
    assert summary.total_params == expected
    assert sum(row.params for row in summary.rows) == expected
    assert f"Total params: {expected:,}" in model.summary((6, 3))


def test_summary_counts_a_shared_parameter_once():
    first, second = Linear(3, 3, rng=0), Linear(3, 3, bias=False, rng=1)
    second.weight = first.weight  # tied weights: one Parameter in two layers
    model = Sequential(first, Sigmoid(), second)
    summary = summarize(model, (2, 3))
    assert summary.total_params == 12 == sum(row.params for row in summary.rows)
    assert [row.params for row in summary.rows] == [12, 0, 0]


def test_summary_rows_show_shapes_arguments_and_caches():
    text = build_network(0).summary((8, 3))
    lines = text.splitlines()
    assert lines[0] == "Sequential, input (8, 3)"
    row = next(line for line in lines if line.startswith("2 "))
    assert "Linear(in_features=4, out_features=1, bias=False)" in row
    assert "(8, 1)" in row
    assert " 4 " in row
    assert "x (8, 4)" in row
    assert "Cached by one forward pass: 768 B" in text  # x (8,3), y (8,4), x (8,4), y (8,1) in float64


def test_summary_of_nested_model_indents_and_restores_modes():
    model = MODELS["nested"]()
    model[0].train()
    summary = summarize(model, (5, 3))
    assert [row.index for row in summary.rows] == ["0", "0.0", "0.1", "1", "2"]
    assert [row.depth for row in summary.rows] == [0, 1, 1, 0, 0]
    assert summary.rows[0].output_shape == (5, 4)
    assert all(layer.training for layer in [model, model[0], model[0][0], model[1]])


def direct_chain(model, X, Y):
    """The derivation's gradients by hand with numpy, without any layer's backward."""
    W1, W2 = model[0].weight.data, model[2].weight.data
    H = X @ W1
    Z = 1 / (1 + np.exp(-H))
    O = Z @ W2
    y_hat = 1 / (1 + np.exp(-O))
    d_yhat = (y_hat - Y) / X.shape[0]
    d_O = d_yhat * y_hat * (1 - y_hat)
    d_Z = d_O @ W2.T
    d_H = d_Z * Z * (1 - Z)
    return {"ŷ": d_yhat, "O": d_O, "Z": d_Z, "H": d_H, "X": d_H @ W1.T, "W2": Z.T @ d_O, "W1": X.T @ d_H}


@pytest.mark.parametrize("seed", [0, 3])
def test_trace_norms_equal_the_gradients_computed_directly(seed):
    X, Y = make_data()
    model = build_network(seed)
    rows = trace(model, MSELoss(), X, Y).rows
    direct = direct_chain(model, X, Y)
    assert [row.step for row in rows] == [1, 2, 3, 4, 5]
    assert [row.input_name for row in rows] == ["ŷ", "O", "Z", "H", "X"]
    assert [row.output_name for row in rows] == ["L", "ŷ", "O", "Z", "H"]
    for row in rows:
        assert row.grad_input_norm == pytest.approx(np.linalg.norm(direct[row.input_name]), rel=1e-12)
        np.testing.assert_allclose(row.grad_input, direct[row.input_name], rtol=1e-12, atol=1e-15)
    assert rows[2].params[0].symbol == "W2"
    assert rows[4].params[0].symbol == "W1"
    assert rows[2].params[0].norm == pytest.approx(np.linalg.norm(direct["W2"]), rel=1e-12)
    assert rows[4].params[0].norm == pytest.approx(np.linalg.norm(direct["W1"]), rel=1e-12)
    assert rows[0].grad_output_norm == 1.0
    assert rows[1].grad_output_shape == (8, 1)


def test_trace_writes_the_derivation_steps_with_its_names():
    X, Y = make_data()
    rows = trace(build_network(0), MSELoss(), X, Y).rows
    assert [row.formula for row in rows] == [
        "∂L/∂ŷ = (ŷ − Y)/N",
        "∂L/∂O = ∂L/∂ŷ ⊙ ŷ ⊙ (1 − ŷ)",
        "∂L/∂Z = ∂L/∂O W2ᵀ;  ∂L/∂W2 = Zᵀ ∂L/∂O",
        "∂L/∂H = ∂L/∂Z ⊙ Z ⊙ (1 − Z)",
        "∂L/∂X = ∂L/∂H W1ᵀ;  ∂L/∂W1 = Xᵀ ∂L/∂H",
    ]
    assert all(row.documented for row in rows)


def test_trace_table_markdown_and_data():
    X, Y = make_data()
    result = trace(build_network(0), MSELoss(), X, Y)
    text = str(result)
    assert text.splitlines()[0].split()[:4] == ["step", "layer", "backward", "applies"]
    assert "1: Sigmoid  ∂L/∂H = ∂L/∂Z ⊙ Z ⊙ (1 − Z)  ∂L/∂Z (8, 4)" in text
    assert re.search(r"→ ∂L/∂H \(8, 4\) +0\.007037$", text, re.M)  # the norm on the line of the gradient passed on
    assert "2: Linear(in_features=4, out_features=1, bias=False)" in text.splitlines()  # the legend
    markdown = result.to_markdown()
    assert markdown.startswith("| step |")
    assert markdown.count("\n| ") == 5
    assert "∂L/∂W2 = Zᵀ ∂L/∂O" in markdown
    data = result.to_dicts()
    assert data[2]["params"][0]["shape"] == (4, 1)
    assert data[4]["grad_input_shape"] == (8, 3)
    assert len(result) == 5
    assert result[0].name == "loss"
    assert [r.step for r in result] == [1, 2, 3, 4, 5]


def test_trace_of_a_nested_model_with_a_user_layer():
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    model = MODELS["nested"]()
    result = explain(model, MSELoss(), X, Y)
    assert [row.name for row in result] == ["loss", "2", "1", "0.1", "0.0"]
    exp_row = result[1]
    assert not exp_row.documented
    assert "Exp sets no local_derivative" in exp_row.formula
    assert "marked (no local_derivative text on the class): 2" in str(result)
    # the parameter gradients recorded are this batch's; the model's own .grad is left as it was
    assert [p.name for p in result[2].params] == ["1.weight", "1.bias"]
    assert not np.any(model[1].weight.grad)
    assert not np.any(model[0][0].bias.grad)
    loss_fn = MSELoss()
    loss_fn(model(X), Y)
    model.backward(loss_fn.backward())
    np.testing.assert_array_equal(result[2].params[0].grad, model[1].weight.grad)
    np.testing.assert_array_equal(result[4].params[1].grad, model[0][0].bias.grad)
    assert "∂L/∂b = Σ_i g_i" in result[2].formula  # Linear with a bias keeps its bias clause


def test_trace_does_not_accumulate_old_gradients_and_names_are_checked():
    X, Y = make_data()
    model = build_network(0)
    first = trace(model, MSELoss(), X, Y)
    second = trace(model, MSELoss(), X, Y)
    np.testing.assert_array_equal(first[4].params[0].grad, second[4].params[0].grad)
    with pytest.raises(ValueError, match="5 names\\), got 2"):
        explain(model, MSELoss(), X, Y, names=["X", "H"])


def test_trace_of_a_shared_parameter_splits_its_gradient_by_layer():
    first, second = Linear(2, 2, rng=0), Linear(2, 2, rng=1)
    second.weight = first.weight
    model = Sequential(first, Sigmoid(), second)
    X = np.random.default_rng(0).standard_normal((4, 2))
    result = explain(model, MSELoss(), X, np.zeros((4, 2)))
    assert [row.name for row in result] == ["loss", "2", "1", "0"]
    assert [p.name for p in result[1].params] == ["2.weight", "2.bias"]
    loss_fn = MSELoss()
    loss_fn(model(X), np.zeros((4, 2)))
    model.backward(loss_fn.backward())
    total = result[1].params[0].grad + result[3].params[0].grad
    np.testing.assert_allclose(total, first.weight.grad, rtol=1e-14)
    assert np.abs(result[1].params[0].grad - first.weight.grad).max() > 1e-6  # each row holds its own share


def test_jacobian_of_sigmoid_is_diagonal_and_matches_finite_differences():
    x = np.array([[-1.0, 0.0, 2.0]])
    result = jacobian(Sigmoid(), x)
    y = 1 / (1 + np.exp(-x.ravel()))
    np.testing.assert_allclose(result.input.analytic, np.diag(y * (1 - y)), rtol=1e-14)
    assert result.input.max_abs_diff < 1e-9
    assert not result.params


def test_jacobian_of_linear_has_block_structure():
    layer = Linear(3, 2, rng=0)
    layer.weight.grad[...] = 7.0
    x = np.random.default_rng(1).standard_normal((2, 3))
    result = jacobian(layer, x)
    W = layer.weight.data
    np.testing.assert_allclose(result.input.analytic, np.kron(np.eye(2), W.T), rtol=1e-14)  # block diagonal
    # ∂y[n, l]/∂W[k, l'] = x[n, k] δ(l, l')
    expected_w = np.stack([np.kron(x[n], np.eye(2)[l]) for n in range(2) for l in range(2)])
    np.testing.assert_allclose(result.params["weight"].analytic, expected_w, rtol=1e-14)
    for pair in result:
        assert pair.max_abs_diff < 1e-9, pair.name
    assert (layer.weight.grad == 7.0).all()  # restored
    assert "finite differences" in str(result)


def test_jacobian_refuses_a_loss_and_float32():
    with pytest.raises(TypeError, match="loss"):
        jacobian(MSELoss(), np.ones((2, 1)))
    with pytest.raises(TypeError, match="float64"):
        jacobian(Linear(2, 2, rng=0, dtype=np.float32), np.ones((1, 2)))


def test_health_finds_saturation_and_update_ratio():
    model = Sequential(Linear(2, 3, rng=0), Sigmoid())
    X = np.array([[50.0, -50.0], [0.0, 0.0]])
    report = health(model, X, np.zeros((2, 3)), lr=0.1)
    y = model(X)
    assert report.layers[1].saturated == pytest.approx(np.mean((y < 0.01) | (y > 0.99)))
    assert report.layers[1].saturated == 0.5
    assert report.layers[0].saturated is None
    weight = report.params[0]
    assert weight.update_ratio == pytest.approx(
        0.1 * np.linalg.norm(model[0].weight.grad) / np.linalg.norm(model[0].weight.data)
    )
    assert report.overflow == []
    assert report.largest_logit is None
    assert "saturated" in str(report)


def test_health_reports_overflow_and_which_layer():
    model = Sequential(Linear(2, 2, rng=0), Exp())
    model[0].weight.data[...] = 1.0
    report = model.health(np.array([[1000.0, 1000.0]]), np.zeros((1, 2)))
    assert any("overflow" in o for o in report.overflow)
    assert "output" in report.layers[1].nonfinite
    assert any(note.startswith("overflow") for note in report.notes)


def test_cache_report_lists_arrays_and_bytes():
    model = build_network(0)
    report = model.cache_report()
    assert report.entries == []
    assert len(report.empty_layers) == 4
    model(np.ones((8, 3)))
    report = model.cache_report()
    assert [(e.layer_path, e.attribute, e.shape) for e in report.entries] == [
        ("0", "x", (8, 3)),
        ("1", "y", (8, 4)),
        ("2", "x", (8, 4)),
        ("3", "y", (8, 1)),
    ]
    assert report.total_bytes == 8 * (24 + 32 + 32 + 8)
    assert "total held for backward: 768 B" in str(report)


def test_parameters_are_not_caches():
    class Scaled(Layer):
        def __init__(self):
            self.scale = Parameter(np.ones(2))

        def forward(self, x):
            return x * self.scale.data

    layer = Scaled()
    layer(np.ones((1, 2)))
    assert layer.cache_report().entries == []
    assert minnet.explain is explain


def test_health_finds_dead_relus_saturated_tanh_and_the_largest_logit():
    from minnet import CrossEntropyLoss, ReLU, Tanh

    relu_model = Sequential(Linear(2, 4, rng=0), ReLU(), Linear(4, 3, rng=1))
    relu_model[0].bias.data[...] = [-100.0, -100.0, 100.0, 100.0]  # units 0 and 1 always off, 2 and 3 on
    X = np.random.default_rng(0).uniform(-1, 1, (16, 2))
    report = relu_model.health(X, np.arange(16) % 3, loss_fn=CrossEntropyLoss())
    hidden = relu_model[1](relu_model[0](X))
    assert report.layers[1].dead == pytest.approx(np.mean(np.all(hidden <= 0, axis=0)))
    assert report.layers[1].dead == 0.5
    assert report.layers[1].saturated is None
    assert report.largest_logit == pytest.approx(np.abs(relu_model(X)).max())

    tanh_model = Sequential(Linear(2, 2, rng=0), Tanh())
    tanh_model[0].weight.data[...] = [[10.0, 0.0], [0.0, 0.0]]
    tanh_model[0].bias.data[...] = 0.0
    report = tanh_model.health(np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.0]]), np.zeros((3, 2)))
    assert report.layers[1].saturated == pytest.approx(2 / 6)
    assert report.largest_logit is None


def test_explain_of_the_layer_library_marks_nothing_and_follows_the_mode():
    from minnet import BatchNorm1d, CrossEntropyLoss, Dropout, ReLU, Tanh

    model = Sequential(Linear(4, 6, rng=0), BatchNorm1d(6), Tanh(), Dropout(0.5, rng=0), Linear(6, 3, rng=1), ReLU())
    X = np.random.default_rng(1).standard_normal((10, 4))
    labels = np.arange(10) % 3
    result = explain(model, CrossEntropyLoss(), X, labels)
    assert all(row.documented for row in result)
    assert [row.name for row in result] == ["loss", "5", "4", "3", "2", "1", "0"]
    assert result[3].formula == "∂L/∂x = g ⊙ m/(1 − p)"  # Dropout in training mode
    model.eval()
    assert explain(model, CrossEntropyLoss(), X, labels)[3].formula == "∂L/∂x = g"
    with pytest.raises(ValueError, match="reduced to one number"):
        explain(model, CrossEntropyLoss(reduction="none"), X, labels)


def test_trace_marks_where_a_container_joins_gradient_paths():
    from minnet import Residual, Tanh

    block = Sequential(Linear(4, 4, rng=1), Tanh())
    model = Sequential(Linear(3, 4, rng=0), Residual(block), Linear(4, 1, rng=2))
    X = np.random.default_rng(0).standard_normal((5, 3))
    result = explain(model, MSELoss("mean"), X, np.zeros((5, 1)))
    assert [row.name for row in result] == ["loss", "2", "1.block.1", "1.block.0", "0"]
    assert [row.joined for row in result] == [False, False, False, False, True]
    # what reaches layer 0 is the skip path's gradient plus the block's
    np.testing.assert_allclose(result[4].grad_output, result[1].grad_input + result[3].grad_input, rtol=1e-14)
    assert "(+ other paths)" in str(result)


def test_diagnostics_leave_buffers_generators_and_modes_as_they_were():
    from minnet import BatchNorm1d, Dropout

    model = Sequential(Linear(3, 4, rng=0), BatchNorm1d(4), Dropout(0.5, rng=0), Linear(4, 1, rng=1), Dropout(0.5))
    model[4].eval()  # a mixed mode, to be restored as it was
    X = np.random.default_rng(2).standard_normal((6, 3))
    before = {name: value.copy() for name, value in model.named_buffers()}
    rng_state = model[2].rng.bit_generator.state
    explain(model, MSELoss(), X, np.zeros((6, 1)))
    health(model, X, np.zeros((6, 1)))
    summarize(model, (6, 3))
    for name, value in model.named_buffers():
        np.testing.assert_array_equal(value, before[name])
    assert model[2].rng.bit_generator.state == rng_state
    assert [layer.training for layer in model] == [True, True, True, True, False]
    # the trace ran in the model's own modes, and the next real step draws the dropout mask it showed
    result = explain(model, MSELoss(), X, np.zeros((6, 1)))
    model.zero_grad()
    loss = MSELoss()
    loss(model(X), np.zeros((6, 1)))
    model.backward(loss.backward())
    np.testing.assert_allclose(result[-1].params[0].grad, model[0].weight.grad, rtol=1e-12)
    moved = [not np.array_equal(value, before[name]) for name, value in model.named_buffers()]
    assert any(moved)  # a real training step does move the running statistics


def test_jacobian_text_gives_the_finite_difference_error_as_a_power_of_ten():
    """Its digits are rounding noise that differs between machines: the printed text (shown in the
    first tutorial and checked there) must not depend on them."""
    result = jacobian(Sigmoid(), np.array([[-2.0, -0.5, 0.5, 2.0]]))
    bound = float(re.search(r"largest difference < (1e[+-]\d+)", str(result)).group(1))
    assert bound / 10 <= result.input.max_abs_diff < bound


def test_diagnostics_restore_generators_held_in_a_dict_or_list():
    class NoisyScale(Layer):
        """Multiplies by fresh noise each forward, from generators kept in containers."""

        local_derivative = {"∂y/∂x": "noise"}

        def __init__(self):
            self.rngs = {"noise": np.random.default_rng(0)}
            self.spare = [np.random.default_rng(1)]
            self.noise = None

        def forward(self, x):
            self.noise = 1 + self.rngs["noise"].standard_normal(x.shape) + 0 * self.spare[0].random()
            return x * self.noise

        def backward(self, grad_output):
            return grad_output * self.noise

    model = Sequential(Linear(3, 2, rng=0), NoisyScale())
    states = [model[1].rngs["noise"].bit_generator.state, model[1].spare[0].bit_generator.state]
    X = np.ones((4, 3))
    explain(model, MSELoss(), X, np.zeros((4, 2)))
    health(model, X, np.zeros((4, 2)))
    assert [model[1].rngs["noise"].bit_generator.state, model[1].spare[0].bit_generator.state] == states


def test_byte_counts_reach_gibibytes():
    from minnet.inspect.tables import _format_bytes

    assert [_format_bytes(n) for n in (512, 2048, 3 * 2**20, 5 * 2**30)] == ["512 B", "2.0 KiB", "3.0 MiB", "5.0 GiB"]


def test_a_step_into_integer_indices_passes_no_gradient_on():
    """An Embedding's backward returns None: its row says so instead of a shape () and a norm of nan."""
    from minnet import CrossEntropyLoss, Embedding, Flatten

    model = Sequential(Embedding(10, 4, rng=0), Flatten(), Linear(12, 3, rng=1))
    trace = explain(model, CrossEntropyLoss(), np.array([[1, 2, 3], [4, 5, 1]]), np.array([0, 2]))
    row = trace[-1]
    assert row.grad_input is None
    text = str(trace)
    assert re.search(r"\(2, 3, 4\) .*\n.* → none \(indices\) +— ", text)
    assert "nan" not in text
    assert "0.weight (10, 4)" in text


class UnrolledRNN(Layer):
    """A tanh RNN unrolled over three steps by hand: three RNNCells sharing one set of weights, a readout on h3."""

    def __init__(self, input_size=3, hidden_size=4, seed=0):
        self.cell1 = minnet.RNNCell(input_size, hidden_size, rng=seed)
        self.cell2 = minnet.RNNCell(input_size, hidden_size, rng=seed)
        self.cell3 = minnet.RNNCell(input_size, hidden_size, rng=seed)
        for cell in (self.cell2, self.cell3):  # tied weights: the same Parameter objects in every step
            cell.weight_ih, cell.weight_hh = self.cell1.weight_ih, self.cell1.weight_hh
            cell.bias_ih, cell.bias_hh = self.cell1.bias_ih, self.cell1.bias_hh
        self.readout = Linear(hidden_size, 1, rng=seed + 1)

    def forward(self, x):  # x: (3, N, input_size), one row block per time step
        h1 = self.cell1(x[0])
        h2 = self.cell2(x[1], h1)
        h3 = self.cell3(x[2], h2)
        return self.readout(h3)

    def backward(self, grad_output):
        g_h3 = self.readout.backward(grad_output)
        g_x3, g_h2 = self.cell3.backward(g_h3)
        g_x2, g_h1 = self.cell2.backward(g_h2)
        g_x1 = self.cell1.backward(g_h1)
        return np.stack([g_x1, g_x2, g_x3])


RNN_NAMES = {
    "names": ["X", "h1", "h2", "h3", "ŷ"],
    "input_names": {"cell1": "x1", "cell2": "x2", "cell3": "x3"},
}


def rnn_data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((3, 2, 3)), rng.standard_normal((2, 1))


def test_explain_of_an_rnn_unrolled_over_three_tied_cells():
    model = UnrolledRNN()
    X, Y = rnn_data()
    trace = explain(model, MSELoss(), X, Y, **RNN_NAMES)
    assert [row.name for row in trace] == ["loss", "readout", "cell3", "cell2", "cell1"]
    assert [row.output_name for row in trace] == ["L", "ŷ", "h3", "h2", "h1"]
    assert [[v.name for v in row.grad_inputs] for row in trace[2:]] == [["x3", "h2"], ["x2", "h1"], ["x1"]]
    # cell1 got no state: its backward returned ∂L/∂x1 alone; cells 3 and 2 returned (∂L/∂x_t, ∂L/∂h_{t−1})
    assert [row.grad_input_shape for row in trace[2:]] == [((2, 3), (2, 4)), ((2, 3), (2, 4)), (2, 3)]
    assert [row.grad_output_shape for row in trace[2:]] == [(2, 4)] * 3
    text = str(trace)
    cells = [row._cells()[3] for row in trace[2:]]
    assert cells[0] == ["∂L/∂h3 (2, 4)", "→ ∂L/∂x3 (2, 3)", "→ ∂L/∂h2 (2, 4)"]
    assert cells[1] == ["∂L/∂h2 (2, 4)", "→ ∂L/∂x2 (2, 3)", "→ ∂L/∂h1 (2, 4)"]
    assert cells[2] == ["∂L/∂h1 (2, 4)", "→ ∂L/∂x1 (2, 3)"]
    assert "∂L/∂x3 = ∂L/∂a W_ihᵀ" in trace[2].formula
    # each cell's row has the norm of each gradient it passes on, in the order listed
    cell3 = trace[2]
    for value in cell3.grad_inputs:
        assert re.search(rf"→ ∂L/∂{value.name} {re.escape(str(value.shape))} +{value.norm:.4g}( |$)", text, re.M)
    assert cell3.grad_input_norm == pytest.approx(np.hypot(cell3.grad_inputs[0].norm, cell3.grad_inputs[1].norm))
    # the ∂L/∂h_{t−1} a cell passes on is the gradient that arrives at the cell before it: nothing joined
    for later, earlier in [(trace[2], trace[3]), (trace[3], trace[4])]:
        np.testing.assert_array_equal(later.grad_input[1], earlier.grad_output)
        np.testing.assert_array_equal(later.grad_inputs[1].grad, earlier.grad_outputs[0].grad)
    assert [row.joined for row in trace] == [False] * 5
    data = trace.to_dicts()[2]
    assert [(d["name"], d["index"], d["shape"]) for d in data["grad_inputs"]] == [
        ("x3", (0,), (2, 3)),
        ("h2", (1,), (2, 4)),
    ]
    assert data["grad_input_shape"] == ((2, 3), (2, 4))


def test_explain_of_tied_cells_gives_each_step_its_share_of_the_weight_gradient():
    model = UnrolledRNN()
    X, Y = rnn_data()
    trace = explain(model, MSELoss(), X, Y)
    loss_fn = MSELoss()
    loss_fn(model(X), Y)
    model.backward(loss_fn.backward())
    shares = {name: [] for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
    for row in trace[2:]:
        for p in row.params:
            shares[p.name.split(".")[1]].append(p.grad)
    for name, parts in shares.items():
        assert len(parts) == 3
        np.testing.assert_allclose(sum(parts), getattr(model.cell1, name).grad, rtol=1e-12, atol=1e-15)
    assert not np.any(shares["weight_hh"][2])  # step 1 got h0 = 0: hᵀ ∂L/∂a adds nothing to W_hh
    assert np.abs(shares["weight_ih"][0] - shares["weight_ih"][1]).max() > 1e-6  # each step its own share
    # without names the rows give shapes; a tied weight's symbol is found under its first name
    symbols = {"cell1.weight_hh": "U", "cell1.weight_ih": "V"}
    named = explain(model, MSELoss(), X, Y, **RNN_NAMES, param_names=symbols)
    assert trace[2]._cells()[3] == ["(2, 4)", "→ (2, 3)", "→ (2, 4)"]
    assert [p.symbol for p in named[3].params[:2]] == ["V", "U"]
    assert "∂L/∂h = ∂L/∂a Uᵀ" in named[3].formula
    assert "∂L/∂U = hᵀ ∂L/∂a" in named[3].formula


class LSTMRegressor(Layer):
    """An LSTM over the sequence, a Linear on the last step's h_n: one leaf that returns a tuple."""

    def __init__(self):
        self.lstm = minnet.LSTM(3, 4, rng=0)
        self.head = Linear(4, 1, rng=1)

    def forward(self, x):
        _, (h_n, _) = self.lstm(x)
        return self.head(h_n[-1])

    def backward(self, grad_output):
        g_h = self.head.backward(grad_output)
        return self.lstm.backward((None, (g_h[None], None)))  # only h_n was read


def test_explain_of_an_lstm_inside_a_custom_model():
    model = LSTMRegressor()
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((5, 2, 3)), rng.standard_normal((2, 1))
    trace = explain(model, MSELoss(), X, Y, names=["X", ("out", ("h_n", "c_n")), "ŷ"])
    assert [row.name for row in trace] == ["loss", "head", "lstm"]
    row = trace[2]
    assert [(v.name, v.index, v.shape) for v in row.grad_outputs] == [
        ("out", (0,), (5, 2, 4)),
        ("h_n", (1, 0), (1, 2, 4)),
        ("c_n", (1, 1), (1, 2, 4)),
    ]
    assert [v.grad is None for v in row.grad_outputs] == [True, False, True]
    assert row.grad_output_shape == (None, ((1, 2, 4), None))
    assert row.grad_input_shape == (5, 2, 3)
    assert row.input_name == "X"
    assert row.grad_output_norm == pytest.approx(np.linalg.norm(trace[1].grad_input))
    assert not row.joined  # h_n's gradient is the head's ∂L/∂x with a leading axis: the same numbers
    assert row._cells()[3] == ["∂L/∂h_n (1, 2, 4)", "→ ∂L/∂X (5, 2, 3)"]
    loss_fn = MSELoss()
    loss_fn(model(X), Y)
    grad_x = model.backward(loss_fn.backward())
    np.testing.assert_allclose(row.grad_input, grad_x, rtol=1e-12)
    for p in row.params:
        np.testing.assert_allclose(p.grad, dict(model.named_parameters())[p.name].grad, rtol=1e-12)
    assert "nan" not in str(explain(model, MSELoss(), X, Y))


def test_explain_of_an_lstm_whose_backward_gets_one_array():
    """One array for a layer that returns a tuple is its first output's gradient (the contract): the row says so."""

    class LastOutput(LSTMRegressor):
        def forward(self, x):
            self.out, _ = self.lstm(x)
            return self.head(self.out[-1])

        def backward(self, grad_output):
            g_out = np.zeros_like(self.out)
            g_out[-1] = self.head.backward(grad_output)
            return self.lstm.backward(g_out)

    X = np.random.default_rng(2).standard_normal((5, 2, 3))
    trace = explain(LastOutput(), MSELoss(), X, np.zeros((2, 1)), names=["X", "out", "ŷ"])
    row = trace[2]
    assert [(v.name, v.grad is None) for v in row.grad_outputs] == [("out", False), (None, True), (None, True)]
    assert row.grad_output_shape == (5, 2, 4)
    np.testing.assert_array_equal(row.grad_outputs[0].grad[-1], trace[1].grad_input)
    assert "∂L/∂out (5, 2, 4)" in str(trace)


def _cnn():
    return Sequential(
        minnet.Conv2d(1, 4, 3, padding=1, rng=0),
        minnet.ReLU(),
        minnet.MaxPool2d(2),
        minnet.Flatten(),
        Linear(64, 10, rng=1),
    )


WIDE_TRACES = {
    "derivation": lambda: trace(build_network(0), MSELoss(), *make_data()),
    "cnn": lambda: explain(
        _cnn(), minnet.CrossEntropyLoss(), np.random.default_rng(0).standard_normal((2, 1, 8, 8)), np.array([1, 3])
    ),
    "rnn, named": lambda: explain(UnrolledRNN(), MSELoss(), *rnn_data(), **RNN_NAMES),
    "rnn": lambda: explain(UnrolledRNN(), MSELoss(), *rnn_data()),
    "lstm": lambda: explain(
        LSTMRegressor(),
        MSELoss(),
        *(np.random.default_rng(1).standard_normal(shape) for shape in [(5, 2, 3), (2, 1)]),
        names=["X", ("out", ("h_n", "c_n")), "ŷ"],
    ),
    "deep names": lambda: explain(
        Sequential(minnet.Residual(Sequential(minnet.Residual(Sequential(Linear(3, 3, rng=0), minnet.GELU()))))),
        minnet.MultiMarginLoss(),
        np.random.default_rng(2).standard_normal((4, 3)),
        np.array([0, 1, 2, 0]),
    ),
}


@pytest.mark.parametrize("name", WIDE_TRACES)
def test_a_trace_fits_a_100_column_terminal(name):
    """str(trace) is at most 100 characters wide, whatever the model: names, formulas and shapes wrap in
    their cells, and each layer's full repr is in the legend below the table."""
    result = WIDE_TRACES[name]()
    text = str(result)
    widest = max(text.splitlines(), key=len)
    assert len(widest) <= 100, f"{len(widest)} characters: {widest!r}"
    for row in result:
        assert f"{row._label().split(':')[0]}: {row.layer}".split()[0] in text  # the legend names every layer
