"""A backward refuses Parameters changed after its forward: StaleWeightsError, unless allow_stale_weights."""

import copy
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minnet
from minnet import (
    GRU,
    LSTM,
    SGD,
    Adagrad,
    Adam,
    AdamW,
    Layer,
    Linear,
    MSELoss,
    MultiheadAttention,
    Parameter,
    ReLU,
    RMSprop,
    Sequential,
    Sigmoid,
    StaleWeightsError,
    allow_stale_weights,
    detect_anomaly,
)

X = np.random.default_rng(0).normal(size=(4, 3))
Y = np.random.default_rng(1).normal(size=(4, 1))


def make_model():
    return Sequential(Linear(3, 5, rng=0), Sigmoid(), Linear(5, 1, rng=1))


def forward_and_loss(model):
    loss_fn = MSELoss()
    loss_fn(model(X), Y)
    return loss_fn.backward()


@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda ps: SGD(ps, lr=0.1),
        lambda ps: SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01),
        lambda ps: Adam(ps, lr=0.1),
        lambda ps: AdamW(ps, lr=0.1),
        lambda ps: RMSprop(ps, lr=0.1, momentum=0.5),
        lambda ps: Adagrad(ps, lr=0.1),
    ],
    ids=["SGD", "SGD-momentum", "Adam", "AdamW", "RMSprop", "Adagrad"],
)
def test_a_step_between_forward_and_backward_is_refused(make_optimizer):
    model = make_model()
    grad = forward_and_loss(model)
    make_optimizer(model.parameters()).step()
    with pytest.raises(StaleWeightsError, match=r"Linear\.backward: parameter 'weight' \(5, 1\) was changed after"):
        model.backward(grad)


def test_the_message_names_layer_parameter_version_and_the_way_out():
    model = make_model()
    grad = forward_and_loss(model)
    SGD(model.parameters(), lr=0.1).step()
    with pytest.raises(StaleWeightsError) as info:
        model.backward(grad)
    message = str(info.value)
    assert "Linear.backward: parameter 'weight' (5, 1)" in message
    assert "version 1" in message
    assert "run forward again" in message
    assert "allow_stale_weights" in message
    assert info.value.__notes__ == ["in layer 2 (Linear) of Sequential, during backward"]
    assert isinstance(info.value, RuntimeError)  # as PyTorch's error in the same case


def test_refused_before_anything_is_added_into_grad():
    layer = Linear(3, 2, rng=0)
    layer(X)
    layer.bias.data = layer.bias.data + 1.0
    with pytest.raises(StaleWeightsError, match="parameter 'bias'"):
        layer.backward(np.ones((4, 2)))
    assert not layer.weight.grad.any()
    assert not layer.bias.grad.any()


@pytest.mark.parametrize(
    "change",
    [
        lambda p: setattr(p, "data", p.data * 2.0),  # replaced
        lambda p: setattr(p, "data", p.data.astype(np.float32).astype(np.float64)),  # replaced, same values
        lambda p: p.__setattr__("data", p.data),  # set back: `p.data -= ...` does this
        lambda p: p.mark_changed(),
    ],
    ids=["replaced", "replaced-same-values", "set-back", "mark_changed"],
)
def test_data_set_or_marked_is_refused(change):
    layer = Linear(3, 2, rng=0)
    layer(X)
    change(layer.weight)
    with pytest.raises(StaleWeightsError, match="parameter 'weight' \\(3, 2\\)"):
        layer.backward(np.ones((4, 2)))


def test_augmented_assignment_on_data_is_refused():
    layer = Linear(3, 2, rng=0)
    layer(X)
    layer.weight.data -= 0.1  # numpy writes in place, then Python sets the attribute: the setter sees it
    with pytest.raises(StaleWeightsError):
        layer.backward(np.ones((4, 2)))


@pytest.mark.parametrize(
    "initialise",
    [
        lambda p: minnet.init.zeros_(p),
        lambda p: minnet.init.constant_(p, 0.5),
        lambda p: minnet.init.normal_(p, rng=0),
        lambda p: minnet.init.xavier_uniform_(p, rng=0),
        lambda p: minnet.init.kaiming_normal_(p, rng=0),
    ],
    ids=["zeros_", "constant_", "normal_", "xavier_uniform_", "kaiming_normal_"],
)
def test_an_initialiser_between_forward_and_backward_is_refused(initialise):
    layer = Linear(3, 2, rng=0)
    layer(X)
    initialise(layer.weight)
    with pytest.raises(StaleWeightsError, match="parameter 'weight'"):
        layer.backward(np.ones((4, 2)))


