"""Sigmoid."""

import warnings

import numpy as np
import pytest

from minnet import Sigmoid


def test_values():
    x = np.array([-2.0, 0.0, 3.0])
    np.testing.assert_allclose(Sigmoid()(x), 1 / (1 + np.exp(-x)), rtol=1e-15)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_extreme_inputs_are_finite_in_range_and_silent(dtype):
    big = np.finfo(dtype).max if dtype == np.float32 else 1e308
    x = np.array([-big, -1000.0, -50.0, 0.0, 50.0, 1000.0, big], dtype=dtype)
    layer = Sigmoid()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            y = layer(x)
            grad = layer.backward(np.ones_like(x))
    assert y.dtype == dtype
    assert np.all(np.isfinite(y)) and np.all((y >= 0) & (y <= 1))
    assert y[0] == 0.0 and y[-1] == 1.0 and y[3] == 0.5
    assert np.all(np.isfinite(grad))


def test_infinities_and_nan():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = Sigmoid()(np.array([-np.inf, np.inf, np.nan]))
    assert y[0] == 0.0 and y[1] == 1.0 and np.isnan(y[2])


def test_backward_uses_cached_output():
    layer = Sigmoid()
    y = layer(np.array([[0.0, 2.0]]))
    np.testing.assert_allclose(layer.backward(np.array([[1.0, 3.0]])), np.array([[1.0, 3.0]]) * y * (1 - y))


def test_wrong_grad_shape_raises():
    layer = Sigmoid()
    layer(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"Sigmoid: expected grad_output of shape \(2, 3\)"):
        layer.backward(np.ones((3, 2)))
