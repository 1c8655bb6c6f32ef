"""Metrics: accuracy for labels, one-hot and binary outputs; MSE; R² against scikit-learn."""

import numpy as np
import pytest
from sklearn.metrics import r2_score as sklearn_r2

from minnet.metrics import accuracy, get_metric, mean_squared_error, r2_score


def test_accuracy_labels_and_one_hot_agree():
    pred = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [0.0, 0.0, 1.0], [5.0, 0.0, 0.0]])
    labels = np.array([0, 1, 1, 0])
    assert accuracy(pred, labels) == 0.75
    assert accuracy(pred, np.eye(3)[labels]) == 0.75
    assert accuracy(pred, labels[:, None]) == 0.75


def test_binary_accuracy_thresholds_probabilities():
    pred = np.array([[0.9], [0.4], [0.6], [0.1]])
    assert accuracy(pred, np.array([[1.0], [0.0], [0.0], [0.0]])) == 0.75
    assert accuracy(pred.ravel(), np.array([1, 0, 1, 0])) == 1.0
    assert accuracy(pred, np.array([1, 1, 1, 0]), threshold=0.3) == 1.0


def test_mse():
    assert mean_squared_error(np.array([[1.0, 2.0]]), np.array([[0.0, 0.0]])) == 2.5
    with pytest.raises(ValueError, match="does not match"):
        mean_squared_error(np.zeros((3, 1)), np.zeros(3))


@pytest.mark.parametrize("shape", [(20,), (20, 1), (20, 3)])
def test_r2_equals_scikit_learn(shape):
    rng = np.random.default_rng(0)
    target = rng.standard_normal(shape)
    pred = target + 0.5 * rng.standard_normal(shape)
    assert r2_score(pred, target) == pytest.approx(sklearn_r2(target, pred), rel=1e-12)


def test_r2_constant_target():
    assert r2_score(np.ones(3), np.ones(3)) == 1.0
    assert r2_score(np.array([1.0, 2.0, 3.0]), np.ones(3)) == 0.0


def test_accuracy_errors():
    with pytest.raises(ValueError, match="same number of samples"):
        accuracy(np.zeros((3, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="labels"):
        accuracy(np.zeros((3, 2)), np.zeros((3, 5)))


def test_get_metric():
    assert get_metric("acc") == ("acc", accuracy)
    assert get_metric(r2_score) == ("r2_score", r2_score)
    with pytest.raises(ValueError, match="unknown metric 'f1'"):
        get_metric("f1")


def test_binary_accuracy_reads_logits_as_logits():
    logits = np.array([[2.0], [-0.3], [0.4], [-1.5]])
    target = np.array([1, 0, 1, 0])
    assert accuracy(logits, target) == 1.0  # auto: values outside [0, 1] are logits, cut at 0 (0.5 used to give 0.75)
    assert accuracy(logits, target, logits=True) == 1.0
    assert accuracy(logits, target, logits=False) == 0.75  # read as probabilities, as before
    in_range = np.array([0.2, 0.4, 0.6, 0.9])  # logits that lie in [0, 1]: say so
    assert accuracy(in_range, np.array([1, 1, 1, 1]), logits=True) == 1.0
    assert accuracy(in_range, np.array([1, 1, 1, 1])) == 0.5
    assert accuracy(np.array([-0.1, 0.1]), np.array([0, 1]), threshold=0.5, logits=True) == 1.0
    assert accuracy(np.array([0.0, 1.5]), np.array([0, 1]), threshold=0.8, logits=True) == 1.0  # cut at log 4
    with pytest.raises(ValueError, match="threshold"):
        accuracy(logits, target, threshold=1.0, logits=True)
