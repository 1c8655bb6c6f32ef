"""The dtype rule: float32 stays float32 end to end; mixed float dtypes raise, never cast.

- A layer with parameters (Linear, BatchNorm1d) takes input of its parameters' dtype.
- A layer without parameters keeps its input's float dtype.
- A loss computes in the prediction's dtype; a float target of another dtype raises.
- backward takes grad_output of the forward's dtype.
Integer (and bool) data is converted everywhere: to float64, or to the prediction's dtype for targets."""

import numpy as np
import pytest

from minnet import (
    GELU,
    SGD,
    BatchNorm1d,
    Concat,
    CrossEntropyLoss,
    Dropout,
    Linear,
    MSELoss,
    ReLU,
    Residual,
    Sequential,
    Softmax,
    Tanh,
)


def float32_model():
    return Sequential(
        Linear(4, 6, rng=0, dtype=np.float32),
        BatchNorm1d(6, dtype=np.float32),
        ReLU(),
        Dropout(0.2, rng=1),
        Residual(Sequential(Linear(6, 6, rng=2, dtype=np.float32), Tanh())),
        Concat(Linear(6, 2, rng=3, dtype=np.float32), Sequential(Linear(6, 1, rng=4, dtype=np.float32), GELU())),
    )


def test_float32_end_to_end_through_a_training_step():
    model = float32_model()
    x = np.random.default_rng(0).standard_normal((8, 4)).astype(np.float32)
    labels = np.random.default_rng(1).integers(0, 3, 8)
    loss_fn = CrossEntropyLoss()
    optimizer = SGD(model.parameters(), lr=0.1)
    out = model(x)
    assert out.dtype == np.float32
    loss = loss_fn(out, labels)
    assert isinstance(loss, float)
    grad = loss_fn.backward()
    assert grad.dtype == np.float32
    assert model.backward(grad).dtype == np.float32
    optimizer.step()
    for name, p in model.named_parameters():
        assert p.data.dtype == p.grad.dtype == np.float32, name
    for name, buffer in model.named_buffers():
        if name.endswith(("running_mean", "running_var")):
            assert buffer.dtype == np.float32, name


def test_float64_input_to_a_float32_model_raises_naming_the_layer():
    with pytest.raises(
        TypeError, match=r"^Linear: input dtype float64 does not match the layer's dtype float32"
    ) as info:
        float32_model()(np.ones((2, 4)))
    assert info.value.__notes__ == ["in layer 0 (Linear) of Sequential, during forward"]


def test_integer_input_becomes_float64():
    assert Softmax()(np.array([[1, 2]])).dtype == np.float64
    assert Linear(2, 1, rng=0)(np.array([[1, 2]])).dtype == np.float64


def test_a_float64_target_for_a_float32_prediction_raises():
    with pytest.raises(TypeError, match="MSELoss: target has dtype float64 but the prediction float32"):
        MSELoss()(np.ones((2, 1), dtype=np.float32), np.ones((2, 1)))


def test_a_float64_gradient_into_a_float32_model_raises():
    model = float32_model()
    out = model(np.ones((3, 4), dtype=np.float32))
    with pytest.raises(TypeError, match="grad_output has dtype float64, expected float32"):
        model.backward(np.ones(out.shape))


def test_integer_input_takes_the_layers_dtype():
    assert Linear(2, 1, rng=0, dtype=np.float32)(np.array([[1, 2]])).dtype == np.float32
    assert BatchNorm1d(2, dtype=np.float32)(np.array([[1, 2], [3, 5]])).dtype == np.float32