def test_load_state_dict_between_forward_and_backward_is_refused():
    model = make_model()
    grad = forward_and_loss(model)
    model.load_state_dict(make_model().state_dict())
    with pytest.raises(StaleWeightsError, match="parameter 'weight'"):
        model.backward(grad)


def test_load_from_a_file_between_forward_and_backward_is_refused(tmp_path):
    path = tmp_path / "weights.npz"
    minnet.save(make_model(), path)
    model = make_model()
    grad = forward_and_loss(model)
    minnet.load(model, path)
    with pytest.raises(StaleWeightsError):
        model.backward(grad)


def test_versions_count_the_writes():
    p = Parameter(np.zeros(3))
    assert p.version == 0
    p.data = np.ones(3)
    p.data += 1.0
    assert p.version == 2
    SGD([p], lr=0.1).step()
    assert p.version == 3
    minnet.init.ones_(p)
    p.mark_changed()
    assert p.version == 5


def test_a_raw_in_place_write_is_not_seen_outside_anomaly_mode_but_is_inside():
    layer = Linear(3, 2, rng=0)
    layer(X)
    layer.weight.data[0, 0] += 1.0  # no setter, no mark_changed: minnet cannot see it cheaply
    layer.backward(np.ones((4, 2)))
    with detect_anomaly():
        layer(X)
        layer.weight.data[0, 0] += 1.0
        with pytest.raises(StaleWeightsError, match=r"parameter 'weight' .* written in place .* checksum"):
            layer.backward(np.ones((4, 2)))
        layer(X)
        layer.backward(np.ones((4, 2)))  # no write: runs


def test_checksums_of_an_older_forward_are_not_compared():
    layer = Linear(3, 2, rng=0)
    with detect_anomaly():
        layer(X)  # checksums of these weights
    minnet.init.constant_(layer.weight, 0.5)
    layer(X)  # outside anomaly mode: no checksums
    with detect_anomaly():
        layer.backward(np.ones((4, 2)))  # the forward before saw the new weights: runs


def test_a_new_forward_after_the_change_makes_backward_run():
    model = make_model()
    forward_and_loss(model)
    SGD(model.parameters(), lr=0.1).step()
    model.backward(forward_and_loss(model))


def test_the_training_loop_and_fit_run():
    model = make_model()
    optimizer = Adam(model.parameters(), lr=0.01)
    loss_fn = MSELoss()
    for _ in range(3):
        optimizer.zero_grad()
        loss_fn(model(X), Y)
        model.backward(loss_fn.backward())
        optimizer.step()
    model = make_model()
    history = minnet.fit(model, MSELoss(), SGD(model.parameters(), lr=0.1), X, Y, epochs=2, batch_size=2)
    assert len(history.history["loss"]) == 2


def test_shared_weights_run_and_the_step_of_another_model_between_passes_is_not_stale():
    first = Linear(3, 3, rng=0)
    second = Linear(3, 3, rng=1)
    second.weight = first.weight  # tied
    model = Sequential(first, ReLU(), second)
    other = make_model()
    optimizer, other_optimizer = SGD(model.parameters(), lr=0.1), SGD(other.parameters(), lr=0.1)
    for _ in range(3):
        optimizer.zero_grad()
        model(X)
        other_optimizer.zero_grad()
        other.backward(forward_and_loss(other))
        other_optimizer.step()  # another model's Parameters: not this one's
        model.backward(np.ones((4, 3)))
        optimizer.step()
    model(X)
    optimizer.step()
    with pytest.raises(StaleWeightsError, match="parameter 'weight' \\(3, 3\\)") as info:
        model.backward(np.ones((4, 3)))
    assert info.value.__notes__ == ["in layer 2 (Linear) of Sequential, during backward"]


