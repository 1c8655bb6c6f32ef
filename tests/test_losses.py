"""MSELoss."""

import numpy as np
import pytest

from minnet import MSELoss

PRED = np.array([[1.0, 2.0], [0.0, -1.0], [3.0, 0.5]])
TARGET = np.array([[0.0, 2.0], [1.0, 1.0], [1.0, 0.0]])
# squared errors: 1, 0, 1, 4, 4, 0.25 -> sum 10.25, N = 3 rows, M = 6 elements


@pytest.mark.parametrize(
    ("reduction", "value", "grad"),
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


# -- reduction="none", the dtype rule, the other losses ---------------------------------------------------------

from minnet import (  # noqa: E402
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    NLLLoss,
)


def test_mse_none_returns_the_array_and_takes_an_upstream_gradient():
    loss_fn = MSELoss(reduction="none")
    out = loss_fn(PRED, TARGET)
    np.testing.assert_allclose(out, (PRED - TARGET) ** 2, rtol=1e-15)
    np.testing.assert_allclose(loss_fn.backward(), 2 * (PRED - TARGET), rtol=1e-15)  # ones by default
    g = np.arange(6.0).reshape(3, 2)
    np.testing.assert_allclose(loss_fn.backward(g), 2 * (PRED - TARGET) * g, rtol=1e-15)
    with pytest.raises(ValueError, match=r"MSELoss: expected grad_output of shape \(3, 2\)"):
        loss_fn.backward(np.ones(3))


@pytest.mark.parametrize("reduction", ["half_batch_mean", "mean", "sum"])
def test_a_reduced_loss_takes_no_upstream_gradient(reduction):
    loss_fn = MSELoss(reduction=reduction)
    loss_fn(PRED, TARGET)
    with pytest.raises(TypeError, match="only reduction='none' takes one"):
        loss_fn.backward(np.ones(()))


def test_dtype_rule_for_targets():
    pred32 = PRED.astype(np.float32)
    loss_fn = MSELoss(reduction="none")
    assert loss_fn(pred32, TARGET.astype(np.float32)).dtype == np.float32
    assert loss_fn.backward().dtype == np.float32
    assert loss_fn(pred32, np.ones((3, 2), dtype=np.int64)).dtype == np.float32  # integer targets are converted
    with pytest.raises(TypeError, match="MSELoss: target has dtype float64 but the prediction float32"):
        loss_fn(pred32, TARGET)
    with pytest.raises(TypeError, match="CrossEntropyLoss: class probabilities has dtype float32"):
        CrossEntropyLoss()(np.zeros((2, 3)), np.full((2, 3), 1 / 3, dtype=np.float32))


def test_l1_and_huber_by_hand():
    pred, target = np.array([[0.5, -3.0, 0.0]]), np.zeros((1, 3))
    l1 = L1Loss(reduction="sum")
    assert l1(pred, target) == 3.5
    np.testing.assert_array_equal(l1.backward(), [[1.0, -1.0, 0.0]])
    huber = HuberLoss(reduction="none", delta=2.0)
    np.testing.assert_allclose(huber(pred, target), [[0.125, 2.0 * (3.0 - 1.0), 0.0]])
    np.testing.assert_allclose(huber.backward(), [[0.5, -2.0, 0.0]])
    assert repr(HuberLoss()) == "HuberLoss(reduction='mean', delta=1.0)"
    with pytest.raises(ValueError, match="HuberLoss: delta must be a finite number > 0"):
        HuberLoss(delta=0.0)


def test_bce_clamps_each_log_at_minus_100():
    loss_fn = BCELoss(reduction="none")
    with np.errstate(divide="raise", invalid="raise"):
        out = loss_fn(np.array([[0.0, 1.0, 0.0, 1.0]]), np.array([[1.0, 0.0, 0.0, 1.0]]))
        grad = loss_fn.backward()
    np.testing.assert_array_equal(out, [[100.0, 100.0, 0.0, 0.0]])
    assert np.all(np.isfinite(grad))
    with pytest.raises(ValueError, match=r"BCELoss: expected probabilities in \[0, 1\], got values from -0.5 to 2.0"):
        loss_fn(np.array([[-0.5, 2.0]]), np.array([[0.0, 1.0]]))


def test_bce_refuses_nan_probabilities_as_pytorch_does():
    with pytest.raises(ValueError, match=r"BCELoss: expected probabilities in \[0, 1\], got NaN in 1 of 2"):
        BCELoss()(np.array([[np.nan, 0.5]]), np.array([[1.0, 0.0]]))


def test_bce_with_logits_is_stable_and_matches_bce_of_sigmoid():
    z = np.array([[-1e4, -3.0, 0.0, 2.0, 1e4]])
    t = np.array([[0.0, 1.0, 0.5, 0.0, 1.0]])
    loss_fn = BCEWithLogitsLoss(reduction="none")
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        out = loss_fn(z, t)
        grad = loss_fn.backward()
    assert out[0, 0] == 0.0
    assert out[0, -1] == 0.0
    p = 1 / (1 + np.exp(-z[:, 1:4]))
    np.testing.assert_allclose(out[:, 1:4], -(t[:, 1:4] * np.log(p) + (1 - t[:, 1:4]) * np.log(1 - p)), rtol=1e-14)
    np.testing.assert_allclose(grad[:, 1:4], p - t[:, 1:4], rtol=1e-14)


def test_cross_entropy_labels_and_probabilities_agree():
    rng = np.random.default_rng(0)
    z, labels = rng.standard_normal((4, 3)), np.array([2, 0, 1, 2])
    a, b = CrossEntropyLoss(), CrossEntropyLoss()
    assert a(z, labels) == pytest.approx(b(z, np.eye(3)[labels]), rel=1e-15)
    np.testing.assert_allclose(a.backward(), b.backward(), rtol=1e-15)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(a.backward(), (p - np.eye(3)[labels]) / 4, rtol=1e-14)  # (softmax − target)/N
    nll = NLLLoss()
    assert nll(np.log(p), labels) == pytest.approx(a(z, labels), rel=1e-14)


def test_cross_entropy_of_huge_logits_is_finite():
    loss_fn = CrossEntropyLoss(reduction="none")
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        out = loss_fn(np.array([[1e4, -1e4], [-1e4, 1e4]]), np.array([1, 1]))
        grad = loss_fn.backward()
    np.testing.assert_array_equal(out, [2e4, 0.0])
    np.testing.assert_array_equal(grad, [[1.0, -1.0], [0.0, 0.0]])


@pytest.mark.parametrize("cls", [CrossEntropyLoss, NLLLoss])
def test_class_label_errors_say_what_was_expected_and_what_came(cls):
    loss_fn, z = cls(), np.zeros((3, 4))
    name = cls.__name__
    with pytest.raises(
        ValueError, match=rf"{name}: class labels must be in \[0, 3\] for 4 classes, got values from 0 to 4"
    ):
        loss_fn(z, np.array([0, 4, 1]))
    with pytest.raises(ValueError, match=rf"{name}: class labels must be in \[0, 3\].*from -1 to 1"):
        loss_fn(z, np.array([0, -1, 1]))
    with pytest.raises(ValueError, match=rf"{name}: expected integer class labels, got dtype float64"):
        loss_fn(z, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(
        ValueError, match=rf"{name}: expected class labels of shape \(3,\) for input \(3, 4\), got \(2,\)"
    ):
        loss_fn(z, np.array([0, 1]))
    with pytest.raises(ValueError, match=rf"{name}: expected .* of shape \(N, C\), got \(3, 4, 2\)"):
        loss_fn(np.zeros((3, 4, 2)), np.array([0, 1, 2]))


@pytest.mark.parametrize("cls", [L1Loss, HuberLoss, BCELoss, BCEWithLogitsLoss])
def test_elementwise_losses_refuse_to_broadcast(cls):
    with pytest.raises(
        ValueError, match=rf"{cls.__name__}: target shape \(3,\) does not match prediction shape \(3, 1\)"
    ):
        cls()(np.full((3, 1), 0.5), np.ones(3))


@pytest.mark.parametrize("cls", [L1Loss, HuberLoss, BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, NLLLoss])
def test_reductions_and_repr(cls):
    assert cls.reductions == ("mean", "sum", "none")
    assert cls().reduction == "mean"
    assert repr(cls(reduction="sum")).startswith(f"{cls.__name__}(reduction='sum'")
    assert cls.local_derivative


@pytest.mark.parametrize("pred", [np.float64(1.0), np.zeros((0, 1))], ids=["scalar", "empty-batch"])
def test_scalar_or_empty_batch_raises(pred):
    with pytest.raises(ValueError, match="MSELoss: expected a batch of shape"):
        MSELoss()(pred, pred)


@pytest.mark.parametrize("cls", [CrossEntropyLoss, NLLLoss])
def test_class_losses_refuse_an_empty_batch(cls):
    with pytest.raises(ValueError, match=rf"{cls.__name__}: expected a batch of shape \(N, ...\) with N >= 1"):
        cls()(np.zeros((0, 3)), np.zeros(0, dtype=int))


def test_cross_entropy_gradient_with_soft_targets_not_summing_to_one():
    """ℓ = −Σ_c T_c log softmax(z)_c for any T: ∂ℓ/∂z = softmax(z) Σ_c T_c − T, not softmax(z) − T."""
    loss_fn = CrossEntropyLoss(reduction="sum")
    z, t = np.zeros((1, 2)), np.array([[1.0, 1.0]])  # ℓ = 2 log 2 whatever z's shift: ∂ℓ/∂z = 0
    assert loss_fn(z, t) == pytest.approx(2 * np.log(2))
    np.testing.assert_allclose(loss_fn.backward(), [[0.0, 0.0]], atol=1e-15)


def test_user_loss_without_super_init():
    from minnet import Loss

    class Half(Loss):
        def forward(self, pred, target):
            self.diff = pred - target
            return float(np.sum(self.diff**2) / 2)

        def backward(self):
            return self.diff

    loss_fn = Half()
    assert repr(loss_fn) == "Half(reduction='mean')"
    assert loss_fn(np.ones((2, 1)), np.zeros((2, 1))) == 1.0
