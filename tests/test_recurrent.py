"""The recurrent layers (tests/cases.py, RECURRENT_CASES and the cell cases of LAYER_CASES): several inputs and
outputs, so they get their own tests of what the generic ones do for one array in and one out.

- Against PyTorch with the same weights (minnet's are transposed, tests/cases.py ``torch_layout``): the output,
  the final state and every gradient (input, initial state, each parameter), float64 1e-10 and float32 1e-5.
- Against float64 central differences: every gradient of ``L = Σ g ⊙ output + Σ g_n ⊙ final state``, in train
  mode too (dropout's mask replayed).
- The contract of several outputs (a missing gradient is zero), dropout between layers, errors naming the layer,
  a wrong gate derivative caught, arguments left unchanged and two backwards adding up."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from cases import RECURRENT_CASES, torch_layout
from test_oracle_layers import DTYPES, close, copy_into_torch, in_dtype, tensor, torch_dtype

from minnet import GRU, LSTM, RNN, GRUCell, Layer, LSTMCell, RNNCell
from minnet.inspect import cache_report
from minnet.nn.recurrent import gru_step_backward
from minnet.testing.finite_differences import partial_derivatives

CELLS = (RNNCell, LSTMCell, GRUCell)


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip(
        "torch", reason="the oracle tests compare minnet with PyTorch; install the test extra (torch==2.13.0 CPU)"
    )


def flat(value):
    """The arrays of a nested tuple, in order: ``(output, (h_n, c_n))`` -> ``[output, h_n, c_n]``."""
    return [a for item in value for a in flat(item)] if isinstance(value, tuple) else [value]


def shaped_like(template, arrays):
    """``arrays`` (a list, consumed) put back into the nesting of ``template``."""
    if isinstance(template, tuple):
        return tuple(shaped_like(item, arrays) for item in template)
    return arrays.pop(0)


def setup(case, rng, dtype=np.float64):
    """The layer, an input, the initial state (or None) and the upstream gradients, one per output array."""
    layer = in_dtype(case.build(), dtype)
    x = rng.standard_normal(case.input_shape).astype(dtype)
    probe = layer(x)
    state_template = probe if isinstance(layer, CELLS) else probe[1]
    hx = None
    if case.state:
        hx = shaped_like(state_template, [rng.standard_normal(a.shape).astype(dtype) for a in flat(state_template)])
    grads = [rng.standard_normal(a.shape).astype(dtype) for a in flat(probe)]
    if not case.state and not isinstance(layer, CELLS):
        grads[1:] = [np.zeros_like(g) for g in grads[1:]]  # backward(grad_output) alone: the final state's is zero
    return layer, x, hx, probe, grads


def run_backward(layer, case, probe, grads):
    if not case.state and not isinstance(layer, CELLS):
        return layer.backward(grads[0])  # the output's gradient alone
    return layer.backward(shaped_like(probe, list(grads)))


@pytest.mark.oracle
@DTYPES
@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in RECURRENT_CASES])
def test_against_torch(torch, case, dtype):
    rng = np.random.default_rng(0)
    for mode in case.modes:
        layer, x, hx, probe, grads = setup(case, rng, dtype)
        layer.train(mode == "train")
        theirs = copy_into_torch(torch, layer, case.torch(torch.nn).to(torch_dtype(torch, dtype)))
        theirs.train(mode == "train")
        x_t = tensor(torch, x, grad=True)
        hx_t = None if hx is None else shaped_like(hx, [tensor(torch, a, grad=True) for a in flat(hx)])
        ours = flat(layer(x, hx))
        theirs_out = flat(theirs(x_t, hx_t))
        sum(((t * tensor(torch, g)).sum() for t, g in zip(theirs_out, grads, strict=True))).backward()
        assert len(ours) == len(theirs_out)
        for a, t in zip(ours, theirs_out, strict=True):
            close(a, t, dtype)
        returned = flat(run_backward(layer, case, probe, grads))
        expected = [x_t] + ([] if hx_t is None else flat(hx_t))
        assert len(returned) == len(expected), "one gradient per input array"
        for a, t in zip(returned, expected, strict=True):
            close(a, t.grad, dtype)
        ours_grads = torch_layout(layer, {name: p.grad for name, p in layer.named_parameters()})
        assert ours_grads.keys() == {name for name, _ in theirs.named_parameters()}
        for name, param in theirs.named_parameters():
            close(ours_grads[name], param.grad, dtype)


def relative_error(a, n):
    return np.max(np.abs(a - n) / (1e-7 + np.abs(n)), initial=0.0)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in RECURRENT_CASES])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_gradients_match_finite_differences(case, mode):
    layer, x, hx, probe, grads = setup(case, np.random.default_rng(1))
    layer.train(mode == "train")
    rng_state = layer.rng.bit_generator.state if hasattr(layer, "rng") else None

    def objective():
        if rng_state is not None:  # the same dropout mask at every evaluation
            layer.rng.bit_generator.state = rng_state
        return sum(float(np.sum(g * a)) for g, a in zip(grads, flat(layer(x, hx)), strict=True))

    objective()
    returned = flat(run_backward(layer, case, probe, grads))
    arrays = [x] + ([] if hx is None else flat(hx))
    named = [(name, p.grad.copy(), p.data) for name, p in layer.named_parameters()]
    checks = [(f"input {i}", g, a) for i, (g, a) in enumerate(zip(returned, arrays, strict=True))] + named
    for name, analytic, array in checks:
        numeric = partial_derivatives(objective, array)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8, err_msg=f"{case.id}: {name}")


# -- the contract of several outputs ----------------------------------------------------------------------------


def test_a_missing_output_gradient_is_zero():
    rng = np.random.default_rng(2)
    x, g_h = rng.standard_normal((5, 3)), rng.standard_normal((5, 4))
    results = []
    for grad in (g_h, (g_h,), (g_h, None), (g_h, np.zeros((5, 4)))):
        cell = LSTMCell(3, 4, rng=0)
        cell(x)
        results.append((cell.backward(grad), cell.weight_hh.grad.copy()))
    for dx, dw in results[1:]:
        np.testing.assert_array_equal(dx, results[0][0])
        np.testing.assert_array_equal(dw, results[0][1])
    seq_x = rng.standard_normal((4, 2, 3))
    gy = rng.standard_normal((4, 2, 4))
    lstm = LSTM(3, 4, rng=1)
    lstm(seq_x)
    alone = lstm.backward(gy)
    for grad in ((gy, None), (gy, (None, None)), (gy, (np.zeros((1, 2, 4)), None))):
        lstm(seq_x)
        np.testing.assert_array_equal(lstm.backward(grad), alone)


def test_backward_returns_the_states_gradient_only_when_forward_got_the_state():
    x, h = np.ones((2, 3)), np.zeros((2, 4))
    cell = GRUCell(3, 4, rng=0)
    cell(x)
    assert isinstance(cell.backward(np.ones((2, 4))), np.ndarray)
    cell(x, h)
    dx, dh = cell.backward(np.ones((2, 4)))
    assert dx.shape == (2, 3)
    assert dh.shape == (2, 4)
    lstm = LSTM(3, 4, num_layers=2, bidirectional=True, rng=0)
    _, (h_n, c_n) = lstm(np.ones((5, 2, 3)), (np.zeros((4, 2, 4)), np.zeros((4, 2, 4))))
    dx, (dh, dc) = lstm.backward((np.ones((5, 2, 8)), (h_n, c_n)))
    assert (dx.shape, dh.shape, dc.shape) == ((5, 2, 3), (4, 2, 4), (4, 2, 4))


class _TupleStateLayer(Layer):
    """Takes ``(x, (h, c))`` and returns gradients of the shapes it is told, for the base class's checks."""

    def __init__(self, wrong):
        self.wrong = wrong

    def forward(self, x, hc):
        return x + hc[0] + hc[1]

    def backward(self, grad_output):
        return grad_output, self.wrong


