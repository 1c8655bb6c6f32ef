"""Every layer and loss of the registry (tests/cases.py) against finite differences in float64."""

from __future__ import annotations

import numpy as np
import pytest
from cases import LAYER_CASES, layer_modes, loss_reductions
from hypothesis import given, settings
from hypothesis import strategies as st

from minnet import Linear, MSELoss, Sequential, Sigmoid, gradcheck
from minnet.testing.strategies import layer_inputs


def build(case, mode):
    layer = case.build()
    layer.train(mode == "train")
    return layer


@pytest.mark.parametrize(("case", "mode"), layer_modes())
def test_layer_gradients_match_finite_differences(case, mode):
    layer = build(case, mode)
    x = case.input_maker(np.random.default_rng(10), case.input_shape)
    result = gradcheck(layer, x)
    assert result, str(result)
    assert result.max_rel_error < 1e-6
    names = [] if layer.input_kind == "integer" else ["input"]  # indices have no gradient
    names += [name for name, _ in layer.named_parameters()]
    has_values = bool(list(layer.named_parameters()) or list(layer.named_buffers()))  # then at drawn values too
    assert [(c.name, c.values) for c in result.checks] == [(name, "initial") for name in names] + [
        (name, "drawn") for name in names if has_values
    ]


@pytest.mark.parametrize(("case", "reduction"), loss_reductions())
def test_loss_gradients_match_finite_differences(case, reduction):
    pred, target = case.draw(np.random.default_rng(11))
    result = gradcheck(case.build(reduction=reduction), pred, target)  # "none": through a random upstream gradient
    assert result, str(result)
    assert result.max_rel_error < 1e-6


def test_model_plus_loss_form():
    rng = np.random.default_rng(12)
    model = Sequential(Linear(3, 4, bias=False, rng=0), Sigmoid(), Linear(4, 1, bias=False, rng=1), Sigmoid())
    result = gradcheck(model, rng.standard_normal((6, 3)), rng.random((6, 1)), loss_fn=MSELoss())
    assert result, str(result)
    assert result.max_rel_error < 1e-6


class _TransposedWeightLinear(Linear):
    """Wrong on purpose: the weight gradient is built as g.T @ x and transposed back
    through a reshape, which scrambles elements when in != out."""

    def backward(self, grad_output):
        self.weight.grad += (grad_output.T @ self.x).reshape(self.weight.grad.shape)
        if self.bias is not None:
            self.bias.grad += grad_output.sum(axis=0)
        return grad_output @ self.weight.data.T


class _PreactivationSigmoid(Sigmoid):
    """Wrong on purpose: takes σ'(y) instead of σ'(x), i.e. applies the formula to the output twice."""

    def backward(self, grad_output):
        s = 1.0 / (1.0 + np.exp(-self.y))
        return grad_output * s * (1.0 - s)


class _ForgetsInputGradient(Linear):
    """Wrong on purpose: returns the input gradient of the wrong shape."""

    def backward(self, grad_output):
        super().backward(grad_output)
        return grad_output


class _LossNotDividedByN(MSELoss):
    """Wrong on purpose: forgets the 1/N of the derivation's loss in backward."""

    def backward(self):
        return self.diff


@pytest.mark.parametrize(
    ("layer", "shape", "failing"),
    [
        (_TransposedWeightLinear(3, 5, rng=0), (4, 3), "weight"),
        (_PreactivationSigmoid(), (4, 3), "input"),
    ],
    ids=["transposed-weight-gradient", "sigmoid-of-output"],
)
def test_gradcheck_fails_on_wrong_layers(layer, shape, failing):
    result = gradcheck(layer, np.random.default_rng(0).standard_normal(shape))
    assert not result
    assert result.worst.name == failing
    assert "FAILED" in str(result)
    assert failing in str(result)


def test_a_wrong_shaped_input_gradient_is_an_error_naming_the_layer():
    """The base class checks what backward returns, so gradcheck never compares a gradient of the wrong shape."""
    with pytest.raises(
        ValueError,
        match=r"_ForgetsInputGradient.backward returned a gradient of shape \(4, 2\) for the input x of shape \(4, 3\)",
    ):
        gradcheck(_ForgetsInputGradient(3, 2, rng=0), np.random.default_rng(0).standard_normal((4, 3)))


def test_gradcheck_fails_on_wrong_loss():
    rng = np.random.default_rng(1)
    result = gradcheck(_LossNotDividedByN(), rng.standard_normal((5, 2)), rng.standard_normal((5, 2)))
    assert not result
    assert result.max_rel_error > 0.5


