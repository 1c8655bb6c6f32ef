"""Linear."""

import numpy as np
import pytest

from minnet import Linear


def test_shapes_orientation_and_repr():
    layer = Linear(3, 4, bias=False, rng=0)
    assert layer.weight.data.shape == (3, 4) and layer.bias is None
    assert repr(layer) == "Linear(in_features=3, out_features=4, bias=False)"
    assert Linear(3, 4).bias.data.shape == (4,)


def test_forward_is_x_at_w_plus_b():
    layer = Linear(3, 2, rng=1)
    x = np.random.default_rng(0).standard_normal((5, 3))
    np.testing.assert_allclose(layer(x), x @ layer.weight.data + layer.bias.data, rtol=0, atol=0)


def test_backward_by_hand():
    layer = Linear(2, 3, rng=0)
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    g = np.array([[1.0, 0.0, -1.0], [0.5, 2.0, 1.0]])
    layer(x)
    grad_input = layer.backward(g)
    np.testing.assert_allclose(layer.weight.grad, x.T @ g)
    np.testing.assert_allclose(layer.bias.grad, [1.5, 2.0, 0.0])
    np.testing.assert_allclose(grad_input, g @ layer.weight.data.T)


def test_initialisation_is_seeded_and_bounded():
    a, b = Linear(50, 20, rng=7), Linear(50, 20, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    assert np.abs(a.weight.data).max() <= 1 / np.sqrt(50)
    assert not np.array_equal(a.weight.data, Linear(50, 20, rng=8).weight.data)


def test_float32_layer_keeps_float32():
    layer = Linear(3, 2, rng=0, dtype=np.float32)
    out = layer(np.ones((4, 3), dtype=np.float32))
    assert out.dtype == np.float32
    assert layer.backward(np.ones((4, 2), dtype=np.float32)).dtype == np.float32
    assert layer.weight.grad.dtype == np.float32


def test_integer_input_is_converted():
    assert Linear(2, 1, rng=0)(np.array([[1, 0]])).dtype == np.float64


@pytest.mark.parametrize("shape", [(4, 2), (4,), (2, 4, 2)])
def test_wrong_feature_count_names_layer_and_shapes(shape):
    with pytest.raises(ValueError, match=r"Linear: expected input of shape \(N, 3\), got"):
        Linear(3, 2, rng=0)(np.ones(shape))


def test_mismatched_float_dtype_raises():
    with pytest.raises(TypeError, match="Linear: input dtype float32 does not match"):
        Linear(3, 2, rng=0)(np.ones((1, 3), dtype=np.float32))


def test_wrong_grad_output_shape_raises():
    layer = Linear(3, 2, rng=0)
    layer(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"expected grad_output of shape \(4, 2\), got \(4, 3\)"):
        layer.backward(np.ones((4, 3)))


def test_bad_arguments():
    with pytest.raises(ValueError, match="positive"):
        Linear(0, 2)
    with pytest.raises(TypeError, match="float dtype"):
        Linear(2, 2, dtype=np.int64)
    with pytest.raises(TypeError, match="rng"):
        Linear(2, 2, rng="seed")
