"""Layers with several inputs or outputs (docs/custom-layer.md) through the tools: gradcheck, the test kit
(check_layer, LayerTestCase) and Sequential. The recurrent layers and MultiheadAttention are the real ones;
small broken layers show that each check fails where it should."""

from __future__ import annotations

import numpy as np
import pytest
from cases import RECURRENT_CASES, RecurrentCase

from minnet import LSTM, GRUCell, Layer, Linear, LSTMCell, MultiheadAttention, RNNCell, Sequential, Tanh, gradcheck
from minnet.testing import LayerTestCase, check_layer

# -- several inputs, built for a case ---------------------------------------------------------------------------


def state_for(layer: Layer, x: np.ndarray, rng: np.random.Generator):
    """A random initial state of the shape ``layer`` gives back for ``x`` (a cell's state, an RNN's h_0, an
    LSTM's (h_0, c_0))."""
    probe = layer(x)
    template = probe if isinstance(layer, (RNNCell, LSTMCell, GRUCell)) else probe[1]  # a cell returns its state
    if isinstance(template, np.ndarray):
        return rng.standard_normal(template.shape)
    return tuple(rng.standard_normal(part.shape) for part in template)


def inputs_for(case: RecurrentCase, rng: np.random.Generator):
    layer = case.build()
    x = rng.standard_normal(case.input_shape)
    return layer, ((x, state_for(case.build(), x, rng)) if case.state else x)


# -- gradcheck -------------------------------------------------------------------------------------------------


#: The two-layer cases are the slow ones; tests/test_recurrent.py checks them against finite differences and
#: PyTorch, so here they run in one setting of the kit and not through gradcheck.
LARGE = [case.id for case in RECURRENT_CASES if "2-layers" in case.id or "num_layers=2" in repr(case.build())]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in RECURRENT_CASES if c.id not in LARGE])
def test_gradcheck_passes_the_recurrent_layers_with_their_states(case):
    layer, x = inputs_for(case, np.random.default_rng(0))
    result = gradcheck(layer, x)
    assert result, result
    names = [check.name for check in result.checks if check.values == "initial"]
    if case.state:
        assert names[0] == "input[0]"
        assert names[1].startswith("input[1]")
    else:
        assert names[0] == "input"


def test_gradcheck_names_the_state_whose_gradient_is_wrong():
    class ForgetsTheCell(LSTMCell):
        """Returns no gradient for the initial cell state c_0: wrong, c_1 depends on it."""

        def backward(self, grad_output):
            grad_x, (grad_h, _) = super().backward(grad_output)
            return grad_x, (grad_h, None)

    rng = np.random.default_rng(1)
    x, h, c = rng.standard_normal((4, 3)), rng.standard_normal((4, 2)), rng.standard_normal((4, 2))
    result = gradcheck(ForgetsTheCell(3, 2, rng=0), (x, (h, c)))
    assert not result
    wrong = {check.name for check in result.checks if not check.passed}
    assert wrong == {"input[1][1]"}, result
    assert "backward returned None for it" in str(result)
    assert gradcheck(LSTMCell(3, 2, rng=0), (x, (h, c)))


def test_gradcheck_checks_the_gradient_of_every_output():
    class IgnoresTheFinalState(LSTM):
        """Takes the gradient of the output sequence alone: the final state's is dropped."""

        def backward(self, grad_output):
            return super().backward(grad_output[0] if isinstance(grad_output, tuple) else grad_output)

    x = np.random.default_rng(2).standard_normal((3, 2, 3))
    broken = gradcheck(IgnoresTheFinalState(3, 2, rng=0), x, values=("initial",))
    assert not broken
    assert not broken.worst.passed
    assert gradcheck(LSTM(3, 2, rng=0), x)
    # the output sequence's gradient alone: the final state left out with None
    upstream = np.random.default_rng(3).standard_normal((3, 2, 2))
    assert gradcheck(IgnoresTheFinalState(3, 2, rng=0), x, grad_output=(upstream, None))