def test_the_base_class_checks_the_gradient_of_a_tuple_input():
    x = np.ones((2, 3))
    hc = (np.ones((2, 3)), np.ones((2, 3)))
    for fine in [(x, x), (x, None), None]:
        layer = _TupleStateLayer(fine)
        layer(x, hc)
        layer.backward(x)
    for wrong, error, text in [
        ((x, np.ones((3, 2))), ValueError, "element 1 of input 2"),
        (x, ValueError, "a tuple of 2 gradients"),
        ((x,), ValueError, "a tuple of 2 gradients"),
    ]:
        layer = _TupleStateLayer(wrong)
        layer(x, hc)
        with pytest.raises(error, match=text):
            layer.backward(x)


# -- dropout between layers --------------------------------------------------------------------------------------


def test_dropout_acts_between_layers_only_and_in_training_only():
    x = np.random.default_rng(3).standard_normal((4, 2, 3))
    with pytest.warns(UserWarning, match="no effect"):  # one layer: no dropout after the last layer
        one = GRU(3, 4, dropout=0.9, rng=0)
    np.testing.assert_array_equal(one(x)[0], one.eval()(x)[0])
    two = LSTM(3, 4, num_layers=2, dropout=1.0, rng=0)  # the second layer reads zeros
    out, _ = two(x)
    zeros_in = LSTM(4, 4, rng=0)
    zeros_in.load_state_dict({k.replace("l1", "l0"): v for k, v in two.state_dict().items() if "l1" in k})
    np.testing.assert_allclose(out, zeros_in(np.zeros((4, 2, 4)))[0])
    assert not np.allclose(two.eval()(x)[0], out)


