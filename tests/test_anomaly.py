"""detect_anomaly: the first nan or inf of a pass raises AnomalyError naming the pass, the layer and the index."""

import threading

import numpy as np
import pytest

import minnet
from minnet import (
    LSTM,
    SGD,
    AnomalyError,
    Layer,
    Linear,
    MSELoss,
    MultiheadAttention,
    Parameter,
    ReLU,
    Sequential,
    Sigmoid,
    detect_anomaly,
)
from minnet.guards import anomaly

X = np.random.default_rng(0).normal(size=(4, 3))
Y = np.random.default_rng(1).normal(size=(4, 1))


class Exp(Layer):
    """y = exp(x), ∂L/∂x = g ⊙ y: overflows to inf for x above about 709."""

    def __init__(self):
        self.y = None

    def forward(self, x):
        self.y = np.exp(x)
        return self.y

    def backward(self, grad_output):
        return grad_output * self.y


def make_model():
    return Sequential(Linear(3, 5, rng=0), Sigmoid(), Linear(5, 1, rng=1))


def test_a_nan_in_the_input_is_named_at_the_model():
    x = X.copy()
    x[2, 1] = np.nan
    with detect_anomaly(), pytest.raises(AnomalyError) as info:
        make_model()(x)
    assert str(info.value) == "forward of Sequential(): input x has nan at index (2, 1) (the only non-finite value)"
    assert isinstance(info.value, FloatingPointError)
    assert (info.value.phase, info.value.path, info.value.index, info.value.count) == ("forward", "", (2, 1), 1)


def test_a_nan_in_a_weight_is_named_at_the_layer_whose_output_it_reaches_first():
    model = make_model()
    model[2].weight.data[3, 0] = np.nan
    with detect_anomaly(), pytest.raises(AnomalyError) as info:
        model(X)
    assert str(info.value) == (
        "forward of layer '2' Linear(in_features=5, out_features=1, bias=True): output has nan at index (0, 0) "
        "(first of 4 non-finite values)"
    )
    assert info.value.layer is model[2]


def test_an_overflow_in_forward_names_the_nested_layer_and_the_first_index():
    model = Sequential(Linear(3, 3, rng=0), Sequential(ReLU(), Exp()))
    model[0].bias.data[:] = [0.0, 800.0, 0.0]  # exp(800) overflows: column 1 of every row
    with detect_anomaly(), np.errstate(over="ignore"), pytest.raises(AnomalyError) as info:
        model(X)
    assert (
        str(info.value) == "forward of layer '1.1' Exp(): output has inf at index (0, 1) (first of 4 non-finite values)"
    )
    with np.errstate(over="ignore"):
        assert np.isinf(model(X)).any()  # outside the block the inf passes silently


def test_the_loss_value_and_the_loss_gradient():
    loss_fn = MSELoss()
    pred = np.array([[1.5e308], [0.0]])
    with np.errstate(over="ignore"):
        with detect_anomaly(), pytest.raises(AnomalyError, match=r"^forward of MSELoss\(.*\): the loss is inf$"):
            loss_fn(pred, -pred)
        assert loss_fn(pred, -pred) == np.inf  # outside: silently
        with detect_anomaly(), pytest.raises(AnomalyError) as info:
            loss_fn.backward()
    assert str(info.value).startswith(
        "backward of MSELoss(reduction='half_batch_mean'): ∂L/∂pred has inf at index (0, 0)"
    )
    with detect_anomaly(), pytest.raises(AnomalyError, match=r"forward of MSELoss\(.*\): target has nan at index 1"):
        loss_fn(np.zeros(3), np.array([0.0, np.nan, 0.0]))


def test_a_parameter_gradient_that_overflows_in_backward():
    model = Sequential(Linear(2, 2, rng=0))
    x = np.full((1, 2), 1e200)
    with detect_anomaly(), np.errstate(over="ignore"):
        output = model(x)  # about 1e200: finite
        with pytest.raises(AnomalyError) as info:
            model.backward(np.full_like(output, 1e200))  # ∂L/∂W = xᵀ g: 1e400
    assert str(info.value) == (
        "backward of layer '0' Linear(in_features=2, out_features=2, bias=True): the gradient of parameter "
        "'weight' has inf at index (0, 0) (first of 4 non-finite values)"
    )
    assert info.value.phase == "backward"


def test_a_non_finite_grad_output_and_returned_gradient():
    model = make_model()
    with detect_anomaly():
        model(X)
        grad = np.ones((4, 1))
        grad[3, 0] = -np.inf
        with pytest.raises(AnomalyError, match=r"^backward of Sequential\(\): grad_output has -inf at index \(3, 0\)"):
            model.backward(grad)

    class Broken(Layer):
        def forward(self, x):
            return x

        def backward(self, grad_output):
            return grad_output / 0.0

    model = Sequential(Broken(), Linear(3, 1, rng=0))
    with detect_anomaly(), np.errstate(divide="ignore"):
        model(X)
        with pytest.raises(AnomalyError) as info:
            model.backward(np.ones((4, 1)))
    assert str(info.value).startswith("backward of layer '0' Broken(): the gradient of the input has ")


