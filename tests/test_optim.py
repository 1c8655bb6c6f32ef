"""SGD."""

import numpy as np
import pytest

from minnet import SGD, Linear, Parameter


def test_plain_step():
    p = Parameter(np.array([1.0, -2.0]))
    p.grad[...] = [0.5, 1.0]
    SGD([p], lr=0.1).step()
    np.testing.assert_allclose(p.data, [0.95, -2.1], rtol=1e-15)


def test_momentum_nesterov_weight_decay_by_hand():
    p = Parameter(np.array([1.0]))
    opt = SGD([p], lr=0.1, momentum=0.9, weight_decay=0.1, nesterov=True)
    p.grad[...] = 1.0
    opt.step()  # g = 1 + 0.1*1 = 1.1; b = 1.1; g = 1.1 + 0.9*1.1 = 2.09; p = 1 - 0.209
    np.testing.assert_allclose(p.data, [0.791], rtol=1e-14)
    opt.step()  # g = 1 + 0.0791 = 1.0791; b = 0.9*1.1 + 1.0791 = 2.0691; g = 1.0791 + 0.9*2.0691
    np.testing.assert_allclose(p.data, [0.791 - 0.1 * (1.0791 + 0.9 * 2.0691)], rtol=1e-14)


def test_zero_grad():
    layer = Linear(2, 2, rng=0)
    opt = SGD(layer.parameters(), lr=0.1)
    for p in layer.parameters():
        p.grad += 1
    opt.zero_grad()
    assert all(not p.grad.any() for p in layer.parameters())


def test_bad_arguments():
    with pytest.raises(ValueError, match="empty"):
        SGD([], lr=0.1)
    with pytest.raises(ValueError, match="lr"):
        SGD([Parameter([1.0])], lr=-1)
    with pytest.raises(TypeError, match="Parameter"):
        SGD([np.ones(2)], lr=0.1)
    with pytest.raises(ValueError, match="nesterov"):
        SGD([Parameter([1.0])], lr=0.1, nesterov=True)
