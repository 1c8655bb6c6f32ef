"""The Layer base class and Parameter: discovery, modes, the backward-before-forward guard."""

import numpy as np
import pytest

from minnet import BackwardBeforeForwardError, Layer, Linear, Parameter, Sequential, Sigmoid, gradcheck


class Scale(Layer):
    """A user's layer written as __init__, forward and backward only (no super().__init__)."""

    def __init__(self, features):
        self.scale = Parameter(np.linspace(0.5, 1.5, features))
        self.x = None

    def forward(self, x):
        self.x = x
        return x * self.scale.data

    def backward(self, grad_output):
        self.scale.grad += (grad_output * self.x).sum(axis=0)
        return grad_output * self.scale.data


def test_parameter_starts_with_zero_grad_of_same_shape_and_dtype():
    p = Parameter(np.ones((2, 3), dtype=np.float32))
    assert p.grad.shape == (2, 3) and p.grad.dtype == np.float32 and not p.grad.any()
    assert Parameter([1, 2]).data.dtype == np.float64


def test_parameter_copies_its_data():
    source = np.zeros(3)
    p = Parameter(source)
    p.data += 1
    assert not source.any()


def test_user_layer_needs_no_bookkeeping():
    layer = Scale(3)
    assert [name for name, _ in layer.named_parameters()] == ["scale"]
    assert layer.training
    assert gradcheck(layer, np.random.default_rng(0).standard_normal((4, 3)))


def test_parameters_are_found_in_children_lists_and_once_when_shared():
    shared = Linear(2, 2, rng=0)
    tied = Linear(2, 2, rng=1)
    tied.weight, tied.bias = shared.weight, shared.bias
    model = Sequential(shared, Sigmoid(), tied)
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias"]

    class Pair(Layer):
        def __init__(self):
            self.blocks = [Linear(2, 3, rng=0), Linear(3, 1, bias=False, rng=1)]

    assert [name for name, _ in Pair().named_parameters()] == ["blocks.0.weight", "blocks.0.bias", "blocks.1.weight"]


@pytest.mark.parametrize("layer", [Linear(2, 3, rng=0), Sigmoid(), Scale(2), Sequential(Linear(2, 2, rng=0))])
def test_backward_before_forward_raises_clearly(layer):
    with pytest.raises(BackwardBeforeForwardError, match=f"{type(layer).__name__}.backward.*before forward"):
        layer.backward(np.ones((1, 2)))


def test_train_and_eval_reach_every_child():
    model = Sequential(Linear(2, 2, rng=0), Sequential(Sigmoid()))
    assert model.eval() is model
    assert not model.training and not model[1][0].training
    model.train()
    assert model.training and model[1][0].training


def test_zero_grad_clears_children():
    model = Sequential(Linear(2, 2, rng=0), Scale(2))
    for p in model.parameters():
        p.grad += 1
    model.zero_grad()
    assert all(not p.grad.any() for p in model.parameters())


def test_call_is_forward():
    layer = Linear(2, 3, rng=0)
    x = np.ones((4, 2))
    np.testing.assert_array_equal(layer(x), layer.forward(x))


def test_forward_and_backward_keep_their_docstrings():
    assert Linear.forward.__name__ == "forward" and "Affine map" in Linear.__doc__


def test_buffers_are_found_by_name_in_children():
    class Running(Layer):
        buffer_names = ("running_mean",)

        def __init__(self):
            self.running_mean = np.zeros(2)

    model = Sequential(Linear(2, 2, rng=0), Running())
    assert [(name, array.shape) for name, array in model.named_buffers()] == [("1.running_mean", (2,))]