# -- errors name the layer ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "args", "text"),
    [
        (RNNCell(3, 4), (np.ones((2, 5)),), r"RNNCell: expected input of shape \(N, 3\) or \(3,\), got \(2, 5\)"),
        (LSTMCell(3, 4), (np.ones((2, 3)), np.ones((2, 4))), r"LSTMCell: expected hx as \(h, c\)"),
        (GRUCell(3, 4), (np.ones((2, 3)), np.ones((3, 4))), r"GRUCell: expected h of shape \(2, 4\), got \(3, 4\)"),
        (RNN(3, 4, batch_first=True), (np.ones((2, 5, 4)),), r"RNN: expected input of shape \(N, L, 3\)"),
        (
            LSTM(3, 4, num_layers=2),
            (np.ones((5, 2, 3)), (np.ones((1, 2, 4)), np.ones((2, 2, 4)))),
            r"LSTM: expected h_0 of shape \(2, 2, 4\), got \(1, 2, 4\)",
        ),
        (
            GRU(3, 4, bidirectional=True),
            (np.ones((5, 2, 3)), np.ones((1, 2, 4))),
            r"GRU: expected h_0 of shape \(2, 2, 4\)",
        ),
    ],
    ids=["RNNCell-input", "LSTMCell-state-not-a-tuple", "GRUCell-state", "RNN-input", "LSTM-h_0", "GRU-h_0"],
)
def test_wrong_shapes_name_the_layer(layer, args, text):
    with pytest.raises((ValueError, TypeError), match=text):
        layer(*args)


def test_wrong_gradient_shapes_name_the_layer():
    lstm = LSTM(3, 4, rng=0)
    lstm(np.ones((5, 2, 3)))
    with pytest.raises(
        ValueError, match=r"LSTM: expected the gradient of output of shape \(5, 2, 4\), got \(5, 2, 3\)"
    ):
        lstm.backward(np.ones((5, 2, 3)))
    with pytest.raises(ValueError, match=r"LSTM: expected the gradient of c_n of shape \(1, 2, 4\)"):
        lstm.backward((np.ones((5, 2, 4)), (None, np.ones((2, 4)))))


# -- a wrong gate derivative is caught ---------------------------------------------------------------------------


class _GRUCellWithoutDirectPath(GRUCell):
    """Wrong on purpose: ∂L/∂h leaves out the direct term g ⊙ z of h' = (1 − z) ⊙ n + z ⊙ h."""

    def _step_backward(self, w, grad_state):
        g_ax, g_ah, (dh,) = gru_step_backward(w, self.h, self.gates, self.a_hn, grad_state)
        z = np.split(self.gates, 3, axis=-1)[1]
        return g_ax, g_ah, (dh - grad_state[0] * z,)


