"""The spine every layer stands on: one walk of the layer tree, the checks of the base-class
wrappers, errors that keep their type, and diagnostics that leave no trace.

Each test here is one of the ways minnet went wrong before the spine existed."""

from __future__ import annotations

import errno
import importlib
import pkgutil
import threading

import numpy as np
import pytest

import minnet
from minnet import (
    SGD,
    BackwardBeforeForwardError,
    BatchNorm1d,
    Concat,
    CrossEntropyLoss,
    Dropout,
    Identity,
    Layer,
    Linear,
    Loss,
    MSELoss,
    Parameter,
    ReLU,
    Residual,
    Sequential,
    Sigmoid,
    Tanh,
    explain,
    gradcheck,
    jacobian,
)
from minnet.inspect import health, summarize
from minnet.nn.module import describe_derivatives
from minnet.nn.snapshot import Snapshot

RNG = np.random.default_rng(0)


# -- one walk --------------------------------------------------------------------------------------------


def test_the_same_layer_nested_twice_is_refused_at_construction_naming_both_places():
    block = Sequential(Linear(3, 3, rng=0), Tanh())
    with pytest.raises(ValueError, match=r"the same Sequential object is at '0' and at '1\.block'"):
        Sequential(block, Residual(block))
    with pytest.raises(ValueError, match=r"the same Linear object is at '0\.0' and at '1\.0'"):
        Concat(block, Sequential(block[0]))


class TwoNames(Layer):
    """One Linear under two attributes: it would run twice and its cache would hold the second call."""

    def __init__(self):
        self.first = Linear(2, 2, rng=0)
        self.second = self.first

    def forward(self, x):
        return self.second(self.first(x))

    def backward(self, grad_output):
        return self.first.backward(self.second.backward(grad_output))


def test_a_layer_under_two_attributes_is_refused_by_every_tool_and_at_the_first_forward():
    model, x = TwoNames(), np.ones((4, 2))
    expected = r"TwoNames: the same Linear object is at 'first' and at 'second'"
    for use in (
        lambda: model(x),
        lambda: list(model.parameters()),
        model.state_dict,
        model.train,
        lambda: model.summary((4, 2)),
        model.cache_report,
        lambda: explain(model, MSELoss(), x, np.zeros((4, 2))),
    ):
        with pytest.raises(ValueError, match=expected):
            use()
    assert "(second): <the same Linear as at 'first'>" in repr(model)  # repr shows the problem instead of raising


def test_a_change_of_the_tree_after_the_first_forward_is_checked_at_the_next():
    model = Sequential(Linear(2, 2, rng=0), Sigmoid())
    model(np.ones((1, 2)))
    inner = Sequential(Linear(2, 2, rng=1))
    model.append(inner)
    model(np.ones((1, 2)))
    inner.layers.append(model[0])  # an in-place change of a list: noticed by the walk that parameters() runs
    with pytest.raises(ValueError, match=r"the same Linear object is at '0' and at '2\.1'"):
        list(model.parameters())
    inner.layers.pop()
    extra = Double()
    extra.twin = model[1]
    with pytest.raises(ValueError, match=r"the same Sigmoid object is at '1' and at '3\.0\.twin'"):
        model.append(Sequential(extra))  # append walks the tree at once
    del extra.twin
    model.append(Sequential(extra))
    model(np.ones((1, 2)))
    extra.twin = model[1]  # setting an attribute is noticed: the next forward checks the tree again
    with pytest.raises(ValueError, match=r"the same Sigmoid object is at '1' and at '3\.0\.twin'"):
        model(np.ones((1, 2)))


class Blocks(Layer):
    """Layers in a list inside a list, and a Parameter in a dict inside a tuple."""

    def __init__(self):
        self.blocks = [[Linear(3, 4, rng=0), Linear(4, 4, rng=1)], [Linear(4, 2, rng=2)]]
        self.extras = ({"scale": Parameter(np.ones(2))},)

    def forward(self, x):
        for group in self.blocks:
            for layer in group:
                x = layer(x)
        return x * self.extras[0]["scale"].data

    def backward(self, grad_output):
        self.extras[0]["scale"].grad += np.sum(grad_output * self.blocks[1][0].forward_output, axis=0)
        grad = grad_output * self.extras[0]["scale"].data
        for group in reversed(self.blocks):
            for layer in reversed(group):
                grad = layer.backward(grad)
        return grad