@pytest.mark.parametrize("average", [True, False])
def test_gradcheck_on_attention_with_three_inputs_and_two_outputs(average):
    rng = np.random.default_rng(4)
    layer = MultiheadAttention(6, 3, batch_first=True, rng=5)
    layer.in_proj_bias.data[...] = rng.uniform(-1, 1, 18)
    q, k, v = rng.standard_normal((2, 4, 6)), rng.standard_normal((2, 5, 6)), rng.standard_normal((2, 5, 6))

    class Attention(MultiheadAttention):
        def forward(self, query, key, value):
            return super().forward(query, key, value, average_attn_weights=average)

    mine = Attention(6, 3, batch_first=True, rng=5)
    mine.load_state_dict(layer.state_dict())
    result = gradcheck(mine, (q, k, v))
    assert result, result
    assert [c.name for c in result.checks if c.values == "initial"][:3] == ["input[0]", "input[1]", "input[2]"]


def test_gradcheck_refuses_a_grad_output_of_the_wrong_nesting():
    x = np.ones((3, 2, 3))
    with pytest.raises(ValueError, match="grad_output does not nest as the output does: a tuple of 1 gradients for 2"):
        gradcheck(LSTM(3, 2, rng=0), x, grad_output=(np.ones((3, 2, 2)),))
    with pytest.raises(ValueError, match=r"grad_output has shape \(3, 2\), the output \(1, 2, 2\)"):
        gradcheck(LSTM(3, 2, rng=0), x, grad_output=(np.ones((3, 2, 2)), (np.ones((3, 2)), None)))


def test_a_tuple_of_floats_is_still_one_input():
    assert gradcheck(Tanh(), (0.5, -0.25, 1.0))
    assert gradcheck(Linear(3, 2, rng=0), [(1.0, 2.0, 3.0)])


# -- the test kit ----------------------------------------------------------------------------------------------


def recurrent_inputs(case: RecurrentCase):
    """``make_input`` for check_layer: the input of the shape asked for and, for a case with a state, a random
    initial state that fits it (the kit also tries a batch of 1, which for a sequence layer is its length)."""

    def make_input(rng, shape):
        x = rng.standard_normal(shape)
        return (x, state_for(case.build(), x, rng)) if case.state else x

    return make_input


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in RECURRENT_CASES])
def test_the_kit_passes_the_recurrent_layers(case):
    unbatched = len(case.input_shape) == 1  # a cell's one sample (input_size,): its only axis is not a batch
    sizes = (case.input_shape[0],) if unbatched or case.id in LARGE else None
    values = ("initial",) if case.id in LARGE else ("initial", "drawn")
    report = check_layer(
        case.build,
        case.input_shape,
        make_input=recurrent_inputs(case),
        modes=case.modes,
        batch_sizes=sizes,
        values=values,
    )
    assert report, report


def attention_inputs(rng, shape):
    n, length, e = shape
    return rng.standard_normal(shape), rng.standard_normal((n, length + 2, e)), rng.standard_normal((n, length + 2, e))


def test_the_kit_passes_attention_with_three_inputs_and_two_outputs():
    report = check_layer(lambda: MultiheadAttention(6, 3, batch_first=True, rng=0), (2, 4, 6),
                         make_input=attention_inputs)  # fmt: skip
    assert report, report


class TestLSTMWithState(LayerTestCase):
    """The pytest form: one test item per check, for a layer of two inputs and two outputs."""

    make_layer = staticmethod(lambda: LSTM(3, 4, num_layers=2, rng=0))
    input_shape = (5, 2, 3)
    values = ("initial",)

    @staticmethod
    def make_input(rng, shape):
        x = rng.standard_normal(shape)
        state = rng.standard_normal((2, shape[1], 4))
        return x, (state, -state)


class _CellWithABug(LSTMCell):
    """An LSTMCell with one bug at a time, for the kit to find."""

    bug = ""

    def forward(self, input, hx=None):
        if self.bug == "writes the state" and hx is not None:
            hx[1][...] = 0.0  # the kit passes it read-only: this raises, and the kit says where
        return super().forward(input, hx)

    def backward(self, grad_output):
        grad_x, (grad_h, grad_c) = super().backward(grad_output)
        if self.bug == "drops c":
            return grad_x, (grad_h, None)
        if self.bug == "c transposed":
            return grad_x, (grad_h, grad_c.T)
        if self.bug == "sign of h":
            return grad_x, (-grad_h, grad_c)
        return grad_x, (grad_h, grad_c)