def test_gradcheck_reports_worst_element():
    result = gradcheck(_TransposedWeightLinear(2, 3, rng=0), np.random.default_rng(0).standard_normal((4, 2)))
    worst = result.worst
    assert worst.name == "weight"
    assert len(worst.index) == 2
    assert abs(worst.analytic - worst.numeric) > 1e-3
    assert worst.max_rel_error == result.max_rel_error > 1e-6


def test_gradcheck_leaves_parameters_and_grads_untouched():
    layer = Linear(3, 2, rng=0)
    layer.weight.grad[...] = 7.0
    before = layer.weight.data.copy()
    gradcheck(layer, np.ones((2, 3)))
    assert np.array_equal(layer.weight.data, before)
    assert np.all(layer.weight.grad == 7.0)


def test_gradcheck_requires_float64_parameters():
    with pytest.raises(TypeError, match="float64"):
        gradcheck(Linear(2, 2, rng=0, dtype=np.float32), np.ones((1, 2), dtype=np.float32))


def test_gradcheck_needs_target_for_loss():
    with pytest.raises(ValueError, match="target"):
        gradcheck(MSELoss(), np.ones((2, 1)))


@pytest.mark.parametrize(("case", "mode"), layer_modes())
def test_two_backwards_double_every_grad_and_zero_grad_clears(case, mode):
    layer = build(case, mode)
    rng = np.random.default_rng(3)
    x = case.input_maker(rng, case.input_shape)
    g = rng.standard_normal(layer(x).shape)
    layer.zero_grad()
    first_input_grad = layer.backward(g)
    once = [p.grad.copy() for p in layer.parameters()]
    second_input_grad = layer.backward(g)
    for p, g1 in zip(layer.parameters(), once, strict=True):
        np.testing.assert_allclose(p.grad, 2 * g1, rtol=1e-15, atol=0)
    np.testing.assert_array_equal(first_input_grad, second_input_grad)
    layer.zero_grad()
    for p in layer.parameters():
        assert not p.grad.any()


@pytest.mark.parametrize(("case", "mode"), layer_modes())
def test_forward_and_backward_leave_their_arguments_unchanged(case, mode):
    layer = build(case, mode)
    rng = np.random.default_rng(4)
    x = case.input_maker(rng, case.input_shape)
    x_copy = x.copy()
    out = layer(x)
    g = rng.standard_normal(out.shape)
    g_copy = g.copy()
    layer.backward(g)
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_array_equal(g, g_copy)


@st.composite
def _case_input_and_upstreams(draw):
    """A layer case that takes any real input, in one of its modes, an input the strategies draw for it (kinks
    and all: no finite differences here), two upstream gradients and a factor."""
    any_input = [(case, mode) for case in LAYER_CASES if case.make_input is None for mode in case.modes]
    case, mode = draw(st.sampled_from(any_input))
    x = draw(layer_inputs(case.input_shape[1:], min_batch=2))  # BatchNorm1d trains on two rows or more
    output_shape = build(case, mode)(x).shape
    g, h = (draw(layer_inputs(shapes=st.just(output_shape))) for _ in range(2))
    return case, mode, x, g, h, draw(st.floats(-3.0, 3.0))


@given(_case_input_and_upstreams())
@settings(max_examples=60, deadline=None)
def test_backward_is_linear_in_the_upstream_gradient(drawn):
    """backward(a g + h) = a backward(g) + backward(h), for the input and every parameter, from one forward's cache."""
    case, mode, x, g, h, a = drawn
    layer = build(case, mode)
    layer(x)
    results = []
    for upstream in (g, h, a * g + h):
        layer.zero_grad()
        results.append([layer.backward(upstream)] + [p.grad.copy() for p in layer.parameters()])
    # rounding is relative to the sizes of the gradients and of the upstream gradients they came from (a
    # BatchNorm1d batch with equal rows turns an upstream gradient into zero, up to a rounding error)
    scale = max(1.0, abs(a)) * max(np.abs(array).max(initial=0.0) for array in [g, h, *results[0], *results[1]])
    for from_g, from_h, from_both in zip(*results, strict=True):
        np.testing.assert_allclose(from_both, a * from_g + from_h, rtol=1e-9, atol=1e-9 * scale)


def test_gradcheck_with_nothing_to_check_raises():
    with pytest.raises(ValueError, match="nothing to check"):
        gradcheck(Sigmoid(), np.ones((2, 2)), check_input=False)