def test_layers_in_a_list_inside_a_list_are_found_trained_saved_and_switched():
    model = Blocks()
    names = [name for name, _ in model.named_parameters()]
    assert names == [
        "extras.0.scale",  # the model's own Parameter first: the walk is pre-order
        "blocks.0.0.weight",
        "blocks.0.0.bias",
        "blocks.0.1.weight",
        "blocks.0.1.bias",
        "blocks.1.0.weight",
        "blocks.1.0.bias",
    ]
    assert [path for path, _ in model.named_layers()] == ["", "blocks.0.0", "blocks.0.1", "blocks.1.0"]
    assert list(model.state_dict()) == names
    assert not model.eval().blocks[1][0].training
    deep = model.blocks[1][0]
    deep.register_forward_hook(lambda layer, inputs, output: setattr(layer, "forward_output", output))
    before = deep.weight.data.copy()
    optimizer, loss_fn = SGD(model.parameters(), lr=0.1), MSELoss()
    loss_fn(model(RNG.standard_normal((5, 3))), np.zeros((5, 2)))
    model.backward(loss_fn.backward())
    optimizer.step()
    assert not np.array_equal(deep.weight.data, before)  # the innermost layer trains


def test_two_parameters_never_share_a_dotted_name():
    class Clash(Layer):
        def __init__(self):
            self.table = {"a.b": Parameter(np.zeros(1)), "a": {"b": Parameter(np.ones(1))}}

    with pytest.raises(ValueError, match=r"Clash: two Parameters have the name 'table\.a\.b'"):
        Clash().state_dict()


def test_layers_in_a_set_are_refused_not_skipped():
    class Unordered(Layer):
        def __init__(self):
            self.parts = {Linear(2, 2, rng=0), Sigmoid()}

    with pytest.raises(TypeError, match=r"Unordered: attribute 'parts' holds layers or Parameters in a set"):
        list(Unordered().parameters())


def test_summary_and_cache_report_walk_the_same_layers():
    model = Sequential(Linear(3, 4, rng=0), Sequential(Sigmoid(), Linear(4, 2, rng=1)))
    summary = summarize(model, (5, 3))
    report = model.cache_report()  # the caches of summary's own pass
    assert summary.cache_bytes == report.total_bytes > 0
    assert [row.index for row in summary.rows] == ["0", "1", "1.0", "1.1"]
    assert [entry.layer_path for entry in report.entries] == ["0", "1.0", "1.1"]


# -- the wrappers' checks, for a user's layer as for minnet's own ------------------------------------------


class Double(Layer):
    """A user's layer that writes only its math."""

    def forward(self, x):
        return 2 * x

    def backward(self, grad_output):
        return 2 * grad_output


class Scale(Layer):
    """A user's layer with a float32 parameter."""

    def __init__(self):
        self.scale = Parameter(np.full(3, 2.0), dtype=np.float32)

    def forward(self, x):
        self.x = x
        return x * self.scale.data

    def backward(self, grad_output):
        self.scale.grad += np.sum(grad_output * self.x, axis=0)
        return grad_output * self.scale.data


def test_integer_input_to_a_users_layer_becomes_its_float_dtype():
    assert Double()(np.array([1, 2])).dtype == np.float64  # not int64
    assert Scale()(np.array([[1, 2, 3]])).dtype == np.float32  # the dtype of its parameter
    with pytest.raises(TypeError, match=r"Scale: input dtype float64 does not match the layer's dtype float32"):
        Scale()(np.ones((1, 3)))
    with pytest.raises(TypeError, match=r"Double: expected real numbers as the input, got dtype complex128"):
        Double()(np.array([1 + 2j]))