@pytest.mark.parametrize(
    ("make", "x", "name"),
    [
        (lambda: LSTM(3, 4, rng=0), np.ones((5, 2, 3)), "weight_ih_l0"),
        (lambda: GRU(3, 4, num_layers=2, rng=0), np.ones((5, 2, 3)), "weight_ih_l0"),
    ],
    ids=["LSTM", "GRU"],
)
def test_recurrent_layers_train_and_refuse_a_step_in_between(make, x, name):
    layer = make()
    optimizer = SGD(layer.parameters(), lr=0.1)
    for _ in range(2):
        output, _ = layer(x)
        layer.backward((np.ones_like(output), None))
        optimizer.step()
    output, _ = layer(x)
    optimizer.step()
    with pytest.raises(StaleWeightsError, match=f"{type(layer).__name__}.backward: parameter '{name}'"):
        layer.backward((np.ones_like(output), None))


def test_multihead_attention_trains_and_refuses_a_step_in_between():
    attention = MultiheadAttention(4, 2, rng=0)
    q = np.random.default_rng(2).normal(size=(3, 2, 4))
    optimizer = SGD(attention.parameters(), lr=0.1)
    for _ in range(2):
        output, _ = attention(q, q, q)
        attention.backward(np.ones_like(output))
        optimizer.step()
    output, _ = attention(q, q, q)
    optimizer.step()
    with pytest.raises(StaleWeightsError, match=r"MultiheadAttention\.backward: parameter 'in_proj_weight'"):
        attention.backward(np.ones_like(output))


def test_a_users_layer_gets_the_check():
    class Scale(Layer):
        def __init__(self):
            self.scale = Parameter(np.array([2.0]))
            self.x = None

        def forward(self, x):
            self.x = x
            return self.scale.data * x

        def backward(self, grad_output):
            self.scale.grad += np.sum(grad_output * self.x)
            return grad_output * self.scale.data

    layer = Scale()
    layer(X)
    SGD(layer.parameters(), lr=0.1).step()
    with pytest.raises(StaleWeightsError, match=r"Scale\.backward: parameter 'scale' \(1,\)"):
        layer.backward(np.ones_like(X))


def test_allow_stale_weights_lets_backward_run_and_nests():
    model = make_model()
    grad = forward_and_loss(model)
    SGD(model.parameters(), lr=0.1).step()
    with allow_stale_weights():
        with allow_stale_weights(False), pytest.raises(StaleWeightsError):
            model.backward(grad)
        model.backward(grad)
    with pytest.raises(StaleWeightsError):  # the state before the block is back
        model.backward(grad)


def test_allow_stale_weights_as_a_decorator_and_after_an_error():
    layer = Linear(3, 2, rng=0)

    @allow_stale_weights()
    def backward_after_a_step():
        layer(X)
        SGD(layer.parameters(), lr=0.1).step()
        return layer.backward(np.ones((4, 2)))

    assert backward_after_a_step().shape == X.shape
    with pytest.raises(ZeroDivisionError), allow_stale_weights():
        raise ZeroDivisionError
    layer(X)
    layer.weight.mark_changed()
    with pytest.raises(StaleWeightsError):
        layer.backward(np.ones((4, 2)))


def test_the_gradient_with_stale_weights_is_what_the_mixture_gives():
    """What allow_stale_weights lets through: Linear's ∂L/∂x reads the new W, ∂L/∂W the cached x."""
    layer = Linear(3, 2, rng=0)
    layer(X)
    layer.weight.data = layer.weight.data + 1.0
    g = np.ones((4, 2))
    with allow_stale_weights():
        grad_x = layer.backward(g)
    np.testing.assert_allclose(grad_x, g @ layer.weight.data.T)
    np.testing.assert_allclose(layer.weight.grad, X.T @ g)


def test_a_model_pickled_in_another_process_is_not_stale(tmp_path):
    """A Parameter's number in the count of writes belongs to the process that made it: a model pickled after
    50 steps and unpickled in a fresh process (whose count starts again) trains there like any other."""
    saved = tmp_path / "model.pkl"
    script = f"""
import pickle, sys
import copy
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
from minnet import SGD, Linear, Sequential
if sys.argv[1] == "save":
    model = Sequential(Linear(3, 2, rng=0))
    optimizer = SGD(model.parameters(), lr=0.1)
    for _ in range(50):
        optimizer.step()
    open({str(saved)!r}, "wb").write(pickle.dumps(model))
else:
    model = pickle.loads(open({str(saved)!r}, "rb").read())
    y = model(np.ones((1, 3)))
    SGD(Linear(2, 2, rng=1).parameters(), lr=0.1).step()  # another model's step: the count moves
    model.backward(np.ones_like(y))
    print(model[0].weight.version)
"""
    env = {**os.environ, "PYTHONPATH": str(Path(minnet.__file__).parents[1])}
    for stage in ("save", "load"):
        run = subprocess.run([sys.executable, "-c", script, stage], capture_output=True, text=True, env=env)
        assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "50"  # the version itself travels with the Parameter


