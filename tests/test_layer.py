"""The Layer base class and Parameter: discovery, modes, the backward-before-forward guard."""

import numpy as np
import pytest

from minnet import BackwardBeforeForwardError, BatchNorm1d, Layer, Linear, Parameter, Sequential, Sigmoid, gradcheck


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
    assert p.grad.shape == (2, 3)
    assert p.grad.dtype == np.float32
    assert not p.grad.any()
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
    with pytest.raises(
        BackwardBeforeForwardError, match=rf"{type(layer).__name__}.backward\(\) was refused: no forward"
    ):
        layer.backward(np.ones((1, 2)))


def test_train_and_eval_reach_every_child():
    model = Sequential(Linear(2, 2, rng=0), Sequential(Sigmoid()))
    assert model.eval() is model
    assert not model.training
    assert not model[1][0].training
    model.train()
    assert model.training
    assert model[1][0].training


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
    assert Linear.forward.__name__ == "forward"
    assert "Affine map" in Linear.__doc__


def test_buffers_are_found_by_name_in_children():
    class Running(Layer):
        buffer_names = ("running_mean",)

        def __init__(self):
            self.running_mean = np.zeros(2)

    model = Sequential(Linear(2, 2, rng=0), Running())
    assert [(name, array.shape) for name, array in model.named_buffers()] == [("1.running_mean", (2,))]


class DictHolder(Layer):
    """Parameters and layers kept in dicts, as with PyTorch's ParameterDict and ModuleDict."""

    def __init__(self):
        self.gains = {"first": Parameter(np.ones(2)), "second": Parameter(np.full(2, 2.0))}
        self.blocks = {"encode": Linear(2, 3, rng=0), "norm": BatchNorm1d(3)}
        self.x = None

    def forward(self, x):
        self.x = x
        return self.blocks["norm"](self.blocks["encode"](x * self.gains["first"].data * self.gains["second"].data))

    def backward(self, grad_output):
        grad = self.blocks["encode"].backward(self.blocks["norm"].backward(grad_output))
        first, second = self.gains["first"], self.gains["second"]
        first.grad += (grad * self.x * second.data).sum(axis=0)
        second.grad += (grad * self.x * first.data).sum(axis=0)
        return grad * first.data * second.data


def test_parameters_and_layers_in_dict_attributes_are_found_as_attr_key():
    layer = DictHolder()
    names = [name for name, _ in layer.named_parameters()]
    assert names == [
        "gains.first",
        "gains.second",
        "blocks.encode.weight",
        "blocks.encode.bias",
        "blocks.norm.weight",
        "blocks.norm.bias",
    ]
    assert [name for name, _ in layer.named_children()] == ["blocks.encode", "blocks.norm"]
    assert [name for name, _ in layer.named_buffers()] == [
        "blocks.norm.running_mean",
        "blocks.norm.running_var",
        "blocks.norm.num_batches_tracked",
    ]
    assert "(blocks.encode): Linear(in_features=2, out_features=3, bias=True)" in repr(layer)
    assert not layer.eval().blocks["norm"].training
    x = np.random.default_rng(0).standard_normal((4, 2))
    assert gradcheck(layer.train(), x)
    layer.zero_grad()
    assert all(not p.grad.any() for p in layer.parameters())


def test_state_dict_round_trips_through_dict_attributes():
    source, target = DictHolder(), DictHolder()
    for p in source.parameters():
        p.data += np.arange(p.data.size).reshape(p.data.shape)
    source(np.random.default_rng(1).standard_normal((5, 2)))  # moves the running statistics
    state = source.state_dict()
    assert {"gains.first", "blocks.encode.weight", "blocks.norm.running_mean"} <= set(state)
    target.load_state_dict(state)
    for (name, a), (_, b) in zip(source.state_dict().items(), target.state_dict().items(), strict=True):
        np.testing.assert_array_equal(a, b, err_msg=name)


class Child(Layer):
    """A layer that keeps a reference to the layer that contains it."""

    def __init__(self, parent):
        self.parent = parent
        self.weight = Parameter(np.ones(2))


class Parent(Layer):
    def __init__(self):
        self.bias = Parameter(np.zeros(2))
        self.child = Child(self)
        self.norm = BatchNorm1d(2)


def test_a_reference_back_to_the_parent_is_refused_naming_both_places():
    """A layer that holds its container would be a second place of the container in its own tree."""
    model = Parent()
    expected = r"Parent: the same Parent object is at the top of the model and at 'child.parent'"
    uses = [lambda: list(model.named_parameters()), model.state_dict, model.zero_grad, model.train]
    for use in [*uses, lambda: model(np.ones((3, 2)))]:
        with pytest.raises(ValueError, match=expected):
            use()
    assert "(parent): <the same Parent as at the top of the model>" in repr(model)  # repr shows it, never raises


def test_hook_objects_are_not_children():
    class Recorder(Layer):
        def __init__(self):
            self.calls = 0

        def __call__(self, layer, inputs, output):
            self.calls += 1

    model, recorder = Linear(2, 1, rng=0), Recorder()
    model.register_forward_hook(recorder)
    model(np.ones((1, 2)))
    assert recorder.calls == 1
    assert list(model.named_children()) == []
    assert repr(model) == "Linear(in_features=2, out_features=1, bias=True)"


def test_diagnostics_refuse_a_model_with_a_reference_back_to_its_container():
    from minnet import MSELoss, explain

    model = Sequential(Linear(3, 2, rng=0), Sigmoid())
    model[1].owner = model  # a layer that knows its container: the container is in its own tree twice
    x, y = np.random.default_rng(0).standard_normal((4, 3)), np.zeros((4, 2))
    for diagnostic in (lambda: explain(model, MSELoss(), x, y), lambda: model.summary((4, 3))):
        with pytest.raises(
            ValueError, match=r"the same Sequential object is at the top of the model and at '1\.owner'"
        ):
            diagnostic()