def test_a_wrong_gate_derivative_is_caught():
    rng = np.random.default_rng(4)
    x, h, g = rng.standard_normal((3, 2)), rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    cell = _GRUCellWithoutDirectPath(2, 4, rng=0)
    cell(x, h)
    _, dh = cell.backward(g)
    numeric = partial_derivatives(lambda: float(np.sum(g * cell(x, h))), h)
    assert not np.allclose(dh, numeric, rtol=1e-4)


@pytest.mark.parametrize(
    "build", [lambda: LSTM(3, 4, num_layers=2, bidirectional=True, rng=0), lambda: GRU(3, 4, rng=1)]
)
def test_arguments_stay_unchanged_and_two_backwards_add_up(build):
    rng = np.random.default_rng(5)
    layer = build()
    x = rng.standard_normal((4, 2, 3))
    out, state = layer(x)
    hx = tuple(np.ones_like(s) for s in flat(state))
    hx = hx if isinstance(layer, LSTM) else hx[0]
    grad = (rng.standard_normal(out.shape), shaped_like(state, [rng.standard_normal(s.shape) for s in flat(state)]))
    copies = [a.copy() for a in [x, *flat(hx), *flat(grad)]]
    layer(x, hx)
    first = flat(layer.backward(grad))
    once = [p.grad.copy() for p in layer.parameters()]
    layer(x, hx)
    second = flat(layer.backward(grad))
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    for p, g in zip(layer.parameters(), once, strict=True):
        np.testing.assert_allclose(p.grad, 2 * g)
    for a, b in zip([x, *flat(hx), *flat(grad)], copies, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("cls", [RNN, LSTM, GRU])
def test_dropout_with_one_layer_warns_that_it_has_no_effect(cls):
    with pytest.warns(UserWarning, match=rf"{cls.__name__}: dropout=0.5 acts between stacked layers.*no effect"):
        cls(3, 4, dropout=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cls(3, 4, num_layers=2, dropout=0.5)  # between the two layers: no warning
        cls(3, 4)


# -- the caches: stacked arrays, one per quantity, filled step by step ---------------------------------------------


def test_cache_report_lists_the_stacked_caches_of_a_sequence_layer():
    lstm = LSTM(3, 5, num_layers=2, bidirectional=True, dropout=0.5, rng=0)  # L = 4, N = 2, D = 2, H = 5
    x = np.random.default_rng(6).standard_normal((4, 2, 3))
    expected = {
        "x": (4, 2, 3),  # the first layer's input
        "inputs": (1, 4, 2, 10),  # the second layer's: the first's output, both directions, after dropout
        "masks": (1, 4, 2, 10),  # dropout's, in training only
        "h": (4, 5, 2, 5),  # (num_layers·D, L + 1, N, H): every step's state, h_0 included
        "c": (4, 5, 2, 5),
        "gates": (4, 4, 2, 20),  # i, f, g, o of every step
        "tanh_c": (4, 4, 2, 5),
    }
    output, (h_n, c_n) = lstm(x)
    report = cache_report(lstm)
    assert {e.attribute: e.shape for e in report.entries} == expected
    assert report.total_bytes == 8 * sum(np.prod(shape) for shape in expected.values())
    assert report.empty_layers == []
    # the layout: index i = k·D + d as in h_n; the forward direction's step t writes h[i, t + 1], the reverse's h[i, t]
    np.testing.assert_array_equal(output[..., :5], lstm.h[2, 1:])
    np.testing.assert_array_equal(output[..., 5:], lstm.h[3, :4])
    np.testing.assert_array_equal(h_n, lstm.h[[0, 1, 2, 3], [4, 0, 4, 0]])
    np.testing.assert_array_equal(c_n, lstm.c[[0, 1, 2, 3], [4, 0, 4, 0]])
    np.testing.assert_array_equal(lstm.inputs[0], np.concatenate([lstm.h[0, 1:], lstm.h[1, :4]], -1) * lstm.masks[0])
    lstm.eval()(x)
    del expected["masks"]
    assert {e.attribute: e.shape for e in cache_report(lstm).entries} == expected
    one_layer = GRU(3, 5, rng=0)
    one_layer(x)
    assert {e.attribute: e.shape for e in cache_report(one_layer).entries} == {
        "x": (4, 2, 3),
        "h": (1, 5, 2, 5),
        "gates": (1, 4, 2, 15),  # r, z, n
        "a_hn": (1, 4, 2, 5),  # h_{t−1} W_hn + b_hn
    }


@pytest.mark.parametrize(
    "build",
    [lambda: LSTM(3, 4, num_layers=2, bidirectional=True, rng=0), lambda: GRU(3, 4, num_layers=2, rng=1)],
    ids=["LSTM", "GRU"],
)
def test_without_the_input_gradient_backward_returns_none_and_the_same_parameter_gradients(build):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((5, 2, 3))
    results = []
    for needs_input_grad in (True, False):
        layer = build()
        layer.needs_input_grad = needs_input_grad
        output, _ = layer(x)
        grad_x = layer.backward(np.random.default_rng(8).standard_normal(output.shape))
        results.append((grad_x, [p.grad.copy() for p in layer.parameters()]))
    (with_x, grads), (without_x, grads_without) = results
    assert with_x.shape == x.shape
    assert without_x is None
    for a, b in zip(grads, grads_without, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_shorter_sequence_after_a_longer_one_uses_fresh_caches():
    rng = np.random.default_rng(9)
    long_x, x = rng.standard_normal((5, 2, 3)), rng.standard_normal((3, 2, 3))
    hx = (rng.standard_normal((4, 2, 4)), rng.standard_normal((4, 2, 4)))
    g = rng.standard_normal((3, 2, 8))
    fresh, reused = (LSTM(3, 4, num_layers=2, bidirectional=True, rng=0) for _ in range(2))
    out, _ = reused(long_x)
    reused.backward(np.ones_like(out))
    reused.zero_grad()
    returned = reused(x, hx)
    assert reused.h.shape == (4, 4, 2, 4)
    grad_x, (grad_h0, grad_c0) = reused.backward(g)
    for a, b in zip(flat(returned), flat(fresh(x, hx)), strict=True):
        np.testing.assert_array_equal(a, b)
    expected_x, (expected_h0, expected_c0) = fresh.backward(g)
    for a, b in [(grad_x, expected_x), (grad_h0, expected_h0), (grad_c0, expected_c0)]:
        np.testing.assert_array_equal(a, b)
    for p, q in zip(reused.parameters(), fresh.parameters(), strict=True):
        np.testing.assert_array_equal(p.grad, q.grad)
    objective = lambda: float(np.sum(g * reused(x, hx)[0]))  # noqa: E731
    for analytic, array in [(grad_x, x), (grad_h0, hx[0]), (grad_c0, hx[1])]:
        np.testing.assert_allclose(analytic, partial_derivatives(objective, array), rtol=1e-6, atol=1e-8)
    weight = reused.weight_ih_l0_reverse
    np.testing.assert_allclose(weight.grad, partial_derivatives(objective, weight.data), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("cls", CELLS)
def test_a_cell_without_the_input_gradient_returns_none_and_the_same_parameter_gradients(cls):
    x, g = np.random.default_rng(10).standard_normal((2, 3)), np.random.default_rng(11).standard_normal((2, 4))
    results = []
    for needs_input_grad in (True, False):
        cell = cls(3, 4, rng=0)
        cell.needs_input_grad = needs_input_grad
        cell(x)
        results.append((cell.backward(g), [p.grad.copy() for p in cell.parameters()]))
    (with_x, grads), (without_x, grads_without) = results
    assert with_x.shape == x.shape
    assert without_x is None
    for a, b in zip(grads, grads_without, strict=True):
        np.testing.assert_array_equal(a, b)
