"""Forward and backward hooks on every layer: order, removal, no effect on results."""

import numpy as np
import pytest

from minnet import Layer, Linear, MSELoss, Parameter, Sequential, Sigmoid
from minnet.derivation import build_network, make_data


def run(model, X, Y):
    model.zero_grad()
    loss = MSELoss()
    value = loss(model(X), Y)
    grad_x = model.backward(loss.backward())
    return value, grad_x, [p.grad.copy() for p in model.parameters()]


def test_hooks_fire_in_forward_then_reverse_order_and_in_registration_order():
    X, Y = make_data()
    model = build_network(0)
    events = []
    for i, layer in enumerate(model):
        layer.register_forward_hook(lambda layer, inputs, out, i=i: events.append(("f", i, out.shape)))
        layer.register_backward_hook(lambda layer, g_out, g_in, i=i: events.append(("b", i, g_out.shape, g_in.shape)))
    model[0].register_forward_hook(lambda layer, inputs, out: events.append(("f0-second", inputs[0].shape)))
    run(model, X, Y)
    assert events == [
        ("f", 0, (8, 4)),
        ("f0-second", (8, 3)),
        ("f", 1, (8, 4)),
        ("f", 2, (8, 1)),
        ("f", 3, (8, 1)),
        ("b", 3, (8, 1), (8, 1)),
        ("b", 2, (8, 1), (8, 4)),
        ("b", 1, (8, 4), (8, 4)),
        ("b", 0, (8, 4), (8, 3)),
    ]


def test_hook_sees_the_arrays_of_the_pass():
    layer, seen = Sigmoid(), {}
    layer.register_forward_hook(lambda l, inputs, out: seen.update(x=inputs[0], y=out))
    layer.register_backward_hook(lambda l, g_out, g_in: seen.update(g_out=g_out, g_in=g_in))
    x = np.array([[0.0, 2.0]])
    y = layer(x)
    g = np.array([[1.0, 3.0]])
    g_in = layer.backward(g)
    assert seen["x"] is x
    assert seen["y"] is y
    assert seen["g_out"] is g
    assert seen["g_in"] is g_in


def test_remove_stops_the_hook_and_twice_is_harmless():
    layer, calls = Linear(2, 2, rng=0), []
    handle = layer.register_forward_hook(lambda *args: calls.append("forward"))
    back = layer.register_backward_hook(lambda *args: calls.append("backward"))
    layer.backward(layer(np.ones((1, 2))) * 0 + 1)
    handle.remove()
    handle.remove()
    back.remove()
    layer.backward(layer(np.ones((1, 2))))
    assert calls == ["forward", "backward"]


def test_handle_as_context_manager():
    layer, calls = Sigmoid(), []
    with layer.register_forward_hook(lambda *args: calls.append(1)):
        layer(np.zeros(2))
    layer(np.zeros(2))
    assert calls == [1]


def test_hooks_change_no_result():
    X, Y = make_data()
    model = build_network(0)
    before = run(model, X, Y)
    seen = []  # hooks that read and keep what they see, as a tracer does
    for layer in [model, *model]:
        layer.register_forward_hook(lambda layer, inputs, out: seen.append(np.linalg.norm(out)))
        layer.register_backward_hook(lambda layer, g_out, g_in: seen.append(np.array(g_in, copy=True)))
    after = run(model, X, Y)
    assert len(seen) == 2 * (len(model) + 1)
    assert before[0] == after[0]
    np.testing.assert_array_equal(before[1], after[1])
    for a, b in zip(before[2], after[2], strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_hook_returning_a_value_is_refused():
    layer = Sigmoid()
    layer.register_forward_hook(lambda layer, inputs, out: out * 2)
    with pytest.raises(TypeError, match="Sigmoid: a forward hook returned ndarray"):
        layer(np.zeros(2))


class Doubled(Sigmoid):
    """A subclass whose forward and backward call super(): hooks must fire once."""

    def forward(self, x):
        return 2 * super().forward(x)

    def backward(self, grad_output):
        return super().backward(2 * grad_output)


def test_super_forward_fires_hooks_once_with_the_outer_output():
    layer, outputs, grads = Doubled(), [], []
    layer.register_forward_hook(lambda l, inputs, out: outputs.append(out))
    layer.register_backward_hook(lambda l, g_out, g_in: grads.append((g_out, g_in)))
    y = layer(np.array([0.0]))
    g_in = layer.backward(np.array([1.0]))
    assert len(outputs) == 1
    assert outputs[0] is y
    assert y[0] == 1.0
    assert len(grads) == 1
    assert grads[0][1] is g_in
    assert g_in[0] == 0.5


class NoInit(Layer):
    """A user layer that never calls super().__init__()."""

    def __init__(self):
        self.w = Parameter(np.ones(2))
        self.x = None

    def forward(self, x):
        self.x = x
        return x * self.w.data

    def backward(self, grad_output):
        self.w.grad += (grad_output * self.x).sum(axis=0)
        return grad_output * self.w.data


def test_hooks_on_a_layer_that_skips_super_init():
    layer, calls = NoInit(), []
    layer.register_forward_hook(lambda *args: calls.append("f"))
    layer.register_backward_hook(lambda *args: calls.append("b"))
    layer.backward(layer(np.ones((3, 2))))
    assert calls == ["f", "b"]
    assert [name for name, _ in layer.named_parameters()] == ["w"]


def test_loss_hooks_get_none_as_grad_output():
    loss, seen = MSELoss(), []
    loss.register_forward_hook(lambda l, inputs, value: seen.append((len(inputs), value)))
    loss.register_backward_hook(lambda l, g_out, g_in: seen.append((g_out, g_in.shape)))
    value = loss(np.ones((2, 1)), np.zeros((2, 1)))
    loss.backward()
    assert seen == [(2, value), (None, (2, 1))]


def test_container_hooks_fire_around_the_children():
    model, order = Sequential(Linear(2, 2, rng=0), Sigmoid()), []
    for name, layer in [("seq", model), ("lin", model[0]), ("sig", model[1])]:
        layer.register_forward_hook(lambda *args, name=name: order.append(name))
    model(np.ones((1, 2)))
    assert order == ["lin", "sig", "seq"]