def test_a_wrong_grad_output_to_a_users_layer_is_refused_naming_it():
    layer = Double()
    layer(np.ones(2))
    with pytest.raises(ValueError, match=r"Double: expected grad_output of shape \(2,\), got \(5, 5\)"):
        layer.backward(np.ones((5, 5)))
    with pytest.raises(TypeError, match=r"Double: grad_output has dtype float32, expected float64"):
        layer.backward(np.ones(2, dtype=np.float32))
    assert layer.backward(np.array([1, 1])).dtype == np.float64  # integer data is converted


def test_a_wrong_gradient_returned_by_a_users_layer_is_blamed_on_it():
    class Shrinks(Double):
        def backward(self, grad_output):
            return grad_output[:, :1]

    model = Sequential(Linear(3, 2, rng=0), Shrinks())
    model(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"^Shrinks.backward returned a gradient of shape \(4, 1\)") as info:
        model.backward(np.ones((4, 2)))
    assert info.value.__notes__ == ["in layer 1 (Shrinks) of Sequential, during backward"]

    class Upcasts(Double):
        def backward(self, grad_output):
            return grad_output.astype(np.float64)

    layer = Upcasts()
    layer(np.ones(2, dtype=np.float32))
    with pytest.raises(TypeError, match=r"Upcasts.backward returned a gradient of dtype float64 for the input x of"):
        layer.backward(np.ones(2, dtype=np.float32))


def test_backward_after_a_failed_forward_is_refused_in_the_layer_and_every_container_above():
    class FailsOnBigBatches(Double):
        def forward(self, x):
            if len(x) > 2:
                raise ValueError("batch too large")
            return super().forward(x)

    failing = FailsOnBigBatches()
    inner = Sequential(Linear(2, 2, rng=0), failing)
    model = Sequential(inner, Sigmoid())
    model(np.ones((1, 2)))  # a complete pass, then a failed one
    with pytest.raises(ValueError, match="batch too large"):
        model(np.ones((3, 2)))
    for layer in (model, inner, failing):
        with pytest.raises(BackwardBeforeForwardError, match="its last forward\\(\\) raised"):
            layer.backward(np.ones((1, 2)))
    assert inner[0].backward(np.ones((3, 2))).shape == (3, 2)  # the Linear finished: it holds the new batch
    model(np.ones((1, 2)))
    assert model.backward(np.ones((1, 2))).shape == (1, 2)  # a complete forward makes backward possible again


class GradientExplosion(Exception):
    """A user's exception with its own constructor and attribute."""

    def __init__(self, layer_name, norm):
        super().__init__(f"{layer_name}: gradient norm {norm}")
        self.norm = norm


def test_a_childs_exception_keeps_its_type_and_attributes_through_containers():
    class Explodes(Double):
        def backward(self, grad_output):
            raise GradientExplosion("Explodes", 1e9)

    class ReadsAFile(Double):
        def forward(self, x):
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", "weights.npz")

    model = Sequential(Linear(2, 2, rng=0), Residual(Sequential(Explodes())))
    model(np.ones((1, 2)))
    with pytest.raises(GradientExplosion) as info:
        model.backward(np.ones((1, 2)))
    assert info.value.norm == 1e9
    assert str(info.value) == "Explodes: gradient norm 1000000000.0"
    assert info.value.__notes__ == [
        "in layer 0 (Explodes) of Sequential, during backward",
        "in layer block (Sequential) of Residual, during backward",
        "in layer 1 (Residual) of Sequential, during backward",
    ]
    with pytest.raises(FileNotFoundError) as info:
        Concat(Identity(), ReadsAFile())(np.ones((1, 2)))
    assert (info.value.errno, info.value.filename) == (errno.ENOENT, "weights.npz")
    assert info.value.__notes__ == ["in layer 1 (ReadsAFile) of Concat, during forward"]


def test_a_loss_is_refused_as_a_child_of_a_container():
    for build in (lambda: Sequential(Linear(2, 1), MSELoss()), lambda: Residual(MSELoss()), lambda: Concat(MSELoss())):
        with pytest.raises(TypeError, match=r"is a loss \(MSELoss\); a loss is where the backward chain starts"):
            build()
    assert not isinstance(MSELoss(), Layer)
    assert isinstance(MSELoss(), Loss)