def test_a_deep_copy_of_a_stale_model_is_stale():
    model = make_model()
    grad = forward_and_loss(model)
    SGD(model.parameters(), lr=0.1).step()
    copied = copy.deepcopy(model)
    with pytest.raises(StaleWeightsError):
        copied.backward(grad)
    copied = pickle.loads(pickle.dumps(model))  # in this process, as a deep copy
    with pytest.raises(StaleWeightsError):
        copied.backward(grad)


class Block(Layer):
    """Two Linears in attributes of a layer of one's own: which one is stale, the message must say."""

    def __init__(self):
        self.enc = Linear(3, 3, rng=0)
        self.dec = Linear(3, 3, rng=1)

    def forward(self, x):
        return self.dec(self.enc(x))

    def backward(self, grad_output):
        return self.enc.backward(self.dec.backward(grad_output))


def test_the_message_names_the_path_of_the_layer_in_the_model():
    model = Sequential(Block(), Sigmoid(), Sequential(Linear(3, 3, rng=2), Block()))
    y = model(X)
    model[2][1].enc.weight.mark_changed()
    with pytest.raises(StaleWeightsError) as info:
        model.backward(np.ones_like(y))
    assert str(info.value).startswith("layer '2.1.enc' Linear.backward: parameter 'weight' (3, 3) was changed after")
    assert (info.value.path, info.value.parameter, info.value.layer) == ("2.1.enc", "weight", model[2][1].enc)
    with pytest.raises(StaleWeightsError) as info:
        model[2].backward(np.ones_like(y))  # called on an inner layer, the path starts there
    assert str(info.value).startswith("layer '1.enc' Linear.backward: parameter 'weight'")


def test_a_parameter_replaced_by_another_between_forward_and_backward_is_refused():
    layer, other = Linear(3, 2, rng=0), Linear(3, 2, rng=1)
    layer(X)
    layer.weight = Parameter(np.zeros((3, 2)))  # a new Parameter: never written, version 0
    with pytest.raises(StaleWeightsError, match=r"parameter 'weight' \(3, 2\) was replaced by another Parameter"):
        layer.backward(np.ones((4, 2)))
    layer(X)
    other(X)
    layer.weight, other.weight = other.weight, layer.weight  # weights swapped: neither was written
    with pytest.raises(StaleWeightsError, match=r"parameter 'weight' \(3, 2\) was replaced"):
        other.backward(np.ones((4, 2)))
    with allow_stale_weights():
        layer.backward(np.ones((4, 2)))
    layer(X)  # a new forward runs with the new Parameter: its backward runs
    layer.backward(np.ones((4, 2)))
    tied = Linear(3, 2, rng=2)
    tied.weight = layer.weight  # tying before the forward is no change after it
    tied(X)
    tied.backward(np.ones((4, 2)))


def test_a_diagnostic_leaves_the_versions_as_it_found_them():
    """gradcheck draws parameter values (marked as writes) and puts the old ones back: a layer sharing the
    Parameters, whose forward ran before, still runs its backward; a Parameter changed before stays changed."""
    model = make_model()
    twin = make_model()
    for mine, theirs in zip(model, twin, strict=True):
        for name, param in mine.named_parameters():
            setattr(theirs, name, param)
    y = twin(X)
    versions = [p.version for p in model.parameters()]
    assert minnet.gradcheck(model, X).passed
    assert [p.version for p in model.parameters()] == versions
    twin.backward(np.ones_like(y))
    twin(X)
    model[2].weight.mark_changed()  # before the diagnostic: the twin's backward stays refused
    minnet.gradcheck(model, X)
    with pytest.raises(StaleWeightsError, match="parameter 'weight' \\(5, 1\\)"):
        twin.backward(np.ones_like(y))
