"""Every layer and loss against finite differences in float64.

A new layer needs one line in LAYER_CASES (or LOSS_CASES)."""

from __future__ import annotations

import numpy as np
import pytest

import minnet
from minnet import (
    ELU,
    GELU,
    BatchNorm1d,
    BCELoss,
    BCEWithLogitsLoss,
    Concat,
    CrossEntropyLoss,
    Dropout,
    Flatten,
    HuberLoss,
    Identity,
    L1Loss,
    LeakyReLU,
    Linear,
    LogSoftmax,
    MSELoss,
    NLLLoss,
    ReLU,
    Residual,
    Sequential,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
    gradcheck,
)


def _away_from_kinks(shape):
    """Standard normal values pushed at least 0.1 away from 0 (ReLU's kink)."""
    x = np.random.default_rng(10).standard_normal(shape)
    return np.where(x >= 0, x + 0.1, x - 0.1)


# (id, factory, input shape): sides differ from each other so a transposed gradient cannot pass.
LAYER_CASES = [
    ("Linear", lambda: Linear(3, 5, rng=0), (4, 3)),
    ("Linear-no-bias", lambda: Linear(5, 2, bias=False, rng=1), (7, 5)),
    ("Linear-batch-1", lambda: Linear(4, 3, rng=2), (1, 4)),
    ("Linear-3d-input", lambda: Linear(3, 2, rng=3), (2, 5, 3)),
    ("Sigmoid", lambda: Sigmoid(), (4, 6)),
    ("Sigmoid-3d", lambda: Sigmoid(), (2, 3, 5)),
    ("Sequential", lambda: Sequential(Linear(3, 4, rng=4), Sigmoid(), Linear(4, 2, rng=5)), (6, 3)),
    ("Sequential-nested", lambda: Sequential(Sequential(Linear(2, 5, rng=6), Sigmoid()), Linear(5, 3, rng=7)), (3, 2)),
    ("ReLU", lambda: ReLU(), (4, 6)),
    ("LeakyReLU", lambda: LeakyReLU(0.2), (4, 6)),
    ("ELU", lambda: ELU(alpha=0.7), (4, 6)),
    ("Tanh", lambda: Tanh(), (4, 6)),
    ("Softplus", lambda: Softplus(), (4, 6)),
    ("Softplus-beta-threshold", lambda: Softplus(beta=2.0, threshold=1.0), (4, 6)),
    ("GELU", lambda: GELU(), (4, 6)),
    ("Softmax", lambda: Softmax(), (4, 6)),
    ("Softmax-axis0", lambda: Softmax(axis=0), (4, 6)),
    ("LogSoftmax", lambda: LogSoftmax(), (4, 6)),
    ("LogSoftmax-3d-axis1", lambda: LogSoftmax(axis=1), (2, 4, 3)),
    ("Identity", lambda: Identity(), (3, 5)),
    ("Flatten", lambda: Flatten(), (2, 3, 4)),
    ("Dropout-eval", lambda: Dropout(0.5, rng=0).eval(), (4, 6)),
    ("Dropout-train", lambda: Dropout(0.3, rng=0), (4, 6)),  # gradcheck replays the mask
    ("BatchNorm1d-train", lambda: _bn(BatchNorm1d(5)), (6, 5)),
    ("BatchNorm1d-train-3d", lambda: _bn(BatchNorm1d(3)), (4, 3, 5)),
    ("BatchNorm1d-eval", lambda: _bn(BatchNorm1d(5)).eval(), (6, 5)),
    ("BatchNorm1d-no-affine", lambda: BatchNorm1d(4, affine=False), (7, 4)),
    ("Residual", lambda: Residual(Sequential(Linear(4, 4, rng=8), Tanh())), (3, 4)),
    ("Concat", lambda: Concat(Linear(3, 2, rng=9), Sequential(Linear(3, 4, rng=10), Tanh()), Identity()), (5, 3)),
    ("Concat-axis0", lambda: Concat(Linear(3, 2, rng=11), Linear(3, 2, rng=12), axis=0), (4, 3)),
]


def _bn(layer):
    """A BatchNorm1d with non-trivial γ, β and running statistics."""
    rng = np.random.default_rng(13)
    c = layer.num_features
    layer.weight.data[:] = rng.uniform(0.5, 1.5, c)
    layer.bias.data[:] = rng.standard_normal(c)
    layer.running_mean[:] = rng.standard_normal(c)
    layer.running_var[:] = rng.uniform(0.5, 2.0, c)
    return layer


def _normal_pair(shape):
    def make(rng):
        return rng.standard_normal(shape), rng.standard_normal(shape)

    return make


def _labels(n, c):
    def make(rng):
        return rng.standard_normal((n, c)), rng.integers(0, c, n)

    return make


def _probabilities(n, c):
    def make(rng):
        t = rng.random((n, c))
        return 3 * rng.standard_normal((n, c)), t / t.sum(axis=1, keepdims=True)

    return make


def _log_probabilities(n, c):
    def make(rng):
        z = rng.standard_normal((n, c))
        return z - np.log(np.exp(z).sum(axis=1, keepdims=True)), rng.integers(0, c, n)

    return make