def test_a_users_loss_gets_checked_arrays_and_a_checked_grad_output():
    class SumOfSquares(Loss):
        def forward(self, pred, target):
            self.diff = pred - target
            return self._reduce(self.diff**2)

        def backward(self):  # a loss's backward may take no argument at all
            return 2 * self.diff * self._upstream(None, self.diff.shape, self.diff.dtype)

    loss_fn = SumOfSquares()
    assert loss_fn(np.array([[1, 2]]), [[0, 0]]) == 2.5  # integer data converted
    np.testing.assert_array_equal(loss_fn.backward(), [[1.0, 2.0]])
    with pytest.raises(ValueError, match=r"SumOfSquares: target shape \(2,\) does not match prediction shape \(2, 1\)"):
        loss_fn(np.ones((2, 1)), np.ones(2))
    loss_fn(np.ones((2, 1)), np.ones((2, 1)))
    with pytest.raises(TypeError, match=r"SumOfSquares.backward\(\) takes no grad_output with reduction='mean'"):
        loss_fn.backward(np.ones((2, 1)))
    with pytest.raises(ValueError, match=r"CrossEntropyLoss: class labels must be in \[0, 2\] for 3 classes"):
        CrossEntropyLoss()(np.zeros((2, 3)), np.array([0, 3]))


class Lookup(Layer):
    """A tiny embedding: rows of a table picked by integer indices."""

    input_kind = "integer"

    def __init__(self):
        self.table = Parameter(np.arange(6.0).reshape(3, 2))

    def forward(self, indices):
        self.indices = indices
        return self.table.data[indices]

    def backward(self, grad_output):
        np.add.at(self.table.grad, self.indices, grad_output)
        return None


def test_integer_input_kind_takes_indices_and_returns_no_input_gradient():
    layer = Lookup()
    np.testing.assert_array_equal(layer(np.array([2, 0, 2])), [[4, 5], [0, 1], [4, 5]])
    assert layer.backward(np.ones((3, 2))) is None
    np.testing.assert_array_equal(layer.table.grad, [[1, 1], [0, 0], [2, 2]])  # a repeated index adds up
    with pytest.raises(TypeError, match="Lookup: expected integer indices, got an array of dtype float64"):
        layer(np.array([0.0, 1.0]))
    model = Sequential(Lookup(), Linear(2, 1, rng=0))  # a Sequential passes indices to its first layer
    model(np.array([1, 2]))
    assert model.backward(np.ones((2, 1))) is None

    class Spread(Double):
        """(N,) -> (N, 2): a float branch beside the lookup."""

        def forward(self, x):
            return np.stack([x, x], axis=1)

        def backward(self, grad_output):
            return grad_output.sum(axis=1)

    pair = Concat(Lookup(), Lookup())
    assert pair(np.array([0, 2])).shape == (2, 4)
    assert pair.backward(np.ones((2, 4))) is None
    for branches in ((Spread(), Lookup()), (Lookup(), Spread())):  # a gradient-less branch adds nothing, in any order
        both = Concat(*branches)
        both(np.array([0, 2]))
        np.testing.assert_array_equal(both.backward(np.ones((2, 4))), [2.0, 2.0])

    class ReturnsAGradient(Lookup):
        def backward(self, grad_output):
            super().backward(grad_output)
            return np.zeros(3)

    layer = ReturnsAGradient()
    layer(np.array([0, 1, 2]))
    with pytest.raises(TypeError, match="an input of integer indices has no gradient, so backward returns None"):
        layer.backward(np.ones((3, 2)))


def test_a_parameters_new_dtype_is_the_layers_new_dtype():
    layer = Linear(2, 1, rng=0)
    layer(np.ones((1, 2)))
    for param in layer.parameters():
        param.data, param.grad = param.data.astype(np.float32), param.grad.astype(np.float32)
    assert layer(np.array([[1, 2]])).dtype == np.float32
    with pytest.raises(TypeError, match="Linear: input dtype float64 does not match the layer's dtype float32"):
        layer(np.ones((1, 2)))