def cell_inputs(rng, shape):
    return rng.standard_normal(shape), (rng.standard_normal((shape[0], 2)), rng.standard_normal((shape[0], 2)))


@pytest.mark.parametrize(
    ("bug", "check", "text"),
    [
        ("drops c", "input_gradient", "input[1][1]"),
        ("sign of h", "input_gradient", "analytic = −numeric everywhere: the sign is wrong"),
        ("c transposed", "gradient_shapes", "shape (2, 5) for element 1 of input 2 of shape (5, 2)"),
        ("writes the state", "input_unchanged", "read-only"),
    ],
)
def test_the_kit_finds_a_wrong_gradient_of_a_state(bug, check, text):
    def make():
        cell = _CellWithABug(3, 2, rng=0)
        cell.bug = bug
        return cell

    report = check_layer(make, (5, 3), make_input=cell_inputs, values=("initial",), modes=("eval",))
    assert not report
    assert check in report.failed_names, report
    assert text in str(report), report
    healthy = check_layer(lambda: _CellWithABug(3, 2, rng=0), (5, 3), make_input=cell_inputs, values=("initial",))
    assert healthy, healthy


# -- Sequential ------------------------------------------------------------------------------------------------


class LastStep(Layer):
    """Takes an LSTM's ``(output, (h_n, c_n))`` and passes on the output's last step: a layer of tuple input."""

    input_kind = "any"

    def forward(self, outputs):
        output, _ = outputs
        self.shape, self.dtype = output.shape, output.dtype
        return output[-1]

    def backward(self, grad_output):
        grad = np.zeros(self.shape, self.dtype)
        grad[-1] = grad_output
        return grad, None  # nothing read the final state: its gradient is None


def test_sequential_passes_the_state_to_its_first_layer_and_its_gradient_back():
    rng = np.random.default_rng(5)
    x, h, c = rng.standard_normal((4, 2, 3)), rng.standard_normal((1, 2, 5)), rng.standard_normal((1, 2, 5))
    model = Sequential(LSTM(3, 5, rng=0), LastStep(), Linear(5, 2, rng=1))
    y = model(x, (h, c))
    assert y.shape == (2, 2)
    grad_x, (grad_h, grad_c) = model.backward(np.ones((2, 2)))
    assert (grad_x.shape, grad_h.shape, grad_c.shape) == (x.shape, h.shape, c.shape)
    result = gradcheck(model, (x, (h, c)))
    assert result, result
    assert gradcheck(model, x)  # without a state: zeros, and ∂L/∂x alone comes back
    report = check_layer(lambda: Sequential(LSTM(3, 5, rng=0), LastStep(), Linear(5, 2, rng=1)), (4, 2, 3),
                         make_input=lambda rng, shape: (rng.standard_normal(shape), (h[:, :shape[1]], c[:, :shape[1]])),
                         values=("initial",), batch_sizes=(4,))  # fmt: skip
    assert report, report


def test_sequential_ending_in_a_layer_of_several_outputs_returns_them_all():
    rng = np.random.default_rng(6)
    model = Sequential(Linear(3, 3, rng=0), Tanh(), LSTM(3, 4, rng=1))
    x = rng.standard_normal((5, 2, 3))
    output, (h_n, c_n) = model(x)
    assert (output.shape, h_n.shape, c_n.shape) == ((5, 2, 4), (1, 2, 4), (1, 2, 4))
    assert model.backward((np.ones_like(output), (None, np.ones_like(c_n)))).shape == x.shape
    assert gradcheck(model, x)


def test_a_tuple_reaching_a_layer_of_one_input_is_an_error_naming_it():
    model = Sequential(LSTM(3, 4, rng=0), Linear(4, 2, rng=1))
    with pytest.raises(TypeError, match="Linear: expected one array as input, got a tuple of 2 values") as error:
        model(np.ones((5, 2, 3)))
    assert "in layer 1 (Linear) of Sequential" in " ".join(error.value.__notes__)


def test_a_nested_gradient_of_the_wrong_shape_is_an_error_naming_the_layer():
    class WrongStateGradient(LastStep):
        def backward(self, grad_output):
            grad, _ = super().backward(grad_output)
            return grad, (None, np.zeros((3, 3)))  # c_n is (1, 2, 5)

    model = Sequential(LSTM(3, 5, rng=0), WrongStateGradient())
    model(np.ones((4, 2, 3)))
    with pytest.raises(ValueError, match=r"WrongStateGradient.backward returned a gradient of shape \(3, 3\) for "
                                         r"element 1 of element 1 of the input x of shape \(1, 2, 5\)"):  # fmt: skip
        model.backward(np.ones((2, 5)))