def test_off_by_default_and_after_the_block():
    x = X.copy()
    x[0, 0] = np.nan
    model = make_model()
    assert not anomaly[0]
    assert np.isnan(model(x)).any()  # silently
    with detect_anomaly():
        assert anomaly[0]
    assert not anomaly[0]
    assert np.isnan(model(x)).any()


def test_nested_blocks_restore_the_state_they_found():
    x = X.copy()
    x[0, 0] = np.nan
    model = make_model()
    with detect_anomaly():
        with detect_anomaly(False):
            model(x)  # off inside: passes
            with detect_anomaly(), pytest.raises(AnomalyError):
                model(x)
            model(x)
        with pytest.raises(AnomalyError):
            model(x)
        with pytest.raises(AnomalyError), detect_anomaly():  # an error leaves the block: the state is put back
            model(x)
        assert anomaly[0]
    assert not anomaly[0]


def test_as_a_decorator():
    @detect_anomaly()
    def run(x):
        return make_model()(x)

    assert run(X).shape == (4, 1)
    with pytest.raises(AnomalyError):
        run(np.full((1, 3), np.inf))
    assert not anomaly[0]


def test_inside_fit():
    model = make_model()
    model[0].weight.data[0, 4] = np.inf
    with detect_anomaly(), pytest.raises(AnomalyError, match=r"^forward of layer '0' Linear\(.*\): output has "):
        minnet.fit(model, MSELoss(), SGD(model.parameters(), lr=0.1), X, Y, epochs=1, batch_size=2, progress=False)
    model = make_model()
    with detect_anomaly():  # a clean run raises nothing
        history = minnet.fit(model, MSELoss(), SGD(model.parameters(), lr=0.1), X, Y, epochs=2, batch_size=2)
    assert len(history.history["loss"]) == 2


def test_clean_passes_of_layers_with_several_inputs_and_outputs_raise_nothing():
    rng = np.random.default_rng(3)
    with detect_anomaly():
        lstm = LSTM(3, 4, rng=0)
        output, (_h, _c) = lstm(rng.normal(size=(5, 2, 3)))
        lstm.backward((np.ones_like(output), None))
        attention = MultiheadAttention(4, 2, rng=0)
        q = rng.normal(size=(3, 2, 4))
        output, _weights = attention(q, q, q)
        attention.backward(np.ones_like(output))


def test_a_users_layer_and_its_parameter_gradient():
    class Scale(Layer):
        def __init__(self):
            self.scale = Parameter(np.array([2.0, 3.0]))
            self.x = None

        def forward(self, x):
            self.x = x
            return self.scale.data * x

        def backward(self, grad_output):
            self.scale.grad += np.array([0.0, np.nan])  # a bug
            return grad_output * self.scale.data

    layer = Scale()
    with detect_anomaly():
        layer(np.ones((2, 2)))
        with pytest.raises(AnomalyError) as info:
            layer.backward(np.ones((2, 2)))
    assert str(info.value) == (
        "backward of Scale(): the gradient of parameter 'scale' has nan at index 1 (the only non-finite value)"
    )


@pytest.mark.parametrize(
    ("switch", "flag"),
    [(detect_anomaly, anomaly), (minnet.allow_stale_weights, minnet.guards.stale_allowed)],
    ids=["detect_anomaly", "allow_stale_weights"],
)
def test_blocks_of_two_threads_that_end_out_of_order_leave_the_switch_off(switch, flag):
    """Thread A enters, thread B enters, A leaves, B leaves: on while either is inside, off after both."""
    a_inside, b_inside, a_left = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def a():
        with switch():
            a_inside.set()
            b_inside.wait()
        a_left.set()

    def b():
        a_inside.wait()
        with switch():
            b_inside.set()
            a_left.wait()
            seen["after A left"] = flag[0]

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen["after A left"] is True  # B is still inside its block
    assert flag[0] is False  # both blocks ended: the switch is off, as before them


def test_inputs_given_by_name_are_checked_as_inputs_and_a_mask_is_not():
    rng = np.random.default_rng(4)
    h0 = np.zeros((1, 2, 4))
    h0[0, 1, 2] = np.nan
    lstm = LSTM(3, 4, rng=0)
    with detect_anomaly(), pytest.raises(AnomalyError) as info:
        lstm(rng.normal(size=(5, 2, 3)), hx=(h0, np.zeros((1, 2, 4))))
    assert str(info.value).endswith(": input 2[0] has nan at index (0, 1, 2) (the only non-finite value)")
    target = Y.copy()
    target[3, 0] = np.inf
    with detect_anomaly(), pytest.raises(AnomalyError, match=r"^forward of MSELoss\(.*\): target has inf at index"):
        MSELoss()(Y, target=target)
    attention = MultiheadAttention(4, 2, rng=0)
    q = rng.normal(size=(3, 2, 4))
    mask = np.zeros((3, 3))
    mask[0, 2] = -np.inf  # an option, not an input: -inf leaves key 2 out for query 0
    with detect_anomaly():
        output, _weights = attention(q, q, q, attn_mask=mask)
        attention.backward(np.ones_like(output))