def test_separate_models_in_separate_threads_give_the_results_of_one_thread():
    def run(seed, results):
        model = Sequential(Linear(4, 8, rng=seed), Tanh(), Linear(8, 2, rng=seed + 1))
        loss_fn, x = MSELoss(), np.random.default_rng(seed).standard_normal((16, 4))
        optimizer = SGD(model.parameters(), lr=0.1)
        for _ in range(50):
            optimizer.zero_grad()
            loss_fn(model(x), np.zeros((16, 2)))
            model.backward(loss_fn.backward())
            optimizer.step()
        results[seed] = model.state_dict()

    alone, together = {}, {}
    for seed in (0, 10):
        run(seed, alone)
    threads = [threading.Thread(target=run, args=(seed, together)) for seed in (0, 10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for seed in (0, 10):
        for name, value in alone[seed].items():
            np.testing.assert_array_equal(together[seed][name], value, err_msg=name)


def test_a_forward_that_raises_leaves_no_flag_behind():
    """The re-entrancy flags are reset, never deleted: no KeyError, whatever raised before."""

    class Nested(Double):
        def forward(self, x):
            if x.size == 0:
                raise ValueError("empty")
            return super().forward(x)  # the inner call of the same layer runs bare

    layer = Nested()
    with pytest.raises(ValueError, match="empty"):
        layer(np.ones((0,)))
    assert layer(np.ones(2)).tolist() == [2.0, 2.0]
    assert layer.backward(np.ones(2)).tolist() == [2.0, 2.0]


# -- diagnostics leave no trace ------------------------------------------------------------------------------


def _model_with_state():
    model = Sequential(Linear(3, 4, rng=0), BatchNorm1d(4), ReLU(), Dropout(0.3, rng=1), Linear(4, 2, rng=2))
    model(RNG.standard_normal((6, 3)))  # running statistics away from their start
    for param in model.parameters():
        param.grad[...] = RNG.standard_normal(param.grad.shape)  # gradients a user is accumulating
    return model


def _state(model):
    """Every array object with a copy of its value, the generators' states and the modes."""
    arrays = [(p.data, p.data.copy()) for p in model.parameters()] + [
        (p.grad, p.grad.copy()) for p in model.parameters()
    ]
    arrays += [(buffer, buffer.copy()) for _, buffer in model.named_buffers()]
    generators = [model[3].rng.bit_generator.state]
    modes = [layer.training for _, layer in model.named_layers()]
    return arrays, generators, modes, np.random.get_state()[1].copy()  # noqa: NPY002  # the global state, on purpose


def _assert_same(model, before):
    arrays, generators, modes, global_state = before
    after_arrays = [p.data for p in model.parameters()] + [p.grad for p in model.parameters()]
    after_arrays += [buffer for _, buffer in model.named_buffers()]
    for (obj, value), now in zip(arrays, after_arrays, strict=True):
        assert now is obj  # the same array object: references held elsewhere stay valid
        np.testing.assert_array_equal(now, value)
    assert [model[3].rng.bit_generator.state] == generators
    assert [layer.training for _, layer in model.named_layers()] == modes
    np.testing.assert_array_equal(np.random.get_state()[1], global_state)  # noqa: NPY002  # the global state


@pytest.mark.parametrize(
    "diagnostic",
    [
        lambda model, x, y: gradcheck(model, x, y, loss_fn=MSELoss()),
        lambda model, x, y: jacobian(model, x[:2]),
        lambda model, x, y: explain(model, MSELoss(), x, y),
        lambda model, x, y: health(model, x, y),
        lambda model, x, y: model.summary(x.shape),
        lambda model, x, y: Snapshot(model),
    ],
    ids=["gradcheck", "jacobian", "explain", "health", "summary", "snapshot-only"],
)
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_diagnostics_leave_parameters_gradients_buffers_generators_and_modes_as_they_were(diagnostic, mode):
    model = _model_with_state()
    model.train(mode == "train")
    model[1].training = True  # a mixed mode: each layer's own mode must come back
    x, y = RNG.standard_normal((5, 3)), RNG.standard_normal((5, 2))
    tracked = model[1].num_batches_tracked
    before = _state(model)
    diagnostic(model, x, y)
    _assert_same(model, before)
    assert model[1].num_batches_tracked is tracked


def test_plots_leave_no_trace(tmp_path):
    pytest.importorskip("matplotlib")
    from minnet import plot

    model = _model_with_state()
    before = _state(model)
    plot.activation_histograms(model, RNG.standard_normal((5, 3)), tmp_path / "a.png")
    _assert_same(model, before)
    planar = Sequential(Linear(2, 4, rng=0), BatchNorm1d(4), ReLU(), Dropout(0.3, rng=1), Linear(4, 2, rng=2))
    planar(RNG.standard_normal((6, 2)))
    before = _state(planar)
    plot.decision_boundary(planar, RNG.standard_normal((6, 2)), np.array([0, 1, 0, 1, 1, 0]), resolution=20)
    _assert_same(planar, before)


# -- the layout ------------------------------------------------------------------------------------------------


def test_no_module_shares_its_name_with_a_function():
    for info in pkgutil.walk_packages(minnet.__path__, "minnet."):
        module = importlib.import_module(info.name)
        package, _, name = info.name.rpartition(".")
        assert getattr(importlib.import_module(package), name, module) is module, info.name
    inspect_package = importlib.import_module("minnet.inspect")
    assert inspect_package.health is health
    assert minnet.explain is inspect_package.explain


# -- the teaching metadata -------------------------------------------------------------------------------------


def test_local_derivative_as_text_is_refused_when_the_class_is_made():
    with pytest.raises(TypeError, match=r"Old.local_derivative must map what is differentiated to its formula"):

        class Old(Double):
            local_derivative = "∂y/∂x = 2"


def test_the_formulas_that_apply_follow_mode_parameters_and_reduction():
    assert Linear(2, 3).local_derivatives() == {"∂L/∂x": "g Wᵀ", "∂L/∂W": "xᵀ g", "∂L/∂b": "Σ_i g_i"}
    assert "∂L/∂b" not in Linear(2, 3, bias=False).local_derivatives()
    assert set(BatchNorm1d(2, affine=False).local_derivatives()) == {"∂L/∂x"}
    assert Dropout().local_derivatives() == {"∂L/∂x": "g ⊙ m/(1 − p)"}
    assert Dropout().eval().local_derivatives() == {"∂L/∂x": "g"}
    assert MSELoss().local_derivatives() == {"∂L/∂ŷ": "(ŷ − Y)/N"}
    assert MSELoss(reduction="sum").local_derivatives() == {"∂ℓ/∂ŷ": "2(ŷ − Y)", "∂L/∂ℓ": "1 (sum)"}
    assert Double().local_derivatives() == {}
    assert describe_derivatives(Dropout.local_derivative) == ["∂L/∂x = g ⊙ m/(1 − p) (training)", "∂L/∂x = g (eval)"]


def test_health_reads_class_attributes_not_class_names():
    class Clipped(Layer):
        """A user's bounded activation: health reports its saturation."""

        saturation_bounds = (-1.0, 1.0)

        def forward(self, x):
            return np.clip(x, -1, 1)

        def backward(self, grad_output):
            return grad_output

    class LoudReLU(ReLU):
        """A subclass keeps ReLU's dead-unit report."""

    model = Sequential(Linear(2, 3, rng=0), Clipped(), LoudReLU())
    report = health(model, 100 * np.ones((4, 2)), np.zeros((4, 3)))
    assert report.layers[1].saturated == 1.0
    assert report.layers[2].dead is not None
    largest = health(Sequential(Linear(2, 3, rng=0)), np.ones((4, 2)), np.array([0, 1, 2, 0]), CrossEntropyLoss())
    assert largest.largest_logit is not None  # CrossEntropyLoss.takes_logits


def test_the_layers_table_shows_each_classs_local_derivative():
    """docs/layers.md's "backward applies" column is the class's own table, written out."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "layers.md").read_text(encoding="utf-8")
    rows = {m.group(1): line.split(" | ")[2] for line in text.splitlines() if (m := re.match(r"\| `(\w+)\(", line))}
    public = [getattr(minnet, name) for name in minnet.__all__]
    classes = [c for c in public if isinstance(c, type) and issubclass(c, (Layer, Loss)) and c not in (Layer, Loss)]
    assert classes
    assert {c.__name__ for c in classes} <= set(rows)
    for cls in classes:
        assert cls.local_derivative, f"{cls.__name__} states no local_derivative"
        expected = "; ".join(f"`{line}`" for line in describe_derivatives(cls.local_derivative))
        assert rows[cls.__name__].startswith(expected), f"docs/layers.md row of {cls.__name__}: {expected}"


# -- found by review: each of these went wrong in a first version of the spine ---------------------------------


def test_a_training_step_does_not_make_layers_walk_their_tree_again(monkeypatch):
    """An optimizer's p.data -= ... and BatchNorm's num_batches_tracked += 1 set the same arrays back."""
    from minnet.nn.module import Module

    model = Sequential(Linear(4, 4, rng=0), BatchNorm1d(4), Tanh(), Linear(4, 1, rng=1))
    optimizer, loss_fn, x = SGD(model.parameters(), lr=0.1), MSELoss(), RNG.standard_normal((8, 4))
    calls = []
    original = Module._check_tree
    monkeypatch.setattr(Module, "_check_tree", lambda self: calls.append(self) or original(self))
    for _ in range(3):
        optimizer.zero_grad()
        loss_fn(model(x), np.zeros((8, 1)))
        model.backward(loss_fn.backward())
        optimizer.step()
    assert len(calls) == 6  # the five layers and the loss once, at the first forward; no step changed the tree
    model[0].weight.data = model[0].weight.data.copy()  # a new array is a change: its dtype may differ
    model(x)
    assert len(calls) == 11


def test_building_a_sequential_walks_its_tree_once(monkeypatch):
    from minnet.nn.module import Module

    walks = []
    original = Module.walk
    monkeypatch.setattr(Module, "walk", lambda self, *a, **k: walks.append(self) or original(self, *a, **k))
    Sequential(*[Tanh() for _ in range(50)])
    assert len(walks) == 1


def test_a_subclass_of_sequential_keeps_its_own_children():
    class WithHead(Sequential):
        def __init__(self, *layers):
            super().__init__(*layers)
            self.head = Linear(2, 1, rng=9)

    model = WithHead(Linear(3, 2, rng=0))
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias", "head.weight", "head.bias"]


def test_deleting_a_child_is_a_change_of_the_tree():
    class Head(Layer):
        def __init__(self):
            self.linear = Linear(3, 1, rng=0, dtype=np.float32)
            self.spare = Linear(3, 1, rng=0)  # float64: the two dtypes disagree, so none is the head's

        def forward(self, x):
            return self.linear(x)

        def backward(self, grad_output):
            return self.linear.backward(grad_output)

    head = Head()
    head(np.ones((2, 3), dtype=np.float32))
    del head.spare
    assert head(np.ones((2, 3), dtype=np.int64)).dtype == np.float32  # now float32 is the head's dtype


def test_forward_and_backward_from_a_mixin_are_wrapped_too():
    class ScaleMath:
        def forward(self, x):
            return 2 * x

        def backward(self, grad_output):
            return 2 * grad_output

    class Scale2(ScaleMath, Layer):
        pass

    layer = Scale2()
    with pytest.raises(BackwardBeforeForwardError):
        layer.backward(np.ones(2))
    assert layer(np.array([1, 2])).dtype == np.float64
    with pytest.raises(ValueError, match=r"Scale2: expected grad_output of shape \(2,\), got \(5, 5\)"):
        layer.backward(np.ones((5, 5)))


def test_a_layer_of_your_own_passes_indices_to_a_lookup_inside_it():
    class Model(Layer):
        def __init__(self):
            self.embed, self.out = Lookup(), Linear(2, 1, rng=0)

        def forward(self, indices):
            return self.out(self.embed(indices))

        def backward(self, grad_output):
            return self.embed.backward(self.out.backward(grad_output))

    model = Model()
    assert model(np.array([0, 2])).shape == (2, 1)
    assert model.backward(np.ones((2, 1))) is None


def test_a_layer_with_several_inputs_returns_a_gradient_for_each():
    class Product(Layer):
        def forward(self, a, b):
            self.a, self.b = a, b
            return a * b

        def backward(self, grad_output):
            return grad_output * self.b, grad_output * self.a

    class Masked(Layer):
        def forward(self, x, mask):
            self.mask = mask
            return np.where(mask, x, 0.0)

        def backward(self, grad_output):
            return np.where(self.mask, grad_output, 0.0)  # the mask has no gradient

    product = Product()
    product(np.ones((2, 3)), np.full((2, 3), 2.0))
    grad_a, grad_b = product.backward(np.ones((2, 3)))
    assert grad_a.tolist() == [[2.0] * 3] * 2
    assert grad_b.tolist() == [[1.0] * 3] * 2
    masked = Masked()
    masked(np.ones((2, 2)), np.array([[True, False], [False, True]]))
    assert masked.backward(np.ones((2, 2))).tolist() == [[1.0, 0.0], [0.0, 1.0]]

    class WrongSecond(Product):
        def backward(self, grad_output):
            return grad_output * self.b, grad_output[:1]

    wrong = WrongSecond()
    wrong(np.ones((2, 3)), np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"WrongSecond.backward returned a gradient of shape \(1, 3\) for input 2"):
        wrong.backward(np.ones((2, 3)))


def test_forward_without_an_input_or_with_keyword_only_inputs():
    class Bias(Layer):
        input_kind = "any"

        def __init__(self):
            self.value = Parameter(np.zeros(3))

        def forward(self):
            return self.value.data.copy()

        def backward(self, grad_output):
            self.value.grad += grad_output

    class KeywordOnly(Double):
        def forward(self, *, x):
            return 2 * x

    bias = Bias()
    assert bias().shape == (3,)
    assert bias.backward(np.ones(3)) is None
    assert KeywordOnly()(x=np.ones(2)).tolist() == [2.0, 2.0]


def test_backward_after_a_diagnostic_ran_a_pass_is_refused():
    """The diagnostic's pass overwrote the caches: a pending backward would use its batch."""
    model, loss_fn = Sequential(Linear(3, 2, rng=0), Tanh()), MSELoss()
    loss_fn(model(RNG.standard_normal((4, 3))), np.zeros((4, 2)))
    grad = loss_fn.backward()
    explain(model, MSELoss(), RNG.standard_normal((5, 3)), np.zeros((5, 2)))
    with pytest.raises(BackwardBeforeForwardError, match=r"a diagnostic .* ran a pass since its last forward"):
        model.backward(grad)
    model(RNG.standard_normal((4, 3)))
    assert model.backward(grad).shape == (4, 3)


def test_a_diagnostic_does_not_rewind_numpys_global_random_state():
    """Another thread may draw from it while a diagnostic runs."""
    model = Sequential(Linear(2, 2, rng=0))
    with minnet.nn.snapshot.preserved(model):
        np.random.random()  # noqa: NPY002  # the global state is what this test is about
        drawn = np.random.get_state()[2]  # noqa: NPY002
    assert np.random.get_state()[2] == drawn  # noqa: NPY002


def test_explain_names_the_input_when_it_is_a_list():
    from minnet.derivation import VALUE_NAMES, build_network, make_data

    X, Y = make_data()
    trace = explain(build_network(0), MSELoss(), X.tolist(), Y, names=VALUE_NAMES)
    assert trace[-1].input_name == "X"
    assert trace[-1].formula.startswith("∂L/∂X = ∂L/∂H W")
