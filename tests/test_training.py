"""End to end: a small network learns XOR-like data."""

import numpy as np

from minnet import SGD, Linear, MSELoss, Sequential, Sigmoid


def test_xor_loss_falls_by_90_percent():
    rng = np.random.default_rng(0)
    corners = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    X = np.repeat(corners, 16, axis=0) + 0.05 * rng.standard_normal((64, 2))
    Y = np.repeat(np.array([[0.0], [1.0], [1.0], [0.0]]), 16, axis=0)
    model = Sequential(Linear(2, 8, rng=1), Sigmoid(), Linear(8, 1, rng=2), Sigmoid())
    loss_fn = MSELoss()
    optimizer = SGD(model.parameters(), lr=2.0, momentum=0.9)
    first = loss_fn(model(X), Y)
    for _ in range(1500):
        optimizer.zero_grad()
        loss_fn(model(X), Y)
        model.backward(loss_fn.backward())
        optimizer.step()
    last = loss_fn(model(X), Y)
    assert last < 0.1 * first, (first, last)
    assert np.all((model(corners) > 0.5).ravel() == np.array([False, True, True, False]))
