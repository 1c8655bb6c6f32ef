"""MSELoss."""

import numpy as np
import pytest

from minnet import MSELoss

PRED = np.array([[1.0, 2.0], [0.0, -1.0], [3.0, 0.5]])
TARGET = np.array([[0.0, 2.0], [1.0, 1.0], [1.0, 0.0]])
# squared errors: 1, 0, 1, 4, 4, 0.25 -> sum 10.25, N = 3 rows, M = 6 elements


@pytest.mark.parametrize(
    "reduction, value, grad",
    [
        ("half_batch_mean", 10.25 / 6, (PRED - TARGET) / 3),
        ("mean", 10.25 / 6, 2 * (PRED - TARGET) / 6),
        ("sum", 10.25, 2 * (PRED - TARGET)),
    ],
)
def test_values_and_gradients_by_hand(reduction, value, grad):
    loss_fn = MSELoss(reduction=reduction)
    out = loss_fn(PRED, TARGET)
    assert isinstance(out, float)
    assert out == pytest.approx(value, rel=1e-15)
    np.testing.assert_allclose(loss_fn.backward(), grad, rtol=1e-15)


def test_default_is_the_derivations_loss():
    pred, target = np.array([[0.2], [0.9]]), np.array([[0.0], [1.0]])
    assert MSELoss()(pred, target) == pytest.approx(((0.2) ** 2 + 0.1**2) / (2 * 2), rel=1e-15)
    assert MSELoss().reduction == "half_batch_mean"


@pytest.mark.parametrize("target_shape", [(3,), (3, 2), (1, 1)])
def test_shape_mismatch_raises_naming_both_shapes(target_shape):
    with pytest.raises(ValueError, match=rf"target shape \({target_shape[0]},.*prediction shape \(3, 1\)"):
        MSELoss()(np.ones((3, 1)), np.ones(target_shape))


def test_unknown_reduction():
    with pytest.raises(ValueError, match="reduction must be one of"):
        MSELoss(reduction="avg")


def test_backward_takes_no_argument_and_does_not_touch_inputs():
    pred, target = PRED.copy(), TARGET.copy()
    loss_fn = MSELoss()
    loss_fn(pred, target)
    g = loss_fn.backward()
    g[...] = 0
    np.testing.assert_array_equal(pred, PRED)
    assert loss_fn.backward().any()