def test_summary_and_health_describe_a_model_with_a_layer_of_several_outputs():
    model = Sequential(LSTM(3, 4, rng=0), LastStep(), Linear(4, 2, rng=1))
    table = model.summary((5, 2, 3))
    assert "((5, 2, 4), ((1, 2, 4), (1, 2, 4)))" in table, table
    report = model.health(np.ones((5, 2, 3)), np.zeros((2, 2)))
    assert [layer.nonfinite for layer in report.layers] == [[], [], []]
    assert "0.weight_hh_l0" in str(report)


def test_summary_of_a_model_of_integer_input_draws_indices():
    from minnet import Embedding

    table = Sequential(Embedding(10, 4, rng=0), Linear(4, 3, rng=0)).summary((2, 5))
    assert "(2, 5, 3)" in table, table


# -- found in review: each of these failed before its fix ----------------------------------------------------


class Gather(Layer):
    """``table[indices]``: an integer first input and a float second one, no parameters."""

    input_kind = "integer"

    def forward(self, indices, table):
        self.indices, self.shape = indices, table.shape
        return table[indices]

    def backward(self, grad_output):
        grad_table = np.zeros(self.shape)
        np.add.at(grad_table, self.indices, grad_output)
        return None, grad_table


class GatherLosingTheTable(Gather):
    def backward(self, grad_output):
        super().backward(grad_output)
        return None  # the table's gradient lost


def gather_inputs(rng, shape):
    return rng.integers(0, 3, shape), rng.standard_normal((3, 2))


def test_the_kit_checks_a_float_input_after_integer_indices():
    assert check_layer(Gather, (4,), make_input=gather_inputs)
    report = check_layer(GatherLosingTheTable, (4,), make_input=gather_inputs)
    assert not report
    assert "input_gradient" in report.failed_names, report
    assert "input[1]" in str(report), report


def test_several_outputs_refuse_no_gradient_at_all():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 2, 3))
    for layer, args in [
        (LSTM(3, 4, rng=0), (x,)),
        (LSTMCell(3, 4, rng=0), (x[0],)),
        (MultiheadAttention(6, 3, rng=0), (np.ones((2, 1, 6)),) * 3),
    ]:
        layer(*args)
        with pytest.raises(TypeError, match=rf"{type(layer).__name__}.backward\(\) needs grad_output"):
            layer.backward(None)


def test_a_state_given_by_keyword_gets_its_gradient_back():
    rng = np.random.default_rng(8)
    x, h, c = rng.standard_normal((3, 2, 3)), rng.standard_normal((1, 2, 4)), rng.standard_normal((1, 2, 4))
    lstm = LSTM(3, 4, rng=0)
    output, _ = lstm(x, hx=(h, c))
    by_keyword = lstm.backward(np.ones_like(output))
    lstm(x, (h, c))
    by_position = lstm.backward(np.ones_like(output))
    np.testing.assert_array_equal(by_keyword[0], by_position[0])
    np.testing.assert_array_equal(by_keyword[1][1], by_position[1][1])


def test_one_array_for_an_lstms_final_state_is_h_ns_gradient():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((3, 2, 3))
    lstm = LSTM(3, 4, rng=0)
    output, (h_n, _) = lstm(x)
    g, g_h = rng.standard_normal(output.shape), rng.standard_normal(h_n.shape)
    alone = lstm.backward((g, g_h))
    lstm(x)
    np.testing.assert_array_equal(alone, lstm.backward((g, (g_h, None))))
    lstm(x)
    with pytest.raises(TypeError, match="the gradient of output has dtype complex128"):
        lstm.backward(g + 0j)


def test_the_kit_names_the_input_a_forward_wrote_into():
    def make():
        cell = _CellWithABug(3, 2, rng=0)
        cell.bug = "writes the state"
        return cell

    report = check_layer(make, (5, 3), make_input=cell_inputs, values=("initial",), modes=("eval",))
    assert "input[1][1] was modified" in str(report), report