def _bce(shape):
    def make(rng):
        return rng.uniform(0.05, 0.95, shape), rng.random(shape)

    return make


# (id, factory, make(rng) -> (prediction, target))
LOSS_CASES = [
    ("MSELoss-half_batch_mean", lambda: MSELoss(), _normal_pair((5, 3))),
    ("MSELoss-mean", lambda: MSELoss(reduction="mean"), _normal_pair((4, 2))),
    ("MSELoss-sum", lambda: MSELoss(reduction="sum"), _normal_pair((3, 1))),
    ("MSELoss-none", lambda: MSELoss(reduction="none"), _normal_pair((3, 2))),
    ("L1Loss", lambda: L1Loss(), _normal_pair((4, 3))),
    ("L1Loss-none", lambda: L1Loss(reduction="none"), _normal_pair((4, 3))),
    ("HuberLoss", lambda: HuberLoss(delta=0.7), _normal_pair((5, 3))),
    ("HuberLoss-sum", lambda: HuberLoss(reduction="sum"), _normal_pair((5, 3))),
    ("HuberLoss-none", lambda: HuberLoss(reduction="none", delta=0.5), _normal_pair((5, 3))),
    ("BCELoss", lambda: BCELoss(), _bce((4, 3))),
    ("BCELoss-none", lambda: BCELoss(reduction="none"), _bce((4, 3))),
    ("BCEWithLogitsLoss", lambda: BCEWithLogitsLoss(), _bce((4, 3))),
    ("BCEWithLogitsLoss-sum", lambda: BCEWithLogitsLoss(reduction="sum"), _normal_pair((4, 3))),
    ("BCEWithLogitsLoss-none", lambda: BCEWithLogitsLoss(reduction="none"), _bce((4, 3))),
    ("CrossEntropyLoss-labels", lambda: CrossEntropyLoss(), _labels(5, 4)),
    ("CrossEntropyLoss-probabilities", lambda: CrossEntropyLoss(), _probabilities(5, 4)),
    ("CrossEntropyLoss-sum", lambda: CrossEntropyLoss(reduction="sum"), _labels(3, 6)),
    ("CrossEntropyLoss-none", lambda: CrossEntropyLoss(reduction="none"), _labels(5, 4)),
    ("CrossEntropyLoss-none-probabilities", lambda: CrossEntropyLoss(reduction="none"), _probabilities(5, 4)),
    ("CrossEntropyLoss-unnormalised-targets", lambda: CrossEntropyLoss(), _normal_pair((5, 4))),
    ("NLLLoss", lambda: NLLLoss(), _log_probabilities(5, 4)),
    ("NLLLoss-none", lambda: NLLLoss(reduction="none"), _log_probabilities(5, 4)),
]


@pytest.mark.parametrize("factory, shape", [c[1:] for c in LAYER_CASES], ids=[c[0] for c in LAYER_CASES])
def test_layer_gradients_match_finite_differences(factory, shape):
    layer = factory()
    x = _away_from_kinks(shape)
    result = gradcheck(layer, x)
    assert result, str(result)
    assert result.max_rel_error < 1e-6
    assert [c.name for c in result.checks] == ["input"] + [name for name, _ in layer.named_parameters()]


@pytest.mark.parametrize("factory, make", [c[1:] for c in LOSS_CASES], ids=[c[0] for c in LOSS_CASES])
def test_loss_gradients_match_finite_differences(factory, make):
    loss = factory()
    pred, target = make(np.random.default_rng(11))
    result = gradcheck(loss, pred, target)  # reduction="none": through a random upstream gradient
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
    "layer, shape, failing",
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
    assert "FAILED" in str(result) and failing in str(result)


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
    assert worst.name == "weight" and len(worst.index) == 2
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


@pytest.mark.parametrize("factory, shape", [c[1:] for c in LAYER_CASES], ids=[c[0] for c in LAYER_CASES])
def test_two_backwards_double_every_grad_and_zero_grad_clears(factory, shape):
    layer = factory()
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape)
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


@pytest.mark.parametrize("factory, shape", [c[1:] for c in LAYER_CASES], ids=[c[0] for c in LAYER_CASES])
def test_forward_and_backward_leave_their_arguments_unchanged(factory, shape):
    layer = factory()
    rng = np.random.default_rng(4)
    x = rng.standard_normal(shape)
    x_copy = x.copy()
    out = layer(x)
    g = rng.standard_normal(out.shape)
    g_copy = g.copy()
    layer.backward(g)
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_array_equal(g, g_copy)


def test_every_public_layer_is_covered():
    """A layer exported by minnet without a gradient case is a test gap."""
    covered = {type(case[1]()).__name__ for case in LAYER_CASES + LOSS_CASES}
    exported = {
        name
        for name in minnet.__all__
        if isinstance(getattr(minnet, name), type)
        and issubclass(getattr(minnet, name), minnet.Layer)
        and getattr(minnet, name) not in (minnet.Layer, minnet.Loss)
    }
    assert exported <= covered, f"no gradient case for {sorted(exported - covered)}"


def test_gradcheck_with_nothing_to_check_raises():
    with pytest.raises(ValueError, match="nothing to check"):
        gradcheck(Sigmoid(), np.ones((2, 2)), check_input=False)
